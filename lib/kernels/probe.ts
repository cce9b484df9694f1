/**
 * Checks that every op the zoo models need in training runs forward and backward on a backend,
 * and agrees with the pure-JS cpu backend. Reports missing kernels by name (tfjs throws
 * "Kernel 'X' not registered for backend 'wasm'").
 *
 * From the terminal: `deno run -A lib/bench/probe_kernels.ts [backend]`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** One training op: a function of some inputs whose value and input gradients are compared. */
export interface ProbeOp {
  /** Short name shown in reports. */
  name: string;
  /** Input shapes; inputs are seeded uniform values in [-1, 1] (or [0.1, 1] if `positive`). */
  shapes: number[][];
  /** Use positive inputs (for ops like log). */
  positive?: boolean;
  /** The op, reduced to anything; its gradient w.r.t. every input is taken. */
  fn: (...xs: tf.Tensor[]) => tf.Tensor;
}

/** What {@link probeTrainingOps} found for one op. */
export interface ProbeResult {
  /** The op's name. */
  name: string;
  /** The kernel tfjs reported as not registered, or null. */
  missingKernel: string | null;
  /** Any other error (one line), or null. */
  error: string | null;
  /** Largest |backend - cpu| over the value and all gradients, scaled by max(1, max|cpu|). */
  relError: number | null;
}

/** Deterministic uniform values in [lo, hi) from a 32-bit seed (mulberry32). */
export function seededUniform(size: number, seed: number, lo = -1, hi = 1): Float32Array {
  let state = seed >>> 0;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = lo + (hi - lo) * u;
  }
  return out;
}

const conv = (stride: number, pad: "same" | "valid") => (x: tf.Tensor, w: tf.Tensor) =>
  tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad);
const convT = (stride: number, pad: "same" | "valid", outHW: number) =>
(
  x: tf.Tensor,
  w: tf.Tensor,
) => {
  const [b, , ,] = x.shape;
  const [, , outC] = w.shape;
  return tf.conv2dTranspose(
    x as tf.Tensor4D,
    w as tf.Tensor4D,
    [b, outHW, outHW, outC],
    stride,
    pad,
  );
};

/** The ops of the model zoo's training steps (conv, pooling, resize, norm, activations, loss). */
export const TRAINING_OPS: readonly ProbeOp[] = [
  { name: "conv2d s1 same", shapes: [[2, 9, 9, 3], [3, 3, 3, 5]], fn: conv(1, "same") },
  { name: "conv2d s2 same", shapes: [[2, 9, 9, 3], [3, 3, 3, 5]], fn: conv(2, "same") },
  { name: "conv2d s2 valid", shapes: [[2, 9, 9, 3], [3, 3, 3, 5]], fn: conv(2, "valid") },
  {
    name: "fused conv2d+bias+relu",
    shapes: [[2, 7, 7, 4], [3, 3, 4, 6], [6]],
    fn: (x, w, b) =>
      tf.fused.conv2d({
        x: x as tf.Tensor4D,
        filter: w as tf.Tensor4D,
        strides: 1,
        pad: "same",
        bias: b,
        activation: "relu",
      }),
  },
  {
    name: "conv2dTranspose s2 same",
    shapes: [[2, 4, 4, 6], [3, 3, 5, 6]],
    fn: convT(2, "same", 8),
  },
  {
    name: "conv2dTranspose s2 valid",
    shapes: [[2, 3, 3, 6], [3, 3, 5, 6]],
    fn: convT(2, "valid", 7),
  },
  {
    name: "maxPool 2",
    shapes: [[2, 7, 7, 3]],
    fn: (x) => tf.maxPool(x as tf.Tensor4D, 2, 2, "valid"),
  },
  {
    name: "maxPool 2 same",
    shapes: [[2, 7, 7, 3]],
    fn: (x) => tf.maxPool(x as tf.Tensor4D, 2, 2, "same"),
  },
  {
    name: "avgPool 2",
    shapes: [[2, 8, 8, 3]],
    fn: (x) => tf.avgPool(x as tf.Tensor4D, 2, 2, "valid"),
  },
  {
    name: "resizeBilinear 24->28",
    shapes: [[2, 24, 24, 3]],
    fn: (x) => tf.image.resizeBilinear(x as tf.Tensor4D, [28, 28]),
  },
  {
    name: "resizeBilinear halfPixel",
    shapes: [[2, 6, 6, 3]],
    fn: (x) => tf.image.resizeBilinear(x as tf.Tensor4D, [12, 12], false, true),
  },
  {
    name: "resizeNearestNeighbor x2",
    shapes: [[2, 7, 7, 3]],
    fn: (x) => tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [14, 14]),
  },
  {
    name: "batchNorm (moments)",
    shapes: [[8, 5, 5, 4], [4], [4]],
    fn: (x, gamma, beta) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      return tf.batchNorm(x, mean, variance, beta, gamma, 1e-3);
    },
  },
  {
    name: "dense+bias",
    shapes: [[4, 10], [10, 7], [7]],
    fn: (x, w, b) => tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b),
  },
  {
    name: "fused matMul+bias+relu",
    shapes: [[4, 10], [10, 7], [7]],
    fn: (x, w, b) =>
      tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: b, activation: "relu" }),
  },
  { name: "relu", shapes: [[3, 17]], fn: (x) => tf.relu(x) },
  { name: "leakyRelu", shapes: [[3, 17]], fn: (x) => tf.leakyRelu(x, 0.2) },
  { name: "elu", shapes: [[3, 17]], fn: (x) => tf.elu(x) },
  { name: "sigmoid", shapes: [[3, 17]], fn: (x) => tf.sigmoid(x) },
  { name: "tanh", shapes: [[3, 17]], fn: (x) => tf.tanh(x) },
  { name: "softplus", shapes: [[3, 17]], fn: (x) => tf.softplus(x) },
  {
    name: "dropout (fixed seed)",
    shapes: [[4, 30]],
    fn: (x) => tf.dropout(x, 0.3, undefined, 7),
  },
  {
    name: "mse",
    shapes: [[4, 12], [4, 12]],
    fn: (a, b) => tf.losses.meanSquaredError(a, b),
  },
  {
    name: "binary cross-entropy",
    shapes: [[4, 12], [4, 12]],
    positive: true,
    fn: (p, y) => {
      const q = tf.clipByValue(tf.mul(p, 0.9), 1e-7, 1 - 1e-7);
      return tf.neg(
        tf.mean(tf.add(tf.mul(y, tf.log(q)), tf.mul(tf.sub(1, y), tf.log1p(tf.neg(q))))),
      );
    },
  },
  {
    name: "reshape/concat/slice",
    shapes: [[2, 3, 4], [2, 3, 4]],
    fn: (a, b) =>
      tf.slice(tf.concat([tf.reshape(a, [2, 12]), tf.reshape(b, [2, 12])], 1), [0, 5], [2, 9]),
  },
];

/** Value and gradients of `op` on the active backend, as plain arrays. */
function valueAndGrads(op: ProbeOp, values: Float32Array[]): Float32Array[] {
  return tf.tidy(() => {
    const xs = values.map((v, i) => tf.tensor(v, op.shapes[i]));
    const y = op.fn(...xs);
    // Weight the output by fixed values so that every gradient entry matters.
    const weights = tf.tensor(seededUniform(y.size, 99), y.shape);
    const loss = (...args: tf.Tensor[]) => tf.sum(tf.mul(op.fn(...args), weights));
    const grads = tf.grads(loss)(xs);
    return [y, ...grads].map((t) => t.dataSync() as Float32Array).map((a) => Float32Array.from(a));
  });
}

function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split("\n")[0].slice(0, 200);
}

/**
 * Runs every op forward and backward on `backend` (which must be registered and initialisable)
 * and on "cpu", and compares. Restores the backend that was active before.
 */
export async function probeTrainingOps(
  backend: string,
  ops: readonly ProbeOp[] = TRAINING_OPS,
): Promise<ProbeResult[]> {
  const before = tf.getBackend();
  const results: ProbeResult[] = [];
  try {
    for (const [index, op] of ops.entries()) {
      const values = op.shapes.map((shape, i) =>
        seededUniform(
          shape.reduce((a, b) => a * b, 1),
          1000 * index + i,
          op.positive ? 0.1 : -1,
          1,
        )
      );
      await tf.setBackend("cpu");
      const reference = valueAndGrads(op, values);
      await tf.setBackend(backend);
      try {
        const got = valueAndGrads(op, values);
        let relError = 0;
        for (let k = 0; k < reference.length; k++) {
          let scale = 1;
          let diff = 0;
          for (let i = 0; i < reference[k].length; i++) {
            scale = Math.max(scale, Math.abs(reference[k][i]));
            diff = Math.max(diff, Math.abs(reference[k][i] - got[k][i]));
          }
          if (got[k].length !== reference[k].length) diff = Infinity;
          relError = Math.max(relError, diff / scale);
        }
        results.push({ name: op.name, missingKernel: null, error: null, relError });
      } catch (err) {
        const line = oneLine(err);
        const missing = /Kernel '([^']+)' not registered/.exec(line);
        results.push({
          name: op.name,
          missingKernel: missing ? missing[1] : null,
          error: missing ? null : line,
          relError: null,
        });
      }
    }
  } finally {
    if (before) await tf.setBackend(before);
  }
  return results;
}
