/**
 * `@tensorflow/tfjs` as every module of this project imports it (deno.json maps the bare name
 * here): the package itself, with tfjs's production mode switched on before any backend runs.
 *
 * Production mode (`tf.enableProdMode()`, tfjs's documented setting) only silences tfjs-core's
 * `log.warn` / `log.log`: the pure-JS cpu backend's "Hi, looks like you are running TensorFlow.js
 * in Node.js ... install our node backend" banner on its first tensor (this project chooses its
 * backend on purpose and says which in one line, lib/backend.ts), "backend was already
 * registered", "kernel ... is already registered" and "Platform node has already been set"
 * (tfjs-node re-registering what tfjs already did). In tfjs 4.22 no check depends on it.
 *
 * @module
 */
import { enableProdMode } from "@tensorflow/tfjs";

export * from "@tensorflow/tfjs";

enableProdMode();
