/**
 * Adam with the update done once over all parameters laid end to end, instead of per variable.
 *
 * tfjs's `AdamOptimizer` issues ~14 element-wise ops per variable and step. For the 10-layer
 * BatchNorm MLP (76 variables, 4.1M parameters) that is ~1,000 ops a step, and on the native
 * backend each op costs ~15-25 µs of dispatch on top of its arithmetic: Adam took 58 of the
 * 145 ms of a training step there. This optimizer concatenates the gradients and the
 * parameters (one op each), runs the same formula once on flat moment vectors, and splits the
 * result back (one op plus a reshape per variable).
 *
 * The arithmetic is tfjs's, op for op in the same order, so the results are bitwise those of
 * `tf.train.adam` (tested), and `getWeights`/`setWeights` read and write the same per-variable
 * `<name>/m`, `<name>/v` tensors. A checkpoint written with one resumes with the other, which
 * is why {@link FusedAdamOptimizer.getClassName} says `"Adam"`. It is a class because tfjs's
 * optimizer API is one (`minimize` calls the subclass's `applyGradients`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** A tensor with its name, as tfjs optimizers exchange state. */
type NamedTensor = { name: string; tensor: tf.Tensor };

/** Cuts a flat vector into consecutive parts of the given sizes. */
function splitFlat(flat: tf.Tensor, sizes: number[]): tf.Tensor[] {
  return sizes.length === 1 ? [flat] : tf.split(flat, sizes);
}

/** Where one variable lives in the flat vectors. */
interface Slot {
  /**
   * The variable's name (what gradients are keyed by); null after `setWeights` until the next
   * `applyGradients` names the variables (a restored model's variables get new names).
   */
  name: string | null;
  /** The name `getWeights` saves its moments under (`<label>/m`, `<label>/v`). */
  label: string;
  /** Its shape, to reshape its part of the flat update. */
  shape: number[];
  /** Its number of elements. */
  size: number;
}

/**
 * Adam (Kingma & Ba) computed over all variables at once; a drop-in for `tf.train.adam`.
 *
 * Every `applyGradients` call must update the same variables in the same order (what a training
 * loop does); a different set throws, naming what changed.
 */
export class FusedAdamOptimizer extends tf.Optimizer {
  /** Class name for tfjs serialization. */
  static get className(): string {
    return "Adam";
  }
  /** beta1^(t+1): the running power used for bias correction (tfjs's field name). */
  accBeta1: tf.Variable;
  /** beta2^(t+1). */
  accBeta2: tf.Variable;
  private slots: Slot[] | null = null;
  private firstMoment: tf.Variable | null = null;
  private secondMoment: tf.Variable | null = null;
  private readonly epsilon: number;

  /**
   * @param learningRate Step size.
   * @param beta1 Decay of the first moment (default 0.9).
   * @param beta2 Decay of the second moment (default 0.999).
   * @param epsilon Added to the root of the second moment (default: the backend's epsilon,
   *   as in tfjs).
   */
  constructor(
    readonly learningRate: number,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    epsilon?: number,
  ) {
    super();
    if (!(learningRate > 0) || !Number.isFinite(learningRate)) {
      throw new RangeError(
        `FusedAdam: learningRate must be positive and finite, got ${learningRate}`,
      );
    }
    for (const [what, beta] of [["beta1", beta1], ["beta2", beta2]] as const) {
      if (!(beta >= 0 && beta < 1)) {
        throw new RangeError(`FusedAdam: ${what} must be in [0, 1), got ${beta}`);
      }
    }
    this.epsilon = epsilon ?? tf.backend().epsilon();
    this.accBeta1 = tf.tidy(() => tf.scalar(beta1).variable(false));
    this.accBeta2 = tf.tidy(() => tf.scalar(beta2).variable(false));
  }

  /** Applies one Adam step to the variables named in `variableGradients`. */
  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const named = Array.isArray(variableGradients)
      ? variableGradients.filter((g) => g.tensor != null)
      : Object.entries(variableGradients).filter(([, t]) => t != null).map(([name, tensor]) => ({
        name,
        tensor,
      }));
    if (named.length === 0) return;
    const registered = tf.engine().registeredVariables;
    const values = named.map(({ name }) => {
      const value = registered[name];
      if (value === undefined) throw new Error(`FusedAdam: no variable named "${name}"`);
      return value;
    });
    if (this.slots === null) {
      this.initSlots(values);
    } else {
      this.checkSlots(values);
    }
    const slots = this.slots!;
    const flat = (ts: tf.Tensor[]) =>
      ts.length === 1 ? tf.reshape(ts[0], [-1]) : tf.concat(ts.map((t) => tf.reshape(t, [-1])));
    tf.tidy(() => {
      const gradient = flat(named.map((g) => g.tensor));
      const value = flat(values);
      const firstMoment = this.firstMoment!;
      const secondMoment = this.secondMoment!;
      // The same ops in the same order as tfjs 4.22's AdamOptimizer.applyGradients.
      const oneMinusAccBeta1 = tf.sub(1, this.accBeta1);
      const oneMinusAccBeta2 = tf.sub(1, this.accBeta2);
      const newFirstMoment = tf.add(
        tf.mul(firstMoment, this.beta1),
        tf.mul(gradient, 1 - this.beta1),
      );
      const newSecondMoment = tf.add(
        tf.mul(secondMoment, this.beta2),
        tf.mul(tf.square(gradient), 1 - this.beta2),
      );
      const biasCorrectedFirstMoment = tf.div(newFirstMoment, oneMinusAccBeta1);
      const biasCorrectedSecondMoment = tf.div(newSecondMoment, oneMinusAccBeta2);
      firstMoment.assign(newFirstMoment);
      secondMoment.assign(newSecondMoment);
      const newValue = tf.add(
        tf.mul(
          tf.div(
            biasCorrectedFirstMoment,
            tf.add(tf.sqrt(biasCorrectedSecondMoment), this.epsilon),
          ),
          -this.learningRate,
        ),
        value,
      );
      const parts = splitFlat(newValue, slots.map((s) => s.size));
      parts.forEach((part, i) => values[i].assign(tf.reshape(part, slots[i].shape)));
      this.accBeta1.assign(tf.mul(this.accBeta1, this.beta1));
      this.accBeta2.assign(tf.mul(this.accBeta2, this.beta2));
    });
    this.incrementIterations();
  }

  private initSlots(values: tf.Variable[]): void {
    this.slots = values.map((v) => ({
      name: v.name,
      label: v.name,
      shape: v.shape.slice(),
      size: v.size,
    }));
    const total = this.slots.reduce((n, s) => n + s.size, 0);
    this.firstMoment = tf.tidy(() => tf.zeros([total]).variable(false));
    this.secondMoment = tf.tidy(() => tf.zeros([total]).variable(false));
  }

  private checkSlots(values: tf.Variable[]): void {
    const slots = this.slots!;
    const describe = (names: (string | null)[], shapes: number[][]) =>
      names.map((n, i) => `${n ?? "?"} [${shapes[i]}]`).join(", ");
    const mismatch = values.length !== slots.length ||
      values.some((v, i) =>
        (slots[i].name !== null && slots[i].name !== v.name) ||
        !tf.util.arraysEqual(v.shape, slots[i].shape)
      );
    if (mismatch) {
      throw new Error(
        `FusedAdam: gradients for ${
          describe(values.map((v) => v.name), values.map((v) => v.shape))
        }` +
          `, but this optimizer updates ${
            describe(slots.map((s) => s.name), slots.map((s) => s.shape))
          }` +
          ` (in that order); use one optimizer per variable set`,
      );
    }
    // After setWeights, tfjs's Adam matches variables by position; so does this.
    values.forEach((v, i) => {
      slots[i].name = v.name;
      slots[i].label = v.name;
    });
  }

  /** Disposes the moments and running powers. */
  override dispose(): void {
    super.dispose();
    this.accBeta1.dispose();
    this.accBeta2.dispose();
    this.firstMoment?.dispose();
    this.secondMoment?.dispose();
  }

  /**
   * The state in tfjs Adam's layout: `iter`, then each variable's first moment (`<name>/m`),
   * then each variable's second moment (`<name>/v`).
   */
  override async getWeights(): Promise<NamedTensor[]> {
    const iterations = await this.saveIterations();
    if (this.slots === null) return [iterations];
    const sizes = this.slots.map((s) => s.size);
    const split = (flat: tf.Tensor, suffix: string) =>
      tf.tidy(() =>
        splitFlat(flat, sizes).map((part, i) => ({
          name: `${this.slots![i].label}/${suffix}`,
          tensor: tf.reshape(part, this.slots![i].shape),
        }))
      );
    return [iterations, ...split(this.firstMoment!, "m"), ...split(this.secondMoment!, "v")];
  }

  /**
   * Restores state written by {@link getWeights} or by tfjs's Adam. Variables are matched by
   * position, so the next `applyGradients` must name the same variables in the same order;
   * their names and shapes are taken from the saved moments (`<name>/m`).
   */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const rest = await this.extractIterations(weightValues);
    if (rest.length % 2 !== 0) {
      throw new Error(
        `FusedAdam.setWeights: expected as many first as second moments, got ${rest.length} tensors`,
      );
    }
    const count = rest.length / 2;
    const first = rest.slice(0, count);
    const second = rest.slice(count);
    first.forEach((m, i) => {
      if (!tf.util.arraysEqual(m.tensor.shape, second[i].tensor.shape)) {
        throw new Error(
          `FusedAdam.setWeights: ${m.name} has shape [${m.tensor.shape}] but ${second[i].name} ` +
            `has [${second[i].tensor.shape}]`,
        );
      }
    });
    this.firstMoment?.dispose();
    this.secondMoment?.dispose();
    tf.tidy(() => {
      this.accBeta1.assign(tf.pow(this.beta1, this.iterations + 1));
      this.accBeta2.assign(tf.pow(this.beta2, this.iterations + 1));
    });
    if (count === 0) {
      this.slots = null;
      this.firstMoment = null;
      this.secondMoment = null;
      return;
    }
    this.slots = first.map(({ name, tensor }) => ({
      name: null,
      label: name.replace(/\/m$/, ""),
      shape: tensor.shape.slice(),
      size: tensor.size,
    }));
    const flat = (ts: tf.Tensor[]) =>
      tf.tidy(() => tf.concat(ts.map((t) => tf.reshape(t, [-1]))).variable(false));
    this.firstMoment = flat(first.map((w) => w.tensor));
    this.secondMoment = flat(second.map((w) => w.tensor));
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
 * Builds a {@link FusedAdamOptimizer}; same arguments as `tf.train.adam`.
 *
 * @param learningRate Step size (default 0.001).
 * @param beta1 Default 0.9.
 * @param beta2 Default 0.999.
 * @param epsilon Default: the backend's epsilon.
 */
export function fusedAdam(
  learningRate = 0.001,
  beta1 = 0.9,
  beta2 = 0.999,
  epsilon?: number,
): FusedAdamOptimizer {
  return new FusedAdamOptimizer(learningRate, beta1, beta2, epsilon);
}
