/**
 * Runs a notebook on the Deno kernel through `execute_notebook.py` (beside this file), which
 * keeps outputs the kernel publishes after a cell's `status: idle`. The executed copy, outputs
 * included, goes to the path given (under `outputs/`); the source notebook is never written.
 *
 * @module
 */
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { ensureJupyter, jupyterEnv } from "./setup.ts";
import { injectParameters } from "./notebook_params.ts";
import type { ConfigValue } from "../experiments/types.ts";

const EXECUTOR = path.join(path.dirname(fileURLToPath(import.meta.url)), "execute_notebook.py");

/** Options of {@link executeNotebook}. */
export interface ExecuteOptions {
  /** Extra environment for the kernel (e.g. `{ AE_PROFILE: "quick" }`); the rest is inherited. */
  env?: Record<string, string>;
  /** Kernel working directory; default the notebook's directory (so `../lib/mod.ts` resolves). */
  cwd?: string;
  /** Per-cell limit in seconds; 0 or absent = none (env `AE_CELL_TIMEOUT` also sets it). */
  timeoutSeconds?: number;
  /** Seconds without a message that end a cell after its idle (default env `AE_QUIET_SECONDS`, else 0.5). */
  quietSeconds?: number;
  /** Seconds without a message that end the notebook after its last cell (default env `AE_DRAIN_SECONDS`, else 2). */
  drainSeconds?: number;
  /** Naive mode: stop reading a cell at `status: idle` (what nbclient does); for tests. */
  stopAtIdle?: boolean;
  /** Print each cell's time to stderr. */
  verbose?: boolean;
  /**
   * Values for the notebook's `parameters` cell: run with an `injected-parameters` cell after it
   * (the source notebook is not changed; the executed copy shows the injected cell).
   */
  parameters?: Record<string, ConfigValue>;
  /** Print each cell's first line and its text output to stdout while it runs (the CLI's progress). */
  echo?: boolean;
  /**
   * Called every `progressSeconds` while the notebook runs, with the running cell and the last
   * line of text it showed (a trainer's progress bar, an epoch line), once the kernel has started
   * a cell and whenever that changed since the last call.
   */
  onProgress?: (progress: ExecuteProgress) => void;
  /** Seconds between {@link ExecuteOptions.onProgress} calls (default {@link PROGRESS_SECONDS}). */
  progressSeconds?: number;
}

/** Default seconds between progress calls (and the report's progress lines). */
export const PROGRESS_SECONDS = 60;

/** Where a running notebook is, as {@link ExecuteOptions.onProgress} gets it. */
export interface ExecuteProgress {
  /** 1-based number of the running cell, counting every cell (markdown too). */
  cell: number;
  /** Number of cells in the notebook. */
  cells: number;
  /** First non-empty source line of the running cell. */
  firstLine: string;
  /** ISO time the cell started. */
  cellStartedAt: string;
  /** Last non-empty line of text the cell has shown so far (stream or display), or null. */
  text: string | null;
}

/** Why a notebook failed. */
export interface ExecuteError {
  /** `cell`: a cell raised; `kernel`: the kernel died, timed out or did not start. */
  kind: "cell" | "kernel";
  /** 1-based cell number counting every cell (markdown too), when `kind` is `cell`. */
  cell?: number;
  /** First non-empty source line of the failing cell. */
  firstLine?: string;
  /** Error class name, e.g. `TypeError`. */
  ename?: string;
  /** Error message. */
  evalue?: string;
  /** One line for people: what failed, where. */
  message: string;
}

/** Outcome of {@link executeNotebook}. */
export interface ExecuteResult {
  /** True when every cell ran without error. */
  ok: boolean;
  /** Wall-clock seconds including kernel start. */
  seconds: number;
  /** Where the executed notebook was written (also on failure, with outputs so far). */
  output: string;
  /** Set when `ok` is false. */
  error?: ExecuteError;
  /** The executor's stderr (kernel warnings, per-cell times). */
  stderr: string;
}

function concatBytes(chunks: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return all;
}

function describe(error: Omit<ExecuteError, "message"> & { message?: string }): string {
  if (error.kind === "cell") {
    return `cell ${error.cell} (${JSON.stringify(error.firstLine ?? "")}) failed: ` +
      `${error.ename}: ${error.evalue}`;
  }
  return error.message ?? "kernel failure";
}

/**
 * Reads the executor's progress file every `seconds` and passes it on when it changed; the file
 * is replaced atomically by the executor, so a read sees a whole state or none.
 *
 * @returns A function that stops the polling.
 */
function pollProgress(
  file: string,
  onProgress: (progress: ExecuteProgress) => void,
  seconds: number,
): () => void {
  let last = "";
  const timer = setInterval(async () => {
    let state: ExecuteProgress;
    try {
      state = JSON.parse(await Deno.readTextFile(file));
    } catch {
      return; // no cell started yet (an error here would end the process: this is a timer)
    }
    const key = JSON.stringify([state.cell, state.text]);
    if (key === last) return;
    last = key;
    try {
      onProgress(state);
    } catch (e) {
      console.error(`executeNotebook: the progress callback failed: ${(e as Error).message}`);
    }
  }, Math.max(0.05, seconds) * 1000);
  return () => clearInterval(timer);
}

/**
 * Executes a notebook cell by cell on the Deno kernel (setting up `.venv` first if needed).
 *
 * @param input The `.ipynb` to run (read only).
 * @param output Where the executed notebook goes; must differ from `input`.
 * @param options Environment, working directory, timeouts, naive mode.
 * @returns Whether it ran through, the time taken and, on failure, the cell and error.
 * @throws Error when `output` equals `input` or the input does not exist.
 */
export async function executeNotebook(
  input: string,
  output: string,
  options: ExecuteOptions = {},
): Promise<ExecuteResult> {
  if (path.resolve(input) === path.resolve(output)) {
    throw new Error(`executeNotebook: output must differ from the input notebook (${input})`);
  }
  await Deno.stat(input).catch(() => {
    throw new Error(`executeNotebook: notebook not found: ${input}`);
  });
  const { python } = await ensureJupyter();
  await Deno.mkdir(path.dirname(path.resolve(output)), { recursive: true });
  const errorJson = await Deno.makeTempFile({ prefix: "ae-exec-", suffix: ".json" });
  let source = path.resolve(input);
  let injected: string | null = null;
  if (options.parameters && Object.keys(options.parameters).length > 0) {
    const notebook = JSON.parse(await Deno.readTextFile(input));
    injected = `${path.resolve(output)}.input.ipynb`;
    await Deno.writeTextFile(
      injected,
      JSON.stringify(injectParameters(notebook, options.parameters), null, 1),
    );
    source = injected;
  }
  const args = [EXECUTOR, source, path.resolve(output), "--error-json", errorJson];
  // The kernel runs in the source notebook's folder, so `../lib/mod.ts` resolves.
  args.push("--cwd", path.resolve(options.cwd ?? path.dirname(path.resolve(input))));
  if (options.timeoutSeconds) args.push("--timeout", String(options.timeoutSeconds));
  if (options.quietSeconds !== undefined) args.push("--quiet", String(options.quietSeconds));
  if (options.drainSeconds !== undefined) args.push("--drain", String(options.drainSeconds));
  if (options.stopAtIdle) args.push("--stop-at-idle");
  if (options.verbose) args.push("--verbose");
  if (options.echo) args.push("--echo");
  const progressJson = options.onProgress ? `${errorJson}.progress.json` : null;
  const progressSeconds = options.progressSeconds ?? PROGRESS_SECONDS;
  if (progressJson) {
    // Writing the file more often than it is read would be wasted.
    args.push("--progress", progressJson, "--progress-every", String(Math.min(2, progressSeconds)));
  }
  const started = performance.now();
  const child = new Deno.Command(python, {
    args,
    env: { ...jupyterEnv(), ...(options.env ?? {}) },
    stdout: "inherit",
    stderr: "piped",
  }).spawn();
  const stopProgress = progressJson && options.onProgress
    ? pollProgress(progressJson, options.onProgress, progressSeconds)
    : () => {};
  // Stream stderr through when verbose, and keep it for the result either way.
  const chunks: Uint8Array[] = [];
  let status: Deno.CommandStatus;
  try {
    for await (const chunk of child.stderr) {
      chunks.push(chunk);
      if (options.verbose) await Deno.stderr.write(chunk);
    }
    status = await child.status;
  } finally {
    stopProgress();
  }
  const seconds = (performance.now() - started) / 1000;
  const stderr = new TextDecoder().decode(concatBytes(chunks));
  let errorText = "";
  try {
    errorText = await Deno.readTextFile(errorJson);
  } finally {
    await Deno.remove(errorJson).catch(() => {});
    if (progressJson) await Deno.remove(progressJson).catch(() => {});
    if (injected) await Deno.remove(injected).catch(() => {});
  }
  if (status.success) return { ok: true, seconds, output, stderr };
  let error: ExecuteError;
  if (errorText.trim()) {
    const parsed = JSON.parse(errorText);
    error = { ...parsed, message: describe(parsed) };
  } else {
    const lastLine = stderr.trim().split("\n").at(-1) ?? "";
    error = { kind: "kernel", message: `executor exited ${status.code}: ${lastLine}` };
  }
  return { ok: false, seconds, output, error, stderr };
}
