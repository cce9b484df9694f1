/**
 * The experiments E1-E9 of SPEC.md by CLI id, in order, and the notebook that defines each
 * (its one definition: `deno task exp <id>` executes that notebook).
 *
 * @module
 */
/** Experiment ids in the order of the notebooks (E1..E9). */
export const EXPERIMENT_IDS = [
  "dataset",
  "cnn-tsne",
  "latent-sweep",
  "zero-one",
  "single-digit",
  "upsampling-vs-transpose",
  "mlp-blocks",
  "kaggle-csv",
  "dense-denoising",
] as const;

/** The notebook of each experiment (in `notebooks/`): the one definition of its flow. */
export const EXPERIMENT_NOTEBOOKS: Readonly<Record<ExperimentId, string>> = {
  "dataset": "00_dataset.ipynb",
  "cnn-tsne": "01_cnn_tsne.ipynb",
  "latent-sweep": "02_latent_sweep.ipynb",
  "zero-one": "03_zero_one.ipynb",
  "single-digit": "04_single_digit.ipynb",
  "upsampling-vs-transpose": "05_upsampling_vs_transpose.ipynb",
  "mlp-blocks": "06_mlp_blocks.ipynb",
  "kaggle-csv": "07_kaggle_csv.ipynb",
  "dense-denoising": "08_dense_denoising.ipynb",
};

/**
 * Checks an experiment id.
 *
 * @throws Error listing the valid ids when `id` is unknown.
 */
export function checkExperimentId(id: string): ExperimentId {
  if (!(EXPERIMENT_IDS as readonly string[]).includes(id)) {
    throw new Error(`unknown experiment "${id}"; valid experiments: ${EXPERIMENT_IDS.join(", ")}`);
  }
  return id as ExperimentId;
}

/** One of {@link EXPERIMENT_IDS}. */
export type ExperimentId = typeof EXPERIMENT_IDS[number];
