/**
 * The run store keeps runs trustworthy: the id follows the data actually read and the model as
 * built; one writer per run (a second process waits, then reuses); a run killed with SIGKILL at
 * any moment never looks complete and its restart ends with the metrics of an uninterrupted run;
 * an incomplete run directory is reported and re-run; an unwritable runs root is a clear error.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { loadRun, openRun, type RunRecord } from "../lib/experiments/runs.ts";
import { modelFingerprint } from "../lib/models/summary.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const JOB = path.join(ROOT, "tests", "fixtures", "run_job.ts");

interface JobResult {
  code: number;
  signal: string | null;
  stdout: string;
  record: RunRecord | null;
}

/** Runs the fixture job in its own process. */
async function job(
  runsRoot: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<JobResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", JOB, runsRoot, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const line = stdout.split("\n").find((l) => l.startsWith("RECORD "));
  return {
    code: out.code,
    signal: out.signal,
    stdout: stdout + new TextDecoder().decode(out.stderr),
    record: line ? JSON.parse(line.slice(7)) : null,
  };
}

async function entries(dir: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

function tinyModel(units: number, seed: number): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [8],
        units,
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
    ],
  });
}

Deno.test("modelFingerprint: same model rebuilt is equal; another width or seed differs", () => {
  const a = tinyModel(4, 1);
  const b = tinyModel(4, 1); // other auto-numbered layer names, same model
  const wider = tinyModel(5, 1);
  const reseeded = tinyModel(4, 2);
  assert.equal(modelFingerprint(a), modelFingerprint(b));
  assert.notEqual(modelFingerprint(a), modelFingerprint(wider));
  assert.notEqual(modelFingerprint(a), modelFingerprint(reseeded));
  tf.dispose([a, b, wider, reseeded].flatMap((m) => m.weights.map((w) => w.read())));
});

Deno.test("run id: changed data bytes or a changed model give a new run; the same reuse", async () => {
  const root = await Deno.makeTempDir({ prefix: "ae-store-" });
  try {
    const data = path.join(root, "images.idx");
    await Deno.writeFile(data, new Uint8Array(1000).fill(7));
    const config = { epochs: 1 };
    const open = (model: tf.LayersModel) =>
      openRun({
        experiment: "ids",
        profile: "smoke",
        config,
        data: [data],
        models: { m: model },
        runsRoot: path.join(root, "runs"),
        quiet: true,
      });
    const first = await open(tinyModel(4, 1));
    const record = await first.finish({ metrics: { x: 1 }, claims: [] });
    const again = await open(tinyModel(4, 1));
    assert.equal(again.reused, true, "same data, same model: reused");
    assert.equal(again.runId, record.runId);
    // 50 bytes changed in place, same size (what editing 50 images of an IDX file does).
    const bytes = await Deno.readFile(data);
    bytes.fill(9, 100, 150);
    await Deno.writeFile(data, bytes);
    await Deno.utime(data, new Date(), new Date(Date.now() + 5000));
    const changedData = await open(tinyModel(4, 1));
    assert.equal(changedData.reused, false, "changed data: a new run");
    assert.notEqual(changedData.runId, record.runId);
    changedData.release();
    const changedModel = await open(tinyModel(6, 1));
    assert.equal(changedModel.reused, false, "another width: a new run");
    assert.notEqual(changedModel.runId, changedData.runId);
    changedModel.release();
    const config2 = JSON.parse(
      await Deno.readTextFile(path.join(record.dir, "config.json")),
    );
    assert.equal(Object.keys(config2.data).length, 1, "config.json records the data digest");
    assert.match(Object.values(config2.data)[0] as string, /^[0-9a-f]{64}$/);
    assert.match(config2.models.m, /^[0-9a-f]{16}$/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("an incomplete run directory is reported in one line and run again", async () => {
  const root = await Deno.makeTempDir({ prefix: "ae-store-" });
  try {
    const first = await job(root);
    assert.equal(first.code, 0, first.stdout);
    const dir = first.record!.dir;
    // What two writers at once used to leave: metrics but no config.json, no checkpoints.
    await Deno.remove(path.join(dir, "config.json"));
    await Deno.remove(path.join(dir, "checkpoints"), { recursive: true });
    const second = await job(root);
    assert.equal(second.code, 0, second.stdout);
    assert.match(second.stdout, /is incomplete \(no config\.json\); removing it and running again/);
    assert.equal(second.record!.reused, false);
    assert.deepEqual(second.record!.metrics, first.record!.metrics);
    assert.ok((await entries(dir)).includes("config.json"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("two writers of the same run at once: one waits, both end cleanly, one complete run", async () => {
  const root = await Deno.makeTempDir({ prefix: "ae-store-" });
  try {
    const [a, b] = await Promise.all([job(root, ["64", "", "2"]), job(root, ["64", "", "2"])]);
    assert.equal(a.code, 0, a.stdout);
    assert.equal(b.code, 0, b.stdout);
    const waited = [a, b].filter((r) => /is being written by pid \d+/.test(r.stdout));
    assert.equal(waited.length, 1, "exactly one of them waited");
    const reused = [a, b].filter((r) => r.record!.reused);
    assert.equal(reused.length, 1, "the one that waited reused the other's run");
    const runs = (await entries(path.join(root, "fault-job"))).filter((n) => !n.startsWith("."));
    assert.deepEqual(runs, [a.record!.runId], "one run directory");
    const files = await entries(path.join(root, "fault-job", runs[0]));
    for (const f of ["config.json", "metrics.json", "checkpoints"]) assert.ok(files.includes(f));
    const next = await job(root);
    assert.equal(next.record!.reused, true, "the next run with the same settings reuses it");
    assert.deepEqual(next.record!.metrics, a.record!.metrics);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a writer killed with SIGKILL leaves no lock: the next one starts at once", async () => {
  const root = await Deno.makeTempDir({ prefix: "ae-store-" });
  try {
    const killed = await job(root, [], { AE_FAULT: "train-batch:3" });
    assert.equal(killed.signal, "SIGKILL", killed.stdout);
    const next = await job(root);
    assert.equal(next.code, 0, next.stdout);
    assert.doesNotMatch(next.stdout, /is being written by/);
    assert.match(next.stdout, /continuing the interrupted run/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

const FAULTS = [
  { point: "train-batch:9", when: "mid-epoch (epoch 2, batch 3)" },
  { point: "checkpoint-write:2", when: "while the second checkpoint is written" },
  { point: "checkpoint-swap:3", when: "between the renames that replace a checkpoint" },
  { point: "run-finish", when: "during the final rename" },
];

Deno.test("SIGKILL at any moment: nothing looks complete, the restart ends like an uninterrupted run", async () => {
  const reference = await Deno.makeTempDir({ prefix: "ae-store-ref-" });
  try {
    const clean = await job(reference);
    assert.equal(clean.code, 0, clean.stdout);
    for (const fault of FAULTS) {
      const root = await Deno.makeTempDir({ prefix: "ae-store-kill-" });
      try {
        const killed = await job(root, [], { AE_FAULT: fault.point });
        assert.equal(killed.signal, "SIGKILL", `${fault.when}: killed (${killed.stdout})`);
        const names = await entries(path.join(root, "fault-job"));
        assert.ok(
          names.every((n) => n.startsWith(".")),
          `${fault.when}: no run directory looks complete (${names.join(", ")})`,
        );
        const restarted = await job(root);
        assert.equal(restarted.code, 0, `${fault.when}: ${restarted.stdout}`);
        assert.match(restarted.stdout, /continuing the interrupted run/);
        assert.equal(restarted.record!.runId, clean.record!.runId);
        assert.deepEqual(
          restarted.record!.metrics,
          clean.record!.metrics,
          `${fault.when}: final metrics equal the uninterrupted run's`,
        );
      } finally {
        await Deno.remove(root, { recursive: true });
      }
    }
  } finally {
    await Deno.remove(reference, { recursive: true });
  }
});

Deno.test("a run interrupted and continued counts the seconds of both parts", async () => {
  const root = await Deno.makeTempDir({ prefix: "ae-store-parts-" });
  try {
    // The first part holds 4 s after opening the run, checkpoints epoch 1, and is killed in epoch 2.
    const killed = await job(root, ["64", "", "4"], { AE_FAULT: "train-batch:9" });
    assert.equal(killed.signal, "SIGKILL", killed.stdout);
    const restarted = await job(root);
    assert.equal(restarted.code, 0, restarted.stdout);
    const record = restarted.record!;
    assert.equal(record.parts, 2);
    assert.ok(record.seconds >= 4, `both parts counted: ${record.seconds} s`);
    assert.match(restarted.stdout, /in 2 parts: it was interrupted and continued/);
    const clean = await job(await Deno.makeTempDir({ dir: root }));
    assert.equal(clean.record!.parts, 1);
    assert.ok(clean.record!.seconds < record.seconds, "the uninterrupted run counts one part");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("an outputs directory that cannot be written is a clear error, no run left", async () => {
  const root = await Deno.makeTempDir({ prefix: "ae-store-ro-" });
  try {
    await Deno.chmod(root, 0o555);
    const isRoot = Deno.uid() === 0; // root ignores permission bits: use a path under a file
    const runsRoot = isRoot ? path.join(root, "not-a-dir", "runs") : root;
    if (isRoot) {
      await Deno.chmod(root, 0o755);
      await Deno.writeTextFile(path.join(root, "not-a-dir"), "");
    }
    await assert.rejects(
      () =>
        openRun({
          experiment: "ro",
          profile: "smoke",
          config: {},
          runsRoot,
          quiet: true,
        }),
      /ro: cannot (create|write) the run directory/,
    );
  } finally {
    await Deno.chmod(root, 0o755);
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a run records the OMP_NUM_THREADS it trained with, outside its id", async () => {
  const root = await Deno.makeTempDir({ prefix: "ae-store-" });
  const saved = Deno.env.get("OMP_NUM_THREADS");
  try {
    const open = () =>
      openRun({
        experiment: "threads",
        profile: "smoke",
        config: { epochs: 1 },
        data: [],
        models: { m: tinyModel(4, 1) },
        runsRoot: path.join(root, "runs"),
        quiet: true,
      });
    Deno.env.set("OMP_NUM_THREADS", "1");
    const record = await (await open()).finish({ metrics: {}, claims: [] });
    assert.equal(record.ompNumThreads, "1");
    assert.equal((await loadRun(record.dir)).ompNumThreads, "1");
    // Another thread count is the same run (deno task exp reuses the report's), still saying "1".
    Deno.env.delete("OMP_NUM_THREADS");
    const again = await open();
    assert.equal(again.reused, true);
    assert.equal(again.runId, record.runId);
    assert.equal((await loadRun(record.dir)).ompNumThreads, "1");
    // Unset: null (TensorFlow's choice, all cores); a record written before the field: null.
    const other = await openRun({
      experiment: "threads-unset",
      profile: "smoke",
      config: {},
      data: [],
      models: {},
      runsRoot: path.join(root, "runs"),
      quiet: true,
    });
    const unset = await other.finish({ metrics: {}, claims: [] });
    assert.equal(unset.ompNumThreads, null);
    const configFile = path.join(unset.dir, "config.json");
    const config = JSON.parse(await Deno.readTextFile(configFile));
    delete config.ompNumThreads;
    await Deno.writeTextFile(configFile, JSON.stringify(config));
    assert.equal((await loadRun(unset.dir)).ompNumThreads, null);
  } finally {
    if (saved === undefined) Deno.env.delete("OMP_NUM_THREADS");
    else Deno.env.set("OMP_NUM_THREADS", saved);
    await Deno.remove(root, { recursive: true });
  }
});
