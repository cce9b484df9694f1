/**
 * The verdicts of write-up 002's MLP-blocks claims (E7, `notebooks/06_mlp_blocks.ipynb`) from
 * the trained models' numbers, and what the write-up's asymmetric loops would have built
 * ({@link writeupLayerSizes}). Kept in lib so that the verdict logic is unit-tested.
 *
 * @module
 */
import type { ClaimRow } from "../experiments/types.ts";
import type { EpochRecord } from "../train.ts";

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

function fmt(v: number, digits = 4): string {
  return Number.isFinite(v) ? v.toFixed(digits) : String(v);
}

function pct(v: number): string {
  return `${(v * 100).toFixed(1)}%`;
}

/**
 * The write-up's claims (and what its code implies) next to our numbers; verdicts come from
 * the numbers.
 */
export function mlpClaims(
  config: {
    nLayers: number;
    btlSize: number;
    trainRatio: number;
    dropoutP: number;
    knnK: number;
  },
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
