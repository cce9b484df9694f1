/**
 * The activations the native dense and convolution layers apply, and their gradients as
 * TensorFlow ops, for tfjs-node.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { runNativeOp, typeAttr } from "./native_ops.ts";

/** Activations the native layers apply (those of the model zoo). */
export type NativeActivation = "linear" | "relu" | "sigmoid";

/**
 * The gradient with respect to the pre-activation `z`, from `dy` and the layer's output `y`:
 * ReLU's and the sigmoid's derivatives are functions of the output (`y > 0` exactly where
 * `z > 0`, and `sigmoid'(z) = y (1 - y)`), so `z` need not be kept.
 *
 * @param activation What produced `y`.
 * @param dy Gradient with respect to the output.
 * @param y The output.
 * @returns `dy * activation'(z)` (`dy` itself for "linear").
 */
export function nativeActivationGrad(
  activation: NativeActivation,
  dy: tf.Tensor,
  y: tf.Tensor,
): tf.Tensor {
  if (activation === "relu") return runNativeOp("ReluGrad", [typeAttr()], [dy, y], 1)[0];
  if (activation === "sigmoid") return runNativeOp("SigmoidGrad", [typeAttr()], [y, dy], 1)[0];
  return dy;
}
