/**
 * The claim verdicts of E6 `upsampling-vs-transpose` and E7 `mlp-blocks` on hand-made outcomes
 * (the notebooks themselves run in tests/notebooks_test.ts).
 */
import assert from "node:assert/strict";
import {
  type DecoderOutcome,
  perDigitGap,
  upsamplingClaims,
} from "../lib/claims/upsampling_vs_transpose.ts";
import { firstOfEachDigit } from "../lib/experiments/common.ts";
import { mlpClaims, type MlpOutcome, writeupLayerSizes } from "../lib/claims/mlp_blocks.ts";

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

Deno.test("E7 claims: symmetric models pass, BatchNorm vs Dropout follows the MSEs", () => {
  const model = (
    regulariser: "batchnorm" | "dropout",
    valMse: number,
    layerSizes: number[],
  ): MlpOutcome => ({
    regulariser,
    name: `mlp-${regulariser}-2`,
    layerSizes,
    symmetric: layerSizes.join() === [...layerSizes].reverse().join(),
    params: 1,
    history: [],
    bestEpoch: 1,
    valMse,
    testMse: valMse,
    knnAccuracy: 0.6,
    testCodes: new Float32Array(0),
    recon: new Float32Array(0),
    grid: null,
    seconds: 1,
  });
  const config = { nLayers: 2, btlSize: 2, trainRatio: 0.8, dropoutP: 0.3, knnK: 5 };
  const split = { train: 48000, validation: 12000, total: 60000 };
  const pca = { testMse: 0.056, knnAccuracy: 0.42 };
  const mirror = [784, 393, 2, 393, 784];
  const good = mlpClaims(
    config,
    [model("batchnorm", 0.04, mirror), model("dropout", 0.05, mirror)],
    pca,
    split,
  );
  assert.deepEqual(good.map((r) => r.verdict), ["pass", "pass", "pass", "pass", "pass"]);
  const bad = mlpClaims(
    config,
    [model("batchnorm", 0.06, [784, 393, 2, 784]), model("dropout", 0.05, mirror)],
    { testMse: 0.05, knnAccuracy: 0.7 },
    { train: 400, validation: 100, total: 500 },
  );
  assert.deepEqual(bad.map((r) => r.verdict), ["differs", "n/a", "differs", "differs", "differs"]);
});
