/**
 * The classifiers a router uses: the built-in ONNX analyzer (loaded once at start) and any custom models the
 * config's routes reference (loaded and validated before a config is applied). A custom model that cannot be used
 * makes only its routes unavailable (503 route_unavailable, naming the cause); every other route serves.
 */
import type { RouteConfig, RouterConfig } from "../config/types.js";
import type { EngineChoice } from "./analyzer-engine.js";
import { CustomClassifier } from "./custom-classifier.js";
import { OnnxClassifier } from "./onnx-classifier.js";
import type { Classifier } from "./types.js";

export interface ClassifierHooks {
  onCacheHit: () => void;
  onCacheMiss: () => void;
  /** Which engine the built-in analyzer runs on and why (ADR 15): the router logs it. */
  onEngine?: (choice: EngineChoice) => void;
}

export class ClassifierRegistry {
  private custom = new Map<string, Classifier>();

  private constructor(readonly builtin: Classifier) {}

  /** Loads the built-in model (or uses the given classifier, e.g. the heuristic one in tests). */
  static async create(hooks: ClassifierHooks, builtin?: Classifier): Promise<ClassifierRegistry> {
    return new ClassifierRegistry(builtin ?? (await OnnxClassifier.load(hooks)));
  }

  /**
   * Loads every custom model the config needs. One that cannot be used is not fatal: its routes are returned as
   * unavailable (route name → why), for the router to answer 503 for those routes only.
   */
  async prepare(config: RouterConfig): Promise<ReadonlyMap<string, string>> {
    const next = new Map<string, Classifier>();
    const refused = new Map<string, string>();
    const unavailable = new Map<string, string>();
    for (const route of config.routes) {
      if (route.classifier.type !== "custom") continue;
      const path = route.classifier.modelPath;
      const loaded = await this.loadOnce(path, next, refused);
      if (loaded === null)
        unavailable.set(route.name, `custom classifier at ${path} refused: ${refused.get(path) ?? "unknown error"}`);
    }
    this.custom = next;
    return unavailable;
  }

  /** A custom model by path: already loaded (this config or the last), else loaded now; null when refused. */
  private async loadOnce(
    path: string,
    next: Map<string, Classifier>,
    refused: Map<string, string>,
  ): Promise<Classifier | null> {
    const existing = next.get(path) ?? this.custom.get(path);
    if (existing) {
      next.set(path, existing);
      return existing;
    }
    if (refused.has(path)) return null;
    try {
      const loaded = await CustomClassifier.load(path);
      next.set(path, loaded);
      return loaded;
    } catch (err) {
      refused.set(path, err instanceof Error ? err.message : String(err));
      return null;
    }
  }

  /** The route's classifier. Call only for available routes (a refused custom model has none). */
  for(route: RouteConfig): Classifier {
    if (route.classifier.type !== "custom") return this.builtin;
    const custom = this.custom.get(route.classifier.modelPath);
    if (!custom) throw new Error(`route ${route.name}: its custom classifier is not loaded`);
    return custom;
  }
}
