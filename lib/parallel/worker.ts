/**
 * Entry point of a data-parallel gradient worker (see `data_parallel.ts`): on `init` it
 * activates its own backend and rebuilds the main thread's model from its JSON; on each `step`
 * it takes the main thread's current weights and its part of the batch, and returns the
 * gradient of the mean loss on that part plus the BatchNorm statistics the forward pass left.
 *
 * The model comes from `model.toJSON()`, so any `tf.LayersModel` works whose layers are
 * registered with `tf.serialization`; importing `../models/mod.ts` registers this project's
 * custom layers (SeededDropout, Resize2D; the PyTorch-style helpers of `torch_layers.ts` are
 * built from stock layers). SeededDropout seeds are changed per worker ({@link workerSeed}).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { setupBackend } from "../backend.ts";
import "../models/mod.ts";
import { lossFunction } from "../losses.ts";
import type { ErrorMessage, FromWorker, InitMessage, StepMessage, ToWorker } from "./protocol.ts";
import { workerSeed } from "./protocol.ts";

const scope = self as unknown as {
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  close(): void;
};

let model: tf.LayersModel | null = null;
let loss: ((yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar) | null = null;
/** Messages are handled one after another (init is asynchronous; steps must wait for it). */
let queue: Promise<void> = Promise.resolve();

scope.onmessage = (event) => {
  const message = event.data;
  queue = queue.then(() => handle(message));
};

async function handle(message: ToWorker): Promise<void> {
  const id = message.type === "step" ? message.id : null;
  try {
    if (message.type === "init") await init(message);
    else if (message.type === "step") step(message);
    else {
      model?.dispose();
      scope.close();
    }
  } catch (err) {
    const reply: ErrorMessage = {
      type: "error",
      id,
      message: err instanceof Error ? err.message : String(err),
      stack: err instanceof Error ? err.stack : undefined,
    };
    scope.postMessage(reply);
  }
}

async function init(message: InitMessage): Promise<void> {
  await setupBackend(message.backend, { quiet: true });
  const topology = reseed(JSON.parse(message.modelJson), message.worker);
  model = await tf.models.modelFromJSON({ modelTopology: topology } as tf.io.ModelJSON);
  loss = lossFunction(message.loss);
  scope.postMessage({
    type: "ready",
    weights: model.weights.length,
    trainable: model.trainableWeights.length,
  });
}

function step(message: StepMessage): void {
  if (model === null || loss === null) throw new Error("step before init");
  const m = model;
  const lossOf = loss;
  const weights = m.weights;
  if (message.weights.length !== weights.length) {
    throw new Error(`got ${message.weights.length} weights, the model has ${weights.length}`);
  }
  const trainable = m.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.tidy(() => {
    weights.forEach((w, i) => w.write(tf.tensor(message.weights[i], w.shape as number[])));
    const x = tf.tensor(message.x, message.xShape);
    const y = message.y === null ? x : tf.tensor(message.y, message.yShape);
    return tf.variableGrads(
      () => tf.mul(lossOf(y, m.apply(x, { training: true }) as tf.Tensor), message.weight),
      trainable,
    );
  });
  // dataSync copies out of the backend's memory into arrays of their own, which can be moved.
  const gradArrays = trainable.map((v) => grads[v.name].dataSync() as Float32Array);
  const state = weights.filter((w) => !w.trainable).map((w) => w.read().dataSync() as Float32Array);
  const lossValue = value.dataSync()[0];
  tf.dispose([value, ...Object.values(grads)]);
  scope.postMessage(
    { type: "result", id: message.id, loss: lossValue, grads: gradArrays, state },
    [...gradArrays, ...state].map((a) => a.buffer as ArrayBuffer),
  );
}

/** Gives every layer config with an integer `seed` (SeededDropout) this worker's own seed. */
function reseed(node: unknown, worker: number): unknown {
  if (Array.isArray(node)) return node.map((item) => reseed(item, worker));
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = reseed(value, worker);
  const config = out.config as Record<string, unknown> | undefined;
  if (out.class_name === "SeededDropout" && Number.isInteger(config?.seed)) {
    out.config = { ...config, seed: workerSeed(config!.seed as number, worker) };
  }
  return out;
}
