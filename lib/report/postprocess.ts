/**
 * Post-processing of an exported HTML report so it opens offline and loads plotly.js once:
 * every figure's `<script data-plotly-bundle="...">` tag is removed from the body and exactly one
 * bundle goes into `<head>` (so it runs before any figure's `Plotly.newPlot`, whatever order the
 * figures came in); a page that draws Plotly figures but carries no bundle gets one; `<script
 * src>` / `<link href>` tags pointing at http(s) are removed.
 *
 * All functions here are pure string work, so they are tested without a browser.
 *
 * @module
 */
import * as path from "node:path";
import { REPO_ROOT } from "./setup.ts";

/** Matches one whole plotly bundle tag (an inline bundle cannot contain `</script`, or the browser would end it there too). */
const BUNDLE_TAG = /<script\b[^>]*\bdata-plotly-bundle\b[^>]*>[\s\S]*?<\/script\s*>/gi;

/** Signs that a page draws Plotly figures. */
const PLOTLY_USE = /\bPlotly\.(?:newPlot|react|plot)\s*\(|class="[^"]*\bplotly-graph-div\b/;

const REMOTE_SCRIPT =
  /<script\b[^>]*\bsrc\s*=\s*["']?(?:https?:)?\/\/[^>]*>[\s\S]*?<\/script\s*>/gi;
const REMOTE_LINK = /<link\b[^>]*\bhref\s*=\s*["']?(?:https?:)?\/\/[^>]*>/gi;

/**
 * Lists the plotly bundle tags of a page.
 *
 * @param html A whole HTML page.
 * @returns The tags, in page order.
 */
export function findPlotlyBundles(html: string): string[] {
  return html.match(BUNDLE_TAG) ?? [];
}

/**
 * Tells whether a page draws Plotly figures (calls `Plotly.newPlot` / `react` / `plot`, or has
 * a `plotly-graph-div`).
 *
 * @param html Page or fragment.
 * @returns True when plotly.js is needed.
 */
export function usesPlotly(html: string): boolean {
  return PLOTLY_USE.test(html.replace(BUNDLE_TAG, ""));
}

/**
 * Lists what a page would fetch from the network: `<script src>` and `<link href>` with an
 * http(s) or protocol-relative address, and `import("http...")` in inline scripts.
 *
 * @param html A whole HTML page (bundle tags are skipped: their library text mentions URLs).
 * @returns The offending tags or snippets; empty when the page is self-contained.
 */
export function findRemoteResources(html: string): string[] {
  const page = html.replace(BUNDLE_TAG, "");
  const found = [...(page.match(REMOTE_SCRIPT) ?? []), ...(page.match(REMOTE_LINK) ?? [])];
  const dynamicImports = page.match(/\bimport\s*\(\s*["'`]https?:\/\/[^"'`]*["'`]\s*\)/g) ?? [];
  return [...found.map((t) => t.slice(0, 200)), ...dynamicImports];
}

/** What {@link postprocessReport} did to a page. */
export interface PostprocessResult {
  /** The processed page. */
  html: string;
  /** How many bundle tags the page had before. */
  bundlesFound: number;
  /** True when a bundle had to be supplied because the page had none. */
  bundleInserted: boolean;
  /** Remote `<script>` / `<link>` tags removed (first 200 characters of each). */
  removedRemote: string[];
}

function insertIntoHead(html: string, fragment: string): string {
  const headEnd = html.search(/<\/head\s*>/i);
  if (headEnd >= 0) return html.slice(0, headEnd) + fragment + "\n" + html.slice(headEnd);
  const bodyStart = html.search(/<body\b[^>]*>/i);
  if (bodyStart >= 0) return html.slice(0, bodyStart) + fragment + "\n" + html.slice(bodyStart);
  return fragment + "\n" + html;
}

/**
 * Makes an exported page self-contained with exactly one plotly.js bundle, in `<head>`.
 *
 * @param html The page as nbconvert wrote it.
 * @param plotlyBundle Supplies a bundle tag when the page draws figures but has none; only
 *   called then.
 * @returns The processed page and what was changed.
 */
export async function postprocessReport(
  html: string,
  plotlyBundle: () => Promise<string> | string = plotlyBundleTag,
): Promise<PostprocessResult> {
  const bundles = findPlotlyBundles(html);
  let page = html.replace(BUNDLE_TAG, "");
  const removedRemote: string[] = [];
  page = page.replace(REMOTE_SCRIPT, (tag) => {
    removedRemote.push(tag.slice(0, 200));
    return "";
  });
  page = page.replace(REMOTE_LINK, (tag) => {
    removedRemote.push(tag.slice(0, 200));
    return "";
  });
  let bundleInserted = false;
  let bundle = bundles[0];
  if (bundle === undefined && usesPlotly(page)) {
    bundle = await plotlyBundle();
    bundleInserted = true;
  }
  if (bundle !== undefined) page = insertIntoHead(page, bundle);
  return { html: page, bundlesFound: bundles.length, bundleInserted, removedRemote };
}

/**
 * The plotly.js bundle as one inline `<script data-plotly-bundle="VERSION">` tag: from
 * `plotlyBundleScript()` of lib/plot.ts when that module exists, else built here from
 * `node_modules/plotly.js-dist` (the minified file if present, else `plotly.js`).
 *
 * @returns The script tag.
 * @throws Error when neither source is available.
 */
export async function plotlyBundleTag(): Promise<string> {
  const plotModule = path.join(REPO_ROOT, "lib", "plot.ts");
  try {
    await Deno.stat(plotModule);
    const mod = await import(`file://${plotModule}`);
    if (typeof mod.plotlyBundleScript === "function") return await mod.plotlyBundleScript();
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const dist = path.join(REPO_ROOT, "node_modules", "plotly.js-dist");
  let version = "unknown";
  try {
    version = JSON.parse(await Deno.readTextFile(path.join(dist, "package.json"))).version;
  } catch {
    // The version only labels the tag.
  }
  for (const name of ["plotly.min.js", "plotly.js"]) {
    try {
      const js = await Deno.readTextFile(path.join(dist, name));
      return `<script data-plotly-bundle="${version}">${
        js.replace(/<\/script/gi, "<\\/script")
      }</script>`;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  throw new Error(
    `plotlyBundleTag: no plotly.js found (lib/plot.ts missing and nothing in ${dist}); ` +
      "run `deno install` so node_modules/plotly.js-dist exists",
  );
}
