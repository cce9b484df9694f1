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
 * With stride s > 1 that dilated input is mostly zeros (3/4 of it for s = 2), and XNNPACK
 * multiplies them all. The `"fast"` variant (default, see `variant.ts`) therefore splits the
 * gradient into s_h x s_w sub-pixel convolutions: the rows of dx with
 * `(ih + pad_top) mod s = r` only ever meet filter rows `kh = r, r + s, ...`, so each phase
 * (r_h, r_w) is a stride-1 convolution of the un-dilated dy with that sub-sampled, flipped
 * filter; the phases' outputs are interleaved into dx. Same arithmetic, no zeros.
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

/**
 * One spatial axis of one sub-pixel phase `r` (see the module doc): dx positions
 * `ih = q * stride + r - pad` for q in [qMin, qMin + count), filter taps `r, r + stride, ...`
 * (`taps` of them), and the padding (negative: cropping) of dy before/after so that a stride-1
 * 'valid' convolution with `taps` taps gives exactly `count` outputs.
 */
export interface SubPixelAxis {
  /** First q. */
  qMin: number;
  /** Number of dx positions in this phase (0: none). */
  count: number;
  /** Filter taps in this phase (0: these dx positions get no gradient). */
  taps: number;
  /** dy padding before (negative: rows cropped). */
  before: number;
  /** dy padding after (negative: rows cropped). */
  after: number;
}

/**
 * Plans one axis of one phase (exported for tests).
 *
 * @param size dx length (the forward conv's input size).
 * @param kernel Filter size.
 * @param stride Forward stride.
 * @param pad Forward padding before.
 * @param outSize dy length.
 * @param r Phase, 0 <= r < stride.
 */
export function planSubPixelAxis(
  size: number,
  kernel: number,
  stride: number,
  pad: number,
  outSize: number,
  r: number,
): SubPixelAxis {
  const taps = r < kernel ? Math.ceil((kernel - r) / stride) : 0;
  const qMin = Math.ceil((pad - r) / stride) + 0; // + 0: no -0 in the plan
  const qMax = Math.floor((size - 1 + pad - r) / stride);
  const count = Math.max(0, qMax - qMin + 1);
  const before = taps - 1 - qMin;
  const after = count + taps - 1 - before - outSize;
  return { qMin, count, taps, before, after };
}

/** dy padded (or cropped where negative) on the spatial axes, copied on the wasm heap. */
function padOrCrop(
  backend: WasmBackend,
  x: tf.TensorInfo,
  top: number,
  bottom: number,
  left: number,
  right: number,
): tf.TensorInfo {
  const [batch, h, w, c] = x.shape;
  const ph = h + top + bottom;
  const pw = w + left + right;
  const out = backend.makeOutput([batch, ph, pw, c], "float32");
  const src = heapF32(backend, x);
  const dst = heapF32(backend, out);
  dst.fill(0);
  const c0 = Math.max(0, -left);
  const c1 = Math.min(w, pw - left);
  if (c1 <= c0) return out;
  for (let b = 0; b < batch; b++) {
    for (let row = Math.max(0, -top); row < Math.min(h, ph - top); row++) {
      const from = ((b * h + row) * w + c0) * c;
      const to = ((b * ph + row + top) * pw + c0 + left) * c;
      dst.set(src.subarray(from, from + (c1 - c0) * c), to);
    }
  }
  return out;
}

/** Sub-filter of phase (rh, rw), flipped, channels swapped: [Jh, Jw, co, ci]. */
function subFilter(
  backend: WasmBackend,
  filter: tf.TensorInfo,
  rh: number,
  rw: number,
  sh: number,
  sw: number,
  jh: number,
  jw: number,
): tf.TensorInfo {
  const [, kw, ci, co] = filter.shape;
  const out = backend.makeOutput([jh, jw, co, ci], "float32");
  const src = heapF32(backend, filter);
  const dst = heapF32(backend, out);
  for (let a = 0; a < jh; a++) {
    const h = rh + (jh - 1 - a) * sh;
    for (let e = 0; e < jw; e++) {
      const w = rw + (jw - 1 - e) * sw;
      const fromBase = (h * kw + w) * ci * co;
      const toBase = (a * jw + e) * co * ci;
      for (let i = 0; i < ci; i++) {
        for (let o = 0; o < co; o++) dst[toBase + o * ci + i] = src[fromBase + i * co + o];
      }
    }
  }
  return out;
}

/** The sub-pixel computation of dx (see the module doc). */
function subPixelBackpropInput(
  backend: WasmBackend,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const [batch, outH, outW] = dy.shape;
  const ci = info.inChannels;
  const sh = info.strideHeight;
  const sw = info.strideWidth;
  const phases: { rh: number; rw: number; y: SubPixelAxis; x: SubPixelAxis }[] = [];
  for (let rh = 0; rh < sh; rh++) {
    for (let rw = 0; rw < sw; rw++) {
      const y = planSubPixelAxis(
        info.inHeight,
        info.filterHeight,
        sh,
        info.padInfo.top,
        outH,
        rh,
      );
      const x = planSubPixelAxis(
        info.inWidth,
        info.filterWidth,
        sw,
        info.padInfo.left,
        outW,
        rw,
      );
      phases.push({ rh, rw, y, x });
    }
  }
  const conv = (p: (typeof phases)[number]): tf.TensorInfo => {
    const temps: tf.TensorInfo[] = [];
    try {
      const g = subFilter(backend, filter, p.rh, p.rw, sh, sw, p.y.taps, p.x.taps);
      temps.push(g);
      let input = dy;
      let pads: [number, number, number, number] = [p.y.before, p.y.after, p.x.before, p.x.after];
      if (pads.some((v) => v < 0)) {
        input = padOrCrop(backend, dy, ...pads);
        temps.push(input);
        pads = [0, 0, 0, 0];
      }
      return runWasmKernel("Conv2D", backend, { x: input, filter: g }, {
        strides: [1, 1],
        pad: [[0, 0], [pads[0], pads[1]], [pads[2], pads[3]], [0, 0]],
        dataFormat: "NHWC",
        dilations: [1, 1],
      });
    } finally {
      disposeInfos(backend, ...temps);
    }
  };
  if (phases.length === 1) return conv(phases[0]); // stride 1: the phase is dx itself
  const out = backend.makeOutput([batch, info.inHeight, info.inWidth, ci], "float32");
  for (const p of phases) {
    if (p.y.count === 0 || p.x.count === 0) continue;
    if (p.y.taps === 0 || p.x.taps === 0) {
      // No filter tap reaches these dx positions: their gradient is zero.
      const dst = heapF32(backend, out);
      for (let b = 0; b < batch; b++) {
        for (let qh = 0; qh < p.y.count; qh++) {
          const ih = (p.y.qMin + qh) * sh + p.rh - info.padInfo.top;
          for (let qw = 0; qw < p.x.count; qw++) {
            const iw = (p.x.qMin + qw) * sw + p.rw - info.padInfo.left;
            const to = ((b * info.inHeight + ih) * info.inWidth + iw) * ci;
            dst.fill(0, to, to + ci);
          }
        }
      }
      continue;
    }
    const part = conv(p); // [batch, count_y, count_x, ci]
    const src = heapF32(backend, part);
    const dst = heapF32(backend, out);
    const cy = p.y.count;
    const cx = p.x.count;
    for (let b = 0; b < batch; b++) {
      for (let qh = 0; qh < cy; qh++) {
        const ih = (p.y.qMin + qh) * sh + p.rh - info.padInfo.top;
        let from = ((b * cy + qh) * cx) * ci;
        let to = ((b * info.inHeight + ih) * info.inWidth + p.x.qMin * sw + p.rw -
          info.padInfo.left) * ci;
        const step = sw * ci;
        if (ci === 1) {
          for (let qw = 0; qw < cx; qw++, from++, to += step) dst[to] = src[from];
        } else {
          for (let qw = 0; qw < cx; qw++, from += ci, to += step) {
            for (let c = 0; c < ci; c++) dst[to + c] = src[from + c];
          }
        }
      }
    }
    disposeInfos(backend, part);
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
  if (kernelVariant() === "fast") return subPixelBackpropInput(backend, dy, filter, info);
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
