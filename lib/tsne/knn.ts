/**
 * Exact k-nearest neighbours by blocked brute force, for the sparse input affinities of
 * Barnes-Hut t-SNE.
 *
 * Why brute force and not a vantage-point tree: for t-SNE's k = 3 * perplexity (90) neighbours
 * in 50..784 dimensions a VP-tree prunes little, while the squared distances
 * `|a|^2 + |b|^2 - 2 a.b` over tiles of rows are dot products that a WebAssembly SIMD kernel
 * ({@link ./simd_dot.ts}) computes at ~16 G multiply-adds/s on one core here: 10,000 MNIST
 * images of 784 pixels take ~3 s, memory stays linear in N (one tile of dot products at a time).
 * Only the upper triangle of the distance table is computed; each distance updates both rows.
 *
 * @module
 */

import { A_BLOCK, B_BLOCK, createDotKernel } from "./simd_dot.ts";

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
