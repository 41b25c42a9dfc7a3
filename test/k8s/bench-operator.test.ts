/**
 * `npm run bench:operator` still runs end to end (at a tiny scale): it broke silently once, when routes began to
 * need a ModelGateway and the bench kept waiting for a ConfigMap that was never written. Not a timing test: only
 * the shape of its JSON line is checked.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";
import { repoRoot } from "../harness/tools.js";

const execFileAsync = promisify(execFile);

it("bench:operator programs every route and prints its JSON line", async () => {
  const { stdout } = await execFileAsync(
    join(repoRoot, "node_modules", ".bin", "tsx"),
    ["bench/operator-scale.ts", "--providers", "4", "--routes", "12"],
    { cwd: repoRoot, timeout: 170_000 },
  );
  const line = stdout.trim().split("\n").pop() ?? "";
  const result = JSON.parse(line) as Record<string, unknown>;
  expect(result).toMatchObject({ providers: 4, routes: 12 });
  for (const key of ["compile_ms", "configmap_programmed_ms", "all_status_written_ms"]) {
    expect(typeof result[key]).toBe("number");
  }
}, 180_000);
