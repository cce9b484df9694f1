/**
 * A reader's edits take effect: a notebook (03_zero_one) with its parameters cell and its model
 * cell changed runs as a new run whose summary shows the new parameter count, while the
 * unchanged notebook reuses its finished run; and re-running all of a notebook's cells in the
 * same kernel (what JupyterLab's "Run All" twice does) leaks no tensors.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { executeNotebook } from "../lib/report/execute.ts";
import { cellSource, type NotebookJson } from "../lib/report/notebook_params.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SOURCE = path.join(ROOT, "notebooks", "03_zero_one.ipynb");

/**
 * A copy of the notebook in a fresh folder two levels under the repository (so the kernel finds
 * deno.json), with its `../lib/` imports adjusted and `edit` applied to each cell's source.
 */
async function copyNotebook(
  edit: (source: string) => string = (s) => s,
  transform: (nb: NotebookJson) => NotebookJson = (nb) => nb,
): Promise<{ dir: string; file: string }> {
  await Deno.mkdir(path.join(ROOT, "outputs"), { recursive: true });
  const dir = await Deno.makeTempDir({ dir: path.join(ROOT, "outputs"), prefix: "nb-edit-" });
  const nb: NotebookJson = JSON.parse(await Deno.readTextFile(SOURCE));
  for (const cell of nb.cells) {
    cell.source = edit(cellSource(cell).replaceAll('"../lib/mod.ts"', '"../../lib/mod.ts"'));
  }
  const file = path.join(dir, path.basename(SOURCE));
  await Deno.writeTextFile(file, JSON.stringify(transform(nb)));
  return { dir, file };
}

interface CliRun {
  code: number;
  output: string;
  record: { runId: string; reused: boolean; config: Record<string, unknown>; report: string };
}

async function exp(
  notebooksDir: string,
  runsDir: string,
  reportsDir: string,
  extra: string[] = [],
): Promise<CliRun> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      path.join(ROOT, "lib/report/experiment_cli.ts"),
      "zero-one",
      "--json",
      ...extra,
    ],
    env: {
      AE_PROFILE: "smoke",
      AE_NOTEBOOKS_DIR: notebooksDir,
      AE_RUNS_DIR: runsDir,
      AE_REPORTS_DIR: reportsDir,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const output = stdout + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, output);
  return { code: out.code, output, record: JSON.parse(stdout.slice(stdout.indexOf("{"))) };
}

Deno.test({
  name: "an edited parameters cell and model cell give a new run with the new parameter count",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const runs = await Deno.makeTempDir({ prefix: "ae-edit-runs-" });
    const reports = await Deno.makeTempDir({ prefix: "ae-edit-reports-" });
    const plain = await copyNotebook();
    const edited = await copyNotebook((s) =>
      s.replace("knnK: 5,", "knnK: 7,")
        .replace('h = torchLinear(h, 128, init, "relu");', 'h = torchLinear(h, 96, init, "relu");')
    );
    try {
      const editedSource = await Deno.readTextFile(edited.file);
      assert.ok(editedSource.includes("knnK: 7,") && editedSource.includes("torchLinear(h, 96"));
      const first = await exp(plain.dir, runs, reports);
      const firstHtml = await Deno.readTextFile(first.record.report);
      assert.match(firstHtml, /86,691 parameters/, "the summary of the write-up's model");
      // --set of a default value: the injected cell (in a copy two folders down) changes nothing.
      const again = await exp(plain.dir, runs, reports, ["--set", "seed=0"]);
      assert.equal(again.record.reused, true, "unchanged notebook: reused");
      assert.equal(again.record.runId, first.record.runId);
      const changed = await exp(edited.dir, runs, reports);
      assert.equal(changed.record.reused, false, "edited notebook: trained afresh");
      assert.notEqual(changed.record.runId, first.record.runId);
      assert.equal(changed.record.config.knnK, 7, "the edited parameter is in force");
      // Encoder Dense 288 -> 96 -> 2 instead of 288 -> 128 -> 2: 9,312 parameters fewer.
      const changedHtml = await Deno.readTextFile(changed.record.report);
      assert.match(changedHtml, /77,379 parameters/);
    } finally {
      for (const d of [runs, reports, plain.dir, edited.dir]) {
        await Deno.remove(d, { recursive: true }).catch(() => {});
      }
    }
  },
});

Deno.test({
  name: "running a notebook's cells twice in one kernel leaks no tensors and reuses the run",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const runs = await Deno.makeTempDir({ prefix: "ae-rerun-runs-" });
    const probe = {
      cell_type: "code",
      metadata: {},
      outputs: [],
      execution_count: null,
      source: "`numTensors=${tf.memory().numTensors}`",
    };
    const twice = await copyNotebook(undefined, (nb) => {
      const code = nb.cells.filter((c) => c.cell_type === "code");
      return { ...nb, cells: [...code, probe, ...code, probe] };
    });
    try {
      const out = path.join(twice.dir, "executed.ipynb");
      const result = await executeNotebook(twice.file, out, {
        // Its claims too go to the temp dir, not to the repository's outputs/.
        env: { AE_PROFILE: "smoke", AE_RUNS_DIR: runs, AE_CLAIMS_DIR: path.join(runs, "claims") },
      });
      assert.ok(result.ok, result.error?.message);
      const executed: NotebookJson = JSON.parse(await Deno.readTextFile(out));
      const texts = executed.cells.map((c) =>
        (c.outputs ?? []).map((o) => {
          const data = (o as { data?: Record<string, string | string[]> }).data;
          const text = (o as { text?: string | string[] }).text;
          return [data?.["text/plain"] ?? text ?? ""].flat().join("");
        }).join("\n")
      );
      const counts = texts.flatMap((t) => [...t.matchAll(/numTensors=(\d+)/g)].map((m) => m[1]));
      assert.equal(counts.length, 2, texts.join("\n---\n"));
      assert.equal(counts[1], counts[0], `tensors after pass 1 and 2: ${counts.join(", ")}`);
      assert.ok(texts.some((t) => /reusing the finished run/.test(t)), "pass 2 reuses the run");
    } finally {
      await Deno.remove(runs, { recursive: true }).catch(() => {});
      await Deno.remove(twice.dir, { recursive: true }).catch(() => {});
    }
  },
});
