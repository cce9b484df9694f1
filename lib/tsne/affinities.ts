/**
 * Sparse input affinities of Barnes-Hut t-SNE (van der Maaten 2014, section 4.1): a Gaussian
 * over each point's k nearest neighbours with its bandwidth found by binary search so that the
 * conditional distribution has the requested perplexity, then symmetrised and normalised to a
 * joint distribution `P` that sums to 1.
 *
 * @module
 */

import type { Neighbours } from "../knn.ts";

/** A symmetric sparse matrix in compressed-row form. */
export interface SparseAffinities {
  /** Number of rows (points). */
  count: number;
  /** Row i's entries are `columns[rowStart[i] .. rowStart[i + 1])`; length `count + 1`. */
  rowStart: Int32Array;
  /** Column (neighbour) of each entry, ascending within a row. */
  columns: Int32Array;
  /** `p_ij` of each entry; all entries sum to 1. */
  values: Float64Array;
}

const MAX_STEPS = 200;
const ENTROPY_TOLERANCE = 1e-5;

/**
 * Conditional probabilities `p_{j|i}` over each row's neighbours, with a per-row precision found
 * by bisection so that `exp(entropy) = perplexity` (as sklearn's `_binary_search_perplexity`,
 * but with distances shifted by the row minimum so that far-away rows cannot underflow to 0).
 *
 * @param neighbours Output of {@link exactNeighbours} (squared distances, nearest first).
 * @param perplexity Target perplexity, `0 < perplexity <= k`.
 * @returns `count x k` row-normalised probabilities, aligned with `neighbours.indices`.
 */
export function conditionalAffinities(neighbours: Neighbours, perplexity: number): Float64Array {
  const { count, k, distancesSq } = neighbours;
  if (!(perplexity > 0) || perplexity > k) {
    throw new RangeError(
      `conditionalAffinities: perplexity must be in (0, ${k}], got ${perplexity}`,
    );
  }
  const target = Math.log(perplexity);
  const out = new Float64Array(count * k);
  for (let i = 0; i < count; i++) {
    const base = i * k;
    const dMin = distancesSq[base];
    let beta = 1;
    let betaMin = -Infinity, betaMax = Infinity;
    // Scale the starting precision to the data so the search starts near the answer.
    const spread = distancesSq[base + k - 1] - dMin;
    if (spread > 0) beta = 1 / spread;
    for (let step = 0; step < MAX_STEPS; step++) {
      let sum = 0, weighted = 0;
      for (let m = 0; m < k; m++) {
        const shifted = distancesSq[base + m] - dMin;
        const p = Math.exp(-beta * shifted);
        out[base + m] = p;
        sum += p;
        weighted += shifted * p;
      }
      // sum >= 1 because the nearest neighbour has shifted distance 0.
      const entropy = Math.log(sum) + beta * weighted / sum;
      for (let m = 0; m < k; m++) out[base + m] /= sum;
      const diff = entropy - target;
      if (Math.abs(diff) <= ENTROPY_TOLERANCE) break;
      if (diff > 0) {
        betaMin = beta;
        beta = betaMax === Infinity ? beta * 2 : (beta + betaMax) / 2;
      } else {
        betaMax = beta;
        beta = betaMin === -Infinity ? beta / 2 : (beta + betaMin) / 2;
      }
    }
  }
  return out;
}

/**
 * Symmetrises conditional affinities, `p_ij = (p_{j|i} + p_{i|j}) / sum`, into a sparse matrix
 * whose entries sum to 1. O(count * k) time and memory.
 *
 * @param neighbours The neighbour lists the conditionals are over.
 * @param conditional Output of {@link conditionalAffinities}.
 * @returns The joint affinities `P`.
 */
export function symmetrise(neighbours: Neighbours, conditional: Float64Array): SparseAffinities {
  const { count, k, indices } = neighbours;
  // Pass 1: rows with duplicates (each pair i -> j lands in row i and row j).
  const length = new Int32Array(count + 1);
  for (let i = 0; i < count; i++) {
    length[i] += k;
    for (let m = 0; m < k; m++) length[indices[i * k + m]]++;
  }
  const rawStart = new Int32Array(count + 1);
  for (let i = 0; i < count; i++) rawStart[i + 1] = rawStart[i] + length[i];
  const rawCols = new Int32Array(rawStart[count]);
  const rawVals = new Float64Array(rawStart[count]);
  const fill = rawStart.slice(0, count);
  for (let i = 0; i < count; i++) {
    for (let m = 0; m < k; m++) {
      const j = indices[i * k + m];
      const p = conditional[i * k + m];
      rawCols[fill[i]] = j;
      rawVals[fill[i]++] = p;
      rawCols[fill[j]] = i;
      rawVals[fill[j]++] = p;
    }
  }
  // Pass 2: merge duplicate columns per row, sort columns (neighbouring memory access later).
  const slot = new Int32Array(count).fill(-1);
  const rowStart = new Int32Array(count + 1);
  const columns = new Int32Array(rawStart[count]);
  const values = new Float64Array(rawStart[count]);
  let nnz = 0;
  let total = 0;
  for (let i = 0; i < count; i++) {
    rowStart[i] = nnz;
    for (let e = rawStart[i]; e < rawStart[i + 1]; e++) {
      const j = rawCols[e];
      if (slot[j] >= 0) {
        values[slot[j]] += rawVals[e];
      } else {
        slot[j] = nnz;
        columns[nnz] = j;
        values[nnz++] = rawVals[e];
      }
    }
    // Sort the row by column (rows are short, ~k..2k entries; this runs once).
    const start = rowStart[i];
    const order = Array.from({ length: nnz - start }, (_, t) => start + t)
      .sort((a, b) => columns[a] - columns[b]);
    const cols = order.map((e) => columns[e]);
    const vals = order.map((e) => values[e]);
    for (let t = 0; t < cols.length; t++) {
      columns[start + t] = cols[t];
      values[start + t] = vals[t];
      slot[cols[t]] = -1;
      total += vals[t];
    }
  }
  rowStart[count] = nnz;
  const outValues = values.slice(0, nnz);
  for (let e = 0; e < nnz; e++) outValues[e] /= total;
  return { count, rowStart, columns: columns.slice(0, nnz), values: outValues };
}
