/**
 * Jupyter display helpers shared by the plotting, image and report code.
 *
 * The Deno kernel renders any object that has a method `[Symbol.for("Jupyter.display")]()`
 * returning a MIME bundle (an object from MIME type to data). Outside a kernel (CLI runs,
 * tests) `Deno.jupyter` throws on access, so everything here works without it and
 * {@link display} falls back to printing the bundle's `text/plain`.
 *
 * @module
 */

/** The symbol the Deno kernel looks for on a value to get its MIME bundle. */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display");

/**
 * A Jupyter MIME bundle: MIME type to data. Text types are strings, binary types (PNG) are
 * base64 strings, JSON types are plain objects.
 */
export type MimeBundle = {
  "text/plain"?: string;
  "text/html"?: string;
  "text/markdown"?: string;
  "image/png"?: string;
  "application/vnd.plotly.v1+json"?: { data: unknown[]; layout?: unknown; config?: unknown };
  [mimeType: string]: string | object | undefined;
};

/** A value the Deno kernel can render: it hands over its MIME bundle when asked. */
export interface Displayable {
  /** Returns the MIME bundle to show (called by the kernel each time the value is shown). */
  [JUPYTER_DISPLAY](): MimeBundle;
}

/** A displayable that carries a fixed HTML fragment. */
export interface HtmlDisplay extends Displayable {
  /** The HTML fragment (what goes into `text/html`). */
  html: string;
  /** The plain-text fallback (what goes into `text/plain`). */
  text: string;
}

/**
 * Wraps a MIME bundle so the Deno kernel renders it when it is a cell's last expression.
 *
 * @param bundle the bundle to show; given as a function it is built each time it is shown.
 */
export function displayable(bundle: MimeBundle | (() => MimeBundle)): Displayable {
  const get = typeof bundle === "function" ? bundle : () => bundle;
  return { [JUPYTER_DISPLAY]: get };
}

/** True for a value the kernel can render through {@link JUPYTER_DISPLAY}. */
export function isDisplayable(value: unknown): value is Displayable {
  return value !== null && typeof value === "object" &&
    typeof (value as Record<symbol, unknown>)[JUPYTER_DISPLAY] === "function";
}

/** The MIME bundle of a displayable (or the bundle itself when given one). */
export function bundleOf(value: Displayable | MimeBundle): MimeBundle {
  return isDisplayable(value) ? value[JUPYTER_DISPLAY]() : value;
}

interface DenoJupyterApi {
  display(obj: unknown, options?: { raw?: boolean }): Promise<void>;
}

/** `Deno.jupyter` when running inside the Deno Jupyter kernel, else undefined. */
function jupyterApi(): DenoJupyterApi | undefined {
  try {
    // Outside `deno jupyter` the getter throws instead of returning undefined.
    const api = (Deno as unknown as { jupyter?: DenoJupyterApi }).jupyter;
    return api && typeof api.display === "function" ? api : undefined;
  } catch {
    return undefined;
  }
}

/** True when this code runs inside the Deno Jupyter kernel. */
export function inJupyterKernel(): boolean {
  return jupyterApi() !== undefined;
}

/** Options of {@link display}. */
export interface DisplayOptions {
  /** Outside a kernel, print nothing instead of the `text/plain` fallback. Default false. */
  quiet?: boolean;
}

/**
 * Shows a displayable (or a raw MIME bundle) now, as an extra output of the running cell;
 * a cell otherwise only shows its last expression. Outside a kernel prints the bundle's
 * `text/plain` (unless `quiet`), so CLI runs still say what would have been shown.
 */
export async function display(
  value: Displayable | MimeBundle,
  options: DisplayOptions = {},
): Promise<void> {
  const api = jupyterApi();
  const shown = isDisplayable(value) ? value : displayable(value);
  if (api) {
    // raw: false makes the kernel call our display symbol; raw: true would send the
    // wrapper object itself as if it were a bundle.
    await api.display(shown, { raw: false });
    return;
  }
  if (options.quiet) return;
  const text = shown[JUPYTER_DISPLAY]()["text/plain"];
  if (text) console.log(text);
}

/**
 * A displayable HTML fragment.
 *
 * @param fragment HTML to show as is (not escaped: build it with {@link escapeHtml}).
 * @param text plain-text fallback; default: the fragment with tags stripped.
 */
export function html(fragment: string, text?: string): HtmlDisplay {
  const fallback = text ?? fragment.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim();
  return {
    html: fragment,
    text: fallback,
    [JUPYTER_DISPLAY]: () => ({ "text/html": fragment, "text/plain": fallback }),
  };
}

/** Escapes text for use inside HTML element content or a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/** Base64 of bytes (what Jupyter wants for `image/png`, and what data URIs need). */
export function base64Encode(bytes: Uint8Array): string {
  let binary = "";
  const chunk = 0x8000; // keep String.fromCharCode's argument list small
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

/** A cell of a table: numbers are formatted, strings shown as is, null/undefined as empty. */
export type TableCell = string | number | boolean | null | undefined;

/** One table row: column name to cell. */
export type TableRow = Record<string, TableCell>;

/** Options of {@link htmlTable} and {@link markdownTable}. */
export interface TableOptions {
  /** Columns in order; default: every key of the rows, in first-seen order. */
  columns?: string[];
  /** Significant digits for non-integer numbers. Default 4. */
  digits?: number;
  /** Caption shown above the table (plain text). */
  caption?: string;
  /** Custom cell formatter; return undefined to use the default. */
  format?: (value: TableCell, column: string) => string | undefined;
}

/**
 * Formats a number for a table: integers as is, others with `digits` significant digits
 * (exponent notation only for very small or very large values).
 */
export function formatNumber(value: number, digits = 4): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude >= 1e-3 && magnitude < 10 ** digits) return value.toPrecision(digits);
  return value.toExponential(Math.max(0, digits - 1));
}

function tableColumns(rows: TableRow[], columns?: string[]): string[] {
  if (columns) return columns;
  const seen: string[] = [];
  for (const row of rows) {
    for (const key of Object.keys(row)) if (!seen.includes(key)) seen.push(key);
  }
  return seen;
}

function formatCell(value: TableCell, column: string, options: TableOptions): string {
  const custom = options.format?.(value, column);
  if (custom !== undefined) return custom;
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return formatNumber(value, options.digits ?? 4);
  return String(value);
}

function checkRows(rows: TableRow[], who: string): void {
  if (!Array.isArray(rows)) {
    throw new TypeError(`${who}: expected an array of row objects, got ${typeof rows}`);
  }
  rows.forEach((row, i) => {
    if (row === null || typeof row !== "object" || Array.isArray(row)) {
      throw new TypeError(`${who}: row ${i} must be an object of column -> value`);
    }
  });
}

/**
 * A Markdown (GitHub) table of rows; numbers formatted with {@link formatNumber}.
 * Useful for CLI output and the `text/plain` of {@link htmlTable}.
 */
export function markdownTable(rows: TableRow[], options: TableOptions = {}): string {
  checkRows(rows, "markdownTable");
  const columns = tableColumns(rows, options.columns);
  const escape = (s: string) => s.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
  const numeric = columns.map((c) =>
    rows.length > 0 && rows.every((r) => typeof r[c] !== "string")
  );
  const lines = [
    `| ${columns.map(escape).join(" | ")} |`,
    `| ${numeric.map((n) => (n ? "---:" : "---")).join(" | ")} |`,
    ...rows.map((row) =>
      `| ${columns.map((c) => escape(formatCell(row[c], c, options))).join(" | ")} |`
    ),
  ];
  return (options.caption ? `${options.caption}\n\n` : "") + lines.join("\n");
}

/**
 * A displayable HTML table of rows (e.g. the write-up's claim next to our number); numbers
 * are right-aligned and formatted with {@link formatNumber}. Its `text/plain` is the
 * Markdown table.
 */
export function htmlTable(rows: TableRow[], options: TableOptions = {}): HtmlDisplay {
  checkRows(rows, "htmlTable");
  const columns = tableColumns(rows, options.columns);
  const cell = (tag: string, value: TableCell, column: string) => {
    const align = typeof value === "number"
      ? ' style="text-align:right"'
      : ' style="text-align:left"';
    return `<${tag}${align}>${escapeHtml(formatCell(value, column, options))}</${tag}>`;
  };
  const caption = options.caption ? `<caption>${escapeHtml(options.caption)}</caption>` : "";
  const head = `<tr>${
    columns.map((c) => `<th style="text-align:left">${escapeHtml(c)}</th>`).join("")
  }</tr>`;
  const body = rows.map((row) => `<tr>${columns.map((c) => cell("td", row[c], c)).join("")}</tr>`);
  const fragment = `<table class="mnist-ae-table">${caption}<thead>${head}</thead><tbody>${
    body.join("")
  }</tbody></table>`;
  return html(fragment, markdownTable(rows, options));
}
