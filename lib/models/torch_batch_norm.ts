/**
 * Batch normalisation over the last axis with a compact hand-written gradient.
 *
 * Arithmetic and state are those of `tf.layers.batchNormalization({ axis: -1, momentum,
 * epsilon })` (PyTorch's BatchNorm with Keras's momentum convention): in training the batch mean
 * and biased variance normalise the input, and the moving statistics move as
 * `moving - (moving - batch) * (1 - momentum)`; in inference the moving statistics are used.
 * The weights have the same names and order (`gamma`, `beta`, `moving_mean`,
 * `moving_variance`).
 *
 * Why a layer of our own: tfjs differentiates the layers' version through `moments` and the
 * five-input `FusedBatchNorm` gradient, about 100 small ops per layer and step (with `tile`s of
 * the full activation). On tfjs-node each op costs ~20 µs of dispatch, which made BatchNorm most
 * of the 10-layer MLP's step. Here the training forward is 9 ops and the backward 10, from the
 * closed form `dx = gamma / sqrt(var + eps) / N * (N dy - sum(dy) - xhat * sum(dy * xhat))`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { gradientTapeOn, isNativeBackend } from "../kernels/native_ops.ts";
import { nativeBatchNormInference, nativeBatchNormTraining } from "../kernels/native_batch_norm.ts";

/** Options of {@link TorchBatchNorm}. */
export interface TorchBatchNormArgs {
  /** Keras-style momentum of the moving statistics (PyTorch momentum 0.1 = 0.9 here). */
  momentum?: number;
  /** Added to the variance (PyTorch default 1e-5). */
  epsilon?: number;
  /** Layer name. */
  name?: string;
}

/** What `addWeight` returns (tfjs-layers' LayerVariable, not exported as a type). */
type LayerWeight = ReturnType<tf.layers.Layer["addWeight"]>;

/**
 * Batch normalisation over the last axis (see the module doc). Registered with
 * `tf.serialization`, so models that contain it save and load, and Workers can rebuild them.
 */
export class TorchBatchNorm extends tf.layers.Layer {
  /** Name under which the class is registered for (de)serialisation. */
  static className = "TorchBatchNorm";
  /** Keras-style momentum. */
  readonly momentum: number;
  /** Variance epsilon. */
  readonly epsilon: number;
  private gamma: LayerWeight | null = null;
  private beta: LayerWeight | null = null;
  private movingMean: LayerWeight | null = null;
  private movingVariance: LayerWeight | null = null;

  /**
   * Creates the layer.
   * @param args Momentum, epsilon and name.
   */
  constructor(args: TorchBatchNormArgs = {}) {
    super({ name: args.name });
    const { momentum = 0.9, epsilon = 1e-5 } = args;
    if (!(momentum >= 0 && momentum <= 1)) {
      throw new RangeError(`TorchBatchNorm: momentum must be in [0, 1], got ${momentum}`);
    }
    if (!(epsilon > 0)) throw new RangeError(`TorchBatchNorm: epsilon must be > 0, got ${epsilon}`);
    this.momentum = momentum;
    this.epsilon = epsilon;
  }

  /** Creates the four per-channel weights for the input's last axis. */
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const channels = shape[shape.length - 1];
    if (shape.length < 2 || channels == null) {
      throw new Error(
        `TorchBatchNorm: expected [batch, ..., channels] with known channels, got [${shape}]`,
      );
    }
    const c = [channels];
    this.gamma = this.addWeight("gamma", c, "float32", tf.initializers.ones(), undefined, true);
    this.beta = this.addWeight("beta", c, "float32", tf.initializers.zeros(), undefined, true);
    this.movingMean = this.addWeight(
      "moving_mean",
      c,
      "float32",
      tf.initializers.zeros(),
      undefined,
      false,
    );
    this.movingVariance = this.addWeight(
      "moving_variance",
      c,
      "float32",
      tf.initializers.ones(),
      undefined,
      false,
    );
    this.built = true;
  }

  /** Normalises with batch statistics (`training: true`, updating the moving ones) or moving. */
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: tf.serialization.ConfigDict): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const gamma = this.gamma!.read();
      const beta = this.beta!.read();
      if (kwargs["training"] !== true) {
        if (isNativeBackend() && !gradientTapeOn() && (x.rank === 2 || x.rank === 4)) {
          return nativeBatchNormInference(
            x,
            this.movingMean!.read(),
            this.movingVariance!.read(),
            gamma,
            beta,
            this.epsilon,
          );
        }
        if (isNativeBackend()) {
          // Under a tape (gradients through eval mode): tfjs-node's batchNorm kernel measured
          // 1.6 ms on [1000, 706]; x * scale + shift with the two [C] vectors made first, 0.7 ms.
          const { scale, shift } = this.inferenceAffine();
          return tf.add(tf.mul(x, scale), shift);
        }
        return tf.batchNorm(
          x,
          this.movingMean!.read(),
          this.movingVariance!.read(),
          beta,
          gamma,
          this.epsilon,
        );
      }
      const channels = x.shape[x.rank - 1];
      if (isNativeBackend() && x.rank === 4 && x.dtype === "float32" && x.size >= 2 * channels) {
        // Images: TensorFlow's fused ops, 2.6x faster here (see native_batch_norm.ts).
        const { y, mean, variance } = nativeBatchNormTraining(x, gamma, beta, this.epsilon);
        this.moveTowards(this.movingMean!, mean);
        this.moveTowards(this.movingVariance!, variance);
        tf.dispose([mean, variance]);
        return y;
      }
      const rows = x.rank === 2 ? x : tf.reshape(x, [-1, channels]);
      const normed = this.normalizeInTraining(rows, gamma, beta);
      return x.rank === 2 ? normed : tf.reshape(normed, x.shape);
    });
  }

  /**
   * What inference computes, as one affine map per channel: `x * scale + shift` with
   * `scale = gamma / sqrt(movingVariance + epsilon)` and `shift = beta - movingMean * scale`
   * (`lib/models/fold_batch_norm.ts` folds it into the next dense layer).
   *
   * @returns New tensors [C]; the caller disposes them.
   * @throws Error if the layer is not built.
   */
  inferenceAffine(): { scale: tf.Tensor1D; shift: tf.Tensor1D } {
    if (this.gamma === null) throw new Error(`TorchBatchNorm ${this.name}: not built`);
    return tf.tidy(() => {
      const scale = tf.mul(
        this.gamma!.read(),
        tf.rsqrt(tf.add(this.movingVariance!.read(), this.epsilon)),
      ) as tf.Tensor1D;
      const shift = tf.sub(
        this.beta!.read(),
        tf.mul(this.movingMean!.read(), scale),
      ) as tf.Tensor1D;
      return { scale, shift };
    });
  }

  /** `moving - (moving - batch) * (1 - momentum)`, written into the moving statistic. */
  private moveTowards(variable: LayerWeight, value: tf.Tensor): void {
    tf.tidy(() => {
      const current = variable.read();
      variable.write(tf.sub(current, tf.mul(tf.sub(current, value), 1 - this.momentum)));
    });
  }

  /** Training-mode forward on `[N, C]` with the compact gradient; updates the moving stats. */
  private normalizeInTraining(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
    const epsilon = this.epsilon;
    const forward = tf.customGrad(
      (...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
        const [xs, g, b] = args as tf.Tensor[];
        const save = args[3] as tf.GradSaveFunc;
        const n = xs.shape[0];
        const mean = tf.mean(xs, 0);
        const centered = tf.sub(xs, mean);
        const variance = tf.mean(tf.square(centered), 0);
        const inv = tf.rsqrt(tf.add(variance, epsilon));
        const xhat = tf.mul(centered, inv);
        this.moveTowards(this.movingMean!, mean);
        this.moveTowards(this.movingVariance!, variance);
        save([xhat, inv, g]);
        return {
          value: tf.add(tf.mul(xhat, g), b),
          gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
            const [savedXhat, savedInv, savedGamma] = saved;
            const grad = Array.isArray(dy) ? dy[0] : dy;
            const dBeta = tf.sum(grad, 0);
            const dGamma = tf.sum(tf.mul(grad, savedXhat), 0);
            const scale = tf.div(tf.mul(savedGamma, savedInv), n);
            const dx = tf.mul(
              scale,
              tf.sub(tf.sub(tf.mul(grad, n), dBeta), tf.mul(savedXhat, dGamma)),
            );
            return [dx, dGamma, dBeta];
          },
        };
      },
    );
    return forward(x, gamma, beta);
  }

  /** Serialisable configuration (momentum, epsilon). */
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), momentum: this.momentum, epsilon: this.epsilon };
  }
}
tf.serialization.registerClass(TorchBatchNorm);
