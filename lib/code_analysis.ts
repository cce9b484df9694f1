/**
 * How 2-D codes and reconstructions of digits can be judged with numbers (write-up 003's
 * claims): where codes sit in the plane ({@link codeGeometry}), which digits a nearest-mean
 * classifier confuses ({@link pairConfusion}, {@link digitMeans}, {@link nearestMean}) and how
 * often each digit is recognised ({@link recallPerDigit}).
 *
 * @module
 */

/** How 2-D codes sit in the plane. */
export interface CodeGeometry {
  /** Number of codes. */
  count: number;
  /** Share of codes with both coordinates >= 0 (the first quadrant, axes included). */
  firstQuadrant: number;
  /** Share of codes in each quadrant [I, II, III, IV] (points on an axis go to the >= side). */
  quadrants: [number, number, number, number];
  /** Code dimensions that are exactly 0 for every input (dead ReLU units). */
  deadUnits: number;
  /** Share of codes with at least one coordinate exactly 0. */
  onAxis: number;
  /**
   * How many of the 36 ten-degree directions around the origin hold at least 0.5% of the codes
   * (codes at the origin itself have no direction and are left out): a scale-free spread.
   */
  directions: number;
  /** Standard deviation of each coordinate. */
  std: [number, number];
}

/**
 * Geometry of 2-D codes (see {@link CodeGeometry}).
 *
 * @param codes Row-major `n x 2` codes.
 * @returns Shares, dead units and spread.
 */
export function codeGeometry(codes: Float32Array): CodeGeometry {
  if (codes.length === 0 || codes.length % 2 !== 0) {
    throw new RangeError(`codeGeometry: expected n x 2 codes, got ${codes.length} values`);
  }
  const n = codes.length / 2;
  const quadrants: [number, number, number, number] = [0, 0, 0, 0];
  const sectors = new Array<number>(36).fill(0);
  let onAxis = 0;
  let directed = 0;
  const nonZero = [false, false];
  const sum = [0, 0];
  const sumSq = [0, 0];
  for (let i = 0; i < n; i++) {
    const x = codes[2 * i];
    const y = codes[2 * i + 1];
    quadrants[x >= 0 ? (y >= 0 ? 0 : 3) : (y >= 0 ? 1 : 2)]++;
    if (x === 0 || y === 0) onAxis++;
    if (x !== 0) nonZero[0] = true;
    if (y !== 0) nonZero[1] = true;
    sum[0] += x;
    sum[1] += y;
    sumSq[0] += x * x;
    sumSq[1] += y * y;
    if (x !== 0 || y !== 0) {
      const degrees = (Math.atan2(y, x) * 180) / Math.PI;
      sectors[Math.floor((degrees + 360) / 10) % 36]++;
      directed++;
    }
  }
  const std = [0, 1].map((k) => Math.sqrt(Math.max(0, sumSq[k] / n - (sum[k] / n) ** 2))) as [
    number,
    number,
  ];
  return {
    count: n,
    firstQuadrant: quadrants[0] / n,
    quadrants: quadrants.map((q) => q / n) as [number, number, number, number],
    deadUnits: nonZero.filter((alive) => !alive).length,
    onAxis: onAxis / n,
    directions: directed === 0 ? 0 : sectors.filter((c) => c >= 0.005 * directed).length,
    std,
  };
}

/**
 * Symmetric confusion rate of every digit pair from predictions: for digits a < b,
 * `(P(pred b | a) + P(pred a | b)) / 2`.
 *
 * @param truth True labels 0..9.
 * @param predicted Predicted labels 0..9.
 * @returns 45 pairs sorted by decreasing rate.
 */
export function pairConfusion(
  truth: ArrayLike<number>,
  predicted: ArrayLike<number>,
): { a: number; b: number; rate: number }[] {
  if (truth.length !== predicted.length || truth.length === 0) {
    throw new RangeError(
      `pairConfusion: ${truth.length} labels and ${predicted.length} predictions; expected the same, > 0`,
    );
  }
  const counts = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
  const totals = new Array<number>(10).fill(0);
  for (let i = 0; i < truth.length; i++) {
    counts[truth[i]][predicted[i]]++;
    totals[truth[i]]++;
  }
  const p = (a: number, b: number) => (totals[a] > 0 ? counts[a][b] / totals[a] : 0);
  const pairs: { a: number; b: number; rate: number }[] = [];
  for (let a = 0; a < 10; a++) {
    for (let b = a + 1; b < 10; b++) pairs.push({ a, b, rate: (p(a, b) + p(b, a)) / 2 });
  }
  return pairs.sort((x, y) => y.rate - x.rate || x.a - y.a || x.b - y.b);
}

/**
 * Mean image of each digit (the centroids of a nearest-mean classifier).
 *
 * @param pixels Row-major `n x 784` images.
 * @param labels Digit of each image (0..9).
 * @returns `10 x 784` row-major means; a digit without images gets an all-NaN row.
 */
export function digitMeans(pixels: Float32Array, labels: ArrayLike<number>): Float64Array {
  const dim = 784;
  if (pixels.length !== labels.length * dim) {
    throw new RangeError(
      `digitMeans: ${labels.length} labels need ${
        labels.length * dim
      } pixels, got ${pixels.length}`,
    );
  }
  const sums = new Float64Array(10 * dim);
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const d = labels[i];
    if (!Number.isInteger(d) || d < 0 || d > 9) {
      throw new RangeError(`digitMeans: labels must be digits 0..9, labels[${i}] = ${d}`);
    }
    counts[d]++;
    for (let p = 0; p < dim; p++) sums[d * dim + p] += pixels[i * dim + p];
  }
  for (let d = 0; d < 10; d++) {
    for (let p = 0; p < dim; p++) sums[d * dim + p] /= counts[d];
  }
  return sums;
}

/**
 * Nearest-mean classification: each image gets the digit whose mean image is closest
 * (Euclidean). Used to ask whether a reconstruction still looks like its digit.
 *
 * @param means `10 x 784` from {@link digitMeans}.
 * @param pixels Row-major `n x 784` images.
 * @returns The predicted digit of each image.
 */
export function nearestMean(means: Float64Array, pixels: Float32Array): Int32Array {
  const dim = 784;
  if (means.length !== 10 * dim || pixels.length % dim !== 0) {
    throw new RangeError(
      `nearestMean: expected 10 x 784 means and n x 784 pixels, got ${means.length} and ${pixels.length}`,
    );
  }
  const n = pixels.length / dim;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = -1;
    let bestDistance = Infinity;
    for (let d = 0; d < 10; d++) {
      let distance = 0;
      for (let p = 0; p < dim; p++) {
        const e = pixels[i * dim + p] - means[d * dim + p];
        distance += e * e;
      }
      if (distance < bestDistance) {
        bestDistance = distance;
        best = d;
      }
    }
    out[i] = best;
  }
  return out;
}

/**
 * Share of each digit's images predicted as that digit.
 *
 * @param truth True labels 0..9.
 * @param predicted Predicted labels.
 * @returns 10 shares (NaN for a digit without images).
 */
export function recallPerDigit(truth: ArrayLike<number>, predicted: ArrayLike<number>): number[] {
  const hit = new Array<number>(10).fill(0);
  const total = new Array<number>(10).fill(0);
  for (let i = 0; i < truth.length; i++) {
    total[truth[i]]++;
    if (predicted[i] === truth[i]) hit[truth[i]]++;
  }
  return hit.map((h, d) => (total[d] > 0 ? h / total[d] : NaN));
}

/**
 * Share of predictions equal to the truth.
 *
 * @param truth True labels.
 * @param predicted Predicted labels (same length).
 */
export function accuracy(truth: ArrayLike<number>, predicted: ArrayLike<number>): number {
  let correct = 0;
  for (let i = 0; i < truth.length; i++) if (truth[i] === predicted[i]) correct++;
  return correct / truth.length;
}
