/**
 * The tfjs-node addon built by `deno task native` (lib/native/): with the build present, the
 * "tensorflow" backend must compute what cpu computes; without it, asking for tfjs-node must fail
 * with one line that says how to build it. The suite never builds it (about 20 s plus a 207 MB
 * download).
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import util from "node:util";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setupBackend } from "../lib/backend.ts";
import {
  defaultCpuVariant,
  INSTALLED_VARIANT_FILE,
  installedVariant,
  napiBuildVersion,
  NATIVE_LIBRARIES,
  nativePaths,
} from "../lib/native/build.ts";
import { prepareTfjsNodeImport } from "../lib/native/node_compat.ts";
import {
  disableOneDnnFusedOps,
  hasOneDnnFusedOps,
  oneDnnFusedMatMul,
  stringListAttr,
  supportsStringListAttrs,
} from "../lib/kernels/native_ops.ts";

/** Independent of lib/: tfjs-node's package directory, or null where it is not installed. */
function tfjsNodePackageDir(): string | null {
  let url: string;
  try {
    url = import.meta.resolve("@tensorflow/tfjs-node");
  } catch {
    return null;
  }
  return url.startsWith("file:") ? dirname(dirname(fileURLToPath(url))) : null;
}

/** Independent of lib/: the addon and the libraries it needs, where `deno task native` puts them. */
function nativeBuildPresent(): boolean {
  const pkg = tfjsNodePackageDir();
  if (pkg === null) return false;
  const lib = join(pkg, "lib");
  const addon = existsSync(lib) &&
    readdirSync(lib).some((d) => existsSync(join(lib, d, "tfjs_binding.node")));
  return addon && NATIVE_LIBRARIES.every((name) => existsSync(join(pkg, "deps", "lib", name)));
}

const built = nativeBuildPresent();

/** Deterministic values in [lo, hi) from a small LCG (independent of lib/random.ts). */
function values(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + (hi - lo) * (s / 2 ** 32);
  }
  return out;
}

/** Runs `fn` on `backend`, returns its tensors' values and disposes them. */
async function on(backend: string, fn: () => tf.Tensor[]): Promise<Float32Array[]> {
  assert.ok(await tf.setBackend(backend), `${backend} initialises`);
  const tensors = tf.tidy(fn);
  const data = await Promise.all(tensors.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose(tensors);
  return data;
}

function assertClose(got: Float32Array, want: Float32Array, what: string, rel = 1e-4): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    worst = Math.max(worst, Math.abs(got[i] - want[i]));
  }
  assert.ok(scale > 0, `${what}: reference is not all zeros`);
  assert.ok(worst <= rel * scale, `${what}: max |diff| ${worst} > ${rel} x ${scale}`);
}

Deno.test("napiBuildVersion picks the directory node-pre-gyp looks in", () => {
  const pkg = { binary: { napi_versions: [3, 4, 5, 6, 7, 8] } };
  assert.equal(napiBuildVersion(pkg, 10), 8); // Deno 2.9
  assert.equal(napiBuildVersion(pkg, 8), 8);
  assert.equal(napiBuildVersion(pkg, 5), 5);
  assert.throws(() => napiBuildVersion(pkg, 2), /older than every version/);
  assert.throws(() => napiBuildVersion({}, 10), /napi_versions/);
});

Deno.test("nativePaths keeps everything under .native/ and the npm package", () => {
  const cpu = nativePaths("cpu", "/repo");
  assert.equal(cpu.tensorflowDir, "/repo/.native/tensorflow-cpu-2.9.1");
  assert.equal(cpu.packageLink, "/repo/node_modules/@tensorflow/tfjs-node");
  const gpu = nativePaths("gpu", "/repo");
  assert.equal(gpu.tensorflowDir, "/repo/.native/tensorflow-2.9.1");
  assert.equal(gpu.packageLink, "/repo/node_modules/@tensorflow/tfjs-node-gpu");
  assert.notEqual(cpu.buildDir, gpu.buildDir);
  const avx2 = nativePaths("avx2", "/repo");
  assert.equal(avx2.tensorflowDir, "/repo/.native/intel-tensorflow-2.9.1");
  assert.equal(avx2.packageLink, cpu.packageLink);
  assert.notEqual(avx2.buildDir, cpu.buildDir);
  const avx512 = nativePaths("avx512", "/repo");
  assert.equal(avx512.tensorflowDir, "/repo/.native/intel-tensorflow-avx512-2.9.1");
  assert.equal(avx512.packageLink, cpu.packageLink);
  assert.notEqual(avx512.buildDir, cpu.buildDir);
});

Deno.test("defaultCpuVariant: Intel's AVX-512 build with avx512f, its other build with avx2 + fma", () => {
  const info = (flags: string) => `processor\t: 0\nmodel name\t: X\nflags\t\t: ${flags}\n`;
  assert.equal(defaultCpuVariant(info("fpu sse2 avx avx2 fma avx512f avx512bw")), "avx512");
  assert.equal(defaultCpuVariant(info("fpu sse2 avx avx2 fma")), "avx2");
  assert.equal(defaultCpuVariant(info("fpu sse2 avx avx2")), "cpu"); // no fma
  assert.equal(defaultCpuVariant(info("fpu sse2 avx")), "cpu");
  assert.equal(defaultCpuVariant(info("fpu avx512_bf16")), "cpu"); // not avx512f itself
  assert.equal(defaultCpuVariant(""), "cpu");
});

Deno.test("installedVariant reads the install step's record, null without one", () => {
  const dir = Deno.makeTempDirSync();
  try {
    assert.equal(installedVariant(dir), null);
    Deno.mkdirSync(join(dir, "deps"));
    Deno.writeTextFileSync(join(dir, INSTALLED_VARIANT_FILE), "avx2 intel-tensorflow==2.9.1\n");
    assert.equal(installedVariant(dir), "avx2");
    Deno.writeTextFileSync(join(dir, INSTALLED_VARIANT_FILE), "sse9 x\n");
    assert.equal(installedVariant(dir), null);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("prepareTfjsNodeImport restores util.isNullOrUndefined for tfjs-node", () => {
  prepareTfjsNodeImport();
  const isNullOrUndefined = (util as unknown as Record<string, (v: unknown) => boolean>)
    .isNullOrUndefined;
  assert.equal(typeof isNullOrUndefined, "function");
  assert.equal(isNullOrUndefined(null), true);
  assert.equal(isNullOrUndefined(undefined), true);
  assert.equal(isNullOrUndefined(0), false);
  assert.equal(isNullOrUndefined([]), false);
});

Deno.test(`setupBackend("tfjs-node") ${built ? "uses the native build" : "names deno task native"}`, async () => {
  if (!built) {
    await assert.rejects(() => setupBackend("tfjs-node", { quiet: true }), (err: Error) => {
      assert.ok(!err.message.includes("\n"), "one line");
      assert.match(err.message, /^Backend "tfjs-node" cannot be used here: /);
      assert.match(err.message, /`deno task native`|rebuild: deno task native/);
      return true;
    });
    return;
  }
  const choice = await setupBackend("tfjs-node", { quiet: true });
  assert.equal(choice.tfBackend, "tensorflow");
  assert.equal(tf.getBackend(), "tensorflow");
  const version = (tf.backend() as unknown as { binding: { TF_Version: string } }).binding
    .TF_Version;
  assert.match(version, /^2\./);
  // "auto" prefers it to wasm (tfjs-node-gpu only if a CUDA build is there too).
  const auto = await setupBackend("auto", { quiet: true });
  assert.ok(auto.name === "tfjs-node" || auto.name === "tfjs-node-gpu", auto.name);
});

Deno.test({
  name: "tfjs-node conv2d forward and both gradients equal cpu (needs deno task native)",
  ignore: !built,
  fn: async () => {
    await setupBackend("tfjs-node", { quiet: true });
    const compute = () => {
      const x = tf.tensor4d(values(3 * 12 * 12 * 2, 1, 0, 1), [3, 12, 12, 2]);
      const w = tf.tensor4d(values(5 * 5 * 2 * 6, 2, -0.3, 0.3), [5, 5, 2, 6]);
      const f = (xs: tf.Tensor, ws: tf.Tensor) =>
        tf.conv2d(xs as tf.Tensor4D, ws as tf.Tensor4D, 2, "same");
      const loss = (xs: tf.Tensor, ws: tf.Tensor) => f(xs, ws).tanh().square().sum();
      const [dx, dw] = tf.grads(loss)([x, w]);
      const valid = tf.conv2d(x, w, 1, "valid");
      return [f(x, w), dx, dw, valid];
    };
    const got = await on("tensorflow", compute);
    const want = await on("cpu", compute);
    ["forward same/2", "input grad", "filter grad", "forward valid/1"].forEach((what, i) =>
      assertClose(got[i], want[i], what)
    );
  },
});

Deno.test({
  name:
    "tfjs-node: FusedDense forward and gradients equal tf.layers.dense on cpu (needs deno task native)",
  ignore: !built,
  fn: async () => {
    await setupBackend("tfjs-node", { quiet: true });
    const { fusedDense } = await import("../lib/models/fused_dense.ts");
    const cases = [
      { activation: "relu", useBias: true },
      { activation: "sigmoid", useBias: true },
      { activation: "linear", useBias: true },
      { activation: "relu", useBias: false },
    ] as const;
    // Both forward paths: oneDNN's fused matmul where this build has it, and the separate ops.
    for (
      const [{ activation, useBias }, oneDnn] of cases.flatMap((c) =>
        [[c, true], [c, false]] as const
      )
    ) {
      disableOneDnnFusedOps(!oneDnn);
      const compute = (native: boolean) => () => {
        const layer = (native ? fusedDense : tf.layers.dense)({ units: 7, activation, useBias });
        const x = tf.tensor2d(values(5 * 9, 4, -1, 1), [5, 9]);
        layer.build([null, 9]);
        layer.setWeights(
          layer.getWeights().map((w, i) => tf.tensor(values(w.size, 20 + i, -0.5, 0.5), w.shape)),
        );
        const weights = layer.trainableWeights.map((w) => w.read() as tf.Variable);
        const dy = tf.tensor2d(values(5 * 7, 6, -1, 1), [5, 7]);
        const loss = (xs: tf.Tensor) => tf.sum(tf.mul(layer.apply(xs) as tf.Tensor, dy));
        const { value, grads } = tf.variableGrads(() => loss(x) as tf.Scalar, weights);
        const results = [layer.apply(x) as tf.Tensor, value, tf.grad(loss)(x)];
        results.push(...weights.map((w) => grads[w.name]));
        layer.weights.forEach((w) => w.dispose());
        return results;
      };
      const got = await on("tensorflow", compute(true));
      disableOneDnnFusedOps(false);
      const want = await on("cpu", compute(false));
      assert.equal(got.length, want.length);
      ["output", "loss", "input grad", "kernel grad", "bias grad"].slice(0, got.length).forEach(
        (what, i) =>
          assertClose(
            got[i],
            want[i],
            `${activation}${useBias ? "" : " no bias"}${oneDnn ? "" : " (no oneDNN)"} ${what}`,
          ),
      );
    }
  },
});

Deno.test({
  name: "tfjs-node: the built addon passes list(string) attributes; oneDNN's fused ops run on " +
    "Intel's builds and equal cpu wherever they run (needs deno task native)",
  ignore: !built,
  fn: async () => {
    await setupBackend("tfjs-node", { quiet: true });
    assert.ok(supportsStringListAttrs(), "AE_STRING_LIST_ATTRS marker of the patched binding");
    const variant = installedVariant(tfjsNodePackageDir()!);
    // Intel's builds must have them; tensorflow-cpu's oneDNN has them on some machines too (seen
    // on an AMD EPYC), so there the probe decides, and the values are checked below either way.
    if (variant === "avx2" || variant === "avx512") assert.equal(hasOneDnnFusedOps(), true);
    if (hasOneDnnFusedOps()) {
      const [m, k, n] = [37, 53, 29];
      const compute = (fused: boolean) => () => {
        const x = tf.tensor2d(values(m * k, 61), [m, k]);
        const w = tf.tensor2d(values(k * n, 62), [k, n]);
        const b = tf.tensor1d(values(n, 63));
        return fused
          ? oneDnnFusedMatMul(x, w, b, ["BiasAdd", "Relu"])
          : [tf.relu(tf.add(tf.matMul(x, w), b))];
      };
      const [got] = await on("tensorflow", compute(true));
      const [want] = await on("cpu", compute(false));
      assertClose(got, want, "oneDNN matmul + bias + ReLU", 1e-5);
      await tf.setBackend("tensorflow");
    }
    disableOneDnnFusedOps(true);
    assert.equal(hasOneDnnFusedOps(), false);
    disableOneDnnFusedOps(false);
    await tf.setBackend("cpu");
    assert.equal(supportsStringListAttrs(), false);
    assert.equal(hasOneDnnFusedOps(), false);
    assert.throws(() => stringListAttr("fused_ops", ["BiasAdd"]), /not "tensorflow"|cannot pass/);
  },
});

Deno.test({
  name: "tfjs-node: max pooling's gradient (oneDNN's where loaded) equals cpu, ties " +
    "included (needs deno task native)",
  ignore: !built,
  fn: async () => {
    await setupBackend("tfjs-node", { quiet: true });
    // ReLU'd inputs: many 2x2 windows are all zeros, where the gradient must go to the first.
    const x = values(2 * 9 * 8 * 3, 51, -1, 1).map((v) => Math.max(v, 0));
    for (const [pad, size, stride] of [["valid", 2, 2], ["same", 2, 2], ["same", 3, 2]] as const) {
      for (const oneDnn of [true, false]) {
        const compute = () => {
          const input = tf.tensor4d(x, [2, 9, 8, 3]);
          const f = (v: tf.Tensor) => {
            const y = tf.maxPool(v as tf.Tensor4D, size, stride, pad);
            return tf.sum(tf.mul(y, tf.tensor(values(y.size, 52, -1, 1), y.shape)));
          };
          return [tf.maxPool(input, size, stride, pad), tf.grad(f)(input)];
        };
        disableOneDnnFusedOps(!oneDnn);
        const got = await on("tensorflow", compute);
        disableOneDnnFusedOps(false);
        const want = await on("cpu", compute);
        const what = `${size}x${size} stride ${stride} ${pad}${oneDnn ? "" : " (no oneDNN)"}`;
        assert.deepEqual(got[0], want[0], `${what} output`);
        // Overlapping windows (3x3, stride 2) add up in another order: rounding only.
        assertClose(got[1], want[1], `${what} gradient`, 1e-6);
      }
    }
  },
});

Deno.test({
  name: "tfjs-node: TorchConv2D (padded TensorFlow convolution) forward and gradients equal " +
    "zero padding + tf.layers.conv2d on cpu (needs deno task native)",
  ignore: !built,
  fn: async () => {
    await setupBackend("tfjs-node", { quiet: true });
    const { TorchConv2D } = await import("../lib/models/torch_conv2d.ts");
    // [kernel, stride, padding]: stride 2 with and without padding, 'same' at stride 1, and a
    // padding that is not 'same' at stride 1.
    const geometries = [[3, 2, 1], [3, 2, 0], [3, 1, 1], [5, 1, 1]] as const;
    const cases = [
      ...geometries.map((g) => ({ g, activation: "relu", useBias: true } as const)),
      { g: geometries[0], activation: "linear", useBias: true } as const,
      { g: geometries[0], activation: "sigmoid", useBias: true } as const,
      { g: geometries[0], activation: "relu", useBias: false } as const,
      // One output channel at stride 1 runs as a matmul (singleChannelConv2d in native_conv.ts).
      { g: geometries[2], activation: "sigmoid", useBias: true, cout: 1 } as const,
      { g: geometries[3], activation: "relu", useBias: false, cout: 1 } as const,
      { g: [3, 1, 0] as const, activation: "linear", useBias: true, cout: 1 } as const,
    ];
    for (
      const [{ g: [k, stride, p], activation, useBias, ...rest }, oneDnn] of cases.flatMap((c) =>
        [[c, true], [c, false]] as const
      )
    ) {
      // One output channel takes the matmul forms from 16 (forward) and 64 (filter) inputs on.
      const cout = ("cout" in rest ? rest.cout : 5) as number;
      const [n, h, w, cin] = [3, 9, 8, cout === 1 ? 64 : 3];
      const compute = (native: boolean) => () => {
        const args = { filters: cout, kernelSize: k, strides: stride, activation, useBias };
        const layer = native
          ? new TorchConv2D({ ...args, torchPadding: p })
          : tf.layers.conv2d({ ...args, padding: "valid" });
        const pad = (v: tf.Tensor) => native ? v : tf.pad(v, [[0, 0], [p, p], [p, p], [0, 0]]);
        layer.build([null, h + (native ? 0 : 2 * p), w + (native ? 0 : 2 * p), cin]);
        layer.setWeights(
          layer.getWeights().map((v, i) => tf.tensor(values(v.size, 40 + i, -0.5, 0.5), v.shape)),
        );
        const x = tf.tensor4d(values(n * h * w * cin, 41, -1, 1), [n, h, w, cin]);
        const outShape = layer.computeOutputShape([
          n,
          h + (native ? 0 : 2 * p),
          w + (native ? 0 : 2 * p),
          cin,
        ]) as number[];
        const dy = tf.tensor(values(outShape.reduce((a, b) => a * b, 1), 42, -1, 1), outShape);
        const weights = layer.trainableWeights.map((v) => v.read() as tf.Variable);
        const loss = (xs: tf.Tensor) => tf.sum(tf.mul(layer.apply(pad(xs)) as tf.Tensor, dy));
        const { value, grads } = tf.variableGrads(() => loss(x) as tf.Scalar, weights);
        const results = [layer.apply(pad(x)) as tf.Tensor, value, tf.grad(loss)(x)];
        results.push(...weights.map((v) => grads[v.name]));
        layer.weights.forEach((v) => v.dispose());
        return results;
      };
      disableOneDnnFusedOps(!oneDnn);
      const got = await on("tensorflow", compute(true));
      disableOneDnnFusedOps(false);
      const want = await on("cpu", compute(false));
      assert.equal(got.length, useBias ? 5 : 4);
      const what = `k${k} s${stride} p${p} cout ${cout} ${activation}${useBias ? "" : " no bias"}` +
        `${oneDnn ? "" : " (no oneDNN)"}`;
      ["output", "loss", "input grad", "kernel grad", "bias grad"].slice(0, got.length).forEach(
        (part, i) => assertClose(got[i], want[i], `${what} ${part}`),
      );
    }
  },
});

Deno.test({
  name: "tfjs-node: a convolution's input gradient is computed only when asked for " +
    "(needs deno task native)",
  ignore: !built,
  fn: async () => {
    await setupBackend("tfjs-node", { quiet: true });
    const { TorchConv2D } = await import("../lib/models/torch_conv2d.ts");
    // The ops the binding runs, by name (as the compiled step's recorder sees them).
    const backend = tf.backend() as unknown as {
      binding: { executeOp(name: string, ...rest: unknown[]): unknown };
    };
    const binding = backend.binding;
    const counts = new Map<string, number>();
    const count = <T>(f: () => T): T => {
      counts.clear();
      backend.binding = Object.create(binding, {
        executeOp: {
          value: (name: string, ...rest: unknown[]) => {
            counts.set(name, (counts.get(name) ?? 0) + 1);
            return binding.executeOp(name, ...rest);
          },
        },
      });
      try {
        return f();
      } finally {
        backend.binding = binding;
      }
    };
    const first = new TorchConv2D({
      filters: 4,
      kernelSize: 3,
      torchPadding: 1,
      activation: "relu",
    });
    const second = new TorchConv2D({ filters: 2, kernelSize: 3, torchPadding: 1 });
    const x = tf.randomUniform([2, 6, 6, 1], 0, 1, "float32", 1);
    const loss = (xs: tf.Tensor) =>
      tf.sum(second.apply(first.apply(xs) as tf.Tensor) as tf.Tensor) as tf.Scalar;
    loss(x).dispose(); // builds the layers
    const weights = [...first.trainableWeights, ...second.trainableWeights].map((v) =>
      v.read() as tf.Variable
    );
    // Training: the images' gradient is not needed, the first layer's output's is.
    const trained = count(() => tf.variableGrads(() => loss(x), weights));
    assert.equal(counts.get("Conv2DBackpropInput"), 1, JSON.stringify([...counts]));
    assert.equal(counts.get("Conv2DBackpropFilter"), 2);
    // Asked for, the input gradient is there, and equals the cpu's.
    const dx = count(() => tf.grad(loss)(x));
    assert.equal(counts.get("Conv2DBackpropInput"), 2);
    const dxData = await dx.data() as Float32Array;
    const xData = await x.data();
    const layerWeights = await Promise.all(
      [first, second].map((l) =>
        Promise.all(l.getWeights().map(async (w) => ({ data: await w.data(), shape: w.shape })))
      ),
    );
    tf.dispose([dx, trained.value, ...Object.values(trained.grads)]);
    const want = await on("cpu", () => {
      const a = new TorchConv2D({ filters: 4, kernelSize: 3, torchPadding: 1, activation: "relu" });
      const b = new TorchConv2D({ filters: 2, kernelSize: 3, torchPadding: 1 });
      a.build([null, 6, 6, 1]);
      b.build([null, 6, 6, 4]);
      a.setWeights(layerWeights[0].map((w) => tf.tensor(w.data, w.shape)));
      b.setWeights(layerWeights[1].map((w) => tf.tensor(w.data, w.shape)));
      const xc = tf.tensor(xData, x.shape);
      return [
        tf.grad((xs: tf.Tensor) => tf.sum(b.apply(a.apply(xs) as tf.Tensor) as tf.Tensor))(xc),
      ];
    });
    assertClose(dxData, want[0], "input gradient");
  },
});

Deno.test({
  name: "tfjs-node: TorchBatchNorm in both modes equals cpu (needs deno task native)",
  ignore: !built,
  fn: async () => {
    await setupBackend("tfjs-node", { quiet: true });
    const { TorchBatchNorm } = await import("../lib/models/torch_batch_norm.ts");
    // Inference without a tape is FusedBatchNormV3 (rank 2 and 4), with a tape x*scale+shift;
    // training is FusedBatchNormV3 + its gradient for rank 4, the closed form for rank 2.
    for (const shape of [[24, 40], [3, 4, 5, 40]]) {
      const c = 40;
      const size = shape.reduce((a, b) => a * b, 1);
      const compute = () => {
        const layer = new TorchBatchNorm();
        layer.build([null, c]);
        layer.setWeights([
          tf.tensor1d(values(c, 13, 0.5, 1.5)),
          tf.tensor1d(values(c, 14, -0.5, 0.5)),
          tf.tensor1d(values(c, 15, -1, 1)),
          tf.tensor1d(values(c, 16, 0.2, 2)),
        ]);
        const x = tf.tensor(values(size, 11, -1, 3), shape);
        const w = tf.tensor(values(size, 12, -1, 1), shape);
        const inference = layer.apply(x, { training: false }) as tf.Tensor;
        const f = (training: boolean) => (v: tf.Tensor) =>
          tf.sum(tf.mul(layer.apply(v, { training }) as tf.Tensor, w));
        const evalDx = tf.grad(f(false))(x);
        const dx = tf.grad(f(true))(x);
        const trainable = layer.trainableWeights.map((v) => v.read() as tf.Variable);
        const { grads } = tf.variableGrads(() => f(true)(x) as tf.Scalar, trainable);
        // Two training steps: the moving statistics moved twice.
        const moving = layer.getWeights().slice(2).map((v) => v.clone());
        layer.weights.forEach((v) => v.dispose());
        return [inference, evalDx, dx, ...trainable.map((v) => grads[v.name]), ...moving];
      };
      const got = await on("tensorflow", compute);
      const want = await on("cpu", compute);
      [
        "inference output",
        "eval-mode dx",
        "training dx",
        "gamma grad",
        "beta grad",
        "moving mean",
        "moving variance",
      ].forEach((what, i) => assertClose(got[i], want[i], `[${shape}] ${what}`, 1e-5));
    }
  },
});

Deno.test({
  name:
    "tfjs-node: Resize2D (TensorFlow's resize ops) equals cpu's matrices (needs deno task native)",
  ignore: !built,
  fn: async () => {
    await setupBackend("tfjs-node", { quiet: true });
    const { resize2d } = await import("../lib/models/resize_layer.ts");
    for (const interpolation of ["bilinear", "nearest"] as const) {
      for (const [h, w, outH, outW] of [[6, 5, 14, 11], [9, 8, 4, 6]]) {
        const compute = () => {
          const layer = resize2d({ height: outH, width: outW, interpolation });
          const x = tf.tensor4d(values(2 * h * w * 3, 31, -1, 1), [2, h, w, 3]);
          const dy = tf.tensor4d(values(2 * outH * outW * 3, 32, -1, 1), [2, outH, outW, 3]);
          const f = (v: tf.Tensor) => tf.sum(tf.mul(layer.apply(v) as tf.Tensor, dy));
          return [layer.apply(x) as tf.Tensor, tf.grad(f)(x)];
        };
        const got = await on("tensorflow", compute);
        const want = await on("cpu", compute);
        const what = `${interpolation} ${h}x${w} -> ${outH}x${outW}`;
        assertClose(got[0], want[0], `${what} output`, 1e-5);
        assertClose(got[1], want[1], `${what} gradient`, 1e-5);
      }
    }
  },
});

Deno.test({
  name: "tfjs-node dense training step (Adam, MSE) equals cpu (needs deno task native)",
  ignore: !built,
  fn: async () => {
    await setupBackend("tfjs-node", { quiet: true });
    const step = () => {
      const model = tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [20], units: 16, activation: "relu" }),
          tf.layers.dense({ units: 20, activation: "sigmoid" }),
        ],
      });
      model.setWeights(
        model.getWeights().map((w, i) => tf.tensor(values(w.size, 10 + i, -0.4, 0.4), w.shape)),
      );
      const x = tf.tensor2d(values(32 * 20, 3, 0, 1), [32, 20]);
      const optimizer = tf.train.adam(0.01);
      const loss = optimizer.minimize(
        () => tf.losses.meanSquaredError(x, model.apply(x, { training: true }) as tf.Tensor),
        true,
      )!;
      const after = model.getWeights().map((w) => w.clone());
      optimizer.dispose();
      model.dispose();
      return [loss, ...after];
    };
    const got = await on("tensorflow", step);
    const want = await on("cpu", step);
    assert.equal(got.length, 5);
    assertClose(got[0], want[0], "loss");
    ["kernel 1", "bias 1", "kernel 2", "bias 2"].forEach((what, i) =>
      assertClose(got[i + 1], want[i + 1], `${what} after one Adam step`)
    );
  },
});

Deno.test({
  name: "tfjs-node Step and the ReLU gradient (native ReluGrad) equal cpu (needs deno task native)",
  ignore: !built,
  fn: async () => {
    await setupBackend("tfjs-node", { quiet: true });
    const special = [NaN, -1, 0, -0, 2, Infinity, -Infinity, 1e-30, -1e-30];
    const steps = () => {
      const x = tf.tensor1d(special);
      return [tf.step(x), tf.step(x, 0.25)];
    };
    const [gotStep, gotStepAlpha] = await on("tensorflow", steps);
    const [wantStep, wantStepAlpha] = await on("cpu", steps);
    assert.deepEqual(gotStep, wantStep, "step, alpha 0 (NaN stays NaN)");
    assert.deepEqual(gotStepAlpha, wantStepAlpha, "step, alpha 0.25");

    const gradient = () => {
      const x = tf.tensor2d(values(64 * 50, 4, -1, 1), [64, 50]);
      const w = tf.tensor2d(values(64 * 50, 5, -2, 2), [64, 50]);
      return [tf.grad((v: tf.Tensor) => tf.relu(v).mul(w).sum())(x)];
    };
    const got = await on("tensorflow", gradient);
    const want = await on("cpu", gradient);
    assert.deepEqual(got[0], want[0], "d relu(x) . w / dx");
    // The native kernel really ran (not tfjs's dy * step(x)).
    await tf.setBackend("tensorflow");
    const { kernelNames } = await tf.profile(() => tf.dispose(gradient()));
    assert.ok(kernelNames.includes("AeReluGrad"), kernelNames.join(", "));
    assert.ok(!kernelNames.includes("Step"), kernelNames.join(", "));
    // Backends without the kernel keep tfjs's formula, NaN included.
    const [cpuNan] = await on(
      "cpu",
      () => [tf.grad((v: tf.Tensor) => tf.relu(v).sum())(tf.tensor1d([NaN, 1, -1]))],
    );
    assert.deepEqual(Array.from(cpuNan), [NaN, 1, 0]);
  },
});

/**
 * A small MLP with fixed weights, and its trainable variables. No BatchNorm: a bias right before
 * one has a gradient of rounding noise only, and Adam divides it by its own root mean square, so
 * two correct Adams that round differently disagree there by up to the learning rate.
 */
function adamTestModel(seed: number): { model: tf.Sequential; vars: tf.Variable[] } {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [20], units: 16, activation: "relu" }),
      tf.layers.dense({ units: 12, activation: "relu" }),
      tf.layers.dense({ units: 20, activation: "sigmoid" }),
    ],
  });
  tf.tidy(() =>
    model.setWeights(
      model.getWeights().map((w, i) => tf.tensor(values(w.size, seed + i, -0.4, 0.4), w.shape)),
    )
  );
  return { model, vars: model.trainableWeights.map((w) => w.read() as tf.Variable) };
}

/** `steps` Adam steps of `model` on fixed batches (batch `first` onwards). */
function adamSteps(
  model: tf.Sequential,
  vars: tf.Variable[],
  optimizer: tf.Optimizer,
  steps: number,
  first = 0,
): void {
  for (let s = first; s < first + steps; s++) {
    tf.tidy(() => {
      const x = tf.tensor2d(values(32 * 20, 30 + s, 0, 1), [32, 20]);
      optimizer.minimize(
        () => tf.losses.meanSquaredError(x, model.apply(x, { training: true }) as tf.Tensor),
        false,
        vars,
      );
    });
  }
}

Deno.test({
  name:
    "tfjs-node: nativeAdam (the trainer's Adam there) equals tfjs Adam (needs deno task native)",
  ignore: !built,
  fn: async () => {
    await setupBackend("tfjs-node", { quiet: true });
    const { createOptimizer } = await import("../lib/train.ts");
    const { NativeAdamOptimizer } = await import("../lib/kernels/native_adam.ts");
    const made = createOptimizer("adam", 0.01);
    assert.ok(made instanceof NativeAdamOptimizer);
    made.dispose();
    const run = (optimizer: tf.Optimizer) => {
      const { model, vars } = adamTestModel(10);
      adamSteps(model, vars, optimizer, 6);
      // A weight written from outside between steps must be taken up by the next step.
      model.layers[0].setWeights(model.layers[0].getWeights().map((w) => tf.mul(w, 0.5)));
      adamSteps(model, vars, optimizer, 2, 6);
      const after = model.getWeights().map((w) => w.clone());
      optimizer.dispose();
      model.dispose();
      return after;
    };
    const got = await on("tensorflow", () => run(createOptimizer("adam", 0.01)));
    const want = await on("tensorflow", () => run(tf.train.adam(0.01)));
    assert.equal(got.length, want.length);
    // Not bit for bit: TensorFlow's kernel rounds differently (see lib/kernels/native_adam.ts).
    want.forEach((w, i) => assertClose(got[i], w, `weight ${i} after 8 steps`, 1e-4));
  },
});

Deno.test({
  name: "tfjs-node: nativeAdam saves and resumes tfjs Adam's state (needs deno task native)",
  ignore: !built,
  fn: async () => {
    await setupBackend("tfjs-node", { quiet: true });
    const { nativeAdam } = await import("../lib/kernels/native_adam.ts");
    const before = tf.memory().numTensors;
    const a = adamTestModel(20);
    const b = adamTestModel(20);
    const reference = tf.train.adam(0.01);
    const native = nativeAdam(0.01);
    adamSteps(a.model, a.vars, reference, 5);
    adamSteps(b.model, b.vars, native, 5);
    const [ra, rb] = [await reference.getWeights(), await native.getWeights()];
    // The two models' layers have different numbers in their names; the rest must agree.
    const layout = (ws: { name: string; tensor: tf.Tensor }[]) =>
      ws.map((w) => [w.name.replace(/\d+\//, "/"), w.tensor.shape]);
    assert.deepEqual(layout(rb), layout(ra));
    ra.forEach((w, i) =>
      assertClose(
        rb[i].tensor.dataSync() as Float32Array,
        w.tensor.dataSync() as Float32Array,
        w.name,
        1e-4,
      )
    );
    assert.equal(native.getClassName(), reference.getClassName());

    // tfjs Adam's state into a fresh native optimizer on a fresh model (new variable names,
    // matched by position), and the native state into a fresh tfjs Adam: both continue alike.
    const c = adamTestModel(20);
    const d = adamTestModel(20);
    c.model.setWeights(a.model.getWeights());
    d.model.setWeights(b.model.getWeights());
    const nativeResumed = nativeAdam(0.01);
    const adamResumed = tf.train.adam(0.01);
    const copy = (ws: { name: string; tensor: tf.Tensor }[]) =>
      ws.map((w) => ({ name: w.name, tensor: w.tensor.clone() }));
    for (const [optimizer, state] of [[nativeResumed, ra], [adamResumed, rb]] as const) {
      const given = copy(state);
      await optimizer.setWeights(given);
      tf.dispose(given.map((w) => w.tensor)); // both keep what they need
    }
    const readBack = await nativeResumed.getWeights(); // before any step: the restored state
    readBack.forEach((w, i) => assert.deepEqual(w.tensor.dataSync(), ra[i].tensor.dataSync()));
    tf.dispose(readBack.map((w) => w.tensor));
    adamSteps(a.model, a.vars, reference, 3, 5);
    adamSteps(c.model, c.vars, nativeResumed, 3, 5);
    adamSteps(d.model, d.vars, adamResumed, 3, 5);
    const [wa, wc, wd] = [a, c, d].map((m) => m.model.getWeights().map((w) => w.dataSync()));
    wa.forEach((w, i) => {
      assertClose(wc[i] as Float32Array, w as Float32Array, `native from Adam, weight ${i}`, 1e-4);
      assertClose(wd[i] as Float32Array, w as Float32Array, `Adam from native, weight ${i}`, 1e-4);
    });
    // getWeights gives the caller fresh tensors (tfjs Adam's are its own variables).
    tf.dispose(rb.map((w) => w.tensor));
    tf.dispose(ra.filter((w) => !(w.tensor instanceof tf.Variable)).map((w) => w.tensor));
    [reference, native, nativeResumed, adamResumed].forEach((o) => o.dispose());
    [a, b, c, d].forEach((m) => m.model.dispose());
    assert.equal(tf.memory().numTensors, before, "no tensors left behind");
  },
});

Deno.test({
  name: "tfjs-node: nativeAdam never changes a value read before a step (needs deno task native)",
  ignore: !built,
  fn: async () => {
    await setupBackend("tfjs-node", { quiet: true });
    const { nativeAdam } = await import("../lib/kernels/native_adam.ts");
    const { model, vars } = adamTestModel(40);
    const optimizer = nativeAdam(0.01);
    adamSteps(model, vars, optimizer, 1);
    // TensorFlow updates a resource variable in place when nothing else holds its buffer; a
    // tensor read from the model shares that buffer, so the update must copy instead.
    const held = model.getWeights().map((w) => tf.clone(w));
    const snapshot = held.map((w) => w.dataSync().slice());
    const perStep = tf.memory().numTensors;
    adamSteps(model, vars, optimizer, 3, 1);
    assert.equal(tf.memory().numTensors, perStep, "no tensors leak per step");
    held.forEach((w, i) => assert.deepEqual(w.dataSync(), snapshot[i], `held weight ${i}`));
    const now = model.getWeights().map((w) => w.dataSync());
    assert.ok(now.some((w, i) => w.some((x, j) => x !== snapshot[i][j])), "the model moved on");
    tf.dispose(held);
    optimizer.dispose();
    model.dispose();
  },
});

Deno.test({
  name:
    "tfjs-node: a run checkpointed after 2 epochs resumes to the 4-epoch run (needs deno task native)",
  ignore: !built,
  fn: async () => {
    await setupBackend("tfjs-node", { quiet: true });
    const { trainAutoencoder } = await import("../lib/train.ts");
    const root = await Deno.makeTempDir();
    try {
      const x = tf.tensor2d(values(48 * 20, 70, 0, 1), [48, 20]);
      const options = { epochs: 4, batchSize: 8, seed: 3, progress: "none" as const };
      const straight = adamTestModel(50).model;
      const full = await trainAutoencoder(straight, x, x, options);
      const dir = join(root, "ckpt");
      const first = adamTestModel(50).model;
      await trainAutoencoder(first, x, x, { ...options, epochs: 2, checkpointDir: dir });
      const fresh = adamTestModel(90).model; // other weights: all must come from the checkpoint
      const resumed = await trainAutoencoder(fresh, x, x, {
        ...options,
        checkpointDir: dir,
        resume: true,
      });
      // The optimizer state (moments, step count, beta powers) comes back exactly, so the
      // resumed run is the straight one bit for bit.
      assert.deepEqual(
        resumed.history.map((h) => h.trainLoss),
        full.history.map((h) => h.trainLoss),
      );
      assert.deepEqual(
        fresh.getWeights().map((w) => w.dataSync()),
        straight.getWeights().map((w) => w.dataSync()),
      );
      [straight, first, fresh].forEach((m) => m.dispose());
      x.dispose();
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test("nativeAdam refuses a backend other than tfjs-node, and bad hyperparameters", async () => {
  await setupBackend("cpu", { quiet: true });
  const { nativeAdam } = await import("../lib/kernels/native_adam.ts");
  assert.throws(() => nativeAdam(0.01), /needs the "tensorflow" backend/);
  if (!built) return;
  await setupBackend("tfjs-node", { quiet: true });
  assert.throws(() => nativeAdam(0), /learningRate must be positive/);
  assert.throws(() => nativeAdam(0.1, 1), /beta1 must be in \[0, 1\)/);
  assert.throws(() => nativeAdam(0.1, 0.9, -0.1), /beta2 must be in \[0, 1\)/);
});

Deno.test({
  name: "tfjs-node: an mlp-bn encoder with its BatchNorms folded equals cpu's unfolded predict " +
    "(needs deno task native)",
  ignore: !built,
  fn: async () => {
    await setupBackend("tfjs-node", { quiet: true });
    const { buildMlpBlocksAutoencoder, foldBatchNorm, TorchBatchNorm } = await import(
      "../lib/models/mod.ts"
    );
    const run = (fold: boolean) => () => {
      const { encoder, autoencoder } = buildMlpBlocksAutoencoder({ nLayers: 4, seed: 5 });
      let seed = 100;
      for (const layer of encoder.layers) {
        if (!(layer instanceof TorchBatchNorm)) continue;
        const c = layer.getWeights()[0].shape[0];
        layer.setWeights([
          tf.tensor(values(c, seed++, -2, 2)),
          tf.tensor(values(c, seed++)),
          tf.tensor(values(c, seed++, -0.5, 0.5)),
          tf.tensor(values(c, seed++, 0.05, 3)),
        ]);
      }
      const x = tf.tensor(values(64 * 784, 9, 0, 1), [64, 784]);
      const forward = fold ? foldBatchNorm(encoder) : null;
      if (fold) assert.equal(forward!.folded, 3);
      const y = forward ? forward.predict(x) : encoder.predict(x) as tf.Tensor;
      forward?.dispose();
      autoencoder.dispose();
      return [y];
    };
    const [want] = await on("cpu", run(false));
    const [got] = await on("tensorflow", run(true));
    assertClose(got, want, "folded encoder on tfjs-node", 1e-4);
  },
});
