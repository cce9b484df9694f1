/**
 * The common shape of every model in the zoo and the one way it is assembled.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** What kind of tensor a model takes: images `[N, 28, 28, 1]` or flat vectors `[N, 784]`. */
export type InputKind = "image" | "flat";

/** An autoencoder as three views over ONE set of weights. */
export interface Autoencoder {
  /** Zoo-style name, e.g. `"cnn-bilinear"`. */
  name: string;
  /** Input -> code `[N, latentDim]`. */
  encoder: tf.LayersModel;
  /** Code `[N, latentDim]` -> reconstruction (same shape as the input). */
  decoder: tf.LayersModel;
  /** Encoder then decoder, sharing their weights (training it trains both). */
  autoencoder: tf.LayersModel;
  /** `"image"`: input `[N, 28, 28, 1]`; `"flat"`: input `[N, 784]`. */
  inputKind: InputKind;
  /** Length of the code vector. */
  latentDim: number;
}

/** The input shape (without batch axis) of an {@link InputKind}. */
export function inputShapeOf(kind: InputKind): number[] {
  return kind === "image" ? [28, 28, 1] : [784];
}

/**
 * Wraps an encoder and a decoder into an {@link Autoencoder}; the `autoencoder` model applies the
 * two models to one fresh `Input`, so it holds no weights of its own.
 *
 * @param name The model's name.
 * @param inputKind What the encoder takes.
 * @param encoder Input -> `[N, latentDim]` code.
 * @param decoder `[N, latentDim]` code -> input-shaped output.
 * @returns The three views plus metadata.
 * @throws Error if the encoder/decoder shapes do not fit together or do not match `inputKind`.
 */
export function composeAutoencoder(
  name: string,
  inputKind: InputKind,
  encoder: tf.LayersModel,
  decoder: tf.LayersModel,
): Autoencoder {
  const expected = inputShapeOf(inputKind);
  const encIn = (encoder.inputs[0].shape as (number | null)[]).slice(1);
  const encOut = (encoder.outputs[0].shape as (number | null)[]).slice(1);
  const decIn = (decoder.inputs[0].shape as (number | null)[]).slice(1);
  const decOut = (decoder.outputs[0].shape as (number | null)[]).slice(1);
  const same = (a: (number | null)[], b: (number | null)[]) =>
    a.length === b.length && a.every((v, i) => v === b[i]);
  if (!same(encIn, expected)) {
    throw new Error(`${name}: encoder input [${encIn}] does not match ${inputKind} [${expected}]`);
  }
  if (encOut.length !== 1 || encOut[0] == null) {
    throw new Error(`${name}: encoder must output a flat code [N, d], got [N, ${encOut}]`);
  }
  if (!same(decIn, encOut)) {
    throw new Error(`${name}: decoder input [${decIn}] does not match encoder output [${encOut}]`);
  }
  if (!same(decOut, expected)) {
    throw new Error(`${name}: decoder output [${decOut}] does not match input [${expected}]`);
  }
  const input = tf.input({ shape: expected, name: `${name}_input` });
  const code = encoder.apply(input) as tf.SymbolicTensor;
  const output = decoder.apply(code) as tf.SymbolicTensor;
  const autoencoder = tf.model({ inputs: input, outputs: output, name: `${name}_autoencoder` });
  return { name, encoder, decoder, autoencoder, inputKind, latentDim: encOut[0] as number };
}

/**
 * Number of trainable parameters (PyTorch's `sum(p.numel() for p in m.parameters())`; batch-norm
 * counts `2 * channels` here).
 *
 * @param model Any tfjs layers model.
 * @returns Sum of the sizes of its trainable weights.
 */
export function countTrainableParams(model: tf.LayersModel): number {
  return model.trainableWeights.reduce(
    (sum, w) => sum + (w.shape as number[]).reduce((a, b) => a * b, 1),
    0,
  );
}

/**
 * Number of all parameters (Keras' `model.count_params()`; batch-norm counts `4 * channels`,
 * including the moving mean and variance).
 *
 * @param model Any tfjs layers model.
 * @returns Sum of the sizes of all its weights.
 */
export function countAllParams(model: tf.LayersModel): number {
  return model.weights.reduce(
    (sum, w) => sum + (w.shape as number[]).reduce((a, b) => a * b, 1),
    0,
  );
}
