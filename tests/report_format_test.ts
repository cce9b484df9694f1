import assert from "node:assert/strict";
import { formatDuration } from "../lib/report/format.ts";

Deno.test("formatDuration: seconds under a minute, minutes and padded seconds above", () => {
  assert.equal(formatDuration(42.4), "42 s");
  assert.equal(formatDuration(41.74, 1), "41.7 s");
  assert.equal(formatDuration(83.2), "1 min 23 s");
  assert.equal(formatDuration(605), "10 min 05 s");
  assert.equal(formatDuration(3383.4), "56 min 23 s");
});

Deno.test("formatDuration: rounds before taking the minutes (119.6 s is 2 min 00 s)", () => {
  assert.equal(formatDuration(119.6), "2 min 00 s");
  assert.equal(formatDuration(59.6), "1 min 00 s");
  assert.equal(formatDuration(59.96, 1), "1 min 00 s");
  assert.equal(formatDuration(59.94, 1), "59.9 s");
});

Deno.test("formatDuration: refuses a negative or non-finite duration", () => {
  assert.throws(() => formatDuration(-1), RangeError);
  assert.throws(() => formatDuration(Number.NaN), RangeError);
});
