/**
 * The README's results table: every claim of every notebook with the write-up's statement and our
 * number and verdict in each of several report directories (e.g. the `quick` report beside a
 * `full` one), then each notebook's wall time there. Built from what `deno task report` leaves in a
 * report directory (the claim records of `claims/` and the status files of `status/`), so the
 * table is never typed by hand.
 *
 * `deno run -A lib/report/results_table.ts LABEL=DIR [LABEL=DIR ...]` prints it as Markdown, e.g.
 * `quick=outputs/reports full=outputs/reports-full`.
 *
 * @module
 */
import * as path from "node:path";
import type { ClaimsRecord } from "./claims.ts";
import { readClaims } from "./claims.ts";
import type { NotebookStatus } from "./index_page.ts";
import { readStatuses } from "./run.ts";

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

/** Seconds as `42 s` or `3 min 05 s`. */
function duration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - 60 * m);
  return `${m} min ${String(s).padStart(2, "0")} s`;
}

function notebookOf(record: ClaimsRecord): string {
  return (record.notebook ?? record.experimentId).replace(/\.ipynb$/, "");
}

/**
 * The results as Markdown: a claims table (notebook, claim, write-up, then our number and verdict
 * per column; a claim missing from a column shows `-`) and a wall-time table per notebook.
 * Claims are matched across columns by experiment id and claim text.
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
        const key = keyOf(record.experimentId, row.claim);
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
    ...new Set(columns.flatMap((c) => c.statuses.map((s) => s.notebook.replace(/\.ipynb$/, "")))),
  ].sort();
  const totals = columns.map(() => 0);
  for (const notebook of notebooks) {
    const cells = [notebook];
    columns.forEach((column, i) => {
      const status = column.statuses.find((s) => s.notebook.replace(/\.ipynb$/, "") === notebook);
      if (!status) return void cells.push("-", "-");
      totals[i] += status.seconds;
      const counts = { pass: 0, differs: 0, "n/a": 0 };
      for (const record of column.claims) {
        if (notebookOf(record) !== notebook) continue;
        for (const row of record.rows) counts[row.verdict] += 1;
      }
      cells.push(
        status.status === "ok"
          ? duration(status.seconds)
          : `failed after ${duration(status.seconds)}`,
        `${counts.pass} pass / ${counts.differs} differ / ${counts["n/a"]} n/a`,
      );
    });
    lines.push(`| ${cells.map(cell).join(" | ")} |`);
  }
  const total = ["**all**", ...totals.flatMap((t) => [`**${duration(t)}**`, ""])];
  lines.push(`| ${total.join(" | ")} |`);
  return lines.join("\n") + "\n";
}

/**
 * Reads one report directory (as `deno task report --out DIR` leaves it).
 *
 * @param label Column label.
 * @param dir Report directory holding `claims/` and `status/`.
 * @returns The column; missing subdirectories give empty lists.
 */
export async function readResultsColumn(label: string, dir: string): Promise<ResultsColumn> {
  return {
    label,
    claims: await readClaims(path.join(dir, "claims")),
    statuses: await readStatuses(path.join(dir, "status")),
  };
}

if (import.meta.main) {
  const specs = Deno.args.map((arg) => {
    const at = arg.indexOf("=");
    if (at <= 0) {
      console.error(`results_table: expected LABEL=DIR, got '${arg}'`);
      Deno.exit(2);
    }
    return { label: arg.slice(0, at), dir: arg.slice(at + 1) };
  });
  if (specs.length === 0) {
    console.error("usage: deno run -A lib/report/results_table.ts LABEL=DIR [LABEL=DIR ...]");
    Deno.exit(2);
  }
  const columns = [];
  for (const { label, dir } of specs) columns.push(await readResultsColumn(label, dir));
  console.log(resultsMarkdown(columns).trimEnd());
}
