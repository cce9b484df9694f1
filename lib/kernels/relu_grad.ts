/**
 * ReLU's gradient as one kernel where the backend has one (TensorFlow's `ReluGrad`).
 *
 * tfjs differentiates `relu(x)` as `dy * step(x)`: two full passes over the activation, and on
 * tfjs-node `Step` itself is several ops (see `native_step.ts`). {@link reluGradientConfig}
 * replaces the gradient of `Relu` so that it runs the kernel {@link RELU_GRAD} when the active
 * backend registers one ({@link nativeReluGradConfig} on "tensorflow": TensorFlow's fused
 * `ReluGrad`, `dy * (x > 0)`), and tfjs's own formula otherwise, so wasm, cpu and webgpu compute
 * exactly what they did before.
 *
 * The one difference on the native backend: where `x` is NaN, `ReluGrad` gives 0 and tfjs gives
 * NaN. A NaN activation already makes the loss NaN, which stops training, so nothing that
 * trains normally sees it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { NATIVE } from "./native_step.ts";
import { runNativeOp, typeAttr } from "./native_ops.ts";

/** Name of the kernel `dy * (x > 0)` (inputs `dy`, `x`). */
export const RELU_GRAD = "AeReluGrad";

/** The gradient of `Relu` that uses {@link RELU_GRAD} where the backend has it. */
export const reluGradientConfig: tf.GradConfig = {
  kernelName: tf.Relu,
  inputsToSave: ["x"],
  gradFunc: (dy, saved) => {
    const [x] = saved;
    const gradient = dy as tf.Tensor;
    return {
      x: () =>
        tf.getKernel(RELU_GRAD, tf.getBackend()) !== undefined && x.dtype === "float32"
          ? tf.engine().runKernel(RELU_GRAD, { dy: gradient, x }) as tf.Tensor
          // tfjs-core 4.22's own Relu gradient.
          : tf.mul(gradient, tf.step(tf.cast(x, "float32"))),
    };
  },
};

/** {@link RELU_GRAD} on the "tensorflow" backend: TensorFlow's `ReluGrad(gradients, features)`. */
export const nativeReluGradConfig: tf.KernelConfig = {
  kernelName: RELU_GRAD,
  backendName: NATIVE,
  kernelFunc: ({ inputs }) => {
    const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
    return runNativeOp("ReluGrad", [typeAttr()], [dy, x], 1)[0];
  },
};
