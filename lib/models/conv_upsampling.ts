/**
 * E9 (write-up 004): the Keras convolutional (denoising) autoencoder with max-pooling down and
 * nearest-neighbour `UpSampling2D` up.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { TorchConv2D } from "./torch_conv2d.ts";
import { type Autoencoder, composeAutoencoder } from "./autoencoder.ts";
import { paramInit } from "./init.ts";

/** Options of {@link buildConvUpsamplingAutoencoder}. */
export interface ConvUpsamplingOptions {
  /** Integer seed of the initial weights (Keras defaults: Glorot-uniform, zero bias). */
  seed?: number;
}

/**
 * Builds the write-up-004 listing exactly (Keras `'same'` padding, 3x3 kernels):
 *
 * Encoder: Conv(128, relu) + MaxPool(2, same) 28 -> 14; Conv(64, relu) + MaxPool 14 -> 7;
 * Conv(16, relu) + MaxPool(same) 7 -> 4; Conv(16, relu) + MaxPool 4 -> 2; the 2x2x16 map is
 * flattened into the 64-d code (parameter-free, so the model is the listing's).
 *
 * Decoder: reshape 2x2x16; Conv(16, relu) + UpSampling 2 -> 4; Conv(16, relu) + UpSampling
 * 4 -> 8; Conv(64, relu) + UpSampling 8 -> 16; Conv(128, relu, **'valid'**) 16 -> 14 +
 * UpSampling 14 -> 28; Conv(1, sigmoid, same). The one 'valid' convolution is the listing's own
 * (it has no `padding='same'`) and is what turns 16 back into 14 so the output is 28x28.
 *
 * @param options Seed.
 * @returns The autoencoder (`inputKind: "image"`, `latentDim: 64`), named `conv-upsampling`.
 */
export function buildConvUpsamplingAutoencoder(options: ConvUpsamplingOptions = {}): Autoencoder {
  const init = paramInit("keras", options.seed);
  const conv = (
    x: tf.SymbolicTensor,
    filters: number,
    activation: "relu" | "sigmoid",
    padding: "same" | "valid" = "same",
  ) =>
    // 'same' at stride 1 with k = 3 is padding 1 on every side: TorchConv2D is then a 'same'
    // Conv2D, and on tfjs-node it also gets oneDNN's fused bias + ReLU.
    new TorchConv2D({
      filters,
      kernelSize: 3,
      torchPadding: padding === "same" ? 1 : 0,
      activation,
      kernelInitializer: init.kernel(),
      biasInitializer: init.bias(9 * (x.shape[3] as number)),
    }).apply(x) as tf.SymbolicTensor;
  const pool = (x: tf.SymbolicTensor) =>
    tf.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: "same" }).apply(
      x,
    ) as tf.SymbolicTensor;
  const up = (x: tf.SymbolicTensor) =>
    tf.layers.upSampling2d({ size: [2, 2] }).apply(x) as tf.SymbolicTensor;

  const image = tf.input({ shape: [28, 28, 1] });
  let h = image;
  for (const filters of [128, 64, 16, 16]) h = pool(conv(h, filters, "relu"));
  const code = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
  const encoder = tf.model({ inputs: image, outputs: code, name: "conv_upsampling_encoder" });

  const z = tf.input({ shape: [64] });
  let g = tf.layers.reshape({ targetShape: [2, 2, 16] }).apply(z) as tf.SymbolicTensor;
  g = up(conv(g, 16, "relu"));
  g = up(conv(g, 16, "relu"));
  g = up(conv(g, 64, "relu"));
  g = up(conv(g, 128, "relu", "valid"));
  const out = conv(g, 1, "sigmoid");
  const decoder = tf.model({ inputs: z, outputs: out, name: "conv_upsampling_decoder" });
  return composeAutoencoder("conv-upsampling", "image", encoder, decoder);
}
