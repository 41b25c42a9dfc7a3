/** Evaluation stage: the written model, loaded the way the router loads it, on the held-out test splits. */
import { OnnxClassifier } from "../../router/classify/onnx-classifier.js";
import type { Classification } from "../../router/classify/types.js";
import { classifyEveryday, everydayPath, loadEveryday, scoreEveryday } from "../eval/everyday.js";
import type { UnifiedRow } from "../eval/unified-rows.js";
import { packageRoot } from "../../router/config/package-root.js";
import { usableForEval } from "./data.js";
import type { DiffRow } from "./difficulty-rows.js";
import { HELD_OUT_PAIRS } from "./held-out-pairs.js";
import { ProgressBar } from "./progress.js";
import type { PairResult } from "./report.js";
import { labelAccuracy, pairResult } from "./report.js";

async function classifyAll(
  classifier: OnnxClassifier,
  rows: readonly UnifiedRow[],
): Promise<Map<string, Classification>> {
  const out = new Map<string, Classification>();
  const bar = new ProgressBar("evaluating exported", rows.length);
  for (let i = 0; i < rows.length; i += 256) {
    const batch = rows.slice(i, i + 256);
    const res = await classifier.classifyUncached(
      batch.map((r) => ({ prompt: r.prompt, system: "", totalChars: r.prompt.length })),
    );
    batch.forEach((r, k) => {
      const c = res[k];
      if (c !== undefined) out.set(r.id, c);
    });
    bar.update(Math.min(rows.length, i + 256));
  }
  return out;
}

/** Mean absolute error of the calibrated difficulty against the IRT difficulty on the calibration rows. */
function validationMae(
  valDiff: readonly DiffRow[],
  irtById: ReadonlyMap<string, number>,
  byId: ReadonlyMap<string, Classification>,
): number {
  const valTargets = valDiff.map((d) => irtById.get(d.row.id) ?? 0);
  const valPred = valDiff.map((d) => byId.get(d.row.id)?.difficulty ?? 0);
  return valPred.reduce((acc, p, i) => acc + Math.abs(p - (valTargets[i] ?? 0)), 0) / Math.max(1, valPred.length);
}

/** The metrics of metadata.json: the held-out pair table, label accuracy, the calibration MAE, the everyday set. */
export async function evaluate(
  dir: string,
  rows: readonly UnifiedRow[],
  valDiff: readonly DiffRow[],
  irtById: ReadonlyMap<string, number>,
): Promise<Record<string, unknown>> {
  const classifier = await OnnxClassifier.load({ modelDir: dir, cacheSize: 0 });
  const everyday = loadEveryday(everydayPath(packageRoot()));
  const test = rows.filter((r) => r.split === "test" && usableForEval(r));
  const byId = await classifyAll(classifier, [...test, ...valDiff.map((d) => d.row)]);
  const of = (source: string, benchmark?: string): UnifiedRow[] =>
    test.filter((r) => r.source === source && (benchmark === undefined || r.benchmark === benchmark));
  const pairs: PairResult[] = HELD_OUT_PAIRS.map((p) =>
    pairResult({ name: p.name, rows: of(p.source, p.benchmark), strong: p.strong, weak: p.weak }, byId),
  );
  return {
    pairs,
    labelsRouteProfileTest: labelAccuracy(of("routeprofile"), byId),
    labelsRouterBenchTest: labelAccuracy(of("routerbench"), byId),
    validationIrtDifficultyMae: validationMae(valDiff, irtById, byId),
    // Scored only: training never reads the everyday set (analyzer/everyday/README.md).
    everyday: scoreEveryday(everyday, await classifyEveryday(classifier, everyday)),
  };
}
