/**
 * Trains the built-in request analyzer and writes router/classify/models/default/{model.onnx,metadata.json,
 * probe-outputs.json,MODEL_CARD.md}.
 *
 *   npx tsx analyzer/train/train.ts [--data ../shared/data] [--out router/classify/models/default] [--seed 42]
 *
 * Data: ../shared/data/unified/routing_unified.jsonl (override with --data or ROUTEWISE_DATA). What ships is trained
 * on MIT data only (LLMRouter train split); RouteProfile and RouterBench test splits are held out for evaluation.
 * `--include-routerbench` adds RouterBench's train split (no data licence: research models only, not for shipping).
 *
 * One stage per file: data.ts (load + split) → targets.ts (model pairs) → features.ts → difficulty-rows.ts →
 * cross-validate.ts (pick the variant) → difficulty-head.ts → item-difficulty.ts (IRT) → label-heads.ts →
 * calibrate.ts → export.ts (model.onnx) → metadata.ts → ../onnx/probe-file.ts (probe-outputs.json) → evaluate.ts →
 * model-card.ts.
 */
import { join } from "node:path";
import type { TrainArgs } from "./args.js";
import { parseTrainArgs } from "./args.js";
import { calibrateDifficulty } from "./calibrate.js";
import { selectDifficultyVariant } from "./cross-validate.js";
import { loadTrainingSplit } from "./data.js";
import { fitDifficultyHead } from "./difficulty-head.js";
import { difficultyRows } from "./difficulty-rows.js";
import { evaluate } from "./evaluate.js";
import { writeProbeOutputs } from "../onnx/probe-file.js";
import { encodeAnalyzer, writeModel } from "./export.js";
import { featurizeSplit } from "./features.js";
import { fitItemDifficulties } from "./item-difficulty.js";
import { labelRows, trainLabelHeads } from "./label-heads.js";
import type { TrainingRun } from "./metadata.js";
import { buildMetadata, writeMetadata } from "./metadata.js";
import { writeModelCard } from "./model-card.js";
import { pairsBySource as modelPairsBySource } from "./targets.js";

/** Every stage up to the fitted heads and the calibration table (no file written yet). */
function fit(args: TrainArgs): TrainingRun {
  const split = loadTrainingSplit(args.data, args.seed, args.includeRouterbench);
  const pairsBySource = modelPairsBySource(split.fitRows);
  const features = featurizeSplit(split.fitRows, split.valRows);
  const rows = difficultyRows(split, pairsBySource, features, args.seed);
  const cv = selectDifficultyVariant(rows, pairsBySource, args.seed);
  const difficulty = fitDifficultyHead(cv.best, rows, args);
  const items = fitItemDifficulties(split.fitRows, split.trainAll);
  const labelData = labelRows(split, features.st);
  const labelHeads = trainLabelHeads(labelData, args);
  const calibration = calibrateDifficulty(rows, items.byId, difficulty.prob);
  return {
    args,
    split,
    pairsBySource,
    standardizer: features.st,
    difficultyRows: rows,
    cv,
    difficulty,
    items,
    labelData,
    labelHeads,
    calibration,
  };
}

async function main(): Promise<void> {
  const args = parseTrainArgs();
  const started = Date.now();
  const run = fit(args);
  const bytes = encodeAnalyzer(run.difficulty, run.labelHeads, run.standardizer, run.split.data.sha256);
  writeModel(args.out, bytes);
  const metadata = buildMetadata(run, bytes);
  // The evaluation loads the written model and metadata the way the router does; its metrics are then added.
  writeMetadata(args.out, metadata);
  // ONNX Runtime's outputs on the agreement probes: the router checks its JS evaluator against them at load.
  await writeProbeOutputs(args.out, metadata.modelFile, metadata.feature);
  metadata.metrics = await evaluate(args.out, run.split.data.rows, run.calibration.rows, run.items.byId);
  writeMetadata(args.out, metadata);
  writeModelCard(join(args.out, "MODEL_CARD.md"), metadata, bytes.length);
  process.stderr.write(
    `done in ${((Date.now() - started) / 1000).toFixed(1)} s; model ${(bytes.length / 1e6).toFixed(2)} MB -> ${args.out}\n`,
  );
  process.stdout.write(JSON.stringify(metadata.metrics["pairs"], null, 2) + "\n");
}

main().catch((err: unknown) => {
  process.stderr.write(`train failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
