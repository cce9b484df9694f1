/**
 * E2 (write-up 000): CNN autoencoder with a 256-d embedding and a bilinear resize in the decoder.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type Autoencoder, composeAutoencoder } from "./autoencoder.ts";
import { paramInit } from "./init.ts";
import { resize2d } from "./resize_layer.ts";
import { torchConv2d, torchConvTranspose2d, torchLinear } from "./torch_layers.ts";

/** Options of {@link buildCnnBilinearAutoencoder}. */
export interface CnnBilinearOptions {
  /** Integer seed of the initial weights (PyTorch default init); undefined: unseeded. */
  seed?: number;
  /** Embedding size (default 256, as in the write-up). */
  latentDim?: number;
  /**
   * Activation of the last layer (default `"linear"`: the write-up lists no output activation and
   * trains with MSE).
   */
  outputActivation?: "linear" | "sigmoid";
}

/**
 * Builds the write-up-000 autoencoder (PyTorch arithmetic, NHWC layout):
 *
 * Encoder (`[N,28,28,1]` -> `[N,256]`), three times `Conv3x3(s1,p1) + ReLU + MaxPool2` with
 * floor pooling: 28x28x1 -> 14x14x24 -> 7x7x48 -> 3x3x96; Flatten (864); Dense 864 -> 256.
 *
 * Decoder (`[N,256]` -> `[N,28,28,1]`): Dense 256 -> 864 + ReLU, reshape 3x3x96;
 * `ConvTranspose(k3, s2, p1, op1)` + ReLU three times: 6x6x48 -> 12x12x24 -> 24x24x12; bilinear
 * resize (PyTorch `align_corners=False`) to 28x28x12; Conv3x3(p1) -> 28x28x1.
 *
 * The write-up names the layers and shapes but not the decoder's activations; ReLU after each
 * hidden decoder layer is the usual choice and is used here. The embedding itself is linear.
 *
 * @param options Seed, embedding size, output activation.
 * @returns The autoencoder (`inputKind: "image"`).
 */
export function buildCnnBilinearAutoencoder(options: CnnBilinearOptions = {}): Autoencoder {
  const { seed, latentDim = 256, outputActivation = "linear" } = options;
  if (!Number.isInteger(latentDim) || latentDim < 1) {
    throw new RangeError(`buildCnnBilinearAutoencoder: latentDim must be >= 1, got ${latentDim}`);
  }
  const init = paramInit("torch", seed);

  const image = tf.input({ shape: [28, 28, 1] });
  let h = image;
  for (const filters of [24, 48, 96]) {
    h = torchConv2d(h, { filters, kernelSize: 3, stride: 1, padding: 1, activation: "relu" }, init);
    h = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: "valid" }).apply(
      h,
    ) as tf.SymbolicTensor;
  }
  h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
  const embedding = torchLinear(h, latentDim, init);
  const encoder = tf.model({ inputs: image, outputs: embedding, name: "cnn_bilinear_encoder" });

  const code = tf.input({ shape: [latentDim] });
  let g = torchLinear(code, 3 * 3 * 96, init, "relu");
  g = tf.layers.reshape({ targetShape: [3, 3, 96] }).apply(g) as tf.SymbolicTensor;
  for (const filters of [48, 24, 12]) {
    g = torchConvTranspose2d(g, {
      filters,
      kernelSize: 3,
      stride: 2,
      padding: 1,
      outputPadding: 1,
      activation: "relu",
    }, init);
  }
  g = resize2d({ height: 28, width: 28, interpolation: "bilinear" }).apply(g) as tf.SymbolicTensor;
  const out = torchConv2d(g, {
    filters: 1,
    kernelSize: 3,
    stride: 1,
    padding: 1,
    activation: outputActivation,
  }, init);
  const decoder = tf.model({ inputs: code, outputs: out, name: "cnn_bilinear_decoder" });
  return composeAutoencoder("cnn-bilinear", "image", encoder, decoder);
}
