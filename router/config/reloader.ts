/**
 * Keeps the router's config current: loads it at start, then again whenever the watched paths change (fs.watch,
 * which sees a kubelet's atomic ConfigMap/Secret symlink swap) or a poll notices a change. A config that fails
 * to load or validate is refused: the last good one stays in force, and the failure is logged and counted once per
 * distinct rejected content (a bad file that stays in place is not reported again at every poll).
 */
import { watch, type FSWatcher } from "node:fs";
import type { RouterConfig } from "./types.js";
import { contentHash } from "./hash.js";
import { parseRouterConfig } from "./parse.js";

export interface LoadedConfig {
  /** Raw config JSON (validated by parseRouterConfig here). */
  config: unknown;
  credentials: ReadonlyMap<string, string>;
}

export interface ReloaderOptions {
  load: () => Promise<LoadedConfig>;
  /** Files or directories to watch. */
  watchPaths: string[];
  pollIntervalMs: number;
  /**
   * Runs before a config is applied (e.g. loading the custom classifiers it names) and returns the routes that
   * cannot serve (route name → why): only those are unavailable. Throwing refuses the whole config.
   */
  prepare?: (config: RouterConfig) => Promise<ReadonlyMap<string, string>>;
  onApplied: (
    config: RouterConfig,
    credentials: ReadonlyMap<string, string>,
    unavailable: ReadonlyMap<string, string>,
  ) => void;
  onRejected: (error: Error) => void;
}

export class ConfigReloader {
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private fingerprint = "";
  private appliedHash = "";
  private running: Promise<void> | null = null;
  private unavailable: ReadonlyMap<string, string> = new Map();
  private again = false;
  /** What the last refusal was about: the same bad content is logged and counted once, not every poll. */
  private rejected: string | null = null;

  constructor(private readonly options: ReloaderOptions) {}

  /** Loads once; throws when the first config is unusable (nothing to fall back to). */
  async start(): Promise<RouterConfig> {
    const loaded = await this.options.load();
    const config = parseRouterConfig(loaded.config);
    this.apply(config, loaded.credentials, await this.prepare(config));
    for (const path of this.options.watchPaths) {
      try {
        this.watchers.push(
          watch(path, { persistent: false }, () => {
            this.schedule();
          }),
        );
      } catch {
        // Not watchable (e.g. removed); the poll still covers it.
      }
    }
    this.timer = setInterval(() => void this.reload(), this.options.pollIntervalMs);
    this.timer.unref();
    return config;
  }

  stop(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
  }

  /** Loads now (coalescing concurrent calls). */
  reload(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.loadOnce().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        void this.reload();
      }
    });
    return this.running;
  }

  private schedule(): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.reload(), 100);
    this.debounce.unref();
  }

  private async loadOnce(): Promise<void> {
    let content: unknown = null;
    try {
      const loaded = await this.options.load();
      content = loaded.config;
      const config = parseRouterConfig(loaded.config);
      const unavailable = config.hash === this.appliedHash ? this.unavailable : await this.prepare(config);
      this.apply(config, loaded.credentials, unavailable);
      this.rejected = null;
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      const digest = contentHash({ content, error: error.message });
      if (digest === this.rejected) return;
      this.rejected = digest;
      this.options.onRejected(error);
    }
  }

  private async prepare(config: RouterConfig): Promise<ReadonlyMap<string, string>> {
    return (await this.options.prepare?.(config)) ?? new Map<string, string>();
  }

  private apply(
    config: RouterConfig,
    credentials: ReadonlyMap<string, string>,
    unavailable: ReadonlyMap<string, string>,
  ): void {
    // A digest, so a rotated key is noticed without keeping key material around.
    const fp = contentHash({ config: config.hash, credentials: [...credentials.entries()].sort() });
    if (fp === this.fingerprint) return;
    this.fingerprint = fp;
    this.appliedHash = config.hash;
    this.unavailable = unavailable;
    this.options.onApplied(config, credentials, unavailable);
  }
}
