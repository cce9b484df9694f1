/**
 * Data-parallel training steps across Deno Workers, for backends that compute on one thread
 * (wasm: its threaded build needs worker URLs that fail under Deno, so it uses one core).
 *
 * The main thread keeps the model and the optimizer, so checkpoints and resuming do not change.
 * Each step it splits the batch into `workers` nearly equal parts, posts the current weights and
 * one part to each helper Worker (which has its own backend and its own copy of the model, built
 * from `model.toJSON()`), computes the gradient of its own part meanwhile, and combines the parts'
 * gradients weighted by their sizes before `optimizer.applyGradients`.
 *
 * What equals one-thread training:
 * - For a loss that is a mean over samples and a model without BatchNorm or dropout, the combined
 *   gradient is the full-batch gradient up to float rounding (tested).
 * - BatchNorm normalises each part with that part's statistics ("ghost batch norm" with parts of
 *   `batchSize / workers`): a different, slightly noisier estimator than the full batch's, not
 *   the same gradient, but exactly the size-weighted mean of one-thread BatchNorm gradients of
 *   the parts (tested), so a step is equal in expectation to one thread's on batches of that
 *   part size. The moving statistics are the size-weighted mean of the parts' updates: for the
 *   first BatchNorm layer the moving mean is exactly the full batch's, its moving variance
 *   misses the spread between the parts' means, and later layers see per-part normalised input.
 * - SeededDropout draws each part's masks from its own stream (worker `k` re-seeds its layers
 *   with `workerSeed(seed, k)`), so a run is reproducible for a given number of workers but its
 *   masks differ from a one-thread run's; each mask is still Bernoulli(1 - rate), so the
 *   gradient is the same in expectation.
 *
 * @example
 * ```ts
 * const parallel = await startDataParallel(model, { workers: 2, loss: "mse" });
 * try {
 *   const loss = await parallel.step(optimizer, xb, xb); // mean loss of the batch
 * } finally {
 *   parallel.close();
 * }
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { currentBackendChoice } from "../backend.ts";
import { lossFunction } from "../losses.ts";
import type {
  FromWorker,
  InitMessage,
  ResultMessage,
  StepMessage,
  WorkerBackend,
  WorkerLoss,
} from "./protocol.ts";

/** Options of {@link startDataParallel}. */
export interface DataParallelOptions {
  /** Threads in all, the main thread included (2 = main + one Worker); at least 2. */
  workers: number;
  /** The training loss (a named one: the Workers must compute it too). Default "mse". */
  loss?: WorkerLoss;
  /** Backend of the Workers; default the main thread's active one (wasm or cpu). */
  backend?: WorkerBackend;
}

/** The combined gradient of one batch (see {@link DataParallel.gradients}). */
export interface CombinedGradients {
  /** Mean loss over the whole batch (the parts' means weighted by their sizes). */
  loss: number;
  /** Gradient per trainable variable name (of the main thread's variables); caller disposes. */
  grads: tf.NamedTensorMap;
  /**
   * The non-trainable weights (BatchNorm moving statistics) averaged over the parts by size, in
   * `model.weights` order skipping trainable ones; caller disposes (or `step` writes them).
   */
  state: tf.Tensor[];
}

/** A running team of gradient Workers bound to one model. */
export interface DataParallel {
  /** Threads in all, the main thread included. */
  readonly workers: number;
  /**
   * The gradient of the batch's mean loss with the model's current weights, computed in parts
   * across the threads. Does not change the trainable weights; the main thread's part of the
   * forward pass does update its BatchNorm moving statistics (as any training forward pass).
   *
   * @param x The batch's inputs (first axis = samples).
   * @param y Its targets; pass `x` itself for a plain autoencoder (sent once).
   */
  gradients(x: tf.Tensor, y: tf.Tensor): Promise<CombinedGradients>;
  /**
   * One training step: {@link gradients}, then `optimizer.applyGradients`, then the averaged
   * BatchNorm statistics are written into the model.
   *
   * @returns The batch's mean loss (before the update).
   */
  step(optimizer: tf.Optimizer, x: tf.Tensor, y: tf.Tensor): Promise<number>;
  /** Terminates the Workers; pending steps reject. Safe to call twice. */
  close(): void;
}

/** The sizes of `parts` nearly equal parts of `n` samples (the first ones get the remainder). */
export function splitSizes(n: number, parts: number): number[] {
  const base = Math.floor(n / parts);
  return Array.from({ length: parts }, (_, i) => base + (i < n % parts ? 1 : 0));
}

/** One helper Worker and its pending request. */
interface Helper {
  worker: Worker;
  number: number;
  pending: { resolve: (m: FromWorker) => void; reject: (e: Error) => void } | null;
  failure: Error | null;
}

/**
 * Starts `workers - 1` helper Workers, each with its own backend and a copy of `model`'s
 * architecture. Costs a second or two (backend and model set-up); reuse it for many steps.
 *
 * @param model The model to train; it stays on the main thread.
 * @param options Number of threads, loss, backend.
 * @returns The team; call `close()` when done.
 * @throws Error naming the worker if one fails to start (e.g. a layer that is not serialisable).
 */
export async function startDataParallel(
  model: tf.LayersModel,
  options: DataParallelOptions,
): Promise<DataParallel> {
  const { workers } = options;
  if (!Number.isInteger(workers) || workers < 2) {
    throw new RangeError(`startDataParallel: workers must be an integer >= 2, got ${workers}`);
  }
  const loss = options.loss ?? "mse";
  if (loss !== "mse" && loss !== "bce") {
    throw new RangeError(`startDataParallel: loss must be "mse" or "bce", got ${String(loss)}`);
  }
  const lossOf = lossFunction(loss);
  const backend = options.backend ?? activeWorkerBackend();
  for (const w of model.weights) {
    if (w.dtype !== "float32") {
      throw new Error(`startDataParallel: weight ${w.originalName} is ${w.dtype}, not float32`);
    }
  }
  const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const stateIndices = model.weights.flatMap((w, i) => (w.trainable ? [] : [i]));
  const modelJson = JSON.stringify(model.toJSON(null, false));
  const helpers: Helper[] = [];
  let closed = false;
  let nextId = 0;

  const close = () => {
    if (closed) return;
    closed = true;
    for (const helper of helpers) {
      helper.worker.terminate();
      helper.pending?.reject(new Error(`data-parallel worker ${helper.number}: closed`));
      helper.pending = null;
    }
  };

  /** Waits for a helper's next message; an error message or event becomes a rejection. */
  const request = (helper: Helper, message: unknown, transfer: Transferable[] = []) =>
    new Promise<FromWorker>((resolve, reject) => {
      if (helper.failure !== null) return reject(helper.failure);
      if (closed) return reject(new Error(`data-parallel worker ${helper.number}: closed`));
      helper.pending = { resolve, reject };
      helper.worker.postMessage(message, transfer);
    }).then((reply) => {
      if (reply.type === "error") {
        const error = new Error(`data-parallel worker ${helper.number}: ${reply.message}`);
        if (reply.stack) error.stack = `${error.message}\n(worker) ${reply.stack}`;
        throw error;
      }
      return reply;
    });

  try {
    for (let k = 1; k < workers; k++) {
      const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
      const helper: Helper = { worker, number: k, pending: null, failure: null };
      helpers.push(helper);
      worker.onmessage = (event: MessageEvent<FromWorker>) => {
        const pending = helper.pending;
        helper.pending = null;
        pending?.resolve(event.data);
      };
      // An uncaught error (e.g. the module failed to load) ends the worker: fail its requests.
      worker.onerror = (event) => {
        event.preventDefault();
        helper.failure = new Error(`data-parallel worker ${k} crashed: ${event.message}`);
        helper.pending?.reject(helper.failure);
        helper.pending = null;
      };
    }
    const replies = await Promise.all(helpers.map((helper) => {
      const init: InitMessage = { type: "init", modelJson, backend, loss, worker: helper.number };
      return request(helper, init);
    }));
    for (const [k, reply] of replies.entries()) {
      if (
        reply.type !== "ready" || reply.weights !== model.weights.length ||
        reply.trainable !== trainable.length
      ) {
        throw new Error(
          `data-parallel worker ${k + 1} rebuilt a different model (${JSON.stringify(reply)}; ` +
            `expected ${model.weights.length} weights, ${trainable.length} trainable)`,
        );
      }
    }
  } catch (err) {
    close();
    throw err;
  }

  const gradients = async (x: tf.Tensor, y: tf.Tensor): Promise<CombinedGradients> => {
    if (closed) throw new Error("data-parallel: gradients() after close()");
    const n = x.shape[0];
    if (y.shape[0] !== n) throw new RangeError(`x has ${n} samples but y has ${y.shape[0]}`);
    const sizes = splitSizes(n, workers);
    const starts = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
    const active = helpers.filter((h) => sizes[h.number] > 0);
    // Post the weights and the parts first: the main thread's own part below is synchronous
    // backend work, during which the Workers run theirs.
    const pending = active.map((helper) => {
      const { number } = helper;
      const part = (t: tf.Tensor) =>
        tf.tidy(() => tf.slice(t, starts[number], sizes[number]).dataSync() as Float32Array);
      const weights = model.weights.map((w) => w.read().dataSync() as Float32Array);
      const xs = part(x);
      const ys = y === x ? null : part(y);
      const message: StepMessage = {
        type: "step",
        id: nextId++,
        weights,
        x: xs,
        weight: sizes[number] / n,
        xShape: [sizes[number], ...x.shape.slice(1)],
        y: ys,
        yShape: [sizes[number], ...y.shape.slice(1)],
      };
      const transfer = [...weights, xs, ...(ys ? [ys] : [])].map((a) => a.buffer as ArrayBuffer);
      return request(helper, message, transfer) as Promise<ResultMessage>;
    });
    // Settle every request even when one fails, so no reply arrives after we have moved on.
    const settled = Promise.allSettled(pending);
    let own: { value: tf.Scalar; grads: tf.NamedTensorMap };
    try {
      own = tf.tidy(() => {
        const xs = tf.slice(x, 0, sizes[0]);
        const ys = y === x ? xs : tf.slice(y, 0, sizes[0]);
        return tf.variableGrads(
          () => tf.mul(lossOf(ys, model.apply(xs, { training: true }) as tf.Tensor), sizes[0] / n),
          trainable,
        );
      });
    } catch (err) {
      await settled;
      throw err;
    }
    const outcomes = await settled;
    const failed = outcomes.find((o) => o.status === "rejected");
    if (failed !== undefined) {
      tf.dispose([own.value, ...Object.values(own.grads)]);
      throw (failed as PromiseRejectedResult).reason;
    }
    const results = outcomes.map((o) => (o as PromiseFulfilledResult<ResultMessage>).value);
    // Each part's loss came weighted by its share of the batch, so its gradient is already
    // weighted: the batch's mean loss and gradient are plain sums (one add per variable).
    const ownLoss = (await own.value.data())[0];
    const combined = tf.tidy(() => {
      const grads: tf.NamedTensorMap = {};
      trainable.forEach((v, i) => {
        const parts = results.map((r) => tf.tensor(r.grads[i], v.shape as number[]));
        grads[v.name] = parts.length === 1
          ? tf.add(own.grads[v.name], parts[0])
          : tf.addN([own.grads[v.name], ...parts]);
      });
      const share = (size: number) => size / n;
      const state = stateIndices.map((wi, s) => {
        const w = model.weights[wi];
        let sum = tf.mul(w.read(), share(sizes[0]));
        for (const [j, helper] of active.entries()) {
          const value = tf.tensor(results[j].state[s], w.shape as number[]);
          sum = tf.add(sum, tf.mul(value, share(sizes[helper.number])));
        }
        return sum;
      });
      return { grads, state };
    });
    tf.dispose([own.value, ...Object.values(own.grads)]);
    const lossSum = results.reduce((sum, r) => sum + r.loss, ownLoss);
    return { loss: lossSum, grads: combined.grads, state: combined.state };
  };

  const step = async (optimizer: tf.Optimizer, x: tf.Tensor, y: tf.Tensor): Promise<number> => {
    const { loss: value, grads, state } = await gradients(x, y);
    try {
      optimizer.applyGradients(grads);
      stateIndices.forEach((wi, s) => model.weights[wi].write(state[s]));
    } finally {
      tf.dispose([...Object.values(grads), ...state]);
    }
    return value;
  };

  return { workers, gradients, step, close };
}

/** The worker backend matching the main thread's active backend. */
function activeWorkerBackend(): WorkerBackend {
  const active = tf.getBackend();
  if (active === "wasm" || active === "cpu") return active;
  const name = currentBackendChoice()?.name ?? active;
  throw new Error(
    `data-parallel Workers need the wasm or cpu backend (one thread each); the active backend ` +
      `is ${name}, which already uses the machine's cores or a GPU`,
  );
}
