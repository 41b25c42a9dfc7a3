/**
 * Seeded, bounded fuzzing of `routewise render` (issue 15): the example policies and the README's multi-team
 * example, mutated (lines dropped, duplicated, swapped, re-indented; bytes cut; characters, anchors, aliases,
 * alias bombs, odd numbers such as 1e400 and .nan inserted; files emptied), compiled by the function the command
 * runs. It must never throw; every problem names a file it was given and a line in it; and whatever it renders is
 * a config the router's gate accepts and that survives JSON (no Infinity, no NaN), with every duration within the
 * cap. A few cases run the real CLI, which must exit 0 or 1 with no stack trace. FUZZ_SEED / FUZZ_CASES override.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_DURATION_MS } from "../../operator/compile/duration.js";
import { parseRouterConfig } from "../../router/config/parse.js";
import type { RouterConfig } from "../../router/config/types.js";
import { rng } from "../../router/prng.js";
import { compileManifests, formatSourceError } from "../standalone.js";

const SEED = Number(process.env["FUZZ_SEED"] ?? 15_011);
const CASES = Number(process.env["FUZZ_CASES"] ?? 300);
const ROOT = join(import.meta.dirname, "../..");
const SOURCES = [
  "examples/providers.yaml",
  "examples/routes.yaml",
  "examples/secret.yaml",
  "docs/examples/multi-team.yaml",
].map((f) => readFileSync(join(ROOT, f), "utf8"));

/** Runs the CLI from its TypeScript sources, as `routewise ...` would. */
function runCli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "cli/main.ts"), ...args], {
    cwd: ROOT,
    encoding: "utf8",
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

type Rand = () => number;
const int = (r: Rand, n: number): number => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)] as T;

const BOMB = ["x0: &x0 [a, a, a, a, a, a, a, a, a, a]"]
  .concat(Array.from({ length: 7 }, (_, i) => `x${i + 1}: &x${i + 1} [${Array(10).fill(`*x${i}`).join(", ")}]`))
  .join("\n");
const INSERTS = [
  ":",
  "-",
  " ",
  "\t",
  "{",
  "}",
  "[",
  "]",
  "&a ",
  "*a",
  "'",
  '"',
  "#",
  "|",
  ">",
  "%",
  "@",
  "!!str ",
  "\u00e9",
];
const NUMBERS = ["1e400", "-1e400", ".nan", ".inf", "-0", "0x10", "1e-400", "99999999999999999999", "-5", "1.5e3"];
const DURATIONS = ["700h", "24h", "24h1ms", "0s", "1.5h", "99999h", "1m1m"];

function mutate(r: Rand, text: string): string {
  const lines = text.split("\n");
  const at = int(r, lines.length);
  switch (int(r, 9)) {
    case 0:
      lines.splice(at, 1 + int(r, 3));
      break;
    case 1:
      lines.splice(at, 0, lines[at] ?? "");
      break;
    case 2: {
      const other = int(r, lines.length);
      [lines[at], lines[other]] = [lines[other] ?? "", lines[at] ?? ""];
      break;
    }
    case 3:
      lines[at] = (int(r, 2) === 0 ? "  " : "") + (lines[at] ?? "").trimStart();
      break;
    case 4:
      return text.slice(0, int(r, text.length + 1));
    case 5: {
      const line = lines[at] ?? "";
      const pos = int(r, line.length + 1);
      lines[at] = line.slice(0, pos) + pick(r, INSERTS) + line.slice(pos);
      break;
    }
    case 6:
      lines[at] = (lines[at] ?? "").replace(/\b\d+(\.\d+)?\b/, pick(r, NUMBERS));
      break;
    case 7:
      lines[at] = (lines[at] ?? "").replace(/\b\d+(\.\d+)?(ms|s|m|h)\b/, pick(r, DURATIONS));
      break;
    default:
      lines.splice(at, 0, pick(r, [BOMB, "---", "", "~", "just a string", "- a\n- b", "? complex\n: key"]));
  }
  return lines.join("\n");
}

function caseFiles(r: Rand): Record<string, string> {
  const files: Record<string, string> = {};
  const n = 1 + int(r, 3);
  for (let i = 0; i < n; i++) {
    let text = pick(r, SOURCES);
    for (let k = int(r, 4); k >= 0; k--) text = mutate(r, text);
    files[`f${i}.yaml`] = r() < 0.03 ? "" : text;
  }
  return files;
}

function write(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "routewise-render-fuzz-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function checkConfig(config: RouterConfig, where: string): void {
  expect(() => parseRouterConfig(JSON.parse(JSON.stringify(config))), where).not.toThrow();
  expect(JSON.parse(JSON.stringify(config)), where).toEqual(config); // nothing JSON cannot carry
  for (const route of config.routes) {
    const durations = [
      route.timeouts.requestMs,
      route.timeouts.attemptMs,
      route.timeouts.firstTokenMs ?? 0,
      route.timeouts.streamIdleMs ?? 0,
      route.circuitBreaker.cooldownMs,
      route.circuitBreaker.windowMs ?? 0,
      route.retry.backoffBaseMs,
      route.retry.backoffMaxMs,
    ];
    for (const ms of durations) expect(ms, `${where} ${route.name}`).toBeLessThanOrEqual(MAX_DURATION_MS);
  }
}

describe("routewise render (fuzz)", () => {
  it(`never throws and names file and line for every problem on ${CASES} seeded mutations`, () => {
    const r = rng(SEED);
    let rendered = 0;
    for (let i = 0; i < CASES; i++) {
      const files = caseFiles(r);
      const dir = write(files);
      const where = `case ${i} (seed ${SEED})`;
      let result: ReturnType<typeof compileManifests> | undefined;
      expect(() => (result = compileManifests([dir], "default")), where).not.toThrow();
      if (!result) continue;
      for (const e of result.errors) {
        const name = e.file.slice(dir.length + 1);
        const text = files[name];
        expect(text, `${where}: ${formatSourceError(e)}`).toBeDefined();
        expect(e.line, `${where}: ${formatSourceError(e)}`).toBeGreaterThanOrEqual(1);
        expect(e.line, `${where}: ${formatSourceError(e)}`).toBeLessThanOrEqual((text ?? "").split("\n").length + 1);
        expect(e.message.length, where).toBeGreaterThan(0);
      }
      if (result.errors.length === 0) {
        rendered++;
        checkConfig(result.config, where);
      }
    }
    // The mix renders some and refuses most: both halves of the check ran.
    expect(rendered).toBeGreaterThan(CASES / 20);
    expect(rendered).toBeLessThan(CASES);
  });

  it("exits 0 or 1 without a stack trace when the CLI renders seeded mutations", () => {
    const r = rng(SEED + 1);
    for (let i = 0; i < 4; i++) {
      const dir = write(caseFiles(r));
      const out = runCli(["render", "-f", dir]);
      expect([0, 1], `case ${i}: ${out.stderr}`).toContain(out.code);
      expect(out.stderr).not.toContain("    at ");
      if (out.code === 0) checkConfig(JSON.parse(out.stdout) as RouterConfig, `cli case ${i}`);
      else for (const line of out.stderr.trim().split("\n")) expect(line).toMatch(/^(.+:\d+: |Skipped |error: )/);
    }
  });
});
