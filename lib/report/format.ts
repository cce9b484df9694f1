/**
 * Durations as the report and the README's results table print them.
 *
 * @module
 */

/**
 * `83.2` -> `1 min 23 s`, `119.6` -> `2 min 00 s`; under a minute, seconds with
 * `subMinuteDigits` decimals (`42 s`, or `41.7 s` with one digit).
 *
 * The seconds are rounded before the minutes are taken, so a value just under a
 * whole minute never prints as `1 min 60 s`.
 */
export function formatDuration(seconds: number, subMinuteDigits = 0): string {
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new RangeError(`formatDuration: expected seconds >= 0, got ${seconds}`);
  }
  const underMinute = seconds.toFixed(subMinuteDigits);
  if (Number(underMinute) < 60) return `${underMinute} s`;
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, "0")} s`;
}
