/**
 * Plotly figures as plain data, and their display in the Deno Jupyter kernel and in
 * standalone HTML pages.
 *
 * A figure is `{ data, layout }` (JSON-able, so runs can save it and re-show it later). The
 * builders here make the project's recurring figures; {@link show} turns a figure into a
 * displayable with two MIME types: `application/vnd.plotly.v1+json` (for frontends that have a
 * Plotly renderer) and `text/html` (a div plus a script that draws it with `window.Plotly`;
 * JupyterLab without extensions and nbconvert's HTML export use this one).
 *
 * `import "plotly.js-dist"` fails in Deno (the bundle expects `window`), so the bundle file is
 * read as text and put into the page: the first figure shown in a kernel session carries it
 * inside `<script data-plotly-bundle="3.7.0">` (gzip + base64, 2.7 MB instead of 11 MB: the
 * Deno kernel corrupts messages that large); later figures wait for `window.Plotly`.
 * Standalone pages ({@link figureToHtmlPage}) carry the plain bundle once in `<head>`.
 * Everything works offline.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import {
  base64Encode,
  type Displayable,
  escapeHtml,
  JUPYTER_DISPLAY,
  type MimeBundle,
} from "./display.ts";
import { toGrayBytes } from "./images.ts";

/** One Plotly trace (plain data; see the plotly.js reference for the keys of each type). */
export interface PlotlyTrace {
  /** Trace type, e.g. "scatter", "bar", "heatmap". */
  type?: string;
  /** Legend name. */
  name?: string;
  /** Any other plotly.js trace attribute. */
  [key: string]: unknown;
}

/** A Plotly layout (plain data). */
export type PlotlyLayout = Record<string, unknown>;

/**
 * Thumbnails a latent scatter shows beside the plot when a point is hovered: grayscale
 * `width` x `height` images as bytes, gzip-compressed then base64 (MNIST: 10k images take
 * about 2.2 MB), in the order of each point's `customdata[1]`.
 */
export interface HoverImages {
  /** Image width in pixels. */
  width: number;
  /** Image height in pixels. */
  height: number;
  /** Number of images in `pixelsBase64`. */
  count: number;
  /** How `pixelsBase64` is packed: gzip of the bytes, then base64. */
  encoding: "gzip+base64";
  /** `count * width * height` grayscale bytes (0 black .. 255 white), gzip, base64. */
  pixelsBase64: string;
}

/** A figure as plain JSON-able data. */
export interface Figure {
  /** The traces. */
  data: PlotlyTrace[];
  /** The layout. */
  layout: PlotlyLayout;
  /** plotly.js config (responsive etc.); default {@link DEFAULT_CONFIG}. */
  config?: Record<string, unknown>;
  /** Optional hover thumbnails (only the HTML rendering uses them). */
  hoverImages?: HoverImages;
}

/** Fixed qualitative palette (d3 category10), colour `i` for digit `i`, so every figure agrees. */
export const DIGIT_COLORS: readonly string[] = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];

/** Colour of a baseline (PCA, mean image) line. */
export const BASELINE_COLOR = "#444444";

/** The plotly.js config used when a figure has none. */
export const DEFAULT_CONFIG: Readonly<Record<string, unknown>> = {
  responsive: true,
  displaylogo: false,
};

/** Attribute that marks the script tag carrying the plotly.js bundle. */
export const PLOTLY_BUNDLE_ATTRIBUTE = "data-plotly-bundle";

/** Default figure height in pixels. */
const DEFAULT_HEIGHT = 420;

/** Milliseconds a figure waits for `window.Plotly` before it says the bundle is missing. */
const PLOTLY_WAIT_MS = 60_000;

// ---------------------------------------------------------------------------------------------
// Small helpers

/** Rounds to `digits` significant digits so figure JSON stays small; NaN/Infinity become null. */
function roundForJson(value: number, digits = 6): number | null {
  if (!Number.isFinite(value)) return null;
  return Number(value.toPrecision(digits));
}

function plainNumbers(values: ArrayLike<number>, digits = 6): (number | null)[] {
  return Array.from(values, (v) => roundForJson(v, digits));
}

function axisTitle(text: string | undefined): Record<string, unknown> {
  // plotly.js 3 dropped the string shorthand for titles: always { text }.
  return text ? { title: { text } } : {};
}

function baseLayout(
  title: string | undefined,
  extra: PlotlyLayout = {},
  height = DEFAULT_HEIGHT,
): PlotlyLayout {
  return {
    ...(title ? { title: { text: title } } : {}),
    height,
    margin: { l: 64, r: 24, t: title ? 56 : 24, b: 56 },
    hovermode: "closest",
    ...extra,
  };
}

function requireArray(value: unknown, what: string, who: string): asserts value is unknown[] {
  if (!Array.isArray(value)) {
    throw new TypeError(`${who}: ${what} must be an array, got ${typeof value}`);
  }
}

function requireSameLength(
  a: ArrayLike<unknown>,
  b: ArrayLike<unknown>,
  what: string,
  who: string,
) {
  if (a.length !== b.length) {
    throw new RangeError(`${who}: ${what} have different lengths (${a.length} vs ${b.length})`);
  }
}

/** Colour for series `i` (palette cycled). */
export function seriesColor(i: number): string {
  return DIGIT_COLORS[((i % DIGIT_COLORS.length) + DIGIT_COLORS.length) % DIGIT_COLORS.length];
}

// ---------------------------------------------------------------------------------------------
// Builders

/** One epoch of a training history (compatible with the trainer's history rows). */
export interface LossPoint {
  /** Epoch number (1-based). */
  epoch: number;
  /** Training loss of the epoch. */
  trainLoss: number;
  /** Validation loss after the epoch; null/undefined when there is none. */
  valLoss?: number | null;
}

/** Options of {@link lossCurves}. */
export interface LossCurveOptions {
  /** Figure title. Default "Loss curves". */
  title?: string;
  /** Y axis title. Default "MSE". */
  yTitle?: string;
  /** Logarithmic y axis. Default false. */
  logY?: boolean;
  /** Mark the epoch with the lowest validation loss. Default true. */
  markBest?: boolean;
  /** Figure height in pixels. */
  height?: number;
}

/**
 * Training (solid) and validation (dashed) loss per epoch, one colour per run.
 *
 * @param runs named histories, e.g. `[{ name: "d=2", history }]`.
 */
export function lossCurves(
  runs: { name: string; history: LossPoint[] }[],
  options: LossCurveOptions = {},
): Figure {
  requireArray(runs, "runs", "lossCurves");
  const data: PlotlyTrace[] = [];
  runs.forEach((run, i) => {
    requireArray(run.history, `runs[${i}].history`, "lossCurves");
    const color = seriesColor(i);
    const epochs = run.history.map((h) => h.epoch);
    data.push({
      type: "scatter",
      mode: "lines+markers",
      name: `${run.name} train`,
      legendgroup: run.name,
      x: epochs,
      y: plainNumbers(run.history.map((h) => h.trainLoss)),
      line: { color, width: 2 },
      marker: { size: 4 },
    });
    const withVal = run.history.filter((h) => h.valLoss !== null && h.valLoss !== undefined);
    if (withVal.length === 0) return;
    data.push({
      type: "scatter",
      mode: "lines+markers",
      name: `${run.name} valid`,
      legendgroup: run.name,
      x: withVal.map((h) => h.epoch),
      y: plainNumbers(withVal.map((h) => h.valLoss as number)),
      line: { color, width: 2, dash: "dash" },
      marker: { size: 4 },
    });
    if (options.markBest ?? true) {
      const best = withVal.reduce((
        a,
        b,
      ) => ((b.valLoss as number) < (a.valLoss as number) ? b : a));
      data.push({
        type: "scatter",
        mode: "markers",
        name: `${run.name} best`,
        legendgroup: run.name,
        showlegend: false,
        x: [best.epoch],
        y: [roundForJson(best.valLoss as number)],
        marker: { color, size: 12, symbol: "star" },
        hovertemplate: `${escapeHtml(run.name)} best epoch %{x}<br>valid %{y}<extra></extra>`,
      });
    }
  });
  return {
    data,
    layout: baseLayout(options.title ?? "Loss curves", {
      xaxis: axisTitle("epoch"),
      yaxis: { ...axisTitle(options.yTitle ?? "MSE"), type: options.logY ? "log" : "linear" },
    }, options.height),
  };
}

/** Options of {@link latentScatter}. */
export interface LatentScatterOptions {
  /** Figure title. */
  title?: string;
  /** Show each point's index in the hover label. Default true. */
  hoverIndex?: boolean;
  /**
   * The images of the points (N * width * height values, [0,1] floats or 0..255 bytes): when
   * given, hovering a point shows its image beside the plot (HTML rendering only). Costs about
   * 220 bytes of page per plotted MNIST point (gzip), so it is refused above `maxHoverImages`
   * plotted points.
   */
  images?: Float32Array | Uint8Array;
  /** Image size [width, height]. Default [28, 28]. */
  imageSize?: [number, number];
  /** Value range of float images. Default [0, 1]. */
  valueRange?: [number, number];
  /** Most points that may carry hover images. Default 5000 (about 1.1 MB for MNIST). */
  maxHoverImages?: number;
  /** Show only these labels (e.g. [0, 1, 6]). Default: all labels present. */
  digits?: number[];
  /** Plot at most this many points, picked evenly through the data (deterministic). */
  maxPoints?: number;
  /** Marker size. Default 4. */
  markerSize?: number;
  /** Marker opacity. Default 0.7. */
  opacity?: number;
  /** Axis titles. Default "z1", "z2". */
  xTitle?: string;
  /** Axis titles. Default "z1", "z2". */
  yTitle?: string;
  /** Same scale on both axes. Default false. */
  equalAxes?: boolean;
  /** Use WebGL ("scattergl"); faster for many points, but browsers cap WebGL contexts per page. */
  webgl?: boolean;
  /** Figure height in pixels. Default 520. */
  height?: number;
}

/**
 * Scatter of 2-D codes coloured by digit: one trace per digit with the fixed
 * {@link DIGIT_COLORS}, so the legend toggles digits. Each point's `customdata` is
 * `[index into codes2d, hover-image slot]`.
 *
 * @param codes2d N*2 values, point i at (codes2d[2i], codes2d[2i+1]).
 * @param labels N integer labels.
 */
export function latentScatter(
  codes2d: Float32Array | ArrayLike<number>,
  labels: ArrayLike<number>,
  options: LatentScatterOptions = {},
): Figure {
  const who = "latentScatter";
  if (codes2d.length % 2 !== 0) {
    throw new RangeError(
      `${who}: codes2d must hold N*2 values (x, y per point), got ${codes2d.length}`,
    );
  }
  const n = codes2d.length / 2;
  if (labels.length !== n) {
    throw new RangeError(`${who}: ${n} points in codes2d but ${labels.length} labels`);
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isInteger(labels[i])) {
      throw new TypeError(`${who}: labels must be integers, labels[${i}] = ${labels[i]}`);
    }
  }
  const wanted = options.digits ? new Set(options.digits) : undefined;
  let chosen: number[] = [];
  for (let i = 0; i < n; i++) if (!wanted || wanted.has(labels[i])) chosen.push(i);
  if (options.maxPoints !== undefined && chosen.length > options.maxPoints) {
    const k = options.maxPoints;
    if (!(k > 0)) throw new RangeError(`${who}: maxPoints must be > 0, got ${k}`);
    chosen = Array.from({ length: k }, (_, j) => chosen[Math.floor((j * chosen.length) / k)]);
  }

  let hoverImages: HoverImages | undefined;
  const slotOf = new Map<number, number>();
  if (options.images) {
    const [w, h] = options.imageSize ?? [28, 28];
    if (options.images.length !== n * w * h) {
      throw new RangeError(
        `${who}: images must hold ${n} images of ${w}x${h} (${
          n * w * h
        } values), got ${options.images.length}`,
      );
    }
    const cap = options.maxHoverImages ?? 5000;
    if (chosen.length > cap) {
      throw new RangeError(
        `${who}: ${chosen.length} points would carry hover images (limit ${cap}); ` +
          `pass maxPoints (e.g. ${cap}) or raise maxHoverImages`,
      );
    }
    const all = toGrayBytes(options.images, options.valueRange);
    const picked = new Uint8Array(chosen.length * w * h);
    chosen.forEach((idx, slot) => {
      picked.set(all.subarray(idx * w * h, (idx + 1) * w * h), slot * w * h);
      slotOf.set(idx, slot);
    });
    hoverImages = {
      width: w,
      height: h,
      count: chosen.length,
      encoding: "gzip+base64",
      pixelsBase64: base64Encode(gzipSync(picked, { level: 6 })),
    };
  }

  const byLabel = new Map<number, number[]>();
  for (const i of chosen) {
    const list = byLabel.get(labels[i]) ?? [];
    list.push(i);
    byLabel.set(labels[i], list);
  }
  const hoverIndex = options.hoverIndex ?? true;
  const data: PlotlyTrace[] = [...byLabel.keys()].sort((a, b) => a - b).map((label) => {
    const idx = byLabel.get(label)!;
    return {
      type: options.webgl ? "scattergl" : "scatter",
      mode: "markers",
      name: String(label),
      x: idx.map((i) => roundForJson(codes2d[2 * i])),
      y: idx.map((i) => roundForJson(codes2d[2 * i + 1])),
      customdata: idx.map((i) => [i, slotOf.get(i) ?? -1]),
      marker: {
        color: seriesColor(label),
        size: options.markerSize ?? 4,
        opacity: options.opacity ?? 0.7,
      },
      hovertemplate: hoverIndex
        ? `digit ${label}<br>index %{customdata[0]}<br>(%{x:.3f}, %{y:.3f})<extra></extra>`
        : `digit ${label}<br>(%{x:.3f}, %{y:.3f})<extra></extra>`,
    };
  });
  const figure: Figure = {
    data,
    layout: baseLayout(options.title, {
      xaxis: { ...axisTitle(options.xTitle ?? "z1"), zeroline: true },
      yaxis: {
        ...axisTitle(options.yTitle ?? "z2"),
        zeroline: true,
        ...(options.equalAxes ? { scaleanchor: "x", scaleratio: 1 } : {}),
      },
      legend: { title: { text: "digit" }, itemsizing: "constant" },
    }, options.height ?? 520),
  };
  if (hoverImages) figure.hoverImages = hoverImages;
  return figure;
}

/** Options of {@link barChart}. */
export interface BarChartOptions {
  /** Figure title. */
  title?: string;
  /** X axis title. */
  xTitle?: string;
  /** Y axis title. */
  yTitle?: string;
  /** "group" (side by side, default) or "stack". */
  barmode?: "group" | "stack" | "overlay";
  /** Print each bar's value on it. Default false. */
  showValues?: boolean;
  /** Figure height in pixels. */
  height?: number;
}

/**
 * Bars per category, one coloured series each (e.g. per-digit counts of train and test).
 * Categories are shown as categories even when they look like numbers ("0".."9").
 */
export function barChart(
  categories: (string | number)[],
  series: { name: string; values: ArrayLike<number> }[],
  options: BarChartOptions = {},
): Figure {
  requireArray(categories, "categories", "barChart");
  requireArray(series, "series", "barChart");
  const x = categories.map(String);
  const data = series.map((s, i): PlotlyTrace => {
    requireSameLength(categories, s.values, `categories and series "${s.name}" values`, "barChart");
    return {
      type: "bar",
      name: s.name,
      x,
      y: plainNumbers(s.values),
      marker: { color: seriesColor(i) },
      ...(options.showValues
        ? { text: plainNumbers(s.values).map(String), textposition: "auto" }
        : {}),
    };
  });
  return {
    data,
    layout: baseLayout(options.title, {
      barmode: options.barmode ?? "group",
      xaxis: { ...axisTitle(options.xTitle), type: "category" },
      yaxis: axisTitle(options.yTitle),
    }, options.height),
  };
}

/** Options of {@link heatmap}. */
export interface HeatmapOptions {
  /** Figure title. */
  title?: string;
  /** X axis title (columns). */
  xTitle?: string;
  /** Y axis title (rows). */
  yTitle?: string;
  /** Plotly colorscale name. Default "Viridis". */
  colorscale?: string;
  /** Print each cell's value. Default true. */
  showValues?: boolean;
  /** d3 format of printed values. Default ".4f". */
  valueFormat?: string;
  /** Colour range; default: data range. */
  zmin?: number;
  /** Colour range; default: data range. */
  zmax?: number;
  /** Title of the colour bar. */
  colorbarTitle?: string;
  /** Figure height in pixels. Default 520. */
  height?: number;
}

/**
 * A matrix as a heatmap, row 0 at the top (as the matrix is written), e.g. train digit (rows)
 * x test digit (columns) MSE.
 *
 * @param matrix rows x columns numbers.
 */
export function heatmap(
  matrix: ArrayLike<number>[],
  xLabels: (string | number)[],
  yLabels: (string | number)[],
  options: HeatmapOptions = {},
): Figure {
  requireArray(matrix, "matrix", "heatmap");
  requireSameLength(matrix, yLabels, "matrix rows and yLabels", "heatmap");
  matrix.forEach((row, r) =>
    requireSameLength(row, xLabels, `matrix row ${r} and xLabels`, "heatmap")
  );
  const showValues = options.showValues ?? true;
  return {
    data: [{
      type: "heatmap",
      z: matrix.map((row) => plainNumbers(row)),
      x: xLabels.map(String),
      y: yLabels.map(String),
      colorscale: options.colorscale ?? "Viridis",
      ...(options.zmin !== undefined ? { zmin: options.zmin } : {}),
      ...(options.zmax !== undefined ? { zmax: options.zmax } : {}),
      ...(showValues ? { texttemplate: `%{z:${options.valueFormat ?? ".4f"}}` } : {}),
      colorbar: options.colorbarTitle ? { title: { text: options.colorbarTitle } } : {},
      hovertemplate: `${escapeHtml(options.yTitle ?? "row")} %{y}, ${
        escapeHtml(options.xTitle ?? "column")
      } %{x}: %{z}<extra></extra>`,
    }],
    layout: baseLayout(options.title, {
      xaxis: { ...axisTitle(options.xTitle), type: "category", side: "bottom" },
      yaxis: { ...axisTitle(options.yTitle), type: "category", autorange: "reversed" },
    }, options.height ?? 520),
  };
}

/** A metric measured at several latent sizes d. */
export interface MetricSeries {
  /** Legend name, e.g. "conv AE". */
  name: string;
  /** (d, value) points; drawn in increasing d. */
  points: { d: number; value: number }[];
}

/** Options of {@link metricVsD}. */
export interface MetricVsDOptions {
  /** A reference line (e.g. PCA at the same d), drawn dashed in {@link BASELINE_COLOR}. */
  baseline?: { name?: string; points: { d: number; value: number }[] };
  /** Figure title. */
  title?: string;
  /** X axis title. Default "latent size d". */
  xTitle?: string;
  /** Y axis title. Default "validation MSE". */
  yTitle?: string;
  /** Logarithmic axes. */
  logY?: boolean;
  /** Logarithmic axes. */
  logX?: boolean;
  /** Figure height in pixels. */
  height?: number;
}

/** A metric against the latent size d, one line per model, plus an optional baseline line. */
export function metricVsD(series: MetricSeries[], options: MetricVsDOptions = {}): Figure {
  requireArray(series, "series", "metricVsD");
  const line = (s: MetricSeries, style: Record<string, unknown>): PlotlyTrace => {
    requireArray(s.points, `points of "${s.name}"`, "metricVsD");
    const sorted = [...s.points].sort((a, b) => a.d - b.d);
    return {
      type: "scatter",
      mode: "lines+markers",
      name: s.name,
      x: sorted.map((p) => p.d),
      y: plainNumbers(sorted.map((p) => p.value)),
      hovertemplate: `${escapeHtml(s.name)}<br>d=%{x}: %{y}<extra></extra>`,
      ...style,
    };
  };
  const data = series.map((s, i) => line(s, { line: { color: seriesColor(i), width: 2 } }));
  if (options.baseline) {
    data.push(line(
      { name: options.baseline.name ?? "PCA", points: options.baseline.points },
      {
        line: { color: BASELINE_COLOR, width: 2, dash: "dash" },
        marker: { symbol: "square", size: 6 },
      },
    ));
  }
  return {
    data,
    layout: baseLayout(options.title, {
      xaxis: {
        ...axisTitle(options.xTitle ?? "latent size d"),
        type: options.logX ? "log" : "linear",
      },
      yaxis: {
        ...axisTitle(options.yTitle ?? "validation MSE"),
        type: options.logY ? "log" : "linear",
      },
    }, options.height),
  };
}

/** One line of {@link lines}. */
export interface LineSeries {
  /** Legend name. */
  name: string;
  /** X values. */
  x: ArrayLike<number>;
  /** Y values (same length as x). */
  y: ArrayLike<number>;
  /** Line dash: "solid" (default), "dash", "dot". */
  dash?: string;
  /** Colour; default: palette by position. */
  color?: string;
  /** Plotly mode. Default "lines". */
  mode?: "lines" | "markers" | "lines+markers";
}

/** Options of {@link lines}. */
export interface LinesOptions {
  /** Figure title. */
  title?: string;
  /** X axis title. */
  xTitle?: string;
  /** Y axis title. */
  yTitle?: string;
  /** Logarithmic axes. */
  logX?: boolean;
  /** Logarithmic axes. */
  logY?: boolean;
  /** Figure height in pixels. */
  height?: number;
}

/** Generic line chart: any number of named (x, y) series. */
export function lines(series: LineSeries[], options: LinesOptions = {}): Figure {
  requireArray(series, "series", "lines");
  const data = series.map((s, i): PlotlyTrace => {
    requireSameLength(s.x, s.y, `x and y of "${s.name}"`, "lines");
    return {
      type: "scatter",
      mode: s.mode ?? "lines",
      name: s.name,
      x: plainNumbers(s.x, 8),
      y: plainNumbers(s.y),
      line: { color: s.color ?? seriesColor(i), width: 2, dash: s.dash ?? "solid" },
    };
  });
  return {
    data,
    layout: baseLayout(options.title, {
      xaxis: { ...axisTitle(options.xTitle), type: options.logX ? "log" : "linear" },
      yaxis: { ...axisTitle(options.yTitle), type: options.logY ? "log" : "linear" },
    }, options.height),
  };
}

// ---------------------------------------------------------------------------------------------
// The plotly.js bundle

let cachedBundle: PlotlyBundle | undefined;
let bundleAlreadyShown = false;

/** Directory of the plotly.js-dist npm package (in the repository's node_modules). */
function plotlyDistDir(): string {
  const candidates: string[] = [];
  // lib/plot.ts -> ../node_modules; notebooks import lib/ by path, so this holds for them too.
  if (import.meta.url.startsWith("file:")) {
    candidates.push(
      path.join(
        path.dirname(fileURLToPath(import.meta.url)),
        "..",
        "node_modules",
        "plotly.js-dist",
      ),
    );
  }
  let dir = Deno.cwd();
  for (let up = 0; up < 6; up++) {
    candidates.push(path.join(dir, "node_modules", "plotly.js-dist"));
    dir = path.dirname(dir);
  }
  for (const candidate of candidates) {
    try {
      if (Deno.statSync(path.join(candidate, "plotly.js")).isFile) return candidate;
    } catch { /* try the next one */ }
  }
  throw new Error(
    `plotly.js bundle not found (looked in ${candidates.join(", ")}); ` +
      "run `deno install` in the repository so node_modules/plotly.js-dist exists",
  );
}

interface PlotlyBundle {
  /** plotly.js version from its package.json. */
  version: string;
  /** Guarded JavaScript that defines window.Plotly (safe inside a <script> element). */
  js: string;
  /** The plain `<script>` tag (about 11 MB). */
  rawTag?: string;
  /** The gzip + base64 `<script>` tag (about 2.7 MB). */
  compressedTag?: string;
}

function loadBundle(): PlotlyBundle {
  if (cachedBundle) return cachedBundle;
  const dir = plotlyDistDir();
  const version = String(JSON.parse(Deno.readTextFileSync(path.join(dir, "package.json"))).version);
  const source = Deno.readTextFileSync(path.join(dir, "plotly.js"))
    // A literal "</script" would end the tag early; "<\/script" means the same in JS.
    .replace(/<\/script/gi, "<\\/script").replace(/<!--/g, "<\\!--");
  // Guarded: a page that already has Plotly keeps it. Local module/exports/define hide any
  // CommonJS/AMD loader of the page, so the UMD wrapper sets window.Plotly.
  const js = `if (typeof window.Plotly === "undefined") {\n` +
    `(function (module, exports, define) {\n${source}\n}).call(window);\n}\n`;
  cachedBundle = { version, js };
  return cachedBundle;
}

/** Version of the plotly.js bundle in node_modules (e.g. "3.7.0"). */
export function plotlyVersion(): string {
  return loadBundle().version;
}

/** Options of {@link plotlyBundleScript}. */
export interface PlotlyBundleOptions {
  /**
   * Ship the bundle gzip-compressed and base64-encoded (about 2.7 MB instead of 11 MB); the
   * browser inflates it with `DecompressionStream` and defines `window.Plotly` asynchronously.
   * {@link show} uses this form, because the Deno kernel (2.9.6) corrupts iopub messages of
   * about 11 MB (clients reject them with "Invalid Signature"). Default false.
   */
  compressed?: boolean;
}

/**
 * The `<script data-plotly-bundle="VERSION">` tag that defines `window.Plotly` (only if the
 * page has none yet): plain JavaScript (about 11 MB, default; works in any browser) or, with
 * `compressed`, gzip + base64 (about 2.7 MB; needs `DecompressionStream`). The report builder
 * uses it to keep exactly one per page.
 */
export function plotlyBundleScript(options: PlotlyBundleOptions = {}): string {
  const bundle = loadBundle();
  if (!options.compressed) {
    bundle.rawTag ??=
      `<script ${PLOTLY_BUNDLE_ATTRIBUTE}="${bundle.version}">\n${bundle.js}</script>`;
    return bundle.rawTag;
  }
  if (!bundle.compressedTag) {
    const packed = base64Encode(gzipSync(new TextEncoder().encode(bundle.js), { level: 9 }));
    // Inflate once per page; a second carrier (e.g. after resetPlotlyBundleState) does nothing.
    bundle.compressedTag = `<script ${PLOTLY_BUNDLE_ATTRIBUTE}="${bundle.version}" ` +
      `data-plotly-encoding="gzip+base64">
(function () {
  if (typeof window.Plotly !== "undefined" || window.__mnistAePlotlyLoading) return;
  if (typeof DecompressionStream === "undefined") {
    console.error("plotly.js bundle: this browser lacks DecompressionStream");
    return;
  }
  window.__mnistAePlotlyLoading = true;
  var packed = "${packed}";
  var binary = atob(packed);
  var bytes = new Uint8Array(binary.length);
  for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  var inflated = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  new Response(inflated).text().then(function (code) {
    var script = document.createElement("script");
    script.textContent = code;
    document.head.appendChild(script);
  }).catch(function (error) {
    window.__mnistAePlotlyLoading = false;
    console.error("plotly.js bundle: could not inflate", error);
  });
})();
</script>`;
  }
  return bundle.compressedTag;
}

/** The JavaScript inside the plain bundle tag (what the compressed tag inflates to). */
export function plotlyBundleJs(): string {
  return loadBundle().js;
}

/**
 * Forgets that the bundle was already shown, so the next {@link show}n figure carries it
 * again (e.g. after clearing a notebook's outputs without restarting the kernel).
 */
export function resetPlotlyBundleState(): void {
  bundleAlreadyShown = false;
}

// ---------------------------------------------------------------------------------------------
// HTML rendering

/** JSON for inside a <script>: no "<" (so no "</script>"), no line separators. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value ?? null).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

let figureCounter = 0;

function newFigureId(): string {
  figureCounter += 1;
  // Random part: ids must not clash with outputs of an earlier kernel session on the page.
  return `mnist-ae-fig-${crypto.randomUUID().slice(0, 8)}-${figureCounter}`;
}

/** Options of {@link figureHtml} and {@link show}. */
export interface FigureHtmlOptions {
  /** Put the plotly.js bundle before the figure. Default (in show): only the first time. */
  includeBundle?: boolean;
  /**
   * Use the gzip + base64 bundle (see {@link plotlyBundleScript}). Default true: kernel
   * messages must stay well under the ~11 MB that the Deno kernel fails to send intact.
   */
  compressedBundle?: boolean;
}

/**
 * The HTML fragment of a figure: a div, and a script that draws it with `window.Plotly` as
 * soon as that exists (polling, so figures may come before the bundle finishes loading).
 */
export function figureHtml(figure: Figure, options: FigureHtmlOptions = {}): string {
  checkFigure(figure, "figureHtml");
  const id = newFigureId();
  const height = typeof figure.layout.height === "number" ? figure.layout.height : DEFAULT_HEIGHT;
  const spec = {
    data: figure.data,
    layout: figure.layout,
    config: figure.config ?? DEFAULT_CONFIG,
  };
  const hover = figure.hoverImages;
  const plotDiv =
    `<div id="${id}" class="mnist-ae-figure" style="width:100%;min-height:${height}px">` +
    `<div class="mnist-ae-figure-note" style="font:12px sans-serif;color:#888;padding:4px">` +
    `Interactive Plotly figure (needs JavaScript; in Jupyter, trust the notebook).</div></div>`;
  const body = hover
    ? `<div style="display:flex;align-items:flex-start;gap:12px">` +
      `<div style="flex:1 1 auto;min-width:0">${plotDiv}</div>` +
      `<div style="flex:0 0 auto;text-align:center;font:12px sans-serif;padding-top:48px">` +
      `<canvas id="${id}-thumb" width="${hover.width}" height="${hover.height}" ` +
      `style="width:${hover.width * 4}px;height:${hover.height * 4}px;image-rendering:pixelated;` +
      `background:#000;border:1px solid #ccc"></canvas>` +
      `<div id="${id}-thumb-caption" style="margin-top:4px">hover a point</div></div></div>`
    : plotDiv;
  const script = `<script>
(function () {
  var id = ${scriptJson(id)};
  var spec = ${scriptJson(spec)};
  var hover = ${scriptJson(hover ?? null)};
  var started = Date.now();
  function attachHover(gd) {
    var canvas = document.getElementById(id + "-thumb");
    var caption = document.getElementById(id + "-thumb-caption");
    if (!canvas || !hover) return;
    var ctx = canvas.getContext("2d");
    var bytes = null;
    if (typeof DecompressionStream === "undefined") {
      caption.textContent = "(thumbnails need DecompressionStream)";
      return;
    }
    var binary = atob(hover.pixelsBase64);
    var packed = new Uint8Array(binary.length);
    for (var b = 0; b < binary.length; b++) packed[b] = binary.charCodeAt(b);
    new Response(new Blob([packed]).stream().pipeThrough(new DecompressionStream("gzip")))
      .arrayBuffer().then(function (buffer) { bytes = new Uint8Array(buffer); });
    gd.on("plotly_hover", function (event) {
      var point = event && event.points && event.points[0];
      if (!bytes || !point || !point.customdata || point.customdata[1] < 0) return;
      var size = hover.width * hover.height, offset = point.customdata[1] * size;
      var image = ctx.createImageData(hover.width, hover.height);
      for (var i = 0; i < size; i++) {
        var v = bytes[offset + i];
        image.data[4 * i] = v; image.data[4 * i + 1] = v; image.data[4 * i + 2] = v;
        image.data[4 * i + 3] = 255;
      }
      ctx.putImageData(image, 0, 0);
      caption.textContent = "digit " + point.data.name + ", index " + point.customdata[0];
    });
  }
  function draw() {
    var el = document.getElementById(id);
    if (!el) return;
    var note = el.querySelector(".mnist-ae-figure-note");
    if (note) note.remove();
    window.Plotly.newPlot(el, spec.data, spec.layout, spec.config).then(attachHover);
  }
  function waitForPlotly() {
    if (window.Plotly) { draw(); return; }
    if (Date.now() - started > ${PLOTLY_WAIT_MS}) {
      var el = document.getElementById(id);
      var note = el && el.querySelector(".mnist-ae-figure-note");
      if (note) note.textContent = "plotly.js is not loaded on this page: re-run the first figure " +
        "cell, or call resetPlotlyBundleState() and show the figure again.";
      return;
    }
    setTimeout(waitForPlotly, 50);
  }
  waitForPlotly();
})();
</script>`;
  const bundle = options.includeBundle
    ? plotlyBundleScript({ compressed: options.compressedBundle ?? true }) + "\n"
    : "";
  return `${bundle}${body}\n${script}`;
}

function checkFigure(figure: Figure, who: string): void {
  if (figure === null || typeof figure !== "object" || !Array.isArray(figure.data)) {
    throw new TypeError(
      `${who}: expected a figure { data: trace[], layout }, got ${typeof figure}`,
    );
  }
  if (figure.layout === null || typeof figure.layout !== "object") {
    throw new TypeError(`${who}: figure.layout must be an object`);
  }
}

function figureTitle(figure: Figure): string {
  const title = figure.layout.title as { text?: string } | string | undefined;
  return (typeof title === "string" ? title : title?.text) ?? "untitled";
}

/** What {@link show} returns: the kernel renders it; `figure` is the plain data. */
export interface FigureDisplay extends Displayable {
  /** The figure shown. */
  figure: Figure;
}

/**
 * Makes a figure displayable in the Deno kernel: a bundle of
 * `application/vnd.plotly.v1+json` ({ data, layout, config }), `text/html` (div + script;
 * the first figure shown in the session also carries the compressed plotly.js bundle) and
 * `text/plain`. The bundle decision is made when the kernel shows it, not when `show` is
 * called.
 *
 * The Deno kernel (2.9.6) sometimes publishes a cell's last-expression result after the cell
 * went idle, and nbconvert/nbclient then drops it; `await display(show(fig))` (a
 * display_data sent while the cell runs) arrives reliably.
 */
export function show(figure: Figure, options: FigureHtmlOptions = {}): FigureDisplay {
  checkFigure(figure, "show");
  return {
    figure,
    [JUPYTER_DISPLAY](): MimeBundle {
      const includeBundle = options.includeBundle ?? !bundleAlreadyShown;
      const fragment = figureHtml(figure, {
        includeBundle,
        compressedBundle: options.compressedBundle,
      });
      if (includeBundle) bundleAlreadyShown = true;
      const plotlyJson = {
        data: figure.data,
        layout: figure.layout,
        config: figure.config ?? DEFAULT_CONFIG,
      };
      const size = fragment.length + JSON.stringify(plotlyJson).length;
      if (size > KERNEL_OUTPUT_WARN_CHARS) {
        console.warn(
          `show: this figure's output is ${(size / 1e6).toFixed(1)} MB; the Deno kernel lost or ` +
            "corrupted outputs of 6 MB and more in our runs. Plot fewer points (maxPoints), " +
            "fewer hover images, or show plotlyBundleDisplay() in an earlier cell.",
        );
      }
      return {
        "application/vnd.plotly.v1+json": plotlyJson,
        "text/html": fragment,
        "text/plain": `Figure: ${figureTitle(figure)} (${figure.data.length} traces)`,
      };
    },
  };
}

/**
 * Output size (characters) above which {@link show} warns: in nbconvert runs against the Deno
 * 2.9.6 kernel, outputs of up to 4 MB arrived, outputs of 6, 8 and 11 MB were lost or
 * rejected ("Invalid Signature").
 */
export const KERNEL_OUTPUT_WARN_CHARS = 4_000_000;

/**
 * Just the (compressed) plotly.js bundle as a displayable, for a notebook's setup cell: after
 * it is shown, figures no longer carry the bundle, which keeps a large first figure (e.g. a
 * scatter with hover images) under the kernel's message size trouble. Renders nothing
 * visible.
 */
export function plotlyBundleDisplay(): Displayable {
  return {
    [JUPYTER_DISPLAY](): MimeBundle {
      bundleAlreadyShown = true;
      return {
        "text/html": plotlyBundleScript({ compressed: true }),
        "text/plain": `plotly.js ${plotlyVersion()} (offline bundle for the figures below)`,
      };
    },
  };
}

/** Something {@link figureToHtmlPage} can put on a page: a figure, or an HTML fragment. */
export type PageItem = Figure | string | { html: string };

/**
 * A standalone HTML page (works offline) with the plotly.js bundle once in <head> and the
 * items in order: figures are drawn, strings and `{ html }` objects (e.g. image grids) are
 * inserted as HTML.
 */
export function figureToHtmlPage(items: PageItem[], title: string): string {
  requireArray(items, "items", "figureToHtmlPage");
  const sections = items.map((item, i) => {
    if (typeof item === "string") return `<section>${item}</section>`;
    if ("data" in item) {
      checkFigure(item, `figureToHtmlPage (item ${i})`);
      return `<section>${figureHtml(item, { includeBundle: false })}</section>`;
    }
    if (typeof item.html === "string") return `<section>${item.html}</section>`;
    throw new TypeError(
      `figureToHtmlPage: item ${i} is neither a figure, an HTML string nor { html }`,
    );
  });
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 1100px; padding: 0 16px; }
section { margin: 24px 0; }
table.mnist-ae-table { border-collapse: collapse; }
table.mnist-ae-table td, table.mnist-ae-table th { border: 1px solid #ddd; padding: 2px 8px; }
</style>
${plotlyBundleScript()}
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${sections.join("\n")}
</body>
</html>
`;
}

/** Writes {@link figureToHtmlPage} to `filePath` (creating its directory). */
export async function saveFigurePage(
  filePath: string,
  items: PageItem[],
  title: string,
): Promise<void> {
  await Deno.mkdir(path.dirname(filePath), { recursive: true });
  await Deno.writeTextFile(filePath, figureToHtmlPage(items, title));
}
