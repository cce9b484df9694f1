/**
 * `MaxPoolGrad` for the wasm backend, in JavaScript on the wasm heap. It replaces the wasm
 * package's C++ kernel, which drops the gradient of every window whose maximum is negative
 * (measured: tfjs-backend-wasm 4.22.0), something that happens whenever max pooling is not
 * preceded by a ReLU.
 *
 * Semantics are those of the cpu backend: each output gradient goes to the first position (in
 * row-major window order) holding the window's maximum; padded positions never win.
 *
 * The `"fast"` variant (default, see `variant.ts`) scans each window per channel with scalar
 * locals (no per-window array fills, no Float64 round trips, no index arrays); the `"baseline"`
 * variant is the first, generic loop.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { kernelVariant } from "./variant.ts";
import { assertFloat4D, heapF32, WASM, type WasmBackend } from "./wasm_backend.ts";

/**
 * dx += the routed dy, tight loops; same routing as the baseline (first maximum in row-major
 * window order, strict `>`, NaN never wins, windows of only padding route nothing).
 */
function routeFast(
  x: Float32Array,
  g: Float32Array,
  dx: Float32Array,
  info: tf.backend_util.Conv2DInfo,
): void {
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth } = info;
  const fh = info.effectiveFilterHeight;
  const fw = info.effectiveFilterWidth;
  const rowStride = inWidth * channels;
  let gAt = 0;
  for (let b = 0; b < batchSize; b++) {
    const xBatch = b * inHeight * rowStride;
    for (let oh = 0; oh < outHeight; oh++) {
      const r0 = oh * info.strideHeight - info.padInfo.top;
      const rMin = Math.max(0, r0);
      const rMax = Math.min(inHeight, r0 + fh);
      for (let ow = 0; ow < outWidth; ow++, gAt += channels) {
        const c0 = ow * info.strideWidth - info.padInfo.left;
        const cMin = Math.max(0, c0);
        const cMax = Math.min(inWidth, c0 + fw);
        if (rMin >= rMax || cMin >= cMax) continue;
        const first = xBatch + rMin * rowStride + cMin * channels;
        if (rMax - rMin === 2 && cMax - cMin === 2) {
          // The usual 2x2 window, unrolled (same order: top-left, top-right, bottom-left, ...).
          for (let d = 0; d < channels; d++) {
            const p0 = first + d;
            const p1 = p0 + channels;
            const p2 = p0 + rowStride;
            const p3 = p2 + channels;
            let best = Number.NEGATIVE_INFINITY;
            let bestAt = -1;
            if (x[p0] > best) (best = x[p0]), (bestAt = p0);
            if (x[p1] > best) (best = x[p1]), (bestAt = p1);
            if (x[p2] > best) (best = x[p2]), (bestAt = p2);
            if (x[p3] > best) bestAt = p3;
            if (bestAt >= 0) dx[bestAt] += g[gAt + d];
          }
          continue;
        }
        for (let d = 0; d < channels; d++) {
          let best = Number.NEGATIVE_INFINITY;
          let bestAt = -1;
          for (let r = rMin, rowAt = first + d; r < rMax; r++, rowAt += rowStride) {
            for (let c = cMin, at = rowAt; c < cMax; c++, at += channels) {
              const v = x[at];
              if (v > best) {
                best = v;
                bestAt = at;
              }
            }
          }
          if (bestAt >= 0) dx[bestAt] += g[gAt + d];
        }
      }
    }
  }
}

function maxPoolGrad(
  args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap },
): tf.TensorInfo {
  const name = "MaxPoolGrad";
  const backend = args.backend as WasmBackend;
  const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const attrs = (args.attrs ?? {}) as unknown as tf.MaxPoolGradAttrs;
  assertFloat4D(name, "input", input);
  assertFloat4D(name, "dy", dy);
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth } = info;
  if (
    dy.shape[0] !== batchSize || dy.shape[1] !== outHeight || dy.shape[2] !== outWidth ||
    dy.shape[3] !== channels
  ) {
    throw new Error(`${name}: dy has shape [${dy.shape}], expected [${info.outShape}]`);
  }
  const out = backend.makeOutput(input.shape, "float32");
  const x = heapF32(backend, input);
  const g = heapF32(backend, dy);
  const dx = heapF32(backend, out);
  dx.fill(0);
  if (kernelVariant() === "fast") {
    routeFast(x, g, dx, info);
    return out;
  }
  const fh = info.effectiveFilterHeight;
  const fw = info.effectiveFilterWidth;
  const best = new Float64Array(channels);
  const bestAt = new Int32Array(channels);
  for (let b = 0; b < batchSize; b++) {
    const xBatch = b * inHeight * inWidth * channels;
    for (let oh = 0; oh < outHeight; oh++) {
      const r0 = oh * info.strideHeight - info.padInfo.top;
      const rMin = Math.max(0, r0);
      const rMax = Math.min(inHeight, r0 + fh);
      for (let ow = 0; ow < outWidth; ow++) {
        const c0 = ow * info.strideWidth - info.padInfo.left;
        const cMin = Math.max(0, c0);
        const cMax = Math.min(inWidth, c0 + fw);
        best.fill(Number.NEGATIVE_INFINITY);
        bestAt.fill(-1);
        for (let r = rMin; r < rMax; r++) {
          for (let c = cMin; c < cMax; c++) {
            const at = xBatch + (r * inWidth + c) * channels;
            for (let d = 0; d < channels; d++) {
              if (x[at + d] > best[d]) {
                best[d] = x[at + d];
                bestAt[d] = at + d;
              }
            }
          }
        }
        const gAt = ((b * outHeight + oh) * outWidth + ow) * channels;
        for (let d = 0; d < channels; d++) {
          if (bestAt[d] >= 0) dx[bestAt[d]] += g[gAt + d];
        }
      }
    }
  }
  return out;
}

/** Kernel config: `MaxPoolGrad` on wasm (JavaScript, cpu-backend semantics). */
export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: "MaxPoolGrad",
  backendName: WASM,
  kernelFunc: maxPoolGrad as unknown as tf.KernelFunc,
};
