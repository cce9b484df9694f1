/**
 * The public surface of the library, for notebooks (`import { ... } from "../lib/mod.ts"`).
 * One concept per module; this file only re-exports.
 *
 * @module
 */
export * from "./backend.ts";
export * from "./random.ts";
export * from "./data/mod.ts";
export * from "./models/mod.ts";
export * from "./train.ts";
export * from "./kernels/native_adam.ts";
export * from "./kernels/compiled_step.ts";
export * from "./checkpoint.ts";
export * from "./progress.ts";
export * from "./pca.ts";
export * from "./metrics.ts";
export * from "./code_analysis.ts";
export * from "./knn.ts";
export * from "./tsne.ts";
export type { OptimiseTimings } from "./tsne/barnes_hut.ts";
export * from "./display.ts";
export * from "./plot.ts";
export * from "./images.ts";
export * from "./experiments/types.ts";
export * from "./experiments/config.ts";
export * from "./experiments/runs.ts";
export * from "./experiments/params.ts";
export * from "./experiments/common.ts";
export * from "./experiments/registry.ts";
export * from "./report/claims.ts";
export * from "./claims/upsampling_vs_transpose.ts";
export * from "./claims/mlp_blocks.ts";
