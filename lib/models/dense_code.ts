/**
 * E8 (write-up 003): dense ReLU autoencoder with a 2-unit code, trained on the Kaggle CSV data.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { fusedDense } from "./fused_dense.ts";
import { type Autoencoder, composeAutoencoder } from "./autoencoder.ts";
import { paramInit } from "./init.ts";

/** Options of {@link buildDenseCodeAutoencoder}. */
export interface DenseCodeOptions {
  /**
   * Activation of the 2-unit code layer: `"relu"` (the write-up; codes are all >= 0) or
   * `"linear"` (the comparison the spec asks for).
   */
  codeActivation: "relu" | "linear";
  /** Integer seed of the initial weights; undefined: unseeded. */
  seed?: number;
  /**
   * Activation of the 784-unit output layer. Default `"relu"`, as in the write-up's code, where
   * every layer (output included) is `relu(xW + b)`.
   */
  outputActivation?: "relu" | "sigmoid" | "linear";
  /** Hidden sizes between 784 and the code (default `[256, 64]`, the write-up's `n_hidden`). */
  hiddenSizes?: number[];
  /** Code size (default 2). */
  codeSize?: number;
}

/**
 * Builds the write-up-003 autoencoder: 784 -> 256 -> 64 -> 2 -> 64 -> 256 -> 784, ReLU on every
 * hidden layer. The write-up's text does not list the sizes; they come from its source code
 * (`n_hidden = [256, 64, 2]`, learning rate 0.0005, batch 200), which also applies ReLU to the
 * code and to the output. Initialisation follows that code too: truncated normal kernels with
 * stddev 0.1 and biases 0.1 (the `"tf1-truncated"` scheme).
 *
 * @param options Code activation (the experiment's variable), seed, output activation, sizes.
 * @returns The autoencoder (`inputKind: "flat"`), named `dense-relu-code` or `dense-linear-code`.
 */
export function buildDenseCodeAutoencoder(options: DenseCodeOptions): Autoencoder {
  const where = "buildDenseCodeAutoencoder";
  const { codeActivation, seed, outputActivation = "relu", hiddenSizes = [256, 64], codeSize = 2 } =
    options;
  if (codeActivation !== "relu" && codeActivation !== "linear") {
    throw new RangeError(
      `${where}: codeActivation must be "relu" or "linear", got ${codeActivation}`,
    );
  }
  for (const n of [...hiddenSizes, codeSize]) {
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(`${where}: layer sizes must be positive integers, got ${n}`);
    }
  }
  const init = paramInit("tf1-truncated", seed);
  const dense = (x: tf.SymbolicTensor, units: number, act: string) =>
    fusedDense({
      units,
      activation: act as "relu" | "linear" | "sigmoid",
      kernelInitializer: init.kernel(),
      biasInitializer: init.bias(x.shape[1] as number),
    }).apply(x) as tf.SymbolicTensor;

  const x = tf.input({ shape: [784] });
  let h = x;
  for (const units of hiddenSizes) h = dense(h, units, "relu");
  const code = dense(h, codeSize, codeActivation);
  const name = `dense-${codeActivation}-code`;
  const encoder = tf.model({
    inputs: x,
    outputs: code,
    name: `dense_${codeActivation}_code_encoder`,
  });

  const z = tf.input({ shape: [codeSize] });
  let g = z;
  for (const units of [...hiddenSizes].reverse()) g = dense(g, units, "relu");
  const out = dense(g, 784, outputActivation);
  const decoder = tf.model({
    inputs: z,
    outputs: out,
    name: `dense_${codeActivation}_code_decoder`,
  });
  return composeAutoencoder(name, "flat", encoder, decoder);
}
