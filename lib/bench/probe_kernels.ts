/**
 * Probes a backend's training kernels from the terminal: every op the zoo models need, forward
 * and backward, against the pure-JS cpu backend (see {@link ../kernels/probe.ts}).
 *
 * Run: `deno run -A lib/bench/probe_kernels.ts [backend]` (default wasm; the backend is set up
 * with lib/backend.ts, so wasm gets the project's training kernels).
 *
 * @module
 */
import { parseBackendName, setupBackend } from "../backend.ts";
import { probeTrainingOps } from "../kernels/probe.ts";

if (import.meta.main) {
  const wanted = parseBackendName(Deno.args[0] ?? "wasm");
  const choice = await setupBackend(wanted);
  const results = await probeTrainingOps(choice.tfBackend);
  for (const r of results) {
    const status = r.missingKernel
      ? `MISSING kernel ${r.missingKernel}`
      : r.error
      ? `ERROR ${r.error}`
      : `ok (max rel. error vs cpu ${r.relError?.toExponential(1)})`;
    console.log(`${r.name.padEnd(28)} ${status}`);
  }
}
