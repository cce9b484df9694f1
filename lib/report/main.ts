/**
 * `deno task report [--profile P] [--out DIR] [--timeout S] [--jobs N] [--progress S] [--verbose]
 * [notebook ...]`
 *
 * Sets up `.venv` (first run only), executes the notebooks (default: all of `notebooks/`, in
 * name order) on the Deno kernel with env `AE_PROFILE=P` (default `quick`), writes
 * `<notebook>.html` and `index.html` into `--out` (default `outputs/reports/` for `quick`,
 * `outputs/reports-<profile>/` for another profile), and ends with the index's path. `--jobs N`
 * executes up to N notebooks at a time, each in its own kernel (default: 2 on a machine with two
 * or more cores, 1 at `full`; see `defaultJobs`). `--progress S` prints each running notebook's
 * running cell and its last line of text every S seconds (default `PROGRESS_SECONDS`, 60; 0:
 * never).
 * Exits 1 when a notebook failed (after writing the index), 2 on bad arguments.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { defaultJobs, runReport } from "./run.ts";
import { ensureJupyter } from "./setup.ts";
import { PROFILES } from "../experiments/types.ts";

const USAGE = `usage: deno task report [--profile smoke|quick|full] [--out DIR] [--timeout SECONDS]
                        [--jobs N] [--progress SECONDS] [--verbose] [notebook ...]
  notebook: a path, a name in notebooks/ (with or without .ipynb) or a unique prefix (e.g. 03)`;

/**
 * Runs the CLI.
 *
 * @param args Command-line arguments.
 * @returns The exit code.
 */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        profile: { type: "string", default: "quick" },
        out: { type: "string" },
        timeout: { type: "string" },
        jobs: { type: "string" },
        progress: { type: "string" },
        verbose: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (e) {
    console.error(`report: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!(PROFILES as readonly string[]).includes(values.profile)) {
    console.error(
      `report: --profile must be one of ${PROFILES.join(", ")}, got '${values.profile}'`,
    );
    return 2;
  }
  const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
  if (timeout !== undefined && !(timeout > 0)) {
    console.error(
      `report: --timeout must be a positive number of seconds, got '${values.timeout}'`,
    );
    return 2;
  }
  const jobs = values.jobs === undefined
    ? defaultJobs(values.profile, navigator.hardwareConcurrency)
    : Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) {
    console.error(`report: --jobs must be a positive integer, got '${values.jobs}'`);
    return 2;
  }
  const progress = values.progress === undefined ? undefined : Number(values.progress);
  if (progress !== undefined && !(progress >= 0)) {
    console.error(
      `report: --progress must be 0 (none) or a positive number of seconds, got '${values.progress}'`,
    );
    return 2;
  }
  const setupStart = performance.now();
  await ensureJupyter();
  console.log(`set-up ready in ${((performance.now() - setupStart) / 1000).toFixed(1)} s`);
  let result;
  try {
    result = await runReport({
      notebooks: positionals,
      profile: values.profile,
      outDir: values.out,
      timeoutSeconds: timeout,
      jobs,
      progressSeconds: progress,
      verbose: values.verbose,
    });
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  const failed = result.results.filter((r) => r.status === "failed");
  for (const f of failed) console.error(`FAILED: ${f.notebook}: ${f.error}`);
  console.log(result.indexPath);
  return failed.length > 0 ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
