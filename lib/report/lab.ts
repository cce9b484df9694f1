/**
 * `deno task lab [jupyter lab options]`: opens JupyterLab on this repository with the Deno
 * kernel of the project's `.venv` (set up on first use), so the notebooks can be run and
 * changed interactively without installing anything into the user's home.
 *
 * @module
 */
import { ensureJupyter, jupyterEnv, REPO_ROOT } from "./setup.ts";

/** Sets up `.venv` if needed and runs `jupyter lab` in the repository root; returns its exit code. */
export async function main(args: string[]): Promise<number> {
  const { jupyter } = await ensureJupyter();
  const child = new Deno.Command(jupyter, {
    args: ["lab", "--notebook-dir", REPO_ROOT, ...args],
    cwd: REPO_ROOT,
    env: jupyterEnv(),
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  return (await child.status).code;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
