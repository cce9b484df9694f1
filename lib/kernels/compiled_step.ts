/**
 * A training step on tfjs-node run as one TensorFlow function instead of op by op.
 *
 * Eagerly, each of the few hundred ops of a step (forward, tfjs's gradients, the optimizer)
 * costs ~10-35 µs of dispatch in tfjs's engine and the binding besides its kernel, and runs one
 * after the other. Keras instead runs its step as one graph. Here the step runs eagerly once
 * more while every op the binding executes is recorded: its name, attributes and which earlier
 * output or captured tensor each input was. The recording becomes a `GraphDef` (`graph_def.ts`),
 * which the binding turns into a TensorFlow function (`aeAddFunction`, added to tfjs-node's addon
 * by `deno task native`); from then on a step is one `executeOp` of that function. The kernels
 * are the ones the eager step ran, with the same attributes, so the arithmetic is the same
 * (TensorFlow's graph optimizer may still fuse or reorder ops, so results agree to float32
 * rounding, not bit for bit: tested).
 *
 * Captured tensors are of three kinds. A tfjs variable's current value is a function argument,
 * looked up again before every step (optimizers replace it each step). A resource handle (the
 * native Adam's moments) is an argument that stays the same tensor. Any other tensor made before
 * the step is a constant of the graph. Values the step writes into variables (`assign`) are
 * the function's outputs and are assigned after each call. Ops with resource inputs keep their
 * place in the recorded order (control edges: after every op recorded before them, before every
 * op recorded after them), since a graph would otherwise order them freely.
 *
 * A step can only be replayed if it is the same computation every time. Two consecutive steps
 * are recorded and must give the same graph byte for byte; a step that makes data in
 * JavaScript, reads a tensor back, or differs between the two for any other reason stays eager,
 * and {@link TrainStepper.reason} says why. Data a step must make anew in JavaScript every time
 * (dropout's seeded random numbers) goes through {@link stepFeed}: it becomes an argument of the
 * function, and before each compiled run its producer is called again, in the eager order, so a
 * seeded sequence continues exactly as it would eagerly.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type AttrValue, encodeGraphDef, type NodeDef } from "./graph_def.ts";
import { isNativeBackend, type NativeAttr } from "./native_ops.ts";

/** Tensor metadata the binding returns from `executeOp`. */
interface OutputInfo {
  id: number;
  shape: number[];
  dtype: number;
}

/** The binding methods and constants used here (tfjs-node's addon, patched). */
interface Binding {
  executeOp(name: string, attrs: NativeAttr[], ids: number[], outputs: number): OutputInfo[];
  createTensor(shape: number[], dtype: number, values: unknown): number;
  tensorDataSync(id: number): ArrayLike<number> & { buffer?: ArrayBufferLike };
  aeAddFunction?(
    name: string,
    graph: Uint8Array,
    inputs: string[],
    outputs: string[],
    controls: string[],
  ): void;
  aeRemoveFunction?(name: string): void;
  aeTensorInfo?(id: number): number[];
  [constant: string]: unknown;
}

/** The part of tfjs-node's backend used here. */
interface Backend {
  binding: Binding;
  /** Per tensor: its values while they wait in JavaScript (null once uploaded), and its id. */
  tensorMap: { get(dataId: tf.DataId): { values: unknown; id: number } | undefined };
  getInputTensorIds(tensors: tf.Tensor[]): number[];
  createOutputTensor(info: OutputInfo): tf.Tensor;
}

/** Whether the loaded addon can register functions (built by `deno task native` since 2026-12-07). */
export function supportsCompiledSteps(): boolean {
  if (!isNativeBackend()) return false;
  const binding = (tf.backend() as unknown as Backend).binding;
  return typeof binding.aeAddFunction === "function" &&
    typeof binding.aeTensorInfo === "function";
}

/** A tensor the step reads that it did not make and was not given. */
type Capture =
  | { kind: "variable"; variable: tf.Variable }
  | { kind: "fixed"; id: number }
  | { kind: "feed"; produce: () => tf.Tensor };

/** While a step is recorded: what {@link stepFeed} hands its producer to. */
let recordingFeed: ((produce: () => tf.Tensor) => tf.Tensor) | null = null;

/**
 * A tensor that a training step makes anew in JavaScript every time, such as the random numbers
 * of a seeded dropout mask: returns `produce()`. Eagerly that is all. While a
 * {@link TrainStepper} records the step, the tensor becomes an argument of the compiled function
 * instead of a constant, and before every compiled run `produce` is called again (in the order
 * the eager step called it), so the step stays compilable and a seeded sequence goes on exactly
 * as it would eagerly.
 *
 * @param produce Makes the tensor from JavaScript values (e.g. `tf.randomUniform` with a seed
 *   drawn from the caller's generator); called once per step, so it must advance its own state
 *   and must not capture tensors of the step.
 * @returns The tensor `produce` made.
 */
export function stepFeed(produce: () => tf.Tensor): tf.Tensor {
  return recordingFeed === null ? produce() : recordingFeed(produce);
}

/** One recorded step. */
interface Recording {
  nodes: NodeDef[];
  /** Placeholder node names, in argument order: the given inputs, then the captures. */
  argumentNodes: string[];
  /** For each given input, which of the unique input tensors it is (x and y may be one). */
  inputAliases: number[];
  captures: Capture[];
  /** Output refs: the step's result, then each assigned variable's final value. */
  outputs: string[];
  assigned: tf.Variable[];
  /** The last op with a resource input (must run), or null. */
  lastEffect: string | null;
  /** Why this step cannot be replayed, or null. */
  problem: string | null;
  /** The nodes as a serialized GraphDef (what `aeAddFunction` takes). */
  graph: Uint8Array;
  /** Ops recorded (nodes other than arguments and constants). */
  opCount: number;
  /** Its interface (arguments, captures, outputs) as one string, to compare two recordings. */
  signature: string;
}

/** Whether two recordings are the same computation (graph bytes and interface). */
function sameStep(a: Recording, b: Recording): boolean {
  return a.signature === b.signature && a.graph.length === b.graph.length &&
    a.graph.every((byte, i) => byte === b.graph[i]);
}

function attrValue(attr: NativeAttr, binding: Binding): AttrValue {
  const { type, value } = attr;
  const list = Array.isArray(value);
  if (type === binding.TF_ATTR_STRING) {
    return list ? { list: { s: value as string[] } } : { s: value as string };
  }
  if (type === binding.TF_ATTR_INT) {
    return list ? { list: { i: value as number[] } } : { i: value as number };
  }
  if (type === binding.TF_ATTR_FLOAT) {
    return list ? { list: { f: value as number[] } } : { f: value as number };
  }
  if (type === binding.TF_ATTR_BOOL) {
    return list ? { list: { b: value as boolean[] } } : { b: value as boolean };
  }
  if (type === binding.TF_ATTR_TYPE) return { type: value as number };
  if (type === binding.TF_ATTR_SHAPE) return { shape: value as number[] };
  throw new Error(`attribute ${attr.name} has a type (${type}) a graph cannot hold here`);
}

function bytesOf(values: unknown): Uint8Array | null {
  if (ArrayBuffer.isView(values)) {
    return new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
  }
  return null;
}

/**
 * Runs `body` eagerly while recording what the binding executes; returns the recording and
 * the body's result.
 */
function recordStep(
  backend: Backend,
  inputs: tf.Tensor[],
  body: () => tf.Tensor,
): { recording: Recording; result: tf.Tensor } {
  const binding = backend.binding;
  const info = (id: number) => binding.aeTensorInfo!(id);
  const nodes: NodeDef[] = [];
  const produced = new Map<number, string>();
  const dtypes = new Map<number, number>();
  const argumentNodes: string[] = [];
  const captures: Capture[] = [];
  const resource = binding.TF_RESOURCE as number;
  let problem: string | null = null;
  let lastEffect: string | null = null;
  let opCount = 0;
  /** Ops without effects recorded since the last op with one. */
  let sincePrevious: string[] = [];

  const placeholder = (name: string, id: number) => {
    const [dtype, ...shape] = info(id);
    nodes.push({
      name,
      op: "Placeholder",
      inputs: [],
      attrs: { dtype: { type: dtype }, shape: { shape } },
    });
    argumentNodes.push(name);
    produced.set(id, `${name}:0`);
    dtypes.set(id, dtype);
  };
  const constant = (id: number, dtype: number, shape: number[], values: unknown) => {
    const bytes = bytesOf(values);
    const name = `const${nodes.length}`;
    if (bytes === null) {
      problem ??=
        `the step makes a ${dtype === binding.TF_STRING ? "string" : "non-typed-array"} ` +
        "tensor in JavaScript";
      nodes.push({ name, op: "NoOp", inputs: [], attrs: {} });
    } else {
      nodes.push({
        name,
        op: "Const",
        inputs: [],
        attrs: { dtype: { type: dtype }, value: { tensor: { dtype, shape, bytes } } },
      });
    }
    produced.set(id, `${name}:0`);
    dtypes.set(id, dtype);
  };

  // The given inputs, uploaded first so that they have ids.
  const inputIds = backend.getInputTensorIds(inputs);
  const unique = [...new Set(inputIds)];
  const inputAliases = inputIds.map((id) => unique.indexOf(id));
  unique.forEach((id, k) => placeholder(`input${k}`, id));
  // Variables by the id of their current value.
  const variables = new Map<number, tf.Variable>();
  for (const variable of Object.values(tf.engine().registeredVariables)) {
    const [id] = backend.getInputTensorIds([variable]);
    if (!produced.has(id)) variables.set(id, variable);
  }
  const resolve = (id: number): string => {
    const known = produced.get(id);
    if (known !== undefined) return known;
    const variable = variables.get(id);
    if (variable !== undefined) {
      captures.push({ kind: "variable", variable });
      placeholder(`capture${captures.length - 1}`, id);
    } else {
      const [dtype, ...shape] = info(id);
      if (dtype === resource) {
        captures.push({ kind: "fixed", id });
        placeholder(`capture${captures.length - 1}`, id);
      } else {
        constant(id, dtype, shape, binding.tensorDataSync(id));
      }
    }
    return produced.get(id)!;
  };

  // A step feed's tensor is uploaded right away, as an argument rather than a constant.
  let feeding: (() => tf.Tensor) | null = null;
  const feed = (produce: () => tf.Tensor): tf.Tensor => {
    const tensor = produce();
    if (backend.tensorMap.get(tensor.dataId)?.values == null) {
      problem ??= "a step feed's tensor was not made from JavaScript values";
      return tensor;
    }
    feeding = produce;
    try {
      backend.getInputTensorIds([tensor]);
    } finally {
      feeding = null;
    }
    return tensor;
  };

  const assigned = new Map<tf.Variable, number>();
  const executeOp: Binding["executeOp"] = (name, attrs, ids, outputs) => {
    const refs = ids.map(resolve);
    const effect = ids.some((id) => dtypes.get(id) === resource) || outputs === 0;
    const result = binding.executeOp(name, attrs, ids, outputs);
    const node = `op${nodes.length}`;
    opCount++;
    const nodeAttrs: Record<string, AttrValue> = {};
    try {
      for (const attr of attrs) nodeAttrs[attr.name] = attrValue(attr, binding);
    } catch (err) {
      problem ??= `${name}: ${(err as Error).message}`;
    }
    // Keep the eager order around each op with effects: it runs after every op recorded
    // before it, and every later op runs after it. Otherwise an update in place (Adam's) could
    // run while a gradient op still reads the value it overwrites.
    if (effect) {
      refs.push(...sincePrevious.map((n) => `^${n}`));
      sincePrevious = [];
    }
    if (lastEffect !== null) refs.push(`^${lastEffect}`);
    nodes.push({ name: node, op: name, inputs: refs, attrs: nodeAttrs });
    if (effect) lastEffect = node;
    else sincePrevious.push(node);
    result.forEach((m, j) => {
      produced.set(m.id, `${node}:${j}`);
      dtypes.set(m.id, m.dtype);
    });
    return result;
  };
  const createTensor: Binding["createTensor"] = (shape, dtype, values) => {
    const id = binding.createTensor(shape, dtype, values);
    if (feeding !== null) {
      captures.push({ kind: "feed", produce: feeding });
      placeholder(`capture${captures.length - 1}`, id);
    } else {
      constant(id, dtype, shape, values);
    }
    return id;
  };
  const tensorDataSync: Binding["tensorDataSync"] = (id) => {
    problem ??= "the step reads a tensor's values back into JavaScript";
    return binding.tensorDataSync(id);
  };
  // The addon's methods are read-only properties: shadow them in an object on top of it.
  const recorder: Binding = Object.create(binding, {
    executeOp: { value: executeOp },
    createTensor: { value: createTensor },
    tensorDataSync: { value: tensorDataSync },
  });

  const prototype = tf.Variable.prototype;
  const assign = prototype.assign;
  prototype.assign = function (this: tf.Variable, value: tf.Tensor) {
    assign.call(this, value);
    assigned.set(this, backend.getInputTensorIds([this])[0]);
  };
  backend.binding = recorder;
  recordingFeed = feed;
  let result: tf.Tensor;
  try {
    result = body();
  } finally {
    backend.binding = binding;
    prototype.assign = assign;
    recordingFeed = null;
  }
  const resultRef = produced.get(backend.getInputTensorIds([result])[0]);
  if (resultRef === undefined) problem ??= "the step's result is not made by the step";
  const targets = [...assigned.keys()];
  const outputs = [resultRef ?? "", ...targets.map((v) => produced.get(assigned.get(v)!) ?? "")];
  if (outputs.some((o) => o === "")) problem ??= "a variable is assigned a tensor from before";
  const describe = captures.map((c) =>
    c.kind === "variable" ? `v:${c.variable.name}` : c.kind === "fixed" ? `r:${c.id}` : "feed"
  );
  const signature = JSON.stringify({
    argumentNodes,
    inputAliases,
    captures: describe,
    outputs,
    assigned: targets.map((v) => v.name),
  });
  return {
    recording: {
      nodes,
      argumentNodes,
      inputAliases,
      captures,
      outputs,
      assigned: targets,
      lastEffect,
      problem,
      graph: encodeGraphDef(nodes),
      opCount,
      signature,
    },
    result,
  };
}

/**
 * Steps to leave untimed when timing a {@link TrainStepper}: one warm-up, two recorded, and two
 * compiled (the first calls of a new function take ~3x longer while TensorFlow instantiates and
 * optimizes it: 106 and 100 ms against 34 ms for the write-up-000 CNN).
 */
export const COMPILED_WARMUP_STEPS = 5;

/**
 * The untimed steps a benchmark runs before timing: `requested`, and at least
 * {@link COMPILED_WARMUP_STEPS} when steps may be compiled.
 */
export function warmupSteps(requested: number, compile: boolean): number {
  return compile ? Math.max(requested, COMPILED_WARMUP_STEPS) : requested;
}

let functionCount = 0;

/** A recorded step registered as a TensorFlow function. */
interface CompiledStep {
  name: string;
  recording: Recording;
}

function compile(backend: Backend, recording: Recording): CompiledStep {
  const name = `ae_train_step_${functionCount++}`;
  backend.binding.aeAddFunction!(
    name,
    recording.graph,
    recording.argumentNodes,
    recording.outputs,
    recording.lastEffect === null ? [] : [recording.lastEffect],
  );
  return { name, recording };
}

function runCompiled(backend: Backend, step: CompiledStep, inputs: tf.Tensor[]): tf.Tensor {
  const { recording } = step;
  const inputIds = backend.getInputTensorIds(inputs);
  const unique = [...new Set(inputIds)];
  const aliases = inputIds.map((id) => unique.indexOf(id));
  if (aliases.join() !== recording.inputAliases.join()) {
    throw new Error(
      "compiled step: the inputs alias differently from the recorded step (x and y must be " +
        "the same tensor in both, or different in both)",
    );
  }
  // The feeds' producers run first and in the recorded order, as in the eager step.
  const fed = recording.captures.map((c) => c.kind === "feed" ? c.produce() : null);
  let infos: OutputInfo[];
  try {
    const ids = [
      ...unique,
      ...recording.captures.map((c, k) =>
        c.kind === "variable"
          ? backend.getInputTensorIds([c.variable])[0]
          : c.kind === "fixed"
          ? c.id
          : backend.getInputTensorIds([fed[k]!])[0]
      ),
    ];
    infos = backend.binding.executeOp(step.name, [], ids, recording.outputs.length);
  } finally {
    for (const t of fed) t?.dispose();
  }
  const [result, ...values] = infos.map((m) => backend.createOutputTensor(m));
  recording.assigned.forEach((variable, k) => variable.assign(values[k]));
  tf.dispose(values);
  return result;
}

/** How {@link TrainStepper} runs its steps. */
export type StepMode = "eager" | "recording" | "compiled";

/** Runs training steps, switching to a compiled step once it can (see the module comment). */
export interface TrainStepper {
  /**
   * One step on `inputs`: `body(inputs)` eagerly for the first three calls with these input
   * shapes (the second and third recorded), then the compiled function where the recordings
   * allowed it. Returns the step's result (e.g. the loss), a tensor the caller disposes.
   */
  step(inputs: tf.Tensor[]): tf.Tensor;
  /** How the last step ran: "eager", "recording", or "compiled". */
  readonly mode: StepMode;
  /** Why steps stay eager (null while they are compiled or not yet decided). */
  readonly reason: string | null;
  /** Ops of the last recorded step (0 until one is recorded). */
  readonly opCount: number;
  /** Steps run by a compiled function so far. */
  readonly compiledSteps: number;
  /** Unregisters the functions. */
  dispose(): void;
}

/** Options of {@link createTrainStepper}. */
export interface TrainStepperOptions {
  /** Record and compile at all (default true); false runs every step eagerly. */
  compile?: boolean;
  /**
   * Called after each compiled step, for JavaScript state the eager step would have changed
   * (an optimizer's iteration count).
   */
  afterCompiledStep?: () => void;
}

/** Per input shapes: where the recordings stand. */
interface ShapeState {
  calls: number;
  first: Recording | null;
  compiled: CompiledStep | null;
}

/**
 * A {@link TrainStepper} for `body`, which must do one complete step on the given tensors (e.g.
 * `optimizer.minimize(...)`) and return a tensor it made. Without the native backend or an addon
 * that can register functions, every step is eager and `reason` says why.
 *
 * A step whose captured variables were written from outside since the last step (weights set
 * by a callback, a restored checkpoint) runs eagerly, because the compiled function would not
 * see the write where an optimizer keeps its own copy (the native Adam's resources); the eager
 * step takes it over, and the next step is compiled again.
 */
export function createTrainStepper(
  body: (inputs: tf.Tensor[]) => tf.Tensor,
  options: TrainStepperOptions = {},
): TrainStepper {
  let mode: StepMode = "eager";
  let reason: string | null = null;
  let opCount = 0;
  let compiledSteps = 0;
  const shapes = new Map<string, ShapeState>();
  /** The data each captured variable held after the last step. */
  let written = new Map<tf.Variable, tf.DataId>();
  if (options.compile === false) reason = "compiled steps are turned off";
  else if (!isNativeBackend()) reason = `the backend is "${tf.getBackend()}", not tfjs-node`;
  else if (!supportsCompiledSteps()) {
    reason = "this tfjs-node addon cannot register functions; rebuild it with `deno task native`";
  }
  const backend = tf.backend() as unknown as Backend;
  const remember = (recording: Recording) => {
    written = new Map();
    for (const c of recording.captures) {
      if (c.kind === "variable") written.set(c.variable, c.variable.dataId);
    }
  };
  const untouched = () => [...written].every(([variable, dataId]) => variable.dataId === dataId);

  const stepFor = (state: ShapeState, inputs: tf.Tensor[]): tf.Tensor => {
    state.calls++;
    if (state.compiled !== null && untouched()) {
      mode = "compiled";
      const result = runCompiled(backend, state.compiled, inputs);
      compiledSteps++;
      remember(state.compiled.recording);
      options.afterCompiledStep?.();
      return result;
    }
    if (reason !== null || state.calls === 1 || state.compiled !== null) {
      mode = "eager";
      const result = body(inputs);
      if (state.compiled !== null) remember(state.compiled.recording);
      return result;
    }
    mode = "recording";
    const { recording, result } = recordStep(backend, inputs, () => body(inputs));
    opCount = recording.opCount;
    if (recording.problem !== null) {
      reason = recording.problem;
    } else if (state.first === null) {
      state.first = recording;
    } else if (!sameStep(state.first, recording)) {
      reason = "two consecutive steps were not the same computation (data made in " +
        "JavaScript each step, e.g. a random mask)";
    } else {
      try {
        state.compiled = compile(backend, recording);
        remember(recording);
      } catch (err) {
        reason = `TensorFlow refused the recorded step: ${(err as Error).message}`;
      }
      state.first = null;
    }
    return result;
  };

  return {
    get mode() {
      return mode;
    },
    get reason() {
      return reason;
    },
    get opCount() {
      return opCount;
    },
    get compiledSteps() {
      return compiledSteps;
    },
    step(inputs) {
      const key = inputs.map((t) => `${t.dtype}[${t.shape}]`).join(" ");
      let state = shapes.get(key);
      if (state === undefined) {
        state = { calls: 0, first: null, compiled: null };
        shapes.set(key, state);
      }
      return stepFor(state, inputs);
    },
    dispose() {
      for (const state of shapes.values()) {
        if (state.compiled !== null) backend.binding.aeRemoveFunction?.(state.compiled.name);
        state.compiled = null;
      }
      shapes.clear();
    },
  };
}
