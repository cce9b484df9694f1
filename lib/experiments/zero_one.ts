/**
 * E4 `zero-one` (write-up 001): why do 0 and 1 survive a tiny bottleneck? The write-up trained
 * the E3 conv autoencoder with d = 2, drew the 2-D codes of test digits {0, 1}, {0, 1, 2} and
 * {0, 1, 6}, and concluded that 0 and 1 separate cleanly while 2 overlaps 1 and 6 overlaps 0
 * (the code keeps a "round" and a "straight" feature). It also ruled out that 0 and 1 are just
 * more frequent in the training data.
 *
 * Here the d = 2 model is trained with the E3 settings (same builder, same seeds, best epoch by
 * validation loss), and the pictures become numbers: for every pair of digits, the accuracy of
 * a logistic-regression classifier (5-fold cross-validated) and of a leave-one-out 5-NN
 * classifier on the pair's 2-D test codes. The class balance is counted on the whole 60k train
 * file and on the images this run trained on.
 *
 * @module
 */
import type { ClaimRow, Experiment, HistoryRow, RunContext } from "./types.ts";
import { disposeMnistSet, loadMnist, type MnistSet, readMnistRaw } from "../data/mod.ts";
import { setupBackend } from "../backend.ts";
import { classBalance, type ClassBalanceRow, pairSeparability } from "../metrics.ts";
import { barChart, heatmap, latentScatter, lossCurves } from "../plot.ts";
import { checkInt, trainBottleneck, validateTraining } from "./latent_sweep.ts";
import { predictFlat } from "./common.ts";

/** Configuration of E4 (flat plain data; see the profiles for typical values). */
export type ZeroOneConfig = {
  /** Images taken from the 60k train file before the 8:2 split (write-up: all 60,000). */
  trainLimit: number;
  /** Share of those held out for validation (choice of the best epoch). */
  validationFraction: number;
  /** Test images (file order) whose 2-D codes are drawn and measured. */
  testLimit: number;
  /** Epochs (write-up: 50); the best epoch by validation loss is kept. */
  epochs: number;
  /** Mini-batch size (write-up: 128). */
  batchSize: number;
  /** Adam learning rate. */
  learningRate: number;
  /** Seed of the initial weights. */
  seed: number;
  /** Seed of the train/validation split, the shuffling and the cross-validation folds. */
  splitSeed: number;
  /** Neighbours of the leave-one-out k-NN separability. */
  knnK: number;
};

/** Size of the code: the write-up's E4 is about d = 2. */
export const LATENT_DIM = 2;

/** Accuracy from which two digits count as cleanly separated in the 2-D code (both classifiers). */
export const CLEAN_SEPARATION = 0.97;

/** The digit groups the write-up drew, in its order. */
export const DIGIT_GROUPS: readonly (readonly number[])[] = [[0, 1], [0, 1, 2], [0, 1, 6]];

/** Separability of one pair of digits in the 2-D code. */
export interface PairRow {
  /** Smaller digit. */
  a: number;
  /** Larger digit. */
  b: number;
  /** Cross-validated logistic-regression accuracy. */
  linear: number;
  /** Leave-one-out k-NN accuracy. */
  knn: number;
}

/**
 * Separability of every pair of digits present in `labels` (a < b), from their 2-D codes.
 *
 * @param codes Row-major `n x 2` codes.
 * @param labels Digit of each code.
 * @param k Neighbours of the k-NN classifier.
 * @param seed Seed of the cross-validation folds.
 * @returns One row per pair, in (a, b) order.
 */
export function allPairSeparability(
  codes: Float32Array,
  labels: ArrayLike<number>,
  k: number,
  seed: number,
): PairRow[] {
  const present = new Set<number>();
  for (let i = 0; i < labels.length; i++) present.add(labels[i]);
  const digits = [...present].sort((x, y) => x - y);
  const rows: PairRow[] = [];
  for (let i = 0; i < digits.length; i++) {
    for (let j = i + 1; j < digits.length; j++) {
      const s = pairSeparability(codes, labels, digits[i], digits[j], { k, seed });
      rows.push({ a: digits[i], b: digits[j], linear: s.linear, knn: s.knn });
    }
  }
  return rows;
}

/** The row of pair (a, b) in either order. */
export function findPair(rows: PairRow[], a: number, b: number): PairRow {
  const [lo, hi] = a < b ? [a, b] : [b, a];
  const row = rows.find((r) => r.a === lo && r.b === hi);
  if (!row) throw new RangeError(`findPair: no row for digits ${lo} and ${hi}`);
  return row;
}

const pct = (x: number) => (Number.isNaN(x) ? "n/a" : `${(x * 100).toFixed(1)}%`);

/** The E4 experiment (see the module doc). */
export const experiment: Experiment<ZeroOneConfig> = {
  id: "zero-one",
  title: "E4: 0 and 1 in a 2-D latent space",
  description: "Write-up 001: the conv autoencoder with d = 2; 2-D test codes of {0,1}, " +
    "{0,1,2}, {0,1,6}; linear and k-NN separability of every pair of digits; class balance " +
    "of the training data.",
  profiles: {
    smoke: {
      trainLimit: 320,
      validationFraction: 0.2,
      testLimit: 300,
      epochs: 1,
      batchSize: 64,
      learningRate: 0.002,
      seed: 0,
      splitSeed: 0,
      knnK: 5,
    },
    quick: {
      trainLimit: 8000,
      validationFraction: 0.2,
      testLimit: 5000,
      epochs: 5,
      batchSize: 64,
      learningRate: 0.002,
      seed: 0,
      splitSeed: 0,
      knnK: 5,
    },
    full: {
      trainLimit: 60000,
      validationFraction: 0.2,
      testLimit: 10000,
      epochs: 50,
      batchSize: 128,
      learningRate: 0.001,
      seed: 0,
      splitSeed: 0,
      knnK: 5,
    },
  },

  validate(config) {
    const id = "zero-one";
    checkInt(id, "trainLimit", config.trainLimit, 20, 60000);
    checkInt(id, "testLimit", config.testLimit, 100, 10000);
    checkInt(id, "knnK", config.knnK, 1, 50);
    validateTraining(id, config);
  },

  async run(config, ctx) {
    await setupBackend(undefined, { quiet: true });
    const data = await loadMnist({
      trainLimit: config.trainLimit,
      validationFraction: config.validationFraction,
      testLimit: config.testLimit,
      seed: config.splitSeed,
    });
    try {
      return await zeroOne(config, ctx, data.train, data.validation, data.test);
    } finally {
      for (const s of [data.train, data.validation, data.test]) disposeMnistSet(s);
    }
  },
};

async function zeroOne(
  config: ZeroOneConfig,
  ctx: RunContext,
  train: MnistSet,
  validation: MnistSet,
  test: MnistSet,
): Promise<{ metrics: Record<string, unknown>; claims: ClaimRow[] }> {
  for (const digit of [0, 1, 2, 6]) {
    const count = test.labels.filter((l) => l === digit).length;
    if (count < 5) {
      throw new RangeError(
        `zero-one: only ${count} test images of digit ${digit} in the first ${test.size}; ` +
          `raise testLimit`,
      );
    }
  }
  const { model, result } = await trainBottleneck({
    latentDim: LATENT_DIM,
    train: train.images,
    validation: validation.images,
    epochs: config.epochs,
    batchSize: config.batchSize,
    learningRate: config.learningRate,
    seed: config.seed,
    shuffleSeed: config.splitSeed,
    label: "zero-one d=2",
    progress: ctx.profile === "smoke" ? "none" : "auto",
    checkpointDir: await ctx.checkpointDir("d2"),
  });
  let codes: Float32Array;
  try {
    ctx.log(`zero-one: ${result.message}`);
    codes = await predictFlat(model.encoder, test.images);
  } finally {
    model.autoencoder.dispose();
  }
  const history: HistoryRow[] = result.history.map((h) => ({ ...h }));
  await ctx.saveHistory("d2", history);

  const pairs = allPairSeparability(codes, test.labels, config.knnK, config.splitSeed);
  const zeroOnePair = findPair(pairs, 0, 1);
  const oneTwo = findPair(pairs, 1, 2);
  const zeroSix = findPair(pairs, 0, 6);
  const knnRank = (p: PairRow) => pairs.filter((r) => r.knn > p.knn).length + 1;

  // Class balance: the whole train file (what the write-up counted) and this run's training images.
  const rawTrain = await readMnistRaw("train");
  const balanceFile = classBalance(rawTrain.labels);
  const balanceRun = classBalance(train.labels);

  // ---- evidence ---------------------------------------------------------------------------
  for (const group of DIGIT_GROUPS) {
    const sep = group.slice(1).map((b) => {
      const p = findPair(pairs, group[0], b);
      return `${group[0]}/${b}: k-NN ${pct(p.knn)}`;
    });
    const extra = group.length > 2
      ? `, ${group[1]}/${group[2]}: k-NN ${pct(findPair(pairs, group[1], group[2]).knn)}`
      : "";
    await ctx.saveFigure(
      `codes-${group.join("-")}`,
      latentScatter(codes, test.labels, {
        digits: [...group],
        title: `2-D codes of test digits ${group.join(", ")} (${sep.join(", ")}${extra})`,
        markerSize: 4,
        opacity: 0.6,
      }),
    );
  }
  await ctx.saveFigure(
    "codes-all",
    latentScatter(codes, test.labels, {
      title: `2-D codes of all ${test.size} test digits`,
      markerSize: 3,
      opacity: 0.5,
    }),
  );
  const digits = Array.from({ length: 10 }, (_, d) => d);
  const matrix = digits.map((a) => digits.map((b) => (a === b ? NaN : findPair(pairs, a, b).knn)));
  await ctx.saveFigure(
    "pair-separability",
    heatmap(matrix, digits, digits, {
      title: `Leave-one-out ${config.knnK}-NN accuracy of each pair of digits from the 2-D codes ` +
        `(0.5 = chance, 1 = clean)`,
      xTitle: "digit",
      yTitle: "digit",
      valueFormat: ".2f",
      zmin: 0.5,
      zmax: 1,
      colorbarTitle: "accuracy",
    }),
  );
  await ctx.saveFigure(
    "class-balance",
    barChart(digits, [
      { name: "60k train file", values: balanceFile.map((r) => r.shareOfAll) },
      { name: "this run's training images", values: balanceRun.map((r) => r.shareOfAll) },
    ], {
      title: "Share of each digit in the training data (uniform: 10%)",
      xTitle: "digit",
      yTitle: "share",
    }),
  );
  await ctx.saveFigure(
    "loss-curves",
    lossCurves([{ name: "d=2", history }], {
      title: "Train (solid) and validation (dashed) MSE; star = kept epoch",
    }),
  );
  await ctx.saveJson("pairs", pairs);
  await ctx.saveJson("class-balance", { trainFile: balanceFile, run: balanceRun });

  // ---- claims -----------------------------------------------------------------------------
  const clean = zeroOnePair.linear >= CLEAN_SEPARATION && zeroOnePair.knn >= CLEAN_SEPARATION;
  const overlapRow = (p: PairRow, what: string): ClaimRow => ({
    claim: `${what} at d = 2 (hard to tell apart)`,
    expected: `${p.a}/${p.b} not cleanly separated: k-NN accuracy < ${CLEAN_SEPARATION} and ` +
      `below that of 0/1`,
    ours: `${p.a}/${p.b}: k-NN ${pct(p.knn)}, linear ${pct(p.linear)} (0/1: k-NN ` +
      `${pct(zeroOnePair.knn)}); rank ${knnRank(p)} of ${pairs.length} pairs by k-NN accuracy`,
    verdict: p.knn < CLEAN_SEPARATION && p.knn < zeroOnePair.knn ? "pass" : "differs",
  });
  const share = (rows: ClassBalanceRow[], d: number) => pct(rows[d].shareOfAll);
  const meanCount = rawTrain.count / 10;
  const mostFrequent = balanceFile.reduce((a, b) => (b.count > a.count ? b : a));
  const zeroRank = balanceFile.filter((r) => r.count > balanceFile[0].count).length + 1;
  const claims: ClaimRow[] = [
    {
      claim: "0 and 1 separate cleanly in the 2-D code",
      expected: `0/1 accuracy >= ${CLEAN_SEPARATION} for both a linear and a k-NN classifier`,
      ours:
        `0/1: linear ${pct(zeroOnePair.linear)}, ${config.knnK}-NN ${pct(zeroOnePair.knn)} (rank ${
          knnRank(zeroOnePair)
        } of ${pairs.length} ` +
        `pairs by k-NN accuracy)`,
      verdict: clean ? "pass" : "differs",
    },
    overlapRow(oneTwo, "2 overlaps 1"),
    overlapRow(zeroSix, "6 overlaps 0"),
    {
      claim: "0 and 1 are not simply more frequent in the training data (0 is rather rare)",
      expected: "0 below the mean count per digit (6,000 of 60,000); 1 the most frequent at " +
        "11.2%, 0 at 9.9%",
      ours: `60k train file: 0 ${balanceFile[0].count} (${share(balanceFile, 0)}, ` +
        `${zeroRank}. most frequent of 10), 1 ${balanceFile[1].count} ` +
        `(${share(balanceFile, 1)}), most frequent digit ${mostFrequent.digit}; ` +
        `this run's ${train.size} training images: 0 ${share(balanceRun, 0)}, 1 ` +
        `${share(balanceRun, 1)}`,
      verdict: balanceFile[0].count < meanCount ? "pass" : "differs",
    },
  ];

  return {
    metrics: {
      trainImages: train.size,
      validationImages: validation.size,
      testImages: test.size,
      bestEpoch: result.bestEpoch,
      valMse: result.bestValLoss,
      zeroOneLinear: zeroOnePair.linear,
      zeroOneKnn: zeroOnePair.knn,
      oneTwoLinear: oneTwo.linear,
      oneTwoKnn: oneTwo.knn,
      zeroSixLinear: zeroSix.linear,
      zeroSixKnn: zeroSix.knn,
      meanPairKnn: pairs.reduce((s, p) => s + p.knn, 0) / pairs.length,
      trainFileCounts: balanceFile.map((r) => r.count),
      runTrainCounts: balanceRun.map((r) => r.count),
      trainSeconds: history.reduce((s, h) => s + h.seconds, 0),
    },
    claims,
  };
}
