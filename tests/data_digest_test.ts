/** Content digests of input files: equal bytes, in-place changes, the two caches, bad cache files. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { encodeIdx } from "../lib/data/idx.ts";
import {
  digestFiles,
  fileDigest,
  FileDigestCache,
  type FileDigestCacheOptions,
  RECENT_MODIFICATION_MS,
} from "../lib/data/digest.ts";
import { MNIST_FILES, resolveMnistDir } from "../lib/data/mnist.ts";

const DIGEST_MODULE = fileURLToPath(new URL("../lib/data/digest.ts", import.meta.url));

/** A fixed past time for mtimes, so files count as settled (older than the racy window). */
const PAST = new Date("2026-01-02T03:04:05.000Z");

/** Independent of the module: SHA-256 of bytes as hex. */
function referenceSha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "data_digest_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A cache whose file reader counts reads per path. */
function countingCache(
  cacheFile: string | null,
  options: FileDigestCacheOptions = {},
): { cache: FileDigestCache; reads: Map<string, number> } {
  const reads = new Map<string, number>();
  const cache = new FileDigestCache({
    cacheFile,
    readFile: (p) => {
      reads.set(p, (reads.get(p) ?? 0) + 1);
      return Deno.readFile(p);
    },
    ...options,
  });
  return { cache, reads };
}

/** Writes bytes and sets a settled mtime. */
async function writeSettled(file: string, bytes: Uint8Array, mtime = PAST): Promise<void> {
  await Deno.writeFile(file, bytes);
  await Deno.utime(file, mtime, mtime);
}

Deno.test("digest: equal bytes give equal digests, other bytes another, SHA-256 of the bytes", async () => {
  await withTempDir(async (dir) => {
    const bytes = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) % 256);
    const a = path.join(dir, "a.bin");
    const b = path.join(dir, "b.bin");
    const c = path.join(dir, "c.bin");
    await writeSettled(a, bytes);
    await writeSettled(b, bytes, new Date("2025-06-01T00:00:00Z")); // same bytes, other mtime
    const other = bytes.slice();
    other[4999] ^= 1;
    await writeSettled(c, other);
    const cache = new FileDigestCache({ cacheFile: null });
    const digests = await cache.digestAll([a, b, c]);
    assert.deepEqual(Object.keys(digests), [a, b, c]);
    assert.equal(digests[a], digests[b]);
    assert.notEqual(digests[a], digests[c]);
    assert.equal(digests[a], referenceSha256(bytes));
    assert.equal(digests[c], referenceSha256(other));
    // The empty file has the well-known SHA-256 of no bytes.
    const empty = path.join(dir, "empty");
    await writeSettled(empty, new Uint8Array(0));
    assert.equal(
      await cache.digest(empty),
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
  });
});

Deno.test("digest: relative paths and duplicates resolve to one absolute key", async () => {
  await withTempDir(async (dir) => {
    const file = path.join(dir, "x.bin");
    await writeSettled(file, new Uint8Array([1, 2, 3]));
    const { cache, reads } = countingCache(null);
    const relative = path.relative(Deno.cwd(), file);
    const digests = await cache.digestAll([relative, file, relative]);
    assert.deepEqual(Object.keys(digests), [file]);
    assert.equal(reads.get(file), 1);
  });
});

Deno.test("digest: an IDX file changed in place (same size) gets a new digest once its mtime changes", async () => {
  await withTempDir(async (dir) => {
    const count = 200;
    const pixels = Uint8Array.from({ length: count * 784 }, (_, i) => (i * 31) % 256);
    const file = path.join(dir, MNIST_FILES.train.images);
    await writeSettled(file, encodeIdx("ubyte", [count, 28, 28], pixels));
    const cacheFile = path.join(dir, "cache", "digests.json");
    const first = countingCache(cacheFile);
    const before = await first.cache.digest(file);
    const sizeBefore = (await Deno.stat(file)).size;
    const inodeBefore = (await Deno.stat(file)).ino;

    // Change 50 images' pixels in place: same length, same inode.
    const changed = pixels.slice();
    for (let image = 0; image < 50; image++) {
      for (let p = 0; p < 784; p++) changed[image * 784 + p] = 255 - changed[image * 784 + p];
    }
    const handle = await Deno.open(file, { write: true });
    try {
      await handle.seek(16, Deno.SeekMode.Start); // after the IDX header (magic + 3 dimensions)
      const bytes = changed.subarray(0, 50 * 784);
      let written = 0;
      while (written < bytes.length) written += await handle.write(bytes.subarray(written));
    } finally {
      handle.close();
    }
    assert.equal((await Deno.stat(file)).size, sizeBefore);
    assert.equal((await Deno.stat(file)).ino, inodeBefore);
    const later = new Date(PAST.getTime() + 60_000);
    await Deno.utime(file, later, later);

    // A new process (file cache) and the same process (memory cache) both see the change.
    const fresh = countingCache(cacheFile);
    const afterFreshCache = await fresh.cache.digest(file);
    const afterSameCache = await first.cache.digest(file);
    const expected = referenceSha256(encodeIdx("ubyte", [count, 28, 28], changed));
    assert.notEqual(afterSameCache, before);
    assert.equal(afterSameCache, expected);
    assert.equal(afterFreshCache, expected);
    assert.equal(first.reads.get(file), 2);
    assert.equal(fresh.reads.get(file), 1, "the cached entry is for the old mtime");
  });
});

Deno.test("digest: the second call is a cache hit, in memory and from the cache file", async () => {
  await withTempDir(async (dir) => {
    const file = path.join(dir, "data.bin");
    await writeSettled(file, Uint8Array.from({ length: 1000 }, (_, i) => i % 256));
    const cacheFile = path.join(dir, "nested", "cache", "digests.json");

    const first = countingCache(cacheFile);
    const digest = await first.cache.digest(file);
    assert.equal(await first.cache.digest(file), digest);
    assert.equal(first.reads.get(file), 1, "the second call in one process must not read");

    // The cache file was written (its directory made) and holds the digest under the absolute path.
    const stored = JSON.parse(await Deno.readTextFile(cacheFile));
    assert.equal(stored.version, 1);
    assert.equal(stored.entries[file].sha256, digest);
    assert.equal(stored.entries[file].size, 1000);
    assert.equal(stored.entries[file].mtimeMs, PAST.getTime());
    // No temp file is left beside it.
    const names = [...Deno.readDirSync(path.dirname(cacheFile))].map((e) => e.name);
    assert.deepEqual(names, ["digests.json"]);

    // A new instance (as in a new process) reads nothing but the cache file.
    const second = countingCache(cacheFile);
    assert.equal(await second.cache.digest(file), digest);
    assert.equal(second.reads.get(file), undefined, "a re-run must not read the data file");

    // Touching the file (new mtime, same bytes) makes it read again, with the same digest.
    const touched = new Date(PAST.getTime() + 1000);
    await Deno.utime(file, touched, touched);
    assert.equal(await second.cache.digest(file), digest);
    assert.equal(second.reads.get(file), 1);
  });
});

Deno.test("digest: a file modified just now is hashed every time, not cached", async () => {
  await withTempDir(async (dir) => {
    const file = path.join(dir, "fresh.bin");
    await Deno.writeFile(file, new Uint8Array([9, 9, 9]));
    const mtime = (await Deno.stat(file)).mtime!.getTime();
    const cacheFile = path.join(dir, "digests.json");
    // The clock stands just inside the window: the same tick could still hold another write.
    const { cache, reads } = countingCache(cacheFile, {
      now: () => mtime + RECENT_MODIFICATION_MS - 1,
    });
    await cache.digest(file);
    await cache.digest(file);
    assert.equal(reads.get(file), 2);
    await assert.rejects(Deno.stat(cacheFile), Deno.errors.NotFound);
    // Once the window has passed, it is cached.
    const settled = countingCache(cacheFile, { now: () => mtime + RECENT_MODIFICATION_MS });
    await settled.cache.digest(file);
    await settled.cache.digest(file);
    assert.equal(settled.reads.get(file), 1);
  });
});

Deno.test("digest: a corrupt, foreign or unreadable cache file is ignored and rewritten", async () => {
  await withTempDir(async (dir) => {
    const file = path.join(dir, "data.bin");
    const bytes = new Uint8Array([1, 2, 3, 4]);
    await writeSettled(file, bytes);
    const expected = referenceSha256(bytes);
    const cacheFile = path.join(dir, "digests.json");
    const bad = [
      "{ this is not json",
      "",
      "null",
      "[1, 2]",
      JSON.stringify({ version: 99, entries: {} }),
      // A well-formed file whose entry lies about the digest's shape: not trusted.
      JSON.stringify({
        version: 1,
        entries: { [file]: { size: 4, mtimeMs: PAST.getTime(), ino: null, sha256: "nope" } },
      }),
    ];
    for (const text of bad) {
      await Deno.writeTextFile(cacheFile, text);
      const { cache, reads } = countingCache(cacheFile);
      assert.equal(await cache.digest(file), expected, `cache file ${JSON.stringify(text)}`);
      assert.equal(reads.get(file), 1);
      const rewritten = JSON.parse(await Deno.readTextFile(cacheFile));
      assert.equal(rewritten.entries[file].sha256, expected, "rewritten with the good entry");
    }
    // A cache "file" that is a directory can be neither read nor replaced: digests still work.
    const dirAsCache = path.join(dir, "a-directory");
    await Deno.mkdir(path.join(dirAsCache, "child"), { recursive: true });
    const warnings: string[] = [];
    const originalWarn = console.warn;
    console.warn = (...args: unknown[]) => warnings.push(args.map(String).join(" "));
    try {
      const { cache } = countingCache(dirAsCache);
      assert.equal(await cache.digest(file), expected);
      assert.equal(await cache.digest(file), expected);
    } finally {
      console.warn = originalWarn;
    }
    assert.equal(warnings.length, 1, "one warning, not one per digest");
    assert.match(warnings[0], /not written/);
  });
});

Deno.test("digest: a missing file is an error naming it", async () => {
  await withTempDir(async (dir) => {
    const missing = path.join(dir, "nope.idx");
    const cache = new FileDigestCache({ cacheFile: null });
    await assert.rejects(cache.digest(missing), (e: Error) => e.message.includes(missing));
    await assert.rejects(cache.digest(dir), /not a regular file/);
  });
});

Deno.test("digest: two processes writing one cache file at once leave it valid", async () => {
  await withTempDir(async (dir) => {
    const cacheFile = path.join(dir, "digests.json");
    const perProcess = 25;
    const files: string[][] = [[], []];
    for (let proc = 0; proc < 2; proc++) {
      for (let i = 0; i < perProcess; i++) {
        const file = path.join(dir, `p${proc}-${i}.bin`);
        await writeSettled(file, new Uint8Array([proc, i]));
        files[proc].push(file);
      }
    }
    // Each process digests its files one at a time, so it rewrites the cache file 25 times.
    const script = `
      import { FileDigestCache } from ${JSON.stringify(DIGEST_MODULE)};
      const cache = new FileDigestCache({ cacheFile: Deno.args[0] });
      for (const f of Deno.args.slice(1)) await cache.digest(f);
    `;
    const children = files.map((list) =>
      new Deno.Command(Deno.execPath(), {
        args: ["eval", "--quiet", script, cacheFile, ...list],
        stdout: "piped",
        stderr: "piped",
      }).output()
    );
    for (const out of await Promise.all(children)) {
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    }
    const stored = JSON.parse(await Deno.readTextFile(cacheFile));
    assert.equal(stored.version, 1);
    // Whatever survived is correct; the last writer of each process keeps at least its own files.
    let entries = 0;
    for (
      const [file, entry] of Object.entries(stored.entries as Record<string, { sha256: string }>)
    ) {
      assert.equal(entry.sha256, referenceSha256(await Deno.readFile(file)));
      entries++;
    }
    assert.ok(entries >= perProcess, `${entries} entries`);
    const leftovers = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".tmp"));
    assert.deepEqual(leftovers, [], "no temp files left");
  });
});

Deno.test("digest: fileDigest / digestFiles on the real MNIST test files", async () => {
  const dir = resolveMnistDir();
  const labels = path.resolve(dir, MNIST_FILES.test.labels);
  const images = path.resolve(dir, MNIST_FILES.test.images);
  const expected = referenceSha256(await Deno.readFile(labels));
  assert.equal(await fileDigest(labels), expected);
  const both = await digestFiles([labels, images]);
  assert.deepEqual(Object.keys(both).sort(), [images, labels].sort());
  assert.equal(both[labels], expected);
  assert.equal(both[images], referenceSha256(await Deno.readFile(images)));
});
