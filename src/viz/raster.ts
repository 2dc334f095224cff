import { fail } from '../errors.js';
import { CAP_HEIGHT, GLYPH_ADVANCE, glyph, textWidth } from './font.js';
import type { ImageBuffer } from './png.js';

/** A colour as red, green, blue bytes. */
export type Color = readonly [number, number, number];

/** `#rrggbb` as bytes; `op` names the caller in the error for anything else. */
export function parseHex(op: string, hex: string): Color {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return fail(op, `colours are written '#rrggbb' (like '#1f77b4'), got '${hex}'`);
  return [Number.parseInt(m[1]!, 16), Number.parseInt(m[2]!, 16), Number.parseInt(m[3]!, 16)];
}

/**
 * A small RGB raster for drawing charts: rectangles, anti-aliased polylines and discs, and text in the
 * built-in 5×7 font. Coordinates are pixels from the top-left corner; pixel (x, y) covers
 * [x, x + 1) × [y, y + 1), so its centre is at (x + ½, y + ½). Everything is clipped to the canvas.
 */
export class Canvas {
  readonly data: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Color,
  ) {
    this.data = new Uint8Array(width * height * 3);
    for (let p = 0; p < width * height; p++) this.data.set(background, p * 3);
  }

  /** Mixes `color` into pixel (x, y) with opacity `alpha` in [0, 1]. */
  blend(x: number, y: number, color: Color, alpha: number): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height || alpha <= 0) return;
    const p = (y * this.width + x) * 3;
    for (let k = 0; k < 3; k++)
      this.data[p + k] = Math.round(this.data[p + k]! + (color[k]! - this.data[p + k]!) * alpha);
  }

  /** Paints the pixels whose centres lie in [x, x + w) × [y, y + h). */
  fillRect(x: number, y: number, w: number, h: number, color: Color): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w));
    const y1 = Math.min(this.height, Math.round(y + h));
    for (let yy = y0; yy < y1; yy++)
      for (let xx = x0; xx < x1; xx++) this.data.set(color, (yy * this.width + xx) * 3);
  }

  /**
   * Strokes a polyline `lineWidth` pixels wide, anti-aliased: each pixel's coverage is how far its centre
   * lies inside the stroke (distance to the nearest segment against half the width, over a one-pixel
   * ramp), and the colour is mixed in once with the largest coverage, so joints are not drawn twice.
   */
  polyline(points: readonly (readonly [number, number])[], color: Color, lineWidth: number): void {
    if (points.length === 0) return;
    const half = lineWidth / 2;
    const reach = half + 1;
    let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
    for (const [x, y] of points)
      [minX, minY, maxX, maxY] = [Math.min(minX, x), Math.min(minY, y), Math.max(maxX, x), Math.max(maxY, y)];
    const bx = Math.max(0, Math.floor(minX - reach));
    const by = Math.max(0, Math.floor(minY - reach));
    const bw = Math.min(this.width, Math.ceil(maxX + reach)) - bx;
    const bh = Math.min(this.height, Math.ceil(maxY + reach)) - by;
    if (bw <= 0 || bh <= 0) return;
    const coverage = new Float32Array(bw * bh);
    const segments =
      points.length === 1 ? [[points[0]!, points[0]!]] : points.slice(1).map((p, i) => [points[i]!, p]);
    for (const [[x0, y0], [x1, y1]] of segments) {
      const dx = x1 - x0;
      const dy = y1 - y0;
      const len2 = dx * dx + dy * dy;
      const sx0 = Math.max(bx, Math.floor(Math.min(x0, x1) - reach));
      const sx1 = Math.min(bx + bw, Math.ceil(Math.max(x0, x1) + reach));
      const sy0 = Math.max(by, Math.floor(Math.min(y0, y1) - reach));
      const sy1 = Math.min(by + bh, Math.ceil(Math.max(y0, y1) + reach));
      for (let py = sy0; py < sy1; py++) {
        for (let px = sx0; px < sx1; px++) {
          const cx = px + 0.5 - x0;
          const cy = py + 0.5 - y0;
          const t = len2 > 0 ? Math.min(1, Math.max(0, (cx * dx + cy * dy) / len2)) : 0;
          const d = Math.hypot(cx - t * dx, cy - t * dy);
          const c = Math.min(1, half + 0.5 - d);
          const q = (py - by) * bw + (px - bx);
          if (c > coverage[q]!) coverage[q] = c;
        }
      }
    }
    for (let y = 0; y < bh; y++)
      for (let x = 0; x < bw; x++) this.blend(bx + x, by + y, color, coverage[y * bw + x]!);
  }

  /** A filled, anti-aliased disc of radius `r` centred at (cx, cy). */
  disc(cx: number, cy: number, r: number, color: Color): void {
    for (let y = Math.floor(cy - r - 1); y <= Math.ceil(cy + r + 1); y++)
      for (let x = Math.floor(cx - r - 1); x <= Math.ceil(cx + r + 1); x++)
        this.blend(x, y, color, Math.min(1, r + 0.5 - Math.hypot(x + 0.5 - cx, y + 0.5 - cy)));
  }

  /**
   * Writes one line of text, each font pixel a `scale`×`scale` block, with its capitals centred
   * vertically on `cy` and `x` at its start, middle or end. `vertical` turns it a quarter turn
   * anticlockwise (reading upwards, as a y-axis label does), centred on (x, cy).
   */
  text(
    s: string,
    x: number,
    cy: number,
    color: Color,
    opts: { scale?: number; anchor?: 'start' | 'middle' | 'end'; vertical?: boolean } = {},
  ): void {
    const scale = opts.scale ?? 1;
    const width = textWidth(s) * scale;
    const shift = opts.anchor === 'middle' ? width / 2 : opts.anchor === 'end' ? width : 0;
    // Along the line: u from the start; across it: v from the top of the capitals.
    const u0 = Math.round((opts.vertical ? cy : x) + (opts.vertical ? shift : -shift));
    const v0 = Math.round((opts.vertical ? x : cy) - (CAP_HEIGHT * scale) / 2);
    [...s].forEach((ch, i) => {
      glyph(ch).forEach((row, gy) => {
        row.forEach((ink, gx) => {
          if (!ink) return;
          const u = i * GLYPH_ADVANCE * scale + gx * scale;
          const v = gy * scale;
          if (opts.vertical) this.fillRect(v0 + v, u0 - u - scale, scale, scale, color);
          else this.fillRect(u0 + u, v0 + v, scale, scale, color);
        });
      });
    });
  }

  toImage(): ImageBuffer {
    return { width: this.width, height: this.height, channels: 3, data: this.data };
  }
}
