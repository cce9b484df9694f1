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
