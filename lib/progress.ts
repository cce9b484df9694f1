/**
 * Live progress for long loops (training epochs, t-SNE iterations): a bar with ETA that updates
 * in place in a Jupyter notebook (Deno kernel) or on a terminal, and plain lines everywhere else
 * (CI logs, pipes), so a run never floods its log with redraws.
 *
 * ```ts
 * const progress = createProgress({ total: 1000, label: "t-SNE" });
 * for (let i = 1; i <= 1000; i++) {
 *   step();
 *   progress.update(i, { KL: kl });
 * }
 * await progress.finish("t-SNE done, KL 1.23");
 * ```
 *
 * @module
 */

/** How progress is shown: `auto` picks `jupyter`, `terminal` or `lines` from where it runs. */
export type ProgressMode = "auto" | "terminal" | "jupyter" | "lines" | "none";

/** The mode {@link createProgress} really uses once `auto` is resolved. */
export type ResolvedProgressMode = Exclude<ProgressMode, "auto">;

/** Extra values shown beside the bar, e.g. `{ epoch: "3/20", loss: 0.0123 }`; null shows "-". */
export type ProgressFields = Record<string, string | number | null | undefined>;

/**
 * The signature of `Deno.jupyter.broadcast`, which the Jupyter display uses (replaceable in
 * tests). `broadcast` hands the message to the kernel synchronously when called, unlike
 * `Deno.jupyter.display`, which first awaits formatting: so the bar also moves during a
 * synchronous loop that never yields to the event loop (e.g. t-SNE iterations).
 */
export type JupyterBroadcast = (
  msgType: string,
  content: Record<string, unknown>,
) => Promise<void> | void;

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** Units of work in total (batches, iterations); a positive integer. */
  total: number;
  /** Shown before the bar, e.g. the model name. */
  label?: string;
  /** Where to show progress; default `auto`. */
  mode?: ProgressMode;
  /** Fewest milliseconds between two redraws; default 100 (terminal) and 250 (jupyter: <= 4/s). */
  minIntervalMs?: number;
  /** In `lines` mode, print a status line on update at most this often (default 30 000 ms). */
  heartbeatMs?: number;
  /** Where terminal and line output goes; default stderr. Tests pass a collector. */
  write?: (text: string) => void;
  /** Sends Jupyter messages; default `Deno.jupyter.broadcast`. Tests pass a fake. */
  broadcast?: JupyterBroadcast;
  /** Clock in milliseconds; default `performance.now`. Tests pass a fake. */
  now?: () => number;
  /** Terminal width in columns; default from the console, else 100. */
  columns?: number;
}

/** A live progress display made by {@link createProgress}. */
export interface Progress {
  /** The mode in use (`auto` resolved). */
  readonly mode: ResolvedProgressMode;
  /** Reports that `done` of `total` units are finished, with fields to show; throttled. */
  update(done: number, fields?: ProgressFields): void;
  /** Adds a permanent line (e.g. an epoch summary) above the bar. */
  log(line: string): void;
  /** Draws the final state with an optional summary line and waits for the display to flush. */
  finish(summary?: string): Promise<void>;
}

/**
 * Whether this code runs inside a Deno Jupyter kernel. Outside `deno jupyter`, `Deno.jupyter`
 * exists as a property but reading it throws ("only available in `deno jupyter` subcommand");
 * in the kernel it is a plain object with `display` and `broadcast`. So the reliable signal is
 * reading it without an error and finding `display` a function.
 *
 * @returns true in a Jupyter kernel, false everywhere else.
 */
export function isJupyterKernel(): boolean {
  try {
    const jupyter = (Deno as unknown as { jupyter?: { display?: unknown; broadcast?: unknown } })
      .jupyter;
    return typeof jupyter?.display === "function" && typeof jupyter?.broadcast === "function";
  } catch {
    return false;
  }
}

/**
 * Resolves `auto` to the mode that fits where the code runs: `jupyter` in a notebook kernel,
 * `terminal` when stderr is a TTY, `lines` otherwise. Other modes are returned unchanged.
 *
 * @param mode Requested mode; default `auto`.
 * @returns The concrete mode.
 */
export function resolveProgressMode(mode: ProgressMode = "auto"): ResolvedProgressMode {
  const valid: ProgressMode[] = ["auto", "terminal", "jupyter", "lines", "none"];
  if (!valid.includes(mode)) {
    throw new RangeError(`progress mode must be one of ${valid.join(", ")}; got "${mode}"`);
  }
  if (mode !== "auto") return mode;
  if (isJupyterKernel()) return "jupyter";
  try {
    if (Deno.stderr.isTerminal()) return "terminal";
  } catch {
    // No stderr handle (e.g. a sandboxed worker): plain lines are always safe.
  }
  return "lines";
}

/**
 * Formats seconds as a short duration: `42s`, `3m05s`, `2h07m`.
 *
 * @param seconds Non-negative seconds; non-finite values give `?`.
 * @returns The formatted duration.
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/**
 * Formats a field value compactly: integers as they are, other numbers with 4 significant
 * digits (exponent form when very small or large), null/undefined as `-`.
 *
 * @param value The value to format.
 * @returns The formatted text.
 */
export function formatFieldValue(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return "-";
  if (typeof value === "string") return value;
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "Inf" : "-Inf";
  if (Number.isInteger(value) && Math.abs(value) < 1e9) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e5)) return value.toExponential(3);
  return String(Number(value.toPrecision(4)));
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );
}

function defaultWrite(text: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(text));
}

function defaultColumns(): number {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return 100;
  }
}

let displayCounter = 0;

/** Most log lines kept in the Jupyter display (older ones are summarised as a count). */
const MAX_JUPYTER_LOG_LINES = 200;

/**
 * Creates a progress display. `update` is cheap to call every step: redraws are throttled
 * (terminal 10/s, Jupyter 4/s); the ETA extrapolates the rate since the first update, so a
 * resumed run (first `done` > 0) gets an honest estimate.
 *
 * - `terminal`: one bar line on stderr redrawn with `\r`; `log` lines scroll above it.
 * - `jupyter`: an HTML block (a `<progress>` bar, fields, ETA, the log lines) updated in place
 *   through `Deno.jupyter.broadcast("update_display_data", ...)` with a fixed `display_id`.
 * - `lines`: `log` lines and the summary as plain lines, plus a status line at most every
 *   `heartbeatMs` so long runs still show signs of life in CI logs.
 * - `none`: nothing.
 *
 * @param options Total units, label and mode; see {@link ProgressOptions}.
 * @returns The progress handle.
 */
export function createProgress(options: ProgressOptions): Progress {
  const { total } = options;
  if (!Number.isInteger(total) || total <= 0) {
    throw new RangeError(`createProgress: total must be a positive integer, got ${total}`);
  }
  const mode = resolveProgressMode(options.mode ?? "auto");
  const label = options.label ?? "";
  const now = options.now ?? (() => performance.now());
  const write = options.write ?? defaultWrite;
  const minInterval = options.minIntervalMs ?? (mode === "jupyter" ? 250 : 100);
  const heartbeatMs = options.heartbeatMs ?? 30_000;
  const columns = options.columns ?? (mode === "terminal" ? defaultColumns() : 100);

  let broadcast: JupyterBroadcast | undefined = options.broadcast;
  if (mode === "jupyter" && broadcast === undefined) {
    if (!isJupyterKernel()) {
      throw new Error(
        'progress mode "jupyter" needs a Deno Jupyter kernel (Deno.jupyter is not available here); use "auto"',
      );
    }
    const jupyter = (Deno as unknown as { jupyter: { broadcast: JupyterBroadcast } }).jupyter;
    broadcast = (msgType, content) => jupyter.broadcast(msgType, content);
  }
  const displayId = `ae-progress-${Date.now().toString(36)}-${++displayCounter}`;

  let done = 0;
  let fields: ProgressFields = {};
  let startTime: number | null = null;
  let startDone = 0;
  let lastDraw = -Infinity;
  let lastHeartbeat: number | null = null;
  let barShown = false;
  let finished = false;
  const logLines: string[] = [];
  let droppedLogLines = 0;
  let displayed = false;
  let pending: Promise<void> = Promise.resolve();
  let displayError: unknown = null;

  function etaSeconds(): number {
    if (startTime === null || done <= startDone) return NaN;
    const elapsed = (now() - startTime) / 1000;
    return elapsed / (done - startDone) * (total - done);
  }

  function elapsedSeconds(): number {
    return startTime === null ? 0 : (now() - startTime) / 1000;
  }

  function fieldsText(): string {
    return Object.entries(fields).map(([k, v]) => `${k} ${formatFieldValue(v)}`).join("  ");
  }

  function statusText(): string {
    const percent = Math.floor(done / total * 100);
    const head = label ? `${label} ` : "";
    const eta = done >= total
      ? `in ${formatDuration(elapsedSeconds())}`
      : `ETA ${formatDuration(etaSeconds())}`;
    const extra = fieldsText();
    return `${head}${percent}% ${done}/${total}${extra ? "  " + extra : ""}  ${eta}`;
  }

  function terminalBar(): string {
    const width = 20;
    const filled = Math.min(width, Math.floor(done / total * width));
    const bar = "#".repeat(filled) + ".".repeat(width - filled);
    const head = label ? `${label} ` : "";
    const percent = String(Math.floor(done / total * 100)).padStart(3);
    const extra = fieldsText();
    const eta = done >= total
      ? `${formatDuration(elapsedSeconds())}`
      : `ETA ${formatDuration(etaSeconds())}`;
    const line = `${head}[${bar}] ${percent}% ${done}/${total}${extra ? "  " + extra : ""}  ${eta}`;
    // One character less than the width so the cursor never wraps onto a new line.
    return line.length >= columns ? line.slice(0, Math.max(10, columns - 1)) : line;
  }

  function jupyterBundle(summary?: string): Record<string, string> {
    const percent = Math.floor(done / total * 100);
    const eta = done >= total
      ? `took ${formatDuration(elapsedSeconds())}`
      : `ETA ${formatDuration(etaSeconds())}`;
    const fieldHtml = Object.entries(fields).map(([k, v]) =>
      `<span style="margin-right:1em">${escapeHtml(k)} <b>${
        escapeHtml(formatFieldValue(v))
      }</b></span>`
    ).join("");
    const shownLog = droppedLogLines > 0
      ? [`(${droppedLogLines} earlier lines not shown)`, ...logLines]
      : logLines;
    const logHtml = shownLog.length > 0
      ? `<pre style="margin:4px 0 0 0;max-height:12em;overflow:auto;font-size:11px">${
        escapeHtml(shownLog.join("\n"))
      }</pre>`
      : "";
    const summaryHtml = summary ? `<div style="margin-top:4px">${escapeHtml(summary)}</div>` : "";
    const html = `<div class="ae-progress" style="font-family:monospace;font-size:12px">` +
      `<div>${label ? `<b>${escapeHtml(label)}</b> ` : ""}` +
      `<progress value="${done}" max="${total}" style="width:320px;vertical-align:middle"></progress>` +
      ` ${percent}% ${done}/${total} &middot; ${escapeHtml(eta)}</div>` +
      (fieldHtml ? `<div>${fieldHtml}</div>` : "") + logHtml + summaryHtml + `</div>`;
    const plain = [statusText(), ...shownLog, ...(summary ? [summary] : [])].join("\n");
    return { "text/html": html, "text/plain": plain };
  }

  function sendJupyter(summary?: string): void {
    const msgType = displayed ? "update_display_data" : "display_data";
    displayed = true;
    const content = {
      data: jupyterBundle(summary),
      metadata: {},
      transient: { display_id: displayId },
    };
    try {
      // Called synchronously (see JupyterBroadcast); remember the first failure for finish().
      const sent = broadcast!(msgType, content);
      if (sent instanceof Promise) {
        pending = pending.then(() => sent).catch((error) => {
          displayError ??= error;
        });
      }
    } catch (error) {
      displayError ??= error;
    }
  }

  function draw(force: boolean, summary?: string): void {
    const t = now();
    if (!force && t - lastDraw < minInterval) return;
    lastDraw = t;
    if (mode === "terminal") {
      write(`\r${terminalBar()}\x1b[K`);
      barShown = true;
    } else if (mode === "jupyter") {
      sendJupyter(summary);
    }
  }

  return {
    mode,
    update(newDone: number, newFields?: ProgressFields): void {
      if (finished || mode === "none") return;
      if (!Number.isFinite(newDone)) {
        throw new RangeError(`progress.update: done must be a finite number, got ${newDone}`);
      }
      done = Math.max(0, Math.min(total, newDone));
      if (newFields) fields = { ...newFields };
      if (startTime === null) {
        startTime = now();
        startDone = done;
        lastHeartbeat = startTime;
      }
      if (mode === "lines") {
        if (now() - lastHeartbeat! >= heartbeatMs) {
          lastHeartbeat = now();
          write(statusText() + "\n");
        }
        return;
      }
      draw(startDone === done);
    },
    log(line: string): void {
      if (finished || mode === "none") return;
      if (mode === "terminal") {
        write(`${barShown ? "\r\x1b[K" : ""}${line}\n`);
        barShown = false;
        if (startTime !== null) draw(true);
      } else if (mode === "jupyter") {
        logLines.push(line);
        if (logLines.length > MAX_JUPYTER_LOG_LINES) {
          logLines.shift();
          droppedLogLines++;
        }
        draw(true);
      } else {
        write(line + "\n");
      }
    },
    async finish(summary?: string): Promise<void> {
      if (finished) return;
      finished = true;
      if (mode === "none") return;
      if (mode === "terminal") {
        if (startTime !== null) {
          write(`\r${terminalBar()}\x1b[K\n`);
        } else if (barShown) {
          write("\n");
        }
        if (summary) write(summary + "\n");
      } else if (mode === "jupyter") {
        draw(true, summary);
        await pending;
        if (displayError !== null) {
          throw new Error(`progress: Jupyter display failed: ${String(displayError)}`);
        }
      } else if (summary) {
        write(summary + "\n");
      }
    },
  };
}
