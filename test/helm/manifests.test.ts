import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parseObjects } from "../harness/kube.js";
import { repoRoot } from "../harness/tools.js";
import { CHART_DIR } from "./helm.js";

const execFileAsync = promisify(execFile);

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort();
}

describe("manifests/routewise.yaml", () => {
  it("is what `npm run manifests` renders from the chart (re-rendering leaves it unchanged)", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "routewise-manifests-")), "routewise.yaml");
    await execFileAsync("bash", [join(repoRoot, "scripts", "render-manifests.sh")], {
      env: { ...process.env, MANIFESTS_OUT: out },
    });
    const committed = readFileSync(join(repoRoot, "manifests", "routewise.yaml"), "utf8");
    expect(readFileSync(out, "utf8") === committed, "manifests/ is stale: run `npm run manifests`").toBe(true);
  });

  it("includes the namespace, every CRD of crds/, the default ModelGateway and both components", () => {
    const text = readFileSync(join(repoRoot, "manifests", "routewise.yaml"), "utf8");
    for (const kind of ["Namespace", "Deployment", "ClusterRole", "Service", "ModelGateway"])
      expect(text).toContain(`kind: ${kind}\n`);
    expect(text).toContain("namespace: routewise-system\n");
    const crds = parseObjects(text, "manifests/routewise.yaml")
      .filter((o) => o.kind === "CustomResourceDefinition")
      .map((o) => o.metadata?.name);
    const sources = yamlFiles(join(repoRoot, "crds")).map(
      (f) => parseObjects(readFileSync(join(repoRoot, "crds", f), "utf8"))[0]?.metadata?.name,
    );
    expect(crds.sort()).toEqual(sources.sort());
  });
});

describe("the chart's copies of crds/ (its crds/ directory) and examples/", () => {
  for (const [source, copy] of [
    ["crds", "crds"],
    ["examples", "files/examples"],
  ] as const) {
    it(`keeps ${copy}/ byte-equal to ${source}/ (run \`npm run manifests\` to refresh)`, () => {
      const from = join(repoRoot, source);
      const to = join(CHART_DIR, copy);
      expect(yamlFiles(to)).toEqual(yamlFiles(from));
      for (const f of yamlFiles(from))
        expect(readFileSync(join(to, f), "utf8") === readFileSync(join(from, f), "utf8"), `${copy}/${f}`).toBe(true);
    });
  }
});
