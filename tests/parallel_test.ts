import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { setupBackend } from "../lib/backend.ts";
import {
  buildDense64Autoencoder,
  buildMlpBlocksAutoencoder,
  buildZooModel,
  resize2d,
} from "../lib/models/mod.ts";
import {
  autoWorkers,
  hasConvolution,
  splitInvariant,
  splitSizes,
  startDataParallel,
  workerSeed,
} from "../lib/parallel/mod.ts";
import { lossFunction, type LossName, trainAutoencoder } from "../lib/train.ts";

// The data-parallel step exists for wasm; the Workers run wasm too.
await setupBackend("wasm", { quiet: true });

/** `n` images or vectors in [0, 1] with structure (prototypes + noise), seeded. */
function data(n: number, shape: number[], seed: number): tf.Tensor {
  return tf.tidy(() => {
    const prototypes = tf.randomUniform([4, ...shape], 0, 1, "float32", seed);
    const pick = tf.randomUniform([n], 0, 4, "int32", seed + 1);
    const noise = tf.randomNormal([n, ...shape], 0, 0.05, "float32", seed + 2);
    return tf.clipByValue(tf.add(tf.gather(prototypes, pick), noise), 0, 1);
  });
}

/** Tiny conv autoencoder with this project's custom Resize2D (must be rebuilt in the Worker). */
function tinyConvModel(seed: number): tf.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: s });
  const input = tf.input({ shape: [8, 8, 1] });
  let h = tf.layers.conv2d({
    filters: 4,
    kernelSize: 3,
    padding: "same",
    activation: "relu",
    kernelInitializer: init(seed),
  }).apply(input) as tf.SymbolicTensor;
  h = tf.layers.maxPooling2d({ poolSize: 2 }).apply(h) as tf.SymbolicTensor;
  h = resize2d({ height: 8, width: 8, interpolation: "bilinear" }).apply(h) as tf.SymbolicTensor;
  const out = tf.layers.conv2d({
    filters: 1,
    kernelSize: 3,
    padding: "same",
    activation: "sigmoid",
    kernelInitializer: init(seed + 1),
  }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

/** The one-thread gradient of the mean loss over the whole batch. */
function fullGradients(model: tf.LayersModel, x: tf.Tensor, loss: LossName) {
  const lossOf = lossFunction(loss);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  return tf.variableGrads(() => lossOf(x, model.apply(x, { training: true }) as tf.Tensor), vars);
}

/** Largest |a - b| relative to the largest |b| (with a floor, for all-zero gradients). */
async function relativeError(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const [diff, scale] = tf.tidy(() => [tf.max(tf.abs(tf.sub(a, b))), tf.max(tf.abs(b))]);
  const [d, s] = [(await diff.data())[0], (await scale.data())[0]];
  tf.dispose([diff, scale]);
  return d / Math.max(s, 1e-6);
}

function snapshot(model: tf.LayersModel): tf.Tensor[] {
  return model.weights.map((w) => tf.clone(w.read()));
}

Deno.test("splitSizes: nearly equal parts, the first ones take the remainder", () => {
  assert.deepEqual(splitSizes(64, 2), [32, 32]);
  assert.deepEqual(splitSizes(33, 2), [17, 16]);
  assert.deepEqual(splitSizes(10, 3), [4, 3, 3]);
  assert.deepEqual(splitSizes(1, 2), [1, 0]);
});

Deno.test("2 threads: the combined gradient is the full-batch gradient (dense-64, and a conv model with Resize2D)", async () => {
  const cases: [string, tf.LayersModel, tf.Tensor, LossName][] = [
    // 33 samples: parts of 17 and 16, so a wrong weighting of the parts shows.
    ["dense-64", buildDense64Autoencoder({ seed: 1 }).autoencoder, data(33, [784], 5), "mse"],
    ["tiny conv", tinyConvModel(3), data(9, [8, 8, 1], 7), "bce"],
  ];
  for (const [name, model, x, loss] of cases) {
    const parallel = await startDataParallel(model, { workers: 2, loss });
    try {
      const combined = await parallel.gradients(x, x);
      const full = fullGradients(model, x, loss);
      const fullLoss = (await full.value.data())[0];
      assert.ok(
        Math.abs(combined.loss - fullLoss) <= 1e-5 * fullLoss,
        `${name} loss ${combined.loss} vs ${fullLoss}`,
      );
      const names = Object.keys(full.grads);
      assert.deepEqual(Object.keys(combined.grads).sort(), [...names].sort());
      for (const v of names) {
        const error = await relativeError(combined.grads[v], full.grads[v]);
        assert.ok(error < 1e-4, `${name} ${v}: relative error ${error}`);
      }
      tf.dispose([full.value, ...Object.values(full.grads), ...Object.values(combined.grads)]);
      tf.dispose(combined.state);
    } finally {
      parallel.close();
      model.dispose();
      x.dispose();
    }
  }
});

Deno.test("trainAutoencoder with workers: 2 ends within float tolerance of workers: 1 (dense-64, 8 Adam steps)", async () => {
  const x = data(128, [784], 11);
  const train = async (workers: number) => {
    const model = buildDense64Autoencoder({ seed: 2 }).autoencoder;
    const result = await trainAutoencoder(model, x, x, {
      epochs: 2,
      batchSize: 32,
      seed: 4,
      progress: "none",
      workers,
    });
    const weights = model.getWeights().map((w) => w.dataSync().slice() as Float32Array);
    model.dispose();
    return { weights, losses: result.history.map((r) => r.trainLoss) };
  };
  const initial = buildDense64Autoencoder({ seed: 2 }).autoencoder;
  const start = initial.getWeights().map((w) => w.dataSync().slice());
  initial.dispose();
  const one = await train(1);
  const two = await train(2);
  let moved = 0;
  let differ = 0;
  one.weights.forEach((w, i) => {
    for (let j = 0; j < w.length; j++) {
      moved = Math.max(moved, Math.abs(w[j] - start[i][j]));
      differ = Math.max(differ, Math.abs(w[j] - two.weights[i][j]));
    }
  });
  // 8 Adam steps of lr 1e-3 move weights by up to ~8e-3; rounding differences stay far below.
  assert.ok(moved > 2e-3, `training moved the weights by only ${moved}`);
  assert.ok(differ < 1e-5, `workers 1 vs 2: weights differ by up to ${differ}`);
  one.losses.forEach((l, i) => assert.ok(Math.abs(l - two.losses[i]) < 1e-5 * l, `epoch ${i + 1}`));
  x.dispose();
});

Deno.test("BatchNorm: the 2-thread gradient is exactly the mean of the two parts' own batch-norm gradients", async () => {
  // With BatchNorm a part's gradient depends on the part's own statistics, so the combined
  // gradient is not the full batch's. What data parallelism promises is that it is the
  // size-weighted mean of ordinary one-thread gradients of the parts (ghost batch norm), each
  // with the current weights: then every step is an unbiased average of BatchNorm gradients
  // of batches of n/2, i.e. equal in expectation to one thread's step on such batches. That
  // identity is deterministic, so it is checked exactly (up to float rounding) here.
  const model = buildMlpBlocksAutoencoder({ nLayers: 3, btlSize: 2, seed: 5 }).autoencoder;
  const x = data(48, [784], 21);
  const start = snapshot(model);
  const part = (from: number, size: number) => tf.slice(x, from, size);
  const [x1, x2] = [part(0, 24), part(24, 24)];
  const g1 = fullGradients(model, x1, "mse");
  const mean1 = snapshot(model); // moving statistics after part 1 from the start
  model.setWeights(start);
  const g2 = fullGradients(model, x2, "mse");
  const mean2 = snapshot(model);
  model.setWeights(start);
  const gFull = fullGradients(model, x, "mse");
  const afterFull = snapshot(model);
  model.setWeights(start);
  const parallel = await startDataParallel(model, { workers: 2, loss: "mse" });
  try {
    const combined = await parallel.gradients(x, x);
    let fullDiffers = 0;
    for (const v of Object.keys(g1.grads)) {
      const expected = tf.tidy(() => tf.mul(tf.add(g1.grads[v], g2.grads[v]), 0.5));
      const error = await relativeError(combined.grads[v], expected);
      assert.ok(error < 1e-4, `${v}: relative error ${error}`);
      fullDiffers = Math.max(fullDiffers, await relativeError(combined.grads[v], gFull.grads[v]));
      expected.dispose();
    }
    // ...and it is not the full batch's gradient (else this test would not test BatchNorm).
    assert.ok(fullDiffers > 1e-3, `BatchNorm parts should differ from the full batch`);
    // Moving statistics: the mean of the parts' updates. For the first BatchNorm layer's
    // moving mean that is exactly the full batch's update (the mean of the halves' means is the
    // batch mean); later layers see inputs normalised per part, so only the first is checked.
    const stateIndices = model.weights.flatMap((w, i) => (w.trainable ? [] : [i]));
    assert.ok(stateIndices.length > 0);
    for (const [s, i] of stateIndices.entries()) {
      const expected = tf.tidy(() => tf.mul(tf.add(mean1[i], mean2[i]), 0.5));
      assert.ok((await relativeError(combined.state[s], expected)) < 1e-5, model.weights[i].name);
      expected.dispose();
    }
    const first = stateIndices.find((i) => model.weights[i].name.includes("moving_mean"))!;
    const firstError = await relativeError(
      combined.state[stateIndices.indexOf(first)],
      afterFull[first],
    );
    assert.ok(firstError < 1e-5, `first moving mean vs the full batch's: ${firstError}`);
    tf.dispose([...Object.values(combined.grads), ...combined.state]);
  } finally {
    parallel.close();
    tf.dispose([g1.value, g2.value, gFull.value]);
    tf.dispose([g1.grads, g2.grads, gFull.grads].flatMap((g) => Object.values(g)));
    tf.dispose([x, x1, x2, ...start, ...mean1, ...mean2, ...afterFull]);
    model.dispose();
  }
});

Deno.test("BatchNorm: over shuffle seeds, 2-thread training ends at the same loss as 1 thread (mlp-bn)", async () => {
  // The practical side of "equal in expectation": the final loss is a random variable of the
  // shuffle seed; with ghost batch norm over two parts its mean should be the same. We train
  // K = 4 seeds each way and require Welch's t of the two means below 3 (about a 2% tail if
  // the means were equal), and that every run learned. Everything is seeded and no thread
  // timing enters the arithmetic, so the outcome is fixed for this code: it cannot flake.
  // (The exact identity behind it is the previous test; this one fails if the Worker computed
  // with stale weights, and shows how far ghost batch norm moves a real run.)
  const x = data(256, [784], 31);
  const run = async (workers: number, seed: number) => {
    const model = buildMlpBlocksAutoencoder({ nLayers: 3, btlSize: 2, seed: 6 }).autoencoder;
    const result = await trainAutoencoder(model, x, x, {
      epochs: 4,
      batchSize: 32,
      learningRate: 3e-3,
      seed,
      progress: "none",
      workers,
      validation: { x, y: x },
    });
    model.dispose();
    const losses = result.history.map((r) => r.valLoss!);
    assert.ok(losses[3] < 0.5 * losses[0], `workers ${workers} seed ${seed}: ${losses}`);
    return losses[3];
  };
  const seeds = [0, 1, 2, 3];
  const one: number[] = [];
  const two: number[] = [];
  for (const seed of seeds) one.push(await run(1, seed));
  for (const seed of seeds) two.push(await run(2, seed));
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const variance = (v: number[]) => v.reduce((a, b) => a + (b - mean(v)) ** 2, 0) / (v.length - 1);
  const t = (mean(two) - mean(one)) /
    Math.sqrt(variance(one) / one.length + variance(two) / two.length);
  assert.ok(Math.abs(t) < 3, `final val loss 1 thread ${one} vs 2 threads ${two}: t = ${t}`);
  x.dispose();
});

Deno.test("dropout: the Worker draws its own masks (not the main thread's), and runs are reproducible", async () => {
  const build = () =>
    buildMlpBlocksAutoencoder({ nLayers: 2, btlSize: 2, useDropout: true, seed: 8 }).autoencoder;
  // A batch of two identical halves: if the Worker's SeededDropout streams were the main
  // thread's (same layer seeds), both halves would get the same masks and the combined
  // gradient would equal the gradient of one half computed with the first masks.
  const half = data(16, [784], 51);
  const x = tf.concat([half, half]);
  const model = build();
  const parallel = await startDataParallel(model, { workers: 2 });
  const reference = build(); // fresh layers: their first masks are the main thread's above
  try {
    const combined = await parallel.gradients(x, x);
    const oneHalf = fullGradients(reference, half, "mse");
    let largest = 0;
    for (const [i, v] of model.trainableWeights.entries()) {
      const name = (reference.trainableWeights[i].read() as tf.Variable).name;
      largest = Math.max(
        largest,
        await relativeError(combined.grads[(v.read() as tf.Variable).name], oneHalf.grads[name]),
      );
    }
    assert.ok(largest > 0.05, `the Worker reused the main thread's masks (${largest})`);
    tf.dispose([oneHalf.value, ...Object.values(oneHalf.grads)]);
    tf.dispose([...Object.values(combined.grads), ...combined.state]);
  } finally {
    parallel.close();
    model.dispose();
    reference.dispose();
  }
  // Same seeds and the same number of threads: the same weights, bit for bit.
  const train = async () => {
    const m = build();
    await trainAutoencoder(m, x, x, { epochs: 2, batchSize: 16, progress: "none", workers: 2 });
    const weights = m.getWeights().map((w) => Array.from(w.dataSync()));
    m.dispose();
    return weights;
  };
  assert.deepEqual(await train(), await train());
  tf.dispose([half, x]);
});

Deno.test("a Worker's failure is a clear Error in the main thread, and nothing keeps running", async () => {
  // A layer class the main thread knows and the Worker does not: its rebuild fails.
  class LocalOnly extends tf.layers.Layer {
    static className = "LocalOnlyLayerForTest";
    override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
      return Array.isArray(inputs) ? inputs[0] : inputs;
    }
  }
  tf.serialization.registerClass(LocalOnly);
  const input = tf.input({ shape: [4] });
  const h = new LocalOnly({}).apply(input) as tf.SymbolicTensor;
  const model = tf.model({
    inputs: input,
    outputs: tf.layers.dense({ units: 4 }).apply(h) as tf.SymbolicTensor,
  });
  await assert.rejects(
    startDataParallel(model, { workers: 2 }),
    /data-parallel worker 1: .*LocalOnlyLayerForTest/,
  );
  const x = tf.ones([8, 4]);
  await assert.rejects(
    trainAutoencoder(model, x, x, { epochs: 1, batchSize: 8, progress: "none", workers: 2 }),
    /data-parallel worker 1: .*LocalOnlyLayerForTest/,
  );
  model.dispose();
  x.dispose();

  // The default ("auto") picks 2 threads for a conv model; when its Workers cannot start, it
  // warns and trains on one thread instead of failing.
  const convInput = tf.input({ shape: [8, 8, 1] });
  const convLocal = new LocalOnly({}).apply(convInput) as tf.SymbolicTensor;
  const convModel = tf.model({
    inputs: convInput,
    outputs: tf.layers.conv2d({ filters: 1, kernelSize: 3, padding: "same" }).apply(
      convLocal,
    ) as tf.SymbolicTensor,
  });
  const xc = data(8, [8, 8, 1], 9);
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (message: string) => warnings.push(message);
  try {
    const result = await trainAutoencoder(convModel, xc, xc, {
      epochs: 1,
      batchSize: 8,
      progress: "none",
    });
    assert.equal(result.history.length, 1);
  } finally {
    console.warn = warn;
  }
  assert.equal(autoWorkers(convModel, "mse"), 2);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /workers "auto": training on one thread .*LocalOnlyLayerForTest/);
  convModel.dispose();
  xc.dispose();

  // A step pending when the team closes rejects instead of hanging.
  const dense = buildDense64Autoencoder({ seed: 1 }).autoencoder;
  const xd = data(16, [784], 3);
  const parallel = await startDataParallel(dense, { workers: 2 });
  const pending = parallel.gradients(xd, xd);
  parallel.close();
  await assert.rejects(pending, /data-parallel worker 1: closed/);
  await assert.rejects(parallel.gradients(xd, xd), /after close/);
  dense.dispose();
  xd.dispose();
});

Deno.test("options: workers is checked, needs a named loss, and 'auto' picks 2 only for conv models on wasm", async () => {
  const x = tf.zeros([4, 784]);
  const model = buildDense64Autoencoder({ seed: 1 }).autoencoder;
  const base = { epochs: 1, batchSize: 4, progress: "none" as const };
  await assert.rejects(trainAutoencoder(model, x, x, { ...base, workers: 0 }), /workers must be/);
  await assert.rejects(
    trainAutoencoder(model, x, x, {
      ...base,
      workers: 2,
      loss: (a, b) => tf.losses.meanSquaredError(a, b) as tf.Scalar,
    }),
    /named loss/,
  );
  const cnn = buildZooModel("cnn-bilinear", 0).autoencoder;
  const cnnBn = buildZooModel("conv-bottleneck-d2", 0).autoencoder; // BatchNorm
  assert.equal(hasConvolution(cnn), true);
  assert.equal(hasConvolution(model), false);
  assert.equal(splitInvariant(cnn), true);
  assert.equal(splitInvariant(cnnBn), false);
  const cpus = navigator.hardwareConcurrency;
  assert.equal(autoWorkers(cnn, "mse"), cpus >= 2 ? 2 : 1);
  assert.equal(autoWorkers(cnn, () => tf.scalar(0)), 1);
  assert.equal(autoWorkers(cnnBn, "mse"), 1);
  assert.equal(autoWorkers(model, "mse"), 1);
  cnnBn.dispose();
  assert.notEqual(workerSeed(123, 1), 123);
  assert.notEqual(workerSeed(123, 1), workerSeed(123, 2));
  cnn.dispose();
  model.dispose();
  x.dispose();
});

Deno.test("no tensor leaks: data-parallel steps and trainAutoencoder({ workers: 2 }) leave the tensor count unchanged", async () => {
  const model = buildMlpBlocksAutoencoder({ nLayers: 2, btlSize: 2, seed: 7 }).autoencoder;
  const x = data(40, [784], 41);
  const optimizer = tf.train.adam(1e-3);
  const parallel = await startDataParallel(model, { workers: 2 });
  try {
    await parallel.step(optimizer, x, x); // creates Adam's moment variables
    const before = tf.memory().numTensors;
    for (let i = 0; i < 4; i++) await parallel.step(optimizer, x, x);
    assert.equal(tf.memory().numTensors, before);
  } finally {
    parallel.close();
    optimizer.dispose();
  }
  const before = tf.memory().numTensors;
  await trainAutoencoder(model, x, x, { epochs: 2, batchSize: 16, progress: "none", workers: 2 });
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
  x.dispose();
});
