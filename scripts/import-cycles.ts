/**
 * Finds import cycles among the project's TypeScript files, type-only imports included (eslint-plugin-import-x's
 * no-cycle skips `import type`, and a type-only cycle still ties two modules together). Relative imports only.
 *
 *   tsx scripts/import-cycles.ts        prints each cycle, exits 1 when there is one
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SOURCE_DIRS = ["analyzer", "bench", "cli", "operator", "router", "scripts", "test"];
const IMPORT = /^\s*(?:import|export)\b[^'"]*?from\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']/gm;

/** Every .ts file under the given directories (node_modules and dot-directories skipped). */
export function sourceFiles(root: string, dirs: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      if (name === "node_modules" || name.startsWith(".")) continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(path);
    }
  };
  for (const d of dirs) if (existsSync(join(root, d))) walk(join(root, d));
  return out.sort();
}

/** The project files a file imports (relative specifiers, `.js` mapped to the `.ts` source). */
export function importsOf(file: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2];
    if (spec === undefined || !spec.startsWith(".")) continue;
    const target = resolve(dirname(file), spec.replace(/\.js$/, ".ts"));
    if (existsSync(target)) out.push(target);
  }
  return out;
}

/** Each elementary cycle found by a depth-first search, as the files along it (first file repeated at the end). */
export function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

export function projectCycles(root = ROOT): string[][] {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(root, SOURCE_DIRS)) graph.set(file, importsOf(file, readFileSync(file, "utf8")));
  return findCycles(graph).map((cycle) => cycle.map((f) => relative(root, f)));
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const cycles = projectCycles();
  for (const c of cycles) console.error(`import cycle: ${c.join(" → ")}`);
  process.exit(cycles.length > 0 ? 1 : 0);
}
