import assert from "node:assert/strict";
import * as path from "node:path";
import { encodeIdx, parseIdx, readIdxFile, readIdxImages, readIdxLabels } from "../lib/data/idx.ts";
import { MNIST_FILES, readMnistRaw, resolveMnistDir } from "../lib/data/mnist.ts";

/** Writes files into a fresh temp dir, runs `body`, removes the dir. */
async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "data_idx_test_" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Asserts that `promise` rejects with a message containing every one of `parts`. */
async function rejectsWith(promise: Promise<unknown>, parts: string[]): Promise<void> {
  await assert.rejects(promise, (e: Error) => {
    for (const part of parts) {
      assert.ok(e.message.includes(part), `message ${JSON.stringify(e.message)} lacks ${part}`);
    }
    return true;
  });
}

function images(count: number, rows = 28, cols = 28): Uint8Array {
  const data = Uint8Array.from({ length: count * rows * cols }, (_, i) => (i * 7) % 256);
  return encodeIdx("ubyte", [count, rows, cols], data);
}

Deno.test("IDX: encode/parse round trip for every dtype, big-endian", () => {
  const cases = [
    ["ubyte", [0, 1, 255]],
    ["byte", [-128, 0, 127]],
    ["short", [-32768, 258, 32767]],
    ["int", [-2147483648, 16909060, 2147483647]],
    ["float", [-1.5, 0.25, 3]],
    ["double", [Math.PI, -1e300, 0]],
  ] as const;
  for (const [dtype, values] of cases) {
    const bytes = encodeIdx(dtype, [3], values);
    const parsed = parseIdx(bytes, "x");
    assert.equal(parsed.dtype, dtype);
    assert.deepEqual(parsed.dims, [3]);
    assert.deepEqual(Array.from(parsed.data), values);
  }
  // Big-endian on disk: 258 as a short is 0x01 0x02.
  const short = encodeIdx("short", [1], [258]);
  assert.deepEqual(Array.from(short), [0, 0, 0x0b, 1, 0, 0, 0, 1, 1, 2]);
});

Deno.test("IDX: the real MNIST files have the documented headers", async () => {
  const dir = resolveMnistDir();
  const train = await readIdxFile(path.join(dir, MNIST_FILES.train.images));
  assert.equal(train.dtype, "ubyte");
  assert.deepEqual(train.dims, [60000, 28, 28]);
  assert.equal(train.data.length, 60000 * 784);
  const labels = await readIdxLabels(path.join(dir, MNIST_FILES.test.labels));
  assert.equal(labels.count, 10000);
  const raw = await readMnistRaw("test");
  assert.equal(raw.count, 10000);
  assert.equal(raw.pixels.length, 10000 * 784);
  assert.equal(Math.max(...raw.pixels.subarray(0, 784)), 255); // a real digit, not zeros
});

Deno.test("IDX: malformed files give errors naming the file and the problem", async () => {
  await withTempDir(async (dir) => {
    const good = images(3);
    const at = (name: string) => path.join(dir, name);

    const wrongMagic = good.slice();
    wrongMagic[0] = 0x1f;
    await Deno.writeFile(at("magic"), wrongMagic);
    await rejectsWith(readIdxFile(at("magic")), [at("magic"), "bad magic", "0x1f"]);

    const unknownDtype = good.slice();
    unknownDtype[2] = 0x07;
    await Deno.writeFile(at("dtype"), unknownDtype);
    await rejectsWith(readIdxFile(at("dtype")), [at("dtype"), "unknown dtype 0x07"]);

    await Deno.writeFile(at("truncated"), good.subarray(0, good.length - 5));
    await rejectsWith(readIdxImages(at("truncated")), [
      at("truncated"),
      "truncated: header says 3x28x28 = 2352 bytes of data, file has 2347",
    ]);

    await Deno.writeFile(at("trailing"), Uint8Array.from([...good, 1, 2]));
    await rejectsWith(readIdxImages(at("trailing")), [at("trailing"), "2 trailing bytes"]);

    await Deno.writeFile(at("header"), good.subarray(0, 9));
    await rejectsWith(readIdxFile(at("header")), [at("header"), "truncated header"]);

    await Deno.writeFile(at("tiny"), Uint8Array.from([0, 0]));
    await rejectsWith(readIdxFile(at("tiny")), [at("tiny"), "too short"]);

    await Deno.writeFile(at("size"), images(2, 20, 20));
    await rejectsWith(readIdxImages(at("size")), [at("size"), "20x20, expected 28x28"]);
    // ...but a different size is fine when asked for.
    const small = await readIdxImages(at("size"), { rows: 20, cols: 20 });
    assert.equal(small.count, 2);

    await Deno.writeFile(at("rank"), encodeIdx("ubyte", [4], [1, 2, 3, 4]));
    await rejectsWith(readIdxImages(at("rank")), [at("rank"), "rank 3", "got rank 1"]);

    await Deno.writeFile(at("idtype"), encodeIdx("int", [1, 28, 28], new Array(784).fill(0)));
    await rejectsWith(readIdxImages(at("idtype")), [at("idtype"), "ubyte", "got int"]);

    await Deno.writeFile(at("labels"), encodeIdx("ubyte", [4], [1, 2, 12, 4]));
    await rejectsWith(readIdxLabels(at("labels")), [at("labels"), "label 12 at index 2"]);

    await rejectsWith(readIdxFile(at("missing")), [at("missing"), "cannot read"]);
  });
});

Deno.test("IDX: readMnistRaw rejects image/label count mismatch naming both files", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(path.join(dir, MNIST_FILES.test.images), images(3));
    await Deno.writeFile(path.join(dir, MNIST_FILES.test.labels), encodeIdx("ubyte", [2], [1, 2]));
    await rejectsWith(readMnistRaw("test", dir), [
      MNIST_FILES.test.images,
      MNIST_FILES.test.labels,
      "3 images",
      "2 labels",
    ]);
    await Deno.writeFile(
      path.join(dir, MNIST_FILES.test.labels),
      encodeIdx("ubyte", [3], [1, 2, 3]),
    );
    const raw = await readMnistRaw("test", dir);
    assert.equal(raw.count, 3);
    assert.deepEqual(Array.from(raw.labels), [1, 2, 3]);
    await rejectsWith(readMnistRaw("train", path.join(dir, "nope")), ["nope", "MNIST_DIR"]);
  });
});
