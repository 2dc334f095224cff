import { fail } from '../errors.js';
import { lineExtent, textWidth } from './font.js';
import { escapeXml, num, saveFigure, svgHeader } from './svg.js';

/** A box in SVG units: its top-left corner and size. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Where a word map's parts go: each point, each label's box (and baseline), the leader lines. */
export interface WordMapLayout {
  width: number;
  height: number;
  points: [number, number][];
  /** One per word, in the words' order; null for a word whose label found no free place. */
  labels: ((Box & { baseline: number; leader: boolean }) | null)[];
  omitted: number;
}

const FONT = 11;
const MARGIN = 24;
const HEADER = 36;
const WIDTH = 1200;
const DOT = 2;
/** Directions tried around a point, right first (where the eye reads on), then left, above, below, corners. */
const DIRECTIONS: [number, number][] = [
  [1, 0],
  [-1, 0],
  [0, -1],
  [0, 1],
  [1, -1],
  [-1, -1],
  [1, 1],
  [-1, 1],
];
/** Distances from the point tried in turn; beyond the first, a leader line joins label and point. */
const RINGS = [3, 10, 18, 28, 40, 56, 76, 100];

const intersects = (a: Box, b: Box): boolean =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/**
 * Lays out a word map: the points scaled uniformly (t-SNE's distances keep their meaning) to fill the
 * canvas, whose height follows the map's shape; then each word's label, in order (put the most important
 * first), at the first place around its point, nearest first, that lies on the canvas and covers no other
 * label and no point. A label moved off its point gets a leader line; one with no free place within
 * reach is left out and counted.
 */
export function wordMapLayout(words: readonly string[], coords: Float64Array, title = ''): WordMapLayout {
  const n = words.length;
  if (coords.length !== 2 * n)
    fail('saveWordMap', `expected ${n} × 2 = ${2 * n} coordinates, got ${coords.length}`);
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < n; i++) {
    [x0, x1] = [Math.min(x0, coords[2 * i]!), Math.max(x1, coords[2 * i]!)];
    [y0, y1] = [Math.min(y0, coords[2 * i + 1]!), Math.max(y1, coords[2 * i + 1]!)];
  }
  // Room at the sides for the labels of the outermost points.
  const inner = WIDTH - 2 * MARGIN - 80;
  const spanX = x1 - x0 || 1;
  const spanY = y1 - y0 || 1;
  const plotHeight = Math.min(1400, Math.max(400, (inner * spanY) / spanX));
  const scale = Math.min(inner / spanX, plotHeight / spanY);
  const top = (title ? HEADER : 0) + MARGIN + 8;
  const height = Math.ceil(top + plotHeight + MARGIN + 8);
  const left = (WIDTH - spanX * scale) / 2;
  const points: [number, number][] = Array.from({ length: n }, (_, i) => [
    left + (coords[2 * i]! - x0) * scale,
    top + (coords[2 * i + 1]! - y0) * scale,
  ]);

  const { ascent, descent } = lineExtent(FONT);
  const h = ascent + descent;
  const placed: Box[] = points.map(([x, y]) => ({ x: x - DOT, y: y - DOT, width: 2 * DOT, height: 2 * DOT }));
  const canvas = { x: 2, y: title ? HEADER : 2, width: WIDTH - 4, height: height - (title ? HEADER : 2) - 2 };
  const labels = words.map((word, i) => {
    const [px, py] = points[i]!;
    const w = textWidth(word, FONT) + 2;
    for (const [ring, r] of RINGS.entries())
      for (const [dx, dy] of DIRECTIONS) {
        // The label's box touches the point's surroundings on the side (dx, dy) points to.
        const x = dx > 0 ? px + r : dx < 0 ? px - r - w : px - w / 2;
        const y = dy > 0 ? py + r : dy < 0 ? py - r - h : py - h / 2;
        const box = { x, y, width: w, height: h };
        if (box.x < canvas.x || box.y < canvas.y || box.x + w > canvas.x + canvas.width) continue;
        if (box.y + h > canvas.y + canvas.height) continue;
        // The point's own dot is allowed beside its label, never under it: the box starts off it.
        if (placed.some((b, j) => j !== i && intersects(b, box))) continue;
        placed.push(box);
        return { ...box, baseline: y + ascent, leader: ring > 0 };
      }
    return null;
  });
  return { width: WIDTH, height, points, labels, omitted: labels.filter((l) => l === null).length };
}

/**
 * A map of words at 2-D positions (from t-SNE, say), as `<base>.svg` and `<base>.png`: a dot and a label
 * per word, as in the review's Fig. 4, the labels placed so that none covers another or a point
 * ({@link wordMapLayout}); the PNG at 2 pixels per unit, so small labels stay sharp. Returns the two paths.
 */
export function saveWordMap(
  base: string,
  words: readonly string[],
  coords: Float64Array,
  title = '',
): string[] {
  const layout = wordMapLayout(words, coords, title);
  const note = layout.omitted ? ` (${layout.omitted} labels left out for want of room)` : '';
  const svg = [
    svgHeader(layout.width, layout.height),
    title || note
      ? `<text x="${layout.width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold" fill="#222222">${escapeXml(title + note)}</text>`
      : '',
    '<g stroke="#aaaaaa" stroke-width="0.6">',
    ...layout.labels.flatMap((l, i) => {
      if (!l?.leader) return [];
      const [px, py] = layout.points[i]!;
      // To the nearest point of the label's box.
      const lx = Math.min(Math.max(px, l.x), l.x + l.width);
      const ly = Math.min(Math.max(py, l.y), l.y + l.height);
      return [`<line x1="${num(px)}" y1="${num(py)}" x2="${num(lx)}" y2="${num(ly)}"/>`];
    }),
    '</g>',
    ...layout.points.map(([x, y]) => `<circle cx="${num(x)}" cy="${num(y)}" r="${DOT}" fill="#1f77b4"/>`),
    ...layout.labels.flatMap((l, i) =>
      l
        ? [
            `<text x="${num(l.x + 1)}" y="${num(l.baseline)}" font-size="${FONT}" fill="#333333">${escapeXml(words[i]!)}</text>`,
          ]
        : [],
    ),
    '</svg>',
    '',
  ].join('\n');
  const paths = saveFigure(base, svg);
  return [paths.svg, paths.png];
}
