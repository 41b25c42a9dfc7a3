/** The human-readable `routewise simulate` report (the --json output is the SimReport itself). */
import type { ControllerReport, Point, SimReport } from "./report.js";

const pct = (v: number | null): string => (v === null ? "n/a" : `${(v * 100).toFixed(1)}%`);
const usd = (v: number): string => `$${v.toFixed(4)}`;

function line(name: string, p: Point, extra = ""): string {
  return `  ${name.padEnd(28)} ${pct(p.retention).padStart(8)} ${pct(p.savings).padStart(9)} ${usd(p.costUsd).padStart(11)}${extra}`;
}

function skippedText(r: SimReport): string[] {
  const refused = Object.entries(r.skipped.refused).map(([k, v]) => `${v} ${k}`);
  const parts = [
    ...(r.skipped.missingScore > 0 ? [`${r.skipped.missingScore} without a score for a mapped model`] : []),
    ...refused,
  ];
  return parts.length > 0 ? [`skipped: ${parts.join(", ")}`] : [];
}

function windowText(r: SimReport): string[] {
  const w = r.windows;
  const list = w.list.map((x) => `${pct(x.retention)}${x.rows * 2 < w.size ? "*" : ""}`).join(" ");
  return [
    `windows of ${w.size}: ${w.underObjective} of ${w.counted} under the objective (${pct(w.shareUnder)}); retention per window: ${list}`,
    ...(w.list.some((x) => x.rows * 2 < w.size) ? ["  (* shorter than half a window: listed, not counted)"] : []),
  ];
}

const threshold = (t: number | null): string => (t === null ? "objective" : t.toFixed(2));

/** The SLO controller: its threshold over time and the operating points of its last run. */
function controllerText(c: ControllerReport | null, objective: number): string[] {
  if (!c) return [];
  const history = c.history.map((h) => `row ${h.row} ${threshold(h.threshold)}`).join(", ");
  const span = c.windowRows ? ` over rows ${c.windowRows.start}–${c.windowRows.start + c.windowRows.rows - 1}` : "";
  const head = `  ${"objective".padEnd(10)} ${"threshold".padStart(9)} ${"est. ret.".padStart(9)} ${"bound".padStart(8)} ${"est. sav.".padStart(9)} ${"support".padStart(9)} ${"hindsight ret.".padStart(14)} ${"hindsight sav.".padStart(14)}`;
  const rows = c.points.map(
    (p) =>
      `  ${pct(p.objective).padEnd(10)} ${(p.met ? p.threshold.toFixed(2) : "none").padStart(9)} ${pct(p.retention).padStart(9)} ${pct(p.lowerBound).padStart(8)} ${pct(p.savings).padStart(9)} ${`${p.support.matched}/${p.support.away}`.padStart(9)} ${pct(p.hindsight.retention).padStart(14)} ${pct(p.hindsight.savings).padStart(14)}`,
  );
  return [
    `SLO controller (every ${c.learnEvery} rows on the last ${c.window} labels, flip rate ${c.flipRate}): threshold ${threshold(c.threshold)} at the end (objective ${pct(objective)}); ${c.changes} change(s) in ${c.runs} runs: ${history}`,
    ...(c.points.length > 0
      ? [
          `operating points of the last run (${c.labels} labels${span}; support: labels judged on the point's choice / labels it sends away from the baseline, of which a point that sends any away needs ${c.points.map((p) => p.support.required).join(" / ")}; hindsight: those rows' own scores):`,
          head,
          ...rows,
        ]
      : ["operating points: none yet (no judged label)"]),
  ];
}

export function formatReport(r: SimReport): string {
  const c = r.compare;
  const share = Object.entries(r.share)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${pct(v)}`)
    .join(", ");
  const cascade = r.cascade
    ? [
        `cascade: ${r.cascade.rows} rows cascaded, ${r.cascade.accepted} answered by a stage, ${r.cascade.escalatedAll} escalated to the route's choice`,
      ]
    : [];
  return [
    `route ${r.route} (learner: ${r.learner}): ${r.rows} rows replayed`,
    ...skippedText(r),
    `realized retention ${pct(r.realized.retention)} vs objective ${pct(r.objective)}; savings vs always-baseline ${pct(r.realized.savings)} (${pct(r.realized.savingsNetOfJudge)} after judge spend)`,
    ...windowText(r),
    `served: ${share}`,
    `judge: ${r.judge.judged} rows judged (rate ${r.judge.rate}, noise ${r.judge.noise}), spend ${usd(r.judge.spendUsd)}`,
    ...cascade,
    ...controllerText(r.controller, r.objective),
    `  ${"strategy".padEnd(28)} ${"retention".padStart(8)} ${"savings".padStart(9)} ${"cost".padStart(11)}`,
    line("policy (realized)", r.realized),
    line("single strategy", c.single),
    line("always baseline", c.alwaysBaseline),
    line(`always cheapest`, c.alwaysCheapest, `  (${c.alwaysCheapest.provider})`),
    line("random, same retention", c.random, `  (${pct(c.random.baselineShare)} to the baseline)`),
    line("prompt length, same ret.", c.promptLength, `  (${pct(c.promptLength.baselineShare)} to the baseline)`),
    "",
  ].join("\n");
}
