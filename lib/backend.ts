/**
 * Picks the fastest tfjs compute backend that really works on this machine and says why.
 *
 * Order tried by `"auto"`: tfjs-node-gpu (libtensorflow + CUDA), tfjs-node (libtensorflow on
 * CPU), webgpu (only on a real GPU, never a software rasteriser such as llvmpipe), wasm (XNNPACK,
 * SIMD, one thread, plus the training kernels of `lib/kernels/`), cpu (pure JS, very slow for
 * convolutions).
 *
 * @example
 * ```ts
 * import { setupBackend } from "../lib/backend.ts";
 * const choice = await setupBackend(); // AE_BACKEND or "auto"
 * // prints e.g. "backend: wasm (XNNPACK SIMD, ...); skipped tfjs-node-gpu: not installed ..."
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  registerCpuKernelFixes,
  registerNativeKernels,
  registerWasmTrainingKernels,
} from "./kernels/mod.ts";
import { prepareTfjsNodeImport } from "./native/node_compat.ts";

/** A backend `setupBackend` can be asked for; `"auto"` tries the others fastest first. */
export type BackendName = "auto" | "tfjs-node-gpu" | "tfjs-node" | "webgpu" | "wasm" | "cpu";

/** A concrete backend (every {@link BackendName} except `"auto"`). */
export type ConcreteBackendName = Exclude<BackendName, "auto">;

/** Every valid {@link BackendName}, in the order `"auto"` tries the concrete ones. */
export const BACKEND_NAMES: readonly BackendName[] = [
  "auto",
  "tfjs-node-gpu",
  "tfjs-node",
  "webgpu",
  "wasm",
  "cpu",
];

/** The concrete backends in the order `"auto"` tries them (fastest first). */
export const AUTO_ORDER: readonly ConcreteBackendName[] = [
  "tfjs-node-gpu",
  "tfjs-node",
  "webgpu",
  "wasm",
  "cpu",
];

/** A faster backend that was not used, and the one-line reason why. */
export interface SkippedBackend {
  /** The backend that was tried and not used. */
  name: ConcreteBackendName;
  /** Why not (one line, no stack trace). */
  why: string;
}

/** What `setupBackend` chose. */
export interface BackendChoice {
  /** The backend that is now active. */
  name: ConcreteBackendName;
  /** The name tfjs knows it by (`tf.getBackend()`): "tensorflow", "webgpu", "wasm" or "cpu". */
  tfBackend: string;
  /** What it is and why it was chosen (one line). */
  reason: string;
  /** Faster backends that were tried first and failed (empty unless `"auto"` was asked for). */
  skipped: SkippedBackend[];
  /** What was asked for (`"auto"` or a concrete name). */
  requested: BackendName;
}

/** Options of {@link setupBackend}. */
export interface SetupBackendOptions {
  /** Do not print the one-line summary. Default false. */
  quiet?: boolean;
}

/** The npm packages of the libtensorflow backends, pinned in deno.json's import map. */
const NODE_PACKAGES = {
  "tfjs-node-gpu": "@tensorflow/tfjs-node-gpu",
  "tfjs-node": "@tensorflow/tfjs-node",
} as const;

let lastChoice: BackendChoice | null = null;

/** Checks a backend name, with an error that lists the valid ones. */
export function parseBackendName(name: string): BackendName {
  const trimmed = name.trim();
  if ((BACKEND_NAMES as readonly string[]).includes(trimmed)) return trimmed as BackendName;
  throw new Error(
    `Unknown backend ${JSON.stringify(name)}; expected one of ${BACKEND_NAMES.join(", ")}.`,
  );
}

/** The backend asked for by the environment variable `AE_BACKEND`, or `"auto"`. */
export function backendFromEnv(): BackendName {
  let value: string | undefined;
  try {
    value = Deno.env.get("AE_BACKEND");
  } catch {
    value = undefined; // no --allow-env: behave as if unset
  }
  if (value === undefined || value.trim() === "") return "auto";
  try {
    return parseBackendName(value);
  } catch (err) {
    throw new Error(`AE_BACKEND: ${(err as Error).message}`);
  }
}

/**
 * Makes the chosen backend the active tfjs backend and prints one line saying which and why.
 *
 * `name` defaults to the environment variable `AE_BACKEND`, else `"auto"`. With `"auto"` the
 * backends of {@link AUTO_ORDER} are tried in turn and the first that works is used; the ones
 * skipped are listed with a short reason. An explicit name that cannot be used throws with the
 * reason. It also replaces cpu-backend kernels that tfjs 4.22.0 gets wrong (lib/kernels/).
 * Calling it again with the same name while that backend is still active is cheap (no
 * new probing).
 *
 * @throws if `name` is not a {@link BackendName}, or an explicit backend cannot be used.
 */
export async function setupBackend(
  name?: BackendName,
  options: SetupBackendOptions = {},
): Promise<BackendChoice> {
  const requested = name === undefined ? backendFromEnv() : parseBackendName(name);
  // Reference computations switch to cpu directly; its wrong kernels are fixed whatever is chosen.
  registerCpuKernelFixes();
  if (
    lastChoice !== null &&
    (lastChoice.requested === requested || lastChoice.name === requested) &&
    tf.getBackend() === lastChoice.tfBackend
  ) {
    if (!options.quiet) console.log(formatChoice(lastChoice));
    return lastChoice;
  }
  const candidates: readonly ConcreteBackendName[] = requested === "auto"
    ? AUTO_ORDER
    : [requested];
  const skipped: SkippedBackend[] = [];
  for (const candidate of candidates) {
    try {
      const { tfBackend, reason } = await activate(candidate);
      const choice: BackendChoice = { name: candidate, tfBackend, reason, skipped, requested };
      lastChoice = choice;
      if (!options.quiet) console.log(formatChoice(choice));
      return choice;
    } catch (err) {
      const why = oneLine(err);
      if (requested !== "auto") {
        throw new Error(`Backend "${candidate}" cannot be used here: ${why}`);
      }
      skipped.push({ name: candidate, why });
    }
  }
  // Unreachable in practice: the pure-JS cpu backend always works.
  throw new Error(
    `No backend could be used: ${skipped.map((s) => `${s.name}: ${s.why}`).join("; ")}`,
  );
}

/** The last choice made by {@link setupBackend} in this process, or null if none yet. */
export function currentBackendChoice(): BackendChoice | null {
  return lastChoice;
}

/**
 * A one-line description of the active backend for notebooks and logs, e.g.
 * `backend: wasm (...); skipped tfjs-node-gpu: ...`. Works (with less detail) when the
 * backend was set without {@link setupBackend}.
 */
export function describeBackend(): string {
  const active = tf.getBackend();
  if (lastChoice !== null && lastChoice.tfBackend === active) return formatChoice(lastChoice);
  return `backend: ${active ?? "none"} (set directly, not by setupBackend)`;
}

/** The one-line summary printed by {@link setupBackend}. */
export function formatChoice(choice: BackendChoice): string {
  const skipped = choice.skipped.map((s) => `${s.name}: ${s.why}`).join("; ");
  return `backend: ${choice.name} (${choice.reason})` + (skipped ? `; skipped ${skipped}` : "");
}

/** Turns any thrown value into one short line (first line of the message, capped). */
function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const first = message.split("\n").map((l) => l.trim()).find((l) => l !== "") ?? "unknown error";
  return first.length > 200 ? `${first.slice(0, 197)}...` : first;
}

/** Tries to make one backend active; throws with the reason if it cannot. */
function activate(name: ConcreteBackendName): Promise<{ tfBackend: string; reason: string }> {
  switch (name) {
    case "tfjs-node-gpu":
    case "tfjs-node":
      return activateNode(name);
    case "webgpu":
      return activateWebGpu();
    case "wasm":
      return activateWasm();
    case "cpu":
      return activateCpu();
  }
}

async function activateNode(
  name: "tfjs-node-gpu" | "tfjs-node",
): Promise<{ tfBackend: string; reason: string }> {
  if (tf.findBackendFactory("tensorflow") === null) {
    // The specifier is built at run time on purpose: a literal would put the package (and its
    // native addon) into every type-check and test graph. It still resolves through deno.json's
    // import map, which pins the version to the one of @tensorflow/tfjs (same tfjs-core).
    const specifier = NODE_PACKAGES[name];
    if (nativeAddonPresent(specifier) === false) {
      // Checked before importing: a failed import still registers the package's kernels, and
      // the second package would then print one warning per kernel.
      throw new Error(notInstalled(specifier));
    }
    if (name === "tfjs-node-gpu" && Deno.build.os === "linux" && !existsSync("/dev/nvidiactl")) {
      // Checked before importing: loading the CUDA libtensorflow without a driver only logs
      // warnings, and its "tensorflow" backend would then stand in for tfjs-node's.
      throw new Error("no NVIDIA driver (/dev/nvidiactl missing)");
    }
    // tfjs-node needs node:util's removed isNullOrUndefined under Deno (lib/native/).
    prepareTfjsNodeImport();
    try {
      await import(specifier);
    } catch (err) {
      const why = oneLine(err);
      if (/tfjs_binding\.node\) can ?not be found/i.test(why)) {
        throw new Error(notInstalled(specifier));
      }
      // e.g. a library in deps/lib missing after node_modules was partly recreated.
      throw new Error(`${specifier} failed to load (rebuild: ${buildCommand(name)}): ${why}`);
    }
    if (tf.findBackendFactory("tensorflow") === null) {
      throw new Error(`${specifier} loaded but did not register the "tensorflow" backend`);
    }
  }
  if (!(await tf.setBackend("tensorflow"))) {
    throw new Error(`the "tensorflow" backend failed to initialise`);
  }
  registerNativeKernels();
  // NodeJSKernelBackend sets `isUsingGpuDevice` (a boolean) from libtensorflow, and
  // `isGPUPackage` when the backend came from tfjs-node-gpu.
  const backend = tf.backend() as unknown as { isUsingGpuDevice?: unknown; isGPUPackage?: unknown };
  const onGpu = typeof backend.isUsingGpuDevice === "boolean" ? backend.isUsingGpuDevice : null;
  const fromPackage = backend.isGPUPackage === true
    ? NODE_PACKAGES["tfjs-node-gpu"]
    : backend.isGPUPackage === false
    ? NODE_PACKAGES["tfjs-node"]
    : NODE_PACKAGES[name];
  if (name === "tfjs-node-gpu" && onGpu !== true) {
    throw new Error(
      `${fromPackage} loaded but libtensorflow found no CUDA device (tfjs-node would use the CPU)`,
    );
  }
  const where = onGpu === true ? "CUDA GPU" : "CPU";
  return { tfBackend: "tensorflow", reason: `libtensorflow via ${fromPackage} on ${where}` };
}

function notInstalled(specifier: string): string {
  const name = specifier === NODE_PACKAGES["tfjs-node-gpu"] ? "tfjs-node-gpu" : "tfjs-node";
  return `${specifier} installed without its native addon (tfjs_binding.node); ` +
    `build it with \`${buildCommand(name)}\``;
}

/** The command that builds a libtensorflow backend's addon (lib/native/build.ts). */
function buildCommand(name: "tfjs-node-gpu" | "tfjs-node"): string {
  return name === "tfjs-node-gpu" ? "deno task native --gpu" : "deno task native";
}

/**
 * Whether the package's native addon (lib/napi-v*\/tfjs_binding.node) is on disk: true/false, or
 * null when the package is not in node_modules yet (then only importing it can tell).
 */
function nativeAddonPresent(specifier: string): boolean | null {
  let url: string;
  try {
    url = import.meta.resolve(specifier);
  } catch {
    return null;
  }
  if (!url.startsWith("file:")) return null;
  const libDir = join(dirname(dirname(fileURLToPath(url))), "lib"); // <pkg>/dist/index.js -> <pkg>/lib
  if (!existsSync(libDir)) return false;
  return readdirSync(libDir).some((entry) => existsSync(join(libDir, entry, "tfjs_binding.node")));
}

/** Software WebGPU adapters that are slower than the wasm backend. */
const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|software|\bcpu\b|warp/i;

async function activateWebGpu(): Promise<{ tfBackend: string; reason: string }> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (gpu === undefined) throw new Error("no WebGPU in this runtime (navigator.gpu missing)");
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (adapter === null) throw new Error("no WebGPU adapter found");
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const label = info.description ||
    [info.vendor, info.architecture, info.device].filter((s) => s !== undefined && s !== "")
      .join(" ");
  const fallback = info.isFallbackAdapter === true ||
    (adapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  if (fallback || SOFTWARE_ADAPTER.test(label)) {
    throw new Error(`WebGPU adapter is a software renderer (${label || "fallback adapter"})`);
  }
  if (tf.findBackendFactory("webgpu") === null) {
    await import("@tensorflow/tfjs-backend-webgpu");
  }
  if (!(await tf.setBackend("webgpu"))) throw new Error("the webgpu backend failed to initialise");
  return { tfBackend: "webgpu", reason: `WebGPU on ${label || "an unnamed adapter"}` };
}

let wasmPathsSet = false;

async function activateWasm(): Promise<{ tfBackend: string; reason: string }> {
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  if (!wasmPathsSet) {
    // The .wasm binaries sit next to the package's entry file; resolve them from this module so
    // that notebooks in any folder find them.
    const entry = import.meta.resolve("@tensorflow/tfjs-backend-wasm");
    wasm.setWasmPaths(`${dirname(fileURLToPath(entry))}/`);
    // The threaded build needs web workers with SharedArrayBuffer, which fail under Deno.
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    wasmPathsSet = true;
  }
  registerWasmTrainingKernels();
  if (!(await tf.setBackend("wasm"))) throw new Error("the wasm backend failed to initialise");
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
  return {
    tfBackend: "wasm",
    reason: `XNNPACK ${simd ? "SIMD" : "no SIMD"}, 1 thread, with conv training kernels`,
  };
}

async function activateCpu(): Promise<{ tfBackend: string; reason: string }> {
  if (!(await tf.setBackend("cpu"))) throw new Error("the cpu backend failed to initialise");
  return { tfBackend: "cpu", reason: "pure JavaScript, slow for convolutions" };
}
