/**
 * Small helpers for writing kernels on top of the wasm backend's own kernels: call a registered
 * wasm kernel by name, allocate outputs on the wasm heap, read/write them as typed arrays, and
 * free intermediates.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** The name of the tfjs wasm backend. */
export const WASM = "wasm";

/**
 * The part of `BackendWasm` (from @tensorflow/tfjs-backend-wasm) the kernels use. Declared here
 * so that the kernels need no static import of the wasm package.
 */
export interface WasmBackend extends tf.KernelBackend {
  /** Allocates an output tensor on the wasm heap. */
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  /** A view of a tensor's data on the wasm heap (invalidated when the heap grows). */
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** Runs the wasm backend's registered kernel `name` and returns its output. */
export function runWasmKernel(
  name: string,
  backend: WasmBackend,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap = {},
): tf.TensorInfo {
  const config = tf.getKernel(name, WASM);
  if (config === undefined) {
    throw new Error(`Kernel '${name}' is not registered for backend 'wasm'`);
  }
  const out = config.kernelFunc({ inputs, attrs, backend });
  if (Array.isArray(out)) {
    throw new Error(`Kernel '${name}' returned ${out.length} outputs; one was expected`);
  }
  return out;
}

/**
 * The wasm package's own kernel configs that lib/kernels replaced, by kernel name (filled in by
 * `registerWasmTrainingKernels`), so a replacement can delegate to the original.
 */
export const replacedWasmKernels: Map<string, tf.KernelConfig> = new Map();

/** Runs the wasm package's original kernel `name` (one that lib/kernels replaced). */
export function runReplacedWasmKernel(
  name: string,
  backend: WasmBackend,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap = {},
): tf.TensorInfo {
  const config = replacedWasmKernels.get(name);
  if (config === undefined) throw new Error(`No original wasm kernel '${name}' was recorded`);
  const out = config.kernelFunc({ inputs, attrs, backend });
  if (Array.isArray(out)) throw new Error(`Kernel '${name}' returned several outputs`);
  return out;
}

/** Frees intermediate tensors made inside a kernel (not the kernel's inputs or output). */
export function disposeInfos(backend: WasmBackend, ...infos: tf.TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

/** Transposes `x` with the wasm Transpose kernel. */
export function transposeInfo(
  backend: WasmBackend,
  x: tf.TensorInfo,
  perm: number[],
): tf.TensorInfo {
  return runWasmKernel("Transpose", backend, { x }, { perm });
}

/** A float32 view of a tensor on the wasm heap; take it only after all allocations. */
export function heapF32(backend: WasmBackend, info: tf.TensorInfo): Float32Array {
  const view = backend.typedArrayFromHeap(info);
  if (!(view instanceof Float32Array)) {
    throw new Error(`Expected a float32 tensor, got ${info.dtype} of shape [${info.shape}]`);
  }
  return view;
}

/** Checks that a kernel input is a float32 NHWC 4-D tensor. */
export function assertFloat4D(kernel: string, what: string, info: tf.TensorInfo): void {
  if (info.shape.length !== 4) {
    throw new Error(`${kernel}: ${what} must be 4-D (NHWC), got shape [${info.shape}]`);
  }
  if (info.dtype !== "float32") {
    throw new Error(`${kernel}: ${what} must be float32, got ${info.dtype}`);
  }
}

/** Checks that a kernel works on NHWC data (the only layout the wasm Conv2D supports). */
export function assertChannelsLast(kernel: string, dataFormat: string | undefined): void {
  if (dataFormat !== undefined && dataFormat !== "NHWC" && dataFormat !== "channelsLast") {
    throw new Error(`${kernel} on wasm supports dataFormat 'NHWC' only, got '${dataFormat}'`);
  }
}

/**
 * A float32 copy of any backend's tensor data (cpu or wasm), for kernels written once for both.
 */
export function readF32(backend: tf.KernelBackend, info: tf.TensorInfo): Float32Array {
  const values = backend.readSync(info.dataId);
  if (!(values instanceof Float32Array)) {
    throw new Error(`Expected a float32 tensor, got ${info.dtype} of shape [${info.shape}]`);
  }
  return values;
}

/** Makes a float32 output tensor holding `values` on the wasm or the cpu backend. */
export function outputFromValues(
  backend: tf.KernelBackend,
  shape: number[],
  values: Float32Array,
): tf.TensorInfo {
  const maybe = backend as Partial<WasmBackend> & {
    makeTensorInfo?: (shape: number[], dtype: tf.DataType, values: Float32Array) => tf.TensorInfo;
  };
  if (typeof maybe.makeOutput === "function" && typeof maybe.typedArrayFromHeap === "function") {
    const out = maybe.makeOutput(shape, "float32");
    heapF32(backend as WasmBackend, out).set(values);
    return out;
  }
  if (typeof maybe.makeTensorInfo === "function") {
    return maybe.makeTensorInfo(shape, "float32", values);
  }
  throw new Error("outputFromValues: backend has neither makeOutput nor makeTensorInfo");
}
