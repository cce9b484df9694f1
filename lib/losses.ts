/**
 * The training losses by name. A module of its own so that the data-parallel Workers
 * (`lib/parallel/`) can build the trainer's loss without loading the trainer (nodejs-polars,
 * checkpoints); `train.ts` re-exports it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** A loss on a batch: the mean over all elements, so batch means average to the data mean. */
export type LossFunction = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar;

/** Built-in losses: mean squared error, or binary cross-entropy on probabilities (sigmoid outputs). */
export type LossName = "mse" | "bce";

const BCE_EPSILON = 1e-7;

/**
 * The loss function for a name (or the function itself).
 *
 * @param loss "mse", "bce" or a function.
 * @returns A function `(yTrue, yPred) => scalar mean loss`.
 */
export function lossFunction(loss: LossName | LossFunction = "mse"): LossFunction {
  if (typeof loss === "function") return loss;
  if (loss === "mse") {
    return (yTrue, yPred) => tf.mean(tf.squaredDifference(yTrue, yPred)) as tf.Scalar;
  }
  if (loss === "bce") {
    // Clipping like Keras keeps log() finite when a sigmoid saturates at 0 or 1.
    return (yTrue, yPred) =>
      tf.tidy(() => {
        const p = tf.clipByValue(yPred, BCE_EPSILON, 1 - BCE_EPSILON);
        const terms = tf.add(
          tf.mul(yTrue, tf.log(p)),
          tf.mul(tf.sub(1, yTrue), tf.log(tf.sub(1, p))),
        );
        return tf.neg(tf.mean(terms)) as tf.Scalar;
      });
  }
  throw new RangeError(`loss must be "mse", "bce" or a function; got ${JSON.stringify(loss)}`);
}
