/**
 * Claims of the write-ups next to our numbers, recorded by the notebooks themselves: a notebook
 * calls {@link recordClaims} with its rows, which writes `<report directory>/claims/<id>.json`
 * (`outputs/reports/claims/` for the `quick` profile; atomically: a half-written file is never
 * read) and returns a table the notebook shows. The report's index page reads these files, so its
 * numbers are exactly the ones the notebook printed.
 *
 * The driver (`deno task report`) tells the kernel where to write (env `AE_CLAIMS_DIR`) and which
 * notebook is running (env `AE_NOTEBOOK`), so each record knows its notebook.
 *
 * @module
 */
import * as path from "node:path";
import { reportsDirFor } from "../paths.ts";
import { resolveProfile } from "../experiments/config.ts";
import type { ClaimRow } from "../experiments/types.ts";
import { escapeHtml, JUPYTER_DISPLAY, type MimeBundle } from "../display.ts";

export type { ClaimRow };

const VERDICTS: ReadonlySet<string> = new Set(["pass", "differs", "n/a"]);
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** One experiment's claims as stored on disk. */
export interface ClaimsRecord {
  /** Experiment id (also the file name). */
  experimentId: string;
  /** Notebook file name that recorded it (env `AE_NOTEBOOK`), or null outside the driver. */
  notebook: string | null;
  /** Profile it ran with (env `AE_PROFILE`), or null when unset. */
  profile: string | null;
  /** The rows. */
  rows: ClaimRow[];
  /** ISO time of recording. */
  recordedAt: string;
}

/** What {@link recordClaims} returns: the rows as a table the Deno kernel displays. */
export interface ClaimsTable {
  /** The HTML table. */
  html: string;
  /** Plain-text version of the table. */
  text: string;
  /** Where the record was written. */
  file: string;
  /** Returns the MIME bundle (text/html + text/plain) for the kernel. */
  [JUPYTER_DISPLAY](): MimeBundle;
}

/**
 * Directory claims are written to: env `AE_CLAIMS_DIR` when set (the report driver sets it), else
 * `claims/` of the active profile's report directory ({@link reportsDirFor}: `outputs/reports/`
 * for `quick`, `outputs/reports-smoke/` for a notebook run at `AE_PROFILE=smoke`), so a run at one
 * profile never replaces the claims of another profile's report.
 *
 * @returns An absolute path.
 * @throws Error when env `AE_PROFILE` names no profile.
 */
export function claimsDir(): string {
  const fromEnv = Deno.env.get("AE_CLAIMS_DIR");
  return fromEnv ? path.resolve(fromEnv) : path.join(reportsDirFor(resolveProfile()), "claims");
}

function checkRows(experimentId: string, rows: unknown): ClaimRow[] {
  if (!ID_PATTERN.test(experimentId)) {
    throw new RangeError(
      `recordClaims: experimentId must be letters, digits, '_', '.', '-' (a file name), got ${
        JSON.stringify(experimentId)
      }`,
    );
  }
  if (!Array.isArray(rows) || rows.length === 0) {
    throw new TypeError(`recordClaims(${experimentId}): rows must be a non-empty array`);
  }
  return rows.map((row, i) => {
    const where = `recordClaims(${experimentId}): row ${i}`;
    if (row === null || typeof row !== "object") throw new TypeError(`${where} is not an object`);
    const r = row as Record<string, unknown>;
    for (const key of ["claim", "expected", "ours"] as const) {
      if (typeof r[key] !== "string") {
        throw new TypeError(`${where}: '${key}' must be a string, got ${typeof r[key]}`);
      }
    }
    if ((r.claim as string).trim() === "") throw new TypeError(`${where}: 'claim' is empty`);
    if (typeof r.verdict !== "string" || !VERDICTS.has(r.verdict)) {
      throw new TypeError(
        `${where}: 'verdict' must be "pass", "differs" or "n/a", got ${JSON.stringify(r.verdict)}`,
      );
    }
    return {
      claim: r.claim as string,
      expected: r.expected as string,
      ours: r.ours as string,
      verdict: r.verdict as ClaimRow["verdict"],
    };
  });
}

/** Background colours of the verdict cells (also used by the index page). */
export const VERDICT_STYLE: Readonly<Record<ClaimRow["verdict"], string>> = {
  pass: "background:#d4edda;color:#155724",
  differs: "background:#f8d7da;color:#721c24",
  "n/a": "background:#e2e3e5;color:#383d41",
};

/**
 * The rows as an HTML table (claim, expected, ours, verdict), escaped.
 *
 * @param rows Claim rows.
 * @returns An HTML `<table>` fragment.
 */
export function claimsTableHtml(rows: readonly ClaimRow[]): string {
  const td = 'style="border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top"';
  const head = ["Claim", "Expected", "Ours", "Verdict"].map((h) => `<th ${td}>${h}</th>`).join("");
  const body = rows.map((r) =>
    `<tr><td ${td}>${escapeHtml(r.claim)}</td><td ${td}>${escapeHtml(r.expected)}</td>` +
    `<td ${td}>${escapeHtml(r.ours)}</td>` +
    `<td style="border:1px solid #ccc;padding:4px 8px;text-align:left;${
      VERDICT_STYLE[r.verdict]
    }">${r.verdict}</td></tr>`
  ).join("");
  return `<table class="ae-claims" style="border-collapse:collapse">` +
    `<thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function claimsTableText(rows: readonly ClaimRow[]): string {
  return rows.map((r) => `[${r.verdict}] ${r.claim} | expected: ${r.expected} | ours: ${r.ours}`)
    .join("\n");
}

/**
 * Records an experiment's claims for the report index and returns them as a table to display.
 * Writes `<claimsDir()>/<experimentId>.json` atomically (temp file + rename); a later call with
 * the same id replaces it.
 *
 * @param experimentId File-name-safe id, e.g. `e3-latent-sweep`.
 * @param rows Non-empty list of claim rows; `verdict` is "pass", "differs" or "n/a".
 * @param options `dir` overrides {@link claimsDir}.
 * @returns A displayable table (make it a cell's last expression to show it).
 * @throws TypeError / RangeError naming the bad id or row.
 */
export function recordClaims(
  experimentId: string,
  rows: ClaimRow[],
  options: { dir?: string } = {},
): ClaimsTable {
  const checked = checkRows(experimentId, rows);
  const dir = options.dir ?? claimsDir();
  const record: ClaimsRecord = {
    experimentId,
    notebook: Deno.env.get("AE_NOTEBOOK") ?? null,
    profile: Deno.env.get("AE_PROFILE") ?? null,
    rows: checked,
    recordedAt: new Date().toISOString(),
  };
  Deno.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${experimentId}.json`);
  const tmp = `${file}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  Deno.writeTextFileSync(tmp, JSON.stringify(record, null, 2) + "\n");
  Deno.renameSync(tmp, file);
  const html = claimsTableHtml(checked);
  const text = claimsTableText(checked);
  return {
    html,
    text,
    file,
    [JUPYTER_DISPLAY]: () => ({ "text/html": html, "text/plain": text }),
  };
}

/**
 * Reads every claim record of a directory (skipping temp files); a file that is not a valid
 * record raises an error naming it.
 *
 * @param dir Directory (default {@link claimsDir}); a missing directory gives an empty list.
 * @returns Records sorted by experiment id.
 */
export async function readClaims(dir: string = claimsDir()): Promise<ClaimsRecord[]> {
  const records: ClaimsRecord[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  for (const entry of entries) {
    if (!entry.isFile || !entry.name.endsWith(".json")) continue;
    const file = path.join(dir, entry.name);
    let parsed: ClaimsRecord;
    try {
      parsed = JSON.parse(await Deno.readTextFile(file));
      checkRows(parsed.experimentId, parsed.rows);
    } catch (e) {
      throw new Error(`readClaims: ${file} is not a valid claims record: ${(e as Error).message}`);
    }
    records.push(parsed);
  }
  return records.sort((a, b) => a.experimentId.localeCompare(b.experimentId));
}
