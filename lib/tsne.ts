/**
 * t-SNE to two dimensions, seeded and repeatable, for the embedding maps of the experiments.
 *
 * Two methods:
 * - `"barnes-hut"` (what `"auto"`, the default, picks): our own O(N log N) implementation of
 *   van der Maaten 2014 (lib/tsne/): exact k-nearest neighbours (k = 3 * perplexity) with a
 *   WebAssembly SIMD distance kernel, Gaussian affinities at the requested perplexity,
 *   symmetrised; a Z-order quadtree for the repulsive forces, split over a helper Worker;
 *   sklearn/openTSNE's schedule. 10,000 MNIST images (784 pixels) take ~20 s of CPU time
 *   (kNN ~3 s, affinities ~0.5 s, 1000 iterations ~16 s) and reach 5-NN accuracy 0.95.
 * - `"exact"`: the `tsne-js` package (O(N^2) time and ~40 N^2 bytes per iteration; 1,000 points
 *   take minutes). It is made repeatable by replacing `Math.random` with a seeded generator
 *   while it runs. Its own choices are kept: its conditional affinities use plain (not squared)
 *   Euclidean distances, it exaggerates for 100 iterations (momentum 0.5 for 50, then 0.8),
 *   uses gains +0.05/x0.95, and may stop early when the cost stops improving.
 *
 * @example
 * ```ts
 * const map = await tsne(embeddings, { dim: 256, seed: 0 }); // Float32Array, N x 2
 * console.log(lastTsneTimings()); // ms per phase: neighbours, affinities, gradient, ...
 * ```
 *
 * @module
 */

import TSNE from "tsne-js";
import { mulberry32 } from "./random.ts";
import { exactNeighbours } from "./knn.ts";
import { conditionalAffinities, symmetrise } from "./tsne/affinities.ts";
import { optimise, type OptimiseTimings } from "./tsne/barnes_hut.ts";

/** Options of {@link tsne}; every field has a default. */
export interface TsneOptions {
  /** Effective number of neighbours, default 30; needs N >= 3 * perplexity + 1 points. */
  perplexity?: number;
  /** Gradient iterations, early exaggeration included; default 1000. */
  iterations?: number;
  /** Seed of the random start (and of tsne-js's `Math.random`); default 0. */
  seed?: number;
  /**
   * `"exact"` (tsne-js, slow), `"barnes-hut"`, or `"auto"` (default) = Barnes-Hut for every N:
   * measured on MNIST (busy 2-core machine), Barnes-Hut took 0.16 / 0.24 / 0.32 s for
   * 100 / 200 / 300 points where tsne-js took 4 / 11 / 34 s, and on 300 points its maps score
   * higher (5-NN accuracy 0.81 vs 0.75, trustworthiness 0.95 vs 0.90; tests/tsne_test.ts).
   */
  method?: "exact" | "barnes-hut" | "auto";
  /** Barnes-Hut accuracy (cell width / distance), default 0.5; 0 = exact repulsion. */
  theta?: number;
  /**
   * Step size with the factor 4 kept in the gradient (sklearn's convention); default `"auto"`
   * = `max(N / earlyExaggeration / 4, 50)`.
   */
  learningRate?: number | "auto";
  /** Factor on the input affinities during the first iterations, default 12. */
  earlyExaggeration?: number;
  /** Starting map: `"random"` (default, N(0, 1e-4^2) from the seed) or `"pca"` (Barnes-Hut only:
   * the first two principal components, scaled to standard deviation 1e-4). */
  init?: "random" | "pca";
  /**
   * Called every `progressEvery` iterations (and after the last) with the iterations done and
   * the KL divergence KL(P || Q) of the un-exaggerated P at that point. For Barnes-Hut it uses
   * the tree's approximate normaliser Z (exact when theta = 0); for exact it is tsne-js's cost
   * (un-exaggerated), whose iteration numbers skip one at each of its phase changes.
   */
  onProgress?: (iteration: number, klDivergence: number | null) => void;
  /** How often `onProgress` is called, default 50. */
  progressEvery?: number;
  /**
   * Threads for the Barnes-Hut repulsive forces (Workers sharing memory), default
   * `min(2, navigator.hardwareConcurrency)`; 1 = main thread only. The map is bit-identical for
   * any value.
   */
  threads?: number;
}

/** Iterations of early exaggeration in the Barnes-Hut schedule (as sklearn and openTSNE). */
export const EXAGGERATION_ITERATIONS = 250;

/** Where the time of the last Barnes-Hut run went, in milliseconds (for reports). */
export interface TsneTimings extends OptimiseTimings {
  /** Nearest-neighbour search. */
  neighbours: number;
  /** Perplexity calibration and symmetrisation. */
  affinities: number;
  /** All gradient iterations (tree + repulsive + attractive). */
  gradient: number;
}

let lastTimings: TsneTimings | null = null;

/** Timings of the most recent Barnes-Hut {@link tsne} call in this process, or null. */
export function lastTsneTimings(): TsneTimings | null {
  return lastTimings;
}

interface Matrix {
  data: Float32Array;
  count: number;
  dim: number;
}

function toMatrix(points: Float32Array | number[][], dim: number | undefined): Matrix {
  if (points instanceof Float32Array) {
    if (dim === undefined || !Number.isInteger(dim) || dim < 1) {
      throw new RangeError(
        `tsne: a flat Float32Array needs options.dim (its row length) as a positive integer, got ${dim}`,
      );
    }
    if (points.length % dim !== 0) {
      throw new RangeError(
        `tsne: Float32Array length ${points.length} is not a multiple of dim ${dim}`,
      );
    }
    const count = points.length / dim;
    for (let e = 0; e < points.length; e++) {
      if (!Number.isFinite(points[e])) {
        throw new RangeError(
          `tsne: value ${points[e]} at row ${Math.floor(e / dim)}, column ${e % dim} is not finite`,
        );
      }
    }
    return { data: points, count, dim };
  }
  if (!Array.isArray(points)) {
    throw new TypeError("tsne: points must be a Float32Array (with options.dim) or number[][]");
  }
  const count = points.length;
  const rowDim = count > 0 && Array.isArray(points[0]) ? points[0].length : 0;
  if (dim !== undefined && dim !== rowDim) {
    throw new RangeError(`tsne: options.dim ${dim} does not match the row length ${rowDim}`);
  }
  if (count > 0 && rowDim < 1) throw new RangeError("tsne: rows must be non-empty arrays");
  const data = new Float32Array(count * rowDim);
  for (let i = 0; i < count; i++) {
    const row = points[i];
    if (!Array.isArray(row) || row.length !== rowDim) {
      throw new RangeError(
        `tsne: ragged rows: row ${i} has length ${Array.isArray(row) ? row.length : typeof row}, ` +
          `row 0 has ${rowDim}; every row must have the same length`,
      );
    }
    for (let d = 0; d < rowDim; d++) {
      const v = row[d];
      if (typeof v !== "number" || !Number.isFinite(v)) {
        throw new RangeError(`tsne: value ${v} at row ${i}, column ${d} is not a finite number`);
      }
      data[i * rowDim + d] = v;
    }
  }
  return { data, count, dim: rowDim };
}

function positive(name: string, value: number, integer = false): number {
  if (
    typeof value !== "number" || !Number.isFinite(value) || value <= 0 ||
    (integer && !Number.isInteger(value))
  ) {
    throw new RangeError(
      `tsne: ${name} must be a positive ${integer ? "integer" : "number"}, got ${value}`,
    );
  }
  return value;
}

/** Seeded standard normal numbers (Box-Muller over mulberry32). */
function gaussian(seed: number): () => number {
  const uniform = mulberry32(seed);
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/** First two principal-component scores by power iteration (deterministic from the seed). */
function pcaStart(m: Matrix, seed: number): Float64Array {
  const { data, count, dim } = m;
  const mean = new Float64Array(dim);
  for (let i = 0; i < count; i++) for (let d = 0; d < dim; d++) mean[d] += data[i * dim + d];
  for (let d = 0; d < dim; d++) mean[d] /= count;
  const normal = gaussian(seed);
  const components: Float64Array[] = [];
  const scores = new Float64Array(count);
  const y = new Float64Array(2 * count);
  for (let c = 0; c < 2; c++) {
    let v: Float64Array = Float64Array.from({ length: dim }, () => normal());
    for (let step = 0; step < 100; step++) {
      // v <- X^T X v over centred rows, then remove earlier components and normalise.
      const next = new Float64Array(dim);
      for (let i = 0; i < count; i++) {
        let s = 0;
        for (let d = 0; d < dim; d++) s += (data[i * dim + d] - mean[d]) * v[d];
        scores[i] = s;
        for (let d = 0; d < dim; d++) next[d] += s * (data[i * dim + d] - mean[d]);
      }
      for (const u of components) {
        let dot = 0;
        for (let d = 0; d < dim; d++) dot += next[d] * u[d];
        for (let d = 0; d < dim; d++) next[d] -= dot * u[d];
      }
      let normSq = 0;
      for (let d = 0; d < dim; d++) normSq += next[d] * next[d];
      const norm = Math.sqrt(normSq);
      if (!(norm > 0)) break;
      for (let d = 0; d < dim; d++) next[d] /= norm;
      let change = 0;
      for (let d = 0; d < dim; d++) change += Math.abs(next[d] - v[d]);
      v = next;
      if (change < 1e-9 * dim) break;
    }
    // Fix the sign so the result does not depend on the start vector.
    let largest = 0;
    for (let d = 0; d < dim; d++) if (Math.abs(v[d]) > Math.abs(largest)) largest = v[d];
    if (largest < 0) { for (let d = 0; d < dim; d++) v[d] = -v[d]; }
    components.push(v);
    for (let i = 0; i < count; i++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += (data[i * dim + d] - mean[d]) * v[d];
      y[2 * i + c] = s;
    }
  }
  // Scale so the first coordinate has standard deviation 1e-4 (as openTSNE).
  let sq = 0;
  for (let i = 0; i < count; i++) sq += y[2 * i] * y[2 * i];
  const std = Math.sqrt(sq / count);
  const factor = std > 0 ? 1e-4 / std : 1;
  for (let e = 0; e < y.length; e++) y[e] *= factor;
  return y;
}

function runExact(
  m: Matrix,
  perplexity: number,
  iterations: number,
  seed: number,
  learningRate: number,
  earlyExaggeration: number,
  onProgress: TsneOptions["onProgress"],
  progressEvery: number,
): Float32Array {
  const rows: number[][] = [];
  for (let i = 0; i < m.count; i++) {
    rows.push(Array.from(m.data.subarray(i * m.dim, (i + 1) * m.dim)));
  }
  const originalRandom = Math.random;
  Math.random = mulberry32(seed);
  try {
    const model = new TSNE({
      dim: 2,
      perplexity,
      earlyExaggeration,
      learningRate,
      nIter: iterations,
      metric: "euclidean",
    });
    model.init({ data: rows, type: "dense" });
    let done = 0;
    let lastCost: number | null = null;
    if (onProgress) {
      // tsne-js reports [iteration, cost, gradient norm] before each step. While it exaggerates
      // (until it announces its final phase; a phase may end early, so iteration numbers do not
      // tell) the cost is KL(E*P || Q) = E * (KL(P || Q) + log E).
      let exaggerated = true;
      model.on("progressStatus", (status: string) => {
        if (status.startsWith("Final optimization")) exaggerated = false;
      });
      model.on("progressIter", ([iteration, cost]: number[]) => {
        const kl = exaggerated ? cost / earlyExaggeration - Math.log(earlyExaggeration) : cost;
        lastCost = kl;
        done = iteration + 1;
        if (done % progressEvery === 0) onProgress(done, kl);
      });
    }
    model.run();
    if (onProgress && done % progressEvery !== 0) onProgress(done, lastCost);
    const output: number[][] = model.getOutput();
    const result = new Float32Array(2 * m.count);
    for (let i = 0; i < m.count; i++) {
      result[2 * i] = output[i][0];
      result[2 * i + 1] = output[i][1];
    }
    return result;
  } finally {
    Math.random = originalRandom;
  }
}

/**
 * Embeds points in two dimensions with t-SNE. The same input and options (seed included) give
 * bit-identical output on the same machine and runtime.
 *
 * @param points `N` rows of equal length, as `number[][]` or a flat row-major `Float32Array`
 *   (then `options.dim` gives the row length). All values must be finite.
 * @param options See {@link TsneOptions}; `dim` is the row length of a flat array.
 * @returns Row-major `N x 2` coordinates.
 * @throws RangeError on ragged rows, non-finite values, too few points for the perplexity
 *   (N < 3 * perplexity + 1) or bad options, with what was wrong and what was expected.
 */
export async function tsne(
  points: Float32Array | number[][],
  options: TsneOptions & { dim?: number } = {},
): Promise<Float32Array> {
  await Promise.resolve(); // always settle asynchronously (a worker may take this over later)
  const m = toMatrix(points, options.dim);
  const perplexity = positive("perplexity", options.perplexity ?? 30);
  const iterations = positive("iterations", options.iterations ?? 1000, true);
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw new RangeError(`tsne: seed must be an integer, got ${seed}`);
  const theta = options.theta ?? 0.5;
  if (typeof theta !== "number" || !(theta >= 0) || !Number.isFinite(theta)) {
    throw new RangeError(`tsne: theta must be a number >= 0 (usually 0.5), got ${theta}`);
  }
  const earlyExaggeration = options.earlyExaggeration ?? 12;
  if (
    typeof earlyExaggeration !== "number" || !(earlyExaggeration >= 1) ||
    !Number.isFinite(earlyExaggeration)
  ) {
    throw new RangeError(`tsne: earlyExaggeration must be a number >= 1, got ${earlyExaggeration}`);
  }
  const progressEvery = positive("progressEvery", options.progressEvery ?? 50, true);
  const threads = positive(
    "threads",
    options.threads ?? Math.min(2, globalThis.navigator?.hardwareConcurrency ?? 1),
    true,
  );
  const method = options.method ?? "auto";
  if (method !== "exact" && method !== "barnes-hut" && method !== "auto") {
    throw new RangeError(`tsne: method must be "exact", "barnes-hut" or "auto", got ${method}`);
  }
  const init = options.init ?? "random";
  if (init !== "random" && init !== "pca") {
    throw new RangeError(`tsne: init must be "random" or "pca", got ${init}`);
  }
  const neighbourCount = Math.max(1, Math.floor(3 * perplexity));
  if (m.count < neighbourCount + 1) {
    const largest = Math.floor((m.count - 1) / 3);
    throw new RangeError(
      `tsne: ${m.count} points are too few for perplexity ${perplexity}: need at least ` +
        `3 * perplexity + 1 = ${neighbourCount + 1}; lower the perplexity to at most ` +
        `${largest > 0 ? largest : "(none possible; add points)"} or add points`,
    );
  }
  const learningRateOption = options.learningRate ?? "auto";
  const learningRate = learningRateOption === "auto"
    ? Math.max(m.count / earlyExaggeration / 4, 50)
    : positive("learningRate", learningRateOption);

  if (method === "exact") {
    if (init !== "random") throw new RangeError('tsne: method "exact" supports only init "random"');
    return runExact(
      m,
      perplexity,
      iterations,
      seed,
      learningRate,
      earlyExaggeration,
      options.onProgress,
      progressEvery,
    );
  }

  let t = performance.now();
  const neighbours = exactNeighbours(m.data, m.count, m.dim, neighbourCount);
  const neighboursMs = performance.now() - t;
  t = performance.now();
  const p = symmetrise(neighbours, conditionalAffinities(neighbours, perplexity));
  const affinitiesMs = performance.now() - t;

  let y: Float64Array;
  if (init === "pca") {
    y = pcaStart(m, seed);
  } else {
    const normal = gaussian(seed);
    y = new Float64Array(2 * m.count);
    for (let e = 0; e < y.length; e++) y[e] = 1e-4 * normal();
  }
  t = performance.now();
  const timings = await optimise(p, y, {
    iterations,
    exaggerationIterations: Math.min(EXAGGERATION_ITERATIONS, iterations),
    earlyExaggeration,
    learningRate,
    theta,
    progressEvery,
    onProgress: options.onProgress,
    threads,
  });
  lastTimings = {
    neighbours: neighboursMs,
    affinities: affinitiesMs,
    gradient: performance.now() - t,
    ...timings,
  };
  return Float32Array.from(y);
}
