/**
 * The reconstruction judges of E3 `latent-sweep` and E5 `single-digit` on hand-made inputs (the
 * notebooks themselves run in tests/notebooks_test.ts).
 */
import assert from "node:assert/strict";
import {
  argminPerColumn,
  closedLoops,
  digitsByDecreasing,
  horizontalSpread,
  nonIncreasing,
  pickRows,
  recognitionScores,
} from "../lib/code_analysis.ts";
import { firstOfEachDigit } from "../lib/experiments/common.ts";

Deno.test("recognitionScores: recall, precision and F1 per digit", () => {
  // Three 0s all labelled 0; two 1s labelled 0 and 1; one 2 labelled 0.
  const s = recognitionScores([0, 0, 0, 1, 1, 2], [0, 0, 0, 0, 1, 0]);
  assert.deepEqual(s.recall.slice(0, 3), [1, 0.5, 0]);
  assert.deepEqual(s.precision.slice(0, 2), [3 / 5, 1]);
  assert.ok(Number.isNaN(s.precision[2])); // nothing labelled 2
  assert.ok(Math.abs(s.f1[0] - (2 * 1 * 0.6) / 1.6) < 1e-12);
  assert.ok(Math.abs(s.f1[1] - (2 * 0.5 * 1) / 1.5) < 1e-12);
  assert.equal(s.f1[2], 0);
  assert.ok(Number.isNaN(s.recall[5])); // digit without items
  assert.throws(() => recognitionScores([0, 1], [0]), /2 labels but 1 predictions/);
  assert.throws(() => recognitionScores([0, 10], [0, 1]), /digits 0\.\.9/);
});

Deno.test("nonIncreasing, digitsByDecreasing, firstOfEachDigit, pickRows", () => {
  assert.equal(nonIncreasing([0.06, 0.05, 0.04]), true);
  assert.equal(nonIncreasing([0.05, 0.0505, 0.04]), false);
  assert.equal(nonIncreasing([0.05, 0.0505, 0.04], 0.02), true);
  assert.equal(nonIncreasing([0.05, 0.06], 0.02), false);
  assert.deepEqual(digitsByDecreasing([0.1, 0.9, NaN, 0.9, 0.5]), [1, 3, 4, 0, 2]);
  assert.deepEqual(firstOfEachDigit([3, 1, 3, 0, 1, 9]), [3, 1, 0, 5]);
  const rows = Float32Array.from([0, 1, 10, 11, 20, 21]);
  assert.deepEqual([...pickRows(rows, 2, [2, 0])], [20, 21, 0, 1]);
});

Deno.test("horizontalSpread: a vertical line is narrow, a ring is wide; argminPerColumn", () => {
  const images = new Float32Array(4 * 784);
  for (let y = 4; y < 24; y++) images[y * 28 + 14] = 1; // vertical line at x = 14
  for (let a = 0; a < 360; a += 2) { // ring of radius 8 around (14, 14)
    const x = Math.round(14 + 8 * Math.cos((a * Math.PI) / 180));
    const y = Math.round(14 + 8 * Math.sin((a * Math.PI) / 180));
    images[784 + y * 28 + x] = 1;
  }
  // The line again, on a faint haze below the ink level: the haze must not widen it.
  images.fill(0.2, 2 * 784, 3 * 784);
  for (let y = 4; y < 24; y++) images[2 * 784 + y * 28 + 14] = 0.9;
  const s = horizontalSpread(images);
  assert.equal(s[0], 0);
  assert.ok(s[1] > 5 && s[1] < 6.5, `ring spread ${s[1]}`); // ~ 8 / sqrt(2)
  assert.equal(s[2], 0);
  assert.ok(Number.isNaN(s[3])); // no ink
  assert.ok(horizontalSpread(images, 0.1)[2] > 7, "with a low ink level the haze counts");
  assert.throws(() => horizontalSpread(new Float32Array(10)), /n x 784/);
  assert.throws(() => horizontalSpread(images, 0), /inkLevel must be in \(0, 1\]/);
  assert.deepEqual(argminPerColumn([[3, 1, 5], [2, 4, 5]]), [1, 0, 0]);
});

Deno.test("closedLoops: a ring has a loop; a line, a disc and an open ring do not", () => {
  const ring = (image: Float32Array, offset: number, gapAt?: number) => {
    for (let y = 8; y <= 20; y++) {
      for (let x = 8; x <= 20; x++) {
        const edge = y === 8 || y === 20 || x === 8 || x === 20;
        if (edge && !(gapAt !== undefined && y === 8 && x === gapAt)) {
          image[offset + y * 28 + x] = 1;
        }
      }
    }
  };
  const images = new Float32Array(5 * 784);
  ring(images, 0); // square ring: 11 x 11 enclosed pixels
  for (let y = 4; y < 24; y++) images[784 + y * 28 + 14] = 1; // line
  for (let y = 8; y <= 20; y++) images.fill(1, 2 * 784 + y * 28 + 8, 2 * 784 + y * 28 + 21); // disc
  ring(images, 3 * 784, 14); // ring with a one-pixel opening
  ring(images, 4 * 784);
  images[4 * 784 + 9 * 28 + 9] = 0.4; // faint ink is not ink: still a loop
  assert.deepEqual([...closedLoops(images)], [1, 0, 0, 0, 1]);
  // A single enclosed pixel counts only with minHole 1.
  const dot = new Float32Array(784);
  for (const [y, x] of [[9, 10], [11, 10], [10, 9], [10, 11]]) dot[y * 28 + x] = 1;
  assert.deepEqual([...closedLoops(dot)], [0]);
  assert.deepEqual([...closedLoops(dot, 0.5, 1)], [1]);
  assert.throws(() => closedLoops(new Float32Array(5)), /n x 784/);
  assert.throws(() => closedLoops(dot, 0.5, 0), /minHole an integer >= 1/);
});
