import { checkOptions, fail } from '../errors.js';
import { textWidth } from './font.js';
import { escapeXml, num, saveFigure, svgHeader } from './svg.js';

export interface AttentionFigureOptions {
  /** The source tokens, one per column (the weights' second axis). */
  source: readonly string[];
  /** The output tokens, one per row (the weights' first axis). */
  target: readonly string[];
  /** A line above the map (the sentence and its translation). */
  title?: string;
  /** A small line below it (a data set's attribution). */
  footnote?: string;
}

/** Where the parts of an attention figure are, in SVG units. */
export interface AttentionFigureLayout {
  width: number;
  height: number;
  grid: { x: number; y: number; width: number; height: number };
  colorBar: { x: number; y: number; width: number; height: number };
  cell: number;
}

const INK = '#222222';
const MUTED = '#555555';
const MARGIN = 16;
const TITLE = 15;
const LABEL = 12;
const FOOTNOTE = 8;
const CELL = 28;
const BAR_WIDTH = 12;
// ColorBrewer's Blues, light to dark: 0 is near white, 1 dark blue.
const BLUES: readonly (readonly [number, number, number])[] = [
  [0xf7, 0xfb, 0xff],
  [0xc6, 0xdb, 0xef],
  [0x6b, 0xae, 0xd6],
  [0x21, 0x71, 0xb5],
  [0x08, 0x30, 0x6b],
];

/** A weight in [0, 1] as a colour of the Blues scale. */
function blue(w: number): string {
  const t = Math.min(1, Math.max(0, w)) * (BLUES.length - 1);
  const i = Math.min(BLUES.length - 2, Math.floor(t));
  const f = t - i;
  const c = BLUES[i]!.map((a, k) => Math.round(a + (BLUES[i + 1]![k]! - a) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/**
 * An attention heat map (as Bahdanau et al.'s Fig. 3): one row per output token, one column per
 * source token, each cell shaded by the weight that output step gave that source position, on a
 * fixed scale from 0 (white) to 1 (dark blue) with a colour bar; source tokens written slanted above
 * the columns, output tokens beside the rows. Returns the SVG and where its parts are.
 *
 *     const { svg } = attentionFigure([[0.9, 0.1], [0.2, 0.8]], { source: ['i', 'am'], target: ['je', 'suis'] });
 */
export function attentionFigure(
  weights: readonly (readonly number[])[],
  opts: AttentionFigureOptions,
): { svg: string; layout: AttentionFigureLayout } {
  const op = 'attentionFigure';
  const form = "attentionFigure(weights, { source: ['i', 'am'], target: ['je', 'suis'] })";
  const { source, target, title, footnote } = checkOptions(
    op,
    opts,
    ['source', 'target', 'title', 'footnote'],
    form,
  );
  if (!Array.isArray(source) || !Array.isArray(target) || source.length === 0 || target.length === 0)
    fail(op, `needs the source and output tokens, non-empty: ${form}`);
  if (!Array.isArray(weights) || weights.length !== target.length)
    fail(op, `expected one row of weights per output token (${target.length}), got ${weights?.length}`);
  weights.forEach((row, i) => {
    if (!Array.isArray(row)) fail(op, `row ${i} of the weights is not an array of numbers`);
    if (row.length !== source.length)
      fail(op, `row ${i} of the weights has ${row.length} values for ${source.length} source tokens`);
    if (!Array.from(row).every(Number.isFinite))
      fail(op, `row ${i} of the weights has a value that is not finite`);
  });
  const labelWidth = (tokens: readonly string[]) => Math.max(...tokens.map((t) => textWidth(t, LABEL)));
  const slant = Math.SQRT1_2;
  const top = MARGIN + (title ? TITLE + 10 : 0) + labelWidth(source) * slant + LABEL + 6;
  const left = MARGIN + labelWidth(target) + 8;
  const grid = { x: left, y: top, width: source.length * CELL, height: target.length * CELL };
  const colorBar = {
    x: grid.x + grid.width + 16,
    y: top,
    width: BAR_WIDTH,
    height: Math.max(grid.height, 60),
  };
  const footY = top + Math.max(grid.height, colorBar.height) + 14;
  const width = Math.ceil(
    Math.max(
      colorBar.x + BAR_WIDTH + 6 + textWidth('0.5', 10) + MARGIN,
      MARGIN * 2 + (title ? textWidth(title, TITLE, 'bold') : 0),
      MARGIN * 2 + (footnote ? textWidth(footnote, FOOTNOTE) : 0),
      // The last source label slants up and to the right of its column.
      grid.x + grid.width + labelWidth(source) * slant + MARGIN,
    ),
  );
  const height = Math.ceil(footY + (footnote ? FOOTNOTE + MARGIN : MARGIN - 8));
  const cells = weights.flatMap((row, i) =>
    row.map((w: number, j: number) => {
      const x = grid.x + j * CELL;
      const y = grid.y + i * CELL;
      return `<rect class="cell" x="${num(x)}" y="${num(y)}" width="${CELL}" height="${CELL}" fill="${blue(w)}"><title>${escapeXml(`${target[i]} ← ${source[j]}: ${w.toFixed(3)}`)}</title></rect>`;
    }),
  );
  const columnLabels = source.map((t, j) => {
    const x = grid.x + (j + 0.5) * CELL;
    return `<text transform="translate(${num(x)},${num(top - 6)}) rotate(-45)" font-size="${LABEL}" fill="${INK}">${escapeXml(t)}</text>`;
  });
  const rowLabels = target.map(
    (t, i) =>
      `<text x="${num(grid.x - 8)}" y="${num(grid.y + (i + 0.5) * CELL)}" dy="0.35em" text-anchor="end" font-size="${LABEL}" fill="${INK}">${escapeXml(t)}</text>`,
  );
  const stops = [...BLUES]
    .reverse()
    .map((c, i) => `<stop offset="${i / (BLUES.length - 1)}" stop-color="rgb(${c[0]},${c[1]},${c[2]})"/>`);
  const barLabels = ['1', '0.5', '0'].map(
    (l, i) =>
      `<text x="${num(colorBar.x + BAR_WIDTH + 6)}" y="${num(colorBar.y + (colorBar.height * i) / 2)}" dy="0.35em" font-size="10" fill="${MUTED}">${l}</text>`,
  );
  const svg = [
    svgHeader(width, height),
    ...(title
      ? [
          `<text x="${MARGIN}" y="${MARGIN + TITLE * 0.8}" font-size="${TITLE}" font-weight="bold" fill="${INK}">${escapeXml(title)}</text>`,
        ]
      : []),
    ...cells,
    `<rect x="${num(grid.x)}" y="${num(grid.y)}" width="${grid.width}" height="${grid.height}" fill="none" stroke="#888888" stroke-width="0.5"/>`,
    ...columnLabels,
    ...rowLabels,
    `<defs><linearGradient id="blues" x1="0" y1="0" x2="0" y2="1">${stops.join('')}</linearGradient></defs>`,
    `<rect class="colorbar" x="${num(colorBar.x)}" y="${num(colorBar.y)}" width="${BAR_WIDTH}" height="${num(colorBar.height)}" fill="url(#blues)" stroke="#888888" stroke-width="0.5"/>`,
    ...barLabels,
    ...(footnote
      ? [
          `<text class="footnote" x="${MARGIN}" y="${num(footY + FOOTNOTE)}" font-size="${FOOTNOTE}" fill="${MUTED}">${escapeXml(footnote)}</text>`,
        ]
      : []),
    '</svg>',
    '',
  ].join('\n');
  return { svg, layout: { width, height, grid, colorBar, cell: CELL } };
}

/**
 * Writes {@link attentionFigure} as `<base>.svg` and `<base>.png` (2 pixels per unit). Returns the two paths.
 *
 *     saveAttentionFigure('runs/seq2seq/attention', weights, { source, target, footnote: data.ENG_FRA_ATTRIBUTION });
 */
export function saveAttentionFigure(
  base: string,
  weights: readonly (readonly number[])[],
  opts: AttentionFigureOptions,
): { svg: string; png: string } {
  return saveFigure(base, attentionFigure(weights, opts).svg);
}
