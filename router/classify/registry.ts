/**
 * The classifiers a router uses: the built-in ONNX analyzer (loaded once at start) and any custom models the
 * config's routes reference (loaded and validated before a config is applied, so a mismatched model makes the
 * router refuse that config and keep the last good one).
 */
import type { RouteConfig, RouterConfig } from "../config/types.js";
import { CustomClassifier } from "./custom-classifier.js";
import { OnnxClassifier } from "./onnx-classifier.js";
import type { Classifier } from "./types.js";

export interface ClassifierHooks {
  onCacheHit: () => void;
  onCacheMiss: () => void;
}

export class ClassifierRegistry {
  private custom = new Map<string, Classifier>();

  private constructor(readonly builtin: Classifier) {}

  /** Loads the built-in model (or uses the given classifier, e.g. the heuristic one in tests). */
  static async create(hooks: ClassifierHooks, builtin?: Classifier): Promise<ClassifierRegistry> {
    return new ClassifierRegistry(builtin ?? (await OnnxClassifier.load(hooks)));
  }

  /** Loads every custom model the config needs; throws (naming route and path) when one cannot be used. */
  async prepare(config: RouterConfig): Promise<void> {
    const next = new Map<string, Classifier>();
    for (const route of config.routes) {
      if (route.classifier.type !== "custom") continue;
      const path = route.classifier.modelPath;
      const existing = next.get(path) ?? this.custom.get(path);
      if (existing) {
        next.set(path, existing);
        continue;
      }
      try {
        next.set(path, await CustomClassifier.load(path));
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        throw new Error(`route ${route.name}: custom classifier at ${path} refused: ${message}`, { cause: err });
      }
    }
    this.custom = next;
  }

  for(route: RouteConfig): Classifier {
    if (route.classifier.type === "custom") return this.custom.get(route.classifier.modelPath) ?? this.builtin;
    return this.builtin;
  }
}
