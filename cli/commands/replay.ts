import type { Command } from "commander";
import type { ProviderConfig, RouteConfig, RouterConfig } from "../../router/config/types.js";
import { rng } from "../../router/prng.js";
import { select } from "../../router/select/select.js";
import { CliError } from "../errors.js";
import { readAccessLog, type LoggedRequest } from "../simulate/access-log.js";
import { features, HEALTHY } from "../simulate/engine.js";
import { estimatePolicy, type Estimate, type IpwReport, type LoggedDecision } from "../simulate/ipw.js";
import { loadConfig } from "./simulate.js";

export interface ReplayOptions {
  log: string;
  config: string[];
  namespace: string;
  /** Only this route's requests (default: every route in the log the new config has). */
  route?: string;
  seed: number;
  json: boolean;
}

export interface RouteEstimate extends IpwReport {
  route: string;
}

/** The provider the changed policy would serve this request (all providers healthy; canary draws from the seed). */
export function newChoice(
  r: LoggedRequest,
  route: RouteConfig,
  providers: ReadonlyMap<string, ProviderConfig>,
  random: () => number,
): string | null {
  const arm = random() < (route.canaryPercent ?? 100) / 100 ? "policy" : "baseline";
  const selection = select({
    route,
    providers,
    classification: r.classification,
    request: features(r.promptTokens),
    health: HEALTHY,
    random,
    ...(route.rollout === "canary" ? { rolloutArm: arm } : {}),
  });
  return selection.ok ? (selection.order[0]?.id ?? null) : null;
}

function decisionsFor(requests: readonly LoggedRequest[], route: RouteConfig, config: RouterConfig, seed: number) {
  const providers = new Map(config.providers.map((p) => [p.id, p]));
  const random = rng(seed);
  return requests.map((r): LoggedDecision => ({
    match: newChoice(r, route, providers, random) === r.provider,
    propensity: r.propensity,
    costUsd: r.costUsd,
    baselineCostUsd: r.baselineCostUsd,
    judged: r.judged,
    feedback: r.feedback,
  }));
}

export function runReplay(opts: ReplayOptions, write: (s: string) => void): RouteEstimate[] {
  const config = loadConfig(opts.config, opts.namespace);
  const { requests } = readAccessLog(opts.log);
  const names = [...new Set(requests.map((r) => r.route))].filter((n) => opts.route === undefined || n === opts.route);
  const routes = names.flatMap((n) => config.routes.filter((r) => r.name === n));
  if (routes.length === 0)
    throw new CliError(
      `${opts.log}: no logged request of a route in the config (log: ${names.join(", ") || "none"}; config: ${config.routes.map((r) => r.name).join(", ")})`,
    );
  const out = routes.map((route) => ({
    route: route.name,
    ...estimatePolicy(
      decisionsFor(
        requests.filter((r) => r.route === route.name),
        route,
        config,
        opts.seed,
      ),
    ),
  }));
  write(opts.json ? JSON.stringify(out) + "\n" : out.map(formatEstimate).join("\n"));
  return out;
}

const ci = (e: Estimate | null, f: (v: number) => string): string =>
  e === null ? "n/a" : `${f(e.value)} (95% ${f(e.low)} … ${f(e.high)})`;
const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;
const usd = (v: number): string => `$${v.toFixed(5)}`;

export function formatEstimate(r: RouteEstimate): string {
  const logged = r.logged;
  return [
    `route ${r.route}: ${r.n} logged requests, ${r.matched} where the new policy serves the logged provider (effective sample size ${r.effectiveSampleSize.toFixed(1)})`,
    `  cost per request   ${ci(r.cost, usd)}   [logged ${usd(logged.costUsd)}]`,
    `  savings            ${ci(r.savings, pct)}`,
    `  retention          ${ci(r.retention, pct)} from ${r.judged} judged   [logged ${logged.retention === null ? "n/a" : pct(logged.retention)}]`,
    `  feedback           ${ci(r.feedback, (v) => v.toFixed(3))}   [logged ${logged.feedback === null ? "n/a" : logged.feedback.toFixed(3)}]`,
    "",
  ].join("\n");
}

export function registerReplayCommand(program: Command): void {
  program
    .command("replay")
    .description(
      "Estimate a changed policy's cost and retention from logged decisions and their propensities (self-normalised inverse propensity weighting, 95% intervals)",
    )
    .requiredOption("--log <file>", "JSONL access log (router lines 'Served chat completion' with propensity, …)")
    .requiredOption("--config <paths...>", "the changed policy's YAML files or directories")
    .option("--route <name>", "only this route")
    .option("--seed <n>", "seed of selection's random draws", "1")
    .option("-n, --namespace <ns>", "namespace for objects that have none", "default")
    .option("--json", "print JSON")
    .action((o: { log: string; config: string[]; route?: string; seed: string; namespace: string; json?: boolean }) => {
      const seed = Number(o.seed);
      if (!Number.isInteger(seed) || seed < 0) throw new CliError(`--seed must be a non-negative integer`);
      const opts: ReplayOptions = { log: o.log, config: o.config, namespace: o.namespace, seed, json: o.json === true };
      if (o.route !== undefined) opts.route = o.route;
      runReplay(opts, (s) => process.stdout.write(s));
    });
}
