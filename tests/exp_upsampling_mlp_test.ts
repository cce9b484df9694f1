/**
 * E6 `upsampling-vs-transpose` and E7 `mlp-blocks`: claim verdicts on hand-made outcomes, the
 * smoke runs through the real runner (artifacts the notebooks show, finite metrics, one row per
 * claim) and the configuration checks.
 */
import assert from "node:assert/strict";
import { resolveConfig, runExperiment } from "../lib/experiments/registry.ts";
import { listArtifacts, readFigure, readHistory, readTable } from "../lib/experiments/runs.ts";
import {
  type DecoderOutcome,
  perDigitGap,
  upsamplingClaims,
} from "../lib/experiments/upsampling_vs_transpose.ts";
import { firstOfEachDigit } from "../lib/experiments/common.ts";
import { writeupLayerSizes } from "../lib/experiments/mlp_blocks.ts";

function assertFiniteDeep(value: unknown, where: string): void {
  if (typeof value === "number") {
    assert.ok(Number.isFinite(value), `${where} is not finite: ${value}`);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => assertFiniteDeep(v, `${where}[${i}]`));
  } else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) assertFiniteDeep(v, `${where}.${k}`);
  }
}

/** A hand-made outcome: only the fields the claims read matter. */
function outcome(
  d: number,
  decoder: DecoderOutcome["decoder"],
  bestValMse: number,
  checkerboard: number[],
  perDigit: number[],
): DecoderOutcome {
  return {
    d,
    decoder,
    history: [],
    bestEpoch: checkerboard.length - 1,
    bestValMse,
    testMse: perDigit.reduce((s, v) => s + v, 0) / 10,
    testMsePerDigit: perDigit,
    checkerboard,
    snapshots: new Map(),
    bestSnapshot: new Float32Array(0),
    seconds: 1,
  };
}

const flat = (v: number) => new Array<number>(10).fill(v);

Deno.test("E6 claims: verdicts follow the numbers (the write-up's story passes)", () => {
  // d=2: transpose better by 0.01 overall, most on 3 and 6; d=16: better by 0.001.
  const t2 = flat(0.05);
  t2[3] = 0.03;
  t2[6] = 0.035;
  const outcomes = [
    outcome(2, "transpose", 0.050, [0.3, 0.2, 0.01], t2),
    outcome(2, "nearest", 0.060, [0.01, 0.002, 0.001], flat(0.06)),
    outcome(16, "transpose", 0.0212, [0.3, 0.1, 0.02], flat(0.020)),
    outcome(16, "nearest", 0.0213, [0.02, 0.002, 0.001], flat(0.021)),
  ];
  const rows = upsamplingClaims(outcomes, 0.003);
  assert.equal(rows.length, 5);
  assert.deepEqual(rows.map((r) => r.verdict), ["pass", "pass", "pass", "pass", "pass"]);
  const gap2 = perDigitGap(outcomes, 2)!;
  assert.ok(Math.abs(gap2[3] - 0.03) < 1e-12 && Math.abs(gap2[0] - 0.01) < 1e-12);
});

Deno.test("E6 claims: the opposite numbers give 'differs', missing settings give 'n/a'", () => {
  const outcomes = [
    outcome(2, "transpose", 0.07, [0.001, 0.002, 0.003], flat(0.07)),
    outcome(2, "bilinear", 0.06, [0.01, 0.002, 0.001], flat(0.06)),
    outcome(16, "transpose", 0.03, [0.3, 0.1, 0.02], flat(0.03)),
    outcome(16, "bilinear", 0.02, [0.02, 0.002, 0.001], flat(0.02)),
  ];
  const rows = upsamplingClaims(outcomes, 0.003);
  // Transpose is not more checkerboarded at d=2 after epoch 1, and its score rises at d=2.
  assert.deepEqual(rows.map((r) => r.verdict), [
    "differs",
    "differs",
    "differs",
    "differs",
    "differs",
  ]);
  const only2 = upsamplingClaims(outcomes.slice(0, 2), 0.003);
  assert.deepEqual(only2.map((r) => r.verdict), ["differs", "differs", "n/a", "n/a", "differs"]);
  const onlyTranspose = upsamplingClaims([outcomes[0]], 0.003);
  assert.deepEqual(onlyTranspose.map((r) => r.verdict), ["n/a", "differs", "n/a", "n/a", "n/a"]);
  assert.equal(perDigitGap([outcomes[0]], 2), null);
});

Deno.test("firstOfEachDigit and writeupLayerSizes", () => {
  assert.deepEqual(firstOfEachDigit([7, 2, 1, 0, 4, 1, 4, 9, 5, 9, 0, 6]), [
    3,
    2,
    1,
    4,
    8,
    11,
    0,
    7,
  ]);
  // The write-up's loops: encoder skips hidden[0], decoder uses hidden[1], hidden[0].
  assert.deepEqual(
    writeupLayerSizes([628, 471, 315, 158], 2),
    [784, 471, 315, 158, 2, 471, 628, 784],
  );
});

Deno.test({
  name: "E6 smoke run: figures, snapshots, histories, finite metrics, five claim rows",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const runsRoot = await Deno.makeTempDir({ prefix: "ae-e6-" });
    try {
      const run = await runExperiment("upsampling-vs-transpose", {
        profile: "smoke",
        runsRoot,
        quiet: true,
      });
      assert.equal(run.profile, "smoke");
      const figures = await listArtifacts(run, "figures");
      for (const name of ["loss-curves", "checkerboard", "per-digit-mse-d2", "per-digit-gap"]) {
        assert.ok(figures.includes(name), `figure ${name} in [${figures}]`);
      }
      const checker = await readFigure(run, "checkerboard");
      // Two decoders plus the originals' reference line; epochs 0..2.
      assert.equal(checker.data.length, 3);
      assert.deepEqual((checker.data[0] as { x: number[] }).x, [0, 1, 2]);
      assert.deepEqual(await listArtifacts(run, "images"), ["snapshots-d2"]);
      for (const name of ["transpose-d2", "nearest-d2"]) {
        const history = await readHistory(run, name);
        assert.equal(history.length, 2);
        assertFiniteDeep(history.map((h) => [h.trainLoss, h.valLoss]), name);
      }
      const final = await readTable<{ bestValMse: number }[]>(run, "final");
      assert.equal(final.length, 2);
      assertFiniteDeep(run.metrics, "metrics");
      assert.equal(run.claims.length, 5);
      for (const c of run.claims) assert.ok(["pass", "differs", "n/a"].includes(c.verdict));
      // Only d = 2 ran: the d = 16 claims cannot be judged.
      assert.equal(run.claims[2].verdict, "n/a");
      assert.equal(run.claims[3].verdict, "n/a");
    } finally {
      await Deno.remove(runsRoot, { recursive: true });
    }
  },
});

Deno.test({
  name: "E7 smoke run: codes, reconstructions, latent grids, checkpoint, five claim rows",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const runsRoot = await Deno.makeTempDir({ prefix: "ae-e7-" });
    try {
      const run = await runExperiment("mlp-blocks", { profile: "smoke", runsRoot, quiet: true });
      const figures = await listArtifacts(run, "figures");
      assert.deepEqual(figures, ["codes-batchnorm", "codes-dropout", "codes-pca", "loss-curves"]);
      assert.deepEqual(await listArtifacts(run, "images"), [
        "latent-grid-batchnorm",
        "latent-grid-dropout",
        "reconstructions",
      ]);
      assert.deepEqual(await listArtifacts(run, "histories"), ["mlp-bn-5", "mlp-dropout-5"]);
      // The write-up's model_fn names the main model's checkpoint.
      const stat = await Deno.stat(`${run.dir}/checkpoints/model.pth/model.json`);
      assert.ok(stat.isFile);
      const summary = await readTable<{ model: string; layers: string }[]>(run, "summary");
      assert.equal(summary[0].layers, "784-628-471-315-158-2-158-315-471-628-784");
      assert.equal(run.metrics.trainImages, 400, "trainRatio 0.8 of 500 images, as int(500*0.8)");
      assertFiniteDeep(run.metrics, "metrics");
      assert.equal(run.claims.length, 5);
      assert.equal(run.claims[0].verdict, "pass", "our model is symmetric");
      assert.equal(run.claims[1].verdict, "n/a", "smoke uses a subset, not 48,000/12,000");
      for (const c of run.claims) assert.ok(["pass", "differs", "n/a"].includes(c.verdict));
    } finally {
      await Deno.remove(runsRoot, { recursive: true });
    }
  },
});

Deno.test("validate: bad configurations are refused with clear errors", async () => {
  const e6 = (overrides: Record<string, unknown>) =>
    resolveConfig("upsampling-vs-transpose", {
      profile: "smoke",
      overrides: overrides as Record<string, string>,
    });
  await assert.rejects(() => e6({ decoders: "transpose,pixelshuffle" }), /decoders must be among/);
  await assert.rejects(() => e6({ decoders: "nearest,nearest" }), /must not repeat/);
  await assert.rejects(() => e6({ dims: "0,2" }), /dims must hold integers in 1..256/);
  await assert.rejects(() => e6({ snapshotEpochs: "3" }), /snapshotEpochs must hold integers/);
  await assert.rejects(() => e6({ probeImages: 500 }), /probeImages \(500\) must not exceed/);
  await assert.rejects(() => e6({ validationFraction: 1 }), /validationFraction/);
  await assert.rejects(() => e6({ nope: 1 }), /unknown config key "nope"/);

  const e7 = (overrides: Record<string, unknown>) =>
    resolveConfig("mlp-blocks", {
      profile: "smoke",
      overrides: overrides as Record<string, string>,
    });
  await assert.rejects(() => e7({ modelFn: "../escape" }), /modelFn must be a file name/);
  await assert.rejects(() => e7({ trainRatio: 1 }), /trainRatio must be in \(0, 1\)/);
  await assert.rejects(() => e7({ dropoutP: 1 }), /dropoutP must be in \[0, 1\)/);
  await assert.rejects(() => e7({ nLayers: 50, btlSize: 750 }), /non-decreasing sizes/);
  await assert.rejects(() => e7({ verbose: 3 }), /verbose must be an integer in 0..2/);
  await assert.rejects(() => e7({ trainLimit: 20, knnK: 50 }), /need > knnK train/);
  const ok = await e7({ nEpochs: "3", useDropout: "true" });
  assert.equal(ok.config.nEpochs, 3);
  assert.equal(ok.config.useDropout, true);
});
