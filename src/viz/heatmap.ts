import { checkOptions, fail } from '../errors.js';
import { textWidth } from './font.js';
import type { ImageBuffer } from './png.js';
import { escapeXml, num, saveFigure, svgHeader, svgImage } from './svg.js';

/** One heat map of a figure: `values[r][c]`, row r drawn top to bottom, column c left to right. */
export interface HeatMapPanel {
  name: string;
  values: readonly (readonly number[])[];
  /** The values drawn white and black (default 0 and 1); values beyond are clamped. */
  range?: readonly [number, number];
}

export interface HeatMapFigureOptions {
  title?: string;
  /** A small line under the panels. */
  footnote?: string;
  /** Width of a column in SVG units (default 8). */
  cellWidth?: number;
}

const INK = '#222222';
const MUTED = '#555555';
const MARGIN = 16;
const NAME = 12;
const GAP = 10;
/** The tallest a panel's cells are drawn, in units per row, and the height its rows aim to fill. */
const MAX_ROW = 10;
const PANEL_HEIGHT = 128;

function panelImage(panel: HeatMapPanel, cellWidth: number): ImageBuffer {
  const rows = panel.values.length;
  const columns = panel.values[0]?.length ?? 0;
  const [lo, hi] = panel.range ?? [0, 1];
  const rowHeight = Math.max(1, Math.min(MAX_ROW, Math.floor(PANEL_HEIGHT / rows)));
  const [width, height] = [columns * cellWidth, rows * rowHeight];
  const data = new Uint8Array(width * height);
  panel.values.forEach((row, r) => {
    row.forEach((v, c) => {
      const t = Math.min(1, Math.max(0, (v - lo) / (hi - lo)));
      const byte = Number.isNaN(v) ? 128 : Math.round(255 * (1 - t));
      for (let y = 0; y < rowHeight; y++)
        data.fill(
          byte,
          (r * rowHeight + y) * width + c * cellWidth,
          (r * rowHeight + y) * width + (c + 1) * cellWidth,
        );
    });
  });
  return { width, height, channels: 1, data };
}

/**
 * Heat maps stacked top to bottom on one time axis, as Graves et al.'s Figure 6 (inputs, outputs and a
 * neural Turing machine's weightings over time): each panel is named above it and drawn in grey from
 * white (its range's low end) to black (its high end), one column per step. Panels may differ in their
 * number of rows, not of columns. Returns the SVG.
 *
 *     const svg = heatMapFigure([{ name: 'input', values: [[0, 1], [1, 0]] }, { name: 'output', values: [[0.1, 0.9]] }]);
 */
export function heatMapFigure(panels: readonly HeatMapPanel[], opts: HeatMapFigureOptions = {}): string {
  const op = 'heatMapFigure';
  const { title, footnote, cellWidth = 8 } = checkOptions(op, opts, ['title', 'footnote', 'cellWidth']);
  if (panels.length === 0) fail(op, 'no panels to draw');
  const columns = panels[0]!.values[0]?.length ?? 0;
  if (columns === 0) fail(op, `panel '${panels[0]!.name}' has no columns (steps) to draw`);
  for (const p of panels) {
    if (p.values.length === 0 || p.values.some((row) => row.length !== columns))
      fail(op, `panel '${p.name}' must have at least one row, every row of ${columns} columns`);
    const [lo, hi] = p.range ?? [0, 1];
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && hi > lo))
      fail(op, `panel '${p.name}': range must be [low, high] with low < high, got [${lo}, ${hi}]`);
  }
  if (!(Number.isInteger(cellWidth) && cellWidth >= 1))
    fail(op, `cellWidth must be a positive integer, got ${cellWidth}`);
  const body: string[] = [];
  let top = MARGIN;
  let width = 2 * MARGIN + columns * cellWidth;
  if (title) {
    body.push(
      `<text x="${MARGIN}" y="${top + 13}" font-size="15" font-weight="bold" fill="${INK}">${escapeXml(title)}</text>`,
    );
    width = Math.max(width, 2 * MARGIN + textWidth(title, 15, 'bold'));
    top += 24;
  }
  for (const p of panels) {
    const image = panelImage(p, cellWidth);
    body.push(
      `<text x="${MARGIN}" y="${num(top + NAME)}" font-size="${NAME}" fill="${INK}">${escapeXml(p.name)}</text>`,
      svgImage(image, MARGIN, top + NAME + 4),
      `<rect x="${num(MARGIN - 0.5)}" y="${num(top + NAME + 3.5)}" width="${image.width + 1}" height="${image.height + 1}" fill="none" stroke="#bbbbbb" stroke-width="1"/>`,
    );
    width = Math.max(width, 2 * MARGIN + textWidth(p.name, NAME));
    top += NAME + 4 + image.height + GAP;
  }
  if (footnote) {
    body.push(
      `<text x="${MARGIN}" y="${num(top + 8)}" font-size="8" fill="${MUTED}">${escapeXml(footnote)}</text>`,
    );
    width = Math.max(width, 2 * MARGIN + textWidth(footnote, 8));
    top += 14;
  }
  const height = Math.ceil(top + MARGIN - GAP);
  return [svgHeader(Math.ceil(width), height), ...body, '</svg>', ''].join('\n');
}

/**
 * Writes {@link heatMapFigure} as `<base>.svg` and `<base>.png` (2 pixels per unit). Returns the paths.
 *
 *     saveHeatMapFigure('runs/ntm/memory', [{ name: 'write weightings', values: writes }], { title: 'copy' });
 */
export function saveHeatMapFigure(
  base: string,
  panels: readonly HeatMapPanel[],
  opts: HeatMapFigureOptions = {},
): { svg: string; png: string } {
  return saveFigure(base, heatMapFigure(panels, opts));
}
