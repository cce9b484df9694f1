import assert from "node:assert/strict";
import { mulberry32, shuffledIndices } from "../lib/random.ts";

Deno.test("mulberry32: seeded, in [0, 1), seeds differ, roughly uniform", () => {
  const a = mulberry32(42);
  const b = mulberry32(42);
  const c = mulberry32(43);
  const xs = Array.from({ length: 10000 }, () => a());
  assert.deepEqual(Array.from({ length: 10000 }, () => b()), xs);
  assert.notDeepEqual(Array.from({ length: 10 }, () => c()), xs.slice(0, 10));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`);
  assert.throws(() => mulberry32(1.5), /integer/);
});

Deno.test("shuffledIndices: a reproducible permutation that actually shuffles", () => {
  const p = shuffledIndices(1000, 7);
  assert.deepEqual(shuffledIndices(1000, 7), p);
  assert.notDeepEqual(shuffledIndices(1000, 8), p);
  assert.deepEqual(Array.from(p).sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  const fixed = p.filter((v, i) => v === i).length;
  assert.ok(fixed < 10, `${fixed} fixed points`);
  assert.equal(shuffledIndices(0, 1).length, 0);
  assert.throws(() => shuffledIndices(-1, 0), /non-negative integer/);
});
