/**
 * How 2-D codes and reconstructions of digits can be judged with numbers (write-up 003's
 * claims): where codes sit in the plane ({@link codeGeometry}), which digits a nearest-mean
 * classifier confuses ({@link pairConfusion}, {@link digitMeans}, {@link nearestMean}) and how
 * often each digit is recognised ({@link recallPerDigit}, {@link recognitionScores}), plus small
 * stroke shapes of reconstructions ({@link horizontalSpread}, {@link closedLoops}) and
 * where digit centroids lie in an embedding ({@link centroidGeometry}) and helpers for sweeps ({@link nonIncreasing}, {@link digitsByDecreasing}, {@link pickRows}).
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

/** Rows `indices` of a row-major `n x dim` array, concatenated. */
export function pickRows(values: Float32Array, dim: number, indices: number[]): Float32Array {
  const out = new Float32Array(indices.length * dim);
  indices.forEach((row, k) => out.set(values.subarray(row * dim, (row + 1) * dim), k * dim));
  return out;
}

/** How recognisable each digit is to a classifier: recall, precision and their F1 per digit. */
export interface RecognitionScores {
  /** Share of each digit's items labelled as that digit (NaN without items). */
  recall: number[];
  /** Share of the items labelled as a digit that are that digit (NaN when none is). */
  precision: number[];
  /**
   * Harmonic mean of recall and precision (0 when both are 0 or one is NaN): high only when the
   * digit's items are labelled as it AND other digits' items are not, so a classifier that
   * labels every blurred reconstruction "9" does not make 9 recognisable.
   */
  f1: number[];
}

/**
 * Per-digit recall, precision and F1 of predicted labels.
 *
 * @param truth True digits 0..9.
 * @param predicted Predicted digits 0..9 (same length).
 */
export function recognitionScores(
  truth: ArrayLike<number>,
  predicted: ArrayLike<number>,
): RecognitionScores {
  if (truth.length !== predicted.length) {
    throw new RangeError(
      `recognitionScores: ${truth.length} labels but ${predicted.length} predictions`,
    );
  }
  const hit = new Array<number>(10).fill(0);
  const total = new Array<number>(10).fill(0);
  const labelled = new Array<number>(10).fill(0);
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i];
    const p = predicted[i];
    if (!Number.isInteger(t) || t < 0 || t > 9 || !Number.isInteger(p) || p < 0 || p > 9) {
      throw new RangeError(
        `recognitionScores: labels must be digits 0..9, got truth ${t} / predicted ${p} at ${i}`,
      );
    }
    total[t]++;
    labelled[p]++;
    if (p === t) hit[t]++;
  }
  const recall = hit.map((h, d) => (total[d] > 0 ? h / total[d] : NaN));
  const precision = hit.map((h, d) => (labelled[d] > 0 ? h / labelled[d] : NaN));
  const f1 = recall.map((r, d) => {
    const p = precision[d];
    return Number.isNaN(r) || Number.isNaN(p) || r + p === 0 ? 0 : (2 * r * p) / (r + p);
  });
  return { recall, precision, f1 };
}

/**
 * Whether a sequence does not rise by more than `tolerance` (relative) from one value to the
 * next: `values[i + 1] <= values[i] * (1 + tolerance)` for every i.
 */
export function nonIncreasing(values: number[], tolerance = 0): boolean {
  for (let i = 1; i < values.length; i++) {
    if (!(values[i] <= values[i - 1] * (1 + tolerance))) return false;
  }
  return true;
}

/** Digits sorted by decreasing value (ties by smaller digit); NaN values go last. */
export function digitsByDecreasing(values: number[]): number[] {
  const key = (v: number) => (Number.isNaN(v) ? -Infinity : v);
  return values.map((_, d) => d).sort((a, b) => key(values[b]) - key(values[a]) || a - b);
}

/**
 * Horizontal spread of each image's ink: the standard deviation of the column index of its ink
 * pixels (value >= `inkLevel`, default half intensity), in pixels. Thresholding keeps the faint
 * haze of a blurred reconstruction from counting as ink. A vertical stroke scores ~0-1, a wide
 * round 0 ~4-5; an image without ink scores NaN.
 *
 * @param images Row-major `n x 784` images (28 x 28), values in [0, 1].
 * @param inkLevel Smallest value that counts as ink.
 * @returns One spread per image.
 */
export function horizontalSpread(images: Float32Array, inkLevel = 0.5): Float64Array {
  if (images.length % 784 !== 0) {
    throw new RangeError(
      `horizontalSpread: expected n x 784 values (28 x 28 images), got ${images.length}`,
    );
  }
  if (!(inkLevel > 0 && inkLevel <= 1)) {
    throw new RangeError(`horizontalSpread: inkLevel must be in (0, 1], got ${inkLevel}`);
  }
  const n = images.length / 784;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let count = 0;
    let first = 0;
    let second = 0;
    for (let p = 0; p < 784; p++) {
      if (images[i * 784 + p] >= inkLevel) {
        const x = p % 28;
        count++;
        first += x;
        second += x * x;
      }
    }
    if (count === 0) {
      out[i] = NaN;
      continue;
    }
    const mean = first / count;
    out[i] = Math.sqrt(Math.max(0, second / count - mean * mean));
  }
  return out;
}

/**
 * Whether each image draws a closed loop: some background (value < `inkLevel`) that cannot be
 * reached from the border without crossing ink (background 4-connected, so ink touching
 * diagonally closes a loop), at least `minHole` pixels of it. 0, 6, 8, 9 have loops; a straight
 * stroke has none.
 *
 * @param images Row-major `n x 784` images (28 x 28), values in [0, 1].
 * @param inkLevel Smallest value that counts as ink (default half intensity).
 * @param minHole Fewest enclosed pixels that count as a loop (default 2; one dark pixel inside
 *   a thick blurred stroke is not a loop).
 * @returns 1 for an image with a loop, 0 without.
 */
export function closedLoops(images: Float32Array, inkLevel = 0.5, minHole = 2): Uint8Array {
  if (images.length % 784 !== 0) {
    throw new RangeError(
      `closedLoops: expected n x 784 values (28 x 28 images), got ${images.length}`,
    );
  }
  if (!(inkLevel > 0 && inkLevel <= 1) || !Number.isInteger(minHole) || minHole < 1) {
    throw new RangeError(
      `closedLoops: inkLevel must be in (0, 1] and minHole an integer >= 1, got ${inkLevel}, ` +
        `${minHole}`,
    );
  }
  const n = images.length / 784;
  const out = new Uint8Array(n);
  const reached = new Uint8Array(784);
  const stack = new Int32Array(784);
  for (let i = 0; i < n; i++) {
    const base = i * 784;
    const background = (p: number) => images[base + p] < inkLevel;
    reached.fill(0);
    let top = 0;
    for (let k = 0; k < 28; k++) {
      for (const p of [k, 27 * 28 + k, k * 28, k * 28 + 27]) {
        if (!reached[p] && background(p)) {
          reached[p] = 1;
          stack[top++] = p;
        }
      }
    }
    while (top > 0) {
      const p = stack[--top];
      const x = p % 28;
      const neighbours = [p - 28, p + 28, x > 0 ? p - 1 : -1, x < 27 ? p + 1 : -1];
      for (const q of neighbours) {
        if (q >= 0 && q < 784 && !reached[q] && background(q)) {
          reached[q] = 1;
          stack[top++] = q;
        }
      }
    }
    let enclosed = 0;
    for (let p = 0; p < 784; p++) if (!reached[p] && background(p)) enclosed++;
    out[i] = enclosed >= minHole ? 1 : 0;
  }
  return out;
}

/**
 * For each column of a rows x columns matrix, the row holding its minimum (ties: first row).
 */
export function argminPerColumn(matrix: number[][]): number[] {
  if (matrix.length === 0) throw new RangeError("argminPerColumn: the matrix has no rows");
  return matrix[0].map((_, c) => {
    let best = 0;
    for (let r = 1; r < matrix.length; r++) if (matrix[r][c] < matrix[best][c]) best = r;
    return best;
  });
}

/** Quality numbers of one embedding of the test images. */
export interface EmbeddingQuality {
  /** What was embedded and how, e.g. "t-SNE of AE embedding". */
  embedding: string;
  /** Dimension of the embedding. */
  dim: number;
  /** Leave-one-out k-NN accuracy by digit. */
  knnLoo: number;
  /** Trustworthiness against the raw pixels. */
  trustPixels: number;
  /** Silhouette score with the digit labels as clusters. */
  silhouette: number;
}

/** Where the digit centroids of an embedding lie relative to each other. */
export interface CentroidGeometry {
  /** Mean point of each digit 0..9 (row-major 10 x dim). */
  centroids: number[][];
  /** Distance between the 0 and 6 centroids. */
  d06: number;
  /** Median of the 45 distances between digit centroids. */
  medianPairDistance: number;
  /** Rank of the 0-6 distance among the 45 (1 = the closest pair). */
  d06Rank: number;
  /** Digits other than 0 and 6 ordered by distance from the 0/6 midpoint, farthest first. */
  farthestFrom06: number[];
  /**
   * Digits ordered along the main axis of the centroids (their first principal direction); the
   * direction's sign is chosen so that the 0/6 midpoint projects to the positive side.
   */
  axisOrder: number[];
}

/**
 * Centroid geometry of points grouped by digit: how close 0 and 6 are and which digit is
 * farthest from them (write-up 000: "0 and 6 at one end, 1 at the other").
 *
 * @param points Row-major `n x dim`.
 * @param labels Digit of each point (every digit 0..9 must occur).
 * @param dim Row length.
 * @returns The geometry.
 * @throws RangeError when a digit is missing or the sizes do not fit.
 */
export function centroidGeometry(
  points: ArrayLike<number>,
  labels: ArrayLike<number>,
  dim: number,
): CentroidGeometry {
  const n = labels.length;
  if (!Number.isInteger(dim) || dim < 1 || points.length !== n * dim) {
    throw new RangeError(
      `centroidGeometry: expected ${n} labels x dim ${dim} = ${n * dim} values, got ` +
        `${points.length}`,
    );
  }
  const sums = Array.from({ length: 10 }, () => new Float64Array(dim));
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < n; i++) {
    const d = labels[i];
    if (!Number.isInteger(d) || d < 0 || d > 9) {
      throw new RangeError(`centroidGeometry: labels must be digits 0..9, labels[${i}] = ${d}`);
    }
    counts[d]++;
    for (let c = 0; c < dim; c++) sums[d][c] += points[i * dim + c];
  }
  const missing = counts.flatMap((c, d) => (c === 0 ? [d] : []));
  if (missing.length > 0) {
    throw new RangeError(`centroidGeometry: no points of digit(s) ${missing.join(", ")}`);
  }
  const centroids = sums.map((s, d) => Array.from(s, (v) => v / counts[d]));
  const dist = (a: number[], b: number[]) =>
    Math.sqrt(a.reduce((s, v, c) => s + (v - b[c]) ** 2, 0));
  const pairs: { a: number; b: number; d: number }[] = [];
  for (let a = 0; a < 10; a++) {
    for (let b = a + 1; b < 10; b++) pairs.push({ a, b, d: dist(centroids[a], centroids[b]) });
  }
  const sorted = pairs.map((p) => p.d).sort((x, y) => x - y);
  const medianPairDistance = sorted[22]; // the middle one of 45
  const d06 = dist(centroids[0], centroids[6]);
  const d06Rank = sorted.filter((d) => d < d06).length + 1;
  const mid = centroids[0].map((v, c) => (v + centroids[6][c]) / 2);
  const others = [1, 2, 3, 4, 5, 7, 8, 9];
  const farthestFrom06 = others.map((d) => ({ d, r: dist(centroids[d], mid) }))
    .sort((x, y) => y.r - x.r).map((o) => o.d);
  // Main axis of the 10 centroids by power iteration on their (dim x dim) scatter matrix.
  const mean = new Array<number>(dim).fill(0);
  for (const c of centroids) for (let k = 0; k < dim; k++) mean[k] += c[k] / 10;
  const centred = centroids.map((c) => c.map((v, k) => v - mean[k]));
  const norm2 = (v: number[]) => v.reduce((s, x) => s + x * x, 0);
  // Start from the centroid farthest from the mean: never orthogonal to the main axis.
  let axis = centred.reduce((best, c) => (norm2(c) > norm2(best) ? c : best)).slice();
  for (let it = 0; it < 200; it++) {
    const next = new Array<number>(dim).fill(0);
    for (const c of centred) {
      const dot = c.reduce((s, v, k) => s + v * axis[k], 0);
      for (let k = 0; k < dim; k++) next[k] += dot * c[k];
    }
    const norm = Math.sqrt(norm2(next));
    if (norm === 0) break;
    axis = next.map((v) => v / norm);
  }
  const project = (c: number[]) => c.reduce((s, v, k) => s + (v - mean[k]) * axis[k], 0);
  const sign = project(mid) < 0 ? -1 : 1;
  const axisOrder = centroids.map((c, d) => ({ d, p: sign * project(c) }))
    .sort((x, y) => x.p - y.p).map((o) => o.d);
  return { centroids, d06, medianPairDistance, d06Rank, farthestFrom06, axisOrder };
}
