// Tests of lib/tsne.ts and its parts (lib/tsne/). The quality checks use small O(N^2) helpers
// written here so that they do not depend on the code under test.
import assert from "node:assert/strict";
import { tsne } from "../lib/tsne.ts";
import { lastTsneTimings } from "../lib/tsne.ts";
import { readMnistRaw } from "../lib/data/mnist.ts";
import { mulberry32 } from "../lib/random.ts";
import { exactNeighbours } from "../lib/knn.ts";
import { conditionalAffinities, symmetrise } from "../lib/tsne/affinities.ts";
import { buildQuadTree, createQuadTree, repulsiveForces } from "../lib/tsne/quadtree.ts";
import { klDivergence } from "../lib/tsne/barnes_hut.ts";
import { createDotKernel, dotKernelBytes } from "../lib/kernels/simd_dot.ts";
import { helperChunks, startTeam, stopTeam, teamRepulsion } from "../lib/tsne/parallel.ts";

// ---------- small reference helpers (O(N^2)) ----------

function squaredDistances(x: ArrayLike<number>, n: number, dim: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let s = 0;
      for (let d = 0; d < dim; d++) {
        const diff = x[i * dim + d] - x[j * dim + d];
        s += diff * diff;
      }
      out[i * n + j] = s;
      out[j * n + i] = s;
    }
  }
  return out;
}

/** Other points ordered by distance (ties by index). */
function ranking(dist: Float64Array, n: number, i: number): number[] {
  const others = [];
  for (let j = 0; j < n; j++) if (j !== i) others.push(j);
  return others.sort((a, b) => dist[i * n + a] - dist[i * n + b] || a - b);
}

/** Leave-one-out k-NN accuracy of labels in a 2-D map (majority vote, ties to the nearest). */
function knnAccuracy2d(y: Float32Array, labels: ArrayLike<number>, k: number): number {
  const n = labels.length;
  const bestD = new Float64Array(k);
  const bestI = new Int32Array(k);
  let correct = 0;
  for (let i = 0; i < n; i++) {
    bestD.fill(Infinity);
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
      const d = dx * dx + dy * dy;
      if (d < bestD[k - 1]) {
        let p = k - 1;
        while (p > 0 && bestD[p - 1] > d) {
          bestD[p] = bestD[p - 1];
          bestI[p] = bestI[p - 1];
          p--;
        }
        bestD[p] = d;
        bestI[p] = j;
      }
    }
    const votes = new Map<number, number>();
    for (let m = 0; m < k; m++) votes.set(labels[bestI[m]], (votes.get(labels[bestI[m]]) ?? 0) + 1);
    let winner = labels[bestI[0]];
    for (const [label, count] of votes) if (count > votes.get(winner)!) winner = label;
    if (winner === labels[i]) correct++;
  }
  return correct / n;
}

/** Trustworthiness T(k) as sklearn.manifold.trustworthiness. */
function trustworthiness(high: Float32Array, dim: number, low: Float32Array, n: number, k: number) {
  const dh = squaredDistances(high, n, dim);
  const dl = squaredDistances(low, n, 2);
  let penalty = 0;
  for (let i = 0; i < n; i++) {
    const rank = new Int32Array(n);
    ranking(dh, n, i).forEach((j, r) => (rank[j] = r + 1));
    for (const j of ranking(dl, n, i).slice(0, k)) penalty += Math.max(0, rank[j] - k);
  }
  return 1 - (2 / (n * k * (2 * n - 3 * k - 1))) * penalty;
}

async function mnistTest(n: number): Promise<{ x: Float32Array; labels: Uint8Array }> {
  const raw = await readMnistRaw("test");
  const x = new Float32Array(n * 784);
  for (let e = 0; e < n * 784; e++) x[e] = raw.pixels[e] / 255;
  return { x, labels: raw.labels.slice(0, n) };
}

function randomPoints(n: number, dim: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length: n * dim }, () => random());
}

// ---------- parts ----------

Deno.test("SIMD dot kernel: valid module, matches plain dot products", () => {
  assert.ok(WebAssembly.validate(dotKernelBytes()), "module bytes must validate");
  const kernel = createDotKernel(1 << 20);
  assert.ok(kernel, "Deno's V8 supports wasm SIMD, so the kernel must be available");
  const [aRows, bRows, dim] = [4, 8, 12];
  const f = new Float32Array(kernel.memory.buffer);
  const random = mulberry32(3);
  for (let e = 0; e < (aRows + bRows) * dim; e++) f[e] = random() - 0.5;
  const out = (aRows + bRows) * dim;
  kernel.dots(0, aRows, aRows * dim * 4, bRows, dim / 4, out * 4);
  for (let i = 0; i < aRows; i++) {
    for (let j = 0; j < bRows; j++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += f[i * dim + d] * f[(aRows + j) * dim + d];
      assert.ok(Math.abs(f[out + i * bRows + j] - s) < 1e-5, `dot ${i},${j}`);
    }
  }
});

Deno.test("exactNeighbours: same neighbours and distances as a brute-force sort", () => {
  const [n, dim, k] = [203, 37, 15]; // sizes that are not multiples of the kernel blocks
  const x = randomPoints(n, dim, 1);
  const found = exactNeighbours(x, n, dim, k);
  const plain = exactNeighbours(x, n, dim, k, false);
  const dist = squaredDistances(x, n, dim);
  for (let e = 0; e < n * k; e++) {
    assert.ok(Math.abs(plain.distancesSq[e] - found.distancesSq[e]) < 1e-4, "SIMD = plain JS");
  }
  for (let i = 0; i < n; i++) {
    const expected = ranking(dist, n, i).slice(0, k);
    for (let m = 0; m < k; m++) {
      assert.ok(
        Math.abs(found.distancesSq[i * k + m] - dist[i * n + expected[m]]) < 1e-4,
        `row ${i} neighbour ${m}: distance`,
      );
    }
    assert.deepEqual(
      [...found.indices.subarray(i * k, (i + 1) * k)].sort((a, b) => a - b),
      expected.sort((a, b) => a - b),
      `row ${i}: neighbour set`,
    );
  }
});

Deno.test("exactNeighbours: data far from the origin keep their exact neighbours", () => {
  // |a|^2 + |b|^2 - 2 a.b in float32 would be ruined by cancellation without centring.
  const [n, dim, k] = [120, 16, 10];
  const x = randomPoints(n, dim, 9).map((v) => v + 1000);
  const found = exactNeighbours(x, n, dim, k);
  const dist = squaredDistances(x, n, dim);
  for (let i = 0; i < n; i++) {
    const expected = ranking(dist, n, i).slice(0, k);
    assert.deepEqual([...found.indices.subarray(i * k, (i + 1) * k)], expected, `row ${i}`);
    for (let m = 0; m < k; m++) {
      const want = dist[i * n + expected[m]];
      assert.ok(Math.abs(found.distancesSq[i * k + m] - want) < 1e-3 * want, `row ${i}, ${m}`);
    }
  }
});

Deno.test("affinities: each row has the requested perplexity; P is symmetric and sums to 1", () => {
  const [n, dim, perplexity] = [150, 10, 12];
  const x = randomPoints(n, dim, 2);
  const neighbours = exactNeighbours(x, n, dim, 36);
  const conditional = conditionalAffinities(neighbours, perplexity);
  for (let i = 0; i < n; i++) {
    let sum = 0, entropy = 0;
    for (let m = 0; m < 36; m++) {
      const p = conditional[i * 36 + m];
      sum += p;
      if (p > 0) entropy -= p * Math.log(p);
    }
    assert.ok(Math.abs(sum - 1) < 1e-9, `row ${i} sums to ${sum}`);
    assert.ok(
      Math.abs(Math.exp(entropy) - perplexity) < 1e-3,
      `row ${i} perplexity ${Math.exp(entropy)}`,
    );
  }
  const p = symmetrise(neighbours, conditional);
  const dense = new Float64Array(n * n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let e = p.rowStart[i]; e < p.rowStart[i + 1]; e++) {
      if (e > p.rowStart[i]) {
        assert.ok(p.columns[e] > p.columns[e - 1], "columns ascending, unique");
      }
      dense[i * n + p.columns[e]] = p.values[e];
      total += p.values[e];
    }
  }
  assert.ok(Math.abs(total - 1) < 1e-9, `P sums to ${total}`);
  for (let i = 0; i < n; i++) {
    assert.equal(dense[i * n + i], 0, "no self affinity");
    for (let j = 0; j < i; j++) assert.ok(Math.abs(dense[i * n + j] - dense[j * n + i]) < 1e-15);
  }
});

Deno.test("quadtree: theta 0 gives exact repulsion; theta 0.5 stays close; KL matches a dense sum", () => {
  const n = 400;
  const random = mulberry32(4);
  const y = new Float64Array(2 * n);
  for (let e = 0; e < 2 * n; e++) y[e] = (random() - 0.5) * 20;
  // A few duplicates and a tight clump exercise the finest-cell leaves.
  y[2] = y[0];
  y[3] = y[1];
  for (let i = 10; i < 30; i++) {
    y[2 * i] = 3 + 1e-9 * i;
    y[2 * i + 1] = -2;
  }
  const exactF = new Float64Array(2 * n);
  let exactZ = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
      const w = 1 / (1 + dx * dx + dy * dy);
      exactZ += w;
      exactF[2 * i] += w * w * dx;
      exactF[2 * i + 1] += w * w * dy;
    }
  }
  const tree = createQuadTree(n);
  buildQuadTree(tree, y);
  const forces = new Float64Array(2 * n);
  const z0 = repulsiveForces(tree, 0, forces);
  assert.ok(Math.abs(z0 - exactZ) < 1e-9 * exactZ, `theta 0: Z ${z0} vs ${exactZ}`);
  for (let e = 0; e < 2 * n; e++) assert.ok(Math.abs(forces[e] - exactF[e]) < 1e-9, `force ${e}`);
  const zHalf = repulsiveForces(tree, 0.5, forces);
  assert.ok(Math.abs(zHalf - exactZ) < 0.01 * exactZ, `theta 0.5: Z ${zHalf} vs ${exactZ}`);
  let errSq = 0, normSq = 0;
  for (let e = 0; e < 2 * n; e++) {
    errSq += (forces[e] - exactF[e]) ** 2;
    normSq += exactF[e] ** 2;
  }
  assert.ok(
    Math.sqrt(errSq / normSq) < 0.05,
    `theta 0.5 relative force error ${Math.sqrt(errSq / normSq)}`,
  );

  // KL of a small symmetric P against the dense formula.
  const x = randomPoints(n, 5, 5);
  const neighbours = exactNeighbours(x, n, 5, 30);
  const p = symmetrise(neighbours, conditionalAffinities(neighbours, 10));
  let kl = 0;
  for (let i = 0; i < n; i++) {
    for (let e = p.rowStart[i]; e < p.rowStart[i + 1]; e++) {
      const j = p.columns[e];
      const dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
      const q = 1 / (1 + dx * dx + dy * dy) / exactZ;
      kl += p.values[e] * Math.log(p.values[e] / q);
    }
  }
  assert.ok(Math.abs(klDivergence(p, y, exactZ) - kl) < 1e-9, "KL divergence");
});

Deno.test("parallel repulsion: a helper Worker takes chunks and the sums are bit-identical", async () => {
  const n = 3000;
  const random = mulberry32(11);
  const y = Float64Array.from({ length: 2 * n }, () => (random() - 0.5) * 50);
  const results: { z: number; forces: Float64Array; helped: number }[] = [];
  for (const threads of [1, 2]) {
    const tree = createQuadTree(n, true);
    const forces = new Float64Array(new SharedArrayBuffer(16 * n));
    const team = await startTeam(tree, forces, 0.5, threads);
    try {
      buildQuadTree(tree, y);
      let z = 0;
      for (let r = 0; r < 20; r++) z = teamRepulsion(team);
      results.push({ z, forces: forces.slice(), helped: helperChunks(team) });
    } finally {
      stopTeam(team);
    }
  }
  assert.equal(results[0].helped, 0);
  assert.ok(results[1].helped > 0, "the helper computed some chunks");
  assert.equal(results[1].z, results[0].z);
  assert.deepEqual(results[1].forces, results[0].forces);
});

// ---------- public API ----------

Deno.test("tsne: bad input gives clear errors", async () => {
  const ten = Array.from({ length: 10 }, (_, i) => [i, i * 2, 1]);
  await assert.rejects(tsne(ten), /too few for perplexity 30.*lower the perplexity to at most 3/);
  await assert.rejects(
    tsne([[1, 2], [3, NaN], ...ten.map((r) => r.slice(0, 2))], { perplexity: 2 }),
    /value NaN at row 1, column 1 is not a finite number/,
  );
  await assert.rejects(
    tsne([[1, 2, 3], [4, 5], [6, 7, 8]], { perplexity: 0.5 }),
    /ragged rows: row 1 has length 2/,
  );
  await assert.rejects(tsne(new Float32Array(12)), /needs options.dim/);
  await assert.rejects(tsne(new Float32Array(10), { dim: 3 }), /not a multiple of dim 3/);
  const flat = new Float32Array(30);
  flat[7] = Infinity;
  await assert.rejects(tsne(flat, { dim: 3, perplexity: 2 }), /row 2, column 1 is not finite/);
  await assert.rejects(tsne(ten, { perplexity: 2, method: "fast" as "exact" }), /method must be/);
  await assert.rejects(
    tsne(ten, { perplexity: 2, iterations: 0 }),
    /iterations must be a positive integer/,
  );
  await assert.rejects(tsne(ten, { perplexity: 2, theta: -1 }), /theta must be a number >= 0/);
  await assert.rejects(
    tsne(ten, { perplexity: 2, learningRate: -5 }),
    /learningRate must be a positive/,
  );
  await assert.rejects(tsne(ten, { perplexity: 2, seed: 0.5 }), /seed must be an integer/);
});

Deno.test("tsne: same seed gives identical output, another seed a different one (both methods)", async () => {
  const x = randomPoints(300, 20, 6);
  const options = { dim: 20, perplexity: 20, iterations: 300 };
  const a = await tsne(x, { ...options, seed: 1 });
  const b = await tsne(x, { ...options, seed: 1 });
  const c = await tsne(x, { ...options, seed: 2 });
  assert.equal(a.length, 600);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.deepEqual(await tsne(x, { ...options, seed: 1, threads: 1 }), a, "1 thread = 2 threads");
  const pa = await tsne(x, { ...options, seed: 1, init: "pca" });
  const pb = await tsne(x, { ...options, seed: 1, init: "pca" });
  assert.deepEqual(pa, pb);

  const small = randomPoints(40, 5, 7);
  const originalRandom = Math.random;
  const exact = { dim: 5, perplexity: 5, iterations: 120, method: "exact" as const };
  const ea = await tsne(small, { ...exact, seed: 1 });
  const eb = await tsne(small, { ...exact, seed: 1 });
  const ec = await tsne(small, { ...exact, seed: 2 });
  assert.equal(Math.random, originalRandom, "Math.random is restored after the exact method");
  assert.equal(ea.length, 80);
  assert.ok(ea.every(Number.isFinite));
  assert.deepEqual(ea, eb);
  assert.notDeepEqual(ea, ec);
});

Deno.test("tsne: duplicate and constant points give finite maps", async () => {
  const base = randomPoints(20, 6, 10);
  const repeated = new Float32Array(200 * 6);
  for (let i = 0; i < 200; i++) repeated.set(base.subarray((i % 20) * 6, (i % 20 + 1) * 6), i * 6);
  const y = await tsne(repeated, { dim: 6, perplexity: 10, iterations: 300 });
  assert.ok(y.every(Number.isFinite));
  // Copies of one point end up (almost) on top of each other, far from other groups.
  const spread = Math.hypot(y[0] - y[40], y[1] - y[41]);
  const apart = Math.hypot(y[0] - y[2], y[1] - y[3]);
  assert.ok(spread < 0.1 * apart, `copies ${spread} apart vs other points ${apart}`);
  const constant = await tsne(new Float32Array(100 * 3).fill(7), {
    dim: 3,
    perplexity: 5,
    iterations: 100,
  });
  assert.ok(constant.every(Number.isFinite));
});

Deno.test("tsne: onProgress reports the KL divergence every progressEvery iterations", async () => {
  const x = randomPoints(200, 8, 8);
  const calls: [number, number | null][] = [];
  await tsne(x, {
    dim: 8,
    perplexity: 15,
    iterations: 420,
    progressEvery: 100,
    onProgress: (iteration, kl) => calls.push([iteration, kl]),
  });
  assert.deepEqual(calls.map(([i]) => i), [100, 200, 300, 400, 420]);
  for (const [, kl] of calls) assert.ok(kl !== null && kl > 0 && Number.isFinite(kl));
  // After exaggeration ends (250) the optimiser keeps lowering the objective.
  assert.ok(calls[4][1]! < calls[2][1]!, `KL ${calls[4][1]} should be below ${calls[2][1]}`);

  const exactCalls: [number, number | null][] = [];
  await tsne(randomPoints(40, 5, 12), {
    dim: 5,
    perplexity: 5,
    iterations: 160,
    method: "exact",
    progressEvery: 50,
    onProgress: (iteration, kl) => exactCalls.push([iteration, kl]),
  });
  assert.deepEqual(exactCalls.slice(0, 2).map(([i]) => i), [50, 100]);
  for (const [, kl] of exactCalls) assert.ok(kl !== null && Number.isFinite(kl) && kl > -1e-9);
});

Deno.test("tsne: Barnes-Hut matches exact repulsion and is no worse than tsne-js on 300 MNIST images", async () => {
  const n = 300;
  const { x, labels } = await mnistTest(n);
  const runs = {
    "barnes-hut": { method: "barnes-hut", theta: 0.5, seeds: [0, 1, 2] },
    "exact-repulsion": { method: "barnes-hut", theta: 0, seeds: [0, 1, 2] }, // same P, exact gradient
    "tsne-js": { method: "exact", theta: 0.5, seeds: [0] }, // slow: one run
  } as const;
  // Means over seeds: one 300-point map's 5-NN accuracy varies by about +-0.025 with the seed.
  const results: Record<string, { accuracy: number; trust: number; seconds: number }> = {};
  for (const [name, { method, theta, seeds }] of Object.entries(runs)) {
    const t0 = performance.now();
    let accuracy = 0, trust = 0;
    for (const seed of seeds) {
      const y = await tsne(x, { dim: 784, seed, iterations: 500, method, theta });
      accuracy += knnAccuracy2d(y, labels, 5) / seeds.length;
      trust += trustworthiness(x, 784, y, n, 5) / seeds.length;
    }
    results[name] = { accuracy, trust, seconds: (performance.now() - t0) / 1000 / seeds.length };
  }
  console.log("300 MNIST images:", JSON.stringify(results));
  const bh = results["barnes-hut"], exact = results["exact-repulsion"], js = results["tsne-js"];
  for (const [name, r] of Object.entries(results)) {
    assert.ok(r.accuracy >= 0.7, `${name}: the map separates the digits (5-NN ${r.accuracy})`);
  }
  // The Barnes-Hut approximation changes the map only a little.
  assert.ok(Math.abs(bh.accuracy - exact.accuracy) <= 0.04, "5-NN accuracy within 0.04");
  assert.ok(Math.abs(bh.trust - exact.trust) <= 0.02, "trustworthiness within 0.02");
  // tsne-js (plain-distance affinities, short exaggeration, early stop) is measured a little
  // worse here; our method must not be worse than it.
  assert.ok(bh.accuracy >= js.accuracy - 0.02, "5-NN accuracy not below tsne-js's");
  assert.ok(bh.trust >= js.trust - 0.01, "trustworthiness not below tsne-js's");
});

Deno.test("tsne: 10,000 MNIST test images, 5-NN accuracy of the map >= 0.90", async () => {
  const n = 10000;
  const { x, labels } = await mnistTest(n);
  const t0 = performance.now();
  const y = await tsne(x, { dim: 784, seed: 0 });
  const seconds = (performance.now() - t0) / 1000;
  const accuracy = knnAccuracy2d(y, labels, 5);
  const timings = lastTsneTimings()!;
  console.log(
    `10,000 MNIST: ${seconds.toFixed(1)} s (kNN ${(timings.neighbours / 1000).toFixed(1)} s, ` +
      `affinities ${(timings.affinities / 1000).toFixed(1)} s, ` +
      `gradient ${(timings.gradient / 1000).toFixed(1)} s), 5-NN accuracy ${accuracy.toFixed(4)}`,
  );
  assert.ok(y.every(Number.isFinite));
  assert.ok(accuracy >= 0.9, `5-NN accuracy ${accuracy}`);
});
