"""Execute a notebook cell by cell on a Jupyter kernel and keep outputs that arrive late.

Why not `jupyter nbconvert --execute` (nbclient)? The Deno kernel (2.9) sometimes publishes a
cell's outputs after its `status: idle`, and output from timers fires after the cell's promise
resolved. nbclient stops listening at idle and then drops those messages. This executor routes
every message to the cell that is its parent, so a message that arrives during a later cell still
lands in the cell that made it. A cell ends once its execute_reply and idle have come and the
kernel has been quiet for `--quiet` seconds (0.5 by default: output from a timer that fires later
than that carries the parent of the cell running then, as in JupyterLab). After the last cell the
executor keeps listening until the kernel has been quiet for `--drain` seconds, so late messages
of the last cells are kept too. (The quiet period was 1.5 s per cell until 2026-12-07: with ~10
cells a notebook that was 15 s of waiting per notebook, ~2 min of the quick report.)

`--stop-at-idle` gives the naive behaviour (stop at idle, drop messages of other cells), kept so
the tests can show the difference.

Usage:
  python execute_notebook.py INPUT.ipynb OUTPUT.ipynb [--kernel deno] [--cwd DIR]
      [--timeout SECONDS] [--quiet SECONDS] [--drain SECONDS] [--startup-timeout SECONDS]
      [--stop-at-idle] [--error-json FILE] [--progress FILE] [--progress-every SECONDS]

`--progress FILE` keeps a small JSON file up to date (at most every `--progress-every` seconds, 2
by default; replaced atomically) with the running cell and the last line of text it showed - a
trainer's progress bar, an epoch line - so the report can say how far a notebook that runs for an
hour has got.

The kernel inherits this process's environment (so AE_PROFILE etc. reach the notebook).
Cells are numbered from 1 in messages, counting every cell (markdown too), as a reader counts them.
Exit codes: 0 ok, 1 a cell raised an error (outputs so far are written), 2 bad usage or a
kernel failure (died, timed out).
"""

import argparse
import datetime
import json
import os
import queue
import sys
import time

import nbformat
from jupyter_client.manager import KernelManager


class CellError(Exception):
    """A cell finished with an error; carries what the report needs."""

    def __init__(self, index, first_line, ename, evalue):
        super().__init__(f"cell {index + 1} ({first_line!r}) failed: {ename}: {evalue}")
        self.index = index
        self.first_line = first_line
        self.ename = ename
        self.evalue = evalue


class KernelFailure(Exception):
    """The kernel died or a cell ran past its timeout."""


def first_line_of(source):
    for line in source.splitlines():
        if line.strip():
            return line.strip()[:120]
    return ""


class OutputCollector:
    """Turns iopub messages into nbformat outputs, per cell, with display-id updates."""

    def __init__(self, cells):
        self.cells = cells
        self.cell_of_msg = {}  # execute request msg_id -> cell index
        self.displays = {}  # display_id -> list of (cell index, output dict)
        self.clear_pending = {}  # cell index -> True when clear_output(wait=True) is pending
        self.echo = False  # print the cells' stdout/stderr text as it arrives
        self.latest_text = {}  # cell index -> last non-empty line of text it showed

    def register(self, msg_id, index):
        self.cell_of_msg[msg_id] = index
        self.cells[index].outputs = []
        self.cells[index].execution_count = None

    def _append(self, index, output):
        cell = self.cells[index]
        if self.clear_pending.pop(index, False):
            cell.outputs = []
        outputs = cell.outputs
        # Merge consecutive stream chunks of the same stream, as Jupyter front ends do.
        if (
            output["output_type"] == "stream"
            and outputs
            and outputs[-1]["output_type"] == "stream"
            and outputs[-1]["name"] == output["name"]
        ):
            outputs[-1]["text"] += output["text"]
            return
        outputs.append(output)

    def _note_text(self, index, text, first=False):
        lines = [line for line in str(text).splitlines() if line.strip()]
        if lines:
            self.latest_text[index] = lines[0 if first else -1].strip()[:300]

    def handle(self, msg, only_index=None):
        """Applies one iopub message. Returns the cell index it belonged to, or None."""
        parent = msg.get("parent_header", {}).get("msg_id")
        index = self.cell_of_msg.get(parent)
        if index is None or (only_index is not None and index != only_index):
            return None
        kind = msg["msg_type"]
        content = msg["content"]
        if kind == "stream":
            self._note_text(index, content.get("text", ""))
        elif kind in ("display_data", "execute_result", "update_display_data"):
            plain = (content.get("data") or {}).get("text/plain")
            if plain:
                # A display's first line is its headline (lib/progress.ts puts the bar, counts
                # and ETA there, its epoch log below); a stream's newest line is its last.
                text = "".join(plain) if isinstance(plain, list) else plain
                self._note_text(index, text, first=True)
        if kind == "execute_input":
            self.cells[index].execution_count = content.get("execution_count")
        elif kind == "stream":
            if self.echo:
                sys.stdout.write(content["text"])
                sys.stdout.flush()
            self._append(
                index,
                nbformat.v4.new_output("stream", name=content["name"], text=content["text"]),
            )
        elif kind in ("display_data", "execute_result"):
            if kind == "execute_result":
                output = nbformat.v4.new_output(
                    "execute_result",
                    data=content.get("data", {}),
                    metadata=content.get("metadata", {}),
                    execution_count=content.get("execution_count"),
                )
                self.cells[index].execution_count = content.get("execution_count")
            else:
                output = nbformat.v4.new_output(
                    "display_data",
                    data=content.get("data", {}),
                    metadata=content.get("metadata", {}),
                )
            self._append(index, output)
            display_id = (content.get("transient") or {}).get("display_id")
            if display_id:
                self.displays.setdefault(display_id, []).append((index, output))
        elif kind == "update_display_data":
            # As JupyterLab does: replace every earlier output shown under this display id.
            display_id = (content.get("transient") or {}).get("display_id")
            for _, output in self.displays.get(display_id, []):
                output["data"] = content.get("data", {})
                output["metadata"] = content.get("metadata", {})
        elif kind == "error":
            self._append(
                index,
                nbformat.v4.new_output(
                    "error",
                    ename=content.get("ename", ""),
                    evalue=content.get("evalue", ""),
                    traceback=content.get("traceback", []),
                ),
            )
        elif kind == "clear_output":
            if content.get("wait"):
                self.clear_pending[index] = True
            else:
                self.cells[index].outputs = []
        return index


def run_cell(kc, km, collector, index, cell, args, progress=None):
    """Executes one cell; returns its execute_reply content."""
    msg_id = kc.execute(cell.source, store_history=True, allow_stdin=False, stop_on_error=True)
    collector.register(msg_id, index)
    if progress:
        progress.start(index)
    started = time.monotonic()
    last_message = started
    idle = False
    reply = None
    while True:
        now = time.monotonic()
        if args.timeout and now - started > args.timeout:
            raise KernelFailure(
                f"cell {index + 1} ({first_line_of(cell.source)!r}) ran past the timeout of "
                f"{args.timeout} s"
            )
        if reply is None:
            try:
                shell_msg = kc.get_shell_msg(timeout=0)
                if shell_msg["parent_header"].get("msg_id") == msg_id:
                    reply = shell_msg["content"]
            except queue.Empty:
                pass
        if idle and reply is not None:
            if args.stop_at_idle or now - last_message >= args.quiet:
                return reply
        try:
            msg = kc.get_iopub_msg(timeout=0.05)
        except queue.Empty:
            if not km.is_alive():
                raise KernelFailure(
                    f"the kernel died while running cell {index + 1} ({first_line_of(cell.source)!r})"
                )
            continue
        if args.stop_at_idle:
            if idle:
                continue  # naive: nothing after idle counts
            belongs = collector.handle(msg, only_index=index)
        else:
            belongs = collector.handle(msg)
        if belongs is not None:
            last_message = time.monotonic()
            if progress and belongs == index:
                progress.update(collector)
        if (
            belongs == index
            and msg["msg_type"] == "status"
            and msg["content"].get("execution_state") == "idle"
        ):
            idle = True


class ProgressFile:
    """The running cell and its last line of text, as JSON in a file (see --progress)."""

    def __init__(self, path, cells, every=2.0):
        self.path = path
        self.cells = cells
        self.every = every
        self.index = None
        self.started_at = None
        self.written = 0.0

    def start(self, index):
        self.index = index
        self.started_at = now_iso()
        self.update(None, force=True)

    def update(self, collector, force=False):
        if not self.path or self.index is None:
            return
        now = time.monotonic()
        if not force and now - self.written < self.every:
            return
        self.written = now
        state = {
            "cell": self.index + 1,
            "cells": len(self.cells),
            "firstLine": first_line_of(self.cells[self.index].source),
            "cellStartedAt": self.started_at,
            "text": collector.latest_text.get(self.index) if collector else None,
        }
        tmp = f"{self.path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            json.dump(state, f)
        os.replace(tmp, self.path)


def drain(kc, collector, seconds):
    """Keeps applying iopub messages until none has come for `seconds` (late outputs of any cell)."""
    last_message = time.monotonic()
    while time.monotonic() - last_message < seconds:
        try:
            msg = kc.get_iopub_msg(timeout=0.05)
        except queue.Empty:
            continue
        if collector.handle(msg) is not None:
            last_message = time.monotonic()


def now_iso():
    """The current UTC time as ISO 8601 with microseconds and a Z, as nbclient writes it."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def error_of(cell, reply):
    for output in cell.outputs:
        if output["output_type"] == "error":
            return output["ename"], output["evalue"]
    return reply.get("ename", "Error"), reply.get("evalue", "")


def execute(args):
    nb = nbformat.read(args.input, as_version=4)
    code_cells = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    collector = OutputCollector(nb.cells)
    collector.echo = args.echo
    progress = ProgressFile(args.progress, nb.cells, args.progress_every) if args.progress else None
    km = KernelManager(kernel_name=args.kernel)
    km.start_kernel(cwd=args.cwd or os.path.dirname(os.path.abspath(args.input)), env=dict(os.environ))
    kc = km.client()
    kc.start_channels()
    failure = None
    try:
        kc.wait_for_ready(timeout=args.startup_timeout)
        for index, cell in code_cells:
            if not cell.source.strip():
                cell.outputs = []
                continue
            t0 = time.monotonic()
            if args.echo:
                print(f"[cell {index + 1}/{len(nb.cells)}] {first_line_of(cell.source)}", flush=True)
            started_at = now_iso()
            reply = run_cell(kc, km, collector, index, cell, args, progress)
            # nbclient's timing keys: JupyterLab shows them ("Record timing") and a reader of
            # the executed notebook sees which cell took how long.
            cell.metadata["execution"] = {
                "iopub.execute_input": started_at,
                "shell.execute_reply": now_iso(),
            }
            if args.verbose:
                print(
                    f"  cell {index + 1}: {time.monotonic() - t0:.1f} s {first_line_of(cell.source)!r}",
                    file=sys.stderr,
                    flush=True,
                )
            if reply.get("status") == "error":
                ename, evalue = error_of(cell, reply)
                failure = CellError(index, first_line_of(cell.source), ename, evalue)
                break
        if not args.stop_at_idle:
            drain(kc, collector, args.drain)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        tmp = f"{args.output}.{os.getpid()}.tmp"
        nbformat.write(nb, tmp)
        os.replace(tmp, args.output)
    if failure:
        raise failure


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--kernel", default="deno")
    parser.add_argument("--cwd", default=None, help="kernel working directory (default: the notebook's)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=float(os.environ.get("AE_CELL_TIMEOUT", "0")),
        help="per-cell limit in seconds, 0 = none (default env AE_CELL_TIMEOUT or 0)",
    )
    parser.add_argument(
        "--quiet",
        type=float,
        default=float(os.environ.get("AE_QUIET_SECONDS", "0.5")),
        help="seconds of silence after idle that end a cell (default env AE_QUIET_SECONDS or 0.5)",
    )
    parser.add_argument(
        "--drain",
        type=float,
        default=float(os.environ.get("AE_DRAIN_SECONDS", "2")),
        help="seconds of silence after the last cell that end the notebook (default env AE_DRAIN_SECONDS or 2)",
    )
    parser.add_argument("--startup-timeout", type=float, default=120)
    parser.add_argument("--stop-at-idle", action="store_true", help="naive mode (for tests)")
    parser.add_argument("--error-json", default=None, help="write the failure as JSON here")
    parser.add_argument("--verbose", action="store_true", help="print each cell's time")
    parser.add_argument("--progress", default=None, help="keep the running cell and its last text line here (JSON)")
    parser.add_argument("--progress-every", type=float, default=2.0, help="seconds between writes of --progress (default 2)")
    parser.add_argument("--echo", action="store_true", help="print each cell's first line and its text output to stdout as it runs")
    args = parser.parse_args(argv)
    if args.input == args.output:
        parser.error("OUTPUT must differ from INPUT (never overwrite the source notebook)")

    def report(obj):
        if args.error_json:
            with open(args.error_json, "w") as f:
                json.dump(obj, f)

    try:
        execute(args)
    except CellError as e:
        report({"kind": "cell", "cell": e.index + 1, "firstLine": e.first_line, "ename": e.ename, "evalue": e.evalue})
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KernelFailure as e:
        report({"kind": "kernel", "message": str(e)})
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # kernel start failure, unreadable notebook, ...
        report({"kind": "kernel", "message": f"{type(e).__name__}: {e}"})
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
