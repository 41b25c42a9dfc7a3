/**
 * Writes RouteProfile's test set (../shared/data/routeprofile-ulab/raw/routing_test_data.json) as `routewise
 * simulate` rows — the unified schema plus `responses: {model: text}` — to the given path (a temp file: the data
 * stays out of the repository). Usage: npx tsx scripts/routeprofile-rows.ts /tmp/routeprofile-rows.jsonl
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

interface Raw {
  task_name: string;
  query: string;
  model_performance: Record<string, Record<string, string | number>>;
}

const out = process.argv[2];
if (out === undefined) throw new Error("usage: routeprofile-rows.ts OUT.jsonl");
const file = join("..", "shared", "data", "routeprofile-ulab", "raw", "routing_test_data.json");
const raw = JSON.parse(readFileSync(file, "utf8")) as Raw[];
const lines = raw.map((r, i) => {
  const perf = Object.entries(r.model_performance);
  return JSON.stringify({
    id: `routeprofile/${r.task_name}/${i}`,
    source: "routeprofile",
    benchmark: r.task_name,
    split: "test",
    prompt: r.query,
    scores: Object.fromEntries(perf.map(([m, p]) => [m, Number(p["task_performance"] ?? 0)])),
    tokens: Object.fromEntries(
      perf.map(([m, p]) => [
        m,
        [Number(p["input_token"] ?? p["prompt_tokens"] ?? 0), Number(p["output_token"] ?? p["completion_tokens"] ?? 0)],
      ]),
    ),
    responses: Object.fromEntries(perf.map(([m, p]) => [m, String(p["response"] ?? "")])),
  });
});
writeFileSync(out, lines.join("\n") + "\n");
process.stdout.write(`Wrote ${lines.length} rows to ${out}\n`);
