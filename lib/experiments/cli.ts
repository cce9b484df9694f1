/**
 * `deno task exp <experiment> [--profile P] [--set key=value ...] [--force] [--json]`
 *
 * Runs one experiment from the command line; errors are one line naming the valid choices.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { EXPERIMENT_IDS, resolveConfig, runExperiment } from "./registry.ts";

const USAGE =
  `usage: deno task exp <experiment> [--profile smoke|quick|full] [--set key=value ...] [--force] [--json]
       deno task exp --list
experiments: ${EXPERIMENT_IDS.join(", ")}`;

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
  const options = { profile: values.profile, overrides: values.set ?? [] };
  try {
    const { profile, config } = await resolveConfig(positionals[0], options);
    if (values["show-config"]) {
      console.log(JSON.stringify({ profile, config }, null, 2));
      return 0;
    }
    const record = await runExperiment(positionals[0], {
      ...options,
      force: values.force,
      quiet: values.json,
    });
    if (values.json) {
      console.log(JSON.stringify(
        {
          experiment: record.experiment,
          runId: record.runId,
          dir: record.dir,
          profile: record.profile,
          reused: record.reused,
          backend: record.backend,
          seconds: record.seconds,
          config: record.config,
          metrics: record.metrics,
          claims: record.claims,
        },
        null,
        2,
      ));
    } else {
      console.log(
        `${record.experiment}: ${record.reused ? "reused" : "finished"} in ${
          record.seconds.toFixed(1)
        } s on ${record.backend} -> ${record.dir}`,
      );
      for (const c of record.claims) {
        console.log(`  [${c.verdict}] ${c.claim}: expected ${c.expected}; ours ${c.ours}`);
      }
    }
    return 0;
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
