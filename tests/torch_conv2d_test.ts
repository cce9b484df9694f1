/**
 * TorchConv2D is PyTorch's padded Conv2d as one layer, with a native path on tfjs-node (tested
 * in native_test.ts); everywhere else it must compute exactly what zero padding followed by
 * tf.layers.conv2d computes, and models that hold it must save and load.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { TorchConv2D } from "../lib/models/torch_conv2d.ts";
import { mulberry32 } from "../lib/random.ts";

await tf.setBackend("cpu");

function uniform(shape: number[], seed: number): tf.Tensor {
  const next = mulberry32(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: size }, () => next() * 2 - 1), shape);
}

Deno.test("TorchConv2D on cpu equals zeroPadding2d + tf.layers.conv2d bit for bit", () => {
  // [kernel, stride, padding]: 'same' at stride 1 (no pad op), padded stride 2, unpadded.
  for (const [k, stride, p] of [[3, 1, 1], [3, 2, 1], [3, 2, 0], [5, 1, 1]]) {
    for (const activation of ["relu", "sigmoid", "linear", "tanh"] as const) {
      const run = (torch: boolean) =>
        tf.tidy(() => {
          const args = { filters: 4, kernelSize: k, strides: stride, activation };
          const input = tf.input({ shape: [9, 8, 2] });
          const padded = torch || p === 0 ? input : tf.layers.zeroPadding2d({
            padding: [[p, p], [p, p]],
          }).apply(input) as tf.SymbolicTensor;
          const conv = torch
            ? new TorchConv2D({ ...args, torchPadding: p })
            : tf.layers.conv2d({ ...args, padding: "valid" });
          const model = tf.model({
            inputs: input,
            outputs: conv.apply(padded) as tf.SymbolicTensor,
          });
          model.setWeights(model.getWeights().map((w, i) => uniform(w.shape, 10 + i)));
          const x = uniform([3, 9, 8, 2], 3);
          const y = model.predict(x) as tf.Tensor;
          const dy = uniform(y.shape, 4);
          const weights = model.trainableWeights.map((w) => w.read() as tf.Variable);
          const loss = (xs: tf.Tensor) => tf.sum(tf.mul(model.apply(xs) as tf.Tensor, dy));
          const { grads } = tf.variableGrads(() => loss(x) as tf.Scalar, weights);
          const out = [y, tf.grad(loss)(x), ...weights.map((w) => grads[w.name])].map((t) => ({
            shape: t.shape,
            values: Array.from(t.dataSync()),
          }));
          model.dispose();
          return out;
        });
      assert.deepEqual(run(true), run(false), `k${k} s${stride} p${p} ${activation}`);
    }
  }
});

Deno.test("TorchConv2D: output shapes follow PyTorch's formula", () => {
  for (
    const [k, stride, p, n, expected] of [[3, 2, 1, 28, 14], [3, 2, 1, 14, 7], [3, 2, 0, 7, 3]]
  ) {
    const layer = new TorchConv2D({ filters: 2, kernelSize: k, strides: stride, torchPadding: p });
    // PyTorch: floor((n + 2p - k) / s) + 1.
    assert.equal(Math.floor((n + 2 * p - k) / stride) + 1, expected);
    assert.deepEqual(layer.computeOutputShape([null, n, n, 1]), [null, expected, expected, 2]);
    const y = layer.apply(tf.zeros([1, n, n, 1])) as tf.Tensor;
    assert.deepEqual(y.shape, [1, expected, expected, 2]);
    tf.dispose([y, ...layer.weights.map((w) => w.read())]);
  }
});

Deno.test("a model with TorchConv2D layers saves to JSON and loads with the same outputs", async () => {
  const input = tf.input({ shape: [8, 8, 1] });
  const hidden = new TorchConv2D({
    filters: 3,
    kernelSize: 3,
    strides: 2,
    torchPadding: 1,
    activation: "relu",
  })
    .apply(input) as tf.SymbolicTensor;
  const output = new TorchConv2D({ filters: 2, kernelSize: 3, torchPadding: 1 }).apply(hidden);
  const model = tf.model({ inputs: input, outputs: output as tf.SymbolicTensor });
  const topology = model.toJSON(undefined, false) as tf.serialization.ConfigDict;
  const layers =
    (topology.config as { layers: { class_name: string; config: { torch_padding?: number } }[] })
      .layers;
  assert.deepEqual(layers.map((l) => l.class_name), ["InputLayer", "TorchConv2D", "TorchConv2D"]);
  assert.deepEqual(layers.slice(1).map((l) => l.config.torch_padding), [1, 1]);
  const loaded = await tf.models.modelFromJSON({ modelTopology: topology });
  loaded.setWeights(model.getWeights());
  const x = uniform([2, 8, 8, 1], 7);
  assert.deepEqual(
    (loaded.predict(x) as tf.Tensor).dataSync(),
    (model.predict(x) as tf.Tensor).dataSync(),
  );
  model.dispose();
  loaded.dispose();
});

Deno.test("TorchConv2D rejects a bad padding, a non-square kernel or stride", () => {
  const args = { filters: 2, kernelSize: 3 };
  assert.throws(() => new TorchConv2D({ ...args, torchPadding: -1 }), RangeError);
  assert.throws(() => new TorchConv2D({ ...args, torchPadding: 0.5 }), RangeError);
  assert.throws(() => new TorchConv2D({ ...args, kernelSize: [3, 2] }), RangeError);
  assert.throws(() => new TorchConv2D({ ...args, strides: [1, 2] }), RangeError);
});
