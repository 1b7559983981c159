/**
 * The dashboard's icon: a hash ring (a circle with three backends sitting on
 * it), our own drawing. One geometry makes both files, so they always match:
 * an SVG for browsers that take one (the page links it) and a classic
 * `/favicon.ico` for everything that asks for that path by habit (older
 * browsers, bookmark tools, a monitor that checked the original dashboard).
 */

/** Canvas size of the drawing, in SVG user units. */
const VIEW = 32;
const CENTRE = VIEW / 2;
/** The ring: radius of its centre line, stroke width and colour. */
const RING = { r: 11, width: 3.5, rgb: [0x1f, 0x6f, 0xc5] } as const;
/** The backends on the ring: angles (degrees, 0 = east, clockwise), size, colour. */
const DOTS = {
  anglesDeg: [-90, 30, 150],
  r: 3.8,
  rgb: [0x2d, 0xa4, 0x4e],
} as const;

function hex(rgb: readonly number[]): string {
  return `#${rgb.map((c) => c.toString(16).padStart(2, "0")).join("")}`;
}

function dotCentres(): [number, number][] {
  return DOTS.anglesDeg.map((a) => {
    const t = (a * Math.PI) / 180;
    return [
      CENTRE + RING.r * Math.cos(t),
      CENTRE + RING.r * Math.sin(t),
    ];
  });
}

const round = (n: number) => Number(n.toFixed(2));

/** The icon as SVG text (`image/svg+xml`). */
export const FAVICON_SVG: string = [
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${VIEW} ${VIEW}">`,
  `<circle cx="${CENTRE}" cy="${CENTRE}" r="${RING.r}" fill="none" stroke="${
    hex(RING.rgb)
  }" stroke-width="${RING.width}"/>`,
  ...dotCentres().map(([x, y]) =>
    `<circle cx="${round(x)}" cy="${round(y)}" r="${DOTS.r}" fill="${
      hex(DOTS.rgb)
    }"/>`
  ),
  `</svg>`,
  "",
].join("\n");

/** Colour of one point of the drawing (in SVG units), or undefined: clear. */
function colourAt(x: number, y: number): readonly number[] | undefined {
  for (const [cx, cy] of dotCentres()) {
    if (Math.hypot(x - cx, y - cy) <= DOTS.r) return DOTS.rgb;
  }
  const d = Math.hypot(x - CENTRE, y - CENTRE);
  if (Math.abs(d - RING.r) <= RING.width / 2) return RING.rgb;
  return undefined;
}

/**
 * Rasterises the drawing at `size` × `size` pixels as straight (not
 * premultiplied) RGBA, top row first, with 4 × 4 samples per pixel so the
 * edges are smooth at tab size.
 */
export function rasterIcon(size: number): Uint8Array {
  const out = new Uint8Array(size * size * 4);
  const n = 4;
  const scale = VIEW / size;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0, g = 0, b = 0, hits = 0;
      for (let sy = 0; sy < n; sy++) {
        for (let sx = 0; sx < n; sx++) {
          const c = colourAt(
            (px + (sx + 0.5) / n) * scale,
            (py + (sy + 0.5) / n) * scale,
          );
          if (c === undefined) continue;
          r += c[0];
          g += c[1];
          b += c[2];
          hits++;
        }
      }
      const i = (py * size + px) * 4;
      if (hits === 0) continue;
      out[i] = Math.round(r / hits);
      out[i + 1] = Math.round(g / hits);
      out[i + 2] = Math.round(b / hits);
      out[i + 3] = Math.round((hits * 255) / (n * n));
    }
  }
  return out;
}

/**
 * Encodes square RGBA images as one ICO file: 32-bit BMP entries (rows
 * bottom-up, BGRA, then the 1-bit AND mask that readers without alpha
 * use), which every browser and image tool understands.
 */
export function encodeIco(
  images: readonly { size: number; rgba: Uint8Array }[],
): Uint8Array<ArrayBuffer> {
  const entries = images.map(({ size, rgba }) => {
    const maskRow = Math.ceil(size / 32) * 4;
    const bmp = new Uint8Array(40 + size * size * 4 + maskRow * size);
    const v = new DataView(bmp.buffer);
    v.setUint32(0, 40, true); // BITMAPINFOHEADER
    v.setInt32(4, size, true);
    v.setInt32(8, size * 2, true); // colour rows + mask rows
    v.setUint16(12, 1, true); // planes
    v.setUint16(14, 32, true); // bits per pixel
    v.setUint32(20, bmp.length - 40, true); // image size
    for (let y = 0; y < size; y++) {
      const row = size - 1 - y; // BMP rows run bottom-up
      for (let x = 0; x < size; x++) {
        const s = (y * size + x) * 4;
        const d = 40 + (row * size + x) * 4;
        bmp[d] = rgba[s + 2];
        bmp[d + 1] = rgba[s + 1];
        bmp[d + 2] = rgba[s];
        bmp[d + 3] = rgba[s + 3];
        if (rgba[s + 3] === 0) {
          const m = 40 + size * size * 4 + row * maskRow + (x >> 3);
          bmp[m] |= 0x80 >> (x & 7);
        }
      }
    }
    return { size, bmp };
  });
  const head = 6 + 16 * entries.length;
  const total = entries.reduce((n, e) => n + e.bmp.length, head);
  const ico = new Uint8Array(total);
  const v = new DataView(ico.buffer);
  v.setUint16(2, 1, true); // type: icon
  v.setUint16(4, entries.length, true);
  let at = head;
  entries.forEach((e, i) => {
    const d = 6 + 16 * i;
    ico[d] = e.size >= 256 ? 0 : e.size;
    ico[d + 1] = e.size >= 256 ? 0 : e.size;
    v.setUint16(d + 4, 1, true); // planes
    v.setUint16(d + 6, 32, true); // bits per pixel
    v.setUint32(d + 8, e.bmp.length, true);
    v.setUint32(d + 12, at, true);
    ico.set(e.bmp, at);
    at += e.bmp.length;
  });
  return ico;
}

/** The icon as an ICO file (16 and 32 px), for `GET /favicon.ico`. */
export const FAVICON_ICO: Uint8Array<ArrayBuffer> = encodeIco(
  [16, 32].map((size) => ({ size, rgba: rasterIcon(size) })),
);

/** Content types of the two files. */
export const FAVICON_TYPES = {
  ico: "image/x-icon",
  svg: "image/svg+xml",
} as const;
