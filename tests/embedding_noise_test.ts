/**
 * The analysis helpers of E2 `cnn-tsne` and E9 `dense-denoising` on hand-made inputs (the
 * notebooks themselves run in tests/notebooks_test.ts).
 */
import assert from "node:assert/strict";
import { centroidGeometry } from "../lib/code_analysis.ts";
import { addClippedGaussianNoise } from "../lib/data/noise.ts";
import { mulberry32 } from "../lib/random.ts";

/** Points of digit d scattered (seeded) around centre[d], `perDigit` each, in 2-D. */
function clusters(centres: [number, number][], perDigit: number, spread: number) {
  const random = mulberry32(3);
  const points: number[] = [];
  const labels: number[] = [];
  centres.forEach(([x, y], d) => {
    for (let i = 0; i < perDigit; i++) {
      points.push(x + spread * (random() - 0.5), y + spread * (random() - 0.5));
      labels.push(d);
    }
  });
  return { points: Float32Array.from(points), labels: Int32Array.from(labels) };
}

Deno.test("centroidGeometry: 0 and 6 together at one end, 1 at the other", () => {
  // Digits along a slanted line: 1 at the far left, 0 and 6 next to each other at the right.
  const along = [9, -10, 1, 2, -4, 3, 8.5, -6, 4, -2];
  const centres = along.map((t): [number, number] => [t, 0.5 * t + (t % 2 === 0 ? 0.3 : -0.3)]);
  const { points, labels } = clusters(centres, 20, 0.2);
  const g = centroidGeometry(points, labels, 2);
  assert.equal(g.d06Rank, 1, "0-6 should be the closest pair");
  assert.ok(g.d06 < g.medianPairDistance);
  assert.equal(g.farthestFrom06[0], 1);
  assert.deepEqual([...g.farthestFrom06].sort(), [1, 2, 3, 4, 5, 7, 8, 9]);
  // Ordered along the line, with the 0/6 end on the positive side.
  assert.deepEqual(g.axisOrder, [1, 7, 4, 9, 2, 3, 5, 8, 6, 0]);
  const c0 = g.centroids[0];
  assert.ok(Math.abs(c0[0] - 9) < 0.1 && Math.abs(c0[1] - 4.2) < 0.1, `centroid 0 ${c0}`);

  // Moving 1 next to 0/6 changes the answers.
  const moved = along.slice();
  moved[1] = 7;
  const m = centroidGeometry(
    ...(() => {
      const c = clusters(moved.map((t): [number, number] => [t, 0.5 * t]), 20, 0.2);
      return [c.points, c.labels, 2] as const;
    })(),
  );
  assert.notEqual(m.farthestFrom06[0], 1);
  assert.equal(m.farthestFrom06[0], 7);
});

Deno.test("centroidGeometry: works in many dimensions and rejects bad input", () => {
  const dim = 5;
  const points: number[] = [];
  const labels: number[] = [];
  for (let d = 0; d < 10; d++) {
    for (let i = 0; i < 3; i++) {
      const row = new Array(dim).fill(0);
      row[d % dim] = d + i * 0.01;
      points.push(...row);
      labels.push(d);
    }
  }
  const g = centroidGeometry(points, labels, dim);
  assert.equal(g.centroids.length, 10);
  assert.equal(g.centroids[0].length, dim);
  assert.ok(Math.abs(g.d06 - Math.hypot(0.01, 6.01)) < 1e-9, `d06 ${g.d06}`);
  assert.throws(() => centroidGeometry(points.slice(1), labels, dim), /expected 30 labels/);
  assert.throws(
    () => centroidGeometry(points.slice(0, 27 * dim), labels.slice(0, 27), dim),
    /no points of digit\(s\) 9/,
  );
  assert.throws(
    () => centroidGeometry(points, labels.map((l) => (l === 3 ? 12 : l)), dim),
    /labels must be digits 0..9/,
  );
});

Deno.test("addClippedGaussianNoise: seeded, clipped to [0, 1], the requested spread", () => {
  const clean = new Float32Array(20001).fill(0.5);
  const a = addClippedGaussianNoise(clean, 0.1, 7);
  const b = addClippedGaussianNoise(clean, 0.1, 7);
  const c = addClippedGaussianNoise(clean, 0.1, 8);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  let sum = 0;
  let sumSq = 0;
  for (const v of a) {
    sum += v - 0.5;
    sumSq += (v - 0.5) ** 2;
  }
  const mean = sum / a.length;
  const std = Math.sqrt(sumSq / a.length - mean * mean);
  assert.ok(Math.abs(mean) < 0.003, `noise mean ${mean}`);
  assert.ok(Math.abs(std - 0.1) < 0.003, `noise std ${std}`);
  // Large noise on black/white pixels: everything stays in [0, 1] and some values hit the ends.
  const bw = Float32Array.from({ length: 1000 }, (_, i) => i % 2);
  const noisy = addClippedGaussianNoise(bw, 0.5, 1);
  assert.ok(noisy.every((v) => v >= 0 && v <= 1));
  assert.ok(noisy.some((v) => v === 0) && noisy.some((v) => v === 1));
  assert.ok(noisy.some((v) => v > 0 && v < 1));
  assert.deepEqual(
    addClippedGaussianNoise(Float32Array.from([-1, 0.25, 2]), 0, 1),
    Float32Array.from([0, 0.25, 1]),
  );
  assert.throws(() => addClippedGaussianNoise(clean, -1, 0), /std must be a finite number >= 0/);
  assert.throws(() => addClippedGaussianNoise(clean, 0.5, 0.5), /seed must be an integer/);
});
