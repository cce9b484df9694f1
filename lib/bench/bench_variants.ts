/**
 * Before/after benchmark of the wasm training kernels: the `"baseline"` and `"fast"` variants
 * (see `variant.ts`) take turns in one run, so the noise of a shared machine falls on both.
 *
 * Run: `deno run -A lib/kernels/bench_variants.ts [--kernels] [--models a,b] [--rounds 5]
 * [--steps 2] [--json]`
 *
 * Default: per zoo model (batch 64, Adam, MSE, training mode), `rounds` times `steps` training
 * steps per variant, alternating; reports the median step time of each variant and their ratio.
 * `--kernels`: the same for single kernel calls with the shapes of the write-up-000 CNN
 * (cnn-bilinear), the model the per-kernel profile of `bench_cnn.ts` is about.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { setupBackend } from "../backend.ts";
import { inputShapeOf, zoo } from "../models/mod.ts";
import { seededUniform } from "../kernels/probe.ts";
import { type KernelVariant, setKernelVariant } from "../kernels/variant.ts";

/** One row of the comparison: median milliseconds per variant. */
export interface VariantTiming {
  /** Model or kernel call. */
  name: string;
  /** Median ms of the baseline variant. */
  baseline_ms: number;
  /** Median ms of the fast variant. */
  fast_ms: number;
  /** baseline_ms / fast_ms (speed-up). */
  speedup: number;
  /** Fastest baseline time, ms (less sensitive to other processes than the median). */
  baseline_min_ms: number;
  /** Fastest fast-variant time, ms. */
  fast_min_ms: number;
}

const VARIANTS: KernelVariant[] = ["baseline", "fast"];

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Times `run` under both variants, alternating `rounds` times, `reps` calls per turn. */
function alternate(name: string, run: () => void, rounds: number, reps: number): VariantTiming {
  const times: Record<KernelVariant, number[]> = { baseline: [], fast: [] };
  for (const v of VARIANTS) { // warm-up of both (kernel set-up, operator caches)
    setKernelVariant(v);
    run();
  }
  for (let r = 0; r < rounds; r++) {
    // Alternate which variant goes first, so neither always follows the other.
    const order = r % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
    for (const v of order) {
      setKernelVariant(v);
      for (let i = 0; i < reps; i++) {
        const start = performance.now();
        run();
        times[v].push(performance.now() - start);
      }
    }
  }
  setKernelVariant("fast");
  const baseline = median(times.baseline);
  const fast = median(times.fast);
  return {
    name,
    baseline_ms: baseline,
    fast_ms: fast,
    speedup: baseline / fast,
    baseline_min_ms: Math.min(...times.baseline),
    fast_min_ms: Math.min(...times.fast),
  };
}

/**
 * Training-step time per zoo model under both kernel variants (wasm backend).
 *
 * @param models Zoo names.
 * @param rounds Turns per variant.
 * @param steps Steps per turn.
 */
export async function benchModelVariants(
  models: string[],
  rounds: number,
  steps: number,
): Promise<VariantTiming[]> {
  await setupBackend("wasm", { quiet: true });
  const out: VariantTiming[] = [];
  for (const name of models) {
    const model = zoo[name].build(0);
    const x = tf.tensor(
      seededUniform(64 * 784, 1, 0, 1),
      [64, ...inputShapeOf(model.inputKind)],
    );
    const optimizer = tf.train.adam(1e-3);
    const step = () =>
      tf.tidy(() => {
        const loss = optimizer.minimize(
          () =>
            tf.losses.meanSquaredError(
              x,
              model.autoencoder.apply(x, { training: true }) as tf.Tensor,
            ) as tf.Scalar,
          true,
        );
        loss!.dataSync();
      });
    out.push(alternate(name, step, rounds, steps));
    x.dispose();
    optimizer.dispose();
    model.autoencoder.dispose();
  }
  return out;
}

/** The replaced kernels' calls in one cnn-bilinear training step (batch 64). */
function cnnKernelCalls(): { name: string; run: () => tf.Tensor }[] {
  const t = (shape: number[], seed: number) =>
    tf.tensor(seededUniform(shape.reduce((a, b) => a * b), seed), shape);
  const calls: { name: string; run: () => tf.Tensor }[] = [];
  // Encoder convs (explicit pad 1 -> valid on a padded input): filter and input gradients.
  for (const [size, ci, co] of [[28, 1, 24], [14, 24, 48], [7, 48, 96]]) {
    const x = t([64, size + 2, size + 2, ci], size);
    const dy = t([64, size, size, co], size + 1);
    const w = t([3, 3, ci, co], size + 2);
    const attrs = { strides: [1, 1], pad: "valid", dataFormat: "NHWC" };
    calls.push({
      name: `dW  conv ${size}x${size} ${ci}->${co}`,
      run: () =>
        tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
          ...attrs,
          filterShape: [3, 3, ci, co],
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
    });
    if (ci > 1) {
      calls.push({
        name: `dX  conv ${size}x${size} ${ci}->${co}`,
        run: () =>
          tf.engine().runKernel("Conv2DBackpropInput", { dy, filter: w }, {
            ...attrs,
            inputShape: x.shape,
          } as unknown as tf.NamedAttrMap) as tf.Tensor,
      });
    }
  }
  // Decoder conv2dTranspose k3 s2 valid: forward (= backprop-input) and filter gradient.
  for (const [size, ci, co] of [[3, 96, 48], [6, 48, 24], [12, 24, 12]]) {
    const x = t([64, size, size, ci], size + 3);
    const w = t([3, 3, co, ci], size + 4);
    const full = 2 * size + 1;
    const dy = t([64, full, full, co], size + 5);
    const attrs = { strides: [2, 2], pad: "valid", dataFormat: "NHWC" };
    calls.push({
      name: `convT fwd ${size}->${full} ${ci}->${co}`,
      run: () =>
        tf.engine().runKernel("Conv2DBackpropInput", { dy: x, filter: w }, {
          ...attrs,
          inputShape: [64, full, full, co],
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
    });
    calls.push({
      name: `convT dW  ${size}->${full} ${ci}->${co}`,
      run: () =>
        tf.engine().runKernel("Conv2DBackpropFilter", { x: dy, dy: x }, {
          ...attrs,
          filterShape: [3, 3, co, ci],
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
    });
  }
  for (const [size, c] of [[28, 24], [14, 48], [7, 96]]) {
    const x = t([64, size, size, c], size + 6);
    const half = Math.floor(size / 2);
    const dy = t([64, half, half, c], size + 7);
    const y = tf.maxPool(x as tf.Tensor4D, 2, 2, "valid");
    calls.push({
      name: `MaxPoolGrad ${size}x${size}x${c}`,
      run: () =>
        tf.engine().runKernel("MaxPoolGrad", { dy, input: x, output: y }, {
          filterSize: [2, 2],
          strides: [2, 2],
          pad: "valid",
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
    });
  }
  return calls;
}

/**
 * Single-kernel times under both variants for the cnn-bilinear shapes (wasm backend).
 *
 * @param rounds Turns per variant.
 * @param reps Calls per turn.
 */
export async function benchKernelVariants(rounds: number, reps: number): Promise<VariantTiming[]> {
  await setupBackend("wasm", { quiet: true });
  return cnnKernelCalls().map(({ name, run }) =>
    alternate(
      name,
      () => {
        const out = run();
        out.dataSync();
        out.dispose();
      },
      rounds,
      reps,
    )
  );
}

/** Formats timings as an aligned table. */
export function formatVariantTable(rows: VariantTiming[]): string {
  const w = Math.max(10, ...rows.map((r) => r.name.length));
  return [
    `${"".padEnd(w)}  baseline ms   fast ms  speed-up  (min: baseline  fast)`,
    ...rows.map((r) =>
      `${r.name.padEnd(w)}  ${r.baseline_ms.toFixed(1).padStart(11)}  ${
        r.fast_ms.toFixed(1).padStart(8)
      }  ${r.speedup.toFixed(2).padStart(8)}  ${r.baseline_min_ms.toFixed(1).padStart(14)}  ${
        r.fast_min_ms.toFixed(1).padStart(5)
      }`
    ),
  ].join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      kernels: { type: "boolean", default: false },
      models: { type: "string" },
      rounds: { type: "string", default: "5" },
      steps: { type: "string", default: "2" },
      json: { type: "boolean", default: false },
    },
    strict: true,
  });
  const rounds = Number(values.rounds);
  const steps = Number(values.steps);
  const rows = values.kernels
    ? await benchKernelVariants(rounds, steps)
    : await benchModelVariants(values.models?.split(",") ?? Object.keys(zoo), rounds, steps);
  console.log(values.json ? JSON.stringify(rows) : formatVariantTable(rows));
}
