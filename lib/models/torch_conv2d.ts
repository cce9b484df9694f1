/**
 * PyTorch's `nn.Conv2d` as one tfjs layer, with a faster path on tfjs-node.
 *
 * {@link TorchConv2D} is tfjs-layers' own Conv2D layer (same weights, initialisers and
 * configuration) plus `torchPadding`: zero rows and columns added on every side before a
 * `'valid'` convolution, as PyTorch's `padding=p` does (tfjs's `'same'` pads stride-2 inputs on
 * one side only). Where `'same'` pads exactly that (stride 1, `2p = k - 1`) the layer is a
 * `'same'` Conv2D. On the "tensorflow" backend, for NHWC float32 inputs and the activations
 * the zoo uses, it runs TensorFlow's convolution with the padding built in
 * (`lib/kernels/native_conv.ts`); everywhere else it runs `tf.pad` and Conv2D's own `call`,
 * the ops that a `zeroPadding2d` layer followed by a Conv2D ran before.
 *
 * tfjs-layers does not export the Conv2D class, so it is taken from an instance; it is a class
 * because tfjs-layers' layers are.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { isNativeBackend } from "../kernels/native_ops.ts";
import { nativeConv2d, type NativeConvActivation } from "../kernels/native_conv.ts";

/** Arguments of `tf.layers.conv2d`, plus PyTorch's padding. */
export type TorchConv2DArgs = Parameters<typeof tf.layers.conv2d>[0] & {
  /** Zero rows/columns added on every side (PyTorch's `padding`, default 0). */
  torchPadding?: number;
};

/** The fields of tfjs-layers' Conv2D this module reads. */
interface ConvFields {
  kernel: { read(): tf.Tensor };
  bias: { read(): tf.Tensor } | null;
  activation: { getClassName(): string };
  strides: number[];
  kernelSize: number[];
  dilationRate: number[];
  dataFormat: string;
  padding: string;
}

/**
 * tfjs-layers' Conv2D class, which tfjs does not export; exported here so that the docs can name
 * {@link TorchConv2D}'s base class.
 */
export const Conv2DLayer = Object.getPrototypeOf(tf.layers.conv2d({ filters: 1, kernelSize: 1 }))
  .constructor as (new (args: TorchConv2DArgs) => tf.layers.Layer) & typeof tf.layers.Layer;

const NATIVE_ACTIVATIONS: Record<string, NativeConvActivation> = {
  linear: "linear",
  relu: "relu",
  sigmoid: "sigmoid",
};

function square(value: number | number[] | undefined, what: string, fallback: number): number {
  const v = value === undefined ? fallback : Array.isArray(value) ? value : [value, value];
  const [a, b] = typeof v === "number" ? [v, v] : v;
  if (a !== b || !Number.isInteger(a) || a < 1) {
    throw new RangeError(`TorchConv2D: ${what} must be one positive integer, got ${value}`);
  }
  return a;
}

/** tfjs-layers' Conv2D with PyTorch's symmetric padding (see the module doc). */
export class TorchConv2D extends Conv2DLayer {
  /** Name under which the class is registered for (de)serialisation. */
  static className = "TorchConv2D";
  /** Zero rows/columns added on every side. */
  readonly torchPadding: number;

  /**
   * Creates the layer.
   * @param args `tf.layers.conv2d`'s arguments (its `padding` is ignored) and `torchPadding`.
   * @throws RangeError for a negative or fractional padding, a non-square kernel or stride.
   */
  constructor(args: TorchConv2DArgs) {
    const padding = args.torchPadding ?? 0;
    if (!Number.isInteger(padding) || padding < 0) {
      throw new RangeError(
        `TorchConv2D: torchPadding must be a non-negative integer, got ${padding}`,
      );
    }
    const k = square(args.kernelSize, "kernelSize", 1);
    const stride = square(args.strides, "strides", 1);
    // 'same' pads (k - 1) / 2 on each side at stride 1: PyTorch's padding, without a pad op.
    const same = padding > 0 && stride === 1 && 2 * padding === k - 1;
    super({ ...args, padding: same ? "same" : "valid" });
    this.torchPadding = padding;
  }

  /** Whether `call` must pad before Conv2D's own `'valid'` convolution. */
  private padsItself(): boolean {
    return this.torchPadding > 0 && (this as unknown as ConvFields).padding === "valid";
  }

  /** Conv2D's output shape for the padded input. */
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    if (!this.padsItself()) return super.computeOutputShape(inputShape);
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const p = 2 * this.torchPadding;
    const grow = (d: number | null) => (d === null ? null : d + p);
    return super.computeOutputShape([shape[0], grow(shape[1]), grow(shape[2]), shape[3]]);
  }

  /** The native convolution where it applies, else `tf.pad` and Conv2D's `call`. */
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: tf.serialization.ConfigDict): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const { kernel, bias, activation, strides, dilationRate, dataFormat } =
      this as unknown as ConvFields;
    const native = NATIVE_ACTIVATIONS[activation.getClassName()];
    if (
      isNativeBackend() && native !== undefined && x.rank === 4 && x.dtype === "float32" &&
      dataFormat === "channelsLast" && dilationRate.every((d) => d === 1)
    ) {
      return tf.tidy(() =>
        nativeConv2d(x, kernel.read(), bias?.read() ?? null, strides[0], this.torchPadding, native)
      );
    }
    if (!this.padsItself()) return super.call(inputs, kwargs) as tf.Tensor;
    const p = this.torchPadding;
    return tf.tidy(() =>
      super.call(tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]), kwargs) as tf.Tensor
    );
  }

  /** Conv2D's configuration plus `torchPadding`. */
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), torchPadding: this.torchPadding };
  }
}
tf.serialization.registerClass(TorchConv2D);
