/**
 * Barnes-Hut quadtree for the repulsive forces of 2-D t-SNE (van der Maaten 2014, section 4.2).
 *
 * Layout, chosen for speed in JavaScript: points are sorted along a Z-order (Morton) curve, so
 * every tree cell is a contiguous range of the sorted points; the tree is stored in typed arrays
 * in depth-first order with a "skip" link (index after the node's subtree), so the force pass is
 * one flat loop with no stack and no allocation. Cells with a single non-empty child are
 * collapsed (a compressed quadtree: at most 2N nodes). Leaves hold up to {@link LEAF_SIZE}
 * points (or any number of points that share the finest 16-bit cell, e.g. duplicates) and are
 * summed exactly unless far away.
 *
 * @module
 */

/** Most points a leaf holds before it is split (unless the cell is at the finest level). */
export const LEAF_SIZE = 4;
const MAX_LEVEL = 16; // 16 bits per axis in the Morton code
const INDEX_SCALE = 2 ** 21; // sort key = code * INDEX_SCALE + point index

/** A reusable quadtree over N points; {@link buildQuadTree} refills it each iteration. */
export interface QuadTree {
  /** Number of points the tree was allocated for. */
  count: number;
  /** Number of nodes in use after the last build. */
  nodes: number;
  /** Point index of each sorted position. */
  order: Int32Array;
  /** Sorted x coordinates. */
  sortedX: Float64Array;
  /** Sorted y coordinates. */
  sortedY: Float64Array;
  /** Per node: centre of mass x. */
  massX: Float64Array;
  /** Per node: centre of mass y. */
  massY: Float64Array;
  /** Per node: number of points below it. */
  mass: Float64Array;
  /** Per node: squared width of its (square) cell. */
  widthSq: Float64Array;
  /** Per node: first sorted position, or -1 for an inner node. */
  leafStart: Int32Array;
  /** Per node: one past the last sorted position. */
  end: Int32Array;
  /** Per node: index of the next node outside its subtree. */
  skip: Int32Array;
  /** Scratch: sort keys (Morton code * 2^21 + point index); not shared with helpers. */
  keys: Float64Array;
  /** Morton code of each sorted position; not shared with helpers. */
  codes: Uint32Array;
}

/**
 * Allocates a tree for `count` points (all memory is allocated here, linear in count).
 *
 * @param count Number of points, `1 <= count < 2^21`.
 * @param shared Put the arrays in SharedArrayBuffers so helper Workers can read the tree.
 */
export function createQuadTree(count: number, shared = false): QuadTree {
  if (!Number.isInteger(count) || count < 1 || count >= INDEX_SCALE) {
    throw new RangeError(
      `createQuadTree: count must be an integer in [1, ${INDEX_SCALE}), got ${count}`,
    );
  }
  const capacity = 2 * count + 1;
  const memory = (bytes: number) => shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  const f64 = (length: number) => new Float64Array(memory(8 * length));
  const i32 = (length: number) => new Int32Array(memory(4 * length));
  return {
    count,
    nodes: 0,
    order: i32(count),
    sortedX: f64(count),
    sortedY: f64(count),
    massX: f64(capacity),
    massY: f64(capacity),
    mass: f64(capacity),
    widthSq: f64(capacity),
    leafStart: i32(capacity),
    end: i32(capacity),
    skip: i32(capacity),
    keys: new Float64Array(count),
    codes: new Uint32Array(count),
  };
}

function spreadBits(v: number): number {
  v &= 0xffff;
  v = (v | (v << 8)) & 0x00ff00ff;
  v = (v | (v << 4)) & 0x0f0f0f0f;
  v = (v | (v << 2)) & 0x33333333;
  v = (v | (v << 1)) & 0x55555555;
  return v;
}

/**
 * Rebuilds the tree over the current embedding.
 *
 * @param tree From {@link createQuadTree}.
 * @param y Row-major `count x 2` coordinates.
 */
export function buildQuadTree(tree: QuadTree, y: Float64Array): void {
  const { count, keys, codes, order, sortedX, sortedY } = tree;
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (let i = 0; i < count; i++) {
    const x = y[2 * i], v = y[2 * i + 1];
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (v < minY) minY = v;
    if (v > maxY) maxY = v;
  }
  let width = Math.max(maxX - minX, maxY - minY);
  if (!(width > 0)) width = 1; // all points equal (or a single point)
  width *= 1 + 1e-9;
  const scale = 65536 / width;
  for (let i = 0; i < count; i++) {
    const qx = Math.min(65535, Math.floor((y[2 * i] - minX) * scale));
    const qy = Math.min(65535, Math.floor((y[2 * i + 1] - minY) * scale));
    keys[i] = ((spreadBits(qx) | (spreadBits(qy) << 1)) >>> 0) * INDEX_SCALE + i;
  }
  keys.sort();
  for (let s = 0; s < count; s++) {
    const key = keys[s];
    const code = Math.floor(key / INDEX_SCALE);
    const i = key - code * INDEX_SCALE;
    codes[s] = code;
    order[s] = i;
    sortedX[s] = y[2 * i];
    sortedY[s] = y[2 * i + 1];
  }
  tree.nodes = 0;
  buildNode(tree, 0, count, 0, width * width);
}

/** Builds the node for sorted range [start, end) at `level`; returns its index. */
function buildNode(tree: QuadTree, start: number, end: number, level: number, rootWidthSq: number) {
  const { codes } = tree;
  // Collapse levels where every point falls into the same child cell.
  while (level < MAX_LEVEL && (((codes[start] ^ codes[end - 1]) >>> (30 - 2 * level)) & 3) === 0) {
    level++;
  }
  const node = tree.nodes++;
  tree.widthSq[node] = rootWidthSq / 4 ** level;
  tree.end[node] = end;
  if (end - start <= LEAF_SIZE || level === MAX_LEVEL) {
    let sx = 0, sy = 0;
    for (let s = start; s < end; s++) {
      sx += tree.sortedX[s];
      sy += tree.sortedY[s];
    }
    const n = end - start;
    tree.leafStart[node] = start;
    tree.mass[node] = n;
    tree.massX[node] = sx / n;
    tree.massY[node] = sy / n;
  } else {
    tree.leafStart[node] = -1;
    const shift = 30 - 2 * level;
    let sx = 0, sy = 0;
    let s = start;
    while (s < end) {
      const quadrant = (codes[s] >>> shift) & 3;
      let e = s + 1;
      while (e < end && ((codes[e] >>> shift) & 3) === quadrant) e++;
      const child = buildNode(tree, s, e, level + 1, rootWidthSq);
      sx += tree.massX[child] * tree.mass[child];
      sy += tree.massY[child] * tree.mass[child];
      s = e;
    }
    const n = end - start;
    tree.mass[node] = n;
    tree.massX[node] = sx / n;
    tree.massY[node] = sy / n;
  }
  tree.skip[node] = tree.nodes;
  return node;
}

/**
 * Repulsive t-SNE forces for every point: `sum_j q_ij^2 * Z^2 * (y_i - y_j)` unnormalised, i.e.
 * with `w_ij = 1 / (1 + |y_i - y_j|^2)` it writes `sum_j w_ij^2 (y_i - y_j)` and returns
 * `Z = sum_{i != j} w_ij`. A cell is summarised by its centre of mass when
 * `width < theta * distance` (theta = 0 gives the exact O(N^2) sums).
 *
 * @param tree Built by {@link buildQuadTree} over the same coordinates.
 * @param theta Barnes-Hut accuracy parameter, usually 0.5.
 * @param forces Output, row-major `count x 2`, overwritten.
 * @param first First sorted position to process (for splitting work), default 0.
 * @param last One past the last sorted position, default `count`.
 * @returns The partial normalisation `Z` over the processed points.
 */
export function repulsiveForces(
  tree: QuadTree,
  theta: number,
  forces: Float64Array,
  first = 0,
  last = tree.count,
): number {
  const { nodes, massX, massY, mass, widthSq, leafStart, end, skip, sortedX, sortedY, order } =
    tree;
  const thetaSq = theta * theta;
  let z = 0;
  for (let p = first; p < last; p++) {
    const x = sortedX[p], y = sortedY[p];
    let fx = 0, fy = 0, zp = 0;
    let n = 0;
    while (n < nodes) {
      const dx = x - massX[n], dy = y - massY[n];
      const d2 = dx * dx + dy * dy;
      if (widthSq[n] < thetaSq * d2) {
        const w = 1 / (1 + d2);
        const mw = mass[n] * w;
        zp += mw;
        const mww = mw * w;
        fx += mww * dx;
        fy += mww * dy;
        n = skip[n];
      } else if (leafStart[n] >= 0) {
        for (let s = leafStart[n], e = end[n]; s < e; s++) {
          if (s === p) continue;
          const ex = x - sortedX[s], ey = y - sortedY[s];
          const w = 1 / (1 + ex * ex + ey * ey);
          zp += w;
          const ww = w * w;
          fx += ww * ex;
          fy += ww * ey;
        }
        n = skip[n];
      } else {
        n++;
      }
    }
    const i = order[p];
    forces[2 * i] = fx;
    forces[2 * i + 1] = fy;
    z += zp;
  }
  return z;
}
