import assert from "node:assert/strict";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import pl from "nodejs-polars";
import {
  kaggleColumns,
  kaggleToMnistSet,
  readKaggleCsv,
  readKaggleDataFrame,
  writeKaggleCsvs,
} from "../lib/data/kaggle.ts";
import {
  countByDigit,
  disposeMnistSet,
  mnistSetFromPixels,
  readMnistRaw,
} from "../lib/data/mnist.ts";
import { shuffledIndices } from "../lib/random.ts";

await tf.setBackend("cpu");

async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "data_kaggle_test_" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The 70,000 MNIST images as one array: train file then test file (the documented numbering). */
async function allMnist(): Promise<{ pixels: Uint8Array; labels: Uint8Array }> {
  const a = await readMnistRaw("train");
  const b = await readMnistRaw("test");
  const pixels = new Uint8Array((a.count + b.count) * 784);
  pixels.set(a.pixels);
  pixels.set(b.pixels, a.pixels.length);
  const labels = new Uint8Array(a.count + b.count);
  labels.set(a.labels);
  labels.set(b.labels, a.count);
  return { pixels, labels };
}

/** FNV-1a hash of each 784-byte image, sorted: equal lists = same multiset of images. */
function imageHashes(pixels: Uint8Array, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    let h = 0x811c9dc5;
    for (let p = i * 784; p < (i + 1) * 784; p++) h = Math.imul(h ^ pixels[p], 0x01000193);
    out.push(h >>> 0);
  }
  return out.sort((x, y) => x - y);
}

Deno.test("Kaggle CSV: small round trip IDX -> CSV -> tensors is exact and deterministic", async () => {
  await withTempDir(async (dir) => {
    const result = await writeKaggleCsvs(dir, { trainRows: 300, testRows: 200, seed: 5 });
    assert.equal(result.generated, true);
    const text = await Deno.readTextFile(result.trainPath);
    assert.ok(text.startsWith("label,pixel0,pixel1,"));
    assert.equal(text.split("\n")[0].split(",").length, 785);

    const train = await readKaggleCsv(result.trainPath, { kind: "train", expectedRows: 300 });
    const test = await readKaggleCsv(result.testPath, { kind: "test" });
    assert.equal(train.count, 300);
    assert.equal(test.count, 200);
    assert.equal(test.labels, null);

    // Which images: the first 300 (train) and next 200 (test) of shuffledIndices(70000, seed).
    const mnist = await allMnist();
    const order = shuffledIndices(70000, 5);
    for (let k = 0; k < 300; k++) {
      const i = order[k];
      assert.equal(train.labels![k], mnist.labels[i]);
      assert.deepEqual(
        train.pixels.subarray(k * 784, (k + 1) * 784),
        mnist.pixels.subarray(i * 784, (i + 1) * 784),
      );
    }
    for (let k = 0; k < 200; k++) {
      const i = order[300 + k];
      assert.deepEqual(
        test.pixels.subarray(k * 784, (k + 1) * 784),
        mnist.pixels.subarray(i * 784, (i + 1) * 784),
      );
    }

    // Tensors from the CSV equal tensors straight from the IDX bytes.
    const fromCsv = kaggleToMnistSet(train, "centered");
    const fromIdx = mnistSetFromPixels(
      mnist.pixels,
      mnist.labels,
      "centered",
      order.subarray(0, 300),
    );
    assert.deepEqual(fromCsv.images.shape, [300, 28, 28, 1]);
    assert.deepEqual(fromCsv.flat.dataSync(), fromIdx.flat.dataSync());
    assert.deepEqual(fromCsv.labels, fromIdx.labels);
    const unlabeled = kaggleToMnistSet(test);
    assert.ok(unlabeled.labels.every((d) => d === -1));
    for (const s of [fromCsv, fromIdx, unlabeled]) disposeMnistSet(s);

    // The DataFrame view: UInt8 columns in Kaggle order.
    const frame = await readKaggleDataFrame(result.trainPath, { kind: "train" });
    assert.deepEqual(frame.columns, kaggleColumns("train"));
    assert.equal(frame.height, 300);
    assert.ok(frame.dtypes.every((t) => t.equals(pl.UInt8)), "columns should be UInt8");

    // Same options: files kept byte-identical; force or a damaged file: rewritten identically.
    const before = await Deno.readFile(result.trainPath);
    const again = await writeKaggleCsvs(dir, { trainRows: 300, testRows: 200, seed: 5 });
    assert.equal(again.generated, false);
    const forced = await writeKaggleCsvs(dir, {
      trainRows: 300,
      testRows: 200,
      seed: 5,
      force: true,
    });
    assert.equal(forced.generated, true);
    await Deno.writeTextFile(result.trainPath, "label\n", { append: true });
    const repaired = await writeKaggleCsvs(dir, { trainRows: 300, testRows: 200, seed: 5 });
    assert.equal(repaired.generated, true);
    assert.deepEqual(await Deno.readFile(result.trainPath), before);
    // Another seed: other images.
    await writeKaggleCsvs(dir, { trainRows: 300, testRows: 200, seed: 6 });
    assert.notDeepEqual(await Deno.readFile(result.trainPath), before);
    // No temp files are left behind.
    const names = Array.from(Deno.readDirSync(dir), (e) => e.name).sort();
    assert.deepEqual(names, ["test.csv", "train.csv"]);
  });
});

Deno.test("Kaggle CSV: full size 42,000 + 28,000 holds all 70,000 MNIST images once", async () => {
  await withTempDir(async (dir) => {
    const started = performance.now();
    const result = await writeKaggleCsvs(dir);
    const wrote = performance.now();
    const train = await readKaggleCsv(result.trainPath, { kind: "train", expectedRows: 42000 });
    const test = await readKaggleCsv(result.testPath, { kind: "test", expectedRows: 28000 });
    const read = performance.now();
    console.log(
      `generate ${((wrote - started) / 1000).toFixed(2)} s, read both ${
        ((read - wrote) / 1000).toFixed(2)
      } s`,
    );
    const mnist = await allMnist();
    const csvPixels = new Uint8Array(70000 * 784);
    csvPixels.set(train.pixels);
    csvPixels.set(test.pixels, train.pixels.length);
    assert.deepEqual(imageHashes(csvPixels, 70000), imageHashes(mnist.pixels, 70000));
    const order = shuffledIndices(70000, 0);
    const expected = countByDigit(Array.from(order.subarray(0, 42000), (i) => mnist.labels[i]));
    assert.deepEqual(countByDigit(train.labels!), expected);
    assert.equal(expected.reduce((a, b) => a + b, 0), 42000);
  });
});

const HEADER = kaggleColumns("train").join(",");
const row = (label: number | string, fill = "0") => [String(label), ...new Array(784).fill(fill)];

/** Asserts that reading `body` as `kind` fails with a message naming the file and each part. */
async function assertRejects(
  dir: string,
  name: string,
  body: string,
  kind: "train" | "test",
  parts: string[],
  expectedRows?: number,
): Promise<void> {
  const file = path.join(dir, `${name}.csv`);
  await Deno.writeTextFile(file, body);
  await assert.rejects(readKaggleCsv(file, { kind, expectedRows }), (e: Error) => {
    for (const part of [file, ...parts]) {
      assert.ok(e.message.includes(part), `${name}: ${JSON.stringify(e.message)} lacks ${part}`);
    }
    return true;
  });
}

Deno.test("Kaggle CSV: every malformed input names the file, row and column", async () => {
  await withTempDir(async (dir) => {
    const good = [row(3), row(7, "255")].map((r) => r.join(","));
    const csv = (header: string, rows: string[]) => [header, ...rows].join("\n") + "\n";
    const withCell = (r: number, c: number, value: string) => {
      const rows = [row(3), row(7), row(1)];
      rows[r - 1][c] = value;
      return csv(HEADER, rows.map((x) => x.join(",")));
    };

    // Sanity: the good body reads.
    await Deno.writeTextFile(path.join(dir, "good.csv"), csv(HEADER, good));
    const ok = await readKaggleCsv(path.join(dir, "good.csv"), { kind: "train" });
    assert.deepEqual(Array.from(ok.labels!), [3, 7]);
    assert.equal(ok.pixels[784], 255);
    // Windows line endings read the same.
    await Deno.writeTextFile(
      path.join(dir, "crlf.csv"),
      csv(HEADER, good).replaceAll("\n", "\r\n"),
    );
    const crlf = await readKaggleCsv(path.join(dir, "crlf.csv"), { kind: "train" });
    assert.deepEqual(crlf, ok);

    await assertRejects(dir, "empty", "", "train", ["empty file"]);
    await assertRejects(dir, "header_only", HEADER + "\n", "train", ["no data rows"]);
    const cols = kaggleColumns("train");
    await assertRejects(
      dir,
      "missing",
      csv(cols.slice(0, -1).join(","), [row(1).slice(0, -1).join(",")]),
      "train",
      ["bad header", 'missing columns "pixel783"'],
    );
    await assertRejects(dir, "extra", csv(HEADER + ",foo", [row(1).join(",") + ",0"]), "train", [
      'extra columns "foo"',
    ]);
    const swapped = [...cols];
    [swapped[1], swapped[2]] = [swapped[2], swapped[1]];
    await assertRejects(dir, "misordered", csv(swapped.join(","), good), "train", [
      'misordered columns: column 2 is "pixel1", expected "pixel0"',
    ]);
    await assertRejects(dir, "dup", csv(HEADER.replace("pixel5,", "pixel4,"), good), "train", [
      'duplicate columns "pixel4"',
      'missing columns "pixel5"',
    ]);
    await assertRejects(dir, "test_with_label", csv(HEADER, good), "test", [
      'extra columns "label" (test.csv has no label)',
    ]);
    await assertRejects(
      dir,
      "train_without_label",
      csv(kaggleColumns("test").join(","), [
        row(1).slice(1).join(","),
      ]),
      "train",
      ['missing columns "label"'],
    );

    await assertRejects(dir, "float", withCell(2, 6, "1.5"), "train", [
      'row 2 (line 3), column pixel5: "1.5" is not an integer',
    ]);
    await assertRejects(dir, "text", withCell(3, 1, "abc"), "train", [
      'row 3 (line 4), column pixel0: "abc" is not an integer',
    ]);
    await assertRejects(dir, "high", withCell(2, 784, "256"), "train", [
      "row 2 (line 3), column pixel783: 256 is outside 0..255",
    ]);
    await assertRejects(dir, "negative", withCell(1, 10, "-1"), "train", [
      "row 1 (line 2), column pixel9: -1 is outside 0..255",
    ]);
    await assertRejects(dir, "label", withCell(3, 0, "10"), "train", [
      "row 3 (line 4), column label: 10 is outside 0..9",
    ]);
    await assertRejects(dir, "empty_cell", withCell(2, 100, ""), "train", [
      "row 2 (line 3), column pixel99: empty cell",
    ]);
    await assertRejects(
      dir,
      "short",
      csv(HEADER, [good[0], good[1].replace(/,255$/, "")]),
      "train",
      [
        "ragged row: row 2 (line 3) has 784 fields, expected 785",
      ],
    );
    await assertRejects(dir, "long", csv(HEADER, [good[0] + ",0", good[1]]), "train", [
      "ragged row: row 1 (line 2) has 786 fields, expected 785",
    ]);
    await assertRejects(dir, "blank", csv(HEADER, [good[0], "", good[1]]), "train", [
      "row 2 (line 3) is blank",
    ]);
    await assertRejects(dir, "count", csv(HEADER, good), "train", ["2 data rows, expected 3"], 3);
    await assert.rejects(
      readKaggleCsv(path.join(dir, "nope.csv"), { kind: "train" }),
      /nope\.csv: cannot read/,
    );
  });
});
