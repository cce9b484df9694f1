/**
 * Run directories: `outputs/runs/<experiment>/<run-id>/` with `config.json`, `metrics.json`,
 * histories, figures, images and checkpoints. A run is written into a hidden partial directory
 * (which an interrupted run leaves behind and the next attempt continues from)
 * and renamed into place only when it completed, so a run that dies never looks complete. The
 * run id hashes the experiment, its configuration and the library's code, so a finished run with
 * the same inputs is reused instead of re-trained (unless forced).
 *
 * @module
 */
import * as path from "node:path";
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
  /** Seconds the run took (of the original run when reused). */
  seconds: number;
  /** True when an earlier finished run was reused. */
  reused: boolean;
  /** Hash of the library code the run used. */
  codeVersion: string;
  /** Compute backend the run trained on (e.g. `tfjs-node`, `wasm`). */
  backend: string;
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

let cachedCodeVersion: string | undefined;

/**
 * A hash of the library's source (`lib/**` code files and the import map): a run made with other
 * code gets another run id, so stale results are never reused.
 */
export async function codeVersion(): Promise<string> {
  if (cachedCodeVersion) return cachedCodeVersion;
  const files = await listFiles(path.join(REPO_ROOT, "lib"), [".ts", ".py"]);
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
}

/**
 * Runs an experiment with a resolved configuration, or reuses the finished run with the same
 * id. The run is written into `.<id>.partial` and renamed to `<id>` only after `metrics.json`
 * is in place; an error or an interruption leaves the partial directory (named as such), and
 * the next run of the same id continues in it: experiments train with `resume: true` on the
 * checkpoints of {@link RunContext.checkpointDir}, so finished models and epochs are kept.
 * Two processes must not run the same id at once.
 */
export async function executeRun<C extends ExperimentConfig>(
  experiment: Experiment<C>,
  config: C,
  options: ExecuteRunOptions,
): Promise<RunRecord> {
  const root = options.runsRoot ?? RUNS_ROOT;
  const code = await codeVersion();
  // Backends differ in float rounding (and BatchNorm models amplify it), so a run on another
  // backend is another run: the one the experiment will use is part of the id.
  const backend = (await setupBackend(undefined, { quiet: true })).name;
  const runId = await runIdFor(experiment.id, config, `${code}/${backend}`);
  const expDir = path.join(root, experiment.id);
  const finalDir = path.join(expDir, runId);
  if (!options.force && await exists(path.join(finalDir, "metrics.json"))) {
    const record = await loadRun(finalDir);
    if (!options.quiet) {
      console.log(
        `${experiment.id}: reusing finished run ${runId} (${finalDir}); --force re-runs it`,
      );
    }
    return { ...record, reused: true };
  }
  await Deno.mkdir(expDir, { recursive: true });
  // A run of the same id that was interrupted left its partial directory: continue in it, so
  // the models it finished (and the epochs it checkpointed) are not trained again.
  const partial = path.join(expDir, `.${runId}.partial`);
  if (await exists(partial)) {
    if (!options.quiet) {
      console.log(`${experiment.id}: continuing interrupted run ${runId} from its checkpoints`);
    }
    await Deno.remove(path.join(partial, "metrics.json")).catch(() => {});
  }
  await Deno.mkdir(partial, { recursive: true });
  await writeFileAtomic(
    path.join(partial, "config.json"),
    JSON.stringify(
      { experiment: experiment.id, profile: options.profile, config, codeVersion: code, backend },
      null,
      2,
    ),
  );
  const ctx = makeRunContext(partial, options.profile, options.quiet ?? false);
  const started = performance.now();
  const outcome = await experiment.run(config, ctx);
  const seconds = (performance.now() - started) / 1000;
  const finishedAt = new Date().toISOString();
  await writeFileAtomic(
    path.join(partial, "metrics.json"),
    JSON.stringify(
      { metrics: outcome.metrics, claims: outcome.claims, seconds, finishedAt },
      null,
      2,
    ),
  );
  if (await exists(finalDir)) {
    const trash = path.join(expDir, `.${runId}.old-${crypto.randomUUID().slice(0, 8)}`);
    await Deno.rename(finalDir, trash);
    await Deno.rename(partial, finalDir);
    await Deno.remove(trash, { recursive: true });
  } else {
    await Deno.rename(partial, finalDir);
  }
  return {
    experiment: experiment.id,
    runId,
    dir: finalDir,
    profile: options.profile,
    config,
    metrics: outcome.metrics,
    claims: outcome.claims,
    seconds,
    reused: false,
    codeVersion: code,
    backend,
    finishedAt,
  };
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
    reused: false,
    codeVersion: cfg.codeVersion,
    backend: cfg.backend ?? "unknown",
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
