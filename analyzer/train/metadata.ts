/** metadata.json: what the router needs to run the model, and a record of how it was trained (the model card's source). */
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_FEATURE_CONFIG, DENSE_FEATURE_NAMES, DENSE_SIZE } from "../../router/classify/featurize.js";
import type { ClassifierMetadata } from "../../router/classify/model-metadata.js";
import { analyzerTensorSpecs, METADATA_SCHEMA } from "../../router/classify/model-metadata.js";
import { DOMAINS, TASKS } from "../../router/config/types.js";
import type { TrainArgs } from "./args.js";
import type { Calibration } from "./calibrate.js";
import type { CvResult } from "./cross-validate.js";
import type { TrainingSplit } from "./data.js";
import type { FittedDifficulty } from "./difficulty-head.js";
import type { DifficultyRows } from "./difficulty-rows.js";
import type { Standardizer } from "./features.js";
import { DENSE_CLIP } from "./features.js";
import { ANCHOR_SCORE, DEFAULT_IRT } from "./irt.js";
import type { ItemDifficulties } from "./item-difficulty.js";
import type { LabelData, LabelHeads } from "./label-heads.js";
import { CLASS_WEIGHT_POWER, EVERYDAY_ROWS_PER_TASK, FEW_SHOT_ROWS } from "./label-heads.js";
import type { ModelPair } from "./targets.js";
import { MLP_OPTIONS } from "./variants.js";

/** Everything one training run produced, stage by stage. */
export interface TrainingRun {
  args: TrainArgs;
  split: TrainingSplit;
  pairsBySource: ReadonlyMap<string, readonly ModelPair[]>;
  standardizer: Standardizer;
  difficultyRows: DifficultyRows;
  cv: CvResult;
  difficulty: FittedDifficulty;
  items: ItemDifficulties;
  labelData: LabelData;
  labelHeads: LabelHeads;
  calibration: Calibration;
}

function sources(includeRouterbench: boolean): string[] {
  return includeRouterbench ? ["llmrouter (MIT)", "routerbench (no data licence; research only)"] : ["llmrouter (MIT)"];
}

function difficultyTargetNote(run: TrainingRun): string {
  const strongest = run.pairsBySource.get("llmrouter")?.[0]?.strong ?? "?";
  return run.difficulty.variant.allPairsTarget === true
    ? "ranking: mean over all model pairs (stronger, weaker) of max(0, score_strong - score_weak); calibrated output: 2PL IRT item difficulty"
    : `ranking: mean over weaker models of max(0, score_strongest - score_weak), strongest = ${strongest} (the best training model by mean score); calibrated output: 2PL IRT item difficulty`;
}

function irtNote(items: ItemDifficulties): Record<string, unknown> {
  const { fit } = items;
  return {
    kind: DEFAULT_IRT.kind,
    prompts: items.prompts,
    models: Object.fromEntries(fit.models.map((m, i) => [m, { theta: fit.theta[i], a: fit.a[i] }])),
    nll: fit.nll,
    anchor: `median model ability -> declared score ${ANCHOR_SCORE}; difficulty = (b + shift + 2) / 8, shift ${items.anchor.toFixed(3)}`,
  };
}

function difficultyHeadNote(run: TrainingRun): string {
  const mlp = run.difficulty.mlp;
  const seed = run.args.seed;
  return mlp === undefined
    ? "linear"
    : `mean of ${MLP_OPTIONS.members} MLPs ${DENSE_SIZE}-${mlp.hidden / MLP_OPTIONS.members}-1 (ReLU, seeds ${seed} + 1000k; one ${DENSE_SIZE}-${mlp.hidden}-1 MLP in the graph) on the dense features, AdamW lr ${MLP_OPTIONS.lr}, weight decay ${MLP_OPTIONS.weightDecay}, ${MLP_OPTIONS.epochs} epochs max, early stop on validation loss`;
}

function chatNotes(run: TrainingRun): { chatPrior: string; chatCalibrationAnchor: string } {
  const n = run.difficultyRows.chat.length;
  return {
    chatPrior:
      run.difficulty.variant.chatPrior === true
        ? `${n} synthetic chit-chat prompts (analyzer/train/synthetic.ts chat templates) as difficulty rows with target 0, weighted as one family`
        : "none",
    chatCalibrationAnchor: `${n} synthetic chit-chat prompts join the isotonic calibration fit with target ${run.calibration.easiest.toFixed(3)} (the easiest training prompt's IRT difficulty); ranking unchanged`,
  };
}

/** The `training` record (key order is the file's order). */
function training(run: TrainingRun): Record<string, unknown> {
  const { args, split, difficulty, labelHeads, standardizer: st } = run;
  const { chatPrior, chatCalibrationAnchor } = chatNotes(run);
  return {
    seed: args.seed,
    epochs: args.epochs,
    dataFile: "unified/routing_unified.jsonl",
    dataSha256: split.data.sha256,
    sources: sources(args.includeRouterbench),
    fitRows: split.fitRows.length,
    validationRows: split.valRows.length,
    syntheticLabelRows: run.labelData.syntheticRows,
    difficultyTarget: difficultyTargetNote(run),
    irt: irtNote(run.items),
    modelPairs: Object.fromEntries([...run.pairsBySource].map(([s, p]) => [s, p.map((x) => `${x.strong}>${x.weak}`)])),
    difficultyVariant: difficulty.variant.name,
    difficultyLengthBlend: difficulty.blend,
    crossValidationApgr: run.cv.table,
    validationNote:
      "variant and blend picked on LLMRouter train folds (leave-one-family-out + random) and, as an unseen benchmark source, RouterBench's train split (scored only, never fitted)",
    difficultyBestEpoch: difficulty.linear.bestEpoch,
    difficultyHead: difficultyHeadNote(run),
    chatPrior,
    chatCalibrationAnchor,
    fewShotRows: `${FEW_SHOT_ROWS} few-shot wrappers (2-5 answered exemplars of the same task, then a training prompt with its own label) added to the task/domain training`,
    everydayTemplateRows: `${run.labelData.everydayRows} everyday template requests (${EVERYDAY_ROWS_PER_TASK} per task, analyzer/train/everyday-templates.ts; 1 in 7 held out for validation) added to the task/domain training`,
    labelClassWeights: `(inverse class frequency)^${CLASS_WEIGHT_POWER}`,
    taskBestEpoch: labelHeads.task.bestEpoch,
    labelHeadL2Hashed: labelHeads.l2Hashed,
    domainBestEpoch: labelHeads.domain.bestEpoch,
    denseStandardization: { mean: Array.from(st.mean), std: Array.from(st.std), clip: DENSE_CLIP },
  };
}

/** The metadata of the exported model `bytes`; `metrics` stays empty until evaluate.ts has run on the written model. */
export function buildMetadata(run: TrainingRun, bytes: Uint8Array): ClassifierMetadata {
  const specs = analyzerTensorSpecs(DEFAULT_FEATURE_CONFIG);
  return {
    schema: METADATA_SCHEMA,
    modelFile: "model.onnx",
    modelSha256: createHash("sha256").update(bytes).digest("hex"),
    feature: DEFAULT_FEATURE_CONFIG,
    denseFeatureNames: [...DENSE_FEATURE_NAMES],
    inputs: specs.inputs,
    outputs: specs.outputs,
    labels: { task: [...TASKS], domain: [...DOMAINS] },
    calibration: run.calibration.table,
    training: training(run),
    metrics: {},
  };
}

export function writeMetadata(out: string, metadata: ClassifierMetadata): void {
  writeFileSync(join(out, "metadata.json"), JSON.stringify(metadata, null, 2) + "\n");
}
