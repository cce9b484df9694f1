/**
 * FusedDense is tf.layers.dense with a native path on tfjs-node (tested in native_test.ts);
 * everywhere else it must be that layer exactly, and models that hold it must save and load.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { fusedDense } from "../lib/models/fused_dense.ts";
import { mulberry32 } from "../lib/random.ts";

await tf.setBackend("cpu");

function uniform(shape: number[], seed: number): tf.Tensor {
  const next = mulberry32(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: size }, () => next() * 2 - 1), shape);
}

Deno.test("FusedDense on cpu equals tf.layers.dense bit for bit, forward and gradients", () => {
  for (const activation of ["relu", "sigmoid", "linear", "tanh"] as const) {
    const run = (make: typeof fusedDense | typeof tf.layers.dense) =>
      tf.tidy(() => {
        const layer = make({ units: 6, activation, inputShape: [8] });
        layer.build([null, 8]);
        layer.setWeights(layer.getWeights().map((w, i) => uniform(w.shape, 10 + i)));
        const x = uniform([4, 8], 3);
        const dy = uniform([4, 6], 4);
        const weights = layer.trainableWeights.map((w) => w.read() as tf.Variable);
        const { value, grads } = tf.variableGrads(
          () => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, dy)) as tf.Scalar,
          weights,
        );
        const out = [layer.apply(x) as tf.Tensor, value, ...weights.map((w) => grads[w.name])]
          .map((t) => Array.from(t.dataSync()));
        layer.weights.forEach((w) => w.dispose());
        return out;
      });
    assert.deepEqual(run(fusedDense), run(tf.layers.dense), activation);
  }
});

Deno.test("a model with FusedDense layers saves to JSON and loads with the same outputs", async () => {
  const input = tf.input({ shape: [5] });
  const hidden = fusedDense({ units: 4, activation: "relu" }).apply(input) as tf.SymbolicTensor;
  const output = fusedDense({ units: 3, activation: "sigmoid" }).apply(hidden);
  const model = tf.model({ inputs: input, outputs: output as tf.SymbolicTensor });
  const topology = model.toJSON(undefined, false) as tf.serialization.ConfigDict;
  const layers = (topology.config as { layers: { class_name: string }[] }).layers;
  assert.deepEqual(layers.map((l) => l.class_name), ["InputLayer", "FusedDense", "FusedDense"]);
  const loaded = await tf.models.modelFromJSON({ modelTopology: topology });
  loaded.setWeights(model.getWeights());
  const x = uniform([2, 5], 7);
  assert.deepEqual(
    (loaded.predict(x) as tf.Tensor).dataSync(),
    (model.predict(x) as tf.Tensor).dataSync(),
  );
  model.dispose();
  loaded.dispose();
});
