import assert from "node:assert/strict";
import { encodeIco, FAVICON_ICO, FAVICON_SVG, rasterIcon } from "./favicon.ts";

/** Reads one pixel (RGBA) of image `index` of an ICO file, top row first. */
function icoPixel(ico: Uint8Array, index: number, x: number, y: number) {
  const v = new DataView(ico.buffer, ico.byteOffset, ico.byteLength);
  const entry = 6 + 16 * index;
  const size = ico[entry] || 256;
  const at = v.getUint32(entry + 12, true);
  const p = at + 40 + ((size - 1 - y) * size + x) * 4;
  return [ico[p + 2], ico[p + 1], ico[p], ico[p + 3]];
}

Deno.test("favicon: the ICO holds 16 and 32 px 32-bit images a reader can walk", () => {
  const v = new DataView(FAVICON_ICO.buffer);
  assert.equal(v.getUint16(0, true), 0);
  assert.equal(v.getUint16(2, true), 1, "type: icon");
  assert.equal(v.getUint16(4, true), 2, "two images");
  let end = 6 + 16 * 2;
  for (const [i, size] of [16, 32].entries()) {
    const e = 6 + 16 * i;
    assert.equal(FAVICON_ICO[e], size, "width");
    assert.equal(FAVICON_ICO[e + 1], size, "height");
    assert.equal(v.getUint16(e + 6, true), 32, "bits per pixel");
    const len = v.getUint32(e + 8, true);
    const at = v.getUint32(e + 12, true);
    assert.equal(at, end, "images follow each other");
    // BITMAPINFOHEADER: colour rows and mask rows, 32 bits, uncompressed.
    assert.equal(v.getUint32(at, true), 40);
    assert.equal(v.getInt32(at + 4, true), size);
    assert.equal(v.getInt32(at + 8, true), size * 2);
    assert.equal(v.getUint16(at + 14, true), 32);
    assert.equal(v.getUint32(at + 16, true), 0);
    assert.equal(len, 40 + size * size * 4 + size * 4, "pixels + mask");
    end = at + len;
  }
  assert.equal(end, FAVICON_ICO.length);
});

Deno.test("favicon: the drawing is a blue ring with green backends on it, clear elsewhere, the same in ICO and SVG", () => {
  // 32 px: one pixel per SVG unit. The ring has radius 11 around (16, 16);
  // backends sit at the top and at 30° and 150°.
  const px = (x: number, y: number) => icoPixel(FAVICON_ICO, 1, x, y);
  assert.equal(px(16, 16)[3], 0, "the centre is clear");
  assert.equal(px(0, 0)[3], 0, "a corner is clear");
  assert.deepEqual(px(27, 16), [0x1f, 0x6f, 0xc5, 255], "the ring, east");
  assert.deepEqual(px(16, 5), [0x2d, 0xa4, 0x4e, 255], "the top backend");
  assert.deepEqual(px(4, 16), [0x1f, 0x6f, 0xc5, 255], "the ring, west");
  // The ICO is exactly the rasterised drawing.
  const raw = rasterIcon(32);
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) {
      const i = (y * 32 + x) * 4;
      assert.deepEqual(px(x, y), [...raw.slice(i, i + 4)], `${x},${y}`);
    }
  }
  assert.match(FAVICON_SVG, /<circle cx="16" cy="16" r="11" fill="none"/);
  assert.match(FAVICON_SVG, /<circle cx="16" cy="5" r="3.8" fill="#2da44e"/);
  assert.equal(FAVICON_SVG.match(/<circle /g)?.length, 4);
});

Deno.test("favicon: clear pixels are set in the AND mask, drawn ones are not", () => {
  const rgba = new Uint8Array(2 * 2 * 4);
  rgba.set([255, 0, 0, 255], 0); // top-left drawn, the rest clear
  const ico = encodeIco([{ size: 2, rgba }]);
  const at = new DataView(ico.buffer).getUint32(6 + 12, true);
  const mask = at + 40 + 2 * 2 * 4;
  // Rows bottom-up, 4 bytes each: bottom row both clear, top row x=1 clear.
  assert.equal(ico[mask], 0b1100_0000);
  assert.equal(ico[mask + 4], 0b0100_0000);
  assert.deepEqual(icoPixel(ico, 0, 0, 0), [255, 0, 0, 255]);
});
