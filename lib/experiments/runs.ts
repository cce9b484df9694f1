/**
 * Run directories: `outputs/runs/<experiment>/<run-id>/` with `config.json`, `metrics.json`,
 * histories, figures, images and checkpoints. A run is written into a hidden partial directory
 * (which an interrupted run leaves behind and the next attempt continues from, its `elapsed.json`
 * carrying the earlier parts' seconds) and renamed into place only when it completed, so a run
 * that dies never looks complete. The
 * run id hashes the experiment, its configuration and the library's code, so a finished run with
 * the same inputs is reused instead of re-trained (unless forced).
 *
 * @module
 */
import * as path from "node:path";
import { createHash } from "node:crypto";
import type * as tf from "@tensorflow/tfjs";
import { modelFingerprint } from "../models/summary.ts";
import { faultPoint } from "../faults.ts";
import { fileDigest } from "../data/digest.ts";
import { REPO_ROOT } from "../paths.ts";
import { setupBackend } from "../backend.ts";
import type {
  ClaimRow,
  Experiment,
  ExperimentConfig,
  HistoryRow,
  PlotlyFigureData,
  Profile,
  RunContext,
  RunOutcome,
} from "./types.ts";

export { REPO_ROOT };

/** Default root of all run directories: env `AE_RUNS_DIR`, else `outputs/runs`. */
export const RUNS_ROOT: string = Deno.env.get("AE_RUNS_DIR") ??
  path.join(REPO_ROOT, "outputs", "runs");

/** A finished run as stored on disk. */
export interface RunRecord {
  /** Experiment id. */
  experiment: string;
  /** Hash of experiment id, configuration and code version. */
  runId: string;
  /** The run's directory. */
  dir: string;
  /** Profile it was started with. */
  profile: Profile;
  /** The configuration it ran with. */
  config: ExperimentConfig;
  /** Headline numbers. */
  metrics: Record<string, unknown>;
  /** Claims with verdicts. */
  claims: ClaimRow[];
  /**
   * Seconds the run took (of the original run when reused). A run interrupted and continued
   * counts every part, an interrupted part up to its last write in the run directory.
   */
  seconds: number;
  /** Processes the run took: 1, or more when it was interrupted and continued. */
  parts: number;
  /** True when an earlier finished run was reused. */
  reused: boolean;
  /** Hash of the library code the run used. */
  codeVersion: string;
  /** Compute backend the run trained on (e.g. `tfjs-node`, `wasm`). */
  backend: string;
  /**
   * `OMP_NUM_THREADS` the run trained with (the threads of TensorFlow's oneDNN kernels), or null
   * when unset (TensorFlow's choice: all cores). Not part of the run id, so `deno task exp` reuses
   * the report's runs; recorded because fewer threads round sums differently.
   */
  ompNumThreads: string | null;
  /** ISO time the run finished. */
  finishedAt: string;
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function listFiles(dir: string, ext: string[]): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory) out.push(...await listFiles(full, ext));
    else if (ext.some((e) => entry.name.endsWith(e))) out.push(full);
  }
  return out.sort();
}

/**
 * Written when a part of a run starts: the seconds of its earlier parts, their count and this
 * part's start. A continued run counts an interrupted part up to its last write in the run
 * directory (a checkpoint, a figure), so a SIGKILL loses at most the time since then, and a kernel
 * left idle after an error adds nothing.
 */
const ELAPSED_FILE = "elapsed.json";

/** Latest modification time (ms) of the files under `dir` other than `elapsed.json`, or null. */
async function latestWrite(dir: string): Promise<number | null> {
  let latest: number | null = null;
  for (const file of await listFiles(dir, [""])) {
    if (path.basename(file) === ELAPSED_FILE) continue;
    const mtime = (await Deno.stat(file).catch(() => null))?.mtime?.getTime();
    if (mtime !== undefined && (latest === null || mtime > latest)) latest = mtime;
  }
  return latest;
}

/** Seconds and parts of an interrupted run's earlier processes (zero and 0 when unknown). */
async function earlierParts(partial: string): Promise<{ seconds: number; parts: number }> {
  try {
    const { earlierSeconds, parts, startedAt } = JSON.parse(
      await Deno.readTextFile(path.join(partial, ELAPSED_FILE)),
    );
    const start = Date.parse(startedAt);
    const last = await latestWrite(partial);
    if (Number.isFinite(earlierSeconds) && Number.isInteger(parts) && !Number.isNaN(start)) {
      const lastPart = last === null ? 0 : Math.max(0, (last - start) / 1000);
      return { seconds: earlierSeconds + lastPart, parts };
    }
  } catch {
    // a run interrupted before 2026-12-08 has no elapsed.json: its earlier parts are unknown
  }
  return { seconds: 0, parts: 0 };
}

let cachedCodeVersion: string | undefined;

/**
 * A hash of the library's source (`lib/**` code files, the addon's added C++ included, and the import map): a run made with other
 * code gets another run id, so stale results are never reused.
 */
export async function codeVersion(): Promise<string> {
  if (cachedCodeVersion) return cachedCodeVersion;
  const files = await listFiles(path.join(REPO_ROOT, "lib"), [".ts", ".py", ".inc"]);
  files.push(path.join(REPO_ROOT, "deno.json"));
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const f of files) {
    parts.push(enc.encode(path.relative(REPO_ROOT, f) + "\0"));
    parts.push(await Deno.readFile(f));
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  cachedCodeVersion = (await sha256Hex(all)).slice(0, 12);
  return cachedCodeVersion;
}

/** Canonical JSON (sorted keys) so equal configurations hash equally. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const keys = Object.keys(value as Record<string, unknown>).sort();
    return `{${
      keys.map((k) =>
        `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`
      )
        .join(",")
    }}`;
  }
  return JSON.stringify(value);
}

/** The run id of an experiment with a configuration under a code version. */
export async function runIdFor(
  experiment: string,
  config: ExperimentConfig,
  code: string,
): Promise<string> {
  const text = canonicalJson({ experiment, config, code });
  return (await sha256Hex(new TextEncoder().encode(text))).slice(0, 12);
}

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.stat(p);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Writes a file atomically: a temporary sibling, then rename. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await Deno.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  if (typeof data === "string") await Deno.writeTextFile(tmp, data);
  else await Deno.writeFile(tmp, data);
  await Deno.rename(tmp, file);
}

/** Formats a history as CSV (`epoch,train_loss,val_loss,seconds`). */
export function historyToCsv(history: HistoryRow[]): string {
  const lines = ["epoch,train_loss,val_loss,seconds"];
  for (const h of history) {
    lines.push(`${h.epoch},${h.trainLoss},${h.valLoss ?? ""},${h.seconds}`);
  }
  return lines.join("\n") + "\n";
}

/** Parses a history CSV written by {@link historyToCsv}. */
export function historyFromCsv(text: string): HistoryRow[] {
  const [header, ...rows] = text.trim().split("\n");
  if (header !== "epoch,train_loss,val_loss,seconds") {
    throw new Error(`not a history CSV (header "${header}")`);
  }
  return rows.filter((r) => r !== "").map((r) => {
    const [epoch, train, val, seconds] = r.split(",");
    return {
      epoch: Number(epoch),
      trainLoss: Number(train),
      valLoss: val === "" ? null : Number(val),
      seconds: Number(seconds),
    };
  });
}

function safeName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    throw new Error(`artifact name "${name}": use letters, digits, '.', '_' and '-' only`);
  }
  return name;
}

/** Makes the {@link RunContext} that writes into `dir`. */
export function makeRunContext(dir: string, profile: Profile, quiet: boolean): RunContext {
  return {
    dir,
    profile,
    log(message: string) {
      if (!quiet) console.log(message);
    },
    async saveHistory(name: string, history: HistoryRow[]) {
      const n = safeName(name);
      await writeFileAtomic(path.join(dir, "histories", `${n}.csv`), historyToCsv(history));
    },
    async saveFigure(name: string, figure: PlotlyFigureData) {
      await writeFileAtomic(
        path.join(dir, "figures", `${safeName(name)}.json`),
        JSON.stringify(figure),
      );
    },
    async saveImage(name: string, png: Uint8Array, captionHtml?: string) {
      const n = safeName(name);
      await writeFileAtomic(path.join(dir, "images", `${n}.png`), png);
      if (captionHtml !== undefined) {
        await writeFileAtomic(path.join(dir, "images", `${n}.html`), captionHtml);
      }
    },
    async saveJson(name: string, value: unknown) {
      await writeFileAtomic(
        path.join(dir, "tables", `${safeName(name)}.json`),
        JSON.stringify(value, null, 1),
      );
    },
    async checkpointDir(name: string) {
      const d = path.join(dir, "checkpoints", safeName(name));
      await Deno.mkdir(d, { recursive: true });
      return d;
    },
  };
}

/** Options of {@link openRun}: what identifies a run besides the experiment id. */
export interface OpenRunOptions {
  /** Experiment id (e.g. `zero-one`): the folder under the runs root. */
  experiment: string;
  /** Profile the configuration came from (recorded; the configuration itself is hashed). */
  profile: Profile;
  /** The configuration in force (the notebook's parameters cell, after overrides). */
  config: ExperimentConfig;
  /** Input files the run reads (IDX, CSV): their content digests are part of the run id. */
  data?: readonly string[];
  /**
   * The models the run trains, by checkpoint name, as built (before training): their layers
   * and initial weights are part of the run id, so a changed layer trains afresh.
   */
  models?: Readonly<Record<string, tf.LayersModel>>;
  /**
   * Discard an earlier finished or interrupted run with the same id and start over; default
   * env `AE_FORCE=1` (what `deno task exp --force` sets for the notebook).
   */
  force?: boolean;
  /** No log lines. */
  quiet?: boolean;
  /** Root of run directories (default {@link RUNS_ROOT}). */
  runsRoot?: string;
  /**
   * Seconds to wait for another process writing the same run before giving up with an error;
   * default env `AE_LOCK_WAIT`, else 1800.
   */
  lockWaitSeconds?: number;
}

/** A run a notebook is writing (or re-showing): a {@link RunContext} plus its identity. */
export interface OpenRun extends RunContext {
  /** Experiment id. */
  experiment: string;
  /** The run id (hash of everything that determines the result). */
  runId: string;
  /**
   * True when a finished run with this id was found: training resumes from its final
   * checkpoints (no epochs run), and nothing in the finished run is written again.
   */
  reused: boolean;
  /** The configuration the run is keyed on. */
  config: ExperimentConfig;
  /** Where the finished run lives. */
  finalDir: string;
  /** What identified the run: content digests of the data and fingerprints of the models. */
  identity: RunIdentity;
  /**
   * Writes `metrics.json`, moves the run into place and releases the lock. For a reused run
   * it writes nothing and returns the stored record.
   */
  finish(outcome: RunOutcome): Promise<RunRecord>;
  /** Releases the lock without finishing (the partial run stays and is continued next time). */
  release(): void;
}

/** The parts of a run id besides experiment and configuration, as recorded in `config.json`. */
export interface RunIdentity {
  /** Hash of the library's source ({@link codeVersion}). */
  codeVersion: string;
  /** Compute backend (backends round differently, so each has its own runs). */
  backend: string;
  /** SHA-256 of each input file, by absolute path. */
  data: Record<string, string>;
  /** {@link modelFingerprint} of each model, by checkpoint name. */
  models: Record<string, string>;
}

function sha256HexSync(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * SHA-256 of an input file, from the shared digest cache (lib/data/digest.ts: by path, size,
 * mtime and inode, kept across processes), so a re-run does not hash 47 MB again.
 *
 * @throws Error naming the file when it cannot be read.
 */
async function inputDigest(file: string): Promise<string> {
  const abs = path.resolve(file);
  try {
    return await fileDigest(abs);
  } catch (e) {
    throw new Error(`run store: cannot read input file ${abs}: ${(e as Error).message}`);
  }
}

/** A held run lock: the open lock file (flock, so a dead process never holds it). */
interface HeldLock {
  file: Deno.FsFile;
  path: string;
}

// Locks this process holds, by lock path: a notebook that re-runs its "open the run" cell in the
// same kernel takes over its own lock instead of waiting for itself.
const heldLocks = new Map<string, HeldLock>();

function releaseLock(lock: HeldLock): void {
  if (heldLocks.get(lock.path) !== lock) return;
  heldLocks.delete(lock.path);
  try {
    lock.file.close(); // closing drops the flock
  } catch {
    // already closed
  }
}

interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
}

async function readHolder(lockPath: string): Promise<LockHolder | null> {
  try {
    return JSON.parse(await Deno.readTextFile(lockPath));
  } catch {
    return null;
  }
}

/**
 * Takes the exclusive lock of a run: an flock on `<exp>/.<id>.lock`, which the kernel drops
 * when the process ends in any way (SIGKILL included), so a lock is never stale. The file
 * records pid, host and start time for the message a waiting process prints. Lock files are
 * never deleted: removing one while another process waits on it would let two writers in.
 */
async function acquireLock(
  lockPath: string,
  what: string,
  log: (line: string) => void,
  waitSeconds: number,
): Promise<HeldLock> {
  const own = heldLocks.get(lockPath);
  if (own) releaseLock(own);
  const file = await Deno.open(lockPath, { read: true, write: true, create: true });
  if (!await file.tryLock(true)) {
    const holder = await readHolder(lockPath);
    const who = holder
      ? `pid ${holder.pid} on ${holder.host} (since ${holder.startedAt})`
      : "another process";
    log(`${what} is being written by ${who}; waiting up to ${waitSeconds} s for it to finish`);
    const deadline = performance.now() + waitSeconds * 1000;
    let locked = false;
    while (!locked && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      locked = await file.tryLock(true);
    }
    if (!locked) {
      file.close();
      throw new Error(
        `${what} is still being written by ${who} after ${waitSeconds} s; stop that process ` +
          `(or its notebook kernel) and try again`,
      );
    }
  }
  const holder: LockHolder = {
    pid: Deno.pid,
    host: Deno.hostname(),
    startedAt: new Date().toISOString(),
  };
  await file.truncate(0);
  await file.write(new TextEncoder().encode(JSON.stringify(holder) + "\n"));
  const lock = { file, path: lockPath };
  heldLocks.set(lockPath, lock);
  return lock;
}

/** Why a finished-looking run directory cannot be used, or null when it is complete. */
async function incompleteReason(dir: string): Promise<string | null> {
  for (const name of ["config.json", "metrics.json"]) {
    try {
      JSON.parse(await Deno.readTextFile(path.join(dir, name)));
    } catch (e) {
      return e instanceof Deno.errors.NotFound ? `no ${name}` : `${name} unreadable`;
    }
  }
  return null;
}

/** Completed epochs of each checkpoint in a partial run, e.g. `d2 at epoch 3`. */
async function checkpointProgress(dir: string): Promise<string[]> {
  const out: string[] = [];
  const root = path.join(dir, "checkpoints");
  if (!await exists(root)) return out;
  const names = (await Array.fromAsync(Deno.readDir(root))).filter((e) => e.isDirectory)
    .map((e) => e.name).sort();
  for (const name of names) {
    try {
      const state = JSON.parse(await Deno.readTextFile(path.join(root, name, "trainer.json")));
      const done = state.stopReason ? `, finished (${state.stopReason})` : "";
      out.push(`${name} after epoch ${state.epoch}${done}`);
    } catch {
      out.push(`${name} with no completed epoch`);
    }
  }
  return out;
}

function defaultLockWait(): number {
  const env = Number(Deno.env.get("AE_LOCK_WAIT"));
  return Number.isFinite(env) && env >= 0 && Deno.env.get("AE_LOCK_WAIT") !== undefined
    ? env
    : 1800;
}

/**
 * Opens the run of an experiment for a notebook: computes the run id from everything that
 * determines the result - experiment, configuration, library code, backend, a content digest of
 * every input file and the fingerprint of every model ({@link modelFingerprint}) - and takes the
 * run's lock (one writer per run; a second process waits with a message, then reuses what the
 * first finished).
 *
 * - A finished run with this id is reused (`reused: true`): its checkpoints are complete, so the
 *   trainer with `resume: true` loads the weights without training, and nothing is written.
 * - An interrupted run (its `.<id>.partial` directory) is continued: the message says which
 *   models and epochs it continues from.
 * - A run directory that looks finished but is not (no or unreadable `config.json` or
 *   `metrics.json`) is reported in one line, removed and run again.
 * - `force` discards the earlier run's partial state and starts over; the earlier finished run
 *   is replaced when the new one finishes.
 *
 * The run is written into `.<id>.partial` and renamed into place by {@link OpenRun.finish}
 * after `metrics.json`, so an interrupted run never looks complete.
 */
export async function openRun(options: OpenRunOptions): Promise<OpenRun> {
  const quiet = options.quiet ?? false;
  options = { ...options, force: options.force ?? Deno.env.get("AE_FORCE") === "1" };
  const log = (line: string) => {
    if (!quiet) console.log(line);
  };
  const root = options.runsRoot ?? RUNS_ROOT;
  const expId = options.experiment;
  safeName(expId);
  const code = await codeVersion();
  // Backends differ in float rounding (and BatchNorm models amplify it), so a run on another
  // backend is another run: the one the experiment will use is part of the id.
  const backend = (await setupBackend(undefined, { quiet: true })).name;
  const data: Record<string, string> = {};
  for (const file of [...(options.data ?? [])].sort()) {
    data[path.resolve(file)] = await inputDigest(file);
  }
  const models: Record<string, string> = {};
  for (const [name, model] of Object.entries(options.models ?? {})) {
    models[safeName(name)] = modelFingerprint(model);
  }
  const identity: RunIdentity = { codeVersion: code, backend, data, models };
  // Recorded beside the identity, not in it (see RunRecord.ompNumThreads); a continued run
  // records the threads of its last part.
  const ompNumThreads = Deno.env.get("OMP_NUM_THREADS") ?? null;
  const runId = sha256HexSync(canonicalJson({
    experiment: expId,
    config: options.config,
    code: `${code}/${backend}`,
    data: Object.values(data).sort(),
    models,
  })).slice(0, 12);
  const expDir = path.join(root, expId);
  const finalDir = path.join(expDir, runId);
  const partial = path.join(expDir, `.${runId}.partial`);
  const what = `${expId}: run ${runId}`;
  try {
    await Deno.mkdir(expDir, { recursive: true });
  } catch (e) {
    throw new Error(`${expId}: cannot create the run directory ${expDir}: ${(e as Error).message}`);
  }
  let lock: HeldLock;
  try {
    lock = await acquireLock(
      path.join(expDir, `.${runId}.lock`),
      what,
      log,
      options.lockWaitSeconds ?? defaultLockWait(),
    );
  } catch (e) {
    if ((e as Error).message.startsWith(what)) throw e;
    throw new Error(`${expId}: cannot write the run directory ${expDir}: ${(e as Error).message}`);
  }
  try {
    let reused = false;
    if (await exists(finalDir)) {
      const why = await incompleteReason(finalDir);
      if (why !== null) {
        log(`${what}: ${finalDir} is incomplete (${why}); removing it and running again`);
        await Deno.remove(finalDir, { recursive: true });
      } else if (options.force) {
        const { finishedAt } = JSON.parse(
          await Deno.readTextFile(path.join(finalDir, "metrics.json")),
        );
        log(
          `${what}: --force: discarding the finished run of ${finishedAt} and starting over ` +
            `(it is replaced when this one finishes)`,
        );
      } else {
        reused = true;
      }
    }
    if (reused) {
      const record = await loadRun(finalDir);
      log(
        `${what}: reusing the finished run of ${record.finishedAt} (${finalDir}); --force re-runs it`,
      );
      return reusedRun(record, options, identity, lock);
    }
    let earlier = { seconds: 0, parts: 0 };
    if (await exists(partial)) {
      if (options.force) {
        log(`${what}: --force: discarding the interrupted run's checkpoints and starting over`);
        await Deno.remove(partial, { recursive: true });
      } else {
        const progress = await checkpointProgress(partial);
        log(
          `${what}: continuing the interrupted run from its checkpoints` +
            (progress.length
              ? ` (${progress.join("; ")})`
              : " (no checkpoint yet: from the start)"),
        );
        await Deno.remove(path.join(partial, "metrics.json")).catch(() => {});
        earlier = await earlierParts(partial);
      }
    } else log(`${what}: a new run (${finalDir} once finished)`);
    await Deno.mkdir(partial, { recursive: true });
    await writeFileAtomic(
      path.join(partial, "config.json"),
      JSON.stringify(
        {
          experiment: expId,
          profile: options.profile,
          config: options.config,
          ...identity,
          ompNumThreads,
        },
        null,
        2,
      ),
    );
    const started = performance.now();
    const parts = earlier.parts + 1;
    await writeFileAtomic(
      path.join(partial, ELAPSED_FILE),
      JSON.stringify({
        earlierSeconds: earlier.seconds,
        parts,
        startedAt: new Date().toISOString(),
      }),
    );
    const ctx = makeRunContext(partial, options.profile, quiet);
    let finished: RunRecord | null = null;
    return {
      ...ctx,
      experiment: expId,
      runId,
      reused: false,
      config: options.config,
      finalDir,
      identity,
      release: () => releaseLock(lock),
      async finish(outcome: RunOutcome): Promise<RunRecord> {
        if (finished) return finished;
        if (heldLocks.get(lock.path) !== lock) {
          throw new Error(`${what}: the run was released or re-opened; open it again to finish`);
        }
        try {
          const seconds = earlier.seconds + (performance.now() - started) / 1000;
          const finishedAt = new Date().toISOString();
          await writeFileAtomic(
            path.join(partial, "metrics.json"),
            JSON.stringify(
              { metrics: outcome.metrics, claims: outcome.claims, seconds, parts, finishedAt },
              null,
              2,
            ),
          );
          faultPoint("run-finish");
          if (await exists(finalDir)) {
            const trash = path.join(expDir, `.${runId}.old-${crypto.randomUUID().slice(0, 8)}`);
            await Deno.rename(finalDir, trash);
            await Deno.rename(partial, finalDir);
            await Deno.remove(trash, { recursive: true });
          } else {
            await Deno.rename(partial, finalDir);
          }
          finished = {
            experiment: expId,
            runId,
            dir: finalDir,
            profile: options.profile,
            config: options.config,
            metrics: outcome.metrics,
            claims: outcome.claims,
            seconds,
            parts,
            reused: false,
            codeVersion: code,
            backend,
            ompNumThreads,
            finishedAt,
          };
          const partsNote = parts > 1
            ? ` (in ${parts} parts: it was interrupted and continued)`
            : "";
          log(`${what}: finished in ${seconds.toFixed(1)} s${partsNote} -> ${finalDir}`);
          await reportToDriver(finished);
          return finished;
        } finally {
          releaseLock(lock);
        }
      },
    };
  } catch (e) {
    releaseLock(lock);
    throw e;
  }
}

/** The {@link OpenRun} of a finished run: reads its checkpoints, writes nothing. */
function reusedRun(
  record: RunRecord,
  options: OpenRunOptions,
  identity: RunIdentity,
  lock: HeldLock,
): OpenRun {
  const dir = record.dir;
  const skip = () => Promise.resolve();
  // Reading a finished run needs no lock: it is only ever replaced by a rename.
  releaseLock(lock);
  return {
    dir,
    profile: options.profile,
    log: (line: string) => {
      if (!options.quiet) console.log(line);
    },
    saveHistory: skip,
    saveFigure: skip,
    saveImage: skip,
    saveJson: skip,
    checkpointDir: (name: string) => Promise.resolve(path.join(dir, "checkpoints", safeName(name))),
    experiment: record.experiment,
    runId: record.runId,
    reused: true,
    config: record.config,
    finalDir: dir,
    identity,
    release: () => {},
    async finish(outcome: RunOutcome) {
      // The numbers the notebook computed now from the reused weights (the same as stored
      // unless an analysis cell changed); the finished run on disk is left as it was.
      const reused = { ...record, metrics: outcome.metrics, claims: outcome.claims, reused: true };
      await reportToDriver(reused);
      return reused;
    },
  };
}

/**
 * Tells `deno task exp` (which ran the notebook) which run the notebook finished: env
 * `AE_RUN_RECORD` names a file that gets the record as JSON.
 */
async function reportToDriver(record: RunRecord): Promise<void> {
  const file = Deno.env.get("AE_RUN_RECORD");
  if (file) await writeFileAtomic(file, JSON.stringify(record, null, 2));
}

/** Options of {@link executeRun}. */
export interface ExecuteRunOptions {
  /** Profile the config came from. */
  profile: Profile;
  /** Re-run even if a finished run with the same id exists. */
  force?: boolean;
  /** No log lines. */
  quiet?: boolean;
  /** Root of run directories (default `outputs/runs`). */
  runsRoot?: string;
  /** Input files the experiment reads (their digests are part of the run id). */
  data?: readonly string[];
}

/**
 * Runs an experiment module with a resolved configuration through {@link openRun} (same
 * identity, lock and messages), or reuses its finished run.
 */
export async function executeRun<C extends ExperimentConfig>(
  experiment: Experiment<C>,
  config: C,
  options: ExecuteRunOptions,
): Promise<RunRecord> {
  const run = await openRun({
    experiment: experiment.id,
    profile: options.profile,
    config,
    data: options.data,
    force: options.force,
    quiet: options.quiet,
    runsRoot: options.runsRoot,
  });
  if (run.reused) {
    const stored = await loadRun(run.finalDir);
    return await run.finish({ metrics: stored.metrics, claims: stored.claims });
  }
  try {
    return await run.finish(await experiment.run(config, run));
  } finally {
    run.release();
  }
}

/** Reads a finished run directory. */
export async function loadRun(dir: string): Promise<RunRecord> {
  const cfg = JSON.parse(await Deno.readTextFile(path.join(dir, "config.json")));
  const m = JSON.parse(await Deno.readTextFile(path.join(dir, "metrics.json")));
  return {
    experiment: cfg.experiment,
    runId: path.basename(dir),
    dir,
    profile: cfg.profile,
    config: cfg.config,
    metrics: m.metrics,
    claims: m.claims,
    seconds: m.seconds,
    parts: m.parts ?? 1, // runs recorded before 2026-12-08: one part as far as anyone knows
    reused: false,
    codeVersion: cfg.codeVersion,
    backend: cfg.backend ?? "unknown",
    ompNumThreads: cfg.ompNumThreads ?? null, // runs recorded before 2026-12-08 have none
    finishedAt: m.finishedAt,
  };
}

/** Names of the artifacts of one kind in a run (`figures`, `images`, `histories`, `tables`). */
export async function listArtifacts(
  run: RunRecord,
  kind: "figures" | "images" | "histories" | "tables",
): Promise<string[]> {
  const dir = path.join(run.dir, kind);
  if (!await exists(dir)) return [];
  const ext = { figures: ".json", images: ".png", histories: ".csv", tables: ".json" }[kind];
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.endsWith(ext)) names.push(e.name.slice(0, -ext.length));
  }
  return names.sort();
}

/** Reads a saved figure of a run. */
export async function readFigure(run: RunRecord, name: string): Promise<PlotlyFigureData> {
  return JSON.parse(
    await Deno.readTextFile(path.join(run.dir, "figures", `${safeName(name)}.json`)),
  );
}

/** Reads a saved history of a run. */
export async function readHistory(run: RunRecord, name: string): Promise<HistoryRow[]> {
  return historyFromCsv(
    await Deno.readTextFile(path.join(run.dir, "histories", `${safeName(name)}.csv`)),
  );
}

/** Reads a saved image (PNG bytes and optional caption HTML) of a run. */
export async function readImage(
  run: RunRecord,
  name: string,
): Promise<{ png: Uint8Array; captionHtml: string | null }> {
  const base = path.join(run.dir, "images", safeName(name));
  const png = await Deno.readFile(`${base}.png`);
  const captionHtml = await exists(`${base}.html`) ? await Deno.readTextFile(`${base}.html`) : null;
  return { png, captionHtml };
}

/** Reads a saved JSON table of a run. */
export async function readTable<T = unknown>(run: RunRecord, name: string): Promise<T> {
  return JSON.parse(
    await Deno.readTextFile(path.join(run.dir, "tables", `${safeName(name)}.json`)),
  );
}
