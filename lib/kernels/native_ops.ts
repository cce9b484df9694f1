/**
 * Running a TensorFlow op by name on tfjs-node's backend ("tensorflow"), for the few places
 * where TensorFlow has one op for what tfjs builds from several: {@link runNativeOp} and
 * attribute helpers. Everything here assumes the active backend is "tensorflow"; check with
 * {@link isNativeBackend} first.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { NATIVE } from "./native_step.ts";

/** One attribute of a TensorFlow op, as tfjs-node's binding takes it. */
export interface NativeAttr {
  /** Attribute name (`"T"`, `"transpose_a"`, ...). */
  name: string;
  /** One of the binding's `TF_ATTR_*` codes. */
  type: number;
  /** Value: a number, a boolean, a string, a list of ints (shape) or a `TF_*` dtype code. */
  value: unknown;
}

/**
 * Whether the engine is recording operations for a gradient (inside `tf.grad`, `minimize`, ...):
 * the test tfjs-core's own fused ops make (`gradientDepth`), read from the engine's state.
 * {@link runNativeOp} is not recorded, so a caller without its own gradient must not use it
 * while this is true.
 */
export function gradientTapeOn(): boolean {
  const state = (tf.engine() as unknown as { state?: { gradientDepth?: number } }).state;
  // Unknown engine internals: assume a tape, whose path is correct either way.
  return state?.gradientDepth === undefined || state.gradientDepth > 0;
}

/** The part of tfjs-node's backend this module uses. */
interface NativeBackend {
  binding: Record<string, number | undefined>;
  executeMultipleOutputs(
    name: string,
    attrs: NativeAttr[],
    inputs: tf.TensorInfo[],
    numOutputs: number,
  ): tf.Tensor[];
}

/** True when the active backend is tfjs-node's (or tfjs-node-gpu's) TensorFlow. */
export function isNativeBackend(): boolean {
  return tf.getBackend() === NATIVE;
}

function nativeBackend(): NativeBackend {
  if (!isNativeBackend()) {
    throw new Error(`native op: the active backend is "${tf.getBackend()}", not "${NATIVE}"`);
  }
  return tf.backend() as unknown as NativeBackend;
}

/**
 * Runs TensorFlow op `name` eagerly on the native backend and returns its outputs as tfjs
 * tensors (tracked by the engine, so `tf.tidy` frees them). Resource handles come back as
 * tensors of dtype "string" that only other native ops may read.
 *
 * @param name TensorFlow op name (`"ReluGrad"`, `"ResourceApplyAdam"`, ...).
 * @param attrs The op's attributes without defaults, see {@link typeAttr} and friends.
 * @param inputs Its inputs in the op's order.
 * @param numOutputs How many outputs the op has (0 for ops such as `AssignVariableOp`).
 * @throws Error if the active backend is not "tensorflow", or TensorFlow's own error.
 */
export function runNativeOp(
  name: string,
  attrs: NativeAttr[],
  inputs: tf.TensorInfo[],
  numOutputs: number,
): tf.Tensor[] {
  return nativeBackend().executeMultipleOutputs(name, attrs, inputs, numOutputs);
}

/**
 * Attribute `name` holding a dtype: float32 by default (`T: float` for most ops), or int32
 * (e.g. `Tshape` of `Reshape`, `Tpaddings` of `Pad`).
 */
export function typeAttr(name = "T", dtype: "float32" | "int32" = "float32"): NativeAttr {
  const binding = nativeBackend().binding;
  const value = dtype === "int32" ? binding.TF_INT32 : binding.TF_FLOAT;
  return { name, type: binding.TF_ATTR_TYPE as number, value };
}

/** A boolean attribute. */
export function boolAttr(name: string, value: boolean): NativeAttr {
  return { name, type: nativeBackend().binding.TF_ATTR_BOOL as number, value };
}

/** A string attribute. */
export function stringAttr(name: string, value: string): NativeAttr {
  return { name, type: nativeBackend().binding.TF_ATTR_STRING as number, value };
}

/** A shape attribute (a list of dimensions). */
export function shapeAttr(name: string, value: readonly number[]): NativeAttr {
  return { name, type: nativeBackend().binding.TF_ATTR_SHAPE as number, value: [...value] };
}

/** An int attribute, or a list of ints (`strides`, `explicit_paddings`, ...). */
export function intAttr(name: string, value: number | readonly number[]): NativeAttr {
  const type = nativeBackend().binding.TF_ATTR_INT as number;
  return { name, type, value: typeof value === "number" ? value : [...value] };
}

/** A float attribute. */
export function floatAttr(name: string, value: number): NativeAttr {
  return { name, type: nativeBackend().binding.TF_ATTR_FLOAT as number, value };
}

/**
 * Whether the loaded addon takes list(string) attributes: only the one `deno task native`
 * builds (its binding is patched for that, see `BINDING_PATCHES` in `lib/native/build.ts`,
 * and marks itself with `AE_STRING_LIST_ATTRS`). The stock binding would throw.
 */
export function supportsStringListAttrs(): boolean {
  return isNativeBackend() && nativeBackend().binding.AE_STRING_LIST_ATTRS === 1;
}

/**
 * A list(string) attribute (`fused_ops`, ...).
 *
 * @throws Error if the addon cannot pass one ({@link supportsStringListAttrs}).
 */
export function stringListAttr(name: string, value: readonly string[]): NativeAttr {
  if (!supportsStringListAttrs()) {
    throw new Error(
      `native op: attribute ${name} is a list of strings, which this tfjs-node addon cannot ` +
        "pass; rebuild it with `deno task native`",
    );
  }
  return { name, type: nativeBackend().binding.TF_ATTR_STRING as number, value: [...value] };
}

let oneDnnDisabled = false;

/**
 * Turns the oneDNN fused ops off (`true`) or back on, so that the ops every other TensorFlow
 * build runs can be tested and timed on a machine that has them.
 *
 * @param disabled Whether {@link hasOneDnnFusedOps} answers false regardless of the build.
 */
export function disableOneDnnFusedOps(disabled: boolean): void {
  oneDnnDisabled = disabled;
}

/** Per backend instance: whether oneDNN's fused ops run (see {@link hasOneDnnFusedOps}). */
const oneDnnProbe = new WeakMap<object, boolean>();

/**
 * Whether the loaded TensorFlow has oneDNN's fused kernels (`_MklNativeFusedConv2D`,
 * `_MklNativeFusedMatMul`) and the addon can call them: Intel's builds, which `deno task native`
 * picks where the CPU has AVX2 or AVX-512, and on some machines `tensorflow-cpu` too (its oneDNN
 * had them on an AMD EPYC). They compute a convolution or matmul with its bias and ReLU in one
 * pass. Decided once per backend by running one on a 1x1 input.
 */
export function hasOneDnnFusedOps(): boolean {
  if (oneDnnDisabled || !supportsStringListAttrs()) return false;
  const backend = nativeBackend();
  let known = oneDnnProbe.get(backend);
  if (known === undefined) {
    try {
      tf.tidy(() => {
        const one = tf.ones([1, 1]);
        const [y] = oneDnnFusedMatMul(one, one, tf.ones([1]), ["BiasAdd", "Relu"]);
        if (y.dataSync()[0] !== 2) throw new Error("unexpected value");
      });
      known = true;
    } catch {
      known = false;
    }
    oneDnnProbe.set(backend, known);
  }
  return known;
}

/** Attributes that select oneDNN's kernel for an `_MklNative*` op run eagerly. */
export function oneDnnKernelAttrs(): NativeAttr[] {
  // oneDNN's kernels are registered under this label; eager ops pick labelled kernels by the
  // `_kernel` attribute (graph mode would have TensorFlow's oneDNN rewrite pass add it).
  return [stringAttr("_kernel", "MklNameChangeOp")];
}

/**
 * `x w + b` with the `fused_ops` after `"BiasAdd"` (e.g. `"Relu"`), as oneDNN's fused matmul
 * (`_MklNativeFusedMatMul`); only where {@link hasOneDnnFusedOps}.
 */
export function oneDnnFusedMatMul(
  x: tf.Tensor,
  w: tf.Tensor,
  b: tf.Tensor,
  fusedOps: readonly string[],
): tf.Tensor[] {
  const attrs = [
    typeAttr(),
    boolAttr("transpose_a", false),
    boolAttr("transpose_b", false),
    stringListAttr("fused_ops", fusedOps),
    intAttr("num_args", 1),
    floatAttr("epsilon", 1e-4),
    ...oneDnnKernelAttrs(),
  ];
  return runNativeOp("_MklNativeFusedMatMul", attrs, [x, w, b], 1);
}
