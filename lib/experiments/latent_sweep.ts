/**
 * E3 `latent-sweep` (write-up 001): the write-up's conv autoencoder with a d-dimensional
 * bottleneck, trained for each d in `dims` (write-up: d = 1..10, 50 epochs, batch 128, Adam, MSE),
 * keeping the epoch with the lowest validation loss (the write-up's loop kept a reference to the
 * live model and never updated `min_loss`, so its "best" model was the last epoch; here the best
 * epoch's weights are restored).
 *
 * Evidence: a grid of the first test image of each digit and its reconstruction at every d; the
 * validation MSE against d beside PCA with the same d fitted on the same training images (the
 * linear baseline an autoencoder must beat); per-digit test MSE for every d; and, for the claim
 * "at d = 1 only 0 and 1 stay recognisable", a k-NN classifier whose references are clean
 * training images labels the reconstructions of test images: a digit counts as recognisable
 * when its reconstructions are labelled as that digit. (Per-digit MSE is shown too, but it
 * cannot judge recognisability: a 1 has few ink pixels, so its error is small however it looks.)
 *
 * The module also exports the training and prediction helpers that E4 (`zero-one`) and E5
 * (`single-digit`) share with it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ClaimRow, Experiment, HistoryRow, RunContext } from "./types.ts";
import { disposeMnistSet, loadMnist, type MnistSet, type Normalization } from "../data/mod.ts";
import { setupBackend } from "../backend.ts";
import { type Autoencoder, buildConvBottleneckAutoencoder } from "../models/mod.ts";
import { trainAutoencoder, type TrainResult } from "../train.ts";
import { fitPca, pcaReconstructionMseCurve } from "../pca.ts";
import { knnClassify, mse, msePerDigit } from "../metrics.ts";
import { heatmap, lossCurves, metricVsD } from "../plot.ts";
import { imageGrid } from "../images.ts";
import { firstOfEachDigit, predictFlat } from "./common.ts";

/** Configuration of E3 (flat plain data; see the profiles for typical values). */
export type LatentSweepConfig = {
  /** Bottleneck sizes to train, each an integer >= 1, in increasing order (write-up: 1..10). */
  dims: number[];
  /** Images taken from the 60k train file before the 8:2 split (write-up: all 60,000). */
  trainLimit: number;
  /** Share of those held out for validation (model selection and the MSE-vs-d curve). */
  validationFraction: number;
  /** Test images (file order) for the per-digit MSE, the grid and the recognisability check. */
  testLimit: number;
  /** Epochs per model (write-up: 50); the best epoch by validation loss is kept. */
  epochs: number;
  /** Mini-batch size (write-up: 128). */
  batchSize: number;
  /** Adam learning rate (the tutorial the write-up follows: 0.001). */
  learningRate: number;
  /** Seed of the initial weights (every d gets the same seed). */
  seed: number;
  /** Seed of the train/validation split and of the per-epoch shuffling. */
  splitSeed: number;
  /**
   * Pixel scaling: "unit" ([0, 1], default) or "centered" (x - 0.5, the write-up's
   * `Normalize((0.5,), (1.0,))`, which a sigmoid decoder cannot match: val loss ~0.2).
   */
  normalization: string;
  /** Clean training images used as the k-NN references that judge the reconstructions. */
  knnReferences: number;
  /** Neighbours of that k-NN classifier. */
  knnK: number;
};

/** Relative slack allowed when checking that validation MSE does not rise with d (noise). */
export const MONOTONE_TOLERANCE = 0.02;

/** Options of {@link trainBottleneck}. */
export interface TrainBottleneckOptions {
  /** Bottleneck size. */
  latentDim: number;
  /** Training images `[N, 28, 28, 1]`. */
  train: tf.Tensor4D;
  /** Validation images (model selection); the best epoch's weights are restored. */
  validation: tf.Tensor4D;
  /** Epochs. */
  epochs: number;
  /** Mini-batch size. */
  batchSize: number;
  /** Adam learning rate. */
  learningRate: number;
  /** Seed of the initial weights. */
  seed: number;
  /** Seed of the per-epoch shuffling. */
  shuffleSeed: number;
  /** Shown in the progress display. */
  label: string;
  /** Live progress (off in the smoke profile, where tests run quietly). */
  progress: "auto" | "none";
  /** Checkpoint directory; an interrupted run continues from it. */
  checkpointDir?: string;
}

/**
 * Builds the write-up-001 conv autoencoder with a `latentDim` bottleneck and trains it with MSE
 * and Adam, restoring the weights of the epoch with the lowest validation loss.
 *
 * @returns The trained model (dispose `autoencoder` when done) and the trainer's result.
 */
export async function trainBottleneck(
  options: TrainBottleneckOptions,
): Promise<{ model: Autoencoder; result: TrainResult }> {
  const model = buildConvBottleneckAutoencoder({
    latentDim: options.latentDim,
    seed: options.seed,
  });
  try {
    const result = await trainAutoencoder(model.autoencoder, options.train, options.train, {
      epochs: options.epochs,
      batchSize: options.batchSize,
      learningRate: options.learningRate,
      optimizer: "adam",
      loss: "mse",
      seed: options.shuffleSeed,
      validation: { x: options.validation, y: options.validation },
      restoreBestWeights: true,
      label: options.label,
      progress: options.progress,
      checkpointDir: options.checkpointDir,
      resume: options.checkpointDir !== undefined,
    });
    return { model, result };
  } catch (e) {
    model.autoencoder.dispose();
    throw e;
  }
}

/** Rows `indices` of a row-major `n x dim` array, concatenated. */
export function pickRows(values: Float32Array, dim: number, indices: number[]): Float32Array {
  const out = new Float32Array(indices.length * dim);
  indices.forEach((row, k) => out.set(values.subarray(row * dim, (row + 1) * dim), k * dim));
  return out;
}

/** How recognisable each digit is to a classifier: recall, precision and their F1 per digit. */
export interface RecognitionScores {
  /** Share of each digit's items labelled as that digit (NaN without items). */
  recall: number[];
  /** Share of the items labelled as a digit that are that digit (NaN when none is). */
  precision: number[];
  /**
   * Harmonic mean of recall and precision (0 when both are 0 or one is NaN): high only when the
   * digit's items are labelled as it AND other digits' items are not, so a classifier that
   * labels every blurred reconstruction "9" does not make 9 recognisable.
   */
  f1: number[];
}

/**
 * Per-digit recall, precision and F1 of predicted labels.
 *
 * @param truth True digits 0..9.
 * @param predicted Predicted digits 0..9 (same length).
 */
export function recognitionScores(
  truth: ArrayLike<number>,
  predicted: ArrayLike<number>,
): RecognitionScores {
  if (truth.length !== predicted.length) {
    throw new RangeError(
      `recognitionScores: ${truth.length} labels but ${predicted.length} predictions`,
    );
  }
  const hit = new Array<number>(10).fill(0);
  const total = new Array<number>(10).fill(0);
  const labelled = new Array<number>(10).fill(0);
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i];
    const p = predicted[i];
    if (!Number.isInteger(t) || t < 0 || t > 9 || !Number.isInteger(p) || p < 0 || p > 9) {
      throw new RangeError(
        `recognitionScores: labels must be digits 0..9, got truth ${t} / predicted ${p} at ${i}`,
      );
    }
    total[t]++;
    labelled[p]++;
    if (p === t) hit[t]++;
  }
  const recall = hit.map((h, d) => (total[d] > 0 ? h / total[d] : NaN));
  const precision = hit.map((h, d) => (labelled[d] > 0 ? h / labelled[d] : NaN));
  const f1 = recall.map((r, d) => {
    const p = precision[d];
    return Number.isNaN(r) || Number.isNaN(p) || r + p === 0 ? 0 : (2 * r * p) / (r + p);
  });
  return { recall, precision, f1 };
}

/**
 * Whether a sequence does not rise by more than `tolerance` (relative) from one value to the
 * next: `values[i + 1] <= values[i] * (1 + tolerance)` for every i.
 */
export function nonIncreasing(values: number[], tolerance = 0): boolean {
  for (let i = 1; i < values.length; i++) {
    if (!(values[i] <= values[i - 1] * (1 + tolerance))) return false;
  }
  return true;
}

/** Digits sorted by decreasing value (ties by smaller digit); NaN values go last. */
export function digitsByDecreasing(values: number[]): number[] {
  const key = (v: number) => (Number.isNaN(v) ? -Infinity : v);
  return values.map((_, d) => d).sort((a, b) => key(values[b]) - key(values[a]) || a - b);
}

const NORMALIZATIONS = ["unit", "centered"] as const;

/** Per-d results kept for the evidence and claims. */
interface DimOutcome {
  d: number;
  history: HistoryRow[];
  bestEpoch: number;
  valMse: number;
  testMse: number;
  testMsePerDigit: number[];
  recognised: RecognitionScores;
  gridRecon: Float32Array;
}

const fmt = (x: number, digits = 4) => x.toFixed(digits);
const pct = (x: number) => (Number.isNaN(x) ? "n/a" : `${(x * 100).toFixed(1)}%`);

/**
 * Throws a clear error unless `v` is an integer in `lo..hi` (a config check of E3, E4 and E5).
 *
 * @param id Experiment id, for the message.
 * @param key Config key, for the message.
 */
export function checkInt(id: string, key: string, v: unknown, lo: number, hi: number): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) {
    throw new RangeError(`${id}: ${key} must be an integer in ${lo}..${hi}, got ${v}`);
  }
}

/**
 * Checks the settings shared by E3, E4 and E5 (ranges of epochs, batch size, learning rate,
 * seeds, validation share).
 */
export function validateTraining(
  id: string,
  config: {
    epochs: number;
    batchSize: number;
    learningRate: number;
    seed: number;
    splitSeed: number;
    validationFraction: number;
  },
): void {
  checkInt(id, "epochs", config.epochs, 1, 1000);
  checkInt(id, "batchSize", config.batchSize, 1, 60000);
  if (
    !(typeof config.learningRate === "number" && config.learningRate > 0 &&
      config.learningRate < 1)
  ) {
    throw new RangeError(`${id}: learningRate must be in (0, 1), got ${config.learningRate}`);
  }
  for (const key of ["seed", "splitSeed"] as const) {
    if (!Number.isInteger(config[key])) {
      throw new RangeError(`${id}: ${key} must be an integer, got ${config[key]}`);
    }
  }
  if (!(config.validationFraction > 0 && config.validationFraction < 1)) {
    throw new RangeError(
      `${id}: validationFraction must be in (0, 1) (the best epoch is chosen on validation ` +
        `data), got ${config.validationFraction}`,
    );
  }
}

/** The E3 experiment (see the module doc). */
export const experiment: Experiment<LatentSweepConfig> = {
  id: "latent-sweep",
  title: "E3: latent-dimension sweep of the conv autoencoder, against PCA",
  description: "Write-up 001: the conv autoencoder with a d-dimensional bottleneck for each d, " +
    "best epoch by validation loss; reconstructions per d, validation MSE vs d beside PCA with " +
    "the same d, per-digit MSE, and which digits stay recognisable at d = 1.",
  profiles: {
    smoke: {
      dims: [1, 2],
      trainLimit: 320,
      validationFraction: 0.2,
      testLimit: 200,
      epochs: 1,
      batchSize: 64,
      learningRate: 0.001,
      seed: 0,
      splitSeed: 0,
      normalization: "unit",
      knnReferences: 256,
      knnK: 5,
    },
    quick: {
      dims: [1, 2, 3, 5, 10],
      trainLimit: 8000,
      validationFraction: 0.2,
      testLimit: 2000,
      epochs: 5,
      batchSize: 64,
      learningRate: 0.002,
      seed: 0,
      splitSeed: 0,
      normalization: "unit",
      knnReferences: 6400,
      knnK: 5,
    },
    full: {
      dims: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
      trainLimit: 60000,
      validationFraction: 0.2,
      testLimit: 10000,
      epochs: 50,
      batchSize: 128,
      learningRate: 0.001,
      seed: 0,
      splitSeed: 0,
      normalization: "unit",
      knnReferences: 20000,
      knnK: 5,
    },
  },

  validate(config) {
    const id = "latent-sweep";
    if (!Array.isArray(config.dims) || config.dims.length === 0) {
      throw new RangeError(`${id}: dims must be a non-empty list of bottleneck sizes, e.g. 1,2,5`);
    }
    config.dims.forEach((d, i) => {
      checkInt(id, `dims[${i}]`, d, 1, 784);
      if (i > 0 && !(d > config.dims[i - 1])) {
        throw new RangeError(
          `${id}: dims must be strictly increasing (the claims compare neighbours), got ` +
            `[${config.dims.join(", ")}]`,
        );
      }
    });
    checkInt(id, "trainLimit", config.trainLimit, 20, 60000);
    checkInt(id, "testLimit", config.testLimit, 10, 10000);
    checkInt(id, "knnK", config.knnK, 1, 100);
    validateTraining(id, config);
    const trainCount = config.trainLimit -
      Math.floor(config.trainLimit * config.validationFraction);
    checkInt(id, "knnReferences", config.knnReferences, config.knnK, 60000);
    if (config.knnReferences > trainCount) {
      throw new RangeError(
        `${id}: knnReferences (${config.knnReferences}) cannot exceed the ${trainCount} ` +
          `training images; lower it or raise trainLimit`,
      );
    }
    if (Math.max(...config.dims) >= trainCount) {
      throw new RangeError(
        `${id}: the PCA baseline needs more training images (${trainCount}) than the largest d`,
      );
    }
    if (!(NORMALIZATIONS as readonly string[]).includes(config.normalization)) {
      throw new RangeError(
        `${id}: normalization must be one of ${NORMALIZATIONS.join(", ")}, got ` +
          JSON.stringify(config.normalization),
      );
    }
  },

  async run(config, ctx) {
    await setupBackend(undefined, { quiet: true });
    const normalization = config.normalization as Normalization;
    const data = await loadMnist({
      trainLimit: config.trainLimit,
      validationFraction: config.validationFraction,
      testLimit: config.testLimit,
      seed: config.splitSeed,
      normalization,
    });
    try {
      return await sweep(config, ctx, data.train, data.validation, data.test);
    } finally {
      for (const s of [data.train, data.validation, data.test]) disposeMnistSet(s);
    }
  },
};

async function sweep(
  config: LatentSweepConfig,
  ctx: RunContext,
  train: MnistSet,
  validation: MnistSet,
  test: MnistSet,
): Promise<{ metrics: Record<string, unknown>; claims: ClaimRow[] }> {
  ctx.log(
    `latent-sweep: ${train.size} train / ${validation.size} validation / ${test.size} test ` +
      `images, d in [${config.dims.join(", ")}]`,
  );
  const shift = config.normalization === "centered" ? 0.5 : 0;
  const trainPixels = (await train.flat.data()) as Float32Array;
  const validPixels = (await validation.flat.data()) as Float32Array;
  const testPixels = (await test.flat.data()) as Float32Array;

  // k-NN references: clean training images in [0, 1] (the judge of "recognisable").
  const references = trainPixels.slice(0, config.knnReferences * 784).map((v) => v + shift);
  const referenceLabels = train.labels.subarray(0, config.knnReferences);
  const originalsRecognised = recognitionScores(
    test.labels,
    knnClassify(
      references,
      referenceLabels,
      testPixels.map((v) => v + shift),
      test.size,
      config.knnK,
    ),
  );

  // PCA baseline with the same d on the same training images.
  const maxD = Math.max(...config.dims);
  const pca = fitPca(trainPixels, train.size, 784, maxD);
  const pcaVal = pcaReconstructionMseCurve(pca, validPixels, config.dims);
  const pcaTest = pcaReconstructionMseCurve(pca, testPixels, config.dims);
  const meanOnly = pcaReconstructionMseCurve(pca, validPixels, [0])[0];

  const shown = firstOfEachDigit(test.labels);
  const shownLabels = shown.map((i) => test.labels[i]);
  const shownOriginals = pickRows(testPixels, 784, shown).map((v) => v + shift);

  const outcomes: DimOutcome[] = [];
  for (const d of config.dims) {
    const { model, result } = await trainBottleneck({
      latentDim: d,
      train: train.images,
      validation: validation.images,
      epochs: config.epochs,
      batchSize: config.batchSize,
      learningRate: config.learningRate,
      seed: config.seed,
      shuffleSeed: config.splitSeed,
      label: `latent-sweep d=${d}`,
      progress: ctx.profile === "smoke" ? "none" : "auto",
      checkpointDir: await ctx.checkpointDir(`d${d}`),
    });
    try {
      ctx.log(`latent-sweep d=${d}: ${result.message}`);
      const history: HistoryRow[] = result.history.map((h) => ({ ...h }));
      await ctx.saveHistory(`d${d}`, history);
      const recon = await predictFlat(model.autoencoder, test.images);
      // Reconstructions live in the sigmoid's [0, 1]; judge them against [0, 1] references.
      const predicted = knnClassify(references, referenceLabels, recon, test.size, config.knnK);
      outcomes.push({
        d,
        history,
        bestEpoch: result.bestEpoch,
        valMse: result.bestValLoss ?? NaN,
        testMse: mse(recon, testPixels),
        testMsePerDigit: msePerDigit(recon, testPixels, test.labels),
        recognised: recognitionScores(test.labels, predicted),
        gridRecon: pickRows(recon, 784, shown),
      });
    } finally {
      model.autoencoder.dispose();
    }
  }

  // ---- evidence ---------------------------------------------------------------------------
  const grid = imageGrid([
    { label: "original", images: shownOriginals, captions: shownLabels },
    ...outcomes.map((o) => ({ label: `d = ${o.d}`, images: o.gridRecon })),
  ], {
    title: "First test image of each digit and its reconstruction for each bottleneck size d",
  });
  await ctx.saveImage("reconstructions", grid.png, grid.html);

  await ctx.saveFigure(
    "mse-vs-d",
    metricVsD(
      [{ name: "conv autoencoder", points: outcomes.map((o) => ({ d: o.d, value: o.valMse })) }],
      {
        baseline: {
          name: "PCA, same d, same training images",
          points: config.dims.map((d, i) => ({ d, value: pcaVal[i] })),
        },
        title: `Validation MSE vs bottleneck size (best of ${config.epochs} epochs; ` +
          `mean image alone: ${fmt(meanOnly)})`,
        yTitle: "validation MSE per pixel",
      },
    ),
  );

  const digits = Array.from({ length: 10 }, (_, d) => d);
  await ctx.saveFigure(
    "mse-per-digit",
    heatmap(outcomes.map((o) => o.testMsePerDigit), digits, outcomes.map((o) => `d=${o.d}`), {
      title: "Test MSE per digit for each bottleneck size",
      xTitle: "test digit",
      yTitle: "bottleneck",
      colorbarTitle: "MSE",
      height: 120 + 45 * outcomes.length,
    }),
  );
  await ctx.saveFigure(
    "recognised-per-digit",
    heatmap(
      [originalsRecognised.f1, ...outcomes.map((o) => o.recognised.f1)],
      digits,
      ["originals", ...outcomes.map((o) => `d=${o.d}`)],
      {
        title: `How recognisable each digit's test reconstructions are: F1 of a ` +
          `${config.knnK}-NN on clean training images`,
        xTitle: "test digit",
        yTitle: "images",
        colorbarTitle: "F1",
        valueFormat: ".2f",
        zmin: 0,
        zmax: 1,
        height: 160 + 45 * outcomes.length,
      },
    ),
  );
  await ctx.saveFigure(
    "loss-curves",
    lossCurves(outcomes.map((o) => ({ name: `d=${o.d}`, history: o.history })), {
      title: "Train (solid) and validation (dashed) MSE per epoch; star = kept epoch",
      logY: true,
    }),
  );
  await ctx.saveJson(
    "summary",
    outcomes.map((o, i) => ({
      d: o.d,
      bestEpoch: o.bestEpoch,
      valMse: o.valMse,
      pcaValMse: pcaVal[i],
      aeOverPca: o.valMse / pcaVal[i],
      testMse: o.testMse,
      pcaTestMse: pcaTest[i],
      recognisedF1Mean: meanOf(o.recognised.f1),
    })),
  );

  const perDigitRows = (values: (o: DimOutcome) => number[]) =>
    outcomes.map((o) => ({
      d: o.d,
      ...Object.fromEntries(values(o).map((v, digit) => [String(digit), v])),
    }));
  await ctx.saveJson("per-digit-mse", perDigitRows((o) => o.testMsePerDigit));
  await ctx.saveJson("per-digit-recognition", {
    originals: originalsRecognised,
    byD: outcomes.map((o) => ({ d: o.d, ...o.recognised })),
  });

  // ---- claims -----------------------------------------------------------------------------
  const val = outcomes.map((o) => o.valMse);
  const ratios = outcomes.map((o, i) => o.valMse / pcaVal[i]);
  const monotone = nonIncreasing(val, MONOTONE_TOLERANCE);
  const listed = outcomes.map((o, i) => `d=${o.d}: ${fmt(val[i])}`).join(", ");
  const claims: ClaimRow[] = [
    {
      claim: "Reconstruction quality rises with the bottleneck size d",
      expected: `validation MSE does not rise from one d to the next (slack ` +
        `${pct(MONOTONE_TOLERANCE)} for noise) and is lower at the largest d than at the smallest`,
      ours: listed,
      verdict: outcomes.length < 2
        ? "n/a"
        : monotone && val[val.length - 1] < val[0]
        ? "pass"
        : "differs",
    },
    {
      claim: "The autoencoder beats PCA with the same d (beyond the write-up: the linear " +
        "baseline; an autoencoder worse than PCA is broken)",
      expected: "AE / PCA validation MSE < 1 at every d",
      ours: outcomes.map((o, i) => `d=${o.d}: ${fmt(ratios[i], 2)}`).join(", ") +
        ` (PCA ${config.dims.map((d, i) => `d=${d}: ${fmt(pcaVal[i])}`).join(", ")})`,
      verdict: ratios.every((r) => r < 1) ? "pass" : "differs",
    },
  ];
  const d1 = outcomes.find((o) => o.d === 1);
  if (d1) {
    const { f1, recall, precision } = d1.recognised;
    const best = digitsByDecreasing(f1).find((d) => d > 1) as number;
    const others = f1.filter((_, d) => d > 1);
    const score = (d: number) =>
      `${d} F1 ${fmt(f1[d], 2)} (recall ${pct(recall[d])}, precision ${pct(precision[d])})`;
    claims.push({
      claim: "At d = 1 only 0 and 1 stay recognisable",
      expected: `0 and 1 each have a higher recognition F1 than every other digit (judge: ` +
        `${config.knnK}-NN on clean training images labels the d = 1 test reconstructions)`,
      ours: `${score(0)}; ${score(1)}; best other: ${score(best)}; mean F1 of the other ` +
        `eight ${fmt(meanOf(others), 2)} (originals: mean F1 ${
          fmt(meanOf(originalsRecognised.f1), 2)
        })`,
      verdict: Math.min(f1[0], f1[1]) > Math.max(...others) ? "pass" : "differs",
    });
  } else {
    claims.push({
      claim: "At d = 1 only 0 and 1 stay recognisable",
      expected: "0 and 1 the most recognisable digits at d = 1",
      ours: "d = 1 not in this run's dims",
      verdict: "n/a",
    });
  }

  return {
    metrics: {
      trainImages: train.size,
      validationImages: validation.size,
      testImages: test.size,
      dims: config.dims,
      valMse: val,
      pcaValMse: pcaVal,
      aeOverPca: ratios,
      testMse: outcomes.map((o) => o.testMse),
      pcaTestMse: pcaTest,
      meanImageValMse: meanOnly,
      bestEpoch: outcomes.map((o) => o.bestEpoch),
      recognitionF1Mean: outcomes.map((o) => meanOf(o.recognised.f1)),
      originalsRecognitionF1Mean: meanOf(originalsRecognised.f1),
      trainSeconds: outcomes.map((o) => o.history.reduce((s, h) => s + h.seconds, 0)),
    },
    claims,
  };
}

function meanOf(values: number[]): number {
  const finite = values.filter((v) => !Number.isNaN(v));
  return finite.reduce((a, b) => a + b, 0) / finite.length;
}
