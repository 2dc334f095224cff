import { writeFileAtomic } from '../io/atomic.js';
import { savePng } from './png.js';
import { Canvas } from './raster.js';

/** Word positions scaled into a square of `size` pixels with a margin for the labels. */
function layout(coords: Float64Array, n: number, size: number, margin: number): [number, number][] {
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < n; i++) {
    x0 = Math.min(x0, coords[2 * i]!);
    x1 = Math.max(x1, coords[2 * i]!);
    y0 = Math.min(y0, coords[2 * i + 1]!);
    y1 = Math.max(y1, coords[2 * i + 1]!);
  }
  const span = Math.max(x1 - x0, y1 - y0) || 1;
  const scale = (size - 2 * margin) / span;
  return Array.from({ length: n }, (_, i) => [
    margin + (coords[2 * i]! - x0) * scale,
    margin + (coords[2 * i + 1]! - y0) * scale,
  ]);
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A map of words at 2-D positions (from t-SNE, say), as `<base>.svg` and `<base>.png`: a dot and a label
 * per word, as in the review's Fig. 4. Returns the two paths.
 */
export function saveWordMap(
  base: string,
  words: readonly string[],
  coords: Float64Array,
  title = '',
): string[] {
  const size = 1200;
  const margin = 40;
  const at = layout(coords, words.length, size, margin);
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    title
      ? `<text x="${size / 2}" y="24" text-anchor="middle" font-size="16">${escapeXml(title)}</text>`
      : '',
    ...words.map((w, i) => {
      const [x, y] = at[i]!;
      return `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="2" fill="#1f77b4"/><text x="${(x + 4).toFixed(1)}" y="${(y + 4).toFixed(1)}" font-size="11" fill="#333333">${escapeXml(w)}</text>`;
    }),
    '</svg>',
  ].join('\n');
  writeFileAtomic(`${base}.svg`, svg);
  const canvas = new Canvas(size, size, [255, 255, 255]);
  if (title) canvas.text(title, size / 2, 20, [0, 0, 0], { scale: 2, anchor: 'middle' });
  words.forEach((w, i) => {
    const [x, y] = at[i]!;
    canvas.disc(x, y, 2, [31, 119, 180]);
    canvas.text(w, x + 4, y, [51, 51, 51]);
  });
  savePng(`${base}.png`, { width: size, height: size, channels: 3, data: canvas.toImage().data });
  return [`${base}.svg`, `${base}.png`];
}
