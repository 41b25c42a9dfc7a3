/**
 * A minimal ONNX (protobuf) reader: the graph's nodes, attributes, initializers and input/output names, which is what
 * the JS evaluator of the built-in analyzer (sparse-graph.ts) needs. onnxruntime-node does not expose a session's
 * initializers, so the weights are read from the same bytes the session was created from. Field numbers follow
 * onnx/onnx.proto. Anything this reader does not understand (external or sparse initializers, other element types)
 * is reported, not guessed: the classifier then keeps ONNX Runtime.
 */

export class OnnxReadError extends Error {
  override readonly name = "OnnxReadError";
}

export type OnnxTensorData = Float32Array | BigInt64Array;

export interface OnnxTensorValue {
  name: string;
  dims: number[];
  data: OnnxTensorData;
}

export interface OnnxAttributeValue {
  name: string;
  /** AttributeProto.type: 1 FLOAT, 2 INT, 3 STRING, 4 TENSOR, 6 FLOATS, 7 INTS, ... */
  type: number;
  f: number;
  i: bigint;
  floats: number[];
  ints: bigint[];
}

export interface OnnxNodeValue {
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Map<string, OnnxAttributeValue>;
}

export interface OnnxGraphValue {
  /** The default-domain opset the model imports. */
  opset: number;
  nodes: OnnxNodeValue[];
  initializers: Map<string, OnnxTensorValue>;
  /** Graph inputs that are not initializers. */
  inputs: string[];
  outputs: string[];
  /**
   * The declared shape of each graph input and output that has a tensor type (dim_value as a number, dim_param as
   * its name, an unknown dimension as ""), so a model can be checked against its metadata without a session.
   */
  shapes: Map<string, (number | string)[]>;
}

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;
const ELEM_FLOAT = 1;
const ELEM_INT64 = 7;

/** One protobuf message's bytes, read field by field. */
class Reader {
  private pos: number;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    start = 0,
    private readonly end = bytes.length,
  ) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint as a 64-bit two's-complement value. */
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw new OnnxReadError("truncated varint");
      const byte = this.bytes[this.pos++] ?? 0;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return BigInt.asIntN(64, result);
      shift += 7n;
      if (shift > 63n) throw new OnnxReadError("varint longer than 10 bytes");
    }
  }

  /** A varint that must fit a JS number (lengths, tags, enums). */
  small(): number {
    const v = this.varint();
    if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw new OnnxReadError(`varint ${v} out of range`);
    return Number(v);
  }

  tag(): { field: number; wire: number } {
    const t = this.small();
    return { field: Math.floor(t / 8), wire: t & 7 };
  }

  /** A length-delimited field's [start, end) in the buffer. */
  span(): [number, number] {
    const n = this.small();
    const start = this.pos;
    if (start + n > this.end) throw new OnnxReadError("truncated length-delimited field");
    this.pos += n;
    return [start, start + n];
  }

  sub(): Reader {
    const [s, e] = this.span();
    return new Reader(this.bytes, s, e);
  }

  bytesOf(): Uint8Array {
    const [s, e] = this.span();
    return this.bytes.subarray(s, e);
  }

  string(): string {
    return new TextDecoder().decode(this.bytesOf());
  }

  float32(): number {
    if (this.pos + 4 > this.end) throw new OnnxReadError("truncated float");
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  skip(wire: number): void {
    if (wire === WIRE_VARINT) this.varint();
    else if (wire === WIRE_I64) this.pos += 8;
    else if (wire === WIRE_LEN) this.span();
    else if (wire === WIRE_I32) this.pos += 4;
    else throw new OnnxReadError(`unsupported protobuf wire type ${wire}`);
    if (this.pos > this.end) throw new OnnxReadError("truncated field");
  }

  /** A repeated varint field, packed (one LEN field) or not (this one value). */
  varints(wire: number, into: bigint[]): void {
    if (wire !== WIRE_LEN) {
      into.push(this.varint());
      return;
    }
    const inner = this.sub();
    while (!inner.done()) into.push(inner.varint());
  }

  /** A repeated float field, packed or not. */
  floats(wire: number, into: number[]): void {
    if (wire !== WIRE_LEN) {
      into.push(this.float32());
      return;
    }
    const inner = this.sub();
    while (!inner.done()) into.push(inner.float32());
  }
}

/** Fields of TensorProto as read, before they become a typed array. */
interface RawTensor {
  name: string;
  dims: bigint[];
  dataType: number;
  raw: Uint8Array | null;
  floats: number[];
  int64s: bigint[];
  external: boolean;
}

function readTensorFields(r: Reader): RawTensor {
  const t: RawTensor = { name: "", dims: [], dataType: 0, raw: null, floats: [], int64s: [], external: false };
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1) r.varints(wire, t.dims);
    else if (field === 2) t.dataType = r.small();
    else if (field === 4) r.floats(wire, t.floats);
    else if (field === 7) r.varints(wire, t.int64s);
    else if (field === 8) t.name = r.string();
    else if (field === 9) t.raw = r.bytesOf();
    else if (field === 14) t.external = r.small() === 1;
    else {
      // 13: external_data entries (only meaningful with data_location EXTERNAL, caught above).
      r.skip(wire);
    }
  }
  return t;
}

function aligned(raw: Uint8Array): ArrayBuffer {
  // A copy (not Buffer#slice, which shares memory): the field may sit at any offset, typed arrays need alignment.
  return new Uint8Array(raw).buffer;
}

/** raw_data is little-endian; typed arrays use the host's order. */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

function tensorData(t: RawTensor): OnnxTensorData {
  if (t.raw !== null && !LITTLE_ENDIAN) throw new OnnxReadError(`initializer "${t.name}": big-endian host`);
  if (t.dataType === ELEM_FLOAT) {
    if (t.raw !== null) return new Float32Array(aligned(t.raw), 0, t.raw.byteLength / 4);
    return Float32Array.from(t.floats);
  }
  if (t.raw !== null) return new BigInt64Array(aligned(t.raw), 0, t.raw.byteLength / 8);
  return BigInt64Array.from(t.int64s);
}

function readTensor(r: Reader): OnnxTensorValue {
  const t = readTensorFields(r);
  const where = `initializer "${t.name}"`;
  if (t.external) throw new OnnxReadError(`${where} keeps its data in an external file`);
  if (t.dataType !== ELEM_FLOAT && t.dataType !== ELEM_INT64)
    throw new OnnxReadError(`${where} has element type ${t.dataType} (only float and int64 are read)`);
  const dims = t.dims.map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const data = tensorData(t);
  if (data.length !== count)
    throw new OnnxReadError(`${where} has ${data.length} values for dims [${dims.join(", ")}]`);
  return { name: t.name, dims, data };
}

function readAttribute(r: Reader): OnnxAttributeValue {
  const a: OnnxAttributeValue = { name: "", type: 0, f: 0, i: 0n, floats: [], ints: [] };
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1) a.name = r.string();
    else if (field === 2 && wire === WIRE_I32) a.f = r.float32();
    else if (field === 3) a.i = r.varint();
    else if (field === 7) r.floats(wire, a.floats);
    else if (field === 8) r.varints(wire, a.ints);
    else if (field === 20) a.type = r.small();
    else r.skip(wire);
  }
  return a;
}

function readNode(r: Reader): OnnxNodeValue {
  const n: OnnxNodeValue = { opType: "", domain: "", inputs: [], outputs: [], attributes: new Map() };
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1) n.inputs.push(r.string());
    else if (field === 2) n.outputs.push(r.string());
    else if (field === 4) n.opType = r.string();
    else if (field === 5) {
      const a = readAttribute(r.sub());
      n.attributes.set(a.name, a);
    } else if (field === 7) n.domain = r.string();
    else r.skip(wire);
  }
  return n;
}

/** The message of field `want` inside `r` (the last one if repeated), or null. */
function subField(r: Reader, want: number): Reader | null {
  let found: Reader | null = null;
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === want && wire === WIRE_LEN) found = r.sub();
    else r.skip(wire);
  }
  return found;
}

/** TensorShapeProto.Dimension: dim_value (1) or dim_param (2). */
function readDim(r: Reader): number | string {
  let dim: number | string = "";
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_VARINT) dim = r.small();
    else if (field === 2 && wire === WIRE_LEN) dim = r.string();
    else r.skip(wire);
  }
  return dim;
}

/** TypeProto (tensor_type 1 → shape 2 → dim 1...): the dims, or null when it is no tensor with a shape. */
function readTensorShape(type: Reader): (number | string)[] | null {
  const tensor = subField(type, 1);
  const shape = tensor === null ? null : subField(tensor, 2);
  if (shape === null) return null;
  const dims: (number | string)[] = [];
  while (!shape.done()) {
    const { field, wire } = shape.tag();
    if (field === 1 && wire === WIRE_LEN) dims.push(readDim(shape.sub()));
    else shape.skip(wire);
  }
  return dims;
}

/** ValueInfoProto: its name (1) and, when it is a tensor with a shape, the shape (type, 2). */
function readValueInfo(r: Reader): { name: string; shape: (number | string)[] | null } {
  let name = "";
  let shape: (number | string)[] | null = null;
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1) name = r.string();
    else if (field === 2 && wire === WIRE_LEN) shape = readTensorShape(r.sub());
    else r.skip(wire);
  }
  return { name, shape };
}

function readGraph(r: Reader, opset: number): OnnxGraphValue {
  const g: OnnxGraphValue = { opset, nodes: [], initializers: new Map(), inputs: [], outputs: [], shapes: new Map() };
  const value = (list: string[]): void => {
    const v = readValueInfo(r.sub());
    list.push(v.name);
    if (v.shape !== null) g.shapes.set(v.name, v.shape);
  };
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1) g.nodes.push(readNode(r.sub()));
    else if (field === 5) {
      const t = readTensor(r.sub());
      g.initializers.set(t.name, t);
    } else if (field === 11) value(g.inputs);
    else if (field === 12) value(g.outputs);
    else if (field === 15) throw new OnnxReadError("the graph has sparse initializers");
    else r.skip(wire);
  }
  // Before IR version 4 initializers were listed as graph inputs too.
  g.inputs = g.inputs.filter((name) => !g.initializers.has(name));
  return g;
}

/** OperatorSetIdProto: [domain, version]. */
function readOpset(r: Reader): [string, number] {
  let domain = "";
  let version = 0;
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1) domain = r.string();
    else if (field === 2) version = r.small();
    else r.skip(wire);
  }
  return [domain, version];
}

/** Reads a ModelProto's graph; throws OnnxReadError naming what it cannot read. */
export function readOnnxGraph(bytes: Uint8Array): OnnxGraphValue {
  const r = new Reader(bytes);
  let graph: [number, number] | null = null;
  let opset = 0;
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 7 && wire === WIRE_LEN) graph = r.span();
    else if (field === 8 && wire === WIRE_LEN) {
      const [domain, version] = readOpset(r.sub());
      if (domain === "" || domain === "ai.onnx") opset = version;
    } else r.skip(wire);
  }
  if (graph === null) throw new OnnxReadError("the model has no graph");
  return readGraph(new Reader(bytes, graph[0], graph[1]), opset);
}
