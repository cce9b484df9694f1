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
  const mode = paddingMode(kernel.shape[0], stride, padding);
  const attrs = convAttrs(stride, padding, mode);
  const pads: [number, number][] = [[0, 0], [padding, padding], [padding, padding], [0, 0]];
  const format = stringAttr("data_format", "NHWC");
  const fused = bias !== null && activation !== "sigmoid" && hasOneDnnFusedOps();
  const forward = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const inputs = args.slice(0, -1) as tf.Tensor[];
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const [input, w, b] = inputs;
    const xs = mode === "PAD" ? tf.pad(input, pads) : input;
    let y: tf.Tensor;
    if (fused) {
      const fusedOps = activation === "relu" ? ["BiasAdd", "Relu"] : ["BiasAdd"];
      y = runNativeOp(
        "_MklNativeFusedConv2D",
        [
          ...attrs,
          stringListAttr("fused_ops", fusedOps),
          intAttr("num_args", 1),
          floatAttr("epsilon", 1e-4),
          ...oneDnnKernelAttrs(),
        ],
        [xs, w, b],
        1,
      )[0];
    } else {
      const conv = runNativeOp("Conv2D", attrs, [xs, w], 1)[0];
      // A broadcasting Add, not BiasAdd: TensorFlow's BiasAdd measured slower for the zoo's
      // few channels (1.7 vs 1.0 ms with ReLU on [1000, 14, 14, 8]).
      const z = b === undefined ? conv : tf.add(conv, b);
      y = activation === "relu" ? tf.relu(z) : activation === "sigmoid" ? tf.sigmoid(z) : z;
    }
    save([xs, w, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [savedX, savedW, savedY] = saved;
        const gradient = Array.isArray(dy) ? dy[0] : dy;
        const dz = nativeActivationGrad(activation, gradient, savedY);
        const xShape = tf.tensor1d(savedX.shape, "int32");
        const wShape = tf.tensor1d(savedW.shape, "int32");
        const dxs = runNativeOp("Conv2DBackpropInput", attrs, [xShape, savedW, dz], 1)[0];
        const dx = mode === "PAD" ? tf.slice(dxs, [0, padding, padding, 0], input.shape) : dxs;
        const dw = runNativeOp("Conv2DBackpropFilter", attrs, [savedX, wShape, dz], 1)[0];
        if (b === undefined) return [dx, dw];
        return [dx, dw, runNativeOp("BiasAddGrad", [typeAttr(), format], [dz], 1)[0]];
      },
    };
  });
  return bias === null ? forward(x, kernel) : forward(x, kernel, bias);
}
