/**
 * Small seeded random numbers for everything the library must make reproducible (data splits,
 * sample picks, the Kaggle CSV permutation). `Math.random` cannot be seeded, and tfjs's own
 * generators only produce tensors, so plain-number code uses these instead.
 *
 * @module
 */

function checkSeed(seed: number, what: string): void {
  if (!Number.isInteger(seed)) {
    throw new RangeError(`${what}: seed must be an integer, got ${seed}`);
  }
}

/**
 * Mulberry32: a tiny 32-bit seeded generator (good enough for shuffling and sampling, not for
 * cryptography). The same seed always yields the same sequence, on every platform.
 *
 * @param seed Any integer; it is reduced to 32 bits.
 * @returns A function returning the next number in [0, 1) each call.
 */
export function mulberry32(seed: number): () => number {
  checkSeed(seed, "mulberry32");
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A seeded random permutation of `0..n-1` (Fisher-Yates driven by {@link mulberry32}).
 *
 * @param n How many indices; a non-negative integer.
 * @param seed Integer seed; the same `(n, seed)` always gives the same permutation.
 * @returns The permutation as an `Int32Array` of length `n`.
 */
export function shuffledIndices(n: number, seed: number): Int32Array {
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`shuffledIndices: n must be a non-negative integer, got ${n}`);
  }
  checkSeed(seed, "shuffledIndices");
  const random = mulberry32(seed);
  const indices = new Int32Array(n);
  for (let i = 0; i < n; i++) indices[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = indices[i];
    indices[i] = indices[j];
    indices[j] = tmp;
  }
  return indices;
}
