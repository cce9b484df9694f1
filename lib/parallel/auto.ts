/**
 * How many threads `trainAutoencoder` uses by default (`workers: "auto"`), decided by
 * measurement.
 *
 * Measured on this project's machine (2 vCPUs, wasm, batch 64, `deno task bench --workers 2`):
 * splitting each batch over two threads made every convolutional model of the zoo faster
 * (1.2x-2.0x per epoch) and every dense/MLP model slower (0.7x-1.0x). The two vCPUs share
 * one core's SIMD units (two XNNPACK matmuls at once run at about 1.05x the throughput of one),
 * so matmul-bound models gain nothing from a second thread and pay for copying weights and
 * gradients (16 MB each way per step for the 4M-parameter MLP). Convolutional models spend
 * much of a step in work that does run in parallel (im2col, pooling and resize gradients in
 * JavaScript, many small ops).
 *
 * The default only turns on where training stays the same up to float rounding: no
 * BatchNorm (each part would be normalised with its own statistics) and no random layers
 * (dropout masks would follow other seed streams). Such models can still ask for
 * `workers: 2` explicitly.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Layer classes whose presence makes a model "convolutional" for {@link autoWorkers}. */
const CONVOLUTIONS = new Set([
  "Conv2D",
  "TorchConv2D",
  "Conv2DTranspose",
  "SeparableConv2D",
  "DepthwiseConv2D",
]);

/** Layers whose training result depends on how the batch is split (statistics, randomness). */
const SPLIT_DEPENDENT = new Set([
  "BatchNormalization",
  "TorchBatchNorm",
  "Dropout",
  "SpatialDropout1D",
  "SpatialDropout2D",
  "AlphaDropout",
  "GaussianDropout",
  "GaussianNoise",
  "SeededDropout",
]);

/** Every layer of a model, descending into models nested as layers. */
function allLayers(model: tf.LayersModel): tf.layers.Layer[] {
  return model.layers.flatMap((layer) =>
    layer instanceof tf.LayersModel ? [layer, ...allLayers(layer)] : [layer]
  );
}

/**
 * Whether a model (or a model nested in it) has a convolution layer.
 *
 * @param model Any layers model.
 */
export function hasConvolution(model: tf.LayersModel): boolean {
  return allLayers(model).some((layer) => CONVOLUTIONS.has(layer.getClassName()));
}

/**
 * Whether data-parallel training of this model equals one-thread training up to float
 * rounding: no BatchNorm and no random (dropout, noise) layers.
 *
 * @param model Any layers model.
 */
export function splitInvariant(model: tf.LayersModel): boolean {
  return !allLayers(model).some((layer) => SPLIT_DEPENDENT.has(layer.getClassName()));
}

/**
 * The threads per training step that `workers: "auto"` uses: 2 for a convolutional,
 * {@link splitInvariant} model on the wasm backend with a named loss and at least 2 CPUs,
 * else 1 (see the module doc for the measurements).
 *
 * @param model The model to train.
 * @param loss The trainer's `loss` option (a function cannot be sent to Workers: 1).
 * @returns 1 or 2.
 */
export function autoWorkers(model: tf.LayersModel, loss?: unknown): number {
  if (tf.getBackend() !== "wasm") return 1; // native/GPU backends already use the machine
  if (typeof loss === "function") return 1;
  const cpus = (globalThis.navigator as { hardwareConcurrency?: number } | undefined)
    ?.hardwareConcurrency ?? 1;
  if (cpus < 2) return 1;
  return hasConvolution(model) && splitInvariant(model) ? 2 : 1;
}
