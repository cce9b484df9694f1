/** setupBackend: explicit choices, "auto" with reasons, bad names, the tfjs-node path. */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { addonInstalled } from "./fixtures/native_addon.ts";
import {
  AUTO_ORDER,
  type BackendName,
  currentBackendChoice,
  describeBackend,
  setupBackend,
} from "../lib/backend.ts";

/** Runs `fn` and returns what it printed with console.log. */
async function captureLog<T>(fn: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => lines.push(args.map(String).join(" "));
  try {
    return { result: await fn(), lines };
  } finally {
    console.log = original;
  }
}

/** Independent of lib/backend.ts: is there a WebGPU adapter that is not a software renderer? */
async function realGpuAdapter(): Promise<boolean> {
  const gpu = (navigator as { gpu?: GPU }).gpu;
  const adapter = await gpu?.requestAdapter();
  if (!adapter) return false;
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return !info.isFallbackAdapter && !/llvmpipe|lavapipe|swiftshader/i.test(info.description);
}

Deno.test("setupBackend('cpu') activates cpu and prints one line", async () => {
  const { result, lines } = await captureLog(() => setupBackend("cpu"));
  assert.equal(result.name, "cpu");
  assert.equal(result.tfBackend, "cpu");
  assert.equal(tf.getBackend(), "cpu");
  assert.deepEqual(result.skipped, []);
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^backend: cpu \(/);
});

Deno.test("setupBackend('wasm') activates wasm with the training kernels", async () => {
  const { result, lines } = await captureLog(() => setupBackend("wasm"));
  assert.equal(result.name, "wasm");
  assert.equal(tf.getBackend(), "wasm");
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^backend: wasm \(XNNPACK/);
  // The kernel the wasm package lacks is there and trains a conv.
  assert.ok(tf.getKernel("Conv2DBackpropFilter", "wasm") !== undefined);
  const g = tf.tidy(() => {
    const x = tf.ones([1, 5, 5, 1]) as tf.Tensor4D;
    return tf.grad((w: tf.Tensor) => tf.sum(tf.conv2d(x, w as tf.Tensor4D, 1, "valid")))(
      tf.zeros([3, 3, 1, 1]),
    ).dataSync();
  });
  assert.deepEqual(Array.from(g), new Array(9).fill(9)); // each tap sees 3x3 ones
  assert.match(describeBackend(), /^backend: wasm/);
});

Deno.test("setupBackend is cheap when called again with the same name", async () => {
  const first = await setupBackend("wasm", { quiet: true });
  const t0 = performance.now();
  const again = await setupBackend("wasm", { quiet: true });
  assert.ok(performance.now() - t0 < 50, "second call should not re-initialise");
  assert.equal(again, first);
  assert.equal(currentBackendChoice(), first);
});

Deno.test({
  name: "auto picks the first working backend and says why the faster ones were skipped",
  sanitizeResources: false, // the WebGPU probe keeps an adapter handle
  fn: async () => {
    const { result, lines } = await captureLog(() => setupBackend("auto"));
    assert.equal(lines.length, 1);
    assert.equal(result.requested, "auto");
    const chosenAt = AUTO_ORDER.indexOf(result.name);
    assert.ok(chosenAt >= 0);
    assert.deepEqual(result.skipped.map((s) => s.name), AUTO_ORDER.slice(0, chosenAt));
    for (const s of result.skipped) {
      assert.ok(s.why.length > 0 && s.why.length <= 200 && !s.why.includes("\n"), s.why);
      assert.ok(lines[0].includes(`${s.name}: ${s.why}`));
    }
    // On a machine like the build machine (no libtensorflow addon, no real GPU) that is wasm.
    const nodeGpu = addonInstalled("@tensorflow/tfjs-node-gpu");
    const node = addonInstalled("@tensorflow/tfjs-node");
    if (!nodeGpu && !node && !(await realGpuAdapter())) {
      assert.equal(result.name, "wasm");
      assert.deepEqual(result.skipped.map((s) => s.name), ["tfjs-node-gpu", "tfjs-node", "webgpu"]);
      assert.match(result.skipped[0].why, /native addon/);
      assert.match(result.skipped[2].why, /software renderer|no WebGPU/);
    }
  },
});

Deno.test("AE_BACKEND picks the default backend", async () => {
  const before = Deno.env.get("AE_BACKEND");
  try {
    Deno.env.set("AE_BACKEND", "cpu");
    const choice = await setupBackend(undefined, { quiet: true });
    assert.equal(choice.name, "cpu");
    Deno.env.set("AE_BACKEND", "gpu please");
    await assert.rejects(
      () => setupBackend(undefined, { quiet: true }),
      /AE_BACKEND: Unknown backend/,
    );
  } finally {
    if (before === undefined) Deno.env.delete("AE_BACKEND");
    else Deno.env.set("AE_BACKEND", before);
  }
});

Deno.test("an unknown backend name is rejected with the list of valid ones", async () => {
  await assert.rejects(
    () => setupBackend("tpu" as BackendName, { quiet: true }),
    (err: Error) => {
      assert.match(err.message, /Unknown backend "tpu"/);
      for (const name of ["auto", "tfjs-node-gpu", "tfjs-node", "webgpu", "wasm", "cpu"]) {
        assert.ok(err.message.includes(name), `message lists ${name}`);
      }
      return true;
    },
  );
});

Deno.test("tfjs-node without its native addon fails with a one-line reason", async () => {
  if (addonInstalled("@tensorflow/tfjs-node")) {
    const choice = await setupBackend("tfjs-node", { quiet: true });
    assert.equal(choice.tfBackend, "tensorflow");
    return;
  }
  await assert.rejects(
    () => setupBackend("tfjs-node", { quiet: true }),
    (err: Error) => {
      assert.match(err.message, /^Backend "tfjs-node" cannot be used here: /);
      assert.ok(!err.message.includes("\n"), "one line");
      assert.match(err.message, /tfjs_binding\.node|failed to load/);
      return true;
    },
  );
  // The failed attempt leaves the previous backend usable.
  await setupBackend("cpu", { quiet: true });
  assert.equal(tf.getBackend(), "cpu");
});

const REPO = fileURLToPath(new URL("..", import.meta.url));

/**
 * Lines that tfjs, tfjs-node or libtensorflow print on their own and that say nothing about this
 * project's run (silenced in lib/tfjs.ts and lib/native/node_compat.ts).
 */
const NOISE = [
  /Hi, looks like you are running TensorFlow\.js in Node\.js/,
  /install our node backend/,
  /backend was already registered/,
  /is already registered/,
  /has already been set/,
  /This TensorFlow binary is optimized/,
  /oneDNN custom operations are on/,
];

/** Runs a Deno subcommand in the repository and returns its stdout and stderr together. */
async function denoOutput(args: string[]): Promise<{ code: number; text: string }> {
  const env = { ...Deno.env.toObject() };
  delete env.TF_CPP_MIN_LOG_LEVEL; // what a user's shell has: the library must set it itself
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: REPO,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, text: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}

function assertQuiet(text: string): void {
  for (const pattern of NOISE) assert.doesNotMatch(text, pattern, `noise in:\n${text}`);
}

Deno.test("the bench CLI on the cpu backend prints no tfjs banner, only its backend line", async () => {
  // The pure-JS backend prints the banner on its first tensor unless tfjs's prod mode is on.
  const { code, text } = await denoOutput([
    "run",
    "-A",
    "lib/bench/bench.ts",
    "--backend",
    "cpu",
    "--models",
    "dense-64",
    "--batches",
    "1",
    "--warmup",
    "0",
  ]);
  assert.equal(code, 0, text);
  assertQuiet(text);
  assert.match(text, /^backend: cpu \(/m, "the one real backend line stays");
  assert.match(text, /dense-64 +716640/, "the bench ran");
});

Deno.test("auto backend set-up plus cpu tensors in one process print one backend line, no noise", async () => {
  // The fastest backend (tfjs-node where its addon is built) loads libtensorflow and re-registers
  // tfjs's kernels and platform; cpu tensors afterwards are what reference computations do.
  const script = `
    import * as tf from "@tensorflow/tfjs";
    import { setupBackend } from "./lib/backend.ts";
    const choice = await setupBackend();
    tf.tidy(() => tf.matMul(tf.ones([4, 3]), tf.ones([3, 2])).dataSync());
    await tf.setBackend("cpu");
    tf.tidy(() => tf.add(tf.ones([3]), 1).dataSync());
    await setupBackend(choice.name, { quiet: true });
    console.log("done on " + choice.name);
  `;
  const { code, text } = await denoOutput(["eval", "--quiet", script]);
  assert.equal(code, 0, text);
  assertQuiet(text);
  const lines = text.trim().split("\n");
  assert.equal(lines.length, 2, text);
  assert.match(lines[0], /^backend: /);
  assert.match(lines[1], /^done on /);
});
