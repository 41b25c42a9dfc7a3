/**
 * The Dockerfile as the image builder understands it: the one parser for its instructions (the Docker-less builder
 * and test/helm/image.test.ts both read the production stage through it). An instruction the builder cannot
 * reproduce is an error, so the Dockerfile and `npm run image` cannot silently drift apart.
 */
import { posix } from "node:path";

/** Thrown when the Dockerfile holds something the Docker-less builder does not understand. */
export class DockerfileError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DockerfileError";
  }
}

export interface Instruction {
  /** 1-based line of the instruction's first line. */
  readonly line: number;
  /** Upper-cased keyword: FROM, COPY, RUN, ... */
  readonly keyword: string;
  /** Everything after the keyword, continuation lines joined by a space. */
  readonly args: string;
}

export interface Stage {
  readonly from: string;
  readonly name: string | null;
  readonly instructions: readonly Instruction[];
}

export interface Dockerfile {
  /** ARG lines before the first FROM, name → default value. */
  readonly args: ReadonlyMap<string, string>;
  readonly stages: readonly Stage[];
}

/** Splits a Dockerfile into instructions (comments dropped, `\` continuations joined) and stages. */
export function parseDockerfile(text: string): Dockerfile {
  const args = new Map<string, string>();
  const stages: { from: string; name: string | null; instructions: Instruction[] }[] = [];
  for (const ins of instructions(text)) {
    const current = stages[stages.length - 1];
    if (ins.keyword === "FROM") stages.push({ ...parseFrom(ins), instructions: [] });
    else if (current !== undefined) current.instructions.push(ins);
    else if (ins.keyword === "ARG") {
      const [name = "", value = ""] = ins.args.split("=", 2);
      args.set(name.trim(), value.trim());
    } else throw new DockerfileError(`Dockerfile line ${ins.line}: ${ins.keyword} before FROM`);
  }
  if (stages.length === 0) throw new DockerfileError("Dockerfile has no FROM");
  return { args, stages };
}

function parseFrom(ins: Instruction): { from: string; name: string | null } {
  const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
  if (m === null) throw new DockerfileError(`Dockerfile line ${ins.line}: cannot read FROM ${ins.args}`);
  return { from: m[1] ?? "", name: m[2] ?? null };
}

/** Logical lines: [first line number, text], comment lines skipped, `\` continuations joined with a space. */
function logicalLines(text: string): [number, string][] {
  const out: [number, string][] = [];
  let pending: [number, string] | null = null;
  text.split("\n").forEach((raw, index) => {
    const line = raw.replace(/\r$/, "");
    if (/^\s*#/.test(line) || (pending === null && line.trim() === "")) return;
    const continued = /\\\s*$/.test(line);
    const body = line.replace(/\\\s*$/, "").trim();
    pending = pending === null ? [index + 1, body] : [pending[0], `${pending[1]} ${body}`];
    if (continued) return;
    out.push(pending);
    pending = null;
  });
  return out;
}

function instructions(text: string): Instruction[] {
  return logicalLines(text).map(([line, body]) => {
    const m = /^(\S+)\s*(.*)$/.exec(body);
    return { line, keyword: (m?.[1] ?? "").toUpperCase(), args: (m?.[2] ?? "").trim() };
  });
}

/** A COPY line: its sources, destination (as written) and `--from` stage. */
export interface CopyLine {
  readonly line: number;
  readonly sources: readonly string[];
  readonly dest: string;
  readonly from: string | null;
}

export function parseCopy(ins: Instruction): CopyLine {
  const words = ins.args.split(/\s+/).filter((w) => w !== "");
  let from: string | null = null;
  while (words[0]?.startsWith("--") === true) {
    const flag = words.shift() ?? "";
    const m = /^--from=(\S+)$/.exec(flag);
    if (m === null) {
      throw new DockerfileError(`Dockerfile line ${ins.line}: COPY ${flag} is not understood by scripts/image`);
    }
    from = m[1] ?? null;
  }
  if (words[0]?.startsWith("[") === true) {
    throw new DockerfileError(`Dockerfile line ${ins.line}: COPY in JSON form is not understood by scripts/image`);
  }
  const dest = words.pop();
  if (dest === undefined || words.length === 0) {
    throw new DockerfileError(`Dockerfile line ${ins.line}: COPY needs a source and a destination`);
  }
  return { line: ins.line, sources: words, dest, from };
}

/** The COPY lines of the last stage (the production image). */
export function productionCopies(text: string): CopyLine[] {
  const { stages } = parseDockerfile(text);
  const last = stages[stages.length - 1];
  return (last?.instructions ?? []).filter((i) => i.keyword === "COPY").map(parseCopy);
}

/** What a RUN command of the production stage means to the builder. */
export type RunAction = "production-dependencies" | "nothing";

/**
 * The RUN commands (split on `&&`) the builder reproduces. `npm ci --omit=dev` = the production dependency tree
 * (`npm ls --omit=dev --all --parseable`) copied from node_modules; cleaning npm's cache leaves nothing in the image.
 */
export const RUN_COMMANDS: ReadonlyMap<string, RunAction> = new Map([
  ["npm ci --omit=dev --ignore-scripts", "production-dependencies"],
  ["npm cache clean --force", "nothing"],
]);

/** What `COPY --from=<stage> <source>` copies; the build stage must hold the RUN that makes it. */
export const STAGE_OUTPUTS: ReadonlyMap<string, { readonly run: string; readonly output: "compiled" }> = new Map([
  ["build:/app/dist/", { run: "npm run build", output: "compiled" }],
]);

/** A step of the production stage that puts files in the image, resolved against the WORKDIR of its time. */
export type Step =
  | {
      readonly kind: "copy";
      readonly line: number;
      readonly text: string;
      readonly copy: CopyLine;
      readonly destPath: string;
    }
  | {
      readonly kind: "compiled";
      readonly line: number;
      readonly text: string;
      readonly copy: CopyLine;
      readonly destPath: string;
    }
  | { readonly kind: "production-dependencies"; readonly line: number; readonly text: string; readonly dir: string };

/** The production stage as the builder reads it. */
export interface ProductionStage {
  /** The base image reference after ARG substitution (e.g. node:20.19.5-bookworm-slim). */
  readonly baseImage: string;
  readonly workdir: string;
  readonly env: readonly (readonly [string, string])[];
  readonly user: string | null;
  readonly exposedPorts: readonly string[];
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly steps: readonly Step[];
}

interface StageState {
  workdir: string;
  env: [string, string][];
  user: string | null;
  exposedPorts: string[];
  entrypoint: string[];
  cmd: string[];
  steps: Step[];
}

type Handler = (state: StageState, ins: Instruction, file: Dockerfile) => void;

const HANDLERS: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ["WORKDIR", (s, ins) => (s.workdir = posix.resolve(s.workdir, ins.args))],
  ["ENV", (s, ins) => s.env.push(...parseEnv(ins))],
  ["USER", (s, ins) => (s.user = ins.args)],
  ["EXPOSE", (s, ins) => s.exposedPorts.push(...ins.args.split(/\s+/).map((p) => (p.includes("/") ? p : `${p}/tcp`)))],
  ["ENTRYPOINT", (s, ins) => (s.entrypoint = execForm(ins))],
  ["CMD", (s, ins) => (s.cmd = execForm(ins))],
  ["COPY", (s, ins, file) => s.steps.push(copyStep(s.workdir, ins, file))],
  ["RUN", (s, ins) => s.steps.push(...runSteps(s.workdir, ins))],
]);

/** Reads the last stage; throws a {@link DockerfileError} for any instruction the builder does not reproduce. */
export function productionStage(text: string): ProductionStage {
  const file = parseDockerfile(text);
  const last = file.stages[file.stages.length - 1];
  if (last === undefined) throw new DockerfileError("Dockerfile has no stage");
  const state: StageState = { workdir: "/", env: [], user: null, exposedPorts: [], entrypoint: [], cmd: [], steps: [] };
  for (const ins of last.instructions) {
    const handler = HANDLERS.get(ins.keyword);
    if (handler === undefined) {
      throw new DockerfileError(
        `Dockerfile line ${ins.line}: ${ins.keyword} is not understood by scripts/image (teach scripts/image/dockerfile.ts, or the Docker-less image would differ from docker build)`,
      );
    }
    handler(state, ins, file);
  }
  return { baseImage: substitute(last.from, file.args), ...state };
}

function substitute(value: string, args: ReadonlyMap<string, string>): string {
  return value.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => {
    const name = a ?? b ?? "";
    const found = args.get(name);
    if (found === undefined) throw new DockerfileError(`Dockerfile: ARG ${name} has no default`);
    return found;
  });
}

function parseEnv(ins: Instruction): [string, string][] {
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(ins.args)) {
    const m = /^(\S+)\s+(.*)$/.exec(ins.args);
    if (m === null) throw new DockerfileError(`Dockerfile line ${ins.line}: cannot read ENV ${ins.args}`);
    return [[m[1] ?? "", m[2] ?? ""]];
  }
  const pairs: [string, string][] = [];
  for (const m of ins.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    const raw = m[2] ?? "";
    pairs.push([m[1] ?? "", raw.startsWith('"') ? (JSON.parse(raw) as string) : raw]);
  }
  return pairs;
}

function execForm(ins: Instruction): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(ins.args);
  } catch (error) {
    throw new DockerfileError(
      `Dockerfile line ${ins.line}: ${ins.keyword} must use the JSON (exec) form: the image has no shell`,
      { cause: error },
    );
  }
  if (!Array.isArray(parsed) || !parsed.every((p): p is string => typeof p === "string")) {
    throw new DockerfileError(`Dockerfile line ${ins.line}: ${ins.keyword} must be a JSON array of strings`);
  }
  return parsed;
}

function copyStep(workdir: string, ins: Instruction, file: Dockerfile): Step {
  const copy = parseCopy(ins);
  const destPath = posix.resolve(workdir, copy.dest) + (copy.dest.endsWith("/") ? "/" : "");
  const text = `COPY ${ins.args}`;
  if (copy.from === null) return { kind: "copy", line: ins.line, text, copy, destPath };
  for (const source of copy.sources) {
    const known = STAGE_OUTPUTS.get(`${copy.from}:${source}`);
    const stage = file.stages.find((s) => s.name === copy.from);
    if (known === undefined || stage === undefined) {
      throw new DockerfileError(
        `Dockerfile line ${ins.line}: COPY --from=${copy.from} ${source} is not understood by scripts/image`,
      );
    }
    if (!stage.instructions.some((i) => i.keyword === "RUN" && i.args === known.run)) {
      throw new DockerfileError(
        `Dockerfile line ${ins.line}: stage ${copy.from} no longer runs \`${known.run}\`, which scripts/image reproduces for ${source}`,
      );
    }
  }
  return { kind: "compiled", line: ins.line, text, copy, destPath };
}

function runSteps(workdir: string, ins: Instruction): Step[] {
  const steps: Step[] = [];
  for (const command of ins.args.split("&&").map((c) => c.trim().replace(/\s+/g, " "))) {
    const action = RUN_COMMANDS.get(command);
    if (action === undefined) {
      throw new DockerfileError(
        `Dockerfile line ${ins.line}: RUN \`${command}\` is not understood by scripts/image (add it to RUN_COMMANDS in scripts/image/dockerfile.ts)`,
      );
    }
    if (action === "production-dependencies") {
      steps.push({ kind: action, line: ins.line, text: `RUN ${ins.args}`, dir: workdir });
    }
  }
  return steps;
}
