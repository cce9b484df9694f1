import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  fitPca,
  fitPcaTensor,
  pcaEmbedding,
  pcaProject,
  pcaReconstruct,
  pcaReconstructionMse,
  pcaReconstructionMseCurve,
} from "../lib/pca.ts";
import { knnAccuracy, trustworthiness } from "../lib/metrics.ts";
import { mulberry32 } from "../lib/random.ts";
import { readMnistRaw, unitPixels } from "../lib/data/mnist.ts";

await tf.setBackend("cpu");

function close(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what}: expected ${expected} +- ${tolerance}, got ${actual}`,
  );
}

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** Naive covariance (divisor n - 1) from centred rows, for checking eigenpairs. */
function naiveCovariance(x: Float32Array, n: number, dim: number): Float64Array {
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let c = 0; c < dim; c++) mean[c] += x[i * dim + c] / n;
  const cov = new Float64Array(dim * dim);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < dim; r++) {
      for (let c = 0; c < dim; c++) {
        cov[r * dim + c] += (x[i * dim + r] - mean[r]) * (x[i * dim + c] - mean[c]) / (n - 1);
      }
    }
  }
  return cov;
}

Deno.test("fitPca: eigenpairs of the covariance, orthonormal axes, sorted, signed", () => {
  const random = mulberry32(1);
  const n = 400;
  const dim = 7;
  // Correlated data with ~30% exact zeros (the sparse accumulation path) and an offset.
  const x = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const z = [gaussian(random) * 3, gaussian(random), gaussian(random) * 0.3];
    for (let c = 0; c < dim; c++) {
      const v = 2 + z[0] * (c % 3) + z[1] * (c === 2 ? 2 : -1) + z[2] * c + 0.05 * gaussian(random);
      x[i * dim + c] = random() < 0.3 ? 0 : v;
    }
  }
  const model = fitPca(x, n, dim, dim);
  const cov = naiveCovariance(x, n, dim);
  let trace = 0;
  for (let c = 0; c < dim; c++) trace += cov[c * dim + c];
  close(model.totalVariance, trace, 1e-9 * trace, "total variance = trace");
  let sumEigen = 0;
  for (let m = 0; m < dim; m++) {
    const axis = model.axes.subarray(m * dim, m * dim + dim);
    const lambda = model.explainedVariance[m];
    sumEigen += lambda;
    if (m > 0) assert.ok(lambda <= model.explainedVariance[m - 1], "decreasing variance");
    // C v = lambda v (axes are stored as float32, hence the tolerance).
    for (let r = 0; r < dim; r++) {
      let cv = 0;
      for (let c = 0; c < dim; c++) cv += cov[r * dim + c] * axis[c];
      close(cv, lambda * axis[r], 1e-5 * model.explainedVariance[0], `C v = lambda v, m=${m}`);
    }
    for (let q = 0; q <= m; q++) {
      let dot = 0;
      for (let c = 0; c < dim; c++) dot += axis[c] * model.axes[q * dim + c];
      close(dot, q === m ? 1 : 0, 1e-6, `axes ${m}.${q} orthonormal`);
    }
    let largest = 0;
    for (const v of axis) if (Math.abs(v) > Math.abs(largest)) largest = v;
    assert.ok(largest > 0, "largest entry of every axis is positive");
  }
  close(sumEigen, trace, 1e-9 * trace, "all eigenvalues sum to the trace");
  close(model.explainedVarianceRatio[0], model.explainedVariance[0] / trace, 1e-12, "ratio");
  // A tensor gives the same model.
  const t = tf.tensor2d(x, [n, dim]);
  const fromTensor = fitPcaTensor(t, 3);
  t.dispose();
  assert.deepEqual(Array.from(fromTensor.axes), Array.from(model.axes.subarray(0, 3 * dim)));
  assert.throws(() => fitPca(x, n, dim + 1, 2), /not 400 x 8/);
  assert.throws(() => fitPca(x, n, dim, 0), /maxComponents must be an integer in \[1, 7\]/);
});

Deno.test("PCA of data on a plane: exact reconstruction at d = 2, codes carry the variance", () => {
  const random = mulberry32(2);
  const n = 300;
  const dim = 5;
  const u = [1, 2, 0, -1, 0].map((v) => v / Math.sqrt(6));
  const w = [0, 0, 1, 0, 0];
  const x = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const a = 4 * gaussian(random);
    const b = gaussian(random);
    for (let c = 0; c < dim; c++) x[i * dim + c] = 0.5 + a * u[c] + b * w[c];
  }
  const model = fitPca(x, n, dim, 4);
  const codes = pcaProject(model, x, 2);
  const back = pcaReconstruct(model, codes, 2);
  for (let e = 0; e < x.length; e++) close(back[e], x[e], 1e-5, "reconstruction");
  assert.ok(pcaReconstructionMse(model, x, 2) < 1e-11);
  assert.ok(model.explainedVariance[2] < 1e-9 * model.explainedVariance[0], "rank 2");
  // Variance of the first code equals the first eigenvalue.
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    s += codes[i * 2];
    s2 += codes[i * 2] ** 2;
  }
  close(
    (s2 - s * s / n) / (n - 1),
    model.explainedVariance[0],
    1e-4 * model.explainedVariance[0],
    "var",
  );
  close(s / n, 0, 1e-5, "codes are centred");
  // The first two axes span exactly the plane of u and w; the first is u up to the sign rule
  // (largest entry 2/sqrt(6) positive) and the small sample correlation of a and b.
  for (let m = 0; m < 2; m++) {
    const axis = model.axes.subarray(m * dim, m * dim + dim);
    const onU = axis.reduce((acc, v, c) => acc + v * u[c], 0);
    const onW = axis.reduce((acc, v, c) => acc + v * w[c], 0);
    close(onU * onU + onW * onW, 1, 1e-6, `axis ${m} lies in the plane`);
  }
  for (let c = 0; c < dim; c++) close(model.axes[c], u[c], 0.01, `axis 0[${c}]`);
  // d = 0: the mean alone.
  const meanOnly = pcaReconstruct(model, new Float32Array(0), 0, 3);
  assert.deepEqual(Array.from(meanOnly.subarray(0, dim)), Array.from(model.mean));
  assert.throws(() => pcaReconstruct(model, new Float32Array(0), 0), /pass the number of rows/);
  assert.throws(() => pcaProject(model, x, 5), /d must be an integer in \[0, 4\]/);
  assert.throws(() => pcaProject(model, new Float32Array(7), 1), /7 values are not whole rows of/);
});

Deno.test("MNIST: PCA fitted on the 60k train images reproduces SPEC's test MSE table", async () => {
  const train = await readMnistRaw("train");
  const test = await readMnistRaw("test");
  const trainX = unitPixels(train.pixels);
  const testX = unitPixels(test.pixels);
  const started = performance.now();
  const model = fitPca(trainX, train.count, 784, 64);
  const fitMs = performance.now() - started;
  // SPEC.md "Reference numbers"; d = 0 is the mean image alone.
  const spec: [number, number][] = [
    [0, 0.0675],
    [1, 0.0607],
    [2, 0.0557],
    [3, 0.0516],
    [5, 0.0445],
    [10, 0.0341],
    [16, 0.0269],
    [32, 0.0168],
    [64, 0.0091],
  ];
  const curve = pcaReconstructionMseCurve(model, testX, spec.map(([d]) => d));
  const lines: string[] = [];
  spec.forEach(([d, expected], index) => {
    const measured = curve[index];
    lines.push(`d=${d}: ${measured.toFixed(5)} (SPEC ${expected})`);
    assert.ok(
      Math.abs(measured / expected - 1) <= 0.02,
      `d=${d}: PCA test MSE ${measured} is not within 2% of SPEC's ${expected}`,
    );
  });
  // The shortcut curve equals explicit project -> reconstruct -> compare.
  for (const d of [0, 3, 64]) {
    const explicit = pcaReconstructionMse(model, testX, d);
    close(curve[spec.findIndex(([sd]) => sd === d)], explicit, 1e-6 * explicit, `curve d=${d}`);
  }
  console.log(`PCA fit on 60k x 784: ${fitMs.toFixed(0)} ms; ${lines.join(", ")}`);

  // SPEC: PCA 2-D as an embedding: 5-NN test accuracy 42%, trustworthiness(k=5) 0.74.
  const { codes: testCodes, model: model2 } = pcaEmbedding(testX, test.count, 2, {
    data: trainX,
    n: train.count,
  });
  const trainCodes = pcaProject(model2, trainX, 2);
  const accuracy = knnAccuracy(trainCodes, train.labels, testCodes, test.labels, 5);
  close(accuracy, 0.42, 0.01, "5-NN accuracy of the PCA-2 test codes (train codes as reference)");
  // Trustworthiness on the first 2,000 test images (the full 10k takes ~20 s; measured 0.7436).
  const subset = 2000;
  const t = trustworthiness(
    testX.subarray(0, subset * 784),
    testCodes.subarray(0, subset * 2),
    subset,
    5,
  );
  close(t, 0.74, 0.01, "trustworthiness(k=5) of PCA-2 on 2,000 test images");
  console.log(
    `PCA-2: 5-NN accuracy ${accuracy}, trustworthiness(k=5, n=${subset}) ${t.toFixed(4)}`,
  );
});
