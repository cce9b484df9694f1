/**
 * The data and code-analysis helpers of E1 `dataset` and E8 `kaggle-csv` on hand-made inputs (the
 * notebooks themselves run in tests/notebooks_test.ts).
 */
import assert from "node:assert/strict";
import { pixelStatistics, sigmoidOutputFloor } from "../lib/data/statistics.ts";
import {
  codeGeometry,
  digitMeans,
  nearestMean,
  pairConfusion,
  recallPerDigit,
} from "../lib/code_analysis.ts";

Deno.test("pixelStatistics: exact on a hand-made pair of images", () => {
  // Image 1: 780 zeros, 4 x 255. Image 2: 392 zeros, 392 x 51 (= 0.2).
  const pixels = new Uint8Array(2 * 784);
  pixels.fill(255, 780, 784);
  pixels.fill(51, 784 + 392, 2 * 784);
  const s = pixelStatistics(pixels, 4);
  const n = 2 * 784;
  assert.equal(s.images, 2);
  assert.equal(s.min, 0);
  assert.equal(s.max, 255);
  const mean = (4 * 1 + 392 * 0.2) / n;
  assert.ok(Math.abs(s.mean - mean) < 1e-12);
  const variance = (4 * 1 + 392 * 0.04) / n - mean * mean;
  assert.ok(Math.abs(s.std - Math.sqrt(variance)) < 1e-12);
  assert.equal(s.zeroFraction, (780 + 392) / n);
  assert.equal(s.fullFraction, 4 / n);
  assert.equal(s.inkFraction, 4 / n);
  assert.equal(s.nonZeroPerImage, (4 + 392) / 2);
  // 4 bins of 64 values: 0 and 51 fall in bin 0, 255 in bin 3.
  assert.deepEqual(s.histogram, [(1172 + 392) / n, 0, 0, 4 / n]);
  assert.deepEqual(s.binEdges, [0, 64, 128, 192, 256]);
  assert.throws(() => pixelStatistics(pixels, 1), /bins must be an integer in 2..256/);
  assert.throws(() => pixelStatistics(new Uint8Array(10), 4), /multiple of 784/);
});

Deno.test("sigmoidOutputFloor: centered targets cost (0.5 - x)^2 below 127.5, unit costs 0", () => {
  const pixels = Uint8Array.from([0, 255, 51, 204]);
  // Centered targets -0.5, 0.5, -0.3, 0.3; best sigmoid outputs 0, 0.5, 0, 0.3.
  const expected = (0.25 + 0 + 0.09 + 0) / 4;
  assert.ok(Math.abs(sigmoidOutputFloor(pixels, "centered") - expected) < 1e-12);
  assert.equal(sigmoidOutputFloor(pixels, "unit"), 0);
  assert.throws(
    () => sigmoidOutputFloor(pixels, "minus-one" as "unit"),
    /normalization must be "unit" or "centered"/,
  );
});

Deno.test("codeGeometry: quadrants, dead units, axis share and directions", () => {
  // A ReLU-like code with a dead second unit: every code on the positive z1 axis.
  const dead = codeGeometry(Float32Array.from([1, 0, 2, 0, 0, 0, 3, 0]));
  assert.equal(dead.firstQuadrant, 1);
  assert.equal(dead.deadUnits, 1);
  assert.equal(dead.onAxis, 1);
  assert.equal(dead.directions, 1); // all non-origin codes point at 0 degrees
  // One code per quadrant, at 45, 135, 225, 315 degrees.
  const spread = codeGeometry(Float32Array.from([1, 1, -1, 1, -1, -1, 1, -1]));
  assert.deepEqual(spread.quadrants, [0.25, 0.25, 0.25, 0.25]);
  assert.equal(spread.firstQuadrant, 0.25);
  assert.equal(spread.deadUnits, 0);
  assert.equal(spread.onAxis, 0);
  assert.equal(spread.directions, 4);
  assert.deepEqual(spread.std, [1, 1]);
  assert.throws(() => codeGeometry(new Float32Array(3)), /n x 2 codes/);
});

Deno.test("pairConfusion: symmetric rates sorted by size", () => {
  // Digit 0: 4 samples, 2 predicted 9. Digit 9: 2 samples, 1 predicted 0. Digit 1: correct.
  const truth = [0, 0, 0, 0, 9, 9, 1];
  const predicted = [0, 0, 9, 9, 9, 0, 1];
  const pairs = pairConfusion(truth, predicted);
  assert.equal(pairs.length, 45);
  assert.deepEqual(pairs[0], { a: 0, b: 9, rate: (2 / 4 + 1 / 2) / 2 });
  assert.equal(pairs[1].rate, 0);
  assert.throws(() => pairConfusion([1], []), /expected the same/);
});

Deno.test("digitMeans / nearestMean / recallPerDigit on flat synthetic digits", () => {
  // Digit d = an image whose pixels all equal d / 10; two images per digit, +-0.01 noise.
  const labels: number[] = [];
  const pixels = new Float32Array(20 * 784);
  for (let i = 0; i < 20; i++) {
    const d = i % 10;
    labels.push(d);
    pixels.fill(d / 10 + (i < 10 ? 0.01 : -0.01), i * 784, (i + 1) * 784);
  }
  const means = digitMeans(pixels, labels);
  for (let d = 0; d < 10; d++) assert.ok(Math.abs(means[d * 784 + 5] - d / 10) < 1e-6);
  assert.deepEqual(Array.from(nearestMean(means, pixels)), labels);
  // An image at 0.34 is nearest to the mean of 3; one at 0.96 to 9 (wrong if its label is 4).
  const probe = new Float32Array(2 * 784);
  probe.fill(0.34, 0, 784);
  probe.fill(0.96, 784);
  const predicted = nearestMean(means, probe);
  assert.deepEqual(Array.from(predicted), [3, 9]);
  const recall = recallPerDigit([3, 4], predicted);
  assert.equal(recall[3], 1);
  assert.equal(recall[4], 0);
  assert.ok(Number.isNaN(recall[0]));
  assert.throws(() => digitMeans(pixels, labels.slice(1)), /labels need/);
  assert.throws(() => nearestMean(means.subarray(0, 784), pixels), /10 x 784 means/);
});
