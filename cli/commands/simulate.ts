import type { Command } from "commander";
import { existsSync } from "node:fs";
import { ClassifierRegistry } from "../../router/classify/registry.js";
import type { Classifier } from "../../router/classify/types.js";
import type { ProviderConfig, RouteConfig, RouterConfig } from "../../router/config/types.js";
import { CliError } from "../errors.js";
import { simulate } from "../simulate/engine.js";
import { formatReport } from "../simulate/format.js";
import { DEFAULT_LEARN_EVERY, routeLearner } from "../simulate/learned.js";
import type { Learner } from "../simulate/learner.js";
import { resolveModelMap, rowModelsOf } from "../simulate/mapping.js";
import { summarize, type SimReport } from "../simulate/report.js";
import { readSimRows, type SimRow } from "../simulate/rows.js";
import { compileManifests, formatSourceError } from "../standalone.js";

export interface SimulateOptions {
  data: string;
  config: string[];
  route: string;
  namespace: string;
  map: string[];
  judgeRate: number;
  judgeNoise: number;
  judgeCostUsd: number | null;
  seed: number;
  window: number;
  /** Rows between two runs of a learning route's learner and SLO controller. */
  learnEvery: number;
  source?: string;
  split?: string;
  json: boolean;
}

export interface SimulateDeps {
  write: (s: string) => void;
  /** The classifier to use instead of the route's own (tests). */
  classifier?: Classifier;
  learner?: Learner;
}

/** Compiles the policy YAML as `routewise render` does; problems are reported file:line and refuse the run. */
export function loadConfig(paths: string[], namespace: string): RouterConfig {
  for (const f of paths) if (!existsSync(f)) throw new CliError(`${f}: no such file or directory`);
  const result = compileManifests(paths, namespace);
  if (result.errors.length > 0)
    throw new CliError(
      `${result.errors.length} problem(s) in the config:\n${result.errors.map(formatSourceError).join("\n")}`,
    );
  return result.config;
}

export function findRoute(config: RouterConfig, name: string): RouteConfig {
  const route = config.routes.find((r) => r.name === name);
  if (!route)
    throw new CliError(
      `no route ${name} in the config (routes: ${config.routes.map((r) => r.name).join(", ") || "none"})`,
    );
  return route;
}

export async function routeClassifier(config: RouterConfig, route: RouteConfig): Promise<Classifier> {
  const noop = (): void => undefined;
  const registry = await ClassifierRegistry.create({ onCacheHit: noop, onCacheMiss: noop });
  const unavailable = (await registry.prepare(config)).get(route.name);
  if (unavailable !== undefined) throw new CliError(`route ${route.name}: ${unavailable}`);
  return registry.for(route);
}

function filterRows(rows: SimRow[], opts: SimulateOptions): SimRow[] {
  const kept = rows.filter(
    (r) =>
      (opts.source === undefined || r.source === opts.source) && (opts.split === undefined || r.split === opts.split),
  );
  if (kept.length === 0) throw new CliError(`${opts.data}: no rows with the given --source/--split`);
  return kept;
}

export async function runSimulate(opts: SimulateOptions, deps: SimulateDeps): Promise<SimReport> {
  const config = loadConfig(opts.config, opts.namespace);
  const route = findRoute(config, opts.route);
  const rows = filterRows(readSimRows(opts.data), opts);
  const providers: ReadonlyMap<string, ProviderConfig> = new Map(config.providers.map((p) => [p.id, p]));
  const models = resolveModelMap(route, providers, rowModelsOf(rows), opts.map);
  const learner = deps.learner ?? routeLearner(route, { flipRate: opts.judgeNoise, learnEvery: opts.learnEvery });
  const classifier = deps.classifier ?? (await routeClassifier(config, route));
  const { seed, judgeRate, judgeNoise, judgeCostUsd } = opts;
  const sim = { route, providers, classifier, learner, models, seed, judgeRate, judgeNoise, judgeCostUsd };
  const trace = await simulate(rows, sim);
  if (trace.rows.length === 0) throw new CliError(`${opts.data}: no row could be replayed (every row was skipped)`);
  const report = summarize(trace, {
    route: route.name,
    learner: learner.name,
    objective: route.objective.minQualityRetention,
    window: opts.window,
    judgeRate: opts.judgeRate,
    judgeNoise: opts.judgeNoise,
    ...(learner.controller ? { controller: learner.controller() } : {}),
  });
  deps.write(opts.json ? JSON.stringify(report) + "\n" : formatReport(report));
  return report;
}

function num(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max)
    throw new CliError(`${name} must be a number in [${min}, ${max}] (got ${value})`);
  return n;
}

function int(name: string, value: string, min: number): number {
  const n = num(name, value, min, Number.MAX_SAFE_INTEGER);
  if (!Number.isInteger(n)) throw new CliError(`${name} must be an integer (got ${value})`);
  return n;
}

interface RawOptions {
  data: string;
  config: string[];
  route: string;
  namespace: string;
  map: string[];
  judgeRate: string;
  judgeNoise: string;
  judgeCost?: string;
  seed: string;
  window: string;
  learnEvery?: string;
  source?: string;
  split?: string;
  json?: boolean;
}

export function parseSimulateOptions(o: RawOptions): SimulateOptions {
  return {
    data: o.data,
    config: o.config,
    route: o.route,
    namespace: o.namespace,
    map: o.map,
    judgeRate: num("--judge-rate", o.judgeRate, 0, 1),
    judgeNoise: num("--judge-noise", o.judgeNoise, 0, 1),
    judgeCostUsd: o.judgeCost === undefined ? null : num("--judge-cost", o.judgeCost, 0, Number.MAX_VALUE),
    seed: int("--seed", o.seed, 0),
    window: int("--window", o.window, 1),
    learnEvery: int("--learn-every", o.learnEvery ?? String(DEFAULT_LEARN_EVERY), 1),
    ...(o.source === undefined ? {} : { source: o.source }),
    ...(o.split === undefined ? {} : { split: o.split }),
    json: o.json === true,
  };
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerSimulateCommand(program: Command): void {
  program
    .command("simulate")
    .description(
      "Replay labelled rows (unified schema, optional responses) through a route's real policy, prequentially (learning routes: with the learner and the SLO controller), and report realized retention, savings, shares, judge spend, the controller's threshold and operating points, next to random and prompt-length routing",
    )
    .requiredOption("--data <file>", "JSONL rows: {id, prompt, scores, costs_usd?|tokens?|price_per_mtok?, responses?}")
    .requiredOption("--config <paths...>", "policy YAML files or directories (as routewise render -f)")
    .requiredOption("--route <name>", "the route's model name")
    .option(
      "--map <ROW_MODEL=PROVIDER>",
      "map a row model to a provider (repeatable); default: provider.model",
      collect,
      [],
    )
    .option("--judge-rate <r>", "share of rows whose labels reach the learner (judged)", "0.05")
    .option("--judge-noise <p>", "probability a judged label is flipped (score s → 1 − s)", "0.15")
    .option("--judge-cost <usd>", "USD of the judge calls per judged row (default: estimated at the judge's prices)")
    .option("--seed <n>", "seed of every random draw (selection, rollout, judging, noise)", "1")
    .option("--window <n>", "rows per retention window", "1000")
    .option(
      "--learn-every <rows>",
      "learning routes: rows between two runs of the learner and the SLO controller (the replay's --learning-interval)",
      String(DEFAULT_LEARN_EVERY),
    )
    .option("--source <name>", "only rows of this source")
    .option("--split <name>", "only rows of this split")
    .option("-n, --namespace <ns>", "namespace for objects that have none", "default")
    .option("--json", "print one JSON object")
    .action(async (o: RawOptions) => {
      await runSimulate(parseSimulateOptions(o), { write: (s) => process.stdout.write(s) });
    });
}
