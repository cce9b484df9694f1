/**
 * The Barnes-Hut t-SNE optimiser (van der Maaten 2014) with the schedule of sklearn/openTSNE:
 * early exaggeration for the first iterations with momentum 0.5, then momentum 0.8; per-
 * coordinate gains (+0.2 when the gradient changes sign against the update, x0.8 otherwise,
 * at least 0.01). The gradient includes the factor 4 of `dC/dy_i = 4 sum_j (p_ij - q_ij) w_ij
 * (y_i - y_j)`, so learning rates follow sklearn's convention (its "auto" is
 * `max(N / exaggeration / 4, 50)`, equivalent to openTSNE's `N / exaggeration`).
 *
 * @module
 */

import type { SparseAffinities } from "./affinities.ts";
import { buildQuadTree, createQuadTree } from "./quadtree.ts";
import { startTeam, stopTeam, teamRepulsion } from "./parallel.ts";

/** Settings of one optimisation run (all required; defaults live in lib/tsne.ts). */
export interface OptimiseSettings {
  /** Total gradient iterations, the exaggeration phase included. */
  iterations: number;
  /** Iterations with early exaggeration and momentum 0.5. */
  exaggerationIterations: number;
  /** Factor on P during the exaggeration phase. */
  earlyExaggeration: number;
  /** Step size (sklearn convention). */
  learningRate: number;
  /** Barnes-Hut accuracy; 0 = exact repulsion. */
  theta: number;
  /** Compute the KL divergence every this many iterations (and after the last). */
  progressEvery: number;
  /** Called with (iterations done, KL divergence of the un-exaggerated P) at those points. */
  onProgress?: (iteration: number, klDivergence: number | null) => void;
  /** Threads for the repulsive forces, main included (1 = no Workers). */
  threads: number;
}

/** Time spent per part of the optimisation, in milliseconds (for reports and tuning). */
export interface OptimiseTimings {
  /** Quadtree builds. */
  tree: number;
  /** Repulsive forces. */
  repulsive: number;
  /** Attractive forces, gradient step and KL evaluations. */
  attractive: number;
}

/**
 * Attractive forces `sum_j p_ij w_ij (y_i - y_j)` into `forces` (overwritten).
 */
function attractiveForces(p: SparseAffinities, y: Float64Array, forces: Float64Array): void {
  const { count, rowStart, columns, values } = p;
  for (let i = 0; i < count; i++) {
    const xi = y[2 * i], yi = y[2 * i + 1];
    let fx = 0, fy = 0;
    for (let e = rowStart[i], stop = rowStart[i + 1]; e < stop; e++) {
      const j = columns[e];
      const dx = xi - y[2 * j], dy = yi - y[2 * j + 1];
      const pw = values[e] / (1 + dx * dx + dy * dy);
      fx += pw * dx;
      fy += pw * dy;
    }
    forces[2 * i] = fx;
    forces[2 * i + 1] = fy;
  }
}

/**
 * KL(P || Q) with `q_ij = w_ij / Z`, summed over the non-zero `p_ij` (the other terms are 0):
 * `sum p log p - sum p log w + log Z`, since P sums to 1. With a Barnes-Hut `Z` this is the
 * approximate objective (exact when theta = 0).
 */
export function klDivergence(p: SparseAffinities, y: Float64Array, z: number): number {
  const { count, rowStart, columns, values } = p;
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const xi = y[2 * i], yi = y[2 * i + 1];
    for (let e = rowStart[i], stop = rowStart[i + 1]; e < stop; e++) {
      const j = columns[e];
      const dx = xi - y[2 * j], dy = yi - y[2 * j + 1];
      const pij = values[e];
      // log(p / w) = log p + log(1 + d^2)
      if (pij > 0) sum += pij * (Math.log(pij) + Math.log1p(dx * dx + dy * dy));
    }
  }
  return sum + Math.log(z);
}

/**
 * Runs gradient descent from `y` (modified in place). The result does not depend on
 * `settings.threads`.
 *
 * @param p Joint input affinities (sum 1).
 * @param y Row-major `count x 2` starting coordinates; holds the result afterwards.
 * @param settings Schedule and callbacks.
 * @returns Milliseconds spent per part.
 */
export async function optimise(
  p: SparseAffinities,
  y: Float64Array,
  settings: OptimiseSettings,
): Promise<OptimiseTimings> {
  const n = p.count;
  const shared = settings.threads > 1 && typeof SharedArrayBuffer === "function";
  const tree = createQuadTree(n, shared);
  const repulsive = new Float64Array(
    shared ? new SharedArrayBuffer(16 * n) : new ArrayBuffer(16 * n),
  );
  const team = await startTeam(tree, repulsive, settings.theta, settings.threads);
  try {
    return iterate(p, y, settings, tree, repulsive, () => teamRepulsion(team));
  } finally {
    stopTeam(team);
  }
}

function iterate(
  p: SparseAffinities,
  y: Float64Array,
  settings: OptimiseSettings,
  tree: ReturnType<typeof createQuadTree>,
  repulsive: Float64Array,
  computeRepulsion: () => number,
): OptimiseTimings {
  const n = p.count;
  const attractive = new Float64Array(2 * n);
  const update = new Float64Array(2 * n);
  const gains = new Float64Array(2 * n).fill(1);
  const timings: OptimiseTimings = { tree: 0, repulsive: 0, attractive: 0 };
  const { iterations, exaggerationIterations, learningRate, progressEvery } = settings;

  for (let iter = 0; iter < iterations; iter++) {
    const exaggerating = iter < exaggerationIterations;
    const exaggeration = exaggerating ? settings.earlyExaggeration : 1;
    const momentum = exaggerating ? 0.5 : 0.8;
    let t = performance.now();
    buildQuadTree(tree, y);
    let now = performance.now();
    timings.tree += now - t;
    t = now;
    const z = computeRepulsion();
    now = performance.now();
    timings.repulsive += now - t;
    t = now;
    attractiveForces(p, y, attractive);
    const report = settings.onProgress !== undefined &&
      ((iter + 1) % progressEvery === 0 || iter + 1 === iterations);
    // KL of the positions the gradient was computed at (before this step).
    const kl = report ? klDivergence(p, y, z) : 0;

    const invZ = 1 / z;
    let meanX = 0, meanY = 0;
    for (let c = 0; c < 2 * n; c++) {
      const grad = 4 * (exaggeration * attractive[c] - repulsive[c] * invZ);
      const u = update[c];
      let g = gains[c];
      g = (grad > 0) !== (u > 0) ? g + 0.2 : g * 0.8;
      if (g < 0.01) g = 0.01;
      gains[c] = g;
      const step = momentum * u - learningRate * g * grad;
      update[c] = step;
      y[c] += step;
      if (c & 1) meanY += y[c];
      else meanX += y[c];
    }
    // Re-centre (the objective is translation invariant; keeps the tree's box tight).
    meanX /= n;
    meanY /= n;
    for (let i = 0; i < n; i++) {
      y[2 * i] -= meanX;
      y[2 * i + 1] -= meanY;
    }
    timings.attractive += performance.now() - t;
    if (report) settings.onProgress!(iter + 1, kl);
  }
  return timings;
}
