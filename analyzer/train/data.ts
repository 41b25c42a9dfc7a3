import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { UnifiedRow } from "../eval/unified-rows.js";
import { parseUnifiedJsonl } from "../eval/unified-rows.js";
import { rng, shuffleInPlace } from "./rng.js";

export const UNIFIED_FILE = join("unified", "routing_unified.jsonl");

export interface LoadedData {
  rows: UnifiedRow[];
  sha256: string;
  path: string;
}

export function loadUnified(dataDir: string): LoadedData {
  const path = join(dataDir, UNIFIED_FILE);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(
      `cannot read ${path} (set --data or ROUTEWISE_DATA to the shared data folder): ${(err as Error).message}`,
      { cause: err },
    );
  }
  return { rows: parseUnifiedJsonl(text, path), sha256: createHash("sha256").update(text).digest("hex"), path };
}

/** RouteProfile's MBPP/HumanEval scores are ~0 for every model (answer extraction issue, see its README). */
export function usableForEval(row: UnifiedRow): boolean {
  return !(row.source === "routeprofile" && (row.benchmark === "mbpp" || row.benchmark === "human_eval"));
}

/** The training rows, shuffled and split into fit and validation (15%), and the rows scored but never fitted. */
export interface TrainingSplit {
  data: LoadedData;
  /** The seeded generator after the shuffle; the synthetic and few-shot label rows continue from it. */
  random: () => number;
  /** Fit + validation rows in shuffled order. */
  trainAll: UnifiedRow[];
  fitRows: UnifiedRow[];
  valRows: UnifiedRow[];
  /**
   * RouterBench's train split has no data licence: never fitted (unless --include-routerbench), only scored as an
   * unseen benchmark source when picking the difficulty variant.
   */
  unseenRows: UnifiedRow[];
}

/** Data stage: what ships is trained on LLMRouter's train split (MIT), plus RouterBench's with --include-routerbench. */
export function loadTrainingSplit(dataDir: string, seed: number, includeRouterbench: boolean): TrainingSplit {
  const data = loadUnified(dataDir);
  const random = rng(seed);
  const inTrain = (r: UnifiedRow): boolean =>
    r.split === "train" && (r.source === "llmrouter" || (includeRouterbench && r.source === "routerbench"));
  const trainAll = shuffleInPlace(data.rows.filter(inTrain), random);
  const nVal = Math.round(trainAll.length * 0.15);
  const valRows = trainAll.slice(0, nVal);
  const fitRows = trainAll.slice(nVal);
  process.stderr.write(
    `data ${data.path} sha256 ${data.sha256.slice(0, 16)}: fit ${fitRows.length}, validation ${valRows.length}\n`,
  );
  const unseenRows = includeRouterbench
    ? []
    : data.rows.filter((r) => r.source === "routerbench" && r.split === "train");
  return { data, random, trainAll, fitRows, valRows, unseenRows };
}
