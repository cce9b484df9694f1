/**
 * What `@tensorflow/tfjs-node` needs from the runtime before it is imported under Deno.
 *
 * tfjs-node 4.22.0 calls `util.isNullOrUndefined`, which Node removed in v23 and Deno's
 * `node:util` (it reports Node 26) does not have; every kernel with a list attribute (MatMul,
 * Conv2D, ...) would throw "isNullOrUndefined is not a function". libtensorflow also prints
 * info lines (oneDNN, CPU features) on every start unless `TF_CPP_MIN_LOG_LEVEL` says otherwise.
 *
 * @module
 */
import util from "node:util";

/**
 * Makes `import("@tensorflow/tfjs-node")` (or `-gpu`) work under Deno: adds the removed
 * `util.isNullOrUndefined` to `node:util` (the object that tfjs-node's `require("util")` returns)
 * and, unless `TF_CPP_MIN_LOG_LEVEL` is already set, hides libtensorflow's info lines (warnings
 * and errors still print). Safe to call more than once.
 */
export function prepareTfjsNodeImport(): void {
  const nodeUtil = util as unknown as Record<string, unknown>;
  if (typeof nodeUtil.isNullOrUndefined !== "function") {
    nodeUtil.isNullOrUndefined = (value: unknown) => value === null || value === undefined;
  }
  try {
    if (Deno.env.get("TF_CPP_MIN_LOG_LEVEL") === undefined) {
      // Read by libtensorflow with getenv() when it logs, so setting it before loading suffices.
      Deno.env.set("TF_CPP_MIN_LOG_LEVEL", "1");
    }
  } catch {
    // No --allow-env: libtensorflow keeps its default log level.
  }
}
