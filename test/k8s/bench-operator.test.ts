/**
 * `npm run bench:operator` still runs end to end (at a tiny scale): it broke silently once, when routes began to
 * need a ModelGateway and the bench kept waiting for a ConfigMap that was never written. Not a timing test: only
 * the shape of its JSON line is checked, and that every object's status was written once.
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
    ["bench/operator-scale.ts", "--providers", "4", "--routes", "100"],
    { cwd: repoRoot, timeout: 170_000 },
  );
  const line = stdout.trim().split("\n").pop() ?? "";
  const result = JSON.parse(line) as Record<string, unknown>;
  expect(result).toMatchObject({ providers: 4, routes: 100, objects: 105 });
  for (const key of ["compile_ms", "configmap_programmed_ms", "all_status_written_ms"]) {
    expect(typeof result[key]).toBe("number");
  }
  // Each status once: a reconcile queued by the operator's own writes used to start before their watch events
  // arrived and write the same statuses again (1,520 route writes for 1,000 routes; 127 for 100 here).
  expect(result["status_writes"]).toBe(105);
}, 180_000);
