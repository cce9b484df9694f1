import assert from "node:assert/strict";
import { resultsMarkdown } from "../lib/report/results_table.ts";
import type { ClaimsRecord } from "../lib/report/claims.ts";
import type { NotebookStatus } from "../lib/report/index_page.ts";

function record(id: string, notebook: string, rows: ClaimsRecord["rows"]): ClaimsRecord {
  return { experimentId: id, notebook, profile: null, rows, recordedAt: "2026-12-06T00:00:00Z" };
}

function status(notebook: string, seconds: number, ok = true): NotebookStatus {
  return {
    notebook,
    source: `/x/${notebook}`,
    status: ok ? "ok" : "failed",
    profile: "quick",
    seconds,
    finishedAt: "2026-12-06T00:00:00Z",
  };
}

Deno.test("results table: claims matched across columns, missing ones shown as -", () => {
  const quick = {
    label: "quick",
    claims: [
      record("zero-one", "03_zero_one.ipynb", [
        { claim: "0 and 1 separate", expected: "k-NN > 99%", ours: "99.6%", verdict: "pass" },
        { claim: "a | b", expected: "x", ours: "1", verdict: "differs" },
      ]),
    ],
    statuses: [status("03_zero_one.ipynb", 42)],
  };
  const full = {
    label: "full",
    claims: [
      record("zero-one", "03_zero_one.ipynb", [
        { claim: "0 and 1 separate", expected: "k-NN > 99%", ours: "99.9%", verdict: "pass" },
      ]),
    ],
    statuses: [status("03_zero_one.ipynb", 605), status("01_cnn_tsne.ipynb", 30, false)],
  };
  const md = resultsMarkdown([quick, full]);
  const lines = md.trimEnd().split("\n");
  assert.equal(
    lines[0],
    "| notebook | claim | write-up | ours, quick | quick | ours, full | full |",
  );
  assert.equal(
    lines[2],
    "| 03_zero_one | 0 and 1 separate | k-NN > 99% | 99.6% | pass | 99.9% | pass |",
  );
  // A pipe inside a cell is escaped; a claim absent from a column is "-".
  assert.equal(lines[3], "| 03_zero_one | a \\| b | x | 1 | differs | - | - |");
  assert.ok(
    md.includes("| 01_cnn_tsne | - | - | failed after 30 s | 0 pass / 0 differ / 0 n/a |"),
    md,
  );
  assert.ok(md.includes("| 03_zero_one | 42 s | 1 pass / 1 differ / 0 n/a | 10 min 05 s |"), md);
  assert.ok(
    lines.at(-1)!.startsWith("| **all** | **42 s** |  | **10 min 35 s** |  |"),
    lines.at(-1),
  );
});

Deno.test("results table: no column is an error", () => {
  assert.throws(() => resultsMarkdown([]), RangeError);
});
