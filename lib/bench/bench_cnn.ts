/**
 * Times one training step of the write-up-000 CNN autoencoder (the most conv-heavy model of the
 * zoo) and extrapolates to a 60k-image epoch; optionally lists the kernels that take the time.
 *
 * Run: `deno run -A lib/kernels/bench_cnn.ts [backend] [--profile] [--steps N]`
 *
 * The model is built here with tf.layers (not from the zoo) so that this benchmark measures the
 * backend alone: encoder 3 x [conv3x3 same + relu + maxpool2] 1->24->48->96 (28->14->7->3),
 * dense 256; decoder dense 864, reshape 3x3x96, 3 x conv2dTranspose k3 s2 same (96->48->24->12,
 * 3->6->12->24), bilinear resize to 28, conv3x3 -> 1. MSE, Adam, batch 64.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { seededUniform } from "../kernels/probe.ts";

/** Result of {@link benchTrainStep}. */
export interface TrainStepTiming {
  /** Backend the step ran on. */
  backend: string;
  /** Batch size. */
  batchSize: number;
  /** Median seconds per training step (after warm-up). */
  secondsPerStep: number;
  /** secondsPerStep x ceil(60000 / batchSize). */
  secondsPerEpoch60k: number;
  /** Total ms per kernel over one profiled step, largest first (only with `profile`). */
  kernels?: { name: string; ms: number }[];
}

/** A layer resizing NHWC images bilinearly to a fixed size (tf.layers has none in 4.22). */
class ResizeBilinear extends tf.layers.Layer {
  static className = "BenchResizeBilinear";
  constructor(private readonly size: [number, number]) {
    super({});
  }
  override computeOutputShape(shape: tf.Shape): tf.Shape {
    return [shape[0], this.size[0], this.size[1], shape[3]];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.image.resizeBilinear(x as tf.Tensor4D, this.size);
  }
}

/** The write-up-000 CNN autoencoder (see module doc), seeded. */
export function buildCnnAutoencoder(seed = 0): tf.Sequential {
  const init = (i: number) => tf.initializers.glorotUniform({ seed: seed + i });
  const m = tf.sequential();
  m.add(tf.layers.inputLayer({ inputShape: [28, 28, 1] }));
  let i = 0;
  for (const filters of [24, 48, 96]) {
    m.add(tf.layers.conv2d({
      filters,
      kernelSize: 3,
      padding: "same",
      activation: "relu",
      kernelInitializer: init(i++),
    }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  }
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 256, kernelInitializer: init(i++) }));
  m.add(tf.layers.dense({ units: 3 * 3 * 96, activation: "relu", kernelInitializer: init(i++) }));
  m.add(tf.layers.reshape({ targetShape: [3, 3, 96] }));
  for (const filters of [48, 24, 12]) {
    m.add(tf.layers.conv2dTranspose({
      filters,
      kernelSize: 3,
      strides: 2,
      padding: "same",
      activation: "relu",
      kernelInitializer: init(i++),
    }));
  }
  m.add(new ResizeBilinear([28, 28]));
  m.add(tf.layers.conv2d({
    filters: 1,
    kernelSize: 3,
    padding: "same",
    activation: "sigmoid",
    kernelInitializer: init(i++),
  }));
  return m;
}

/** Times `steps` training steps (after 2 warm-up steps) on the active backend. */
export async function benchTrainStep(
  options: { batchSize?: number; steps?: number; profile?: boolean } = {},
): Promise<TrainStepTiming> {
  const batchSize = options.batchSize ?? 64;
  const steps = options.steps ?? 5;
  const model = buildCnnAutoencoder();
  const optimizer = tf.train.adam(1e-3);
  const x = tf.tensor4d(seededUniform(batchSize * 784, 1, 0, 1), [batchSize, 28, 28, 1]);
  const step = () =>
    tf.tidy(() => {
      const loss = optimizer.minimize(
        () => tf.losses.meanSquaredError(x, model.apply(x, { training: true }) as tf.Tensor),
        true,
      );
      loss?.dataSync(); // wait for the step to finish
    });
  step();
  step();
  const times: number[] = [];
  for (let s = 0; s < steps; s++) {
    const t0 = performance.now();
    step();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  const secondsPerStep = times[Math.floor(times.length / 2)];
  let kernels: { name: string; ms: number }[] | undefined;
  if (options.profile) {
    const info = await tf.profile(() => step());
    const byName = new Map<string, number>();
    for (const k of info.kernels) {
      byName.set(k.name, (byName.get(k.name) ?? 0) + Number(k.kernelTimeMs));
    }
    kernels = [...byName].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms);
  }
  x.dispose();
  model.dispose();
  optimizer.dispose();
  return {
    backend: tf.getBackend(),
    batchSize,
    secondsPerStep,
    secondsPerEpoch60k: secondsPerStep * Math.ceil(60000 / batchSize),
    kernels,
  };
}

if (import.meta.main) {
  const { setupBackend, parseBackendName } = await import("../backend.ts");
  const args = [...Deno.args];
  const profile = args.includes("--profile");
  const stepsAt = args.indexOf("--steps");
  const steps = stepsAt >= 0 ? Number(args[stepsAt + 1]) : 5;
  const name = args.find((a, i) => !a.startsWith("--") && args[i - 1] !== "--steps");
  await setupBackend(name === undefined ? undefined : parseBackendName(name));
  const r = await benchTrainStep({ profile, steps });
  console.log(
    `${r.backend}: ${(r.secondsPerStep * 1000).toFixed(0)} ms/step at batch ${r.batchSize}` +
      ` -> ${r.secondsPerEpoch60k.toFixed(0)} s per 60k epoch`,
  );
  for (const k of (r.kernels ?? []).slice(0, 15)) {
    console.log(`  ${k.name.padEnd(28)} ${k.ms.toFixed(1)} ms`);
  }
}
