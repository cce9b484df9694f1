/**
 * Headless Chromium for checking reports as a reader sees them: the DOM after scripts ran
 * (`--dump-dom`) and a screenshot. {@link ensureChromium} installs Debian's `chromium` with
 * apt-get when it is missing (the tests call it, so a fresh machine works). Every run blocks
 * name resolution, so a page that needs the network shows it by failing.
 *
 * @module
 */

const CANDIDATES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

async function which(name: string): Promise<string | undefined> {
  if (name.includes("/")) {
    try {
      return (await Deno.stat(name)).isFile ? name : undefined;
    } catch {
      return undefined;
    }
  }
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    const file = `${dir}/${name}`;
    try {
      if ((await Deno.stat(file)).isFile) return file;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

async function findChromium(): Promise<string | undefined> {
  const fromEnv = Deno.env.get("AE_CHROMIUM");
  if (fromEnv) return await which(fromEnv);
  for (const name of CANDIDATES) {
    const found = await which(name);
    if (found) return found;
  }
  return undefined;
}

async function runOrThrow(cmd: string, args: string[], what: string): Promise<void> {
  const out = await new Deno.Command(cmd, {
    args,
    env: { DEBIAN_FRONTEND: "noninteractive" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `${what} failed (exit ${out.code}):\n${new TextDecoder().decode(out.stderr).slice(-2000)}`,
    );
  }
}

/**
 * Path of a Chromium binary, installing Debian's `chromium` package (apt-get, needs root) when
 * none is found. Env `AE_CHROMIUM` names a binary to use instead.
 *
 * @returns Absolute path of the browser.
 * @throws Error saying what to install when it is missing and cannot be installed.
 */
export async function ensureChromium(): Promise<string> {
  const found = await findChromium();
  if (found) return found;
  if (Deno.uid() !== 0) {
    throw new Error(
      "ensureChromium: no chromium on PATH and not root, so it cannot be installed; " +
        "run `apt-get update && apt-get install -y chromium` (or set AE_CHROMIUM)",
    );
  }
  await runOrThrow("apt-get", ["update", "-qq"], "apt-get update");
  await runOrThrow("apt-get", ["install", "-y", "-qq", "chromium"], "apt-get install chromium");
  const installed = await findChromium();
  if (!installed) {
    throw new Error("ensureChromium: apt-get installed chromium but it is not on PATH");
  }
  return installed;
}

/** Options of the headless runs. */
export interface HeadlessOptions {
  /** Virtual time the page gets to run its scripts before the DOM is read (default 15000 ms). */
  virtualTimeBudgetMs?: number;
  /** Window size (default 1200 x 1600). */
  width?: number;
  /** Window size (default 1200 x 1600). */
  height?: number;
  /** Wall-clock limit for the browser (default 120 s). */
  timeoutMs?: number;
}

async function headless(url: string, extra: string[], options: HeadlessOptions): Promise<string> {
  const browser = await ensureChromium();
  const profile = await Deno.makeTempDir({ prefix: "ae-chromium-" });
  const args = [
    "--headless",
    "--no-sandbox", // tests run as root, where the sandbox refuses to start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-extensions",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND", // no network: a page must be self-contained
    `--user-data-dir=${profile}`,
    `--window-size=${options.width ?? 1200},${options.height ?? 1600}`,
    `--virtual-time-budget=${options.virtualTimeBudgetMs ?? 15000}`,
    ...extra,
    url,
  ];
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 120_000);
  try {
    const out = await new Deno.Command(browser, {
      args,
      stdout: "piped",
      stderr: "piped",
      signal: controller.signal,
    }).output();
    if (!out.success) {
      throw new Error(
        `chromium failed on ${url} (exit ${out.code}):\n` +
          new TextDecoder().decode(out.stderr).slice(-2000),
      );
    }
    return new TextDecoder().decode(out.stdout);
  } finally {
    clearTimeout(timer);
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

/**
 * Loads a page in headless Chromium, lets its scripts run, and returns the resulting DOM.
 *
 * @param url A `file://` (or local) URL.
 * @param options Virtual-time budget, window size, timeout.
 * @returns The serialized DOM after the scripts ran.
 */
export function dumpDom(url: string, options: HeadlessOptions = {}): Promise<string> {
  return headless(url, ["--dump-dom"], options);
}

/**
 * Takes a PNG screenshot of a page in headless Chromium.
 *
 * @param url A `file://` (or local) URL.
 * @param pngPath Where the screenshot goes.
 * @param options Virtual-time budget, window size, timeout.
 */
export async function screenshot(
  url: string,
  pngPath: string,
  options: HeadlessOptions = {},
): Promise<void> {
  await headless(url, [`--screenshot=${pngPath}`], options);
  const info = await Deno.stat(pngPath).catch(() => null);
  if (!info || info.size === 0) {
    throw new Error(`screenshot: chromium wrote no image to ${pngPath}`);
  }
}
