/**
 * A dense layer's forward and backward pass as TensorFlow's own 2-D ops, for tfjs-node.
 *
 * tfjs computes `activation(x W + b)` for rank-2 inputs by reshaping both operands to rank 3,
 * running `BatchMatMul` and reshaping back; under a gradient tape it does not fuse ReLU, so the
 * forward is six ops and the backward about nine (two more batched matmuls with transposed
 * operands, which TensorFlow runs 20-40% slower than `MatMul` with a transpose flag, measured).
 * {@link nativeDense} is three ops forward (`MatMul`, `BiasAdd`, the activation) and four
 * backward (the activation's gradient, `BiasAddGrad`, two `MatMul`s). Where Intel's oneDNN build
 * is loaded ({@link hasOneDnnFusedOps}) the forward pass is one `_MklNativeFusedMatMul` that
 * adds the bias and applies ReLU as it writes the output (4.5 instead of 5.1 ms for
 * [1000, 784] x [784, 706], measured).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type NativeActivation, nativeActivationGrad } from "./native_activation.ts";
import {
  boolAttr,
  hasOneDnnFusedOps,
  oneDnnFusedMatMul,
  runNativeOp,
  stringAttr,
  typeAttr,
} from "./native_ops.ts";

/** Activations {@link nativeDense} applies (see {@link NativeActivation}). */
export type NativeDenseActivation = NativeActivation;

function matMul(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean): tf.Tensor {
  const attrs = [
    typeAttr(),
    boolAttr("transpose_a", transposeA),
    boolAttr("transpose_b", transposeB),
  ];
  return runNativeOp("MatMul", attrs, [a, b], 1)[0];
}

function unary(op: string, x: tf.Tensor): tf.Tensor {
  return runNativeOp(op, [typeAttr()], [x], 1)[0];
}

/**
 * `activation(x kernel + bias)` for `x` [N, in], `kernel` [in, out], `bias` [out] (or null), on
 * the "tensorflow" backend, differentiable with respect to all three.
 *
 * @param x Input rows, float32, rank 2.
 * @param kernel Weights [in, out].
 * @param bias Bias [out], or null for none.
 * @param activation "linear", "relu" or "sigmoid".
 * @returns The output [N, out].
 */
export function nativeDense(
  x: tf.Tensor,
  kernel: tf.Tensor,
  bias: tf.Tensor | null,
  activation: NativeDenseActivation,
): tf.Tensor {
  if (x.rank !== 2 || kernel.rank !== 2) {
    throw new Error(
      `nativeDense: x and kernel must have rank 2, got [${x.shape}], [${kernel.shape}]`,
    );
  }
  const format = stringAttr("data_format", "NHWC");
  const fused = bias !== null && activation !== "sigmoid" && hasOneDnnFusedOps();
  const forward = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const inputs = args.slice(0, -1) as tf.Tensor[];
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const [xs, w, b] = inputs;
    let y: tf.Tensor;
    if (fused) {
      y = oneDnnFusedMatMul(xs, w, b, activation === "relu" ? ["BiasAdd", "Relu"] : ["BiasAdd"])[0];
    } else {
      const linear = matMul(xs, w, false, false);
      const z = b === undefined
        ? linear
        : runNativeOp("BiasAdd", [typeAttr(), format], [linear, b], 1)[0];
      y = activation === "relu"
        ? unary("Relu", z)
        : activation === "sigmoid"
        ? unary("Sigmoid", z)
        : z;
    }
    save([xs, w, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [savedX, savedW, savedY] = saved;
        const gradient = Array.isArray(dy) ? dy[0] : dy;
        const dz = nativeActivationGrad(activation, gradient, savedY);
        const dx = matMul(dz, savedW, false, true);
        const dw = matMul(savedX, dz, true, false);
        if (b === undefined) return [dx, dw];
        return [dx, dw, runNativeOp("BiasAddGrad", [typeAttr(), format], [dz], 1)[0]];
      },
    };
  });
  return bias === null ? forward(x, kernel) : forward(x, kernel, bias);
}
