/**
 * `tf.layers.dense` with a faster path on tfjs-node.
 *
 * {@link FusedDense} is tfjs-layers' own Dense layer (same arguments, weights, initialisers,
 * configuration) with one change: on the "tensorflow" backend, for rank-2 inputs and the
 * activations the zoo uses, the forward and backward pass run as TensorFlow's 2-D `MatMul`,
 * `BiasAdd` and activation ops (`lib/kernels/native_dense.ts`), 7 ops a step instead of ~15.
 * Everywhere else it computes exactly what `tf.layers.dense` computes, because it is that code.
 *
 * tfjs-layers does not export the Dense class, so it is taken from an instance; it is a class
 * because tfjs-layers' layers are.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { isNativeBackend } from "../kernels/native_ops.ts";
import { nativeDense, type NativeDenseActivation } from "../kernels/native_dense.ts";

/** Arguments of `tf.layers.dense`. */
export type FusedDenseArgs = Parameters<typeof tf.layers.dense>[0];

/** The fields of tfjs-layers' Dense this module reads. */
interface DenseFields {
  kernel: { read(): tf.Tensor };
  bias: { read(): tf.Tensor } | null;
  activation: { getClassName(): string };
}

/**
 * tfjs-layers' Dense class, which tfjs does not export; exported here so that the docs can name
 * {@link FusedDense}'s base class.
 */
export const DenseLayer = Object.getPrototypeOf(tf.layers.dense({ units: 1 }))
  .constructor as (new (args: FusedDenseArgs) => tf.layers.Layer) & typeof tf.layers.Layer;

const NATIVE_ACTIVATIONS: Record<string, NativeDenseActivation> = {
  linear: "linear",
  relu: "relu",
  sigmoid: "sigmoid",
};

/** tfjs-layers' Dense with TensorFlow's 2-D ops on tfjs-node (see the module doc). */
export class FusedDense extends DenseLayer {
  /** Name under which the class is registered for (de)serialisation. */
  static className = "FusedDense";

  /** Dense's `call`, or the native ops where they apply. */
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: tf.serialization.ConfigDict): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const { kernel, bias, activation } = this as unknown as DenseFields;
    if (!nativeDenseApplies(x, activation.getClassName())) {
      return super.call(inputs, kwargs) as tf.Tensor;
    }
    const native = NATIVE_ACTIVATIONS[activation.getClassName()];
    return tf.tidy(() => nativeDense(x, kernel.read(), bias?.read() ?? null, native));
  }
}
tf.serialization.registerClass(FusedDense);

/** Whether the native 2-D path runs for input `x` and the named activation. */
function nativeDenseApplies(x: tf.Tensor, activationName: string): boolean {
  return isNativeBackend() && Object.hasOwn(NATIVE_ACTIVATIONS, activationName) &&
    x.rank === 2 && x.dtype === "float32";
}

/**
 * `activate(x kernel + bias)` as a {@link FusedDense} computes it (TensorFlow's 2-D ops where
 * they apply, else tfjs' matMul, add and the activation) for weights that are not a layer's,
 * such as a layer with a BatchNorm folded in.
 *
 * @param x Input [N, in].
 * @param parts Kernel, bias and activation (see {@link denseParts}).
 * @returns The output [N, out].
 */
export function applyDense(x: tf.Tensor, parts: DenseParts): tf.Tensor {
  return tf.tidy(() => {
    if (nativeDenseApplies(x, parts.activationName)) {
      return nativeDense(x, parts.kernel, parts.bias, NATIVE_ACTIVATIONS[parts.activationName]);
    }
    const z = tf.matMul(x, parts.kernel);
    return parts.activate(parts.bias === null ? z : tf.add(z, parts.bias));
  });
}

/**
 * Builds a {@link FusedDense} layer; same arguments as `tf.layers.dense`.
 *
 * @param args Units, activation, initialisers, ...
 * @returns The layer, to `apply` to a symbolic or concrete tensor.
 */
export function fusedDense(args: FusedDenseArgs): FusedDense {
  return new FusedDense(args);
}

/** A dense layer's current weights and activation, as {@link denseParts} returns them. */
export interface DenseParts {
  /** Kernel [in, out] (the layer's variable; do not dispose). */
  kernel: tf.Tensor;
  /** Bias [out], or null for a layer without one. */
  bias: tf.Tensor | null;
  /** The activation as Dense applies it after `x kernel + bias`. */
  activate: (z: tf.Tensor) => tf.Tensor;
  /** The activation's class name (`"relu"`, `"linear"`, ...). */
  activationName: string;
}

/**
 * The kernel, bias and activation of a dense layer (tfjs-layers' Dense or {@link FusedDense}).
 *
 * @param layer A built dense layer.
 * @returns Its parts; the tensors are the layer's own (do not dispose them).
 * @throws Error if `layer` is not a dense layer or not built.
 */
export function denseParts(layer: tf.layers.Layer): DenseParts {
  if (!isDenseLayer(layer)) throw new Error(`denseParts: ${layer.name} is not a dense layer`);
  const fields = layer as unknown as DenseFields & {
    activation: { apply(z: tf.Tensor): tf.Tensor };
  };
  if (!layer.built) throw new Error(`denseParts: ${layer.name} is not built`);
  return {
    kernel: fields.kernel.read(),
    bias: fields.bias?.read() ?? null,
    activate: (z) => fields.activation.apply(z),
    activationName: fields.activation.getClassName(),
  };
}

/**
 * Whether `layer` is a dense layer: tfjs-layers' Dense or {@link FusedDense}.
 *
 * @param layer Any layer.
 */
export function isDenseLayer(layer: tf.layers.Layer): boolean {
  return layer instanceof DenseLayer;
}
