/**
 * What the container image runs, without Docker: lays out the production stage of the Dockerfile (its COPY lines)
 * in a temp dir with freshly compiled dist/, then runs the entrypoint the way the chart does. The COPY lines are read
 * by the image builder's parser (scripts/image/dockerfile.ts), the same one `npm run image` uses.
 */
import { execFile, spawn } from "node:child_process";
import { builtinModules } from "node:module";
import { cpSync, mkdirSync, mkdtempSync, rmSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONFIG_KEY } from "../../router/config/delivery.js";
import { productionCopies } from "../../scripts/image/dockerfile.js";
import { repoRoot } from "../harness/tools.js";

const execFileAsync = promisify(execFile);
const dockerfile = readFileSync(join(repoRoot, "Dockerfile"), "utf8");
let app = "";
let build = "";

function sh(args: string[], timeout = 30_000): Promise<{ stdout: string; stderr: string }> {
  return execFileAsync(process.execPath, [join(app, "bin", "routewise.js"), ...args], { cwd: app, timeout });
}

beforeAll(async () => {
  app = mkdtempSync(join(tmpdir(), "routewise-image-"));
  build = mkdtempSync(join(tmpdir(), "routewise-build-"));
  // The build stage: `npm run build` (tsc -p tsconfig.build.json) into the build dir.
  await execFileAsync(
    join(repoRoot, "node_modules", ".bin", "tsc"),
    ["-p", "tsconfig.build.json", "--outDir", join(build, "dist")],
    {
      cwd: repoRoot,
    },
  );
  for (const { sources, dest, from } of productionCopies(dockerfile)) {
    for (const source of sources) {
      const src = from === "build" ? join(build, source.replace(/^\/app\//, "")) : join(repoRoot, source);
      const target = dest.endsWith("/") && !source.endsWith("/") ? join(app, dest, source) : join(app, dest);
      mkdirSync(dirname(target), { recursive: true });
      cpSync(src, target, { recursive: true });
    }
  }
  // `npm ci --omit=dev` is not possible offline; the repo's node_modules stands in (see the dependency test below).
  symlinkSync(join(repoRoot, "node_modules"), join(app, "node_modules"), "dir");
}, 120_000);

afterAll(() => {
  for (const dir of [app, build]) if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

describe("Dockerfile", () => {
  it("copies the files the entrypoints read at run time into the production stage", () => {
    const dests = productionCopies(dockerfile).map((c) => c.dest);
    for (const needed of ["bin/", "dist/", "crds/", "router/classify/models/", "./"]) expect(dests).toContain(needed);
    expect(dockerfile).toMatch(/npm ci --omit=dev --ignore-scripts/);
    expect(dockerfile).toMatch(/^USER 65532:65532$/m);
    expect(dockerfile).toMatch(
      /^ENTRYPOINT \["node", "--max-semi-space-size=8", "--no-memory-reducer", "bin\/routewise.js"\]$/m,
    );
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20\.\d+\.\d+-\w+-slim$/m);
  });

  it("needs only production dependencies at run time (every package the entrypoint imports is a dependency)", () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    // Follow the static and dynamic imports from the entrypoint, the way Node loads them.
    const imported = new Set<string>();
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const m of readFileSync(file, "utf8").matchAll(/(?:from|import)\s*\(?\s*"([^"\s]+)"/g)) {
        const spec = m[1] ?? "";
        if (spec.startsWith(".")) visit(join(dirname(file), spec));
        else imported.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : (spec.split("/")[0] ?? ""));
      }
    };
    visit(join(app, "bin", "routewise.js"));
    expect(seen.size).toBeGreaterThan(20);
    const builtins = new Set(builtinModules);
    const missing = [...imported].filter(
      (n) => !n.startsWith("node:") && !builtins.has(n) && pkg.dependencies[n] === undefined,
    );
    expect(missing).toEqual([]);
  });
});

describe("the image's entrypoint (production layout)", () => {
  it("prints the CLI help", async () => {
    const { stdout } = await sh(["--help"]);
    expect(stdout).toContain("Usage: routewise");
    expect(stdout).toMatch(/router/);
    expect(stdout).toMatch(/operator/);
  });

  it("prints the router and operator help with the flags the chart passes", async () => {
    const router = (await sh(["router", "--help"])).stdout;
    for (const flag of ["--config", "--credentials", "--api-keys", "--port", "--metrics-port"])
      expect(router).toContain(flag);
    const operator = (await sh(["operator", "--help"])).stdout;
    for (const flag of [
      "--namespace",
      "--watch-namespaces",
      "--metrics-address",
      "--no-leader-elect",
      "--controller-name",
      "--lease-name",
    ])
      expect(operator).toContain(flag);
  });

  it("serves /readyz from a mounted ConfigMap directory with the bundled classifier model, /metrics on --metrics-port", async () => {
    const config = mkdtempSync(join(tmpdir(), "routewise-cm-"));
    const credentials = mkdtempSync(join(tmpdir(), "routewise-creds-"));
    const rendered = await sh(["render", "-f", join(repoRoot, "examples")]);
    writeFileSync(join(config, CONFIG_KEY), rendered.stdout);
    writeFileSync(join(credentials, "default.openai-credentials.apiKey"), "sk-test");
    const child = spawn(
      process.execPath,
      [
        join(app, "bin", "routewise.js"),
        "router",
        `--config=${config}`,
        `--credentials=${credentials}`,
        "--port=0",
        "--metrics-port=0",
      ],
      { cwd: app, env: { ...process.env, LOG_LEVEL: "info" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    try {
      const [url, metricsUrl] = await new Promise<[string, string]>((resolve, reject) => {
        let out = "";
        const timer = setTimeout(() => reject(new Error(`router did not start: ${out}`)), 30_000);
        child.stdout.on("data", (chunk: Buffer) => {
          out += chunk.toString("utf8");
          // Whole lines only: a chunk may end mid-line.
          const line = out
            .split("\n")
            .slice(0, -1)
            .find((l) => l.includes("listening on"));
          const parsed = line === undefined ? null : (JSON.parse(line) as { url: string; metricsUrl: string });
          if (parsed !== null) {
            clearTimeout(timer);
            resolve([parsed.url, parsed.metricsUrl].map((u) => u.replace("0.0.0.0", "127.0.0.1")) as [string, string]);
          }
        });
        child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")));
        child.once("exit", (code) => reject(new Error(`router exited with ${String(code)}: ${out}`)));
      });
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      const metrics = await fetch(`${metricsUrl}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain("routewise_config_info{");
      expect((await fetch(`${url}/metrics`)).status).toBe(404);
    } finally {
      child.kill("SIGTERM");
    }
  }, 60_000);
});
