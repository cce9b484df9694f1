/**
 * E7 `mlp-blocks` (write-up 002): an MLP autoencoder built from blocks
 * `Linear + ReLU + (BatchNorm1d | Dropout(p))`, hidden sizes stepping linearly from 784 down to a
 * 2-unit bottleneck, trained with MSE and Adam on an 8:2 train/validation split, keeping the
 * epoch with the lowest validation loss (as the write-up's trainer does).
 *
 * The configuration mirrors the write-up's argparse options, renamed to camelCase:
 *
 * | write-up (`train.py`) | here           | note                                                  |
 * |-----------------------|----------------|-------------------------------------------------------|
 * | `--model_fn`          | `modelFn`      | checkpoint name inside the run directory              |
 * | `--gpu_id`            | (none)         | the backend: env `AE_BACKEND` / `setupBackend`        |
 * | `--n_epochs` (10)     | `nEpochs`      | their run: 20                                         |
 * | `--batch_size` (256)  | `batchSize`    |                                                       |
 * | `--train_ratio` (0.8) | `trainRatio`   | share of the train images used for training           |
 * | `--n_layers` (5)      | `nLayers`      | Linear layers per side; their run: 10                 |
 * | `--btl_size`          | `btlSize`      | argparse default 10, their run and the model: 2       |
 * | `--use_dropout`       | `useDropout`   | Dropout instead of BatchNorm in every block           |
 * | `--dropout_p` (0.3)   | `dropoutP`     |                                                       |
 * | `--verbose` (1)       | `verbose`      | 0: silent, >= 1: live progress and one line per epoch |
 *
 * Extra keys (not in the write-up): `trainLimit`/`testLimit` (how much of MNIST the profile
 * uses), `seed` (weights, dropout masks, split and shuffling), `compareRegularisers` (also train
 * the other regulariser with the same seed, so BatchNorm vs Dropout is measured), `knnK`.
 *
 * The write-up's `AutoEncoder` loops were not symmetric (the encoder iterates
 * `hidden_sizes[1:]`, skipping the first size; the decoder iterates `hidden_sizes[1::-1]`, i.e.
 * only two sizes); the model here is an exact mirror (`buildMlpBlocksAutoencoder`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ClaimRow, Experiment, RunContext } from "./types.ts";
import { disposeMnistSet, loadMnist, type MnistSplits } from "../data/mod.ts";
import { setupBackend } from "../backend.ts";
import {
  type Autoencoder,
  buildMlpBlocksAutoencoder,
  countTrainableParams,
  isDenseLayer,
  mlpHiddenSizes,
} from "../models/mod.ts";
import { type EpochRecord, trainAutoencoder } from "../train.ts";
import { knnAccuracy, mse } from "../metrics.ts";
import { fitPca, pcaProject, pcaReconstructionMse } from "../pca.ts";
import { latentScatter, lossCurves } from "../plot.ts";
import { imageGrid, type ImageRow, latentGridFromImages, latentPlaneCodes } from "../images.ts";
import { firstOfEachDigit, predictFlat } from "./common.ts";

/** Configuration of E7: the write-up's argparse options (camelCase) plus a few extras. */
export type MlpBlocksConfig = {
  /** `--model_fn`: name of the checkpoint directory inside the run (letters, digits, . _ -). */
  modelFn: string;
  /** `--n_epochs` (write-up default 10, its run 20). */
  nEpochs: number;
  /** `--batch_size` (256). */
  batchSize: number;
  /** `--train_ratio` (0.8): share of the train images used for training, the rest validates. */
  trainRatio: number;
  /** `--n_layers` (5; its run 10): Linear layers per side. */
  nLayers: number;
  /** `--btl_size` (its run 2): bottleneck size; the scatter and the generation grid need 2. */
  btlSize: number;
  /** `--use_dropout`: Dropout instead of BatchNorm in the blocks of the main model. */
  useDropout: boolean;
  /** `--dropout_p` (0.3). */
  dropoutP: number;
  /** `--verbose` (1): 0 silent, >= 1 live progress and a line per epoch. */
  verbose: number;
  /** Extra: images taken from the 60k train file before the split (write-up: all 60,000). */
  trainLimit: number;
  /** Extra: test images (file order) for the scatter, k-NN and reconstructions. */
  testLimit: number;
  /** Extra: seed of the weights, dropout masks, split and per-epoch shuffling. */
  seed: number;
  /** Extra: also train the other regulariser (same seed and data) to compare BN and Dropout. */
  compareRegularisers: boolean;
  /** Extra: neighbours of the k-NN accuracy of the 2-D codes. */
  knnK: number;
};

/** What one trained model left behind. */
export interface MlpOutcome {
  /** "batchnorm" or "dropout". */
  regulariser: "batchnorm" | "dropout";
  /** Zoo-style name, e.g. `mlp-bn-5`. */
  name: string;
  /** Linear layer widths from input to output, e.g. [784, 628, ..., 2, ..., 628, 784]. */
  layerSizes: number[];
  /** Whether the decoder's widths are the encoder's reversed (measured on the built model). */
  symmetric: boolean;
  /** Trainable parameters. */
  params: number;
  /** Training history. */
  history: EpochRecord[];
  /** Epoch whose weights were kept. */
  bestEpoch: number;
  /** Validation MSE of that epoch. */
  valMse: number;
  /** Test MSE of the kept weights. */
  testMse: number;
  /** k-NN accuracy of the test codes with the train codes as references. */
  knnAccuracy: number;
  /** Test codes, `n x btlSize`. */
  testCodes: Float32Array;
  /** Reconstructions of the fixed test digits (clipped to [0, 1]). */
  recon: Float32Array;
  /** Decoded latent plane (2-D codes only). */
  grid: { images: Float32Array; xRange: [number, number]; yRange: [number, number] } | null;
  /** Training seconds. */
  seconds: number;
}

const GRID_STEPS = 15;

/** Output widths of the Dense layers of a model, in order. */
function denseUnits(model: tf.LayersModel): number[] {
  return model.layers.filter(isDenseLayer).map((l) => (l.outputShape as number[])[1]);
}

/**
 * What the write-up's loops would build from the same hidden sizes: the encoder iterates
 * `hidden_sizes[1:]`, the decoder `hidden_sizes[1::-1]` (the first two sizes, reversed).
 *
 * @param hidden Hidden sizes (784 side first).
 * @param btl Bottleneck size.
 * @returns Layer widths from input to output.
 */
export function writeupLayerSizes(hidden: number[], btl: number): number[] {
  const encoder = hidden.slice(1);
  const decoder = hidden.slice(0, 2).reverse();
  return [784, ...encoder, btl, ...decoder, 784];
}

function clip01(values: Float32Array): Float32Array {
  return values.map((v) => (v < 0 ? 0 : v > 1 ? 1 : v));
}

/** The `q`-quantile (0..1) of column `col` of row-major `n x dim` values. */
function columnQuantile(values: Float32Array, dim: number, col: number, q: number): number {
  const column = Float64Array.from({ length: values.length / dim }, (_, i) => values[i * dim + col])
    .sort();
  const pos = q * (column.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, column.length - 1);
  return column[lo] + (column[hi] - column[lo]) * (pos - lo);
}

function fmt(v: number, digits = 4): string {
  return Number.isFinite(v) ? v.toFixed(digits) : String(v);
}

function pct(v: number): string {
  return `${(v * 100).toFixed(1)}%`;
}

async function trainOne(
  regulariser: "batchnorm" | "dropout",
  config: MlpBlocksConfig,
  data: MnistSplits,
  fixed: tf.Tensor,
  checkpointName: string,
  ctx: RunContext,
): Promise<MlpOutcome> {
  const model: Autoencoder = buildMlpBlocksAutoencoder({
    nLayers: config.nLayers,
    btlSize: config.btlSize,
    useDropout: regulariser === "dropout",
    dropoutP: config.dropoutP,
    seed: config.seed,
  });
  try {
    const started = performance.now();
    const result = await trainAutoencoder(model.autoencoder, data.train.flat, data.train.flat, {
      epochs: config.nEpochs,
      batchSize: config.batchSize,
      optimizer: "adam",
      learningRate: 1e-3,
      loss: "mse",
      seed: config.seed,
      validation: { x: data.validation.flat, y: data.validation.flat },
      restoreBestWeights: true,
      checkpointDir: await ctx.checkpointDir(checkpointName),
      resume: true,
      label: `${model.name}`,
      progress: config.verbose >= 1 && ctx.profile !== "smoke" ? "auto" : "none",
    });
    const seconds = (performance.now() - started) / 1000;
    ctx.log(`mlp-blocks ${model.name}: ${result.message} (${seconds.toFixed(1)} s)`);

    const testFlat = (await data.test.flat.data()) as Float32Array;
    const testRecon = await predictFlat(model.autoencoder, data.test.flat);
    const trainCodes = await predictFlat(model.encoder, data.train.flat);
    const testCodes = await predictFlat(model.encoder, data.test.flat);
    const enc = denseUnits(model.encoder);
    const dec = denseUnits(model.decoder);
    const encoderWidths = [784, ...enc];
    const symmetric = dec.length === enc.length &&
      [...encoderWidths].reverse().slice(1).every((w, i) => w === dec[i]);

    let grid: MlpOutcome["grid"] = null;
    if (config.btlSize === 2) {
      // Span the codes' range (1st to 99th percentile, so a few outliers do not shrink the digits).
      const xRange: [number, number] = [
        columnQuantile(testCodes, 2, 0, 0.01),
        columnQuantile(testCodes, 2, 0, 0.99),
      ];
      const yRange: [number, number] = [
        columnQuantile(testCodes, 2, 1, 0.01),
        columnQuantile(testCodes, 2, 1, 0.99),
      ];
      const codes = latentPlaneCodes({ xRange, yRange, steps: GRID_STEPS });
      const z = tf.tensor2d(codes, [codes.length / 2, 2]);
      const images = clip01(await predictFlat(model.decoder, z));
      z.dispose();
      grid = { images, xRange, yRange };
    }
    return {
      regulariser,
      name: model.name,
      layerSizes: [...encoderWidths, ...dec],
      symmetric,
      params: countTrainableParams(model.autoencoder),
      history: result.history,
      bestEpoch: result.bestEpoch,
      valMse: result.bestValLoss!,
      testMse: mse(testRecon, testFlat),
      knnAccuracy: knnAccuracy(
        trainCodes,
        data.train.labels,
        testCodes,
        data.test.labels,
        config.knnK,
      ),
      testCodes,
      recon: clip01(await predictFlat(model.autoencoder, fixed)),
      grid,
      seconds,
    };
  } finally {
    model.autoencoder.dispose();
  }
}

/** PCA with `btlSize` components on the same train split: test MSE, k-NN accuracy, codes. */
async function pcaBaseline(data: MnistSplits, config: MlpBlocksConfig) {
  const trainFlat = (await data.train.flat.data()) as Float32Array;
  const testFlat = (await data.test.flat.data()) as Float32Array;
  const model = fitPca(trainFlat, data.train.size, 784, config.btlSize);
  const trainCodes = pcaProject(model, trainFlat, config.btlSize);
  const testCodes = pcaProject(model, testFlat, config.btlSize);
  return {
    testMse: pcaReconstructionMse(model, testFlat, config.btlSize),
    knnAccuracy: knnAccuracy(
      trainCodes,
      data.train.labels,
      testCodes,
      data.test.labels,
      config.knnK,
    ),
    testCodes,
  };
}

/**
 * The write-up's claims (and what its code implies) next to our numbers; verdicts come from
 * the numbers.
 */
export function mlpClaims(
  config: MlpBlocksConfig,
  outcomes: MlpOutcome[],
  pca: { testMse: number; knnAccuracy: number },
  split: { train: number; validation: number; total: number },
): ClaimRow[] {
  const main = outcomes[0];
  const rows: ClaimRow[] = [];
  const hidden = main.layerSizes.slice(1, config.nLayers);
  rows.push({
    claim: "Encoder and decoder are symmetric (the write-up's loops were not)",
    expected: "decoder widths = encoder widths reversed; write-up's code with the same sizes: " +
      writeupLayerSizes(hidden, config.btlSize).join("-"),
    ours: outcomes.map((o) => `${o.name}: ${o.layerSizes.join("-")}`).join("; "),
    verdict: outcomes.every((o) => o.symmetric) ? "pass" : "differs",
  });
  const full = split.total === 60000;
  rows.push({
    claim: `Train/valid split ${config.trainRatio}:${(1 - config.trainRatio).toFixed(1)}`,
    expected: "|train| = 48,000, |valid| = 12,000 (of 60,000)",
    ours: `${split.train.toLocaleString("en-US")} / ${split.validation.toLocaleString("en-US")}` +
      ` (of ${split.total.toLocaleString("en-US")}${full ? "" : ", a subset in this profile"})`,
    verdict: full
      ? (split.train === 48000 && split.validation === 12000 ? "pass" : "differs")
      : "n/a",
  });
  rows.push({
    claim: `The autoencoder compresses 784 pixels into ${config.btlSize} numbers and decodes them`,
    expected: `test MSE below PCA with ${config.btlSize} components on the same images ` +
      `(SPEC anchor PCA-2 on all data: 0.0557)`,
    ours: outcomes.map((o) => `${o.name} test ${fmt(o.testMse)} (valid ${fmt(o.valMse)})`)
      .join("; ") + `; PCA-${config.btlSize} ${fmt(pca.testMse)}`,
    verdict: main.testMse < pca.testMse ? "pass" : "differs",
  });
  rows.push({
    claim: "The bottleneck keeps the important features (digit identity)",
    expected: `${config.knnK}-NN accuracy of the test codes above PCA-${config.btlSize}'s ` +
      "(SPEC anchor PCA-2 5-NN: 42%)",
    ours: outcomes.map((o) => `${o.name} ${pct(o.knnAccuracy)}`).join("; ") +
      `; PCA-${config.btlSize} ${pct(pca.knnAccuracy)}`,
    verdict: main.knnAccuracy > pca.knnAccuracy ? "pass" : "differs",
  });
  const bn = outcomes.find((o) => o.regulariser === "batchnorm");
  const dropout = outcomes.find((o) => o.regulariser === "dropout");
  rows.push({
    claim: "BatchNorm is the block's regulariser (Block default; the run did not pass " +
      "--use_dropout)",
    expected: "no comparison in the write-up; BatchNorm reaches the lower validation MSE",
    ours: bn && dropout
      ? `valid MSE BN ${fmt(bn.valMse)} vs Dropout(${config.dropoutP}) ${fmt(dropout.valMse)}; ` +
        `5-NN ${pct(bn.knnAccuracy)} vs ${pct(dropout.knnAccuracy)}`
      : "only one regulariser trained (compareRegularisers false)",
    verdict: bn && dropout ? (bn.valMse < dropout.valMse ? "pass" : "differs") : "n/a",
  });
  return rows;
}

/** E7: the write-up-002 MLP autoencoder with its argparse options as the configuration. */
export const experiment: Experiment<MlpBlocksConfig> = {
  id: "mlp-blocks",
  title: "E7 · MLP autoencoder with BatchNorm or Dropout blocks",
  description:
    "Write-up 002: Linear+ReLU+(BatchNorm|Dropout) blocks, symmetric 784 -> 2 -> 784, the " +
    "write-up's argparse options as configuration; training log, 2-D codes, reconstructions, " +
    "decoded latent plane, BatchNorm vs Dropout.",
  profiles: {
    smoke: {
      modelFn: "model.pth",
      nEpochs: 2,
      batchSize: 128,
      trainRatio: 0.8,
      nLayers: 5,
      btlSize: 2,
      useDropout: false,
      dropoutP: 0.3,
      verbose: 1,
      trainLimit: 500,
      testLimit: 200,
      seed: 0,
      compareRegularisers: true,
      knnK: 5,
    },
    quick: {
      modelFn: "model.pth",
      nEpochs: 10,
      batchSize: 256,
      trainRatio: 0.8,
      nLayers: 5,
      btlSize: 2,
      useDropout: false,
      dropoutP: 0.3,
      verbose: 1,
      trainLimit: 10000,
      testLimit: 2000,
      seed: 0,
      compareRegularisers: true,
      knnK: 5,
    },
    full: {
      modelFn: "model.pth",
      nEpochs: 20,
      batchSize: 256,
      trainRatio: 0.8,
      nLayers: 10,
      btlSize: 2,
      useDropout: false,
      dropoutP: 0.3,
      verbose: 1,
      trainLimit: 60000,
      testLimit: 10000,
      seed: 0,
      compareRegularisers: true,
      knnK: 5,
    },
  },

  validate(config) {
    const int = (key: keyof MlpBlocksConfig, lo: number, hi: number) => {
      const v = config[key] as number;
      if (!Number.isInteger(v) || v < lo || v > hi) {
        throw new RangeError(`mlp-blocks: ${key} must be an integer in ${lo}..${hi}, got ${v}`);
      }
    };
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(config.modelFn)) {
      throw new RangeError(
        `mlp-blocks: modelFn must be a file name (letters, digits, '.', '_', '-'), got ` +
          JSON.stringify(config.modelFn),
      );
    }
    int("nEpochs", 1, 1000);
    int("batchSize", 1, 60000);
    int("nLayers", 1, 50);
    int("btlSize", 1, 783);
    int("verbose", 0, 2);
    int("trainLimit", 20, 60000);
    int("testLimit", 20, 10000);
    int("knnK", 1, 100);
    if (!Number.isInteger(config.seed)) {
      throw new RangeError(`mlp-blocks: seed must be an integer, got ${config.seed}`);
    }
    if (!(config.trainRatio > 0 && config.trainRatio < 1)) {
      throw new RangeError(`mlp-blocks: trainRatio must be in (0, 1), got ${config.trainRatio}`);
    }
    if (!(config.dropoutP >= 0 && config.dropoutP < 1)) {
      throw new RangeError(`mlp-blocks: dropoutP must be in [0, 1), got ${config.dropoutP}`);
    }
    try {
      mlpHiddenSizes(config.nLayers, config.btlSize);
    } catch (e) {
      throw new RangeError(`mlp-blocks: ${(e as Error).message}`);
    }
    const validation = Math.floor(config.trainLimit * Number((1 - config.trainRatio).toFixed(12)));
    const train = config.trainLimit - validation;
    if (validation < 1 || train <= config.knnK) {
      throw new RangeError(
        `mlp-blocks: trainLimit ${config.trainLimit} with trainRatio ${config.trainRatio} leaves ` +
          `${train} train / ${validation} valid images; need > knnK train and >= 1 valid`,
      );
    }
  },

  async run(config, ctx) {
    await setupBackend(undefined, { quiet: true });
    const data = await loadMnist({
      trainLimit: config.trainLimit,
      testLimit: config.testLimit,
      // 1 - 0.8 is 0.19999999999999996 in floating point; round so 500 images split 400/100.
      validationFraction: Number((1 - config.trainRatio).toFixed(12)),
      seed: config.seed,
    });
    const fixedIndices = firstOfEachDigit(data.test.labels, 2);
    const fixed = tf.gather(data.test.flat, fixedIndices);
    try {
      ctx.log(
        `mlp-blocks: ${data.train.size} train / ${data.validation.size} valid / ` +
          `${data.test.size} test images`,
      );
      const mainKind = config.useDropout ? "dropout" : "batchnorm";
      const kinds: ("batchnorm" | "dropout")[] = config.compareRegularisers
        ? [mainKind, mainKind === "dropout" ? "batchnorm" : "dropout"]
        : [mainKind];
      const outcomes: MlpOutcome[] = [];
      for (const kind of kinds) {
        const checkpointName = kind === mainKind ? config.modelFn : `${config.modelFn}.${kind}`;
        const outcome = await trainOne(kind, config, data, fixed, checkpointName, ctx);
        outcomes.push(outcome);
        await ctx.saveHistory(outcome.name, outcome.history);
      }
      const pca = await pcaBaseline(data, config);
      await saveEvidence(ctx, config, outcomes, pca, {
        fixed: (await fixed.data()) as Float32Array,
        fixedLabels: fixedIndices.map((i) => data.test.labels[i]),
        testLabels: data.test.labels,
        testImages: (await data.test.flat.data()) as Float32Array,
      });
      const split = {
        train: data.train.size,
        validation: data.validation.size,
        total: data.train.size + data.validation.size,
      };
      const claims = mlpClaims(config, outcomes, pca, split);
      const metrics: Record<string, unknown> = {
        trainImages: split.train,
        validImages: split.validation,
        testImages: data.test.size,
        pcaTestMse: pca.testMse,
        pcaKnnAccuracy: pca.knnAccuracy,
      };
      for (const o of outcomes) {
        metrics[`${o.regulariser}_valMse`] = o.valMse;
        metrics[`${o.regulariser}_testMse`] = o.testMse;
        metrics[`${o.regulariser}_knnAccuracy`] = o.knnAccuracy;
        metrics[`${o.regulariser}_bestEpoch`] = o.bestEpoch;
        metrics[`${o.regulariser}_trainSeconds`] = o.seconds;
      }
      return { metrics, claims };
    } finally {
      fixed.dispose();
      disposeMnistSet(data.train);
      disposeMnistSet(data.validation);
      disposeMnistSet(data.test);
    }
  },
};

async function saveEvidence(
  ctx: RunContext,
  config: MlpBlocksConfig,
  outcomes: MlpOutcome[],
  pca: { testMse: number; knnAccuracy: number; testCodes: Float32Array },
  reference: {
    fixed: Float32Array;
    fixedLabels: number[];
    testLabels: Int32Array;
    testImages: Float32Array;
  },
): Promise<void> {
  await ctx.saveFigure(
    "loss-curves",
    lossCurves(outcomes.map((o) => ({ name: o.name, history: o.history })), {
      title: "Training (solid) and validation (dashed) MSE per epoch",
    }),
  );
  const scatterPoints = Math.min(reference.testLabels.length, 5000);
  if (config.btlSize === 2) {
    for (const o of outcomes) {
      await ctx.saveFigure(
        `codes-${o.regulariser}`,
        latentScatter(o.testCodes, reference.testLabels, {
          title: `${o.name}: 2-D codes of ${reference.testLabels.length} test images ` +
            `(${config.knnK}-NN accuracy ${pct(o.knnAccuracy)})`,
          maxPoints: scatterPoints,
          images: reference.testImages,
          maxHoverImages: scatterPoints,
        }),
      );
    }
    await ctx.saveFigure(
      "codes-pca",
      latentScatter(pca.testCodes, reference.testLabels, {
        title: `PCA-2 of the same test images, fitted on the train split ` +
          `(${config.knnK}-NN accuracy ${pct(pca.knnAccuracy)})`,
        maxPoints: scatterPoints,
        xTitle: "PC1",
        yTitle: "PC2",
      }),
    );
  }
  const rows: ImageRow[] = [{
    label: "original",
    images: reference.fixed,
    captions: reference.fixedLabels.map(String),
  }, ...outcomes.map((o) => ({ label: o.name, images: o.recon }))];
  const grid = imageGrid(rows, {
    scale: 2,
    title: "Test digits (two of each) and their reconstructions (output clipped to [0, 1])",
  });
  await ctx.saveImage("reconstructions", grid.png, grid.html);
  for (const o of outcomes) {
    if (!o.grid) continue;
    const plane = latentGridFromImages(o.grid.images, {
      xRange: o.grid.xRange,
      yRange: o.grid.yRange,
      steps: GRID_STEPS,
      title: `${o.name}: decoder over the 2-D code plane (1st-99th percentile of the test codes)`,
    });
    await ctx.saveImage(`latent-grid-${o.regulariser}`, plane.png, plane.html);
  }
  await ctx.saveJson("summary", [
    ...outcomes.map((o) => ({
      model: o.name,
      layers: o.layerSizes.join("-"),
      params: o.params,
      bestEpoch: o.bestEpoch,
      validMse: Number(o.valMse.toFixed(5)),
      testMse: Number(o.testMse.toFixed(5)),
      [`knn${config.knnK}`]: Number(o.knnAccuracy.toFixed(4)),
      trainSeconds: Number(o.seconds.toFixed(1)),
    })),
    {
      model: `PCA-${config.btlSize}`,
      layers: `784-${config.btlSize}-784 (linear)`,
      params: null,
      bestEpoch: null,
      validMse: null,
      testMse: Number(pca.testMse.toFixed(5)),
      [`knn${config.knnK}`]: Number(pca.knnAccuracy.toFixed(4)),
      trainSeconds: null,
    },
  ]);
}
