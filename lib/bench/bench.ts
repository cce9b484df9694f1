/**
 * Training-speed benchmark of the model zoo: `deno task bench [--backend B] [--models a,b]
 * [--batches N] [--batch-size 64] [--warmup 2] [--workers 1] [--eager] [--json]`.
 *
 * Each model is built (seed 0), trained for a few warm-up batches that are not timed (kernel
 * set-up, wasm compilation), then for `--batches` timed batches of synthetic data in [0, 1] with
 * Adam and MSE in training mode. Reported per model: milliseconds per batch, samples per second,
 * and the seconds one 60,000-image epoch would take at that rate. The training step is
 * the trainer's (`createTrainingStepper`): on tfjs-node one compiled TensorFlow function per step
 * after three untimed eager ones, or op by op with `--eager`.
 * `--workers N` (N >= 2, wasm or cpu backend) times the data-parallel step of `lib/parallel/`
 * instead: each batch split over the main thread and N - 1 Workers (Worker start-up untimed).
 *
 * `--vs keras,torch` instead compares each model with its Keras 3 and PyTorch twins, taking turns
 * in one run (`[--rounds 3] [--threads 2] [--install-torch]`; `--batches` then counts batches per
 * side per round, default 4; `--vs-torch` is `--vs torch`); see `bench_vs.ts`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { type BackendName, parseBackendName, setupBackend } from "../backend.ts";
import { countTrainableParams, inputShapeOf, zoo } from "../models/mod.ts";
import { mulberry32 } from "../random.ts";
import { createOptimizer, createTrainingStepper, lossFunction } from "../train.ts";
import { warmupSteps } from "../kernels/compiled_step.ts";
import type { DataParallel } from "../parallel/mod.ts";
import { formatVsTable, parseTwinList, runVs, type TwinFramework } from "./bench_vs.ts";

/** Images in one MNIST training epoch. */
export const EPOCH_SAMPLES = 60_000;

/** What to benchmark. */
export interface BenchOptions {
  /** Backend to run on (default: env `AE_BACKEND` or `"auto"`). */
  backend?: BackendName;
  /** Zoo model names (default: all). */
  models?: string[];
  /** Timed batches per model (default 10). */
  batches?: number;
  /** Samples per batch (default 64). */
  batchSize?: number;
  /** Untimed warm-up batches per model (default 2). */
  warmup?: number;
  /** Threads per training step (default 1); >= 2 uses `lib/parallel/`'s data-parallel step. */
  workers?: number;
  /**
   * Run every step op by op (`--eager`), not as one compiled TensorFlow function where tfjs-node
   * allows it (default false: the trainer's default).
   */
  eager?: boolean;
  /** Print the backend line and progress (default true). */
  verbose?: boolean;
}

/** One model's result. */
export interface ModelBenchResult {
  /** Zoo name. */
  model: string;
  /** Trainable parameters. */
  params: number;
  /** Mean wall time of one timed batch (forward, backward, Adam update), in ms. */
  ms_per_batch: number;
  /** Training throughput. */
  samples_per_s: number;
  /** Seconds per 60k-image epoch at that throughput. */
  epoch_s: number;
  /** Loss of the last timed batch (a sanity check that training ran; should be finite). */
  last_loss: number;
  /**
   * How the timed steps ran: "compiled" (one TensorFlow function per step), "eager" (op by op),
   * "data-parallel" (`--workers`).
   */
  step?: string;
  /** Set instead of the timings when the model could not be trained on this backend. */
  error?: string;
}

/** The whole benchmark, as printed with `--json`. */
export interface BenchReport {
  /** Backend that ran it (`setupBackend`'s name). */
  backend: string;
  /** Samples per batch. */
  batch_size: number;
  /** Timed batches per model. */
  batches: number;
  /** Untimed warm-up batches per model. */
  warmup: number;
  /** Threads per training step (1: the plain `optimizer.minimize` step). */
  workers: number;
  /** Per-model results, in the order asked for. */
  models: ModelBenchResult[];
}

function checkCount(value: number, what: string, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`bench: ${what} must be an integer >= ${min}, got ${value}`);
  }
}

/**
 * Times training of one zoo model on the active backend.
 *
 * @param name Zoo model name.
 * @param options Batch size, timed and warm-up batches, threads per step (default 1).
 * @returns Timings (or `error` if a step threw, e.g. a kernel missing on this backend).
 */
export async function benchmarkModel(
  name: string,
  options: {
    batches: number;
    batchSize: number;
    warmup: number;
    workers?: number;
    eager?: boolean;
  },
): Promise<ModelBenchResult> {
  const { batches, batchSize, workers = 1, eager = false } = options;
  // A compiled step's first calls are eager or slow: never timed.
  const warmup = warmupSteps(options.warmup, !eager);
  if (!Object.hasOwn(zoo, name)) {
    throw new RangeError(`bench: unknown model "${name}"; valid: ${Object.keys(zoo).join(", ")}`);
  }
  const model = zoo[name].build(0);
  const params = countTrainableParams(model.autoencoder);
  const shape = [batchSize, ...inputShapeOf(model.inputKind)];
  const size = shape.reduce((a, b) => a * b);
  // A few distinct synthetic batches (made before timing, reused round-robin).
  const random = mulberry32(1);
  const pool = Array.from(
    { length: 3 },
    () => tf.tensor(Float32Array.from({ length: size }, () => random()), shape),
  );
  const optimizer = createOptimizer("adam", 1e-3); // what the trainer uses on this backend
  let parallel: DataParallel | null = null;
  // The trainer's step, compiled into one TensorFlow function on tfjs-node unless `eager`.
  const stepper = createTrainingStepper(model.autoencoder, optimizer, lossFunction("mse"), {
    compile: !eager,
  });
  const step = async (x: tf.Tensor): Promise<number> => {
    if (parallel !== null) return await parallel.step(optimizer, x, x);
    const loss = stepper.step([x, x]);
    // Reading the loss waits for the backend (matters on asynchronous GPU backends).
    const value = (await loss.data())[0];
    loss.dispose();
    return value;
  };
  try {
    if (workers > 1) {
      const { startDataParallel } = await import("../parallel/mod.ts");
      parallel = await startDataParallel(model.autoencoder, { workers, loss: "mse" });
    }
    for (let i = 0; i < warmup; i++) await step(pool[i % pool.length]);
    let lastLoss = NaN;
    const start = performance.now();
    for (let i = 0; i < batches; i++) lastLoss = await step(pool[i % pool.length]);
    const seconds = (performance.now() - start) / 1000;
    const stepMode = parallel !== null ? "data-parallel" : stepper.mode;
    const samplesPerS = (batches * batchSize) / seconds;
    return {
      model: name,
      params,
      ms_per_batch: (seconds * 1000) / batches,
      samples_per_s: samplesPerS,
      epoch_s: EPOCH_SAMPLES / samplesPerS,
      last_loss: lastLoss,
      step: stepMode,
    };
  } catch (err) {
    const message = (err instanceof Error ? err.message : String(err)).split("\n")[0];
    return {
      model: name,
      params,
      ms_per_batch: NaN,
      samples_per_s: NaN,
      epoch_s: NaN,
      last_loss: NaN,
      error: message,
    };
  } finally {
    parallel?.close();
    stepper.dispose();
    tf.dispose(pool);
    optimizer.dispose();
    model.autoencoder.dispose();
  }
}

/**
 * Runs the benchmark over several zoo models on one backend.
 *
 * @param options What to run (see {@link BenchOptions}).
 * @returns The report (also what `--json` prints).
 */
export async function runBench(options: BenchOptions = {}): Promise<BenchReport> {
  const { batches = 10, batchSize = 64, warmup = 2, workers = 1, verbose = true } = options;
  const eager = options.eager ?? false;
  checkCount(batches, "batches", 1);
  checkCount(workers, "workers", 1);
  checkCount(batchSize, "batch size", 1);
  checkCount(warmup, "warmup", 0);
  const models = options.models ?? Object.keys(zoo);
  for (const name of models) {
    if (!Object.hasOwn(zoo, name)) {
      throw new RangeError(`bench: unknown model "${name}"; valid: ${Object.keys(zoo).join(", ")}`);
    }
  }
  const choice = await setupBackend(options.backend, { quiet: true });
  if (verbose) {
    console.error(`backend: ${choice.name} (${choice.reason})`);
  }
  const results: ModelBenchResult[] = [];
  for (const name of models) {
    if (verbose) console.error(`bench: ${name} ...`);
    results.push(await benchmarkModel(name, { batches, batchSize, warmup, workers, eager }));
  }
  return {
    backend: choice.name,
    batch_size: batchSize,
    batches,
    warmup: warmupSteps(warmup, !eager), // what benchmarkModel ran
    workers,
    models: results,
  };
}

/**
 * Formats a report as an aligned text table (one row per model).
 *
 * @param report What {@link runBench} returned.
 * @returns The table, lines joined with `\n`.
 */
export function formatBenchTable(report: BenchReport): string {
  const header = ["model", "params", "ms/batch", "samples/s", "s/epoch(60k)", "loss", "step"];
  const rows = report.models.map((r) =>
    r.error !== undefined ? [r.model, String(r.params), `error: ${r.error}`, "", "", "", ""] : [
      r.model,
      String(r.params),
      r.ms_per_batch.toFixed(1),
      r.samples_per_s.toFixed(0),
      r.epoch_s.toFixed(1),
      r.last_loss.toFixed(4),
      r.step ?? "",
    ]
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ")
      .trimEnd();
  return [
    `backend ${report.backend}, batch size ${report.batch_size}, ${report.batches} timed ` +
    `batches after ${report.warmup} warm-up` +
    (report.workers > 1 ? `, data-parallel over ${report.workers} threads` : ""),
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
  ].join("\n");
}

/**
 * Parses the command line of `deno task bench`.
 *
 * @param args Arguments after the script name.
 * @returns Bench options plus whether to print JSON.
 * @throws on unknown flags or malformed values, naming what was expected.
 */
export function parseBenchArgs(
  args: string[],
): BenchOptions & {
  json: boolean;
  vs: TwinFramework[] | null;
  installTorch: boolean;
  rounds?: number;
  threads?: number;
} {
  const { values } = parseArgs({
    args,
    options: {
      backend: { type: "string" },
      models: { type: "string" },
      batches: { type: "string" },
      "batch-size": { type: "string" },
      warmup: { type: "string" },
      workers: { type: "string" },
      eager: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      vs: { type: "string" },
      "vs-torch": { type: "boolean", default: false },
      "install-torch": { type: "boolean", default: false },
      rounds: { type: "string" },
      threads: { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  const int = (value: string | undefined, what: string): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n)) {
      throw new RangeError(`bench: --${what} must be an integer, got ${value}`);
    }
    return n;
  };
  return {
    backend: values.backend === undefined ? undefined : parseBackendName(values.backend),
    models: values.models?.split(",").map((m) => m.trim()).filter((m) => m !== ""),
    batches: int(values.batches, "batches"),
    batchSize: int(values["batch-size"], "batch-size"),
    warmup: int(values.warmup, "warmup"),
    workers: int(values.workers, "workers"),
    eager: values.eager ?? false,
    json: values.json ?? false,
    vs: values.vs !== undefined ? parseTwinList(values.vs) : values["vs-torch"] ? ["torch"] : null,
    installTorch: values["install-torch"] ?? false,
    rounds: int(values.rounds, "rounds"),
    threads: int(values.threads, "threads"),
  };
}

if (import.meta.main) {
  try {
    const { json, vs, installTorch, rounds, threads, ...options } = parseBenchArgs(Deno.args);
    if (vs !== null) {
      if (options.workers !== undefined && options.workers !== 1) {
        throw new RangeError("bench: --workers applies to the plain benchmark, not --vs");
      }
      const report = await runVs({ ...options, twins: vs, installTorch, rounds, threads });
      console.log(json ? JSON.stringify(report) : formatVsTable(report));
    } else {
      if (rounds !== undefined || threads !== undefined || installTorch) {
        throw new RangeError("bench: --rounds, --threads and --install-torch apply to --vs only");
      }
      const report = await runBench(options);
      console.log(json ? JSON.stringify(report) : formatBenchTable(report));
    }
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    Deno.exit(2);
  }
}
