/**
 * E3 `latent-sweep`, E5 `single-digit` (E4 `zero-one` is its notebook: tests/notebooks_test.ts): their analysis helpers on hand-made
 * inputs, the smoke runs through the real runner (the artifacts the notebooks show, finite
 * metrics, one row per claim) and the configuration checks.
 */
import assert from "node:assert/strict";
import { resolveConfig, runExperiment } from "../lib/experiments/registry.ts";
import { listArtifacts, readFigure, readImage, readTable } from "../lib/experiments/runs.ts";
import type { RunRecord } from "../lib/experiments/runs.ts";
import {
  digitsByDecreasing,
  nonIncreasing,
  pickRows,
  recognitionScores,
} from "../lib/experiments/latent_sweep.ts";
import { firstOfEachDigit } from "../lib/experiments/common.ts";
import { argminPerColumn, closedLoops, horizontalSpread } from "../lib/experiments/single_digit.ts";

function assertFiniteDeep(value: unknown, where: string): void {
  if (typeof value === "number") {
    assert.ok(Number.isFinite(value), `${where} is not finite: ${value}`);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => assertFiniteDeep(v, `${where}[${i}]`));
  } else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) assertFiniteDeep(v, `${where}.${k}`);
  }
}

function assertClaims(run: RunRecord, claims: string[]): void {
  assert.deepEqual(run.claims.map((c) => c.claim), claims);
  for (const c of run.claims) {
    assert.ok(["pass", "differs", "n/a"].includes(c.verdict), `verdict of "${c.claim}"`);
    assert.ok(c.expected.length > 0 && c.ours.length > 0, `text of "${c.claim}"`);
    assert.ok(!/NaN|undefined/.test(c.ours), `"${c.claim}" ours: ${c.ours}`);
  }
}

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

Deno.test("latent-sweep smoke run: reconstructions, MSE vs d with PCA, per-digit MSE, claims", async () => {
  const runsRoot = await Deno.makeTempDir({ prefix: "exp-e3-" });
  try {
    const run = await runExperiment("latent-sweep", { profile: "smoke", runsRoot, quiet: true });
    assert.deepEqual(await listArtifacts(run, "figures"), [
      "loss-curves",
      "mse-per-digit",
      "mse-vs-d",
      "recognised-per-digit",
    ]);
    assert.deepEqual(await listArtifacts(run, "images"), ["reconstructions"]);
    assert.deepEqual(await listArtifacts(run, "histories"), ["d1", "d2"]);
    const { png, captionHtml } = await readImage(run, "reconstructions");
    assert.ok(png.length > 100 && captionHtml !== null && captionHtml.includes("d = 2"));
    const mseVsD = await readFigure(run, "mse-vs-d");
    assert.equal(mseVsD.data.length, 2, "autoencoder line + PCA baseline");
    const summary = await readTable<{ d: number; pcaValMse: number }[]>(run, "summary");
    assert.deepEqual(summary.map((r) => r.d), [1, 2]);
    // PCA with more components never reconstructs the validation set worse.
    assert.ok(summary[1].pcaValMse <= summary[0].pcaValMse);
    assertFiniteDeep(run.metrics.valMse, "valMse");
    assertFiniteDeep(run.metrics.pcaValMse, "pcaValMse");
    const perDigit = await readTable<Record<string, number>[]>(run, "per-digit-mse");
    assert.equal(perDigit.length, 2);
    assertFiniteDeep(perDigit, "per-digit-mse");
    assertClaims(run, [
      "Reconstruction quality rises with the bottleneck size d",
      "The autoencoder beats PCA with the same d (beyond the write-up: the linear baseline; " +
      "an autoencoder worse than PCA is broken)",
      "At d = 1 only 0 and 1 stay recognisable",
    ]);
  } finally {
    await Deno.remove(runsRoot, { recursive: true });
  }
});

Deno.test("single-digit smoke run: grid per model, MSE matrix, claims", async () => {
  const runsRoot = await Deno.makeTempDir({ prefix: "exp-e5-" });
  try {
    const run = await runExperiment("single-digit", { profile: "smoke", runsRoot, quiet: true });
    assert.deepEqual(await listArtifacts(run, "figures"), [
      "labelled-own",
      "loss-curves",
      "mse-matrix",
    ]);
    assert.deepEqual(await listArtifacts(run, "images"), ["reconstructions"]);
    const shapes = await readTable<{ images: string }[]>(run, "stroke-shapes");
    assert.deepEqual(shapes.map((r) => r.images), ["originals", "0-model", "1-model"]);
    const matrix = await readFigure(run, "mse-matrix");
    const z = (matrix.data[0] as { z: number[][] }).z;
    assert.equal(z.length, 2, "one row per model (smoke: digits 0 and 1)");
    assert.equal(z[0].length, 10, "one column per test digit");
    const table = await readTable<{ msePerTestDigit: number[] }[]>(run, "mse-matrix");
    assertFiniteDeep(table, "mse-matrix table");
    assertFiniteDeep(run.metrics.valMse, "valMse");
    assertClaims(run, [
      "Each single-digit model reconstructs its own digit best (what the write-up's grids imply)",
      "A 1-model reconstructs everything with straight strokes",
      "A 0-model reconstructs everything with round strokes",
      "A 3-model keeps the round part of 2, a 7-model a bent line, a 9-model the circles of 0 and 8",
    ]);
    assert.equal(run.claims[3].verdict, "n/a");
  } finally {
    await Deno.remove(runsRoot, { recursive: true });
  }
});

Deno.test("config checks name the bad value and what is expected", async () => {
  const bad = async (id: string, overrides: Record<string, unknown>, message: RegExp) => {
    await assert.rejects(
      resolveConfig(id, {
        profile: "smoke",
        overrides: overrides as Record<string, string>,
      }),
      message,
    );
  };
  await bad("latent-sweep", { dims: [2, 1] }, /dims must be strictly increasing/);
  await bad("latent-sweep", { dims: [0, 2] }, /dims\[0\] must be an integer in 1\.\.784/);
  await bad("latent-sweep", { normalization: "minus-one" }, /normalization must be one of/);
  await bad("latent-sweep", { knnReferences: 5000 }, /knnReferences \(5000\) cannot exceed/);
  await bad("latent-sweep", { validationFraction: 0 }, /validationFraction must be in \(0, 1\)/);
  await bad("latent-sweep", { learningRate: -1 }, /learningRate must be in \(0, 1\)/);
  await bad("single-digit", { digits: [1, 1] }, /digits must be distinct/);
  await bad("single-digit", { digits: [10] }, /digits\[0\] must be an integer in 0\.\.9/);
  await bad(
    "single-digit",
    { trainPerDigit: 5000, knnPerDigit: 500 },
    /must not exceed 5421/,
  );
  // The profiles themselves are valid.
  for (const id of ["latent-sweep", "single-digit"]) {
    for (const profile of ["smoke", "quick", "full"]) await resolveConfig(id, { profile });
  }
});
