/**
 * Splits the Barnes-Hut repulsive forces (about 70% of a t-SNE iteration) over helper Workers
 * that share the quadtree through SharedArrayBuffers.
 *
 * Each iteration the main thread builds the tree, bumps a generation counter, and every thread
 * (main included) takes chunks of {@link CHUNK} sorted points from a shared counter until none
 * are left. Forces are written per point and each chunk's share of `Z` goes to its own slot,
 * summed in chunk order afterwards, so the result is bit-identical for any number of threads.
 *
 * @module
 */

import { type QuadTree, repulsiveForces } from "./quadtree.ts";

/** Sorted points per unit of work. */
export const CHUNK = 256;

// Slots of the shared control array.
const GENERATION = 0; // bumped to start an iteration; -1 tells helpers to stop
const NEXT_CHUNK = 1; // next chunk to take
const DONE = 2; // helpers finished with this generation
const NODES = 3; // node count of the current tree
const HELPER_CHUNKS = 4; // chunks computed by helpers so far (to check that they work)

/** What a helper Worker receives once at start. */
export interface HelperSetup {
  /** The shared tree (typed arrays over SharedArrayBuffers). */
  tree: QuadTree;
  /** Shared `count x 2` output. */
  forces: Float64Array;
  /** Barnes-Hut theta. */
  theta: number;
  /** Shared control slots. */
  control: Int32Array;
  /** Shared per-chunk partial `Z`. */
  zChunks: Float64Array;
}

/** A running team of helpers bound to one tree and force buffer. */
export interface RepulsionTeam extends HelperSetup {
  /** The helper Workers (empty when running on the main thread only). */
  helpers: Worker[];
}

/**
 * Takes and computes chunks until none are left (run by the main thread and every helper).
 *
 * @param setup Shared state; `setup.tree.nodes` must be current.
 */
export function workChunks(setup: HelperSetup, helper = false): void {
  const { tree, forces, theta, control, zChunks } = setup;
  const chunks = Math.ceil(tree.count / CHUNK);
  while (true) {
    const chunk = Atomics.add(control, NEXT_CHUNK, 1);
    if (chunk >= chunks) return;
    if (helper) Atomics.add(control, HELPER_CHUNKS, 1);
    const first = chunk * CHUNK;
    zChunks[chunk] = repulsiveForces(
      tree,
      theta,
      forces,
      first,
      Math.min(tree.count, first + CHUNK),
    );
  }
}

/**
 * Helper side: waits for generations and works on each (called inside the Worker).
 *
 * @param setup What the main thread posted.
 */
export function helperLoop(setup: HelperSetup): void {
  const { control } = setup;
  let seen = 0;
  while (true) {
    Atomics.wait(control, GENERATION, seen);
    const generation = Atomics.load(control, GENERATION);
    if (generation < 0) return;
    if (generation === seen) continue;
    seen = generation;
    setup.tree.nodes = Atomics.load(control, NODES);
    workChunks(setup, true);
    Atomics.add(control, DONE, 1);
    Atomics.notify(control, DONE);
  }
}

/**
 * Starts `threads - 1` helper Workers (none when `threads <= 1` or Workers are unavailable).
 *
 * @param tree A tree created with shared memory (`createQuadTree(n, true)`).
 * @param forces Shared `count x 2` force buffer.
 * @param theta Barnes-Hut theta for the whole run.
 * @param threads Total threads wanted, main included.
 */
export async function startTeam(
  tree: QuadTree,
  forces: Float64Array,
  theta: number,
  threads: number,
): Promise<RepulsionTeam> {
  const shared = typeof SharedArrayBuffer === "function";
  const control = new Int32Array(shared ? new SharedArrayBuffer(32) : new ArrayBuffer(32));
  const chunks = Math.ceil(tree.count / CHUNK);
  const zChunks = new Float64Array(
    shared ? new SharedArrayBuffer(8 * chunks) : new ArrayBuffer(8 * chunks),
  );
  const team: RepulsionTeam = { tree, forces, theta, control, zChunks, helpers: [] };
  const wanted =
    shared && typeof Worker === "function" && forces.buffer instanceof SharedArrayBuffer
      ? Math.max(0, Math.floor(threads) - 1)
      : 0;
  for (let h = 0; h < wanted; h++) {
    const worker = new Worker(new URL("./repulsion_worker.ts", import.meta.url), {
      type: "module",
    });
    team.helpers.push(worker);
    try {
      await new Promise<void>((resolve, reject) => {
        worker.onmessage = () => resolve();
        worker.onerror = (e) => {
          e.preventDefault();
          reject(new Error(`t-SNE helper worker failed to start: ${e.message}`));
        };
        const setup: HelperSetup = { tree, forces, theta, control, zChunks };
        worker.postMessage(setup);
      });
    } catch (error) {
      stopTeam(team);
      throw error;
    }
  }
  return team;
}

/**
 * One iteration's repulsive forces over the whole team.
 *
 * @returns `Z`, summed over chunks in order (identical for any team size).
 */
export function teamRepulsion(team: RepulsionTeam): number {
  const { control, zChunks, helpers, tree } = team;
  control[NODES] = tree.nodes;
  control[NEXT_CHUNK] = 0;
  control[DONE] = 0;
  if (helpers.length > 0) {
    Atomics.add(control, GENERATION, 1);
    Atomics.notify(control, GENERATION);
  }
  workChunks(team);
  let done: number;
  while ((done = Atomics.load(control, DONE)) < helpers.length) {
    Atomics.wait(control, DONE, done);
  }
  let z = 0;
  for (let c = 0; c < zChunks.length; c++) z += zChunks[c];
  return z;
}

/** Chunks the helpers have computed since the team started (0 without helpers). */
export function helperChunks(team: RepulsionTeam): number {
  return Atomics.load(team.control, HELPER_CHUNKS);
}

/** Stops and releases the helpers (safe to call twice). */
export function stopTeam(team: RepulsionTeam): void {
  Atomics.store(team.control, GENERATION, -1);
  Atomics.notify(team.control, GENERATION);
  for (const worker of team.helpers) worker.terminate();
  team.helpers.length = 0;
}
