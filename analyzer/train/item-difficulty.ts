/**
 * IRT item difficulties of the training prompts (all models above the score floor): the scale the calibrated
 * output is put on (calibrate.ts), so the router's quality model (b = -2 + 8 * difficulty) reads an item difficulty.
 */
import type { UnifiedRow } from "../eval/unified-rows.js";
import type { IrtFit } from "./irt.js";
import { DEFAULT_IRT, fitIrt, irtAnchor, irtToUnit } from "./irt.js";
import { modelMeans } from "./targets.js";

export interface ItemDifficulties {
  fit: IrtFit;
  /** The prompts the IRT model was fitted on (LLMRouter fit + validation rows). */
  prompts: number;
  /** The shift onto the router's ability scale (irtAnchor). */
  anchor: number;
  /** Row id -> IRT difficulty on the router's [0,1] scale. */
  byId: Map<string, number>;
}

export function fitItemDifficulties(fitRows: readonly UnifiedRow[], trainAll: readonly UnifiedRow[]): ItemDifficulties {
  const models = [...modelMeans(fitRows.filter((r) => r.source === "llmrouter"))]
    .filter(([, m]) => m >= 0.3)
    .map(([k]) => k)
    .sort();
  const rows = trainAll.filter((r) => r.source === "llmrouter");
  const fit = fitIrt(rows, { ...DEFAULT_IRT, models });
  const anchor = irtAnchor(fit);
  const byId = new Map(rows.map((r, i) => [r.id, irtToUnit(fit.b[i] ?? 0, anchor)]));
  process.stderr.write(
    `IRT (2PL) on ${rows.length} prompts x ${models.length} models: nll ${fit.nll.toFixed(4)}; theta ${fit.models
      .map((m, i) => `${m} ${(fit.theta[i] ?? 0).toFixed(2)}`)
      .join(", ")}\n`,
  );
  return { fit, prompts: rows.length, anchor, byId };
}
