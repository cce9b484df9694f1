/**
 * E3 / E4 / E5 / E6 (write-up 001): the small PyTorch-tutorial conv autoencoder with a
 * d-dimensional bottleneck, and its decoder variants (ConvTranspose vs resize + conv).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type Autoencoder, composeAutoencoder } from "./autoencoder.ts";
import { type ParamInit, paramInit } from "./init.ts";
import { resize2d } from "./resize_layer.ts";
import {
  activation,
  torchBatchNorm,
  torchConv2d,
  torchConvTranspose2d,
  torchLinear,
} from "./torch_layers.ts";

/** How the decoder grows 3x3 feature maps back to 28x28. */
export type DecoderKind = "transpose" | "nearest" | "bilinear";

/** Options of {@link buildConvBottleneckAutoencoder}. */
export interface ConvBottleneckOptions {
  /** Bottleneck size d (positive integer). */
  latentDim: number;
  /** Integer seed of the initial weights (PyTorch default init); undefined: unseeded. */
  seed?: number;
  /** Last activation (default `"sigmoid"`, as in the write-up). */
  outputActivation?: "sigmoid" | "linear";
}

/** Options of {@link buildUpsamplingVsTransposeAutoencoder}. */
export interface UpsamplingVsTransposeOptions extends ConvBottleneckOptions {
  /** `"transpose"` (the E3 decoder) or resize (`"nearest"` / `"bilinear"`) + Conv3x3. */
  decoder: DecoderKind;
}

function checkLatentDim(latentDim: number, where: string): void {
  if (!Number.isInteger(latentDim) || latentDim < 1) {
    throw new RangeError(`${where}: latentDim must be a positive integer, got ${latentDim}`);
  }
}

/**
 * The write-up-001 encoder (PyTorch arithmetic): Conv(1->8,k3,s2,p1) + ReLU -> 14x14x8;
 * Conv(8->16,k3,s2,p1) + BN + ReLU -> 7x7x16; Conv(16->32,k3,s2,p0) + ReLU -> 3x3x32; Flatten
 * (288); Dense 288->128 + ReLU; Dense 128->d.
 */
function buildEncoder(latentDim: number, init: ParamInit, name: string): tf.LayersModel {
  const image = tf.input({ shape: [28, 28, 1] });
  let h = torchConv2d(image, {
    filters: 8,
    kernelSize: 3,
    stride: 2,
    padding: 1,
    activation: "relu",
  }, init);
  h = torchConv2d(h, { filters: 16, kernelSize: 3, stride: 2, padding: 1 }, init);
  h = activation(torchBatchNorm(h), "relu");
  h = torchConv2d(
    h,
    { filters: 32, kernelSize: 3, stride: 2, padding: 0, activation: "relu" },
    init,
  );
  h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
  h = torchLinear(h, 128, init, "relu");
  const code = torchLinear(h, latentDim, init);
  return tf.model({ inputs: image, outputs: code, name: `${name}_encoder` });
}

/** Dense d->128 + ReLU -> 288 + ReLU, reshape to 3x3x32 (shared by all decoder kinds). */
function decoderStem(code: tf.SymbolicTensor, init: ParamInit): tf.SymbolicTensor {
  let g = torchLinear(code, 128, init, "relu");
  g = torchLinear(g, 288, init, "relu");
  return tf.layers.reshape({ targetShape: [3, 3, 32] }).apply(g) as tf.SymbolicTensor;
}

/**
 * Grows 3x3x32 to 28x28x1: three stages 3->7->14->28 with channels 16, 8, 1; BN + ReLU after
 * the first two stages. `"transpose"` uses ConvTranspose(k3,s2) with (p0,op0), (p1,op1),
 * (p1,op1); the resize kinds resize to the same size, then Conv3x3(p1), which has exactly as
 * many weights as the transposed convolution it replaces.
 */
function buildDecoder(
  latentDim: number,
  kind: DecoderKind,
  outputActivation: "sigmoid" | "linear",
  init: ParamInit,
  name: string,
): tf.LayersModel {
  const code = tf.input({ shape: [latentDim] });
  let g = decoderStem(code, init);
  const stages = [
    { filters: 16, size: 7, padding: 0, outputPadding: 0 },
    { filters: 8, size: 14, padding: 1, outputPadding: 1 },
    { filters: 1, size: 28, padding: 1, outputPadding: 1 },
  ];
  stages.forEach((stage, i) => {
    if (kind === "transpose") {
      g = torchConvTranspose2d(g, {
        filters: stage.filters,
        kernelSize: 3,
        stride: 2,
        padding: stage.padding,
        outputPadding: stage.outputPadding,
      }, init);
    } else {
      g = resize2d({ height: stage.size, width: stage.size, interpolation: kind }).apply(
        g,
      ) as tf.SymbolicTensor;
      g = torchConv2d(g, { filters: stage.filters, kernelSize: 3, stride: 1, padding: 1 }, init);
    }
    g = i < stages.length - 1 ? activation(torchBatchNorm(g), "relu") : activation(
      g,
      outputActivation,
    );
  });
  return tf.model({ inputs: code, outputs: g, name: `${name}_decoder` });
}

/**
 * Builds the write-up-001 conv autoencoder with a d-dimensional bottleneck (E3 latent sweep,
 * E4 2-D codes, E5 single-digit models).
 *
 * Encoder: Conv(1->8,k3,s2,p1)+ReLU, Conv(8->16,k3,s2,p1)+BN+ReLU, Conv(16->32,k3,s2,p0)+ReLU,
 * Flatten, Dense 288->128+ReLU, Dense 128->d. Decoder: Dense d->128+ReLU->288+ReLU, reshape
 * 3x3x32, ConvTranspose(32->16,k3,s2,p0,op0)+BN+ReLU -> 7x7, ConvTranspose(16->8,k3,s2,p1,op1)
 * +BN+ReLU -> 14x14, ConvTranspose(8->1,k3,s2,p1,op1) -> 28x28, sigmoid.
 * Padding and cropping reproduce PyTorch's arithmetic exactly (see `torch_layers.ts`); BN uses
 * PyTorch's momentum 0.1 and eps 1e-5. Layout is NHWC, so flatten/reshape orders differ from
 * PyTorch's NCHW by a fixed permutation of the dense weights (same function class).
 *
 * @param options Bottleneck size, seed, output activation.
 * @returns The autoencoder (`inputKind: "image"`), named `conv-bottleneck-d<d>`.
 */
export function buildConvBottleneckAutoencoder(options: ConvBottleneckOptions): Autoencoder {
  return buildUpsamplingVsTransposeAutoencoder({ ...options, decoder: "transpose" }, "bottleneck");
}

/**
 * Builds the E6 comparison models: the E3 encoder with either the E3 ConvTranspose decoder or a
 * resize + Conv3x3 decoder (`"nearest"` or `"bilinear"`, PyTorch `align_corners=False`) reaching
 * the same shapes 3 -> 7 -> 14 -> 28 with the same channels, BN, activations and parameter count.
 *
 * @param options Bottleneck size, decoder kind, seed, output activation.
 * @param naming Internal: `"bottleneck"` names a transpose model `conv-bottleneck-d<d>`.
 * @returns The autoencoder (`inputKind: "image"`), named `conv-transpose-d<d>`,
 *   `conv-upsample-nearest-d<d>` or `conv-upsample-bilinear-d<d>`.
 */
export function buildUpsamplingVsTransposeAutoencoder(
  options: UpsamplingVsTransposeOptions,
  naming: "comparison" | "bottleneck" = "comparison",
): Autoencoder {
  const where = "buildUpsamplingVsTransposeAutoencoder";
  const { latentDim, decoder, seed, outputActivation = "sigmoid" } = options;
  checkLatentDim(latentDim, where);
  if (decoder !== "transpose" && decoder !== "nearest" && decoder !== "bilinear") {
    throw new RangeError(
      `${where}: decoder must be "transpose", "nearest" or "bilinear", got ${decoder}`,
    );
  }
  if (outputActivation !== "sigmoid" && outputActivation !== "linear") {
    throw new RangeError(
      `${where}: outputActivation must be "sigmoid" or "linear", got ${outputActivation}`,
    );
  }
  const name = naming === "bottleneck"
    ? `conv-bottleneck-d${latentDim}`
    : decoder === "transpose"
    ? `conv-transpose-d${latentDim}`
    : `conv-upsample-${decoder}-d${latentDim}`;
  const init = paramInit("torch", seed);
  const tfName = name.replaceAll("-", "_");
  const encoder = buildEncoder(latentDim, init, tfName);
  const dec = buildDecoder(latentDim, decoder, outputActivation, init, tfName);
  return composeAutoencoder(name, "image", encoder, dec);
}
