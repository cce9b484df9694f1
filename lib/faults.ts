/**
 * Fault injection for the crash tests: env `AE_FAULT=<point>:<n>` makes the process kill itself
 * with SIGKILL the n-th time it reaches {@link faultPoint}`(point)` (n defaults to 1). SIGKILL
 * cannot be caught, so what a test sees afterwards is exactly what a power cut or `kill -9` at
 * that moment leaves on disk. Without the variable a fault point costs one comparison.
 *
 * Points: `train-batch` (after each training step), `checkpoint-write` (a checkpoint's files
 * written, not yet renamed into place), `checkpoint-swap` (between the two renames that replace
 * a checkpoint), `run-finish` (metrics.json written, the run not yet renamed into place).
 *
 * @module
 */

function readSpec(): { point: string; at: number } | null {
  let text: string | undefined;
  try {
    text = Deno.env.get("AE_FAULT");
  } catch {
    return null; // no env permission: no faults
  }
  if (!text) return null;
  const [point, at] = text.split(":");
  return { point, at: at === undefined ? 1 : Number(at) };
}

const spec = readSpec();
let reached = 0;

/** Kills this process (SIGKILL) if env `AE_FAULT` names this point and its count is reached. */
export function faultPoint(point: string): void {
  if (spec === null || spec.point !== point) return;
  reached++;
  if (reached >= spec.at) Deno.kill(Deno.pid, "SIGKILL");
}
