/**
 * Checks that tfjs-node's native addon loads under Deno and computes what the cpu backend does:
 * a matMul and a conv2d forward pass with both gradients. Run by `deno task native` in a fresh
 * process; also `deno run -A lib/native/verify.ts [--package @tensorflow/tfjs-node]`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { mulberry32 } from "../random.ts";
import { prepareTfjsNodeImport } from "./node_compat.ts";

/** One comparison of the tensorflow backend with cpu. */
export interface NativeCheck {
  /** What was computed. */
  name: string;
  /** Largest absolute difference from the cpu backend. */
  maxAbsDiff: number;
  /** Largest absolute cpu value (the scale the difference is judged against). */
  scale: number;
}

/** What {@link verifyNativeBackend} found. */
export interface NativeVerification {
  /** libtensorflow's version as the addon reports it (`TF_Version()`). */
  tensorflowVersion: string;
  /** Whether libtensorflow placed work on a CUDA GPU. */
  onGpu: boolean;
  /** The comparisons made. */
  checks: NativeCheck[];
}

/** Relative tolerance: float32 sums in a different order (oneDNN, Eigen vs the JS loops). */
export const NATIVE_RELATIVE_TOLERANCE = 1e-4;

/** Runs `fn` on `backend` and returns the results as plain arrays (no tensors left behind). */
async function runOn(
  backend: string,
  fn: () => tf.Tensor[],
): Promise<Float32Array[]> {
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} failed to initialise`);
  const tensors = tf.tidy(fn);
  try {
    return await Promise.all(tensors.map(async (t) => (await t.data()) as Float32Array));
  } finally {
    tf.dispose(tensors);
  }
}

function compare(name: string, got: Float32Array, want: Float32Array): NativeCheck {
  if (got.length !== want.length) {
    throw new Error(`${name}: ${got.length} values on tensorflow, ${want.length} on cpu`);
  }
  let maxAbsDiff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  if (!(maxAbsDiff <= NATIVE_RELATIVE_TOLERANCE * Math.max(scale, 1))) {
    throw new Error(`${name}: tensorflow differs from cpu by ${maxAbsDiff} (scale ${scale})`);
  }
  return { name, maxAbsDiff, scale };
}

/**
 * Imports `npmPackage` (which registers the "tensorflow" backend), then compares a matMul and a
 * conv2d forward + input and filter gradients with the cpu backend. Leaves "tensorflow" active.
 *
 * @throws when the package cannot be loaded or a result differs beyond
 * {@link NATIVE_RELATIVE_TOLERANCE} relative to the largest value.
 */
export async function verifyNativeBackend(
  npmPackage = "@tensorflow/tfjs-node",
): Promise<NativeVerification> {
  if (tf.findBackendFactory("tensorflow") === null) {
    prepareTfjsNodeImport();
    await import(npmPackage);
  }
  // Inputs drawn in JavaScript: seeded tf.random* ops need not agree between backends.
  const uniform = (shape: number[], seed: number, lo: number, hi: number) => {
    const next = mulberry32(seed);
    const values = new Float32Array(shape.reduce((n, d) => n * d, 1));
    for (let i = 0; i < values.length; i++) values[i] = lo + (hi - lo) * next();
    return tf.tensor(values, shape);
  };
  const seeded = () => {
    const a = uniform([33, 47], 1, -1, 1);
    const b = uniform([47, 29], 2, -1, 1);
    const x = uniform([4, 14, 14, 3], 3, 0, 1) as tf.Tensor4D;
    const w = uniform([3, 3, 3, 8], 4, -0.5, 0.5) as tf.Tensor4D;
    return { a, b, x, w };
  };
  const compute = () => {
    const { a, b, x, w } = seeded();
    const loss = (xs: tf.Tensor, ws: tf.Tensor) =>
      tf.conv2d(xs as tf.Tensor4D, ws as tf.Tensor4D, 2, "same").relu().square().mean();
    const [dx, dw] = tf.grads(loss)([x, w]);
    return [tf.matMul(a, b), tf.conv2d(x, w, 2, "same"), dx, dw];
  };
  const got = await runOn("tensorflow", compute);
  const binding = (tf.backend() as unknown as { binding?: { TF_Version?: string } }).binding;
  const onGpu = (tf.backend() as unknown as { isUsingGpuDevice?: boolean }).isUsingGpuDevice ===
    true;
  const want = await runOn("cpu", compute);
  await tf.setBackend("tensorflow");
  const names = ["matMul 33x47x29", "conv2d forward", "conv2d input grad", "conv2d filter grad"];
  return {
    tensorflowVersion: binding?.TF_Version ?? "unknown",
    onGpu,
    checks: names.map((name, i) => compare(name, got[i], want[i])),
  };
}

/** One line summarising a {@link NativeVerification}. */
export function formatVerification(v: NativeVerification): string {
  const checks = v.checks.map((c) => `${c.name} ${c.maxAbsDiff.toExponential(1)}`).join(", ");
  return `verified libtensorflow ${v.tensorflowVersion} on ${v.onGpu ? "CUDA GPU" : "CPU"}: ` +
    `max |tensorflow - cpu| ${checks}`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { package: { type: "string", default: "@tensorflow/tfjs-node" } },
  });
  try {
    console.log(formatVerification(await verifyNativeBackend(values.package)));
  } catch (err) {
    console.error(`verify: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
