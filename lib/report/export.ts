/**
 * Export of an executed notebook to a self-contained HTML page: nbconvert's HTML exporter with
 * the JupyterLab template (through `report.html.j2`, which leaves out the CDN scripts the lab
 * template would load), then {@link postprocessReport} for one plotly.js bundle per page.
 *
 * @module
 */
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { ensureJupyter, jupyterEnv } from "./setup.ts";
import { findRemoteResources, postprocessReport } from "./postprocess.ts";

const TEMPLATE = path.join(path.dirname(fileURLToPath(import.meta.url)), "report.html.j2");

/** What {@link exportHtml} produced. */
export interface ExportResult {
  /** The HTML file written. */
  html: string;
  /** Size of the page in bytes. */
  bytes: number;
  /** Plotly bundle tags found in the figures (all but one removed). */
  bundlesFound: number;
  /** True when the page drew figures without a bundle and one was inserted. */
  bundleInserted: boolean;
  /** Remote script/link tags removed by the post-processing. */
  removedRemote: string[];
}

/**
 * Converts an executed notebook to HTML next to nothing else (no extra files: images are
 * embedded as data URIs) and post-processes it.
 *
 * @param notebook The executed `.ipynb`.
 * @param htmlPath Where the page goes (its directory is created).
 * @returns What was written and changed.
 * @throws Error with nbconvert's stderr when the conversion fails, or when the page still
 *   references the network after post-processing.
 */
export async function exportHtml(notebook: string, htmlPath: string): Promise<ExportResult> {
  const { jupyter } = await ensureJupyter();
  const outDir = path.dirname(path.resolve(htmlPath));
  await Deno.mkdir(outDir, { recursive: true });
  const stem = `.${path.basename(htmlPath, ".html")}.${Deno.pid}.nbconvert`;
  const result = await new Deno.Command(jupyter, {
    args: [
      "nbconvert",
      "--to",
      "html",
      "--template",
      "lab",
      `--template-file=${TEMPLATE}`,
      "--output-dir",
      outDir,
      "--output",
      stem,
      path.resolve(notebook),
    ],
    env: jupyterEnv(),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const raw = path.join(outDir, `${stem}.html`);
  if (!result.success) {
    await Deno.remove(raw).catch(() => {});
    throw new Error(
      `exportHtml: nbconvert failed for ${notebook} (exit ${result.code}):\n` +
        new TextDecoder().decode(result.stderr).slice(-3000),
    );
  }
  const processed = await postprocessReport(await Deno.readTextFile(raw));
  await Deno.remove(raw);
  const remote = findRemoteResources(processed.html);
  if (remote.length > 0) {
    throw new Error(`exportHtml: ${htmlPath} would load from the network: ${remote.join(", ")}`);
  }
  const tmp = `${htmlPath}.${Deno.pid}.tmp`;
  await Deno.writeTextFile(tmp, processed.html);
  await Deno.rename(tmp, htmlPath);
  return {
    html: htmlPath,
    bytes: new TextEncoder().encode(processed.html).length,
    bundlesFound: processed.bundlesFound,
    bundleInserted: processed.bundleInserted,
    removedRemote: processed.removedRemote,
  };
}
