/**
 * Profiles and `--set key=value` overrides for experiment configurations (nanoGPT style: the
 * configuration is plain data and the command line only replaces values of known keys, keeping
 * each key's type).
 *
 * @module
 */
import { type ConfigValue, type ExperimentConfig, type Profile, PROFILES } from "./types.ts";

/**
 * Resolves the profile from an explicit value, else env `AE_PROFILE`, else `quick`.
 *
 * @throws Error naming the valid profiles when the value is not one of them.
 */
export function resolveProfile(explicit?: string): Profile {
  const value = explicit ?? Deno.env.get("AE_PROFILE") ?? "quick";
  if (!(PROFILES as readonly string[]).includes(value)) {
    throw new Error(`unknown profile "${value}"; valid profiles: ${PROFILES.join(", ")}`);
  }
  return value as Profile;
}

function parseNumber(key: string, text: string): number {
  const n = Number(text.trim());
  if (text.trim() === "" || !Number.isFinite(n)) {
    throw new Error(`--set ${key}=${text}: expected a number`);
  }
  return n;
}

/**
 * Parses one override value into the type of the default value for that key.
 *
 * Lists are comma-separated (`dims=1,2,16`); booleans accept true/false/1/0/yes/no.
 */
export function parseConfigValue(key: string, text: string, like: ConfigValue): ConfigValue {
  if (typeof like === "number") return parseNumber(key, text);
  if (typeof like === "boolean") {
    const t = text.trim().toLowerCase();
    if (["true", "1", "yes", "on"].includes(t)) return true;
    if (["false", "0", "no", "off"].includes(t)) return false;
    throw new Error(`--set ${key}=${text}: expected true or false`);
  }
  if (Array.isArray(like)) {
    const parts = text.split(",").map((p) => p.trim()).filter((p) => p !== "");
    if (parts.length === 0) {
      throw new Error(`--set ${key}=${text}: expected a comma-separated list`);
    }
    const numeric = like.length === 0
      ? parts.every((p) => Number.isFinite(Number(p)))
      : typeof like[0] === "number";
    return numeric ? parts.map((p) => parseNumber(key, p)) : parts;
  }
  return text;
}

/**
 * Applies `key=value` overrides to a profile's configuration, returning a new object.
 *
 * @throws Error for an unknown key (listing the valid keys) or a value of the wrong type.
 */
export function applyOverrides<C extends ExperimentConfig>(
  base: C,
  overrides: string[] | Record<string, ConfigValue | string>,
  validate?: (config: C) => void,
): C {
  const out: ExperimentConfig = { ...base };
  const entries: [string, ConfigValue | string][] = Array.isArray(overrides)
    ? overrides.map((o) => {
      const eq = o.indexOf("=");
      if (eq <= 0) throw new Error(`--set ${o}: expected key=value`);
      return [o.slice(0, eq).trim(), o.slice(eq + 1)];
    })
    : Object.entries(overrides);
  for (const [key, value] of entries) {
    if (!(key in base)) {
      throw new Error(`unknown config key "${key}"; valid keys: ${Object.keys(base).join(", ")}`);
    }
    const like = base[key];
    if (typeof value === "string" && typeof like !== "string") {
      out[key] = parseConfigValue(key, value, like);
    } else if (typeof value !== typeof like || Array.isArray(value) !== Array.isArray(like)) {
      throw new Error(
        `config key "${key}": expected ${describeType(like)}, got ${JSON.stringify(value)}`,
      );
    } else {
      out[key] = value;
    }
  }
  const config = out as C;
  validate?.(config);
  return config;
}

function describeType(v: ConfigValue): string {
  if (Array.isArray(v)) return typeof v[0] === "number" ? "a list of numbers" : "a list of strings";
  return `a ${typeof v}`;
}
