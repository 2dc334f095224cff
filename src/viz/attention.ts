import { checkOptions, fail } from '../errors.js';
import { textWidth } from './font.js';
import type { ImageBuffer } from './png.js';
import { escapeXml, num, saveFigure, svgHeader, svgImage } from './svg.js';

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

/** One strip read with attention: its pixels (row-major, in [0, 1]), the words read, and each word's column weights. */
export interface StripAttention {
  pixels: ArrayLike<number>;
  height: number;
  width: number;
  /** The output words, one panel each. */
  words: readonly string[];
  /** One row of weights over the encoder's columns per word (the columns split the width evenly). */
  weights: readonly (readonly number[])[];
  /** A line above the strip's panels (the reference caption). */
  label?: string;
}

/** A strip `scale` times its size in grey, the weights (scaled to their maximum) laid over it in orange. */
function stripPanel(s: StripAttention, weights: readonly number[] | null, scale: number): ImageBuffer {
  const [w, h] = [s.width * scale, s.height * scale];
  const data = new Uint8Array(w * h * 3);
  const columns = weights?.length ?? 1;
  const top = weights ? Math.max(...weights, 1e-12) : 1;
  // Each column's weight sits at its centre; in between, linear interpolation along the width.
  const at = (x: number): number => {
    if (!weights) return 0;
    const u = Math.min(Math.max(((x + 0.5) / s.width) * columns - 0.5, 0), columns - 1);
    const i = Math.floor(u);
    const f = u - i;
    return ((1 - f) * weights[i]! + f * weights[Math.min(i + 1, columns - 1)]!) / top;
  };
  for (let x = 0; x < s.width; x++) {
    const a = 0.75 * at(x);
    for (let y = 0; y < s.height; y++) {
      const v = 0.15 + 0.85 * Math.min(1, Math.max(0, s.pixels[y * s.width + x]!));
      const rgb = [v * (1 - a) + a, v * (1 - a) + a * 0.55, v * (1 - a) + a * 0.1];
      for (let dy = 0; dy < scale; dy++)
        for (let dx = 0; dx < scale; dx++) {
          const q = ((y * scale + dy) * w + x * scale + dx) * 3;
          for (let c = 0; c < 3; c++) data[q + c] = Math.round(255 * rgb[c]!);
        }
    }
  }
  return { width: w, height: h, channels: 3, data };
}

/**
 * Where a reader of digit strips looked (Xu et al. 2015's figure): one row per strip, the strip itself
 * first, then one panel per output word with that word's attention weights over the encoder's columns
 * upsampled to the strip's width and laid over it in orange (each panel scaled to its own maximum), the
 * word under the panel.
 *
 *     const strip = { pixels: new Float32Array(32 * 128), height: 32, width: 128, words: ['seven', '<eos>'], weights: [[1, 0], [0, 1]] };
 *     stripAttentionFigure([strip]).svg.startsWith('<?xml') // → true
 */
export function stripAttentionFigure(
  strips: readonly StripAttention[],
  opts: { title?: string; scale?: number } = {},
): { svg: string; width: number; height: number } {
  const op = 'stripAttentionFigure';
  const scale = opts.scale ?? 2;
  if (!Array.isArray(strips) || strips.length === 0) fail(op, 'needs one or more strips');
  strips.forEach((s, i) => {
    if (s.pixels.length !== s.height * s.width)
      fail(op, `strip ${i} has ${s.pixels.length} pixels for ${s.height} × ${s.width}`);
    if (s.weights.length !== s.words.length)
      fail(op, `strip ${i} has ${s.weights.length} rows of weights for ${s.words.length} words`);
    s.weights.forEach((row: readonly number[], j: number) => {
      if (row.length === 0 || !Array.from(row).every(Number.isFinite))
        fail(op, `strip ${i}, word ${j}: the weights must be one or more finite numbers`);
    });
  });
  const gap = 10;
  const rowLabel = LABEL + 6;
  const wordLine = LABEL + 8;
  const panels = (s: StripAttention) => s.words.length + 1;
  const rowHeight = (s: StripAttention) => (s.label ? rowLabel : 0) + s.height * scale + wordLine + gap;
  let y = MARGIN + (opts.title ? TITLE + 10 : 0);
  const parts: string[] = [];
  let width = 0;
  for (const s of strips) {
    if (s.label)
      parts.push(
        `<text x="${MARGIN}" y="${num(y + LABEL)}" font-size="${LABEL}" fill="${MUTED}">${escapeXml(s.label)}</text>`,
      );
    const top = y + (s.label ? rowLabel : 0);
    for (let p = 0; p < panels(s); p++) {
      const x = MARGIN + p * (s.width * scale + gap);
      parts.push(svgImage(stripPanel(s, p === 0 ? null : s.weights[p - 1]!, scale), x, top));
      const word = p === 0 ? 'input' : s.words[p - 1]!;
      parts.push(
        `<text x="${num(x + (s.width * scale) / 2)}" y="${num(top + s.height * scale + LABEL + 2)}" text-anchor="middle" font-size="${LABEL}" fill="${p === 0 ? MUTED : INK}">${escapeXml(word)}</text>`,
      );
      width = Math.max(width, x + s.width * scale + MARGIN);
    }
    y += rowHeight(s);
  }
  if (opts.title) width = Math.max(width, MARGIN * 2 + textWidth(opts.title, TITLE, 'bold'));
  const height = Math.ceil(y - gap + MARGIN);
  const svg = [
    svgHeader(width, height),
    ...(opts.title
      ? [
          `<text x="${MARGIN}" y="${MARGIN + TITLE * 0.8}" font-size="${TITLE}" font-weight="bold" fill="${INK}">${escapeXml(opts.title)}</text>`,
        ]
      : []),
    ...parts,
    '</svg>',
    '',
  ].join('\n');
  return { svg, width, height };
}

/**
 * Writes {@link stripAttentionFigure} as `<base>.svg` and `<base>.png` (one pixel per unit). Returns the two paths.
 *
 *     saveStripAttentionFigure('runs/read-digits/attention', strips, { title: 'read-digits, test strips' });
 */
export function saveStripAttentionFigure(
  base: string,
  strips: readonly StripAttention[],
  opts: { title?: string; scale?: number } = {},
): { svg: string; png: string } {
  return saveFigure(base, stripAttentionFigure(strips, opts).svg, 1);
}
