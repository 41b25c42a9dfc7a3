/**
 * Keeps the router's config current: loads it at start, then again whenever the watched paths change (fs.watch,
 * which sees a kubelet's atomic ConfigMap/Secret symlink swap) or a poll notices a change. A config that fails
 * to load or validate is refused: the last good one stays in force, and the failure is logged and counted once per
 * distinct rejected content (a bad file that stays in place is not reported again at every poll).
 *
 * The first config is special: with nothing to fall back to, start() throws (standalone: fail fast with the
 * file/field error), unless `waitForValidConfig` (the operator's mounted ConfigMap): then the reloader keeps
 * watching and polling with no config in force, `waiting` says why (safe to serve on /readyz), and the first valid
 * config that appears is applied.
 */
import { watch, type FSWatcher } from "node:fs";
import type { RouterConfig } from "./types.js";
import { contentHash } from "./hash.js";
import { ConfigError, parseRouterConfig } from "./parse.js";

/** A config file that is missing or not JSON; `reason` names the file but quotes none of its content. */
export class ConfigFileError extends Error {
  override readonly name = "ConfigFileError";
  constructor(
    message: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Longest reason served on /readyz. */
const MAX_REASON_LENGTH = 300;

/**
 * Why a config was refused, in words safe to serve unauthenticated on /readyz: a ConfigError names the field and
 * the rule (never a credential: those live in the Secret, not the config), a file error names the file; anything
 * else (e.g. a custom classifier that failed to load) only says where to look.
 */
export function refusalReason(error: Error): string {
  const reason =
    error instanceof ConfigError
      ? error.message
      : error instanceof ConfigFileError
        ? error.reason
        : "the router config could not be loaded (see the router log)";
  return reason.length > MAX_REASON_LENGTH ? `${reason.slice(0, MAX_REASON_LENGTH - 1)}…` : reason;
}

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
  /** `waiting`: no config is in force yet (the router is not ready), rather than a last good one kept. */
  onRejected: (error: Error, waiting: boolean) => void;
  /**
   * When the first config is unusable, start anyway with none (instead of throwing) and apply the first valid one
   * that appears: for the operator's mounted ConfigMap, whose content can be fixed while the pod runs.
   */
  waitForValidConfig?: boolean;
}

export class ConfigReloader {
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private fingerprint = "";
  private appliedHash = "";
  private applied: RouterConfig | null = null;
  private running: Promise<void> | null = null;
  private unavailable: ReadonlyMap<string, string> = new Map();
  private again = false;
  /** What the last refusal was about: the same bad content is logged and counted once, not every poll. */
  private rejected: string | null = null;
  /** Why no config is in force yet (refusalReason), while waiting for the first valid one; null once one is. */
  private waitingFor: string | null = null;

  constructor(private readonly options: ReloaderOptions) {}

  /**
   * Loads once; throws when the first config is unusable (nothing to fall back to), unless waitForValidConfig:
   * then it resolves to null, not ready, and keeps watching.
   */
  async start(): Promise<RouterConfig | null> {
    const config = this.options.waitForValidConfig ? await this.firstOrNull() : await this.first();
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

  /** Why the router has no config yet (safe to serve on /readyz); null once a config is in force. */
  get waiting(): string | null {
    return this.waitingFor;
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

  private async first(): Promise<RouterConfig> {
    const loaded = await this.options.load();
    const config = parseRouterConfig(loaded.config);
    this.apply(config, loaded.credentials, await this.prepare(config));
    return config;
  }

  /** The first config, or null (logged once) when it is unusable: loadOnce() retries at every change and poll. */
  private async firstOrNull(): Promise<RouterConfig | null> {
    this.waitingFor = "no router config loaded yet";
    await this.loadOnce();
    return this.applied; // null unless that first load applied a config
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
      if (this.waitingFor !== null) this.waitingFor = refusalReason(error);
      this.options.onRejected(error, this.waitingFor !== null);
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
    this.applied = config;
    this.waitingFor = null;
    this.unavailable = unavailable;
    this.options.onApplied(config, credentials, unavailable);
  }
}
