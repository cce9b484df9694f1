/**
 * Entry point of a t-SNE helper Worker (see {@link ./parallel.ts}): receives the shared tree once,
 * says it is ready, then computes repulsive-force chunks each time the main thread asks.
 *
 * @module
 */

import { helperLoop, type HelperSetup } from "./parallel.ts";

const scope = self as unknown as {
  onmessage: ((event: MessageEvent<HelperSetup>) => void) | null;
  postMessage(message: unknown): void;
};

scope.onmessage = (event) => {
  scope.onmessage = null;
  scope.postMessage("ready");
  helperLoop(event.data);
};
