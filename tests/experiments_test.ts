import assert from "node:assert/strict";
import * as path from "node:path";
import { applyOverrides, resolveProfile } from "../lib/experiments/config.ts";
import {
  executeRun,
  historyFromCsv,
  historyToCsv,
  listArtifacts,
  readFigure,
} from "../lib/experiments/runs.ts";
import { main } from "../lib/report/experiment_cli.ts";
import type { Experiment } from "../lib/experiments/types.ts";
import { firstOfEachDigit } from "../lib/experiments/common.ts";

const base = { epochs: 10, dims: [1, 2], lr: 0.001, useDropout: false, name: "x", tags: ["a"] };

Deno.test("applyOverrides keeps each key's type", () => {
  const c = applyOverrides(base, [
    "epochs=3",
    "dims=1,2,16",
    "useDropout=true",
    "name=y",
    "lr=5e-4",
    "tags=b,c",
  ]);
  assert.deepEqual(c, {
    epochs: 3,
    dims: [1, 2, 16],
    lr: 0.0005,
    useDropout: true,
    name: "y",
    tags: ["b", "c"],
  });
  assert.deepEqual(base.dims, [1, 2], "the base config is not mutated");
});

Deno.test("applyOverrides rejects unknown keys and bad values with the valid choices", () => {
  assert.throws(
    () => applyOverrides(base, ["epoch=3"]),
    /unknown config key "epoch"; valid keys: epochs, dims/,
  );
  assert.throws(() => applyOverrides(base, ["epochs=many"]), /epochs=many: expected a number/);
  assert.throws(() => applyOverrides(base, ["useDropout=maybe"]), /expected true or false/);
  assert.throws(() => applyOverrides(base, ["dims=1,x"]), /expected a number/);
  assert.throws(() => applyOverrides(base, ["epochs"]), /expected key=value/);
  assert.throws(
    () =>
      applyOverrides(base, { epochs: "3" as unknown as number, dims: 4 as unknown as number[] }),
    /expected a list of numbers/,
  );
});

Deno.test("resolveProfile validates and reads AE_PROFILE", () => {
  assert.equal(resolveProfile("smoke"), "smoke");
  assert.throws(
    () => resolveProfile("fast"),
    /unknown profile "fast"; valid profiles: smoke, quick, full/,
  );
  const old = Deno.env.get("AE_PROFILE");
  Deno.env.set("AE_PROFILE", "full");
  try {
    assert.equal(resolveProfile(), "full");
  } finally {
    if (old === undefined) Deno.env.delete("AE_PROFILE");
    else Deno.env.set("AE_PROFILE", old);
  }
});

Deno.test("history CSV round trip", () => {
  const h = [{ epoch: 1, trainLoss: 0.5, valLoss: 0.25, seconds: 1.5 }, {
    epoch: 2,
    trainLoss: 0.125,
    valLoss: null,
    seconds: 2,
  }];
  assert.deepEqual(historyFromCsv(historyToCsv(h)), h);
});

function fakeExperiment(
  calls: { n: number; sawCheckpoint?: boolean },
  failAt?: number,
): Experiment<{ value: number }> {
  return {
    id: "fake",
    title: "fake",
    description: "test double",
    profiles: { smoke: { value: 1 }, quick: { value: 2 }, full: { value: 3 } },
    async run(config, ctx) {
      calls.n++;
      await ctx.saveFigure("fig", { data: [{ y: [config.value] }] });
      await ctx.saveHistory("train", [{ epoch: 1, trainLoss: 1, valLoss: 2, seconds: 0 }]);
      // Stands in for a trainer checkpoint: written before the failure, found by a retry.
      const marker = `${await ctx.checkpointDir("m")}/epoch-1`;
      try {
        Deno.statSync(marker);
        calls.sawCheckpoint = true;
      } catch {
        Deno.writeTextFileSync(marker, "1");
      }
      if (failAt === calls.n) throw new Error("boom");
      return { metrics: { doubled: config.value * 2 }, claims: [] };
    },
  };
}

Deno.test("executeRun writes a complete run, reuses it, re-runs with force, and leaves nothing complete-looking on failure", async () => {
  const root = await Deno.makeTempDir();
  try {
    const calls = { n: 0 };
    const exp = fakeExperiment(calls);
    const r1 = await executeRun(exp, { value: 5 }, {
      profile: "smoke",
      runsRoot: root,
      quiet: true,
    });
    assert.equal(r1.metrics.doubled, 10);
    assert.equal(r1.reused, false);
    const saved = JSON.parse(await Deno.readTextFile(path.join(r1.dir, "config.json")));
    assert.equal(saved.backend, r1.backend, "the backend the run used is recorded");
    assert.ok(["tfjs-node-gpu", "tfjs-node", "webgpu", "wasm", "cpu"].includes(r1.backend));
    assert.deepEqual(await listArtifacts(r1, "figures"), ["fig"]);
    assert.deepEqual((await readFigure(r1, "fig")).data, [{ y: [5] }]);
    const r2 = await executeRun(exp, { value: 5 }, {
      profile: "smoke",
      runsRoot: root,
      quiet: true,
    });
    assert.equal(r2.reused, true);
    assert.equal(r2.runId, r1.runId);
    assert.equal(calls.n, 1, "a finished run with the same config is reused");
    const r3 = await executeRun(exp, { value: 6 }, {
      profile: "smoke",
      runsRoot: root,
      quiet: true,
    });
    assert.notEqual(r3.runId, r1.runId, "another config is another run");
    await executeRun(exp, { value: 5 }, {
      profile: "smoke",
      runsRoot: root,
      quiet: true,
      force: true,
    });
    assert.equal(calls.n, 3);

    const failing = fakeExperiment({ n: 0 }, 1);
    await assert.rejects(
      executeRun(failing, { value: 9 }, { profile: "smoke", runsRoot: root, quiet: true }),
      /boom/,
    );
    const names = [...Deno.readDirSync(path.join(root, "fake"))].map((e) => e.name);
    const complete = names.filter((n) => !n.startsWith("."));
    assert.equal(complete.length, 2, `only the two finished runs look complete: ${names}`);
    const partial = names.find((n) => n.endsWith(".partial"));
    assert.ok(partial, `the failed run stays as a partial directory: ${names}`);
    // What the failed attempt checkpointed is still there, and the next attempt continues in it.
    const marker = path.join(root, "fake", partial!, "checkpoints", "m", "epoch-1");
    assert.ok(Deno.statSync(marker).isFile);
    const retry = { n: 0, sawCheckpoint: false };
    const again = await executeRun(fakeExperiment(retry), { value: 9 }, {
      profile: "smoke",
      runsRoot: root,
      quiet: true,
    });
    assert.equal(retry.sawCheckpoint, true, "the retry found the interrupted run's checkpoint");
    assert.equal(again.metrics.doubled, 18);
    const after = [...Deno.readDirSync(path.join(root, "fake"))].map((e) => e.name);
    assert.ok(!after.some((n) => n.includes(".partial")), `no partial left: ${after}`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("CLI errors are one line naming the valid choices", async () => {
  const errors: string[] = [];
  const orig = console.error;
  console.error = (...a: unknown[]) => errors.push(a.join(" "));
  try {
    assert.equal(await main(["no-such"]), 1);
    assert.match(
      errors.at(-1)!,
      /unknown experiment "no-such"; valid experiments: dataset, cnn-tsne, latent-sweep/,
    );
    assert.equal(await main([]), 2);
    assert.match(errors.at(-1)!, /expected exactly one experiment/);
    assert.equal(await main(["dataset", "--bogus"]), 2);
    assert.match(errors.at(-1)!, /bogus/);
    // Keys and types are checked against the notebook's parameters cell, before any kernel.
    assert.equal(await main(["zero-one", "--profile", "smoke", "--set", "bogus=1"]), 1);
    assert.match(errors.at(-1)!, /unknown config key "bogus"; valid keys: trainLimit, /);
    assert.equal(await main(["zero-one", "--profile", "smoke", "--set", "epochs=many"]), 1);
    assert.match(errors.at(-1)!, /--set epochs=many: expected a number/);
    assert.equal(await main(["zero-one", "--profile", "nightly"]), 1);
    assert.match(errors.at(-1)!, /unknown profile "nightly"; valid profiles: smoke, quick, full/);
  } finally {
    console.error = orig;
  }
});

Deno.test("firstOfEachDigit picks per digit in digit order, skipping absent digits", () => {
  assert.deepEqual(firstOfEachDigit([3, 1, 3, 0, 1, 9]), [3, 1, 0, 5]);
  assert.deepEqual(firstOfEachDigit([1, 0, 1, 0, 0], 2), [1, 3, 0, 2]);
  assert.deepEqual(firstOfEachDigit([]), []);
});
