import assert from "node:assert/strict";
import {
  createProgress,
  formatDuration,
  formatFieldValue,
  isJupyterKernel,
  resolveProgressMode,
} from "../lib/progress.ts";

/** A fake clock the tests move by hand. */
function fakeClock(start = 0) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

Deno.test("isJupyterKernel is false outside a kernel (Deno.jupyter throws there)", () => {
  assert.equal(isJupyterKernel(), false);
  // The property exists but reading it throws outside `deno jupyter`: the reason for try/catch.
  assert.ok("jupyter" in Deno);
  assert.throws(() => (Deno as unknown as { jupyter: unknown }).jupyter);
});

Deno.test("resolveProgressMode: auto picks terminal on a TTY, lines otherwise; bad names fail", () => {
  const expected = Deno.stderr.isTerminal() ? "terminal" : "lines";
  assert.equal(resolveProgressMode("auto"), expected);
  assert.equal(resolveProgressMode(), expected);
  assert.equal(resolveProgressMode("none"), "none");
  assert.equal(resolveProgressMode("jupyter"), "jupyter");
  assert.throws(
    () => resolveProgressMode("fancy" as "auto"),
    /progress mode must be one of auto, terminal, jupyter, lines, none; got "fancy"/,
  );
});

Deno.test("createProgress rejects a bad total and jupyter mode outside a kernel", () => {
  assert.throws(
    () => createProgress({ total: 0, mode: "none" }),
    /total must be a positive integer/,
  );
  assert.throws(() => createProgress({ total: 2.5, mode: "none" }), /got 2.5/);
  assert.throws(() => createProgress({ total: 3, mode: "jupyter" }), /needs a Deno Jupyter kernel/);
});

Deno.test("formatDuration and formatFieldValue", () => {
  assert.equal(formatDuration(0), "0s");
  assert.equal(formatDuration(59.4), "59s");
  assert.equal(formatDuration(65), "1m05s");
  assert.equal(formatDuration(7260), "2h01m");
  assert.equal(formatDuration(NaN), "?");
  assert.equal(formatFieldValue(null), "-");
  assert.equal(formatFieldValue(12), "12");
  assert.equal(formatFieldValue(0.0123456), "0.01235");
  assert.equal(formatFieldValue(0.00001234), "1.234e-5");
  assert.equal(formatFieldValue(NaN), "NaN");
  assert.equal(formatFieldValue(-Infinity), "-Inf");
  assert.equal(formatFieldValue("3/20"), "3/20");
});

Deno.test("terminal mode: \\r redraws throttled to 10/s, ETA from the rate, log lines above the bar", async () => {
  const clock = fakeClock();
  const out: string[] = [];
  const progress = createProgress({
    total: 100,
    label: "fit",
    mode: "terminal",
    now: clock.now,
    write: (t) => out.push(t),
    columns: 200,
  });
  assert.equal(progress.mode, "terminal");
  progress.update(0, { loss: 0.5 }); // first update draws and starts the clock
  assert.equal(out.length, 1);
  assert.ok(out[0].startsWith("\rfit [....................]   0% 0/100  loss 0.5"));
  for (let i = 1; i <= 10; i++) {
    clock.advance(10); // 10 ms apart: only one redraw per 100 ms
    progress.update(i, { loss: 0.5 - i / 100 });
  }
  assert.equal(out.length, 2, "10 updates within 100 ms give one redraw");
  assert.equal(out[1], "\rfit [##" + ".".repeat(18) + "]  10% 10/100  loss 0.4  ETA 1s\x1b[K");
  clock.advance(9_900); // 10 done in 10 s: 90 left take 90 s
  progress.update(10);
  assert.ok(out[2].includes("10% 10/100  loss 0.4  ETA 1m30s"), out[2]);
  progress.log("epoch 1 done");
  assert.equal(out[3], "\r\x1b[Kepoch 1 done\n", "the log line clears the bar first");
  assert.ok(out[4].startsWith("\rfit ["), "the bar is drawn again under the log line");
  clock.advance(90_000);
  await progress.finish("all done");
  const finalBar = out.at(-2)!;
  assert.ok(finalBar.startsWith("\rfit [##..") && finalBar.includes("]  10% 10/100 "), finalBar);
  assert.ok(finalBar.endsWith("\x1b[K\n"), "final bar, then a newline");
  assert.equal(out.at(-1), "all done\n");
  const before = out.length;
  progress.update(50);
  progress.log("ignored");
  assert.equal(out.length, before, "nothing is written after finish");
});

Deno.test("terminal mode cuts the bar to the console width", () => {
  const out: string[] = [];
  const progress = createProgress({
    total: 10,
    label: "a-rather-long-label",
    mode: "terminal",
    write: (t) => out.push(t),
    columns: 40,
    now: fakeClock().now,
  });
  progress.update(1, { epoch: "1/10", batch: "1/100", loss: 0.123, "val loss": 0.2 });
  const visible = out[0].replace("\r", "").replace("\x1b[K", "");
  assert.equal(visible.length, 39);
});

Deno.test("lines mode: no \\r, log lines as they come, a heartbeat status line, the summary", async () => {
  const clock = fakeClock();
  const out: string[] = [];
  const progress = createProgress({
    total: 4,
    label: "t-SNE",
    mode: "lines",
    now: clock.now,
    write: (t) => out.push(t),
    heartbeatMs: 1000,
  });
  progress.update(1, { KL: 2.5 });
  clock.advance(500);
  progress.update(2, { KL: 2.0 });
  assert.equal(out.length, 0, "no status line before the heartbeat interval");
  progress.log("iteration 2: KL 2.0");
  clock.advance(600);
  progress.update(3, { KL: 1.5 });
  await progress.finish("done: KL 1.5");
  assert.equal(out[0], "iteration 2: KL 2.0\n");
  assert.equal(out[1], "t-SNE 75% 3/4  KL 1.5  ETA 1s\n");
  assert.equal(out[2], "done: KL 1.5\n");
  assert.ok(out.every((t) => !t.includes("\r")));
});

Deno.test("none mode writes nothing", async () => {
  const out: string[] = [];
  const progress = createProgress({ total: 3, mode: "none", write: (t) => out.push(t) });
  progress.update(1, { a: 1 });
  progress.log("x");
  await progress.finish("y");
  assert.deepEqual(out, []);
});

Deno.test("jupyter mode: one display updated in place by display_id, <= 4 updates/s, escaped HTML", async () => {
  const clock = fakeClock();
  const messages: { type: string; content: Record<string, unknown> }[] = [];
  const progress = createProgress({
    total: 1000,
    label: "<model & co>",
    mode: "jupyter",
    now: clock.now,
    broadcast: (type, content) => {
      messages.push({ type, content });
      return Promise.resolve();
    },
  });
  for (let i = 1; i <= 1000; i++) {
    clock.advance(2); // 1000 updates over 2 s
    progress.update(i, { epoch: "1/1", loss: 1 / i });
  }
  assert.ok(messages.length <= 9, `at most ~4 per second over 2 s, got ${messages.length}`);
  assert.ok(messages.length >= 7, `but it keeps updating, got ${messages.length}`);
  progress.log("epoch 1/1  train loss 0.001");
  await progress.finish("trained 1 epoch");
  assert.equal(messages[0].type, "display_data");
  const ids = new Set(
    messages.map((m) => (m.content.transient as { display_id: string }).display_id),
  );
  assert.equal(ids.size, 1, "all messages target the same display");
  assert.ok(messages.slice(1).every((m) => m.type === "update_display_data"));
  const last = messages.at(-1)!.content.data as Record<string, string>;
  assert.match(last["text/html"], /<progress value="1000" max="1000"/);
  assert.match(last["text/html"], /&lt;model &amp; co&gt;/);
  assert.ok(!last["text/html"].includes("<model"), "label is escaped");
  assert.ok(last["text/html"].includes("epoch 1/1  train loss 0.001"));
  assert.match(last["text/html"], /trained 1 epoch/);
  assert.match(last["text/plain"], /100% 1000\/1000/);
});

Deno.test("jupyter mode: a failing display is reported by finish", async () => {
  const progress = createProgress({
    total: 2,
    mode: "jupyter",
    broadcast: () => Promise.reject(new Error("socket closed")),
  });
  progress.update(1);
  await assert.rejects(() => progress.finish(), /Jupyter display failed: Error: socket closed/);
});
