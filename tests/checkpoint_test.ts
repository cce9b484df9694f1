import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import {
  hasTrainingCheckpoint,
  loadModel,
  loadTrainingCheckpoint,
  recoverInterruptedSave,
  saveModel,
  saveTrainingCheckpoint,
  writeDirAtomically,
} from "../lib/checkpoint.ts";

await tf.setBackend("cpu");

/** A tiny conv autoencoder with BatchNorm (moving statistics are non-trainable weights). */
function tinyConvModel(seed: number): tf.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: s });
  const input = tf.input({ shape: [8, 8, 1] });
  let h = tf.layers.conv2d({
    filters: 4,
    kernelSize: 3,
    padding: "same",
    activation: "relu",
    kernelInitializer: init(seed),
  }).apply(input) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization({
    movingMeanInitializer: tf.initializers.constant({ value: 0.25 }),
  }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.maxPooling2d({ poolSize: 2 }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.conv2dTranspose({
    filters: 1,
    kernelSize: 3,
    strides: 2,
    padding: "same",
    activation: "sigmoid",
    kernelInitializer: init(seed + 1),
  }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: h });
}

async function weightValues(model: tf.LayersModel): Promise<Float32Array[]> {
  return await Promise.all(model.getWeights().map(async (w) => (await w.data()) as Float32Array));
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test("saveModel/loadModel round trip in the tfjs layers format (model.json + weights.bin)", async () => {
  const root = await Deno.makeTempDir();
  try {
    const model = tinyConvModel(1);
    const dir = join(root, "model");
    await saveModel(model, dir);
    assert.deepEqual(await listDir(dir), ["model.json", "weights.bin"]);
    const json = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
    assert.equal(json.format, "layers-model");
    assert.deepEqual(json.weightsManifest[0].paths, ["./weights.bin"]);
    const bytes = json.weightsManifest[0].weights.reduce(
      (sum: number, w: { shape: number[] }) => sum + 4 * w.shape.reduce((a, b) => a * b, 1),
      0,
    );
    assert.equal((await Deno.stat(join(dir, "weights.bin"))).size, bytes);

    const loaded = await loadModel(dir);
    assert.deepEqual(await weightValues(loaded), await weightValues(model));
    const x = tf.randomUniform([2, 8, 8, 1], 0, 1, "float32", 3);
    const a = model.predict(x) as tf.Tensor;
    const b = loaded.predict(x) as tf.Tensor;
    assert.deepEqual(await b.data(), await a.data());
    tf.dispose([x, a, b]);
    // No temporary or old directories are left beside it.
    assert.deepEqual(await listDir(root), ["model"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadModel says what is missing", async () => {
  const root = await Deno.makeTempDir();
  try {
    await assert.rejects(() => loadModel(join(root, "nothing")), /model\.json is missing/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a save that fails half way leaves the previous checkpoint intact", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = join(root, "ckpt");
    const first = tinyConvModel(1);
    await saveModel(first, dir);
    const before = await Deno.readFile(join(dir, "weights.bin"));
    await assert.rejects(
      () =>
        writeDirAtomically(dir, async (tmp) => {
          await Deno.writeTextFile(join(tmp, "model.json"), "{ half written");
          throw new Error("disk full (simulated)");
        }),
      /disk full/,
    );
    assert.deepEqual(await Deno.readFile(join(dir, "weights.bin")), before);
    assert.deepEqual(await listDir(root), ["ckpt"], "the temporary directory is removed");
    const loaded = await loadModel(dir);
    assert.deepEqual(await weightValues(loaded), await weightValues(first));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a crash between the two renames is recovered: the previous version comes back", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = join(root, "ckpt");
    const first = tinyConvModel(1);
    await saveModel(first, dir);
    // The state a crash leaves after `dir` -> `dir.old-*` and before `dir.tmp-*` -> `dir`.
    await Deno.rename(dir, `${dir}.old-abcd1234`);
    await Deno.mkdir(`${dir}.tmp-ffff0000`);
    await Deno.writeTextFile(join(`${dir}.tmp-ffff0000`, "model.json"), "{ partial");
    const loaded = await loadModel(dir);
    assert.deepEqual(await weightValues(loaded), await weightValues(first));
    assert.deepEqual(await listDir(root), ["ckpt", "ckpt.tmp-ffff0000"]);
    // The next save removes the stale temporary directory.
    await saveModel(tinyConvModel(2), dir);
    assert.deepEqual(await listDir(root), ["ckpt"]);
    assert.equal(await recoverInterruptedSave(dir), false);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a process killed (SIGKILL) while saving in a loop leaves a complete checkpoint", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = join(root, "ckpt");
    // Each version fills every weight with its version number, so a mix of versions shows.
    const script = join(root, "saver.ts");
    await Deno.writeTextFile(
      script,
      `import * as tf from "@tensorflow/tfjs";
import { saveModel } from ${JSON.stringify(import.meta.resolve("../lib/checkpoint.ts"))};
await tf.setBackend("cpu");
const input = tf.input({ shape: [512] });
const out = tf.layers.dense({ units: 1024 }).apply(
  tf.layers.dense({ units: 1024 }).apply(input) as tf.SymbolicTensor,
) as tf.SymbolicTensor;
const model = tf.model({ inputs: input, outputs: out });
for (let version = 1; ; version++) {
  model.setWeights(model.getWeights().map((w) => tf.fill(w.shape, version)));
  await saveModel(model, ${JSON.stringify(dir)});
  if (version === 1) console.log("saved");
}
`,
    );
    const configPath = new URL("../deno.json", import.meta.url).pathname;
    for (const delayMs of [150, 400, 700]) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--config", configPath, script],
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const reader = child.stdout.getReader();
      const { value } = await reader.read(); // wait until the first version is on disk
      assert.equal(new TextDecoder().decode(value).trim(), "saved");
      await new Promise((r) => setTimeout(r, delayMs));
      child.kill("SIGKILL");
      await child.status;
      reader.releaseLock();
      await child.stdout.cancel();

      const loaded = await loadModel(dir);
      const values = new Set<number>();
      for (const w of await weightValues(loaded)) for (const v of new Set(w)) values.add(v);
      assert.equal(values.size, 1, `one version only, found ${[...values]}`);
      assert.ok([...values][0] >= 1);
      loaded.dispose();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("training checkpoint: model, best model, optimizer weights and state round trip", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = join(root, "run");
    assert.equal(await hasTrainingCheckpoint(dir), false);
    await assert.rejects(() => loadTrainingCheckpoint(dir), /no training checkpoint in/);

    const model = tinyConvModel(1);
    const optimizer = tf.train.adam(0.01);
    const x = tf.randomUniform([4, 8, 8, 1], 0, 1, "float32", 5);
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    for (let i = 0; i < 3; i++) {
      tf.dispose(
        optimizer.minimize(
          () => tf.mean(tf.squaredDifference(x, model.apply(x, { training: true }) as tf.Tensor)),
          true,
          vars,
        )!,
      );
    }
    const best = tinyConvModel(7).getWeights();
    const state = { epoch: 3, note: "anything JSON-able" };
    await saveTrainingCheckpoint(dir, { model, optimizer, state, bestWeights: best });
    assert.equal(await hasTrainingCheckpoint(dir), true);
    assert.deepEqual(await listDir(dir), [
      "best",
      "model.json",
      "optimizer.bin",
      "optimizer.json",
      "trainer.json",
      "weights.bin",
    ]);

    const ckpt = await loadTrainingCheckpoint<typeof state>(dir);
    assert.deepEqual(ckpt.state, state);
    assert.equal(ckpt.optimizerClass, "Adam");
    assert.equal(ckpt.optimizerConfig.learningRate, 0.01);
    const savedOpt = await optimizer.getWeights();
    assert.equal(ckpt.optimizerWeights.length, savedOpt.length);
    assert.equal(ckpt.optimizerWeights[0].name, "iter");
    assert.equal((await ckpt.optimizerWeights[0].tensor.data())[0], 3);
    for (let i = 0; i < savedOpt.length; i++) {
      assert.equal(ckpt.optimizerWeights[i].name, savedOpt[i].name);
      assert.deepEqual(
        await ckpt.optimizerWeights[i].tensor.data(),
        await savedOpt[i].tensor.data(),
      );
    }
    assert.deepEqual(
      await Promise.all(ckpt.weights.map((w) => w.tensor.data())),
      await weightValues(model),
    );
    assert.deepEqual(
      await Promise.all(ckpt.bestWeights!.map((w) => w.tensor.data())),
      await Promise.all(best.map((w) => w.data())),
    );
    // The best weights are a loadable model of their own.
    const bestModel = await loadModel(join(dir, "best"));
    assert.deepEqual(
      await weightValues(bestModel),
      await Promise.all(best.map((w) => w.data() as Promise<Float32Array>)),
    );
    tf.dispose([x, savedOpt[0].tensor]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
