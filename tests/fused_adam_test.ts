/**
 * FusedAdamOptimizer must be tfjs's Adam computed differently, not a different optimizer: the
 * same weights bit for bit after several steps, the same saved state, and state that moves
 * between the two.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { fusedAdam } from "../lib/fused_adam.ts";
import { mulberry32 } from "../lib/random.ts";

await tf.setBackend("cpu");

/** A small model with differently shaped variables (kernels, biases, a BatchNorm). */
function buildModel(): tf.LayersModel {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [12], units: 9, activation: "relu" }),
      tf.layers.batchNormalization(),
      tf.layers.dense({ units: 3 }),
      tf.layers.dense({ units: 12, activation: "sigmoid" }),
    ],
  });
  const random = mulberry32(7);
  model.setWeights(
    model.getWeights().map((w) =>
      tf.tensor(Float32Array.from({ length: w.size }, () => random() - 0.5), w.shape)
    ),
  );
  return model;
}

function batch(seed: number): tf.Tensor2D {
  const random = mulberry32(seed);
  return tf.tensor2d(Float32Array.from({ length: 16 * 12 }, () => random()), [16, 12]);
}

function train(model: tf.LayersModel, optimizer: tf.Optimizer, steps: number, from = 0): void {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  for (let s = from; s < from + steps; s++) {
    tf.tidy(() => {
      const x = batch(s);
      optimizer.minimize(
        () => tf.losses.meanSquaredError(x, model.apply(x, { training: true }) as tf.Tensor),
        false,
        vars,
      );
    });
  }
}

function weightsOf(model: tf.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => w.dataSync() as Float32Array);
}

Deno.test("fusedAdam gives tfjs Adam's weights bit for bit over 12 steps", () => {
  const a = buildModel();
  const b = buildModel();
  const reference = tf.train.adam(0.01);
  const fused = fusedAdam(0.01);
  train(a, reference, 12);
  train(b, fused, 12);
  const [wa, wb] = [weightsOf(a), weightsOf(b)];
  assert.equal(wa.length, wb.length);
  wa.forEach((w, i) => assert.deepEqual(wb[i], w, `weight ${i}`));
  // Training moved the weights (the comparison is not between two untouched models).
  assert.notDeepEqual(wa[0], weightsOf(buildModel())[0]);
  assert.equal(fused.iterations, 12);
  reference.dispose();
  fused.dispose();
  a.dispose();
  b.dispose();
});

Deno.test("fusedAdam saves tfjs Adam's state layout and values; either resumes the other", async () => {
  const a = buildModel();
  const b = buildModel();
  const reference = tf.train.adam(0.01);
  const fused = fusedAdam(0.01);
  train(a, reference, 5);
  train(b, fused, 5);
  const [ra, rb] = [await reference.getWeights(), await fused.getWeights()];
  const layout = (model: tf.LayersModel) => {
    const names = model.trainableWeights.map((w) => (w.read() as tf.Variable).name);
    return ["iter", ...names.map((n) => `${n}/m`), ...names.map((n) => `${n}/v`)];
  };
  assert.deepEqual(ra.map((w) => w.name), layout(a));
  assert.deepEqual(rb.map((w) => w.name), layout(b));
  ra.forEach((w, i) => {
    assert.deepEqual(rb[i].tensor.shape, w.tensor.shape, w.name);
    assert.deepEqual(rb[i].tensor.dataSync(), w.tensor.dataSync(), w.name);
  });
  assert.equal(fused.getClassName(), reference.getClassName());

  // Cross over: tfjs Adam's state into a fresh fused optimizer and the other way round, then
  // both continue on the same batches and must still agree with a run that never stopped.
  const fusedResumed = fusedAdam(0.01);
  await fusedResumed.setWeights(ra.map((w) => ({ name: w.name, tensor: w.tensor.clone() })));
  const adamResumed = tf.train.adam(0.01);
  await adamResumed.setWeights(rb.map((w) => ({ name: w.name, tensor: w.tensor.clone() })));
  const c = buildModel();
  c.setWeights(a.getWeights());
  const d = buildModel();
  d.setWeights(b.getWeights());
  train(c, fusedResumed, 4, 5); // c's variables have new names: matched by position
  train(d, adamResumed, 4, 5);
  train(a, reference, 4, 5);
  const [wa, wc, wd] = [weightsOf(a), weightsOf(c), weightsOf(d)];
  // setWeights recomputes beta^t with pow (tfjs does too), so allow float32 rounding.
  wa.forEach((w, i) => {
    for (const [other, what] of [[wc[i], "fused from Adam"], [wd[i], "Adam from fused"]] as const) {
      const worst = w.reduce((m, v, j) => Math.max(m, Math.abs(v - other[j])), 0);
      assert.ok(worst < 1e-5, `${what}, weight ${i}: max diff ${worst}`);
    }
  });
  tf.dispose([...ra.map((w) => w.tensor), ...rb.map((w) => w.tensor)]);
  [reference, fused, fusedResumed, adamResumed].forEach((o) => o.dispose());
  [a, b, c, d].forEach((m) => m.dispose());
});

Deno.test("fusedAdam refuses a different variable set and bad hyperparameters", () => {
  const model = buildModel();
  const fused = fusedAdam(0.01);
  train(model, fused, 1);
  const x = batch(0);
  const first = model.trainableWeights.slice(0, 2).map((w) => w.read() as tf.Variable);
  assert.throws(
    () =>
      fused.minimize(
        () => tf.losses.meanSquaredError(x, model.apply(x) as tf.Tensor) as tf.Scalar,
        false,
        first,
      ),
    /FusedAdam: gradients for .* but this optimizer updates/,
  );
  assert.throws(() => fusedAdam(0), /learningRate must be positive/);
  assert.throws(() => fusedAdam(0.1, 1), /beta1 must be in \[0, 1\)/);
  x.dispose();
  fused.dispose();
  model.dispose();
});

Deno.test("fusedAdam leaks no tensors per step", () => {
  const model = buildModel();
  const fused = fusedAdam(0.01);
  train(model, fused, 2);
  const before = tf.memory().numTensors;
  train(model, fused, 5, 2);
  assert.equal(tf.memory().numTensors, before);
  fused.dispose();
  model.dispose();
});
