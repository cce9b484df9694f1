/**
 * The messages between the main thread and a data-parallel gradient worker
 * (`lib/parallel/worker.ts`), and the few rules both sides must agree on.
 *
 * Every array travels as a transferable `Float32Array` (moved, not copied, by `postMessage`), and
 * weights go by position in `model.weights` / `model.trainableWeights`: tfjs names variables
 * uniquely per engine, so the same layer has different variable names in two threads.
 *
 * @module
 */

/** Backends a gradient worker can run (the ones that compute on the CPU with one thread). */
export type WorkerBackend = "wasm" | "cpu";

/** Losses a worker can compute: the named ones of `lossFunction` (a function cannot be posted). */
export type WorkerLoss = "mse" | "bce";

/** First message to a worker: build the model and the backend. */
export interface InitMessage {
  /** Discriminator. */
  type: "init";
  /** `model.toJSON(null, false)` of the main thread's model. */
  modelJson: string;
  /** Backend the worker activates with `setupBackend`. */
  backend: WorkerBackend;
  /** Loss of the training step. */
  loss: WorkerLoss;
  /** 1-based worker number; offsets the worker's dropout mask seeds (see {@link workerSeed}). */
  worker: number;
}

/** One gradient computation with the main thread's current weights. */
export interface StepMessage {
  /** Discriminator. */
  type: "step";
  /** Step number, echoed in the reply. */
  id: number;
  /** Every weight of `model.weights` (trainable and not), in order. */
  weights: Float32Array[];
  /**
   * The part's share of the batch (part size / batch size): the worker differentiates the
   * part's mean loss times this, so the main thread only has to add the parts' gradients.
   */
  weight: number;
  /** The worker's part of the batch (inputs), flat. */
  x: Float32Array;
  /** Shape of `x`. */
  xShape: number[];
  /** Its targets, flat; null when the targets are the inputs (a plain autoencoder). */
  y: Float32Array | null;
  /** Shape of `y` (ignored when `y` is null). */
  yShape: number[];
}

/** Ends the worker's loop (the main thread also terminates it). */
export interface CloseMessage {
  /** Discriminator. */
  type: "close";
}

/** Anything the main thread sends. */
export type ToWorker = InitMessage | StepMessage | CloseMessage;

/** The worker built the model. */
export interface ReadyMessage {
  /** Discriminator. */
  type: "ready";
  /** `model.weights.length` of the rebuilt model (checked against the main thread's). */
  weights: number;
  /** `model.trainableWeights.length` of the rebuilt model. */
  trainable: number;
}

/** The result of a {@link StepMessage}. */
export interface ResultMessage {
  /** Discriminator. */
  type: "result";
  /** The step's `id`. */
  id: number;
  /** Mean loss over the worker's part of the batch, times the part's `weight`. */
  loss: number;
  /** Gradient of that weighted loss for every trainable weight, in `trainableWeights` order. */
  grads: Float32Array[];
  /**
   * The non-trainable weights after the step (BatchNorm moving statistics, which a training
   * forward pass updates), in `model.weights` order, skipping the trainable ones.
   */
  state: Float32Array[];
}

/** Something failed in the worker. */
export interface ErrorMessage {
  /** Discriminator. */
  type: "error";
  /** The step's `id`, or null when it was the set-up. */
  id: number | null;
  /** The error's message. */
  message: string;
  /** The worker-side stack, for the main thread's error. */
  stack?: string;
}

/** Anything a worker sends. */
export type FromWorker = ReadyMessage | ResultMessage | ErrorMessage;

/**
 * The seed a worker gives a layer whose config has `seed` (SeededDropout): distinct per worker,
 * so the parts of one batch do not get the same mask sequence as the main thread's part.
 *
 * @param seed The seed in the main thread's model config.
 * @param worker 1-based worker number (0 would be the main thread: the seed itself).
 * @returns A 31-bit integer seed.
 */
export function workerSeed(seed: number, worker: number): number {
  return ((seed ^ Math.imul(worker, 0x9e3779b1)) >>> 0) % 2 ** 31;
}
