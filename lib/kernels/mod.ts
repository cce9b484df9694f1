/**
 * Training kernels the tfjs wasm backend lacks, has only as slow loops, or gets wrong:
 * Conv2DBackpropFilter (missing) and Conv2DBackpropInput (slow loop) built from its own XNNPACK
 * Conv2D; MaxPoolGrad and ResizeNearestNeighborGrad (wrong results in tfjs-backend-wasm 4.22.0)
 * rewritten in JavaScript; BatchMatMul with transposed operands kept on XNNPACK; Slice and SplitV
 * without copying the whole input off the heap. {@link registerWasmTrainingKernels} installs
 * them; `setupBackend("wasm")`
 * calls it. The convolution gradients and MaxPoolGrad come in two exact variants, `"fast"`
 * (default: sub-pixel stride-s backprop-input, im2col + matmul filter gradient) and
 * `"baseline"`, selectable with {@link setKernelVariant} for before/after benchmarks.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { conv2DBackpropFilterConfig } from "./conv2d_backprop_filter.ts";
import { conv2DBackpropInputConfig } from "./conv2d_backprop_input.ts";
import { maxPoolGradConfig } from "./max_pool_grad.ts";
import {
  resizeNearestNeighborGradConfig,
  resizeNearestNeighborGradCpuConfig,
} from "./resize_nearest_neighbor_grad.ts";
import { batchMatMulConfig } from "./batch_mat_mul.ts";
import { sliceConfig, splitVConfig } from "./slice.ts";
import { replacedWasmKernels, WASM } from "./wasm_backend.ts";
import { NATIVE, nativeStepConfig } from "./native_step.ts";
import { nativeReluGradConfig, reluGradientConfig } from "./relu_grad.ts";
import { nativeMaxPoolGradConfig } from "./native_max_pool.ts";

export { conv2DBackpropFilterConfig } from "./conv2d_backprop_filter.ts";
export { conv2DBackpropInputConfig } from "./conv2d_backprop_input.ts";
export { batchMatMulConfig } from "./batch_mat_mul.ts";
export { sliceConfig, splitVConfig } from "./slice.ts";
export { type KernelVariant, kernelVariant, setKernelVariant } from "./variant.ts";
export { maxPoolGradConfig } from "./max_pool_grad.ts";
export { NATIVE, nativeStepConfig } from "./native_step.ts";
export { nativeReluGradConfig, RELU_GRAD, reluGradientConfig } from "./relu_grad.ts";
export { nativeMaxPoolGradConfig } from "./native_max_pool.ts";
export {
  resizeNearestNeighborGradConfig,
  resizeNearestNeighborGradCpuConfig,
} from "./resize_nearest_neighbor_grad.ts";

/** The kernels {@link registerWasmTrainingKernels} installs on the wasm backend. */
export const WASM_TRAINING_KERNELS: readonly tf.KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  maxPoolGradConfig,
  resizeNearestNeighborGradConfig,
  batchMatMulConfig,
  sliceConfig,
  splitVConfig,
];

const replaced = replacedWasmKernels; // the wasm package's own configs, to delegate or restore
let registered = false;

/**
 * Registers {@link WASM_TRAINING_KERNELS} on the wasm backend, replacing any kernel of the same
 * name (the wasm package's own `Conv2DBackpropInput`, `MaxPoolGrad`, `ResizeNearestNeighborGrad`). Idempotent. Works before or after the
 * wasm backend is initialised: the kernels need no setup of their own.
 */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  for (const config of WASM_TRAINING_KERNELS) {
    const existing = tf.getKernel(config.kernelName, WASM);
    if (existing !== undefined) {
      replaced.set(config.kernelName, existing);
      tf.unregisterKernel(config.kernelName, WASM);
      // tfjs runs setupFunc only for kernels registered when the backend initialises; the
      // original must still be set up if a replacement delegates to it.
      const setupOriginal = existing.setupFunc;
      if (setupOriginal !== undefined) {
        tf.registerKernel({ ...config, setupFunc: (backend) => setupOriginal(backend) });
        continue;
      }
    }
    tf.registerKernel(config);
  }
  registered = true;
}

/**
 * Undoes {@link registerWasmTrainingKernels}: removes the kernels and puts back the wasm
 * package's own ones (used to compare against them).
 */
export function unregisterWasmTrainingKernels(): void {
  if (!registered) return;
  for (const config of WASM_TRAINING_KERNELS) {
    tf.unregisterKernel(config.kernelName, WASM);
    const original = replaced.get(config.kernelName);
    if (original !== undefined) tf.registerKernel(original);
  }
  replaced.clear();
  registered = false;
}

/** Whether {@link registerWasmTrainingKernels} is in effect. */
export function wasmTrainingKernelsRegistered(): boolean {
  return registered;
}

/** Kernels that replace wrong ones of the cpu backend (see each kernel's module). */
export const CPU_KERNEL_FIXES: readonly tf.KernelConfig[] = [resizeNearestNeighborGradCpuConfig];

let cpuFixed = false;

/**
 * Replaces the cpu backend's wrong kernels with {@link CPU_KERNEL_FIXES}. Idempotent;
 * `setupBackend` calls it for every backend choice, since tests and reference computations
 * switch to cpu with `tf.setBackend("cpu")`.
 */
export function registerCpuKernelFixes(): void {
  if (cpuFixed) return;
  for (const config of CPU_KERNEL_FIXES) {
    if (tf.getKernel(config.kernelName, config.backendName) !== undefined) {
      tf.unregisterKernel(config.kernelName, config.backendName);
    }
    tf.registerKernel(config);
  }
  cpuFixed = true;
}

let nativeRegistered = false;

/**
 * Speeds up ReLU's gradient on the "tensorflow" backend: registers TensorFlow's `ReluGrad` as
 * {@link RELU_GRAD} with the `Relu` gradient that uses it ({@link reluGradientConfig}; other
 * backends keep tfjs's formula), and replaces tfjs-node's seven-op `Step` with
 * {@link nativeStepConfig}, and tfjs-node's `MaxPoolGrad` with {@link nativeMaxPoolGradConfig}
 * (oneDNN's, where the loaded TensorFlow has it). Idempotent; `setupBackend` calls it after loading tfjs-node(-gpu).
 * Does nothing when the backend's `Step` is not registered (tfjs-node not loaded).
 */
export function registerNativeKernels(): void {
  if (nativeRegistered) return;
  const original = tf.getKernel(tf.Step, NATIVE);
  if (original === undefined) return;
  tf.unregisterKernel(tf.Step, NATIVE);
  tf.registerKernel(nativeStepConfig(original));
  tf.registerKernel(nativeReluGradConfig);
  tf.registerGradient(reluGradientConfig);
  const maxPoolGrad = tf.getKernel(tf.MaxPoolGrad, NATIVE);
  if (maxPoolGrad !== undefined) {
    tf.unregisterKernel(tf.MaxPoolGrad, NATIVE);
    tf.registerKernel(nativeMaxPoolGradConfig(maxPoolGrad));
  }
  nativeRegistered = true;
}
