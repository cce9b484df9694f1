/**
 * E9 `dense-denoising` (write-up 004): the Keras dense autoencoder 784 -> 784 (ReLU) -> 64 (ReLU)
 * -> 784 (sigmoid) with batch 128, early stopping and per-epoch checkpoints, and denoising
 * autoencoders: the input is the image plus Gaussian noise (sigma 0.5) clipped to [0, 1], the
 * target is the clean image. The same dense model is trained as a denoiser, and (when
 * `convTrainLimit > 0`) the write-up's convolutional UpSampling model too, on fewer images
 * because it is about 40 times slower per image.
 *
 * What we measure: MSE and PSNR against the clean test images of the noisy input, of each
 * denoiser's output and of the plain autoencoder fed the noisy input; and the plain
 * autoencoder's reconstruction MSE on clean test images next to PCA with the same code size
 * (d = 64; SPEC: 0.0091), the linear baseline it has to beat.
 *
 * Training follows the write-up's code (github.com/dolgogae/baseline_code_AE): binary
 * cross-entropy, batch 128, early stopping with patience 10. Differences, on purpose: its code
 * early-stops on the test set (`validation_data=(X_test, X_test)`); we hold out a validation
 * split of the train file and keep the test set for the final numbers, and restore the best
 * epoch's weights. It uses Adadelta (Keras default rate 0.001, which barely moves in a few
 * epochs); we use Adam. It computes `X_noise` but then fits `X_train -> X_train`, so its model is
 * never trained as a denoiser; here the denoisers really get noisy inputs. Its noisy copy is not
 * clipped; SPEC asks for clipping to [0, 1] (the range of the sigmoid output and of real images).
 * The noise is drawn once per image from a seed (as the write-up's one `X_noise` array),
 * separately for train, validation and test.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ClaimRow, Experiment, HistoryRow } from "./types.ts";
import { disposeMnistSet, loadMnist, MNIST_PIXELS, readMnistRaw } from "../data/mod.ts";
import { describeBackend, setupBackend } from "../backend.ts";
import { buildDense64Autoencoder } from "../models/dense64.ts";
import { buildConvUpsamplingAutoencoder } from "../models/conv_upsampling.ts";
import type { Autoencoder } from "../models/autoencoder.ts";
import { type LossName, trainAutoencoder, type TrainResult } from "../train.ts";
import { mse, msePerDigit, psnr } from "../metrics.ts";
import { fitPca, pcaProject, pcaReconstruct } from "../pca.ts";
import { mulberry32 } from "../random.ts";
import { barChart, lossCurves } from "../plot.ts";
import { imageGrid, type ImageRow } from "../images.ts";
import { predictFlat } from "./common.ts";

/** Configuration of E9 (flat plain data; see the profiles for typical values). */
export type DenseDenoisingConfig = {
  /** Images of the 60k train file used (the first N), split into train/validation. */
  trainLimit: number;
  /** Share of those held out for validation (early stopping watches it); in (0, 1). */
  validationFraction: number;
  /** Seed of the train/validation split and of the per-epoch shuffling. */
  splitSeed: number;
  /** Seed of the initial weights (every model gets the same seed). */
  seed: number;
  /** Most epochs of the two dense models (write-up: up to 300 with early stopping). */
  epochs: number;
  /** Mini-batch size (write-up: 128). */
  batchSize: number;
  /** Adam learning rate (Keras default 0.001). */
  learningRate: number;
  /** Early stopping: epochs without a better validation loss before stopping (write-up: 10). */
  patience: number;
  /**
   * Training loss of every model: "bce" (binary cross-entropy, the write-up's code) or "mse".
   * Reported errors are MSE/PSNR either way.
   */
  loss: string;
  /** Standard deviation of the Gaussian noise added to the inputs (write-up: 0.5). */
  noiseStd: number;
  /** Seed of the noise (train uses it, validation seed + 1, test seed + 2). */
  noiseSeed: number;
  /** Test images (the first N of the 10k file) for the plain reconstruction MSE vs PCA-64. */
  testImages: number;
  /** Test images (the first N) on which noisy / denoised MSE and PSNR are measured. */
  denoiseTestImages: number;
  /** Train images of the convolutional denoiser (the first N of the train split); 0 = skip it. */
  convTrainLimit: number;
  /** Most epochs of the convolutional denoiser. */
  convEpochs: number;
  /** Mini-batch size of the convolutional denoiser (smaller = more steps for the same cost). */
  convBatchSize: number;
  /** Images of the 60k train file (the first N) PCA-64 is fitted on (SPEC: 60,000). */
  pcaFitImages: number;
};

/** Training losses the experiment accepts (see {@link DenseDenoisingConfig.loss}). */
export const LOSSES: readonly LossName[] = ["bce", "mse"];

/** Code size of the dense model, and the PCA baseline's number of components. */
export const CODE_SIZE = 64;

/** SPEC's PCA-64 test MSE (fit on the 60k train images, 10k test images). */
export const SPEC_PCA64_MSE = 0.0091;

/** Smallest PSNR gain (dB) over the noisy input that counts as "denoising works" (MSE halved). */
export const MIN_PSNR_GAIN_DB = 3;

/**
 * Adds Gaussian noise and clips to [0, 1]: `clip(x + std * N(0, 1), 0, 1)`, with normal numbers
 * from a seeded Box-Muller transform, so the same seed gives the same noisy images everywhere.
 *
 * @param clean Pixel values (any length), normally in [0, 1].
 * @param std Noise standard deviation, >= 0.
 * @param seed Integer seed.
 * @returns A new array of the noisy, clipped values.
 * @throws RangeError for a negative or non-finite `std` or a non-integer seed.
 */
export function addClippedGaussianNoise(
  clean: Float32Array,
  std: number,
  seed: number,
): Float32Array {
  if (!(std >= 0) || !Number.isFinite(std)) {
    throw new RangeError(`addClippedGaussianNoise: std must be a finite number >= 0, got ${std}`);
  }
  const random = mulberry32(seed);
  const out = new Float32Array(clean.length);
  for (let i = 0; i < clean.length; i += 2) {
    // Box-Muller: two independent N(0, 1) numbers from two uniforms (1 - u avoids log(0)).
    const r = Math.sqrt(-2 * Math.log(1 - random()));
    const angle = 2 * Math.PI * random();
    out[i] = Math.min(1, Math.max(0, clean[i] + std * r * Math.cos(angle)));
    if (i + 1 < clean.length) {
      out[i + 1] = Math.min(1, Math.max(0, clean[i + 1] + std * r * Math.sin(angle)));
    }
  }
  return out;
}

/** A model's input shape for `n` images: `[n, 784]` or `[n, 28, 28, 1]`. */
function shapeFor(ae: Autoencoder, n: number): number[] {
  return ae.inputKind === "flat" ? [n, MNIST_PIXELS] : [n, 28, 28, 1];
}

/** Runs a model on flat pixel rows (reshaped to its input kind). */
async function apply(ae: Autoencoder, rows: Float32Array): Promise<Float32Array> {
  const n = rows.length / MNIST_PIXELS;
  const x = tf.tensor(rows, shapeFor(ae, n));
  try {
    return await predictFlat(ae.autoencoder, x);
  } finally {
    x.dispose();
  }
}

/** One trained model with what the experiment needs from it. */
interface Trained {
  name: string;
  ae: Autoencoder;
  result: TrainResult;
  history: HistoryRow[];
}

/** Trains `ae` on `(input -> target)` rows with the run's trainer settings. */
async function trainModel(
  ctx: Parameters<Experiment<DenseDenoisingConfig>["run"]>[1],
  name: string,
  ae: Autoencoder,
  data: { x: Float32Array; y: Float32Array; vx: Float32Array; vy: Float32Array },
  settings: { epochs: number; batchSize: number; config: DenseDenoisingConfig },
): Promise<Trained> {
  const { config } = settings;
  const n = data.x.length / MNIST_PIXELS;
  const nv = data.vx.length / MNIST_PIXELS;
  const tensors = [
    tf.tensor(data.x, shapeFor(ae, n)),
    tf.tensor(data.y, shapeFor(ae, n)),
    tf.tensor(data.vx, shapeFor(ae, nv)),
    tf.tensor(data.vy, shapeFor(ae, nv)),
  ];
  try {
    const [x, y, vx, vy] = tensors;
    const result = await trainAutoencoder(ae.autoencoder, x, y, {
      epochs: settings.epochs,
      batchSize: settings.batchSize,
      learningRate: config.learningRate,
      loss: config.loss as LossName,
      patience: config.patience,
      restoreBestWeights: true,
      seed: config.splitSeed,
      validation: { x: vx, y: vy },
      checkpointDir: await ctx.checkpointDir(name),
      resume: true,
      label: name,
      progress: ctx.profile === "smoke" ? "none" : "auto",
    });
    ctx.log(`dense-denoising ${name}: ${result.message}`);
    const history: HistoryRow[] = result.history.map((h) => ({ ...h }));
    await ctx.saveHistory(name, history);
    return { name, ae, result, history };
  } finally {
    for (const t of tensors) t.dispose();
  }
}

/** The first `n` rows of 784 values. */
function firstImages(x: Float32Array, n: number): Float32Array {
  return x.subarray(0, n * MNIST_PIXELS);
}

/** Picks images by index from row-major 784-value rows. */
function pickImages(x: Float32Array, indices: number[]): Float32Array {
  const out = new Float32Array(indices.length * MNIST_PIXELS);
  indices.forEach((i, k) =>
    out.set(x.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS), k * MNIST_PIXELS)
  );
  return out;
}

const db = (x: number) => `${x.toFixed(2)} dB`;

/** The E9 experiment (see the module doc). */
export const experiment: Experiment<DenseDenoisingConfig> = {
  id: "dense-denoising",
  title: "E9: dense autoencoder vs PCA-64, and denoising autoencoders (dense and convolutional)",
  description: "Write-up 004: Keras dense 784-784-64-784 autoencoder (batch 128, early stopping, " +
    "checkpoints) against PCA at d = 64; the same model and the write-up's Conv+UpSampling " +
    "model trained as denoisers (Gaussian noise sigma 0.5, clipped); PSNR of noisy vs denoised.",
  profiles: {
    smoke: {
      trainLimit: 500,
      validationFraction: 0.2,
      splitSeed: 0,
      seed: 0,
      epochs: 1,
      batchSize: 128,
      learningRate: 1e-3,
      patience: 10,
      loss: "bce",
      noiseStd: 0.5,
      noiseSeed: 0,
      testImages: 300,
      denoiseTestImages: 200,
      convTrainLimit: 64,
      convEpochs: 1,
      convBatchSize: 32,
      pcaFitImages: 2000,
    },
    quick: {
      trainLimit: 60000,
      validationFraction: 0.2,
      splitSeed: 0,
      seed: 0,
      epochs: 5,
      batchSize: 128,
      learningRate: 1e-3,
      patience: 10,
      loss: "bce",
      noiseStd: 0.5,
      noiseSeed: 0,
      testImages: 10000,
      denoiseTestImages: 2000,
      convTrainLimit: 2000,
      convEpochs: 4,
      convBatchSize: 32,
      pcaFitImages: 60000,
    },
    full: {
      trainLimit: 60000,
      validationFraction: 0.2,
      splitSeed: 0,
      seed: 0,
      epochs: 300,
      batchSize: 128,
      learningRate: 1e-3,
      patience: 10,
      loss: "bce",
      noiseStd: 0.5,
      noiseSeed: 0,
      testImages: 10000,
      denoiseTestImages: 10000,
      convTrainLimit: 48000,
      convEpochs: 30,
      convBatchSize: 128,
      pcaFitImages: 60000,
    },
  },

  validate(c) {
    const int = (key: keyof DenseDenoisingConfig, lo: number, hi: number) => {
      const v = c[key] as number;
      if (!Number.isInteger(v) || v < lo || v > hi) {
        throw new RangeError(
          `dense-denoising: ${key} must be an integer in ${lo}..${hi}, got ${v}`,
        );
      }
    };
    int("trainLimit", 20, 60000);
    int("epochs", 1, 10000);
    int("batchSize", 1, 60000);
    int("patience", 1, 10000);
    int("testImages", 10, 10000);
    int("denoiseTestImages", 10, c.testImages);
    int("convEpochs", 1, 10000);
    int("convBatchSize", 1, 60000);
    int("pcaFitImages", CODE_SIZE + 1, 60000);
    for (const key of ["splitSeed", "seed", "noiseSeed"] as const) {
      if (!Number.isInteger(c[key])) {
        throw new RangeError(`dense-denoising: ${key} must be an integer, got ${c[key]}`);
      }
    }
    if (!(c.validationFraction > 0 && c.validationFraction < 1)) {
      throw new RangeError(
        `dense-denoising: validationFraction must be in (0, 1) (early stopping needs ` +
          `validation data), got ${c.validationFraction}`,
      );
    }
    const trainCount = c.trainLimit - Math.floor(c.trainLimit * c.validationFraction);
    if (Math.floor(c.trainLimit * c.validationFraction) < 1) {
      throw new RangeError(
        `dense-denoising: trainLimit ${c.trainLimit} x validationFraction ` +
          `${c.validationFraction} leaves no validation image`,
      );
    }
    int("convTrainLimit", 0, trainCount);
    if (!(c.learningRate > 0 && c.learningRate < 1)) {
      throw new RangeError(
        `dense-denoising: learningRate must be in (0, 1), got ${c.learningRate}`,
      );
    }
    if (!(LOSSES as readonly string[]).includes(c.loss)) {
      throw new RangeError(
        `dense-denoising: loss must be one of ${LOSSES.join(", ")}, got ${JSON.stringify(c.loss)}`,
      );
    }
    if (!(c.noiseStd > 0 && c.noiseStd <= 10)) {
      throw new RangeError(`dense-denoising: noiseStd must be in (0, 10], got ${c.noiseStd}`);
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
    const trainX = (await splits.train.flat.data()) as Float32Array;
    const validX = (await splits.validation.flat.data()) as Float32Array;
    const testX = (await splits.test.flat.data()) as Float32Array;
    const testLabels = splits.test.labels;
    const sizes = {
      train: splits.train.size,
      validation: splits.validation.size,
      test: splits.test.size,
    };
    for (const s of [splits.train, splits.validation, splits.test]) disposeMnistSet(s);
    ctx.log(
      `dense-denoising: ${sizes.train} train / ${sizes.validation} validation / ${sizes.test} ` +
        `test images`,
    );
    const noisyTrain = addClippedGaussianNoise(trainX, config.noiseStd, config.noiseSeed);
    const noisyValid = addClippedGaussianNoise(validX, config.noiseStd, config.noiseSeed + 1);
    const noisyTest = addClippedGaussianNoise(testX, config.noiseStd, config.noiseSeed + 2);

    const models: Trained[] = [];
    try {
      // ---- the plain dense autoencoder and its PCA baseline ---------------------------------
      const plain = await trainModel(
        ctx,
        "dense-plain",
        buildDense64Autoencoder({
          seed: config.seed,
        }),
        { x: trainX, y: trainX, vx: validX, vy: validX },
        { epochs: config.epochs, batchSize: config.batchSize, config },
      );
      models.push(plain);
      const plainRecon = await apply(plain.ae, testX);
      const plainMse = mse(plainRecon, testX);
      const plainMsePerDigit = msePerDigit(plainRecon, testX, testLabels);

      const trainRaw = await readMnistRaw("train");
      const fitN = config.pcaFitImages;
      const fitX = new Float32Array(fitN * MNIST_PIXELS);
      for (let i = 0; i < fitX.length; i++) fitX[i] = trainRaw.pixels[i] / 255;
      const pca = fitPca(fitX, fitN, MNIST_PIXELS, CODE_SIZE);
      const pcaRecon = pcaReconstruct(pca, pcaProject(pca, testX, CODE_SIZE), CODE_SIZE);
      const pcaMse = mse(pcaRecon, testX);
      const pcaMsePerDigit = msePerDigit(pcaRecon, testX, testLabels);

      // ---- denoisers -------------------------------------------------------------------------
      const dense = await trainModel(
        ctx,
        "dense-denoise",
        buildDense64Autoencoder({
          seed: config.seed,
        }),
        { x: noisyTrain, y: trainX, vx: noisyValid, vy: validX },
        { epochs: config.epochs, batchSize: config.batchSize, config },
      );
      models.push(dense);
      let conv: Trained | null = null;
      if (config.convTrainLimit > 0) {
        const nc = config.convTrainLimit;
        const nvc = Math.min(sizes.validation, Math.max(1, Math.ceil(nc / 4)));
        conv = await trainModel(
          ctx,
          "conv-denoise",
          buildConvUpsamplingAutoencoder({
            seed: config.seed,
          }),
          {
            x: firstImages(noisyTrain, nc),
            y: firstImages(trainX, nc),
            vx: firstImages(noisyValid, nvc),
            vy: firstImages(validX, nvc),
          },
          { epochs: config.convEpochs, batchSize: config.convBatchSize, config },
        );
        models.push(conv);
      }

      const nd = config.denoiseTestImages;
      const clean = firstImages(testX, nd);
      const noisy = firstImages(noisyTest, nd);
      const outputs: { name: string; label: string; images: Float32Array }[] = [
        { name: "noisy input", label: "noisy", images: noisy },
        {
          name: "plain dense AE on noisy input",
          label: "plain AE(noisy)",
          images: await apply(plain.ae, noisy),
        },
        { name: "dense denoiser", label: "dense denoiser", images: await apply(dense.ae, noisy) },
      ];
      if (conv) {
        outputs.push({
          name: `conv denoiser (${config.convTrainLimit} train images)`,
          label: "conv denoiser",
          images: await apply(conv.ae, noisy),
        });
      }
      const denoiseRows = outputs.map((o) => ({
        output: o.name,
        mse: mse(o.images, clean),
        psnr: psnr(o.images, clean),
      }));
      await ctx.saveJson("denoising", denoiseRows);
      const reconstructionRows = [
        { model: "dense-64 autoencoder", mse: plainMse, psnr: psnr(plainRecon, testX) },
        {
          model: `PCA-${CODE_SIZE} (fit on ${fitN} train images)`,
          mse: pcaMse,
          psnr: psnr(pcaRecon, testX),
        },
      ];
      await ctx.saveJson("reconstruction", reconstructionRows);
      await ctx.saveJson(
        "reconstruction-per-digit",
        plainMsePerDigit.map((m, d) => ({ digit: d, denseAe: m, pca64: pcaMsePerDigit[d] })),
      );

      // ---- figures and image grids ---------------------------------------------------------
      await ctx.saveFigure(
        "loss",
        lossCurves(models.map((m) => ({ name: m.name, history: m.history })), {
          title: `Training loss (${config.loss.toUpperCase()}) per epoch against the clean ` +
            `images (denoisers: noisy input); star = best epoch, restored`,
          yTitle: config.loss.toUpperCase(),
          logY: true,
        }),
      );
      await ctx.saveFigure(
        "psnr",
        barChart(
          denoiseRows.map((r) => r.output),
          [{ name: "PSNR vs clean (dB)", values: denoiseRows.map((r) => r.psnr) }],
          {
            title: `PSNR against the clean images on ${nd} test images (noise sigma ` +
              `${config.noiseStd}, clipped)`,
            yTitle: "PSNR (dB), higher is better",
            showValues: true,
          },
        ),
      );
      await ctx.saveFigure(
        "mse-per-digit",
        barChart(
          plainMsePerDigit.map((_, d) => d),
          [
            { name: "dense-64 autoencoder", values: plainMsePerDigit },
            { name: `PCA-${CODE_SIZE}`, values: pcaMsePerDigit },
          ],
          {
            title: `Test reconstruction MSE per digit: dense autoencoder vs PCA-${CODE_SIZE}`,
            xTitle: "digit",
            yTitle: "MSE per pixel",
          },
        ),
      );
      // One test image of each digit (the first in the file) in every grid.
      const shown: number[] = [];
      for (let d = 0; d < 10; d++) {
        const i = Array.from(testLabels.subarray(0, nd)).indexOf(d);
        if (i >= 0) shown.push(i);
      }
      const rows: ImageRow[] = [
        {
          label: "clean",
          images: pickImages(clean, shown),
          captions: shown.map((i) => testLabels[i]),
        },
        ...outputs.map((o) => ({
          label: o.label,
          images: pickImages(o.images, shown),
          captions: shown.map((i) =>
            psnr(
              o.images.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS),
              clean.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS),
            ).toFixed(1) + " dB"
          ),
        })),
      ];
      const denoiseGrid = imageGrid(rows, {
        scale: 2,
        title: `Noisy / denoised / clean test images (sigma ${config.noiseStd}); caption = PSNR ` +
          `of that image vs clean`,
      });
      await ctx.saveImage("denoising", denoiseGrid.png, denoiseGrid.html);
      const reconGrid = imageGrid([
        {
          label: "original",
          images: pickImages(testX, shown),
          captions: shown.map((i) => testLabels[i]),
        },
        { label: "dense-64 AE", images: pickImages(plainRecon, shown) },
        {
          label: `PCA-${CODE_SIZE}`,
          images: pickImages(pcaRecon, shown).map((v) => Math.min(1, Math.max(0, v))),
        },
      ], {
        scale: 2,
        title: `Test reconstructions: dense autoencoder (64-unit code) vs PCA with 64 ` +
          `components (PCA clipped to [0, 1] for display)`,
      });
      await ctx.saveImage("reconstructions", reconGrid.png, reconGrid.html);

      // ---- claims --------------------------------------------------------------------------
      const noisyPsnr = denoiseRows[0].psnr;
      const denoisers = denoiseRows.filter((r) => r.output.includes("denoiser"));
      const gains = denoisers.map((r) => ({ name: r.output, gain: r.psnr - noisyPsnr }));
      const claims: ClaimRow[] = [
        {
          claim: "A denoising autoencoder (noisy input, clean target) removes the noise: its " +
            "output is closer to the clean image than the noisy input (write-up 004)",
          expected: `PSNR vs clean rises by >= ${MIN_PSNR_GAIN_DB} dB (MSE at least halved) for ` +
            `every denoiser`,
          ours: `${nd} test images, sigma ${config.noiseStd}: noisy ${db(noisyPsnr)}; ` +
            denoisers.map((r, i) =>
              `${r.output} ${db(r.psnr)} (${gains[i].gain >= 0 ? "+" : ""}${
                gains[i].gain.toFixed(2)
              } dB)`
            )
              .join("; ") +
            `; plain AE on noisy input ${db(denoiseRows[1].psnr)}`,
          verdict: gains.every((g) => g.gain >= MIN_PSNR_GAIN_DB) ? "pass" : "differs",
        },
        {
          claim: "The dense 784-784-64-784 autoencoder reconstructs MNIST (write-up 004); as a " +
            "non-linear model it should beat the linear baseline with the same code size",
          expected: `test MSE <= PCA-${CODE_SIZE} test MSE (SPEC: ${SPEC_PCA64_MSE})`,
          ours: `dense AE ${plainMse.toFixed(4)} after ${plain.result.history.length} epochs ` +
            `(best ${plain.result.bestEpoch}, ${sizes.train} train images) vs PCA-${CODE_SIZE} ` +
            `${pcaMse.toFixed(4)} on ${sizes.test} test images`,
          verdict: plainMse <= pcaMse ? "pass" : "differs",
        },
      ];

      return {
        metrics: {
          trainImages: sizes.train,
          validationImages: sizes.validation,
          testImages: sizes.test,
          denoiseTestImages: nd,
          plainEpochs: plain.result.history.length,
          plainBestEpoch: plain.result.bestEpoch,
          plainBestValLoss: plain.result.bestValLoss,
          plainStopReason: plain.result.stopReason,
          denseAeTestMse: plainMse,
          pca64TestMse: pcaMse,
          denoiseEpochs: dense.result.history.length,
          denoiseBestValLoss: dense.result.bestValLoss,
          convEpochs: conv?.result.history.length ?? null,
          convBestValLoss: conv?.result.bestValLoss ?? null,
          noisyMse: denoiseRows[0].mse,
          noisyPsnr,
          plainOnNoisyPsnr: denoiseRows[1].psnr,
          denseDenoisedMse: denoiseRows[2].mse,
          denseDenoisedPsnr: denoiseRows[2].psnr,
          denseGainDb: denoiseRows[2].psnr - noisyPsnr,
          convDenoisedPsnr: conv ? denoiseRows[3].psnr : null,
          convGainDb: conv ? denoiseRows[3].psnr - noisyPsnr : null,
        },
        claims,
      };
    } finally {
      for (const m of models) m.ae.autoencoder.dispose();
    }
  },
};
