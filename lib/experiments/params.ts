/**
 * The parameters cell of a notebook (the papermill / Quarto convention): the experiment's
 * settings as plain values, the profile choosing the defaults. `deno task exp <id> --set k=v`
 * runs the notebook with a cell tagged `injected-parameters` right after that cell, which calls
 * {@link applyParameters}; a reader in JupyterLab edits the values in place instead.
 *
 * ```ts
 * const profile = activeProfile(); // env AE_PROFILE: smoke | quick | full (default quick)
 * const config = {
 *   epochs: { smoke: 1, quick: 5, full: 50 }[profile], // write-up: 50
 * };
 * showParameters(profile, config);
 * ```
 *
 * @module
 */
import { escapeHtml, html, type HtmlDisplay } from "../display.ts";
import { applyOverrides, resolveProfile } from "./config.ts";
import type { ConfigValue, ExperimentConfig, Profile } from "./types.ts";

/** Tag of the notebook cell that holds the parameters. */
export const PARAMETERS_TAG = "parameters";

/** Tag of the cell the CLI inserts after it with the command line's values. */
export const INJECTED_PARAMETERS_TAG = "injected-parameters";

/**
 * The profile in force: env `AE_PROFILE` (set by `deno task exp` / `deno task report`), else
 * `quick`.
 *
 * @throws Error naming the valid profiles for any other value.
 */
export function activeProfile(): Profile {
  return resolveProfile();
}

// Keys set by applyParameters in this process (kernel), so the parameters table can mark them.
const injectedKeys = new Set<string>();

/**
 * Puts values given on the command line into a notebook's configuration object, checking each
 * key and type as `--set` does, and returns the table of the values now in force.
 *
 * @param config The parameters cell's configuration object (changed in place).
 * @param values Values by key (already typed by the CLI).
 * @throws Error for an unknown key or a value of another type than the default's.
 */
export function applyParameters(
  config: ExperimentConfig,
  values: Record<string, ConfigValue>,
): HtmlDisplay {
  Object.assign(config, applyOverrides(config, values));
  for (const key of Object.keys(values)) injectedKeys.add(key);
  return parametersTable(resolveProfile(), config, "command line");
}

/**
 * The table of a configuration: key, value, and whether it came from the command line.
 *
 * @param profile The profile whose defaults the parameters cell used.
 * @param config The configuration in force.
 */
export function showParameters(profile: Profile, config: ExperimentConfig): HtmlDisplay {
  return parametersTable(profile, config, "command line");
}

function formatValue(value: ConfigValue): string {
  return Array.isArray(value) ? value.join(", ") : String(value);
}

function parametersTable(profile: Profile, config: ExperimentConfig, source: string): HtmlDisplay {
  const rows = Object.entries(config).map(([key, value]) => {
    const mark = injectedKeys.has(key) ? ` <i>(${source})</i>` : "";
    return `<tr><td><code>${escapeHtml(key)}</code></td><td>${
      escapeHtml(formatValue(value))
    }${mark}</td></tr>`;
  });
  const text = `profile ${profile}: ` +
    Object.entries(config).map(([k, v]) =>
      `${k}=${formatValue(v)}${injectedKeys.has(k) ? ` (${source})` : ""}`
    ).join(", ");
  return html(
    `<table class="mnist-ae-table"><caption>Parameters in force (profile <b>${profile}</b>)` +
      `</caption><thead><tr><th style="text-align:left">key</th>` +
      `<th style="text-align:left">value</th></tr></thead><tbody>${rows.join("")}</tbody></table>`,
    text,
  );
}
