/**
 * The training loop every experiment uses: seeded mini-batch training of an autoencoder with
 * validation, early stopping that restores the best weights, atomic checkpoints that a run can
 * resume from exactly, a clear stop on NaN/Inf losses, and live progress.
 *
 * Why not `model.fit`: it shuffles with `Math.random`, which cannot be seeded, so two runs
 * would differ. Here each epoch's order comes from {@link shuffledIndices}`(n, f(seed, epoch))`,
 * batches are taken with `tf.gather`, and a step is `optimizer.minimize` over
 * `model.apply(xb, { training: true })`: that flag makes BatchNormalization use batch
 * statistics and update its moving mean/variance (tfjs-layers 4.22 does the update inside
 * `call`), and makes Dropout drop. Validation runs batched in inference mode
 * (`training: false`).
 *
 * ```ts
 * const result = await trainAutoencoder(ae.autoencoder, xTrain, xTrain, {
 *   epochs: 30, batchSize: 128, patience: 5, seed: 0,
 *   validation: { x: xVal, y: xVal }, checkpointDir: "outputs/e2/ckpt", resume: true,
 * });
 * console.log(result.message);
 * ```
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import { nativeAdam } from "./kernels/native_adam.ts";
import { createTrainStepper, type TrainStepper } from "./kernels/compiled_step.ts";
import pl from "nodejs-polars";
import { shuffledIndices } from "./random.ts";
import { createProgress, formatFieldValue, type ProgressMode } from "./progress.ts";
import {
  hasTrainingCheckpoint,
  loadTrainingCheckpoint,
  type NamedTensor,
  saveTrainingCheckpoint,
} from "./checkpoint.ts";
import { autoWorkers } from "./parallel/auto.ts";
import { faultPoint } from "./faults.ts";
import { type LossFunction, lossFunction, type LossName } from "./losses.ts";

export { type LossFunction, lossFunction, type LossName } from "./losses.ts";
import { type DataParallel, startDataParallel } from "./parallel/mod.ts";

/** Optimizers the trainer can build (tfjs's Adam, plain SGD, RMSprop). */
export type OptimizerName = "adam" | "sgd" | "rmsprop";

/** Why training ended. */
export type StopReason = "completed" | "early-stopping" | "non-finite-loss";

/** Options of {@link trainAutoencoder}. */
export interface TrainOptions {
  /** Epochs to train in total (a resumed run counts the epochs it already did). */
  epochs: number;
  /** Samples per training step (the last batch of an epoch may be smaller). */
  batchSize: number;
  /** Learning rate; default 1e-3. */
  learningRate?: number;
  /** Optimizer; default "adam". */
  optimizer?: OptimizerName;
  /** Loss; default "mse". A function must return the mean over the batch as a scalar. */
  loss?: LossName | LossFunction;
  /** Validation input and target (for denoising: noisy x, clean y), evaluated after each epoch. */
  validation?: { x: tf.Tensor; y: tf.Tensor };
  /**
   * Early stopping: stop after this many epochs without improvement of the validation loss
   * (the training loss when there is no validation data).
   */
  patience?: number;
  /**
   * Put the best epoch's weights back into the model at the end (also after early stopping
   * or a NaN stop); default true when `patience` is set, else false (the last epoch's weights).
   */
  restoreBestWeights?: boolean;
  /** Seed of the per-epoch shuffling; default 0. Weight initialisation is the model builder's job. */
  seed?: number;
  /** Shuffle the training data each epoch; default true. */
  shuffle?: boolean;
  /**
   * Directory for an atomic checkpoint after every epoch: the model (`model.json` +
   * `weights.bin`), the best epoch's model (`best/`), optimizer state and trainer state.
   * Without `resume`, a checkpoint already there is overwritten from epoch 1.
   */
  checkpointDir?: string;
  /** Continue from `checkpointDir` if it holds a checkpoint (same history, next epoch). */
  resume?: boolean;
  /** Where to show progress; "auto" (default): Jupyter display in a notebook, bar on a TTY, else lines. */
  progress?: ProgressMode;
  /** Shown in the progress display. */
  label?: string;
  /** Called after each epoch (after its checkpoint), e.g. to save reconstructions. */
  onEpochEnd?: (record: EpochRecord, model: tf.LayersModel) => void | Promise<void>;
  /**
   * Threads per training step. 1: the plain step. N >= 2 splits each batch over the main
   * thread and N - 1 Workers (`lib/parallel/`; wasm or cpu backend, a named loss). The
   * gradient is the full batch's up to float rounding without BatchNorm and dropout;
   * BatchNorm normalises each part on its own and dropout masks follow per-worker seed
   * streams, so such runs equal one-thread runs in expectation only. Default `"auto"`: 2
   * where that measured faster and changes nothing but rounding (convolutional models
   * without BatchNorm or dropout on wasm, {@link autoWorkers}), else 1; if the Workers cannot
   * start it warns and trains on one thread. A resumed run may use another value.
   */
  workers?: number | "auto";
  /**
   * On tfjs-node: run each step as one TensorFlow function recorded from an eager step
   * (`lib/kernels/compiled_step.ts`; ~0.65x the eager step's time for the write-up-000 CNN).
   * Steps that differ each time (random data made in JavaScript without `stepFeed`, which
   * SeededDropout's masks use) stay eager by themselves. Default true;
   * false runs every step op by op. Other backends ignore it.
   */
  compileSteps?: boolean;
}

/** One epoch of training. */
export interface EpochRecord {
  /** 1-based epoch number. */
  epoch: number;
  /** Mean training loss over the epoch's batches (weighted by batch size), in training mode. */
  trainLoss: number;
  /** Validation loss after the epoch in inference mode, or null without validation data. */
  valLoss: number | null;
  /** Wall time of the epoch (training + validation) in seconds. */
  seconds: number;
}

/** What {@link trainAutoencoder} returns. */
export interface TrainResult {
  /** One record per completed epoch (including epochs from a resumed checkpoint). */
  history: EpochRecord[];
  /** Epoch with the lowest monitored loss (validation, else training); 0 if no epoch completed. */
  bestEpoch: number;
  /** Validation loss of the best epoch, or null without validation data. */
  bestValLoss: number | null;
  /** Which loss chose the best epoch and drove early stopping. */
  monitor: "val" | "train";
  /** Whether the model now holds the best epoch's weights (rather than the last epoch's). */
  restoredBestWeights: boolean;
  /** Whether training ended before `epochs` (early stopping or a non-finite loss). */
  stoppedEarly: boolean;
  /** Why training ended. */
  stopReason: StopReason;
  /** One sentence saying what happened, for logs and notebooks. */
  message: string;
}

/** The settings a resumed run must share with the checkpoint it continues. */
interface TrainerSettings {
  optimizer: OptimizerName;
  batchSize: number;
  seed: number;
  shuffle: boolean;
  loss: string;
  samples: number;
  monitor: "val" | "train";
}

/** Trainer state as stored in `trainer.json`. */
interface TrainerState {
  version: 1;
  /** Completed epochs. */
  epoch: number;
  history: EpochRecord[];
  bestEpoch: number;
  bestLoss: number | null;
  epochsWithoutImprovement: number;
  stopReason: StopReason | null;
  learningRate: number;
  settings: TrainerSettings;
}

/**
 * Builds an optimizer by name.
 *
 * @param name "adam", "sgd" or "rmsprop".
 * @param learningRate A positive learning rate.
 * @returns A fresh tfjs optimizer.
 */
export function createOptimizer(name: OptimizerName, learningRate: number): tf.Optimizer {
  if (!(learningRate > 0) || !Number.isFinite(learningRate)) {
    throw new RangeError(`learningRate must be a positive finite number, got ${learningRate}`);
  }
  switch (name) {
    case "adam":
      // The same update up to float32 rounding (tested). On the native backend TensorFlow's
      // one-op-per-variable Adam took mlp-bn-10's step from 65 to 46 ms (lib/kernels/native_adam.ts).
      return tf.getBackend() === "tensorflow"
        ? nativeAdam(learningRate)
        : tf.train.adam(learningRate);
    case "sgd":
      return tf.train.sgd(learningRate);
    case "rmsprop":
      return tf.train.rmsprop(learningRate);
    default:
      throw new RangeError(
        `optimizer must be "adam", "sgd" or "rmsprop"; got ${JSON.stringify(name)}`,
      );
  }
}

/**
 * The mean loss of a model over a data set, computed in batches in inference mode
 * (BatchNorm uses its moving statistics, Dropout is off).
 *
 * @param model The model.
 * @param x Inputs, first axis = samples.
 * @param y Targets, same number of samples.
 * @param options Batch size (default 256) and loss (default "mse").
 * @returns The loss averaged over all samples (batches weighted by their size).
 */
export async function evaluateLoss(
  model: tf.LayersModel,
  x: tf.Tensor,
  y: tf.Tensor,
  options: { batchSize?: number; loss?: LossName | LossFunction } = {},
): Promise<number> {
  const n = x.shape[0];
  if (n !== y.shape[0]) {
    throw new RangeError(`x has ${n} samples but y has ${y.shape[0]}; expected the same number`);
  }
  if (n === 0) throw new RangeError("cannot evaluate a loss on 0 samples");
  const batchSize = options.batchSize ?? 256;
  const loss = lossFunction(options.loss);
  let sum = 0;
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const batchLoss = tf.tidy(() => {
      const xb = tf.slice(x, start, size);
      const yb = tf.slice(y, start, size);
      return loss(yb, model.apply(xb, { training: false }) as tf.Tensor);
    });
    const [value] = await batchLoss.data();
    batchLoss.dispose();
    sum += value * size;
  }
  return sum / n;
}

/** A deterministic per-epoch shuffle seed (int32) from the run seed and the epoch number. */
function epochSeed(seed: number, epoch: number): number {
  return (Math.imul(seed | 0, 1_000_003) + Math.imul(epoch, 0x9e3779b1)) | 0;
}

function checkPositiveInteger(value: number, what: string): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new RangeError(`${what} must be a positive integer, got ${value}`);
  }
}

function validateOptions(x: tf.Tensor, y: tf.Tensor, options: TrainOptions): void {
  if (!Number.isInteger(options.epochs) || options.epochs < 0) {
    throw new RangeError(`epochs must be a non-negative integer, got ${options.epochs}`);
  }
  checkPositiveInteger(options.batchSize, "batchSize");
  if (options.patience !== undefined) checkPositiveInteger(options.patience, "patience");
  if (options.seed !== undefined && !Number.isInteger(options.seed)) {
    throw new RangeError(`seed must be an integer, got ${options.seed}`);
  }
  if (x.shape[0] !== y.shape[0]) {
    throw new RangeError(
      `x has ${x.shape[0]} samples but y has ${y.shape[0]}; expected the same number`,
    );
  }
  if (x.shape[0] === 0) throw new RangeError("cannot train on 0 samples");
  if (options.validation) {
    const { x: vx, y: vy } = options.validation;
    if (vx.shape[0] !== vy.shape[0] || vx.shape[0] === 0) {
      throw new RangeError(
        `validation x has ${vx.shape[0]} samples and y has ${vy.shape[0]}; expected the same, > 0`,
      );
    }
  }
  if (options.resume && !options.checkpointDir) {
    throw new RangeError("resume: true needs a checkpointDir to resume from");
  }
  if (options.workers !== undefined && options.workers !== "auto") {
    checkPositiveInteger(options.workers, "workers");
    if (options.workers > 1 && typeof options.loss === "function") {
      throw new RangeError(
        `workers: ${options.workers} needs a named loss ("mse" or "bce"): Workers cannot ` +
          "receive a function",
      );
    }
  }
}

/**
 * Adam keeps its running powers beta^t in variables that `getWeights()` does not save;
 * `setWeights()` recomputes them with `pow`, which rounds differently from the running
 * product in float32. Saving and restoring them makes a resumed run continue bit for bit.
 * These are private fields of tfjs's AdamOptimizer (4.22); if they are absent, nothing is
 * saved and resuming is exact only up to float32 rounding.
 */
function readOptimizerExtras(optimizer: tf.Optimizer): Record<string, number> {
  const extras: Record<string, number> = {};
  const fields = optimizer as unknown as Record<string, unknown>;
  for (const key of ["accBeta1", "accBeta2"]) {
    const value = fields[key];
    if (value instanceof tf.Variable && value.size === 1) extras[key] = value.dataSync()[0];
  }
  return extras;
}

function writeOptimizerExtras(optimizer: tf.Optimizer, extras: Record<string, number>): void {
  const fields = optimizer as unknown as Record<string, unknown>;
  for (const [key, number] of Object.entries(extras)) {
    const variable = fields[key];
    if (variable instanceof tf.Variable && variable.size === 1) {
      tf.tidy(() => variable.assign(tf.scalar(number, variable.dtype)));
    }
  }
}

/** Copies of the model's weights (all of them: BatchNorm moving statistics included). */
function snapshotWeights(model: tf.LayersModel): tf.Tensor[] {
  return tf.tidy(() => model.getWeights().map((w) => tf.clone(w)));
}

function setModelWeights(model: tf.LayersModel, weights: tf.Tensor[], source: string): void {
  const variables = model.weights;
  if (weights.length !== variables.length) {
    throw new Error(
      `${source} has ${weights.length} weights but the model has ${variables.length}; ` +
        "was it saved from a different architecture?",
    );
  }
  variables.forEach((v, i) => {
    if (!tf.util.arraysEqual(v.shape as number[], weights[i].shape)) {
      throw new Error(
        `${source}: weight ${i} (${v.originalName}) has shape [${
          weights[i].shape
        }] but the model ` +
          `expects [${v.shape}]; was it saved from a different architecture?`,
      );
    }
  });
  model.setWeights(weights);
}

function lossLabel(loss: TrainOptions["loss"]): string {
  return typeof loss === "function" ? `custom:${loss.name || "anonymous"}` : loss ?? "mse";
}

function describeValue(value: number): string {
  return Number.isNaN(value) ? "NaN" : value > 0 ? "Inf" : "-Inf";
}

/**
 * Trains an autoencoder-like model (`model(x) ≈ y`) with a seeded, checkpointed, leak-free
 * loop. See the module notes for why it does not use `model.fit`.
 *
 * - Same model initialisation + same `seed` + same backend → identical losses.
 * - `patience`: early stopping on the validation loss (training loss without validation);
 *   the best weights are put back at the end (`restoreBestWeights`).
 * - `checkpointDir`: atomic checkpoint after each epoch (model, best model, optimizer state
 *   incl. Adam moments, history); `resume: true` continues from it with the same results as
 *   an uninterrupted run.
 * - A NaN/Inf loss stops training: the model gets back the weights of the last completed
 *   epoch (or the best epoch with `restoreBestWeights`), the last good checkpoint is kept,
 *   and `stopReason` is "non-finite-loss".
 *
 * @param model The model; trained in place.
 * @param x Training inputs (first axis = samples).
 * @param y Training targets (x itself for a plain autoencoder).
 * @param options See {@link TrainOptions}.
 * @returns History, best epoch and why training ended.
 */
export async function trainAutoencoder(
  model: tf.LayersModel,
  x: tf.Tensor,
  y: tf.Tensor,
  options: TrainOptions,
): Promise<TrainResult> {
  validateOptions(x, y, options);
  const n = x.shape[0];
  const { epochs, batchSize, validation, patience, checkpointDir } = options;
  const learningRate = options.learningRate ?? 1e-3;
  const optimizerName = options.optimizer ?? "adam";
  const seed = options.seed ?? 0;
  const shuffle = options.shuffle ?? true;
  const loss = lossFunction(options.loss);
  const restoreBest = options.restoreBestWeights ?? (patience !== undefined);
  const monitor: "val" | "train" = validation ? "val" : "train";
  const settings: TrainerSettings = {
    optimizer: optimizerName,
    batchSize,
    seed,
    shuffle,
    loss: lossLabel(options.loss),
    samples: n,
    monitor,
  };
  const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);
  if (trainable.length === 0) throw new Error("the model has no trainable weights");
  const optimizer = createOptimizer(optimizerName, learningRate);

  let state: TrainerState = {
    version: 1,
    epoch: 0,
    history: [],
    bestEpoch: 0,
    bestLoss: null,
    epochsWithoutImprovement: 0,
    stopReason: null,
    learningRate,
    settings,
  };
  let bestWeights: tf.Tensor[] | null = null;
  let lastGoodWeights: tf.Tensor[] = [];
  let progress: ReturnType<typeof createProgress> | null = null;
  let parallel: DataParallel | null = null;
  let stepper: TrainStepper | null = null;

  try {
    if (options.resume && checkpointDir && await hasTrainingCheckpoint(checkpointDir)) {
      const restored = await restoreCheckpoint(checkpointDir, model, optimizer, settings);
      state = { ...restored.state, learningRate };
      bestWeights = restored.bestWeights;
      if (state.stopReason === "completed" && state.epoch < epochs) state.stopReason = null;
    }
    lastGoodWeights = snapshotWeights(model);

    const batchesPerEpoch = Math.ceil(n / batchSize);
    const startEpoch = state.epoch + 1;
    const lastEpoch = state.stopReason === null ? epochs : state.epoch;
    if (startEpoch <= lastEpoch) {
      progress = createProgress({
        total: (lastEpoch - startEpoch + 1) * batchesPerEpoch,
        label: options.label ?? "train",
        mode: options.progress ?? "auto",
      });
    }
    const monitorName = monitor === "val" ? "val loss" : "train loss";
    let nonFinite: string | null = null;
    const auto = (options.workers ?? "auto") === "auto";
    const workers = auto ? autoWorkers(model, options.loss) : options.workers as number;
    if (workers > 1 && startEpoch <= lastEpoch) {
      try {
        parallel = await startDataParallel(model, { workers, loss: options.loss as LossName });
      } catch (err) {
        if (!auto) throw err;
        // The default must never make training fail where one thread works.
        console.warn(`workers "auto": training on one thread (${(err as Error).message})`);
      }
    }

    if (parallel === null) {
      stepper = createTrainingStepper(model, optimizer, loss, {
        trainable,
        compile: options.compileSteps ?? true,
      });
    }
    let stepModeShown = false;

    for (let epoch = startEpoch; epoch <= lastEpoch; epoch++) {
      const started = performance.now();
      const order = shuffle ? shuffledIndices(n, epochSeed(seed, epoch)) : null;
      let lossSum = 0;
      for (let b = 0; b < batchesPerEpoch; b++) {
        const start = b * batchSize;
        const size = Math.min(batchSize, n - start);
        // This batch: rows start..start+size of the epoch's order.
        const batchOf = (t: tf.Tensor) =>
          order
            ? tf.gather(t, tf.tensor1d(order.subarray(start, start + size), "int32"))
            : tf.slice(t, start, size);
        let value: number;
        if (stepper !== null) {
          const steps = stepper;
          const cost = tf.tidy(() => {
            const xb = batchOf(x);
            return steps.step([xb, y === x ? xb : batchOf(y)]);
          });
          [value] = await cost.data();
          cost.dispose();
          if (!stepModeShown && b === 3 && tf.getBackend() === "tensorflow") {
            stepModeShown = true;
            progress!.log(
              steps.mode === "compiled"
                ? `steps run as one TensorFlow function (${steps.opCount} ops recorded)`
                : `steps run op by op: ${steps.reason}`,
            );
          }
        } else {
          // The same batch; its gradient is computed in parts across the Workers.
          const xb = tf.tidy(() => batchOf(x));
          const yb = y === x ? xb : tf.tidy(() => batchOf(y));
          try {
            value = await parallel!.step(optimizer, xb, yb);
          } finally {
            tf.dispose(yb === xb ? [xb] : [xb, yb]);
          }
        }
        if (!Number.isFinite(value)) {
          nonFinite = `epoch ${epoch} batch ${b + 1}: loss is ${describeValue(value)}`;
          break;
        }
        lossSum += value * size;
        faultPoint("train-batch");
        progress!.update((epoch - startEpoch) * batchesPerEpoch + b + 1, {
          epoch: `${epoch}/${lastEpoch}`,
          batch: `${b + 1}/${batchesPerEpoch}`,
          loss: lossSum / (start + size),
          "val loss": state.history.at(-1)?.valLoss ?? null,
        });
      }
      let valLoss: number | null = null;
      if (nonFinite === null && validation) {
        valLoss = await evaluateLoss(model, validation.x, validation.y, {
          batchSize: Math.max(batchSize, 256),
          loss,
        });
        if (!Number.isFinite(valLoss)) {
          nonFinite = `epoch ${epoch} validation: loss is ${describeValue(valLoss)}`;
        }
      }
      if (nonFinite !== null) {
        // The step that produced the bad loss has already changed the weights: go back to
        // the end of the last good epoch, which is also what the checkpoint on disk holds.
        setModelWeights(model, lastGoodWeights, "last good weights");
        state.stopReason = "non-finite-loss";
        const kept = state.epoch === 0
          ? "the initial weights"
          : `the ${checkpointDir ? "checkpoint" : "weights"} of epoch ${state.epoch}`;
        nonFinite += `; stopped, kept ${kept}`;
        break;
      }

      const record: EpochRecord = {
        epoch,
        trainLoss: lossSum / n,
        valLoss,
        seconds: (performance.now() - started) / 1000,
      };
      state.history.push(record);
      state.epoch = epoch;
      const monitored = monitor === "val" ? valLoss! : record.trainLoss;
      if (state.bestLoss === null || monitored < state.bestLoss) {
        state.bestLoss = monitored;
        state.bestEpoch = epoch;
        state.epochsWithoutImprovement = 0;
        tf.dispose(bestWeights ?? []);
        bestWeights = snapshotWeights(model);
      } else {
        state.epochsWithoutImprovement++;
      }
      tf.dispose(lastGoodWeights);
      lastGoodWeights = snapshotWeights(model);
      if (patience !== undefined && state.epochsWithoutImprovement >= patience) {
        state.stopReason = "early-stopping";
      } else if (epoch === epochs) {
        state.stopReason = "completed";
      }

      if (checkpointDir) {
        await saveTrainingCheckpoint(checkpointDir, {
          model,
          optimizer,
          state,
          bestWeights: bestWeights ?? undefined,
          optimizerExtras: readOptimizerExtras(optimizer),
        });
      }
      progress!.log(
        `epoch ${epoch}/${lastEpoch}  train loss ${formatFieldValue(record.trainLoss)}` +
          (valLoss !== null ? `  val loss ${formatFieldValue(valLoss)}` : "") +
          `  ${record.seconds.toFixed(1)}s` + (state.bestEpoch === epoch ? "  *best" : ""),
      );
      if (options.onEpochEnd) await options.onEpochEnd(record, model);
      if (state.stopReason !== null) break;
    }

    const stopReason: StopReason = state.stopReason ?? "completed";
    // After a NaN stop the model holds the last completed epoch's weights (= state.epoch).
    const restoredBestWeights = restoreBest && bestWeights !== null &&
      state.bestEpoch !== state.epoch;
    if (restoredBestWeights) setModelWeights(model, bestWeights!, "best weights");
    const bestText = state.bestLoss === null
      ? "no epoch completed"
      : `best ${monitorName} ${formatFieldValue(state.bestLoss)} at epoch ${state.bestEpoch}`;
    const restoredText = restoredBestWeights
      ? `; restored the weights of epoch ${state.bestEpoch}`
      : "";
    let message: string;
    if (stopReason === "non-finite-loss") {
      message = `${nonFinite ?? "a loss was not finite"}${restoredText}`;
    } else if (stopReason === "early-stopping") {
      message = `early stopping after epoch ${state.epoch}: no ${monitorName} improvement for ` +
        `${state.epochsWithoutImprovement} epochs; ${bestText}${restoredText}`;
    } else {
      message = `trained ${state.epoch} epochs; ${bestText}${restoredText}`;
    }
    const bestRecord = state.history.find((r) => r.epoch === state.bestEpoch);
    await progress?.finish(message);
    progress = null;
    return {
      history: state.history.map((r) => ({ ...r })),
      bestEpoch: state.bestEpoch,
      bestValLoss: bestRecord?.valLoss ?? null,
      monitor,
      restoredBestWeights,
      stoppedEarly: stopReason !== "completed",
      stopReason,
      message,
    };
  } finally {
    // Only reached with a live progress when an error is on its way out: do not mask it.
    await progress?.finish("training stopped by an error").catch(() => {});
    parallel?.close();
    stepper?.dispose();
    tf.dispose(bestWeights ?? []);
    tf.dispose(lastGoodWeights);
    optimizer.dispose();
  }
}

/**
 * The training step of {@link trainAutoencoder} (also what the benchmarks time): `optimizer.
 * minimize` of `loss(yb, model(xb))` in training mode, run by a {@link TrainStepper} that turns it
 * into one TensorFlow function on tfjs-node where it can (`lib/kernels/compiled_step.ts`).
 * `stepper.step([xb, yb])` returns the batch's loss, which the caller disposes.
 *
 * @param model The model to train.
 * @param optimizer Its optimizer.
 * @param loss The loss (mean over the batch).
 * @param options `trainable`: the variables to update (default: all trainable ones);
 *   `compile`: allow the compiled step (default true).
 */
export function createTrainingStepper(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  loss: LossFunction,
  options: { trainable?: tf.Variable[]; compile?: boolean } = {},
): TrainStepper {
  return createTrainStepper(([xb, yb]) =>
    optimizer.minimize(
      () => loss(yb, model.apply(xb, { training: true }) as tf.Tensor),
      true,
      options.trainable,
    )!, {
    compile: options.compile ?? true,
    // The one piece of state minimize keeps in JavaScript: the optimizer's step count.
    afterCompiledStep: () =>
      (optimizer as unknown as { incrementIterations(): void }).incrementIterations(),
  });
}

/** Loads a checkpoint into the model and optimizer; returns the state and best weights. */
async function restoreCheckpoint(
  dir: string,
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  settings: TrainerSettings,
): Promise<{ state: TrainerState; bestWeights: tf.Tensor[] | null }> {
  const checkpoint = await loadTrainingCheckpoint<TrainerState>(dir);
  const owned: NamedTensor[] = [
    ...checkpoint.weights,
    ...(checkpoint.bestWeights ?? []),
    ...checkpoint.optimizerWeights,
  ];
  try {
    const saved = checkpoint.state.settings;
    const differences = (Object.keys(settings) as (keyof TrainerSettings)[])
      .filter((key) => saved?.[key] !== settings[key])
      .map((key) => `${key}: checkpoint ${saved?.[key]} vs now ${settings[key]}`);
    if (checkpoint.state.version !== 1 || differences.length > 0) {
      throw new Error(
        `cannot resume from ${dir}: its run used different settings (${
          differences.join("; ") || `version ${checkpoint.state.version}`
        }); use another checkpointDir or resume: false`,
      );
    }
    if (checkpoint.optimizerClass !== optimizer.getClassName()) {
      throw new Error(
        `cannot resume from ${dir}: optimizer ${checkpoint.optimizerClass} saved, ` +
          `${optimizer.getClassName()} requested`,
      );
    }
    setModelWeights(model, checkpoint.weights.map((w) => w.tensor), `checkpoint ${dir}`);
    // setWeights turns the tensors into the optimizer's variables (sharing their data), so
    // disposing the loaded tensors afterwards is safe.
    await optimizer.setWeights(checkpoint.optimizerWeights);
    writeOptimizerExtras(optimizer, checkpoint.optimizerExtras);
    const bestWeights = checkpoint.bestWeights
      ? checkpoint.bestWeights.map((w) => tf.clone(w.tensor))
      : null;
    return { state: checkpoint.state, bestWeights };
  } finally {
    tf.dispose(owned.map((w) => w.tensor));
  }
}

/**
 * A training history as a polars DataFrame with columns `epoch` (Int32), `trainLoss`,
 * `valLoss` (Float64, null without validation) and `seconds`.
 *
 * @param history The records, e.g. `result.history`.
 * @returns The DataFrame.
 */
export function historyToDataFrame(history: EpochRecord[]): pl.DataFrame {
  return pl.DataFrame([
    pl.Series("epoch", history.map((r) => r.epoch), pl.Int32),
    pl.Series("trainLoss", history.map((r) => r.trainLoss), pl.Float64),
    pl.Series("valLoss", history.map((r) => r.valLoss), pl.Float64),
    pl.Series("seconds", history.map((r) => r.seconds), pl.Float64),
  ]);
}
