import assert from "node:assert/strict";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { encodeIdx } from "../lib/data/idx.ts";
import { FileDigestCache } from "../lib/data/digest.ts";
import {
  countByDigit,
  disposeMnistSet,
  loadMnist,
  loadMnistSplit,
  MNIST_FILES,
  type MnistSet,
  readMnistRaw,
  resolveMnistDir,
  unitPixels,
} from "../lib/data/mnist.ts";

await tf.setBackend("cpu");

// Per-digit counts quoted in SPEC.md (the write-ups' check of the loader).
const SPEC_TRAIN = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
const SPEC_TEST = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

/** Raw bytes of each image of a set, back from the [0,1] floats (exact: k/255 round-trips). */
function imageKeys(set: MnistSet): string[] {
  const values = set.flat.dataSync();
  const keys: string[] = [];
  for (let i = 0; i < set.size; i++) {
    const row = values.subarray(i * 784, (i + 1) * 784);
    keys.push(Array.from(row, (v) => Math.round(v * 255)).join(","));
  }
  return keys;
}

function range(values: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    lo = Math.min(lo, values[i]);
    hi = Math.max(hi, values[i]);
  }
  return [lo, hi];
}

function disposeAll(...sets: MnistSet[]): void {
  for (const s of sets) disposeMnistSet(s);
}

Deno.test("MNIST: per-digit counts match SPEC.md for train and test", async () => {
  const train = await readMnistRaw("train");
  const test = await readMnistRaw("test");
  assert.equal(train.count, 60000);
  assert.equal(test.count, 10000);
  assert.deepEqual(countByDigit(train.labels), SPEC_TRAIN);
  assert.deepEqual(countByDigit(test.labels), SPEC_TEST);
  assert.throws(() => countByDigit([1, 10]), /label 10 at index 1/);
});

Deno.test("loadMnist: default 48k/12k/10k split, disjoint, covering the train file", async () => {
  const before = tf.memory().numTensors;
  const { train, validation, test } = await loadMnist();
  assert.equal(train.size, 48000);
  assert.equal(validation.size, 12000);
  assert.equal(test.size, 10000);
  assert.deepEqual(train.images.shape, [48000, 28, 28, 1]);
  assert.deepEqual(train.flat.shape, [48000, 784]);
  // Together, train and validation hold every train image's label once.
  const both = countByDigit(train.labels).map((n, d) => n + countByDigit(validation.labels)[d]);
  assert.deepEqual(both, SPEC_TRAIN);
  assert.deepEqual(countByDigit(test.labels), SPEC_TEST);
  // The split is shuffled: validation is not simply the last 12,000 of the file.
  const raw = await readMnistRaw("train");
  const tail = Array.from(raw.labels.subarray(48000));
  assert.notDeepEqual(Array.from(validation.labels), tail);
  disposeAll(train, validation, test);
  assert.equal(tf.memory().numTensors, before, "tensors leaked");
});

Deno.test("loadMnist: seeded split is reproducible, disjoint, and follows the seed", async () => {
  const options = { trainLimit: 1000, testLimit: 50, validationFraction: 0.25 };
  const a = await loadMnist({ ...options, seed: 3 });
  const b = await loadMnist({ ...options, seed: 3 });
  const c = await loadMnist({ ...options, seed: 4 });
  assert.equal(a.train.size, 750);
  assert.equal(a.validation.size, 250);
  assert.equal(a.test.size, 50);
  assert.deepEqual(imageKeys(a.train), imageKeys(b.train));
  assert.deepEqual(a.train.labels, b.train.labels);
  assert.deepEqual(imageKeys(a.validation), imageKeys(b.validation));
  assert.notDeepEqual(imageKeys(c.validation), imageKeys(a.validation));

  // Exactly the first 1000 train images, each in one split only.
  const raw = await readMnistRaw("train");
  const first = new Map<string, number>();
  for (let i = 0; i < 1000; i++) {
    first.set(Array.from(raw.pixels.subarray(i * 784, (i + 1) * 784)).join(","), i);
  }
  assert.equal(first.size, 1000, "the first 1000 images should be distinct");
  const seen = new Set<number>();
  for (const set of [a.train, a.validation]) {
    imageKeys(set).forEach((key, k) => {
      const index = first.get(key);
      assert.ok(index !== undefined, "image not among the first 1000");
      assert.ok(!seen.has(index), `image ${index} appears twice`);
      seen.add(index);
      assert.equal(set.labels[k], raw.labels[index], "label does not follow its image");
    });
  }
  assert.equal(seen.size, 1000);
  disposeAll(a.train, a.validation, a.test, b.train, b.validation, b.test);
  disposeAll(c.train, c.validation, c.test);
});

Deno.test("loadMnist: digit filter before limit, validationFraction 0", async () => {
  const { train, validation, test } = await loadMnist({
    digits: [0, 6],
    trainLimit: 300,
    testLimit: 40,
    validationFraction: 0,
  });
  assert.equal(train.size, 300);
  assert.equal(validation.size, 0);
  assert.deepEqual(validation.images.shape, [0, 28, 28, 1]);
  assert.equal(test.size, 40);
  for (const set of [train, test]) {
    const counts = countByDigit(set.labels);
    assert.equal(counts[0] + counts[6], set.size);
    assert.ok(counts[0] > 0 && counts[6] > 0);
  }
  // Test keeps file order: the first 40 test images that are 0 or 6.
  const raw = await readMnistRaw("test");
  const expected = Array.from(raw.labels).filter((d) => d === 0 || d === 6).slice(0, 40);
  assert.deepEqual(Array.from(test.labels), expected);
  disposeAll(train, validation, test);
});

Deno.test("loadMnistSplit: file order, limit, and both normalisations", async () => {
  const raw = await readMnistRaw("test");
  const unit = await loadMnistSplit("test", { limit: 200 });
  const centered = await loadMnistSplit("test", { limit: 200, normalization: "centered" });
  assert.deepEqual(Array.from(unit.labels), Array.from(raw.labels.subarray(0, 200)));
  const u = unit.flat.dataSync();
  const c = centered.flat.dataSync();
  assert.deepEqual(range(u), [0, 1]);
  assert.deepEqual(range(c), [-0.5, 0.5]);
  for (let i = 0; i < u.length; i++) {
    assert.ok(Math.abs(u[i] - raw.pixels[i] / 255) < 1e-7);
    assert.ok(Math.abs(c[i] - (u[i] - 0.5)) < 1e-6);
  }
  // images and flat hold the same numbers.
  assert.deepEqual(unit.images.dataSync(), u);
  assert.equal(unit.images.shape[0], 200);
  disposeAll(unit, centered);
});

Deno.test("loadMnist / loadMnistSplit: bad options give clear errors", async () => {
  const cases: [() => Promise<unknown>, RegExp][] = [
    [() => loadMnist({ trainLimit: 0 }), /trainLimit must be an integer >= 1, got 0/],
    [() => loadMnist({ testLimit: 2.5 }), /testLimit must be an integer >= 1, got 2.5/],
    [() => loadMnist({ digits: [] }), /digits must be a non-empty array/],
    [() => loadMnist({ digits: [3, 10] }), /digits must be integers 0..9, got \[3,10\]/],
    [() => loadMnist({ validationFraction: 1 }), /validationFraction must be in \[0, 1\), got 1/],
    [() => loadMnist({ validationFraction: -0.1 }), /validationFraction/],
    [() => loadMnist({ seed: 0.5 }), /seed must be an integer/],
    [() => loadMnist({ normalization: "z" as "unit" }), /normalization must be "unit" or/],
    [() => loadMnistSplit("val" as "test"), /split must be "train" or "test", got "val"/],
    [() => loadMnistSplit("test", { limit: -1 }), /limit must be an integer >= 1/],
  ];
  for (const [call, pattern] of cases) await assert.rejects(call(), pattern);
});

Deno.test("MNIST directory: dir option and MNIST_DIR env win over the package", async () => {
  const dir = await Deno.makeTempDir({ prefix: "data_mnist_test_" });
  try {
    const pixels = Uint8Array.from({ length: 3 * 784 }, (_, i) => (i % 3) * 100);
    await Deno.writeFile(
      path.join(dir, MNIST_FILES.test.images),
      encodeIdx("ubyte", [3, 28, 28], pixels),
    );
    await Deno.writeFile(
      path.join(dir, MNIST_FILES.test.labels),
      encodeIdx("ubyte", [3], [7, 0, 7]),
    );
    const viaOption = await loadMnistSplit("test", { dir });
    assert.deepEqual(Array.from(viaOption.labels), [7, 0, 7]);
    Deno.env.set("MNIST_DIR", dir);
    try {
      const viaEnv = await loadMnistSplit("test", { digits: [7] });
      assert.deepEqual(Array.from(viaEnv.labels), [7, 7]);
      await assert.rejects(loadMnistSplit("test", { digits: [5] }), /no images match digits \[5\]/);
      disposeAll(viaEnv);
    } finally {
      Deno.env.delete("MNIST_DIR");
    }
    disposeAll(viaOption);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("MNIST loaders name the IDX files they read, as absolute paths under MNIST_DIR", async () => {
  // A copy of the real files in a temp directory, named through a relative MNIST_DIR.
  const dir = await Deno.makeTempDir({ prefix: "data_mnist_sources_" });
  const packaged = resolveMnistDir();
  const file = (name: string) => path.join(dir, name);
  const { train: trainFiles, test: testFiles } = MNIST_FILES;
  try {
    for (const name of [trainFiles.images, trainFiles.labels, testFiles.images, testFiles.labels]) {
      await Deno.copyFile(path.join(packaged, name), file(name));
    }
    const before = Deno.env.get("MNIST_DIR");
    Deno.env.set("MNIST_DIR", path.relative(Deno.cwd(), dir));
    try {
      const rawTest = await readMnistRaw("test");
      assert.deepEqual(rawTest.sources, [file(testFiles.images), file(testFiles.labels)]);
      const rawTrain = await readMnistRaw("train");
      assert.deepEqual(rawTrain.sources, [file(trainFiles.images), file(trainFiles.labels)]);

      const split = await loadMnistSplit("test", { limit: 5 });
      assert.deepEqual(split.sources, rawTest.sources);
      const splits = await loadMnist({ trainLimit: 20, testLimit: 5 });
      assert.deepEqual(splits.sources, [...rawTrain.sources, ...rawTest.sources]);
      disposeAll(split, splits.train, splits.validation, splits.test);

      // The run store digests exactly these files: the copies' digests equal the originals'.
      const digests = new FileDigestCache({ cacheFile: null });
      const ofCopies = await digests.digestAll(splits.sources);
      const ofPackage = await digests.digestAll(
        splits.sources.map((s) => path.join(packaged, path.basename(s))),
      );
      assert.deepEqual(Object.keys(ofCopies), splits.sources);
      assert.deepEqual(Object.values(ofCopies), Object.values(ofPackage));
    } finally {
      if (before === undefined) Deno.env.delete("MNIST_DIR");
      else Deno.env.set("MNIST_DIR", before);
    }
    // An explicit dir wins over the environment and is named as given, made absolute.
    const viaOption = await loadMnistSplit("train", { dir, limit: 3 });
    assert.deepEqual(viaOption.sources, [file(trainFiles.images), file(trainFiles.labels)]);
    disposeAll(viaOption);
    const fromPackage = await loadMnistSplit("test", { limit: 3 });
    assert.deepEqual(fromPackage.sources, [
      path.resolve(packaged, testFiles.images),
      path.resolve(packaged, testFiles.labels),
    ]);
    disposeAll(fromPackage);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("unitPixels: x/255 (minus a shift) of all or of chosen images, with clear errors", () => {
  const pixels = new Uint8Array(3 * 784);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7 + Math.floor(i / 784)) % 256;
  const all = unitPixels(pixels);
  assert.equal(all.length, 3 * 784);
  for (const i of [0, 1, 783, 784, 2000, 3 * 784 - 1]) {
    assert.equal(all[i], Math.fround(pixels[i] / 255));
  }
  const picked = unitPixels(pixels, [2, 0], 0.5);
  assert.equal(picked.length, 2 * 784);
  for (const p of [0, 100, 783]) {
    assert.equal(picked[p], Math.fround(pixels[2 * 784 + p] / 255 - 0.5));
    assert.equal(picked[784 + p], Math.fround(pixels[p] / 255 - 0.5));
  }
  assert.throws(() => unitPixels(pixels, [3]), /image 3 outside 0\.\.2/);
  assert.throws(() => unitPixels(pixels, [1.5]), /image 1.5 outside/);
  assert.throws(() => unitPixels(new Uint8Array(785)), /not whole 784-pixel images/);
});
