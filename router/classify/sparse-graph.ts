/**
 * A synchronous evaluator for the built-in analyzer's ONNX graph (analyzer/onnx/analyzer-graph.ts), for exactly its
 * op subset: Slice, Max, Min, Concat, Gemm, Relu, Add, Split, Sigmoid, Softmax over one [batch, width] input. It
 * evaluates one row at a time and keeps the input sparse: the Gemm over the 2^hashBits hashed features touches only
 * the weight rows of the non-zero features (a few hundred of 16k), so one decision costs microseconds and never
 * leaves the calling turn of the event loop (onnxruntime-node's run() defers to a later turn, ADR 15).
 *
 * compileSparseGraph() refuses (with the reason) any graph it cannot evaluate exactly: another op, a non-default
 * domain, an attribute or operand shape outside what the analyzer graph uses. The classifier then keeps ONNX Runtime,
 * and it uses this evaluator only after the two agree on probe inputs (analyzer-engine.ts).
 */
import type { OnnxGraphValue, OnnxNodeValue, OnnxTensorValue } from "./onnx-proto.js";

/** One row of the graph's input: `width` values of which only `index` are non-zero. */
export interface SparseVector {
  width: number;
  index: Int32Array;
  value: Float32Array;
}

const NO_INDEX = new Int32Array(0);
const NO_VALUES = new Float64Array(0);

/**
 * Where one per-row value lives while a row is evaluated: dense (buffer(): `width` values) or sparse (the first `n`
 * entries of `index` and `value`). A compiled graph allocates its registers once and every run overwrites them
 * (run() is synchronous, and the graph is in SSA form: each step writes only its own output registers). Typed
 * arrays of more than 64 bytes live outside V8's heap and cost ~1-3 µs each to allocate, so allocating a dozen per
 * decision, as this evaluator first did, cost more than the arithmetic (ADR 5).
 */
class Register {
  sparse = false;
  /** Dense values; for a sparse register, the buffer dense() scatters it into. Allocated on first use. */
  private denseBuffer: Float64Array | null = null;
  index: Int32Array = NO_INDEX;
  value: Float64Array | Float32Array = NO_VALUES;
  n = 0;

  constructor(readonly width: number) {}

  /** The dense buffer (zeroed when first allocated; otherwise holding the last run's values). */
  buffer(): Float64Array {
    this.denseBuffer ??= new Float64Array(this.width);
    return this.denseBuffer;
  }

  /** Makes this register dense and returns its buffer for the caller to overwrite entirely. */
  writeDense(): Float64Array {
    this.sparse = false;
    return this.buffer();
  }

  /** Makes this register sparse with room for `capacity` entries (n = 0); the caller appends and sets n. */
  writeSparse(capacity: number): { index: Int32Array; value: Float64Array } {
    this.sparse = true;
    this.n = 0;
    if (this.index.length < capacity || !(this.value instanceof Float64Array)) {
      const size = Math.max(capacity, 2 * this.index.length, 16);
      this.index = new Int32Array(size);
      this.value = new Float64Array(size);
    }
    return { index: this.index, value: this.value };
  }
}

/** What compilation knows of a value: a per-row vector of a fixed width, or a constant (initializer). */
type Known = { kind: "row"; width: number } | { kind: "const"; tensor: OnnxTensorValue };

type Step = (regs: readonly Register[]) => void;

export type CompileResult = { ok: true; graph: SparseGraph } | { ok: false; reason: string };

export const SUPPORTED_OPS = ["Slice", "Max", "Min", "Concat", "Gemm", "Relu", "Add", "Split", "Sigmoid", "Softmax"];

/** Slices and concatenations narrower than this are kept dense. */
const DENSE_LIMIT = 1024;

class Unsupported extends Error {}

function fail(node: OnnxNodeValue, index: number, why: string): never {
  throw new Unsupported(`node ${index} (${node.opType}): ${why}`);
}

/** The register's values as a dense vector (a sparse register is scattered into its own buffer). */
function dense(r: Register): Float64Array {
  const out = r.buffer();
  if (!r.sparse) return out;
  out.fill(0);
  for (let k = 0; k < r.n; k++) out[r.index[k] ?? 0] = r.value[k] ?? 0;
  return out;
}

function elements(t: OnnxTensorValue): number {
  return t.dims.reduce((a, b) => a * b, 1);
}

/** A constant broadcast against rows of `width`: one value for all columns, or one per column. */
function broadcastConst(t: OnnxTensorValue, width: number): Float64Array | null {
  if (!(t.data instanceof Float32Array)) return null;
  const n = elements(t);
  const leading = t.dims.slice(0, -1).every((d) => d === 1);
  if (n === 1 && leading) return Float64Array.from({ length: width }, () => t.data[0] as number);
  if (n === width && leading && t.dims.length >= 1 && t.dims.length <= 2) return Float64Array.from(t.data);
  return null;
}

function intAttr(node: OnnxNodeValue, name: string, fallback: number): number {
  const a = node.attributes.get(name);
  return a === undefined ? fallback : Number(a.i);
}

function floatAttr(node: OnnxNodeValue, name: string, fallback: number): number {
  const a = node.attributes.get(name);
  return a === undefined ? fallback : a.f;
}

interface Plan {
  steps: readonly Step[];
  /** Width of each register, register 0 being the input. */
  widths: readonly number[];
  inputWidth: number;
  /** In graph output order. */
  outputs: readonly { name: string; reg: number; width: number }[];
}

/** The evaluable form of one graph. */
export class SparseGraph {
  readonly inputWidth: number;
  readonly outputNames: readonly string[];
  /** Width of each output, in graph output order. */
  readonly outputWidths: readonly number[];

  private readonly regs: readonly Register[];

  constructor(private readonly plan: Plan) {
    this.regs = plan.widths.map((w) => new Register(w));
    this.inputWidth = plan.inputWidth;
    this.outputNames = plan.outputs.map((o) => o.name);
    this.outputWidths = plan.outputs.map((o) => o.width);
  }

  /** Evaluates one row; returns one Float32Array per graph output (the caller's: nothing else refers to them). */
  run(row: SparseVector): Float32Array[] {
    if (row.width !== this.inputWidth) throw new Error(`input row has ${row.width} values, want ${this.inputWidth}`);
    const { regs } = this;
    const input = regs[0] as Register;
    input.sparse = true;
    input.index = row.index;
    input.value = row.value;
    input.n = row.index.length;
    try {
      for (const step of this.plan.steps) step(regs);
    } finally {
      // The input register must not keep the caller's arrays alive.
      input.index = NO_INDEX;
      input.value = NO_VALUES;
    }
    return this.plan.outputs.map((o) => {
      const values = dense(regs[o.reg] as Register);
      const out = new Float32Array(values.length);
      out.set(values);
      return out;
    });
  }
}

/** Compiles the graph for one named input of `width` features, or says why it cannot. */
export function compileSparseGraph(graph: OnnxGraphValue, inputName: string, width: number): CompileResult {
  try {
    return { ok: true, graph: new Compiler(graph, inputName, width).compile() };
  } catch (err) {
    if (err instanceof Unsupported) return { ok: false, reason: err.message };
    throw err;
  }
}

class Compiler {
  private readonly reg = new Map<string, number>();
  private readonly widths: number[] = [];
  private readonly known = new Map<string, Known>();
  private readonly steps: Step[] = [];

  constructor(
    private readonly graph: OnnxGraphValue,
    private readonly inputName: string,
    private readonly width: number,
  ) {
    for (const [name, tensor] of graph.initializers) this.known.set(name, { kind: "const", tensor });
  }

  compile(): SparseGraph {
    const g = this.graph;
    if (g.inputs.length !== 1 || g.inputs[0] !== this.inputName)
      throw new Unsupported(`graph inputs [${g.inputs.join(", ")}] are not exactly ["${this.inputName}"]`);
    this.defineRow(this.inputName, this.width);
    g.nodes.forEach((node, i) => {
      this.node(node, i);
    });
    const outputs = g.outputs.map((name) => {
      const k = this.known.get(name);
      if (k?.kind !== "row") throw new Unsupported(`graph output "${name}" is not computed per row`);
      return { name, reg: this.regOf(name), width: k.width };
    });
    return new SparseGraph({ steps: this.steps, widths: this.widths, inputWidth: this.width, outputs });
  }

  private defineRow(name: string, width: number): number {
    if (this.known.has(name)) throw new Unsupported(`value "${name}" is defined twice`);
    this.known.set(name, { kind: "row", width });
    const r = this.reg.size;
    this.reg.set(name, r);
    this.widths.push(width);
    return r;
  }

  private regOf(name: string): number {
    const r = this.reg.get(name);
    if (r === undefined) throw new Unsupported(`value "${name}" is used before it is computed`);
    return r;
  }

  private rowInput(node: OnnxNodeValue, i: number, at: number): { reg: number; width: number } {
    const name = node.inputs[at];
    const k = name === undefined ? undefined : this.known.get(name);
    if (name === undefined || k?.kind !== "row") fail(node, i, `input ${at} must be a per-row value`);
    return { reg: this.regOf(name), width: k.width };
  }

  private constInput(node: OnnxNodeValue, i: number, at: number): OnnxTensorValue | null {
    const name = node.inputs[at];
    if (name === undefined || name === "") return null;
    const k = this.known.get(name);
    if (k?.kind !== "const") fail(node, i, `input ${at} ("${name}") must be an initializer`);
    return k.tensor;
  }

  private ints(node: OnnxNodeValue, i: number, at: number): number[] | null {
    const t = this.constInput(node, i, at);
    if (t === null) return null;
    if (!(t.data instanceof BigInt64Array)) fail(node, i, `input ${at} must be int64`);
    return Array.from(t.data, Number);
  }

  private node(node: OnnxNodeValue, i: number): void {
    if (node.domain !== "" && node.domain !== "ai.onnx") fail(node, i, `domain "${node.domain}" is not the default`);
    const build = OPS[node.opType];
    if (build === undefined)
      fail(node, i, `not one of the ops the JS evaluator implements (${SUPPORTED_OPS.join(", ")})`);
    build(this, node, i);
  }

  private emit(step: Step): void {
    this.steps.push(step);
  }

  /** One int64 initializer input that must hold exactly one value (absent: `fallback`). */
  private single(node: OnnxNodeValue, i: number, at: number, fallback: number | null): number {
    const values = this.ints(node, i, at);
    if (values === null && fallback !== null) return fallback;
    if (values?.length !== 1) fail(node, i, `input ${at} must hold one value`);
    return values[0] ?? 0;
  }

  slice(node: OnnxNodeValue, i: number): void {
    const x = this.rowInput(node, i, 0);
    const axis = this.single(node, i, 3, 1);
    if (axis !== 1 && axis !== -1) fail(node, i, "only axis 1");
    if (this.single(node, i, 4, 1) !== 1) fail(node, i, "only step 1");
    const clamp = (v: number): number => Math.min(x.width, Math.max(0, v < 0 ? v + x.width : v));
    const from = clamp(this.single(node, i, 1, null));
    const to = Math.max(from, clamp(this.single(node, i, 2, null)));
    const out = this.defineRow(node.outputs[0] ?? "", to - from);
    this.emit((regs) => {
      sliceRow(regs[x.reg] as Register, from, to, regs[out] as Register);
    });
  }

  concat(node: OnnxNodeValue, i: number): void {
    const axis = intAttr(node, "axis", 1);
    if (axis !== 1 && axis !== -1) fail(node, i, "only axis 1");
    const parts = node.inputs.map((_, at) => this.rowInput(node, i, at));
    const offsets = parts.map((_, at) => parts.slice(0, at).reduce((a, p) => a + p.width, 0));
    const total = parts.reduce((a, p) => a + p.width, 0);
    const out = this.defineRow(node.outputs[0] ?? "", total);
    this.emit((regs) => {
      concatRows(
        parts.map((p) => regs[p.reg] as Register),
        offsets,
        regs[out] as Register,
      );
    });
  }

  gemm(node: OnnxNodeValue, i: number): void {
    if (intAttr(node, "transA", 0) !== 0) fail(node, i, "transA is not supported");
    const a = this.rowInput(node, i, 0);
    const { weights, shape } = this.gemmWeights(node, i, a.width);
    const out = this.defineRow(node.outputs[0] ?? "", shape.n);
    this.emit((regs) => {
      gemmRow(regs[a.reg] as Register, weights, shape, (regs[out] as Register).writeDense());
    });
  }

  /** B (a 2-D float initializer, [k, n] or [n, k] with transB), C broadcast to n, alpha and beta. */
  private gemmWeights(node: OnnxNodeValue, i: number, width: number): { weights: Float32Array; shape: GemmShape } {
    const transB = intAttr(node, "transB", 0) === 1;
    const b = this.constInput(node, i, 1);
    if (b === null || b.dims.length !== 2 || !(b.data instanceof Float32Array))
      fail(node, i, "B must be a 2-D float initializer");
    const [rows = 0, cols = 0] = b.dims;
    const [k, n] = transB ? [cols, rows] : [rows, cols];
    if (k !== width) fail(node, i, `A has ${width} columns, B has ${k} rows`);
    const cT = this.constInput(node, i, 2);
    const c = cT === null ? new Float64Array(n) : broadcastConst(cT, n);
    if (c === null) fail(node, i, "C must broadcast to one row");
    const alpha = floatAttr(node, "alpha", 1);
    const beta = floatAttr(node, "beta", 1);
    return { weights: b.data, shape: { k, n, transB, alpha, beta, c } };
  }

  split(node: OnnxNodeValue, i: number): void {
    const axis = intAttr(node, "axis", 0);
    if (axis !== 1 && axis !== -1) fail(node, i, "only axis 1");
    const x = this.rowInput(node, i, 0);
    const fromAttr = node.attributes.get("split")?.ints.map(Number);
    const sizes = this.ints(node, i, 1) ?? fromAttr ?? equalParts(x.width, node.outputs.length);
    if (sizes === null || sizes.length !== node.outputs.length || sizes.reduce((p, q) => p + q, 0) !== x.width)
      fail(node, i, `split sizes do not cover the ${x.width} columns`);
    const outs = node.outputs.map((name, at) => this.defineRow(name, sizes[at] ?? 0));
    const starts = sizes.map((_, at) => sizes.slice(0, at).reduce((p, q) => p + q, 0));
    this.emit((regs) => {
      const data = dense(regs[x.reg] as Register);
      outs.forEach((r, at) => {
        const s = starts[at] ?? 0;
        const part = (regs[r] as Register).writeDense();
        for (let j = 0; j < part.length; j++) part[j] = data[s + j] as number;
      });
    });
  }

  softmax(node: OnnxNodeValue, i: number): void {
    const axis = intAttr(node, "axis", this.graph.opset >= 13 ? -1 : 1);
    if (axis !== 1 && axis !== -1) fail(node, i, "only the last axis");
    this.unary(node, i, softmax);
  }

  unary(node: OnnxNodeValue, i: number, f: (x: Float64Array, out: Float64Array) => void): void {
    const x = this.rowInput(node, i, 0);
    const out = this.defineRow(node.outputs[0] ?? "", x.width);
    this.emit((regs) => {
      f(dense(regs[x.reg] as Register), (regs[out] as Register).writeDense());
    });
  }

  /** Max, Min (variadic) and Add (two operands): rows of one width and constants broadcast against them. */
  elementwise(node: OnnxNodeValue, i: number, op: "max" | "min" | "add"): void {
    if (node.inputs.length === 0 || (node.opType === "Add" && node.inputs.length !== 2))
      fail(node, i, "unexpected number of inputs");
    const widths = node.inputs.flatMap((name) => {
      const k = this.known.get(name);
      return k?.kind === "row" ? [k.width] : [];
    });
    const width = widths[0];
    if (width === undefined || widths.some((w) => w !== width)) fail(node, i, "needs per-row inputs of one width");
    const operands = node.inputs.map((name, at) => {
      const k = this.known.get(name);
      if (k === undefined) fail(node, i, `input ${at} ("${name}") is not defined`);
      if (k.kind === "row") return { reg: this.regOf(name), constant: null };
      const constant = broadcastConst(k.tensor, width);
      if (constant === null) fail(node, i, `input ${at} does not broadcast to ${width} columns`);
      return { reg: -1, constant };
    });
    const out = this.defineRow(node.outputs[0] ?? "", width);
    this.emit((regs) => {
      const first = operands[0];
      const acc = (regs[out] as Register).writeDense();
      if (first === undefined) acc.fill(0);
      else acc.set(first.constant ?? dense(regs[first.reg] as Register));
      for (let v = 1; v < operands.length; v++) {
        const o = operands[v] as (typeof operands)[number];
        combine(acc, o.constant ?? dense(regs[o.reg] as Register), op);
      }
    });
  }
}

type Builder = (c: Compiler, node: OnnxNodeValue, i: number) => void;

const OPS: Record<string, Builder | undefined> = {
  Slice: (c, node, i) => c.slice(node, i),
  Concat: (c, node, i) => c.concat(node, i),
  Gemm: (c, node, i) => c.gemm(node, i),
  Split: (c, node, i) => c.split(node, i),
  Softmax: (c, node, i) => c.softmax(node, i),
  Sigmoid: (c, node, i) => c.unary(node, i, sigmoid),
  Relu: (c, node, i) => c.unary(node, i, relu),
  Max: (c, node, i) => c.elementwise(node, i, "max"),
  Min: (c, node, i) => c.elementwise(node, i, "min"),
  Add: (c, node, i) => c.elementwise(node, i, "add"),
};

/** acc = op(acc, next), element by element (one loop per op: no call per element). */
function combine(acc: Float64Array, next: Float64Array, op: "max" | "min" | "add"): void {
  const n = acc.length;
  if (op === "add") for (let j = 0; j < n; j++) acc[j] = (acc[j] as number) + (next[j] as number);
  else if (op === "max") for (let j = 0; j < n; j++) acc[j] = Math.max(acc[j] as number, next[j] as number);
  else for (let j = 0; j < n; j++) acc[j] = Math.min(acc[j] as number, next[j] as number);
}

function equalParts(width: number, parts: number): number[] | null {
  return parts > 0 && width % parts === 0 ? Array.from({ length: parts }, () => width / parts) : null;
}

function sigmoid(x: Float64Array, out: Float64Array): void {
  for (let j = 0; j < x.length; j++) out[j] = 1 / (1 + Math.exp(-(x[j] as number)));
}

function relu(x: Float64Array, out: Float64Array): void {
  for (let j = 0; j < x.length; j++) out[j] = Math.max(0, x[j] as number);
}

function softmax(x: Float64Array, out: Float64Array): void {
  let max = -Infinity;
  for (const v of x) if (v > max) max = v;
  let sum = 0;
  for (let j = 0; j < x.length; j++) {
    const e = Math.exp((x[j] as number) - max);
    out[j] = e;
    sum += e;
  }
  for (let j = 0; j < out.length; j++) out[j] = (out[j] as number) / sum;
}

/** Columns [from, to) of `row` into `out`: dense when narrow, else kept sparse. */
function sliceRow(row: Register, from: number, to: number, out: Register): void {
  if (!row.sparse) {
    const src = row.buffer();
    const data = out.writeDense();
    for (let j = 0; j < data.length; j++) data[j] = src[from + j] as number;
    return;
  }
  if (to - from <= DENSE_LIMIT) {
    const data = out.writeDense();
    data.fill(0);
    for (let k = 0; k < row.n; k++) {
      const j = row.index[k] as number;
      if (j >= from && j < to) data[j - from] = row.value[k] as number;
    }
    return;
  }
  const { index, value } = out.writeSparse(row.n);
  let n = 0;
  for (let k = 0; k < row.n; k++) {
    const j = row.index[k] as number;
    if (j < from || j >= to) continue;
    index[n] = j - from;
    value[n++] = row.value[k] as number;
  }
  out.n = n;
}

/** The parts side by side (at `offsets`) into `out`: dense when narrow, else sparse. */
function concatRows(parts: readonly Register[], offsets: readonly number[], out: Register): void {
  if (out.width <= DENSE_LIMIT) {
    const data = out.writeDense();
    parts.forEach((p, at) => {
      data.set(dense(p), offsets[at] ?? 0);
    });
    return;
  }
  // Dense parts are listed whole (their zeros cost a skipped multiply in the Gemm, not a branch here).
  const size = parts.reduce((a, p) => a + (p.sparse ? p.n : p.width), 0);
  const { index, value } = out.writeSparse(size);
  let n = 0;
  parts.forEach((p, at) => {
    const off = offsets[at] ?? 0;
    if (p.sparse) {
      for (let k = 0; k < p.n; k++) {
        index[n] = (p.index[k] as number) + off;
        value[n++] = p.value[k] as number;
      }
      return;
    }
    const data = p.buffer();
    for (let j = 0; j < p.width; j++) {
      index[n] = j + off;
      value[n++] = data[j] as number;
    }
  });
  out.n = n;
}

interface GemmShape {
  k: number;
  n: number;
  transB: boolean;
  alpha: number;
  beta: number;
  c: Float64Array;
}

/**
 * alpha * row · B + beta * C, visiting only the row's non-zero columns: the hot loop of a decision. Four output
 * columns per pass over the row, accumulated in locals (registers) rather than in the output array.
 */
function gemmRow(row: Register, weights: Float32Array, g: GemmShape, acc: Float64Array): void {
  const operand = row.sparse
    ? { values: row.value, index: row.index, count: row.n }
    : { values: row.buffer(), index: null, count: row.width };
  for (let o = 0; o < g.n; o += 4) {
    const sums = columnBlock(operand, weights, g, o);
    for (let q = 0; q < 4 && o + q < g.n; q++)
      acc[o + q] = g.alpha * (sums[q] as number) + g.beta * (g.c[o + q] as number);
  }
}

/** Dot products of the row with output columns o .. o+3 of B (columns past n repeat column o, unused). */
function columnBlock(
  { values, index, count }: { values: Float64Array | Float32Array; index: Int32Array | null; count: number },
  weights: Float32Array,
  g: GemmShape,
  o: number,
): [number, number, number, number] {
  // Element (j, col) of B sits at j * rowStride + col * colStride.
  const [rowStride, colStride] = g.transB ? [1, g.k] : [g.n, 1];
  const c1 = o + 1 < g.n ? colStride : 0;
  const c2 = o + 2 < g.n ? 2 * colStride : 0;
  const c3 = o + 3 < g.n ? 3 * colStride : 0;
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  for (let e = 0; e < count; e++) {
    const v = values[e] as number;
    if (v === 0) continue;
    const base = (index === null ? e : (index[e] as number)) * rowStride + o * colStride;
    a0 += v * (weights[base] as number);
    a1 += v * (weights[base + c1] as number);
    a2 += v * (weights[base + c2] as number);
    a3 += v * (weights[base + c3] as number);
  }
  return [a0, a1, a2, a3];
}
