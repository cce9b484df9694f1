/**
 * A TensorFlow `GraphDef` written as protocol-buffer bytes, just the fields a recorded training
 * step needs (nodes with inputs and attributes, constants, the version), for the binding's
 * `aeAddFunction` (`lib/native/graph_function.inc`). Field numbers are those of TensorFlow's
 * `graph.proto`, `node_def.proto`, `attr_value.proto`, `tensor.proto` and
 * `tensor_shape.proto`.
 *
 * Hand-written because it is ~150 lines against a fixed schema: a protobuf package would need
 * TensorFlow's .proto files as well, which are not in the wheel this project builds against.
 *
 * @module
 */

/** A growable protobuf encoder (proto3 wire format). */
class ProtoWriter {
  private buffer = new Uint8Array(256);
  private length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  /** A varint; negative numbers as 64-bit two's complement (int64's encoding). */
  varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    this.reserve(10);
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      this.buffer[this.length++] = byte;
    } while (v !== 0n);
  }

  private tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  uint(field: number, value: number | bigint): void {
    this.tag(field, 0);
    this.varint(value);
  }

  float(field: number, value: number): void {
    this.tag(field, 5);
    this.reserve(4);
    new DataView(this.buffer.buffer).setFloat32(this.length, value, true);
    this.length += 4;
  }

  bytes(field: number, value: Uint8Array): void {
    this.tag(field, 2);
    this.varint(value.length);
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
  }

  string(field: number, value: string): void {
    this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (w: ProtoWriter) => void): void {
    const inner = new ProtoWriter();
    build(inner);
    this.bytes(field, inner.finish());
  }

  packedVarints(field: number, values: readonly (number | bigint)[]): void {
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(v);
    this.bytes(field, inner.finish());
  }

  packedFloats(field: number, values: readonly number[]): void {
    const out = new Uint8Array(values.length * 4);
    const view = new DataView(out.buffer);
    values.forEach((v, i) => view.setFloat32(i * 4, v, true));
    this.bytes(field, out);
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

/** A value of a node attribute. */
export type AttrValue =
  | { s: string }
  | { i: number }
  | { f: number }
  | { b: boolean }
  | { type: number }
  | { shape: readonly number[] }
  | { tensor: ConstTensor }
  | { list: { s?: string[]; i?: number[]; f?: number[]; b?: boolean[]; type?: number[] } };

/** A constant's value: TensorFlow dtype code, shape and raw little-endian bytes. */
export interface ConstTensor {
  dtype: number;
  shape: readonly number[];
  bytes: Uint8Array;
}

/** One node: a unique name, the op, inputs as `"node:index"` (or `"^node"` for order). */
export interface NodeDef {
  name: string;
  op: string;
  inputs: string[];
  attrs: Record<string, AttrValue>;
}

function writeShape(w: ProtoWriter, shape: readonly number[]): void {
  for (const size of shape) w.message(2, (d) => d.uint(1, size));
}

function writeAttr(w: ProtoWriter, value: AttrValue): void {
  if ("s" in value) w.string(2, value.s);
  else if ("i" in value) w.uint(3, value.i);
  else if ("f" in value) w.float(4, value.f);
  else if ("b" in value) w.uint(5, value.b ? 1 : 0);
  else if ("type" in value) w.uint(6, value.type);
  else if ("shape" in value) w.message(7, (s) => writeShape(s, value.shape));
  else if ("tensor" in value) {
    const t = value.tensor;
    w.message(8, (p) => {
      p.uint(1, t.dtype);
      p.message(2, (s) => writeShape(s, t.shape));
      if (t.bytes.length > 0) p.bytes(4, t.bytes);
    });
  } else {
    const list = value.list;
    w.message(1, (l) => {
      for (const s of list.s ?? []) l.string(2, s);
      if (list.i?.length) l.packedVarints(3, list.i);
      if (list.f?.length) l.packedFloats(4, list.f);
      if (list.b?.length) l.packedVarints(5, list.b.map((b) => (b ? 1 : 0)));
      if (list.type?.length) l.packedVarints(6, list.type);
    });
  }
}

/**
 * TensorFlow's GraphDef version this graph claims; ops deprecated at a later version stay
 * usable, and TensorFlow 2.9 (producer 1087) reads it without conversions.
 */
export const GRAPH_PRODUCER = 1087;

/** Serializes `nodes` as a `GraphDef`. */
export function encodeGraphDef(nodes: readonly NodeDef[]): Uint8Array {
  const w = new ProtoWriter();
  for (const node of nodes) {
    w.message(1, (n) => {
      n.string(1, node.name);
      n.string(2, node.op);
      for (const input of node.inputs) n.string(3, input);
      for (const key of Object.keys(node.attrs).sort()) {
        n.message(5, (entry) => {
          entry.string(1, key);
          entry.message(2, (v) => writeAttr(v, node.attrs[key]));
        });
      }
    });
  }
  w.message(4, (v) => v.uint(1, GRAPH_PRODUCER));
  return w.finish();
}
