/**
 * Seeded weight initialisers for the model zoo.
 *
 * Each builder takes one integer `seed`; this module turns it into a stream of per-layer seeds so
 * that two builds with the same seed get identical weights, while the layers of one build still
 * get different random draws. Three schemes follow the frameworks the write-ups used, because the
 * starting weights matter for what a short run reaches:
 *
 * - `"torch"` (write-ups 000, 001, 002, PyTorch): `nn.Linear`/`nn.Conv2d`/`nn.ConvTranspose2d`
 *   defaults, i.e. weight and bias uniform in `±1/sqrt(fanIn)`. PyTorch takes `fanIn` of a
 *   transposed convolution from its weight layout `(in, out, k, k)`, so it is `out * k * k`; the
 *   tfjs kernel layout `[k, k, out, in]` gives the same number to `varianceScaling`, so the quirk
 *   is reproduced for free.
 * - `"keras"` (write-up 004, Keras): Glorot-uniform kernels, zero biases.
 * - `"tf1-truncated"` (write-up 003, TensorFlow 1 by hand): truncated normal kernels with
 *   stddev 0.1 and biases fixed at 0.1 (the positive bias keeps ReLU units alive at the start).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { mulberry32 } from "../random.ts";

/** Which framework's default initialisation to imitate (see the module doc). */
export type InitScheme = "torch" | "keras" | "tf1-truncated";

/** A tfjs-layers weight initialiser (the class is not exported under a public name). */
export type Initializer = ReturnType<typeof tf.initializers.glorotUniform>;

/** Initialisers for one layer after another of a single build. */
export interface ParamInit {
  /** The scheme in use. */
  scheme: InitScheme;
  /** A fresh kernel initialiser (next seed of the stream). */
  kernel(): Initializer;
  /**
   * A fresh bias initialiser.
   * @param fanIn The layer's fan-in (inputs per output unit), needed by the `"torch"` scheme.
   */
  bias(fanIn: number): Initializer;
}

/**
 * Checks a builder's `seed` option.
 *
 * @param seed The seed, or undefined for unseeded (non-reproducible) weights.
 * @param where Name of the caller for the error message.
 * @throws RangeError if the seed is given but is not an integer.
 */
export function checkSeed(seed: number | undefined, where: string): void {
  if (seed !== undefined && !Number.isInteger(seed)) {
    throw new RangeError(`${where}: seed must be an integer or undefined, got ${seed}`);
  }
}

/**
 * Makes the per-layer initialisers of one model build.
 *
 * @param scheme Which framework's defaults to imitate.
 * @param seed Integer seed; undefined gives unseeded weights (different every build).
 * @returns Initialiser factories; call them once per layer, in a fixed order.
 */
export function paramInit(scheme: InitScheme, seed?: number): ParamInit {
  checkSeed(seed, "paramInit");
  const random = seed === undefined ? undefined : mulberry32(seed);
  // tfjs hands the seed to seedrandom as a string, so any integer in range is fine.
  const nextSeed = (): number | undefined =>
    random === undefined ? undefined : Math.floor(random() * 2 ** 31);
  return {
    scheme,
    kernel() {
      const layerSeed = nextSeed();
      switch (scheme) {
        case "torch":
          // kaiming_uniform(a=sqrt(5)) == uniform(±sqrt(1/fanIn)) == varianceScaling(1/3, fanIn).
          return tf.initializers.varianceScaling({
            scale: 1 / 3,
            mode: "fanIn",
            distribution: "uniform",
            seed: layerSeed,
          });
        case "keras":
          return tf.initializers.glorotUniform({ seed: layerSeed });
        case "tf1-truncated":
          return tf.initializers.truncatedNormal({ mean: 0, stddev: 0.1, seed: layerSeed });
      }
    },
    bias(fanIn: number) {
      if (!(fanIn > 0)) throw new RangeError(`paramInit.bias: fanIn must be > 0, got ${fanIn}`);
      const layerSeed = nextSeed();
      switch (scheme) {
        case "torch": {
          const bound = 1 / Math.sqrt(fanIn);
          return tf.initializers.randomUniform({ minval: -bound, maxval: bound, seed: layerSeed });
        }
        case "keras":
          return tf.initializers.zeros();
        case "tf1-truncated":
          return tf.initializers.constant({ value: 0.1 });
      }
    },
  };
}
