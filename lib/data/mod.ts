/**
 * Data loading: strict IDX reader, MNIST as tensors with seeded splits, the Kaggle
 * "Digit Recognizer" CSV layout (generated from MNIST, read with nodejs-polars), and cached
 * content digests of the files read.
 *
 * ```ts
 * import { countByDigit, loadMnist } from "../lib/data/mod.ts";
 * const { train, validation, test } = await loadMnist({ trainLimit: 10000, seed: 0 });
 * ```
 *
 * @module
 */
export * from "./idx.ts";
export * from "./mnist.ts";
export * from "./kaggle.ts";
export * from "./statistics.ts";
export * from "./noise.ts";
export * from "./digest.ts";
