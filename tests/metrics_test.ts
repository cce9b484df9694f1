import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  checkerboardScore,
  checkerboardScores,
  classBalance,
  knnAccuracy,
  knnAccuracyLoo,
  knnClassify,
  mse,
  msePerDigit,
  pairSeparability,
  perSampleMse,
  psnr,
  silhouetteScore,
  trustworthiness,
} from "../lib/metrics.ts";
import {
  crossDistanceSpace,
  forEachCrossDistanceBlock,
  knnSearch,
  pairDistanceSpace,
} from "../lib/knn.ts";
import { mulberry32 } from "../lib/random.ts";
import { readMnistRaw } from "../lib/data/mnist.ts";

await tf.setBackend("cpu");

function close(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what}: expected ${expected} +- ${tolerance}, got ${actual}`,
  );
}

function randomPoints(n: number, dim: number, seed: number, scale = 1): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length: n * dim }, () => (random() - 0.5) * scale);
}

/** Two-pass textbook squared distance (direct differences), for references. */
function directDistance(x: Float32Array, i: number, y: Float32Array, j: number, dim: number) {
  let s = 0;
  for (let c = 0; c < dim; c++) s += (x[i * dim + c] - y[j * dim + c]) ** 2;
  return s;
}

/** Reference kNN: sort every candidate by (distance, index). */
function bruteKnn(refs: Float32Array, n: number, dim: number, k: number, queries?: Float32Array) {
  const q = queries ?? refs;
  const m = q.length / dim;
  const out: number[][] = [];
  for (let i = 0; i < m; i++) {
    const candidates: [number, number][] = [];
    for (let j = 0; j < n; j++) {
      if (queries === undefined && i === j) continue;
      candidates.push([directDistance(q, i, refs, j, dim), j]);
    }
    candidates.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    out.push(candidates.slice(0, k).map((c) => c[1]));
  }
  return out;
}

/** sklearn.manifold.trustworthiness written out literally (full matrices, argsort, inverted index). */
function bruteTrustworthiness(high: Float32Array, low: Float32Array, n: number, k: number) {
  const highDim = high.length / n;
  const lowDim = low.length / n;
  const lowNeighbours = bruteKnn(low, n, lowDim, k);
  let t = 0;
  for (let i = 0; i < n; i++) {
    const order = [...Array(n).keys()]
      .filter((j) => j !== i)
      .map((j) => [directDistance(high, i, high, j, highDim), j])
      .sort((a, b) => a[0] - b[0] || a[1] - b[1])
      .map((pair) => pair[1]);
    const rank = new Map(order.map((j, position) => [j, position + 1]));
    for (const j of lowNeighbours[i]) t += Math.max(0, (rank.get(j) as number) - k);
  }
  return 1 - t * (2 / (n * k * (2 * n - 3 * k - 1)));
}

Deno.test("mse, perSampleMse, psnr on values known by construction", () => {
  const a = new Float32Array([0, 0, 0, 0, 1, 1]);
  const b = new Float32Array([0.5, 0.5, 0.5, 0.5, 1, 0]);
  // squared errors: 0.25 x4, 0, 1 -> total 2 over 6 values
  close(mse(a, b), 2 / 6, 1e-12, "mse");
  const rows = perSampleMse(a, b, 3);
  assert.deepEqual(Array.from(rows), [0.25, 0.25, 0.5]);
  // Every value off by 0.1 -> MSE 0.01 -> PSNR = 10 log10(1 / 0.01) = 20 dB.
  const clean = randomPoints(50, 4, 3);
  const off = clean.map((v) => v + 0.1);
  close(psnr(off, clean), 20, 1e-4, "psnr max 1");
  close(psnr(off.map((v) => v * 255), clean.map((v) => v * 255), 255), 20, 1e-4, "psnr max 255");
  assert.equal(psnr(clean, clean), Infinity);
  // Tensors give the same answer as arrays.
  const ta = tf.tensor2d(a, [3, 2]);
  const tb = tf.tensor2d(b, [3, 2]);
  close(mse(ta, tb), 2 / 6, 1e-12, "mse of tensors");
  tf.dispose([ta, tb]);
  assert.throws(() => mse(a, new Float32Array(5)), /differ in size \(6 vs 5/);
  assert.throws(() => perSampleMse(a, b, 4), /6 values cannot be 4 rows/);
  assert.throws(() => psnr(a, b, 0), /maxValue must be > 0/);
});

Deno.test("msePerDigit averages per digit and marks missing digits NaN", () => {
  // Rows of 2 values: digit 3 rows have errors 1 and 0 -> 0.5; digit 7 row error 0.25.
  const a = new Float32Array([1, 1, 0, 0, 0.5, 0.5]);
  const b = new Float32Array([0, 0, 0, 0, 0, 0]);
  const perDigit = msePerDigit(a, b, [3, 3, 7]);
  assert.equal(perDigit.length, 10);
  assert.equal(perDigit[3], 0.5);
  assert.equal(perDigit[7], 0.25);
  for (const d of [0, 1, 2, 4, 5, 6, 8, 9]) assert.ok(Number.isNaN(perDigit[d]), `digit ${d}`);
  assert.throws(() => msePerDigit(a, b, [3, 3, 10]), /digits 0\.\.9, labels\[2\] = 10/);
});

Deno.test("knnSearch equals a brute-force sort, with ties broken by index", () => {
  // Integer grid points: many exactly equal distances, so the tie rule is exercised.
  const random = mulberry32(11);
  const dim = 3;
  const n = 203; // not a multiple of the block or of the 4x4 kernel
  const points = Float32Array.from({ length: n * dim }, () => Math.floor(random() * 4));
  const loo = knnSearch(points, n, dim, 7);
  const expected = bruteKnn(points, n, dim, 7);
  for (let i = 0; i < n; i++) {
    assert.deepEqual(Array.from(loo.indices.subarray(i * 7, i * 7 + 7)), expected[i], `row ${i}`);
  }
  const queries = Float32Array.from({ length: 37 * dim }, () => Math.floor(random() * 4));
  const cross = knnSearch(points, n, dim, 5, queries, 37);
  const expectedCross = bruteKnn(points, n, dim, 5, queries);
  for (let i = 0; i < 37; i++) {
    assert.deepEqual(Array.from(cross.indices.subarray(i * 5, i * 5 + 5)), expectedCross[i]);
  }
  assert.throws(() => knnSearch(points, n, dim, n), /k must be an integer in \[1, 202\]/);
});

Deno.test("blocked distances match direct differences for odd sizes and block edges", () => {
  const dim = 13;
  const a = randomPoints(71, dim, 5, 4);
  const b = randomPoints(45, dim, 6, 4);
  const space = crossDistanceSpace(a, 71, b, 45, dim);
  let visited = 0;
  forEachCrossDistanceBlock(a, 71, b, 45, dim, (r0, r1, c0, c1, block) => {
    for (let i = r0; i < r1; i++) {
      for (let j = c0; j < c1; j++) {
        const d = block[(i - r0) * (c1 - c0) + j - c0];
        // float32 dot products: the error scales with the norms, not with the distance.
        const scale = directDistance(a, i, new Float32Array(dim), 0, dim) +
          directDistance(b, j, new Float32Array(dim), 0, dim);
        close(d, directDistance(a, i, b, j, dim), 1e-6 * scale, "d");
        assert.equal(space.distance(i, j), d, "distance(i, j) is the block's value");
        visited++;
      }
    }
  }, { rows: 16, columns: 12 });
  assert.equal(visited, 71 * 45);
  assert.throws(
    () => forEachCrossDistanceBlock(a, 71, b, 45, dim, () => {}, { rows: 0 }),
    /blocks.rows must be a positive integer, got 0/,
  );
});

Deno.test("distance spaces: SIMD equals the JavaScript path bit for bit; far-off data stay accurate", () => {
  const dim = 37; // not a multiple of 4: padded columns
  const n = 83; // not a multiple of the kernel's row groups
  const x = randomPoints(n, dim, 12, 2);
  const collect = (useSimd: boolean) => {
    const values: number[] = [];
    pairDistanceSpace(x, n, dim, useSimd).forEachBlock(
      (r0, r1, c0, c1, block) => {
        for (let i = r0; i < r1; i++) {
          for (let j = Math.max(c0, i + 1); j < c1; j++) {
            values.push(
              block[(i - r0) * (c1 - c0) + j - c0],
            );
          }
        }
      },
      { rows: 10, columns: 24 },
      true,
    );
    return values;
  };
  const simd = collect(true);
  assert.equal(simd.length, (n * (n - 1)) / 2, "every unordered pair once");
  assert.deepEqual(simd, collect(false));
  // 1000 away from the origin with a spread of 1: without centring, |a|^2 + |b|^2 - 2 a.b in
  // float32 would lose every digit (|a|^2 ~ 4e7, the distances ~ 6).
  const far = x.map((v, e) => v + 1000 + (e % dim));
  const space = pairDistanceSpace(far, n, dim);
  for (const [i, j] of [[0, 1], [5, 80], [41, 42]]) {
    const exact = directDistance(far, i, far, j, dim);
    close(space.distance(i, j), exact, 1e-5 * exact, `far pair ${i}, ${j}`);
  }
});

Deno.test("knnAccuracy: separated clusters are perfect, a hand-made vote is exact", () => {
  // Ten tight clusters far apart: every test point's neighbours share its label.
  const random = mulberry32(2);
  const make = (n: number) => {
    const x = new Float32Array(n * 4);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = i % 10;
      for (let c = 0; c < 4; c++) x[i * 4 + c] = (c === y[i] % 4 ? 10 * y[i] : 0) + random();
    }
    return { x, y };
  };
  const train = make(300);
  const test = make(100);
  assert.equal(knnAccuracy(train.x, train.y, test.x, test.y, 5), 1);
  assert.equal(knnAccuracyLoo(train.x, train.y, 5), 1);

  // 1-D hand example. Train points 0,1,2 (label 0) and 10,11 (label 1).
  const trainX = new Float32Array([0, 1, 2, 10, 11]);
  const trainY = [0, 0, 0, 1, 1];
  // Query 9: 3 nearest are 10, 11 (label 1) and 2 (label 0) -> 1. Query 1.2: -> 0.
  // Query 6 with k = 2: neighbours 2 (d 4, label 0) and 10 (d 4, label 1): tie in distance,
  // the smaller index (2) comes first; tie in votes -> the nearest tied label, 0.
  assert.deepEqual(Array.from(knnClassify(trainX, trainY, new Float32Array([9, 1.2]), 2, 3)), [
    1,
    0,
  ]);
  assert.deepEqual(Array.from(knnClassify(trainX, trainY, new Float32Array([6]), 1, 2)), [0]);
  // Query 10.4 with k = 4: 10, 11 (label 1) and 2, 1 (label 0): a 2-2 tie. Nearest tied label
  // is 1; scikit-learn's rule (smallest tied label) gives 0.
  const q = new Float32Array([10.4]);
  assert.deepEqual(Array.from(knnClassify(trainX, trainY, q, 1, 4)), [1]);
  const sklearnRule = { tieBreak: "smallestLabel" } as const;
  assert.deepEqual(Array.from(knnClassify(trainX, trainY, q, 1, 4, sklearnRule)), [0]);
  assert.throws(
    () => knnClassify(trainX, trainY, q, 1, 4, { tieBreak: "vote" as "nearest" }),
    /tieBreak must be "nearest" or "smallestLabel", got "vote"/,
  );
  // Leave-one-out with k = 1: 0->1 (0), 1->0 (0), 2->1 (0), 10->11 (1), 11->10 (1): all right.
  assert.equal(knnAccuracyLoo(trainX, trainY, 1), 1);
  // k = 3: point 10's neighbours are 11 (1), 2 (0), 1 (0) -> 0: wrong; 11: 10, 2, 1 -> 0: wrong.
  close(knnAccuracyLoo(trainX, trainY, 3), 3 / 5, 1e-12, "LOO k=3");
  // k = 4 with the labels swapped (0, 1, 2 -> label 1; 10, 11 -> label 0): every point sees the
  // four others. 0, 1 and 2 see a 2-2 tie whose nearest label is 1 (right), smallest label 0
  // (wrong); 10 and 11 see three 1s and one 0 (wrong). So 3/5 vs 0/5.
  const swapped = [1, 1, 1, 0, 0];
  close(knnAccuracyLoo(trainX, swapped, 4), 3 / 5, 1e-12, "LOO k=4 nearest");
  close(knnAccuracyLoo(trainX, swapped, 4, sklearnRule), 0, 1e-12, "LOO k=4 smallestLabel");
  assert.throws(
    () => knnAccuracy(trainX, trainY, new Float32Array([1, 2]), [0], 3),
    /train points have 1 dims, test points 2/,
  );
});

Deno.test("trustworthiness: hand example, identity, random embedding, sklearn algorithm", () => {
  // 1-D, n = 6, k = 1. High: 0 1 3 6 10 15; the embedding swaps points 0 and 5.
  // Embedding neighbours and their ranks in the original: 0->4 (rank 4), 1->5 (rank 5),
  // 2->1 (1), 3->2 (1), 4->3 (1), 5->1 (rank 4). Penalty (4-1)+(5-1)+(4-1) = 10;
  // T = 1 - 2/(6*1*(12-3-1)) * 10 = 1 - 10/24 = 7/12.
  const high = new Float32Array([0, 1, 3, 6, 10, 15]);
  const low = new Float32Array([15, 1, 3, 6, 10, 0]);
  close(trustworthiness(high, low, 6, 1), 7 / 12, 1e-12, "hand example");
  assert.equal(trustworthiness(high, high, 6, 2), 1);

  const n = 150;
  const x = randomPoints(n, 10, 7);
  // A scaled copy of the first two coordinates vs an unrelated random embedding.
  const projection = Float32Array.from(
    { length: n * 2 },
    (_, e) => 3 * x[Math.floor(e / 2) * 10 + (e % 2)],
  );
  const unrelated = randomPoints(n, 2, 8);
  for (const k of [1, 5, 12]) {
    close(
      trustworthiness(x, projection, n, k),
      bruteTrustworthiness(x, projection, n, k),
      1e-12,
      `proj k=${k}`,
    );
    close(
      trustworthiness(x, unrelated, n, k),
      bruteTrustworthiness(x, unrelated, n, k),
      1e-12,
      `rand k=${k}`,
    );
  }
  const tProjection = trustworthiness(x, projection, n, 5);
  const tRandom = trustworthiness(x, unrelated, n, 5);
  assert.ok(tRandom < 0.6 && tRandom > 0.4, `random embedding should be near 0.5, got ${tRandom}`);
  assert.ok(tProjection > tRandom + 0.1, `projection ${tProjection} vs random ${tRandom}`);
  // Tied distances on a grid: still exactly the literal algorithm with index tie-break.
  const random = mulberry32(9);
  const grid = Float32Array.from({ length: 80 * 3 }, () => Math.floor(random() * 3));
  const gridLow = Float32Array.from({ length: 80 * 2 }, () => Math.floor(random() * 5));
  close(
    trustworthiness(grid, gridLow, 80, 4),
    bruteTrustworthiness(grid, gridLow, 80, 4),
    1e-12,
    "ties",
  );
  assert.throws(() => trustworthiness(high, low, 6, 3), /k must be an integer in \[1, n\/2\)/);
});

Deno.test("silhouetteScore: hand example and a literal reference with a singleton cluster", () => {
  // Clusters {0, 1} and {5, 6} on a line. s(0) = (5.5 - 1)/5.5, s(1) = (4.5 - 1)/4.5, mirrored.
  const expected = (4.5 / 5.5 + 3.5 / 4.5) / 2;
  close(silhouetteScore(new Float32Array([0, 1, 5, 6]), [0, 0, 1, 1]), expected, 1e-12, "hand");

  const n = 90;
  const x = randomPoints(n, 5, 4);
  const labels = Array.from({ length: n }, (_, i) => (i === 0 ? 42 : i % 3));
  let total = 0;
  for (let i = 0; i < n; i++) {
    const sums = new Map<number, [number, number]>();
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const entry = sums.get(labels[j]) ?? [0, 0];
      entry[0] += Math.sqrt(directDistance(x, i, x, j, 5));
      entry[1]++;
      sums.set(labels[j], entry);
    }
    if (!sums.has(labels[i])) continue; // singleton: s = 0
    const [ownSum, ownCount] = sums.get(labels[i]) as [number, number];
    const a = ownSum / ownCount;
    const b = Math.min(...[...sums].filter(([l]) => l !== labels[i]).map(([, [s, c]]) => s / c));
    total += (b - a) / Math.max(a, b);
  }
  close(silhouetteScore(x, labels), total / n, 1e-9, "reference");
  assert.throws(() => silhouetteScore(x, new Array(n).fill(1)), /distinct labels/);
});

Deno.test("pairSeparability: separated blobs, identical blobs, and XOR (kNN yes, linear no)", () => {
  const random = mulberry32(21);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const n = 400;
  const codes = new Float32Array(n * 2);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 3 === 0 ? 0 : i % 3 === 1 ? 1 : 7; // digit 7 must be ignored
    const shift = labels[i] === 0 ? -5 : 5;
    codes[i * 2] = shift + gauss();
    codes[i * 2 + 1] = gauss();
  }
  const separated = pairSeparability(codes, labels, 0, 1);
  assert.equal(separated.linear, 1);
  assert.equal(separated.knn, 1);
  assert.equal(separated.countA, 134);
  assert.equal(separated.countB, 133);

  const same = Float32Array.from({ length: n * 2 }, gauss);
  const overlap = pairSeparability(same, labels, 0, 1);
  assert.ok(overlap.linear < 0.62, `identical distributions, linear ${overlap.linear}`);
  assert.ok(overlap.knn < 0.62, `identical distributions, knn ${overlap.knn}`);

  // XOR quadrants: no line separates them, neighbours do.
  const xor = new Float32Array(n * 2);
  const xorLabels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const sx = random() < 0.5 ? -1 : 1;
    const sy = random() < 0.5 ? -1 : 1;
    xor[i * 2] = sx * (1 + random());
    xor[i * 2 + 1] = sy * (1 + random());
    xorLabels[i] = sx * sy > 0 ? 3 : 6;
  }
  const quadrants = pairSeparability(xor, xorLabels, 3, 6);
  assert.ok(quadrants.knn > 0.97, `XOR knn ${quadrants.knn}`);
  assert.ok(quadrants.linear < 0.7, `XOR linear ${quadrants.linear}`);
  assert.throws(() => pairSeparability(codes, labels, 0, 0), /must differ/);
  assert.throws(() => pairSeparability(codes, labels, 0, 9), /at least 5 points of each class/);
});

/** Direct 2-D DFT energy at the Nyquist row/column over the non-DC energy, for one image. */
function directNyquistShare(image: Float32Array, h: number, w: number): number {
  let nyquist = 0;
  let total = 0;
  for (let ky = 0; ky < h; ky++) {
    for (let kx = 0; kx < w; kx++) {
      let re = 0;
      let im = 0;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const angle = -2 * Math.PI * (ky * y / h + kx * x / w);
          re += image[y * w + x] * Math.cos(angle);
          im += image[y * w + x] * Math.sin(angle);
        }
      }
      const energy = re * re + im * im;
      if (kx === 0 && ky === 0) continue;
      total += energy;
      if (kx === w / 2 || ky === h / 2) nyquist += energy;
    }
  }
  return nyquist / total;
}

Deno.test("checkerboardScore: checkerboard >> digit and smooth blob; equals a direct DFT", async () => {
  const h = 28;
  const w = 28;
  const checker = Float32Array.from({ length: h * w }, (_, p) => ((p % w) + Math.floor(p / w)) % 2);
  const blob = Float32Array.from({ length: h * w }, (_, p) => {
    const x = p % w - 13.5;
    const y = Math.floor(p / w) - 13.5;
    return Math.exp(-(x * x + y * y) / (2 * 5 * 5));
  });
  const test = await readMnistRaw("test");
  const digit = Float32Array.from(test.pixels.subarray(0, h * w), (v) => v / 255);
  // Stride-2 artefact: a faint alternating pattern over the digit.
  const artefact = digit.map((v, p) => v + 0.15 * (((p % w) % 2) * (Math.floor(p / w) % 2)));
  const [sChecker, sBlob, sDigit, sArtefact] = checkerboardScores(
    new Float32Array([...checker, ...blob, ...digit, ...artefact]),
    4,
  );
  close(sChecker, 1, 1e-9, "pure checkerboard");
  assert.ok(sBlob < 1e-3, `smooth blob ${sBlob}`);
  assert.ok(sDigit < 0.05, `plain digit ${sDigit}`);
  assert.ok(
    sArtefact > 3 * sDigit && sArtefact > sDigit + 0.05,
    `artefact ${sArtefact} vs ${sDigit}`,
  );
  // Parseval shortcut equals the definition, on a random non-square image.
  const random = mulberry32(4);
  const noise = Float32Array.from({ length: 6 * 10 }, () => random());
  close(checkerboardScores(noise, 1, 6, 10)[0], directNyquistShare(noise, 6, 10), 1e-9, "DFT");
  close(checkerboardScores(digit, 1)[0], directNyquistShare(digit, h, w), 1e-9, "DFT digit");
  // The mean over images, and constant images score 0.
  close(
    checkerboardScore(new Float32Array([...checker, ...blob]), 2),
    (1 + sBlob) / 2,
    1e-12,
    "mean",
  );
  assert.equal(checkerboardScores(new Float32Array(h * w).fill(0.3), 1)[0], 0);
  assert.throws(() => checkerboardScores(new Float32Array(27 * 27), 1, 27, 27), /even integers/);
});

Deno.test("classBalance: counts and shares of selected digits", () => {
  const labels = [0, 0, 0, 1, 1, 2, 6, 6, 9, 9];
  const rows = classBalance(labels, [0, 1, 6]);
  assert.deepEqual(rows.map((r) => r.count), [3, 2, 2]);
  assert.deepEqual(rows.map((r) => r.shareOfAll), [0.3, 0.2, 0.2]);
  assert.deepEqual(rows.map((r) => r.shareOfSelection), [3 / 7, 2 / 7, 2 / 7]);
  assert.equal(classBalance(labels).length, 10);
  assert.throws(() => classBalance(labels, [1, 1]), /non-empty and distinct/);
});
