/**
 * Exact Euclidean neighbour search and blocked pairwise distances for the analysis metrics
 * (kNN accuracy, trustworthiness, silhouette).
 *
 * Points are row-major `Float32Array`s (`n x dim`). Squared distances are computed as
 * `|x|^2 + |y|^2 - 2 x.y` with every dot product accumulated in double precision by a 4x4
 * register-blocked JavaScript kernel (measured ~2 GMAC/s on one core here, about twice the
 * tfjs cpu and wasm `matMul` on the same machine), so the full `n x n` matrix is never held in
 * memory: callers receive one block at a time. Symmetric passes visit each unordered pair once,
 * which halves the work of leave-one-out searches.
 *
 * Ties are broken deterministically everywhere: a neighbour `(distance, index)` comes before
 * another when its distance is smaller, or equal with a smaller index.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { A_BLOCK, B_BLOCK, createDotKernel } from "./kernels/simd_dot.ts";

/** Inputs accepted wherever a matrix of points is expected (row-major `n x dim`). */
export type PointsInput = Float32Array | Float64Array | number[] | tf.Tensor;

/** Default number of rows (and columns) per distance block; 256 x 256 doubles = 512 KiB. */
export const DISTANCE_BLOCK_SIZE = 256;

/**
 * Turns any accepted points input into a `Float32Array` for reading (a `Float32Array` is
 * returned as is; tensors are read with `dataSync`; other arrays are copied). Never write into
 * the result: it may be the caller's array or a tensor's own buffer.
 *
 * @param points Row-major values or a tensor.
 * @param what Name used in error messages.
 * @returns The values as a `Float32Array`.
 */
export function toFloat32(points: PointsInput, what = "points"): Float32Array {
  if (points instanceof Float32Array) return points;
  if (points instanceof Float64Array || Array.isArray(points)) return Float32Array.from(points);
  if (points instanceof tf.Tensor) {
    if (points.isDisposed) throw new Error(`${what}: the tensor was already disposed`);
    // Read-only use: a float32 tensor's data is returned without another copy.
    const values = points.dataSync();
    return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
  }
  throw new TypeError(
    `${what}: expected a Float32Array, Float64Array, number[] or tf.Tensor, got ${typeof points}`,
  );
}

/**
 * Works out the number of columns of a row-major matrix of `rows` rows and checks the length
 * (and, for a tensor, its shape).
 *
 * @param points The matrix input (only its length / shape is read).
 * @param rows Expected number of rows, a positive integer.
 * @param what Name used in error messages.
 * @returns The number of columns.
 */
export function inferDim(points: PointsInput, rows: number, what = "points"): number {
  if (!Number.isInteger(rows) || rows < 1) {
    throw new RangeError(`${what}: the number of rows must be a positive integer, got ${rows}`);
  }
  if (points instanceof tf.Tensor) {
    if (points.rank < 1 || points.shape[0] !== rows) {
      throw new RangeError(
        `${what}: tensor of shape [${points.shape}] does not have ${rows} rows (shape[0])`,
      );
    }
  }
  const length = points instanceof tf.Tensor ? points.size : points.length;
  if (length === 0 || length % rows !== 0) {
    throw new RangeError(
      `${what}: ${length} values cannot be ${rows} rows of equal width (length must be a ` +
        `positive multiple of the row count)`,
    );
  }
  return length / rows;
}

/**
 * Squared Euclidean norm of every row, in double precision.
 *
 * @param points Row-major `n x dim` values.
 * @param n Number of rows.
 * @param dim Number of columns.
 * @returns `Float64Array` of length `n`.
 */
export function rowSquaredNorms(points: Float32Array, n: number, dim: number): Float64Array {
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const offset = i * dim;
    let sum = 0;
    for (let c = 0; c < dim; c++) {
      const v = points[offset + c];
      sum += v * v;
    }
    norms[i] = sum;
  }
  return norms;
}

/**
 * Squared distance between row `i` of `a` and row `j` of `b`, computed with exactly the same
 * floating-point operations (and order) as the blocked kernels, so results compare equal.
 *
 * @param a First matrix (row-major, `dim` columns).
 * @param i Row of `a`.
 * @param normA Squared norm of that row (from {@link rowSquaredNorms}).
 * @param b Second matrix (row-major, `dim` columns).
 * @param j Row of `b`.
 * @param normB Squared norm of that row.
 * @param dim Number of columns.
 * @returns The squared distance, clamped at 0.
 */
export function squaredDistanceLikeBlocks(
  a: Float32Array,
  i: number,
  normA: number,
  b: Float32Array,
  j: number,
  normB: number,
  dim: number,
): number {
  const oa = i * dim;
  const ob = j * dim;
  let dot = 0;
  for (let c = 0; c < dim; c++) dot += a[oa + c] * b[ob + c];
  const d = normA + normB - 2 * dot;
  return d > 0 ? d : 0;
}

/**
 * Fills `out[(r - aStart) * stride + (q - bStart)]` with squared distances between rows
 * `aStart..aEnd` of `a` and rows `bStart..bEnd` of `b`. Dot products are accumulated in a 4x4
 * register block (the remainder rows/columns take a scalar path with the same operation order).
 */
function distanceBlock(
  a: Float32Array,
  normsA: Float64Array,
  aStart: number,
  aEnd: number,
  b: Float32Array,
  normsB: Float64Array,
  bStart: number,
  bEnd: number,
  dim: number,
  out: Float64Array,
  stride: number,
): void {
  const rows = aEnd - aStart;
  const cols = bEnd - bStart;
  const rows4 = rows - (rows % 4);
  const cols4 = cols - (cols % 4);
  for (let r = 0; r < rows4; r += 4) {
    const a0 = (aStart + r) * dim, a1 = a0 + dim, a2 = a1 + dim, a3 = a2 + dim;
    for (let q = 0; q < cols4; q += 4) {
      const b0 = (bStart + q) * dim, b1 = b0 + dim, b2 = b1 + dim, b3 = b2 + dim;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0;
      let s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0;
      let s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let c = 0; c < dim; c++) {
        const x0 = a[a0 + c], x1 = a[a1 + c], x2 = a[a2 + c], x3 = a[a3 + c];
        const y0 = b[b0 + c], y1 = b[b1 + c], y2 = b[b2 + c], y3 = b[b3 + c];
        s00 += x0 * y0, s01 += x0 * y1, s02 += x0 * y2, s03 += x0 * y3;
        s10 += x1 * y0, s11 += x1 * y1, s12 += x1 * y2, s13 += x1 * y3;
        s20 += x2 * y0, s21 += x2 * y1, s22 += x2 * y2, s23 += x2 * y3;
        s30 += x3 * y0, s31 += x3 * y1, s32 += x3 * y2, s33 += x3 * y3;
      }
      const n0 = normsB[bStart + q], n1 = normsB[bStart + q + 1];
      const n2 = normsB[bStart + q + 2], n3 = normsB[bStart + q + 3];
      let o = r * stride + q;
      let m = normsA[aStart + r];
      out[o] = clamp(m + n0 - 2 * s00), out[o + 1] = clamp(m + n1 - 2 * s01);
      out[o + 2] = clamp(m + n2 - 2 * s02), out[o + 3] = clamp(m + n3 - 2 * s03);
      o += stride, m = normsA[aStart + r + 1];
      out[o] = clamp(m + n0 - 2 * s10), out[o + 1] = clamp(m + n1 - 2 * s11);
      out[o + 2] = clamp(m + n2 - 2 * s12), out[o + 3] = clamp(m + n3 - 2 * s13);
      o += stride, m = normsA[aStart + r + 2];
      out[o] = clamp(m + n0 - 2 * s20), out[o + 1] = clamp(m + n1 - 2 * s21);
      out[o + 2] = clamp(m + n2 - 2 * s22), out[o + 3] = clamp(m + n3 - 2 * s23);
      o += stride, m = normsA[aStart + r + 3];
      out[o] = clamp(m + n0 - 2 * s30), out[o + 1] = clamp(m + n1 - 2 * s31);
      out[o + 2] = clamp(m + n2 - 2 * s32), out[o + 3] = clamp(m + n3 - 2 * s33);
    }
  }
  // Remainders: rows >= rows4 against all columns, and rows < rows4 against columns >= cols4.
  for (let r = 0; r < rows; r++) {
    const qStart = r < rows4 ? cols4 : 0;
    for (let q = qStart; q < cols; q++) {
      out[r * stride + q] = squaredDistanceLikeBlocks(
        a,
        aStart + r,
        normsA[aStart + r],
        b,
        bStart + q,
        normsB[bStart + q],
        dim,
      );
    }
  }
}

function clamp(d: number): number {
  return d > 0 ? d : 0;
}

/**
 * Visitor of one block of squared distances. `block[(i - rowStart) * (colEnd - colStart) + (j -
 * colStart)]` is the squared distance between points `i` and `j`.
 */
export type DistanceBlockVisitor = (
  rowStart: number,
  rowEnd: number,
  colStart: number,
  colEnd: number,
  block: Float64Array,
) => void;

/**
 * Visits the squared distances of every unordered pair of rows of one point set exactly once,
 * block by block: only blocks with `colStart >= rowStart` are visited. In a diagonal block
 * (`colStart === rowStart`) the visitor must use only entries with `j > i` (the block holds the
 * full square, including the zero diagonal); in the other blocks every entry is a distinct pair
 * with `i < j`. The block buffer is reused between calls.
 *
 * @param points Row-major `n x dim` values.
 * @param n Number of points.
 * @param dim Dimension of each point.
 * @param visit Called once per block.
 * @param blockSize Rows and columns per block (default {@link DISTANCE_BLOCK_SIZE}).
 */
export function forEachPairDistanceBlock(
  points: Float32Array,
  n: number,
  dim: number,
  visit: DistanceBlockVisitor,
  blockSize = DISTANCE_BLOCK_SIZE,
): void {
  checkMatrix(points, n, dim, "forEachPairDistanceBlock");
  checkBlockSize(blockSize, "forEachPairDistanceBlock");
  const norms = rowSquaredNorms(points, n, dim);
  const buffer = new Float64Array(blockSize * blockSize);
  for (let rowStart = 0; rowStart < n; rowStart += blockSize) {
    const rowEnd = Math.min(n, rowStart + blockSize);
    for (let colStart = rowStart; colStart < n; colStart += blockSize) {
      const colEnd = Math.min(n, colStart + blockSize);
      const width = colEnd - colStart;
      const block = buffer.subarray(0, (rowEnd - rowStart) * width);
      distanceBlock(
        points,
        norms,
        rowStart,
        rowEnd,
        points,
        norms,
        colStart,
        colEnd,
        dim,
        block,
        width,
      );
      visit(rowStart, rowEnd, colStart, colEnd, block);
    }
  }
}

/**
 * Visits the squared distances between every query row and every reference row, block by block
 * (rows index `queries`, columns index `references`). The block buffer is reused between calls.
 *
 * @param queries Row-major `nQueries x dim` values.
 * @param nQueries Number of query points.
 * @param references Row-major `nReferences x dim` values.
 * @param nReferences Number of reference points.
 * @param dim Dimension of each point (the same for both sets).
 * @param visit Called once per block.
 * @param blockSize Rows and columns per block (default {@link DISTANCE_BLOCK_SIZE}).
 */
export function forEachCrossDistanceBlock(
  queries: Float32Array,
  nQueries: number,
  references: Float32Array,
  nReferences: number,
  dim: number,
  visit: DistanceBlockVisitor,
  blockSize = DISTANCE_BLOCK_SIZE,
): void {
  checkMatrix(queries, nQueries, dim, "forEachCrossDistanceBlock (queries)");
  checkMatrix(references, nReferences, dim, "forEachCrossDistanceBlock (references)");
  checkBlockSize(blockSize, "forEachCrossDistanceBlock");
  const normsQ = rowSquaredNorms(queries, nQueries, dim);
  const normsR = rowSquaredNorms(references, nReferences, dim);
  const buffer = new Float64Array(blockSize * blockSize);
  for (let rowStart = 0; rowStart < nQueries; rowStart += blockSize) {
    const rowEnd = Math.min(nQueries, rowStart + blockSize);
    for (let colStart = 0; colStart < nReferences; colStart += blockSize) {
      const colEnd = Math.min(nReferences, colStart + blockSize);
      const width = colEnd - colStart;
      const block = buffer.subarray(0, (rowEnd - rowStart) * width);
      distanceBlock(
        queries,
        normsQ,
        rowStart,
        rowEnd,
        references,
        normsR,
        colStart,
        colEnd,
        dim,
        block,
        width,
      );
      visit(rowStart, rowEnd, colStart, colEnd, block);
    }
  }
}

/** Result of {@link knnSearch}: for each query, its `k` nearest references, nearest first. */
export interface KnnResult {
  /** Number of neighbours per query. */
  k: number;
  /** Reference indices, `nQueries x k` row-major. */
  indices: Int32Array;
  /** Squared Euclidean distances matching `indices`, `nQueries x k` row-major. */
  squaredDistances: Float64Array;
}

/**
 * Exact k-nearest-neighbour search (squared Euclidean, ties by smaller index).
 *
 * Without `queries` it is a leave-one-out search inside `references` (a point is never its own
 * neighbour; each pair is computed once). With `queries` every query searches all references.
 *
 * @param references Row-major `nReferences x dim` points.
 * @param nReferences Number of reference points.
 * @param dim Dimension of each point.
 * @param k Neighbours per query, `1 <= k <= nReferences` (`< nReferences` for leave-one-out).
 * @param queries Optional row-major `nQueries x dim` query points.
 * @param nQueries Number of query points (required with `queries`).
 * @returns The neighbours of every query (or of every reference, for leave-one-out).
 */
export function knnSearch(
  references: Float32Array,
  nReferences: number,
  dim: number,
  k: number,
  queries?: Float32Array,
  nQueries?: number,
): KnnResult {
  const leaveOneOut = queries === undefined;
  const available = leaveOneOut ? nReferences - 1 : nReferences;
  if (!Number.isInteger(k) || k < 1 || k > available) {
    throw new RangeError(
      `knnSearch: k must be an integer in [1, ${available}] for ${nReferences} references` +
        `${leaveOneOut ? " (leave-one-out excludes the point itself)" : ""}, got ${k}`,
    );
  }
  const rows = leaveOneOut ? nReferences : nQueries;
  if (!leaveOneOut && (rows === undefined || !Number.isInteger(rows) || rows < 1)) {
    throw new RangeError(`knnSearch: nQueries must be a positive integer, got ${nQueries}`);
  }
  const count = rows as number;
  const indices = new Int32Array(count * k).fill(-1);
  const distances = new Float64Array(count * k).fill(Infinity);
  const offer = (row: number, candidate: number, d: number): void => {
    const base = row * k;
    const last = base + k - 1;
    const worst = distances[last];
    if (d > worst || (d === worst && candidate > indices[last] && indices[last] !== -1)) return;
    let p = last;
    while (p > base) {
      const dp = distances[p - 1];
      if (dp < d || (dp === d && indices[p - 1] < candidate)) break;
      distances[p] = dp;
      indices[p] = indices[p - 1];
      p--;
    }
    distances[p] = d;
    indices[p] = candidate;
  };
  if (leaveOneOut) {
    forEachPairDistanceBlock(references, nReferences, dim, (r0, r1, c0, c1, block) => {
      const width = c1 - c0;
      const diagonal = r0 === c0;
      for (let i = r0; i < r1; i++) {
        const rowOffset = (i - r0) * width;
        for (let j = diagonal ? i + 1 : c0; j < c1; j++) {
          const d = block[rowOffset + j - c0];
          offer(i, j, d);
          offer(j, i, d);
        }
      }
    });
  } else {
    forEachCrossDistanceBlock(
      queries as Float32Array,
      count,
      references,
      nReferences,
      dim,
      (r0, r1, c0, c1, block) => {
        const width = c1 - c0;
        for (let i = r0; i < r1; i++) {
          const rowOffset = (i - r0) * width;
          for (let j = c0; j < c1; j++) offer(i, j, block[rowOffset + j - c0]);
        }
      },
    );
  }
  return { k, indices, squaredDistances: distances };
}

function checkMatrix(points: Float32Array, n: number, dim: number, what: string): void {
  if (!(points instanceof Float32Array)) {
    throw new TypeError(`${what}: points must be a Float32Array (use toFloat32 first)`);
  }
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(dim) || dim < 1) {
    throw new RangeError(`${what}: n and dim must be positive integers, got n=${n}, dim=${dim}`);
  }
  if (points.length !== n * dim) {
    throw new RangeError(
      `${what}: expected ${n} x ${dim} = ${n * dim} values, got ${points.length}`,
    );
  }
}

function checkBlockSize(blockSize: number, what: string): void {
  if (!Number.isInteger(blockSize) || blockSize < 1) {
    throw new RangeError(`${what}: blockSize must be a positive integer, got ${blockSize}`);
  }
}

// ---- exact neighbours of every row, for t-SNE's sparse affinities ----------------------------
//
// Blocked brute force, not a vantage-point tree: for t-SNE's k = 3 * perplexity (90) neighbours
// in 50..784 dimensions a VP-tree prunes little, while the squared distances
// |a|^2 + |b|^2 - 2 a.b over tiles of rows are dot products that a WebAssembly SIMD kernel
// (kernels/simd_dot.ts) computes at ~16 G multiply-adds/s on one core here: 10,000 MNIST images of
// 784 pixels take ~3 s, memory stays linear in N. Only the upper triangle of the distance table
// is computed; each distance updates both rows.

/** The k nearest neighbours of every row, nearest first. */
export interface Neighbours {
  /** Number of rows. */
  count: number;
  /** Neighbours per row. */
  k: number;
  /** `indices[i * k + m]` is the m-th nearest other row of row i. */
  indices: Int32Array;
  /** Squared Euclidean distances matching {@link Neighbours.indices}. */
  distancesSq: Float64Array;
}

const TILE_A = 64; // rows of A per tile (multiple of A_BLOCK)
const TILE_B = 512; // rows of B per tile (multiple of B_BLOCK)
const ROW_ALIGN = Math.max(A_BLOCK, B_BLOCK);

/** Sifts the max-heap of one row after its root was replaced. */
function siftDown(dist: Float64Array, idx: Int32Array, base: number, size: number): void {
  let pos = 0;
  const d = dist[base], id = idx[base];
  while (true) {
    let child = 2 * pos + 1;
    if (child >= size) break;
    if (child + 1 < size && dist[base + child + 1] > dist[base + child]) child++;
    if (dist[base + child] <= d) break;
    dist[base + pos] = dist[base + child];
    idx[base + pos] = idx[base + child];
    pos = child;
  }
  dist[base + pos] = d;
  idx[base + pos] = id;
}

/**
 * Finds the `k` nearest other rows of every row (squared Euclidean distance, ties broken by
 * scan order, so the result is deterministic).
 *
 * @param data Row-major `count x dim` values.
 * @param count Number of rows.
 * @param dim Row length.
 * @param k Neighbours wanted per row, `1 <= k < count`.
 * @param useSimd Use the WebAssembly SIMD kernel when the runtime has it (default); `false`
 *   forces the plain JavaScript path (~15x slower; for tests and comparisons).
 * @returns Neighbours sorted nearest first.
 */
export function exactNeighbours(
  data: Float32Array,
  count: number,
  dim: number,
  k: number,
  useSimd = true,
): Neighbours {
  if (!Number.isInteger(k) || k < 1 || k >= count) {
    throw new RangeError(`exactNeighbours: k must be an integer in [1, ${count - 1}], got ${k}`);
  }
  if (data.length !== count * dim) {
    throw new RangeError(
      `exactNeighbours: data has ${data.length} values, expected ${count}x${dim}`,
    );
  }
  const dimPad = Math.ceil(dim / 4) * 4;
  const rowsPad = Math.ceil(count / ROW_ALIGN) * ROW_ALIGN;
  // Heaps: a max-heap of the k best candidates per row; heapSize fills up first.
  const heapDist = new Float64Array(count * k);
  const heapIdx = new Int32Array(count * k);
  const heapSize = new Int32Array(count);
  const offer = (row: number, other: number, distSq: number) => {
    const base = row * k;
    const size = heapSize[row];
    if (size < k) {
      // Sift up.
      let pos = size;
      while (pos > 0) {
        const parent = (pos - 1) >> 1;
        if (heapDist[base + parent] >= distSq) break;
        heapDist[base + pos] = heapDist[base + parent];
        heapIdx[base + pos] = heapIdx[base + parent];
        pos = parent;
      }
      heapDist[base + pos] = distSq;
      heapIdx[base + pos] = other;
      heapSize[row] = size + 1;
    } else if (distSq < heapDist[base]) {
      heapDist[base] = distSq;
      heapIdx[base] = other;
      siftDown(heapDist, heapIdx, base, k);
    }
  };

  const tileOut = TILE_A * TILE_B;
  const dataBytes = rowsPad * dimPad * 4;
  const kernel = useSimd ? createDotKernel(dataBytes + tileOut * 4) : null;
  let rows: Float32Array; // padded copy of the data
  let dots: Float32Array; // one tile of dot products
  let computeTile: (a0: number, aRows: number, b0: number, bRows: number) => void;
  if (kernel) {
    rows = new Float32Array(kernel.memory.buffer, 0, rowsPad * dimPad);
    dots = new Float32Array(kernel.memory.buffer, dataBytes, tileOut);
    const vecs = dimPad / 4;
    computeTile = (a0, aRows, b0, bRows) =>
      kernel.dots(a0 * dimPad * 4, aRows, b0 * dimPad * 4, bRows, vecs, dataBytes);
  } else {
    rows = new Float32Array(rowsPad * dimPad);
    dots = new Float32Array(tileOut);
    computeTile = (a0, aRows, b0, bRows) => {
      for (let i = 0; i < aRows; i++) {
        const oa = (a0 + i) * dimPad;
        for (let j = 0; j < bRows; j++) {
          const ob = (b0 + j) * dimPad;
          let s = 0;
          for (let d = 0; d < dimPad; d++) s += rows[oa + d] * rows[ob + d];
          dots[i * bRows + j] = s;
        }
      }
    };
  }
  // Centre the columns first: distances do not change, but |a|^2 + |b|^2 - 2 a.b in float32
  // loses everything to cancellation when the data sit far from the origin.
  const mean = new Float64Array(dim);
  for (let i = 0; i < count; i++) {
    for (let d = 0, o = i * dim; d < dim; d++) mean[d] += data[o + d];
  }
  for (let d = 0; d < dim; d++) mean[d] /= count;
  const norms = new Float64Array(rowsPad);
  for (let i = 0; i < count; i++) {
    let s = 0;
    for (let d = 0, o = i * dim, r = i * dimPad; d < dim; d++) {
      const v = Math.fround(data[o + d] - mean[d]);
      rows[r + d] = v;
      s += v * v;
    }
    norms[i] = s;
  }

  for (let a0 = 0; a0 < count; a0 += TILE_A) {
    const aRows = Math.min(TILE_A, rowsPad - a0);
    const aEnd = Math.min(a0 + aRows, count);
    for (let b0 = a0; b0 < count; b0 += TILE_B) {
      const bRows = Math.min(TILE_B, rowsPad - b0);
      const bEnd = Math.min(b0 + bRows, count);
      computeTile(a0, aRows, b0, bRows);
      for (let i = a0; i < aEnd; i++) {
        const ni = norms[i];
        const o = (i - a0) * bRows - b0;
        for (let j = Math.max(b0, i + 1); j < bEnd; j++) {
          const dist = ni + norms[j] - 2 * dots[o + j];
          const distSq = dist > 0 ? dist : 0;
          // Cheap reject first: most candidates are farther than both current k-th bests.
          if (heapSize[i] < k || distSq < heapDist[i * k]) offer(i, j, distSq);
          if (heapSize[j] < k || distSq < heapDist[j * k]) offer(j, i, distSq);
        }
      }
    }
  }

  // Heap -> sorted ascending (heap sort in place: pop the max to the end).
  for (let i = 0; i < count; i++) {
    const base = i * k;
    for (let size = k; size > 1; size--) {
      const last = size - 1;
      const topD = heapDist[base], topI = heapIdx[base];
      heapDist[base] = heapDist[base + last];
      heapIdx[base] = heapIdx[base + last];
      heapDist[base + last] = topD;
      heapIdx[base + last] = topI;
      siftDown(heapDist, heapIdx, base, last);
    }
  }
  return { count, k, indices: heapIdx, distancesSq: heapDist };
}
