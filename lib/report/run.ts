/**
 * The report run behind `deno task report`: execute notebooks on the Deno kernel with a profile,
 * export each to `<out>/<notebook>.html`, record how each went, and rebuild `<out>/index.html`
 * from those records and the claims the notebooks wrote. A failing notebook still gets its page
 * (outputs up to the failing cell) and a "failed" line in the index.
 *
 * @module
 */
import * as path from "node:path";
import { REPO_ROOT } from "./setup.ts";
import { reportsDirFor } from "../paths.ts";
import { executeNotebook, type ExecuteProgress } from "./execute.ts";
import type { ConfigValue } from "../experiments/types.ts";
import { exportHtml } from "./export.ts";
import { formatDuration } from "./format.ts";
import { readClaims } from "./claims.ts";
import { type NotebookStatus, renderIndex } from "./index_page.ts";

/** Default directory of the notebooks. */
export const NOTEBOOKS_DIR: string = path.join(REPO_ROOT, "notebooks");

/** Options of {@link runReport}. */
export interface ReportOptions {
  /** Notebooks to run: paths, or names in `notebooksDir` (with or without `.ipynb`, or a unique prefix such as `03`). Default: all, in name order. */
  notebooks?: string[];
  /** Where notebooks are looked up (default `notebooks/`). */
  notebooksDir?: string;
  /**
   * Output directory (default: the profile's, {@link reportsDirFor}: `outputs/reports/` for
   * `quick`, `outputs/reports-<profile>/` for another).
   */
  outDir?: string;
  /** Profile passed as env `AE_PROFILE` (default `quick`). */
  profile?: string;
  /** Per-cell limit in seconds (default none). */
  timeoutSeconds?: number;
  /** Quiet period that ends a cell (default: the executor's 0.5 s). */
  quietSeconds?: number;
  /** Progress lines go here (default `console.log`). */
  log?: (line: string) => void;
  /** Print each cell's time. */
  verbose?: boolean;
  /** Extra environment for the kernels (e.g. `AE_RUNS_DIR` for a throw-away run store). */
  env?: Record<string, string>;
  /** Values for each notebook's `parameters` cell (see `ExecuteOptions.parameters` of execute.ts). */
  parameters?: Record<string, ConfigValue>;
  /** Echo each cell's first line and text output while it runs. */
  echo?: boolean;
  /**
   * Notebooks executed at the same time, each in its own kernel (default 1). Each notebook's
   * status seconds then include the time it shared the machine. With more than one, each kernel
   * gets `OMP_NUM_THREADS` = cores / jobs (see {@link kernelThreads}) and the notebooks that took
   * longest last time start first (see {@link longestFirst}).
   */
  jobs?: number;
  /**
   * Seconds between progress lines of a running notebook (default 60, execute.ts's
   * `PROGRESS_SECONDS`; 0: none): its time so far, the running cell and the last line of text that
   * cell showed (the trainer's progress bar), so an hour-long notebook of the `full` report is not
   * an hour of silence.
   */
  progressSeconds?: number;
}

/**
 * One progress line of a running notebook (see {@link ReportOptions.progressSeconds}).
 *
 * @param notebook File name of the notebook.
 * @param seconds Its time so far.
 * @param progress The executor's state.
 */
export function progressLine(notebook: string, seconds: number, progress: ExecuteProgress): string {
  const cell = `cell ${progress.cell}/${progress.cells} (${progress.firstLine.slice(0, 40)})`;
  return `    ${notebook}: ${formatDuration(seconds)} so far, ${cell}` +
    (progress.text ? `: ${progress.text}` : "");
}

/**
 * How many notebooks `deno task report` runs at once when `--jobs` is not given: two on a machine
 * with two or more cores, except at `full`.
 *
 * Why: on the 2-vCPU AMD EPYC the quick report took 6 min 28 s at two at a time (one OpenMP
 * thread per kernel, longest first) against 9 min 42 s one at a time (same session, one run
 * each; lib/bench/README.md). A notebook's result does not depend on it beyond float rounding: a
 * run's id does not include the thread count, so `deno task exp` reuses the report's runs. At
 * `full` the long trainings are arithmetic-bound and already keep both cores busy: write-up 004's
 * conv denoiser took 340-360 s per epoch with one thread beside another kernel, about twice its
 * time alone, so two at a time would only make the longest notebook longer.
 *
 * @param profile The report's profile.
 * @param cores CPU cores of the machine (`navigator.hardwareConcurrency`).
 * @returns 1 or 2.
 */
export function defaultJobs(profile: string, cores: number): number {
  return profile === "full" || cores < 2 ? 1 : 2;
}

/**
 * The `OMP_NUM_THREADS` each kernel gets when `jobs` notebooks run at once, or `undefined` to
 * leave TensorFlow's own choice (all cores).
 *
 * Why: TensorFlow's oneDNN kernels use one OpenMP thread per core, so two kernels on two cores
 * ran four threads and the quick report gained only 7% from `--jobs 2`. Measured on the 2-vCPU
 * AMD EPYC (lib/bench/README.md, 2026-12-07 fourth session): one thread is 1.1-1.5x slower per
 * step than two, while two one-thread trainings side by side each keep their one-thread speed.
 *
 * @param jobs Notebooks at a time (a positive integer).
 * @param cores CPU cores of the machine (`navigator.hardwareConcurrency`).
 * @param env The kernels' environment: an `OMP_NUM_THREADS` already set there is kept.
 */
export function kernelThreads(
  jobs: number,
  cores: number,
  env: Record<string, string | undefined> = {},
): string | undefined {
  if (env.OMP_NUM_THREADS !== undefined) return env.OMP_NUM_THREADS;
  if (jobs <= 1) return undefined;
  return String(Math.max(1, Math.floor(cores / jobs)));
}

/**
 * Run order for `jobs` > 1: notebooks without a previous status first (in the given order), then
 * the rest by their last run's seconds, longest first, so a long notebook does not start last
 * while the other kernels sit idle.
 *
 * @param notebooks Notebook paths in name order.
 * @param lastSeconds Seconds of each notebook's last run by file name, where known.
 * @returns Indices into `notebooks`, in the order to start them.
 */
export function longestFirst(
  notebooks: readonly string[],
  lastSeconds: ReadonlyMap<string, number>,
): number[] {
  const known = (i: number) => lastSeconds.get(path.basename(notebooks[i]));
  return notebooks.map((_, i) => i).sort((a, b) => {
    const ta = known(a) ?? Infinity;
    const tb = known(b) ?? Infinity;
    return ta === tb ? a - b : tb - ta;
  });
}

/** Outcome of {@link runReport}. */
export interface ReportResult {
  /** Path of the index page. */
  indexPath: string;
  /** Status of each notebook run now, in order. */
  results: NotebookStatus[];
}

/**
 * Resolves the notebooks to run.
 *
 * @param names Paths or names (see {@link ReportOptions.notebooks}); empty = all in `dir`.
 * @param dir Notebook directory.
 * @returns Absolute paths, each once.
 * @throws Error naming an argument that matches no notebook (or several), with the choices, or
 *   two notebooks of the same file name.
 */
export async function resolveNotebooks(names: readonly string[], dir: string): Promise<string[]> {
  let available: string[] = [];
  try {
    available = (await Array.fromAsync(Deno.readDir(dir)))
      .filter((e) => e.isFile && e.name.endsWith(".ipynb"))
      .map((e) => e.name)
      .sort();
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (names.length === 0) return available.map((n) => path.join(dir, n));
  const resolved: string[] = [];
  for (const name of names) {
    const isFile = async (p: string) => (await Deno.stat(p).catch(() => null))?.isFile ?? false;
    if (name.endsWith(".ipynb") && await isFile(name)) {
      resolved.push(path.resolve(name));
      continue;
    }
    const exact = available.find((n) => n === name || n === `${name}.ipynb`);
    const byPrefix = available.filter((n) => n.startsWith(name));
    const match = exact ?? (byPrefix.length === 1 ? byPrefix[0] : undefined);
    if (!match) {
      const why = byPrefix.length > 1 ? `matches several (${byPrefix.join(", ")})` : "matches none";
      throw new Error(
        `report: notebook '${name}' ${why}; notebooks in ${dir}: ${available.join(", ") || "none"}`,
      );
    }
    resolved.push(path.join(dir, match));
  }
  // The same notebook named twice runs once; two notebooks of one file name would write the
  // same page, executed copy and status, so they are refused.
  const unique = [...new Set(resolved)];
  const byName = new Map<string, string>();
  for (const file of unique) {
    const other = byName.get(path.basename(file));
    if (other !== undefined) {
      throw new Error(
        `report: ${other} and ${file} have the same file name and would overwrite each other's ` +
          "report; run them in separate --out directories",
      );
    }
    byName.set(path.basename(file), file);
  }
  return unique;
}

async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await Deno.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${Deno.pid}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(value, null, 2) + "\n");
  await Deno.rename(tmp, file);
}

/**
 * Reads the status files of a report directory's `status/` (one per notebook run).
 *
 * @param dir The `status` directory; a missing one gives an empty list.
 * @returns The statuses sorted by notebook name.
 */
export async function readStatuses(dir: string): Promise<NotebookStatus[]> {
  const out: NotebookStatus[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || !entry.name.endsWith(".json")) continue;
      out.push(JSON.parse(await Deno.readTextFile(path.join(dir, entry.name))));
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort((a, b) => a.notebook.localeCompare(b.notebook));
}

/** Largest thumbnail kept in a status file (a data URI of the notebook's first PNG). */
const MAX_THUMBNAIL_CHARS = 400_000;

/**
 * The backend of the run the notebook finished (its run record) and a thumbnail of its main
 * figure: the first PNG among the executed notebook's outputs.
 */
async function runFacts(
  executed: string,
  runRecord: string,
): Promise<{ backend?: string; ompNumThreads?: string; thumbnail?: string }> {
  let backend: string | undefined;
  let ompNumThreads: string | undefined;
  try {
    const record = JSON.parse(await Deno.readTextFile(runRecord));
    backend = record.backend;
    ompNumThreads = record.ompNumThreads ?? undefined;
  } catch {
    backend = undefined; // the notebook failed before finishing its run
  }
  let thumbnail: string | undefined;
  try {
    const text = await Deno.readTextFile(executed);
    const nb = JSON.parse(text) as { cells: { outputs?: { data?: Record<string, unknown> }[] }[] };
    outer: for (const cell of nb.cells) {
      for (const output of cell.outputs ?? []) {
        const png = output.data?.["image/png"];
        const html = [output.data?.["text/html"] ?? ""].flat().join("");
        const uri = typeof png === "string"
          ? `data:image/png;base64,${png.replace(/\s/g, "")}`
          : html.match(/data:image\/png;base64,[A-Za-z0-9+/=]+/)?.[0];
        if (uri && uri.length <= MAX_THUMBNAIL_CHARS) {
          thumbnail = uri;
          break outer;
        }
      }
    }
  } catch {
    thumbnail = undefined;
  }
  return { backend, ompNumThreads, thumbnail };
}

/** Removes the claim records a notebook wrote in an earlier run (they would be stale). */
async function removeClaimsOf(claimsDir: string, notebook: string): Promise<void> {
  for (const record of await readClaims(claimsDir).catch(() => [])) {
    if (record.notebook === notebook) {
      await Deno.remove(path.join(claimsDir, `${record.experimentId}.json`)).catch(() => {});
    }
  }
}

/**
 * Writes `<out>/index.html` from the status files and claim records in `out`.
 *
 * @param outDir Report directory; statuses of notebooks whose source file is gone are left out.
 * @returns Path of the index page.
 */
export async function writeIndex(outDir: string): Promise<string> {
  const statuses = [];
  for (const status of await readStatuses(path.join(outDir, "status"))) {
    const stillThere = await Deno.stat(status.source ?? "").catch(() => null);
    if (stillThere) statuses.push(status);
  }
  const claims = await readClaims(path.join(outDir, "claims"));
  const indexPath = path.join(outDir, "index.html");
  const tmp = `${indexPath}.${Deno.pid}.tmp`;
  await Deno.writeTextFile(tmp, renderIndex(statuses, claims));
  await Deno.rename(tmp, indexPath);
  return indexPath;
}

/**
 * Executes and exports notebooks and rebuilds the index (see the module doc).
 *
 * @param options Which notebooks, profile, directories, limits.
 * @returns The index path and each notebook's status; check `status` for failures.
 */
export async function runReport(options: ReportOptions = {}): Promise<ReportResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const notebooksDir = path.resolve(options.notebooksDir ?? NOTEBOOKS_DIR);
  const profile = options.profile ?? "quick";
  const outDir = path.resolve(options.outDir ?? reportsDirFor(profile));
  const claimsDir = path.join(outDir, "claims");
  const notebooks = await resolveNotebooks(options.notebooks ?? [], notebooksDir);
  if (notebooks.length === 0) log(`report: no notebooks in ${notebooksDir}`);
  const jobs = options.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1) {
    throw new RangeError(`runReport: jobs must be a positive integer, got ${jobs}`);
  }
  if (jobs > 1 && options.env?.AE_RUN_RECORD) {
    throw new Error("runReport: AE_RUN_RECORD names one file, so it needs jobs = 1");
  }
  const threads = kernelThreads(jobs, navigator.hardwareConcurrency, {
    ...Deno.env.toObject(),
    ...options.env,
  });
  const results: NotebookStatus[] = [];
  const reportStarted = performance.now();
  // Notebook i's HTML export (a ~5 s nbconvert process on one core) runs while the next notebook
  // executes; the exports run one at a time, and all have ended before the index is written.
  let exports: Promise<void> = Promise.resolve();
  let exportFailure: unknown = null;
  const runOne = async (i: number, notebookPath: string) => {
    const notebook = path.basename(notebookPath);
    const stem = notebook.replace(/\.ipynb$/, "");
    const started = performance.now();
    log(`[${i + 1}/${notebooks.length}] ${notebook} (profile ${profile}) ...`);
    await removeClaimsOf(claimsDir, notebook);
    const executed = path.join(outDir, "executed", notebook);
    // The notebook's run store tells which run it finished (unless the caller collects that).
    const runRecord = options.env?.AE_RUN_RECORD ??
      await Deno.makeTempFile({ prefix: "ae-report-run-", suffix: ".json" });
    const run = await executeNotebook(notebookPath, executed, {
      env: {
        ...options.env,
        ...(threads === undefined ? {} : { OMP_NUM_THREADS: threads }),
        AE_RUN_RECORD: runRecord,
        AE_PROFILE: profile,
        AE_NOTEBOOK: notebook,
        AE_CLAIMS_DIR: claimsDir,
      },
      timeoutSeconds: options.timeoutSeconds,
      quietSeconds: options.quietSeconds,
      verbose: options.verbose,
      parameters: options.parameters,
      echo: options.echo,
      ...(options.progressSeconds === 0 ? {} : {
        progressSeconds: options.progressSeconds,
        onProgress: (progress: ExecuteProgress) =>
          log(progressLine(notebook, (performance.now() - started) / 1000, progress)),
      }),
    });
    const executedSeconds = (performance.now() - started) / 1000;
    const finish = async () => {
      const exportStarted = performance.now();
      let error = run.ok ? undefined : run.error?.message ?? "failed";
      let report: string | undefined;
      const wroteExecuted = await Deno.stat(executed).catch(() => null);
      if (wroteExecuted) {
        try {
          await exportHtml(executed, path.join(outDir, `${stem}.html`));
          report = `${stem}.html`;
        } catch (e) {
          error = error ?? `export failed: ${(e as Error).message}`;
        }
      }
      const { backend, ompNumThreads, thumbnail } = await runFacts(executed, runRecord);
      if (runRecord !== options.env?.AE_RUN_RECORD) await Deno.remove(runRecord).catch(() => {});
      const status: NotebookStatus = {
        backend,
        ompNumThreads,
        thumbnail,
        notebook,
        source: notebookPath,
        status: error ? "failed" : "ok",
        profile,
        // Its own execution and export, not the wait for the previous export.
        seconds: executedSeconds + (performance.now() - exportStarted) / 1000,
        report,
        error,
        finishedAt: new Date().toISOString(),
      };
      await writeJsonAtomic(path.join(outDir, "status", `${notebook}.json`), status);
      results[i] = status;
      log(
        status.status === "ok"
          ? `    ${notebook} ok in ${status.seconds.toFixed(1)} s -> ${
            path.join(outDir, report ?? "")
          }`
          : `    FAILED in ${status.seconds.toFixed(1)} s: ${notebook}: ${error}`,
      );
    };
    // Caught here, so a failure neither goes unhandled while the next notebook runs nor stops
    // the later exports; it is thrown once they have ended.
    exports = exports.then(finish).catch((e) => {
      exportFailure ??= e;
    });
  };
  // `jobs` workers take the notebooks in turn (longest first when several run at once); each
  // runs one notebook at a time.
  let order = notebooks.map((_, i) => i);
  if (jobs > 1) {
    const last = new Map<string, number>();
    for (const s of await readStatuses(path.join(outDir, "status")).catch(() => [])) {
      if (s.profile === profile && s.status === "ok") last.set(s.notebook, s.seconds);
    }
    order = longestFirst(notebooks, last);
  }
  let next = 0;
  const worker = async () => {
    while (next < order.length) {
      const i = order[next++];
      await runOne(i, notebooks[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, notebooks.length) }, worker));
  await exports;
  if (exportFailure !== null) throw exportFailure;
  const indexPath = await writeIndex(outDir);
  if (notebooks.length > 1) {
    const wall = (performance.now() - reportStarted) / 1000;
    const side = jobs > 1 ? `, up to ${jobs} at a time, OMP_NUM_THREADS ${threads}` : "";
    log(`report: ${notebooks.length} notebooks in ${formatDuration(wall, 1)} (wall time${side})`);
  }
  return { indexPath, results };
}
