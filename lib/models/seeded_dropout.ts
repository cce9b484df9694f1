/**
 * A dropout layer whose masks are reproducible from a seed.
 *
 * Why not `tf.layers.dropout`: without a seed it draws its masks through `Math.random`, which
 * cannot be seeded, so two training runs with the same seeds differ; with a fixed `seed` it
 * hands the same number to `tf.randomUniform` on every call and so drops the same units in
 * every training step (one fixed mask instead of dropout). This layer keeps a seeded generator
 * ({@link mulberry32}) and draws a fresh mask seed from it on every call in training mode: the
 * masks change from step to step, and the same layer seed gives the same sequence of masks.
 *
 * Semantics are PyTorch's `nn.Dropout(p)` / Keras' `Dropout(rate)`: in training mode each value
 * is zeroed with probability `rate` and the kept values are scaled by `1 / (1 - rate)`; in
 * inference mode the layer is the identity. The mask is `tf.dropout`'s arithmetic on
 * `tf.randomUniform` with an explicit seed, whose random numbers are generated in JavaScript, so
 * every backend gets the same mask. They are drawn through `stepFeed`, so a training step with
 * this layer can still run as one compiled TensorFlow function (`kernels/compiled_step.ts`),
 * with the same masks in the same order.
 *
 * The generator's position is plain JavaScript state, not a weight: a model loaded from a
 * checkpoint starts the mask sequence of each layer from its beginning again (the weights and
 * optimizer state resume exactly; the masks of a resumed dropout run differ from those of an
 * uninterrupted one).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { stepFeed } from "../kernels/compiled_step.ts";
import { mulberry32 } from "../random.ts";

/** Options of {@link seededDropout}. */
export interface SeededDropoutArgs {
  /** Probability of zeroing a value in training mode, in [0, 1). */
  rate: number;
  /**
   * Integer seed of the mask sequence; undefined draws one from `Math.random` (not
   * reproducible). It is stored in the layer's config, so a saved model keeps it.
   */
  seed?: number;
  /** Optional layer name. */
  name?: string;
}

/**
 * Dropout with a fresh, seeded mask on every training call (see the module doc). Registered
 * with `tf.serialization`, so models that contain it save and load.
 */
export class SeededDropout extends tf.layers.Layer {
  /** Name under which the class is registered for (de)serialisation. */
  static className = "SeededDropout";
  /** Probability of zeroing a value in training mode. */
  readonly rate: number;
  /** Seed of the mask sequence. */
  readonly seed: number;
  /** Next mask seed, advanced on every training call. */
  #nextMaskSeed: () => number;
  /** How many masks this layer has drawn (training calls since it was built). */
  #masksDrawn = 0;

  /**
   * Creates the layer.
   * @param args Rate, seed and name.
   */
  constructor(args: SeededDropoutArgs) {
    super({ name: args.name });
    if (!(typeof args.rate === "number" && args.rate >= 0 && args.rate < 1)) {
      throw new RangeError(`SeededDropout: rate must be a number in [0, 1), got ${args.rate}`);
    }
    if (args.seed !== undefined && !Number.isInteger(args.seed)) {
      throw new RangeError(`SeededDropout: seed must be an integer or undefined, got ${args.seed}`);
    }
    this.rate = args.rate;
    this.seed = args.seed ?? Math.floor(Math.random() * 2 ** 31);
    const random = mulberry32(this.seed);
    this.#nextMaskSeed = () => Math.floor(random() * 2 ** 31);
    this.supportsMasking = true;
  }

  /** Number of masks drawn so far (one per call in training mode with `rate > 0`). */
  get masksDrawn(): number {
    return this.#masksDrawn;
  }

  /** Same shape as the input. */
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  /** Training mode: `x * mask / (1 - rate)` with the next mask of the sequence; else `x`. */
  override call(
    inputs: tf.Tensor | tf.Tensor[],
    kwargs: { training?: boolean } = {},
  ): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (kwargs.training !== true || this.rate === 0) return x;
    const shape = x.shape;
    const keep = 1 - this.rate;
    return tf.tidy(() => {
      // The step feed's producer is called again before each compiled step (not this method),
      // so it draws the next mask seed itself.
      const noise = stepFeed(() => {
        const maskSeed = this.#nextMaskSeed();
        this.#masksDrawn++;
        return tf.randomUniform(shape, 0, 1, "float32", maskSeed);
      });
      // tf.dropout's own arithmetic (tfjs-core 4.22 ops/dropout.ts), op for op.
      return tf.mul(x, tf.div(tf.floor(tf.add(noise, keep)), keep));
    });
  }

  /** Serialisable configuration (rate and seed). */
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, seed: this.seed };
  }
}
tf.serialization.registerClass(SeededDropout);

/**
 * Creates a {@link SeededDropout} layer.
 *
 * @param args Rate in [0, 1) and the seed of the mask sequence.
 * @returns The layer, ready to `apply` to a symbolic tensor.
 */
export function seededDropout(args: SeededDropoutArgs): SeededDropout {
  return new SeededDropout(args);
}
