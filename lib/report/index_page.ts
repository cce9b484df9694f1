/**
 * The report index as a dashboard: one card per notebook (a thumbnail of its main figure, its
 * pass / differ / n-a counts, wall time, backend and profile, a link to its report), then one
 * line per claim of every experiment (claim, expected, our number, verdict), grouped by notebook,
 * and a line per notebook that failed or recorded no claims. Built from the status files the driver writes and the claim records the notebooks
 * write ({@link readClaims}).
 *
 * @module
 */
import type { ClaimsRecord } from "./claims.ts";
import { VERDICT_STYLE } from "./claims.ts";
import { escapeHtml } from "../display.ts";

/** How one notebook's last report run went (stored as `status/<notebook>.json`). */
export interface NotebookStatus {
  /** Notebook file name, e.g. `03_latent_sweep.ipynb`. */
  notebook: string;
  /** Absolute path of the notebook that was run. */
  source: string;
  /** `ok` or `failed`. */
  status: "ok" | "failed";
  /** Profile it ran with. */
  profile: string;
  /** Seconds it took (execution and export). */
  seconds: number;
  /** Report page relative to the index (absent when no page could be written). */
  report?: string;
  /** One line naming the cell and error, when failed. */
  error?: string;
  /** ISO time the run ended. */
  finishedAt: string;
  /** Compute backend the notebook's run trained on (from its run record), when known. */
  backend?: string;
  /** `OMP_NUM_THREADS` its run trained with (from its run record), when it was set. */
  ompNumThreads?: string;
  /** A small `data:image/png` URI of the notebook's main figure (its first image), when any. */
  thumbnail?: string;
}

function card(status: NotebookStatus, own: readonly ClaimsRecord[]): string {
  const counts = { pass: 0, differs: 0, "n/a": 0 };
  for (const record of own) for (const row of record.rows) counts[row.verdict] += 1;
  const name = escapeHtml(status.notebook.replace(/\.ipynb$/, ""));
  const img = status.thumbnail
    ? `<img src="${status.thumbnail}" alt="main figure of ${name}" style="max-width:100%;` +
      `max-height:140px;image-rendering:pixelated">`
    : `<div style="height:60px;color:#888">no figure</div>`;
  const verdicts = status.status === "failed"
    ? `<span style="${VERDICT_STYLE.differs}">failed</span>`
    : `<span style="${VERDICT_STYLE.pass}">${counts.pass} pass</span> ` +
      `<span style="${VERDICT_STYLE.differs}">${counts.differs} differ</span> ` +
      `<span style="${VERDICT_STYLE["n/a"]}">${counts["n/a"]} n/a</span>`;
  const inner = `<div class="thumb">${img}</div><h3 style="margin:.4em 0">${name}</h3>` +
    `<div class="verdicts">${verdicts}</div><div class="meta" style="color:#555">` +
    `${status.seconds.toFixed(0)} s, ${escapeHtml(status.backend ?? "backend unknown")}` +
    (status.ompNumThreads === undefined
      ? ", "
      : ` (OMP_NUM_THREADS ${escapeHtml(status.ompNumThreads)}), `) +
    `profile ${escapeHtml(status.profile)}</div>`;
  const body = status.report
    ? `<a href="${
      escapeHtml(status.report)
    }" style="color:inherit;text-decoration:none">${inner}</a>`
    : inner;
  return `<div class="card" style="border:1px solid #ccc;border-radius:6px;padding:10px;` +
    `width:260px">${body}</div>`;
}

const CELL = 'style="border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top"';

function link(status: NotebookStatus): string {
  const name = escapeHtml(status.notebook.replace(/\.ipynb$/, ""));
  return status.report ? `<a href="${escapeHtml(status.report)}">${name}</a>` : name;
}

/**
 * Whether a claim record is the one a notebook's report run wrote: same notebook and, where the
 * record names one, the same profile. The index page and the README's results table both judge
 * records by this.
 *
 * @param record A claim record of the report directory.
 * @param status The notebook's status in that directory.
 */
export function isOwnRecord(record: ClaimsRecord, status: NotebookStatus): boolean {
  return record.notebook === status.notebook &&
    (record.profile === null || record.profile === status.profile);
}

/**
 * Renders the index page.
 *
 * @param statuses One per notebook (order kept).
 * @param claims All claim records; those that match no status by notebook and profile are
 *   listed last.
 * @param title Page title.
 * @returns A complete, self-contained HTML page.
 */
export function renderIndex(
  statuses: readonly NotebookStatus[],
  claims: readonly ClaimsRecord[],
  title = "MNIST autoencoders: claims and our numbers",
): string {
  const rows: string[] = [];
  // A record of another profile (a smoke run in JupyterLab) is listed last, under its profile.
  const ownOf = (status: NotebookStatus) => claims.filter((c) => isOwnRecord(c, status));
  const shown = new Set(statuses.flatMap(ownOf));
  const known = new Set(statuses.map((s) => s.notebook));
  for (const status of statuses) {
    const own = ownOf(status);
    const when = `${status.profile}, ${status.seconds.toFixed(1)} s`;
    if (status.status === "failed") {
      rows.push(
        `<tr class="failed"><td ${CELL}>${link(status)}</td><td ${CELL} colspan="4">` +
          `<b>notebook failed</b>: ${escapeHtml(status.error ?? "unknown error")}</td>` +
          `<td ${CELL} style="${VERDICT_STYLE.differs}">failed</td><td ${CELL}>${when}</td></tr>`,
      );
    } else if (own.length === 0) {
      rows.push(
        `<tr><td ${CELL}>${link(status)}</td><td ${CELL} colspan="4">no claims recorded</td>` +
          `<td ${CELL}>ran</td><td ${CELL}>${when}</td></tr>`,
      );
    }
    for (const record of own) {
      for (const row of record.rows) {
        rows.push(
          `<tr><td ${CELL}>${link(status)}</td><td ${CELL}>${
            escapeHtml(record.experimentId)
          }</td>` +
            `<td ${CELL}>${escapeHtml(row.claim)}</td><td ${CELL}>${
              escapeHtml(row.expected)
            }</td>` +
            `<td ${CELL}>${escapeHtml(row.ours)}</td>` +
            `<td style="border:1px solid #ccc;padding:4px 8px;${VERDICT_STYLE[row.verdict]}">` +
            `${row.verdict}</td><td ${CELL}>${when}</td></tr>`,
        );
      }
    }
  }
  for (const record of claims.filter((c) => !shown.has(c))) {
    for (const row of record.rows) {
      rows.push(
        `<tr><td ${CELL}>${
          escapeHtml(
            record.notebook === null
              ? "(outside a report run)"
              : known.has(record.notebook)
              ? `${record.notebook} (a ${record.profile} run, not this report's)`
              : record.notebook,
          )
        }</td>` +
          `<td ${CELL}>${escapeHtml(record.experimentId)}</td><td ${CELL}>${
            escapeHtml(row.claim)
          }</td>` +
          `<td ${CELL}>${escapeHtml(row.expected)}</td><td ${CELL}>${escapeHtml(row.ours)}</td>` +
          `<td style="border:1px solid #ccc;padding:4px 8px;${VERDICT_STYLE[row.verdict]}">` +
          `${row.verdict}</td><td ${CELL}>${escapeHtml(record.profile ?? "")}</td></tr>`,
      );
    }
  }
  const failed = statuses.filter((s) => s.status === "failed").length;
  const counts = { pass: 0, differs: 0, "n/a": 0 };
  for (const record of shown) for (const row of record.rows) counts[row.verdict] += 1;
  const summary =
    `${statuses.length} notebook(s), ${failed} failed; claims: ${counts.pass} pass, ` +
    `${counts.differs} differ, ${counts["n/a"]} n/a`;
  const head = ["Notebook", "Experiment", "Claim", "Expected", "Ours", "Verdict", "Run"]
    .map((h) => `<th ${CELL}>${h}</th>`).join("");
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}
th{background:#f0f0f0}</style></head>
<body><h1>${escapeHtml(title)}</h1>
<p id="summary">${escapeHtml(summary)}</p>
<div id="cards" style="display:flex;flex-wrap:wrap;gap:12px;margin:1em 0 2em">
${statuses.map((st) => card(st, ownOf(st))).join("\n")}
</div>
<h2>Claims, by notebook</h2>
<table id="claims"><thead><tr>${head}</tr></thead><tbody>
${rows.join("\n")}
</tbody></table></body></html>
`;
}
