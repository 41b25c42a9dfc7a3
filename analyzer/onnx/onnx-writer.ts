/**
 * A minimal ONNX (protobuf) encoder: enough of ModelProto to write small feed-forward graphs from TypeScript
 * (the trained analyzer, and tiny test models). Field numbers follow onnx/onnx.proto (IR version 8).
 */

export type ElemType = "float" | "int64";
const ELEM_CODE: Record<ElemType, number> = { float: 1, int64: 7 };

export interface OnnxTensor {
  name: string;
  dims: readonly number[];
  data: Float32Array | BigInt64Array;
}

export type OnnxAttribute =
  | { name: string; kind: "int"; value: number }
  | { name: string; kind: "float"; value: number }
  | { name: string; kind: "ints"; value: readonly number[] };

export interface OnnxNode {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes?: readonly OnnxAttribute[];
}

export interface OnnxValueInfo {
  name: string;
  elemType: ElemType;
  /** Numbers are fixed dims, strings symbolic (e.g. "batch"). */
  shape: readonly (number | string)[];
}

export interface OnnxModelSpec {
  graphName: string;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxTensor[];
  inputs: readonly OnnxValueInfo[];
  outputs: readonly OnnxValueInfo[];
  opset?: number;
  producer?: string;
  metadata?: Readonly<Record<string, string>>;
}

class ProtoWriter {
  private readonly parts: Uint8Array[] = [];
  private size = 0;

  private push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.size += bytes.length;
  }

  private varint(value: bigint): void {
    let v = BigInt.asUintN(64, value);
    const out: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      out.push(byte);
    } while (v !== 0n);
    this.push(Uint8Array.from(out));
  }

  private tag(field: number, wire: number): void {
    this.varint(BigInt((field << 3) | wire));
  }

  int(field: number, value: number | bigint): this {
    this.tag(field, 0);
    this.varint(BigInt(value));
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, 2);
    this.varint(BigInt(value.length));
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let offset = 0;
    for (const p of this.parts) {
      out.set(p, offset);
      offset += p.length;
    }
    return out;
  }
}

function writeTensor(w: ProtoWriter, t: OnnxTensor): void {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (count !== t.data.length) throw new Error(`tensor ${t.name}: dims ${t.dims.join("x")} != ${t.data.length} values`);
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.data instanceof Float32Array ? ELEM_CODE.float : ELEM_CODE.int64);
  w.string(8, t.name);
  // raw_data is little-endian; typed arrays on the platforms Node supports are little-endian too.
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

function writeAttribute(w: ProtoWriter, a: OnnxAttribute): void {
  w.string(1, a.name);
  if (a.kind === "float") w.float(2, a.value).int(20, 1);
  else if (a.kind === "int") w.int(3, a.value).int(20, 2);
  else {
    for (const v of a.value) w.int(8, v);
    w.int(20, 7);
  }
}

function writeNode(w: ProtoWriter, n: OnnxNode, index: number): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, `${n.opType.toLowerCase()}_${index}`);
  w.string(4, n.opType);
  for (const a of n.attributes ?? [])
    w.message(5, (aw) => {
      writeAttribute(aw, a);
    });
}

function writeValueInfo(w: ProtoWriter, v: OnnxValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, ELEM_CODE[v.elemType]);
      tensor.message(2, (shape) => {
        for (const d of v.shape) shape.message(1, (dim) => (typeof d === "number" ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

/** Serialises a model to the ONNX protobuf bytes. */
export function encodeOnnxModel(spec: OnnxModelSpec): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, 8);
  w.string(2, spec.producer ?? "routewise");
  w.string(3, "1");
  w.message(7, (g) => {
    spec.nodes.forEach((n, i) =>
      g.message(1, (nw) => {
        writeNode(nw, n, i);
      }),
    );
    g.string(2, spec.graphName);
    for (const t of spec.initializers)
      g.message(5, (tw) => {
        writeTensor(tw, t);
      });
    for (const v of spec.inputs)
      g.message(11, (vw) => {
        writeValueInfo(vw, v);
      });
    for (const v of spec.outputs)
      g.message(12, (vw) => {
        writeValueInfo(vw, v);
      });
  });
  w.message(8, (o) => o.string(1, "").int(2, spec.opset ?? 17));
  for (const [key, value] of Object.entries(spec.metadata ?? {})) {
    w.message(14, (m) => m.string(1, key).string(2, value));
  }
  return w.finish();
}
