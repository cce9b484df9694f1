/**
 * `Conv2DBackpropFilter` for the wasm backend (which has none), built from its XNNPACK `Conv2D`.
 *
 * The filter gradient of `y = conv2d(x, w, stride s, pads pt/pl)` is
 *
 *   dw[kh, kw, ci, co] = sum over b, oh, ow of x[b, oh*s + kh - pt, ow*s + kw - pl, ci] * dy[b, oh, ow, co]
 *
 * which is itself a convolution: take channels `ci` of x as the batch and the batch `b` as the
 * channels (x -> [ci, H, W, B]), use dy as the filter (dy -> [OH, OW, B, co]) dilated by the
 * forward stride, stride 1, and pad so that the output is exactly [ci, KH, KW, co]; one
 * transpose gives [KH, KW, ci, co]. XNNPACK then does all the arithmetic.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  assertChannelsLast,
  assertFloat4D,
  disposeInfos,
  runWasmKernel,
  transposeInfo,
  WASM,
  type WasmBackend,
} from "./wasm_backend.ts";

/** The padding (or, where negative, cropping) the filter-gradient convolution needs per side. */
export interface FilterGradPlan {
  /** Rows/columns of x to keep, starting at 0 (x may be longer than the conv ever reads). */
  keepHeight: number;
  /** See `keepHeight`. */
  keepWidth: number;
  /** Explicit zero padding for the wasm Conv2D: [top, bottom, left, right]. */
  pads: [number, number, number, number];
}

/**
 * Works out padding/cropping for one spatial axis: the gradient conv reads padded positions
 * 0 .. kernel-1 + (out-1)*stride, of which the first `padBefore` are zeros.
 */
function planAxis(
  size: number,
  kernel: number,
  out: number,
  stride: number,
  padBefore: number,
): [keep: number, before: number, after: number] {
  const extent = kernel + (out - 1) * stride; // padded length the conv must see
  const keep = Math.min(size, extent - padBefore);
  return [keep, padBefore, extent - padBefore - keep];
}

/** Padding plan for given forward-conv info (exported for tests). */
export function planFilterGrad(info: tf.backend_util.Conv2DInfo): FilterGradPlan {
  const [keepHeight, top, bottom] = planAxis(
    info.inHeight,
    info.filterHeight,
    info.outHeight,
    info.strideHeight,
    info.padInfo.top,
  );
  const [keepWidth, left, right] = planAxis(
    info.inWidth,
    info.filterWidth,
    info.outWidth,
    info.strideWidth,
    info.padInfo.left,
  );
  return { keepHeight, keepWidth, pads: [top, bottom, left, right] };
}

function conv2DBackpropFilter(
  args: {
    inputs: tf.NamedTensorInfoMap;
    backend: tf.KernelBackend;
    attrs?: tf.NamedAttrMap;
  },
): tf.TensorInfo {
  const name = "Conv2DBackpropFilter";
  const backend = args.backend as WasmBackend;
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = (args.attrs ?? {}) as unknown as tf.Conv2DBackpropFilterAttrs;
  assertFloat4D(name, "x", x);
  assertFloat4D(name, "dy", dy);
  assertChannelsLast(name, attrs.dataFormat);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    "channelsLast",
  );
  if (
    dy.shape[0] !== info.batchSize || dy.shape[1] !== info.outHeight ||
    dy.shape[2] !== info.outWidth || dy.shape[3] !== info.outChannels
  ) {
    throw new Error(
      `${name}: dy has shape [${dy.shape}], expected [${info.outShape}] for x [${x.shape}], ` +
        `filter [${attrs.filterShape}]`,
    );
  }
  const plan = planFilterGrad(info);
  const temps: tf.TensorInfo[] = [];
  try {
    let xUsed = x;
    if (plan.keepHeight < info.inHeight || plan.keepWidth < info.inWidth) {
      xUsed = runWasmKernel("Slice", backend, { x }, {
        begin: [0, 0, 0, 0],
        size: [info.batchSize, plan.keepHeight, plan.keepWidth, info.inChannels],
      });
      temps.push(xUsed);
    }
    const xT = transposeInfo(backend, xUsed, [3, 1, 2, 0]); // [ci, H, W, B]
    temps.push(xT);
    const dyT = transposeInfo(backend, dy, [1, 2, 0, 3]); // [OH, OW, B, co]
    temps.push(dyT);
    const [top, bottom, left, right] = plan.pads;
    const grad = runWasmKernel("Conv2D", backend, { x: xT, filter: dyT }, {
      strides: [1, 1],
      pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
      dataFormat: "NHWC",
      dilations: [info.strideHeight, info.strideWidth],
    }); // [ci, KH, KW, co]
    temps.push(grad);
    return transposeInfo(backend, grad, [1, 2, 0, 3]);
  } finally {
    disposeInfos(backend, ...temps);
  }
}

/** Kernel config: `Conv2DBackpropFilter` on wasm via XNNPACK `Conv2D`. */
export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: "Conv2DBackpropFilter",
  backendName: WASM,
  kernelFunc: conv2DBackpropFilter as unknown as tf.KernelFunc,
};
