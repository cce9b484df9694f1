/**
 * foldBatchNorm: BatchNorm folded into the next dense layer gives the model's own output (cpu
 * here; tfjs-node in native_test.ts), only where that is exact, and frees what it made.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { buildZooModel, foldBatchNorm, TorchBatchNorm } from "../lib/models/mod.ts";
import { buildMlpBlocksAutoencoder } from "../lib/models/mlp_blocks.ts";
import { predictFlat } from "../lib/experiments/common.ts";
import { mulberry32 } from "../lib/random.ts";

await tf.setBackend("cpu");

function uniform(shape: number[], seed: number, lo = -1, hi = 1): tf.Tensor {
  const next = mulberry32(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: size }, () => lo + (hi - lo) * next()), shape);
}

/** Gives every TorchBatchNorm of `model` statistics and an affine map far from the identity. */
function randomizeBatchNorms(model: tf.LayersModel, seed: number): number {
  let count = 0;
  for (const layer of model.layers) {
    if (!(layer instanceof TorchBatchNorm)) continue;
    const c = layer.getWeights()[0].shape[0];
    const s = seed + 10 * count++;
    // gamma, beta, moving mean, moving variance (> 0); negative gammas included.
    layer.setWeights([
      uniform([c], s, -2, 2),
      uniform([c], s + 1, -1, 1),
      uniform([c], s + 2, -0.5, 0.5),
      uniform([c], s + 3, 0.05, 3),
    ]);
  }
  return count;
}

function maxRelativeDiff(got: tf.Tensor, want: tf.Tensor): number {
  return tf.tidy(() => {
    const scale = tf.max(tf.abs(want)).dataSync()[0];
    assert.ok(scale > 0, "reference is not all zeros");
    return tf.max(tf.abs(tf.sub(got, want))).dataSync()[0] / scale;
  });
}

Deno.test("foldBatchNorm: mlp blocks' encoder folds every BatchNorm and equals predict", () => {
  const { encoder, autoencoder } = buildMlpBlocksAutoencoder({ nLayers: 4, seed: 3 });
  assert.equal(randomizeBatchNorms(encoder, 7), 3);
  const x = uniform([50, 784], 1, 0, 1);
  const before = tf.memory().numTensors;
  const folded = foldBatchNorm(encoder);
  assert.equal(folded.folded, 3);
  const want = encoder.predict(x) as tf.Tensor;
  const got = folded.predict(x);
  assert.deepEqual(got.shape, want.shape);
  const diff = maxRelativeDiff(got, want);
  assert.ok(diff < 1e-5, `max relative diff ${diff}`);
  tf.dispose([want, got]);
  folded.dispose();
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");
  x.dispose();
  autoencoder.dispose();
});

Deno.test("foldBatchNorm: a dense layer without bias gets one; other activations stay", () => {
  const input = tf.input({ shape: [6] });
  const h = tf.layers.dense({ units: 5, activation: "tanh" }).apply(input) as tf.SymbolicTensor;
  const n = new TorchBatchNorm().apply(h) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3, useBias: false, activation: "sigmoid" }).apply(n);
  const model = tf.model({ inputs: input, outputs: out as tf.SymbolicTensor });
  model.setWeights(model.getWeights().map((w, i) => uniform(w.shape, 20 + i)));
  randomizeBatchNorms(model, 40);
  const x = uniform([8, 6], 2);
  const folded = foldBatchNorm(model);
  assert.equal(folded.folded, 1);
  const [got, want] = [folded.predict(x), model.predict(x) as tf.Tensor];
  const diff = maxRelativeDiff(got, want);
  assert.ok(diff < 1e-5, `max relative diff ${diff}`);
  tf.dispose([got, want, x]);
  folded.dispose();
  model.dispose();
});

Deno.test("foldBatchNorm: no fold where it would not be exact or the model is not a chain", () => {
  // BatchNorm on images before a convolution (zero padding is not shifted): not folded.
  const conv = buildZooModel("conv-bottleneck-d2", 0);
  randomizeBatchNorms(conv.encoder, 5);
  const x = uniform([3, 28, 28, 1], 4, 0, 1);
  const forward = foldBatchNorm(conv.encoder);
  assert.equal(forward.folded, 0);
  const [got, want] = [forward.predict(x), conv.encoder.predict(x) as tf.Tensor];
  assert.deepEqual(Array.from(got.dataSync()), Array.from(want.dataSync()));
  tf.dispose([got, want, x]);
  conv.autoencoder.dispose();

  // Two branches joined: not a chain, so predict is the model's own even with a BN -> dense.
  const input = tf.input({ shape: [4] });
  const a = new TorchBatchNorm().apply(input) as tf.SymbolicTensor;
  const b = tf.layers.dense({ units: 4 }).apply(a) as tf.SymbolicTensor;
  const joined = tf.layers.add().apply([a, b]) as tf.SymbolicTensor;
  const branchy = tf.model({ inputs: input, outputs: joined });
  assert.equal(foldBatchNorm(branchy).folded, 0);
  branchy.dispose();
});

Deno.test("predictFlat folds: mlp-bn encoder codes equal predict's up to rounding", async () => {
  const { encoder, autoencoder } = buildMlpBlocksAutoencoder({ nLayers: 3, seed: 9 });
  randomizeBatchNorms(encoder, 11);
  const x = uniform([70, 784], 6, 0, 1);
  const codes = await predictFlat(encoder, x, 32); // 3 chunks, the last one short
  const want = (encoder.predict(x) as tf.Tensor).dataSync();
  assert.equal(codes.length, want.length);
  const scale = Math.max(...Array.from(want, Math.abs));
  const worst = Math.max(...Array.from(want, (w, i) => Math.abs(codes[i] - w)));
  assert.ok(worst < 1e-5 * scale, `max diff ${worst} vs scale ${scale}`);
  x.dispose();
  autoencoder.dispose();
});
