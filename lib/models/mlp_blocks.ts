/**
 * E7 (write-up 002): MLP autoencoder built from `Linear + ReLU + (BatchNorm | Dropout)` blocks,
 * symmetric, with hidden sizes stepping linearly from 784 down to the bottleneck.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type Autoencoder, composeAutoencoder } from "./autoencoder.ts";
import { type ParamInit, paramInit } from "./init.ts";
import { torchBatchNorm, torchLinear } from "./torch_layers.ts";
import { seededDropout } from "./seeded_dropout.ts";
import { mulberry32 } from "../random.ts";

/** Options of {@link buildMlpBlocksAutoencoder} (the write-up's argparse options). */
export interface MlpBlocksOptions {
  /** Number of Linear layers in the encoder (= in the decoder); default 5. */
  nLayers?: number;
  /** Bottleneck size; default 2. */
  btlSize?: number;
  /** Dropout instead of BatchNorm as the block regulariser; default false. */
  useDropout?: boolean;
  /** Dropout probability when `useDropout`; default 0.3. */
  dropoutP?: number;
  /**
   * Integer seed of the initial weights (PyTorch default init) and of the dropout masks (each
   * Dropout layer gets its own mask sequence from a separate stream of this seed, so the
   * weights do not depend on `useDropout`); undefined: unseeded.
   */
  seed?: number;
}

const INPUT_SIZE = 784;

/**
 * The hidden sizes between 784 and the bottleneck: `round(784 - i * step)` for
 * `i = 1 .. nLayers-1` with `step = (784 - btlSize) / nLayers`.
 *
 * Examples: `mlpHiddenSizes(5, 2)` = `[628, 471, 315, 158]`;
 * `mlpHiddenSizes(10, 2)` = `[706, 628, 549, 471, 393, 315, 237, 158, 80]`;
 * `mlpHiddenSizes(1, 2)` = `[]`.
 *
 * @param nLayers Linear layers per side (positive integer).
 * @param btlSize Bottleneck size (integer in 1..783).
 * @returns The `nLayers - 1` hidden sizes, strictly decreasing.
 */
export function mlpHiddenSizes(nLayers: number, btlSize: number): number[] {
  if (!Number.isInteger(nLayers) || nLayers < 1) {
    throw new RangeError(`mlpHiddenSizes: nLayers must be a positive integer, got ${nLayers}`);
  }
  if (!Number.isInteger(btlSize) || btlSize < 1 || btlSize >= INPUT_SIZE) {
    throw new RangeError(`mlpHiddenSizes: btlSize must be an integer in 1..783, got ${btlSize}`);
  }
  const step = (INPUT_SIZE - btlSize) / nLayers;
  const sizes = Array.from(
    { length: nLayers - 1 },
    (_, i) => Math.round(INPUT_SIZE - (i + 1) * step),
  );
  const chain = [INPUT_SIZE, ...sizes, btlSize];
  for (let i = 1; i < chain.length; i++) {
    if (!(chain[i] < chain[i - 1])) {
      throw new RangeError(
        `mlpHiddenSizes: ${nLayers} layers down to ${btlSize} give non-decreasing sizes ` +
          `[${chain}]; use fewer layers`,
      );
    }
  }
  return sizes;
}

/** Where the blocks' regulariser comes from: BatchNorm, or Dropout with the next mask seed. */
type Regulariser = { kind: "batchnorm" } | {
  kind: "dropout";
  rate: number;
  nextSeed: () => number | undefined;
};

/** Block = Linear + ReLU + (BatchNorm1d | Dropout(p)). */
function block(
  x: tf.SymbolicTensor,
  units: number,
  init: ParamInit,
  regulariser: Regulariser,
): tf.SymbolicTensor {
  const h = torchLinear(x, units, init, "relu");
  return regulariser.kind === "dropout"
    ? seededDropout({ rate: regulariser.rate, seed: regulariser.nextSeed() }).apply(
      h,
    ) as tf.SymbolicTensor
    : torchBatchNorm(h);
}

/** Arbitrary constant that separates the dropout-mask seed stream from the weight stream. */
const DROPOUT_STREAM = 0x0d80_9017;

/**
 * Builds the write-up-002 MLP autoencoder, with its two bugs fixed (the encoder used to skip the
 * first hidden size and the decoder used only two reversed sizes). With sizes
 * `s = mlpHiddenSizes(nLayers, btlSize)`:
 *
 * - Encoder: Block(784 -> s[0]), Block(s[0] -> s[1]), ..., then a plain Linear(s[last] -> btl).
 * - Decoder (exact mirror): Block(btl -> s[last]), ..., Block(s[1] -> s[0]), then a plain
 *   Linear(s[0] -> 784) (no output activation, as in the write-up).
 *
 * E.g. the default (5 layers, btl 2): 784-628-471-315-158-2-158-315-471-628-784. BatchNorm uses
 * PyTorch's momentum 0.1 and eps 1e-5; Dropout ({@link seededDropout}) is active only in
 * training mode and draws a new mask every training step from a sequence fixed by `seed`, so
 * two runs with the same seeds train identically.
 *
 * @param options The write-up's model options.
 * @returns The autoencoder (`inputKind: "flat"`), named `mlp-bn-<n>` or `mlp-dropout-<n>`.
 */
export function buildMlpBlocksAutoencoder(options: MlpBlocksOptions = {}): Autoencoder {
  const { nLayers = 5, btlSize = 2, useDropout = false, dropoutP = 0.3, seed } = options;
  if (!(dropoutP >= 0 && dropoutP < 1)) {
    throw new RangeError(`buildMlpBlocksAutoencoder: dropoutP must be in [0, 1), got ${dropoutP}`);
  }
  const sizes = mlpHiddenSizes(nLayers, btlSize);
  const init = paramInit("torch", seed);
  const maskSeeds = seed === undefined ? undefined : mulberry32(seed ^ DROPOUT_STREAM);
  const regulariser: Regulariser = useDropout
    ? {
      kind: "dropout",
      rate: dropoutP,
      nextSeed: () => maskSeeds === undefined ? undefined : Math.floor(maskSeeds() * 2 ** 31),
    }
    : { kind: "batchnorm" };
  const name = `mlp-${useDropout ? "dropout" : "bn"}-${nLayers}`;
  const tfName = name.replaceAll("-", "_");

  const x = tf.input({ shape: [INPUT_SIZE] });
  let h = x;
  for (const units of sizes) h = block(h, units, init, regulariser);
  const code = torchLinear(h, btlSize, init);
  const encoder = tf.model({ inputs: x, outputs: code, name: `${tfName}_encoder` });

  const z = tf.input({ shape: [btlSize] });
  let g = z;
  for (const units of [...sizes].reverse()) g = block(g, units, init, regulariser);
  const out = torchLinear(g, INPUT_SIZE, init);
  const decoder = tf.model({ inputs: z, outputs: out, name: `${tfName}_decoder` });
  return composeAutoencoder(name, "flat", encoder, decoder);
}
