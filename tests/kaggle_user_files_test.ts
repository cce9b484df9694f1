/**
 * A user's Kaggle directory is input, never output: a valid subset is read as it is, and each
 * malformed file gets a one-line error naming it and its line while its bytes and mtime stay as
 * they were; a missing directory is not created. The CLI exits non-zero on such a file.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { kaggleColumns, kaggleCsvFiles, writeKaggleCsvs } from "../lib/data/kaggle.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

interface Snapshot {
  bytes: Uint8Array;
  mtime: number | undefined;
}

async function snapshot(dir: string): Promise<Map<string, Snapshot>> {
  const out = new Map<string, Snapshot>();
  for await (const e of Deno.readDir(dir)) {
    const file = path.join(dir, e.name);
    out.set(e.name, {
      bytes: await Deno.readFile(file),
      mtime: (await Deno.stat(file)).mtime?.getTime(),
    });
  }
  return out;
}

async function assertUnchanged(dir: string, before: Map<string, Snapshot>): Promise<void> {
  const after = await snapshot(dir);
  assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort(), "no file added or removed");
  for (const [name, snap] of before) {
    const now = after.get(name)!;
    assert.equal(now.mtime, snap.mtime, `${name}: mtime unchanged`);
    assert.ok(
      now.bytes.length === snap.bytes.length && now.bytes.every((b, i) => b === snap.bytes[i]),
      `${name}: bytes unchanged`,
    );
  }
}

/** A user's directory holding a valid 3,000-row train.csv and 500-row test.csv subset. */
async function validUserDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "ae-kaggle-user-" });
  await writeKaggleCsvs(dir, { trainRows: 3000, testRows: 500, seed: 7 });
  return dir;
}

const pixels = (fill: string) => new Array(784).fill(fill).join(",");
const TRAIN_HEADER = kaggleColumns("train").join(",");

const MALFORMED: { name: string; train: string; line: RegExp }[] = [
  {
    name: "wrong header",
    train: `label,${kaggleColumns("test").slice(1).join(",")},pixelX\n1,${pixels("0")}\n`,
    line: /bad header/,
  },
  { name: "short row", train: `${TRAIN_HEADER}\n1,${pixels("0")}\n2,0,0,0\n`, line: /line 3/ },
  {
    name: "non-numeric cell",
    train: `${TRAIN_HEADER}\n1,${pixels("0")}\n3,x${pixels("0").slice(1)}\n`,
    line: /line 3/,
  },
  {
    name: "pixel of 999",
    train: `${TRAIN_HEADER}\n4,999${pixels("0").slice(1)}\n`,
    line: /line 2/,
  },
  { name: "label 12", train: `${TRAIN_HEADER}\n12,${pixels("0")}\n`, line: /line 2/ },
  { name: "header only", train: `${TRAIN_HEADER}\n`, line: /no data rows/ },
  { name: "empty file", train: ``, line: /empty file/ },
];

Deno.test("a valid subset in a user's directory is read as it is, never written", async () => {
  const dir = await validUserDir();
  try {
    const before = await snapshot(dir);
    const csv = await kaggleCsvFiles(dir, { seed: 0 }); // another seed than the files were made with
    assert.equal(csv.userFiles, true);
    assert.equal(csv.generated, false);
    assert.deepEqual(csv.rows, { train: 3000, test: 500 });
    await assertUnchanged(dir, before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (const bad of MALFORMED) {
  Deno.test(`a user's train.csv with ${bad.name}: one-line error naming file and line, file kept`, async () => {
    const dir = await validUserDir();
    try {
      const train = path.join(dir, "train.csv");
      await Deno.writeTextFile(train, bad.train);
      const before = await snapshot(dir);
      const error = await kaggleCsvFiles(dir).then(() => null, (e: Error) => e);
      assert.ok(error, `${bad.name}: an error`);
      assert.ok(!error.message.includes("\n"), `one line: ${error.message}`);
      assert.ok(error.message.includes(train), `names the file: ${error.message}`);
      assert.match(error.message, bad.line);
      await assertUnchanged(dir, before);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("a missing user directory is an error and is not created", async () => {
  const parent = await Deno.makeTempDir({ prefix: "ae-kaggle-missing-" });
  try {
    const dir = path.join(parent, "kaggle");
    await assert.rejects(() => kaggleCsvFiles(dir), /no such directory/);
    assert.equal(await Deno.stat(dir).catch(() => null), null, "not created");
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test({
  name: "deno task exp kaggle-csv on a malformed user file: exit 1, one error line, file kept",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await validUserDir();
    const runs = await Deno.makeTempDir({ prefix: "ae-kaggle-runs-" });
    try {
      const train = path.join(dir, "train.csv");
      await Deno.writeTextFile(train, MALFORMED[3].train);
      const before = await snapshot(dir);
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          path.join(ROOT, "lib/report/experiment_cli.ts"),
          "kaggle-csv",
          "--profile",
          "smoke",
          "--set",
          `kaggleDir=${dir}`,
        ],
        env: { AE_RUNS_DIR: runs, AE_REPORTS_DIR: path.join(runs, "reports") },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 1, stderr);
      const errors = stderr.split("\n").filter((l) => l.startsWith("error:"));
      assert.equal(errors.length, 1, stderr);
      assert.ok(errors[0].includes(train) && /line 2/.test(errors[0]), errors[0]);
      await assertUnchanged(dir, before);
    } finally {
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(runs, { recursive: true });
    }
  },
});
