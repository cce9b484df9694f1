/**
 * The model zoo: every architecture of the write-ups as an {@link Autoencoder} (encoder, decoder
 * and the autoencoder sharing their weights), plus a named registry.
 *
 * @example
 * ```ts
 * import { buildZooModel } from "./lib/models/mod.ts";
 * const { autoencoder, encoder } = buildZooModel("conv-bottleneck-d2", 42);
 * ```
 *
 * @module
 */
export {
  type Autoencoder,
  composeAutoencoder,
  countAllParams,
  countTrainableParams,
  type InputKind,
  inputShapeOf,
} from "./autoencoder.ts";
export { checkSeed, type Initializer, type InitScheme, type ParamInit, paramInit } from "./init.ts";
export {
  interpolationMatrix,
  Resize2D,
  resize2d,
  type Resize2DArgs,
  type ResizeInterpolation,
} from "./resize_layer.ts";
export { SeededDropout, seededDropout, type SeededDropoutArgs } from "./seeded_dropout.ts";
export { TorchBatchNorm, type TorchBatchNormArgs } from "./torch_batch_norm.ts";
export {
  applyDense,
  DenseLayer,
  type DenseParts,
  denseParts,
  FusedDense,
  fusedDense,
  type FusedDenseArgs,
  isDenseLayer,
} from "./fused_dense.ts";
export { foldBatchNorm, type FoldedModel } from "./fold_batch_norm.ts";
export {
  type LayerSummaryRow,
  modelFingerprint,
  type ModelSummary,
  modelSummary,
  showModelSummary,
} from "./summary.ts";
export { Conv2DLayer, TorchConv2D, type TorchConv2DArgs } from "./torch_conv2d.ts";
export {
  activation,
  torchBatchNorm,
  torchConv2d,
  type TorchConv2dOptions,
  torchConvTranspose2d,
  type TorchConvTranspose2dOptions,
  torchLinear,
} from "./torch_layers.ts";
export { buildCnnBilinearAutoencoder, type CnnBilinearOptions } from "./cnn_bilinear.ts";
export {
  buildConvBottleneckAutoencoder,
  buildUpsamplingVsTransposeAutoencoder,
  type ConvBottleneckOptions,
  type DecoderKind,
  type UpsamplingVsTransposeOptions,
} from "./conv_bottleneck.ts";
export { buildMlpBlocksAutoencoder, type MlpBlocksOptions, mlpHiddenSizes } from "./mlp_blocks.ts";
export { buildDenseCodeAutoencoder, type DenseCodeOptions } from "./dense_code.ts";
export { buildDense64Autoencoder, type Dense64Options } from "./dense64.ts";
export { buildConvUpsamplingAutoencoder, type ConvUpsamplingOptions } from "./conv_upsampling.ts";
export { buildZooModel, zoo, type ZooEntry } from "./zoo.ts";
