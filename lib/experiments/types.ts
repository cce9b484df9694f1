/**
 * The shape every experiment module shares: plain-data configuration per profile and a run
 * function that writes its evidence (metrics, histories, figures, images, claims) through a
 * {@link RunContext}, so a finished run can be re-shown from disk without re-training.
 *
 * @module
 */

/** How much work a run does: `smoke` for tests (seconds), `quick` (default), `full` (write-up settings). */
export type Profile = "smoke" | "quick" | "full";

/** All profiles, in order of cost. */
export const PROFILES: readonly Profile[] = ["smoke", "quick", "full"];

/** A configuration value: what `--set key=value` can override. */
export type ConfigValue = number | string | boolean | number[] | string[];

/** An experiment's configuration: flat plain data, so it can be hashed, printed and overridden. */
export type ExperimentConfig = Record<string, ConfigValue>;

/** One claim of a write-up next to what this run measured. */
export interface ClaimRow {
  /** The write-up's claim in a sentence. */
  claim: string;
  /** What the write-up reported or what the claim implies (e.g. "AE < PCA at every d"). */
  expected: string;
  /** Our number(s), formatted. */
  ours: string;
  /** Whether our measurement supports the claim. */
  verdict: "pass" | "differs" | "n/a";
}

/** One epoch of a training history, as the trainer records it. */
export interface HistoryRow {
  /** 1-based epoch number. */
  epoch: number;
  /** Mean training loss over the epoch. */
  trainLoss: number;
  /** Validation loss after the epoch, or null without validation data. */
  valLoss: number | null;
  /** Wall time of the epoch in seconds. */
  seconds: number;
}

/** A Plotly figure as plain data. */
export interface PlotlyFigureData {
  /** Plotly traces. */
  data: unknown[];
  /** Plotly layout. */
  layout?: Record<string, unknown>;
}

/** What a run function uses to report progress and persist its evidence. */
export interface RunContext {
  /** Directory of this run (a temporary one until the run completes). */
  dir: string;
  /** The profile the run was started with. */
  profile: Profile;
  /** Prints a line of progress (terminal) or nothing in quiet mode. */
  log(message: string): void;
  /** Saves a training history under a name (written as history CSV/JSON). */
  saveHistory(name: string, history: HistoryRow[]): Promise<void>;
  /** Saves a Plotly figure under a name. */
  saveFigure(name: string, figure: PlotlyFigureData): Promise<void>;
  /** Saves a PNG image (with an optional HTML caption/legend) under a name. */
  saveImage(name: string, png: Uint8Array, captionHtml?: string): Promise<void>;
  /** Saves an arbitrary JSON-able table or object under a name. */
  saveJson(name: string, value: unknown): Promise<void>;
  /** A sub-directory of the run for model checkpoints (created on demand). */
  checkpointDir(name: string): Promise<string>;
}

/** What a run function returns: the headline numbers and the claims they check. */
export interface RunOutcome {
  /** Headline numbers (JSON-able), written to `metrics.json`. */
  metrics: Record<string, unknown>;
  /** Claims of the write-up with our verdicts. */
  claims: ClaimRow[];
}

/** An experiment module: id, the write-up it reproduces, per-profile configs and the run function. */
export interface Experiment<C extends ExperimentConfig = ExperimentConfig> {
  /** CLI id, e.g. `latent-sweep`. */
  id: string;
  /** One-line title. */
  title: string;
  /** Which write-up(s) it reproduces and what it shows. */
  description: string;
  /** Configuration for each profile (`full` = the write-up's settings). */
  profiles: Record<Profile, C>;
  /** Checks a configuration beyond types (ranges, allowed names); throws a clear error. */
  validate?(config: C): void;
  /** Runs the experiment and writes its evidence through `ctx`. */
  run(config: C, ctx: RunContext): Promise<RunOutcome>;
}
