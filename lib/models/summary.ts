/**
 * What a model is, for people and for the run store: {@link modelSummary} lists its layers
 * (nested encoder/decoder models flattened) with output shapes and parameter counts, and
 * {@link modelFingerprint} condenses its layers and initial weights into a short hash.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { createHash } from "node:crypto";
import { escapeHtml, html, type HtmlDisplay } from "../display.ts";

/** One row of a {@link modelSummary}. */
export interface LayerSummaryRow {
  /** Path of the layer, e.g. `encoder/conv2d_1` (nested models joined with `/`). */
  layer: string;
  /** The layer's class, e.g. `TorchConv2D`, `Dense`. */
  type: string;
  /** Output shape without the batch axis, e.g. `[14, 14, 24]`. */
  outputShape: string;
  /** Parameters (trainable and not) of this layer alone. */
  params: number;
}

/** What {@link modelSummary} returns. */
export interface ModelSummary {
  /** The layers in order, nested models flattened (their input layers left out). */
  rows: LayerSummaryRow[];
  /** All parameters (the sum of the rows). */
  total: number;
  /** Trainable parameters. */
  trainable: number;
}

function isModel(layer: tf.layers.Layer): layer is tf.LayersModel {
  return Array.isArray((layer as unknown as { layers?: unknown }).layers);
}

function shapeText(shape: unknown): string {
  if (Array.isArray(shape) && Array.isArray(shape[0])) {
    return shape.map((s) => shapeText(s)).join(", ");
  }
  return `[${(shape as (number | null)[]).slice(1).join(", ")}]`;
}

function countOf(weights: tf.LayerVariable[]): number {
  return weights.reduce((n, w) => n + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
}

/**
 * The layers of a model with output shapes and parameter counts; nested models (an
 * autoencoder's encoder and decoder) are expanded under their name.
 *
 * @param model A tfjs layers model.
 */
export function modelSummary(model: tf.LayersModel): ModelSummary {
  const rows: LayerSummaryRow[] = [];
  const walk = (m: tf.LayersModel, prefix: string) => {
    for (const layer of m.layers) {
      if (isModel(layer)) {
        walk(layer, `${prefix}${layer.name}/`);
        continue;
      }
      if (layer.getClassName() === "InputLayer") continue;
      rows.push({
        layer: `${prefix}${layer.name}`,
        type: layer.getClassName(),
        outputShape: shapeText(layer.outputShape),
        params: countOf(layer.weights),
      });
    }
  };
  walk(model, "");
  return {
    rows,
    total: rows.reduce((n, r) => n + r.params, 0),
    trainable: countOf(model.trainableWeights),
  };
}

/**
 * The summary as a table for a notebook: layer, type, output shape, parameters, and the total.
 *
 * @param model A tfjs layers model.
 * @param title Caption, e.g. the model's name.
 */
export function showModelSummary(model: tf.LayersModel, title = model.name): HtmlDisplay {
  const summary = modelSummary(model);
  const fmt = (n: number) => n.toLocaleString("en-US");
  const body = summary.rows.map((r) =>
    `<tr><td><code>${escapeHtml(r.layer)}</code></td><td>${escapeHtml(r.type)}</td>` +
    `<td>${escapeHtml(r.outputShape)}</td><td style="text-align:right">${fmt(r.params)}</td></tr>`
  ).join("");
  const inputShape = shapeText(model.inputs.map((i) => i.shape)[0]);
  const foot =
    `<tr><th colspan="3" style="text-align:left">total (input ${
      escapeHtml(inputShape)
    }; trainable ${fmt(summary.trainable)})</th>` +
    `<th style="text-align:right">${fmt(summary.total)}</th></tr>`;
  const text = [
    `${title}: ${fmt(summary.total)} parameters (${fmt(summary.trainable)} trainable)`,
    ...summary.rows.map((r) => `  ${r.layer} ${r.type} ${r.outputShape} ${fmt(r.params)}`),
  ].join("\n");
  return html(
    `<table class="mnist-ae-table"><caption>${escapeHtml(title)}: ${
      fmt(summary.total)
    } parameters</caption><thead><tr><th style="text-align:left">layer</th>` +
      `<th style="text-align:left">type</th><th style="text-align:left">output shape</th>` +
      `<th style="text-align:right">parameters</th></tr></thead><tbody>${body}${foot}</tbody>` +
      `</table>`,
    text,
  );
}

/** JSON with sorted keys, so equal structures hash equally. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    return `{${
      Object.keys(obj).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")
    }}`;
  }
  return JSON.stringify(value) ?? "null";
}

function describeLayers(model: tf.LayersModel): unknown[] {
  const position = new Map(model.layers.map((l, i) => [l, i]));
  return model.layers.map((layer) => {
    // Inputs by position, not by auto-numbered name: rebuilding the same model in a notebook
    // (which numbers its layers on) gives the same description.
    const inputs = layer.inboundNodes.map((node) =>
      node.inboundLayers.map((l) => position.get(l) ?? -1)
    );
    if (isModel(layer)) return { class: "Model", layers: describeLayers(layer), inputs };
    const config = { ...layer.getConfig() } as Record<string, unknown>;
    delete config.name;
    return { class: layer.getClassName(), config, inputs };
  });
}

/**
 * The identity of a model as built: each layer's class and configuration (without its
 * auto-numbered name), how the layers connect, and a digest of the current weights (before
 * training: the initialisation scheme and seed). The same model rebuilt gives the same
 * fingerprint; another width, activation, layer order or seed gives another.
 *
 * @param model A tfjs layers model.
 * @returns 16 hex digits.
 */
export function modelFingerprint(model: tf.LayersModel): string {
  const hash = createHash("sha256");
  hash.update(canonicalJson(describeLayers(model)));
  for (const w of model.weights) {
    const values = w.read().dataSync() as Float32Array;
    hash.update((w.shape as number[]).join("x"));
    hash.update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
  return hash.digest("hex").slice(0, 16);
}
