/**
 * Side-by-side training speed of the model zoo in tfjs and in PyTorch:
 * `deno task bench --vs-torch [--backend B] [--models a,b] [--batches N] [--rounds R]
 * [--batch-size 64] [--warmup 2] [--threads 2] [--json]`.
 *
 * The PyTorch twins of the zoo models live in `tests/reference/torch_reference.py` (identical
 * layers; their trainable parameter counts are checked equal to tfjs' before any timing). Torch
 * runs in one long-lived Debian Python process (`/usr/bin/python3`, package `python3-torch`,
 * installed with apt where missing) that answers JSON commands, so the two frameworks can take
 * turns in one run: for each model, tfjs trains `batches` batches, then torch does, `rounds`
 * times over. Taking turns spreads the noise of a shared machine over both sides; each side's
 * figure is the median of its per-batch times.
 *
 * Both sides train on the same real MNIST batches (the first `batchSize * pool` images of the
 * train file, in file order, scaled to [0, 1]), with Adam (lr 1e-3) and MSE in training mode.
 * Encoder inference is timed on the 10,000 test images in batches of 1,000 (eval mode), passes
 * per side taking turns, median of the passes: at least `rounds` passes, and more (up to
 * {@link MAX_INFERENCE_PASSES}) while both sides together have spent under
 * {@link INFERENCE_BUDGET_S} seconds, because a small encoder's pass is 20-60 ms and three of them
 * moved its ratio by 0.3 between runs (measured).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BackendName, setupBackend } from "../backend.ts";
import { MNIST_FILES, MNIST_PIXELS, resolveMnistDir } from "../data/mnist.ts";
import { readIdxImages } from "../data/idx.ts";
import { createOptimizer } from "../train.ts";
import { countTrainableParams, foldBatchNorm, inputShapeOf, zoo } from "../models/mod.ts";

// Not imported from bench.ts: bench.ts imports this module from its top-level await, and a
// cycle back into it would never resolve.
const EPOCH_SAMPLES = 60_000;

/** Seconds of timed inference passes (both sides) after which no pass beyond `rounds` starts. */
export const INFERENCE_BUDGET_S = 2;

/** Most inference passes per side. */
export const MAX_INFERENCE_PASSES = 15;

/** Debian's Python, which has `python3-torch` (the pyenv `python3` on PATH does not). */
export const DEBIAN_PYTHON = "/usr/bin/python3";

/** The Debian packages that provide PyTorch and a multi-threaded OpenBLAS. */
export const TORCH_APT_PACKAGES: readonly string[] = ["python3-torch", "libopenblas0-pthread"];

/** Path of the PyTorch reference script. */
export const TORCH_REFERENCE_SCRIPT: string = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "tests",
  "reference",
  "torch_reference.py",
);

/** What to compare. */
export interface VsTorchOptions {
  /** tfjs backend (default: env `AE_BACKEND` or `"auto"`). */
  backend?: BackendName;
  /** Zoo model names (default: all). */
  models?: string[];
  /** Timed batches per side per round (default 4). */
  batches?: number;
  /** Rounds of taking turns (default 3). */
  rounds?: number;
  /** Samples per batch (default 64). */
  batchSize?: number;
  /** Untimed warm-up batches per side and model (default 2). */
  warmup?: number;
  /** Torch intra-op threads (default: all cores, `navigator.hardwareConcurrency`; 2 here). */
  threads?: number;
  /** Images for the encoder-inference timing (default 10,000, the test set). */
  inferenceImages?: number;
  /** Batch size of the inference timing (default 1,000). */
  inferenceBatchSize?: number;
  /** Python with torch (default {@link DEBIAN_PYTHON}). */
  python?: string;
  /** Install {@link TORCH_APT_PACKAGES} with apt-get when torch is missing (default true). */
  install?: boolean;
  /** Print progress to stderr (default true). */
  verbose?: boolean;
}

/** One model's training comparison. */
export interface ModelVsTorch {
  /** Zoo name. */
  model: string;
  /** Trainable parameters in tfjs. */
  params: number;
  /** Trainable parameters of the PyTorch twin (equal to `params`, else the run stops). */
  torch_params: number;
  /** tfjs seconds per 60k-image epoch (median batch time x 60000 / batch size). */
  tfjs_epoch_s: number;
  /** PyTorch seconds per 60k-image epoch, likewise. */
  torch_epoch_s: number;
  /** tfjs_epoch_s / torch_epoch_s: how many times slower tfjs is (< 1: faster). */
  ratio: number;
  /** Median tfjs batch time, ms. */
  tfjs_ms_per_batch: number;
  /** Median torch batch time, ms. */
  torch_ms_per_batch: number;
  /** Last tfjs training loss (finite if training ran). */
  tfjs_last_loss: number;
  /** Last torch training loss. */
  torch_last_loss: number;
  /** Set when a side could not train this model; timings are then NaN. */
  error?: string;
}

/** One model's encoder-inference comparison. */
export interface InferenceVsTorch {
  /** Zoo name. */
  model: string;
  /** tfjs seconds to encode all images. */
  tfjs_s: number;
  /** PyTorch seconds to encode all images. */
  torch_s: number;
  /** tfjs_s / torch_s. */
  ratio: number;
  /** Timed passes per side (the times are their medians). */
  passes: number;
}

/** What `runVsTorch` measured (and `--vs-torch --json` prints). */
export interface VsTorchReport {
  /** tfjs backend that ran (`setupBackend`'s name). */
  backend: string;
  /** Samples per training batch. */
  batch_size: number;
  /** Timed batches per side per round. */
  batches: number;
  /** Rounds of taking turns. */
  rounds: number;
  /** Untimed warm-up batches per side. */
  warmup: number;
  /** The PyTorch side: version, threads, BLAS. */
  torch: TorchInfo;
  /** Per-model training comparison. */
  models: ModelVsTorch[];
  /** Encoder inference on the test images. */
  inference: { images: number; batch_size: number; models: InferenceVsTorch[] };
}

/** The PyTorch process' description of itself. */
export interface TorchInfo {
  /** `torch.__version__`. */
  torch: string;
  /** Intra-op threads (`torch.get_num_threads()`). */
  threads: number;
  /** Inter-op threads. */
  interop_threads: number;
  /** Python version. */
  python: string;
  /** BLAS build settings and the BLAS libraries loaded into the process. */
  blas: { config: string[]; loaded: string[] };
  /** Threading environment of the process (unset: null). */
  env: Record<string, string | null>;
}

/** A running torch reference process (see {@link startTorchReference}). */
export interface TorchReference {
  /** Sends one command object, returns the answer; throws with the process' error message. */
  request(command: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Ends the process. */
  close(): Promise<void>;
}

/** Whether `python` can import torch. */
export async function torchAvailable(python: string = DEBIAN_PYTHON): Promise<boolean> {
  try {
    const out = await new Deno.Command(python, {
      args: ["-c", "import torch"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false; // no such python
  }
}

/**
 * Makes sure Debian's Python can import torch, installing {@link TORCH_APT_PACKAGES} with
 * `apt-get` (via `sudo -n` when not root) if not. Measured: about 80 s on a 2-core machine
 * (220 packages).
 *
 * @param python The Python to check.
 * @param log Where progress lines go.
 * @throws with the apt-get output tail if installation fails.
 */
export async function ensureTorch(
  python: string = DEBIAN_PYTHON,
  log: (line: string) => void = (line) => console.error(line),
): Promise<void> {
  if (await torchAvailable(python)) return;
  log(`torch missing for ${python}: apt-get install -y ${TORCH_APT_PACKAGES.join(" ")} ...`);
  const root = Deno.uid?.() === 0;
  const command = root ? "apt-get" : "sudo";
  const args = [...(root ? [] : ["-n", "apt-get"]), "install", "-y", ...TORCH_APT_PACKAGES];
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(command, {
      args,
      env: { DEBIAN_FRONTEND: "noninteractive" },
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (err) {
    throw new Error(`cannot run ${command} to install torch: ${(err as Error).message}`);
  }
  const tail = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ");
  if (!out.success || !(await torchAvailable(python))) {
    throw new Error(
      `installing ${TORCH_APT_PACKAGES.join(" ")} failed (exit ${out.code}): ${tail}; ` +
        `install them by hand (Debian) so that ${python} -c "import torch" works`,
    );
  }
}

/**
 * Trainable parameter counts of every PyTorch twin (`torch_reference.py --params`).
 *
 * @param python Python with torch.
 * @returns Zoo name -> trainable parameters.
 */
export async function torchParamCounts(
  python: string = DEBIAN_PYTHON,
): Promise<Record<string, number>> {
  const out = await new Deno.Command(python, {
    args: [TORCH_REFERENCE_SCRIPT, "--params"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `${TORCH_REFERENCE_SCRIPT} --params failed: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/**
 * Starts `torch_reference.py --serve` with `threads` intra-op threads.
 *
 * `OMP_WAIT_POLICY` defaults to `PASSIVE` (unless set in the environment): with the default
 * spinning OpenMP barriers, 2 torch threads on a 2-core machine that other processes also use
 * ran a dense-64 step in 550-800 ms instead of 6 ms (measured); passive waiting costs nothing
 * measurable on an idle machine and keeps the comparison about the frameworks.
 *
 * @param python Python with torch.
 * @param threads Torch intra-op threads.
 * @returns The process handle; close it when done.
 */
export function startTorchReference(python: string, threads: number): TorchReference {
  const child = new Deno.Command(python, {
    args: [TORCH_REFERENCE_SCRIPT, "--serve", "--threads", String(threads)],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
    env: { OMP_WAIT_POLICY: Deno.env.get("OMP_WAIT_POLICY") ?? "PASSIVE" },
  }).spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const encoder = new TextEncoder();
  let buffered = "";
  const readLine = async (): Promise<string> => {
    while (!buffered.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the torch reference process ended unexpectedly");
      buffered += value;
    }
    const at = buffered.indexOf("\n");
    const line = buffered.slice(0, at);
    buffered = buffered.slice(at + 1);
    return line;
  };
  return {
    async request(command) {
      await writer.write(encoder.encode(JSON.stringify(command) + "\n"));
      const answer = JSON.parse(await readLine()) as Record<string, unknown>;
      if (typeof answer.error === "string") {
        throw new Error(`torch reference (${String(command.cmd)}): ${answer.error}`);
      }
      return answer;
    },
    async close() {
      try {
        await writer.write(encoder.encode(JSON.stringify({ cmd: "quit" }) + "\n"));
        await writer.close();
      } catch {
        // already gone
      }
      await reader.cancel().catch(() => {});
      await child.status;
    },
  };
}

/** The median of a non-empty list. */
export function median(values: number[]): number {
  if (values.length === 0) throw new RangeError("median of an empty list");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function checkCount(value: number, what: string, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`bench --vs-torch: ${what} must be an integer >= ${min}, got ${value}`);
  }
}

/** The tfjs side of one model: a step function over a fixed pool of batches. */
function tfjsTrainer(name: string, pixels: Uint8Array, batchSize: number, pool: number) {
  const model = zoo[name].build(0);
  const shape = [batchSize, ...inputShapeOf(model.inputKind)];
  const size = batchSize * MNIST_PIXELS;
  const batches = Array.from({ length: pool }, (_, i) => {
    const values = Float32Array.from(pixels.subarray(i * size, (i + 1) * size), (v) => v / 255);
    return tf.tensor(values, shape);
  });
  const optimizer = createOptimizer("adam", 1e-3); // what the trainer uses on this backend
  let next = 0;
  let lastLoss = NaN;
  /** Runs `count` steps; returns the seconds of each. */
  const train = async (count: number): Promise<number[]> => {
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const x = batches[next++ % batches.length];
      const start = performance.now();
      const loss = optimizer.minimize(
        () =>
          tf.losses.meanSquaredError(
            x,
            model.autoencoder.apply(x, { training: true }) as tf.Tensor,
          ) as tf.Scalar,
        true,
      );
      // Reading the loss waits for the backend (asynchronous GPU backends).
      lastLoss = (await loss!.data())[0];
      times.push((performance.now() - start) / 1000);
      loss!.dispose();
    }
    return times;
  };
  /**
   * Seconds to encode the first `count` of `images` (eval mode) in batches of `bs`; the input
   * tensors are made before timing, as the torch side reads its images before timing too.
   */
  const infer = async (images: Uint8Array, count: number, bs: number): Promise<number> => {
    const inputs: tf.Tensor[] = [];
    for (let i = 0; i < count; i += bs) {
      const n = Math.min(bs, count - i);
      const values = new Float32Array(n * MNIST_PIXELS);
      for (let j = 0; j < values.length; j++) values[j] = images[i * MNIST_PIXELS + j] / 255;
      inputs.push(tf.tensor(values, [n, ...inputShapeOf(model.inputKind)]));
    }
    try {
      // tfjs-node (and the GPU backends) copy a new tensor's values into the backend on the
      // first op that reads it; untouched, that copy was timed here (4-6 ms per 10,000 images on
      // tfjs-node, measured), while torch's images are in memory before its clock starts.
      for (const x of inputs) {
        const sum = tf.sum(x);
        await sum.data();
        sum.dispose();
      }
      const start = performance.now();
      // What predictFlat does: fold the BatchNorms (timed), one forward pass per batch.
      const forward = foldBatchNorm(model.encoder);
      for (const x of inputs) {
        const out = forward.predict(x);
        await out.data();
        out.dispose();
      }
      forward.dispose();
      return (performance.now() - start) / 1000;
    } finally {
      tf.dispose(inputs);
    }
  };
  const dispose = () => {
    tf.dispose(batches);
    optimizer.dispose();
    model.autoencoder.dispose();
  };
  return {
    params: countTrainableParams(model.autoencoder),
    train,
    infer,
    dispose,
    lastLoss: () => lastLoss,
  };
}

/**
 * Trains every requested zoo model in tfjs and in PyTorch, taking turns, and times encoder
 * inference on both.
 *
 * @param options See {@link VsTorchOptions}.
 * @returns The comparison (see {@link VsTorchReport}).
 * @throws if torch is unavailable, a model name is unknown, or a PyTorch twin's parameter
 *   count differs from tfjs' (the comparison would be meaningless).
 */
export async function runVsTorch(options: VsTorchOptions = {}): Promise<VsTorchReport> {
  const {
    batches = 4,
    rounds = 3,
    batchSize = 64,
    warmup = 2,
    threads = navigator.hardwareConcurrency ?? 2,
    inferenceImages = 10_000,
    inferenceBatchSize = 1_000,
    python = DEBIAN_PYTHON,
    install = true,
    verbose = true,
  } = options;
  checkCount(batches, "batches", 1);
  checkCount(rounds, "rounds", 1);
  checkCount(batchSize, "batch size", 1);
  checkCount(warmup, "warmup", 0);
  checkCount(threads, "threads", 1);
  checkCount(inferenceImages, "inference images", 1);
  checkCount(inferenceBatchSize, "inference batch size", 1);
  if (inferenceImages > 10_000) {
    throw new RangeError(`bench --vs-torch: inference images must be <= 10000 (the test set)`);
  }
  const models = options.models ?? Object.keys(zoo);
  for (const name of models) {
    if (!Object.hasOwn(zoo, name)) {
      throw new RangeError(`bench: unknown model "${name}"; valid: ${Object.keys(zoo).join(", ")}`);
    }
  }
  const log = (line: string) => verbose && console.error(line);
  if (install) await ensureTorch(python, log);
  else if (!(await torchAvailable(python))) {
    throw new Error(
      `${python} cannot import torch; apt-get install ${TORCH_APT_PACKAGES.join(" ")}`,
    );
  }
  const choice = await setupBackend(options.backend, { quiet: true });
  log(`backend: ${choice.name} (${choice.reason})`);

  const dir = resolveMnistDir();
  const trainPath = join(dir, MNIST_FILES.train.images);
  const testPath = join(dir, MNIST_FILES.test.images);
  const pool = Math.min(8, batches * rounds + warmup);
  const trainPixels = (await readIdxImages(trainPath)).pixels;
  const testPixels = (await readIdxImages(testPath)).pixels;
  if (trainPixels.length < pool * batchSize * MNIST_PIXELS) {
    throw new RangeError(`bench --vs-torch: batch size ${batchSize} x ${pool} exceeds MNIST`);
  }

  const torch = startTorchReference(python, threads);
  try {
    const info = (await torch.request({ cmd: "info" })) as unknown as TorchInfo;
    log(`torch ${info.torch}, ${info.threads} threads, BLAS ${info.blas.loaded.join(" ")}`);
    const results: ModelVsTorch[] = [];
    const inference: InferenceVsTorch[] = [];
    for (const name of models) {
      log(`vs torch: ${name} ...`);
      const side = tfjsTrainer(name, trainPixels, batchSize, pool);
      try {
        const setup = await torch.request({
          cmd: "setup",
          model: name,
          batch_size: batchSize,
          pool,
          images: trainPath,
          seed: 0,
        });
        const torchParams = Number(setup.params);
        if (torchParams !== side.params) {
          throw new Error(
            `${name}: the PyTorch twin has ${torchParams} trainable parameters, tfjs ` +
              `${side.params}; fix tests/reference/torch_reference.py`,
          );
        }
        const tfjsTimes: number[] = [];
        const torchTimes: number[] = [];
        let torchLoss = NaN;
        let error: string | undefined;
        try {
          await side.train(warmup);
          await torch.request({ cmd: "train", batches: warmup });
          for (let r = 0; r < rounds; r++) {
            tfjsTimes.push(...await side.train(batches));
            const t = await torch.request({ cmd: "train", batches });
            torchTimes.push(...(t.seconds as number[]));
            torchLoss = Number(t.last_loss);
          }
        } catch (err) {
          error = (err instanceof Error ? err.message : String(err)).split("\n")[0];
          if (error.startsWith("torch reference")) throw err;
        }
        const perEpoch = EPOCH_SAMPLES / batchSize;
        const tfjsBatch = error === undefined ? median(tfjsTimes) : NaN;
        const torchBatch = error === undefined ? median(torchTimes) : NaN;
        results.push({
          model: name,
          params: side.params,
          torch_params: torchParams,
          tfjs_epoch_s: tfjsBatch * perEpoch,
          torch_epoch_s: torchBatch * perEpoch,
          ratio: tfjsBatch / torchBatch,
          tfjs_ms_per_batch: tfjsBatch * 1000,
          torch_ms_per_batch: torchBatch * 1000,
          tfjs_last_loss: side.lastLoss(),
          torch_last_loss: torchLoss,
          ...(error === undefined ? {} : { error }),
        });
        if (error === undefined) {
          // Untimed first pass (kernel set-up for the inference shapes), then `rounds` timed
          // passes taking turns, as in training: one pass over 10,000 images is 20-100 ms, so a
          // single one moved the ratio by up to 2x between runs (measured).
          await side.infer(testPixels, inferenceBatchSize, inferenceBatchSize);
          const command = { cmd: "infer", images: testPath, batch_size: inferenceBatchSize };
          await torch.request({ ...command, n: inferenceBatchSize });
          const tfjsPasses: number[] = [];
          const torchPasses: number[] = [];
          let spent = 0;
          while (
            tfjsPasses.length < rounds ||
            (tfjsPasses.length < MAX_INFERENCE_PASSES && spent < INFERENCE_BUDGET_S)
          ) {
            tfjsPasses.push(await side.infer(testPixels, inferenceImages, inferenceBatchSize));
            const answer = await torch.request({ ...command, n: inferenceImages });
            torchPasses.push(Number(answer.seconds));
            spent += tfjsPasses.at(-1)! + torchPasses.at(-1)!;
          }
          const [tfjsS, torchS] = [median(tfjsPasses), median(torchPasses)];
          inference.push({
            model: name,
            tfjs_s: tfjsS,
            torch_s: torchS,
            ratio: tfjsS / torchS,
            passes: tfjsPasses.length,
          });
        }
      } finally {
        side.dispose();
      }
    }
    return {
      backend: choice.name,
      batch_size: batchSize,
      batches,
      rounds,
      warmup,
      torch: info,
      models: results,
      inference: { images: inferenceImages, batch_size: inferenceBatchSize, models: inference },
    };
  } finally {
    await torch.close();
  }
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
}

/**
 * Formats a {@link VsTorchReport} as two aligned text tables (training, inference).
 *
 * @param report What {@link runVsTorch} returned.
 * @returns The text, lines joined with `\n`.
 */
export function formatVsTorchTable(report: VsTorchReport): string {
  const t = report.torch;
  const training = table(
    ["model", "params", "tfjs s/epoch", "torch s/epoch", "tfjs/torch"],
    report.models.map((r) =>
      r.error !== undefined ? [r.model, String(r.params), `error: ${r.error}`, "", ""] : [
        r.model,
        String(r.params),
        r.tfjs_epoch_s.toFixed(1),
        r.torch_epoch_s.toFixed(1),
        r.ratio.toFixed(2),
      ]
    ),
  );
  const inference = table(
    ["model", "tfjs s", "torch s", "tfjs/torch", "passes"],
    report.inference.models.map((r) => [
      r.model,
      r.tfjs_s.toFixed(3),
      r.torch_s.toFixed(3),
      r.ratio.toFixed(2),
      String(r.passes),
    ]),
  );
  return [
    `tfjs backend ${report.backend} vs PyTorch ${t.torch} (${t.threads} threads, BLAS ` +
    `${t.blas.loaded.map((p) => p.split("/").pop()).join(", ") || "?"}; ` +
    `${t.blas.config.join(" ")}; OMP_WAIT_POLICY=${t.env?.OMP_WAIT_POLICY ?? "unset"})`,
    `training: batch ${report.batch_size}, median of ${report.rounds} x ${report.batches} ` +
    `batches per side taking turns after ${report.warmup} warm-up; seconds per 60k epoch`,
    ...training,
    "",
    `encoder inference: ${report.inference.images} test images in batches of ` +
    `${report.inference.batch_size}, median of the passes per side taking turns (>= ` +
    `${report.rounds}, more while under ${INFERENCE_BUDGET_S} s)`,
    ...inference,
  ].join("\n");
}
