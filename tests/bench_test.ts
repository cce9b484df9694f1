/**
 * `deno task bench --vs-torch`: the PyTorch twins of the zoo have exactly tfjs' trainable
 * parameter counts, the CLI parses its flags, and a small run prints the promised JSON.
 *
 * Torch comes from Debian (`python3-torch`); where it is missing, the first test installs it
 * with apt-get (measured: about 80 s), so no test is skipped.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseBenchArgs } from "../lib/bench/bench.ts";
import {
  DEBIAN_PYTHON,
  ensureTorch,
  formatVsTorchTable,
  MAX_INFERENCE_PASSES,
  median,
  startTorchReference,
  torchParamCounts,
  type VsTorchReport,
} from "../lib/bench/bench_torch.ts";
import { countTrainableParams, zoo } from "../lib/models/mod.ts";
import { MNIST_FILES, resolveMnistDir } from "../lib/data/mnist.ts";

Deno.test("torch reference: every zoo model's PyTorch twin has tfjs' trainable parameter count", async () => {
  await ensureTorch(DEBIAN_PYTHON);
  const torchCounts = await torchParamCounts();
  await tf.setBackend("cpu");
  assert.deepEqual(Object.keys(torchCounts).sort(), Object.keys(zoo).sort());
  for (const name of Object.keys(zoo)) {
    const model = zoo[name].build(0);
    const tfjs = countTrainableParams(model.autoencoder);
    model.autoencoder.dispose();
    assert.equal(torchCounts[name], tfjs, `${name}: torch ${torchCounts[name]} vs tfjs ${tfjs}`);
  }
});

Deno.test("bench CLI: --vs-torch, --rounds, --threads parse; bad values are rejected", () => {
  const parsed = parseBenchArgs([
    "--vs-torch",
    "--rounds",
    "2",
    "--threads",
    "1",
    "--models",
    "dense-64,cnn-bilinear",
    "--json",
  ]);
  assert.equal(parsed.vsTorch, true);
  assert.equal(parsed.rounds, 2);
  assert.equal(parsed.threads, 1);
  assert.equal(parsed.json, true);
  assert.deepEqual(parsed.models, ["dense-64", "cnn-bilinear"]);
  assert.equal(parseBenchArgs([]).vsTorch, false);
  assert.throws(() => parseBenchArgs(["--rounds", "two"]), /--rounds must be an integer/);
  assert.throws(() => parseBenchArgs(["--vs-torch=yes"]));
});

Deno.test("torch reference: a train command of 0 batches answers valid JSON (--warmup 0)", async () => {
  await ensureTorch(DEBIAN_PYTHON);
  const torch = startTorchReference(DEBIAN_PYTHON, 1);
  try {
    const images = join(resolveMnistDir(), MNIST_FILES.train.images);
    await torch.request({ cmd: "setup", model: "dense-64", batch_size: 4, pool: 1, images });
    const none = await torch.request({ cmd: "train", batches: 0 });
    assert.deepEqual(none, { seconds: [], last_loss: null });
    const one = await torch.request({ cmd: "train", batches: 1 });
    assert.equal((one.seconds as number[]).length, 1);
    assert.ok(Number.isFinite(one.last_loss), `last_loss = ${one.last_loss}`);
  } finally {
    await torch.close();
  }
});

Deno.test("median: odd and even lengths, unsorted input; empty list throws", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.throws(() => median([]), /empty/);
});

Deno.test("deno task bench --vs-torch --json prints one JSON object with per-model ratios", async () => {
  await ensureTorch(DEBIAN_PYTHON);
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "lib/bench/bench.ts",
      "--vs-torch",
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
  const report = JSON.parse(stdout) as VsTorchReport;
  assert.equal(report.backend, "cpu");
  assert.equal(report.torch.threads, navigator.hardwareConcurrency); // all cores by default
  assert.equal(report.models.length, 1);
  const row = report.models[0];
  assert.equal(row.model, "dense-linear-code");
  assert.equal(row.error, undefined);
  assert.equal(row.params, row.torch_params);
  for (const key of ["tfjs_epoch_s", "torch_epoch_s", "ratio"] as const) {
    assert.ok(Number.isFinite(row[key]) && row[key] > 0, `${key} = ${row[key]}`);
  }
  assert.ok(Math.abs(row.ratio - row.tfjs_epoch_s / row.torch_epoch_s) < 1e-9 * row.ratio);
  // 60k epoch = median batch time x 60000 / 64.
  assert.ok(Math.abs(row.tfjs_epoch_s - row.tfjs_ms_per_batch / 1000 * 60000 / 64) < 1e-6);
  assert.ok(Number.isFinite(row.tfjs_last_loss) && Number.isFinite(row.torch_last_loss));
  assert.equal(report.inference.images, 10000);
  const inf = report.inference.models[0];
  assert.equal(inf.model, "dense-linear-code");
  assert.ok(inf.tfjs_s > 0 && inf.torch_s > 0);
  // At least `rounds` passes, at most the cap.
  assert.ok(inf.passes >= 2 && inf.passes <= MAX_INFERENCE_PASSES, `passes = ${inf.passes}`);
  const text = formatVsTorchTable(report);
  assert.match(text, /dense-linear-code\s+435858/);
  assert.match(text, /tfjs\/torch/);
});
