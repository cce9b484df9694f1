/**
 * What a set of 8-bit images is before any model touches it: pixel statistics with a histogram
 * ({@link pixelStatistics}), and the lowest loss a sigmoid decoder can reach on targets scaled
 * one way or the other ({@link sigmoidOutputFloor}: write-up 001's centered targets).
 *
 * @module
 */
import { MNIST_PIXELS, type Normalization } from "./mnist.ts";

/** Pixel-intensity statistics of a set of 8-bit images. */
export interface PixelStatistics {
  /** Number of images. */
  images: number;
  /** Smallest and largest byte value. */
  min: number;
  /** Largest byte value. */
  max: number;
  /** Mean of x/255. */
  mean: number;
  /** Standard deviation of x/255 (population). */
  std: number;
  /** Fraction of pixels that are exactly 0 (background). */
  zeroFraction: number;
  /** Fraction of pixels that are exactly 255. */
  fullFraction: number;
  /** Fraction of pixels >= 128 (clearly ink). */
  inkFraction: number;
  /** Mean number of non-zero pixels per image (out of 784). */
  nonZeroPerImage: number;
  /** Fraction of pixels per histogram bin (sums to 1). */
  histogram: number[];
  /** Lower edge of each bin in byte values (bin i covers [edges[i], edges[i+1])). */
  binEdges: number[];
}

/**
 * Pixel statistics of row-major 8-bit images.
 *
 * @param pixels Bytes 0..255, 784 per image.
 * @param bins Histogram bins over 0..255, an integer in 2..256.
 * @returns Exact statistics (mean/std in units of x/255).
 */
export function pixelStatistics(pixels: Uint8Array, bins: number): PixelStatistics {
  if (!Number.isInteger(bins) || bins < 2 || bins > 256) {
    throw new RangeError(`pixelStatistics: bins must be an integer in 2..256, got ${bins}`);
  }
  if (pixels.length === 0 || pixels.length % MNIST_PIXELS !== 0) {
    throw new RangeError(
      `pixelStatistics: expected a non-empty multiple of 784 bytes, got ${pixels.length}`,
    );
  }
  const byValue = new Float64Array(256);
  for (let i = 0; i < pixels.length; i++) byValue[pixels[i]]++;
  const n = pixels.length;
  let sum = 0;
  let sumSq = 0;
  let min = 255;
  let max = 0;
  for (let v = 0; v < 256; v++) {
    const c = byValue[v];
    if (c === 0) continue;
    sum += c * v;
    sumSq += c * v * v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const mean = sum / n / 255;
  const variance = Math.max(0, sumSq / n / (255 * 255) - mean * mean);
  let ink = 0;
  for (let v = 128; v < 256; v++) ink += byValue[v];
  const histogram = new Array<number>(bins).fill(0);
  for (let v = 0; v < 256; v++) histogram[Math.floor((v * bins) / 256)] += byValue[v] / n;
  const binEdges = Array.from({ length: bins + 1 }, (_, i) => (i * 256) / bins);
  const images = n / MNIST_PIXELS;
  return {
    images,
    min,
    max,
    mean,
    std: Math.sqrt(variance),
    zeroFraction: byValue[0] / n,
    fullFraction: byValue[255] / n,
    inkFraction: ink / n,
    nonZeroPerImage: (n - byValue[0]) / images,
    histogram,
    binEdges,
  };
}

/**
 * The lowest MSE any decoder with outputs in [0, 1] (a sigmoid) can reach against the targets of a
 * normalisation: the best output for a target t is t clipped to [0, 1], so the floor is the mean
 * of (t - clip(t, 0, 1))^2. For `unit` targets (x/255) this is 0; for write-up 001's `centered`
 * targets (x/255 - 0.5) every pixel darker than 127.5 costs (0.5 - x/255)^2 whatever the model.
 *
 * @param pixels Bytes 0..255 (any number of pixels).
 * @param normalization How targets are scaled.
 * @returns The floor, in the same units as the write-up's loss (mean over pixels).
 */
export function sigmoidOutputFloor(pixels: Uint8Array, normalization: Normalization): number {
  if (normalization !== "unit" && normalization !== "centered") {
    throw new RangeError(
      `sigmoidOutputFloor: normalization must be "unit" or "centered", got ${normalization}`,
    );
  }
  if (pixels.length === 0) throw new RangeError("sigmoidOutputFloor: no pixels");
  const shift = normalization === "centered" ? 0.5 : 0;
  const byValue = new Float64Array(256);
  for (let i = 0; i < pixels.length; i++) byValue[pixels[i]]++;
  let sum = 0;
  for (let v = 0; v < 256; v++) {
    const t = v / 255 - shift;
    const clipped = Math.min(1, Math.max(0, t));
    sum += byValue[v] * (t - clipped) ** 2;
  }
  return sum / pixels.length;
}
