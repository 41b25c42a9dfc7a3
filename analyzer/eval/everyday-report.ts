/**
 * Scores a model directory on the everyday labelled set and prints the report as JSON:
 *
 *   npx tsx analyzer/eval/everyday-report.ts [--model router/classify/models/default] [--split dev|test]
 *
 * The same report is written into metadata.json (`metrics.everyday`) and the model card by `npm run train`.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { OnnxClassifier } from "../../router/classify/onnx-classifier.js";
import { packageRoot } from "../../router/config/package-root.js";
import { classifyEveryday, everydayPath, loadEveryday, scoreEveryday } from "./everyday.js";

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { model: { type: "string" }, split: { type: "string" } } });
  const rows = loadEveryday(everydayPath(packageRoot())).filter(
    (r) => values.split === undefined || r.split === values.split,
  );
  const classifier = await OnnxClassifier.load({
    modelDir: resolve(values.model ?? "router/classify/models/default"),
    cacheSize: 0,
  });
  const report = scoreEveryday(rows, await classifyEveryday(classifier, rows));
  process.stdout.write(JSON.stringify(report, null, 2) + "\n");
}

main().catch((err: unknown) => {
  process.stderr.write(`everyday report failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
