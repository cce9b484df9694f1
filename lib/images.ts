/**
 * Grids of small grayscale images (digits, reconstructions, noisy inputs, decoded latent
 * planes) as PNG, shown in Jupyter with real-text labels.
 *
 * Each grid is one PNG (for `image/png`, and for saving to a run directory) plus an HTML
 * rendering in which row labels and per-image captions are text and the images are small
 * PNG data URIs scaled up with pixelated rendering. PNGs are encoded with `fast-png`.
 * No tfjs here: decoders are passed in as plain functions.
 *
 * @module
 */

import { encode } from "fast-png";
import * as path from "node:path";
import { base64Encode, type Displayable, escapeHtml, JUPYTER_DISPLAY } from "./display.ts";

/** Images as a flat array, image after image, row-major: floats in a value range, or bytes. */
export type ImageArray = Float32Array | Float64Array | Uint8Array | Uint8ClampedArray;

/** Side length of an MNIST image. */
export const MNIST_SIDE = 28;

/**
 * Grayscale bytes (0 black .. 255 white) of images. Byte arrays are taken as 0..255 and
 * returned as they are; float arrays are mapped from `valueRange` (default [0, 1]) and
 * clipped. A float array whose values go above 2 without an explicit `valueRange` is refused
 * (it almost surely holds 0..255 values: pass `[0, 255]`).
 */
export function toGrayBytes(images: ImageArray, valueRange?: [number, number]): Uint8Array {
  if (images instanceof Uint8Array) return images;
  if (images instanceof Uint8ClampedArray) {
    return new Uint8Array(images.buffer, images.byteOffset, images.length);
  }
  if (!(images instanceof Float32Array || images instanceof Float64Array)) {
    throw new TypeError(
      "images must be a Float32Array, Float64Array, Uint8Array or Uint8ClampedArray",
    );
  }
  const [lo, hi] = valueRange ?? [0, 1];
  if (!(hi > lo)) {
    throw new RangeError(`valueRange must be [low, high] with high > low, got [${lo}, ${hi}]`);
  }
  const out = new Uint8Array(images.length);
  const scale = 255 / (hi - lo);
  for (let i = 0; i < images.length; i++) {
    const v = images[i];
    if (valueRange === undefined && v > 2) {
      throw new RangeError(
        `image value ${v} at index ${i} is outside [0, 1]; for 0..255 floats pass valueRange [0, 255]`,
      );
    }
    // NaN maps to 0 (black) instead of poisoning the PNG.
    const byte = Math.round((v - lo) * scale);
    out[i] = byte > 255 ? 255 : byte > 0 ? byte : 0;
  }
  return out;
}

/** Number of `width` x `height` images in a flat array; throws if it does not divide evenly. */
export function imageCount(
  images: ArrayLike<number>,
  width = MNIST_SIDE,
  height = width,
  who = "images",
): number {
  const size = width * height;
  if (images.length % size !== 0) {
    throw new RangeError(
      `${who}: length ${images.length} is not a whole number of ${width}x${height} images (${size} values each)`,
    );
  }
  return images.length / size;
}

/** Encodes 8-bit grayscale pixels (row-major, `width * height` bytes) as PNG. */
export function encodeGrayPng(pixels: Uint8Array, width: number, height: number): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`PNG size must be positive integers, got ${width}x${height}`);
  }
  if (pixels.length !== width * height) {
    throw new RangeError(
      `expected ${width * height} pixels for ${width}x${height}, got ${pixels.length}`,
    );
  }
  return encode({ width, height, data: pixels, channels: 1, depth: 8 });
}

/** `data:image/png;base64,...` of PNG bytes. */
export function pngDataUri(png: Uint8Array): string {
  return `data:image/png;base64,${base64Encode(png)}`;
}

/** Writes PNG bytes to `filePath`, creating its directory. */
export async function savePng(filePath: string, png: Uint8Array): Promise<void> {
  await Deno.mkdir(path.dirname(filePath), { recursive: true });
  await Deno.writeFile(filePath, png);
}

/** A rendered grid: one PNG plus an HTML view with text labels; the kernel displays it. */
export interface ImageGrid extends Displayable {
  /** The whole grid as one PNG (no text in it). */
  png: Uint8Array;
  /** PNG width in pixels. */
  width: number;
  /** PNG height in pixels. */
  height: number;
  /** HTML fragment with the images and their labels as text. */
  html: string;
  /** Plain-text description (the `text/plain` fallback). */
  text: string;
  /** Writes the PNG to `filePath` (creating its directory). */
  savePng(filePath: string): Promise<void>;
}

function makeGrid(
  png: Uint8Array,
  width: number,
  height: number,
  fragment: string,
  text: string,
): ImageGrid {
  return {
    png,
    width,
    height,
    html: fragment,
    text,
    savePng: (filePath: string) => savePng(filePath, png),
    [JUPYTER_DISPLAY]: () => ({
      "image/png": base64Encode(png),
      "text/html": fragment,
      "text/plain": text,
    }),
  };
}

/** Copies image `index` of `source` (side w x h) into `canvas` at (x0, y0), upscaled `scale` times. */
function blit(
  canvas: Uint8Array,
  canvasWidth: number,
  source: Uint8Array,
  index: number,
  w: number,
  h: number,
  x0: number,
  y0: number,
  scale: number,
): void {
  const offset = index * w * h;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = source[offset + y * w + x];
      for (let dy = 0; dy < scale; dy++) {
        const row = (y0 + y * scale + dy) * canvasWidth + x0 + x * scale;
        canvas.fill(v, row, row + scale);
      }
    }
  }
}

/** One row of an {@link imageGrid}: a label, its images and optional captions per image. */
export interface ImageRow {
  /** Row label, e.g. "original", "reconstruction", "noisy". */
  label: string;
  /** n images, image after image ([0,1] floats or 0..255 bytes). */
  images: ImageArray;
  /** n captions (e.g. digit labels), shown under the images in the HTML view. */
  captions?: (string | number)[];
}

/** Options of {@link imageGrid}. */
export interface ImageGridOptions {
  /** Integer upscaling of every image. Default 2. */
  scale?: number;
  /** Most images per line; longer rows wrap. Default: the longest row. */
  maxCols?: number;
  /** Pixels between images in the PNG. Default 2. */
  gap?: number;
  /** Gray level of the gaps and background (0..255). Default 255 (white). */
  background?: number;
  /** [width, height] of each image. Default [28, 28]. */
  imageSize?: [number, number];
  /** Value range of float images. Default [0, 1]. */
  valueRange?: [number, number];
  /** Title shown above the grid. */
  title?: string;
}

/**
 * Rows of images (e.g. original / reconstruction / noisy) as one PNG and an HTML table whose
 * row labels and per-image captions are text. In the PNG, images are separated by `gap`
 * pixels (also the outer margin) and different rows by three times that.
 */
export function imageGrid(rows: ImageRow[], options: ImageGridOptions = {}): ImageGrid {
  if (!Array.isArray(rows) || rows.length === 0) {
    throw new RangeError(
      "imageGrid: rows must be a non-empty array of { label, images, captions? }",
    );
  }
  const [w, h] = options.imageSize ?? [MNIST_SIDE, MNIST_SIDE];
  const scale = options.scale ?? 2;
  const gap = options.gap ?? 2;
  const background = options.background ?? 255;
  if (!Number.isInteger(scale) || scale < 1) {
    throw new RangeError(`imageGrid: scale must be an integer >= 1, got ${scale}`);
  }
  if (!Number.isInteger(gap) || gap < 0) {
    throw new RangeError(`imageGrid: gap must be an integer >= 0, got ${gap}`);
  }

  const prepared = rows.map((row, r) => {
    const who = `imageGrid row ${r} ("${row.label}")`;
    const n = imageCount(row.images, w, h, who);
    if (row.captions && row.captions.length !== n) {
      throw new RangeError(`${who}: ${n} images but ${row.captions.length} captions`);
    }
    return {
      label: String(row.label),
      n,
      bytes: toGrayBytes(row.images, options.valueRange),
      captions: row.captions,
    };
  });
  const longest = Math.max(...prepared.map((p) => p.n));
  if (longest === 0) throw new RangeError("imageGrid: every row is empty");
  const cols = Math.max(1, Math.min(options.maxCols ?? longest, longest));
  if (options.maxCols !== undefined && !(options.maxCols >= 1)) {
    throw new RangeError(`imageGrid: maxCols must be >= 1, got ${options.maxCols}`);
  }

  // Layout: every row takes ceil(n / cols) lines (at least one, so empty rows keep their place).
  const cellW = w * scale;
  const cellH = h * scale;
  const lineCounts = prepared.map((p) => Math.max(1, Math.ceil(p.n / cols)));
  const totalLines = lineCounts.reduce((a, b) => a + b, 0);
  const width = cols * cellW + (cols + 1) * gap;
  const rowGap = gap * 3; // wider between rows than between the lines of one row
  const height = totalLines * cellH + (totalLines - prepared.length) * gap + 2 * gap +
    (prepared.length - 1) * rowGap;
  const canvas = new Uint8Array(width * height).fill(background);
  let y = gap;
  prepared.forEach((p, r) => {
    for (let line = 0; line < lineCounts[r]; line++) {
      for (let c = 0; c < cols; c++) {
        const index = line * cols + c;
        if (index >= p.n) break;
        blit(canvas, width, p.bytes, index, w, h, gap + c * (cellW + gap), y, scale);
      }
      y += cellH + (line < lineCounts[r] - 1 ? gap : 0);
    }
    y += rowGap;
  });
  const png = encodeGrayPng(canvas, width, height);

  // HTML: one small PNG per image (upscaled by the browser, pixelated), labels as text.
  const imgStyle =
    `image-rendering:pixelated;display:block;margin:0 auto;max-width:none;width:${cellW}px;height:${cellH}px`;
  const tableRows: string[] = [];
  prepared.forEach((p, r) => {
    for (let line = 0; line < lineCounts[r]; line++) {
      const cells: string[] = [];
      if (line === 0) {
        cells.push(
          `<th rowspan="${
            lineCounts[r]
          }" style="text-align:right;vertical-align:middle;padding:2px 8px;` +
            `font-weight:600;white-space:nowrap">${escapeHtml(p.label)}</th>`,
        );
      }
      for (let c = 0; c < cols; c++) {
        const index = line * cols + c;
        if (index >= p.n) break;
        const single = encodeGrayPng(p.bytes.subarray(index * w * h, (index + 1) * w * h), w, h);
        const caption = p.captions
          ? `<div style="font:11px monospace;text-align:center;line-height:1.3">${
            escapeHtml(String(p.captions[index]))
          }</div>`
          : "";
        cells.push(
          `<td style="padding:1px;vertical-align:top;text-align:center">` +
            `<img src="${pngDataUri(single)}" width="${cellW}" height="${cellH}" alt="${
              escapeHtml(p.label)
            } ${index}" style="${imgStyle}">` +
            `${caption}</td>`,
        );
      }
      tableRows.push(`<tr>${cells.join("")}</tr>`);
    }
  });
  const title = options.title
    ? `<figcaption style="font-weight:600;margin-bottom:4px">${
      escapeHtml(options.title)
    }</figcaption>`
    : "";
  const fragment = `<figure class="mnist-ae-grid" style="margin:4px 0">${title}` +
    `<table style="border-collapse:collapse;width:auto;margin:0"><tbody>${
      tableRows.join("")
    }</tbody></table></figure>`;
  const text =
    `${options.title ? options.title + ": " : ""}image grid ${width}x${height} px, rows: ` +
    prepared.map((p) => `${p.label} (${p.n})`).join(", ");
  return makeGrid(png, width, height, fragment, text);
}

/** The plane of a 2-D latent grid: `steps` points per axis over a range per axis. */
export interface LatentPlaneOptions {
  /** Range of both axes (overridden per axis by xRange / yRange). Default [-3, 3]. */
  range?: [number, number];
  /** Range of z1 (left to right). */
  xRange?: [number, number];
  /** Range of z2 (bottom to top). */
  yRange?: [number, number];
  /** Points per axis. Default 15. */
  steps?: number;
}

function planeAxes(options: LatentPlaneOptions): { xs: number[]; ys: number[] } {
  const steps = options.steps ?? 15;
  if (!Number.isInteger(steps) || steps < 1) {
    throw new RangeError(`latent plane: steps must be an integer >= 1, got ${steps}`);
  }
  const axis = ([lo, hi]: [number, number]) =>
    Array.from(
      { length: steps },
      (_, i) => (steps === 1 ? (lo + hi) / 2 : lo + ((hi - lo) * i) / (steps - 1)),
    );
  const range = options.range ?? [-3, 3];
  const xs = axis(options.xRange ?? range);
  // Top line of the image is the largest z2, as on a plot's y axis.
  const ys = axis(options.yRange ?? range).reverse();
  return { xs, ys };
}

/**
 * Codes of the latent plane, line by line from the top-left: m = steps^2 codes, code k at
 * (codes[2k], codes[2k+1]) = (z1, z2), z1 growing to the right, z2 growing upwards.
 */
export function latentPlaneCodes(options: LatentPlaneOptions = {}): Float32Array {
  const { xs, ys } = planeAxes(options);
  const codes = new Float32Array(xs.length * ys.length * 2);
  let k = 0;
  for (const z2 of ys) {
    for (const z1 of xs) {
      codes[k++] = z1;
      codes[k++] = z2;
    }
  }
  return codes;
}

/** Options of {@link latentGrid}. */
export interface LatentGridOptions extends LatentPlaneOptions {
  /** Integer upscaling. Default 1 (15 x 28 = 420 px wide). */
  scale?: number;
  /** [width, height] of each decoded image. Default [28, 28]. */
  imageSize?: [number, number];
  /** Value range of float images. Default [0, 1]. */
  valueRange?: [number, number];
  /** Title shown above the image. */
  title?: string;
}

/**
 * Decoded images over a 2-D latent plane as one PNG (no gaps, like the classic VAE figure).
 *
 * @param decode maps m codes (m*2 values, from {@link latentPlaneCodes}) to m images.
 */
export function latentGrid(
  decode: (codes: Float32Array) => ImageArray,
  options: LatentGridOptions = {},
): ImageGrid {
  const codes = latentPlaneCodes(options);
  return latentGridFromImages(decode(codes), options);
}

/**
 * Like {@link latentGrid} for images already decoded (e.g. by an async decoder) from
 * `latentPlaneCodes(options)`.
 */
export function latentGridFromImages(
  images: ImageArray,
  options: LatentGridOptions = {},
): ImageGrid {
  const { xs, ys } = planeAxes(options);
  const [w, h] = options.imageSize ?? [MNIST_SIDE, MNIST_SIDE];
  const scale = options.scale ?? 1;
  if (!Number.isInteger(scale) || scale < 1) {
    throw new RangeError(`latentGrid: scale must be an integer >= 1, got ${scale}`);
  }
  const m = imageCount(images, w, h, "latentGrid decoded images");
  if (m !== xs.length * ys.length) {
    throw new RangeError(
      `latentGrid: expected ${xs.length * ys.length} decoded images (steps^2), got ${m}`,
    );
  }
  const bytes = toGrayBytes(images, options.valueRange);
  const width = xs.length * w * scale;
  const height = ys.length * h * scale;
  const canvas = new Uint8Array(width * height);
  for (let r = 0; r < ys.length; r++) {
    for (let c = 0; c < xs.length; c++) {
      blit(canvas, width, bytes, r * xs.length + c, w, h, c * w * scale, r * h * scale, scale);
    }
  }
  const png = encodeGrayPng(canvas, width, height);
  const f = (v: number) => Number(v.toPrecision(3)).toString();
  const axes = `z1 from ${f(xs[0])} (left) to ${f(xs[xs.length - 1])} (right), ` +
    `z2 from ${f(ys[0])} (top) to ${
      f(ys[ys.length - 1])
    } (bottom), ${xs.length}x${ys.length} codes`;
  const title = options.title
    ? `<div style="font-weight:600">${escapeHtml(options.title)}</div>`
    : "";
  const fragment = `<figure class="mnist-ae-latent-grid" style="margin:4px 0">` +
    `<img src="${
      pngDataUri(png)
    }" width="${width}" height="${height}" alt="decoded latent plane" ` +
    `style="image-rendering:pixelated;max-width:none">` +
    `<figcaption style="font-size:12px">${title}${escapeHtml(axes)}</figcaption></figure>`;
  return makeGrid(
    png,
    width,
    height,
    fragment,
    `${options.title ? options.title + ": " : ""}decoded latent plane, ${axes}`,
  );
}

/** Options of {@link digitSampleGrid}. */
export interface DigitSampleOptions {
  /** Images per line. Default 10. */
  cols?: number;
  /** Index of the first image shown. Default 0. */
  start?: number;
  /** Show exactly these indices instead of `start .. start+count-1`. */
  indices?: number[];
  /** Integer upscaling. Default 2. */
  scale?: number;
  /** Value range of float images. Default [0, 1]. */
  valueRange?: [number, number];
  /** Title shown above the grid. */
  title?: string;
}

/**
 * A grid of dataset images with their labels as captions (dataset overview, E1). Lines of
 * `cols` images, each line labelled by its index range.
 *
 * @param pixels N*784 values ([0,1] floats or 0..255 bytes).
 * @param labels N labels.
 * @param count how many images to show.
 */
export function digitSampleGrid(
  pixels: ImageArray,
  labels: ArrayLike<number>,
  count: number,
  options: DigitSampleOptions = {},
): ImageGrid {
  const n = imageCount(pixels, MNIST_SIDE, MNIST_SIDE, "digitSampleGrid pixels");
  if (labels.length !== n) {
    throw new RangeError(`digitSampleGrid: ${n} images but ${labels.length} labels`);
  }
  const start = options.start ?? 0;
  const indices = options.indices ?? Array.from({ length: count }, (_, i) => start + i);
  if (options.indices && options.indices.length !== count) {
    throw new RangeError(
      `digitSampleGrid: count is ${count} but ${options.indices.length} indices were given`,
    );
  }
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= n) {
      throw new RangeError(`digitSampleGrid: index ${i} is outside 0..${n - 1}`);
    }
  }
  const cols = options.cols ?? 10;
  const size = MNIST_SIDE * MNIST_SIDE;
  const rows: ImageRow[] = [];
  for (let from = 0; from < indices.length; from += cols) {
    const part = indices.slice(from, from + cols);
    const images = new Uint8Array(part.length * size);
    // Convert only the shown images (the dataset may be 60k images).
    part.forEach((idx, j) =>
      images.set(
        toGrayBytes(pixels.subarray(idx * size, (idx + 1) * size), options.valueRange),
        j * size,
      )
    );
    const label = options.indices
      ? `#${from + 1}-${from + part.length}`
      : `${part[0]}-${part[part.length - 1]}`;
    rows.push({ label, images, captions: part.map((idx) => labels[idx]) });
  }
  return imageGrid(rows, {
    scale: options.scale ?? 2,
    maxCols: cols,
    gap: 2,
    title: options.title,
  });
}
