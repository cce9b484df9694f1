/**
 * A spatial resize layer with PyTorch `F.interpolate` semantics and correct gradients.
 *
 * Why not `tf.layers.resizing` or `tf.layers.upSampling2d`? In tfjs-layers 4.22 `resizing`
 * reports a wrong output shape for batched input (it drops the batch axis and takes the width as
 * the channel count) and resizes with `alignCorners = true`; `upSampling2d` only scales by
 * integer factors (3 -> 7 is impossible). `tf.image.resizeBilinear(..., halfPixelCenters=true)`
 * would give PyTorch's forward pass, but the tfjs gradient kernel (`ResizeBilinearGrad`) ignores
 * `halfPixelCenters` and back-propagates through a different interpolation than the forward one.
 *
 * Resizing is linear and separable, so this layer writes it as `out = A_h · x · A_wᵀ` with small
 * interpolation matrices built on the CPU and applies them with `matMul`: exact forward values,
 * exact gradients (through `matMul`, `transpose`, `reshape` only, which every backend has).
 *
 * Semantics (PyTorch, `align_corners=False`):
 * - `"bilinear"`: source coordinate `(dst + 0.5) * in/out - 0.5`, clamped at 0.
 * - `"nearest"`: legacy nearest, source index `floor(dst * in/out)` (PyTorch's `mode="nearest"`,
 *   also TF's `resize_nearest_neighbor` without half-pixel centres).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { isNativeBackend } from "../kernels/native_ops.ts";
import { nativeResize } from "../kernels/native_resize.ts";

/** Interpolation of {@link Resize2D}. */
export type ResizeInterpolation = "nearest" | "bilinear";

/** Options of {@link resize2d}. */
export interface Resize2DArgs {
  /** Output height in pixels (positive integer). */
  height: number;
  /** Output width in pixels (positive integer). */
  width: number;
  /** `"nearest"` or `"bilinear"` (default `"bilinear"`). */
  interpolation?: ResizeInterpolation;
  /** Optional layer name. */
  name?: string;
}

/**
 * The `[outSize, inSize]` matrix that resizes one axis from `inSize` to `outSize` samples with
 * PyTorch's `align_corners=False` rules (see the module doc). Row `i` holds the weights of the
 * input samples that make output sample `i`; every row sums to 1.
 *
 * @param inSize Input length along the axis (positive integer).
 * @param outSize Output length along the axis (positive integer).
 * @param interpolation `"nearest"` or `"bilinear"`.
 * @returns Row-major `Float32Array` of length `outSize * inSize`.
 */
export function interpolationMatrix(
  inSize: number,
  outSize: number,
  interpolation: ResizeInterpolation,
): Float32Array {
  for (const [what, n] of [["inSize", inSize], ["outSize", outSize]] as const) {
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(`interpolationMatrix: ${what} must be a positive integer, got ${n}`);
    }
  }
  const m = new Float32Array(outSize * inSize);
  const scale = inSize / outSize;
  for (let i = 0; i < outSize; i++) {
    if (interpolation === "nearest") {
      m[i * inSize + Math.min(Math.floor(i * scale), inSize - 1)] = 1;
    } else if (interpolation === "bilinear") {
      const src = Math.max((i + 0.5) * scale - 0.5, 0);
      const lo = Math.min(Math.floor(src), inSize - 1);
      const hi = Math.min(lo + 1, inSize - 1);
      const frac = src - lo;
      m[i * inSize + lo] += 1 - frac;
      m[i * inSize + hi] += frac;
    } else {
      throw new RangeError(
        `interpolationMatrix: interpolation must be "nearest" or "bilinear", got ${interpolation}`,
      );
    }
  }
  return m;
}

/**
 * Resizes NHWC feature maps to a fixed height and width (see the module doc for semantics).
 * Registered with `tf.serialization`, so models that contain it save and load.
 */
export class Resize2D extends tf.layers.Layer {
  /** Name under which the class is registered for (de)serialisation. */
  static className = "Resize2D";
  /** Output height. */
  readonly height: number;
  /** Output width. */
  readonly width: number;
  /** Interpolation mode. */
  readonly interpolation: ResizeInterpolation;

  /**
   * Creates the layer.
   * @param args Output size and interpolation.
   */
  constructor(args: Resize2DArgs) {
    super({ name: args.name });
    const interpolation = args.interpolation ?? "bilinear";
    if (interpolation !== "nearest" && interpolation !== "bilinear") {
      throw new RangeError(
        `Resize2D: interpolation must be "nearest" or "bilinear", got ${interpolation}`,
      );
    }
    for (const [what, n] of [["height", args.height], ["width", args.width]] as const) {
      if (!Number.isInteger(n) || n < 1) {
        throw new RangeError(`Resize2D: ${what} must be a positive integer, got ${n}`);
      }
    }
    this.height = args.height;
    this.width = args.width;
    this.interpolation = interpolation;
  }

  /** `[N, H, W, C] -> [N, height, width, C]`. */
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    if (shape.length !== 4) {
      throw new Error(`Resize2D expects NHWC input of rank 4, got shape [${shape.join(", ")}]`);
    }
    return [shape[0], this.height, this.width, shape[3]];
  }

  /** Applies `A_h · x · A_wᵀ` per image and channel. */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      if (x.rank !== 4) {
        throw new Error(`Resize2D expects NHWC input of rank 4, got shape [${x.shape.join(", ")}]`);
      }
      if (isNativeBackend() && x.dtype === "float32") {
        return nativeResize(x, this.height, this.width, this.interpolation);
      }
      const [n, h, w, c] = x.shape;
      const outH = this.height;
      const outW = this.width;
      const ah = tf.tensor2d(interpolationMatrix(h, outH, this.interpolation), [outH, h]);
      const aw = tf.tensor2d(interpolationMatrix(w, outW, this.interpolation), [outW, w]);
      // Along H: [h, n*w*c] -> [outH, n*w*c].
      const alongH = tf.reshape(
        tf.matMul(ah, tf.reshape(tf.transpose(x, [1, 0, 2, 3]), [h, n * w * c])),
        [outH, n, w, c],
      );
      // Along W: [w, outH*n*c] -> [outW, outH*n*c].
      const alongW = tf.reshape(
        tf.matMul(aw, tf.reshape(tf.transpose(alongH, [2, 0, 1, 3]), [w, outH * n * c])),
        [outW, outH, n, c],
      );
      return tf.transpose(alongW, [2, 1, 0, 3]);
    });
  }

  /** Serialisable configuration (output size and interpolation). */
  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      height: this.height,
      width: this.width,
      interpolation: this.interpolation,
    };
  }
}
tf.serialization.registerClass(Resize2D);

/**
 * Creates a {@link Resize2D} layer.
 *
 * @param args Output size and interpolation (`"bilinear"` by default).
 * @returns The layer, ready to `apply` to an NHWC symbolic tensor.
 */
export function resize2d(args: Resize2DArgs): Resize2D {
  return new Resize2D(args);
}
