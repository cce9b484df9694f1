/**
 * `deno task native`: builds tfjs-node's native addon against the TensorFlow libraries of a PyPI
 * wheel, because `@tensorflow/tfjs-node`'s own install script downloads libtensorflow 2.9.1 from
 * Google storage, which is unreachable here (and answers 403 upstream).
 *
 * What it does (each step is skipped when its output is already there; `--force` redoes all):
 *
 * 1. **Wheel.** `pip download --no-deps --only-binary=:all: --python-version 3.10 --platform
 *    manylinux2014_x86_64 tensorflow-cpu==2.9.1` into `.native/wheels/` (207 MB). 2.9.1 is the
 *    libtensorflow that tfjs-node 4.22.0 was written against; its wheels exist for CPython
 *    3.7-3.10 only, but no Python runs here: only the shared libraries are used.
 * 2. **Extract** into `.native/tensorflow-cpu-2.9.1/`: `lib/libtensorflow_framework.so.2`,
 *    `lib/_pywrap_tensorflow_internal.so` and the C headers (`include/tensorflow/c/**`,
 *    `include/tensorflow/core/platform/ctstring*.h`). The wheel has no `libtensorflow.so` and no
 *    `libtensorflow_cc.so`: the C and eager C APIs (`TF_*`, `TFE_*`, 555 symbols, versioned
 *    `@@tensorflow`) are exported by `_pywrap_tensorflow_internal.so`, the Python extension.
 * 3. **Python stub.** That extension refers to 187 Python C API symbols (`PyBool_Type`,
 *    `PyArg_ParseTuple`, ...) that a Python interpreter would provide. The data ones are bound
 *    when the library is loaded, so without them `dlopen` fails with "undefined symbol". A tiny
 *    `libtfjs_pystub.so` defines each of them as a function that prints its name and aborts; the
 *    C API never calls them (the bindings are reached only through `PyInit_*`).
 * 4. **Addon.** `g++` compiles `binding/tfjs_backend.cc` and `binding/tfjs_binding.cc` of the
 *    npm package (what its binding.gyp would build) with `-DNAPI_VERSION=8` against Node-API
 *    headers found on the machine (`node_api.h`: `NODE_API_HEADERS_DIR`, the running node's
 *    `include/node`, `/usr/include/node`, or node-gyp's cache; nodejs.org is unreachable, so
 *    node-gyp could not fetch them), linked to the three libraries with
 *    `RUNPATH=$ORIGIN/../../deps/lib`. Plain g++ needs neither gyp nor Python.
 * 5. **Install** where tfjs-node looks: `<package>/lib/napi-v8/tfjs_binding.node` (the directory
 *    `@mapbox/node-pre-gyp` picks: the highest of the package's napi_versions, 3-8, that the
 *    runtime supports; Deno has Node-API 10) and the libraries in `<package>/deps/lib/` (hard
 *    links to `.native/`, so no second copy on disk). Re-run after node_modules is recreated.
 * 6. **Verify** in a fresh Deno process (`lib/native/verify.ts`): a matMul and a conv2d
 *    forward + gradient on the "tensorflow" backend must equal the cpu backend.
 *
 * Under Deno, tfjs-node also needs `util.isNullOrUndefined` back (see `node_compat.ts`);
 * `setupBackend` in `lib/backend.ts` does that before importing the package.
 *
 * **Intel's builds (`--variant avx512`, the default where /proc/cpuinfo lists `avx512f`;
 * `--variant avx2`, the default where it lists `avx2` and `fma` but not `avx512f`).** PyPI's
 * `tensorflow-cpu` is compiled for AVX only. `intel-tensorflow-avx512==2.9.1` (compiled for
 * AVX-512) and `intel-tensorflow==2.9.1` are the same TensorFlow release with the same C API,
 * built with oneDNN (`--config=mkl`); the same addon source builds against them. Their library
 * also needs Intel's OpenMP runtime `libiomp5.so`, taken from the `intel-openmp` wheel into
 * `deps/lib/`. Measured on a 2-core Xeon with AVX-512 and a 2-core AMD EPYC without: see README,
 * Performance.
 *
 * **GPU (`--gpu`; built here and verified on the CPU only: no GPU on this machine; 40 s, 926 MB
 * extracted).** The same recipe with the `tensorflow==2.9.1` wheel (CUDA kernels inside
 * `_pywrap_tensorflow_internal.so`) installs into `@tensorflow/tfjs-node-gpu`. At run time libtensorflow 2.9 `dlopen`s CUDA 11.2 and cuDNN 8.1
 * by soname (`libcudart.so.11.0`, `libcublas.so.11`, `libcublasLt.so.11`, `libcufft.so.10`,
 * `libcurand.so.10`, `libcusolver.so.11`, `libcusparse.so.11`, `libcudnn.so.8`); put them on
 * `LD_LIBRARY_PATH` (e.g. from a CUDA 11 install or the `nvidia-*-cu11` PyPI wheels) and a
 * driver that supports CUDA 11. Without them TensorFlow logs that it cannot load them and runs
 * on the CPU, which `setupBackend("tfjs-node-gpu")` reports as "found no CUDA device". GPUs
 * newer than TF 2.9's compiled architectures (up to sm_80, e.g. H100 = sm_90) run through PTX
 * JIT compilation on first use. `setupBackend` does not even load the CUDA build when the machine
 * has no NVIDIA driver (`/dev/nvidiactl`), so a GPU build left on a CPU machine costs nothing.
 *
 * Linux x86_64 only (the wheels and the `$ORIGIN` layout); needs `python3 -m pip` (or `--wheel`),
 * `unzip`, `nm` and `g++`.
 *
 * @example
 * ```sh
 * deno task native            # build, install and verify @tensorflow/tfjs-node
 * deno task native --force    # rebuild everything
 * AE_BACKEND=tfjs-node deno task bench
 * ```
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { REPO_ROOT } from "../paths.ts";

/** The libtensorflow version tfjs-node 4.22.0 was built for, and the wheel version used. */
export const TENSORFLOW_VERSION = "2.9.1";

/** CPython tag of the wheel downloaded (TF 2.9.1 has no wheel for newer Pythons). */
export const WHEEL_PYTHON_VERSION = "3.10";

/**
 * Which TensorFlow build: the CPU wheel or one of Intel's oneDNN builds of the same version for
 * tfjs-node, the CUDA wheel for tfjs-node-gpu.
 */
export type NativeVariant = CpuVariant | "gpu";

/** The variants for tfjs-node (CPU): {@link NATIVE_VARIANTS}. */
export type CpuVariant = "cpu" | "avx2" | "avx512";

/** Every CPU variant, for `--variant` and its error message. */
export const CPU_VARIANTS: readonly CpuVariant[] = ["cpu", "avx2", "avx512"];

/** Names that belong to one {@link NativeVariant}. */
export interface NativeVariantSpec {
  /** PyPI project whose wheel carries the libraries. */
  pypiProject: "tensorflow-cpu" | "intel-tensorflow" | "intel-tensorflow-avx512" | "tensorflow";
  /** npm package whose addon is built. */
  npmPackage: "@tensorflow/tfjs-node" | "@tensorflow/tfjs-node-gpu";
  /**
   * A further library the TensorFlow libraries load, from another PyPI wheel (project, path of
   * the library inside that wheel).
   */
  runtime?: { pypiProject: string; member: string };
}

/** Intel's OpenMP runtime, which Intel's builds (oneDNN) link: the wheel and the library in it. */
const INTEL_OPENMP = { pypiProject: "intel-openmp==2024.2.3", member: "*/lib/libiomp5.so" };

/** The PyPI wheel and npm package of each variant. */
export const NATIVE_VARIANTS: Readonly<Record<NativeVariant, NativeVariantSpec>> = {
  cpu: { pypiProject: "tensorflow-cpu", npmPackage: "@tensorflow/tfjs-node" },
  avx2: {
    pypiProject: "intel-tensorflow",
    npmPackage: "@tensorflow/tfjs-node",
    runtime: INTEL_OPENMP,
  },
  avx512: {
    pypiProject: "intel-tensorflow-avx512",
    npmPackage: "@tensorflow/tfjs-node",
    runtime: INTEL_OPENMP,
  },
  gpu: { pypiProject: "tensorflow", npmPackage: "@tensorflow/tfjs-node-gpu" },
};

/**
 * The CPU variant for this machine: `"avx512"` where the CPU has AVX-512, `"avx2"` where it has
 * AVX2 and FMA but not AVX-512 (Intel's builds were faster than `tensorflow-cpu` on both kinds:
 * see README, Performance), else `"cpu"`.
 *
 * @param cpuinfo Text of /proc/cpuinfo (default: read it; unreadable counts as none of these).
 */
export function defaultCpuVariant(cpuinfo?: string): CpuVariant {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = readFileSync("/proc/cpuinfo", "utf8");
    } catch {
      text = "";
    }
  }
  const line = text.split("\n").find((l) => l.startsWith("flags")) ?? "";
  const flags = new Set(line.slice(line.indexOf(":") + 1).trim().split(/\s+/));
  if (flags.has("avx512f")) return "avx512";
  if (flags.has("avx2") && flags.has("fma")) return "avx2";
  return "cpu";
}

/**
 * The file, relative to the npm package, in which the install step records the variant and wheel
 * it installed (`"avx2 intel-tensorflow==2.9.1"`): which build is loaded decides, e.g., whether
 * oneDNN's kernels are there.
 */
export const INSTALLED_VARIANT_FILE = "deps/variant";

/**
 * The variant `deno task native` last installed into the npm package at `packageDir`, or null
 * when it has not recorded one (not built by this project, or built before the record existed).
 */
export function installedVariant(packageDir: string): NativeVariant | null {
  let text: string;
  try {
    text = readFileSync(join(packageDir, INSTALLED_VARIANT_FILE), "utf8");
  } catch {
    return null;
  }
  const name = text.trim().split(/\s+/)[0];
  return Object.hasOwn(NATIVE_VARIANTS, name) ? name as NativeVariant : null;
}

/** The shared libraries the addon needs, as installed in `<package>/deps/lib/`. */
export const NATIVE_LIBRARIES: readonly string[] = [
  "_pywrap_tensorflow_internal.so",
  "libtensorflow_framework.so.2",
  "libtfjs_pystub.so",
];

/** Options of {@link buildNative}. */
export interface NativeBuildOptions {
  /** Default: {@link defaultCpuVariant}. */
  variant?: NativeVariant;
  /** Repository root (holds deno.json and node_modules/); default: two levels above this file. */
  root?: string;
  /** Use this wheel file instead of downloading one. */
  wheel?: string;
  /** Redo every step even when its output exists. Default false. */
  force?: boolean;
  /** Check the installed addon in a fresh Deno process. Default true. */
  verify?: boolean;
  /** Progress lines (default: console.log). */
  log?: (line: string) => void;
}

/** One step of the build and what it cost. */
export interface NativeBuildStep {
  /** Short name: wheel, extract, pystub, compile, install, verify. */
  name: string;
  /** Wall time in seconds. */
  seconds: number;
  /** True when the output was already there and the step did nothing. */
  skipped: boolean;
}

/** What {@link buildNative} produced. */
export interface NativeBuildResult {
  /** The variant built. */
  variant: NativeVariant;
  /** The npm package directory the addon was installed into (real path). */
  packageDir: string;
  /** The installed addon. */
  addonPath: string;
  /** Node-API version the addon was compiled for (its lib/napi-v* directory). */
  napiVersion: number;
  /** The wheel the libraries came from. */
  wheel: string;
  /** Steps in order with their timings. */
  steps: NativeBuildStep[];
  /** The verification's summary line, or null when not verified. */
  verified: string | null;
}

/** Where things go for one variant under the repository root. */
export interface NativePaths {
  /** `.native/` (git-ignored). */
  nativeDir: string;
  /** Downloaded wheels. */
  wheelDir: string;
  /** Extracted libraries and headers: `lib/`, `include/`. */
  tensorflowDir: string;
  /** Stub library, compiled addon and its build stamp. */
  buildDir: string;
  /** `node_modules/<npm package>` (may be a symlink into node_modules/.deno/). */
  packageLink: string;
}

/** The default repository root ({@link REPO_ROOT}). */
export function defaultRoot(): string {
  return REPO_ROOT;
}

/** Paths used for `variant` under `root`. */
export function nativePaths(variant: NativeVariant, root: string = defaultRoot()): NativePaths {
  const spec = NATIVE_VARIANTS[variant];
  const nativeDir = join(root, ".native");
  return {
    nativeDir,
    wheelDir: join(nativeDir, "wheels"),
    tensorflowDir: join(nativeDir, `${spec.pypiProject}-${TENSORFLOW_VERSION}`),
    buildDir: join(nativeDir, `build-${variant}`),
    packageLink: join(root, "node_modules", spec.npmPackage),
  };
}

/**
 * The Node-API version node-pre-gyp will look for: the highest of the package's
 * `binary.napi_versions` that the runtime supports (`process.versions.napi`).
 */
export function napiBuildVersion(packageJson: unknown, runtimeNapi: number): number {
  const versions = (packageJson as { binary?: { napi_versions?: unknown } })?.binary
    ?.napi_versions;
  if (!Array.isArray(versions) || versions.length === 0) {
    throw new Error("package.json has no binary.napi_versions (is it tfjs-node?)");
  }
  const usable = versions.filter((v): v is number => typeof v === "number" && v <= runtimeNapi);
  if (usable.length === 0) {
    throw new Error(
      `runtime Node-API ${runtimeNapi} is older than every version the package supports ` +
        `(${versions.join(", ")})`,
    );
  }
  return Math.max(...usable);
}

/**
 * Downloads, extracts, compiles, installs and verifies tfjs-node's native addon (see the module
 * documentation). Idempotent: finished steps are skipped unless `force`.
 *
 * @throws with the failing command and its last output lines when a step fails.
 */
export async function buildNative(options: NativeBuildOptions = {}): Promise<NativeBuildResult> {
  const variant = options.variant ?? defaultCpuVariant();
  if (!(variant in NATIVE_VARIANTS)) {
    throw new Error(
      `unknown variant ${JSON.stringify(variant)}; expected ${
        [...CPU_VARIANTS, "gpu"].map((v) => JSON.stringify(v)).join(", ")
      }`,
    );
  }
  const spec = NATIVE_VARIANTS[variant];
  const root = resolve(options.root ?? defaultRoot());
  const force = options.force ?? false;
  const log = options.log ?? ((line: string) => console.log(line));
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
    throw new Error(
      `deno task native supports Linux x86_64 only (this is ${Deno.build.os} ${Deno.build.arch})`,
    );
  }
  const paths = nativePaths(variant, root);
  const steps: NativeBuildStep[] = [];
  const step = async <T>(name: string, fn: () => Promise<{ value: T; skipped: boolean }>) => {
    const t0 = performance.now();
    const { value, skipped } = await fn();
    const seconds = (performance.now() - t0) / 1000;
    steps.push({ name, seconds, skipped });
    log(`native: ${name} ${skipped ? "already done" : "done"} (${seconds.toFixed(1)} s)`);
    return value;
  };

  const packageDir = await step("package", () => ensurePackage(root, paths.packageLink));
  const packageJson = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8"));
  const napiVersion = napiBuildVersion(packageJson, Number(process.versions.napi));

  const wheel = await step("wheel", () => ensureWheel(spec, paths, options.wheel, force));
  await step("extract", () => ensureExtracted(wheel, paths.tensorflowDir, force));
  if (spec.runtime !== undefined) {
    const runtime = spec.runtime;
    await step("runtime", () => ensureRuntime(runtime, paths, force));
  }
  const stub = await step("pystub", () => ensurePythonStub(paths, force));
  const addon = await step("compile", () => ensureAddon(packageDir, paths, napiVersion, force));
  const addonPath = await step(
    "install",
    () => install(packageDir, napiVersion, addon, stub, paths.tensorflowDir, variant),
  );
  let verified: string | null = null;
  if (options.verify ?? true) {
    verified = await step("verify", async () => ({
      value: await verifyInFreshProcess(root, spec.npmPackage),
      skipped: false,
    }));
    log(`native: ${verified}`);
  }
  return { variant, packageDir, addonPath, napiVersion, wheel, steps, verified };
}

/** The npm package's real directory; runs `deno install` once if node_modules lacks it. */
async function ensurePackage(
  root: string,
  packageLink: string,
): Promise<{ value: string; skipped: boolean }> {
  const bindingSource = (dir: string) => existsSync(join(dir, "binding", "tfjs_backend.cc"));
  if (existsSync(packageLink) && bindingSource(packageLink)) {
    return { value: realpathSync(packageLink), skipped: true };
  }
  await run(Deno.execPath(), ["install"], { cwd: root });
  if (!existsSync(packageLink) || !bindingSource(packageLink)) {
    throw new Error(
      `${packageLink} has no binding/tfjs_backend.cc after \`deno install\`; is the package in ` +
        `deno.json's imports?`,
    );
  }
  return { value: realpathSync(packageLink), skipped: false };
}

/** The wheel's file name pattern for the pinned version, CPython 3.10, manylinux x86_64. */
function wheelPattern(spec: NativeVariantSpec): RegExp {
  const project = spec.pypiProject.replace(/-/g, "_");
  const version = TENSORFLOW_VERSION.replace(/\./g, "\\.");
  return new RegExp(`^${project}-${version}-cp310-cp310-manylinux.*x86_64\\.whl$`);
}

async function ensureWheel(
  spec: NativeVariantSpec,
  paths: NativePaths,
  given: string | undefined,
  force: boolean,
): Promise<{ value: string; skipped: boolean }> {
  if (given !== undefined) {
    if (!existsSync(given)) throw new Error(`--wheel ${given}: no such file`);
    return { value: resolve(given), skipped: true };
  }
  const pattern = wheelPattern(spec);
  const present = () =>
    existsSync(paths.wheelDir)
      ? readdirSync(paths.wheelDir).filter((f) => pattern.test(f)).sort()
      : [];
  if (!force && present().length > 0) {
    return { value: join(paths.wheelDir, present()[0]), skipped: true };
  }
  await Deno.mkdir(paths.wheelDir, { recursive: true });
  const pipArgs = [
    "download",
    "--no-deps",
    "--only-binary=:all:",
    "--python-version",
    WHEEL_PYTHON_VERSION,
    "--platform",
    "manylinux2014_x86_64",
    `${spec.pypiProject}==${TENSORFLOW_VERSION}`,
    "-d",
    paths.wheelDir,
  ];
  await run("python3", ["-m", "pip", ...pipArgs], {
    hint: "needs python3 with pip and access to PyPI; or pass --wheel <file>",
  });
  const found = present();
  if (found.length === 0) {
    throw new Error(`pip finished but no wheel matching ${pattern} is in ${paths.wheelDir}`);
  }
  return { value: join(paths.wheelDir, found[0]), skipped: false };
}

/** Wheel members extracted (unzip patterns) and where they end up. */
const WHEEL_MEMBERS = [
  "tensorflow/libtensorflow_framework.so.2",
  "tensorflow/python/_pywrap_tensorflow_internal.so",
  "tensorflow/include/tensorflow/c/*",
  "tensorflow/include/tensorflow/core/platform/ctstring*",
];

async function ensureExtracted(
  wheel: string,
  tensorflowDir: string,
  force: boolean,
): Promise<{ value: string; skipped: boolean }> {
  const complete = join(tensorflowDir, ".complete");
  if (!force && existsSync(complete) && readFileSync(complete, "utf8") === wheel) {
    return { value: tensorflowDir, skipped: true };
  }
  const tmp = `${tensorflowDir}.tmp`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await run("unzip", ["-q", "-o", wheel, ...WHEEL_MEMBERS, "-d", tmp], {
    hint: "needs unzip (apt-get install unzip)",
  });
  await Deno.mkdir(join(tmp, "lib"));
  await Deno.rename(
    join(tmp, "tensorflow", "libtensorflow_framework.so.2"),
    join(tmp, "lib", "libtensorflow_framework.so.2"),
  );
  await Deno.rename(
    join(tmp, "tensorflow", "python", "_pywrap_tensorflow_internal.so"),
    join(tmp, "lib", "_pywrap_tensorflow_internal.so"),
  );
  await Deno.rename(join(tmp, "tensorflow", "include"), join(tmp, "include"));
  await Deno.remove(join(tmp, "tensorflow"), { recursive: true });
  await Deno.writeTextFile(join(tmp, ".complete"), wheel);
  await Deno.remove(tensorflowDir, { recursive: true }).catch(() => {});
  await Deno.rename(tmp, tensorflowDir);
  return { value: tensorflowDir, skipped: false };
}

/** Runtime libraries {@link ensureRuntime} adds to the extracted `lib/`. */
const RUNTIME_LIBRARY = /^libiomp5\.so$/;

/**
 * Downloads the wheel of `runtime` and copies its library into the extracted TensorFlow `lib/`
 * (so the addon's RUNPATH and the install step find it like the others).
 */
async function ensureRuntime(
  runtime: { pypiProject: string; member: string },
  paths: NativePaths,
  force: boolean,
): Promise<{ value: string; skipped: boolean }> {
  const name = runtime.member.split("/").pop()!;
  const target = join(paths.tensorflowDir, "lib", name);
  if (!force && existsSync(target)) return { value: target, skipped: true };
  const dir = join(paths.wheelDir, "runtime");
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  await run("python3", [
    "-m",
    "pip",
    "download",
    "--no-deps",
    "--only-binary=:all:",
    "--platform",
    "manylinux2014_x86_64",
    runtime.pypiProject,
    "-d",
    dir,
  ], { hint: "needs python3 with pip and access to PyPI" });
  const wheel = readdirSync(dir).find((f) => f.endsWith(".whl"));
  if (wheel === undefined) throw new Error(`pip downloaded no wheel of ${runtime.pypiProject}`);
  const out = join(dir, "x");
  await run("unzip", ["-q", "-o", join(dir, wheel), runtime.member, "-d", out], {
    hint: "needs unzip (apt-get install unzip)",
  });
  const found = findFile(out, name);
  if (found === null) throw new Error(`${wheel} has no ${runtime.member}`);
  await Deno.copyFile(found, `${target}.tmp`);
  await Deno.rename(`${target}.tmp`, target);
  await Deno.remove(dir, { recursive: true });
  return { value: target, skipped: false };
}

/** First file called `name` under `dir` (depth first), or null. */
function findFile(dir: string, name: string): string | null {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isFile() && entry.name === name) return path;
    if (entry.isDirectory()) {
      const found = findFile(path, name);
      if (found !== null) return found;
    }
  }
  return null;
}

/** The Python C API names the TensorFlow library expects a Python interpreter to define. */
async function pythonSymbols(library: string): Promise<string[]> {
  const { stdout } = await run("nm", ["-D", "--undefined-only", library], {
    hint: "needs nm (binutils)",
  });
  return stdout.split("\n")
    .map((line) => line.trim().split(/\s+/).pop() ?? "")
    .filter((name) => /^_?Py[A-Za-z0-9_]*$/.test(name))
    .sort();
}

async function ensurePythonStub(
  paths: NativePaths,
  force: boolean,
): Promise<{ value: string; skipped: boolean }> {
  const stub = join(paths.buildDir, "libtfjs_pystub.so");
  const library = join(paths.tensorflowDir, "lib", "_pywrap_tensorflow_internal.so");
  if (!force && existsSync(stub) && statSync(stub).mtimeMs >= statSync(library).mtimeMs) {
    return { value: stub, skipped: true };
  }
  const names = await pythonSymbols(library);
  const source = [
    "/* Generated by lib/native/build.ts: the Python C API symbols that",
    " * _pywrap_tensorflow_internal.so refers to, so that it loads without Python. */",
    "#include <stdio.h>",
    "#include <stdlib.h>",
    "static void stub_called(const char* name) {",
    '  fprintf(stderr, "libtensorflow called the Python C API (%s), which tfjs-node does ' +
    'not provide\\n", name);',
    "  abort();",
    "}",
    ...names.map((name) => `void ${name}(void) { stub_called("${name}"); }`),
    "",
  ].join("\n");
  await Deno.mkdir(paths.buildDir, { recursive: true });
  const sourcePath = join(paths.buildDir, "pystub.c");
  await Deno.writeTextFile(sourcePath, source);
  await run("gcc", [
    "-shared",
    "-fPIC",
    "-O1",
    "-Wl,-soname,libtfjs_pystub.so",
    "-o",
    stub,
    sourcePath,
  ], { hint: "needs gcc" });
  return { value: stub, skipped: false };
}

/** Directories holding `node_api.h`, most specific first. */
function nodeApiHeaderCandidates(): string[] {
  const dirs: string[] = [];
  const fromEnv = Deno.env.get("NODE_API_HEADERS_DIR");
  if (fromEnv) dirs.push(fromEnv);
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir !== "" && existsSync(join(dir, "node"))) {
      // <prefix>/bin/node -> <prefix>/include/node (official tarballs, setup-node, nvm).
      const real = realpathSync(join(dir, "node"));
      dirs.push(join(dirname(dirname(real)), "include", "node"));
    }
  }
  dirs.push("/usr/include/node", "/usr/local/include/node");
  const home = Deno.env.get("HOME");
  const gypCache = home ? join(home, ".cache", "node-gyp") : "";
  if (gypCache && existsSync(gypCache)) {
    for (const version of readdirSync(gypCache).sort().reverse()) {
      dirs.push(join(gypCache, version, "include", "node"));
    }
  }
  return dirs;
}

function findNodeApiHeaders(): string {
  const candidates = nodeApiHeaderCandidates();
  const found = candidates.find((dir) => existsSync(join(dir, "node_api.h")));
  if (found === undefined) {
    throw new Error(
      `node_api.h not found (looked in ${candidates.join(", ")}); install Node.js headers ` +
        `(e.g. apt-get install nodejs libnode-dev) or set NODE_API_HEADERS_DIR`,
    );
  }
  return found;
}

/**
 * C++ this project adds to the binding (`aeAddFunction`, `aeRemoveFunction`, `aeTensorInfo`):
 * copied beside the patched sources and `#include`d by {@link BINDING_PATCHES}; its text is part
 * of the build stamp, so an edit recompiles the addon.
 */
export const ADDED_BINDING_SOURCES: readonly string[] = ["graph_function.inc"];

/** This directory (`lib/native/`), where {@link ADDED_BINDING_SOURCES} live. */
const NATIVE_SOURCE_DIR = join(REPO_ROOT, "lib", "native");

/**
 * The changes made to tfjs-node's binding source before it is compiled, each an exact text
 * replacement in one file of `binding/`. A replacement whose `find` text is missing fails the
 * build with the file and the text named (a different tfjs-node release).
 */
export const BINDING_PATCHES: readonly {
  file: string;
  why: string;
  find: string;
  replace: string;
}[] = [
  {
    file: "tfjs_backend.cc",
    why: "list(string) attributes (TFE_OpSetAttrStringList), e.g. _FusedMatMul's fused_ops; " +
      "the stock binding passes string attributes as scalars only",
    find: `    case TF_ATTR_STRING: {
      // NOTE: String attribute values do not have to be utf8 encoded strings
      // (could be arbitrary byte sequences).
      std::string str_value;`,
    replace: `    case TF_ATTR_STRING: {
      if (IsArray(env, nstatus, &js_value)) {
        uint32_t length;
        nstatus = napi_get_array_length(env, js_value, &length);
        ENSURE_NAPI_OK(env, nstatus);
        std::vector<std::string> strings(length);
        std::vector<const void *> values(length);
        std::vector<size_t> lengths(length);
        for (uint32_t i = 0; i < length; ++i) {
          napi_value element;
          nstatus = napi_get_element(env, js_value, i, &element);
          ENSURE_NAPI_OK(env, nstatus);
          nstatus = GetStringParam(env, element, strings[i]);
          ENSURE_NAPI_OK(env, nstatus);
          values[i] = strings[i].data();
          lengths[i] = strings[i].size();
        }
        TFE_OpSetAttrStringList(tfe_op, attr_name, values.data(), lengths.data(),
                                static_cast<int>(length));
        break;
      }
      // NOTE: String attribute values do not have to be utf8 encoded strings
      // (could be arbitrary byte sequences).
      std::string str_value;`,
  },
  {
    file: "tfjs_backend.h",
    why: "the eager context and the handle of a tensor id, for graph_function.inc",
    find: `public:
  bool is_gpu_device;`,
    replace: `public:
  TFE_Context *AeContext() { return tfe_context_; }
  TFE_TensorHandle *AeHandle(int32_t id) {
    auto entry = tfe_handle_map_.find(id);
    return entry == tfe_handle_map_.end() ? nullptr : entry->second;
  }
  bool is_gpu_device;`,
  },
  {
    file: "tfjs_backend.cc",
    why: "one inter-op thread: a compiled step's executor otherwise runs ops side by side, each " +
      "with its own intra-op (OpenMP) threads, which on 2 cores made some runs 3x slower",
    find: `  TFE_ContextOptions *tfe_options = TFE_NewContextOptions();`,
    replace: `  TFE_ContextOptions *tfe_options = TFE_NewContextOptions();
  {
    // ConfigProto { inter_op_parallelism_threads: 1 }
    static const unsigned char config[] = {0x28, 0x01};
    TFE_ContextOptionsSetConfig(tfe_options, config, sizeof(config), tf_status.status);
  }`,
  },
  {
    file: "tfjs_binding.cc",
    why: "aeAddFunction and aeRemoveFunction (graph_function.inc): a recorded training step " +
      "registered as one TensorFlow function (lib/kernels/compiled_step.ts)",
    find: `static napi_value InitTFNodeJSBinding(napi_env env, napi_value exports) {`,
    replace: `#include "graph_function.inc"
static napi_value InitTFNodeJSBinding(napi_env env, napi_value exports) {`,
  },
  {
    file: "tfjs_binding.cc",
    why: "exports aeAddFunction, aeRemoveFunction and aeTensorInfo",
    find: `      {"getNumOfTensors", nullptr, GetNumOfTensors, nullptr, nullptr,
       nullptr, napi_default, nullptr},`,
    replace: `      {"getNumOfTensors", nullptr, GetNumOfTensors, nullptr, nullptr,
       nullptr, napi_default, nullptr},
      {"aeAddFunction", nullptr, AeAddFunction, nullptr, nullptr, nullptr,
       napi_default, nullptr},
      {"aeRemoveFunction", nullptr, AeRemoveFunction, nullptr, nullptr, nullptr,
       napi_default, nullptr},
      {"aeTensorInfo", nullptr, AeTensorInfo, nullptr, nullptr, nullptr,
       napi_default, nullptr},`,
  },
  {
    file: "tfjs_binding.cc",
    why: "a marker the library checks before passing a list(string) attribute " +
      "(lib/kernels/native_ops.ts), so an addon built before the patch is never sent one",
    find: `  EXPORT_INT_PROPERTY(TF_ATTR_SHAPE);
#undef EXPORT_INT_PROPERTY`,
    replace: `  EXPORT_INT_PROPERTY(TF_ATTR_SHAPE);
#undef EXPORT_INT_PROPERTY
  AssignIntProperty(env, exports, "AE_STRING_LIST_ATTRS", 1);`,
  },
];

/**
 * Copies the package's `binding/` sources to `<buildDir>/binding` with {@link BINDING_PATCHES}
 * applied, and returns that directory.
 */
export async function patchedBindingSource(sourceDir: string, buildDir: string): Promise<string> {
  const target = join(buildDir, "binding");
  await Deno.mkdir(target, { recursive: true });
  for (const entry of readdirSync(sourceDir)) {
    if (!/\.(cc|h)$/.test(entry)) continue;
    let text = readFileSync(join(sourceDir, entry), "utf8");
    for (const patch of BINDING_PATCHES.filter((p) => p.file === entry)) {
      if (!text.includes(patch.find)) {
        throw new Error(
          `native: cannot patch ${join(sourceDir, entry)} (${patch.why}): its text ` +
            `${
              JSON.stringify(patch.find.split("\n")[0])
            }... is not there; is this tfjs-node 4.22.0?`,
        );
      }
      text = text.replace(patch.find, patch.replace);
    }
    // Rewrite only on change, so that the compiler's inputs keep their times.
    const out = join(target, entry);
    if (!existsSync(out) || readFileSync(out, "utf8") !== text) await Deno.writeTextFile(out, text);
  }
  for (const name of ADDED_BINDING_SOURCES) {
    const text = readFileSync(join(NATIVE_SOURCE_DIR, name), "utf8");
    const out = join(target, name);
    if (!existsSync(out) || readFileSync(out, "utf8") !== text) await Deno.writeTextFile(out, text);
  }
  for (const patch of BINDING_PATCHES) {
    if (!existsSync(join(sourceDir, patch.file))) {
      throw new Error(
        `native: ${join(sourceDir, patch.file)} is missing; is this tfjs-node 4.22.0?`,
      );
    }
  }
  return target;
}

async function ensureAddon(
  packageDir: string,
  paths: NativePaths,
  napiVersion: number,
  force: boolean,
): Promise<{ value: string; skipped: boolean }> {
  const headers = findNodeApiHeaders();
  const binding = await patchedBindingSource(join(packageDir, "binding"), paths.buildDir);
  const out = join(paths.buildDir, `tfjs_binding.napi-v${napiVersion}.node`);
  const args = [
    "-std=c++17",
    "-O2",
    "-fPIC",
    "-shared",
    `-DNAPI_VERSION=${napiVersion}`,
    `-I${binding}`,
    `-I${join(paths.tensorflowDir, "include")}`,
    `-I${headers}`,
    join(binding, "tfjs_backend.cc"),
    join(binding, "tfjs_binding.cc"),
    "-o",
    out,
    // Keep every library as DT_NEEDED: the stub is only needed by _pywrap, not by the addon.
    "-Wl,--no-as-needed",
    `-L${join(paths.tensorflowDir, "lib")}`,
    `-L${paths.buildDir}`,
    "-l:_pywrap_tensorflow_internal.so",
    "-l:libtensorflow_framework.so.2",
    "-ltfjs_pystub",
    "-Wl,-rpath,$ORIGIN/../../deps/lib",
  ];
  const stampPath = `${out}.stamp`;
  const added = ADDED_BINDING_SOURCES.map((name) => readFileSync(join(binding, name), "utf8"));
  const stamp = JSON.stringify({ args, tensorflow: TENSORFLOW_VERSION, BINDING_PATCHES, added });
  if (
    !force && existsSync(out) && existsSync(stampPath) &&
    readFileSync(stampPath, "utf8") === stamp
  ) {
    return { value: out, skipped: true };
  }
  await Deno.mkdir(paths.buildDir, { recursive: true });
  await run("g++", args, { hint: "needs g++ (apt-get install g++)" });
  await Deno.writeTextFile(stampPath, stamp);
  return { value: out, skipped: false };
}

/** Hard-links `from` to `to` (same file system), else copies; replaces `to`. */
async function linkOrCopy(from: string, to: string): Promise<void> {
  if (existsSync(to)) {
    const [a, b] = [Deno.statSync(from), Deno.statSync(to)];
    if (a.ino !== null && a.ino === b.ino && a.dev === b.dev) return;
    await Deno.remove(to);
  }
  try {
    await Deno.link(from, to);
  } catch {
    await Deno.copyFile(from, to);
  }
}

async function install(
  packageDir: string,
  napiVersion: number,
  addon: string,
  stub: string,
  tensorflowDir: string,
  variant: NativeVariant,
): Promise<{ value: string; skipped: boolean }> {
  const addonDir = join(packageDir, "lib", `napi-v${napiVersion}`);
  const libDir = join(packageDir, "deps", "lib");
  await Deno.mkdir(addonDir, { recursive: true });
  await Deno.mkdir(libDir, { recursive: true });
  const addonPath = join(addonDir, "tfjs_binding.node");
  // Copied, not linked: a rebuild must not change an addon a running process has mapped.
  const tmp = `${addonPath}.tmp`;
  await Deno.copyFile(addon, tmp);
  await Deno.rename(tmp, addonPath);
  await linkOrCopy(stub, join(libDir, "libtfjs_pystub.so"));
  for (const name of ["_pywrap_tensorflow_internal.so", "libtensorflow_framework.so.2"]) {
    await linkOrCopy(join(tensorflowDir, "lib", name), join(libDir, name));
  }
  // A runtime library of the variant (libiomp5.so for Intel's builds) sits beside them; one left
  // from another variant is harmless (nothing else loads it).
  const libs = join(tensorflowDir, "lib");
  for (const name of readdirSync(libs).filter((f) => RUNTIME_LIBRARY.test(f))) {
    await linkOrCopy(join(libs, name), join(libDir, name));
  }
  await Deno.writeTextFile(
    join(packageDir, INSTALLED_VARIANT_FILE),
    `${variant} ${NATIVE_VARIANTS[variant].pypiProject}==${TENSORFLOW_VERSION}\n`,
  );
  return { value: addonPath, skipped: false };
}

async function verifyInFreshProcess(root: string, npmPackage: string): Promise<string> {
  const script = join(root, "lib", "native", "verify.ts");
  const { stdout } = await run(Deno.execPath(), ["run", "-A", script, "--package", npmPackage], {
    cwd: root,
  });
  const lines = stdout.trim().split("\n");
  return lines[lines.length - 1];
}

/** Runs a command; throws with the command line and the end of its output when it fails. */
async function run(
  command: string,
  args: string[],
  options: { cwd?: string; hint?: string } = {},
): Promise<{ stdout: string; stderr: string }> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(command, {
      args,
      cwd: options.cwd,
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound ? "not found" : (err as Error).message;
    throw new Error(`${command}: ${why}${options.hint ? ` (${options.hint})` : ""}`);
  }
  const decoder = new TextDecoder();
  const stdout = decoder.decode(output.stdout);
  const stderr = decoder.decode(output.stderr);
  if (!output.success) {
    const tail = (stderr + stdout).trim().split("\n").slice(-15).join("\n");
    const shown = [command, ...args].map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(" ");
    throw new Error(
      `command failed (exit ${output.code}): ${shown}\n${tail}` +
        (options.hint ? `\n(${options.hint})` : ""),
    );
  }
  return { stdout, stderr };
}

/** `--variant`: one of {@link CPU_VARIANTS}, or absent for {@link defaultCpuVariant}. */
function parseCpuVariant(value: string | undefined): CpuVariant {
  if (value === undefined) return defaultCpuVariant();
  const known = CPU_VARIANTS.find((v) => v === value);
  if (known === undefined) {
    throw new Error(`--variant must be ${CPU_VARIANTS.join(", ")}; got ${JSON.stringify(value)}`);
  }
  return known;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      gpu: { type: "boolean", default: false },
      variant: { type: "string" },
      wheel: { type: "string" },
      force: { type: "boolean", default: false },
      "no-verify": { type: "boolean", default: false },
      optional: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(
      "deno task native [--gpu] [--variant cpu|avx2|avx512] [--wheel FILE] [--force] [--no-verify] " +
        "[--optional]\n" +
        "Builds @tensorflow/tfjs-node's addon against TensorFlow 2.9.1 from PyPI: " +
        "intel-tensorflow-avx512 where the CPU has AVX-512, intel-tensorflow where it has AVX2 " +
        "and FMA, else tensorflow-cpu (--variant overrides; --gpu: tfjs-node-gpu from the CUDA wheel). --optional: a failed build is a one-line " +
        "warning and exit 0 (the library then runs on wasm); used by the test and report tasks.",
    );
    Deno.exit(0);
  }
  const t0 = performance.now();
  try {
    const result = await buildNative({
      variant: values.gpu ? "gpu" : parseCpuVariant(values.variant),
      wheel: values.wheel,
      force: values.force,
      verify: !values["no-verify"],
    });
    const seconds = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(`native: installed ${result.addonPath} in ${seconds} s`);
  } catch (err) {
    const message = (err as Error).message;
    if (values.optional) {
      console.error(`native: not built (${message.split("\n")[0]}); continuing without it (wasm)`);
      Deno.exit(0);
    }
    console.error(`native: ${message}`);
    Deno.exit(1);
  }
}
