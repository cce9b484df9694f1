/**
 * A tiny hand-assembled WebAssembly SIMD kernel for blocks of dot products, the hot loop of the
 * exact nearest-neighbour search in {@link ../knn.ts}.
 *
 * Why hand-assembled: plain JavaScript reaches about 1 G multiply-adds per second here, so the
 * 10,000 x 10,000 x 784 distance table of an MNIST t-SNE takes ~40 s; 128-bit SIMD does four
 * lanes at once. No compiler for wasm is available offline, and the kernel is small, so the
 * module bytes are emitted below from readable opcode names (no binary blobs in the repo).
 *
 * The kernel: `dots(aPtr, aRows, bPtr, bRows, vecs, outPtr)` writes
 * `out[i * bRows + j] = a_i . b_j` (float32) for `i < aRows`, `j < bRows`, where rows are
 * `vecs` groups of 4 float32 (pad rows with zeros to a multiple of 4), `aRows` is a multiple
 * of {@link A_BLOCK} and `bRows` a multiple of {@link B_BLOCK}, and all pointers are byte
 * offsets into the memory passed to {@link createDotKernel}, 16-byte aligned.
 *
 * @module
 */

/** Rows of A handled together by one pass of the kernel (aRows must be a multiple). */
export const A_BLOCK = 2;
/** Rows of B handled together by one pass of the kernel (bRows must be a multiple). */
export const B_BLOCK = 4;

/** The compiled kernel bound to its memory. */
export interface DotKernel {
  /** The memory the kernel reads and writes; grow it with {@link WebAssembly.Memory.grow}. */
  memory: WebAssembly.Memory;
  /** See the module doc for the contract. */
  dots: (
    aPtr: number,
    aRows: number,
    bPtr: number,
    bRows: number,
    vecs: number,
    outPtr: number,
  ) => void;
}

function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

function sleb(value: number): number[] {
  const out: number[] = [];
  while (true) {
    const byte = value & 0x7f;
    value >>= 7;
    const done = (value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function name(text: string): number[] {
  return vec([...new TextEncoder().encode(text)].map((b) => [b]));
}

// Opcodes (WebAssembly core + fixed-width SIMD proposal, now standard).
const I32 = 0x7f;
const V128 = 0x7b;
const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  get: (local: number) => [0x20, ...uleb(local)],
  set: (local: number) => [0x21, ...uleb(local)],
  i32: (value: number) => [0x41, ...sleb(value)],
  i32GeU: [0x4f],
  i32LtU: [0x49],
  i32Add: [0x6a],
  i32Mul: [0x6c],
  i32Shl: [0x74],
  f32Add: [0x92],
  f32Store: (offset: number) => [0x38, 2, ...uleb(offset)],
  v128Load: (offset: number) => [0xfd, 0x00, 4, ...uleb(offset)],
  v128Zero: [0xfd, 0x0c, ...new Array(16).fill(0)],
  f32x4ExtractLane: (lane: number) => [0xfd, 0x1f, lane],
  f32x4Add: [0xfd, 0xe4, 0x01],
  f32x4Mul: [0xfd, 0xe6, 0x01],
};

/** Builds the module bytes (exported for the test that validates them). */
export function dotKernelBytes(): Uint8Array<ArrayBuffer> {
  // Parameters 0..5, then i32 locals, then v128 locals.
  const [aPtr, aRows, bPtr, bRows, vecs, outPtr] = [0, 1, 2, 3, 4, 5];
  let next = 6;
  const i = next++, j = next++, k = next++, rowBytes = next++, o = next++;
  const aRow: number[] = [];
  for (let r = 0; r < A_BLOCK; r++) aRow.push(next++);
  const bRow: number[] = [];
  for (let c = 0; c < B_BLOCK; c++) bRow.push(next++);
  const i32Locals = next - 6;
  const va: number[] = [];
  for (let r = 0; r < A_BLOCK; r++) va.push(next++);
  const acc: number[][] = [];
  for (let r = 0; r < A_BLOCK; r++) {
    acc.push([]);
    for (let c = 0; c < B_BLOCK; c++) acc[r].push(next++);
  }
  const vb = next++;
  const v128Locals = A_BLOCK + A_BLOCK * B_BLOCK + 1;

  const body: number[] = [];
  const emit = (...parts: (number | number[])[]) => {
    for (const p of parts) Array.isArray(p) ? body.push(...p) : body.push(p);
  };
  // rowBytes = vecs << 4; i = 0
  emit(op.get(vecs), op.i32(4), op.i32Shl, op.set(rowBytes), op.i32(0), op.set(i));
  emit(op.block, op.loop); // rows of A
  emit(op.get(i), op.get(aRows), op.i32GeU, op.brIf(1));
  for (let r = 0; r < A_BLOCK; r++) {
    emit(op.get(i), op.i32(r), op.i32Add, op.get(rowBytes), op.i32Mul, op.get(aPtr), op.i32Add);
    emit(op.set(aRow[r]));
  }
  emit(op.i32(0), op.set(j));
  emit(op.block, op.loop); // rows of B
  emit(op.get(j), op.get(bRows), op.i32GeU, op.brIf(1));
  for (let c = 0; c < B_BLOCK; c++) {
    emit(op.get(j), op.i32(c), op.i32Add, op.get(rowBytes), op.i32Mul, op.get(bPtr), op.i32Add);
    emit(op.set(bRow[c]));
  }
  for (let r = 0; r < A_BLOCK; r++) {
    for (let c = 0; c < B_BLOCK; c++) emit(op.v128Zero, op.set(acc[r][c]));
  }
  emit(op.i32(0), op.set(k));
  emit(op.loop); // the 4-float groups of a row
  for (let r = 0; r < A_BLOCK; r++) {
    emit(op.get(aRow[r]), op.get(k), op.i32Add, op.v128Load(0), op.set(va[r]));
  }
  for (let c = 0; c < B_BLOCK; c++) {
    // Load b once, use it for every a row: acc[r][c] += va[r] * b.
    emit(op.get(bRow[c]), op.get(k), op.i32Add, op.v128Load(0), op.set(vb));
    for (let r = 0; r < A_BLOCK; r++) {
      emit(op.get(acc[r][c]), op.get(va[r]), op.get(vb), op.f32x4Mul, op.f32x4Add);
      emit(op.set(acc[r][c]));
    }
  }
  emit(op.get(k), op.i32(16), op.i32Add, op.set(k));
  emit(op.get(k), op.get(rowBytes), op.i32LtU, op.brIf(0));
  emit(op.end);
  // Horizontal sums, stored at out[(i + r) * bRows + j + c].
  for (let r = 0; r < A_BLOCK; r++) {
    emit(op.get(i), op.i32(r), op.i32Add, op.get(bRows), op.i32Mul, op.get(j), op.i32Add);
    emit(op.i32(2), op.i32Shl, op.get(outPtr), op.i32Add, op.set(o));
    for (let c = 0; c < B_BLOCK; c++) {
      emit(op.get(o));
      emit(op.get(acc[r][c]), op.f32x4ExtractLane(0), op.get(acc[r][c]), op.f32x4ExtractLane(1));
      emit(op.f32Add, op.get(acc[r][c]), op.f32x4ExtractLane(2), op.f32Add);
      emit(op.get(acc[r][c]), op.f32x4ExtractLane(3), op.f32Add, op.f32Store(4 * c));
    }
  }
  emit(op.get(j), op.i32(B_BLOCK), op.i32Add, op.set(j), op.br(0));
  emit(op.end, op.end);
  emit(op.get(i), op.i32(A_BLOCK), op.i32Add, op.set(i), op.br(0));
  emit(op.end, op.end, op.end);

  const code = [...vec([[...uleb(i32Locals), I32], [...uleb(v128Locals), V128]]), ...body];
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([[0x60, ...vec(new Array(6).fill([I32])), ...vec([])]])),
    ...section(2, vec([[...name("env"), ...name("memory"), 0x02, 0x00, ...uleb(1)]])),
    ...section(3, vec([uleb(0)])),
    ...section(7, vec([[...name("dots"), 0x00, ...uleb(0)]])),
    ...section(10, vec([[...uleb(code.length), ...code]])),
  ];
  return new Uint8Array(bytes);
}

let compiled: WebAssembly.Module | null | undefined;

/**
 * Compiles (once per process) and instantiates the kernel over a fresh memory.
 *
 * @param initialBytes Memory to reserve now; it is rounded up to 64 KiB pages.
 * @returns The kernel, or `null` where this runtime lacks WebAssembly SIMD (callers then use
 *   their plain JavaScript path).
 */
export function createDotKernel(initialBytes: number): DotKernel | null {
  if (compiled === undefined) {
    const bytes = dotKernelBytes();
    compiled = typeof WebAssembly === "object" && WebAssembly.validate(bytes)
      ? new WebAssembly.Module(bytes)
      : null;
  }
  if (compiled === null) return null;
  const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(initialBytes / 65536)) });
  const instance = new WebAssembly.Instance(compiled, { env: { memory } });
  return { memory, dots: instance.exports.dots as DotKernel["dots"] };
}
