import { checkOptions, fail, fmtShape } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { textWidth } from './font.js';
import { DIVERGING_STOPS, imageGrid } from './grid.js';
import { finiteRange } from './png.js';
import { escapeXml, num, saveFigure, svgHeader, svgImage } from './svg.js';

export interface FilterFigureOptions {
  /** What the weight is, for the title: its parameter name and layer, `'0.weight (Conv2d)'`. */
  name: string;
  /** At most this many tiles are drawn (the caption says how many of how many); default 1024. */
  maxTiles?: number;
}

/** Where the parts of a filter figure are, in SVG units, for callers and tests that check the picture. */
export interface FilterFigureLayout {
  width: number;
  height: number;
  grid: { x: number; y: number; width: number; height: number };
  colorBar: { x: number; y: number; width: number; height: number };
  /** Tiles drawn, and tiles the weight holds. */
  shown: number;
  total: number;
}

const INK = '#222222';
const MUTED = '#555555';
const MARGIN = 16;
const TITLE = 17;
const CAPTION = 12;
const BAR_WIDTH = 14;
/** The grid may grow to this width before its tiles are drawn smaller. */
const MAX_GRID = 960;

/**
 * The weights as tiles [N, 1, h, w]: a convolution kernel [O, C, kh, kw] as O·C tiles, each output
 * filter's channels side by side when C > 1; a Linear weight [O, F] with F a square (784 = 28²) as O
 * receptive fields √F × √F.
 */
function tiles(
  op: string,
  weight: Tensor,
): { n: number; h: number; w: number; columns?: number; what: string } {
  const s = weight.shape;
  if (s.length === 4) {
    const [o, c, h, w] = s as [number, number, number, number];
    return c === 1
      ? { n: o, h, w, what: `${o} filters, ${h}×${w}` }
      : {
          n: o * c,
          h,
          w,
          columns: c * gridColumns(o),
          what: `${o} filters × ${c} input channels (each filter's channels side by side), ${h}×${w}`,
        };
  }
  if (s.length === 2 && Number.isInteger(Math.sqrt(s[1]!))) {
    const side = Math.sqrt(s[1]!);
    return { n: s[0]!, h: side, w: side, what: `${s[0]} units' ${side}×${side} input weights` };
  }
  return fail(
    op,
    `expected a convolution kernel [O, C, kh, kw] or a Linear weight [O, F] with F a square, got ${fmtShape(s)}`,
  );
}

/**
 * Columns for n tiles: from square to about twice as wide as high (a landscape figure), the count that
 * leaves the fewest empty places in the last row, the widest of those.
 */
export function gridColumns(n: number): number {
  let best = Math.ceil(Math.sqrt(n));
  for (let c = best; c <= Math.min(n, Math.ceil(Math.sqrt(2 * n))); c++)
    if (Math.ceil(n / c) * c - n <= Math.ceil(n / best) * best - n) best = c;
  return best;
}

/** Three significant digits, without a trailing exponent for ordinary weights, and a true minus sign. */
const short = (v: number): string =>
  v === 0 ? '0' : Number(v.toPrecision(3)).toString().replaceAll('-', '−');

/**
 * A first-layer weight as a figure for a paper: every filter as a tile on one blue–white–red scale (0 is
 * white; the scale's ends are ± the largest magnitude), a colour bar with its values, a title naming the
 * weight and its shape, and a caption saying what the tiles are and how many are shown. Returns the SVG
 * and where its parts are.
 *
 *     const { svg } = filterFigure(model.conv1.weight, { name: 'conv1.weight (Conv2d)' });
 */
export function filterFigure(
  weight: Tensor,
  opts: FilterFigureOptions,
): { svg: string; layout: FilterFigureLayout } {
  const op = 'filterFigure';
  const { name, maxTiles = 1024 } = checkOptions(
    op,
    opts,
    ['name', 'maxTiles'],
    "filterFigure(weight, { name: '0.weight' })",
  );
  if (typeof name !== 'string') fail(op, "needs the weight's name for the title: { name: '0.weight' }");
  if (!Number.isInteger(maxTiles) || maxTiles < 1)
    fail(op, `maxTiles must be an integer ≥ 1, got ${maxTiles}`);
  const { n: total, h, w, columns: fixed, what } = tiles(op, weight);
  const shown = Math.min(total, maxTiles);
  const padding = 2;
  const columns = fixed ?? gridColumns(shown);
  // Small kernels scaled up to about 48 units a tile, as long as the grid fits the page.
  const scale = Math.max(1, Math.min(Math.round(48 / Math.max(h, w)), Math.floor(MAX_GRID / columns / w)));
  // Tiles in the kernel's own order: filter by filter, each one's input channels in turn.
  const drawn = new Tensor(weight.toTypedArray().subarray(0, shown * h * w), [shown, 1, h, w]);
  const [lo, hi] = finiteRange(drawn.data);
  const abs = Math.max(Math.abs(lo), Math.abs(hi));
  const image = imageGrid(drawn, {
    colormap: 'diverging',
    normalize: 'all',
    scale,
    padding,
    columns,
    background: 0.8,
  });

  const title = `${name} ${fmtShape(weight.shape)}`;
  const caption = shown === total ? `all ${what}` : `the first ${shown} of ${total} tiles: ${what}`;
  const top = MARGIN + TITLE + 8 + CAPTION + 10;
  const grid = { x: MARGIN, y: top, width: image.width, height: image.height };
  const labels = [short(-abs), '0', short(abs)];
  const barHeight = Math.max(80, Math.min(240, image.height));
  const colorBar = { x: grid.x + grid.width + 16, y: top, width: BAR_WIDTH, height: barHeight };
  const labelWidth = Math.max(...labels.map((l) => textWidth(l, 11)));
  // Whole units, so the PNG has exactly the SVG's size at any whole pixel ratio.
  const width = Math.ceil(
    Math.max(
      colorBar.x + BAR_WIDTH + 6 + labelWidth + MARGIN,
      MARGIN * 2 + textWidth(title, TITLE, 'bold'),
      MARGIN * 2 + textWidth(caption, CAPTION),
    ),
  );
  const height = Math.ceil(top + Math.max(grid.height, barHeight) + MARGIN);

  const stops = [...DIVERGING_STOPS]
    .reverse()
    .map(
      (c, i) =>
        `<stop offset="${i / (DIVERGING_STOPS.length - 1)}" stop-color="rgb(${c[0]},${c[1]},${c[2]})"/>`,
    );
  const svg = [
    svgHeader(width, height),
    `<text x="${MARGIN}" y="${MARGIN + TITLE * 0.8}" font-size="${TITLE}" font-weight="bold" fill="${INK}">${escapeXml(title)}</text>`,
    `<text x="${MARGIN}" y="${MARGIN + TITLE + 8 + CAPTION * 0.8}" font-size="${CAPTION}" fill="${MUTED}">${escapeXml(caption)}</text>`,
    svgImage(image, grid.x, grid.y),
    // The bar runs from +max at the top to −max at the bottom, as a colour bar beside a map does.
    `<defs><linearGradient id="diverging" x1="0" y1="0" x2="0" y2="1">${stops.join('')}</linearGradient></defs>`,
    `<rect class="colorbar" x="${num(colorBar.x)}" y="${num(colorBar.y)}" width="${BAR_WIDTH}" height="${num(barHeight)}" fill="url(#diverging)" stroke="#888888" stroke-width="0.5"/>`,
    ...[labels[2]!, labels[1]!, labels[0]!].map(
      (l, i) =>
        `<text x="${num(colorBar.x + BAR_WIDTH + 6)}" y="${num(colorBar.y + (barHeight * i) / 2)}" dy="0.35em" font-size="11" fill="${MUTED}">${escapeXml(l)}</text>`,
    ),
    '</svg>',
    '',
  ].join('\n');
  return { svg, layout: { width, height, grid, colorBar, shown, total } };
}

/**
 * Writes {@link filterFigure} as `<base>.svg` and `<base>.png` (2 pixels per unit). Returns the two paths.
 *
 *     saveFilterFigure('runs/lenet/filters', model.layers[0].weight, { name: '0.weight (Conv2d)' });
 */
export function saveFilterFigure(
  base: string,
  weight: Tensor,
  opts: FilterFigureOptions,
): { svg: string; png: string } {
  return saveFigure(base, filterFigure(weight, opts).svg);
}
