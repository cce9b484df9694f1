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
 * That convolution has an odd shape for XNNPACK (a KH x KW output, a huge OH x OW kernel) and
 * runs far below its matmul speed. The `"fast"` variant (default, see `variant.ts`) writes the
 * same sum as one matrix product instead: with the im2col patches P [N, KH*KW*ci] of x
 * (N = B*OH*OW), dW = Pᵀ dy, where Pᵀ is gathered in JavaScript and the product runs on
 * XNNPACK's matmul. Strided convolutions need no dilation and cost no extra work. Layers whose
 * patch matrix would exceed {@link IM2COL_MAX_VALUES} keep the convolution form.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { kernelVariant } from "./variant.ts";
import {
  assertChannelsLast,
  assertFloat4D,
  disposeInfos,
  heapF32,
  runReplacedWasmKernel,
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

/**
 * Largest im2col matrix (values) the fast filter gradient builds: beyond it the gather costs
 * more than it saves. Measured: conv-upsampling's 28x28 128->1 layer (58M values, 231 MB)
 * made its training step 1.6x slower; layers up to 2.7M values (cnn-bilinear's 14x14 24->48)
 * got 1.2-4x faster.
 */
export const IM2COL_MAX_VALUES = 4_000_000;

/** The same data under another shape (no copy; never dispose it, dispose `info`). */
function view(info: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return { dataId: info.dataId, shape, dtype: info.dtype };
}

/**
 * Transposed im2col of x for the forward conv: Pᵀ [KH*KW*ci, B*OH*OW], row (kh, kw, ci) holding
 * the value each output position's window has there (zero where it hits padding).
 */
function im2colTransposed(
  backend: WasmBackend,
  x: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels: ci, outHeight, outWidth } = info;
  const kh = info.filterHeight;
  const kw = info.filterWidth;
  const sh = info.strideHeight;
  const sw = info.strideWidth;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const n = batchSize * outHeight * outWidth;
  const out = backend.makeOutput([kh * kw * ci, n], "float32");
  const src = heapF32(backend, x);
  const dst = heapF32(backend, out);
  const rowStride = inWidth * ci;
  const colStep = sw * ci;
  for (let a = 0; a < kh; a++) {
    for (let e = 0; e < kw; e++) {
      // Output columns whose window column e lies inside x: ow in [owMin, owEnd).
      const owMin = Math.min(outWidth, Math.max(0, Math.ceil((pl - e) / sw)));
      const owEnd = Math.max(
        owMin,
        Math.min(outWidth, Math.floor((inWidth - 1 + pl - e) / sw) + 1),
      );
      for (let c = 0; c < ci; c++) {
        let to = ((a * kw + e) * ci + c) * n;
        for (let b = 0; b < batchSize; b++) {
          const xb = b * inHeight * rowStride + c;
          for (let oh = 0; oh < outHeight; oh++) {
            const ih = oh * sh + a - pt;
            if (ih < 0 || ih >= inHeight) {
              dst.fill(0, to, to + outWidth);
              to += outWidth;
              continue;
            }
            for (let ow = 0; ow < owMin; ow++) dst[to++] = 0;
            let from = xb + ih * rowStride + (owMin * sw + e - pl) * ci;
            for (let ow = owMin; ow < owEnd; ow++, from += colStep) dst[to++] = src[from];
            for (let ow = owEnd; ow < outWidth; ow++) dst[to++] = 0;
          }
        }
      }
    }
  }
  return out;
}

/**
 * dW = Pᵀ dy on XNNPACK (see the module doc). Pᵀ is written directly (a wasm Transpose of P
 * took 36 ms for the 14x14x24 layer, the JS gather 10 ms), and dy is the matmul's right
 * operand, which XNNPACK repacks on every call: repacking Pᵀ instead (the 2.7M-value operand)
 * made the product 4x slower.
 */
function im2colFilterGrad(
  backend: WasmBackend,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const n = info.batchSize * info.outHeight * info.outWidth;
  const k = info.filterHeight * info.filterWidth * info.inChannels;
  const co = info.outChannels;
  const patchesT = im2colTransposed(backend, x, info); // [k, n]
  try {
    const grad = runReplacedWasmKernel("BatchMatMul", backend, {
      a: view(patchesT, [1, k, n]),
      b: view(dy, [1, n, co]),
    }, { transposeA: false, transposeB: false });
    return view(grad, [info.filterHeight, info.filterWidth, info.inChannels, co]);
  } finally {
    disposeInfos(backend, patchesT);
  }
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
  const patchValues = info.filterHeight * info.filterWidth * info.inChannels * info.batchSize *
    info.outHeight * info.outWidth;
  if (kernelVariant() === "fast" && patchValues <= IM2COL_MAX_VALUES) {
    return im2colFilterGrad(backend, x, dy, info);
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
