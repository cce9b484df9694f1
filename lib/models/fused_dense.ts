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

/** tfjs-layers' (unexported) Dense class. */
const DenseLayer = Object.getPrototypeOf(tf.layers.dense({ units: 1 }))
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
    const native = NATIVE_ACTIVATIONS[activation.getClassName()];
    if (!isNativeBackend() || native === undefined || x.rank !== 2 || x.dtype !== "float32") {
      return super.call(inputs, kwargs) as tf.Tensor;
    }
    return tf.tidy(() => nativeDense(x, kernel.read(), bias?.read() ?? null, native));
  }
}
tf.serialization.registerClass(FusedDense);

/**
 * Builds a {@link FusedDense} layer; same arguments as `tf.layers.dense`.
 *
 * @param args Units, activation, initialisers, ...
 * @returns The layer, to `apply` to a symbolic or concrete tensor.
 */
export function fusedDense(args: FusedDenseArgs): FusedDense {
  return new FusedDense(args);
}

/**
 * Whether `layer` is a dense layer: tfjs-layers' Dense or {@link FusedDense}.
 *
 * @param layer Any layer.
 */
export function isDenseLayer(layer: tf.layers.Layer): boolean {
  return layer instanceof DenseLayer;
}
