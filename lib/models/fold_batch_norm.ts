/**
 * Inference with each BatchNorm folded into the dense layer after it.
 *
 * At inference a {@link TorchBatchNorm} is a fixed affine map per channel, `h * s + t`, so a
 * dense layer right after it computes `act((h * s + t) W + b) = act(h W' + b')` with
 * `W' = diag(s) W` and `b' = t W + b`: the normalisation pass disappears. For write-up 002's
 * mlp-bn-10 encoder (Linear, ReLU, BatchNorm blocks) the nine BatchNorms were 5.6 of its 21 ms
 * per 1,000 images on tfjs-node (measured; PyTorch's take 1.5 ms), about two full passes over the
 * activations each. Exact up to float rounding. Only BatchNorm on rows ([N, C]) followed directly
 * by a dense layer folds; a convolution after one would not fold exactly (its zero padding is not
 * shifted).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { applyDense, type DenseParts, denseParts, isDenseLayer } from "./fused_dense.ts";
import { TorchBatchNorm } from "./torch_batch_norm.ts";

/** A model's forward pass for inference with its BatchNorms folded (see the module doc). */
export interface FoldedModel {
  /** The model's output for a batch `x` (one pass, inference mode); the caller disposes it. */
  predict(x: tf.Tensor): tf.Tensor;
  /** How many BatchNorm layers were folded away (0: `predict` is the model's own). */
  folded: number;
  /** Frees the folded weights (the model's own weights are untouched). */
  dispose(): void;
}

/** The model's layers in order when it is a plain chain (each layer feeds only the next). */
function chainOf(model: tf.LayersModel): tf.layers.Layer[] | null {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return null;
  const layers = model.layers.filter((layer) => layer.getClassName() !== "InputLayer");
  let previous: tf.layers.Layer | null = null;
  for (const layer of layers) {
    const nodes = layer.inboundNodes;
    if (nodes.length !== 1 || nodes[0].inboundLayers.length !== 1) return null;
    const source = nodes[0].inboundLayers[0];
    if (previous === null ? source.getClassName() !== "InputLayer" : source !== previous) {
      return null;
    }
    previous = layer;
  }
  if (previous === null || model.outputs[0].sourceLayer !== previous) return null;
  return layers;
}

/**
 * Folds every {@link TorchBatchNorm} that feeds a dense layer on rows into that layer's weights,
 * for inference with the model's current weights.
 *
 * @param model Any model; only a plain chain of layers (a Sequential-like `tf.model`, such as the
 *   zoo's encoders) can fold.
 * @returns The forward pass for inference: folded, or (`folded: 0`, nothing to fold or not a
 *   chain) `model.predict` on the whole batch at once. It holds the weights as they were: fold
 *   again after training.
 */
export function foldBatchNorm(model: tf.LayersModel): FoldedModel {
  const unfolded: FoldedModel = {
    predict: (x) => model.predict(x, { batchSize: Math.max(1, x.shape[0]) }) as tf.Tensor,
    folded: 0,
    dispose: () => {},
  };
  const layers = chainOf(model);
  if (layers === null) return unfolded;
  const steps: ((x: tf.Tensor) => tf.Tensor)[] = [];
  const owned: tf.Tensor[] = [];
  let folded = 0;
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i];
    const next = layers[i + 1];
    const rows = layer.outputShape.length === 2;
    if (layer instanceof TorchBatchNorm && rows && next !== undefined && isDenseLayer(next)) {
      const parts = denseParts(next);
      const { kernel, bias } = tf.tidy(() => {
        const { scale, shift } = layer.inferenceAffine();
        const carried = tf.reshape(tf.matMul(tf.reshape(shift, [1, -1]), parts.kernel), [-1]);
        return {
          kernel: tf.mul(parts.kernel, tf.reshape(scale, [-1, 1])), // diag(s) W
          bias: parts.bias === null ? carried : tf.add(carried, parts.bias), // t W + b
        };
      });
      const merged: DenseParts = { ...parts, kernel, bias };
      owned.push(kernel, bias);
      steps.push((x) => applyDense(x, merged));
      folded++;
      i++; // the dense layer is done
    } else {
      steps.push((x) => layer.apply(x, { training: false }) as tf.Tensor);
    }
  }
  if (folded === 0) return unfolded;
  return {
    predict: (x) => tf.tidy(() => steps.reduce((h, step) => step(h), x)),
    folded,
    dispose: () => tf.dispose(owned),
  };
}
