/**
 * `Step` for the native "tensorflow" backend (tfjs-node, tfjs-node-gpu) as two TensorFlow ops.
 *
 * tfjs differentiates ReLU as `dy * step(x)`. tfjs-node 4.22 builds `Step` from seven ops
 * (IsNan, Greater, a scalar, `ones` and `fill` materialised at the input's full shape, and two
 * Selects). In a training step of the write-up-000 CNN that took 15-21 ms of 70-88 ms. For
 * `alpha = 0` (ReLU's case) `sign(relu(x))` gives the same values: 1 where x > 0, 0 where
 * x <= 0 (also -0 and -Infinity), NaN where x is NaN; tested against the cpu backend's Step.
 * Other alphas keep tfjs-node's own kernel.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Name of the backend tfjs-node and tfjs-node-gpu register. */
export const NATIVE = "tensorflow";

/**
 * Builds the replacement `Step` kernel; `original` (tfjs-node's) handles alpha != 0.
 *
 * @param original The kernel config it replaces.
 * @returns A kernel config for the "tensorflow" backend.
 */
export function nativeStepConfig(original: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: tf.Step,
    backendName: NATIVE,
    kernelFunc: (args) => {
      const { x } = args.inputs as { x: tf.Tensor };
      const alpha = (args.attrs as { alpha?: number } | undefined)?.alpha ?? 0;
      if (alpha !== 0 || x.dtype !== "float32") return original.kernelFunc(args);
      // Runs on the "tensorflow" backend's own Relu and Sign kernels; tidy frees the ReLU.
      return tf.tidy(() => tf.sign(tf.relu(x)));
    },
  };
}
