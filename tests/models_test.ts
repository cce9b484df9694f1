/**
 * Tests of the model zoo (cpu backend): shapes, weight sharing, seeds, parameter counts computed
 * by hand from the write-ups' layer sizes, PyTorch arithmetic of the padding/cropping helpers and
 * of the resize layer, and save/load of a model with the custom layer.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  type Autoencoder,
  buildConvBottleneckAutoencoder,
  buildDenseCodeAutoencoder,
  buildMlpBlocksAutoencoder,
  buildUpsamplingVsTransposeAutoencoder,
  buildZooModel,
  countAllParams,
  countTrainableParams,
  interpolationMatrix,
  isDenseLayer,
  mlpHiddenSizes,
  paramInit,
  resize2d,
  torchConv2d,
  torchConvTranspose2d,
  zoo,
} from "../lib/models/mod.ts";
import { mulberry32 } from "../lib/random.ts";

await tf.setBackend("cpu");

function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * random());
}

function inputFor(model: Autoencoder, n: number, seed: number): tf.Tensor {
  const shape = model.inputKind === "image" ? [n, 28, 28, 1] : [n, 784];
  return tf.tensor(randomArray(shape.reduce((a, b) => a * b), seed, 0, 1), shape);
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** Output shapes (without batch) of every rank-4 layer output, in layer order. */
function featureMapShapes(model: tf.LayersModel): string[] {
  return model.layers
    .map((l) => l.outputShape as (number | null)[])
    .filter((s) => Array.isArray(s) && s.length === 4)
    .map((s) => s.slice(1).join("x"));
}

function assertSubsequence(actual: string[], expected: string[], what: string): void {
  let i = 0;
  for (const s of actual) if (i < expected.length && s === expected[i]) i++;
  assert.equal(i, expected.length, `${what}: [${expected}] not found in order in [${actual}]`);
}

// --- parameter counts by hand --------------------------------------------------------------
// Trainable counts are PyTorch's `sum(p.numel())` (BatchNorm: weight + bias = 2c). "All" counts
// are Keras' `count_params()` (BatchNorm: gamma, beta, moving mean, moving variance = 4c).
const conv = (k: number, cin: number, cout: number) => k * k * cin * cout + cout;
const dense = (nin: number, nout: number) => nin * nout + nout;
const bnTrainable = (c: number) => 2 * c;
const bnAll = (c: number) => 4 * c;

function convBottleneckCounts(d: number): { trainable: number; all: number } {
  // Encoder: conv 1->8, conv 8->16 + BN16, conv 16->32, dense 288->128, 128->d.
  // Decoder: dense d->128, 128->288, (T)conv 32->16 + BN16, 16->8 + BN8, 8->1.
  const weights = conv(3, 1, 8) + conv(3, 8, 16) + conv(3, 16, 32) + dense(288, 128) +
    dense(128, d) + dense(d, 128) + dense(128, 288) + conv(3, 32, 16) + conv(3, 16, 8) +
    conv(3, 8, 1);
  return {
    trainable: weights + bnTrainable(16) + bnTrainable(16) + bnTrainable(8),
    all: weights + bnAll(16) + bnAll(16) + bnAll(8),
  };
}

function mlpCounts(sizes: number[], useBn: boolean): { trainable: number; all: number } {
  // sizes = [784, hidden..., btl]; blocks on every hidden output of both sides.
  let weights = 0;
  let bnChannels = 0;
  for (let i = 1; i < sizes.length; i++) {
    weights += dense(sizes[i - 1], sizes[i]) + dense(sizes[i], sizes[i - 1]); // layer + mirror
    if (i < sizes.length - 1) bnChannels += sizes[i]; // encoder block output
    if (i > 1) bnChannels += sizes[i - 1]; // decoder block output (mirror of encoder i-1)
  }
  if (!useBn) return { trainable: weights, all: weights };
  return { trainable: weights + 2 * bnChannels, all: weights + 4 * bnChannels };
}

const expectedCounts: Record<string, { trainable: number; all: number }> = {
  "cnn-bilinear": (() => {
    const n = conv(3, 1, 24) + conv(3, 24, 48) + conv(3, 48, 96) + dense(864, 256) +
      dense(256, 864) + conv(3, 96, 48) + conv(3, 48, 24) + conv(3, 24, 12) + conv(3, 12, 1);
    return { trainable: n, all: n };
  })(),
  "conv-bottleneck-d2": convBottleneckCounts(2),
  "conv-transpose-d16": convBottleneckCounts(16),
  // Resize + Conv3x3(cin->cout) has as many weights as ConvTranspose3x3(cin->cout).
  "conv-upsample-nearest-d16": convBottleneckCounts(16),
  "conv-upsample-bilinear-d16": convBottleneckCounts(16),
  "mlp-bn-10": mlpCounts([784, 706, 628, 549, 471, 393, 315, 237, 158, 80, 2], true),
  "mlp-dropout-5": mlpCounts([784, 628, 471, 315, 158, 2], false),
  "dense-relu-code": (() => {
    const n = dense(784, 256) + dense(256, 64) + dense(64, 2) + dense(2, 64) + dense(64, 256) +
      dense(256, 784);
    return { trainable: n, all: n };
  })(),
  "dense-linear-code": (() => {
    const n = dense(784, 256) + dense(256, 64) + dense(64, 2) + dense(2, 64) + dense(64, 256) +
      dense(256, 784);
    return { trainable: n, all: n };
  })(),
  "dense-64": (() => {
    const n = dense(784, 784) + dense(784, 64) + dense(64, 784);
    return { trainable: n, all: n };
  })(),
  "conv-upsampling": (() => {
    const n = conv(3, 1, 128) + conv(3, 128, 64) + conv(3, 64, 16) + conv(3, 16, 16) +
      conv(3, 16, 16) + conv(3, 16, 16) + conv(3, 16, 64) + conv(3, 64, 128) + conv(3, 128, 1);
    return { trainable: n, all: n };
  })(),
};

Deno.test("zoo: every entry has a hand-computed parameter count", () => {
  assert.deepEqual(Object.keys(zoo).sort(), Object.keys(expectedCounts).sort());
});

for (const name of Object.keys(zoo)) {
  Deno.test(`zoo ${name}: shapes, composition, weight sharing, parameter count`, () => {
    const m = zoo[name].build(7);
    assert.equal(m.name, name);
    const n = 3;
    const x = inputFor(m, n, 1);
    const code = m.encoder.predict(x) as tf.Tensor;
    assert.deepEqual(code.shape, [n, m.latentDim]);
    const viaParts = m.decoder.predict(code) as tf.Tensor;
    const whole = m.autoencoder.predict(x) as tf.Tensor;
    assert.deepEqual(whole.shape, x.shape);
    assert.deepEqual(viaParts.shape, x.shape);
    assert.ok(maxAbsDiff(viaParts, whole) < 1e-6, "autoencoder != decoder(encoder(x))");

    // One set of weights: the autoencoder's variables are the encoder's and decoder's.
    const ids = (model: tf.LayersModel) => model.weights.map((w) => w.id);
    const sorted = (a: number[]) => [...a].sort((p, q) => p - q);
    assert.deepEqual(sorted(ids(m.autoencoder)), sorted([...ids(m.encoder), ...ids(m.decoder)]));
    // Changing an encoder weight changes the autoencoder's output.
    const firstKernel = m.encoder.trainableWeights[0];
    const old = firstKernel.read().clone();
    firstKernel.write(tf.add(old, 0.5));
    const changed = m.autoencoder.predict(x) as tf.Tensor;
    // (Deep untrained stacks in inference mode attenuate a lot: mlp-bn-10 moves by ~3e-5 only,
    // while the same deterministic computation without the change reproduces bit for bit.)
    assert.ok(maxAbsDiff(changed, whole) > 1e-6, "encoder change did not reach the autoencoder");
    const changedParts = m.decoder.predict(m.encoder.predict(x) as tf.Tensor) as tf.Tensor;
    assert.ok(maxAbsDiff(changedParts, changed) < 1e-6, "autoencoder != decoder(encoder(x))");
    firstKernel.write(old);
    const restored = m.autoencoder.predict(x) as tf.Tensor;
    assert.equal(maxAbsDiff(restored, whole), 0);

    assert.equal(countTrainableParams(m.autoencoder), expectedCounts[name].trainable);
    assert.equal(countAllParams(m.autoencoder), expectedCounts[name].all);
    tf.dispose([x, code, viaParts, whole, changed, changedParts, restored]);
  });
}

Deno.test("seeds: same seed gives identical weights, another seed different ones", () => {
  for (const name of ["cnn-bilinear", "mlp-dropout-5", "dense-relu-code", "conv-upsampling"]) {
    const a = zoo[name].build(123).autoencoder.getWeights();
    const b = zoo[name].build(123).autoencoder.getWeights();
    const c = zoo[name].build(124).autoencoder.getWeights();
    assert.equal(a.length, b.length);
    let maxSame = 0;
    let maxOther = 0;
    for (let i = 0; i < a.length; i++) {
      maxSame = Math.max(maxSame, maxAbsDiff(a[i], b[i]));
      maxOther = Math.max(maxOther, maxAbsDiff(a[i], c[i]));
    }
    assert.equal(maxSame, 0, `${name}: same seed, different weights`);
    assert.ok(maxOther > 1e-3, `${name}: different seeds, same weights`);
    tf.dispose([...a, ...b, ...c]);
  }
  assert.throws(() => zoo["dense-64"].build(1.5), /seed must be an integer/);
});

Deno.test("feature-map shapes follow the write-ups", () => {
  const e2 = zoo["cnn-bilinear"].build(0);
  assertSubsequence(featureMapShapes(e2.encoder), ["14x14x24", "7x7x48", "3x3x96"], "E2 enc");
  assertSubsequence(
    featureMapShapes(e2.decoder),
    ["3x3x96", "6x6x48", "12x12x24", "24x24x12", "28x28x12", "28x28x1"],
    "E2 dec",
  );
  for (const decoder of ["transpose", "nearest", "bilinear"] as const) {
    const m = buildUpsamplingVsTransposeAutoencoder({ latentDim: 4, decoder, seed: 0 });
    assertSubsequence(featureMapShapes(m.encoder), ["14x14x8", "7x7x16", "3x3x32"], "E3 enc");
    assertSubsequence(
      featureMapShapes(m.decoder),
      ["3x3x32", "7x7x16", "14x14x8", "28x28x1"],
      `E6 ${decoder}`,
    );
  }
  const e9 = zoo["conv-upsampling"].build(0);
  assertSubsequence(
    featureMapShapes(e9.encoder),
    ["28x28x128", "14x14x128", "14x14x64", "7x7x64", "7x7x16", "4x4x16", "4x4x16", "2x2x16"],
    "E9 enc",
  );
  assertSubsequence(
    featureMapShapes(e9.decoder),
    ["2x2x16", "4x4x16", "8x8x16", "8x8x64", "16x16x64", "14x14x128", "28x28x128", "28x28x1"],
    "E9 dec",
  );
});

Deno.test("mlpHiddenSizes: linear steps, and the MLP is an exact mirror", () => {
  assert.deepEqual(mlpHiddenSizes(5, 2), [628, 471, 315, 158]);
  assert.deepEqual(mlpHiddenSizes(10, 2), [706, 628, 549, 471, 393, 315, 237, 158, 80]);
  assert.deepEqual(mlpHiddenSizes(1, 2), []);
  assert.throws(() => mlpHiddenSizes(0, 2), /nLayers/);
  assert.throws(() => mlpHiddenSizes(5, 784), /btlSize/);
  assert.throws(() => mlpHiddenSizes(500, 400), /non-decreasing/);
  const m = buildMlpBlocksAutoencoder({ nLayers: 4, btlSize: 3, seed: 1 });
  const units = (model: tf.LayersModel) =>
    model.layers.filter(isDenseLayer).map((l) => (l.outputShape as number[])[1]);
  const enc = units(m.encoder);
  const dec = units(m.decoder);
  assert.deepEqual(enc, [...mlpHiddenSizes(4, 3), 3]);
  assert.deepEqual(dec, [...[...mlpHiddenSizes(4, 3)].reverse(), 784]);
  const bnCount = (model: tf.LayersModel) =>
    model.layers.filter((l) => ["BatchNormalization", "TorchBatchNorm"].includes(l.getClassName()))
      .length;
  assert.equal(bnCount(m.encoder), 3);
  assert.equal(bnCount(m.decoder), 3);
  const d = buildMlpBlocksAutoencoder({ nLayers: 4, btlSize: 3, useDropout: true, dropoutP: 0.5 });
  assert.equal(bnCount(d.autoencoder), 0);
  const rates = d.encoder.layers.filter((l) => l.getClassName() === "SeededDropout").map((l) =>
    (l.getConfig() as { rate: number }).rate
  );
  assert.deepEqual(rates, [0.5, 0.5, 0.5]);
});

Deno.test("dense code: ReLU codes are >= 0, linear codes are not", () => {
  const x = tf.tensor2d(randomArray(64 * 784, 5, 0, 1), [64, 784]);
  // A strongly negative bias on the code layer makes the difference certain, not lucky.
  for (const codeActivation of ["relu", "linear"] as const) {
    const m = buildDenseCodeAutoencoder({ codeActivation, seed: 3 });
    const codeLayer = m.encoder.layers[m.encoder.layers.length - 1];
    const [kernel, bias] = codeLayer.getWeights();
    codeLayer.setWeights([kernel, tf.fill(bias.shape, -100)]);
    const min = tf.tidy(() => tf.min(m.encoder.predict(x) as tf.Tensor).dataSync()[0]);
    if (codeActivation === "relu") assert.equal(min, 0);
    else assert.ok(min < -50, `linear code min ${min}`);
  }
  x.dispose();
});

Deno.test("torch init: weights within ±1/sqrt(fanIn), bias too", () => {
  const m = buildConvBottleneckAutoencoder({ latentDim: 2, seed: 9 });
  const conv1 = m.encoder.layers.find((l) => l.getClassName() === "TorchConv2D")!;
  const [kernel, bias] = conv1.getWeights(); // fanIn = 1 * 3 * 3
  const bound = 1 / 3;
  const maxK = tf.max(tf.abs(kernel)).dataSync()[0];
  const maxB = tf.max(tf.abs(bias)).dataSync()[0];
  assert.ok(maxK <= bound && maxK > 0.8 * bound, `kernel max ${maxK}`);
  assert.ok(maxB <= bound && maxB > 0, `bias max ${maxB}`);
});

// --- PyTorch arithmetic ----------------------------------------------------------------------

/** PyTorch Conv2d by definition (NHWC data, tfjs kernel layout [k, k, cin, cout]). */
function naiveConv(
  x: Float32Array,
  [n, h, w, cin]: number[],
  kernel: Float32Array,
  bias: Float32Array,
  k: number,
  cout: number,
  s: number,
  p: number,
): { data: Float32Array; shape: number[] } {
  const oh = Math.floor((h + 2 * p - k) / s) + 1;
  const ow = Math.floor((w + 2 * p - k) / s) + 1;
  const out = new Float32Array(n * oh * ow * cout);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        for (let co = 0; co < cout; co++) {
          let acc = bias[co];
          for (let a = 0; a < k; a++) {
            for (let c = 0; c < k; c++) {
              const r = i * s + a - p;
              const q = j * s + c - p;
              if (r < 0 || r >= h || q < 0 || q >= w) continue;
              for (let ci = 0; ci < cin; ci++) {
                acc += x[((b * h + r) * w + q) * cin + ci] *
                  kernel[((a * k + c) * cin + ci) * cout + co];
              }
            }
          }
          out[((b * oh + i) * ow + j) * cout + co] = acc;
        }
      }
    }
  }
  return { data: out, shape: [n, oh, ow, cout] };
}

/**
 * PyTorch ConvTranspose2d by definition: out[i*s + a - p] += x[i] * W[a] (tfjs kernel layout
 * [k, k, cout, cin] read as PyTorch's W[cin, cout, a, c]), output size (n-1)s - 2p + k + op.
 */
function naiveConvTranspose(
  x: Float32Array,
  [n, h, w, cin]: number[],
  kernel: Float32Array,
  bias: Float32Array,
  k: number,
  cout: number,
  s: number,
  p: number,
  op: number,
): { data: Float32Array; shape: number[] } {
  const oh = (h - 1) * s - 2 * p + k + op;
  const ow = (w - 1) * s - 2 * p + k + op;
  const out = new Float32Array(n * oh * ow * cout);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        for (let co = 0; co < cout; co++) {
          out[((b * oh + i) * ow + j) * cout + co] = bias[co];
        }
      }
    }
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        for (let a = 0; a < k; a++) {
          for (let c = 0; c < k; c++) {
            const r = i * s + a - p;
            const q = j * s + c - p;
            if (r < 0 || r >= oh || q < 0 || q >= ow) continue;
            for (let ci = 0; ci < cin; ci++) {
              const v = x[((b * h + i) * w + j) * cin + ci];
              for (let co = 0; co < cout; co++) {
                out[((b * oh + r) * ow + q) * cout + co] += v *
                  kernel[((a * k + c) * cout + co) * cin + ci];
              }
            }
          }
        }
      }
    }
  }
  return { data: out, shape: [n, oh, ow, cout] };
}

function maxAbs(a: Float32Array | Int32Array | Uint8Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test("torchConv2d equals PyTorch Conv2d arithmetic (stride 2, symmetric padding)", () => {
  // Stride 1 with 2p = k - 1 takes the 'same' path, the others pad explicitly.
  const cases = [
    { h: 28, cin: 1, cout: 8, s: 2, p: 1, k: 3 },
    { h: 14, cin: 8, cout: 16, s: 2, p: 1, k: 3 },
    { h: 7, cin: 16, cout: 32, s: 2, p: 0, k: 3 },
    { h: 9, cin: 3, cout: 4, s: 1, p: 1, k: 3 },
    { h: 8, cin: 2, cout: 3, s: 1, p: 2, k: 5 },
    { h: 8, cin: 2, cout: 3, s: 1, p: 1, k: 5 },
    { h: 8, cin: 2, cout: 3, s: 1, p: 2, k: 3 },
  ];
  for (const [idx, { h, cin, cout, s, p, k }] of cases.entries()) {
    const input = tf.input({ shape: [h, h, cin] });
    const model = tf.model({
      inputs: input,
      outputs: torchConv2d(
        input,
        { filters: cout, kernelSize: k, stride: s, padding: p },
        paramInit("torch", idx),
      ),
    });
    const shape = [2, h, h, cin];
    const xs = randomArray(2 * h * h * cin, 100 + idx);
    const y = model.predict(tf.tensor(xs, shape)) as tf.Tensor;
    const [kernel, bias] = model.getWeights().map((t) => t.dataSync() as Float32Array);
    const ref = naiveConv(xs, shape, kernel, bias, k, cout, s, p);
    assert.deepEqual(y.shape, ref.shape, `case ${idx}`);
    assert.ok(maxAbs(y.dataSync(), ref.data) < 1e-5, `case ${idx}`);
  }
});

Deno.test("torchConvTranspose2d equals PyTorch ConvTranspose2d arithmetic (p, output_padding)", () => {
  const cases = [
    { h: 3, cin: 32, cout: 16, p: 0, op: 0 }, // 3 -> 7
    { h: 7, cin: 16, cout: 8, p: 1, op: 1 }, // 7 -> 14
    { h: 14, cin: 8, cout: 1, p: 1, op: 1 }, // 14 -> 28
    { h: 3, cin: 4, cout: 3, p: 1, op: 0 }, // 3 -> 5
  ];
  for (const [idx, { h, cin, cout, p, op }] of cases.entries()) {
    const input = tf.input({ shape: [h, h, cin] });
    const out = torchConvTranspose2d(input, {
      filters: cout,
      kernelSize: 3,
      stride: 2,
      padding: p,
      outputPadding: op,
    }, paramInit("torch", idx));
    const model = tf.model({ inputs: input, outputs: out });
    const shape = [2, h, h, cin];
    const xs = randomArray(2 * h * h * cin, 200 + idx);
    const y = model.predict(tf.tensor(xs, shape)) as tf.Tensor;
    const [kernel, bias] = model.getWeights().map((t) => t.dataSync() as Float32Array);
    const ref = naiveConvTranspose(xs, shape, kernel, bias, 3, cout, 2, p, op);
    assert.deepEqual(y.shape, ref.shape, `case ${idx}`);
    assert.ok(maxAbs(y.dataSync(), ref.data) < 1e-5, `case ${idx}`);
  }
  const input = tf.input({ shape: [3, 3, 2] });
  assert.throws(
    () =>
      torchConvTranspose2d(
        input,
        { filters: 1, kernelSize: 3, stride: 2, outputPadding: 1 },
        paramInit("torch", 0),
      ),
    /outputPadding/,
  );
});

Deno.test("Resize2D: PyTorch interpolation values and exact gradients", () => {
  // Rows of each interpolation matrix sum to 1; known PyTorch values for 2 -> 4 bilinear.
  assert.deepEqual(
    Array.from(interpolationMatrix(2, 4, "bilinear")),
    [1, 0, 0.75, 0.25, 0.25, 0.75, 0, 1],
  );
  // PyTorch legacy nearest, 3 -> 7: source rows floor(i * 3 / 7) = 0,0,0,1,1,2,2.
  const nearest = interpolationMatrix(3, 7, "nearest");
  const picks = Array.from(
    { length: 7 },
    (_, i) => [0, 1, 2].find((j) => nearest[i * 3 + j] === 1),
  );
  assert.deepEqual(picks, [0, 0, 0, 1, 1, 2, 2]);

  for (const [h, w, oh, ow] of [[3, 3, 7, 7], [7, 7, 14, 14], [24, 24, 28, 28], [5, 4, 9, 10]]) {
    const c = 3;
    const xs = tf.tensor4d(randomArray(2 * h * w * c, h * 31 + w), [2, h, w, c]);
    for (const interpolation of ["bilinear", "nearest"] as const) {
      const layer = resize2d({ height: oh, width: ow, interpolation });
      const y = layer.apply(xs) as tf.Tensor;
      // tfjs's forward kernels implement the same conventions (half-pixel bilinear, legacy
      // nearest); only their gradient kernels are unusable (see resize_layer.ts).
      const ref = interpolation === "bilinear"
        ? tf.image.resizeBilinear(xs, [oh, ow], false, true)
        : tf.image.resizeNearestNeighbor(xs, [oh, ow], false, false);
      assert.deepEqual(y.shape, [2, oh, ow, c]);
      assert.ok(maxAbsDiff(y, ref) < 1e-5, `${interpolation} ${h}x${w}->${oh}x${ow}`);

      // d/dx sum(y * g) = A_hᵀ g A_w, computed independently on the CPU.
      const g = randomArray(2 * oh * ow * c, 7);
      const grad = tf.grad((x: tf.Tensor) =>
        tf.sum(tf.mul(layer.apply(x) as tf.Tensor, tf.tensor(g, [2, oh, ow, c])))
      )(xs).dataSync();
      const ah = interpolationMatrix(h, oh, interpolation);
      const aw = interpolationMatrix(w, ow, interpolation);
      const expected = new Float32Array(2 * h * w * c);
      for (let b = 0; b < 2; b++) {
        for (let i = 0; i < oh; i++) {
          for (let j = 0; j < ow; j++) {
            for (let r = 0; r < h; r++) {
              for (let q = 0; q < w; q++) {
                const weight = ah[i * h + r] * aw[j * w + q];
                if (weight === 0) continue;
                for (let ch = 0; ch < c; ch++) {
                  expected[((b * h + r) * w + q) * c + ch] += weight *
                    g[((b * oh + i) * ow + j) * c + ch];
                }
              }
            }
          }
        }
      }
      assert.ok(maxAbs(grad, expected) < 1e-4, `grad ${interpolation} ${h}x${w}->${oh}x${ow}`);
    }
  }
  assert.throws(() => resize2d({ height: 0, width: 2 }), /height/);
  assert.throws(
    () => resize2d({ height: 2, width: 2, interpolation: "cubic" as never }),
    /nearest/,
  );
});

Deno.test("save/load round trip keeps the custom layer and the nested encoder/decoder", async () => {
  const m = zoo["cnn-bilinear"].build(11);
  let artifacts: tf.io.ModelArtifacts | undefined;
  await m.autoencoder.save(tf.io.withSaveHandler((a) => {
    artifacts = a;
    return Promise.resolve({
      modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" },
    });
  }));
  assert.ok(artifacts);
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  const x = inputFor(m, 2, 3);
  const a = m.autoencoder.predict(x) as tf.Tensor;
  const b = loaded.predict(x) as tf.Tensor;
  assert.ok(maxAbsDiff(a, b) < 1e-6);
});

Deno.test("builders reject bad options with clear errors", () => {
  assert.throws(() => buildConvBottleneckAutoencoder({ latentDim: 0 }), /latentDim/);
  assert.throws(
    () => buildUpsamplingVsTransposeAutoencoder({ latentDim: 2, decoder: "pixelshuffle" as never }),
    /decoder must be/,
  );
  assert.throws(() => buildMlpBlocksAutoencoder({ dropoutP: 1 }), /dropoutP/);
  assert.throws(
    () => buildDenseCodeAutoencoder({ codeActivation: "tanh" as never }),
    /codeActivation/,
  );
  assert.throws(() => buildZooModel("vae"), /unknown zoo model "vae"; valid: cnn-bilinear/);
  assert.equal(buildZooModel("dense-64", 1).name, "dense-64");
});
