import assert from "node:assert/strict";
import {
  barChart,
  BASELINE_COLOR,
  DIGIT_COLORS,
  type Figure,
  figureHtml,
  figureToHtmlPage,
  heatmap,
  KERNEL_OUTPUT_WARN_CHARS,
  latentScatter,
  lines,
  lossCurves,
  metricVsD,
  PLOTLY_BUNDLE_ATTRIBUTE,
  plotlyBundleDisplay,
  plotlyBundleJs,
  plotlyBundleScript,
  plotlyVersion,
  resetPlotlyBundleState,
  saveFigurePage,
  show,
} from "../lib/plot.ts";
import {
  bundleOf,
  display,
  formatNumber,
  htmlTable,
  inJupyterKernel,
  isDisplayable,
  JUPYTER_DISPLAY,
  markdownTable,
} from "../lib/display.ts";

const BUNDLE_TAG = `<script ${PLOTLY_BUNDLE_ATTRIBUTE}=`;

function count(haystack: string, needle: string): number {
  let n = 0;
  for (let i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + 1)) n++;
  return n;
}

function smallFigure(title = "t"): Figure {
  return lines([{ name: "a", x: [1, 2, 3], y: [3, 2, 1] }], { title });
}

/** Deterministic fake codes: digit d around (d, -d), N points. */
function fakeCodes(n: number): { codes: Float32Array; labels: Uint8Array } {
  const codes = new Float32Array(n * 2);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = (i * 7) % 10;
    codes[2 * i] = labels[i] + i / 1000;
    codes[2 * i + 1] = -labels[i] - i / 2000;
  }
  return { codes, labels };
}

Deno.test("show: bundle has plotly JSON, HTML and text, and the JSON is valid figure data", () => {
  const fig = smallFigure("Loss");
  const shown = show(fig);
  assert.ok(isDisplayable(shown));
  const bundle = shown[JUPYTER_DISPLAY]();
  const plotly = bundle["application/vnd.plotly.v1+json"];
  assert.ok(plotly, "plotly mime type present");
  assert.equal(typeof bundle["text/html"], "string");
  assert.match(bundle["text/plain"]!, /Loss/);
  // Survives a JSON round trip unchanged (what Jupyter stores in the notebook).
  assert.deepEqual(JSON.parse(JSON.stringify(plotly)), plotly);
  const parsed = JSON.parse(JSON.stringify(plotly));
  assert.ok(Array.isArray(parsed.data) && parsed.data.length === 1);
  assert.equal(parsed.data[0].type, "scatter");
  assert.deepEqual(parsed.data[0].x, [1, 2, 3]);
  assert.deepEqual(parsed.data[0].y, [3, 2, 1]);
  assert.deepEqual(parsed.layout.title, { text: "Loss" });
});

Deno.test("show: only the first figure shown carries the plotly.js bundle", () => {
  resetPlotlyBundleState();
  const first = show(smallFigure("first"));
  const second = show(smallFigure("second"));
  // The decision is made when shown, so showing the second first makes it the carrier.
  const secondHtml = bundleOf(second)["text/html"] as string;
  const firstHtml = bundleOf(first)["text/html"] as string;
  assert.equal(count(secondHtml, BUNDLE_TAG), 1);
  assert.equal(count(firstHtml, BUNDLE_TAG), 0);
  // Both draw with window.Plotly; the later one waits for it.
  assert.match(firstHtml, /window\.Plotly\.newPlot/);
  assert.match(firstHtml, /waitForPlotly/);
  resetPlotlyBundleState();
  assert.equal(count(bundleOf(show(smallFigure()))["text/html"] as string, BUNDLE_TAG), 1);
  assert.equal(
    count(
      bundleOf(show(smallFigure(), { includeBundle: true }))["text/html"] as string,
      BUNDLE_TAG,
    ),
    1,
  );
});

Deno.test("plotly bundle: pinned version, guarded, closes its script tag only once", async () => {
  const pinned = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)))
    .imports["plotly.js-dist"];
  assert.equal(pinned, `npm:plotly.js-dist@${plotlyVersion()}`);
  const tag = plotlyBundleScript();
  assert.ok(tag.startsWith(`<script ${PLOTLY_BUNDLE_ATTRIBUTE}="${plotlyVersion()}">`));
  assert.ok(tag.length > 1_000_000, "the whole bundle is inlined");
  assert.equal(count(tag.toLowerCase(), "</script"), 1);
  assert.ok(tag.includes(plotlyBundleJs()));
  assert.match(plotlyBundleJs().slice(0, 300), /if \(typeof window\.Plotly === "undefined"\)/);
  assert.match(plotlyBundleJs(), /window\.Plotly = Plotly/);
});

Deno.test("plotly bundle: the compressed tag inflates to exactly the plain bundle", async () => {
  const tag = plotlyBundleScript({ compressed: true });
  assert.ok(tag.startsWith(`<script ${PLOTLY_BUNDLE_ATTRIBUTE}="${plotlyVersion()}" `));
  assert.equal(count(tag.toLowerCase(), "</script"), 1);
  assert.ok(tag.length < 4_000_000, `compressed tag is ${tag.length} chars`);
  const packed = tag.match(/var packed = "([A-Za-z0-9+/=]+)";/)![1];
  const bytes = Uint8Array.from(atob(packed), (c) => c.charCodeAt(0));
  const inflated = await new Response(
    new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip")),
  ).text();
  assert.equal(inflated, plotlyBundleJs());
  // Notebook figures carry this form; pages carry the plain one.
  resetPlotlyBundleState();
  const html = bundleOf(show(smallFigure()))["text/html"] as string;
  assert.ok(html.includes('data-plotly-encoding="gzip+base64"'));
  assert.ok(html.length < 4_000_000);
});

Deno.test("plotlyBundleDisplay: carries the compressed bundle, later figures do not", () => {
  resetPlotlyBundleState();
  const loader = bundleOf(plotlyBundleDisplay());
  assert.equal(loader["text/html"], plotlyBundleScript({ compressed: true }));
  assert.match(loader["text/plain"]!, new RegExp(plotlyVersion().replace(/\./g, "\\.")));
  assert.equal(count(bundleOf(show(smallFigure()))["text/html"] as string, BUNDLE_TAG), 0);
});

Deno.test("show: warns when an output gets too large for the kernel", () => {
  const { codes, labels } = fakeCodes(20000);
  const big = latentScatter(codes, labels, { title: "big" });
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => warnings.push(args.join(" "));
  try {
    resetPlotlyBundleState();
    bundleOf(show(smallFigure()));
    assert.deepEqual(warnings, [], "a small figure with the bundle is fine");
    const html = bundleOf(
      show(big, { includeBundle: true, compressedBundle: false }),
    )["text/html"] as string;
    assert.ok(html.length > KERNEL_OUTPUT_WARN_CHARS);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /MB/);
  } finally {
    console.warn = original;
  }
});

Deno.test("figureToHtmlPage: one bundle in <head>, every figure and HTML item on the page", async () => {
  resetPlotlyBundleState();
  const page = figureToHtmlPage(
    [smallFigure("a"), smallFigure("b"), "<p id='x'>note</p>", { html: "<div id='y'></div>" }],
    "Run <1>",
  );
  assert.equal(count(page, BUNDLE_TAG), 1);
  assert.ok(page.indexOf(BUNDLE_TAG) < page.indexOf("</head>"));
  assert.ok(page.includes(plotlyBundleScript()), "pages carry the plain (synchronous) bundle");
  assert.equal(count(page, 'class="mnist-ae-figure"'), 2);
  assert.match(page, /<p id='x'>note<\/p>/);
  assert.match(page, /<div id='y'><\/div>/);
  assert.match(page, /<title>Run &lt;1&gt;<\/title>/);
  // A page does not count as "shown": the next notebook figure still carries the bundle.
  assert.equal(count(bundleOf(show(smallFigure()))["text/html"] as string, BUNDLE_TAG), 1);
  const file = await Deno.makeTempFile({ suffix: ".html" });
  try {
    await saveFigurePage(file, [smallFigure()], "saved");
    assert.equal(count(await Deno.readTextFile(file), BUNDLE_TAG), 1);
  } finally {
    await Deno.remove(file);
  }
  assert.throws(() => figureToHtmlPage([{ nope: 1 } as never], "x"), /item 0/);
});

Deno.test("figureHtml: figure JSON cannot break out of its script tag; ids are unique", () => {
  const fig = smallFigure("</script><script>alert(1)</script>");
  const a = figureHtml(fig);
  const b = figureHtml(fig);
  assert.equal(count(a.toLowerCase(), "</script"), 1);
  assert.ok(!a.includes("alert(1)</script>"));
  const idOf = (html: string) => html.match(/id="([^"]+)" class="mnist-ae-figure"/)![1];
  assert.notEqual(idOf(a), idOf(b));
  // The escaped JSON still parses back to the same figure.
  const json = a.match(/var spec = (.*);\n/)![1];
  assert.deepEqual(JSON.parse(json).layout.title, fig.layout.title);
});

Deno.test("latentScatter: one trace per digit in the fixed palette, customdata indexes the input", () => {
  const { codes, labels } = fakeCodes(500);
  const fig = latentScatter(codes, labels, { title: "codes" });
  assert.equal(fig.data.length, 10);
  fig.data.forEach((trace, d) => {
    assert.equal(trace.name, String(d));
    assert.equal((trace.marker as { color: string }).color, DIGIT_COLORS[d]);
    const x = trace.x as number[];
    const custom = trace.customdata as [number, number][];
    assert.equal(x.length, labels.filter((l) => l === d).length);
    custom.forEach(([index], j) => {
      assert.equal(labels[index], d);
      assert.ok(Math.abs(x[j] - codes[2 * index]) < 1e-5);
      assert.ok(Math.abs((trace.y as number[])[j] - codes[2 * index + 1]) < 1e-5);
    });
  });
  assert.equal(fig.hoverImages, undefined);
  // JSON-able (typed arrays became plain arrays).
  assert.deepEqual(JSON.parse(JSON.stringify(fig)).data[3].x, fig.data[3].x);
});

Deno.test("latentScatter: digit subset, even subsampling, hover images, clear errors", async () => {
  const { codes, labels } = fakeCodes(400);
  const subset = latentScatter(codes, labels, { digits: [0, 1, 6] });
  assert.deepEqual(subset.data.map((t) => t.name), ["0", "1", "6"]);
  assert.equal((subset.data[2].marker as { color: string }).color, DIGIT_COLORS[6]);

  const sampled = latentScatter(codes, labels, { maxPoints: 100 });
  const total = sampled.data.reduce((s, t) => s + (t.x as number[]).length, 0);
  assert.equal(total, 100);

  const images = new Uint8Array(400 * 784);
  for (let i = 0; i < 400; i++) images.fill(i % 256, i * 784, (i + 1) * 784);
  const withImages = latentScatter(codes, labels, { images, maxPoints: 50 });
  const hover = withImages.hoverImages!;
  assert.equal(hover.count, 50);
  assert.equal(hover.encoding, "gzip+base64");
  const packed = Uint8Array.from(atob(hover.pixelsBase64), (c) => c.charCodeAt(0));
  const bytes = new Uint8Array(
    await new Response(new Blob([packed]).stream().pipeThrough(new DecompressionStream("gzip")))
      .arrayBuffer(),
  );
  assert.equal(bytes.length, 50 * 784);
  for (const trace of withImages.data) {
    for (const [index, slot] of trace.customdata as [number, number][]) {
      assert.equal(bytes[slot * 784 + 400], index % 256, "slot holds the image of that point");
    }
  }
  assert.match(figureHtml(withImages), /plotly_hover/);

  assert.throws(() => latentScatter(codes.subarray(1), labels), /N\*2/);
  assert.throws(() => latentScatter(codes, labels.subarray(1)), /labels/);
  assert.throws(
    () => latentScatter(codes, labels, { images: images.subarray(784) }),
    /images must hold 400/,
  );
  assert.throws(() => latentScatter(codes, labels, { images, maxHoverImages: 10 }), /maxPoints/);
  assert.throws(() => latentScatter(new Float32Array(2), [0.5]), /integers/);
});

Deno.test("lossCurves: train solid, valid dashed, best epoch marked, null validation skipped", () => {
  const history = [
    { epoch: 1, trainLoss: 0.09, valLoss: 0.1 },
    { epoch: 2, trainLoss: 0.05, valLoss: 0.04 },
    { epoch: 3, trainLoss: 0.03, valLoss: 0.06 },
  ];
  const fig = lossCurves([{ name: "d=2", history }, {
    name: "noval",
    history: [{ epoch: 1, trainLoss: 1, valLoss: null }],
  }]);
  const names = fig.data.map((t) => t.name);
  assert.deepEqual(names, ["d=2 train", "d=2 valid", "d=2 best", "noval train"]);
  assert.equal((fig.data[1].line as { dash: string }).dash, "dash");
  assert.deepEqual(fig.data[2].x, [2]);
  assert.deepEqual(fig.data[2].y, [0.04]);
  assert.equal(
    (fig.data[0].line as { color: string }).color,
    (fig.data[1].line as { color: string }).color,
  );
  assert.equal((fig.layout.yaxis as { type: string }).type, "linear");
  assert.equal(
    (lossCurves([{ name: "x", history }], { logY: true }).layout.yaxis as { type: string }).type,
    "log",
  );
});

Deno.test("heatmap, barChart, metricVsD, lines: data as given, category axes, baseline dashed", () => {
  const m = [[0.01, 0.02], [0.03, 0.04], [0.05, 0.06]];
  const hm = heatmap(m, ["t0", "t1"], [0, 1, 2], { title: "MSE" });
  assert.deepEqual(hm.data[0].z, m);
  assert.deepEqual(hm.data[0].y, ["0", "1", "2"]);
  assert.equal((hm.layout.yaxis as { autorange: string }).autorange, "reversed");
  assert.equal((hm.layout.yaxis as { type: string }).type, "category");
  assert.equal(hm.data[0].texttemplate, "%{z:.4f}");
  assert.throws(() => heatmap([[1, 2], [3]], ["a", "b"], ["r", "s"]), /row 1/);
  assert.throws(() => heatmap(m, ["a", "b"], ["r"]), /yLabels/);

  const bars = barChart([0, 1, 2], [{ name: "train", values: [5, 6, 7] }, {
    name: "test",
    values: new Float32Array([1, 2, 3]),
  }]);
  assert.equal(bars.data.length, 2);
  assert.deepEqual(bars.data[1].y, [1, 2, 3]);
  assert.deepEqual(bars.data[0].x, ["0", "1", "2"]);
  assert.equal((bars.layout.xaxis as { type: string }).type, "category");
  assert.throws(() => barChart(["a"], [{ name: "s", values: [1, 2] }]), /lengths/);

  const md = metricVsD([{ name: "AE", points: [{ d: 5, value: 0.02 }, { d: 1, value: 0.05 }] }], {
    baseline: { points: [{ d: 1, value: 0.0607 }, { d: 5, value: 0.0445 }] },
  });
  assert.deepEqual(md.data[0].x, [1, 5], "sorted by d");
  assert.deepEqual(md.data[0].y, [0.05, 0.02]);
  assert.equal(md.data[1].name, "PCA");
  assert.deepEqual(md.data[1].line, { color: BASELINE_COLOR, width: 2, dash: "dash" });

  const ln = lines([{ name: "a", x: new Float32Array([0, 0.5]), y: [1, NaN] }]);
  assert.deepEqual(ln.data[0].y, [1, null], "NaN becomes a gap, not invalid JSON");
  assert.throws(() => lines([{ name: "bad", x: [1, 2], y: [1] }]), /"bad"/);
});

Deno.test("display: tables of numbers in HTML and Markdown, kernel-free fallback", async () => {
  const rows = [
    { d: 1, claim: "PCA 0.0607", ours: 0.060712345 },
    { d: 2, claim: "a|b <c>", ours: 1234567.5 },
  ];
  assert.equal(formatNumber(0.060712345), "0.06071");
  assert.equal(formatNumber(42), "42");
  assert.equal(formatNumber(0.00001234), "1.234e-5");
  const md = markdownTable(rows, { caption: "claims" });
  assert.equal(
    md,
    "claims\n\n| d | claim | ours |\n| ---: | --- | ---: |\n| 1 | PCA 0.0607 | 0.06071 |\n| 2 | a\\|b <c> | 1.235e+6 |",
  );
  const table = htmlTable(rows);
  const bundle = bundleOf(table);
  assert.match(bundle["text/html"]!, /<td style="text-align:right">0\.06071<\/td>/);
  assert.match(bundle["text/html"]!, /a\|b &lt;c&gt;/);
  assert.equal(bundle["text/plain"], markdownTable(rows));
  assert.throws(() => htmlTable([1 as never]), /row 0/);

  assert.equal(inJupyterKernel(), false);
  const printed: string[] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => printed.push(args.join(" "));
  try {
    await display(table);
    await display({ "text/plain": "raw bundle" });
    await display(table, { quiet: true });
  } finally {
    console.log = original;
  }
  assert.deepEqual(printed, [markdownTable(rows), "raw bundle"]);
});
