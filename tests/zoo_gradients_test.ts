/**
 * For every zoo model, one training step's gradients on the wasm backend (with the project's
 * registered training kernels) equal the pure-JS cpu backend's: same initial weights, same input,
 * MSE loss, training mode (BatchNorm batch statistics, Dropout with the same masks; see
 * COMPARE_IN_INFERENCE_MODE for the one exception), a batch of
 * real MNIST digits (uniform noise inputs make the residual zero-mean, and the resulting
 * cancellation leaves gradients that are mostly float noise).
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { setupBackend } from "../lib/backend.ts";
import { type Autoencoder, zoo } from "../lib/models/mod.ts";
import { mulberry32 } from "../lib/random.ts";
import { readMnistRaw } from "../lib/data/mnist.ts";

/** Batch of one step. */
const BATCH = 3;
/**
 * Batch for models with BatchNorm. Training-mode BN over 3-4 samples is numerically chaotic:
 * measured on mlp-bn-10, float32 rounding differences between two correct backends grow ~2.5x
 * per BN layer, so outputs differ by 96% at batch 3, 0.5% at batch 4, 0.04% at 8, 0.02% at 16.
 * That is a property of the model, not of a kernel, so BN models are compared at batch 16.
 */
const BN_BATCH = 16;
/**
 * Models whose training-mode gradient is too ill-conditioned to compare across backends:
 * mlp-bn-10 has 18 training-mode BatchNorm layers after ReLUs, and channels with few non-zero
 * activations get a tiny batch variance whose rounding the layers amplify. Measured 2026-11-22
 * (max relative error of any gradient tensor, wasm vs cpu, same weights and input): with
 * tfjs's BatchNormalization 6.6e-4 at batch 16 but 6.3e-2 at 32 and 1.1e-1 at 64; with
 * TorchBatchNorm 2.2e-1, 2.0e-1 and 1.1e-1. A single BatchNorm layer agrees to 3e-7 either way
 * (tests/torch_batch_norm_test.ts). These models are compared with BatchNorm in inference mode
 * (moving statistics), which runs the same matmul, ReLU and normalisation kernels, and is
 * well-conditioned.
 */
const COMPARE_IN_INFERENCE_MODE = new Set(["mlp-bn-10"]);
const TOLERANCE = 1e-3;
/**
 * A gradient tensor whose cpu values are all below this share of the model's largest gradient is
 * analytically zero: the bias of a layer followed by training-mode BatchNorm (BN subtracts the
 * batch mean, so a per-channel constant has no effect). Both backends must then agree that it is
 * zero (below the same bound); a relative error of float noise around zero means nothing.
 */
const ZERO_SHARE = 1e-6;

interface StepResult {
  loss: number;
  /** Gradient values in the order of the model's trainable weights. */
  grads: Float32Array[];
  names: string[];
}

/**
 * One MSE step's gradients. The zoo's dropout (SeededDropout) takes its masks from the model
 * seed, so both backends drop the same units; `Math.random` is pinned too, so that nothing else
 * tfjs might draw from it (an unseeded initialiser or op) can make the two steps differ.
 */
function gradientsOfOneStep(model: Autoencoder, x: tf.Tensor, training = true): StepResult {
  const originalRandom = Math.random;
  Math.random = mulberry32(99);
  try {
    const vars = model.autoencoder.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(
      () =>
        tf.losses.meanSquaredError(
          x,
          model.autoencoder.apply(x, { training }) as tf.Tensor,
        ) as tf.Scalar,
      vars,
    );
    const result = {
      loss: value.dataSync()[0],
      grads: vars.map((v) => grads[v.name].dataSync() as Float32Array),
      names: model.autoencoder.trainableWeights.map((w) => w.originalName),
    };
    tf.dispose([value, ...Object.values(grads)]);
    return result;
  } finally {
    Math.random = originalRandom;
  }
}

/** The first MNIST test images (pixels / 255): realistic, mostly-dark inputs. */
const mnist = await readMnistRaw("test");
function inputArray(model: Autoencoder): { data: Float32Array; shape: number[] } {
  const hasBatchNorm = [model.encoder, model.decoder].some((m) =>
    m.layers.some((l) => ["BatchNormalization", "TorchBatchNorm"].includes(l.getClassName()))
  );
  const batch = hasBatchNorm ? BN_BATCH : BATCH;
  const shape = model.inputKind === "image" ? [batch, 28, 28, 1] : [batch, 784];
  const data = Float32Array.from(mnist.pixels.subarray(0, batch * 784), (p) => p / 255);
  return { data, shape };
}

for (const name of Object.keys(zoo)) {
  Deno.test(`zoo ${name}: one training step's gradients on wasm match cpu`, async () => {
    await setupBackend("cpu", { quiet: true });
    const cpuModel = zoo[name].build(5);
    const initial = cpuModel.autoencoder.getWeights().map((w) => ({
      data: w.dataSync().slice(),
      shape: w.shape,
    }));
    const input = inputArray(cpuModel);
    const xCpu = tf.tensor(input.data, input.shape);
    const training = !COMPARE_IN_INFERENCE_MODE.has(name);
    const cpu = gradientsOfOneStep(cpuModel, xCpu, training);
    xCpu.dispose();

    await setupBackend("wasm", { quiet: true });
    const wasmModel = zoo[name].build(5);
    wasmModel.autoencoder.setWeights(initial.map((w) => tf.tensor(w.data, w.shape)));
    const xWasm = tf.tensor(input.data, input.shape);
    const wasm = gradientsOfOneStep(wasmModel, xWasm, training);
    xWasm.dispose();

    assert.ok(Number.isFinite(cpu.loss) && cpu.loss > 0, `cpu loss ${cpu.loss}`);
    assert.ok(
      Math.abs(wasm.loss - cpu.loss) <= TOLERANCE * cpu.loss,
      `loss wasm ${wasm.loss} vs cpu ${cpu.loss}`,
    );
    assert.equal(wasm.grads.length, cpu.grads.length);
    const failures: string[] = [];
    const maxAbs = (g: Float32Array) => g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const globalScale = Math.max(...cpu.grads.map(maxAbs));
    const zeroBound = ZERO_SHARE * globalScale;
    let nonZero = 0;
    for (let i = 0; i < cpu.grads.length; i++) {
      const a = cpu.grads[i];
      const b = wasm.grads[i];
      const scale = maxAbs(a);
      if (scale <= zeroBound) {
        if (maxAbs(b) > zeroBound) {
          failures.push(`${cpu.names[i]}: zero on cpu, max ${maxAbs(b)} on wasm`);
        }
        continue;
      }
      nonZero++;
      let err = 0;
      for (let j = 0; j < a.length; j++) err = Math.max(err, Math.abs(a[j] - b[j]));
      const relative = err / scale;
      if (!(relative <= TOLERANCE)) {
        failures.push(`${cpu.names[i]}: rel err ${relative.toExponential(2)} (scale ${scale})`);
      }
    }
    // A step whose gradients are all zero would compare nothing.
    assert.ok(nonZero >= cpu.grads.length / 2, `${nonZero}/${cpu.grads.length} non-zero grads`);
    assert.deepEqual(failures, [], failures.join("\n"));
    await setupBackend("cpu", { quiet: true });
  });
}
