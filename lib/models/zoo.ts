/**
 * The model zoo: one named, ready-to-build entry per architecture variant the experiments and the
 * benchmark use. Builders with more options are exported from `mod.ts` for anything else.
 *
 * @module
 */
import type { Autoencoder } from "./autoencoder.ts";
import { buildCnnBilinearAutoencoder } from "./cnn_bilinear.ts";
import {
  buildConvBottleneckAutoencoder,
  buildUpsamplingVsTransposeAutoencoder,
} from "./conv_bottleneck.ts";
import { buildConvUpsamplingAutoencoder } from "./conv_upsampling.ts";
import { buildDense64Autoencoder } from "./dense64.ts";
import { buildDenseCodeAutoencoder } from "./dense_code.ts";
import { buildMlpBlocksAutoencoder } from "./mlp_blocks.ts";

/** One zoo entry. */
export interface ZooEntry {
  /** Builds a fresh model; the same seed gives the same initial weights. */
  build: (seed?: number) => Autoencoder;
  /** One line: experiment, write-up and shape of the model. */
  description: string;
}

/** All zoo models by name (the name equals the built model's `name`). */
export const zoo: Record<string, ZooEntry> = {
  "cnn-bilinear": {
    build: (seed) => buildCnnBilinearAutoencoder({ seed }),
    description: "E2/000: 3x(conv3x3+pool) 24-48-96, code 256, 3x convT + bilinear resize",
  },
  "conv-bottleneck-d2": {
    build: (seed) => buildConvBottleneckAutoencoder({ latentDim: 2, seed }),
    description: "E3-E5/001: strided conv 8-16-32, dense 128, code 2, convT decoder, sigmoid",
  },
  "conv-transpose-d16": {
    build: (seed) =>
      buildUpsamplingVsTransposeAutoencoder({ latentDim: 16, decoder: "transpose", seed }),
    description: "E6/001: E3 model with code 16, ConvTranspose decoder",
  },
  "conv-upsample-nearest-d16": {
    build: (seed) =>
      buildUpsamplingVsTransposeAutoencoder({ latentDim: 16, decoder: "nearest", seed }),
    description: "E6/001: E3 encoder, code 16, nearest resize + conv3x3 decoder",
  },
  "conv-upsample-bilinear-d16": {
    build: (seed) =>
      buildUpsamplingVsTransposeAutoencoder({ latentDim: 16, decoder: "bilinear", seed }),
    description: "E6/001: E3 encoder, code 16, bilinear resize + conv3x3 decoder",
  },
  "mlp-bn-10": {
    build: (seed) => buildMlpBlocksAutoencoder({ nLayers: 10, btlSize: 2, seed }),
    description: "E7/002: 10 Linear+ReLU+BN blocks per side, 784 -> 2 -> 784 (write-up run)",
  },
  "mlp-dropout-5": {
    build: (seed) => buildMlpBlocksAutoencoder({ nLayers: 5, btlSize: 2, useDropout: true, seed }),
    description: "E7/002: 5 Linear+ReLU+Dropout(0.3) blocks per side, 784 -> 2 -> 784",
  },
  "dense-relu-code": {
    build: (seed) => buildDenseCodeAutoencoder({ codeActivation: "relu", seed }),
    description: "E8/003: dense 784-256-64-2-64-256-784, ReLU everywhere incl. code",
  },
  "dense-linear-code": {
    build: (seed) => buildDenseCodeAutoencoder({ codeActivation: "linear", seed }),
    description: "E8/003: as dense-relu-code but with a linear 2-unit code",
  },
  "dense-64": {
    build: (seed) => buildDense64Autoencoder({ seed }),
    description: "E9/004: dense 784-784-64-784, sigmoid output",
  },
  "conv-upsampling": {
    build: (seed) => buildConvUpsamplingAutoencoder({ seed }),
    description: "E9/004: conv 128-64-16-16 + maxpool, code 2x2x16, conv + upsampling x4",
  },
};

/**
 * Builds a zoo model by name.
 *
 * @param name A key of {@link zoo}.
 * @param seed Integer seed of the initial weights.
 * @returns The freshly built model.
 * @throws RangeError naming the valid models if `name` is unknown.
 */
export function buildZooModel(name: string, seed?: number): Autoencoder {
  const entry = Object.hasOwn(zoo, name) ? zoo[name] : undefined;
  if (entry === undefined) {
    throw new RangeError(`unknown zoo model "${name}"; valid: ${Object.keys(zoo).join(", ")}`);
  }
  return entry.build(seed);
}
