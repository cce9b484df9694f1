/**
 * No tensor leaks in training: `tf.memory().numTensors` is the same after every epoch of
 * `trainAutoencoder` (with validation, checkpoints and resume) and after repeated inference with
 * `predictFlat`. (Re-running a whole notebook in one kernel: tests/notebook_edit_test.ts.)
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { setupBackend } from "../lib/backend.ts";
import { trainAutoencoder } from "../lib/train.ts";
import { predictFlat } from "../lib/experiments/common.ts";
import { mulberry32 } from "../lib/random.ts";

function tinyModel(): tf.LayersModel {
  const glorot = (seed: number) => tf.initializers.glorotUniform({ seed });
  return tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [32],
        units: 8,
        activation: "relu",
        kernelInitializer: glorot(1),
      }),
      tf.layers.dense({ units: 32, activation: "sigmoid", kernelInitializer: glorot(2) }),
    ],
  });
}

Deno.test({
  name: "training epochs and repeated inference leave tf.memory().numTensors flat",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await setupBackend(undefined, { quiet: true });
    const random = mulberry32(5);
    const x = tf.tensor2d(Float32Array.from({ length: 96 * 32 }, () => random()), [96, 32]);
    const v = tf.tensor2d(Float32Array.from({ length: 32 * 32 }, () => random()), [32, 32]);
    const dir = await Deno.makeTempDir({ prefix: "ae-leaks-" });
    const model = tinyModel();
    try {
      const counts: number[] = [];
      const train = (epochs: number) =>
        trainAutoencoder(model, x, x, {
          epochs,
          batchSize: 16,
          validation: { x: v, y: v },
          patience: 10,
          checkpointDir: dir,
          resume: true,
          progress: "none",
          onEpochEnd: () => {
            counts.push(tf.memory().numTensors);
          },
        });
      await train(3);
      await train(6); // resumed from the checkpoint of epoch 3
      assert.equal(counts.length, 6);
      assert.ok(
        counts.slice(1).every((c) => c === counts[1]),
        `tensors after each epoch: ${counts.join(", ")}`,
      );
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) await predictFlat(model, v, 8);
      assert.equal(tf.memory().numTensors, before, "predictFlat leaves nothing behind");
    } finally {
      tf.dispose([x, v]);
      model.dispose();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
