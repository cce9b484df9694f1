/**
 * Which implementation the wasm training kernels use: `"fast"` (sub-pixel stride-2
 * Conv2DBackpropInput, im2col + XNNPACK-matmul Conv2DBackpropFilter, tight MaxPoolGrad; the
 * default) or `"baseline"` (the first versions: zero-dilated backprop-input, filter gradient as a
 * dilated XNNPACK convolution, generic MaxPoolGrad loop). Both are exact; the switch exists so a
 * benchmark can alternate them in one run (`lib/bench/bench_variants.ts`) and the tests can
 * check both against the cpu backend.
 *
 * @module
 */

/** An implementation family of the wasm training kernels. */
export type KernelVariant = "fast" | "baseline";

let current: KernelVariant = "fast";

/**
 * Selects the implementation of the wasm training kernels from now on.
 *
 * @param variant `"fast"` (default) or `"baseline"`.
 * @throws RangeError for any other value.
 */
export function setKernelVariant(variant: KernelVariant): void {
  if (variant !== "fast" && variant !== "baseline") {
    throw new RangeError(`kernel variant must be "fast" or "baseline", got ${String(variant)}`);
  }
  current = variant;
}

/** The implementation family in use (see {@link setKernelVariant}). */
export function kernelVariant(): KernelVariant {
  return current;
}
