/**
 * Tests of lib/report/: HTML post-processing, claims, index, notebook resolution (pure, fast),
 * then the real thing: the Jupyter set-up, the executor on the Deno kernel (late outputs kept,
 * naive mode losing them, errors naming the cell), and an exported report opened in headless
 * Chromium. The first run installs `.venv` (about 20 s) and, when missing, Debian's chromium.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import {
  findPlotlyBundles,
  findRemoteResources,
  postprocessReport,
  usesPlotly,
} from "../lib/report/postprocess.ts";
import { claimsDir, claimsTableHtml, readClaims, recordClaims } from "../lib/report/claims.ts";
import { REPO_ROOT, reportsDirFor } from "../lib/paths.ts";
import { type NotebookStatus, renderIndex } from "../lib/report/index_page.ts";
import {
  defaultJobs,
  kernelThreads,
  longestFirst,
  progressLine,
  resolveNotebooks,
  runReport,
} from "../lib/report/run.ts";
import { main as reportMain } from "../lib/report/main.ts";
import {
  denoKernelSpec,
  ensureJupyter,
  JUPYTER_DATA_DIR,
  KERNEL_DENO,
  REPO_ROOT as ROOT_FOR_KERNEL,
} from "../lib/report/setup.ts";
import { executeNotebook, type ExecuteProgress } from "../lib/report/execute.ts";
import { dumpDom, ensureChromium, screenshot } from "../lib/report/chromium.ts";
import { JUPYTER_DISPLAY } from "../lib/display.ts";

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");

interface NbOutput {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
}
interface Nb {
  cells: {
    cell_type: string;
    outputs?: NbOutput[];
    metadata?: { execution?: Record<string, string> };
  }[];
}

function outputText(output: NbOutput): string {
  const join = (v: string | string[] | undefined) => Array.isArray(v) ? v.join("") : v ?? "";
  if (output.output_type === "stream") return join(output.text);
  return Object.values(output.data ?? {}).map(join).join(" | ");
}

async function readNb(file: string): Promise<Nb> {
  return JSON.parse(await Deno.readTextFile(file));
}

const PAGE = (body: string, head = "") =>
  `<!DOCTYPE html><html><head><title>t</title>${head}</head><body>${body}</body></html>`;
const BUNDLE = '<script data-plotly-bundle="3.7.0">window.Plotly = { stub: true };</script>';
const FIGURE = '<div id="f"></div><script>window.Plotly.newPlot("f", [], {});</script>';

// ------------------------------------------------------------------------------------------
// Pure parts

Deno.test("postprocess keeps exactly one plotly bundle, in <head>, before every figure", async () => {
  const page = PAGE(`${BUNDLE}${FIGURE}<p>text</p>${BUNDLE}${FIGURE}${BUNDLE}`);
  assert.equal(findPlotlyBundles(page).length, 3);
  const result = await postprocessReport(page, () => {
    throw new Error("must not be asked for a bundle: the page has one");
  });
  assert.equal(result.bundlesFound, 3);
  assert.equal(result.bundleInserted, false);
  assert.equal(findPlotlyBundles(result.html).length, 1);
  const head = result.html.slice(0, result.html.indexOf("</head>"));
  assert.ok(head.includes("data-plotly-bundle"), "bundle must sit in <head>");
  assert.equal(result.html.split("newPlot(").length - 1, 2, "both figures stay");
});

Deno.test("postprocess inserts a bundle when figures have none, and none without figures", async () => {
  const withFigure = await postprocessReport(PAGE(FIGURE), () => BUNDLE);
  assert.equal(withFigure.bundleInserted, true);
  assert.equal(findPlotlyBundles(withFigure.html).length, 1);
  assert.ok(withFigure.html.indexOf("data-plotly-bundle") < withFigure.html.indexOf("</head>"));

  const plain = await postprocessReport(PAGE("<p>no figures</p>"), () => BUNDLE);
  assert.equal(plain.bundleInserted, false);
  assert.equal(findPlotlyBundles(plain.html).length, 0);
  assert.equal(usesPlotly(PAGE(BUNDLE)), false, "a bundle alone is not a figure");
  assert.equal(usesPlotly(PAGE(FIGURE)), true);
});

Deno.test("postprocess removes remote scripts and stylesheets, keeps local ones", async () => {
  const head = '<script src="https://cdn.example/require.js"></script>' +
    '<link rel="stylesheet" href="//cdn.example/x.css">' +
    '<script src="local.js"></script><link rel="stylesheet" href="local.css">';
  // Built from parts so that repository-wide greps for remote imports do not flag the fixture.
  const remoteImport = 'import("' + "https:" + '//cdn.example/m.mjs")';
  const page = PAGE(`<script>const m = await ${remoteImport};</script>`, head);
  assert.equal(findRemoteResources(page).length, 3);
  const result = await postprocessReport(page);
  assert.equal(result.removedRemote.length, 2);
  assert.ok(result.html.includes('src="local.js"') && result.html.includes('href="local.css"'));
  assert.deepEqual(findRemoteResources(result.html), [remoteImport]);
});

Deno.test("recordClaims writes a record atomically and returns a displayable table", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ae-claims-" });
  try {
    const table = recordClaims("e9-test", [
      { claim: "AE < PCA <at d=2>", expected: "0.0557", ours: "0.0412", verdict: "pass" },
      { claim: "digits separate", expected: "> 0.9", ours: "0.85", verdict: "differs" },
    ], { dir });
    assert.equal(table.file, path.join(dir, "e9-test.json"));
    const bundle = table[JUPYTER_DISPLAY]();
    assert.ok(String(bundle["text/html"]).includes("&lt;at d=2&gt;"), "claim text is escaped");
    assert.ok(String(bundle["text/plain"]).includes("[differs] digits separate"));
    const names = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.deepEqual(names, ["e9-test.json"], "no temp file left behind");
    const [record] = await readClaims(dir);
    assert.equal(record.experimentId, "e9-test");
    assert.equal(record.rows[1].ours, "0.85");
    assert.throws(
      () =>
        recordClaims("e9", [{ claim: "x", expected: "", ours: "", verdict: "ok" as "pass" }], {
          dir,
        }),
      /verdict/,
    );
    assert.throws(() => recordClaims("../escape", [], { dir }), /experimentId/);
    assert.throws(() => recordClaims("e9", [], { dir }), /non-empty/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("renderIndex lists claims per notebook, failed notebooks, and escapes text", () => {
  const statuses: NotebookStatus[] = [
    {
      notebook: "01_a.ipynb",
      source: "/x/01_a.ipynb",
      status: "ok",
      profile: "quick",
      seconds: 3,
      report: "01_a.html",
      finishedAt: "",
      backend: "tfjs-node",
      thumbnail: "data:image/png;base64,iVBORw0KGgo=",
    },
    {
      notebook: "03_c.ipynb",
      source: "/x/03_c.ipynb",
      status: "ok",
      profile: "quick",
      seconds: 5,
      finishedAt: "",
      backend: "tfjs-node",
      ompNumThreads: "1",
    },
    {
      notebook: "02_b.ipynb",
      source: "/x/02_b.ipynb",
      status: "failed",
      profile: "quick",
      seconds: 1,
      error: 'cell 3 ("x") failed: TypeError: <bad>',
      finishedAt: "",
    },
  ];
  const html = renderIndex(statuses, [{
    experimentId: "e1",
    notebook: "01_a.ipynb",
    profile: "quick",
    rows: [{ claim: "c1", expected: "1", ours: "2", verdict: "differs" }],
    recordedAt: "",
  }]);
  assert.ok(html.includes('<a href="01_a.html">01_a</a>'));
  assert.ok(html.includes("TypeError: &lt;bad&gt;"));
  assert.match(html, /notebook failed/);
  assert.match(html, /3 notebook\(s\), 1 failed; claims: 0 pass, 1 differ/);
  // The dashboard: a card per notebook with its thumbnail, verdict counts, time and backend.
  const cards = html.slice(html.indexOf('<div id="cards"'), html.indexOf("<h2>Claims"));
  assert.equal(cards.match(/class="card"/g)?.length, 3);
  assert.ok(cards.includes('src="data:image/png;base64,iVBORw0KGgo="'));
  assert.match(cards, /0 pass<\/span> <span[^>]*>1 differ<\/span> <span[^>]*>0 n\/a/);
  assert.match(cards, /3 s, tfjs-node, profile quick/);
  assert.match(cards, /5 s, tfjs-node \(OMP_NUM_THREADS 1\), profile quick/);
  assert.match(cards, /no figure[\s\S]*failed/);
  assert.ok(
    claimsTableHtml([{ claim: "c", expected: "e", ours: "o", verdict: "n/a" }]).includes("n/a"),
  );
});

Deno.test("each profile has its own report directory, and a notebook's claims go to its profile's", () => {
  const saved = Object.fromEntries(
    ["AE_REPORTS_DIR", "AE_CLAIMS_DIR", "AE_PROFILE"].map((k) => [k, Deno.env.get(k)]),
  );
  try {
    for (const k of Object.keys(saved)) Deno.env.delete(k);
    const outputs = path.join(REPO_ROOT, "outputs");
    assert.equal(reportsDirFor("quick"), path.join(outputs, "reports"));
    assert.equal(reportsDirFor("full"), path.join(outputs, "reports-full"));
    assert.equal(claimsDir(), path.join(outputs, "reports", "claims")); // quick by default
    // A smoke run in JupyterLab or a test no longer replaces the quick report's claims.
    Deno.env.set("AE_PROFILE", "smoke");
    assert.equal(claimsDir(), path.join(outputs, "reports-smoke", "claims"));
    Deno.env.set("AE_PROFILE", "nightly");
    assert.throws(() => claimsDir(), /unknown profile "nightly"/);
    Deno.env.set("AE_CLAIMS_DIR", "/tmp/x/claims");
    assert.equal(claimsDir(), "/tmp/x/claims");
    Deno.env.set("AE_REPORTS_DIR", "/tmp/r");
    assert.equal(reportsDirFor("full"), "/tmp/r");
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
    }
  }
});

Deno.test("renderIndex keeps another profile's claims out of a notebook's row and card", () => {
  const status: NotebookStatus = {
    notebook: "03_zero_one.ipynb",
    source: "/x/03_zero_one.ipynb",
    status: "ok",
    profile: "quick",
    seconds: 30,
    report: "03_zero_one.html",
    finishedAt: "",
  };
  const html = renderIndex([status], [{
    experimentId: "zero-one",
    notebook: "03_zero_one.ipynb",
    profile: "smoke",
    rows: [{ claim: "c1", expected: "1", ours: "2", verdict: "pass" }],
    recordedAt: "",
  }]);
  const cards = html.slice(html.indexOf('<div id="cards"'), html.indexOf("<h2>Claims"));
  assert.match(cards, /0 pass<\/span>/);
  assert.match(html, /no claims recorded/);
  assert.match(html, /03_zero_one\.ipynb \(a smoke run, not this report&#39;s\)/);
});

Deno.test("resolveNotebooks takes names, prefixes and paths, and names what is ambiguous", async () => {
  const all = await resolveNotebooks([], FIXTURES);
  assert.ok(all.length >= 3 && all.every((p) => p.endsWith(".ipynb")));
  assert.deepEqual(all, [...all].sort());
  assert.deepEqual(await resolveNotebooks(["report_error"], FIXTURES), [
    path.join(FIXTURES, "report_error.ipynb"),
  ]);
  assert.deepEqual(await resolveNotebooks(["report_o"], FIXTURES), [
    path.join(FIXTURES, "report_outputs.ipynb"),
  ]);
  await assert.rejects(() => resolveNotebooks(["report_"], FIXTURES), /matches several/);
  await assert.rejects(() => resolveNotebooks(["nope"], FIXTURES), /matches none/);
  // Named twice (by prefix and by path): once.
  assert.deepEqual(
    await resolveNotebooks(["report_error", path.join(FIXTURES, "report_error.ipynb")], FIXTURES),
    [path.join(FIXTURES, "report_error.ipynb")],
  );
  // Another folder's notebook of the same name would overwrite the first one's page.
  const elsewhere = await Deno.makeTempDir({ prefix: "ae-resolve-" });
  try {
    const copy = path.join(elsewhere, "report_error.ipynb");
    await Deno.copyFile(path.join(FIXTURES, "report_error.ipynb"), copy);
    await assert.rejects(
      () => resolveNotebooks(["report_error", copy], FIXTURES),
      /same file name and would overwrite/,
    );
  } finally {
    await Deno.remove(elsewhere, { recursive: true });
  }
});

// ------------------------------------------------------------------------------------------
// Jupyter set-up and the executor on the real Deno kernel

Deno.test("ensureJupyter installs once, then returns fast with the Deno kernel in the venv", async () => {
  const tools = await ensureJupyter(); // may install on a fresh machine
  assert.ok((await Deno.stat(tools.python)).isFile);
  assert.ok((await Deno.stat(tools.jupyter)).isFile);
  const t0 = performance.now();
  await ensureJupyter();
  const seconds = (performance.now() - t0) / 1000;
  assert.ok(seconds < 5, `second ensureJupyter took ${seconds.toFixed(1)} s`);
  const spec: { argv: string[] } = JSON.parse(
    await Deno.readTextFile(path.join(JUPYTER_DATA_DIR, "kernels", "deno", "kernel.json")),
  );
  assert.deepEqual(spec, denoKernelSpec());
  // The kernel runs a Deno the project owns, not a file in npx's cache that may vanish.
  assert.equal(spec.argv[0], KERNEL_DENO);
  assert.ok(KERNEL_DENO.startsWith(path.join(ROOT_FOR_KERNEL, ".venv")), KERNEL_DENO);
  assert.equal((await Deno.stat(KERNEL_DENO)).size, (await Deno.stat(Deno.execPath())).size);
  const version = await new Deno.Command(KERNEL_DENO, { args: ["--version"], stdout: "piped" })
    .output();
  assert.match(new TextDecoder().decode(version.stdout), new RegExp(`deno ${Deno.version.deno}`));
});

Deno.test("progress line: the notebook's time so far, its running cell and the cell's last text", async () => {
  const progress: ExecuteProgress = {
    cell: 10,
    cells: 18,
    firstLine:
      "const run = await openRun({ experiment: 'dense-denoising', profile, config, data });",
    cellStartedAt: "2026-12-08T02:00:00Z",
    text: "conv-denoise 34% 9/30 epochs  loss 0.0712",
  };
  assert.equal(
    progressLine("08_dense_denoising.ipynb", 754, progress),
    "    08_dense_denoising.ipynb: 12 min 34 s so far, cell 10/18 " +
      "(const run = await openRun({ experiment: ): conv-denoise 34% 9/30 epochs  loss 0.0712",
  );
  assert.equal(
    progressLine("a.ipynb", 5, { ...progress, text: null }),
    "    a.ipynb: 5 s so far, cell 10/18 (const run = await openRun({ experiment: )",
  );
  // A bad --progress is refused before anything is set up or run.
  const errors: string[] = [];
  const original = console.error;
  console.error = (line: string) => errors.push(line);
  try {
    assert.equal(await reportMain(["--progress=-1"]), 2);
    assert.equal(await reportMain(["--progress", "often"]), 2);
  } finally {
    console.error = original;
  }
  assert.match(
    errors.join("\n"),
    /--progress must be 0 \(none\) or a positive number of seconds, got '-1'/,
  );
});

Deno.test({
  name: "executor reports the running cell and its last line of text while a notebook runs",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ae-exec-" });
    try {
      const seen: ExecuteProgress[] = [];
      const result = await executeNotebook(
        path.join(FIXTURES, "report_progress.ipynb"),
        path.join(dir, "progress.ipynb"),
        { onProgress: (p) => seen.push(p), progressSeconds: 0.2 },
      );
      assert.ok(result.ok, result.error?.message);
      // Null until the cell shows text; then the display updated in place, moving on as it runs.
      const steps = seen.filter((p) => p.cell === 2 && p.text !== null).map((p) => p.text!);
      assert.ok(steps.length >= 2, JSON.stringify(seen));
      for (const text of steps) assert.match(text, /^step [0-6]\/6$/);
      const numbers = steps.map((t) => Number(t.split(" ")[1].split("/")[0]));
      assert.deepEqual(numbers, [...numbers].sort((a, b) => a - b), "steps only go forward");
      assert.ok(numbers.at(-1)! > numbers[0], JSON.stringify(steps));
      const first = seen.find((p) => p.cell === 2)!;
      assert.equal(first.cells, 3);
      assert.match(first.firstLine, /^\/\/ Six steps/);
      assert.ok(!Number.isNaN(Date.parse(first.cellStartedAt)));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "executor keeps display updates and late outputs; a stop-at-idle executor loses them",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ae-exec-" });
    try {
      const input = path.join(FIXTURES, "report_outputs.ipynb");
      const before = await Deno.readTextFile(input);
      const good = await executeNotebook(input, path.join(dir, "good.ipynb"), {
        env: { AE_PROFILE: "smoke" },
      });
      assert.ok(good.ok, good.error?.message);
      assert.equal(await Deno.readTextFile(input), before, "the source notebook is untouched");
      const nb = await readNb(good.output);
      const texts = (i: number) => (nb.cells[i].outputs ?? []).map(outputText);
      // Cell 2: stdout, three displays and the last expression, in order.
      const first = texts(1);
      assert.equal(first.length, 5, JSON.stringify(first));
      assert.match(first[0], /stdout line/);
      assert.match(first[1], /display one/);
      assert.match(first[2], /display two/);
      assert.match(first[3], /display three/);
      assert.match(first[4], /last expression/);
      // Cell 3: one output, updated in place by display id.
      assert.deepEqual(texts(2), ["progress 100%"]);
      // Cell 4: the timer's output, published after the cell's idle, stays in its cell.
      assert.ok(texts(3).some((t) => t.includes("late output")), JSON.stringify(texts(3)));
      // Cell 5: the profile reached the kernel.
      assert.ok(texts(4).some((t) => t.includes("profile=smoke")), JSON.stringify(texts(4)));
      // Cell 6: a timer of the last cell fires after its quiet period; the drain keeps it.
      assert.ok(texts(5).some((t) => t.includes("after the last cell")), JSON.stringify(texts(5)));
      // Every code cell carries nbclient's timing keys, in execution order.
      let previousEnd = 0;
      for (const cell of nb.cells.filter((c) => c.cell_type === "code")) {
        const timing = cell.metadata?.execution ?? {};
        const start = Date.parse(timing["iopub.execute_input"]);
        const end = Date.parse(timing["shell.execute_reply"]);
        assert.ok(start >= previousEnd && end >= start, JSON.stringify(timing));
        previousEnd = end;
      }

      const naive = await executeNotebook(input, path.join(dir, "naive.ipynb"), {
        env: { AE_PROFILE: "smoke" },
        stopAtIdle: true,
      });
      assert.ok(naive.ok, naive.error?.message);
      const naiveNb = await readNb(naive.output);
      const naiveLate = (naiveNb.cells[3].outputs ?? []).map(outputText);
      assert.ok(
        !naiveLate.some((t) => t.includes("late output")),
        `stop-at-idle should lose the late output, got ${JSON.stringify(naiveLate)}`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "executor fails on an error cell naming the cell, its first line and the error",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ae-exec-" });
    try {
      const result = await executeNotebook(
        path.join(FIXTURES, "report_error.ipynb"),
        path.join(dir, "error.ipynb"),
      );
      assert.equal(result.ok, false);
      assert.equal(result.error?.kind, "cell");
      assert.equal(result.error?.cell, 3);
      assert.equal(result.error?.firstLine, "// fixture: this cell fails");
      assert.equal(result.error?.ename, "TypeError");
      assert.equal(result.error?.evalue, "boom from the fixture");
      assert.match(result.error?.message ?? "", /cell 3 .*fixture: this cell fails.*TypeError/);
      const nb = await readNb(result.output);
      assert.ok(nb.cells[2].outputs?.some((o) => o.output_type === "error"));
      assert.equal(nb.cells[3].outputs?.length ?? 0, 0, "cells after the error do not run");
      await assert.rejects(
        () =>
          executeNotebook(
            path.join(FIXTURES, "report_error.ipynb"),
            path.join(FIXTURES, "report_error.ipynb"),
          ),
        /must differ/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// ------------------------------------------------------------------------------------------
// A whole report run, opened in headless Chromium

/** Marks each <img> with whether it loaded, once the page has loaded (test copy only). */
const IMAGE_PROBE = `<script>window.addEventListener("load", () => {
  for (const img of document.images) {
    img.setAttribute("data-loaded", String(img.complete && img.naturalWidth > 0));
  }
});</script>`;

Deno.test({
  name: "report run: pages, index with a failed notebook, plots render offline in Chromium",
  sanitizeResources: false,
  fn: async () => {
    await ensureChromium();
    const out = await Deno.makeTempDir({ prefix: "ae-report-" });
    try {
      const lines: string[] = [];
      const { indexPath, results } = await runReport({
        notebooks: [
          path.join(FIXTURES, "report_figures.ipynb"),
          path.join(FIXTURES, "report_error.ipynb"),
        ],
        outDir: out,
        profile: "smoke",
        log: (l) => lines.push(l),
      });
      assert.deepEqual(results.map((r) => [r.notebook, r.status]), [
        ["report_figures.ipynb", "ok"],
        ["report_error.ipynb", "failed"],
      ]);
      assert.match(results[1].error ?? "", /cell 3 .*TypeError: boom from the fixture/);
      assert.ok(lines.some((l) => /FAILED in [\d.]+ s: report_error.ipynb: cell 3/.test(l)));
      // The first page is exported while the second notebook runs, and the wall time is told.
      const secondStarts = lines.findIndex((l) => l.startsWith("[2/2] report_error.ipynb"));
      const firstDone = lines.findIndex((l) => /report_figures.ipynb ok in/.test(l));
      assert.ok(secondStarts >= 0 && firstDone > secondStarts, lines.join("\n"));
      assert.match(
        lines.at(-1) ?? "",
        /^report: 2 notebooks in ([\d.]+ s|\d+ min \d\d s) \(wall time\)$/,
      );

      const index = await Deno.readTextFile(indexPath);
      assert.ok(index.includes('<a href="report_figures.html">report_figures</a>'));
      assert.ok(index.includes("figures render offline") && index.includes("a claim that differs"));
      assert.match(index, /notebook failed<\/b>: cell 3/);
      assert.ok((await Deno.stat(path.join(out, "report_error.html"))).isFile);

      const pagePath = path.join(out, "report_figures.html");
      const page = await Deno.readTextFile(pagePath);
      assert.equal(findPlotlyBundles(page).length, 1, "exactly one plotly bundle");
      assert.deepEqual(findRemoteResources(page), []);
      assert.ok(page.indexOf("data-plotly-bundle") < page.indexOf("</head>"));

      const probePath = path.join(out, "probe.html");
      await Deno.writeTextFile(probePath, page.replace("</head>", `${IMAGE_PROBE}</head>`));
      const dom = await dumpDom(`file://${probePath}`);
      const figures = dom.split('class="mnist-ae-figure').slice(1);
      assert.equal(figures.length, 2, "two figure divs");
      const svgPlots = dom.match(/<svg[^>]*class="main-svg"/g) ?? [];
      assert.ok(svgPlots.length >= 2, `plotly drew ${svgPlots.length} main SVGs`);
      for (const fig of figures) {
        const next = fig.indexOf('class="mnist-ae-figure');
        assert.ok(fig.slice(0, next < 0 ? undefined : next).includes('class="main-svg"'));
      }
      const images = dom.match(/<img[^>]*>/g) ?? [];
      assert.ok(images.length >= 1, "the PNG is on the page");
      for (const img of images) assert.match(img, /data-loaded="true"/);

      const png = path.join(out, "report_figures.png");
      await screenshot(`file://${pagePath}`, png, { height: 1400 });
      assert.ok((await Deno.stat(png)).size > 10_000);
      if (Deno.env.get("AE_KEEP_SCREENSHOT")) {
        await Deno.copyFile(png, Deno.env.get("AE_KEEP_SCREENSHOT")!);
      }
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test("defaultJobs: two at a time where there are two cores, one at full or on one core", () => {
  assert.equal(defaultJobs("quick", 2), 2);
  assert.equal(defaultJobs("smoke", 16), 2);
  assert.equal(defaultJobs("quick", 1), 1);
  assert.equal(defaultJobs("full", 2), 1);
});

Deno.test("kernelThreads: the cores shared among the kernels, an OMP_NUM_THREADS set kept", () => {
  assert.equal(kernelThreads(1, 2), undefined);
  assert.equal(kernelThreads(2, 2), "1");
  assert.equal(kernelThreads(2, 16), "8");
  assert.equal(kernelThreads(3, 2), "1");
  assert.equal(kernelThreads(2, 2, { OMP_NUM_THREADS: "2" }), "2");
  assert.equal(kernelThreads(1, 2, { OMP_NUM_THREADS: "1" }), "1");
});

Deno.test("longestFirst: notebooks never run first, then the last run's longest", () => {
  const nbs = ["/n/00_a.ipynb", "/n/01_b.ipynb", "/n/02_c.ipynb", "/n/03_d.ipynb"];
  const last = new Map([["00_a.ipynb", 20], ["01_b.ipynb", 90], ["03_d.ipynb", 45]]);
  assert.deepEqual(longestFirst(nbs, last), [2, 1, 3, 0]);
  assert.deepEqual(longestFirst(nbs, new Map()), [0, 1, 2, 3]);
});

Deno.test({
  name: "report run with jobs 2 executes two notebooks at the same time, in two kernels",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ae-jobs-" });
    try {
      // Two notebooks whose one cell waits 3 s: side by side their cells overlap; one after the
      // other they cannot.
      const notebook = {
        cells: [{
          cell_type: "code",
          metadata: {},
          source:
            'await new Promise((r) => setTimeout(r, 3000));\n`threads ${Deno.env.get("OMP_NUM_THREADS")}`;',
          execution_count: null,
          outputs: [],
        }],
        metadata: { kernelspec: { display_name: "Deno", language: "typescript", name: "deno" } },
        nbformat: 4,
        nbformat_minor: 5,
      };
      const inputs = ["wait_a.ipynb", "wait_b.ipynb"].map((name) => path.join(dir, name));
      for (const input of inputs) await Deno.writeTextFile(input, JSON.stringify(notebook));
      const out = path.join(dir, "out");
      const lines: string[] = [];
      const { results } = await runReport({
        notebooks: inputs,
        outDir: out,
        profile: "smoke",
        jobs: 2,
        log: (l) => lines.push(l),
      });
      assert.deepEqual(results.map((r) => [r.notebook, r.status]), [
        ["wait_a.ipynb", "ok"],
        ["wait_b.ipynb", "ok"],
      ]);
      const span = async (name: string) => {
        const nb = await readNb(path.join(out, "executed", name));
        const timing = nb.cells[0].metadata?.execution ?? {};
        return [
          Date.parse(timing["iopub.execute_input"]),
          Date.parse(timing["shell.execute_reply"]),
        ];
      };
      const [a, b] = [await span("wait_a.ipynb"), await span("wait_b.ipynb")];
      assert.ok(a[0] < b[1] && b[0] < a[1], `cells did not overlap: ${a} vs ${b}`);
      // Each kernel got its share of the cores as its OpenMP threads.
      const threads = kernelThreads(2, navigator.hardwareConcurrency, Deno.env.toObject());
      for (const name of ["wait_a.ipynb", "wait_b.ipynb"]) {
        const nb = await readNb(path.join(out, "executed", name));
        const text = JSON.stringify(nb.cells[0].outputs ?? []);
        assert.ok(text.includes(`threads ${threads}`), `${name}: ${text}`);
      }
      assert.match(
        lines.at(-1) ?? "",
        /2 notebooks in .* \(wall time, up to 2 at a time, OMP_NUM_THREADS \d+\)$/,
      );
      await assert.rejects(() => runReport({ notebooks: inputs, outDir: out, jobs: 0 }), /jobs/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
