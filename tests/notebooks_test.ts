/**
 * Every notebook of notebooks/ runs in the `smoke` profile through the real Deno kernel (with
 * the late-output-keeping executor), with no error output, and every code cell that is meant
 * to show something has an output; one exported report is opened in headless Chromium and
 * must contain rendered Plotly plots and loaded images. Runs use a throw-away run store
 * (`AE_RUNS_DIR`), so nothing is reused from earlier runs.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { EXPERIMENT_IDS } from "../lib/experiments/registry.ts";
import { runReport } from "../lib/report/run.ts";
import { dumpDom } from "../lib/report/chromium.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const NOTEBOOKS = path.join(ROOT, "notebooks");

interface Cell {
  cell_type: string;
  source: string | string[];
  metadata?: { tags?: string[] };
  outputs?: { output_type: string; ename?: string; evalue?: string }[];
  execution_count?: number | null;
}

function notebookFiles(): string[] {
  return [...Deno.readDirSync(NOTEBOOKS)].filter((e) => e.name.endsWith(".ipynb")).map((e) =>
    e.name
  )
    .sort();
}

Deno.test("there is one notebook per experiment, committed without outputs", () => {
  const files = notebookFiles();
  assert.equal(files.length, EXPERIMENT_IDS.length, `notebooks: ${files.join(", ")}`);
  for (const file of files) {
    const nb = JSON.parse(Deno.readTextFileSync(path.join(NOTEBOOKS, file)));
    assert.equal(nb.metadata?.kernelspec?.name, "deno", `${file}: kernel must be deno`);
    const code = (nb.cells as Cell[]).filter((c) => c.cell_type === "code");
    // A tutorial, not a launcher: the write-up's steps as cells, settings in a parameters cell.
    assert.ok(code.length >= 6, `${file}: ${code.length} code cells, expected at least 6`);
    const parameters = code.filter((c) => (c.metadata?.tags ?? []).includes("parameters"));
    assert.equal(parameters.length, 1, `${file}: one cell tagged "parameters"`);
    assert.match([parameters[0].source].flat().join(""), /const config = \{/);
    for (const cell of nb.cells as Cell[]) {
      if (cell.cell_type !== "code") continue;
      assert.deepEqual(cell.outputs ?? [], [], `${file}: committed with outputs`);
      assert.equal(cell.execution_count ?? null, null, `${file}: committed with execution counts`);
    }
  }
});

Deno.test({
  name:
    "every notebook executes in the smoke profile with outputs where expected; a report renders in Chromium",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const outDir = await Deno.makeTempDir({ prefix: "ae-notebooks-" });
    const runsDir = path.join(outDir, "runs");
    const lines: string[] = [];
    const result = await runReport({
      profile: "smoke",
      outDir,
      // Two kernels at a time, as `deno task report --jobs 2`: the smoke notebooks are mostly
      // kernel start-up and imports, and the run also tests that notebooks can share the run
      // store, data and claims directories.
      jobs: 2,
      env: { AE_RUNS_DIR: runsDir },
      log: (line) => {
        lines.push(line);
        console.log(line);
      },
    });
    const failed = result.results.filter((r) => r.status !== "ok");
    assert.deepEqual(
      failed.map((r) => `${r.notebook}: ${r.error}`),
      [],
      "every notebook runs without error",
    );
    for (const file of notebookFiles()) {
      const executed = JSON.parse(
        await Deno.readTextFile(path.join(outDir, "executed", file)),
      );
      (executed.cells as Cell[]).forEach((cell, i) => {
        if (cell.cell_type !== "code") return;
        const where = `${file} cell ${i + 1} (${[cell.source].flat().join("").split("\n")[0]})`;
        const errors = (cell.outputs ?? []).filter((o) => o.output_type === "error");
        assert.deepEqual(errors, [], `${where}: error output`);
        if (!(cell.metadata?.tags ?? []).includes("no-output")) {
          assert.ok((cell.outputs ?? []).length > 0, `${where}: expected an output, got none`);
        }
      });
    }
    // Every training notebook shows its model's summary; the write-ups' totals where quoted.
    for (const file of notebookFiles().filter((f) => !f.startsWith("00_"))) {
      const text = await Deno.readTextFile(path.join(outDir, "executed", file));
      assert.match(text, / parameters<\/caption>/, `${file}: a model summary table`);
    }
    const executedText = (f: string) => Deno.readTextFile(path.join(outDir, "executed", f));
    assert.match(await executedText("01_cnn_tsne.ipynb"), /550,337 parameters/);
    assert.match(await executedText("08_dense_denoising.ipynb"), /716,640 parameters/);
    const index = await Deno.readTextFile(result.indexPath);
    assert.equal(
      index.match(/class="card"/g)?.length,
      notebookFiles().length,
      "a dashboard card per notebook",
    );
    assert.ok(index.includes('<img src="data:image/png;base64,'), "cards carry thumbnails");
    for (const file of notebookFiles()) {
      assert.ok(index.includes(file.replace(/\.ipynb$/, "")), `index lists ${file}`);
    }
    // One real report in a real browser: plots drawn (SVG inside the plot divs), images loaded.
    const report = path.join(outDir, "02_latent_sweep.html");
    const dom = await dumpDom(`file://${report}`);
    const plots = dom.match(/class="[^"]*js-plotly-plot[^"]*"/g) ?? [];
    assert.ok(plots.length >= 1, "the report has plotly plots");
    assert.ok(/class="main-svg"/.test(dom), "plotly drew SVG inside the plot divs");
    assert.ok(/<img[^>]+src="data:image\/png;base64,/.test(dom), "the report embeds PNG images");
    await Deno.remove(outDir, { recursive: true });
  },
});
