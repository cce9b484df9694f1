/**
 * Compiled training steps (lib/kernels/compiled_step.ts): a step recorded from the eager one and
 * run as one TensorFlow function must train like the eager step, stay eager where it cannot be
 * replayed, and take up weights written from outside. Needs `deno task native` (tfjs-node's
 * addon with aeAddFunction); elsewhere only the stepper's eager fallback is tested.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { setupBackend } from "../lib/backend.ts";
import {
  createTrainStepper,
  stepFeed,
  supportsCompiledSteps,
} from "../lib/kernels/compiled_step.ts";
import { buildZooModel, SeededDropout } from "../lib/models/mod.ts";
import { createOptimizer, trainAutoencoder } from "../lib/train.ts";
import { addonInstalled } from "./fixtures/native_addon.ts";

const built = addonInstalled("@tensorflow/tfjs-node");

/** Deterministic values in [0, 1) from a small LCG (independent of lib/random.ts). */
function uniform(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32;
  }
  return out;
}

function maxRelativeDiff(got: Float32Array[], want: Float32Array[]): number {
  let worst = 0;
  want.forEach((w, i) => {
    let scale = 1e-3;
    for (const v of w) scale = Math.max(scale, Math.abs(v));
    for (let j = 0; j < w.length; j++) worst = Math.max(worst, Math.abs(got[i][j] - w[j]) / scale);
  });
  return worst;
}

/** The SeededDropout layers of a model, nested models included. */
function dropoutLayers(model: tf.LayersModel): SeededDropout[] {
  const found: SeededDropout[] = [];
  const visit = (layers: tf.layers.Layer[]) => {
    for (const l of layers) {
      if (l instanceof SeededDropout) found.push(l);
      else if (l instanceof tf.LayersModel) visit(l.layers);
    }
  };
  visit(model.layers);
  return found;
}

interface StepRun {
  losses: number[];
  weights: Float32Array[];
  mode: string;
  reason: string | null;
  compiledSteps: number;
  iterations: number;
  /** Per SeededDropout layer of the model, the masks it drew. */
  masksDrawn: number[];
}

/**
 * `steps` Adam steps of zoo model `name` (seed 3) on batches of `batch` synthetic images, with
 * the stepper compiling or not; `writeAt` halves the first layer's weights before that step.
 */
async function trainSteps(
  name: string,
  compile: boolean,
  options: { steps?: number; batch?: number; writeAt?: number } = {},
): Promise<StepRun> {
  const { steps = 8, batch = 8, writeAt } = options;
  const ae = buildZooModel(name, 3);
  const model = ae.autoencoder;
  const shape = model.inputs[0].shape.slice(1) as number[];
  const size = shape.reduce((a, b) => a * b);
  const pool = [0, 1, 2].map((k) => tf.tensor(uniform(batch * size, 11 + k), [batch, ...shape]));
  const optimizer = createOptimizer("adam", 1e-3);
  const stepper = createTrainStepper(([xb, yb]) =>
    optimizer.minimize(
      () => tf.losses.meanSquaredError(yb, model.apply(xb, { training: true }) as tf.Tensor),
      true,
    )!, {
    compile,
    afterCompiledStep: () =>
      (optimizer as unknown as { incrementIterations(): void }).incrementIterations(),
  });
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    if (s === writeAt) {
      const layer = model.layers.find((l) => l.getWeights().length > 0)!;
      layer.setWeights(layer.getWeights().map((w) => tf.mul(w, 0.5)));
    }
    const cost = tf.tidy(() => stepper.step([pool[s % 3], pool[s % 3]]));
    losses.push((await cost.data())[0]);
    cost.dispose();
  }
  const weights = await Promise.all(
    model.getWeights().map((w) => w.data() as Promise<Float32Array>),
  );
  const run = {
    losses,
    weights,
    mode: stepper.mode,
    reason: stepper.reason,
    compiledSteps: stepper.compiledSteps,
    iterations: optimizer.iterations,
    masksDrawn: dropoutLayers(model).map((l) => l.masksDrawn),
  };
  stepper.dispose();
  optimizer.dispose();
  tf.dispose(pool);
  model.dispose();
  return run;
}

/**
 * {@link trainSteps} eagerly and compiled from the same start; asserts the compiled weights are
 * within `tolerance` of the eager ones (relative to each tensor's scale).
 */
async function eagerAndCompiled(
  name: string,
  tolerance: number,
  options: Parameters<typeof trainSteps>[2] = {},
): Promise<{ eager: StepRun; compiled: StepRun }> {
  const eager = await trainSteps(name, false, options);
  const compiled = await trainSteps(name, true, options);
  const diff = maxRelativeDiff(compiled.weights, eager.weights);
  assert.ok(diff < tolerance, `${name}: weights differ by ${diff} of their scale`);
  return { eager, compiled };
}

Deno.test({
  name:
    "compiled step: the write-up-000 CNN trains as its eager step does (needs deno task native)",
  ignore: !built,
  fn: async () => {
    await setupBackend("tfjs-node", { quiet: true });
    assert.ok(
      supportsCompiledSteps(),
      "the addon has aeAddFunction: rebuild with deno task native",
    );
    const before = tf.memory().numTensors;
    // The same kernels, but a convolution in the function may round differently in the last
    // bits (measured: 1.8e-7 of the scale after 8 steps).
    const { eager, compiled } = await eagerAndCompiled("cnn-bilinear", 2e-6);
    assert.equal(eager.reason, "compiled steps are turned off");
    assert.equal(compiled.reason, null);
    assert.equal(compiled.mode, "compiled");
    // Steps 1-3 are eager (one warm-up, two recorded), 4-8 compiled.
    assert.equal(compiled.compiledSteps, 5);
    assert.equal(compiled.iterations, 8, "the optimizer counts compiled steps too");
    assert.ok(compiled.losses[7] < compiled.losses[0], "the loss goes down");
    compiled.losses.forEach((l, i) =>
      assert.ok(Math.abs(l - eager.losses[i]) <= 1e-6 * eager.losses[i], `loss of step ${i + 1}`)
    );
    assert.equal(tf.memory().numTensors, before, "no tensor left behind");
  },
});

Deno.test({
  name:
    "compiled step: BatchNorm's moving statistics are updated as eagerly (needs deno task native)",
  ignore: !built,
  fn: async () => {
    await setupBackend("tfjs-node", { quiet: true });
    // getWeights includes each BatchNorm's moving mean and variance. Dense layers: the
    // function computes bit for bit what the eager ops did (measured: 0 difference).
    const { compiled } = await eagerAndCompiled("mlp-bn-10", 1e-6, { steps: 6 });
    assert.equal(compiled.compiledSteps, 3);
  },
});

Deno.test({
  name: "compiled step: seeded dropout compiles, with the eager masks in the eager order " +
    "(needs deno task native)",
  ignore: !built,
  fn: async () => {
    await setupBackend("tfjs-node", { quiet: true });
    const before = tf.memory().numTensors;
    // The masks are step feeds: the same seeded sequence eagerly and compiled, so the weights
    // may differ only by the function's rounding (dense layers: none measured).
    const { eager, compiled } = await eagerAndCompiled("mlp-dropout-5", 1e-6, { steps: 7 });
    assert.equal(compiled.reason, null);
    assert.equal(compiled.compiledSteps, 4);
    assert.equal(compiled.iterations, 7);
    assert.deepEqual(compiled.masksDrawn, eager.masksDrawn);
    assert.deepEqual(compiled.masksDrawn, [7, 7, 7, 7, 7, 7, 7, 7], "one mask per layer and step");
    compiled.losses.forEach((l, i) =>
      assert.ok(Math.abs(l - eager.losses[i]) <= 1e-6 * eager.losses[i], `loss of step ${i + 1}`)
    );
    assert.equal(tf.memory().numTensors, before, "no tensor left behind");
  },
});

Deno.test({
  name: "compiled step: random data made in JavaScript without stepFeed keeps the step eager " +
    "(needs deno task native)",
  ignore: !built,
  fn: async () => {
    await setupBackend("tfjs-node", { quiet: true });
    const v = tf.variable(tf.zeros([16]));
    let seed = 0;
    const raw = createTrainStepper(([a]) => {
      const next = tf.add(v, tf.mul(a, tf.randomUniform([16], 0, 1, "float32", seed++)));
      v.assign(next);
      return tf.sum(next);
    });
    for (let s = 0; s < 5; s++) tf.tidy(() => raw.step([tf.ones([16])])).dispose();
    assert.equal(raw.compiledSteps, 0);
    assert.match(raw.reason ?? "", /not the same computation/);
    raw.dispose();
    // A feed that an op made (not JavaScript values) is refused with the reason.
    const fromOp = createTrainStepper(([a]) => {
      const next = tf.add(v, stepFeed(() => tf.mul(a, 2)));
      v.assign(next);
      return tf.sum(next);
    });
    for (let s = 0; s < 4; s++) tf.tidy(() => fromOp.step([tf.ones([16])])).dispose();
    assert.equal(fromOp.compiledSteps, 0);
    assert.match(fromOp.reason ?? "", /step feed's tensor was not made from JavaScript values/);
    fromOp.dispose();
    v.dispose();
  },
});

Deno.test({
  name: "compiled step: weights written from outside are taken up (needs deno task native)",
  ignore: !built,
  fn: async () => {
    await setupBackend("tfjs-node", { quiet: true });
    // Had the compiled step missed the write, the first layer would be twice the eager one's.
    const { compiled } = await eagerAndCompiled("cnn-bilinear", 2e-6, { writeAt: 5 });
    // Step 6 runs eagerly after the write (the native Adam copies the new weights in), 4, 5, 7
    // and 8 compiled.
    assert.equal(compiled.compiledSteps, 4);
  },
});

Deno.test({
  name: "compiled step: trainAutoencoder gives the eager history, last short batch included " +
    "(needs deno task native)",
  ignore: !built,
  fn: async () => {
    await setupBackend("tfjs-node", { quiet: true });
    const x = tf.tensor(uniform(200 * 784, 5), [200, 784]);
    const run = async (compileSteps: boolean) => {
      const ae = buildZooModel("dense-64", 1);
      const result = await trainAutoencoder(ae.autoencoder, x, x, {
        epochs: 4,
        batchSize: 48, // 4 full batches and one of 8 per epoch: two compiled functions
        seed: 2,
        progress: "none",
        compileSteps,
      });
      const weights = await Promise.all(
        ae.autoencoder.getWeights().map((w) => w.data() as Promise<Float32Array>),
      );
      ae.autoencoder.dispose();
      return { losses: result.history.map((r) => r.trainLoss), weights };
    };
    const eager = await run(false);
    const compiled = await run(true);
    compiled.losses.forEach((l, i) =>
      assert.ok(Math.abs(l - eager.losses[i]) <= 1e-6 * eager.losses[i], `epoch ${i + 1} loss`)
    );
    const diff = maxRelativeDiff(compiled.weights, eager.weights);
    assert.ok(diff < 1e-6, `weights after 4 epochs differ by ${diff} of their scale`);
    x.dispose();
  },
});

Deno.test("compiled step: on a backend without the addon every step is eager, with the reason", async () => {
  await setupBackend("cpu", { quiet: true });
  const v: tf.Variable = tf.variable(tf.scalar(2) as tf.Tensor);
  const stepper = createTrainStepper(([a]) => {
    const next = tf.add(v, a);
    v.assign(next);
    return tf.mul(next, 1);
  });
  for (let s = 0; s < 5; s++) tf.tidy(() => stepper.step([tf.scalar(1)])).dispose();
  assert.equal(stepper.mode, "eager");
  assert.equal(stepper.compiledSteps, 0);
  assert.match(stepper.reason ?? "", /backend is "cpu"/);
  assert.equal(v.dataSync()[0], 7);
  stepper.dispose();
  v.dispose();
});
