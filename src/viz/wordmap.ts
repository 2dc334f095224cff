import { escapeXml, saveFigure, svgHeader } from './svg.js';

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
    svgHeader(size, size),
    title
      ? `<text x="${size / 2}" y="24" text-anchor="middle" font-size="16">${escapeXml(title)}</text>`
      : '',
    ...words.map((w, i) => {
      const [x, y] = at[i]!;
      return `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="2" fill="#1f77b4"/><text x="${(x + 4).toFixed(1)}" y="${(y + 4).toFixed(1)}" font-size="11" fill="#333333">${escapeXml(w)}</text>`;
    }),
    '</svg>',
  ].join('\n');
  const paths = saveFigure(base, svg, 1);
  return [paths.svg, paths.png];
}
