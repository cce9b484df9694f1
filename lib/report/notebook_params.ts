/**
 * A notebook's parameters as data, for the command line: {@link readNotebookParameters} runs
 * the notebook's code cells up to its `parameters` cell as a Deno module (no kernel: a second or
 * two) and returns the configuration they define, so `deno task exp` can check `--set` keys and
 * types and print `--show-config` before starting a kernel; {@link injectParameters} inserts the
 * `injected-parameters` cell that puts the values into the notebook's `config`.
 *
 * @module
 */
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { REPO_ROOT } from "../paths.ts";
import { INJECTED_PARAMETERS_TAG, PARAMETERS_TAG } from "../experiments/params.ts";
import type { ConfigValue, ExperimentConfig, Profile } from "../experiments/types.ts";

/** A notebook cell as stored in `.ipynb` JSON. */
export interface NotebookCell {
  /** `code` or `markdown`. */
  cell_type: string;
  /** The source, as one string or as lines. */
  source: string | string[];
  /** Cell metadata (tags). */
  metadata?: { tags?: string[]; [key: string]: unknown };
  /** Outputs of a code cell. */
  outputs?: unknown[];
  /** Execution count of a code cell. */
  execution_count?: number | null;
}

/** A notebook as stored in `.ipynb` JSON (the parts used here). */
export interface NotebookJson {
  /** The cells in order. */
  cells: NotebookCell[];
  /** Notebook metadata. */
  metadata: Record<string, unknown>;
  /** nbformat major version. */
  nbformat: number;
  /** nbformat minor version. */
  nbformat_minor: number;
}

/** The source of a cell as one string. */
export function cellSource(cell: NotebookCell): string {
  return Array.isArray(cell.source) ? cell.source.join("") : cell.source;
}

/** Index of the cell tagged `parameters`, or -1 when the notebook has none. */
export function parametersCellIndex(notebook: NotebookJson): number {
  return notebook.cells.findIndex((c) =>
    c.cell_type === "code" && (c.metadata?.tags ?? []).includes(PARAMETERS_TAG)
  );
}

const MARKER = "\u0000AE_PARAMETERS ";

// The injected cell imports the library by absolute URL: a notebook copied to another folder
// (AE_NOTEBOOKS_DIR) then still finds it.
const LIB_MOD_URL = pathToFileURL(path.join(REPO_ROOT, "lib", "mod.ts")).href;

/**
 * Evaluates a notebook's code cells up to and including its `parameters` cell with env
 * `AE_PROFILE=profile` and returns the `config` object they define.
 *
 * @param notebookPath The `.ipynb` file (imports of `../lib/` resolve against its folder).
 * @param profile The profile whose defaults to read.
 * @throws Error when the notebook has no parameters cell, the cells fail, or no `config` is
 *   defined.
 */
export async function readNotebookParameters(
  notebookPath: string,
  profile: Profile,
): Promise<ExperimentConfig> {
  const notebook: NotebookJson = JSON.parse(await Deno.readTextFile(notebookPath));
  const at = parametersCellIndex(notebook);
  const name = path.basename(notebookPath);
  if (at < 0) throw new Error(`${name} has no cell tagged "${PARAMETERS_TAG}"`);
  const base = pathToFileURL(path.dirname(path.resolve(notebookPath)) + "/").href;
  // Relative imports ("../lib/mod.ts") are made absolute so the module can live in a temp dir.
  const code = notebook.cells.slice(0, at + 1).filter((c) => c.cell_type === "code")
    .map((c) =>
      cellSource(c).replace(
        /(from\s+|import\s*\(\s*)(["'])(\.{1,2}\/[^"']+)\2/g,
        (_m, pre, q, rel) => `${pre}${q}${new URL(rel, base).href}${q}`,
      )
    ).join(";\n");
  const tmpDir = await Deno.makeTempDir({ prefix: "ae-params-" });
  const module = path.join(tmpDir, "parameters.ts");
  try {
    await Deno.writeTextFile(
      module,
      `${code};\nconsole.log(${JSON.stringify(MARKER)} + JSON.stringify(config));\n`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--quiet",
        "--no-check",
        "--config",
        path.join(REPO_ROOT, "deno.json"),
        module,
      ],
      env: { AE_PROFILE: profile, TF_CPP_MIN_LOG_LEVEL: "2" },
      stdout: "piped",
      stderr: "piped",
      cwd: REPO_ROOT,
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const line = stdout.split("\n").find((l) => l.startsWith(MARKER));
    if (!out.success || !line) {
      const err = new TextDecoder().decode(out.stderr).trim().split("\n")
        .find((l) => /error/i.test(l)) ?? "no config defined";
      throw new Error(`${name}: the cells up to the parameters cell failed: ${err.trim()}`);
    }
    return JSON.parse(line.slice(MARKER.length));
  } finally {
    await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
  }
}

/**
 * A copy of the notebook with an `injected-parameters` cell right after its `parameters` cell,
 * calling `applyParameters(config, values)` (papermill's convention), or the notebook unchanged
 * when there are no values.
 *
 * @throws Error when there are values but no parameters cell.
 */
export function injectParameters(
  notebook: NotebookJson,
  values: Record<string, ConfigValue>,
): NotebookJson {
  if (Object.keys(values).length === 0) return notebook;
  const at = parametersCellIndex(notebook);
  if (at < 0) throw new Error(`the notebook has no cell tagged "${PARAMETERS_TAG}"`);
  const cell: NotebookCell = {
    cell_type: "code",
    metadata: { tags: [INJECTED_PARAMETERS_TAG] },
    source: `// Values given on the command line (deno task exp ... --set key=value)\n` +
      `(await import(${JSON.stringify(LIB_MOD_URL)})).applyParameters(config, ${
        JSON.stringify(values)
      });`,
    outputs: [],
    execution_count: null,
  };
  const cells = [...notebook.cells];
  cells.splice(at + 1, 0, cell);
  return { ...notebook, cells };
}
