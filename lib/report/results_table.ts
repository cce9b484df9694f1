/**
 * The README's results table: every claim of every notebook with the write-up's statement and our
 * number and verdict in each of several report directories (e.g. the `quick` report beside a
 * `full` one), then each notebook's wall time there. Built from what `deno task report` leaves in a
 * report directory (the claim records of `claims/` and the status files of `status/`), so the
 * table is never typed by hand.
 *
 * `deno run -A lib/report/results_table.ts LABEL=DIR [LABEL=DIR ...]` prints it as Markdown, e.g.
 * `quick=outputs/reports full=outputs/reports-full`. With `--into README.md` it updates the table
 * between the file's `<!-- results:start -->` and `<!-- results:end -->` markers instead: the
 * notebooks found in a directory replace their rows in that column, every other row is kept as the
 * file has it. A `full` run of every notebook takes hours, so the README's table is filled a few
 * notebooks at a time, across sessions, without re-running what is already there.
 *
 * @module
 */
import * as path from "node:path";
import type { ClaimRow, ClaimsRecord } from "./claims.ts";
import { readClaims } from "./claims.ts";
import { isOwnRecord, type NotebookStatus } from "./index_page.ts";
import { readStatuses } from "./run.ts";
import { formatDuration } from "./format.ts";

export type { ClaimRow, ClaimsRecord, NotebookStatus };

/** One report directory's contents, under the label its columns get (e.g. `quick`). */
export interface ResultsColumn {
  /** Column label, usually the profile. */
  label: string;
  /** The directory's claim records. */
  claims: readonly ClaimsRecord[];
  /** The directory's notebook status files. */
  statuses: readonly NotebookStatus[];
}

/** Escapes what would break a Markdown table cell. */
function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");
}

function notebookOf(record: ClaimsRecord): string {
  return (record.notebook ?? record.experimentId).replace(/\.ipynb$/, "");
}

function notebookName(status: NotebookStatus): string {
  return status.notebook.replace(/\.ipynb$/, "");
}

/**
 * The results as Markdown: a claims table (notebook, claim, write-up, then our number and verdict
 * per column; a claim missing from a column shows `-`) and a wall-time table per notebook.
 * Claims are matched across columns by notebook and claim text.
 *
 * @param columns At least one column; the first one's claims give the row order, claims only in
 *   later columns follow.
 * @returns Markdown text ending in a newline.
 * @throws RangeError when no column is given.
 */
export function resultsMarkdown(columns: readonly ResultsColumn[]): string {
  if (columns.length === 0) throw new RangeError("resultsMarkdown: no column given");
  const keyOf = (id: string, claim: string) => `${id}\u0000${claim}`;
  const rows = new Map<string, { notebook: string; claim: string; expected: string }>();
  const byColumn = columns.map(() => new Map<string, { ours: string; verdict: string }>());
  columns.forEach((column, i) => {
    for (const record of column.claims) {
      for (const row of record.rows) {
        const key = keyOf(notebookOf(record), row.claim);
        if (!rows.has(key)) {
          rows.set(key, { notebook: notebookOf(record), claim: row.claim, expected: row.expected });
        }
        byColumn[i].set(key, { ours: row.ours, verdict: row.verdict });
      }
    }
  });
  const ordered = [...rows.entries()].sort((a, b) => a[1].notebook.localeCompare(b[1].notebook));
  const head = ["notebook", "claim", "write-up"];
  for (const c of columns) head.push(`ours, ${c.label}`, c.label);
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => " --- ").join("|")}|`];
  for (const [key, row] of ordered) {
    const cells = [row.notebook, row.claim, row.expected];
    for (const column of byColumn) {
      const found = column.get(key);
      cells.push(found ? found.ours : "-", found ? found.verdict : "-");
    }
    lines.push(`| ${cells.map(cell).join(" | ")} |`);
  }
  lines.push("");
  const timeHead = ["notebook", ...columns.flatMap((c) => [`${c.label}: wall time`, "verdicts"])];
  lines.push(`| ${timeHead.join(" | ")} |`, `|${timeHead.map(() => " --- ").join("|")}|`);
  const notebooks = [
    ...new Set(columns.flatMap((c) => c.statuses.map(notebookName))),
  ].sort();
  const totals = columns.map(() => 0);
  for (const notebook of notebooks) {
    const cells = [notebook];
    columns.forEach((column, i) => {
      const status = column.statuses.find((s) => notebookName(s) === notebook);
      if (!status) return void cells.push("-", "-");
      totals[i] += status.seconds;
      const counts = { pass: 0, differs: 0, "n/a": 0 };
      for (const record of column.claims) {
        if (notebookOf(record) !== notebook) continue;
        for (const row of record.rows) counts[row.verdict] += 1;
      }
      cells.push(
        status.status === "ok"
          ? formatDuration(status.seconds)
          : `failed after ${formatDuration(status.seconds)}`,
        `${counts.pass} pass / ${counts.differs} differ / ${counts["n/a"]} n/a`,
      );
    });
    lines.push(`| ${cells.map(cell).join(" | ")} |`);
  }
  // A sum, not the report's wall time: a report exports each page while the next notebook runs.
  const total = ["**sum**", ...totals.flatMap((t) => [`**${formatDuration(t)}**`, ""])];
  lines.push(`| ${total.join(" | ")} |`);
  return lines.join("\n") + "\n";
}

/**
 * Reads one report directory (as `deno task report --out DIR` leaves it).
 *
 * @param label Column label.
 * @param dir Report directory holding `claims/` and `status/`.
 * @returns The column; missing subdirectories give empty lists.
 * @throws Error for a claim record the report's run did not write (see checkClaimsMatchReport).
 */
export async function readResultsColumn(label: string, dir: string): Promise<ResultsColumn> {
  const claims = await readClaims(path.join(dir, "claims"));
  const statuses = await readStatuses(path.join(dir, "status"));
  checkClaimsMatchReport(dir, claims, statuses);
  return { label, claims, statuses };
}

/**
 * Refuses claim records that the report's own run did not write: one recorded outside a report
 * run (a notebook run in JupyterLab writes the same file name) or at another profile than the
 * notebook's status says (a `smoke` run's claims beside a `quick` report). Either would put
 * numbers into the results table that the report's page does not show.
 *
 * @throws Error naming the record and the command that writes it again.
 */
function checkClaimsMatchReport(
  dir: string,
  claims: readonly ClaimsRecord[],
  statuses: readonly NotebookStatus[],
): void {
  for (const record of claims) {
    const file = path.join(dir, "claims", `${record.experimentId}.json`);
    if (record.notebook === null) {
      throw new Error(
        `${file} was recorded outside a report run (profile ${record.profile ?? "unknown"}); ` +
          `write it again with deno task report --out ${dir} <notebook>`,
      );
    }
    const status = statuses.find((s) => s.notebook === record.notebook);
    if (status && !isOwnRecord(record, status)) {
      throw new Error(
        `${file} holds claims of profile ${record.profile}, but the report's ${record.notebook} ` +
          `ran at ${status.profile}; write them again with deno task report --profile ` +
          `${status.profile} --out ${dir} ${record.notebook}`,
      );
    }
  }
}

/** The cells of one Markdown table line, `\\|` unescaped; null when the line is not a table row. */
function tableCells(line: string): string[] | null {
  const t = line.trim();
  if (!t.startsWith("|") || !t.endsWith("|") || t.length < 2) return null;
  return t.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, "|"));
}

/** Parses `42 s` / `3 min 05 s` (as {@link resultsMarkdown} writes them). */
function parseDuration(text: string, where: string): number {
  const m = /^(?:(\d+) min )?(\d+) s$/.exec(text);
  if (!m) {
    throw new SyntaxError(
      `${where}: expected a wall time like '42 s' or '3 min 05 s', got '${text}'`,
    );
  }
  return Number(m[1] ?? 0) * 60 + Number(m[2]);
}

/**
 * Reads back the tables {@link resultsMarkdown} wrote (also after `deno fmt` aligned them), so a
 * README's table can be updated notebook by notebook. Wall times come back to the second they
 * were printed with; verdict counts are recomputed from the claims.
 *
 * @param markdown Text holding the claims table and the wall-time table.
 * @returns One column per label, in the tables' order.
 * @throws SyntaxError naming the line when a table is not in that form.
 */
export function parseResultsMarkdown(markdown: string): ResultsColumn[] {
  const lines = markdown.split("\n");
  const at = (i: number) => `results table line ${i + 1}`;
  let columns: { label: string; claims: Map<string, ClaimsRecord>; statuses: NotebookStatus[] }[] =
    [];
  let mode: "none" | "claims" | "times" = "none";
  lines.forEach((line, i) => {
    const cells = tableCells(line);
    if (!cells) return void (mode = "none");
    if (cells.every((c) => /^:?-+:?$/.test(c))) return;
    if (mode === "none") {
      if (cells[0] === "notebook" && cells[1] === "claim" && cells[2] === "write-up") {
        const labels = [];
        for (let j = 3; j < cells.length; j += 2) {
          if (cells[j] !== `ours, ${cells[j + 1]}`) {
            throw new SyntaxError(`${at(i)}: expected 'ours, LABEL | LABEL', got '${cells[j]}'`);
          }
          labels.push(cells[j + 1]);
        }
        columns = labels.map((label) => ({ label, claims: new Map(), statuses: [] }));
        mode = "claims";
        return;
      }
      if (cells[0] === "notebook" && cells[1]?.endsWith(": wall time")) {
        if (cells.length !== 1 + 2 * columns.length) {
          throw new SyntaxError(`${at(i)}: the wall-time table does not match the claims table`);
        }
        mode = "times";
        return;
      }
      throw new SyntaxError(`${at(i)}: not a results table header: '${line.trim()}'`);
    }
    if (cells.length !== 3 + 2 * columns.length && mode === "claims") {
      throw new SyntaxError(
        `${at(i)}: expected ${3 + 2 * columns.length} cells, got ${cells.length}`,
      );
    }
    const notebook = cells[0];
    if (mode === "claims") {
      columns.forEach((column, j) => {
        const ours = cells[3 + 2 * j];
        const verdict = cells[4 + 2 * j];
        if (ours === "-" && verdict === "-") return;
        if (verdict !== "pass" && verdict !== "differs" && verdict !== "n/a") {
          throw new SyntaxError(`${at(i)}: verdict must be pass, differs or n/a, got '${verdict}'`);
        }
        let record = column.claims.get(notebook);
        if (!record) {
          record = {
            experimentId: notebook,
            notebook: `${notebook}.ipynb`,
            profile: column.label,
            rows: [],
            recordedAt: "",
          };
          column.claims.set(notebook, record);
        }
        record.rows.push({ claim: cells[1], expected: cells[2], ours, verdict });
      });
      return;
    }
    if (notebook === "**sum**" || notebook === "**all**") return; // "all": tables before 2026-12-07
    columns.forEach((column, j) => {
      const time = cells[1 + 2 * j];
      if (time === "-") return;
      const failed = time.startsWith("failed after ");
      column.statuses.push({
        notebook: `${notebook}.ipynb`,
        source: "",
        status: failed ? "failed" : "ok",
        profile: column.label,
        seconds: parseDuration(failed ? time.slice("failed after ".length) : time, at(i)),
        finishedAt: "",
      });
    });
  });
  return columns.map((c) => ({
    label: c.label,
    claims: [...c.claims.values()],
    statuses: c.statuses,
  }));
}

/**
 * Updates columns with newer report directories, notebook by notebook: a notebook that a fresh
 * column holds (a status or a claim record) replaces that notebook's rows and wall time in the
 * base column with the same label; everything else of the base is kept. A label the base lacks
 * is added as a new column.
 *
 * @param base Columns as they stand (e.g. parsed from the README).
 * @param fresh Columns read from report directories.
 * @returns The merged columns: the base's labels in order, then new ones.
 */
export function mergeResultsColumns(
  base: readonly ResultsColumn[],
  fresh: readonly ResultsColumn[],
): ResultsColumn[] {
  const out = [...base];
  for (const column of fresh) {
    const i = out.findIndex((c) => c.label === column.label);
    if (i < 0) {
      out.push(column);
      continue;
    }
    const replaced = new Set([
      ...column.statuses.map(notebookName),
      ...column.claims.map(notebookOf),
    ]);
    out[i] = {
      label: column.label,
      claims: [...out[i].claims.filter((r) => !replaced.has(notebookOf(r))), ...column.claims],
      statuses: [
        ...out[i].statuses.filter((s) => !replaced.has(notebookName(s))),
        ...column.statuses,
      ],
    };
  }
  return out;
}

/** The markers around the generated table in a Markdown file. */
export const RESULTS_MARKERS = {
  start: "<!-- results:start -->",
  end: "<!-- results:end -->",
} as const;

/**
 * Splits a file's text around its results markers.
 *
 * @returns The text before the table (up to and including the start marker), the table, and the
 *   rest from the end marker on.
 * @throws SyntaxError when the markers are missing or out of order.
 */
export function splitAtResultsMarkers(
  text: string,
): { before: string; table: string; after: string } {
  const start = text.indexOf(RESULTS_MARKERS.start);
  const end = text.indexOf(RESULTS_MARKERS.end);
  if (start < 0 || end < start) {
    throw new SyntaxError(
      `expected ${RESULTS_MARKERS.start} and then ${RESULTS_MARKERS.end} around the results table`,
    );
  }
  const cut = start + RESULTS_MARKERS.start.length;
  return { before: text.slice(0, cut), table: text.slice(cut, end), after: text.slice(end) };
}

if (import.meta.main) {
  const args = [...Deno.args];
  let into: string | null = null;
  const intoAt = args.indexOf("--into");
  if (intoAt >= 0) {
    into = args[intoAt + 1] ?? null;
    if (!into) {
      console.error("results_table: --into needs a file");
      Deno.exit(2);
    }
    args.splice(intoAt, 2);
  }
  const specs = args.map((arg) => {
    const at = arg.indexOf("=");
    if (at <= 0) {
      console.error(`results_table: expected LABEL=DIR, got '${arg}'`);
      Deno.exit(2);
    }
    return { label: arg.slice(0, at), dir: arg.slice(at + 1) };
  });
  if (specs.length === 0) {
    console.error(
      "usage: deno run -A lib/report/results_table.ts [--into FILE.md] LABEL=DIR [LABEL=DIR ...]",
    );
    Deno.exit(2);
  }
  const columns = [];
  for (const { label, dir } of specs) {
    const column = await readResultsColumn(label, dir).catch((e: Error) => {
      console.error(`results_table: ${e.message}`);
      Deno.exit(1);
    });
    if (column.claims.length === 0 && column.statuses.length === 0) {
      console.error(`results_table: ${dir} holds no claims/ or status/ records (label ${label})`);
      Deno.exit(1);
    }
    columns.push(column);
  }
  if (into === null) {
    console.log(resultsMarkdown(columns).trimEnd());
  } else {
    try {
      const parts = splitAtResultsMarkers(await Deno.readTextFile(into));
      const merged = mergeResultsColumns(parseResultsMarkdown(parts.table), columns);
      const table = resultsMarkdown(merged);
      await Deno.writeTextFile(into, `${parts.before}\n\n${table}\n${parts.after}`);
    } catch (e) {
      console.error(`results_table: ${into}: ${e instanceof Error ? e.message : e}`);
      Deno.exit(1);
    }
    // Align the table as the repository's formatter would, so the diff shows only what changed.
    // Run from the file's directory so that its project's fmt settings (line width) apply.
    const fmt = await new Deno.Command(Deno.execPath(), {
      args: ["fmt", "-q", path.basename(into)],
      cwd: path.dirname(path.resolve(into)),
    }).output();
    if (!fmt.success) {
      console.error(`results_table: deno fmt ${into} failed; the table is unaligned`);
    }
    const names = columns.map((c) => `${c.label}: ${c.statuses.map(notebookName).join(", ")}`);
    console.log(`results_table: updated ${into} (${names.join("; ")})`);
  }
}
