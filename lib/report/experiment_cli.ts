/**
 * `deno task exp <experiment> [--profile P] [--set key=value ...] [--force] [--json]`
 *
 * Re-runs one experiment from the terminal by executing its notebook (the one definition of the
 * experiment) headless on the Deno kernel, with the `--set` values put into its parameters cell
 * (an `injected-parameters` cell after it). Writes the run directory (through the notebook's
 * `openRun`) and the notebook's HTML report, and prints where both are. Keys and types of `--set`
 * are checked against the parameters cell before any kernel starts; errors are one line naming
 * the valid choices.
 *
 * @module
 */
import { parseArgs } from "node:util";
import * as path from "node:path";
import {
  checkExperimentId,
  EXPERIMENT_IDS,
  EXPERIMENT_NOTEBOOKS,
} from "../experiments/registry.ts";
import { applyOverrides, resolveProfile } from "../experiments/config.ts";
import type { ConfigValue } from "../experiments/types.ts";
import type { RunRecord } from "../experiments/runs.ts";
import { REPO_ROOT } from "../paths.ts";
import { parametersCellIndex, readNotebookParameters } from "./notebook_params.ts";

const USAGE =
  `usage: deno task exp <experiment> [--profile smoke|quick|full] [--set key=value ...] [--force] [--json]
       deno task exp --list
experiments: ${EXPERIMENT_IDS.join(", ")}`;

/** Where the notebooks are (env `AE_NOTEBOOKS_DIR` for tests, else `notebooks/`). */
function notebooksDir(): string {
  return Deno.env.get("AE_NOTEBOOKS_DIR") ?? path.join(REPO_ROOT, "notebooks");
}

function printRecord(record: RunRecord, report: string | undefined, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(
      {
        experiment: record.experiment,
        runId: record.runId,
        dir: record.dir,
        report: report ?? null,
        profile: record.profile,
        reused: record.reused,
        backend: record.backend,
        ompNumThreads: record.ompNumThreads,
        seconds: record.seconds,
        parts: record.parts,
        config: record.config,
        metrics: record.metrics,
        claims: record.claims,
      },
      null,
      2,
    ));
    return;
  }
  console.log(
    `${record.experiment}: ${record.reused ? "reused" : "finished"} in ${
      record.seconds.toFixed(1)
    } s${record.parts > 1 ? ` (${record.parts} parts)` : ""} on ${record.backend}${
      record.ompNumThreads === null ? "" : `, OMP_NUM_THREADS ${record.ompNumThreads}`
    }\n  run:    ${record.dir}` + (report ? `\n  report: ${report}` : ""),
  );
  for (const c of record.claims) {
    console.log(`  [${c.verdict}] ${c.claim}: expected ${c.expected}; ours ${c.ours}`);
  }
}

/** Parses the command line and runs; returns the process exit code. */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        profile: { type: "string" },
        set: { type: "string", multiple: true },
        force: { type: "boolean" },
        json: { type: "boolean" },
        list: { type: "boolean" },
        "show-config": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.list) {
    console.log(EXPERIMENT_IDS.join("\n"));
    return 0;
  }
  if (positionals.length !== 1) {
    console.error(`error: expected exactly one experiment, got ${positionals.length}\n${USAGE}`);
    return 2;
  }
  const overrides = values.set ?? [];
  try {
    const id = checkExperimentId(positionals[0]);
    const profile = resolveProfile(values.profile);
    const notebook = path.join(notebooksDir(), EXPERIMENT_NOTEBOOKS[id]);
    const nbJson = JSON.parse(await Deno.readTextFile(notebook));
    if (parametersCellIndex(nbJson) < 0) {
      throw new Error(`${notebook} has no cell tagged "parameters" to run it with`);
    }
    const defaults = await readNotebookParameters(notebook, profile);
    const config = applyOverrides(defaults, overrides);
    if (values["show-config"]) {
      console.log(JSON.stringify({ profile, notebook, config }, null, 2));
      return 0;
    }
    const changed: Record<string, ConfigValue> = {};
    for (const o of overrides) {
      const key = o.slice(0, o.indexOf("=")).trim();
      changed[key] = config[key];
    }
    const recordFile = await Deno.makeTempFile({ prefix: "ae-run-", suffix: ".json" });
    try {
      // Imported here so that --list, --show-config and bad arguments do not load Jupyter.
      const { runReport } = await import("./run.ts");
      const { indexPath, results } = await runReport({
        notebooks: [notebook],
        profile,
        parameters: changed,
        echo: !values.json,
        log: values.json ? () => {} : undefined,
        env: {
          AE_RUN_RECORD: recordFile,
          ...(values.force ? { AE_FORCE: "1" } : {}),
        },
      });
      const result = results[0];
      // The page lies beside the index, in the directory runReport chose for the profile.
      const reportPath = result.report
        ? path.join(path.dirname(indexPath), result.report)
        : undefined;
      if (result.status !== "ok") {
        console.error(
          `error: ${id}: ${result.error}` + (reportPath ? ` (report so far: ${reportPath})` : ""),
        );
        return 1;
      }
      const text = await Deno.readTextFile(recordFile);
      if (!text.trim()) {
        console.error(`error: ${id}: the notebook ran but finished no run (no openRun/finish)`);
        return 1;
      }
      printRecord(JSON.parse(text), reportPath, values.json ?? false);
      return 0;
    } finally {
      await Deno.remove(recordFile).catch(() => {});
    }
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
