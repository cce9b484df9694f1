/**
 * PyTorch's `nn.Conv2d` (symmetric zero padding, bias, activation) as TensorFlow's own ops, for
 * tfjs-node.
 *
 * tfjs has no explicit padding, so a PyTorch convolution with stride 2 runs as `PadV2` + `Conv2D`
 * + broadcasting `Add` + activation forward, and the pad's `Slice`, a 3-axis `Sum` and the two
 * convolution gradients backward. TensorFlow's `Conv2D` takes the padding itself
 * (`padding: "EXPLICIT"`); that is what a forward pass without a gradient tape runs (inference).
 * Under a tape the padding stays a pad op, since TensorFlow's `"EXPLICIT"` gradients are slower
 * than the `"VALID"` ones on oneDNN (see `paddingMode`). Where Intel's oneDNN build is loaded
 * ({@link hasOneDnnFusedOps}), the forward pass is one `_MklNativeFusedConv2D` that adds the
 * bias and applies ReLU while writing the output. Measured on the conv-bottleneck encoder's
 * first layer ([1000, 28, 28, 1] -> 8 channels, stride 2, padding 1): 3.7 ms as tfjs runs it,
 * 2.1 ms fused.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type NativeActivation, nativeActivationGrad } from "./native_activation.ts";
import { NATIVE } from "./native_step.ts";
import {
  boolAttr,
  floatAttr,
  gradientTapeOn,
  hasOneDnnFusedOps,
  intAttr,
  type NativeAttr,
  oneDnnKernelAttrs,
  runNativeOp,
  stringAttr,
  stringListAttr,
  typeAttr,
} from "./native_ops.ts";

/** Activations {@link nativeConv2d} applies (see {@link NativeActivation}). */
export type NativeConvActivation = NativeActivation;

/** How TensorFlow is told the padding; "PAD" means a `PadV2` before a `"VALID"` convolution. */
type PaddingMode = "VALID" | "SAME" | "EXPLICIT" | "PAD";

/**
 * The fastest way to pad, measured on Intel's oneDNN build: `"VALID"` and `"SAME"` wherever they
 * pad exactly `padding` (oneDNN runs all three ops); `"EXPLICIT"` for a forward pass alone; a pad
 * op before `"VALID"` when gradients follow, because TensorFlow's gradients with `"EXPLICIT"`
 * padding do not run on oneDNN: 2-4x slower than `"VALID"` on the zoo's shapes (e.g. the filter
 * gradient of [64, 28, 28, 1] -> 8, stride 2: 0.45 ms vs 0.08 ms).
 */
function paddingMode(kernelSize: number, stride: number, padding: number): PaddingMode {
  if (padding === 0) return "VALID";
  // 'SAME' pads (k - 1) / 2 on each side at stride 1.
  if (stride === 1 && 2 * padding === kernelSize - 1) return "SAME";
  return gradientTapeOn() ? "PAD" : "EXPLICIT";
}

/** The attributes `Conv2D` and both of its gradients share. */
function convAttrs(stride: number, padding: number, mode: PaddingMode): NativeAttr[] {
  const explicit = mode === "EXPLICIT" ? [0, 0, padding, padding, padding, padding, 0, 0] : [];
  return [
    typeAttr(),
    intAttr("strides", [1, stride, stride, 1]),
    stringAttr("padding", mode === "PAD" ? "VALID" : mode),
    intAttr("explicit_paddings", explicit),
    stringAttr("data_format", "NHWC"),
    intAttr("dilations", [1, 1, 1, 1]),
    boolAttr("use_cudnn_on_gpu", true),
  ];
}

/** Zero rows/columns on each side that `mode` pads for a k x k kernel at stride 1. */
function sidePadding(mode: NativeConv2dAttrs["mode"], k: number, padding: number): number {
  return mode === "VALID" ? 0 : mode === "SAME" ? (k - 1) / 2 : padding;
}

/**
 * Whether a convolution's forward pass goes through {@link singleChannelConv2d} (`"forward"`) or
 * its filter gradient through {@link singleChannelFilterGrad} (`"filter"`): one output channel,
 * stride 1, and enough input channels. TensorFlow's kernels are slow there (write-up 004's last
 * layer, [64, 28, 28, 128] -> 1 channel: `Conv2D` 24-26 ms and `Conv2DBackpropFilter` 18-21 ms,
 * ~5 GFLOP/s, where a matmul does ~70), but the matmul forms have a fixed cost of small ops.
 * Measured on [64, 28, 28, C] -> 1 (AMD EPYC, ms, TensorFlow / here): forward C = 8 1.6 / 2.4,
 * 16 2.5 / 2.4, 32 4.9 / 2.3, 128 24.1 / 4.3; filter gradient C = 32 5.2 / 7.4, 64 9.8 / 7.9,
 * 128 17.2 / 12.3.
 */
function singleChannel(filter: tf.TensorInfo, stride: number, use: "forward" | "filter"): boolean {
  const [k, , cin, cout] = filter.shape;
  return cout === 1 && stride === 1 && k % 2 === 1 && cin >= (use === "forward" ? 16 : 64);
}

/** The float32 native ops the one-channel forms are made of; each tracks its result. */
interface ScratchOps {
  /** Any op with one output: `name(inputs)` with the float dtype attribute and `attrs`. */
  op(name: string, inputs: tf.TensorInfo[], attrs?: NativeAttr[]): tf.Tensor;
  /** An int32 tensor of `values` (shape `[values.length]` unless given). */
  ints(values: number[], shape?: number[]): tf.Tensor;
  reshape(t: tf.TensorInfo, shape: number[]): tf.Tensor;
  /** Zero padding, `paddings` as [before, after] per axis, flattened. */
  pad(t: tf.TensorInfo, paddings: number[]): tf.Tensor;
  matMul(a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): tf.Tensor;
}

/** Runs `body` with {@link ScratchOps}, then disposes every tensor they made but the result. */
function withScratch(body: (ops: ScratchOps) => tf.Tensor): tf.Tensor {
  const scratch: tf.Tensor[] = [];
  const track = (t: tf.Tensor) => {
    scratch.push(t);
    return t;
  };
  const ops: ScratchOps = {
    op: (name, inputs, attrs = []) =>
      track(runNativeOp(name, [typeAttr(), ...attrs], inputs, 1)[0]),
    ints: (values, shape) => track(tf.tensor(values, shape ?? [values.length], "int32")),
    reshape: (t, shape) => ops.op("Reshape", [t, ops.ints(shape)], [typeAttr("Tshape", "int32")]),
    pad: (t, paddings) =>
      ops.op("Pad", [t, ops.ints(paddings, [paddings.length / 2, 2])], [
        typeAttr("Tpaddings", "int32"),
      ]),
    matMul: (a, b, transposeA, transposeB) =>
      ops.op("MatMul", [a, b], [
        boolAttr("transpose_a", transposeA),
        boolAttr("transpose_b", transposeB),
      ]),
  };
  const result = body(ops);
  tf.dispose(scratch.filter((t) => t !== result));
  return result;
}

/**
 * A convolution with one output channel at stride 1 as one matmul and a sum of shifted slices:
 * `p = x [NHW, C] . w [C, k*k]` gives every tap's contribution at every pixel, and the output at
 * (h, w) is the sum over taps (i, j) of tap (i, j)'s plane at (h + i, w + j) of `p` padded by
 * `pad`. The same arithmetic as `Conv2D`, summed in another order (float32 rounding).
 */
function singleChannelConv2d(x: tf.TensorInfo, w: tf.TensorInfo, pad: number): tf.Tensor {
  const [n, h, width, c] = x.shape;
  const k = w.shape[0];
  const [ho, wo] = [h + 2 * pad - k + 1, width + 2 * pad - k + 1];
  return withScratch(({ op, ints, reshape, pad: padOp, matMul }) => {
    // [k, k, C, 1] -> [k*k, C]: row t is tap t's weights.
    const product = matMul(reshape(x, [n * h * width, c]), reshape(w, [k * k, c]), false, true);
    let planes = reshape(product, [n, h, width, k * k]);
    if (pad > 0) planes = padOp(planes, [0, 0, pad, pad, pad, pad, 0, 0]);
    const slices: tf.Tensor[] = [];
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        const begin = ints([0, i, j, i * k + j]);
        slices.push(
          op("Slice", [planes, begin, ints([n, ho, wo, 1])], [typeAttr("Index", "int32")]),
        );
      }
    }
    return op("AddN", slices, [intAttr("N", slices.length)]);
  });
}

/**
 * The filter gradient of {@link singleChannelConv2d} as one matmul: `dW[i, j, c]` is the sum over
 * pixels of `x` (padded) at (h + i, w + j) times `dz` at (h, w); the k*k shifted copies of `dz`
 * (each [N, H', W', 1], cheap) side by side make that `E^T [k*k, NH'W'] . x [NH'W', C]`.
 */
function singleChannelFilterGrad(
  x: tf.Tensor,
  w: tf.Tensor,
  dz: tf.Tensor,
  pad: number,
): tf.Tensor {
  const [n, h, width, c] = x.shape;
  const k = w.shape[0];
  const [hp, wp] = [h + 2 * pad, width + 2 * pad];
  const [ho, wo] = [dz.shape[1] as number, dz.shape[2] as number];
  return withScratch(({ op, ints, reshape, pad: padOp, matMul }) => {
    const xp = pad > 0 ? padOp(x, [0, 0, pad, pad, pad, pad, 0, 0]) : x;
    const shifted: tf.Tensor[] = [];
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        shifted.push(padOp(dz, [0, 0, i, hp - ho - i, j, wp - wo - j, 0, 0]));
      }
    }
    const e = op("ConcatV2", [...shifted, ints([3], [])], [
      intAttr("N", shifted.length),
      typeAttr("Tidx", "int32"),
    ]);
    const m = n * hp * wp;
    return reshape(matMul(reshape(e, [m, k * k]), reshape(xp, [m, c]), true, false), [k, k, c, 1]);
  });
}

/** Name of the kernel {@link nativeConv2d} runs (inputs `x`, `filter`, optional `bias`). */
export const NATIVE_CONV2D = "AeNativeConv2D";

/** The attributes of {@link NATIVE_CONV2D}. */
interface NativeConv2dAttrs {
  stride: number;
  /** Padding on every side, as TensorFlow is told it ("PAD" is already applied: "VALID"). */
  padding: number;
  mode: "VALID" | "SAME" | "EXPLICIT";
  activation: NativeConvActivation;
  hasBias: boolean;
}

function readAttrs(attrs: unknown): NativeConv2dAttrs {
  return attrs as NativeConv2dAttrs;
}

/** {@link NATIVE_CONV2D} on the "tensorflow" backend: the convolution, bias and activation. */
const nativeConv2dKernel: tf.KernelConfig = {
  kernelName: NATIVE_CONV2D,
  backendName: NATIVE,
  kernelFunc: ({ inputs, attrs }) => {
    const { x, filter, bias } = inputs as {
      x: tf.TensorInfo;
      filter: tf.TensorInfo;
      bias?: tf.TensorInfo;
    };
    const { stride, padding, mode, activation } = readAttrs(attrs);
    const conv = convAttrs(stride, padding, mode);
    const single = singleChannel(filter, stride, "forward");
    if (!single && bias !== undefined && activation !== "sigmoid" && hasOneDnnFusedOps()) {
      // oneDNN adds the bias and applies ReLU while writing the output.
      const fusedOps = activation === "relu" ? ["BiasAdd", "Relu"] : ["BiasAdd"];
      return runNativeOp(
        "_MklNativeFusedConv2D",
        [
          ...conv,
          stringListAttr("fused_ops", fusedOps),
          intAttr("num_args", 1),
          floatAttr("epsilon", 1e-4),
          ...oneDnnKernelAttrs(),
        ],
        [x, filter, bias],
        1,
      )[0];
    }
    const steps: tf.Tensor[] = [
      single
        ? singleChannelConv2d(x, filter, sidePadding(mode, filter.shape[0], padding))
        : runNativeOp("Conv2D", conv, [x, filter], 1)[0],
    ];
    // A broadcasting Add, not BiasAdd: TensorFlow's BiasAdd measured slower for the zoo's few
    // channels (1.7 vs 1.0 ms with ReLU on [1000, 14, 14, 8]).
    if (bias !== undefined) steps.push(runNativeOp("AddV2", [typeAttr()], [steps[0], bias], 1)[0]);
    if (activation !== "linear") {
      const op = activation === "relu" ? "Relu" : "Sigmoid";
      steps.push(runNativeOp(op, [typeAttr()], [steps[steps.length - 1]], 1)[0]);
    }
    const y = steps.pop()!;
    tf.dispose(steps);
    return y;
  },
};

/**
 * The gradient of {@link NATIVE_CONV2D}. Each input's gradient is computed only when asked for:
 * tfjs's tape asks only for inputs that lead back to what is differentiated, so the first layer's
 * input gradient (the images') is never computed in training. A `tf.customGrad` computes every
 * input's gradient: that was 20 of 274 ms in a step of write-up 004's conv autoencoder.
 */
const nativeConv2dGradient: tf.GradConfig = {
  kernelName: NATIVE_CONV2D,
  inputsToSave: ["x", "filter"],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, w, y] = saved;
    const { stride, padding, mode, activation, hasBias } = readAttrs(attrs);
    const conv = convAttrs(stride, padding, mode);
    const dz = nativeActivationGrad(activation, Array.isArray(dy) ? dy[0] : dy, y);
    const grads: Record<string, () => tf.Tensor> = {
      x: () =>
        runNativeOp("Conv2DBackpropInput", conv, [tf.tensor1d(x.shape, "int32"), w, dz], 1)[0],
      filter: () =>
        singleChannel(w, stride, "filter")
          ? singleChannelFilterGrad(x, w, dz, sidePadding(mode, w.shape[0], padding))
          : runNativeOp("Conv2DBackpropFilter", conv, [x, tf.tensor1d(w.shape, "int32"), dz], 1)[0],
    };
    if (hasBias) {
      grads.bias = () =>
        runNativeOp("BiasAddGrad", [typeAttr(), stringAttr("data_format", "NHWC")], [dz], 1)[0];
    }
    return grads;
  },
};

let registered = false;

/** Registers {@link NATIVE_CONV2D} and its gradient once. */
function registerNativeConv2d(): void {
  if (registered) return;
  if (tf.getKernel(NATIVE_CONV2D, NATIVE) === undefined) tf.registerKernel(nativeConv2dKernel);
  tf.registerGradient(nativeConv2dGradient);
  registered = true;
}

/**
 * `activation(conv2d(pad(x, padding), kernel, stride) + bias)` for NHWC `x`, with PyTorch's
 * symmetric zero padding, on the "tensorflow" backend, differentiable with respect to `x`,
 * `kernel` and `bias`.
 *
 * @param x Input [N, H, W, Cin], float32.
 * @param kernel Weights [k, k, Cin, Cout].
 * @param bias Bias [Cout], or null for none.
 * @param stride Stride on both spatial axes.
 * @param padding Zero rows/columns added on every side.
 * @param activation "linear", "relu" or "sigmoid".
 * @returns The output [N, H', W', Cout].
 * @throws Error if `x` or `kernel` is not rank 4, or the kernel is not square.
 */
export function nativeConv2d(
  x: tf.Tensor,
  kernel: tf.Tensor,
  bias: tf.Tensor | null,
  stride: number,
  padding: number,
  activation: NativeConvActivation,
): tf.Tensor {
  if (x.rank !== 4 || kernel.rank !== 4 || kernel.shape[0] !== kernel.shape[1]) {
    throw new Error(
      `nativeConv2d: x and kernel must have rank 4 and the kernel must be square, got ` +
        `[${x.shape}], [${kernel.shape}]`,
    );
  }
  registerNativeConv2d();
  const mode = paddingMode(kernel.shape[0], stride, padding);
  const xs = mode === "PAD"
    ? tf.pad(x, [[0, 0], [padding, padding], [padding, padding], [0, 0]])
    : x;
  const attrs: NativeConv2dAttrs = {
    stride,
    padding,
    mode: mode === "PAD" ? "VALID" : mode,
    activation,
    hasBias: bias !== null,
  };
  const inputs: tf.NamedTensorMap = bias === null
    ? { x: xs, filter: kernel }
    : { x: xs, filter: kernel, bias };
  return tf.engine().runKernel(
    NATIVE_CONV2D,
    inputs,
    attrs as unknown as tf.NamedAttrMap,
  ) as tf.Tensor;
}
