/**
 * Principal component analysis: the linear baseline of the latent-dimension experiments (an
 * autoencoder with a d-dimensional code should beat PCA with d components) and the PCA-50 input
 * of t-SNE.
 *
 * The covariance is accumulated in double precision from the nonzero entries of each row only
 * (MNIST images are ~81% zeros, so the 60,000 x 784 fit costs ~7e8 multiply-adds instead of
 * 1.8e10), then diagonalised with `ml-matrix`'s symmetric eigen-decomposition (Householder
 * tridiagonalisation + QL, ~1 s for 784 x 784). Dense data still works, just more slowly.
 *
 * Components are unit vectors, sorted by decreasing variance, with a deterministic sign: the
 * entry of largest magnitude of each component is positive.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { EigenvalueDecomposition, Matrix } from "ml-matrix";
import { inferDim, type PointsInput, toFloat32 } from "./knn.ts";

/** A fitted PCA model (plain data; safe to serialise). */
export interface PcaModel {
  /** Dimension of the data. */
  dim: number;
  /** Number of kept components, k. */
  components: number;
  /** Mean of the fitted data, length `dim`. */
  mean: Float32Array;
  /** Principal axes, `k x dim` row-major, unit length, by decreasing variance. */
  axes: Float32Array;
  /** Variance along each axis (eigenvalues of the covariance with divisor n - 1), length k. */
  explainedVariance: Float64Array;
  /** Each `explainedVariance` divided by the total variance of the data. */
  explainedVarianceRatio: Float64Array;
  /** Total variance of the data (trace of the covariance). */
  totalVariance: number;
  /** Number of rows the model was fitted on. */
  fittedRows: number;
}

/**
 * Fits PCA to `n` rows of dimension `dim`.
 *
 * @param data Row-major `n x dim` values (a tensor of shape `[n, ...]` also works).
 * @param n Number of rows, at least 2.
 * @param dim Number of columns.
 * @param maxComponents Components to keep, `1 <= maxComponents <= dim`.
 * @returns The model.
 */
export function fitPca(
  data: PointsInput,
  n: number,
  dim: number,
  maxComponents: number,
): PcaModel {
  const x = toFloat32(data, "fitPca(data)");
  if (!Number.isInteger(n) || n < 2) {
    throw new RangeError(`fitPca: n must be an integer >= 2 (variance needs two rows), got ${n}`);
  }
  const actualDim = inferDim(x, n, "fitPca(data)");
  if (actualDim !== dim) {
    throw new RangeError(
      `fitPca: data has ${x.length} values = ${n} x ${actualDim}, not ${n} x ${dim}`,
    );
  }
  if (!Number.isInteger(maxComponents) || maxComponents < 1 || maxComponents > dim) {
    throw new RangeError(
      `fitPca: maxComponents must be an integer in [1, ${dim}], got ${maxComponents}`,
    );
  }
  const mean64 = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const offset = i * dim;
    for (let c = 0; c < dim; c++) mean64[c] += x[offset + c];
  }
  for (let c = 0; c < dim; c++) mean64[c] /= n;

  // Upper triangle of sum_i x_i x_i^T from the nonzero entries of each row.
  const second = new Float64Array(dim * dim);
  const index = new Int32Array(dim);
  const value = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const offset = i * dim;
    let nonzero = 0;
    for (let c = 0; c < dim; c++) {
      const v = x[offset + c];
      if (v !== 0) {
        index[nonzero] = c;
        value[nonzero] = v;
        nonzero++;
      }
    }
    for (let p = 0; p < nonzero; p++) {
      const row = index[p] * dim;
      const vp = value[p];
      for (let q = p; q < nonzero; q++) second[row + index[q]] += vp * value[q];
    }
  }
  const covariance = new Matrix(dim, dim);
  let totalVariance = 0;
  for (let r = 0; r < dim; r++) {
    for (let c = r; c < dim; c++) {
      const v = (second[r * dim + c] - n * mean64[r] * mean64[c]) / (n - 1);
      covariance.set(r, c, v);
      covariance.set(c, r, v);
    }
    totalVariance += covariance.get(r, r);
  }
  const decomposition = new EigenvalueDecomposition(covariance, { assumeSymmetric: true });
  const eigenvalues = decomposition.realEigenvalues; // ascending
  const vectors = decomposition.eigenvectorMatrix; // columns
  const axes = new Float32Array(maxComponents * dim);
  const explainedVariance = new Float64Array(maxComponents);
  const explainedVarianceRatio = new Float64Array(maxComponents);
  for (let m = 0; m < maxComponents; m++) {
    const column = dim - 1 - m;
    // Tiny negative eigenvalues are rounding noise of a positive semi-definite matrix.
    explainedVariance[m] = Math.max(0, eigenvalues[column]);
    explainedVarianceRatio[m] = totalVariance > 0 ? explainedVariance[m] / totalVariance : 0;
    let largest = 0;
    for (let c = 0; c < dim; c++) {
      const v = vectors.get(c, column);
      if (Math.abs(v) > Math.abs(largest)) largest = v;
    }
    const sign = largest < 0 ? -1 : 1;
    for (let c = 0; c < dim; c++) axes[m * dim + c] = sign * vectors.get(c, column);
  }
  return {
    dim,
    components: maxComponents,
    mean: Float32Array.from(mean64),
    axes,
    explainedVariance,
    explainedVarianceRatio,
    totalVariance,
    fittedRows: n,
  };
}

/**
 * {@link fitPca} for a 2-D tensor `[n, dim]` (or any tensor whose first axis is the row axis).
 *
 * @param data The data; not disposed.
 * @param maxComponents Components to keep.
 * @returns The model.
 */
export function fitPcaTensor(data: tf.Tensor, maxComponents: number): PcaModel {
  const n = data.shape[0];
  return fitPca(data, n, data.size / n, maxComponents);
}

function checkD(model: PcaModel, d: number, what: string): void {
  if (!Number.isInteger(d) || d < 0 || d > model.components) {
    throw new RangeError(
      `${what}: d must be an integer in [0, ${model.components}] (the model keeps ` +
        `${model.components} components), got ${d}`,
    );
  }
}

function rowsOf(model: PcaModel, x: Float32Array, what: string): number {
  if (x.length === 0 || x.length % model.dim !== 0) {
    throw new RangeError(
      `${what}: ${x.length} values are not whole rows of the model's dimension ${model.dim}`,
    );
  }
  return x.length / model.dim;
}

/**
 * Projects rows onto the first `d` principal axes: `codes = (x - mean) axes[:d]^T`.
 *
 * @param model A fitted model.
 * @param data Row-major `n x dim` values (or a tensor with `n * dim` values).
 * @param d Number of components, `0 <= d <= model.components`.
 * @returns Codes, `n x d` row-major.
 */
export function pcaProject(model: PcaModel, data: PointsInput, d: number): Float32Array {
  checkD(model, d, "pcaProject");
  const x = toFloat32(data, "pcaProject(data)");
  const n = rowsOf(model, x, "pcaProject");
  const { dim, mean, axes } = model;
  const codes = new Float32Array(n * d);
  const centred = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const offset = i * dim;
    for (let c = 0; c < dim; c++) centred[c] = x[offset + c] - mean[c];
    for (let m = 0; m < d; m++) {
      const axis = m * dim;
      let dot = 0;
      for (let c = 0; c < dim; c++) dot += centred[c] * axes[axis + c];
      codes[i * d + m] = dot;
    }
  }
  return codes;
}

/**
 * Maps codes back to the data space: `x = mean + codes axes[:d]`.
 *
 * @param model A fitted model.
 * @param codes Row-major `n x d` codes.
 * @param d Number of components the codes hold, `0 <= d <= model.components`.
 * @param n Number of rows; needed only when `d` is 0 (otherwise `codes.length / d`).
 * @returns Reconstructions, `n x dim` row-major.
 */
export function pcaReconstruct(
  model: PcaModel,
  codes: PointsInput,
  d: number,
  n?: number,
): Float32Array {
  checkD(model, d, "pcaReconstruct");
  const z = toFloat32(codes, "pcaReconstruct(codes)");
  let rows: number;
  if (d === 0) {
    if (n === undefined || !Number.isInteger(n) || n < 1) {
      throw new RangeError("pcaReconstruct: with d = 0 pass the number of rows n (>= 1)");
    }
    rows = n;
  } else {
    rows = z.length / d;
    if (z.length === 0 || !Number.isInteger(rows) || (n !== undefined && n !== rows)) {
      throw new RangeError(
        `pcaReconstruct: ${z.length} code values are not ${n ?? "whole"} rows of d = ${d}`,
      );
    }
  }
  const { dim, mean, axes } = model;
  const out = new Float32Array(rows * dim);
  const row = new Float64Array(dim);
  for (let i = 0; i < rows; i++) {
    for (let c = 0; c < dim; c++) row[c] = mean[c];
    for (let m = 0; m < d; m++) {
      const code = z[i * d + m];
      const axis = m * dim;
      for (let c = 0; c < dim; c++) row[c] += code * axes[axis + c];
    }
    out.set(row, i * dim);
  }
  return out;
}

/**
 * Per-value MSE of the rank-`d` PCA reconstruction of `data` (project, reconstruct, compare;
 * reconstructions are not clipped). `d = 0` gives the error of the mean alone.
 *
 * @param model A fitted model.
 * @param data Row-major `n x dim` values.
 * @param d Number of components, `0 <= d <= model.components`.
 * @returns `mean((x - reconstruct(project(x)))^2)` over all values.
 */
export function pcaReconstructionMse(model: PcaModel, data: PointsInput, d: number): number {
  const x = toFloat32(data, "pcaReconstructionMse(data)");
  const n = rowsOf(model, x, "pcaReconstructionMse");
  const reconstruction = pcaReconstruct(model, pcaProject(model, x, d), d, n);
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const e = x[i] - reconstruction[i];
    sum += e * e;
  }
  return sum / x.length;
}

/**
 * Per-value reconstruction MSE for several `d` at once, from one projection: because the axes
 * are orthonormal, the squared residual of a row is `|x - mean|^2 - sum_{m<d} code_m^2`.
 *
 * @param model A fitted model.
 * @param data Row-major `n x dim` values.
 * @param ds Component counts, each in `[0, model.components]`.
 * @returns The MSE for each entry of `ds`, in the same order.
 */
export function pcaReconstructionMseCurve(
  model: PcaModel,
  data: PointsInput,
  ds: number[],
): number[] {
  for (const d of ds) checkD(model, d, "pcaReconstructionMseCurve");
  const x = toFloat32(data, "pcaReconstructionMseCurve(data)");
  const n = rowsOf(model, x, "pcaReconstructionMseCurve");
  const maxD = Math.max(0, ...ds);
  const codes = pcaProject(model, x, maxD);
  let centredTotal = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < model.dim; c++) {
      const v = x[i * model.dim + c] - model.mean[c];
      centredTotal += v * v;
    }
  }
  const explainedUpTo = new Float64Array(maxD + 1); // sum of code^2 over the first m components
  for (let m = 0; m < maxD; m++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += codes[i * maxD + m] ** 2;
    explainedUpTo[m + 1] = explainedUpTo[m] + s;
  }
  return ds.map((d) => Math.max(0, centredTotal - explainedUpTo[d]) / x.length);
}

/** Result of {@link pcaEmbedding}. */
export interface PcaEmbedding {
  /** The embedded rows, `n x d` row-major. */
  codes: Float32Array;
  /** The model used (fitted on `fitData` when given, else on `data`). */
  model: PcaModel;
}

/**
 * Convenience for 2-D plots and the PCA-50 input of t-SNE: fits PCA with `d` components (on
 * `fitData` when given, e.g. the train set, else on `data` itself) and projects `data`.
 *
 * @param data Row-major `n x dim` rows to embed (or a tensor `[n, ...]`).
 * @param n Number of rows of `data`.
 * @param d Output dimension.
 * @param fitData Optional other rows to fit on (same dimension), with their count.
 * @returns The codes and the model.
 */
export function pcaEmbedding(
  data: PointsInput,
  n: number,
  d: number,
  fitData?: { data: PointsInput; n: number },
): PcaEmbedding {
  const x = toFloat32(data, "pcaEmbedding(data)");
  const dim = inferDim(x, n, "pcaEmbedding(data)");
  const model = fitData === undefined
    ? fitPca(x, n, dim, d)
    : fitPca(fitData.data, fitData.n, dim, d);
  return { codes: pcaProject(model, x, d), model };
}
