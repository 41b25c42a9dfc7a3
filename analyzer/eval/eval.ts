/**
 * Offline routing-quality metrics (definitions: shared/notes/routing-quality.md §1, after RouteLLM's evaluate.py).
 * Pure functions over per-row scores; no I/O except `costQualitySvg`, which only builds a string.
 */

export interface PairRow {
  strong: number;
  weak: number;
  /** USD of each call; null when unknown (cost metrics become null). */
  strongCost: number | null;
  weakCost: number | null;
}

export interface CurvePoint {
  /** Fraction of prompts sent to the strong model. */
  share: number;
  /** Mean score of the routed answers. */
  quality: number;
  /** Mean USD per prompt, or null. */
  cost: number | null;
}

export interface PairMetrics {
  apgr: number | null;
  cpt50: number | null;
  cpt80: number | null;
  /** Smallest strong-call share that reaches 95% of the strong model's quality. */
  strongShareAt95: number | null;
  /** 1 - cost(router at 95%) / cost(always strong). */
  savingAt95: number | null;
}

export interface PairReport {
  n: number;
  weakQuality: number;
  strongQuality: number;
  weakCost: number | null;
  strongCost: number | null;
  router: PairMetrics;
  random: PairMetrics;
  oracle: PairMetrics;
  promptLength: PairMetrics;
  curves: { router: CurvePoint[]; random: CurvePoint[]; oracle: CurvePoint[]; promptLength: CurvePoint[] };
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}

function totalCost(rows: readonly PairRow[], pick: (r: PairRow) => number | null): number | null {
  let sum = 0;
  for (const r of rows) {
    const c = pick(r);
    if (c === null) return null;
    sum += c;
  }
  return sum;
}

function perPrompt(cost: number | null, n: number): number | null {
  return cost === null ? null : cost / n;
}

/** The total cost after one more row goes to the strong model; null once any cost is unknown. */
function switchedCost(cost: number | null, row: PairRow): number | null {
  if (cost === null) return null;
  return row.strongCost === null || row.weakCost === null ? null : cost + row.strongCost - row.weakCost;
}

/**
 * The (share, quality, cost) curve of a threshold router that sends the highest-`score` prompts to the strong model
 * first. Rows with equal scores form one group whose order is random, so the curve is linear across each group
 * (its expected value); a constant score gives exactly the random router.
 */
export function routerCurve(rows: readonly PairRow[], score: readonly number[]): CurvePoint[] {
  const n = rows.length;
  if (n === 0) return [];
  const order = rows.map((_, i) => i).sort((a, b) => (score[b] ?? 0) - (score[a] ?? 0));
  let quality = rows.reduce((a, r) => a + r.weak, 0);
  let cost = totalCost(rows, (r) => r.weakCost);
  const points: CurvePoint[] = [{ share: 0, quality: quality / n, cost: perPrompt(cost, n) }];
  for (let k = 0; k < n; k++) {
    const row = rows[order[k] ?? 0];
    if (row === undefined) continue;
    quality += row.strong - row.weak;
    cost = switchedCost(cost, row);
    const next = order[k + 1];
    if (next !== undefined && score[next] === score[order[k] ?? 0]) continue;
    points.push({ share: (k + 1) / n, quality: quality / n, cost: perPrompt(cost, n) });
  }
  return points;
}

/** (AUC of quality over share - W) / (S - W), trapezoid rule; null when S <= W. */
export function apgr(curve: readonly CurvePoint[], weak: number, strong: number): number | null {
  if (strong <= weak || curve.length < 2) return null;
  let auc = 0;
  for (let i = 1; i < curve.length; i++) {
    const a = curve[i - 1];
    const b = curve[i];
    if (a === undefined || b === undefined) continue;
    auc += ((b.share - a.share) * (a.quality + b.quality)) / 2;
  }
  return (auc - weak) / (strong - weak);
}

/** Smallest share (linear interpolation) at which quality first reaches `target`; null if never. */
export function shareAtQuality(curve: readonly CurvePoint[], target: number): number | null {
  const first = curve[0];
  if (first === undefined) return null;
  if (first.quality >= target) return first.share;
  for (let i = 1; i < curve.length; i++) {
    const a = curve[i - 1];
    const b = curve[i];
    if (a === undefined || b === undefined || b.quality < target) continue;
    const t = (target - a.quality) / (b.quality - a.quality);
    return a.share + t * (b.share - a.share);
  }
  return null;
}

/** Mean cost per prompt at a given share, interpolated; null when costs are unknown. */
export function costAtShare(curve: readonly CurvePoint[], share: number): number | null {
  for (let i = 1; i < curve.length; i++) {
    const a = curve[i - 1];
    const b = curve[i];
    if (a === undefined || b === undefined || share > b.share) continue;
    if (a.cost === null || b.cost === null) return null;
    const t = b.share === a.share ? 1 : (share - a.share) / (b.share - a.share);
    return a.cost + t * (b.cost - a.cost);
  }
  return curve[curve.length - 1]?.cost ?? null;
}

/** CPT(x): the strong-call share needed to recover fraction x of the weak-to-strong gap. */
export function cpt(curve: readonly CurvePoint[], weak: number, strong: number, x: number): number | null {
  if (strong <= weak) return null;
  return shareAtQuality(curve, weak + x * (strong - weak));
}

export function pairMetrics(
  curve: readonly CurvePoint[],
  weak: number,
  strong: number,
  strongCost: number | null,
): PairMetrics {
  const share95 = shareAtQuality(curve, 0.95 * strong);
  const cost95 = share95 === null ? null : costAtShare(curve, share95);
  return {
    apgr: apgr(curve, weak, strong),
    cpt50: cpt(curve, weak, strong, 0.5),
    cpt80: cpt(curve, weak, strong, 0.8),
    strongShareAt95: share95,
    savingAt95: cost95 === null || strongCost === null || strongCost === 0 ? null : 1 - cost95 / strongCost,
  };
}

/**
 * Router (score = predicted difficulty) vs random, oracle (largest strong-minus-weak gap first) and a prompt-length
 * router (longer prompts to the strong model), all on the same rows.
 */
export function evaluatePair(
  rows: readonly PairRow[],
  difficulty: readonly number[],
  promptLengths: readonly number[],
): PairReport {
  if (rows.length !== difficulty.length || rows.length !== promptLengths.length) {
    throw new Error("rows, difficulty and promptLengths must have the same length");
  }
  const n = rows.length;
  const weakQuality = mean(rows.map((r) => r.weak));
  const strongQuality = mean(rows.map((r) => r.strong));
  const weakTotal = totalCost(rows, (r) => r.weakCost);
  const strongTotal = totalCost(rows, (r) => r.strongCost);
  const strongCost = strongTotal === null || n === 0 ? null : strongTotal / n;
  const curves = {
    router: routerCurve(rows, difficulty),
    random: routerCurve(rows, new Array<number>(n).fill(0)),
    oracle: routerCurve(
      rows,
      rows.map((r) => r.strong - r.weak),
    ),
    promptLength: routerCurve(rows, promptLengths),
  };
  const m = (c: CurvePoint[]): PairMetrics => pairMetrics(c, weakQuality, strongQuality, strongCost);
  return {
    n,
    weakQuality,
    strongQuality,
    weakCost: weakTotal === null || n === 0 ? null : weakTotal / n,
    strongCost,
    router: m(curves.router),
    random: m(curves.random),
    oracle: m(curves.oracle),
    promptLength: m(curves.promptLength),
    curves,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Multi-model mode

export interface MultiRow {
  /** Score per model, same order as `models`. */
  scores: readonly number[];
  /** USD per model, same order. */
  costs: readonly number[];
}

export interface OperatingPoint {
  quality: number;
  cost: number;
}

export interface MultiReport {
  models: { model: string; quality: number; cost: number }[];
  bestSingle: { model: string; quality: number; cost: number };
  /** Cheapest-first models that are not dominated (higher quality than every cheaper one). */
  ladder: string[];
  oracle: OperatingPoint;
  router: { offset: number; quality: number; cost: number }[];
  random: { offset: number; quality: number; cost: number }[];
  /** Cheapest router point with quality >= 95% of the best single model, and its saving vs that model. */
  routerAt95: (OperatingPoint & { saving: number }) | null;
  randomAt95: (OperatingPoint & { saving: number }) | null;
}

/** Percentile rank in [0,1) of each value (ties share their mean rank). */
export function percentileRanks(values: readonly number[]): number[] {
  const n = values.length;
  const order = values.map((_, i) => i).sort((a, b) => (values[a] ?? 0) - (values[b] ?? 0));
  const ranks = new Array<number>(n).fill(0);
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && values[order[j + 1] ?? 0] === values[order[i] ?? 0]) j++;
    for (let k = i; k <= j; k++) ranks[order[k] ?? 0] = (i + j) / 2 / n;
    i = j + 1;
  }
  return ranks;
}

function ladderOf(stats: { model: string; quality: number; cost: number }[]): number[] {
  const byCost = stats.map((_, i) => i).sort((a, b) => (stats[a]?.cost ?? 0) - (stats[b]?.cost ?? 0));
  const ladder: number[] = [];
  let best = -Infinity;
  for (const i of byCost) {
    const q = stats[i]?.quality ?? -Infinity;
    if (q > best) {
      ladder.push(i);
      best = q;
    }
  }
  return ladder;
}

const OFFSETS = Array.from({ length: 41 }, (_, i) => -1 + i * 0.05);

function rung(level: number, size: number): number {
  return Math.min(size - 1, Math.max(0, Math.floor(level * size)));
}

function at95(
  points: readonly { quality: number; cost: number }[],
  best: OperatingPoint,
): (OperatingPoint & { saving: number }) | null {
  const ok = points.filter((p) => p.quality >= 0.95 * best.quality).sort((a, b) => a.cost - b.cost)[0];
  return ok === undefined ? null : { quality: ok.quality, cost: ok.cost, saving: 1 - ok.cost / best.cost };
}

/**
 * Multi-model routing: models are put on a cheapest-first quality ladder; a prompt whose difficulty percentile is r
 * goes to rung floor((r + offset) * rungs). Sweeping `offset` traces the router's cost-quality curve. The random
 * baseline uses the same rung shares with prompts assigned at random (its expectation, computed exactly).
 */
export function evaluateMulti(
  models: readonly string[],
  rows: readonly MultiRow[],
  difficulty: readonly number[],
): MultiReport {
  const n = rows.length;
  if (n === 0 || models.length === 0) throw new Error("multi-model evaluation needs rows and models");
  const stats = models.map((model, m) => ({
    model,
    quality: mean(rows.map((r) => r.scores[m] ?? 0)),
    cost: mean(rows.map((r) => r.costs[m] ?? 0)),
  }));
  const bestSingle = [...stats].sort((a, b) => b.quality - a.quality || a.cost - b.cost)[0] ?? stats[0];
  if (bestSingle === undefined) throw new Error("no models");
  const ladder = ladderOf(stats);
  const ranks = percentileRanks(difficulty);
  const router = OFFSETS.map((offset) => {
    let q = 0;
    let c = 0;
    rows.forEach((r, i) => {
      const m = ladder[rung((ranks[i] ?? 0) + offset, ladder.length)] ?? 0;
      q += r.scores[m] ?? 0;
      c += r.costs[m] ?? 0;
    });
    return { offset, quality: q / n, cost: c / n };
  });
  const random = OFFSETS.map((offset) => {
    let q = 0;
    let c = 0;
    ranks.forEach((r) => {
      const s = stats[ladder[rung(r + offset, ladder.length)] ?? 0];
      q += s?.quality ?? 0;
      c += s?.cost ?? 0;
    });
    return { offset, quality: q / n, cost: c / n };
  });
  const oracle = oraclePoint(rows);
  return {
    models: stats,
    bestSingle,
    ladder: ladder.map((i) => models[i] ?? ""),
    oracle,
    router,
    random,
    routerAt95: at95(router, bestSingle),
    randomAt95: at95(random, bestSingle),
  };
}

/** Per row: the cheapest model among those with the row's best score. */
function oraclePoint(rows: readonly MultiRow[]): OperatingPoint {
  let q = 0;
  let c = 0;
  for (const r of rows) {
    const top = Math.max(...r.scores);
    let cost = Infinity;
    r.scores.forEach((s, m) => {
      if (s === top) cost = Math.min(cost, r.costs[m] ?? Infinity);
    });
    q += top;
    c += cost;
  }
  return { quality: q / rows.length, cost: c / rows.length };
}

// ---------------------------------------------------------------------------------------------------------------
// SVG

export interface SvgSeries {
  label: string;
  points: readonly { x: number; y: number }[];
}

const COLORS = ["#1f77b4", "#999999", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd"];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A self-contained line chart (no dependencies). */
export function costQualitySvg(title: string, xLabel: string, series: readonly SvgSeries[]): string {
  const W = 640;
  const H = 420;
  const pad = { l: 60, r: 160, t: 40, b: 50 };
  const all = series.flatMap((s) => s.points);
  const xMin = Math.min(...all.map((p) => p.x), 0);
  const xMax = Math.max(...all.map((p) => p.x), xMin + 1e-9);
  const yMin = Math.min(...all.map((p) => p.y));
  const yMax = Math.max(...all.map((p) => p.y), yMin + 1e-9);
  const sx = (x: number): number => pad.l + ((x - xMin) / (xMax - xMin)) * (W - pad.l - pad.r);
  const sy = (y: number): number => H - pad.b - ((y - yMin) / (yMax - yMin)) * (H - pad.t - pad.b);
  const lines = series.map((s, i) => {
    const d = s.points.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(" ");
    const color = COLORS[i % COLORS.length] ?? "#000";
    const ly = pad.t + 20 * i;
    return (
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${d}"/>` +
      `<line x1="${W - pad.r + 10}" y1="${ly}" x2="${W - pad.r + 30}" y2="${ly}" stroke="${color}" stroke-width="2"/>` +
      `<text x="${W - pad.r + 35}" y="${ly + 4}" font-size="12">${esc(s.label)}</text>`
    );
  });
  const axes =
    `<line x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}" stroke="#000"/>` +
    `<line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${H - pad.b}" stroke="#000"/>` +
    `<text x="${pad.l}" y="${H - pad.b + 18}" font-size="11">${xMin.toPrecision(3)}</text>` +
    `<text x="${W - pad.r}" y="${H - pad.b + 18}" font-size="11" text-anchor="end">${xMax.toPrecision(3)}</text>` +
    `<text x="${pad.l - 5}" y="${H - pad.b}" font-size="11" text-anchor="end">${yMin.toFixed(3)}</text>` +
    `<text x="${pad.l - 5}" y="${pad.t + 4}" font-size="11" text-anchor="end">${yMax.toFixed(3)}</text>` +
    `<text x="${(pad.l + W - pad.r) / 2}" y="${H - 12}" font-size="12" text-anchor="middle">${esc(xLabel)}</text>` +
    `<text x="15" y="${(pad.t + H - pad.b) / 2}" font-size="12" transform="rotate(-90 15 ${(pad.t + H - pad.b) / 2})" text-anchor="middle">quality</text>`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">` +
    `<rect width="100%" height="100%" fill="#fff"/>` +
    `<text x="${W / 2}" y="22" font-size="14" text-anchor="middle">${esc(title)}</text>` +
    axes +
    lines.join("") +
    `</svg>\n`
  );
}

/** Router, random, oracle and prompt-length curves of a pair report, x = mean $ per prompt (or strong share). */
export function pairReportSvg(title: string, report: PairReport): string {
  const useCost = report.strongCost !== null;
  const toPoints = (c: CurvePoint[]): { x: number; y: number }[] =>
    c.map((p) => ({ x: useCost ? (p.cost ?? 0) * 1000 : p.share * 100, y: p.quality }));
  return costQualitySvg(title, useCost ? "USD per 1k prompts" : "% calls to strong model", [
    { label: "router", points: toPoints(report.curves.router) },
    { label: "random", points: toPoints(report.curves.random) },
    { label: "oracle", points: toPoints(report.curves.oracle) },
    { label: "prompt length", points: toPoints(report.curves.promptLength) },
  ]);
}
