import assert from "node:assert/strict";
import * as path from "node:path";
import {
  mergeResultsColumns,
  parseResultsMarkdown,
  readResultsColumn,
  resultsMarkdown,
  splitAtResultsMarkers,
} from "../lib/report/results_table.ts";
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
    lines.at(-1)!.startsWith("| **sum** | **42 s** |  | **10 min 35 s** |  |"),
    lines.at(-1),
  );
});

Deno.test("results table: no column is an error", () => {
  assert.throws(() => resultsMarkdown([]), RangeError);
});

function columns() {
  const quick = {
    label: "quick",
    claims: [
      record("zero-one", "03_zero_one.ipynb", [
        { claim: "0 and 1 separate", expected: "k-NN > 99%", ours: "99.6%", verdict: "pass" },
        { claim: "a | b", expected: "x", ours: "1", verdict: "differs" },
      ]),
      record("cnn-tsne", "01_cnn_tsne.ipynb", [
        { claim: "clusters", expected: ">= 90%", ours: "91.9%", verdict: "pass" },
      ]),
    ],
    statuses: [status("03_zero_one.ipynb", 42), status("01_cnn_tsne.ipynb", 97)],
  } as const;
  const full = {
    label: "full",
    claims: [
      record("zero-one", "03_zero_one.ipynb", [
        { claim: "0 and 1 separate", expected: "k-NN > 99%", ours: "99.9%", verdict: "pass" },
      ]),
    ],
    statuses: [status("03_zero_one.ipynb", 605)],
  } as const;
  return [quick, full];
}

Deno.test("results table: the Markdown reads back as the columns it was made from", async () => {
  const md = resultsMarkdown(columns());
  assert.equal(resultsMarkdown(parseResultsMarkdown(md)), md);
  // Tables written before 2026-12-07 named the sum row "all"; they read back the same.
  assert.ok(md.includes("| **sum** |"));
  assert.equal(resultsMarkdown(parseResultsMarkdown(md.replace("| **sum** |", "| **all** |"))), md);
  // Also after deno fmt has aligned the tables (padded cells, longer separators).
  const dir = await Deno.makeTempDir();
  try {
    const file = path.join(dir, "t.md");
    await Deno.writeTextFile(file, md);
    const fmt = await new Deno.Command(Deno.execPath(), { args: ["fmt", "-q", file] }).output();
    assert.ok(fmt.success);
    const aligned = await Deno.readTextFile(file);
    assert.notEqual(aligned, md);
    assert.equal(resultsMarkdown(parseResultsMarkdown(aligned)), md);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("results table: a fresh directory replaces only the notebooks it holds", () => {
  const base = parseResultsMarkdown(resultsMarkdown(columns()));
  const fresh = [{
    label: "full",
    claims: [
      record("cnn-tsne", "01_cnn_tsne.ipynb", [
        { claim: "clusters", expected: ">= 90%", ours: "97.0%", verdict: "pass" },
      ]),
    ],
    statuses: [status("01_cnn_tsne.ipynb", 1800)],
  }, {
    label: "gpu",
    claims: [],
    statuses: [status("01_cnn_tsne.ipynb", 60)],
  }];
  const md = resultsMarkdown(mergeResultsColumns(base, fresh));
  const lines = md.split("\n");
  // 01's full cells are new; 03's full result and every quick cell are kept.
  assert.ok(
    lines.includes("| 01_cnn_tsne | clusters | >= 90% | 91.9% | pass | 97.0% | pass | - | - |"),
    md,
  );
  assert.ok(
    lines.includes(
      "| 03_zero_one | 0 and 1 separate | k-NN > 99% | 99.6% | pass | 99.9% | pass | - | - |",
    ),
    md,
  );
  assert.ok(
    lines.some((l) =>
      l.startsWith("| 01_cnn_tsne | 1 min 37 s | 1 pass / 0 differ / 0 n/a | 30 min 00 s |")
    ),
    md,
  );
  assert.ok(
    lines.some((l) =>
      l.startsWith("| **sum** | **2 min 19 s** |  | **40 min 05 s** |  | **1 min 00 s** |")
    ),
    md,
  );
});

Deno.test("results table: a malformed table is an error naming its line", () => {
  const md = resultsMarkdown(columns()).replace("| 99.6% | pass |", "| 99.6% | maybe |");
  assert.throws(() => parseResultsMarkdown(md), /line 4: verdict must be pass, differs or n\/a/);
  assert.throws(
    () => parseResultsMarkdown(resultsMarkdown(columns()).replace("| 42 s |", "| 42 sec |")),
    /wall time like/,
  );
  assert.throws(() => splitAtResultsMarkers("no markers here"), /results:start/);
});

Deno.test("results table CLI: --into updates the table between the markers and keeps the rest", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const readme = path.join(dir, "README.md");
    const before = "# Title\n\nIntro.\n\n<!-- results:start -->\n";
    const after = "<!-- results:end -->\n\nAfter the table.\n";
    await Deno.writeTextFile(readme, `${before}\n${resultsMarkdown(columns())}\n${after}`);
    const report = path.join(dir, "reports-full");
    await Deno.mkdir(path.join(report, "claims"), { recursive: true });
    await Deno.mkdir(path.join(report, "status"), { recursive: true });
    await Deno.writeTextFile(
      path.join(report, "claims", "cnn-tsne.json"),
      JSON.stringify(record("cnn-tsne", "01_cnn_tsne.ipynb", [
        { claim: "clusters", expected: ">= 90%", ours: "97.0%", verdict: "pass" },
      ])),
    );
    await Deno.writeTextFile(
      path.join(report, "status", "01_cnn_tsne.json"),
      JSON.stringify(status("01_cnn_tsne.ipynb", 1800)),
    );
    const cli = path.resolve("lib/report/results_table.ts");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", cli, "--into", readme, `full=${report}`],
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.ok(out.success, stderr);
    const text = await Deno.readTextFile(readme);
    assert.ok(text.startsWith("# Title\n\nIntro.\n\n<!-- results:start -->\n"), text);
    assert.ok(text.endsWith("<!-- results:end -->\n\nAfter the table.\n"), text);
    const table = parseResultsMarkdown(splitAtResultsMarkers(text).table);
    const full = table.find((c) => c.label === "full")!;
    assert.deepEqual(full.statuses.map((s) => [s.notebook, s.seconds]).sort(), [
      ["01_cnn_tsne.ipynb", 1800],
      ["03_zero_one.ipynb", 605],
    ]);
    assert.equal(
      full.claims.find((r) => r.notebook === "01_cnn_tsne.ipynb")!.rows[0].ours,
      "97.0%",
    );
    // A directory without records is refused, and the file stays as it was.
    const bad = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", cli, "--into", readme, `full=${path.join(dir, "empty")}`],
    }).output();
    assert.equal(bad.code, 1);
    assert.match(new TextDecoder().decode(bad.stderr), /holds no claims\/ or status\/ records/);
    assert.equal(await Deno.readTextFile(readme), text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("results table: claims the report's run did not write are refused, naming the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ae-results-foreign-" });
  try {
    await Deno.mkdir(path.join(dir, "claims"), { recursive: true });
    await Deno.mkdir(path.join(dir, "status"), { recursive: true });
    await Deno.writeTextFile(
      path.join(dir, "status", "03_zero_one.ipynb.json"),
      JSON.stringify(status("03_zero_one.ipynb", 30)),
    );
    const write = (r: ClaimsRecord) =>
      Deno.writeTextFile(path.join(dir, "claims", `${r.experimentId}.json`), JSON.stringify(r));
    const rows = [{
      claim: "0/1 separate",
      expected: ">= 97%",
      ours: "99%",
      verdict: "pass" as const,
    }];
    // The report's own record (same notebook, same profile) reads.
    await write({ ...record("zero-one", "03_zero_one.ipynb", rows), profile: "quick" });
    assert.equal((await readResultsColumn("quick", dir)).claims.length, 1);
    // A smoke run's record beside the quick report's status: refused.
    await write({ ...record("zero-one", "03_zero_one.ipynb", rows), profile: "smoke" });
    await assert.rejects(
      () => readResultsColumn("quick", dir),
      /zero-one\.json holds claims of profile smoke, but the report's 03_zero_one\.ipynb ran at quick/,
    );
    // A notebook run outside a report (JupyterLab) writes the same file, without a notebook.
    await write({ ...record("zero-one", "03_zero_one.ipynb", rows), notebook: null });
    await assert.rejects(() => readResultsColumn("quick", dir), /outside a report run/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
