/**
 * `MaxPoolGrad` for the wasm backend, in JavaScript on the wasm heap. It replaces the wasm
 * package's C++ kernel, which drops the gradient of every window whose maximum is negative
 * (measured: tfjs-backend-wasm 4.22.0), something that happens whenever max pooling is not
 * preceded by a ReLU.
 *
 * Semantics are those of the cpu backend: each output gradient goes to the first position (in
 * row-major window order) holding the window's maximum; padded positions never win.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { assertFloat4D, heapF32, WASM, type WasmBackend } from "./wasm_backend.ts";

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
