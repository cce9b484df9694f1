/**
 * `deno task bench --vs keras,torch`: the Keras 3 and PyTorch twins of the zoo have exactly
 * tfjs' trainable parameter counts, the CLI parses its flags, and a small run prints the
 * promised JSON.
 *
 * Keras comes from PyPI into `.venv` (`resolveTwin` installs it: ~280 MB, about a minute);
 * torch from `.venv` where PyTorch 2 is installed, else from Debian (`python3-torch`, installed
 * with apt-get where missing: about 80 s), so no test is skipped.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseBenchArgs } from "../lib/bench/bench.ts";
import {
  describeTwin,
  formatVsTable,
  MAX_INFERENCE_PASSES,
  median,
  parseTwinList,
  referenceParamCounts,
  resolveTwin,
  startReference,
  type TwinFramework,
  type TwinInfo,
  type VsReport,
} from "../lib/bench/bench_vs.ts";
import { countTrainableParams, zoo } from "../lib/models/mod.ts";
import { MNIST_FILES, resolveMnistDir } from "../lib/data/mnist.ts";

for (const framework of ["keras", "torch"] as TwinFramework[]) {
  Deno.test(`${framework} reference: every zoo model's twin has tfjs' trainable parameter count`, async () => {
    const twin = await resolveTwin(framework);
    const counts = await referenceParamCounts(twin);
    await tf.setBackend("cpu");
    assert.deepEqual(Object.keys(counts).sort(), Object.keys(zoo).sort());
    for (const name of Object.keys(zoo)) {
      const model = zoo[name].build(0);
      const tfjs = countTrainableParams(model.autoencoder);
      model.autoencoder.dispose();
      assert.equal(counts[name], tfjs, `${name}: ${framework} ${counts[name]} vs tfjs ${tfjs}`);
    }
  });
}

Deno.test("bench CLI: --vs, --vs-torch, --rounds, --threads parse; bad values are rejected", () => {
  const parsed = parseBenchArgs([
    "--vs",
    "keras,torch",
    "--rounds",
    "2",
    "--threads",
    "1",
    "--models",
    "dense-64,cnn-bilinear",
    "--json",
  ]);
  assert.deepEqual(parsed.vs, ["keras", "torch"]);
  assert.equal(parsed.rounds, 2);
  assert.equal(parsed.threads, 1);
  assert.equal(parsed.json, true);
  assert.equal(parsed.installTorch, false);
  assert.deepEqual(parsed.models, ["dense-64", "cnn-bilinear"]);
  assert.deepEqual(parseBenchArgs(["--vs-torch"]).vs, ["torch"]);
  assert.equal(parseBenchArgs(["--vs", "torch", "--install-torch"]).installTorch, true);
  assert.equal(parseBenchArgs([]).vs, null);
  assert.deepEqual(parseTwinList("torch, keras,torch"), ["torch", "keras"]);
  assert.throws(() => parseTwinList("jax"), /--vs takes a list of keras, torch; got "jax"/);
  assert.throws(() => parseBenchArgs(["--vs", ""]), /got ""/);
  assert.throws(() => parseBenchArgs(["--rounds", "two"]), /--rounds must be an integer/);
  assert.throws(() => parseBenchArgs(["--vs-torch=yes"]));
});

for (const framework of ["keras", "torch"] as TwinFramework[]) {
  Deno.test(`${framework} reference: a train command of 0 batches answers valid JSON (--warmup 0)`, async () => {
    const twin = startReference(await resolveTwin(framework), 1);
    try {
      const images = join(resolveMnistDir(), MNIST_FILES.train.images);
      await twin.request({ cmd: "setup", model: "dense-64", batch_size: 4, pool: 1, images });
      const none = await twin.request({ cmd: "train", batches: 0 });
      assert.deepEqual(none, { seconds: [], last_loss: null });
      const one = await twin.request({ cmd: "train", batches: 1 });
      assert.equal((one.seconds as number[]).length, 1);
      assert.ok(Number.isFinite(one.last_loss), `last_loss = ${one.last_loss}`);
      await assert.rejects(twin.request({ cmd: "fly" }), /unknown command 'fly'/);
      if (framework === "keras") {
        // One inter-op thread, as the native backend's context.
        const info = await twin.request({ cmd: "info" });
        assert.equal(info.inter_op_threads, 1);
        assert.match(describeTwin({ ...info, python_path: "py" } as TwinInfo), /, 1 inter-op,/);
      }
    } finally {
      await twin.close();
    }
  });
}

Deno.test("median: odd and even lengths, unsorted input; empty list throws", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.throws(() => median([]), /empty/);
});

Deno.test("deno task bench --vs keras,torch --json prints one JSON object with per-model ratios", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "lib/bench/bench.ts",
      "--vs",
      "keras,torch",
      "--json",
      "--backend",
      "cpu",
      "--models",
      "dense-linear-code",
      "--batches",
      "2",
      "--rounds",
      "2",
      "--warmup",
      "1",
    ],
    cwd: new URL("..", import.meta.url),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `bench failed: ${stderr}`);
  const stdout = new TextDecoder().decode(out.stdout).trim();
  assert.equal(stdout.split("\n").length, 1, "one line of JSON");
  const report = JSON.parse(stdout) as VsReport;
  assert.equal(report.backend, "cpu");
  assert.deepEqual(report.twins.map((t) => t.framework), ["keras", "torch"]);
  for (const twin of report.twins) {
    assert.equal(twin.threads, navigator.hardwareConcurrency, twin.framework); // all cores
  }
  assert.match(String(report.twins[0].version), /^3\./, "Keras 3");
  assert.equal(report.models.length, 1);
  const row = report.models[0];
  assert.equal(row.model, "dense-linear-code");
  assert.equal(row.error, undefined);
  assert.ok(Number.isFinite(row.tfjs.epoch_s) && row.tfjs.epoch_s > 0);
  // 60k epoch = median batch time x 60000 / 64.
  assert.ok(Math.abs(row.tfjs.epoch_s - row.tfjs.ms_per_batch / 1000 * 60000 / 64) < 1e-6);
  assert.ok(Number.isFinite(row.tfjs.last_loss));
  for (const framework of ["keras", "torch"] as const) {
    const twin = row.twins[framework]!;
    assert.equal(twin.params, row.params, framework);
    assert.ok(Number.isFinite(twin.epoch_s) && twin.epoch_s > 0, `${framework} ${twin.epoch_s}`);
    assert.ok(Math.abs(twin.ratio - row.tfjs.epoch_s / twin.epoch_s) < 1e-9 * twin.ratio);
    assert.ok(Number.isFinite(twin.last_loss), `${framework} loss ${twin.last_loss}`);
  }
  assert.equal(report.inference.images, 10000);
  const inf = report.inference.models[0];
  assert.equal(inf.model, "dense-linear-code");
  assert.ok(inf.tfjs_s > 0 && inf.twins.keras!.s > 0 && inf.twins.torch!.s > 0);
  // At least `rounds` passes, at most the cap.
  assert.ok(inf.passes >= 2 && inf.passes <= MAX_INFERENCE_PASSES, `passes = ${inf.passes}`);
  const text = formatVsTable(report);
  assert.match(text, /dense-linear-code\s+435858/);
  assert.match(text, /tfjs\/keras/);
  assert.match(text, /tfjs\/torch/);
  assert.match(text, /Keras 3\.\d+\.\d+ on tensorflow/);
});
