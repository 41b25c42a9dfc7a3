/**
 * Standalone mode's learner (ADR 12, "Where it runs"): with no operator to read Prometheus, the router keeps each
 * learning route's most recent `learning.window` labels in memory and, on an interval, runs the same pure
 * functions the operator runs (router/learn evidenceOf → learnRoute) and serves the resulting `route.learned`.
 *
 * The config in force is replaced the way a reload replaces it (a new snapshot; a request keeps the snapshot it
 * started with), so no request is dropped or sees half a table. A reloaded policy file keeps the latest tables
 * (overlay), and labels survive reloads for as long as the route keeps `learning`. Labels are this replica's only:
 * run the operator for several replicas that route alike.
 */
import type { Logger } from "pino";
import { contentHash } from "../config/hash.js";
import type { LearnedQuality, RouteConfig, RouterConfig } from "../config/types.js";
import { evidenceOf, type LearningLabel } from "../learn/evidence.js";
import { learnRoute } from "../learn/route-learning.js";

/** How often a standalone router relearns by default. */
export const DEFAULT_LOCAL_LEARNING_INTERVAL_MS = 60_000;

export class LocalLearner {
  /** Each learning route's window of labels, oldest first. */
  private readonly labels = new Map<string, LearningLabel[]>();
  /** The window size of each learning route in the config in force. */
  private readonly windows = new Map<string, number>();
  /** The latest table of each route (what overlay serves on a reload). */
  private readonly tables = new Map<string, LearnedQuality>();

  constructor(private readonly logger: Logger) {}

  /** A config is loaded: routes that stopped learning lose their labels and tables. */
  configure(config: RouterConfig): void {
    this.windows.clear();
    for (const r of config.routes) if (r.learning && r.evaluation) this.windows.set(r.name, r.learning.window);
    for (const map of [this.labels, this.tables])
      for (const name of [...map.keys()]) if (!this.windows.has(name)) map.delete(name);
    for (const [name, window] of this.windows) this.trim(name, window);
  }

  /** A judge sample of a learning route (the evaluation record's label). */
  observe(route: string, label: LearningLabel): void {
    const window = this.windows.get(route);
    if (window === undefined) return;
    const list = this.labels.get(route) ?? [];
    list.push(label);
    this.labels.set(route, list);
    this.trim(route, window);
  }

  /** The labels a route's window holds now. */
  labelCount(route: string): number {
    return this.labels.get(route)?.length ?? 0;
  }

  /** The config with each learning route's latest table (a freshly loaded file has none). */
  overlay(config: RouterConfig): RouterConfig {
    return withTables(config, (r) => this.tables.get(r.name));
  }

  /**
   * Every learning route's table recomputed from its window; the config to serve when a table changed, else null.
   */
  relearn(config: RouterConfig): RouterConfig | null {
    const providers = new Map(config.providers.map((p) => [p.id, p]));
    let changed = false;
    for (const r of config.routes) {
      const labels = this.labels.get(r.name);
      if (!r.learning || !r.evaluation || !labels) continue;
      const outcome = learnRoute(r, providers, evidenceOf(labels));
      if (!outcome) continue;
      this.tables.set(r.name, outcome.learned);
      if (contentHash(r.learned ?? null) === contentHash(outcome.learned)) continue;
      changed = true;
      const { labels: n, threshold, flipRate, entries, segments } = outcome.summary;
      this.logger.info({ route: r.name, labels: n, threshold, flipRate, entries, segments }, "Applied learned table");
    }
    return changed ? this.overlay(config) : null;
  }

  private trim(route: string, window: number): void {
    const list = this.labels.get(route);
    if (list && list.length > window) list.splice(0, list.length - window);
  }
}

/** The config with `table(route)` as each route's learned (when defined), rehashed. */
function withTables(config: RouterConfig, table: (r: RouteConfig) => LearnedQuality | undefined): RouterConfig {
  const routes = config.routes.map((r) => {
    const learned = r.learning ? table(r) : undefined;
    return learned === undefined ? r : { ...r, learned };
  });
  if (routes.every((r, i) => r === config.routes[i])) return config;
  const body = { version: config.version, providers: config.providers, routes };
  return { ...body, hash: contentHash(body) };
}
