/**
 * The layers of lib (lib/README.md) hold in the code: a module imports only from its own layer
 * or a lower one, and no product module imports from `lib/bench/`.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const LIB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "lib");

/** Layer of each top-level entry of lib, as lib/README.md lists them (bench is apart: 0). */
const LAYERS: Record<string, number> = {
  "data": 1,
  "models": 1,
  "kernels": 1,
  "native": 1,
  "backend.ts": 1,
  "random.ts": 1,
  "paths.ts": 1,
  "display.ts": 1,
  "tfjs.ts": 1,
  "train.ts": 2,
  "losses.ts": 2,
  "checkpoint.ts": 2,
  "progress.ts": 2,
  "parallel": 2,
  "faults.ts": 2,
  "metrics.ts": 2,
  "knn.ts": 2,
  "pca.ts": 2,
  "tsne.ts": 2,
  "tsne": 2,
  "code_analysis.ts": 2,
  "plot.ts": 2,
  "images.ts": 2,
  "experiments": 3,
  "claims": 3,
  "report": 4,
  "mod.ts": 5,
  "bench": 0,
};

/** The layer of a file under lib (by its first path segment). */
function layerOf(file: string): number {
  const top = path.relative(LIB, file).split(path.sep)[0];
  const layer = LAYERS[top];
  if (layer === undefined) {
    throw new Error(`${top} is in no layer: add it to lib/README.md and here`);
  }
  return layer;
}

/** Relative module specifiers a source imports, statically or with a literal `import()`. */
export function relativeImports(source: string): string[] {
  // Drop comments first: JSDoc examples say `import { x } from "../lib/..."`.
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const found: string[] = [];
  for (const m of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)"(\.\.?\/[^"]+)"/gm)) {
    found.push(m[1]);
  }
  return found;
}

async function libFiles(dir = LIB): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory) out.push(...await libFiles(p));
    else if (entry.name.endsWith(".ts")) out.push(p);
  }
  return out.sort();
}

Deno.test("relativeImports finds static and dynamic imports, not those in comments", () => {
  const source = [
    "/**",
    ' * import { a } from "../lib/mod.ts";',
    " */",
    'import { b } from "./b.ts";',
    'import "./side_effect.ts";',
    'export { c } from "../c.ts";',
    'const d = await import("./d.ts");',
    '// import { e } from "./e.ts";',
    'import * as tf from "@tensorflow/tfjs";',
  ].join("\n");
  assert.deepEqual(relativeImports(source), ["./b.ts", "./side_effect.ts", "../c.ts", "./d.ts"]);
});

Deno.test("every import in lib stays in its layer or goes down, and nothing imports bench", async () => {
  const wrong: string[] = [];
  for (const file of await libFiles()) {
    const from = layerOf(file);
    for (const spec of relativeImports(await Deno.readTextFile(file))) {
      const target = path.resolve(path.dirname(file), spec);
      if (!target.startsWith(LIB + path.sep)) continue;
      const to = layerOf(target);
      const name = `${path.relative(LIB, file)} -> ${path.relative(LIB, target)}`;
      if (to === 0 && from !== 0) wrong.push(`${name} (product module imports bench)`);
      else if (from !== 0 && to > from) wrong.push(`${name} (layer ${from} imports layer ${to})`);
    }
  }
  assert.deepEqual(wrong, []);
});

Deno.test("the house stays in order: README <= 250 lines, benches only in lib/bench/, one k-NN module", async () => {
  const readme = await Deno.readTextFile(path.join(LIB, "..", "README.md"));
  const lines = readme.trimEnd().split("\n").length;
  assert.ok(lines <= 250, `README.md has ${lines} lines; it is a user's guide of at most 250`);
  const files = (await libFiles()).map((f) => path.relative(LIB, f));
  const strayBenches = files.filter((f) =>
    path.basename(f).includes("bench") && !f.startsWith(`bench${path.sep}`)
  );
  assert.deepEqual(strayBenches, [], "benchmark code belongs in lib/bench/");
  const knn = files.filter((f) => path.basename(f).startsWith("knn"));
  assert.deepEqual(knn, ["knn.ts"], "one k-NN module, used by t-SNE and the metrics");
});
