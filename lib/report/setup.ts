/**
 * Set-up of the tools that execute and export notebooks: a Python virtual environment
 * `.venv/` at the repository root with the pinned Jupyter packages, and the Deno kernel
 * registered inside that environment (never in the user's home), so a fresh machine needs only
 * `python3` and the Deno that runs this code. A stamp file records what was installed; later
 * calls find it and return at once.
 *
 * @module
 */
import * as path from "node:path";

import { REPO_ROOT } from "../paths.ts";

export { REPO_ROOT };

/** The virtual environment used for Jupyter (ignored by git). */
export const VENV_DIR: string = path.join(REPO_ROOT, ".venv");

/** Where the venv keeps its Jupyter data (kernelspecs); pointed at by `JUPYTER_PATH`. */
export const JUPYTER_DATA_DIR: string = path.join(VENV_DIR, "share", "jupyter");

const REQUIREMENTS = path.join(REPO_ROOT, "lib", "report", "requirements.txt");
const LOCK = path.join(REPO_ROOT, "lib", "report", "requirements-lock.txt");
const STAMP = path.join(VENV_DIR, ".ae-report-setup.json");
const LOCK_FILE = path.join(VENV_DIR, ".ae-report-setup.lock");

/** Paths of the set-up's Python tools. */
export interface JupyterTools {
  /** The venv's Python interpreter. */
  python: string;
  /** The venv's `jupyter` command. */
  jupyter: string;
}

async function exists(file: string): Promise<boolean> {
  try {
    await Deno.stat(file);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

async function readTextOr(file: string, fallback: string): Promise<string> {
  try {
    return await Deno.readTextFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return fallback;
    throw e;
  }
}

/** Runs a command with inherited stderr; throws naming the command when it fails. */
async function runChecked(cmd: string, args: string[], what: string): Promise<string> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    throw new Error(`${what}: could not start '${cmd}' (${(e as Error).message})`);
  }
  const stdout = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr);
    throw new Error(
      `${what} failed (exit ${output.code}): ${cmd} ${args.join(" ")}\n${stderr.slice(-4000)}`,
    );
  }
  return stdout;
}

/**
 * Environment variables that make Jupyter use only the venv's kernelspecs and configuration
 * (not `~/.local/share/jupyter` or `~/.jupyter`), so a kernel installed by hand elsewhere
 * cannot be picked up by mistake.
 *
 * @returns Variables to add to a child process's environment.
 */
export function jupyterEnv(): Record<string, string> {
  return {
    JUPYTER_PATH: JUPYTER_DATA_DIR,
    JUPYTER_DATA_DIR: JUPYTER_DATA_DIR,
    JUPYTER_CONFIG_DIR: path.join(VENV_DIR, "etc", "jupyter"),
    JUPYTER_RUNTIME_DIR: path.join(VENV_DIR, "runtime"),
    JUPYTER_PLATFORM_DIRS: "1",
    PYDEVD_DISABLE_FILE_VALIDATION: "1",
  };
}

/**
 * The Deno the kernelspec runs: a copy (or hard link) of the Deno executing this code inside
 * `.venv/bin/`, owned by the project's set-up. `Deno.execPath()` itself is often a file in npx's
 * cache, which npm may clear at any time; a kernelspec pointing there breaks JupyterLab later.
 */
export const KERNEL_DENO: string = path.join(VENV_DIR, "bin", "deno");

/**
 * The Deno kernelspec, run by {@link KERNEL_DENO} (the same Deno version as the tests and the
 * CLI).
 *
 * @returns The JSON object written to `kernels/deno/kernel.json`.
 */
export function denoKernelSpec(): Record<string, unknown> {
  return {
    argv: [KERNEL_DENO, "jupyter", "--kernel", "--conn", "{connection_file}"],
    display_name: "Deno",
    language: "typescript",
  };
}

/** Puts the running Deno at {@link KERNEL_DENO} unless the same file is already there. */
async function installKernelDeno(): Promise<void> {
  const source = Deno.execPath();
  if (path.resolve(source) === path.resolve(KERNEL_DENO)) return;
  const [from, to] = await Promise.all([
    Deno.stat(source),
    Deno.stat(KERNEL_DENO).catch(() => null),
  ]);
  if (to && to.size === from.size && to.mtime?.getTime() === from.mtime?.getTime()) return;
  await Deno.mkdir(path.dirname(KERNEL_DENO), { recursive: true });
  const tmp = `${KERNEL_DENO}.${Deno.pid}.tmp`;
  await Deno.remove(tmp).catch(() => {});
  try {
    await Deno.link(source, tmp); // instant on one file system, and survives the cache's removal
  } catch {
    await Deno.copyFile(source, tmp);
    await Deno.chmod(tmp, 0o755);
    if (from.mtime) await Deno.utime(tmp, from.atime ?? from.mtime, from.mtime);
  }
  await Deno.rename(tmp, KERNEL_DENO);
}

async function writeKernelSpec(): Promise<void> {
  await installKernelDeno();
  const dir = path.join(JUPYTER_DATA_DIR, "kernels", "deno");
  const file = path.join(dir, "kernel.json");
  const text = JSON.stringify(denoKernelSpec(), null, 2) + "\n";
  if ((await readTextOr(file, "")) === text) return;
  await Deno.mkdir(dir, { recursive: true });
  const tmp = `${file}.${Deno.pid}.tmp`;
  await Deno.writeTextFile(tmp, text);
  await Deno.rename(tmp, file);
}

/** What the stamp records: a change of any of these reinstalls. */
async function wantedStamp(basePython: string): Promise<string> {
  const version = (await runChecked(basePython, ["--version"], "python version")).trim();
  return JSON.stringify({
    python: version,
    requirements: await readTextOr(REQUIREMENTS, ""),
    lock: await readTextOr(LOCK, ""),
  });
}

/** Holds a lock file while `fn` runs, so two processes do not install into one venv at once. */
async function withSetupLock<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 15 * 60_000;
  // The lock lives inside .venv (ignored by git); `python -m venv` accepts an existing directory.
  await Deno.mkdir(VENV_DIR, { recursive: true });
  for (;;) {
    try {
      const f = await Deno.open(LOCK_FILE, { createNew: true, write: true });
      await f.write(new TextEncoder().encode(String(Deno.pid)));
      f.close();
      break;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      // A lock older than 20 minutes belongs to a set-up that died.
      const info = await Deno.stat(LOCK_FILE).catch(() => null);
      if (info?.mtime && Date.now() - info.mtime.getTime() > 20 * 60_000) {
        await Deno.remove(LOCK_FILE).catch(() => {});
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(`ensureJupyter: timed out waiting for another set-up (${LOCK_FILE})`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    await Deno.remove(LOCK_FILE).catch(() => {});
  }
}

/**
 * Makes sure `.venv/` exists with the pinned Jupyter packages and the Deno kernelspec, installing
 * what is missing. Idempotent: when the stamp matches (same Python, same requirement files) it
 * only refreshes the kernelspec, which costs milliseconds. The base interpreter is `python3`,
 * or env `AE_PYTHON`.
 *
 * @returns Paths of the venv's `python` and `jupyter`.
 * @throws Error naming the step that failed (no python3, pip failure, ...).
 */
export async function ensureJupyter(): Promise<JupyterTools> {
  const tools: JupyterTools = {
    python: path.join(VENV_DIR, "bin", "python"),
    jupyter: path.join(VENV_DIR, "bin", "jupyter"),
  };
  const basePython = Deno.env.get("AE_PYTHON") ?? "python3";
  const stamp = await wantedStamp(basePython);
  const ready = async () =>
    (await readTextOr(STAMP, "")) === stamp && await exists(tools.python) &&
    await exists(tools.jupyter);
  if (!(await ready())) {
    await withSetupLock(async () => {
      if (await ready()) return;
      await Deno.remove(STAMP).catch(() => {});
      if (!(await exists(tools.python))) {
        await runChecked(basePython, ["-m", "venv", VENV_DIR], "creating .venv");
      }
      const pipArgs = ["-m", "pip", "install", "--disable-pip-version-check", "-q"];
      const lockArgs = (await exists(LOCK)) ? ["-c", LOCK] : [];
      await runChecked(
        tools.python,
        [...pipArgs, "-r", REQUIREMENTS, ...lockArgs],
        "pip install (lib/report/requirements.txt)",
      );
      await Deno.writeTextFile(STAMP, stamp);
    });
  }
  await writeKernelSpec();
  return tools;
}
