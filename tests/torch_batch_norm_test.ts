/**
 * TorchBatchNorm must compute what tf.layers.batchNormalization computes (forward in both modes,
 * gradients, moving statistics), only with fewer ops.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { TorchBatchNorm } from "../lib/models/torch_batch_norm.ts";
import { mulberry32 } from "../lib/random.ts";

await tf.setBackend("cpu");

function values(n: number, seed: number, lo: number, hi: number): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * random());
}

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** The same normalisation as a tfjs layer and as ours, with equal non-default weights. */
function pair(shape: number[]) {
  const channels = shape[shape.length - 1];
  const input = tf.input({ shape: shape.slice(1) });
  const reference = tf.model({
    inputs: input,
    outputs: tf.layers.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5 }).apply(
      input,
    ) as tf.SymbolicTensor,
  });
  const ours = tf.model({
    inputs: input,
    outputs: new TorchBatchNorm({ momentum: 0.9, epsilon: 1e-5 }).apply(input) as tf.SymbolicTensor,
  });
  const weights = [
    tf.tensor1d(values(channels, 1, 0.5, 1.5)), // gamma
    tf.tensor1d(values(channels, 2, -0.5, 0.5)), // beta
    tf.tensor1d(values(channels, 3, -0.2, 0.2)), // moving mean
    tf.tensor1d(values(channels, 4, 0.5, 2)), // moving variance
  ];
  reference.setWeights(weights);
  ours.setWeights(weights);
  tf.dispose(weights);
  return { reference, ours };
}

for (const shape of [[32, 7], [4, 5, 6, 3]]) {
  Deno.test(`TorchBatchNorm equals tfjs BatchNormalization on [${shape}]: outputs, gradients, moving stats`, () => {
    const { reference, ours } = pair(shape);
    const n = shape.reduce((a, b) => a * b);
    const x = tf.tensor(values(n, 5, -2, 3), shape);
    const w = tf.tensor(values(n, 6, -1, 1), shape); // weights of a non-trivial loss
    for (const training of [false, true]) {
      const run = (model: tf.LayersModel) => {
        const vars = model.trainableWeights.map((v) => v.read() as tf.Variable);
        const { value, grads } = tf.variableGrads(
          () => tf.sum(tf.mul(model.apply(x, { training }) as tf.Tensor, w)) as tf.Scalar,
          vars,
        );
        const dx = tf.grad((v: tf.Tensor) =>
          tf.sum(tf.mul(model.apply(v, { training: false }) as tf.Tensor, w))
        )(x);
        return { value, grads: vars.map((v) => grads[v.name]), dx };
      };
      const want = run(reference);
      const got = run(ours);
      assert.ok(maxDiff(got.value, want.value) < 1e-3, `loss, training ${training}`);
      want.grads.forEach((g, i) =>
        assert.ok(maxDiff(got.grads[i], g) < 1e-4, `grad of weight ${i}, training ${training}`)
      );
      tf.dispose([want.value, got.value, ...want.grads, ...got.grads, want.dx, got.dx]);
    }
    // The input gradient in training mode (through the batch statistics).
    const dxOf = (model: tf.LayersModel) =>
      tf.grad((v: tf.Tensor) => tf.sum(tf.mul(model.apply(v, { training: true }) as tf.Tensor, w)))(
        x,
      );
    const [dxWant, dxGot] = [dxOf(reference), dxOf(ours)];
    assert.ok(maxDiff(dxGot, dxWant) < 1e-4, `input gradient: ${maxDiff(dxGot, dxWant)}`);
    // Every training call above moved the moving statistics the same way.
    const [rw, ow] = [reference.getWeights(), ours.getWeights()];
    assert.equal(ow.length, 4);
    rw.forEach((t, i) => assert.ok(maxDiff(ow[i], t) < 1e-6, `weight ${i} after training calls`));
    assert.ok(maxDiff(rw[2], tf.tensor1d(values(shape.at(-1)!, 3, -0.2, 0.2))) > 1e-3, "moved");
    tf.dispose([x, w, dxWant, dxGot]);
    reference.dispose();
    ours.dispose();
  });
}

Deno.test("TorchBatchNorm keeps tfjs's weight names, serialises, and refuses bad settings", () => {
  const input = tf.input({ shape: [4] });
  const model = tf.model({
    inputs: input,
    outputs: new TorchBatchNorm({ momentum: 0.8, epsilon: 1e-3 }).apply(input) as tf.SymbolicTensor,
  });
  assert.deepEqual(
    model.weights.map((w) => w.name.split("/").pop()),
    ["gamma", "beta", "moving_mean", "moving_variance"],
  );
  assert.deepEqual(model.weights.map((w) => w.trainable), [true, true, false, false]);
  const copy = tf.models.modelFromJSON(
    model.toJSON(null, false) as unknown as tf.io.ModelJSON,
  );
  return copy.then((m) => {
    const layer = m.layers[1] as TorchBatchNorm;
    assert.equal(layer.getClassName(), "TorchBatchNorm");
    assert.equal(layer.momentum, 0.8);
    assert.equal(layer.epsilon, 1e-3);
    assert.throws(() => new TorchBatchNorm({ momentum: 2 }), /momentum must be in \[0, 1\]/);
    assert.throws(() => new TorchBatchNorm({ epsilon: 0 }), /epsilon must be > 0/);
    m.dispose();
    model.dispose();
  });
});

Deno.test("TorchBatchNorm leaks no tensors in a training step", () => {
  const { ours, reference } = pair([16, 5]);
  reference.dispose();
  const x = tf.tensor2d(values(80, 9, -1, 1), [16, 5]);
  const optimizer = tf.train.sgd(0.1);
  const step = () =>
    optimizer.minimize(
      () => tf.mean(tf.square(ours.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar,
    );
  step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) step();
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
  optimizer.dispose();
  ours.dispose();
});

Deno.test("TorchBatchNorm's training forward and gradients on wasm equal cpu", async () => {
  const { setupBackend } = await import("../lib/backend.ts");
  const [n, c] = [24, 40];
  const xv = values(n * c, 11, -1, 3);
  const wv = values(n * c, 12, -1, 1);
  const run = async (backend: "cpu" | "wasm") => {
    await setupBackend(backend, { quiet: true });
    const input = tf.input({ shape: [c] });
    const model = tf.model({
      inputs: input,
      outputs: new TorchBatchNorm().apply(input) as tf.SymbolicTensor,
    });
    model.setWeights([
      tf.tensor1d(values(c, 13, 0.5, 1.5)),
      tf.tensor1d(values(c, 14, -0.5, 0.5)),
      tf.zeros([c]),
      tf.ones([c]),
    ]);
    const x = tf.tensor2d(xv, [n, c]);
    const w = tf.tensor2d(wv, [n, c]);
    const vars = model.trainableWeights.map((v) => v.read() as tf.Variable);
    const f = (v: tf.Tensor) => tf.sum(tf.mul(model.apply(v, { training: true }) as tf.Tensor, w));
    const dx = tf.grad(f)(x);
    const { grads } = tf.variableGrads(() => f(x) as tf.Scalar, vars);
    const out = [dx, ...vars.map((v) => grads[v.name]), ...model.getWeights().slice(2)].map((t) =>
      t.dataSync().slice() as Float32Array
    );
    model.dispose();
    return out;
  };
  const cpu = await run("cpu");
  const wasm = await run("wasm");
  ["dx", "dgamma", "dbeta", "moving mean", "moving variance"].forEach((what, i) => {
    const scale = cpu[i].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const err = cpu[i].reduce((m, v, j) => Math.max(m, Math.abs(v - wasm[i][j])), 0);
    assert.ok(scale > 0 && err <= 1e-5 * scale, `${what}: ${err} vs scale ${scale}`);
  });
  await tf.setBackend("cpu");
});
