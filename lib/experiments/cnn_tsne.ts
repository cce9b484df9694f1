/**
 * E2 `cnn-tsne` (write-up 000): the CNN autoencoder with a 256-d embedding and a bilinear resize
 * in its decoder (zoo `cnn-bilinear`), trained with MSE and Adam, early stopping with patience 5
 * that restores the best weights. Then: loss curves, 6 random test images next to their
 * reconstructions, and a t-SNE map of the test embeddings coloured by digit.
 *
 * The write-up judges the map by eye ("dense, non-overlapping clusters; 0 and 6 together at one
 * end, 1 at the other"). Here both claims are numbers: the map's leave-one-out 5-NN accuracy,
 * trustworthiness (k = 5, against the raw pixels) and silhouette by label, next to the same
 * numbers for PCA-2 of the raw pixels on the same images (SPEC anchors: 5-NN 42%, T 0.74) and,
 * to separate what the autoencoder adds from what t-SNE does by itself, a t-SNE map of the raw
 * pixels; and the geometry of the digit centroids in the map (and in the 256-d embedding, which
 * unlike a t-SNE map has a meaningful global layout).
 *
 * @module
 */
import type { ClaimRow, Experiment, HistoryRow } from "./types.ts";
import { disposeMnistSet, loadMnist, MNIST_PIXELS, readMnistRaw } from "../data/mod.ts";
import { describeBackend, setupBackend } from "../backend.ts";
import { buildCnnBilinearAutoencoder } from "../models/cnn_bilinear.ts";
import { trainAutoencoder } from "../train.ts";
import {
  knnAccuracyLoo,
  mse,
  msePerDigit,
  psnr,
  silhouetteScore,
  trustworthiness,
} from "../metrics.ts";
import { fitPca, pcaProject, pcaReconstructionMseCurve } from "../pca.ts";
import { tsne } from "../tsne.ts";
import { shuffledIndices } from "../random.ts";
import { barChart, type Figure, latentScatter, lossCurves } from "../plot.ts";
import { imageGrid } from "../images.ts";
import { predictFlat } from "./common.ts";

/** Configuration of E2 (flat plain data; see the profiles for typical values). */
export type CnnTsneConfig = {
  /** Images of the 60k train file used (the first N), split into train/validation. */
  trainLimit: number;
  /** Share of those held out for validation (early stopping watches it); in (0, 1). */
  validationFraction: number;
  /** Seed of the train/validation split and of the per-epoch shuffling. */
  splitSeed: number;
  /** Seed of the initial weights. */
  seed: number;
  /** Most training epochs (write-up: 30). */
  epochs: number;
  /** Mini-batch size (the write-up does not give one; 32 learns faster than 64 per second here). */
  batchSize: number;
  /** Adam learning rate. */
  learningRate: number;
  /** Early stopping: epochs without a better validation loss before stopping (write-up: 5). */
  patience: number;
  /** Test images (the first N of the 10k test file) whose reconstruction MSE/PSNR is measured. */
  testImages: number;
  /** Test images (the first N) embedded and mapped with t-SNE; at most `testImages`. */
  tsnePoints: number;
  /** t-SNE perplexity (needs tsnePoints >= 3 * perplexity + 1). */
  tsnePerplexity: number;
  /** t-SNE gradient iterations (early exaggeration included). */
  tsneIterations: number;
  /** Seed of the t-SNE start. */
  tsneSeed: number;
  /** Also map the raw pixels of the same images with t-SNE (the baseline that isolates the AE). */
  pixelTsne: boolean;
  /** Most points drawn per scatter plot (picked evenly; all points are measured). */
  scatterPoints: number;
  /** Test images shown next to their reconstructions (write-up: 6). */
  reconCount: number;
  /** Seed of the random pick of those images. */
  reconSeed: number;
  /** Neighbours of the leave-one-out k-NN accuracy (write-up comparison: 5). */
  knnK: number;
  /** Neighbourhood size of the trustworthiness (SPEC anchor: 5). */
  trustK: number;
  /** Images of the 60k train file (the first N) the PCA baselines are fitted on (SPEC: 60,000). */
  pcaFitImages: number;
};

/** PCA sizes whose test MSE is reported next to the autoencoder's (SPEC's table). */
export const PCA_DS: readonly number[] = [2, 16, 32, 64];

/** SPEC's PCA-2 anchors (fit on 60k train, 10k test): 5-NN test accuracy and trustworthiness(5). */
export const SPEC_PCA2 = { knn5: 0.42, trust5: 0.74 } as const;

/** How much better than PCA-2 the t-SNE map must be for "dense, non-overlapping clusters". */
export const CLUSTER_CRITERIA = {
  /** Lowest leave-one-out k-NN accuracy of the map ("mostly non-overlapping"). */
  minKnn: 0.9,
  /** Lowest gain in k-NN accuracy over PCA-2 (absolute). */
  minKnnGain: 0.3,
  /** Lowest gain in trustworthiness over PCA-2. */
  minTrustGain: 0.1,
} as const;

/** Quality numbers of one embedding of the test images. */
export interface EmbeddingQuality {
  /** What was embedded and how, e.g. "t-SNE of AE embedding". */
  embedding: string;
  /** Dimension of the embedding. */
  dim: number;
  /** Leave-one-out k-NN accuracy by digit. */
  knnLoo: number;
  /** Trustworthiness against the raw pixels. */
  trustPixels: number;
  /** Silhouette score with the digit labels as clusters. */
  silhouette: number;
}

/** Where the digit centroids of an embedding lie relative to each other. */
export interface CentroidGeometry {
  /** Mean point of each digit 0..9 (row-major 10 x dim). */
  centroids: number[][];
  /** Distance between the 0 and 6 centroids. */
  d06: number;
  /** Median of the 45 distances between digit centroids. */
  medianPairDistance: number;
  /** Rank of the 0-6 distance among the 45 (1 = the closest pair). */
  d06Rank: number;
  /** Digits other than 0 and 6 ordered by distance from the 0/6 midpoint, farthest first. */
  farthestFrom06: number[];
  /**
   * Digits ordered along the main axis of the centroids (their first principal direction); the
   * direction's sign is chosen so that the 0/6 midpoint projects to the positive side.
   */
  axisOrder: number[];
}

/**
 * Centroid geometry of points grouped by digit: how close 0 and 6 are and which digit is
 * farthest from them (write-up 000: "0 and 6 at one end, 1 at the other").
 *
 * @param points Row-major `n x dim`.
 * @param labels Digit of each point (every digit 0..9 must occur).
 * @param dim Row length.
 * @returns The geometry.
 * @throws RangeError when a digit is missing or the sizes do not fit.
 */
export function centroidGeometry(
  points: ArrayLike<number>,
  labels: ArrayLike<number>,
  dim: number,
): CentroidGeometry {
  const n = labels.length;
  if (!Number.isInteger(dim) || dim < 1 || points.length !== n * dim) {
    throw new RangeError(
      `centroidGeometry: expected ${n} labels x dim ${dim} = ${n * dim} values, got ` +
        `${points.length}`,
    );
  }
  const sums = Array.from({ length: 10 }, () => new Float64Array(dim));
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < n; i++) {
    const d = labels[i];
    if (!Number.isInteger(d) || d < 0 || d > 9) {
      throw new RangeError(`centroidGeometry: labels must be digits 0..9, labels[${i}] = ${d}`);
    }
    counts[d]++;
    for (let c = 0; c < dim; c++) sums[d][c] += points[i * dim + c];
  }
  const missing = counts.flatMap((c, d) => (c === 0 ? [d] : []));
  if (missing.length > 0) {
    throw new RangeError(`centroidGeometry: no points of digit(s) ${missing.join(", ")}`);
  }
  const centroids = sums.map((s, d) => Array.from(s, (v) => v / counts[d]));
  const dist = (a: number[], b: number[]) =>
    Math.sqrt(a.reduce((s, v, c) => s + (v - b[c]) ** 2, 0));
  const pairs: { a: number; b: number; d: number }[] = [];
  for (let a = 0; a < 10; a++) {
    for (let b = a + 1; b < 10; b++) pairs.push({ a, b, d: dist(centroids[a], centroids[b]) });
  }
  const sorted = pairs.map((p) => p.d).sort((x, y) => x - y);
  const medianPairDistance = sorted[22]; // the middle one of 45
  const d06 = dist(centroids[0], centroids[6]);
  const d06Rank = sorted.filter((d) => d < d06).length + 1;
  const mid = centroids[0].map((v, c) => (v + centroids[6][c]) / 2);
  const others = [1, 2, 3, 4, 5, 7, 8, 9];
  const farthestFrom06 = others.map((d) => ({ d, r: dist(centroids[d], mid) }))
    .sort((x, y) => y.r - x.r).map((o) => o.d);
  // Main axis of the 10 centroids by power iteration on their (dim x dim) scatter matrix.
  const mean = new Array<number>(dim).fill(0);
  for (const c of centroids) for (let k = 0; k < dim; k++) mean[k] += c[k] / 10;
  const centred = centroids.map((c) => c.map((v, k) => v - mean[k]));
  const norm2 = (v: number[]) => v.reduce((s, x) => s + x * x, 0);
  // Start from the centroid farthest from the mean: never orthogonal to the main axis.
  let axis = centred.reduce((best, c) => (norm2(c) > norm2(best) ? c : best)).slice();
  for (let it = 0; it < 200; it++) {
    const next = new Array<number>(dim).fill(0);
    for (const c of centred) {
      const dot = c.reduce((s, v, k) => s + v * axis[k], 0);
      for (let k = 0; k < dim; k++) next[k] += dot * c[k];
    }
    const norm = Math.sqrt(norm2(next));
    if (norm === 0) break;
    axis = next.map((v) => v / norm);
  }
  const project = (c: number[]) => c.reduce((s, v, k) => s + (v - mean[k]) * axis[k], 0);
  const sign = project(mid) < 0 ? -1 : 1;
  const axisOrder = centroids.map((c, d) => ({ d, p: sign * project(c) }))
    .sort((x, y) => x.p - y.p).map((o) => o.d);
  return { centroids, d06, medianPairDistance, d06Rank, farthestFrom06, axisOrder };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const f3 = (x: number) => x.toFixed(3);

/** A scatter of a 2-D map with the digit centroids written on it. */
function mapFigure(
  map: Float32Array,
  labels: Int32Array,
  geometry: CentroidGeometry,
  title: string,
  maxPoints: number,
  images?: Float32Array,
): Figure {
  const figure = latentScatter(map, labels, {
    title,
    xTitle: "t-SNE 1",
    yTitle: "t-SNE 2",
    maxPoints,
    images,
    maxHoverImages: Math.max(maxPoints, 1),
    markerSize: 3,
  });
  figure.data.push({
    type: "scatter",
    mode: "text",
    name: "centroids",
    x: geometry.centroids.map((c) => Number(c[0].toFixed(3))),
    y: geometry.centroids.map((c) => Number(c[1].toFixed(3))),
    text: geometry.centroids.map((_, d) => `<b>${d}</b>`),
    textfont: { size: 20, color: "black" },
    hoverinfo: "skip",
  });
  return figure;
}

/** Row-major subset: the first `n` rows of `dim` values. */
function firstRows(x: Float32Array, n: number, dim: number): Float32Array {
  return x.subarray(0, n * dim);
}

/** The E2 experiment (see the module doc). */
export const experiment: Experiment<CnnTsneConfig> = {
  id: "cnn-tsne",
  title: "E2: CNN autoencoder (256-d embedding, bilinear decoder) and the t-SNE map of its codes",
  description:
    "Write-up 000: CNN autoencoder 24-48-96 conv+pool, 256-d embedding, ConvTranspose + " +
    "bilinear decoder, MSE/Adam with early stopping; reconstructions of 6 random test images; " +
    "t-SNE of the test embeddings, its cluster quality measured against PCA-2 and t-SNE of pixels.",
  profiles: {
    smoke: {
      trainLimit: 600,
      validationFraction: 0.2,
      splitSeed: 0,
      seed: 0,
      epochs: 1,
      batchSize: 32,
      learningRate: 1e-3,
      patience: 5,
      testImages: 300,
      tsnePoints: 300,
      tsnePerplexity: 20,
      tsneIterations: 300,
      tsneSeed: 0,
      pixelTsne: true,
      scatterPoints: 300,
      reconCount: 6,
      reconSeed: 0,
      knnK: 5,
      trustK: 5,
      pcaFitImages: 2000,
    },
    quick: {
      trainLimit: 10000,
      validationFraction: 0.2,
      splitSeed: 0,
      seed: 0,
      epochs: 5,
      batchSize: 32,
      learningRate: 1e-3,
      patience: 5,
      testImages: 10000,
      tsnePoints: 3000,
      tsnePerplexity: 30,
      tsneIterations: 1000,
      tsneSeed: 0,
      pixelTsne: true,
      scatterPoints: 3000,
      reconCount: 6,
      reconSeed: 0,
      knnK: 5,
      trustK: 5,
      pcaFitImages: 60000,
    },
    full: {
      trainLimit: 60000,
      validationFraction: 0.2,
      splitSeed: 0,
      seed: 0,
      epochs: 30,
      batchSize: 32,
      learningRate: 1e-3,
      patience: 5,
      testImages: 10000,
      tsnePoints: 10000,
      tsnePerplexity: 30,
      tsneIterations: 1000,
      tsneSeed: 0,
      pixelTsne: true,
      scatterPoints: 5000,
      reconCount: 6,
      reconSeed: 0,
      knnK: 5,
      trustK: 5,
      pcaFitImages: 60000,
    },
  },

  validate(c) {
    const int = (key: keyof CnnTsneConfig, lo: number, hi: number) => {
      const v = c[key] as number;
      if (!Number.isInteger(v) || v < lo || v > hi) {
        throw new RangeError(`cnn-tsne: ${key} must be an integer in ${lo}..${hi}, got ${v}`);
      }
    };
    int("trainLimit", 20, 60000);
    int("epochs", 1, 1000);
    int("batchSize", 1, 60000);
    int("patience", 1, 1000);
    int("testImages", 20, 10000);
    int("tsneIterations", 1, 100000);
    int("scatterPoints", 1, 10000);
    int("reconCount", 1, 100);
    int("pcaFitImages", 100, 60000);
    for (const key of ["splitSeed", "seed", "tsneSeed", "reconSeed"] as const) {
      if (!Number.isInteger(c[key])) {
        throw new RangeError(`cnn-tsne: ${key} must be an integer, got ${c[key]}`);
      }
    }
    if (!(c.validationFraction > 0 && c.validationFraction < 1)) {
      throw new RangeError(
        `cnn-tsne: validationFraction must be in (0, 1) (early stopping needs validation ` +
          `data), got ${c.validationFraction}`,
      );
    }
    if (Math.floor(c.trainLimit * c.validationFraction) < 1) {
      throw new RangeError(
        `cnn-tsne: trainLimit ${c.trainLimit} x validationFraction ${c.validationFraction} ` +
          `leaves no validation image`,
      );
    }
    if (!(c.learningRate > 0 && c.learningRate < 1)) {
      throw new RangeError(`cnn-tsne: learningRate must be in (0, 1), got ${c.learningRate}`);
    }
    if (!(c.tsnePerplexity >= 2)) {
      throw new RangeError(`cnn-tsne: tsnePerplexity must be >= 2, got ${c.tsnePerplexity}`);
    }
    int("tsnePoints", Math.floor(3 * c.tsnePerplexity) + 1, c.testImages);
    if (c.reconCount > c.testImages) {
      throw new RangeError(
        `cnn-tsne: reconCount ${c.reconCount} is more than testImages ${c.testImages}`,
      );
    }
    int("knnK", 1, c.tsnePoints - 1);
    if (!Number.isInteger(c.trustK) || c.trustK < 1 || c.trustK >= c.tsnePoints / 2) {
      throw new RangeError(
        `cnn-tsne: trustK must be an integer in [1, tsnePoints/2) = [1, ${c.tsnePoints / 2}), ` +
          `got ${c.trustK}`,
      );
    }
  },

  async run(config, ctx) {
    await setupBackend(undefined, { quiet: true });
    ctx.log(describeBackend());
    const splits = await loadMnist({
      trainLimit: config.trainLimit,
      testLimit: config.testImages,
      validationFraction: config.validationFraction,
      seed: config.splitSeed,
    });
    const { train, validation, test } = splits;
    ctx.log(
      `cnn-tsne: ${train.size} train / ${validation.size} validation / ${test.size} test images`,
    );
    const ae = buildCnnBilinearAutoencoder({ seed: config.seed });
    try {
      // ---- training ------------------------------------------------------------------------
      const result = await trainAutoencoder(ae.autoencoder, train.images, train.images, {
        epochs: config.epochs,
        batchSize: config.batchSize,
        learningRate: config.learningRate,
        patience: config.patience,
        restoreBestWeights: true,
        seed: config.splitSeed,
        validation: { x: validation.images, y: validation.images },
        checkpointDir: await ctx.checkpointDir("cnn-bilinear"),
        resume: true,
        label: "cnn-bilinear",
        progress: ctx.profile === "smoke" ? "none" : "auto",
      });
      ctx.log(`cnn-tsne: ${result.message}`);
      const history: HistoryRow[] = result.history.map((h) => ({ ...h }));
      await ctx.saveHistory("cnn-bilinear", history);
      await ctx.saveFigure(
        "loss",
        lossCurves([{ name: "cnn-bilinear", history }], {
          title: `CNN autoencoder: MSE per epoch (${train.size} train / ${validation.size} ` +
            `validation images; star = best epoch, restored)`,
        }),
      );

      // ---- reconstructions -----------------------------------------------------------------
      const testPixels = (await test.flat.data()) as Float32Array;
      const recon = await predictFlat(ae.autoencoder, test.images);
      const testMse = mse(recon, testPixels);
      const testPsnr = psnr(recon, testPixels);
      const testMsePerDigit = msePerDigit(recon, testPixels, test.labels);
      const shown = Array.from(shuffledIndices(test.size, config.reconSeed))
        .slice(0, config.reconCount);
      const pick = (x: Float32Array) => {
        const out = new Float32Array(shown.length * MNIST_PIXELS);
        shown.forEach((i, k) =>
          out.set(x.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS), k * MNIST_PIXELS)
        );
        return out;
      };
      const shownRecon = pick(recon).map((v) => Math.min(1, Math.max(0, v)));
      const grid = imageGrid([
        { label: "original", images: pick(testPixels), captions: shown.map((i) => `#${i}`) },
        {
          label: "reconstruction",
          images: shownRecon,
          captions: shown.map((i) =>
            `mse ${
              mse(
                recon.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS),
                testPixels.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS),
              ).toFixed(4)
            }`
          ),
        },
      ], {
        scale: 3,
        title: `${shown.length} random test images (seed ${config.reconSeed}) and their ` +
          `reconstructions (outputs clipped to [0, 1] for display)`,
      });
      await ctx.saveImage("reconstructions", grid.png, grid.html);

      // ---- embeddings and maps -------------------------------------------------------------
      const n = config.tsnePoints;
      const labels = test.labels.slice(0, n);
      const pixels = firstRows(testPixels, n, MNIST_PIXELS);
      const embAll = await predictFlat(ae.encoder, test.images);
      const dim = ae.latentDim;
      const embedding = firstRows(embAll, n, dim);
      ctx.log(`cnn-tsne: t-SNE of ${n} embeddings (${dim}-d) ...`);
      let started = performance.now();
      const onProgress = (what: string) => (it: number, kl: number | null) => {
        if (it === config.tsneIterations || it % 250 === 0) {
          ctx.log(`  t-SNE ${what}: iteration ${it}, KL ${kl === null ? "-" : kl.toFixed(3)}`);
        }
      };
      const tsneOptions = {
        perplexity: config.tsnePerplexity,
        iterations: config.tsneIterations,
        seed: config.tsneSeed,
        method: "barnes-hut" as const,
      };
      const map = await tsne(embedding, {
        ...tsneOptions,
        dim,
        onProgress: onProgress("embedding"),
      });
      const tsneSeconds = (performance.now() - started) / 1000;
      let pixelMap: Float32Array | null = null;
      let pixelTsneSeconds: number | null = null;
      if (config.pixelTsne) {
        started = performance.now();
        pixelMap = await tsne(pixels, {
          ...tsneOptions,
          dim: MNIST_PIXELS,
          onProgress: onProgress("pixels"),
        });
        pixelTsneSeconds = (performance.now() - started) / 1000;
      }

      // PCA baselines, fitted on train images of the 60k file as SPEC's anchors are.
      const trainRaw = await readMnistRaw("train");
      const fitN = config.pcaFitImages;
      const fitX = new Float32Array(fitN * MNIST_PIXELS);
      for (let i = 0; i < fitX.length; i++) fitX[i] = trainRaw.pixels[i] / 255;
      const pca = fitPca(fitX, fitN, MNIST_PIXELS, Math.max(...PCA_DS));
      const pcaMse = pcaReconstructionMseCurve(pca, testPixels, [...PCA_DS]);
      const pca2 = pcaProject(pca, pixels, 2);

      // ---- measurements --------------------------------------------------------------------
      const quality = (name: string, points: Float32Array, d: number): EmbeddingQuality => ({
        embedding: name,
        dim: d,
        knnLoo: knnAccuracyLoo(points, labels, config.knnK),
        trustPixels: trustworthiness(pixels, points, n, config.trustK),
        silhouette: silhouetteScore(points, labels),
      });
      const rows: EmbeddingQuality[] = [
        quality("t-SNE of the AE embedding", map, 2),
        quality("PCA-2 of pixels", pca2, 2),
      ];
      if (pixelMap) rows.push(quality("t-SNE of pixels", pixelMap, 2));
      rows.push(quality("AE embedding itself", embedding, dim));
      const trustTsneVsEmbedding = trustworthiness(embedding, map, n, config.trustK);
      await ctx.saveJson("embedding-quality", rows);
      const [tsneQ, pcaQ] = rows;
      const pixelQ = pixelMap ? rows[2] : null;

      const mapGeometry = centroidGeometry(map, labels, 2);
      const embGeometry = centroidGeometry(embedding, labels, dim);
      const pcaGeometry = centroidGeometry(pca2, labels, 2);
      const geometryRow = (space: string, g: CentroidGeometry) => ({
        space,
        d06: g.d06,
        medianPairDistance: g.medianPairDistance,
        d06OverMedian: g.d06 / g.medianPairDistance,
        d06Rank: g.d06Rank,
        farthestFrom06: g.farthestFrom06.join(" "),
        axisOrder: g.axisOrder.join(" "),
      });
      await ctx.saveJson("centroids", [
        geometryRow("t-SNE map", mapGeometry),
        geometryRow("256-d embedding", embGeometry),
        geometryRow("PCA-2 of pixels", pcaGeometry),
      ]);

      // ---- figures -------------------------------------------------------------------------
      const shownPoints = Math.min(config.scatterPoints, n);
      const hover = shownPoints <= 5000 ? pixels : undefined;
      await ctx.saveFigure(
        "tsne",
        mapFigure(
          map,
          labels,
          mapGeometry,
          `t-SNE of the 256-d embeddings of ${n} test images (5-NN ${pct(tsneQ.knnLoo)}, ` +
            `T(${config.trustK}) ${f3(tsneQ.trustPixels)}); numbers = digit centroids`,
          shownPoints,
          hover,
        ),
      );
      const pcaFigure = mapFigure(
        pca2,
        labels,
        pcaGeometry,
        `Baseline: PCA-2 of the raw pixels of the same images (5-NN ${pct(pcaQ.knnLoo)}, ` +
          `T(${config.trustK}) ${f3(pcaQ.trustPixels)})`,
        shownPoints,
        hover,
      );
      (pcaFigure.layout as Record<string, Record<string, unknown>>).xaxis.title = { text: "PC 1" };
      (pcaFigure.layout as Record<string, Record<string, unknown>>).yaxis.title = { text: "PC 2" };
      await ctx.saveFigure("pca2", pcaFigure);
      if (pixelMap && pixelQ) {
        await ctx.saveFigure(
          "tsne-pixels",
          mapFigure(
            pixelMap,
            labels,
            centroidGeometry(pixelMap, labels, 2),
            `Baseline: t-SNE of the raw pixels of the same images (5-NN ${pct(pixelQ.knnLoo)}, ` +
              `T(${config.trustK}) ${f3(pixelQ.trustPixels)})`,
            shownPoints,
            hover,
          ),
        );
      }
      await ctx.saveFigure(
        "embedding-quality",
        barChart(
          ["5-NN accuracy (LOO)", `trustworthiness (k=${config.trustK})`, "silhouette"],
          rows.map((r) => ({ name: r.embedding, values: [r.knnLoo, r.trustPixels, r.silhouette] })),
          {
            title: `How well each embedding of ${n} test images keeps the digits apart`,
            yTitle: "score (higher is better)",
            showValues: true,
          },
        ),
      );

      // ---- claims --------------------------------------------------------------------------
      const crit = CLUSTER_CRITERIA;
      const clustersPass = tsneQ.knnLoo >= crit.minKnn &&
        tsneQ.knnLoo - pcaQ.knnLoo >= crit.minKnnGain &&
        tsneQ.trustPixels - pcaQ.trustPixels >= crit.minTrustGain &&
        tsneQ.silhouette > pcaQ.silhouette;
      const geometryPass = mapGeometry.d06 < mapGeometry.medianPairDistance &&
        mapGeometry.farthestFrom06[0] === 1;
      const pca32 = pcaMse[PCA_DS.indexOf(32)];
      const pca64 = pcaMse[PCA_DS.indexOf(64)];
      const describeGeometry = (g: CentroidGeometry) =>
        `0-6 distance ${f3(g.d06 / g.medianPairDistance)} x median (rank ${g.d06Rank} of 45), ` +
        `farthest from 0/6: ${g.farthestFrom06.slice(0, 3).join(", ")}; order along the main ` +
        `axis: ${g.axisOrder.join(" ")}`;
      const claims: ClaimRow[] = [
        {
          claim: "The digits form dense, mostly non-overlapping clusters in the t-SNE map of " +
            "the 256-d embeddings (write-up 000)",
          expected: `map far better than PCA-2 of pixels (SPEC: 5-NN ${pct(SPEC_PCA2.knn5)}, ` +
            `T(5) ${SPEC_PCA2.trust5}): ${config.knnK}-NN LOO >= ${pct(crit.minKnn)} and >= ` +
            `PCA-2 + ${crit.minKnnGain * 100} points, T(${config.trustK}) >= PCA-2 + ` +
            `${crit.minTrustGain}, higher silhouette`,
          ours: `${n} test images. t-SNE of AE: ${config.knnK}-NN ${pct(tsneQ.knnLoo)}, ` +
            `T ${f3(tsneQ.trustPixels)}, silhouette ${f3(tsneQ.silhouette)}; PCA-2: ` +
            `${pct(pcaQ.knnLoo)}, T ${f3(pcaQ.trustPixels)}, silhouette ${f3(pcaQ.silhouette)}` +
            (pixelQ
              ? `; t-SNE of pixels: ${pct(pixelQ.knnLoo)}, T ${f3(pixelQ.trustPixels)}, ` +
                `silhouette ${f3(pixelQ.silhouette)}`
              : ""),
          verdict: clustersPass ? "pass" : "differs",
        },
        {
          claim: "In the map, 0 and 6 sit together at one end and 1 at the other (write-up 000)",
          expected: "0-6 centroid distance below the median of the 45 digit-pair distances, " +
            "and digit 1 the farthest centroid from the 0/6 midpoint",
          ours: `t-SNE map: ${describeGeometry(mapGeometry)}. 256-d embedding: ` +
            `${describeGeometry(embGeometry)}`,
          verdict: geometryPass ? "pass" : "differs",
        },
        {
          claim: "The autoencoder restores test images well (6 random test images vs their " +
            "reconstructions, write-up 000)",
          expected: `test MSE below PCA with 32 components (SPEC: PCA-32 0.0168, PCA-64 0.0091)`,
          ours: `AE test MSE ${testMse.toFixed(4)} (PSNR ${testPsnr.toFixed(2)} dB) on ` +
            `${test.size} test images; PCA-32 ${pca32.toFixed(4)}, PCA-64 ${pca64.toFixed(4)} ` +
            `(fit on ${fitN} train images)`,
          verdict: testMse < pca32 ? "pass" : "differs",
        },
      ];

      return {
        metrics: {
          trainImages: train.size,
          validationImages: validation.size,
          testImages: test.size,
          epochsRun: result.history.length,
          bestEpoch: result.bestEpoch,
          bestValLoss: result.bestValLoss,
          stopReason: result.stopReason,
          testMse,
          testPsnr,
          testMsePerDigit,
          pcaTestMse: Object.fromEntries(PCA_DS.map((d, i) => [`d${d}`, pcaMse[i]])),
          tsnePoints: n,
          tsneSeconds,
          pixelTsneSeconds,
          tsneKnn: tsneQ.knnLoo,
          tsneTrust: tsneQ.trustPixels,
          tsneTrustVsEmbedding: trustTsneVsEmbedding,
          tsneSilhouette: tsneQ.silhouette,
          pca2Knn: pcaQ.knnLoo,
          pca2Trust: pcaQ.trustPixels,
          pca2Silhouette: pcaQ.silhouette,
          pixelTsneKnn: pixelQ?.knnLoo ?? null,
          pixelTsneTrust: pixelQ?.trustPixels ?? null,
          pixelTsneSilhouette: pixelQ?.silhouette ?? null,
          embeddingKnn: rows[rows.length - 1].knnLoo,
          map06OverMedian: mapGeometry.d06 / mapGeometry.medianPairDistance,
          mapFarthestFrom06: mapGeometry.farthestFrom06[0],
          embedding06OverMedian: embGeometry.d06 / embGeometry.medianPairDistance,
          embeddingFarthestFrom06: embGeometry.farthestFrom06[0],
        },
        claims,
      };
    } finally {
      ae.autoencoder.dispose();
      for (const s of [train, validation, test]) disposeMnistSet(s);
    }
  },
};
