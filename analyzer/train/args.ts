import { resolve } from "node:path";
import { parseArgs } from "node:util";

/** The command line of `npm run train` (see train.ts). */
export interface TrainArgs {
  data: string;
  out: string;
  seed: number;
  epochs: number;
  includeRouterbench: boolean;
}

export function parseTrainArgs(): TrainArgs {
  const { values } = parseArgs({
    options: {
      data: { type: "string" },
      out: { type: "string" },
      seed: { type: "string", default: "42" },
      epochs: { type: "string", default: "30" },
      "include-routerbench": { type: "boolean", default: false },
    },
  });
  return {
    data: resolve(values.data ?? process.env["ROUTEWISE_DATA"] ?? "../shared/data"),
    out: resolve(values.out ?? "router/classify/models/default"),
    seed: Number(values.seed),
    epochs: Number(values.epochs),
    includeRouterbench: values["include-routerbench"],
  };
}
