/**
 * The experiments E1-E9 of SPEC.md by CLI id, in order, loaded lazily so that asking for an
 * unknown id (or listing them) does not load TensorFlow.js.
 *
 * @module
 */
import type { ConfigValue, Experiment, ExperimentConfig } from "./types.ts";
import { applyOverrides, resolveProfile } from "./config.ts";
import { executeRun, type RunRecord } from "./runs.ts";
import * as path from "node:path";
import { MNIST_FILES, resolveMnistDir } from "../data/mnist.ts";

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

// Experiments whose flow is still a lib module; the others are defined by their notebook alone.
const loaders: Partial<Record<ExperimentId, () => Promise<{ experiment: Experiment }>>> = {
  "cnn-tsne": () => import("./cnn_tsne.ts") as Promise<{ experiment: Experiment }>,
  "dense-denoising": () => import("./dense_denoising.ts") as Promise<{ experiment: Experiment }>,
};

/**
 * Loads an experiment module by id.
 *
 * @throws Error listing the valid ids when `id` is unknown.
 */
export async function getExperiment(id: string): Promise<Experiment> {
  if (!(EXPERIMENT_IDS as readonly string[]).includes(id)) {
    throw new Error(`unknown experiment "${id}"; valid experiments: ${EXPERIMENT_IDS.join(", ")}`);
  }
  const load = loaders[id as ExperimentId];
  if (!load) {
    throw new Error(
      `experiment "${id}" is defined by its notebook notebooks/${
        EXPERIMENT_NOTEBOOKS[id as ExperimentId]
      }: run it with \`deno task exp ${id}\``,
    );
  }
  return (await load()).experiment;
}

/** Options of {@link runExperiment}. */
export interface RunExperimentOptions {
  /** `smoke`, `quick` or `full`; default env `AE_PROFILE`, else `quick`. */
  profile?: string;
  /** Overrides of the profile's configuration: `["epochs=5"]` or `{ epochs: 5 }`. */
  overrides?: string[] | Record<string, ConfigValue | string>;
  /** Re-run even if a finished run with the same configuration and code exists. */
  force?: boolean;
  /** No log lines. */
  quiet?: boolean;
  /** Root of the run directories (default `outputs/runs`). */
  runsRoot?: string;
}

/**
 * Resolves the configuration of an experiment (profile + overrides, validated) without running it.
 */
export async function resolveConfig(
  id: string,
  options: Pick<RunExperimentOptions, "profile" | "overrides"> = {},
): Promise<
  { experiment: Experiment; profile: ReturnType<typeof resolveProfile>; config: ExperimentConfig }
> {
  const experiment = await getExperiment(id);
  const profile = resolveProfile(options.profile);
  const config = applyOverrides(
    experiment.profiles[profile],
    options.overrides ?? [],
    experiment.validate?.bind(experiment),
  );
  return { experiment, profile, config };
}

/**
 * Runs one experiment (or reuses its finished run) and returns the run record: what notebooks
 * and the CLI call.
 */
export async function runExperiment(
  id: string,
  options: RunExperimentOptions = {},
): Promise<RunRecord> {
  const { experiment, profile, config } = await resolveConfig(id, options);
  const dir = resolveMnistDir();
  const data = [MNIST_FILES.train, MNIST_FILES.test].flatMap((s) => [s.images, s.labels])
    .map((f) => path.join(dir, f));
  return await executeRun(experiment, config, {
    profile,
    force: options.force,
    quiet: options.quiet,
    runsRoot: options.runsRoot,
    // The MNIST files are read by every experiment: a changed copy is another run.
    data,
  });
}
