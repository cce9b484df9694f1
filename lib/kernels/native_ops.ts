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

/** The part of tfjs-node's backend this module uses. */
interface NativeBackend {
  binding: Record<string, number>;
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

/** Attribute `name` holding the float32 dtype (`T: float` for most ops). */
export function typeAttr(name = "T"): NativeAttr {
  const binding = nativeBackend().binding;
  return { name, type: binding.TF_ATTR_TYPE, value: binding.TF_FLOAT };
}

/** A boolean attribute. */
export function boolAttr(name: string, value: boolean): NativeAttr {
  return { name, type: nativeBackend().binding.TF_ATTR_BOOL, value };
}

/** A string attribute. */
export function stringAttr(name: string, value: string): NativeAttr {
  return { name, type: nativeBackend().binding.TF_ATTR_STRING, value };
}

/** A shape attribute (a list of dimensions). */
export function shapeAttr(name: string, value: readonly number[]): NativeAttr {
  return { name, type: nativeBackend().binding.TF_ATTR_SHAPE, value: [...value] };
}
