/**
 * The Dockerfile as the image builder understands it: the one parser for its instructions (the Docker-less builder
 * and test/helm/image.test.ts both read the production stage through it). An instruction the builder cannot
 * reproduce is an error, so the Dockerfile and `npm run image` cannot silently drift apart. The syntax (escape
 * directive, continuations, comments, flags, ENV properties, exec form, heredocs) is dockerfile-ast's; this file
 * holds only the builder's policy on top of it.
 */
import { posix } from "node:path";
import * as ast from "dockerfile-ast";

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
  /** Flags and arguments as written (comments and continuations dropped), one space between them. */
  readonly args: string;
  /** The instruction as dockerfile-ast parsed it: ENV properties, flags, exec-form strings, heredocs. */
  readonly node: ast.Instruction;
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

/** Parses a Dockerfile with dockerfile-ast (escape directive, continuations, comments) into instructions and stages. */
export function parseDockerfile(text: string): Dockerfile {
  const parsed = ast.DockerfileParser.parse(text);
  const args = new Map<string, string>();
  const stages: { from: string; name: string | null; instructions: Instruction[] }[] = [];
  for (const ins of instructions(text, parsed)) {
    const current = stages[stages.length - 1];
    if (ins.node instanceof ast.From) stages.push({ ...parseFrom(ins, ins.node), instructions: [] });
    else if (current !== undefined) current.instructions.push(ins);
    else if (ins.node instanceof ast.Arg) {
      const property = ins.node.getProperty();
      if (property === null) throw new DockerfileError(`Dockerfile line ${ins.line}: cannot read ARG ${ins.args}`);
      args.set(property.getName(), property.getValue() ?? "");
    } else throw new DockerfileError(`Dockerfile line ${ins.line}: ${ins.keyword} before FROM`);
  }
  if (stages.length === 0) throw new DockerfileError("Dockerfile has no FROM");
  return { args, stages };
}

function parseFrom(ins: Instruction, from: ast.From): { from: string; name: string | null } {
  const image = from.getImage();
  const words = from.getArguments().length;
  if (image === null || from.getFlags().length > 0 || (words !== 1 && words !== 3)) {
    throw new DockerfileError(`Dockerfile line ${ins.line}: cannot read FROM ${ins.args}`);
  }
  return { from: image, name: from.getBuildStage() };
}

/** Every instruction with its line and its flags and arguments as written; heredocs stop the builder. */
type Range = ReturnType<ast.Argument["getRange"]>;

function instructions(text: string, parsed: ast.Dockerfile): Instruction[] {
  const offsets = lineOffsets(text);
  const slice = (range: Range): string =>
    text.slice(
      at(offsets, range.start.line) + range.start.character,
      at(offsets, range.end.line) + range.end.character,
    );
  return parsed.getInstructions().map((node) => {
    const line = node.getRange().start.line + 1;
    const keyword = node.getKeyword();
    if ((node instanceof ast.Copy || node instanceof ast.Run) && node.getHeredocs().length > 0) {
      throw new DockerfileError(
        `Dockerfile line ${line}: ${keyword} with a heredoc is not understood by scripts/image`,
      );
    }
    const flags = node instanceof ast.ModifiableInstruction ? node.getFlags().map((f) => slice(f.getRange())) : [];
    const words = node.getArguments().map((a) => slice(a.getRange()));
    return { line, keyword, args: [...flags, ...words].join(" "), node };
  });
}

function lineOffsets(text: string): number[] {
  const offsets = [0];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) offsets.push(i + 1);
  return offsets;
}

function at(offsets: readonly number[], line: number): number {
  return offsets[line] ?? offsets[offsets.length - 1] ?? 0;
}

/** A COPY line: its sources, destination (as written) and `--from` stage. */
export interface CopyLine {
  readonly line: number;
  readonly sources: readonly string[];
  readonly dest: string;
  readonly from: string | null;
}

export function parseCopy(ins: Instruction): CopyLine {
  if (!(ins.node instanceof ast.Copy)) throw new DockerfileError(`Dockerfile line ${ins.line}: not a COPY`);
  let from: string | null = null;
  for (const flag of ins.node.getFlags()) {
    const value = flag.getValue();
    if (flag.getName() !== "from" || value === null || value === "") {
      throw new DockerfileError(
        `Dockerfile line ${ins.line}: COPY ${flag.toString()} is not understood by scripts/image`,
      );
    }
    from = value;
  }
  const words = execForm(ins, ins.node) ?? ins.node.getArguments().map((a) => a.getValue());
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
  ["ENTRYPOINT", (s, ins) => (s.entrypoint = requireExecForm(ins))],
  ["CMD", (s, ins) => (s.cmd = requireExecForm(ins))],
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
  const properties = ins.node instanceof ast.Env ? ins.node.getProperties() : [];
  if (properties.length === 0) throw new DockerfileError(`Dockerfile line ${ins.line}: cannot read ENV ${ins.args}`);
  return properties.map((p): [string, string] => {
    const value = p.getValue();
    if (value === null) throw new DockerfileError(`Dockerfile line ${ins.line}: ENV ${p.getName()} has no value`);
    return [p.getName(), value];
  });
}

/**
 * The strings of an exec-form (JSON array) instruction, or null in shell form. dockerfile-ast finds the brackets
 * (across continuations); the array is decoded with JSON.parse, because 0.7.1's getJSONValue() drops spaces
 * inside a string (`["a b"]` → `ab`).
 */
function execForm(ins: Instruction, node: ast.JSONInstruction): string[] | null {
  if (node.getOpeningBracket() === null || node.getClosingBracket() === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(node.getArgumentsContent() ?? "");
  } catch (error) {
    throw new DockerfileError(`Dockerfile line ${ins.line}: ${ins.keyword} holds invalid JSON`, { cause: error });
  }
  if (!Array.isArray(parsed) || !parsed.every((p): p is string => typeof p === "string")) {
    throw new DockerfileError(`Dockerfile line ${ins.line}: ${ins.keyword} must be a JSON array of strings`);
  }
  return parsed;
}

function requireExecForm(ins: Instruction): string[] {
  const strings = ins.node instanceof ast.JSONInstruction ? execForm(ins, ins.node) : null;
  if (strings === null) {
    throw new DockerfileError(
      `Dockerfile line ${ins.line}: ${ins.keyword} must use the JSON (exec) form: the image has no shell`,
    );
  }
  return strings;
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
  if (ins.node instanceof ast.ModifiableInstruction && ins.node.getFlags().length > 0) {
    throw new DockerfileError(`Dockerfile line ${ins.line}: RUN flags are not understood by scripts/image`);
  }
  if (ins.node instanceof ast.JSONInstruction && execForm(ins, ins.node) !== null) {
    throw new DockerfileError(`Dockerfile line ${ins.line}: RUN in JSON form is not understood by scripts/image`);
  }
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
