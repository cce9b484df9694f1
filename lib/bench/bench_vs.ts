/**
 * Side-by-side training speed of the model zoo in tfjs and in other frameworks:
 * `deno task bench --vs keras,torch [--backend B] [--models a,b] [--batches N] [--rounds R]
 * [--batch-size 64] [--warmup 2] [--threads 2] [--json]` (`--vs-torch` is `--vs torch`).
 *
 * The twins of the zoo models live in `tests/reference/`: `keras_reference.py` (Keras 3 on
 * TensorFlow) and `torch_reference.py` (PyTorch), with identical layers; their trainable
 * parameter counts are checked equal to tfjs' before any timing. Each twin runs in one
 * long-lived Python process that answers JSON commands, so the frameworks take turns in one run:
 * for each model, tfjs trains `batches` batches, then each twin does, `rounds` times over.
 * Taking turns spreads the noise of a shared machine over all sides; each side's figure is the
 * median of its per-batch times.
 *
 * Where the twins come from (installed on first use, so the bench works on a fresh machine):
 * - **keras**: {@link KERAS_PACKAGES} from PyPI into the project's `.venv` (~280 MB).
 * - **torch**: PyTorch 2 from the `.venv` where it is installed ({@link TORCH_PACKAGE}, ~7 GB
 *   with its CUDA wheels: `deno task bench --vs torch --install-torch` installs it, nothing does
 *   so unasked); otherwise Debian's `python3-torch` (1.13), installed with apt, as the fallback.
 *
 * Every side trains on the same real MNIST batches (the first `batchSize * pool` images of the
 * train file, in file order, scaled to [0, 1]), with Adam (lr 1e-3) and MSE in training mode.
 * Encoder inference is timed on the 10,000 test images in batches of 1,000 (eval mode), passes
 * per side taking turns, median of the passes: at least `rounds` passes, and more (up to
 * {@link MAX_INFERENCE_PASSES}) while all sides together have spent under
 * {@link INFERENCE_BUDGET_S} seconds per twin, because a small encoder's pass is 20-60 ms and
 * three of them moved its ratio by 0.3 between runs (measured).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BackendName, setupBackend } from "../backend.ts";
import { MNIST_FILES, MNIST_PIXELS, resolveMnistDir, unitPixels } from "../data/mnist.ts";
import { readIdxImages } from "../data/idx.ts";
import { createOptimizer, createTrainingStepper, lossFunction } from "../train.ts";
import { warmupSteps } from "../kernels/compiled_step.ts";
import { countTrainableParams, foldBatchNorm, inputShapeOf, zoo } from "../models/mod.ts";
import { REPO_ROOT } from "../paths.ts";

// Not imported from bench.ts, which imports this module (no cycle).
const EPOCH_SAMPLES = 60_000;

/** Seconds of timed inference passes per twin after which no pass beyond `rounds` starts. */
export const INFERENCE_BUDGET_S = 2;

/** Most inference passes per side. */
export const MAX_INFERENCE_PASSES = 15;

/** The frameworks a twin can be written in. */
export type TwinFramework = "keras" | "torch";

/** All of them, in the order of the tables. */
export const TWIN_FRAMEWORKS: readonly TwinFramework[] = ["keras", "torch"];

/** Debian's Python, which has `python3-torch` (the fallback torch). */
export const DEBIAN_PYTHON = "/usr/bin/python3";

/** The Debian packages that provide PyTorch and a multi-threaded OpenBLAS. */
export const TORCH_APT_PACKAGES: readonly string[] = ["python3-torch", "libopenblas0-pthread"];

/** The project's Python environment, where the PyPI twins are installed. */
export const VENV_PYTHON: string = join(REPO_ROOT, ".venv", "bin", "python");

/** The pinned PyPI packages of the Keras twin: the newest TensorFlow CPU build and Keras 3. */
export const KERAS_PACKAGES: readonly string[] = ["tensorflow-cpu==2.21.0", "keras==3.15.1"];

/** The pinned PyPI PyTorch 2 (pulls ~7 GB of CUDA wheels; installed only when asked). */
export const TORCH_PACKAGE = "torch==2.15.0";

const REFERENCE_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "tests",
  "reference",
);

/** Path of each twin's reference script. */
export const REFERENCE_SCRIPTS: Readonly<Record<TwinFramework, string>> = {
  keras: join(REFERENCE_DIR, "keras_reference.py"),
  torch: join(REFERENCE_DIR, "torch_reference.py"),
};

/** Path of the PyTorch reference script. */
export const TORCH_REFERENCE_SCRIPT: string = REFERENCE_SCRIPTS.torch;

/** Where a twin runs: its framework and the Python that has it. */
export interface TwinSpec {
  /** Framework of the twin. */
  framework: TwinFramework;
  /** Python interpreter that imports it. */
  python: string;
}

/** What to compare. */
export interface VsOptions {
  /** The twins, in order (default: keras and torch). */
  twins?: readonly TwinFramework[];
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
  /** Intra-op threads of the twins (default: all cores, `navigator.hardwareConcurrency`). */
  threads?: number;
  /** Images for the encoder-inference timing (default 10,000, the test set). */
  inferenceImages?: number;
  /** Batch size of the inference timing (default 1,000). */
  inferenceBatchSize?: number;
  /** Run tfjs's steps op by op instead of as one compiled function (default false). */
  eager?: boolean;
  /** Install what a twin lacks: the Keras packages, Debian's torch (default true). */
  install?: boolean;
  /** Also install PyTorch 2 into `.venv` when it is not there (default false: ~7 GB). */
  installTorch?: boolean;
  /** Print progress to stderr (default true). */
  verbose?: boolean;
}

/** One side's training timing of one model. */
export interface SideTiming {
  /** Seconds per 60k-image epoch (median batch time x 60000 / batch size). */
  epoch_s: number;
  /** Median batch time, ms. */
  ms_per_batch: number;
  /** Last training loss (finite if training ran). */
  last_loss: number;
}

/** A twin's training timing, with its parameter count and tfjs' ratio to it. */
export interface TwinTiming extends SideTiming {
  /** Trainable parameters of the twin (equal to tfjs', else the run stops). */
  params: number;
  /** tfjs epoch_s / twin epoch_s: how many times slower tfjs is (< 1: faster). */
  ratio: number;
}

/** One model's training comparison. */
export interface ModelVs {
  /** Zoo name. */
  model: string;
  /** Trainable parameters in tfjs. */
  params: number;
  /** The tfjs side. */
  tfjs: SideTiming;
  /** Each twin, by framework. */
  twins: Partial<Record<TwinFramework, TwinTiming>>;
  /** Set when tfjs could not train this model; timings are then NaN. */
  error?: string;
}

/** One model's encoder-inference comparison. */
export interface InferenceVs {
  /** Zoo name. */
  model: string;
  /** tfjs seconds to encode all images. */
  tfjs_s: number;
  /** Each twin's seconds and tfjs' ratio to it. */
  twins: Partial<Record<TwinFramework, { s: number; ratio: number }>>;
  /** Timed passes per side (the times are their medians). */
  passes: number;
}

/** A twin process' description of itself (what its `info` command answers). */
export interface TwinInfo {
  /** Framework of the twin. */
  framework: TwinFramework;
  /** The Python that ran it. */
  python_path: string;
  /** Everything else the process said: versions, threads, BLAS, XLA. */
  [key: string]: unknown;
}

/** What `runVs` measured (and `--vs ... --json` prints). */
export interface VsReport {
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
  /** The twins that ran, in order. */
  twins: TwinInfo[];
  /** Per-model training comparison. */
  models: ModelVs[];
  /** Encoder inference on the test images. */
  inference: { images: number; batch_size: number; models: InferenceVs[] };
}

/** A running twin process (see {@link startReference}). */
export interface ReferenceProcess {
  /** Sends one command object, returns the answer; throws with the process' error message. */
  request(command: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Ends the process. */
  close(): Promise<void>;
}

/** Whether `python` can run `code` (e.g. `"import torch"`); false when there is no such python. */
export async function pythonCan(python: string, code: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(python, {
      args: ["-c", code],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** Whether `python` can import torch. */
export function torchAvailable(python: string = DEBIAN_PYTHON): Promise<boolean> {
  return pythonCan(python, "import torch");
}

async function runLogged(command: string, args: string[], what: string, env = {}): Promise<void> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(command, { args, env, stdout: "piped", stderr: "piped" })
      .output();
  } catch (err) {
    throw new Error(`${what}: cannot run ${command}: ${(err as Error).message}`);
  }
  if (!out.success) {
    const tail = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ");
    throw new Error(`${what} failed (exit ${out.code}): ${tail}`);
  }
}

/** Creates the project's `.venv` with `python3 -m venv` where it does not exist yet. */
async function ensureVenv(log: (line: string) => void): Promise<void> {
  if (existsSync(VENV_PYTHON)) return;
  const base = Deno.env.get("AE_PYTHON") ?? "python3";
  log(`creating .venv with ${base} ...`);
  await runLogged(base, ["-m", "venv", join(REPO_ROOT, ".venv")], "creating .venv");
}

/** pip-installs `packages` into the project's `.venv`. */
async function pipInstall(packages: readonly string[], log: (line: string) => void) {
  await ensureVenv(log);
  log(`pip install ${packages.join(" ")} into .venv ...`);
  await runLogged(
    VENV_PYTHON,
    ["-m", "pip", "install", "--disable-pip-version-check", "-q", ...packages],
    `pip install ${packages.join(" ")}`,
  );
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
  try {
    await runLogged(command, args, "apt-get install", { DEBIAN_FRONTEND: "noninteractive" });
  } catch (err) {
    throw new Error(
      `${(err as Error).message}; install ${TORCH_APT_PACKAGES.join(" ")} by hand (Debian) so ` +
        `that ${python} -c "import torch" works`,
    );
  }
  if (!(await torchAvailable(python))) {
    throw new Error(`${python} still cannot import torch after installing it`);
  }
}

/**
 * Finds (and where allowed installs) the Python of a twin: see the module doc.
 *
 * @param framework Which twin.
 * @param options `install` (default true), `installTorch` (default false), `log`.
 * @returns Where the twin runs.
 * @throws where the framework is missing and may not be installed, or installing fails.
 */
export async function resolveTwin(
  framework: TwinFramework,
  options: { install?: boolean; installTorch?: boolean; log?: (line: string) => void } = {},
): Promise<TwinSpec> {
  const { install = true, installTorch = false, log = (line) => console.error(line) } = options;
  if (framework === "keras") {
    const code = "import keras, tensorflow";
    if (!(await pythonCan(VENV_PYTHON, code))) {
      if (!install) {
        throw new Error(`.venv lacks Keras: pip install ${KERAS_PACKAGES.join(" ")} into .venv`);
      }
      await pipInstall(KERAS_PACKAGES, log);
    }
    return { framework, python: VENV_PYTHON };
  }
  if (await torchAvailable(VENV_PYTHON)) return { framework, python: VENV_PYTHON };
  if (installTorch) {
    await pipInstall([TORCH_PACKAGE], log);
    return { framework, python: VENV_PYTHON };
  }
  log(
    `PyTorch 2 is not in .venv (--install-torch installs ${TORCH_PACKAGE}, ~7 GB): ` +
      `using Debian's python3-torch`,
  );
  if (install) await ensureTorch(DEBIAN_PYTHON, log);
  else if (!(await torchAvailable(DEBIAN_PYTHON))) {
    throw new Error(
      `${DEBIAN_PYTHON} cannot import torch; apt-get install ${TORCH_APT_PACKAGES.join(" ")}`,
    );
  }
  return { framework, python: DEBIAN_PYTHON };
}

/**
 * Trainable parameter counts of every twin of a framework (`<script> --params`).
 *
 * @param twin Where the twin runs.
 * @returns Zoo name -> trainable parameters.
 */
export async function referenceParamCounts(twin: TwinSpec): Promise<Record<string, number>> {
  const script = REFERENCE_SCRIPTS[twin.framework];
  const out = await new Deno.Command(twin.python, {
    args: [script, "--params"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`${script} --params failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/**
 * Starts a twin's `<script> --serve` with `threads` intra-op threads.
 *
 * `OMP_WAIT_POLICY` defaults to `PASSIVE` (unless set in the environment): with the default
 * spinning OpenMP barriers, 2 torch threads on a 2-core machine that other processes also use
 * ran a dense-64 step in 550-800 ms instead of 6 ms (measured); passive waiting costs nothing
 * measurable on an idle machine and keeps the comparison about the frameworks.
 *
 * @param twin Where the twin runs.
 * @param threads Intra-op threads.
 * @returns The process handle; close it when done.
 */
export function startReference(twin: TwinSpec, threads: number): ReferenceProcess {
  const child = new Deno.Command(twin.python, {
    args: [REFERENCE_SCRIPTS[twin.framework], "--serve", "--threads", String(threads)],
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
      if (done) throw new Error(`the ${twin.framework} reference process ended unexpectedly`);
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
        throw new Error(`${twin.framework} reference (${String(command.cmd)}): ${answer.error}`);
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

/**
 * Parses `--vs`'s list (`"keras,torch"`).
 *
 * @throws RangeError naming the valid frameworks for an unknown or empty entry.
 */
export function parseTwinList(text: string): TwinFramework[] {
  const names = text.split(",").map((s) => s.trim());
  const out: TwinFramework[] = [];
  for (const name of names) {
    if (!(TWIN_FRAMEWORKS as readonly string[]).includes(name)) {
      throw new RangeError(
        `bench: --vs takes a list of ${TWIN_FRAMEWORKS.join(", ")}; got "${name}"`,
      );
    }
    if (!out.includes(name as TwinFramework)) out.push(name as TwinFramework);
  }
  return out;
}

/** The median of a non-empty list. */
export function median(values: number[]): number {
  if (values.length === 0) throw new RangeError("median of an empty list");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The tfjs side of one model: a step function over a fixed pool of batches. */
function tfjsTrainer(
  name: string,
  pixels: Uint8Array,
  batchSize: number,
  pool: number,
  eager: boolean,
) {
  const model = zoo[name].build(0);
  const shape = [batchSize, ...inputShapeOf(model.inputKind)];
  const size = batchSize * MNIST_PIXELS;
  const batches = Array.from({ length: pool }, (_, i) => {
    const values = unitPixels(pixels.subarray(i * size, (i + 1) * size));
    return tf.tensor(values, shape);
  });
  const optimizer = createOptimizer("adam", 1e-3); // what the trainer uses on this backend
  // The trainer's step: one compiled TensorFlow function on tfjs-node unless `eager`.
  const stepper = createTrainingStepper(model.autoencoder, optimizer, lossFunction("mse"), {
    compile: !eager,
  });
  let next = 0;
  let lastLoss = NaN;
  /** Runs `count` steps; returns the seconds of each. */
  const train = async (count: number): Promise<number[]> => {
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const x = batches[next++ % batches.length];
      const start = performance.now();
      const loss = stepper.step([x, x]);
      // Reading the loss waits for the backend (asynchronous GPU backends).
      lastLoss = (await loss.data())[0];
      times.push((performance.now() - start) / 1000);
      loss.dispose();
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
    stepper.dispose();
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
    stepMode: () => stepper.mode,
  };
}

function checkCount(value: number, what: string, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`bench --vs: ${what} must be an integer >= ${min}, got ${value}`);
  }
}

const NO_TIMING: SideTiming = { epoch_s: NaN, ms_per_batch: NaN, last_loss: NaN };

/**
 * Trains every requested zoo model in tfjs and in each twin, taking turns, and times encoder
 * inference on all of them.
 *
 * @param options See {@link VsOptions}.
 * @returns The comparison (see {@link VsReport}).
 * @throws if a twin is unavailable, a model name is unknown, or a twin's parameter count differs
 *   from tfjs' (the comparison would be meaningless).
 */
export async function runVs(options: VsOptions = {}): Promise<VsReport> {
  const {
    twins: frameworks = TWIN_FRAMEWORKS,
    batches = 4,
    rounds = 3,
    batchSize = 64,
    warmup = 2,
    threads = navigator.hardwareConcurrency ?? 2,
    inferenceImages = 10_000,
    inferenceBatchSize = 1_000,
    install = true,
    installTorch = false,
    verbose = true,
    eager = false,
  } = options;
  checkCount(batches, "batches", 1);
  checkCount(rounds, "rounds", 1);
  checkCount(batchSize, "batch size", 1);
  checkCount(warmup, "warmup", 0);
  checkCount(threads, "threads", 1);
  checkCount(inferenceImages, "inference images", 1);
  checkCount(inferenceBatchSize, "inference batch size", 1);
  if (frameworks.length === 0) throw new RangeError("bench --vs: no twin to compare with");
  if (inferenceImages > 10_000) {
    throw new RangeError(`bench --vs: inference images must be <= 10000 (the test set)`);
  }
  const models = options.models ?? Object.keys(zoo);
  for (const name of models) {
    if (!Object.hasOwn(zoo, name)) {
      throw new RangeError(`bench: unknown model "${name}"; valid: ${Object.keys(zoo).join(", ")}`);
    }
  }
  const log = (line: string) => verbose && console.error(line);
  const specs: TwinSpec[] = [];
  for (const framework of frameworks) {
    specs.push(await resolveTwin(framework, { install, installTorch, log }));
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
    throw new RangeError(`bench --vs: batch size ${batchSize} x ${pool} exceeds MNIST`);
  }

  const processes = specs.map((spec) => ({ spec, process: startReference(spec, threads) }));
  try {
    const infos: TwinInfo[] = [];
    for (const { spec, process } of processes) {
      const info = await process.request({ cmd: "info" });
      infos.push({ ...info, framework: spec.framework, python_path: spec.python });
      log(`${spec.framework}: ${JSON.stringify(info)}`);
    }
    const results: ModelVs[] = [];
    const inference: InferenceVs[] = [];
    const perEpoch = EPOCH_SAMPLES / batchSize;
    const timing = (times: number[], loss: number): SideTiming => {
      const batch = median(times);
      return { epoch_s: batch * perEpoch, ms_per_batch: batch * 1000, last_loss: loss };
    };
    for (const name of models) {
      log(`vs ${frameworks.join(", ")}: ${name} ...`);
      const side = tfjsTrainer(name, trainPixels, batchSize, pool, eager);
      try {
        const twinParams: number[] = [];
        for (const { spec, process } of processes) {
          const setup = await process.request({
            cmd: "setup",
            model: name,
            batch_size: batchSize,
            pool,
            images: trainPath,
            seed: 0,
          });
          const params = Number(setup.params);
          if (params !== side.params) {
            throw new Error(
              `${name}: the ${spec.framework} twin has ${params} trainable parameters, tfjs ` +
                `${side.params}; fix ${REFERENCE_SCRIPTS[spec.framework]}`,
            );
          }
          twinParams.push(params);
        }
        const tfjsTimes: number[] = [];
        const twinTimes: number[][] = processes.map(() => []);
        const twinLoss: number[] = processes.map(() => NaN);
        let error: string | undefined;
        try {
          // A compiled step's first calls are eager or slow (COMPILED_WARMUP_STEPS).
          await side.train(warmupSteps(warmup, !eager));
          for (const { process } of processes) {
            await process.request({ cmd: "train", batches: warmup });
          }
          for (let r = 0; r < rounds; r++) {
            tfjsTimes.push(...await side.train(batches));
            for (const [i, { process }] of processes.entries()) {
              const t = await process.request({ cmd: "train", batches });
              twinTimes[i].push(...(t.seconds as number[]));
              twinLoss[i] = Number(t.last_loss);
            }
          }
        } catch (err) {
          error = (err instanceof Error ? err.message : String(err)).split("\n")[0];
          if (/^(keras|torch) reference/.test(error)) throw err;
        }
        const tfjs = error === undefined ? timing(tfjsTimes, side.lastLoss()) : NO_TIMING;
        const row: ModelVs = { model: name, params: side.params, tfjs, twins: {} };
        for (const [i, { spec }] of processes.entries()) {
          const t = error === undefined ? timing(twinTimes[i], twinLoss[i]) : NO_TIMING;
          row.twins[spec.framework] = {
            ...t,
            params: twinParams[i],
            ratio: tfjs.epoch_s / t.epoch_s,
          };
        }
        if (error !== undefined) row.error = error;
        results.push(row);
        if (error === undefined) {
          // Untimed first pass (kernel set-up for the inference shapes), then at least `rounds`
          // timed passes taking turns, as in training: one pass over 10,000 images is 20-100 ms,
          // so a single one moved the ratio by up to 2x between runs (measured).
          await side.infer(testPixels, inferenceBatchSize, inferenceBatchSize);
          const command = { cmd: "infer", images: testPath, batch_size: inferenceBatchSize };
          for (const { process } of processes) {
            await process.request({ ...command, n: inferenceBatchSize });
          }
          const tfjsPasses: number[] = [];
          const twinPasses: number[][] = processes.map(() => []);
          let spent = 0;
          while (
            tfjsPasses.length < rounds ||
            (tfjsPasses.length < MAX_INFERENCE_PASSES &&
              spent < INFERENCE_BUDGET_S * processes.length)
          ) {
            tfjsPasses.push(await side.infer(testPixels, inferenceImages, inferenceBatchSize));
            spent += tfjsPasses.at(-1)!;
            for (const [i, { process }] of processes.entries()) {
              const answer = await process.request({ ...command, n: inferenceImages });
              twinPasses[i].push(Number(answer.seconds));
              spent += twinPasses[i].at(-1)!;
            }
          }
          const tfjsS = median(tfjsPasses);
          const inf: InferenceVs = {
            model: name,
            tfjs_s: tfjsS,
            twins: {},
            passes: tfjsPasses.length,
          };
          for (const [i, { spec }] of processes.entries()) {
            const s = median(twinPasses[i]);
            inf.twins[spec.framework] = { s, ratio: tfjsS / s };
          }
          inference.push(inf);
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
      twins: infos,
      models: results,
      inference: { images: inferenceImages, batch_size: inferenceBatchSize, models: inference },
    };
  } finally {
    for (const { process } of processes) await process.close();
  }
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
}

/** One line describing a twin process from its `info` answer. */
export function describeTwin(info: TwinInfo): string {
  const threads = `${info.threads} threads`;
  if (info.framework === "keras") {
    const interOp = info.inter_op_threads === undefined
      ? ""
      : `, ${info.inter_op_threads || "default"} inter-op`;
    return `Keras ${info.version} on ${info.backend} (${threads}${interOp}, ${info.python_path})`;
  }
  const blas = info.blas as { config?: string[]; loaded?: string[] } | undefined;
  const env = info.env as Record<string, string | null> | undefined;
  const libs = (blas?.loaded ?? []).map((p) => p.split("/").pop()).join(", ") || "?";
  return `PyTorch ${info.torch} (${threads}, BLAS ${libs}; ${(blas?.config ?? []).join(" ")}; ` +
    `OMP_WAIT_POLICY=${env?.OMP_WAIT_POLICY ?? "unset"}; ${info.python_path})`;
}

/**
 * Formats a {@link VsReport} as two aligned text tables (training, inference).
 *
 * @param report What {@link runVs} returned.
 * @returns The text, lines joined with `\n`.
 */
export function formatVsTable(report: VsReport): string {
  const names = report.twins.map((t) => t.framework);
  const training = table(
    [
      "model",
      "params",
      "tfjs s/epoch",
      ...names.flatMap((n) => [`${n} s/epoch`, `tfjs/${n}`]),
    ],
    report.models.map((r) =>
      r.error !== undefined
        ? [r.model, String(r.params), `error: ${r.error}`, ...names.flatMap(() => ["", ""])]
        : [
          r.model,
          String(r.params),
          r.tfjs.epoch_s.toFixed(1),
          ...names.flatMap((n) => [r.twins[n]!.epoch_s.toFixed(1), r.twins[n]!.ratio.toFixed(2)]),
        ]
    ),
  );
  const inference = table(
    ["model", "tfjs s", ...names.flatMap((n) => [`${n} s`, `tfjs/${n}`]), "passes"],
    report.inference.models.map((r) => [
      r.model,
      r.tfjs_s.toFixed(3),
      ...names.flatMap((n) => [r.twins[n]!.s.toFixed(3), r.twins[n]!.ratio.toFixed(2)]),
      String(r.passes),
    ]),
  );
  return [
    `tfjs backend ${report.backend} vs`,
    ...report.twins.map((t) => `  ${describeTwin(t)}`),
    `training: batch ${report.batch_size}, median of ${report.rounds} x ${report.batches} ` +
    `batches per side taking turns after ${report.warmup} warm-up; seconds per 60k epoch`,
    ...training,
    "",
    `encoder inference: ${report.inference.images} test images in batches of ` +
    `${report.inference.batch_size}, median of the passes per side taking turns (>= ` +
    `${report.rounds}, more while under ${INFERENCE_BUDGET_S} s per twin)`,
    ...inference,
  ].join("\n");
}
