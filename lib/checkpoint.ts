/**
 * Checkpoints on disk with Deno file APIs: models in the tfjs layers format (`model.json` +
 * `weights.bin`, the same files `tfjs-node`'s `file://` handler writes, which we cannot use
 * without tfjs-node), and whole training checkpoints (model, best weights, optimizer state,
 * trainer state) for {@link import("./train.ts").trainAutoencoder}.
 *
 * Every save is atomic: the files go into a fresh `<dir>.tmp-XXXX` directory, which then
 * replaces `<dir>`. POSIX can rename a file over a file atomically but not a directory over a
 * non-empty directory, so the swap is two renames: `<dir>` -> `<dir>.old-XXXX`, then
 * `<dir>.tmp-XXXX` -> `<dir>`, then the old one is deleted. A crash at any point leaves either
 * `<dir>` complete or (between the two renames) `<dir>` missing and the previous checkpoint
 * complete in `<dir>.old-XXXX`, which every loader here moves back first
 * ({@link recoverInterruptedSave}).
 *
 * Custom layers must be registered (`tf.serialization.registerClass`) by their own modules
 * before {@link loadModel}; importing the model module does that.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import { faultPoint } from "./faults.ts";
import { basename, dirname, join } from "node:path";

/** File name of the model topology and weights manifest inside a model directory. */
export const MODEL_JSON = "model.json";
/** File name of the weights inside a model directory. */
export const WEIGHTS_BIN = "weights.bin";

/** A tensor with a name, as `optimizer.getWeights()` returns them. */
export interface NamedTensor {
  /** The weight's name. */
  name: string;
  /** Its value. */
  tensor: tf.Tensor;
}

const TMP_MARK = ".tmp-";
const OLD_MARK = ".old-";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

function randomSuffix(): string {
  return crypto.randomUUID().slice(0, 8);
}

/** Siblings of `dir` whose names start with `<basename(dir)><mark>`. */
async function siblings(dir: string, mark: string): Promise<string[]> {
  const parent = dirname(dir);
  const prefix = basename(dir) + mark;
  const found: string[] = [];
  try {
    for await (const entry of Deno.readDir(parent)) {
      if (entry.isDirectory && entry.name.startsWith(prefix)) found.push(join(parent, entry.name));
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return found.sort();
}

/**
 * Finishes or undoes a save that was interrupted between its two renames: when `dir` is
 * missing but a complete previous version `<dir>.old-XXXX` exists, it is moved back to `dir`.
 * Leftover `<dir>.old-*` directories next to an existing `dir` are deleted. Unfinished
 * `<dir>.tmp-*` directories are left alone here (a save may be running); the next save of
 * the same directory deletes them.
 *
 * @param dir The checkpoint or model directory.
 * @returns true when a previous version was moved back.
 */
export async function recoverInterruptedSave(dir: string): Promise<boolean> {
  const olds = await siblings(dir, OLD_MARK);
  if (olds.length === 0) return false;
  if (await exists(dir)) {
    for (const old of olds) await Deno.remove(old, { recursive: true });
    return false;
  }
  // Only one save runs per directory at a time, so at most one .old exists; take the newest
  // by modification time if a user copied things around.
  const stats = await Promise.all(olds.map(async (p) => ({ p, t: (await Deno.stat(p)).mtime })));
  stats.sort((a, b) => (b.t?.getTime() ?? 0) - (a.t?.getTime() ?? 0));
  await Deno.rename(stats[0].p, dir);
  for (const { p } of stats.slice(1)) await Deno.remove(p, { recursive: true });
  return true;
}

/**
 * Writes a directory atomically: `write` fills a fresh `<dir>.tmp-XXXX`, which then replaces
 * `dir` (see the module notes for why this takes two renames and how a crash is recovered).
 * If `write` throws, the temporary directory is removed and `dir` is untouched.
 *
 * @param dir Final directory; its parent is created if needed.
 * @param write Fills the temporary directory (given as its path).
 */
export async function writeDirAtomically(
  dir: string,
  write: (tmpDir: string) => Promise<void>,
): Promise<void> {
  await recoverInterruptedSave(dir);
  await Deno.mkdir(dirname(dir), { recursive: true });
  // Leftovers of crashed saves: they never became `dir`, so they are garbage.
  for (const stale of await siblings(dir, TMP_MARK)) await Deno.remove(stale, { recursive: true });
  const tmpDir = `${dir}${TMP_MARK}${randomSuffix()}`;
  await Deno.mkdir(tmpDir);
  try {
    await write(tmpDir);
  } catch (error) {
    await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
    throw error;
  }
  faultPoint("checkpoint-write");
  if (await exists(dir)) {
    const oldDir = `${dir}${OLD_MARK}${randomSuffix()}`;
    await Deno.rename(dir, oldDir);
    faultPoint("checkpoint-swap");
    await Deno.rename(tmpDir, dir);
    await Deno.remove(oldDir, { recursive: true });
  } else {
    await Deno.rename(tmpDir, dir);
  }
}

/**
 * Writes a file and flushes it to disk, so a rename after it never exposes a half-written
 * file after a power loss.
 */
async function writeFileSynced(path: string, data: Uint8Array): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    let offset = 0;
    while (offset < data.length) offset += await file.write(data.subarray(offset));
    await file.syncData();
  } finally {
    file.close();
  }
}

function weightDataBytes(weightData: tf.io.WeightData | undefined): Uint8Array {
  if (weightData === undefined) return new Uint8Array(0);
  return new Uint8Array(tf.io.CompositeArrayBuffer.join(weightData));
}

/** Writes model artifacts as `model.json` + `weights.bin` into an existing directory. */
async function writeArtifacts(dir: string, artifacts: tf.io.ModelArtifacts): Promise<void> {
  if (artifacts.modelTopology instanceof ArrayBuffer) {
    throw new Error(
      "saving a binary (graph model) topology is not supported; expected a layers model",
    );
  }
  const modelJson: Record<string, unknown> = {
    modelTopology: artifacts.modelTopology,
    format: artifacts.format ?? "layers-model",
    generatedBy: artifacts.generatedBy ?? null,
    convertedBy: artifacts.convertedBy ?? null,
    weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
  };
  if (artifacts.trainingConfig != null) modelJson.trainingConfig = artifacts.trainingConfig;
  if (artifacts.userDefinedMetadata != null) {
    modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
  }
  await writeFileSynced(join(dir, WEIGHTS_BIN), weightDataBytes(artifacts.weightData));
  await writeFileSynced(
    join(dir, MODEL_JSON),
    new TextEncoder().encode(JSON.stringify(modelJson)),
  );
}

/** Reads `model.json` + its weight files from a directory into model artifacts. */
async function readArtifacts(dir: string): Promise<tf.io.ModelArtifacts> {
  const jsonPath = join(dir, MODEL_JSON);
  let modelJson: tf.io.ModelJSON;
  try {
    modelJson = JSON.parse(await Deno.readTextFile(jsonPath));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(`no model at ${dir}: ${MODEL_JSON} is missing`);
    }
    throw new Error(`cannot read ${jsonPath}: ${String(error)}`);
  }
  if (modelJson.modelTopology == null || !Array.isArray(modelJson.weightsManifest)) {
    throw new Error(`${jsonPath} is not a tfjs layers model (no modelTopology/weightsManifest)`);
  }
  return await tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
    const specs: tf.io.WeightsManifestEntry[] = [];
    const buffers: ArrayBuffer[] = [];
    for (const group of manifest) {
      specs.push(...group.weights);
      for (const path of group.paths) {
        const bytes = await Deno.readFile(join(dir, path));
        buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      }
    }
    return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
  });
}

/**
 * A tfjs IO handler that saves to and loads from a directory with Deno file APIs (what
 * `file://` does under tfjs-node). Saving is atomic ({@link writeDirAtomically}); loading
 * first recovers an interrupted save ({@link recoverInterruptedSave}).
 *
 * @param dir The model directory (`model.json` + `weights.bin` inside).
 * @returns An IO handler for `model.save(handler)` and `tf.loadLayersModel(handler)`.
 */
export function denoFileIO(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      await writeDirAtomically(dir, (tmp) => writeArtifacts(tmp, artifacts));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: "JSON",
          modelTopologyBytes: JSON.stringify(artifacts.modelTopology ?? null).length,
          weightSpecsBytes: JSON.stringify(artifacts.weightSpecs ?? []).length,
          weightDataBytes: weightDataBytes(artifacts.weightData).byteLength,
        },
      };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      await recoverInterruptedSave(dir);
      return await readArtifacts(dir);
    },
  };
}

/**
 * Saves a layers model (topology + all weights, BatchNorm moving statistics included) to
 * `dir` as `model.json` + `weights.bin`, atomically.
 *
 * @param model The model to save.
 * @param dir Target directory; replaced as a whole.
 * @returns tfjs's save result (sizes, date).
 */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<tf.io.SaveResult> {
  return await model.save(denoFileIO(dir));
}

/**
 * Loads a layers model saved by {@link saveModel} (or by tfjs-node / Python's
 * tensorflowjs converter into a directory). Custom layers must be registered beforehand.
 *
 * @param dir The model directory.
 * @returns The model, not compiled.
 */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  return await tf.loadLayersModel(denoFileIO(dir));
}

/** File names of a training checkpoint directory (besides the model files). */
const TRAINER_JSON = "trainer.json";
const OPTIMIZER_JSON = "optimizer.json";
const OPTIMIZER_BIN = "optimizer.bin";
const BEST_DIR = "best";

/** What {@link saveTrainingCheckpoint} writes. */
export interface TrainingCheckpointInput<State> {
  /** The model at the end of the last completed epoch (what training resumes from). */
  model: tf.LayersModel;
  /** The optimizer; its weights (Adam moments, iteration count) are saved. */
  optimizer: tf.Optimizer;
  /** Trainer state as JSON-able data (epoch, history, best epoch, ...). */
  state: State;
  /** Weights of the best epoch in `model.weights` order, saved as the model in `best/`; optional. */
  bestWeights?: tf.Tensor[];
  /**
   * Extra optimizer scalars tfjs does not save (e.g. Adam's running beta powers), restored by
   * the trainer so that a resumed run continues bit for bit.
   */
  optimizerExtras?: Record<string, number>;
}

/** What {@link loadTrainingCheckpoint} returns. The caller owns (and must dispose) the tensors. */
export interface TrainingCheckpoint<State> {
  /** Trainer state as saved. */
  state: State;
  /** The model's weights in `model.weights` order, with their original names. */
  weights: NamedTensor[];
  /** The best epoch's weights in the same order, or null when none were saved. */
  bestWeights: NamedTensor[] | null;
  /** Optimizer class name as saved (e.g. "Adam"). */
  optimizerClass: string;
  /** Optimizer config as saved (learning rate, betas...). */
  optimizerConfig: Record<string, unknown>;
  /** Optimizer weights in `optimizer.getWeights()` order, ready for `optimizer.setWeights`. */
  optimizerWeights: NamedTensor[];
  /** Extra optimizer scalars as saved (see {@link TrainingCheckpointInput.optimizerExtras}). */
  optimizerExtras: Record<string, number>;
}

/** Model weights with their original names, in `model.weights` order. */
function namedModelWeights(model: tf.LayersModel, values?: tf.Tensor[]): NamedTensor[] {
  const variables = model.weights;
  if (values !== undefined && values.length !== variables.length) {
    throw new Error(
      `bestWeights has ${values.length} tensors but the model has ${variables.length} weights`,
    );
  }
  return variables.map((v, i) => ({ name: v.originalName, tensor: values?.[i] ?? v.read() }));
}

function orderedFromMap(
  map: tf.NamedTensorMap,
  specs: tf.io.WeightsManifestEntry[],
): NamedTensor[] {
  return specs.map((spec) => ({ name: spec.name, tensor: map[spec.name] }));
}

/**
 * Saves a training checkpoint atomically into `dir`:
 * `model.json` + `weights.bin` (the model to resume from; {@link loadModel}(dir) works),
 * `best/` (the best epoch's weights as a loadable model, when given), `optimizer.json` +
 * `optimizer.bin` (optimizer class, config and weights) and `trainer.json` (the state).
 *
 * @param dir The checkpoint directory; replaced as a whole.
 * @param input Model, optimizer, state and optional best weights.
 */
export async function saveTrainingCheckpoint<State>(
  dir: string,
  input: TrainingCheckpointInput<State>,
): Promise<void> {
  const { model, optimizer } = input;
  let artifacts: tf.io.ModelArtifacts | null = null;
  await model.save(tf.io.withSaveHandler((a) => {
    artifacts = a;
    return Promise.resolve({ modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) });
  }));
  const modelArtifacts = artifacts as tf.io.ModelArtifacts | null;
  if (modelArtifacts === null) throw new Error("model.save produced no artifacts");

  const bestEncoded = input.bestWeights
    ? await tf.io.encodeWeights(namedModelWeights(model, input.bestWeights))
    : null;

  // Names are made unique by position: tfjs matches optimizer weights by order anyway.
  const optimizerWeights = await optimizer.getWeights();
  let optimizerEncoded: { data: ArrayBuffer; specs: tf.io.WeightsManifestEntry[] };
  try {
    optimizerEncoded = await tf.io.encodeWeights(
      optimizerWeights.map((w, i) => ({ name: `${i}:${w.name}`, tensor: w.tensor })),
    );
  } finally {
    // getWeights() makes a fresh scalar for the iteration count; the rest are the optimizer's
    // own variables, which must stay alive.
    for (const w of optimizerWeights) if (!(w.tensor instanceof tf.Variable)) w.tensor.dispose();
  }
  const optimizerJson = {
    className: optimizer.getClassName(),
    config: optimizer.getConfig(),
    weights: optimizerEncoded.specs,
    extras: input.optimizerExtras ?? {},
  };

  await writeDirAtomically(dir, async (tmp) => {
    await writeArtifacts(tmp, modelArtifacts);
    if (bestEncoded) {
      await Deno.mkdir(join(tmp, BEST_DIR));
      await writeArtifacts(join(tmp, BEST_DIR), {
        ...modelArtifacts,
        weightSpecs: bestEncoded.specs,
        weightData: bestEncoded.data,
      });
    }
    await writeFileSynced(join(tmp, OPTIMIZER_BIN), new Uint8Array(optimizerEncoded.data));
    await writeFileSynced(
      join(tmp, OPTIMIZER_JSON),
      new TextEncoder().encode(JSON.stringify(optimizerJson)),
    );
    // Written last: its presence marks a complete training checkpoint.
    await writeFileSynced(
      join(tmp, TRAINER_JSON),
      new TextEncoder().encode(JSON.stringify(input.state, null, 1)),
    );
  });
}

/**
 * Whether `dir` holds a complete training checkpoint (after recovering an interrupted save).
 *
 * @param dir The checkpoint directory.
 * @returns true when `trainer.json` and the model files are there.
 */
export async function hasTrainingCheckpoint(dir: string): Promise<boolean> {
  await recoverInterruptedSave(dir);
  return await exists(join(dir, TRAINER_JSON)) && await exists(join(dir, MODEL_JSON));
}

/**
 * Loads a training checkpoint written by {@link saveTrainingCheckpoint}. The returned tensors
 * belong to the caller.
 *
 * @param dir The checkpoint directory.
 * @returns State, model weights, best weights, optimizer class/config/weights.
 */
export async function loadTrainingCheckpoint<State>(
  dir: string,
): Promise<TrainingCheckpoint<State>> {
  if (!(await hasTrainingCheckpoint(dir))) {
    throw new Error(
      `no training checkpoint in ${dir} (expected ${TRAINER_JSON} and ${MODEL_JSON})`,
    );
  }
  const state = JSON.parse(await Deno.readTextFile(join(dir, TRAINER_JSON))) as State;
  const modelArtifacts = await readArtifacts(dir);
  const weights = orderedFromMap(
    tf.io.decodeWeights(modelArtifacts.weightData!, modelArtifacts.weightSpecs!),
    modelArtifacts.weightSpecs!,
  );
  let bestWeights: NamedTensor[] | null = null;
  if (await exists(join(dir, BEST_DIR, MODEL_JSON))) {
    const best = await readArtifacts(join(dir, BEST_DIR));
    bestWeights = orderedFromMap(
      tf.io.decodeWeights(best.weightData!, best.weightSpecs!),
      best.weightSpecs!,
    );
  }
  const optimizerJson = JSON.parse(await Deno.readTextFile(join(dir, OPTIMIZER_JSON))) as {
    className: string;
    config: Record<string, unknown>;
    weights: tf.io.WeightsManifestEntry[];
    extras?: Record<string, number>;
  };
  const optimizerBytes = await Deno.readFile(join(dir, OPTIMIZER_BIN));
  const optimizerMap = tf.io.decodeWeights(
    optimizerBytes.buffer.slice(
      optimizerBytes.byteOffset,
      optimizerBytes.byteOffset + optimizerBytes.byteLength,
    ),
    optimizerJson.weights,
  );
  const optimizerWeights = optimizerJson.weights.map((spec) => ({
    name: spec.name.slice(spec.name.indexOf(":") + 1),
    tensor: optimizerMap[spec.name],
  }));
  return {
    state,
    weights,
    bestWeights,
    optimizerClass: optimizerJson.className,
    optimizerConfig: optimizerJson.config,
    optimizerWeights,
    optimizerExtras: optimizerJson.extras ?? {},
  };
}
