/**
 * Max pooling's gradient through oneDNN on Intel's TensorFlow build, for tfjs-node.
 *
 * tfjs-node runs `MaxPoolGrad` as TensorFlow's Eigen kernel, which measured 3.5 ms for the CNN's
 * first pool ([64, 28, 28, 24], 2x2, stride 2), 1.7 and 0.7 ms for the next two: about 6 ms of a
 * 45 ms training step. oneDNN's pair `_MklNativeMaxPool` (which also returns a workspace: where
 * each maximum was) + `_MklNativeMaxPoolGrad` took 0.56 + 0.51 ms, 0.47 + 0.23, 0.10 + 0.09. The
 * kernel here recomputes the forward pass for its workspace, since tfjs's gradient only keeps the
 * input and output.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { NATIVE } from "./native_step.ts";
import {
  boolAttr,
  hasOneDnnFusedOps,
  intAttr,
  oneDnnKernelAttrs,
  runNativeOp,
  stringAttr,
  typeAttr,
} from "./native_ops.ts";

/** The attributes of tfjs's `MaxPoolGrad` kernel this module reads. */
interface MaxPoolGradAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: unknown;
  dimRoundingMode?: string;
}

const pair = (v: number | [number, number]): [number, number] => typeof v === "number" ? [v, v] : v;

/**
 * tfjs's `MaxPoolGrad` on the "tensorflow" backend through oneDNN where the loaded TensorFlow has
 * oneDNN's kernels ({@link hasOneDnnFusedOps}) and the pooling is one oneDNN takes (NHWC float32, `'valid'` or `'same'` padding, no rounding
 * mode); `original` (tfjs-node's kernel) everywhere else.
 *
 * @param original The kernel it replaces, for the cases oneDNN does not take.
 */
export function nativeMaxPoolGradConfig(original: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: tf.MaxPoolGrad,
    backendName: NATIVE,
    kernelFunc: (args) => {
      const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
      const { filterSize, strides, pad, dimRoundingMode } = args
        .attrs as unknown as MaxPoolGradAttrs;
      if (
        (pad !== "valid" && pad !== "same") || dimRoundingMode !== undefined ||
        input.dtype !== "float32" || input.shape.length !== 4 || !hasOneDnnFusedOps()
      ) {
        return original.kernelFunc(args);
      }
      const [kh, kw] = pair(filterSize);
      const [sh, sw] = pair(strides);
      const attrs = [
        typeAttr(),
        intAttr("ksize", [1, kh, kw, 1]),
        intAttr("strides", [1, sh, sw, 1]),
        stringAttr("padding", pad === "valid" ? "VALID" : "SAME"),
        stringAttr("data_format", "NHWC"),
        boolAttr("workspace_enabled", true),
        ...oneDnnKernelAttrs(),
      ];
      const [output, workspace] = runNativeOp("_MklNativeMaxPool", attrs, [input], 2);
      try {
        return runNativeOp("_MklNativeMaxPoolGrad", attrs, [input, output, dy, workspace], 1)[0];
      } finally {
        tf.dispose([output, workspace]);
      }
    },
  };
}
