/**
 * E2 `cnn-tsne` and E9 `dense-denoising`: the analysis helpers on hand-made inputs, the smoke runs
 * through the real runner (artifacts the notebooks show, finite metrics, one row per claim,
 * verdicts that follow from the numbers) and the configuration checks.
 */
import assert from "node:assert/strict";
import { resolveConfig, runExperiment } from "../lib/experiments/registry.ts";
import { listArtifacts, readFigure, readHistory, readTable } from "../lib/experiments/runs.ts";
import { centroidGeometry, type EmbeddingQuality } from "../lib/experiments/cnn_tsne.ts";
import { addClippedGaussianNoise } from "../lib/experiments/dense_denoising.ts";
import { mulberry32 } from "../lib/random.ts";

function assertFiniteNumbers(metrics: Record<string, unknown>, keys: string[]): void {
  for (const key of keys) {
    const v = metrics[key];
    assert.ok(typeof v === "number" && Number.isFinite(v), `metric ${key} = ${v} is not finite`);
  }
}

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

Deno.test("cnn-tsne smoke run: curves, reconstructions, maps, quality table, three claims", async () => {
  const root = await Deno.makeTempDir({ prefix: "exp_cnn_tsne_" });
  try {
    const run = await runExperiment("cnn-tsne", { profile: "smoke", runsRoot: root, quiet: true });
    assert.deepEqual(await listArtifacts(run, "figures"), [
      "embedding-quality",
      "loss",
      "pca2",
      "tsne",
      "tsne-pixels",
    ]);
    assert.deepEqual(await listArtifacts(run, "images"), ["reconstructions"]);
    const history = await readHistory(run, "cnn-bilinear");
    assert.equal(history.length, run.config.epochs);
    assert.ok(history.every((h) => Number.isFinite(h.trainLoss) && Number.isFinite(h.valLoss!)));
    const tsneFigure = await readFigure(run, "tsne");
    const points = (tsneFigure.data as { name: string; x: number[] }[])
      .filter((t) => t.name !== "centroids")
      .reduce((n, t) => n + t.x.length, 0);
    assert.equal(points, run.config.tsnePoints);
    const quality = await readTable<EmbeddingQuality[]>(run, "embedding-quality");
    assert.equal(quality.length, 4);
    for (const q of quality) {
      assert.ok(q.knnLoo >= 0 && q.knnLoo <= 1, `${q.embedding} knn ${q.knnLoo}`);
      assert.ok(q.trustPixels > 0 && q.trustPixels <= 1, `${q.embedding} T ${q.trustPixels}`);
      assert.ok(q.silhouette >= -1 && q.silhouette <= 1, `${q.embedding} s ${q.silhouette}`);
    }
    const m = run.metrics;
    assertFiniteNumbers(m, [
      "testMse",
      "testPsnr",
      "bestValLoss",
      "tsneKnn",
      "tsneTrust",
      "tsneSilhouette",
      "pca2Knn",
      "pca2Trust",
      "pixelTsneKnn",
      "map06OverMedian",
      "embedding06OverMedian",
    ]);
    // PSNR is the MSE in decibels.
    assert.ok(Math.abs((m.testPsnr as number) + 10 * Math.log10(m.testMse as number)) < 1e-9);
    assert.equal(run.claims.length, 3);
    for (const c of run.claims) {
      assert.ok(c.claim && c.expected && c.ours, JSON.stringify(c));
      assert.ok(["pass", "differs"].includes(c.verdict), c.verdict);
    }
    // The geometry verdict follows from the numbers.
    const geometryPass = (m.map06OverMedian as number) < 1 && m.mapFarthestFrom06 === 1;
    assert.equal(run.claims[1].verdict, geometryPass ? "pass" : "differs");
    const pca32 = (m.pcaTestMse as Record<string, number>).d32;
    assert.equal(run.claims[2].verdict, (m.testMse as number) < pca32 ? "pass" : "differs");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("dense-denoising smoke run: three models, grids, PSNR table, two claims", async () => {
  const root = await Deno.makeTempDir({ prefix: "exp_dense_denoising_" });
  try {
    const run = await runExperiment("dense-denoising", {
      profile: "smoke",
      runsRoot: root,
      quiet: true,
    });
    assert.deepEqual(await listArtifacts(run, "figures"), ["loss", "mse-per-digit", "psnr"]);
    assert.deepEqual(await listArtifacts(run, "images"), ["denoising", "reconstructions"]);
    assert.deepEqual(await listArtifacts(run, "histories"), [
      "conv-denoise",
      "dense-denoise",
      "dense-plain",
    ]);
    const rows = await readTable<{ output: string; mse: number; psnr: number }[]>(
      run,
      "denoising",
    );
    assert.deepEqual(rows.map((r) => r.output.split(" (")[0]), [
      "noisy input",
      "plain dense AE on noisy input",
      "dense denoiser",
      "conv denoiser",
    ]);
    for (const r of rows) assert.ok(Math.abs(r.psnr + 10 * Math.log10(r.mse)) < 1e-9);
    const m = run.metrics;
    assertFiniteNumbers(m, [
      "denseAeTestMse",
      "pca64TestMse",
      "noisyMse",
      "noisyPsnr",
      "denseDenoisedPsnr",
      "denseGainDb",
      "convDenoisedPsnr",
      "convGainDb",
    ]);
    // sigma 0.5 clipped noise on MNIST: MSE of the noisy input is far above 0 and below 0.25.
    assert.ok((m.noisyMse as number) > 0.05 && (m.noisyMse as number) < 0.25, `${m.noisyMse}`);
    // PCA-64 of the first test images lies near SPEC's 0.0091 even when fitted on 2,000 images.
    assert.ok(Math.abs((m.pca64TestMse as number) - 0.0091) < 0.003, `${m.pca64TestMse}`);
    assert.equal(run.claims.length, 2);
    const gainsPass = (m.denseGainDb as number) >= 3 && (m.convGainDb as number) >= 3;
    assert.equal(run.claims[0].verdict, gainsPass ? "pass" : "differs");
    assert.equal(
      run.claims[1].verdict,
      (m.denseAeTestMse as number) <= (m.pca64TestMse as number) ? "pass" : "differs",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("cnn-tsne and dense-denoising reject bad configurations with clear errors", async () => {
  const bad = async (id: string, overrides: Record<string, unknown>, pattern: RegExp) => {
    await assert.rejects(
      () => resolveConfig(id, { profile: "smoke", overrides: overrides as Record<string, number> }),
      pattern,
    );
  };
  await bad("cnn-tsne", { tsnePoints: 50 }, /tsnePoints must be an integer in 61\.\.300/);
  await bad("cnn-tsne", { tsnePoints: 400 }, /tsnePoints must be an integer in 61\.\.300/);
  await bad("cnn-tsne", { validationFraction: 0 }, /validationFraction must be in \(0, 1\)/);
  await bad("cnn-tsne", { trustK: 150 }, /trustK must be an integer in \[1, tsnePoints\/2\)/);
  await bad("cnn-tsne", { epochs: 0 }, /epochs must be an integer in 1\.\.1000/);
  await bad("cnn-tsne", { reconCount: 301, testImages: 300 }, /reconCount must be an integer/);
  await bad("dense-denoising", { noiseStd: 0 }, /noiseStd must be in \(0, 10\]/);
  await bad(
    "dense-denoising",
    { denoiseTestImages: 400 },
    /denoiseTestImages must be an integer in 10\.\.300/,
  );
  await bad(
    "dense-denoising",
    { convTrainLimit: 401 },
    /convTrainLimit must be an integer in 0\.\.400/,
  );
  await bad("dense-denoising", { loss: "l1" }, /loss must be one of bce, mse/);
  await bad("dense-denoising", { learningRate: 2 }, /learningRate must be in \(0, 1\)/);
  await bad("dense-denoising", { batchSize: 1.5 }, /batchSize must be an integer/);
  // Good overrides pass and keep their types.
  const { config } = await resolveConfig("dense-denoising", {
    profile: "smoke",
    overrides: ["convTrainLimit=0", "noiseStd=0.3"],
  });
  assert.equal(config.convTrainLimit, 0);
  assert.equal(config.noiseStd, 0.3);
});
