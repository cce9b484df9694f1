/**
 * Noisy copies of images for denoising autoencoders (write-up 004): seeded Gaussian noise,
 * clipped back to the pixel range.
 *
 * @module
 */
import { mulberry32 } from "../random.ts";

/**
 * Adds Gaussian noise and clips to [0, 1]: `clip(x + std * N(0, 1), 0, 1)`, with normal numbers
 * from a seeded Box-Muller transform, so the same seed gives the same noisy images everywhere.
 *
 * @param clean Pixel values (any length), normally in [0, 1].
 * @param std Noise standard deviation, >= 0.
 * @param seed Integer seed.
 * @returns A new array of the noisy, clipped values.
 * @throws RangeError for a negative or non-finite `std` or a non-integer seed.
 */
export function addClippedGaussianNoise(
  clean: Float32Array,
  std: number,
  seed: number,
): Float32Array {
  if (!(std >= 0) || !Number.isFinite(std)) {
    throw new RangeError(`addClippedGaussianNoise: std must be a finite number >= 0, got ${std}`);
  }
  const random = mulberry32(seed);
  const out = new Float32Array(clean.length);
  for (let i = 0; i < clean.length; i += 2) {
    // Box-Muller: two independent N(0, 1) numbers from two uniforms (1 - u avoids log(0)).
    const r = Math.sqrt(-2 * Math.log(1 - random()));
    const angle = 2 * Math.PI * random();
    out[i] = Math.min(1, Math.max(0, clean[i] + std * r * Math.cos(angle)));
    if (i + 1 < clean.length) {
      out[i + 1] = Math.min(1, Math.max(0, clean[i + 1] + std * r * Math.sin(angle)));
    }
  }
  return out;
}
