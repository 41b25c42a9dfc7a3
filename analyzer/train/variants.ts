/** The difficulty-head candidates searched in cross-validation (cross-validate.ts), as data. */
import { DENSE_FEATURE_NAMES, DENSE_SIZE } from "../../router/classify/featurize.js";
import { F } from "./features.js";
import type { HeadSpec } from "./linear.js";

export interface Variant {
  name: string;
  useHashed: boolean;
  /** Restrict the head to these dense features. */
  only?: readonly string[];
  /** Hidden units of an MLP head on the dense features (instead of a linear head). */
  mlp?: number;
  /** Add the synthetic chit-chat prompts to the difficulty training with target 0 ("no gain from a stronger model"). */
  chatPrior?: boolean;
  /** Train on the all-pairs target instead of the strongest-vs-weaker one. */
  allPairsTarget?: boolean;
}

const LENGTH_FEATURES = ["len_chars", "len_words", "len_lines", "len_sentences", "last_block_chars"];

export const VARIANTS: Variant[] = [
  { name: "length", useHashed: false, only: LENGTH_FEATURES },
  { name: "dense", useHashed: false },
  { name: "dense+hashed", useHashed: true },
  { name: "mlp32", useHashed: false, mlp: 32 },
  { name: "mlp32+chat", useHashed: false, mlp: 32, chatPrior: true },
  { name: "dense+chat", useHashed: false, chatPrior: true },
  { name: "dense/all-pairs", useHashed: false, allPairsTarget: true },
  { name: "mlp32/all-pairs", useHashed: false, mlp: 32, allPairsTarget: true },
];

/** MLP hyper-parameters (fixed; only the variant and blend are searched). `members` seeds are averaged. */
export const MLP_OPTIONS = { epochs: 20, batchSize: 64, lr: 0.003, weightDecay: 0.05, members: 5 };

/**
 * Length prior blended into the head's logit: logit + blend · z(len_chars), z = standardised log prompt length.
 * Picked with the variant on validation (never on test); folded into the exported weights.
 */
const BLENDS = [0, 0.25, 0.5, 0.75, 1, 1.5];

export const LEN_INDEX = (DENSE_FEATURE_NAMES as readonly string[]).indexOf("len_chars");

/** The blends tried for a variant (a length-only head gets no extra length prior). */
export function blendsOf(v: Variant): readonly number[] {
  return v.only === undefined ? BLENDS : [0];
}

export function diffSpec(v: Variant): HeadSpec {
  const spec: HeadSpec = { kind: "binary", classes: 1, l2Dense: 1e-3, l2Hashed: 1e-3, useHashed: v.useHashed };
  if (v.only !== undefined) {
    const names: readonly string[] = DENSE_FEATURE_NAMES;
    spec.allowed = Uint8Array.from({ length: F }, (_, i) =>
      i < DENSE_SIZE && v.only?.includes(names[i] ?? "") === true ? 1 : 0,
    );
  }
  return spec;
}
