/**
 * Shows a finished run in a notebook: its summary, figures, images and claims, all read back
 * from the run directory, so a reused run looks exactly like a fresh one.
 *
 * @module
 */
import { display, escapeHtml, html, htmlTable, type TableRow } from "../display.ts";
import { type Figure, show } from "../plot.ts";
import { pngDataUri } from "../images.ts";
import { recordClaims } from "../report/claims.ts";
import { listArtifacts, readFigure, readImage, type RunRecord } from "./runs.ts";

/** Displays one saved figure of a run. */
export async function showFigure(run: RunRecord, name: string): Promise<void> {
  const figure = await readFigure(run, name);
  await display(show({ layout: {}, ...figure } as Figure));
}

/** Displays one saved image of a run (its HTML view with labels when saved, else the PNG). */
export async function showImage(run: RunRecord, name: string): Promise<void> {
  const { png, captionHtml } = await readImage(run, name);
  const fragment = captionHtml ??
    `<figure><img src="${pngDataUri(png)}" alt="${escapeHtml(name)}"/>` +
      `<figcaption>${escapeHtml(name)}</figcaption></figure>`;
  await display(html(fragment, `image ${name} (${png.length} bytes PNG)`));
}

/** Formats a metric value for a table (numbers to 4 significant digits, arrays joined). */
function formatMetric(value: unknown): string {
  if (typeof value === "number") {
    return Number.isInteger(value) ? String(value) : value.toPrecision(4);
  }
  if (Array.isArray(value)) return value.map(formatMetric).join(", ");
  if (value && typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** Displays the run's identity, configuration and headline metrics as small tables. */
export async function showRunSummary(run: RunRecord): Promise<void> {
  const head = `<p><b>${escapeHtml(run.experiment)}</b> run <code>${run.runId}</code>, profile ` +
    `<b>${run.profile}</b>, ${
      run.reused ? "reused from an earlier finished run" : "trained now"
    }; ` +
    `took ${run.seconds.toFixed(1)} s. Files: <code>${escapeHtml(run.dir)}</code></p>`;
  await display(html(head));
  const configRows: TableRow[] = Object.entries(run.config).map(([key, value]) => ({
    key,
    value: formatMetric(value),
  }));
  await display(htmlTable(configRows, { caption: "Configuration" }));
  const metricRows: TableRow[] = Object.entries(run.metrics).map(([metric, value]) => ({
    metric,
    value: formatMetric(value),
  }));
  if (metricRows.length > 0) await display(htmlTable(metricRows, { caption: "Metrics" }));
}

/**
 * Records the run's claims for the report index (`outputs/reports/claims/<id>.json`) and
 * displays them as a table: the write-up's claim, what it implies, our number, verdict.
 */
export async function showClaims(run: RunRecord): Promise<void> {
  if (run.claims.length === 0) return;
  await display(recordClaims(run.experiment, run.claims));
}

/** Options of {@link showRun}. */
export interface ShowRunOptions {
  /** Figures to show, in order (default: all, by name). */
  figures?: string[];
  /** Images to show, in order (default: all, by name). */
  images?: string[];
  /** Show the summary tables (default true). */
  summary?: boolean;
  /** Show and record the claims (default true). */
  claims?: boolean;
}

/** Displays a whole run: summary, figures, images and claims. */
export async function showRun(run: RunRecord, options: ShowRunOptions = {}): Promise<void> {
  if (options.summary ?? true) await showRunSummary(run);
  for (const name of options.figures ?? await listArtifacts(run, "figures")) {
    await showFigure(run, name);
  }
  for (const name of options.images ?? await listArtifacts(run, "images")) {
    await showImage(run, name);
  }
  if (options.claims ?? true) await showClaims(run);
}
