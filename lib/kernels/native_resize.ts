/**
 * Image resizing as TensorFlow's own resize ops, for tfjs-node.
 *
 * `Resize2D` (lib/models/resize_layer.ts) resizes with two interpolation matrices, which costs
 * three transposes and two matmuls forward and as many backward (~2.5 ms of the 50 ms
 * write-up-000 CNN step on tfjs-node, profiled). TensorFlow's `ResizeBilinear` with
 * `half_pixel_centers` samples at `(i + 0.5) * in / out - 0.5`, clamped to the image, which is
 * PyTorch's `align_corners=False` and the matrices' rule; `ResizeNearestNeighbor` without
 * half-pixel centres takes `floor(i * in / out)`, PyTorch's legacy "nearest" and the matrices'
 * rule. {@link nativeResize} runs those and their gradient ops (one op each way).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { boolAttr, runNativeOp, typeAttr } from "./native_ops.ts";

/**
 * Resizes NHWC `x` to `height` x `width` on the "tensorflow" backend, differentiable in `x`.
 *
 * @param x Float32 images [N, H, W, C].
 * @param height Output height.
 * @param width Output width.
 * @param interpolation "bilinear" (PyTorch `align_corners=False`) or "nearest" (PyTorch legacy).
 * @returns [N, height, width, C].
 */
export function nativeResize(
  x: tf.Tensor,
  height: number,
  width: number,
  interpolation: "bilinear" | "nearest",
): tf.Tensor {
  const bilinear = interpolation === "bilinear";
  const attrs = () => [
    typeAttr(),
    boolAttr("align_corners", false),
    boolAttr("half_pixel_centers", bilinear),
  ];
  const forward = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const images = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    save([images]);
    const size = tf.tensor1d([height, width], "int32");
    const op = bilinear ? "ResizeBilinear" : "ResizeNearestNeighbor";
    const [, inH, inW] = images.shape;
    return {
      value: runNativeOp(op, attrs(), [images, size], 1)[0],
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const gradient = Array.isArray(dy) ? dy[0] : dy;
        // ResizeBilinearGrad takes the original image for its shape (and dtype);
        // ResizeNearestNeighborGrad takes the original size.
        return [
          bilinear
            ? runNativeOp("ResizeBilinearGrad", attrs(), [gradient, saved[0]], 1)[0]
            : runNativeOp(
              "ResizeNearestNeighborGrad",
              attrs(),
              [gradient, tf.tensor1d([inH, inW], "int32")],
              1,
            )[0],
        ];
      },
    };
  });
  return forward(x);
}
