import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../errors.js';

/**
 * Every figure is drawn in DejaVu Sans, from fixed files rather than whatever fonts the system has, so
 * the same figure renders to the same pixels on every machine, and the layout can measure its text with
 * the metrics of the font that will draw it.
 */
export const FONT_FAMILY = 'DejaVu Sans';

const FILES = { regular: 'DejaVuSans.ttf', bold: 'DejaVuSans-Bold.ttf' } as const;
export type Weight = keyof typeof FILES;

// Where Debian and Ubuntu (fonts-dejavu-core), Fedora and Arch put the fonts.
const DIRS = [
  '/usr/share/fonts/truetype/dejavu',
  '/usr/share/fonts/dejavu-sans-fonts',
  '/usr/share/fonts/TTF',
  '/usr/share/fonts/dejavu',
];

let found: string | undefined;

/** The folder holding both DejaVu Sans files: `STRATA_FONT_DIR` if set, else the first usual place. */
function fontDir(): string {
  if (found) return found;
  const env = process.env.STRATA_FONT_DIR;
  const dirs = env ? [env] : DIRS;
  const dir = dirs.find((d) => Object.values(FILES).every((f) => existsSync(join(d, f))));
  if (!dir)
    fail(
      'viz',
      `figures are drawn in DejaVu Sans, but ${Object.values(FILES).join(' and ')} are not in ${dirs.join(', ')}; ` +
        'install them (Debian/Ubuntu: apt-get install fonts-dejavu-core) or set STRATA_FONT_DIR to their folder',
    );
  found = dir;
  return dir;
}

/** The paths of the regular and bold font files, for the renderer. */
export function fontFiles(): string[] {
  const dir = fontDir();
  return Object.values(FILES).map((f) => join(dir, f));
}

/** Horizontal metrics of a TrueType font: each character's advance, in em. */
interface Metrics {
  advance(codePoint: number): number;
  /** Height above and depth below the baseline, in em (both positive). */
  ascent: number;
  descent: number;
}

/**
 * Reads the tables a width needs from a TrueType file: `head` (units per em), `hhea` (ascent, descent,
 * how many glyphs have their own advance), `hmtx` (the advances) and `cmap` format 4 (character to glyph).
 * Kerning is left out, so a measured width can be a little more than the drawn one, never much less.
 */
function parseMetrics(bytes: Uint8Array, path: string): Metrics {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tables = new Map<string, number>();
  for (let i = 0; i < view.getUint16(4); i++) {
    const at = 12 + 16 * i;
    tables.set(String.fromCharCode(...bytes.subarray(at, at + 4)), view.getUint32(at + 8));
  }
  const table = (tag: string): number =>
    tables.get(tag) ?? fail('viz', `'${path}' is not a TrueType font with a '${tag}' table`);
  const unitsPerEm = view.getUint16(table('head') + 18);
  const hhea = table('hhea');
  const hmtx = table('hmtx');
  const longMetrics = view.getUint16(hhea + 34);
  const cmap = table('cmap');
  let format4 = -1;
  for (let i = 0; i < view.getUint16(cmap + 2); i++) {
    const rec = cmap + 4 + 8 * i;
    const [platform, encoding] = [view.getUint16(rec), view.getUint16(rec + 2)];
    const sub = cmap + view.getUint32(rec + 4);
    if (((platform === 3 && encoding === 1) || platform === 0) && view.getUint16(sub) === 4) format4 = sub;
  }
  if (format4 < 0) fail('viz', `'${path}' has no Unicode character map (cmap format 4)`);
  const segments = view.getUint16(format4 + 6) / 2;
  const ends = format4 + 14;
  const starts = ends + 2 * segments + 2;
  const deltas = starts + 2 * segments;
  const rangeOffsets = deltas + 2 * segments;
  const glyph = (c: number): number => {
    for (let s = 0; s < segments; s++) {
      if (view.getUint16(ends + 2 * s) < c) continue;
      const start = view.getUint16(starts + 2 * s);
      if (start > c) return 0;
      const delta = view.getUint16(deltas + 2 * s);
      const rangeOffset = view.getUint16(rangeOffsets + 2 * s);
      if (rangeOffset === 0) return (c + delta) & 0xffff;
      const g = view.getUint16(rangeOffsets + 2 * s + rangeOffset + 2 * (c - start));
      return g === 0 ? 0 : (g + delta) & 0xffff;
    }
    return 0;
  };
  const cache = new Map<number, number>();
  return {
    advance(c: number): number {
      let a = cache.get(c);
      if (a === undefined) {
        const g = c > 0xffff ? 0 : Math.min(glyph(c), longMetrics - 1);
        a = view.getUint16(hmtx + 4 * g) / unitsPerEm;
        cache.set(c, a);
      }
      return a;
    },
    ascent: view.getInt16(hhea + 4) / unitsPerEm,
    descent: -view.getInt16(hhea + 6) / unitsPerEm,
  };
}

const metrics = new Map<Weight, Metrics>();

function metricsOf(weight: Weight): Metrics {
  let m = metrics.get(weight);
  if (!m) {
    const path = join(fontDir(), FILES[weight]);
    m = parseMetrics(readFileSync(path), path);
    metrics.set(weight, m);
  }
  return m;
}

/** The width of one line of `text` set in DejaVu Sans at `size` pixels (SVG units). */
export function textWidth(text: string, size: number, weight: Weight = 'regular'): number {
  const m = metricsOf(weight);
  let em = 0;
  for (const ch of text) em += m.advance(ch.codePointAt(0)!);
  return em * size;
}

/** How far the font reaches above and below the baseline at `size` pixels. */
export function lineExtent(size: number, weight: Weight = 'regular'): { ascent: number; descent: number } {
  const m = metricsOf(weight);
  return { ascent: m.ascent * size, descent: m.descent * size };
}
