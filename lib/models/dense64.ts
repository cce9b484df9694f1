/**
 * E9 (write-up 004): the Keras dense autoencoder 784 -> 784 -> 64 -> 784.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { fusedDense } from "./fused_dense.ts";
import { type Autoencoder, composeAutoencoder } from "./autoencoder.ts";
import { paramInit } from "./init.ts";

/** Options of {@link buildDense64Autoencoder}. */
export interface Dense64Options {
  /** Integer seed of the initial weights (Keras defaults: Glorot-uniform, zero bias). */
  seed?: number;
}

/**
 * Builds the write-up-004 dense model: `Dense(784, relu)`, `Dense(64, relu)` (the code),
 * `Dense(784, sigmoid)`. The encoder is the first two layers, the decoder the last.
 * Keras count: 784*784+784 + 784*64+64 + 64*784+784 = 716,640 parameters.
 *
 * @param options Seed.
 * @returns The autoencoder (`inputKind: "flat"`, `latentDim: 64`), named `dense-64`.
 */
export function buildDense64Autoencoder(options: Dense64Options = {}): Autoencoder {
  const init = paramInit("keras", options.seed);
  const dense = (x: tf.SymbolicTensor, units: number, activation: "relu" | "sigmoid") =>
    fusedDense({
      units,
      activation,
      kernelInitializer: init.kernel(),
      biasInitializer: init.bias(x.shape[1] as number),
    }).apply(x) as tf.SymbolicTensor;
  const x = tf.input({ shape: [784] });
  const code = dense(dense(x, 784, "relu"), 64, "relu");
  const encoder = tf.model({ inputs: x, outputs: code, name: "dense_64_encoder" });
  const z = tf.input({ shape: [64] });
  const decoder = tf.model({
    inputs: z,
    outputs: dense(z, 784, "sigmoid"),
    name: "dense_64_decoder",
  });
  return composeAutoencoder("dense-64", "flat", encoder, decoder);
}
