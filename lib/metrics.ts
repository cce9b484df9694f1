/**
 * Metrics for reconstructions and embeddings: MSE (overall, per sample, per digit), PSNR, kNN
 * accuracy (train/test and leave-one-out), trustworthiness, silhouette, separability of a digit
 * pair in a code space, a checkerboard-artefact score and a class-balance table.
 *
 * Inputs are row-major typed arrays (or tensors, read once with `dataSync`); the number of rows
 * is taken from the label array where there is one, so only matrices without labels need an
 * explicit count. Sums are kept in double precision on the CPU; the pairwise metrics stream
 * distance blocks from `knn.ts` (float32 dot products over centred columns, see its
 * `DistanceSpace`) and never hold an `n x n` matrix.
 *
 * @module
 */
import { inferDim, knnSearch, pairDistanceSpace, type PointsInput, toFloat32 } from "./knn.ts";
import { shuffledIndices } from "./random.ts";

export type { PointsInput } from "./knn.ts";

/** Labels: one integer class per row. */
export type LabelsInput = ArrayLike<number>;

function checkSameLength(a: Float32Array, b: Float32Array, what: string): void {
  if (a.length !== b.length) {
    throw new RangeError(`${what}: inputs differ in size (${a.length} vs ${b.length} values)`);
  }
  if (a.length === 0) throw new RangeError(`${what}: inputs are empty`);
}

function checkLabels(labels: LabelsInput, what: string): void {
  for (let i = 0; i < labels.length; i++) {
    if (!Number.isInteger(labels[i])) {
      throw new TypeError(`${what}: labels must be integers, labels[${i}] = ${labels[i]}`);
    }
  }
}

/**
 * Mean squared error over every value (for images: the per-pixel MSE averaged over all images).
 *
 * @param a Values, e.g. reconstructions (any shape, flattened).
 * @param b Values of the same size, e.g. originals.
 * @returns `mean((a - b)^2)`.
 */
export function mse(a: PointsInput, b: PointsInput): number {
  const x = toFloat32(a, "mse(a)");
  const y = toFloat32(b, "mse(b)");
  checkSameLength(x, y, "mse");
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i] - y[i];
    sum += d * d;
  }
  return sum / x.length;
}

/**
 * Per-sample MSE: the mean squared error of each row.
 *
 * @param a Row-major `n x dim` values (e.g. reconstructions).
 * @param b Values of the same size (e.g. originals).
 * @param n Number of rows (samples).
 * @returns `Float64Array` of length `n`.
 */
export function perSampleMse(a: PointsInput, b: PointsInput, n: number): Float64Array {
  const x = toFloat32(a, "perSampleMse(a)");
  const y = toFloat32(b, "perSampleMse(b)");
  checkSameLength(x, y, "perSampleMse");
  const dim = inferDim(x, n, "perSampleMse");
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let c = i * dim, end = c + dim; c < end; c++) {
      const d = x[c] - y[c];
      sum += d * d;
    }
    out[i] = sum / dim;
  }
  return out;
}

/**
 * MSE per digit: the per-value MSE over the samples of each digit 0..9.
 *
 * @param a Row-major `n x dim` values (e.g. reconstructions).
 * @param b Values of the same size (e.g. originals).
 * @param labels Digit (0..9) of each row; its length is `n`.
 * @returns 10 numbers; `NaN` for a digit without samples.
 */
export function msePerDigit(a: PointsInput, b: PointsInput, labels: LabelsInput): number[] {
  checkLabels(labels, "msePerDigit");
  const perSample = perSampleMse(a, b, labels.length);
  const sums = new Array<number>(10).fill(0);
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const digit = labels[i];
    if (digit < 0 || digit > 9) {
      throw new RangeError(`msePerDigit: labels must be digits 0..9, labels[${i}] = ${digit}`);
    }
    sums[digit] += perSample[i];
    counts[digit]++;
  }
  return sums.map((s, d) => (counts[d] > 0 ? s / counts[d] : NaN));
}

/**
 * Peak signal-to-noise ratio in decibels: `10 log10(maxValue^2 / mse(a, b))`.
 *
 * @param a Values, e.g. a denoised image set.
 * @param b Reference values of the same size, e.g. the clean images.
 * @param maxValue The largest possible value (1 for pixels in [0, 1], 255 for bytes).
 * @returns PSNR in dB; `Infinity` when the inputs are identical.
 */
export function psnr(a: PointsInput, b: PointsInput, maxValue = 1): number {
  if (!(maxValue > 0)) throw new RangeError(`psnr: maxValue must be > 0, got ${maxValue}`);
  const error = mse(a, b);
  return error === 0 ? Infinity : 10 * Math.log10((maxValue * maxValue) / error);
}

/**
 * How a k-NN vote between equally frequent labels is decided. `nearest` (default): the tied label
 * with the nearest neighbour wins. `smallestLabel`: the smallest tied label wins, as in
 * scikit-learn's `KNeighborsClassifier` (its `mode`); use it to compare with sklearn numbers.
 */
export type KnnTieBreak = "nearest" | "smallestLabel";

/** Options of the k-NN classifiers. */
export interface KnnOptions {
  /** Rule for tied votes (default `"nearest"`). */
  tieBreak?: KnnTieBreak;
}

/** Majority vote of neighbour labels (listed nearest first), ties decided by `tieBreak`. */
function vote(neighbourLabels: number[], tieBreak: KnnTieBreak): number {
  const counts = new Map<number, number>();
  let best = neighbourLabels[0];
  let bestCount = 0;
  for (const label of neighbourLabels) counts.set(label, (counts.get(label) ?? 0) + 1);
  // Iterating in neighbour order and requiring a strictly larger count keeps the nearest on ties.
  for (const label of neighbourLabels) {
    const count = counts.get(label) as number;
    if (
      count > bestCount ||
      (tieBreak === "smallestLabel" && count === bestCount && label < best)
    ) {
      best = label;
      bestCount = count;
    }
  }
  return best;
}

function checkTieBreak(options: KnnOptions, what: string): KnnTieBreak {
  const tieBreak = options.tieBreak ?? "nearest";
  if (tieBreak !== "nearest" && tieBreak !== "smallestLabel") {
    throw new RangeError(
      `${what}: tieBreak must be "nearest" or "smallestLabel", got ${JSON.stringify(tieBreak)}`,
    );
  }
  return tieBreak;
}

/**
 * k-nearest-neighbour classification (Euclidean; majority vote, ties to the nearest tied label
 * unless `options.tieBreak` says otherwise; equal distances: the smaller index is nearer).
 *
 * @param trainX Row-major reference points; their count is `trainY.length`.
 * @param trainY Label of each reference point.
 * @param testX Row-major points to classify (same dimension).
 * @param nTest Number of points in `testX`.
 * @param k Number of neighbours.
 * @param options Tie-break rule.
 * @returns Predicted label of each test point.
 */
export function knnClassify(
  trainX: PointsInput,
  trainY: LabelsInput,
  testX: PointsInput,
  nTest: number,
  k: number,
  options: KnnOptions = {},
): Int32Array {
  const tieBreak = checkTieBreak(options, "knnClassify");
  checkLabels(trainY, "knnClassify(trainY)");
  const reference = toFloat32(trainX, "knnClassify(trainX)");
  const dim = inferDim(reference, trainY.length, "knnClassify(trainX)");
  const queries = toFloat32(testX, "knnClassify(testX)");
  const queryDim = inferDim(queries, nTest, "knnClassify(testX)");
  if (queryDim !== dim) {
    throw new RangeError(`knnClassify: train points have ${dim} dims, test points ${queryDim}`);
  }
  const found = knnSearch(reference, trainY.length, dim, k, queries, nTest);
  return predictFromNeighbours(found.indices, trainY, nTest, k, tieBreak);
}

function predictFromNeighbours(
  indices: Int32Array,
  labels: LabelsInput,
  n: number,
  k: number,
  tieBreak: KnnTieBreak,
): Int32Array {
  const predictions = new Int32Array(n);
  const neighbourLabels = new Array<number>(k);
  for (let i = 0; i < n; i++) {
    for (let m = 0; m < k; m++) neighbourLabels[m] = labels[indices[i * k + m]];
    predictions[i] = vote(neighbourLabels, tieBreak);
  }
  return predictions;
}

function accuracyOf(predictions: Int32Array, labels: LabelsInput): number {
  let correct = 0;
  for (let i = 0; i < predictions.length; i++) if (predictions[i] === labels[i]) correct++;
  return correct / predictions.length;
}

/**
 * Accuracy of a k-NN classifier fit on `(trainX, trainY)` and evaluated on `(testX, testY)`.
 *
 * @param trainX Row-major reference points; their count is `trainY.length`.
 * @param trainY Label of each reference point.
 * @param testX Row-major test points; their count is `testY.length`.
 * @param testY True label of each test point.
 * @param k Number of neighbours (e.g. 5).
 * @param options Tie-break rule (see {@link knnClassify}).
 * @returns Fraction of test points whose vote equals their label, in [0, 1].
 */
export function knnAccuracy(
  trainX: PointsInput,
  trainY: LabelsInput,
  testX: PointsInput,
  testY: LabelsInput,
  k: number,
  options: KnnOptions = {},
): number {
  checkLabels(testY, "knnAccuracy(testY)");
  return accuracyOf(knnClassify(trainX, trainY, testX, testY.length, k, options), testY);
}

/**
 * Leave-one-out k-NN accuracy inside one set: each point is classified by its `k` nearest other
 * points. Each pairwise distance is computed once.
 *
 * @param x Row-major points; their count is `y.length`.
 * @param y Label of each point.
 * @param k Number of neighbours, `< y.length`.
 * @param options Tie-break rule (see {@link knnClassify}).
 * @returns Fraction of points whose vote equals their label, in [0, 1].
 */
export function knnAccuracyLoo(
  x: PointsInput,
  y: LabelsInput,
  k: number,
  options: KnnOptions = {},
): number {
  const tieBreak = checkTieBreak(options, "knnAccuracyLoo");
  checkLabels(y, "knnAccuracyLoo");
  const points = toFloat32(x, "knnAccuracyLoo(x)");
  const dim = inferDim(points, y.length, "knnAccuracyLoo(x)");
  const found = knnSearch(points, y.length, dim, k);
  return accuracyOf(predictFromNeighbours(found.indices, y, y.length, k, tieBreak), y);
}

/**
 * Trustworthiness of an embedding, exactly as `sklearn.manifold.trustworthiness` (Venna & Kaski
 * 2001), Euclidean in both spaces:
 *
 * `T(k) = 1 - 2 / (n k (2n - 3k - 1)) * sum_i sum_{j in U_k(i)} max(0, r(i, j) - k)`
 *
 * where `U_k(i)` are the `k` nearest neighbours of `i` in the low-dimensional space and
 * `r(i, j)` is the rank of `j` among the neighbours of `i` in the high-dimensional space (1 =
 * nearest). Ranks of equal distances are broken by index (sklearn's argsort leaves that order
 * unspecified). Memory is O(n k): distances are streamed block by block.
 *
 * @param high Row-major `n x D` points in the original space.
 * @param low Row-major `n x d` points of the embedding.
 * @param n Number of points.
 * @param k Neighbourhood size, `1 <= k < n / 2`.
 * @returns T in [0, 1]; 1 when every embedding neighbour is also a neighbour in the original.
 */
export function trustworthiness(
  high: PointsInput,
  low: PointsInput,
  n: number,
  k: number,
): number {
  const highPoints = toFloat32(high, "trustworthiness(high)");
  const lowPoints = toFloat32(low, "trustworthiness(low)");
  const highDim = inferDim(highPoints, n, "trustworthiness(high)");
  const lowDim = inferDim(lowPoints, n, "trustworthiness(low)");
  if (!Number.isInteger(k) || k < 1 || k >= n / 2) {
    throw new RangeError(
      `trustworthiness: k must be an integer in [1, n/2) = [1, ${n / 2}), got ${k}`,
    );
  }
  const lowNeighbours = knnSearch(lowPoints, n, lowDim, k).indices;
  // Distance in the original space from i to each of its embedding neighbours, computed with
  // the same operations as the blocks so that j never counts as closer than itself.
  const space = pairDistanceSpace(highPoints, n, highDim);
  const thresholds = new Float64Array(n * k);
  const largest = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let max = 0;
    for (let m = 0; m < k; m++) {
      const j = lowNeighbours[i * k + m];
      const d = space.distance(i, j);
      thresholds[i * k + m] = d;
      if (d > max) max = d;
    }
    largest[i] = max;
  }
  // closer[i*k + m] = number of points l != i ranked before j = lowNeighbours[i*k+m] around i.
  const closer = new Int32Array(n * k);
  const count = (i: number, l: number, d: number): void => {
    if (d > largest[i]) return;
    const base = i * k;
    for (let m = 0; m < k; m++) {
      const t = thresholds[base + m];
      if (d < t || (d === t && l < lowNeighbours[base + m])) closer[base + m]++;
    }
  };
  space.forEachPair((i, j, d) => {
    count(i, j, d);
    count(j, i, d);
  });
  let penalty = 0;
  for (let e = 0; e < n * k; e++) {
    const rank = closer[e] + 1;
    if (rank > k) penalty += rank - k;
  }
  return 1 - (2 / (n * k * (2 * n - 3 * k - 1))) * penalty;
}

/**
 * Mean silhouette coefficient (Euclidean), as `sklearn.metrics.silhouette_score`: for each point
 * `s = (b - a) / max(a, b)`, with `a` the mean distance to the other members of its cluster and
 * `b` the smallest mean distance to the members of another cluster; `s = 0` for a point alone in
 * its cluster.
 *
 * @param x Row-major points; their count is `labels.length`.
 * @param labels Integer cluster of each point; at least 2 and at most n - 1 distinct values.
 * @returns The mean silhouette in [-1, 1].
 */
export function silhouetteScore(x: PointsInput, labels: LabelsInput): number {
  checkLabels(labels, "silhouetteScore");
  const n = labels.length;
  const points = toFloat32(x, "silhouetteScore(x)");
  const dim = inferDim(points, n, "silhouetteScore(x)");
  const clusterOf = new Int32Array(n);
  const clusterIds = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    let id = clusterIds.get(labels[i]);
    if (id === undefined) {
      id = clusterIds.size;
      clusterIds.set(labels[i], id);
    }
    clusterOf[i] = id;
  }
  const clusters = clusterIds.size;
  if (clusters < 2 || clusters > n - 1) {
    throw new RangeError(
      `silhouetteScore: needs 2 <= number of distinct labels <= n - 1 (n = ${n}), got ${clusters}`,
    );
  }
  const sizes = new Int32Array(clusters);
  for (let i = 0; i < n; i++) sizes[clusterOf[i]]++;
  const sums = new Float64Array(n * clusters);
  pairDistanceSpace(points, n, dim).forEachPair((i, j, squaredDistance) => {
    const d = Math.sqrt(squaredDistance);
    sums[i * clusters + clusterOf[j]] += d;
    sums[j * clusters + clusterOf[i]] += d;
  });
  let total = 0;
  for (let i = 0; i < n; i++) {
    const own = clusterOf[i];
    if (sizes[own] === 1) continue; // s = 0
    const a = sums[i * clusters + own] / (sizes[own] - 1);
    let b = Infinity;
    for (let c = 0; c < clusters; c++) {
      if (c !== own) b = Math.min(b, sums[i * clusters + c] / sizes[c]);
    }
    const denominator = Math.max(a, b);
    total += denominator > 0 ? (b - a) / denominator : 0;
  }
  return total / n;
}

/** Options of {@link pairSeparability}. */
export interface PairSeparabilityOptions {
  /** Neighbours of the kNN classifier (default 5). */
  k?: number;
  /** Folds of the cross-validation of the linear classifier (default 5). */
  folds?: number;
  /** Gradient-descent steps of the logistic regression (default 500). */
  iterations?: number;
  /** Seed of the fold assignment (default 0). */
  seed?: number;
}

/** Result of {@link pairSeparability}. */
export interface PairSeparability {
  /** Cross-validated accuracy of a logistic-regression classifier (chance ~0.5 when balanced). */
  linear: number;
  /** Leave-one-out k-NN accuracy on the two digits. */
  knn: number;
  /** Number of points with label `a`. */
  countA: number;
  /** Number of points with label `b`. */
  countB: number;
}

/**
 * How well two classes separate in a code space (typically the 2-D codes of E4): the accuracy
 * of a linear classifier (logistic regression on standardised features, full-batch gradient
 * descent with a small L2 penalty, `folds`-fold cross-validation with seeded folds stratified
 * by class) and the leave-one-out k-NN accuracy, both on the points labelled `a` or `b` only.
 *
 * @param codes Row-major codes of all points; their count is `labels.length`.
 * @param labels Label of each point.
 * @param a First class.
 * @param b Second class (different from `a`).
 * @param options Classifier settings.
 * @returns Both accuracies and the class sizes.
 */
export function pairSeparability(
  codes: PointsInput,
  labels: LabelsInput,
  a: number,
  b: number,
  options: PairSeparabilityOptions = {},
): PairSeparability {
  const { k = 5, folds = 5, iterations = 500, seed = 0 } = options;
  checkLabels(labels, "pairSeparability");
  if (a === b) {
    throw new RangeError(`pairSeparability: the two classes must differ, got ${a} twice`);
  }
  const all = toFloat32(codes, "pairSeparability(codes)");
  const dim = inferDim(all, labels.length, "pairSeparability(codes)");
  const picked: number[] = [];
  for (let i = 0; i < labels.length; i++) if (labels[i] === a || labels[i] === b) picked.push(i);
  const n = picked.length;
  const x = new Float32Array(n * dim);
  const y = new Int32Array(n);
  let countA = 0;
  picked.forEach((source, row) => {
    x.set(all.subarray(source * dim, source * dim + dim), row * dim);
    y[row] = labels[source] === a ? 0 : 1;
    if (y[row] === 0) countA++;
  });
  const countB = n - countA;
  if (Math.min(countA, countB) < folds) {
    throw new RangeError(
      `pairSeparability: needs at least ${folds} points of each class (the number of folds), ` +
        `got ${countA} of ${a} and ${countB} of ${b}`,
    );
  }
  // Stratified folds: shuffle each class with the seed and deal its points round-robin.
  const fold = new Int32Array(n);
  for (const cls of [0, 1]) {
    const members = picked.map((_, row) => row).filter((row) => y[row] === cls);
    const order = shuffledIndices(members.length, seed + cls);
    order.forEach((position, rank) => (fold[members[position]] = rank % folds));
  }
  let correct = 0;
  for (let f = 0; f < folds; f++) {
    const train: number[] = [];
    const test: number[] = [];
    for (let row = 0; row < n; row++) (fold[row] === f ? test : train).push(row);
    const model = fitLogistic(x, y, dim, train, iterations);
    for (const row of test) if (predictLogistic(model, x, dim, row) === y[row]) correct++;
  }
  const knn = knnAccuracyLoo(x, y, Math.min(k, n - 1));
  return { linear: correct / n, knn, countA, countB };
}

interface LogisticModel {
  mean: Float64Array;
  scale: Float64Array;
  weights: Float64Array; // dim weights then the bias
}

function fitLogistic(
  x: Float32Array,
  y: Int32Array,
  dim: number,
  rows: number[],
  iterations: number,
): LogisticModel {
  const mean = new Float64Array(dim);
  const scale = new Float64Array(dim);
  for (const row of rows) for (let c = 0; c < dim; c++) mean[c] += x[row * dim + c];
  for (let c = 0; c < dim; c++) mean[c] /= rows.length;
  for (const row of rows) {
    for (let c = 0; c < dim; c++) scale[c] += (x[row * dim + c] - mean[c]) ** 2;
  }
  for (let c = 0; c < dim; c++) scale[c] = Math.sqrt(scale[c] / rows.length) || 1;
  const weights = new Float64Array(dim + 1);
  const gradient = new Float64Array(dim + 1);
  const features = new Float64Array(dim);
  const learningRate = 1;
  const l2 = 1e-4; // keeps the weights finite when the classes separate perfectly
  for (let step = 0; step < iterations; step++) {
    gradient.fill(0);
    for (const row of rows) {
      let z = weights[dim];
      for (let c = 0; c < dim; c++) {
        features[c] = (x[row * dim + c] - mean[c]) / scale[c];
        z += weights[c] * features[c];
      }
      const error = 1 / (1 + Math.exp(-z)) - y[row];
      for (let c = 0; c < dim; c++) gradient[c] += error * features[c];
      gradient[dim] += error;
    }
    for (let c = 0; c <= dim; c++) {
      const penalty = c < dim ? l2 * weights[c] : 0;
      weights[c] -= learningRate * (gradient[c] / rows.length + penalty);
    }
  }
  return { mean, scale, weights };
}

function predictLogistic(model: LogisticModel, x: Float32Array, dim: number, row: number): number {
  let z = model.weights[dim];
  for (let c = 0; c < dim; c++) {
    z += model.weights[c] * (x[row * dim + c] - model.mean[c]) / model.scale[c];
  }
  return z > 0 ? 1 : 0;
}

/**
 * Checkerboard score of each image: the share of the image's non-constant spectral energy that
 * sits at the Nyquist frequencies of its 2-D DFT, i.e. on the row `ky = h/2` or the column
 * `kx = w/2` (patterns that flip sign from one pixel to the next, the signature of stride-2
 * transposed-convolution artefacts). Computed exactly through Parseval's identity without an FFT:
 * energy at `kx = w/2` summed over all `ky` is `h * sum_y (sum_x (-1)^x p[y][x])^2`, likewise for
 * `ky = h/2`, minus the corner counted twice; the non-constant energy is
 * `h w sum p^2 - (sum p)^2`. A pure checkerboard scores 1, white noise about `(h + w - 1)/(h w)`
 * (0.07 at 28 x 28), a smooth blob close to 0. Constant images score 0.
 *
 * @param images Row-major `n x h x w` values (one channel).
 * @param n Number of images.
 * @param h Image height, even (default 28).
 * @param w Image width, even (default 28).
 * @returns `Float64Array` of `n` scores in [0, 1].
 */
export function checkerboardScores(images: PointsInput, n: number, h = 28, w = 28): Float64Array {
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 2 || w < 2 || h % 2 || w % 2) {
    throw new RangeError(
      `checkerboardScores: h and w must be even integers >= 2 (a Nyquist frequency exists only ` +
        `for even sizes), got h=${h}, w=${w}`,
    );
  }
  const pixels = toFloat32(images, "checkerboardScores(images)");
  const size = inferDim(pixels, n, "checkerboardScores(images)");
  if (size !== h * w) {
    throw new RangeError(`checkerboardScores: each image has ${size} values, expected ${h} x ${w}`);
  }
  const scores = new Float64Array(n);
  const alternatingByColumn = new Float64Array(w); // sum_y (-1)^y p[y][x], per x
  for (let i = 0; i < n; i++) {
    const base = i * size;
    alternatingByColumn.fill(0);
    let sum = 0, sumSquares = 0, energyX = 0, corner = 0;
    for (let yy = 0; yy < h; yy++) {
      const signY = yy % 2 === 0 ? 1 : -1;
      let alternatingRow = 0; // sum_x (-1)^x p[y][x]
      for (let xx = 0; xx < w; xx++) {
        const v = pixels[base + yy * w + xx];
        sum += v;
        sumSquares += v * v;
        const signed = xx % 2 === 0 ? v : -v;
        alternatingRow += signed;
        alternatingByColumn[xx] += signY * v;
      }
      energyX += alternatingRow * alternatingRow;
      corner += signY * alternatingRow;
    }
    let energyY = 0;
    for (let xx = 0; xx < w; xx++) energyY += alternatingByColumn[xx] * alternatingByColumn[xx];
    const nyquist = h * energyX + w * energyY - corner * corner;
    const nonConstant = h * w * sumSquares - sum * sum;
    scores[i] = nonConstant > 1e-12 * h * w * sumSquares && nonConstant > 0
      ? Math.min(1, Math.max(0, nyquist / nonConstant))
      : 0;
  }
  return scores;
}

/**
 * Mean checkerboard score of a set of images (see {@link checkerboardScores} for the definition).
 *
 * @param images Row-major `n x h x w` values (one channel).
 * @param n Number of images.
 * @param h Image height, even (default 28).
 * @param w Image width, even (default 28).
 * @returns Mean score in [0, 1]; higher means more pixel-to-pixel alternation.
 */
export function checkerboardScore(images: PointsInput, n: number, h = 28, w = 28): number {
  const scores = checkerboardScores(images, n, h, w);
  let total = 0;
  for (const s of scores) total += s;
  return total / n;
}

/** One row of {@link classBalance}. */
export interface ClassBalanceRow {
  /** The digit (label value). */
  digit: number;
  /** How many labels equal `digit`. */
  count: number;
  /** `count` / number of all labels. */
  shareOfAll: number;
  /** `count` / number of labels among the selected digits. */
  shareOfSelection: number;
}

/**
 * Counts and shares of selected digits, e.g. to check in E4 that 0 and 1 are not simply more
 * frequent than 2 or 6.
 *
 * @param labels Label of every sample.
 * @param digits Digits to report, in this order (default 0..9).
 * @returns One row per digit.
 */
export function classBalance(
  labels: LabelsInput,
  digits: number[] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
): ClassBalanceRow[] {
  checkLabels(labels, "classBalance");
  if (labels.length === 0) throw new RangeError("classBalance: labels are empty");
  if (digits.length === 0 || new Set(digits).size !== digits.length) {
    throw new RangeError(`classBalance: digits must be non-empty and distinct, got [${digits}]`);
  }
  const counts = new Map<number, number>(digits.map((d) => [d, 0]));
  for (let i = 0; i < labels.length; i++) {
    const current = counts.get(labels[i]);
    if (current !== undefined) counts.set(labels[i], current + 1);
  }
  let selected = 0;
  for (const c of counts.values()) selected += c;
  return digits.map((digit) => {
    const count = counts.get(digit) as number;
    return {
      digit,
      count,
      shareOfAll: count / labels.length,
      shareOfSelection: selected > 0 ? count / selected : NaN,
    };
  });
}
