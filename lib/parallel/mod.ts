/**
 * Data-parallel training across Deno Workers for the one-thread backends (wasm, cpu): the main
 * thread keeps the model and optimizer, Workers compute the gradients of parts of each batch.
 * See `data_parallel.ts` for what equals one-thread training and what only does in expectation.
 *
 * @example
 * ```ts
 * import { startDataParallel } from "./lib/parallel/mod.ts";
 * const parallel = await startDataParallel(model, { workers: 2, loss: "mse" });
 * const loss = await parallel.step(optimizer, xb, xb);
 * parallel.close();
 * ```
 *
 * @module
 */
export {
  type CombinedGradients,
  type DataParallel,
  type DataParallelOptions,
  splitSizes,
  startDataParallel,
} from "./data_parallel.ts";
export { type WorkerBackend, type WorkerLoss, workerSeed } from "./protocol.ts";
export { autoWorkers, hasConvolution, splitInvariant } from "./auto.ts";
