/**
 * SeededDropout: reproducible dropout masks that change every training step, and the
 * mlp-dropout zoo model training identically twice with the same seeds.
 */
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { setupBackend } from "../lib/backend.ts";
import { SeededDropout, seededDropout } from "../lib/models/seeded_dropout.ts";
import { buildMlpBlocksAutoencoder } from "../lib/models/mlp_blocks.ts";
import { zoo } from "../lib/models/zoo.ts";
import { trainAutoencoder } from "../lib/train.ts";
import { loadModel, saveModel } from "../lib/checkpoint.ts";
import { readMnistRaw } from "../lib/data/mod.ts";
import { mulberry32 } from "../lib/random.ts";

// wasm: the training test is ~6x faster than on the pure-JS cpu backend.
await setupBackend("wasm", { quiet: true });

/** The 0/1 keep-pattern of one training call of `layer` on ones. */
function maskOf(layer: SeededDropout, shape: number[]): Float32Array {
  return tf.tidy(() => {
    const out = layer.apply(tf.ones(shape), { training: true }) as tf.Tensor;
    return tf.cast(tf.notEqual(out, 0), "float32").dataSync() as Float32Array;
  });
}

function equalArrays(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

Deno.test("SeededDropout: new mask every training call, same sequence for the same seed", () => {
  const shape = [64, 50];
  const a = seededDropout({ rate: 0.3, seed: 11 });
  const b = seededDropout({ rate: 0.3, seed: 11 });
  const c = seededDropout({ rate: 0.3, seed: 12 });
  const a1 = maskOf(a, shape);
  const a2 = maskOf(a, shape);
  const b1 = maskOf(b, shape);
  const b2 = maskOf(b, shape);
  const c1 = maskOf(c, shape);
  assert.ok(!equalArrays(a1, a2), "the mask must change between training steps");
  assert.ok(equalArrays(a1, b1) && equalArrays(a2, b2), "same seed, same mask sequence");
  assert.ok(!equalArrays(a1, c1), "another seed, another mask");
  assert.equal(a.masksDrawn, 2);
  // About 30% dropped; kept values scaled by 1 / 0.7.
  const dropped = 1 - a1.reduce((s, v) => s + v, 0) / a1.length;
  assert.ok(Math.abs(dropped - 0.3) < 0.05, `dropped share ${dropped}`);
  const kept = tf.tidy(() => {
    const out = (a.apply(tf.ones(shape), { training: true }) as tf.Tensor).dataSync();
    return [...new Set(out)].sort();
  });
  assert.deepEqual(kept.map((v) => Number(v.toFixed(5))), [0, Number((1 / 0.7).toFixed(5))]);
});

Deno.test("SeededDropout: the arithmetic of tf.dropout with the layer's k-th mask seed", () => {
  // The layer draws its mask seeds from mulberry32(seed) and computes what tf.dropout computes
  // with that seed (written out op for op so that the random numbers can be a step feed).
  const layer = seededDropout({ rate: 0.3, seed: 21 });
  const random = mulberry32(21);
  const x = tf.randomUniform([16, 40], -1, 1, "float32", 5);
  for (let k = 0; k < 3; k++) {
    const got = tf.tidy(() => (layer.apply(x, { training: true }) as tf.Tensor).dataSync());
    const seed = Math.floor(random() * 2 ** 31);
    const want = tf.tidy(() => tf.dropout(x, 0.3, undefined, seed).dataSync());
    assert.ok(equalArrays(got, want), `call ${k + 1}: not tf.dropout with seed ${seed}`);
  }
  x.dispose();
});

Deno.test("SeededDropout: identity in inference mode, which draws no mask", () => {
  const layer = seededDropout({ rate: 0.5, seed: 1 });
  const x = tf.randomUniform([8, 20], 0, 1, "float32", 3);
  const y = layer.apply(x) as tf.Tensor;
  const z = layer.apply(x, { training: false }) as tf.Tensor;
  assert.ok(equalArrays(x.dataSync(), y.dataSync()));
  assert.ok(equalArrays(x.dataSync(), z.dataSync()));
  assert.equal(layer.masksDrawn, 0);
  tf.dispose([x, y, z]);
});

Deno.test("SeededDropout: bad arguments are refused with clear errors", () => {
  assert.throws(() => seededDropout({ rate: 1 }), /rate must be a number in \[0, 1\)/);
  assert.throws(() => seededDropout({ rate: -0.1 }), /rate/);
  assert.throws(() => seededDropout({ rate: 0.3, seed: 1.5 }), /seed must be an integer/);
});

Deno.test("SeededDropout: saved and loaded through a checkpoint directory keeps rate and seed", async () => {
  const model = buildMlpBlocksAutoencoder({ nLayers: 3, btlSize: 2, useDropout: true, seed: 4 });
  const dir = await Deno.makeTempDir({ prefix: "seeded-dropout-" });
  try {
    await saveModel(model.autoencoder, dir);
    const loaded = await loadModel(dir);
    const configs = (m: tf.LayersModel) =>
      m.layers.flatMap((l) => l instanceof tf.LayersModel ? l.layers : [l])
        .filter((l) => l.getClassName() === "SeededDropout")
        .map((l) => {
          const { rate, seed } = l.getConfig() as { rate: number; seed: number };
          return { rate, seed };
        });
    const before = configs(model.autoencoder);
    assert.equal(before.length, 4, "2 dropout blocks in the encoder, 2 in the decoder");
    assert.equal(new Set(before.map((c) => c.seed)).size, 4, "each layer has its own seed");
    assert.deepEqual(configs(loaded), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mlp-dropout: two same-seed training runs give identical losses; another seed differs", async () => {
  const raw = await readMnistRaw("test");
  const n = 96;
  const pixels = Float32Array.from(raw.pixels.subarray(0, n * 784), (p) => p / 255);
  const x = tf.tensor2d(pixels, [n, 784]);
  const train = async (seed: number) => {
    const model = zoo["mlp-dropout-5"].build(seed);
    const result = await trainAutoencoder(model.autoencoder, x, x, {
      epochs: 2,
      batchSize: 32,
      seed: 0,
      progress: "none",
    });
    const layers = model.autoencoder.layers.flatMap((l) =>
      l instanceof tf.LayersModel ? l.layers : [l]
    ).filter((l): l is SeededDropout => l instanceof SeededDropout);
    return { losses: result.history.map((r) => r.trainLoss), layers };
  };
  const first = await train(7);
  const second = await train(7);
  const other = await train(8);
  assert.equal(first.losses.length, 2);
  assert.deepEqual(first.losses, second.losses);
  assert.notDeepEqual(first.losses, other.losses);
  // 8 dropout layers, each drew one mask per step: 2 epochs x 3 batches.
  assert.equal(first.layers.length, 8);
  assert.ok(
    first.layers.every((l) => l.masksDrawn === 6),
    `${first.layers.map((l) => l.masksDrawn)}`,
  );
  x.dispose();
});
