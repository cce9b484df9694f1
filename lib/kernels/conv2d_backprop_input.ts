/**
 * `Conv2DBackpropInput` for the wasm backend, built from its XNNPACK `Conv2D`. It replaces the
 * wasm backend's own version, a plain nested loop. It is both the input gradient of conv2d and
 * the forward pass of conv2dTranspose.
 *
 * The input gradient of `y = conv2d(x, w, stride s, pads pt/pl)` is a stride-1 convolution of
 * dy, zero-dilated by s (s-1 zeros between neighbours) and padded by KH-1-pt on top (KW-1-pl on
 * the left), with the filter flipped in space and its in/out channels swapped. Dilation and
 * padding are written in one pass over the wasm heap; the padding is chosen so the output is
 * exactly `inputShape`, which also covers the rows a strided 'valid' conv never read (they get
 * zero gradient) and tfjs' asymmetric 'same' padding (the extra row goes at the bottom/right).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  assertChannelsLast,
  assertFloat4D,
  disposeInfos,
  heapF32,
  runWasmKernel,
  WASM,
  type WasmBackend,
} from "./wasm_backend.ts";

/**
 * Writes dy, zero-dilated by the stride, into a zero tensor of shape [B, H+KH-1, W+KW-1, co]
 * at offset (KH-1-pt, KW-1-pl); positions that fall outside are dropped (they are reads a
 * conv with large explicit padding makes from the padding only).
 */
function dilateAndPad(
  backend: WasmBackend,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const [batch, outH, outW, channels] = dy.shape;
  const padH = info.inHeight + info.filterHeight - 1;
  const padW = info.inWidth + info.filterWidth - 1;
  const top = info.filterHeight - 1 - info.padInfo.top;
  const left = info.filterWidth - 1 - info.padInfo.left;
  const sh = info.strideHeight;
  const sw = info.strideWidth;
  const out = backend.makeOutput([batch, padH, padW, channels], "float32");
  // Views are taken after the allocation: makeOutput may grow (and detach) the wasm heap.
  const src = heapF32(backend, dy);
  const dst = heapF32(backend, out);
  dst.fill(0);
  for (let b = 0; b < batch; b++) {
    for (let oh = 0; oh < outH; oh++) {
      const row = top + oh * sh;
      if (row < 0 || row >= padH) continue;
      for (let ow = 0; ow < outW; ow++) {
        const col = left + ow * sw;
        if (col < 0 || col >= padW) continue;
        const from = ((b * outH + oh) * outW + ow) * channels;
        const to = ((b * padH + row) * padW + col) * channels;
        dst.set(src.subarray(from, from + channels), to);
      }
    }
  }
  return out;
}

/** w[kh, kw, ci, co] -> w'[kh', kw', co, ci] with kh' = KH-1-kh, kw' = KW-1-kw. */
function flipAndSwapFilter(backend: WasmBackend, filter: tf.TensorInfo): tf.TensorInfo {
  const [kh, kw, ci, co] = filter.shape;
  const out = backend.makeOutput([kh, kw, co, ci], "float32");
  const src = heapF32(backend, filter);
  const dst = heapF32(backend, out);
  for (let h = 0; h < kh; h++) {
    for (let w = 0; w < kw; w++) {
      const fromBase = ((kh - 1 - h) * kw + (kw - 1 - w)) * ci * co;
      const toBase = (h * kw + w) * co * ci;
      for (let i = 0; i < ci; i++) {
        for (let o = 0; o < co; o++) dst[toBase + o * ci + i] = src[fromBase + i * co + o];
      }
    }
  }
  return out;
}

function conv2DBackpropInput(
  args: {
    inputs: tf.NamedTensorInfoMap;
    backend: tf.KernelBackend;
    attrs?: tf.NamedAttrMap;
  },
): tf.TensorInfo {
  const name = "Conv2DBackpropInput";
  const backend = args.backend as WasmBackend;
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = (args.attrs ?? {}) as unknown as tf.Conv2DBackpropInputAttrs;
  assertFloat4D(name, "dy", dy);
  assertFloat4D(name, "filter", filter);
  assertChannelsLast(name, attrs.dataFormat);
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
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
      `${name}: dy has shape [${dy.shape}], expected [${info.outShape}] for inputShape ` +
        `[${attrs.inputShape}], filter [${filter.shape}]`,
    );
  }
  const temps: tf.TensorInfo[] = [];
  try {
    const dyPadded = dilateAndPad(backend, dy, info);
    temps.push(dyPadded);
    const flipped = flipAndSwapFilter(backend, filter);
    temps.push(flipped);
    return runWasmKernel("Conv2D", backend, { x: dyPadded, filter: flipped }, {
      strides: [1, 1],
      pad: "valid",
      dataFormat: "NHWC",
      dilations: [1, 1],
    });
  } finally {
    disposeInfos(backend, ...temps);
  }
}

/** Kernel config: `Conv2DBackpropInput` on wasm via XNNPACK `Conv2D`. */
export const conv2DBackpropInputConfig: tf.KernelConfig = {
  kernelName: "Conv2DBackpropInput",
  backendName: WASM,
  kernelFunc: conv2DBackpropInput as unknown as tf.KernelFunc,
};
