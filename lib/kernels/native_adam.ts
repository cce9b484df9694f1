/**
 * Adam on tfjs-node as one TensorFlow op per variable (`ResourceApplyAdam`).
 *
 * tfjs's `AdamOptimizer` runs ~14 element-wise ops per variable and step, each a full pass
 * over the parameters in memory plus ~20 µs of dispatch on the native backend. For the
 * 10-layer BatchNorm MLP (76 variables, 4.1M parameters) that was ~30 of a 65 ms training
 * step even with all variables laid end to end in one vector (measured). TensorFlow's
 * `ResourceApplyAdam` does the whole update in one pass, in place, but only on TensorFlow
 * resource variables. So this optimizer keeps, per trained variable, three resource variables
 * (the parameter's copy, the first and the second moment); each step it applies the op and
 * hands the new value back to the tfjs variable with `ReadVariableOp`, which shares the
 * buffer. (TensorFlow copies it before the next update because tfjs still holds it: one copy
 * per step, and values read earlier never change.) A variable written from outside
 * (`setWeights`, a restored checkpoint) is noticed by its changed data and copied in again.
 *
 * The arithmetic is Adam's as tfjs (and PyTorch) write it. TensorFlow's kernel adds epsilon to
 * `sqrt(v)` before the bias correction, so `epsilon * sqrt(1 - beta2^t)` is passed in its
 * place, which makes the two formulas equal; the results agree with `tf.train.adam` up to
 * float32 rounding (tested), not bit for bit. The state reads and writes tfjs Adam's layout:
 * `getWeights` gives `iter`, each variable's `<name>/m`, then each `<name>/v`, and the running
 * powers `accBeta1`, `accBeta2` are scalar variables as in tfjs (the checkpoint saves them),
 * so a checkpoint written with one resumes with the other, and
 * {@link NativeAdamOptimizer.getClassName} says `"Adam"`. It is a class because tfjs's
 * optimizer API is one (`minimize` calls the subclass's `applyGradients`).
 *
 * Only for the "tensorflow" backend (tfjs-node, tfjs-node-gpu): the constructor refuses others.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  boolAttr,
  isNativeBackend,
  runNativeOp,
  shapeAttr,
  stringAttr,
  typeAttr,
} from "./native_ops.ts";

/** Resource variables of one trained variable. */
interface Slot {
  /** The trained variable's name (what its gradient is keyed by). */
  name: string;
  /** The name `getWeights` saves the moments under (`<label>/m`, `<label>/v`). */
  label: string;
  /** Its shape. */
  shape: number[];
  /** Resource handle of the parameter's TensorFlow copy. */
  value: tf.Tensor;
  /** Resource handle of the first moment. */
  firstMoment: tf.Tensor;
  /** Resource handle of the second moment. */
  secondMoment: tf.Tensor;
  /** The tfjs variable's data the resource `value` holds (anything else is copied in). */
  synced: tf.DataId | null;
}

let resourceCount = 0;

/** A new TensorFlow resource variable of float32 `shape`, set to `initial`. */
function newResource(shape: number[], initial: tf.Tensor): tf.Tensor {
  const [handle] = runNativeOp(
    "VarHandleOp",
    [
      typeAttr("dtype"),
      shapeAttr("shape", shape),
      stringAttr("container", ""),
      // Unique within the process: TensorFlow would share two variables of the same name.
      stringAttr("shared_name", `ae_native_adam_${resourceCount++}`),
    ],
    [],
    1,
  );
  assignResource(handle, initial);
  return tf.keep(handle);
}

function assignResource(handle: tf.Tensor, value: tf.Tensor): void {
  runNativeOp("AssignVariableOp", [typeAttr("dtype")], [handle, value], 0);
}

function readResource(handle: tf.Tensor): tf.Tensor {
  return runNativeOp("ReadVariableOp", [typeAttr("dtype")], [handle], 1)[0];
}

function destroyResource(handle: tf.Tensor): void {
  runNativeOp("DestroyResourceOp", [boolAttr("ignore_lookup_error", true)], [handle], 0);
  handle.dispose();
}

/**
 * Adam as TensorFlow's `ResourceApplyAdam`, one op per variable; see the module comment.
 * Build it with {@link nativeAdam} while the "tensorflow" backend is active.
 */
export class NativeAdamOptimizer extends tf.Optimizer {
  /** tfjs's class name for Adam, so checkpoints move between the two. */
  static get className(): string {
    return "Adam";
  }
  /** beta1^t as a running float32 product (what tfjs's Adam keeps). */
  accBeta1: tf.Variable;
  /** beta2^t, likewise. */
  accBeta2: tf.Variable;
  private slots: Slot[] | null = null;
  /** Moments from `setWeights`, moved into resources by the next step (by position). */
  private restored: { label: string; m: tf.Tensor; v: tf.Tensor }[] | null = null;
  private readonly epsilon: number;

  /**
   * Creates the optimizer (native backend only).
   * @param learningRate Step size (positive, finite).
   * @param beta1 First-moment decay in [0, 1).
   * @param beta2 Second-moment decay in [0, 1).
   * @param epsilon Added to the root of the bias-corrected second moment (default: the
   *   backend's epsilon, as tfjs's Adam).
   * @throws RangeError for a hyperparameter out of range; Error if the backend is not native.
   */
  constructor(
    readonly learningRate: number,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    epsilon?: number,
  ) {
    super();
    if (!isNativeBackend()) {
      throw new Error(
        `NativeAdam needs the "tensorflow" backend (tfjs-node), not "${tf.getBackend()}"; ` +
          `use tf.train.adam there`,
      );
    }
    if (!(learningRate > 0) || !Number.isFinite(learningRate)) {
      throw new RangeError(
        `NativeAdam: learningRate must be positive and finite, got ${learningRate}`,
      );
    }
    for (const [what, beta] of [["beta1", beta1], ["beta2", beta2]] as const) {
      if (!(beta >= 0 && beta < 1)) {
        throw new RangeError(`NativeAdam: ${what} must be in [0, 1), got ${beta}`);
      }
    }
    this.epsilon = epsilon ?? tf.backend().epsilon();
    this.accBeta1 = tf.tidy(() => tf.scalar(beta1).variable(false));
    this.accBeta2 = tf.tidy(() => tf.scalar(beta2).variable(false));
  }

  /** One Adam step for every variable with a gradient. */
  override applyGradients(
    variableGradients: tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[],
  ): void {
    const named = Array.isArray(variableGradients)
      ? variableGradients.filter((g) => g.tensor != null)
      : Object.entries(variableGradients).filter(([, t]) => t != null).map(([name, tensor]) => ({
        name,
        tensor,
      }));
    if (named.length === 0) return;
    const registered = tf.engine().registeredVariables;
    const variables = named.map(({ name }) => {
      const variable = registered[name];
      if (variable === undefined) throw new Error(`NativeAdam: no variable named "${name}"`);
      return variable;
    });
    if (this.slots === null) this.slots = this.createSlots(variables);
    else this.checkSlots(variables);
    const slots = this.slots;
    tf.tidy(() => {
      // TensorFlow: lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps'); with
      // eps' = eps * sqrt(1 - b2^t) this is tfjs's lr * m_hat / (sqrt(v_hat) + eps).
      const epsilon = tf.mul(tf.sqrt(tf.sub(1, this.accBeta2)), this.epsilon);
      const constants = [
        this.accBeta1,
        this.accBeta2,
        tf.scalar(this.learningRate),
        tf.scalar(this.beta1),
        tf.scalar(this.beta2),
        epsilon,
      ];
      const attrs = [typeAttr(), boolAttr("use_locking", false), boolAttr("use_nesterov", false)];
      variables.forEach((variable, i) => {
        const slot = slots[i];
        if (slot.synced !== variable.dataId) assignResource(slot.value, variable);
        // Let go of the value tfjs holds (it shares the resource's buffer), so that TensorFlow
        // can update in place instead of copying first; the gradient stands in meanwhile.
        variable.assign(named[i].tensor);
        try {
          runNativeOp(
            "ResourceApplyAdam",
            attrs,
            [slot.value, slot.firstMoment, slot.secondMoment, ...constants, named[i].tensor],
            0,
          );
        } finally {
          // On failure the resource still holds the value from before this step.
          variable.assign(readResource(slot.value));
        }
        slot.synced = variable.dataId;
      });
      this.accBeta1.assign(tf.mul(this.accBeta1, this.beta1));
      this.accBeta2.assign(tf.mul(this.accBeta2, this.beta2));
    });
    this.incrementIterations();
  }

  /** Makes (or takes over restored) first and second moments for each variable. */
  private createSlots(variables: tf.Variable[]): Slot[] {
    const restored = this.restored;
    if (restored !== null && restored.length !== variables.length) {
      throw new Error(
        `NativeAdam: restored state has moments for ${restored.length} variables, but ` +
          `gradients came for ${variables.length}`,
      );
    }
    // Checked before any resource exists, so a refusal leaves nothing behind.
    restored?.forEach((saved, i) => {
      if (!tf.util.arraysEqual(saved.m.shape, variables[i].shape)) {
        throw new Error(
          `NativeAdam: restored moment ${saved.label} has shape [${saved.m.shape}], but ` +
            `variable ${variables[i].name} has [${variables[i].shape}]`,
        );
      }
    });
    const slots: Slot[] = [];
    // tidy frees the zeros; the resource handles are kept.
    tf.tidy(() =>
      variables.forEach((variable, i) => {
        const saved = restored?.[i];
        const zeros = () => tf.zeros(variable.shape);
        slots.push({
          name: variable.name,
          label: saved?.label ?? variable.name,
          shape: variable.shape.slice(),
          value: newResource(variable.shape, variable),
          firstMoment: newResource(variable.shape, saved?.m ?? zeros()),
          secondMoment: newResource(variable.shape, saved?.v ?? zeros()),
          synced: variable.dataId,
        });
      })
    );
    this.disposeRestored();
    return slots;
  }

  /** Throws when the variables differ from those the moments were made for. */
  private checkSlots(variables: tf.Variable[]): void {
    const slots = this.slots!;
    const describe = (names: string[], shapes: number[][]) =>
      names.map((n, i) => `${n} [${shapes[i]}]`).join(", ");
    const mismatch = variables.length !== slots.length ||
      variables.some((v, i) => slots[i].name !== v.name);
    if (mismatch) {
      throw new Error(
        `NativeAdam: gradients for ${
          describe(variables.map((v) => v.name), variables.map((v) => v.shape))
        }, but this optimizer updates ${
          describe(slots.map((s) => s.name), slots.map((s) => s.shape))
        } (in that order); use one optimizer per variable set`,
      );
    }
  }

  /** Frees the moments. */
  private disposeSlots(): void {
    for (const slot of this.slots ?? []) {
      destroyResource(slot.value);
      destroyResource(slot.firstMoment);
      destroyResource(slot.secondMoment);
    }
    this.slots = null;
  }

  /** Frees restored moments that were never taken over. */
  private disposeRestored(): void {
    for (const saved of this.restored ?? []) tf.dispose([saved.m, saved.v]);
    this.restored = null;
  }

  /** Frees the resource variables and the running powers. */
  override dispose(): void {
    super.dispose();
    this.disposeSlots();
    this.disposeRestored();
    this.accBeta1.dispose();
    this.accBeta2.dispose();
  }

  /**
   * The state in tfjs Adam's layout: `iter`, then each variable's first moment (`<name>/m`),
   * then each variable's second moment (`<name>/v`); fresh tensors the caller disposes.
   */
  override async getWeights(): Promise<{ name: string; tensor: tf.Tensor }[]> {
    const iterations = await this.saveIterations();
    if (this.slots === null) {
      const pending = this.restored ?? [];
      return [
        iterations,
        ...pending.map((s) => ({ name: `${s.label}/m`, tensor: s.m.clone() })),
        ...pending.map((s) => ({ name: `${s.label}/v`, tensor: s.v.clone() })),
      ];
    }
    const read = (suffix: string, pick: (s: Slot) => tf.Tensor) =>
      this.slots!.map((s) => ({ name: `${s.label}/${suffix}`, tensor: readResource(pick(s)) }));
    return [
      iterations,
      ...read("m", (s) => s.firstMoment),
      ...read("v", (s) => s.secondMoment),
    ];
  }

  /**
   * Restores state written by {@link getWeights} or by tfjs's Adam. Variables are matched by
   * position at the next `applyGradients` (a restored model's variables have new names), which
   * must name as many variables, of the saved shapes.
   */
  override async setWeights(weightValues: { name: string; tensor: tf.Tensor }[]): Promise<void> {
    const rest = await this.extractIterations(weightValues);
    if (rest.length % 2 !== 0) {
      throw new Error(
        `NativeAdam.setWeights: expected as many first as second moments, got ${rest.length} ` +
          `tensors`,
      );
    }
    const count = rest.length / 2;
    const first = rest.slice(0, count);
    const second = rest.slice(count);
    first.forEach((m, i) => {
      if (!tf.util.arraysEqual(m.tensor.shape, second[i].tensor.shape)) {
        throw new Error(
          `NativeAdam.setWeights: ${m.name} has shape [${m.tensor.shape}] but ${second[i].name} ` +
            `has [${second[i].tensor.shape}]`,
        );
      }
    });
    this.disposeSlots();
    this.disposeRestored();
    tf.tidy(() => {
      this.accBeta1.assign(tf.pow(this.beta1, this.iterations + 1));
      this.accBeta2.assign(tf.pow(this.beta2, this.iterations + 1));
    });
    this.restored = count === 0 ? null : first.map(({ name, tensor }, i) => ({
      label: name.replace(/\/m$/, ""),
      m: tf.keep(tensor.clone()),
      v: tf.keep(second[i].tensor.clone()),
    }));
  }

  /** The hyperparameters, as tfjs's Adam reports them. */
  override getConfig(): tf.serialization.ConfigDict {
    return {
      learningRate: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
    };
  }
}

/**
 * Builds a {@link NativeAdamOptimizer}; same arguments as `tf.train.adam`. The "tensorflow"
 * backend must be active.
 *
 * @param learningRate Step size (default 0.001).
 * @param beta1 Default 0.9.
 * @param beta2 Default 0.999.
 * @param epsilon Default: the backend's epsilon.
 */
export function nativeAdam(
  learningRate = 0.001,
  beta1 = 0.9,
  beta2 = 0.999,
  epsilon?: number,
): NativeAdamOptimizer {
  return new NativeAdamOptimizer(learningRate, beta1, beta2, epsilon);
}
