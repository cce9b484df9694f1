/**
 * The repository stays as `deno lint` and `deno fmt` want it, so a change that breaks the house
 * style fails CI instead of waiting for someone to run the tools by hand.
 *
 * `deno fmt --check` of Deno 2.9.6 reports every notebook as "not formatted" with an empty diff
 * when its incremental cache is cold (a fresh clone or `DENO_DIR`), although `deno fmt` writes the
 * same bytes back. So deno.json excludes `*.ipynb` from `deno fmt` (a plain `deno fmt --check`
 * passes on a fresh clone), and the notebooks are checked here by formatting each one through
 * stdin (`deno fmt --ext ipynb -`, which still uses the config) and comparing bytes.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { stripVTControlCharacters } from "node:util";

const ROOT = join(new URL(".", import.meta.url).pathname, "..");

async function deno(
  args: string[],
  stdin?: Uint8Array,
): Promise<{ ok: boolean; text: string; stdout: Uint8Array }> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(stdin);
    await writer.close();
  }
  const out = await child.output();
  const decode = (b: Uint8Array) => stripVTControlCharacters(new TextDecoder().decode(b));
  return { ok: out.success, text: decode(out.stdout) + decode(out.stderr), stdout: out.stdout };
}

Deno.test("deno lint reports no problem", async () => {
  const { ok, text } = await deno(["lint"]);
  assert.ok(ok, text.slice(0, 4000));
});

Deno.test("deno fmt --check: every file but the notebooks is formatted", async () => {
  const { ok, text } = await deno(["fmt", "--check", "--ignore=**/*.ipynb"]);
  assert.ok(ok, text.slice(0, 4000));
});

Deno.test("every notebook is as deno fmt writes it", async () => {
  const dirs = ["notebooks", "tests/fixtures"];
  const unformatted: string[] = [];
  let checked = 0;
  for (const dir of dirs) {
    for await (const entry of Deno.readDir(join(ROOT, dir))) {
      if (!entry.name.endsWith(".ipynb")) continue;
      const file = join(dir, entry.name);
      const bytes = await Deno.readFile(join(ROOT, file));
      const { ok, text, stdout } = await deno(["fmt", "--ext", "ipynb", "-"], bytes);
      assert.ok(ok, `deno fmt could not format ${file}: ${text.slice(0, 1000)}`);
      checked++;
      if (new TextDecoder().decode(stdout) !== new TextDecoder().decode(bytes)) {
        unformatted.push(file);
      }
    }
  }
  assert.ok(checked >= 9, `expected the nine notebooks at least, found ${checked}`);
  assert.deepEqual(
    unformatted,
    [],
    "format these notebooks: deno fmt --ext ipynb - < F > F.tmp && mv F.tmp F",
  );
});
