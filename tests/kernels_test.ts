/**
 * The wasm training kernels of lib/kernels/ agree with the cpu backend (the reference
 * implementation) over a grid of strides, paddings, odd sizes, channel counts and batch sizes.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { setupBackend } from "../lib/backend.ts";
import { probeTrainingOps, seededUniform } from "../lib/kernels/probe.ts";
import { planFilterGrad } from "../lib/kernels/conv2d_backprop_filter.ts";
import { planSubPixelAxis } from "../lib/kernels/conv2d_backprop_input.ts";
import { setKernelVariant } from "../lib/kernels/variant.ts";
import { sliceConfig, splitVConfig } from "../lib/kernels/slice.ts";

type Pad = "same" | "valid" | [[0, 0], [number, number], [number, number], [0, 0]];

interface ConvCase {
  batch: number;
  size: number;
  inC: number;
  outC: number;
  stride: number;
  pad: Pad;
}

const EXPLICIT: Pad = [[0, 0], [1, 2], [2, 0], [0, 0]];

/** The grid: every stride x padding x size, with channel pairs and batch sizes rotating. */
function convGrid(): ConvCase[] {
  const channelPairs: [number, number][] = [[1, 24], [3, 96], [24, 3], [96, 1], [24, 48], [3, 3]];
  const cases: ConvCase[] = [];
  let k = 0;
  for (const stride of [1, 2]) {
    for (const pad of ["same", "valid", EXPLICIT] as Pad[]) {
      for (const size of [7, 9, 28]) {
        const [inC, outC] = channelPairs[k % channelPairs.length];
        const batch = k % 2 === 0 ? 1 : 3;
        k++;
        // Keep the 28x28 cases with 96 channels light for the pure-JS reference.
        cases.push({
          batch: size === 28 && inC * outC > 100 ? 1 : batch,
          size,
          inC,
          outC,
          stride,
          pad,
        });
      }
    }
  }
  return cases;
}

function describe(c: ConvCase): string {
  const pad = typeof c.pad === "string" ? c.pad : JSON.stringify(c.pad);
  return `b${c.batch} ${c.size}x${c.size} ${c.inC}->${c.outC} s${c.stride} ${pad}`;
}

/** Runs `fn` on a backend and returns its output as a plain array (and its shape). */
async function on(
  backend: string,
  fn: () => tf.Tensor,
): Promise<{ values: Float32Array; shape: number[] }> {
  await tf.setBackend(backend);
  const out = tf.tidy(fn);
  const values = Float32Array.from(out.dataSync() as Float32Array);
  const shape = out.shape;
  out.dispose();
  return { values, shape };
}

/** Asserts max |got - want| <= tol * max(1, max |want|). */
function assertClose(
  got: { values: Float32Array; shape: number[] },
  want: { values: Float32Array; shape: number[] },
  what: string,
  tol = 1e-4,
): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  let scale = 1;
  let diff = 0;
  for (let i = 0; i < want.values.length; i++) {
    scale = Math.max(scale, Math.abs(want.values[i]));
    diff = Math.max(diff, Math.abs(got.values[i] - want.values[i]));
  }
  assert.ok(Number.isFinite(diff), `${what}: non-finite values`);
  assert.ok(diff <= tol * scale, `${what}: max abs error ${diff} > ${tol} x scale ${scale}`);
}

/** Output [height, width] of the forward conv (explicit pads make them differ). */
function outHW(c: ConvCase): [number, number] {
  const info = tf.backend_util.computeConv2DInfo(
    [c.batch, c.size, c.size, c.inC],
    [3, 3, c.inC, c.outC],
    c.stride,
    1,
    c.pad,
  );
  return [info.outHeight, info.outWidth];
}

await setupBackend("wasm", { quiet: true });

Deno.test("Conv2DBackpropFilter on wasm equals cpu over the grid", async () => {
  for (const [i, c] of convGrid().entries()) {
    const [oh, ow] = outHW(c);
    const x = seededUniform(c.batch * c.size * c.size * c.inC, 10 + i);
    const dy = seededUniform(c.batch * oh * ow * c.outC, 500 + i);
    const run = () =>
      tf.engine().runKernel("Conv2DBackpropFilter", {
        x: tf.tensor4d(x, [c.batch, c.size, c.size, c.inC]),
        dy: tf.tensor4d(dy, [c.batch, oh, ow, c.outC]),
      }, {
        strides: [c.stride, c.stride],
        pad: c.pad,
        dataFormat: "NHWC",
        filterShape: [3, 3, c.inC, c.outC],
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
    const want = await on("cpu", run);
    const got = await on("wasm", run);
    assertClose(got, want, `dW ${describe(c)}`);
  }
});

Deno.test("Conv2DBackpropInput on wasm equals cpu over the grid", async () => {
  for (const [i, c] of convGrid().entries()) {
    const [oh, ow] = outHW(c);
    const w = seededUniform(9 * c.inC * c.outC, 20 + i);
    const dy = seededUniform(c.batch * oh * ow * c.outC, 700 + i);
    const run = () =>
      tf.engine().runKernel("Conv2DBackpropInput", {
        dy: tf.tensor4d(dy, [c.batch, oh, ow, c.outC]),
        filter: tf.tensor4d(w, [3, 3, c.inC, c.outC]),
      }, {
        strides: [c.stride, c.stride],
        pad: c.pad,
        dataFormat: "NHWC",
        inputShape: [c.batch, c.size, c.size, c.inC],
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
    const want = await on("cpu", run);
    const got = await on("wasm", run);
    assertClose(got, want, `dX ${describe(c)}`);
  }
});

Deno.test("conv2dTranspose (k3 s2 same, the write-up decoder) and its gradients on wasm equal cpu", async () => {
  for (const [batch, inHW, inC, outC] of [[4, 3, 96, 48], [2, 6, 48, 24], [1, 12, 24, 12]]) {
    const x = seededUniform(batch * inHW * inHW * inC, inHW);
    const w = seededUniform(9 * outC * inC, 3 * inHW);
    const weights = seededUniform(batch * 4 * inHW * inHW * outC, 5 * inHW);
    const forwardAndGrads = () => {
      const xs = tf.tensor4d(x, [batch, inHW, inHW, inC]);
      const ws = tf.tensor4d(w, [3, 3, outC, inC]);
      const f = (a: tf.Tensor, b: tf.Tensor) =>
        tf.conv2dTranspose(
          a as tf.Tensor4D,
          b as tf.Tensor4D,
          [batch, 2 * inHW, 2 * inHW, outC],
          2,
          "same",
        );
      const y = f(xs, ws);
      const wy = tf.tensor4d(weights, y.shape as [number, number, number, number]);
      const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), wy)))([
        xs,
        ws,
      ]);
      return tf.concat([y.flatten(), gx.flatten(), gw.flatten()]);
    };
    const want = await on("cpu", forwardAndGrads);
    const got = await on("wasm", forwardAndGrads);
    assertClose(got, want, `conv2dTranspose b${batch} ${inHW}x${inHW} ${inC}->${outC}`);
  }
});

Deno.test("MaxPoolGrad on wasm equals cpu, including windows whose maximum is negative", async () => {
  for (
    const [batch, size, channels, pad] of [[1, 7, 1, "valid"], [3, 9, 24, "same"], [
      2,
      28,
      3,
      "valid",
    ]] as const
  ) {
    const x = seededUniform(batch * size * size * channels, size);
    const run = () => {
      const xs = tf.tensor4d(x, [batch, size, size, channels]);
      return tf.grad((a: tf.Tensor) =>
        tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, 2, 2, pad), 1.5))
      )(xs);
    };
    const want = await on("cpu", run);
    const got = await on("wasm", run);
    assertClose(got, want, `maxPool grad b${batch} ${size} c${channels} ${pad}`, 1e-6);
  }
});

Deno.test("ResizeNearestNeighborGrad is the exact adjoint on wasm and cpu (batch > 1, halfPixelCenters)", async () => {
  // For a linear map R, grad of sum(R(x) * dy) w.r.t. x is R^T(dy), so sum(R(x) * dy) equals
  // sum(x * R^T(dy)). tfjs 4.22.0's own cpu kernel fails this for batch > 1.
  const cases = [[3, 5, 6, 10, 12, false, false], [2, 5, 6, 7, 13, false, true], [
    2,
    5,
    6,
    7,
    13,
    true,
    false,
  ], [
    2,
    7,
    7,
    14,
    14,
    false,
    false,
  ]] as const;
  for (const backend of ["cpu", "wasm"]) {
    await tf.setBackend(backend);
    for (const [batch, h, w, oh, ow, align, half] of cases) {
      const [lhs, rhs] = tf.tidy(() => {
        const x = tf.tensor4d(seededUniform(batch * h * w * 2, 1), [batch, h, w, 2]);
        const dy = tf.tensor4d(seededUniform(batch * oh * ow * 2, 2), [batch, oh, ow, 2]);
        const f = (a: tf.Tensor) =>
          tf.sum(
            tf.mul(tf.image.resizeNearestNeighbor(a as tf.Tensor4D, [oh, ow], align, half), dy),
          );
        const g = tf.grad(f)(x);
        return [f(x).dataSync()[0], tf.sum(tf.mul(x, g)).dataSync()[0]];
      });
      assert.ok(
        Math.abs(lhs - rhs) <= 1e-4 * Math.max(1, Math.abs(lhs)),
        `${backend} b${batch} ${h}x${w}->${oh}x${ow} align=${align} half=${half}: ${lhs} vs ${rhs}`,
      );
    }
  }
});

Deno.test("every zoo training op runs forward and backward on wasm and matches cpu", async () => {
  const results = await probeTrainingOps("wasm");
  for (const r of results) {
    assert.equal(r.missingKernel, null, `${r.name}: kernel ${r.missingKernel} missing on wasm`);
    assert.equal(r.error, null, `${r.name}: ${r.error}`);
    assert.ok(r.relError !== null && r.relError <= 1e-4, `${r.name}: rel. error ${r.relError}`);
  }
  assert.ok(results.length >= 20);
});

Deno.test("planFilterGrad crops rows a strided valid conv never reads and pads for 'same'", () => {
  // 8 rows, k3 s2 valid -> 3 outputs read rows 0..6; row 7 is cropped.
  const valid = tf.backend_util.computeConv2DInfo([1, 8, 8, 1], [3, 3, 1, 1], 2, 1, "valid");
  assert.deepEqual(planFilterGrad(valid), { keepHeight: 7, keepWidth: 7, pads: [0, 0, 0, 0] });
  // 8 rows, k3 s2 same -> 4 outputs, tfjs pads 0 on top and 1 at the bottom.
  const same = tf.backend_util.computeConv2DInfo([1, 8, 8, 1], [3, 3, 1, 1], 2, 1, "same");
  assert.deepEqual(planFilterGrad(same), { keepHeight: 8, keepWidth: 8, pads: [0, 1, 0, 1] });
});

Deno.test("no tensors leak from the wasm training kernels", async () => {
  await tf.setBackend("wasm");
  // numDataIds counts every buffer on the wasm heap, including a kernel's intermediates.
  const before = tf.engine().backend.numDataIds();
  tf.tidy(() => {
    const x = tf.tensor4d(seededUniform(2 * 9 * 9 * 3, 1), [2, 9, 9, 3]);
    const w = tf.tensor4d(seededUniform(9 * 3 * 4, 2), [3, 3, 3, 4]);
    const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.maxPool(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, "same"), 2, 2, "same"))
    )([x, w]);
    return [gx, gw];
  }).forEach((t) => t.dispose());
  assert.equal(tf.engine().backend.numDataIds(), before);
});

Deno.test("BatchMatMul with transposed operands on wasm equals cpu (rank 2 and batched rank 3)", async () => {
  const cases: [number[], number[], boolean, boolean][] = [
    [[64, 37], [64, 29], true, false],
    [[29, 37], [53, 37], false, true],
    [[37, 29], [53, 37], true, true],
    [[3, 11, 7], [3, 13, 11], true, true],
    [[3, 7, 11], [1, 13, 11], false, true],
  ];
  for (const [i, [sa, sb, ta, tb]] of cases.entries()) {
    const av = seededUniform(sa.reduce((p, q) => p * q, 1), 40 + i);
    const bv = seededUniform(sb.reduce((p, q) => p * q, 1), 80 + i);
    const run = () => tf.matMul(tf.tensor(av, sa), tf.tensor(bv, sb), ta, tb);
    const want = await on("cpu", run);
    const got = await on("wasm", run);
    assertClose(got, want, `matMul [${sa}]${ta ? "^T" : ""} x [${sb}]${tb ? "^T" : ""}`, 1e-5);
  }
});

Deno.test("both kernel variants equal cpu for kernel sizes 1-5, strides 1-3, odd sizes and pads", async () => {
  // Sub-pixel phases with no taps (k < s), taps of unequal count (k = 4, s = 3), negative
  // sub-pixel paddings (large explicit pads), windows partly in the padding (im2col), pools
  // with overlapping and padded windows.
  const cases: { k: number; s: number; size: number; pad: Pad; inC: number; outC: number }[] = [
    { k: 1, s: 2, size: 7, pad: "valid", inC: 3, outC: 5 },
    { k: 2, s: 2, size: 8, pad: "same", inC: 4, outC: 2 },
    { k: 4, s: 3, size: 11, pad: "same", inC: 2, outC: 3 },
    { k: 5, s: 2, size: 9, pad: [[0, 0], [3, 1], [0, 4], [0, 0]], inC: 3, outC: 4 },
    { k: 3, s: 3, size: 10, pad: "valid", inC: 5, outC: 1 },
    { k: 5, s: 1, size: 6, pad: [[0, 0], [4, 0], [1, 2], [0, 0]], inC: 1, outC: 6 },
    { k: 3, s: 2, size: 5, pad: [[0, 0], [2, 2], [2, 2], [0, 0]], inC: 24, outC: 2 },
  ];
  for (const variant of ["baseline", "fast"] as const) {
    setKernelVariant(variant);
    try {
      for (const [i, c] of cases.entries()) {
        const batch = 2;
        const info = tf.backend_util.computeConv2DInfo(
          [batch, c.size, c.size, c.inC],
          [c.k, c.k, c.inC, c.outC],
          c.s,
          1,
          c.pad,
        );
        const x = seededUniform(batch * c.size * c.size * c.inC, 40 + i, -1, 1);
        const w = seededUniform(c.k * c.k * c.inC * c.outC, 60 + i, -1, 1);
        const dy = seededUniform(batch * info.outHeight * info.outWidth * c.outC, 80 + i, -1, 1);
        const attrs = { strides: [c.s, c.s], pad: c.pad, dataFormat: "NHWC" };
        const what = `${variant} k${c.k} s${c.s} ${c.size} ${JSON.stringify(c.pad)}`;
        const dW = () =>
          tf.engine().runKernel(
            "Conv2DBackpropFilter",
            {
              x: tf.tensor4d(x, [batch, c.size, c.size, c.inC]),
              dy: tf.tensor4d(dy, [batch, info.outHeight, info.outWidth, c.outC]),
            },
            { ...attrs, filterShape: [c.k, c.k, c.inC, c.outC] } as unknown as tf.NamedAttrMap,
          ) as tf.Tensor;
        assertClose(await on("wasm", dW), await on("cpu", dW), `dW ${what}`);
        const dX = () =>
          tf.engine().runKernel(
            "Conv2DBackpropInput",
            {
              dy: tf.tensor4d(dy, [batch, info.outHeight, info.outWidth, c.outC]),
              filter: tf.tensor4d(w, [c.k, c.k, c.inC, c.outC]),
            },
            { ...attrs, inputShape: [batch, c.size, c.size, c.inC] } as unknown as tf.NamedAttrMap,
          ) as tf.Tensor;
        assertClose(await on("wasm", dX), await on("cpu", dX), `dX ${what}`);
        if (typeof c.pad === "string") {
          const pool = () =>
            tf.grad((a: tf.Tensor) =>
              tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, c.k, c.s, c.pad as "same"), 1.5))
            )(tf.tensor4d(x, [batch, c.size, c.size, c.inC]));
          assertClose(await on("wasm", pool), await on("cpu", pool), `pool ${what}`, 1e-6);
        }
      }
    } finally {
      setKernelVariant("fast");
    }
  }
});

Deno.test("planSubPixelAxis: phases of k3 s2 'valid' and a tap-less phase of k1 s2", () => {
  // dx 7 = (3 - 1) * 2 + 3: even rows use taps 0 and 2 (4 of them, dy padded 1 and 1), odd
  // rows tap 1 (3 of them, no padding).
  assert.deepEqual(planSubPixelAxis(7, 3, 2, 0, 3, 0), {
    qMin: 0,
    count: 4,
    taps: 2,
    before: 1,
    after: 1,
  });
  assert.deepEqual(planSubPixelAxis(7, 3, 2, 0, 3, 1), {
    qMin: 0,
    count: 3,
    taps: 1,
    before: 0,
    after: 0,
  });
  assert.equal(planSubPixelAxis(7, 1, 2, 0, 4, 1).taps, 0);
  assert.throws(() => setKernelVariant("quick" as "fast"), /"fast" or "baseline"/);
});

Deno.test("Slice and SplitV on wasm equal cpu: contiguous, strided, 1-D to 4-D, empty and int32", async () => {
  const cases: { shape: number[]; begin: number[]; size: number[] }[] = [
    { shape: [4096], begin: [100], size: [3000] }, // 1-D range: heap copy
    { shape: [6, 5, 4], begin: [2, 0, 0], size: [3, -1, -1] }, // leading rows: heap copy
    { shape: [6, 5, 4], begin: [2, 3, 0], size: [1, 2, -1] }, // one row's tail: heap copy
    { shape: [6, 5, 4], begin: [1, 1, 1], size: [2, 3, 2] }, // strided: the package's kernel
    { shape: [2, 3, 4, 5], begin: [0, 1, 0, 2], size: [2, 2, 4, 3] }, // strided 4-D
    { shape: [7, 3], begin: [3, 0], size: [0, 3] }, // empty
  ];
  // The project's kernels are the ones registered (not the package's).
  assert.equal(tf.getKernel(tf.Slice, "wasm")?.kernelFunc, sliceConfig.kernelFunc);
  assert.equal(tf.getKernel(tf.SplitV, "wasm")?.kernelFunc, splitVConfig.kernelFunc);
  for (const [i, { shape, begin, size }] of cases.entries()) {
    const n = shape.reduce((a, b) => a * b);
    const make = () =>
      tf.tensor(Float32Array.from({ length: n }, (_, j) => Math.sin(j + i)), shape);
    const want = await on("cpu", () => tf.slice(make(), begin, size));
    const got = await on("wasm", () => tf.slice(make(), begin, size));
    assert.deepEqual(got.shape, want.shape, `case ${i} shape`);
    assert.deepEqual(got.values, want.values, `case ${i}`);
  }
  await tf.setBackend("wasm");
  const ints = tf.tensor1d([1, 2, 3, 4, 5], "int32");
  assert.deepEqual(Array.from(tf.slice(ints, 1, 3).dataSync()), [2, 3, 4]);
  // SplitV along the last and the first axis.
  for (
    const [shape, sizes, axis] of [[[4, 10], [3, 5, 2], 1], [[9, 2, 3], [4, 1, 4], 0]] as const
  ) {
    const n = shape.reduce((a: number, b: number) => a * b, 1);
    const make = () =>
      tf.tensor(Float32Array.from({ length: n }, (_, j) => j * 0.5 - 3), [...shape]);
    for (let p = 0; p < sizes.length; p++) {
      const want = await on("cpu", () => tf.split(make(), [...sizes], axis)[p]);
      const got = await on("wasm", () => tf.split(make(), [...sizes], axis)[p]);
      assert.deepEqual(got.shape, want.shape, `split axis ${axis} part ${p} shape`);
      assert.deepEqual(got.values, want.values, `split axis ${axis} part ${p}`);
    }
  }
  ints.dispose();
});
