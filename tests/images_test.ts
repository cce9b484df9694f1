import assert from "node:assert/strict";
import { decode } from "fast-png";
import {
  digitSampleGrid,
  encodeGrayPng,
  imageGrid,
  latentGrid,
  latentGridFromImages,
  latentPlaneCodes,
  toGrayBytes,
} from "../lib/images.ts";
import { bundleOf } from "../lib/display.ts";

/** Image k: pixel (x, y) = (x + 3y + 17k) mod 256, a pattern where every pixel is checkable. */
function patternImages(n: number, side = 28): Uint8Array {
  const out = new Uint8Array(n * side * side);
  for (let k = 0; k < n; k++) {
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        out[k * side * side + y * side + x] = (x + 3 * y + 17 * k) % 256;
      }
    }
  }
  return out;
}

function pixel(png: { width: number; data: ArrayLike<number> }, x: number, y: number): number {
  return png.data[y * png.width + x];
}

Deno.test("imageGrid: PNG decodes to the expected size with every image pixel in place", () => {
  const scale = 2, gap = 2, n = 3;
  const top = patternImages(n);
  const bottom = patternImages(n).map((v) => 255 - v);
  const grid = imageGrid([{ label: "original", images: top }, {
    label: "reconstruction",
    images: bottom,
  }], {
    scale,
    gap,
    background: 200,
  });
  const cell = 28 * scale;
  assert.equal(grid.width, n * cell + (n + 1) * gap);
  assert.equal(grid.height, 2 * cell + 2 * gap + 3 * gap);
  const png = decode(grid.png);
  assert.equal(png.width, grid.width);
  assert.equal(png.height, grid.height);
  assert.equal(png.channels, 1);
  assert.equal(png.depth, 8);
  const rowTop = [gap, gap + cell + 3 * gap];
  [top, bottom].forEach((images, r) => {
    for (let k = 0; k < n; k++) {
      const x0 = gap + k * (cell + gap);
      for (let y = 0; y < cell; y++) {
        for (let x = 0; x < cell; x++) {
          const expected = images[k * 784 + Math.floor(y / scale) * 28 + Math.floor(x / scale)];
          if (pixel(png, x0 + x, rowTop[r] + y) !== expected) {
            assert.fail(
              `row ${r} image ${k} pixel (${x},${y}) is ${
                pixel(png, x0 + x, rowTop[r] + y)
              }, expected ${expected}`,
            );
          }
        }
      }
    }
  });
  // Margins and gaps are background.
  assert.equal(pixel(png, 0, 0), 200);
  assert.equal(pixel(png, gap + cell, gap + 5), 200);
  assert.equal(pixel(png, gap + 3, gap + cell + 1), 200);
});

Deno.test("imageGrid: HTML has labels and captions as escaped text; bundle has PNG and HTML", () => {
  const grid = imageGrid([
    { label: "noisy <σ=0.5>", images: patternImages(2), captions: [7, "two & more"] },
    { label: "denoised", images: new Float32Array(2 * 784).fill(0.5), captions: ["a", "b"] },
  ], { title: "Denoising" });
  assert.match(grid.html, /noisy &lt;σ=0\.5&gt;/);
  assert.match(grid.html, />7<\/div>/);
  assert.match(grid.html, /two &amp; more/);
  assert.match(grid.html, /Denoising/);
  const uris = [...grid.html.matchAll(/src="data:image\/png;base64,([^"]+)"/g)].map((m) => m[1]);
  assert.equal(uris.length, 4, "one image per digit");
  const second = decode(Uint8Array.from(atob(uris[3]), (c) => c.charCodeAt(0)));
  assert.equal(second.width, 28);
  assert.equal(second.data[0], 128, "0.5 maps to gray 128");

  const bundle = bundleOf(grid);
  assert.equal(bundle["text/html"], grid.html);
  const png = Uint8Array.from(atob(bundle["image/png"]!), (c) => c.charCodeAt(0));
  assert.deepEqual(png, grid.png);
  assert.match(bundle["text/plain"]!, /noisy/);
});

Deno.test("imageGrid: rows wrap at maxCols; bad input is refused with a reason", () => {
  const grid = imageGrid([{ label: "many", images: patternImages(7) }], {
    maxCols: 3,
    scale: 1,
    gap: 1,
  });
  assert.equal(grid.width, 3 * 28 + 4);
  assert.equal(grid.height, 3 * 28 + 2 * 1 + 2);
  const png = decode(grid.png);
  // 7th image (index 6) is the first of the third line.
  assert.equal(pixel(png, 1 + 5, 1 + 2 * 29 + 4), (5 + 12 + 17 * 6) % 256);
  assert.match(grid.html, /rowspan="3"/);

  assert.throws(() => imageGrid([]), /non-empty/);
  assert.throws(
    () => imageGrid([{ label: "x", images: new Uint8Array(100) }]),
    /whole number of 28x28/,
  );
  assert.throws(
    () => imageGrid([{ label: "x", images: patternImages(2), captions: ["1"] }]),
    /2 images but 1 captions/,
  );
  assert.throws(() => imageGrid([{ label: "x", images: patternImages(1) }], { scale: 0 }), /scale/);
});

Deno.test("toGrayBytes: [0,1] floats, explicit ranges, clipping, 0..255 floats refused without a range", () => {
  assert.deepEqual([...toGrayBytes(new Float32Array([0, 0.5, 1, -0.2, 1.5]))], [
    0,
    128,
    255,
    0,
    255,
  ]);
  assert.deepEqual([...toGrayBytes(new Float32Array([-0.5, 0, 0.5]), [-0.5, 0.5])], [0, 128, 255]);
  assert.deepEqual([...toGrayBytes(new Float32Array([0, 255]), [0, 255])], [0, 255]);
  assert.throws(() => toGrayBytes(new Float32Array([0, 255])), /valueRange \[0, 255\]/);
  const bytes = new Uint8Array([1, 2, 3]);
  assert.equal(toGrayBytes(bytes), bytes);
  assert.throws(() => encodeGrayPng(new Uint8Array(5), 2, 2), /expected 4 pixels/);
});

Deno.test("latentGrid: steps x steps decoded images, z1 to the right, z2 upwards", () => {
  const steps = 5;
  const seen: Float32Array[] = [];
  const grid = latentGrid((codes) => {
    seen.push(codes);
    const m = codes.length / 2;
    const out = new Float32Array(m * 784);
    // Image of code k is flat gray: brightness encodes (z1, z2) so placement is checkable.
    for (let k = 0; k < m; k++) {
      out.fill(((codes[2 * k] + 3) * 5 + (codes[2 * k + 1] + 3)) / 40, k * 784, (k + 1) * 784);
    }
    return out;
  }, { steps, range: [-3, 3] });
  assert.equal(seen.length, 1);
  assert.equal(seen[0].length, steps * steps * 2);
  assert.deepEqual([...seen[0].subarray(0, 4)], [-3, 3, -1.5, 3]);
  assert.deepEqual([...seen[0].subarray(-2)], [3, -3]);
  assert.equal(grid.width, steps * 28);
  assert.equal(grid.height, steps * 28);
  const png = decode(grid.png);
  assert.equal(png.width, 140);
  assert.equal(png.height, 140);
  // The decoder wrote float32 values; the grid rounds them to bytes.
  const expect = (z1: number, z2: number) =>
    Math.round(Math.fround(((z1 + 3) * 5 + (z2 + 3)) / 40) * 255);
  assert.equal(pixel(png, 14, 14), expect(-3, 3), "top-left is (-3, 3)");
  assert.equal(pixel(png, 140 - 14, 14), expect(3, 3), "top-right is (3, 3)");
  assert.equal(pixel(png, 14, 140 - 14), expect(-3, -3), "bottom-left is (-3, -3)");
  assert.match(grid.html, /z1 from -3 \(left\) to 3 \(right\)/);

  const scaled = latentGridFromImages(new Uint8Array(4 * 784), { steps: 2, scale: 3 });
  assert.equal(decode(scaled.png).width, 2 * 28 * 3);
  assert.throws(() => latentGridFromImages(new Uint8Array(3 * 784), { steps: 2 }), /expected 4/);
  const codes = latentPlaneCodes({ steps: 3, xRange: [0, 4], yRange: [10, 12] });
  assert.deepEqual([...codes.subarray(0, 2)], [0, 12]);
  assert.deepEqual([...codes.subarray(-2)], [4, 10]);
});

Deno.test("digitSampleGrid: lines of cols images with their labels as captions; savePng writes a PNG", async () => {
  const n = 30;
  const pixels = patternImages(n);
  const labels = Array.from({ length: n }, (_, i) => (i * 3) % 10);
  const grid = digitSampleGrid(pixels, labels, 25, { cols: 10 });
  const png = decode(grid.png);
  assert.equal(png.width, 10 * 56 + 11 * 2);
  assert.equal(png.height, 3 * 56 + 2 * 2 + 2 * 6);
  const captions = [...grid.html.matchAll(/monospace[^>]*>([^<]*)<\/div>/g)].map((m) =>
    Number(m[1])
  );
  assert.deepEqual(captions, labels.slice(0, 25));
  assert.match(grid.html, />0-9</);
  assert.match(grid.html, />20-24</);
  // Image 12 (row 1, col 2) in its place.
  assert.equal(pixel(png, 2 + 2 * 58 + 10, 2 + 56 + 6 + 20), (5 + 3 * 10 + 17 * 12) % 256);

  const picked = digitSampleGrid(pixels, labels, 2, { indices: [29, 3] });
  assert.deepEqual(
    [...picked.html.matchAll(/monospace[^>]*>([^<]*)<\/div>/g)].map((m) => Number(m[1])),
    [
      labels[29],
      labels[3],
    ],
  );
  assert.throws(() => digitSampleGrid(pixels, labels, 1, { indices: [30] }), /outside 0\.\.29/);
  assert.throws(() => digitSampleGrid(pixels, labels.slice(1), 3), /29 labels/);

  const dir = await Deno.makeTempDir();
  try {
    await grid.savePng(`${dir}/sub/grid.png`);
    const back = decode(await Deno.readFile(`${dir}/sub/grid.png`));
    assert.equal(back.width, png.width);
    assert.deepEqual(back.data, png.data);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
