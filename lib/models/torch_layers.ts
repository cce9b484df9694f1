/**
 * PyTorch-exact convolution, transposed convolution and batch-norm blocks on tfjs layers.
 *
 * tfjs (like Keras) only knows `'same'` and `'valid'` padding. For stride 2 `'same'` pads
 * asymmetrically (nothing before, one after), while PyTorch's `padding=p` pads `p` on both sides,
 * so the two produce the same shapes but windows shifted by one pixel. Likewise
 * `ConvTranspose2d(padding=p, output_padding=op)` equals the full (`'valid'`) transposed
 * convolution with `p` rows/columns cropped at the start and `p - op` at the end, whereas tfjs
 * `'same'` crops at the end only. To reproduce the write-ups' arithmetic, not only their shapes,
 * these helpers use a {@link TorchConv2D} layer (symmetric padding, TensorFlow's own padded
 * convolution on tfjs-node) and explicit `cropping2D` after `'valid'` transposed convolutions.
 *
 * All helpers take and return NHWC symbolic tensors and draw weights from a {@link ParamInit}.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { fusedDense } from "./fused_dense.ts";
import type { ParamInit } from "./init.ts";
import { TorchBatchNorm } from "./torch_batch_norm.ts";
import { TorchConv2D } from "./torch_conv2d.ts";

/** PyTorch's `nn.Conv2d` hyper-parameters (square kernels, dilation 1). */
export interface TorchConv2dOptions {
  /** Output channels. */
  filters: number;
  /** Kernel size `k` (a `k x k` kernel). */
  kernelSize: number;
  /** Stride (default 1). */
  stride?: number;
  /** Zero padding on every side (default 0). */
  padding?: number;
  /** Activation applied by the layer itself (default `"linear"`). */
  activation?: "linear" | "relu" | "sigmoid";
}

/** PyTorch's `nn.ConvTranspose2d` hyper-parameters (square kernels, dilation 1). */
export interface TorchConvTranspose2dOptions extends TorchConv2dOptions {
  /** PyTorch `output_padding` (default 0); must not exceed `padding` here. */
  outputPadding?: number;
}

function checkPositiveInt(value: number, what: string, where: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${where}: ${what} must be a positive integer, got ${value}`);
  }
}

function checkNonNegativeInt(value: number, what: string, where: string): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`${where}: ${what} must be a non-negative integer, got ${value}`);
  }
}

function channelsOf(x: tf.SymbolicTensor, where: string): number {
  if (x.shape.length !== 4 || x.shape[3] == null) {
    throw new Error(
      `${where}: expected NHWC input with known channels, got [${x.shape.join(", ")}]`,
    );
  }
  return x.shape[3] as number;
}

/**
 * PyTorch `nn.Conv2d(cin, filters, kernelSize, stride, padding)` as one {@link TorchConv2D}
 * layer: symmetric zero padding, then a `'valid'` convolution (or one `'same'` convolution where
 * that pads the same: stride 1 and `2p = k - 1`). Output size `floor((n + 2p - k) / s) + 1`.
 *
 * @param x NHWC input.
 * @param options Convolution hyper-parameters.
 * @param init Where the weights come from.
 * @returns NHWC output.
 */
export function torchConv2d(
  x: tf.SymbolicTensor,
  options: TorchConv2dOptions,
  init: ParamInit,
): tf.SymbolicTensor {
  const where = "torchConv2d";
  const { filters, kernelSize: k, stride = 1, padding = 0, activation = "linear" } = options;
  checkPositiveInt(filters, "filters", where);
  checkPositiveInt(k, "kernelSize", where);
  checkPositiveInt(stride, "stride", where);
  checkNonNegativeInt(padding, "padding", where);
  const cin = channelsOf(x, where);
  return new TorchConv2D({
    filters,
    kernelSize: k,
    strides: stride,
    torchPadding: padding,
    activation,
    kernelInitializer: init.kernel(),
    biasInitializer: init.bias(cin * k * k),
  }).apply(x) as tf.SymbolicTensor;
}

/**
 * PyTorch `nn.ConvTranspose2d(cin, filters, kernelSize, stride, padding, output_padding)`: the
 * full transposed convolution (`'valid'`, size `(n - 1) * s + k`), cropped by `padding` at the
 * start and `padding - outputPadding` at the end of each spatial axis. Output size
 * `(n - 1) * s - 2p + k + op`.
 *
 * @param x NHWC input.
 * @param options Transposed-convolution hyper-parameters.
 * @param init Where the weights come from (bias fan-in is PyTorch's `filters * k * k`).
 * @returns NHWC output.
 * @throws RangeError if `outputPadding > padding` (would need extra zero rows; not supported).
 */
export function torchConvTranspose2d(
  x: tf.SymbolicTensor,
  options: TorchConvTranspose2dOptions,
  init: ParamInit,
): tf.SymbolicTensor {
  const where = "torchConvTranspose2d";
  const {
    filters,
    kernelSize: k,
    stride = 1,
    padding = 0,
    outputPadding = 0,
    activation = "linear",
  } = options;
  checkPositiveInt(filters, "filters", where);
  checkPositiveInt(k, "kernelSize", where);
  checkPositiveInt(stride, "stride", where);
  checkNonNegativeInt(padding, "padding", where);
  checkNonNegativeInt(outputPadding, "outputPadding", where);
  if (outputPadding > padding) {
    throw new RangeError(
      `${where}: outputPadding (${outputPadding}) must not exceed padding (${padding})`,
    );
  }
  if (outputPadding >= stride && outputPadding > 0) {
    throw new RangeError(
      `${where}: outputPadding (${outputPadding}) must be smaller than stride (${stride})`,
    );
  }
  channelsOf(x, where);
  // Activation must come after the crop, so the layer itself stays linear.
  const full = tf.layers.conv2dTranspose({
    filters,
    kernelSize: k,
    strides: stride,
    padding: "valid",
    kernelInitializer: init.kernel(),
    // PyTorch computes the bias bound from weight.size(1) * k * k = filters * k * k.
    biasInitializer: init.bias(filters * k * k),
  }).apply(x) as tf.SymbolicTensor;
  const end = padding - outputPadding;
  const cropped = padding > 0 || end > 0
    ? tf.layers.cropping2D({ cropping: [[padding, end], [padding, end]] }).apply(
      full,
    ) as tf.SymbolicTensor
    : full;
  return activation === "linear"
    ? cropped
    : tf.layers.activation({ activation }).apply(cropped) as tf.SymbolicTensor;
}

/**
 * PyTorch-default batch normalisation (`nn.BatchNorm1d/2d`: momentum 0.1 == Keras momentum 0.9,
 * eps 1e-5) over the last axis.
 *
 * @param x Input (features or NHWC channels last).
 * @returns Normalised output.
 */
export function torchBatchNorm(x: tf.SymbolicTensor): tf.SymbolicTensor {
  // tfjs's batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5 }) computes the same;
  // TorchBatchNorm differentiates it in 10 ops instead of ~100 (torch_batch_norm.ts).
  return new TorchBatchNorm({ momentum: 0.9, epsilon: 1e-5 }).apply(x) as tf.SymbolicTensor;
}

/**
 * PyTorch `nn.Linear(inFeatures, units)` with PyTorch default initialisation from `init`.
 *
 * @param x `[N, inFeatures]` input.
 * @param units Output features.
 * @param init Where the weights come from.
 * @param activation Activation applied by the layer (default `"linear"`).
 * @returns `[N, units]` output.
 */
export function torchLinear(
  x: tf.SymbolicTensor,
  units: number,
  init: ParamInit,
  activation: "linear" | "relu" | "sigmoid" = "linear",
): tf.SymbolicTensor {
  checkPositiveInt(units, "units", "torchLinear");
  const inFeatures = x.shape[x.shape.length - 1];
  if (inFeatures == null) throw new Error("torchLinear: input feature count must be known");
  return fusedDense({
    units,
    activation,
    kernelInitializer: init.kernel(),
    biasInitializer: init.bias(inFeatures),
  }).apply(x) as tf.SymbolicTensor;
}

/**
 * A plain activation layer.
 *
 * @param x Input.
 * @param activation Activation name.
 * @returns Activated output.
 */
export function activation(
  x: tf.SymbolicTensor,
  activation: "relu" | "sigmoid" | "linear",
): tf.SymbolicTensor {
  return tf.layers.activation({ activation }).apply(x) as tf.SymbolicTensor;
}
