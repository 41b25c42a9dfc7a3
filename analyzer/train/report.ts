import type { PairMetrics, PairReport } from "../eval/eval.js";
import { evaluatePair } from "../eval/eval.js";
import type { Classification } from "../../router/classify/types.js";
import type { UnifiedRow } from "../eval/unified-rows.js";
import { pairRowsFor } from "../eval/unified-rows.js";
import { BENCHMARK_LABELS } from "./weak-labels.js";

export interface EvalSpec {
  name: string;
  rows: readonly UnifiedRow[];
  strong: string;
  weak: string;
}

export interface PairResult {
  name: string;
  strong: string;
  weak: string;
  n: number;
  weakQuality: number;
  strongQuality: number;
  router: PairMetrics;
  random: PairMetrics;
  oracle: PairMetrics;
  promptLength: PairMetrics;
}

export function pairResult(spec: EvalSpec, byId: ReadonlyMap<string, Classification>): PairResult {
  const { rows, pairs } = pairRowsFor(spec.rows, spec.strong, spec.weak);
  const difficulty = rows.map((r) => byId.get(r.id)?.difficulty ?? 0);
  const report: PairReport = evaluatePair(
    pairs,
    difficulty,
    rows.map((r) => r.prompt.length),
  );
  return {
    name: spec.name,
    strong: spec.strong,
    weak: spec.weak,
    n: report.n,
    weakQuality: report.weakQuality,
    strongQuality: report.strongQuality,
    router: report.router,
    random: report.random,
    oracle: report.oracle,
    promptLength: report.promptLength,
  };
}

/** Task/domain accuracy against benchmark-name labels (rows without a known benchmark are skipped). */
export function labelAccuracy(
  rows: readonly UnifiedRow[],
  byId: ReadonlyMap<string, Classification>,
): { n: number; task: number; domainN: number; domain: number } {
  let n = 0;
  let task = 0;
  let domainN = 0;
  let domain = 0;
  for (const r of rows) {
    const label = r.benchmark === null ? undefined : BENCHMARK_LABELS[r.benchmark];
    const c = byId.get(r.id);
    if (label === undefined || c === undefined) continue;
    n++;
    if (c.task === label.task) task++;
    // MMLU rows carry no subject here, so their domain is unknown.
    if (r.benchmark === "mmlu") continue;
    domainN++;
    if (c.domain === label.domain) domain++;
  }
  return { n, task: n === 0 ? 0 : task / n, domainN, domain: domainN === 0 ? 0 : domain / domainN };
}

const f = (v: number | null, pct = false): string =>
  v === null ? "–" : pct ? `${(v * 100).toFixed(1)}%` : v.toFixed(3);

export function pairTableMarkdown(results: readonly PairResult[]): string {
  const head =
    "| eval set | strong vs weak | n | W / S | APGR router / length / random / oracle | CPT(50%) router / length / oracle | CPT(80%) router / length / oracle | strong share at 95% router / length / random / oracle | $ saving at 95% router / length / random / oracle |\n" +
    "|---|---|---|---|---|---|---|---|---|\n";
  const lines = results.map((r) =>
    [
      r.name,
      `${r.strong} vs ${r.weak}`,
      r.n,
      `${f(r.weakQuality)} / ${f(r.strongQuality)}`,
      `**${f(r.router.apgr)}** / ${f(r.promptLength.apgr)} / ${f(r.random.apgr)} / ${f(r.oracle.apgr)}`,
      `**${f(r.router.cpt50, true)}** / ${f(r.promptLength.cpt50, true)} / ${f(r.oracle.cpt50, true)}`,
      `**${f(r.router.cpt80, true)}** / ${f(r.promptLength.cpt80, true)} / ${f(r.oracle.cpt80, true)}`,
      `**${f(r.router.strongShareAt95, true)}** / ${f(r.promptLength.strongShareAt95, true)} / ${f(r.random.strongShareAt95, true)} / ${f(r.oracle.strongShareAt95, true)}`,
      `**${f(r.router.savingAt95, true)}** / ${f(r.promptLength.savingAt95, true)} / ${f(r.random.savingAt95, true)} / ${f(r.oracle.savingAt95, true)}`,
    ].join(" | "),
  );
  return head + lines.map((l) => `| ${l} |`).join("\n") + "\n";
}
