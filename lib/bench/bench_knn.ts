/**
 * Times the analysis metrics' distance work on real MNIST pixels (values in [0, 1], 784
 * dimensions): `knnClassify` (queries against references), `knnAccuracyLoo`,
 * `trustworthiness` + `silhouetteScore`, and t-SNE's `exactNeighbours`. Prints the result (so
 * two versions can be compared for equal answers), the seconds and the multiply-adds per second.
 *
 * ```sh
 * deno run -A lib/bench/bench_knn.ts cross 20000 1000   # references, queries
 * deno run -A lib/bench/bench_knn.ts loo 5000
 * deno run -A lib/bench/bench_knn.ts trust 3000
 * deno run -A lib/bench/bench_knn.ts neighbours 10000
 * ```
 *
 * @module
 */
import { readMnistRaw, unitPixels } from "../data/mnist.ts";
import { knnAccuracyLoo, knnClassify, silhouetteScore, trustworthiness } from "../metrics.ts";
import { exactNeighbours } from "../knn.ts";

const MODES = ["cross", "loo", "trust", "neighbours"] as const;
const [mode, countArg, queriesArg] = Deno.args;
if (!MODES.includes(mode as typeof MODES[number])) {
  console.error(`bench_knn: mode must be one of ${MODES.join(", ")}, got ${mode}`);
  Deno.exit(2);
}
const n = Number(countArg ?? 5000);
const nQueries = Number(queriesArg ?? 1000);
if (!(Number.isInteger(n) && n > 1 && n <= 60000 && Number.isInteger(nQueries) && nQueries > 0)) {
  console.error(`bench_knn: counts must be integers, 2..60000 points and >= 1 queries`);
  Deno.exit(2);
}
const train = await readMnistRaw("train");
const test = await readMnistRaw("test");
const points = unitPixels(train.pixels.subarray(0, n * 784));
const labels = train.labels.subarray(0, n);

const hash = (values: ArrayLike<number>) => {
  let h = 0;
  for (let i = 0; i < values.length; i++) h = (h * 31 + values[i]) >>> 0;
  return h;
};
const start = performance.now();
let answer: string;
let multiplyAdds = (n * n * 784) / 2;
if (mode === "cross") {
  const queries = unitPixels(test.pixels.subarray(0, nQueries * 784));
  const predicted = knnClassify(points, labels, queries, nQueries, 5);
  let correct = 0;
  for (let i = 0; i < nQueries; i++) if (predicted[i] === test.labels[i]) correct++;
  answer = `5-NN accuracy ${correct / nQueries}, predictions hash ${hash(predicted)}`;
  multiplyAdds = n * nQueries * 784;
} else if (mode === "loo") {
  answer = `5-NN leave-one-out accuracy ${knnAccuracyLoo(points, labels, 5)}`;
} else if (mode === "trust") {
  // Two pixels as a (poor) 2-D embedding: trustworthiness does the 784-d pair pass.
  const low = Float32Array.from(
    { length: n * 2 },
    (_, e) => points[Math.floor(e / 2) * 784 + 300 + e % 2],
  );
  answer = `T(5) ${trustworthiness(points, low, n, 5)}, silhouette ${
    silhouetteScore(points, labels)
  }`;
  multiplyAdds *= 2;
} else {
  answer = `90 neighbours, indices hash ${hash(exactNeighbours(points, n, 784, 90).indices)}`;
}
const seconds = (performance.now() - start) / 1000;
console.log(
  `${mode} n=${n}${mode === "cross" ? ` queries=${nQueries}` : ""}: ${answer}; ` +
    `${seconds.toFixed(2)} s, ${(multiplyAdds / seconds / 1e9).toFixed(1)} G multiply-adds/s`,
);
