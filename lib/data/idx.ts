/**
 * Strict reader (and a small writer) for the IDX format the MNIST files use.
 *
 * An IDX file is a 4-byte magic `0x00 0x00 <dtype> <rank>`, then `rank` big-endian uint32
 * dimensions, then the data, row-major and big-endian. The reader checks every part and the exact
 * byte length, so a truncated download or a file with trailing garbage is an error that names the
 * file and the problem, never a silently short dataset. Nothing is returned unless the whole file
 * checked out.
 *
 * @module
 */

/** The element types IDX defines, by name. */
export type IdxDtype = "ubyte" | "byte" | "short" | "int" | "float" | "double";

/** Typed array holding the data of an IDX file (one type per {@link IdxDtype}). */
export type IdxData =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Float32Array
  | Float64Array;

/** A fully checked IDX file. */
export interface IdxFile {
  /** Element type from the magic's third byte. */
  dtype: IdxDtype;
  /** Dimensions from the header, outermost first (e.g. `[60000, 28, 28]`). */
  dims: number[];
  /** All elements, row-major, converted to host byte order. */
  data: IdxData;
}

/** MNIST-style images read from a rank-3 ubyte IDX file. */
export interface IdxImages {
  /** Pixels 0..255, row-major, `count * rows * cols` bytes. */
  pixels: Uint8Array;
  /** Number of images. */
  count: number;
  /** Image height. */
  rows: number;
  /** Image width. */
  cols: number;
}

/** Class labels read from a rank-1 ubyte IDX file. */
export interface IdxLabels {
  /** One label per item. */
  labels: Uint8Array;
  /** Number of labels. */
  count: number;
}

interface DtypeInfo {
  code: number;
  name: IdxDtype;
  bytes: number;
}

const DTYPES: DtypeInfo[] = [
  { code: 0x08, name: "ubyte", bytes: 1 },
  { code: 0x09, name: "byte", bytes: 1 },
  { code: 0x0b, name: "short", bytes: 2 },
  { code: 0x0c, name: "int", bytes: 4 },
  { code: 0x0d, name: "float", bytes: 4 },
  { code: 0x0e, name: "double", bytes: 8 },
];

const hex = (b: number) => `0x${b.toString(16).padStart(2, "0")}`;

const KNOWN_DTYPES = DTYPES.map((d) => `${hex(d.code)} ${d.name}`).join(", ");

function decodeData(info: DtypeInfo, view: DataView, offset: number, count: number): IdxData {
  const bytes = new Uint8Array(view.buffer, view.byteOffset + offset, count * info.bytes);
  switch (info.name) {
    case "ubyte":
      return bytes.slice();
    case "byte":
      return new Int8Array(bytes.slice().buffer);
    case "short": {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(offset + 2 * i, false);
      return out;
    }
    case "int": {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(offset + 4 * i, false);
      return out;
    }
    case "float": {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(offset + 4 * i, false);
      return out;
    }
    case "double": {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(offset + 8 * i, false);
      return out;
    }
  }
}

/**
 * Parses and checks IDX bytes already in memory.
 *
 * @param bytes The whole file.
 * @param name What to call the file in error messages (usually its path).
 * @returns The checked file; throws an `Error` naming `name` and the problem otherwise.
 */
export function parseIdx(bytes: Uint8Array, name: string): IdxFile {
  if (bytes.length < 4) {
    throw new Error(
      `${name}: too short for an IDX header: ${bytes.length} bytes, need at least 4 (magic)`,
    );
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new Error(
      `${name}: bad magic: first two bytes are ${hex(bytes[0])} ${hex(bytes[1])}, ` +
        `expected 0x00 0x00 (is this an IDX file?)`,
    );
  }
  const info = DTYPES.find((d) => d.code === bytes[2]);
  if (!info) {
    throw new Error(`${name}: unknown dtype ${hex(bytes[2])}, expected one of ${KNOWN_DTYPES}`);
  }
  const rank = bytes[3];
  if (rank === 0) throw new Error(`${name}: rank 0 in the magic, expected at least 1 dimension`);
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new Error(
      `${name}: truncated header: rank ${rank} needs ${headerBytes} header bytes, ` +
        `file has ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const elements = dims.reduce((a, b) => a * b, 1);
  const dataBytes = elements * info.bytes;
  const haveBytes = bytes.length - headerBytes;
  const shape = dims.join("x");
  const itemNote = info.bytes === 1 ? "" : ` x ${info.bytes} bytes`;
  if (haveBytes < dataBytes) {
    throw new Error(
      `${name}: truncated: header says ${shape}${itemNote} = ${dataBytes} bytes of data, ` +
        `file has ${haveBytes}`,
    );
  }
  if (haveBytes > dataBytes) {
    throw new Error(
      `${name}: ${haveBytes - dataBytes} trailing bytes: header says ${shape}${itemNote} = ` +
        `${dataBytes} bytes of data, file has ${haveBytes}`,
    );
  }
  return { dtype: info.name, dims, data: decodeData(info, view, headerBytes, elements) };
}

/**
 * Reads and checks one IDX file (any dtype, any rank).
 *
 * @param path File path.
 * @returns The checked file; throws an `Error` naming the path and the problem otherwise.
 */
export async function readIdxFile(path: string): Promise<IdxFile> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new Error(`${path}: cannot read IDX file: ${(e as Error).message}`);
  }
  return parseIdx(bytes, path);
}

/** Expected image size for {@link readIdxImages}; MNIST's 28x28 unless told otherwise. */
export interface IdxImageShape {
  /** Image height (default 28). */
  rows?: number;
  /** Image width (default 28). */
  cols?: number;
}

/**
 * Checks that a parsed IDX file holds ubyte images of the expected size.
 *
 * @param file A parsed file.
 * @param name File name for errors.
 * @param shape Expected height/width (default 28x28).
 */
export function idxToImages(file: IdxFile, name: string, shape: IdxImageShape = {}): IdxImages {
  const rows = shape.rows ?? 28;
  const cols = shape.cols ?? 28;
  if (file.dtype !== "ubyte") {
    throw new Error(`${name}: images must be dtype 0x08 ubyte, got ${file.dtype}`);
  }
  if (file.dims.length !== 3) {
    throw new Error(
      `${name}: images must be rank 3 (count x rows x cols), got rank ${file.dims.length} ` +
        `(${file.dims.join("x")})`,
    );
  }
  const [count, r, c] = file.dims;
  if (r !== rows || c !== cols) {
    throw new Error(`${name}: images are ${r}x${c}, expected ${rows}x${cols}`);
  }
  if (count === 0) throw new Error(`${name}: header says 0 images, expected at least 1`);
  return { pixels: file.data as Uint8Array, count, rows, cols };
}

/**
 * Checks that a parsed IDX file holds ubyte class labels in `0..maxLabel`.
 *
 * @param file A parsed file.
 * @param name File name for errors.
 * @param maxLabel Largest allowed label (default 9, the digits).
 */
export function idxToLabels(file: IdxFile, name: string, maxLabel = 9): IdxLabels {
  if (file.dtype !== "ubyte") {
    throw new Error(`${name}: labels must be dtype 0x08 ubyte, got ${file.dtype}`);
  }
  if (file.dims.length !== 1) {
    throw new Error(
      `${name}: labels must be rank 1, got rank ${file.dims.length} (${file.dims.join("x")})`,
    );
  }
  const labels = file.data as Uint8Array;
  if (labels.length === 0) throw new Error(`${name}: header says 0 labels, expected at least 1`);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] > maxLabel) {
      throw new Error(`${name}: label ${labels[i]} at index ${i} is outside 0..${maxLabel}`);
    }
  }
  return { labels, count: labels.length };
}

/**
 * Reads an IDX image file and checks it: ubyte, rank 3, `rows x cols` (28x28 by default), exact
 * length.
 *
 * @param path File path.
 * @param shape Expected height/width (default 28x28).
 */
export async function readIdxImages(path: string, shape: IdxImageShape = {}): Promise<IdxImages> {
  return idxToImages(await readIdxFile(path), path, shape);
}

/**
 * Reads an IDX label file and checks it: ubyte, rank 1, every value in `0..maxLabel`.
 *
 * @param path File path.
 * @param maxLabel Largest allowed label (default 9).
 */
export async function readIdxLabels(path: string, maxLabel = 9): Promise<IdxLabels> {
  return idxToLabels(await readIdxFile(path), path, maxLabel);
}

/**
 * Encodes data as IDX bytes (big-endian), the inverse of {@link parseIdx}. Used to write small
 * fixtures; the element count must match the dimensions.
 *
 * @param dtype Element type.
 * @param dims Dimensions, outermost first.
 * @param data Elements, row-major.
 */
export function encodeIdx(dtype: IdxDtype, dims: number[], data: ArrayLike<number>): Uint8Array {
  const info = DTYPES.find((d) => d.name === dtype);
  if (!info) throw new Error(`encodeIdx: unknown dtype ${dtype}, expected ${KNOWN_DTYPES}`);
  if (dims.length < 1 || dims.length > 255) {
    throw new Error(`encodeIdx: rank must be 1..255, got ${dims.length}`);
  }
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) {
      throw new Error(`encodeIdx: dimensions must be uint32 integers, got ${dims.join("x")}`);
    }
  }
  const elements = dims.reduce((a, b) => a * b, 1);
  if (data.length !== elements) {
    throw new Error(
      `encodeIdx: dims ${dims.join("x")} need ${elements} elements, got ${data.length}`,
    );
  }
  const header = 4 + 4 * dims.length;
  const out = new Uint8Array(header + elements * info.bytes);
  const view = new DataView(out.buffer);
  out[2] = info.code;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < elements; i++) {
    const at = header + i * info.bytes;
    const v = data[i];
    switch (info.name) {
      case "ubyte":
        view.setUint8(at, v);
        break;
      case "byte":
        view.setInt8(at, v);
        break;
      case "short":
        view.setInt16(at, v, false);
        break;
      case "int":
        view.setInt32(at, v, false);
        break;
      case "float":
        view.setFloat32(at, v, false);
        break;
      case "double":
        view.setFloat64(at, v, false);
        break;
    }
  }
  return out;
}
