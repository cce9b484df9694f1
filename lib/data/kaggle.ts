/**
 * The Kaggle "Digit Recognizer" CSV layout (write-up 003), generated from MNIST and read back with
 * nodejs-polars, so the CSV path is real and tested.
 *
 * Layout: `train.csv` has a header `label,pixel0,...,pixel783` and one image per row (label 0..9,
 * pixels 0..255); `test.csv` is the same without the `label` column.
 *
 * Which images (deterministic): the 70,000 MNIST images are numbered 0..59,999 (train file, in
 * file order) then 60,000..69,999 (test file). A seeded permutation of these 70,000 numbers
 * (`shuffledIndices(70000, seed)`, seed 0 by default) is taken; `train.csv` holds the first
 * `trainRows` (42,000) of it in that order, `test.csv` the next `testRows` (28,000), without
 * labels. With the defaults the two files hold all 70,000 images exactly once. The same seed
 * always gives byte-identical files.
 *
 * The reader is strict: the header must be exactly the expected columns in order; every row must
 * have exactly as many fields as the header (polars alone silently drops surplus fields, so the
 * reader counts them itself); every cell must be an integer in range. Errors name the file, the
 * row (1 = first data row, i.e. line 2) and the column.
 *
 * @module
 */
import pl from "nodejs-polars";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { shuffledIndices } from "../random.ts";
import {
  MNIST_PIXELS,
  type MnistSet,
  mnistSetFromPixels,
  type Normalization,
  readMnistRaw,
} from "./mnist.ts";

/** A polars DataFrame (the type nodejs-polars' readers return). */
export type KaggleFrame = ReturnType<typeof pl.readCSV>;

/** Which Kaggle file layout: `train` has a `label` column first, `test` does not. */
export type KaggleKind = "train" | "test";

/** Pixel column names `pixel0..pixel783`. */
export const KAGGLE_PIXEL_COLUMNS: readonly string[] = Array.from(
  { length: MNIST_PIXELS },
  (_, i) => `pixel${i}`,
);

/** Rows of the real Kaggle files: 42,000 in train.csv, 28,000 in test.csv. */
export const KAGGLE_ROWS: { readonly train: number; readonly test: number } = {
  train: 42000,
  test: 28000,
};

/** Default directory of the generated CSVs: the repository's `data/`, resolved from this module. */
export const DEFAULT_KAGGLE_DIR: string = fileURLToPath(new URL("../../data/", import.meta.url));

/**
 * The expected header of a Kaggle file.
 *
 * @param kind `train` (with `label`) or `test`.
 */
export function kaggleColumns(kind: KaggleKind): string[] {
  checkKind(kind);
  return kind === "train" ? ["label", ...KAGGLE_PIXEL_COLUMNS] : [...KAGGLE_PIXEL_COLUMNS];
}

/** Raw content of a Kaggle CSV. */
export interface KaggleRaw {
  /** Pixels 0..255, `count * 784`, row-major. */
  pixels: Uint8Array;
  /** Labels 0..9 (train.csv), or null (test.csv has none). */
  labels: Int32Array | null;
  /** Number of rows (images). */
  count: number;
}

/** Options of {@link readKaggleCsv} and {@link readKaggleDataFrame}. */
export interface ReadKaggleOptions {
  /** Which layout the file must have. */
  kind: KaggleKind;
  /** If set, the file must have exactly this many data rows. */
  expectedRows?: number;
}

/** Options of {@link writeKaggleCsvs}. */
export interface WriteKaggleOptions {
  /** Rewrite even when valid files exist (default false). */
  force?: boolean;
  /** Rows of train.csv (default 42,000). */
  trainRows?: number;
  /** Rows of test.csv (default 28,000). `trainRows + testRows` must be at most 70,000. */
  testRows?: number;
  /** Seed of the permutation of the 70,000 images (default 0). */
  seed?: number;
  /** Directory of the MNIST IDX files (see `resolveMnistDir`). */
  mnistDir?: string;
}

/** What {@link writeKaggleCsvs} did. */
export interface WriteKaggleResult {
  /** Path of train.csv. */
  trainPath: string;
  /** Path of test.csv. */
  testPath: string;
  /** False when both files existed with the expected content and were kept. */
  generated: boolean;
  /** Wall-clock seconds the call took (checking or writing). */
  seconds: number;
}

function checkKind(kind: string): asserts kind is KaggleKind {
  if (kind !== "train" && kind !== "test") {
    throw new Error(`Kaggle CSV kind must be "train" or "test", got ${JSON.stringify(kind)}`);
  }
}

const COMMA = 0x2c;
const NEWLINE = 0x0a;
const CR = 0x0d;

/** Checks the header line against the expected columns; returns the header's byte length. */
function checkHeader(bytes: Uint8Array, file: string, kind: KaggleKind): number {
  let end = bytes.indexOf(NEWLINE);
  if (end < 0) end = bytes.length;
  const line = new TextDecoder().decode(bytes.subarray(0, end)).replace(/\r$/, "");
  const got = line.split(",");
  const want = kaggleColumns(kind);
  const wantSet = new Set(want);
  const gotSet = new Set(got);
  const problems: string[] = [];
  const seen = new Set<string>();
  const duplicates = got.filter((c) => seen.has(c) || !seen.add(c));
  if (duplicates.length > 0) problems.push(`duplicate columns ${listNames(duplicates)}`);
  const missing = want.filter((c) => !gotSet.has(c));
  if (missing.length > 0) problems.push(`missing columns ${listNames(missing)}`);
  const extra = got.filter((c) => !wantSet.has(c));
  if (extra.length > 0) {
    const note = kind === "test" && extra.includes("label") ? " (test.csv has no label)" : "";
    problems.push(`extra columns ${listNames(extra)}${note}`);
  }
  if (problems.length === 0) {
    const at = want.findIndex((c, i) => got[i] !== c);
    if (at >= 0) {
      problems.push(
        `misordered columns: column ${at + 1} is ${JSON.stringify(got[at])}, ` +
          `expected ${JSON.stringify(want[at])}`,
      );
    }
  }
  if (problems.length > 0) {
    const expected = kind === "train" ? "label,pixel0..pixel783" : "pixel0..pixel783";
    throw new Error(
      `${file}: bad header: ${problems.join("; ")} (expected ${expected} for ${kind})`,
    );
  }
  return end;
}

function listNames(names: string[]): string {
  const shown = names.slice(0, 5).map((n) => JSON.stringify(n)).join(", ");
  return names.length > 5 ? `${shown} and ${names.length - 5} more` : shown;
}

/**
 * Counts data rows and checks that every one has exactly `fields` comma-separated fields (polars
 * drops surplus fields without a word, so this is checked on the bytes).
 */
function checkRowWidths(bytes: Uint8Array, headerEnd: number, fields: number, file: string) {
  let row = 0;
  let commas = 0;
  let lineStart = headerEnd + 1;
  for (let i = lineStart; i <= bytes.length; i++) {
    const b = i < bytes.length ? bytes[i] : NEWLINE;
    if (b === COMMA) {
      commas++;
    } else if (b === NEWLINE) {
      const length = i - lineStart - (i > lineStart && bytes[i - 1] === CR ? 1 : 0);
      const atEof = i === bytes.length;
      if (!(atEof && i === lineStart)) {
        row++;
        if (length === 0) {
          throw new Error(
            `${file}: row ${row} (line ${row + 1}) is blank, expected ${fields} fields`,
          );
        }
        if (commas + 1 !== fields) {
          throw new Error(
            `${file}: ragged row: row ${row} (line ${row + 1}) has ${commas + 1} fields, ` +
              `expected ${fields} like the header`,
          );
        }
      }
      commas = 0;
      lineStart = i + 1;
    }
  }
  return row;
}

/**
 * Finds the first bad cell by walking the text (only called once polars or a range check has
 * found a problem, to say exactly where it is).
 */
function locateBadCell(bytes: Uint8Array, file: string, kind: KaggleKind): string | null {
  const columns = kaggleColumns(kind);
  const lines = new TextDecoder().decode(bytes).split("\n");
  for (let r = 1; r < lines.length; r++) {
    const line = lines[r].replace(/\r$/, "");
    if (line === "" && r === lines.length - 1) break;
    const cells = line.split(",");
    for (let c = 0; c < cells.length; c++) {
      const name = columns[c];
      const cell = cells[c].trim();
      const where = `${file}: row ${r} (line ${r + 1}), column ${name}`;
      if (cell === "") return `${where}: empty cell, expected an integer`;
      if (!/^[+-]?\d+$/.test(cell)) {
        return `${where}: ${JSON.stringify(cells[c])} is not an integer`;
      }
      const value = Number(cell);
      const max = name === "label" ? 9 : 255;
      if (value < 0 || value > max) return `${where}: ${cell} is outside 0..${max}`;
    }
  }
  return null;
}

async function readFileBytes(file: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(file);
  } catch (e) {
    throw new Error(`${file}: cannot read Kaggle CSV: ${(e as Error).message}`);
  }
}

/** Checks the bytes, then parses the file with polars (every column UInt8) and checks cells. */
function validatedFrame(
  bytes: Uint8Array,
  file: string,
  options: ReadKaggleOptions,
): KaggleFrame {
  const { kind, expectedRows } = options;
  checkKind(kind);
  if (bytes.length === 0) {
    throw new Error(`${file}: empty file, expected a header line and data rows`);
  }
  const headerEnd = checkHeader(bytes, file, kind);
  const columns = kaggleColumns(kind);
  const rows = checkRowWidths(bytes, headerEnd, columns.length, file);
  if (rows === 0) throw new Error(`${file}: no data rows (only a header)`);
  if (expectedRows !== undefined && rows !== expectedRows) {
    throw new Error(`${file}: has ${rows} data rows, expected ${expectedRows}`);
  }
  // Parsing straight into UInt8 makes polars reject non-integers, negatives and values above
  // 255 itself; the text walk below then says where.
  const schema = Object.fromEntries(columns.map((c) => [c, pl.UInt8]));
  const fail = (fallback: string): never => {
    throw new Error(locateBadCell(bytes, file, kind) ?? fallback);
  };
  let frame: KaggleFrame;
  try {
    frame = pl.readCSV(file, { schema, hasHeader: true });
  } catch (e) {
    const first = (e as Error).message.split("\n")[0];
    return fail(`${file}: polars could not parse it: ${first}`);
  }
  if (frame.height !== rows) {
    return fail(`${file}: polars read ${frame.height} rows, the file has ${rows}`);
  }
  const nulls = frame.nullCount().row(0) as number[];
  const empty = nulls.findIndex((n) => Number(n) > 0);
  if (empty >= 0) return fail(`${file}: column ${columns[empty]} has empty cells`);
  if (kind === "train" && Number(frame.getColumn("label").max()) > 9) {
    return fail(`${file}: column label has values outside 0..9`);
  }
  return frame;
}

/**
 * Reads and checks a Kaggle CSV and returns it as a polars DataFrame (all columns UInt8), for
 * notebooks that want to show or query the table. Throws an error naming the file, row and column
 * of the first problem.
 *
 * @param file Path of train.csv or test.csv.
 * @param options `kind` (required) and optional `expectedRows`.
 */
export async function readKaggleDataFrame(
  file: string,
  options: ReadKaggleOptions,
): Promise<KaggleFrame> {
  return validatedFrame(await readFileBytes(file), file, options);
}

/**
 * Converts a checked Kaggle frame (from {@link readKaggleDataFrame}) to raw row-major pixels and
 * labels.
 *
 * @param frame A frame with `pixel0..pixel783` (and `label` for train).
 */
export function kaggleFrameToRaw(frame: KaggleFrame): KaggleRaw {
  const count = frame.height;
  const pixels = new Uint8Array(count * MNIST_PIXELS);
  for (let p = 0; p < MNIST_PIXELS; p++) {
    const column = frame.getColumn(`pixel${p}`).cast(pl.UInt8).toTypedArray() as Uint8Array;
    for (let i = 0, at = p; i < count; i++, at += MNIST_PIXELS) pixels[at] = column[i];
  }
  const labels = frame.columns.includes("label")
    ? Int32Array.from(frame.getColumn("label").cast(pl.Int32).toTypedArray() as Int32Array)
    : null;
  return { pixels, labels, count };
}

/**
 * Reads and checks a Kaggle CSV (see the module doc for what is checked) and returns raw pixels
 * and labels. Throws an error naming the file, and the row and column where possible.
 *
 * @param file Path of train.csv or test.csv.
 * @param options `kind` (required) and optional `expectedRows`.
 */
export async function readKaggleCsv(file: string, options: ReadKaggleOptions): Promise<KaggleRaw> {
  return kaggleFrameToRaw(await readKaggleDataFrame(file, options));
}

/**
 * Turns raw Kaggle content into tensors. test.csv has no labels: its `labels` are all -1.
 *
 * @param raw From {@link readKaggleCsv}.
 * @param normalization Pixel scaling (default `"unit"`).
 */
export function kaggleToMnistSet(raw: KaggleRaw, normalization: Normalization = "unit"): MnistSet {
  const labels = raw.labels ?? new Int32Array(raw.count).fill(-1);
  return mnistSetFromPixels(raw.pixels, labels, normalization);
}

function checkRows(value: number, name: string, max: number): void {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`${name} must be an integer in 1..${max}, got ${value}`);
  }
}

/** The content the two files must have, computed from the IDX files. */
async function expectedKaggleContent(
  trainRows: number,
  testRows: number,
  seed: number,
  mnistDir?: string,
): Promise<{ train: KaggleRaw; test: KaggleRaw }> {
  const a = await readMnistRaw("train", mnistDir);
  const b = await readMnistRaw("test", mnistDir);
  const total = a.count + b.count;
  if (trainRows + testRows > total) {
    throw new RangeError(
      `trainRows + testRows = ${trainRows + testRows} exceeds the ${total} MNIST images`,
    );
  }
  const order = shuffledIndices(total, seed);
  const take = (from: number, n: number, withLabels: boolean): KaggleRaw => {
    const pixels = new Uint8Array(n * MNIST_PIXELS);
    const labels = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const i = order[from + k];
      const [src, at] = i < a.count ? [a, i] : [b, i - a.count];
      pixels.set(src.pixels.subarray(at * MNIST_PIXELS, (at + 1) * MNIST_PIXELS), k * MNIST_PIXELS);
      labels[k] = src.labels[at];
    }
    return { pixels, labels: withLabels ? labels : null, count: n };
  };
  return { train: take(0, trainRows, true), test: take(trainRows, testRows, false) };
}

function rawToFrame(raw: KaggleRaw): KaggleFrame {
  const series = [];
  if (raw.labels) series.push(pl.Series("label", Uint8Array.from(raw.labels)));
  for (let p = 0; p < MNIST_PIXELS; p++) {
    const column = new Uint8Array(raw.count);
    for (let i = 0, at = p; i < raw.count; i++, at += MNIST_PIXELS) column[i] = raw.pixels[at];
    series.push(pl.Series(`pixel${p}`, column));
  }
  return pl.DataFrame(series);
}

async function sameBytes(file: string, want: Uint8Array): Promise<boolean> {
  try {
    if ((await Deno.stat(file)).size !== want.length) return false;
    const have = await Deno.readFile(file);
    for (let i = 0; i < want.length; i++) if (have[i] !== want[i]) return false;
    return true;
  } catch {
    return false; // missing or unreadable: (re)write it
  }
}

async function writeAtomically(bytes: Uint8Array, file: string): Promise<void> {
  const temp = `${file}.tmp-${Deno.pid}-${Date.now()}`;
  try {
    await Deno.writeFile(temp, bytes);
    await Deno.rename(temp, file);
  } catch (e) {
    await Deno.remove(temp).catch(() => {});
    throw new Error(`${file}: cannot write Kaggle CSV: ${(e as Error).message}`);
  }
}

/**
 * Generates `train.csv` and `test.csv` in the Kaggle layout from MNIST (which images: see the
 * module doc; deterministic for a seed). Existing files are kept when they are byte-identical to
 * what would be written (unless `force`), so a stale, partial or edited file is replaced; otherwise each file is written to a temporary
 * name and renamed into place, so a crash never leaves a half-written CSV.
 *
 * @param dir Output directory (default: the repository's `data/`); created if missing.
 * @param options Row counts, seed, force, MNIST directory.
 */
export async function writeKaggleCsvs(
  dir: string = DEFAULT_KAGGLE_DIR,
  options: WriteKaggleOptions = {},
): Promise<WriteKaggleResult> {
  const started = performance.now();
  const trainRows = options.trainRows ?? KAGGLE_ROWS.train;
  const testRows = options.testRows ?? KAGGLE_ROWS.test;
  const seed = options.seed ?? 0;
  checkRows(trainRows, "trainRows", 70000);
  checkRows(testRows, "testRows", 70000);
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const want = await expectedKaggleContent(trainRows, testRows, seed, options.mnistDir);
  const trainPath = path.join(dir, "train.csv");
  const testPath = path.join(dir, "test.csv");
  let generated = false;
  await Deno.mkdir(dir, { recursive: true });
  for (const [kind, file] of [["train", trainPath], ["test", testPath]] as const) {
    const csv = new Uint8Array(rawToFrame(want[kind]).writeCSV());
    if (!options.force && await sameBytes(file, csv)) continue;
    await writeAtomically(csv, file);
    generated = true;
  }
  return { trainPath, testPath, generated, seconds: (performance.now() - started) / 1000 };
}

/** What {@link kaggleCsvFiles} found or made. */
export interface KaggleCsvFiles {
  /** Path of train.csv. */
  trainPath: string;
  /** Path of test.csv. */
  testPath: string;
  /** True when the files are the user's (read and checked, never written). */
  userFiles: boolean;
  /** True when the project's own files were (re)generated by this call. */
  generated: boolean;
  /** Data rows of train.csv and test.csv. */
  rows: { train: number; test: number };
  /** The checked tables (all columns UInt8), so callers need not read the files again. */
  frames: { train: KaggleFrame; test: KaggleFrame };
}

/** True when `dir` is the project's own `data/` directory (where CSVs may be generated). */
export function isProjectKaggleDir(dir: string): boolean {
  const norm = (p: string) => path.resolve(p).replace(/\/+$/, "");
  return norm(dir) === norm(DEFAULT_KAGGLE_DIR);
}

/**
 * The Kaggle CSVs an experiment reads. In the project's own `data/` they are generated from
 * MNIST when missing or stale ({@link writeKaggleCsvs}). Any other directory is the user's: its
 * `train.csv` and `test.csv` (the real Kaggle "Digit Recognizer" files, 42,000 labelled and
 * 28,000 unlabelled rows, or any valid subset) are read and checked, never written, and a
 * missing directory is not created. A bad file is a one-line error naming it and the line.
 *
 * @param dir The directory (default: the project's `data/`).
 * @param options Generation options for the project's own files (seed, MNIST directory).
 * @throws Error naming the file and line of the first problem, or the missing file.
 */
export async function kaggleCsvFiles(
  dir: string = DEFAULT_KAGGLE_DIR,
  options: WriteKaggleOptions = {},
): Promise<KaggleCsvFiles> {
  const trainPath = path.join(dir, "train.csv");
  const testPath = path.join(dir, "test.csv");
  let generated = false;
  const userFiles = !isProjectKaggleDir(dir);
  if (userFiles) {
    const info = await Deno.stat(dir).catch(() => null);
    if (!info?.isDirectory) {
      throw new Error(`kaggleDir ${dir}: no such directory (it must hold train.csv and test.csv)`);
    }
  } else {
    generated = (await writeKaggleCsvs(dir, options)).generated;
  }
  // Checked in full (header, every row's width, every cell) before anything uses them.
  const train = await readKaggleDataFrame(trainPath, { kind: "train" });
  const test = await readKaggleDataFrame(testPath, { kind: "test" });
  return {
    trainPath,
    testPath,
    userFiles,
    generated,
    rows: { train: train.height, test: test.height },
    frames: { train, test },
  };
}

/** One line saying which Kaggle files a run reads and what was done to them. */
export function describeKaggleFiles(csv: KaggleCsvFiles, dir: string): string {
  const rows = `${csv.rows.train} + ${csv.rows.test} rows`;
  if (csv.userFiles) return `reading your Kaggle CSVs in ${dir} (${rows}; checked, not written)`;
  return `Kaggle CSVs ${csv.generated ? "generated from MNIST" : "up to date"} in ${dir} (${rows})`;
}
