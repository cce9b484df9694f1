/**
 * Where the repository is on disk, resolved once from this module's location, because notebook
 * cells cannot use `import.meta` and the library must find `outputs/`, `.venv/`, `data/` and
 * `node_modules/` wherever the checkout lives.
 *
 * @module
 */
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/** Absolute path of the repository root (the directory holding `deno.json`). */
export const REPO_ROOT: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/**
 * The report directory of a profile: env `AE_REPORTS_DIR` when set, else `outputs/reports` for
 * `quick` (the main job's report) and `outputs/reports-<profile>` for any other. One directory per
 * profile, so a `smoke` run (a test, a quick look in JupyterLab) or a `full` one never replaces
 * the pages and claim records of the `quick` report, nor the other way round.
 *
 * @param profile Profile name (`smoke`, `quick`, `full`).
 * @returns An absolute path.
 */
export function reportsDirFor(profile: string): string {
  const fromEnv = Deno.env.get("AE_REPORTS_DIR");
  if (fromEnv) return path.resolve(fromEnv);
  return path.join(REPO_ROOT, "outputs", profile === "quick" ? "reports" : `reports-${profile}`);
}
