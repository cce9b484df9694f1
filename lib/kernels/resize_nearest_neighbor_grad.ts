/**
 * `ResizeNearestNeighborGrad` (what `tf.layers.upSampling2d` trains through) in JavaScript, for
 * the wasm and the cpu backends. In tfjs 4.22.0 the cpu backend's kernel reads dy with the
 * images' batch stride, so every batch entry after the first gets a wrong gradient; both the cpu
 * and the wasm kernels ignore `halfPixelCenters` (measured with the adjoint identity
 * sum(R(x) * dy) = sum(x * R^T(dy))).
 *
 * Each dy pixel is added to the input pixel the forward pass copied it from, using the forward
 * kernel's index rule (alignCorners and halfPixelCenters included), so it is the exact adjoint.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { assertFloat4D, outputFromValues, readF32, WASM } from "./wasm_backend.ts";

/** Source index along one axis for output index `i`, as tfjs' ResizeNearestNeighbor computes it. */
export function nearestSourceIndex(
  i: number,
  inSize: number,
  outSize: number,
  alignCorners: boolean,
  halfPixelCenters: boolean,
): number {
  const aligned = alignCorners && outSize > 1;
  const ratio = (aligned ? inSize - 1 : inSize) / (aligned ? outSize - 1 : outSize);
  const frac = halfPixelCenters ? ratio * (i + 0.5) : ratio * i;
  const nearest = Math.min(inSize - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
  return halfPixelCenters ? Math.max(0, nearest) : nearest;
}

function resizeNearestNeighborGrad(
  args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap },
): tf.TensorInfo {
  const name = "ResizeNearestNeighborGrad";
  const backend = args.backend;
  const { images, dy } = args.inputs as { images: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = (args.attrs ?? {}) as { alignCorners?: boolean; halfPixelCenters?: boolean };
  assertFloat4D(name, "dy", dy);
  if (images.shape.length !== 4) {
    throw new Error(`${name}: images must be 4-D (NHWC), got shape [${images.shape}]`);
  }
  const [batch, inH, inW, channels] = images.shape;
  const [dyBatch, outH, outW, dyChannels] = dy.shape;
  if (dyBatch !== batch || dyChannels !== channels) {
    throw new Error(`${name}: dy [${dy.shape}] does not match images [${images.shape}]`);
  }
  const align = attrs.alignCorners === true;
  const half = attrs.halfPixelCenters === true;
  const rows = Int32Array.from(
    { length: outH },
    (_, i) => nearestSourceIndex(i, inH, outH, align, half),
  );
  const cols = Int32Array.from(
    { length: outW },
    (_, i) => nearestSourceIndex(i, inW, outW, align, half),
  );
  const g = readF32(backend, dy);
  const dx = new Float32Array(batch * inH * inW * channels);
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < outH; r++) {
      const toRow = (b * inH + rows[r]) * inW;
      for (let c = 0; c < outW; c++) {
        const from = ((b * outH + r) * outW + c) * channels;
        const to = (toRow + cols[c]) * channels;
        for (let d = 0; d < channels; d++) dx[to + d] += g[from + d];
      }
    }
  }
  return outputFromValues(backend, images.shape, dx);
}

/** Kernel config: `ResizeNearestNeighborGrad` on wasm (JavaScript, exact adjoint). */
export const resizeNearestNeighborGradConfig: tf.KernelConfig = {
  kernelName: "ResizeNearestNeighborGrad",
  backendName: WASM,
  kernelFunc: resizeNearestNeighborGrad as unknown as tf.KernelFunc,
};

/** Kernel config: the same kernel for the cpu backend (fixes its batch > 1 bug). */
export const resizeNearestNeighborGradCpuConfig: tf.KernelConfig = {
  kernelName: "ResizeNearestNeighborGrad",
  backendName: "cpu",
  kernelFunc: resizeNearestNeighborGrad as unknown as tf.KernelFunc,
};
