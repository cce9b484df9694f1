import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import pl from "nodejs-polars";
import {
  createOptimizer,
  type EpochRecord,
  evaluateLoss,
  historyToDataFrame,
  lossFunction,
  trainAutoencoder,
} from "../lib/train.ts";
import { loadModel } from "../lib/checkpoint.ts";

await tf.setBackend("cpu");

/** Dense 16-8-(BN)-4-16 autoencoder; `seed` fixes the initial weights. */
function denseModel(
  seed: number,
  options: { batchNorm?: boolean; outputActivation?: "sigmoid" | "linear" } = {},
): tf.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: s });
  const input = tf.input({ shape: [16] });
  let h = tf.layers.dense({ units: 8, activation: "relu", kernelInitializer: init(seed) })
    .apply(input) as tf.SymbolicTensor;
  if (options.batchNorm) h = tf.layers.batchNormalization().apply(h) as tf.SymbolicTensor;
  h = tf.layers.dense({ units: 4, activation: "relu", kernelInitializer: init(seed + 1) })
    .apply(h) as tf.SymbolicTensor;
  const out = tf.layers.dense({
    units: 16,
    activation: options.outputActivation ?? "sigmoid",
    kernelInitializer: init(seed + 2),
  }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

/** Data in [0,1] with structure (a few prototypes + noise), so an autoencoder can learn it. */
function data(n: number, seed: number): tf.Tensor2D {
  return tf.tidy(() => {
    const prototypes = tf.randomUniform([4, 16], 0, 1, "float32", seed);
    const pick = tf.randomUniform([n], 0, 4, "int32", seed + 1);
    const noise = tf.randomNormal([n, 16], 0, 0.05, "float32", seed + 2);
    return tf.clipByValue(tf.add(tf.gather(prototypes, pick), noise), 0, 1) as tf.Tensor2D;
  });
}

async function weightArrays(model: tf.LayersModel): Promise<Float32Array[]> {
  return await Promise.all(model.getWeights().map(async (w) => (await w.data()) as Float32Array));
}

const losses = (h: EpochRecord[]) => h.map((r) => [r.trainLoss, r.valLoss]);

Deno.test("BatchNorm moving statistics update in the training step (training: true), not in validation", async () => {
  const model = denseModel(1, { batchNorm: true });
  const x = data(64, 10);
  const bn = model.layers.find((l) => l.getClassName() === "BatchNormalization")!;
  const dense1 = model.layers[1];
  // One step on the whole data set in its original order: the batch mean is known beforehand.
  const expectedMean = tf.tidy(() => {
    const h = tf.relu(tf.add(tf.matMul(x, dense1.getWeights()[0]), dense1.getWeights()[1]));
    return tf.mul(tf.mean(h, 0), 1 - 0.99); // moving mean starts at 0, momentum 0.99
  });
  await trainAutoencoder(model, x, x, {
    epochs: 1,
    batchSize: 64,
    shuffle: false,
    progress: "none",
    validation: { x, y: x },
  });
  const movingMean = bn.getWeights()[2];
  const got = await movingMean.data();
  const want = await expectedMean.data();
  assert.ok(want.some((v) => v > 1e-4), "the check needs a non-zero batch mean");
  for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-6, `${i}`);
  // Inference (evaluateLoss) leaves the moving statistics alone.
  await evaluateLoss(model, x, x);
  assert.deepEqual(await bn.getWeights()[2].data(), got);
  tf.dispose([x, expectedMean]);
});

Deno.test("BatchNorm inside a nested encoder model (the zoo's structure) updates too", async () => {
  const init = tf.initializers.glorotUniform({ seed: 11 });
  const encoderInput = tf.input({ shape: [16] });
  const code = tf.layers.batchNormalization().apply(
    tf.layers.dense({ units: 4, kernelInitializer: init }).apply(encoderInput),
  ) as tf.SymbolicTensor;
  const encoder = tf.model({ inputs: encoderInput, outputs: code });
  const decoderInput = tf.input({ shape: [4] });
  const decoder = tf.model({
    inputs: decoderInput,
    outputs: tf.layers.dense({ units: 16, kernelInitializer: init }).apply(
      decoderInput,
    ) as tf.SymbolicTensor,
  });
  const input = tf.input({ shape: [16] });
  const autoencoder = tf.model({
    inputs: input,
    outputs: decoder.apply(encoder.apply(input)) as tf.SymbolicTensor,
  });
  const x = data(32, 12);
  const movingVariance = encoder.layers[2].getWeights()[3];
  assert.deepEqual([...await movingVariance.data()], [1, 1, 1, 1]);
  await trainAutoencoder(autoencoder, x, x, { epochs: 1, batchSize: 16, progress: "none" });
  const after = await encoder.layers[2].getWeights()[3].data();
  assert.ok(after.every((v) => v !== 1), `moving variance changed: ${after}`);
  x.dispose();
});

Deno.test("Dropout is active in training steps and off in validation", async () => {
  const input = tf.input({ shape: [32] });
  const dropped = tf.layers.dropout({ rate: 0.5 }).apply(input) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 32, useBias: false, kernelInitializer: "identity" })
    .apply(dropped) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  const zeroFractions: number[] = [];
  const spyLoss = (yTrue: tf.Tensor, yPred: tf.Tensor) => {
    zeroFractions.push(
      tf.tidy(() => tf.mean(tf.cast(tf.equal(yPred, 0), "float32")).dataSync()[0]),
    );
    return tf.mean(tf.squaredDifference(yTrue, yPred)) as tf.Scalar;
  };
  const x = tf.ones([64, 32]);
  await trainAutoencoder(model, x, x, {
    epochs: 1,
    batchSize: 64,
    learningRate: 1e-9,
    progress: "none",
    loss: spyLoss,
    validation: { x, y: x },
  });
  assert.equal(zeroFractions.length, 2, "one training batch, one validation batch");
  assert.ok(zeroFractions[0] > 0.4 && zeroFractions[0] < 0.6, `training: ${zeroFractions[0]}`);
  assert.equal(zeroFractions[1], 0, "validation runs without dropout");
  x.dispose();
});

Deno.test("two runs with the same seeds give identical losses; another shuffle seed differs", async () => {
  const x = data(96, 20);
  const v = data(32, 30);
  const run = async (shuffleSeed: number) =>
    (await trainAutoencoder(denseModel(3, { batchNorm: true }), x, x, {
      epochs: 3,
      batchSize: 16,
      seed: shuffleSeed,
      progress: "none",
      validation: { x: v, y: v },
    })).history;
  const a = await run(5);
  const b = await run(5);
  const c = await run(6);
  assert.deepEqual(losses(a), losses(b));
  assert.notDeepEqual(losses(a), losses(c));
  assert.ok(a[2].trainLoss < a[0].trainLoss, "the model learns");
  tf.dispose([x, v]);
});

Deno.test("early stopping restores the weights of the best epoch", async () => {
  // The validation target is the constant 0.5 that the untrained sigmoid outputs are close to:
  // learning the training data moves outputs away from it, so the validation loss gets worse.
  const x = data(64, 40);
  const vy = tf.fill([32, 16], 0.5);
  const model = denseModel(4);
  const snapshots = new Map<number, Float32Array[]>();
  const patience = 2;
  const result = await trainAutoencoder(model, x, x, {
    epochs: 30,
    batchSize: 8,
    learningRate: 0.01,
    patience,
    progress: "none",
    validation: { x: x.slice(0, 32), y: vy },
    onEpochEnd: async (record, m) => void snapshots.set(record.epoch, await weightArrays(m)),
  });
  const valLosses = result.history.map((r) => r.valLoss!);
  const argmin = valLosses.indexOf(Math.min(...valLosses)) + 1;
  assert.equal(result.stopReason, "early-stopping");
  assert.equal(result.stoppedEarly, true);
  assert.equal(result.bestEpoch, argmin);
  assert.equal(result.history.length, result.bestEpoch + patience);
  assert.ok(result.history.length < 30);
  assert.equal(result.bestValLoss, valLosses[argmin - 1]);
  assert.equal(result.restoredBestWeights, true);
  assert.match(
    result.message,
    /^early stopping after epoch \d+: no val loss improvement for 2 epochs/,
  );
  assert.deepEqual(await weightArrays(model), snapshots.get(result.bestEpoch));
  assert.notDeepEqual(await weightArrays(model), snapshots.get(result.history.length));
  const valNow = await evaluateLoss(model, x.slice(0, 32), vy);
  assert.ok(Math.abs(valNow - result.bestValLoss!) < 1e-7);
  tf.dispose([x, vy]);
});

Deno.test("resume: 2 epochs + checkpoint + fresh model resumed for 2 more == 4 epochs straight", async () => {
  const root = await Deno.makeTempDir();
  try {
    const x = data(80, 50);
    const v = data(24, 60);
    const options = {
      epochs: 4,
      batchSize: 8,
      seed: 9,
      progress: "none" as const,
      validation: { x: v, y: v },
    };
    const straight = denseModel(5, { batchNorm: true });
    const full = await trainAutoencoder(straight, x, x, options);

    const dir = join(root, "ckpt");
    const first = await trainAutoencoder(denseModel(5, { batchNorm: true }), x, x, {
      ...options,
      epochs: 2,
      checkpointDir: dir,
    });
    assert.equal(first.history.length, 2);
    // A fresh model with other initial weights: everything must come from the checkpoint.
    const fresh = denseModel(77, { batchNorm: true });
    const resumed = await trainAutoencoder(fresh, x, x, {
      ...options,
      checkpointDir: dir,
      resume: true,
    });
    // Exact: same data order per epoch, weights, BN statistics and Adam state (moments,
    // step count and its running beta powers) all restored bit for bit on the cpu backend.
    assert.deepEqual(losses(resumed.history), losses(full.history));
    assert.deepEqual(await weightArrays(fresh), await weightArrays(straight));
    // The checkpoint of the last epoch loads as a model on its own.
    const loaded = await loadModel(dir);
    assert.deepEqual(await weightArrays(loaded), await weightArrays(straight));

    // Resuming a finished run trains nothing more and reports the same history.
    const again = await trainAutoencoder(denseModel(8, { batchNorm: true }), x, x, {
      ...options,
      checkpointDir: dir,
      resume: true,
    });
    assert.deepEqual(losses(again.history), losses(full.history));
    assert.equal(again.stopReason, "completed");

    // Different settings cannot silently continue a checkpoint.
    await assert.rejects(
      () =>
        trainAutoencoder(denseModel(5, { batchNorm: true }), x, x, {
          ...options,
          epochs: 6,
          batchSize: 16,
          checkpointDir: dir,
          resume: true,
        }),
      /cannot resume from .*batchSize: checkpoint 8 vs now 16/,
    );
    tf.dispose([x, v]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a NaN loss stops training, keeps the last good checkpoint and weights", async () => {
  const root = await Deno.makeTempDir();
  try {
    const x = data(48, 70);
    const dir = join(root, "ckpt");
    const model = denseModel(6);
    let goodWeights: Float32Array[] = [];
    const result = await trainAutoencoder(model, x, x, {
      epochs: 5,
      batchSize: 8,
      progress: "none",
      checkpointDir: dir,
      onEpochEnd: async (record, m) => {
        if (record.epoch === 2) {
          goodWeights = await weightArrays(m);
          // Poison a weight: the first batch of epoch 3 gives a NaN loss.
          const [kernel, bias] = m.layers[1].getWeights();
          m.layers[1].setWeights([kernel, tf.fill(bias.shape, NaN)]);
        }
      },
    });
    assert.equal(result.stopReason, "non-finite-loss");
    assert.equal(result.stoppedEarly, true);
    assert.equal(
      result.message,
      "epoch 3 batch 1: loss is NaN; stopped, kept the checkpoint of epoch 2",
    );
    assert.equal(result.history.length, 2);
    assert.deepEqual(await weightArrays(model), goodWeights);
    const state = JSON.parse(await Deno.readTextFile(join(dir, "trainer.json")));
    assert.equal(state.epoch, 2);
    assert.deepEqual(await weightArrays(await loadModel(dir)), goodWeights);
    x.dispose();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a diverging learning rate (SGD, lr 1e10) stops with a non-finite loss, weights stay finite", async () => {
  const x = data(48, 80);
  const model = denseModel(7, { outputActivation: "linear" });
  const result = await trainAutoencoder(model, x, x, {
    epochs: 5,
    batchSize: 8,
    optimizer: "sgd",
    learningRate: 1e10,
    progress: "none",
  });
  assert.equal(result.stopReason, "non-finite-loss");
  assert.match(
    result.message,
    /^epoch 1 batch \d+: loss is (NaN|Inf); stopped, kept the initial weights$/,
  );
  for (const w of await weightArrays(model)) assert.ok(w.every(Number.isFinite));
  x.dispose();
});

Deno.test("no tensor leak: the tensor count after epoch 2 equals the count after epoch 20", async () => {
  const root = await Deno.makeTempDir();
  try {
    const x = data(40, 90);
    const v = data(16, 91);
    const before = tf.memory().numTensors;
    const model = denseModel(8, { batchNorm: true });
    const modelTensors = tf.memory().numTensors - before;
    const counts = new Map<number, number>();
    const result = await trainAutoencoder(model, x, x, {
      epochs: 20,
      batchSize: 8,
      patience: 100,
      progress: "none",
      validation: { x: v, y: v },
      checkpointDir: join(root, "ckpt"),
      onEpochEnd: (record) => void counts.set(record.epoch, tf.memory().numTensors),
    });
    assert.equal(result.history.length, 20);
    assert.equal(counts.get(2), counts.get(20));
    assert.equal(tf.memory().numTensors, before + modelTensors, "nothing left after training");
    tf.dispose([x, v]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("losses: mse and bce values; bad names and options fail clearly", async () => {
  const yTrue = tf.tensor2d([[0, 1], [1, 0]]);
  const yPred = tf.tensor2d([[0.25, 0.5], [1, 0]]);
  const mse = lossFunction("mse")(yTrue, yPred);
  assert.ok(Math.abs(mse.dataSync()[0] - (0.0625 + 0.25) / 4) < 1e-7);
  const bce = lossFunction("bce")(yTrue, yPred);
  // Saturated exact predictions are clipped to 1e-7, so their terms are ~1e-7, not log(0).
  const expected = -(Math.log(0.75) + Math.log(0.5)) / 4;
  assert.ok(Math.abs(bce.dataSync()[0] - expected) < 1e-5);
  assert.throws(() => lossFunction("mae" as "mse"), /loss must be "mse", "bce" or a function/);
  assert.throws(() => createOptimizer("adamw" as "adam", 0.1), /optimizer must be/);
  assert.throws(() => createOptimizer("adam", 0), /learningRate must be a positive/);
  tf.dispose([yTrue, yPred, mse, bce]);

  const x = tf.zeros([4, 16]);
  const model = denseModel(9);
  const base = { epochs: 1, batchSize: 2, progress: "none" as const };
  await assert.rejects(
    () => trainAutoencoder(model, x, tf.zeros([3, 16]), base),
    /x has 4 samples but y has 3/,
  );
  await assert.rejects(
    () => trainAutoencoder(model, x, x, { ...base, batchSize: 0 }),
    /batchSize must be a positive integer, got 0/,
  );
  await assert.rejects(
    () => trainAutoencoder(model, x, x, { ...base, resume: true }),
    /resume: true needs a checkpointDir/,
  );
  x.dispose();
});

Deno.test("historyToDataFrame: one row per epoch, null validation loss kept as null", () => {
  const df = historyToDataFrame([
    { epoch: 1, trainLoss: 0.5, valLoss: null, seconds: 1.5 },
    { epoch: 2, trainLoss: 0.25, valLoss: null, seconds: 1.25 },
  ]);
  assert.deepEqual(df.columns, ["epoch", "trainLoss", "valLoss", "seconds"]);
  assert.equal(df.height, 2);
  assert.deepEqual([...df.getColumn("epoch")], [1, 2]);
  assert.deepEqual([...df.getColumn("trainLoss")], [0.5, 0.25]);
  assert.deepEqual([...df.getColumn("valLoss")], [null, null]);
  assert.equal(String(df.getColumn("valLoss").dtype), String(pl.Float64));
  assert.equal(String(df.getColumn("epoch").dtype), String(pl.Int32));
});
