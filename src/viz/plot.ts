import { mkdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { checkOptions, fail } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { textWidth } from './font.js';
import { type ImageBuffer, savePng } from './png.js';
import { escapeXml, num, renderSvg, svgHeader } from './svg.js';

/** One named line: `y[i]` against `x[i]`. A non-finite y (a NaN loss, a missing validation value) breaks the line there. */
export interface Series {
  name: string;
  x: readonly number[];
  y: readonly number[];
  /** `#rrggbb`; by default the next colour of the Tableau 10 palette. */
  color?: string;
}

/** A horizontal dashed line across a panel at `y`, named in the legend: a test result, a baseline, chance. */
export interface Reference {
  name: string;
  y: number;
  /** `#rrggbb`; by default the palette colour after the series'. */
  color?: string;
}

/** One panel: axes with ticks and labels, a title, a legend and its series. */
export interface LineChart {
  series: readonly Series[];
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** `'percent'` writes y ticks as percentages (0.25 → 25%), for accuracies kept as fractions. */
  yFormat?: 'number' | 'percent';
  references?: readonly Reference[];
}

export interface PlotOptions {
  /** A title over the whole figure (the run's name, say), and a line under it in smaller type. */
  title?: string;
  subtitle?: string;
  /** Size of each panel in SVG units (CSS pixels); panels sit side by side. Default 480 × 320. */
  panelWidth?: number;
  panelHeight?: number;
  /** PNG pixels per SVG unit, so the figure stays sharp on a high-density screen; default 2. */
  pixelRatio?: number;
}

// Tableau 10, matplotlib's default cycle: distinct, and readable by most colour-blind people.
const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
const INK = '#222222';
const AXIS = '#444444';
const GRID = '#e6e6e6';
const TICK = 4;
const SWATCH = 18;
/** Series with at most this many points also get a dot at each point, so one epoch still shows. */
const MAX_MARKED = 40;

type Size = 'tick' | 'label' | 'title' | 'heading';
const FONT_PX: Record<Size, number> = { tick: 11, label: 12, title: 15, heading: 17 };
/** The figure's own title and subtitle take this much above the panels. */
const HEADING = 30;
const SUBHEADING = 18;

interface TextItem {
  x: number;
  /** Vertical centre of the capitals. */
  y: number;
  text: string;
  size: Size;
  anchor: 'start' | 'middle' | 'end';
  vertical?: boolean;
  color: string;
}

interface SeriesLayout {
  name: string;
  color: string;
  segments: [number, number][][];
  markers: boolean;
}

interface ReferenceLayout {
  y: number;
  color: string;
}

/** Everything a renderer needs for one panel, in figure coordinates (SVG units). */
interface PanelLayout {
  left: number;
  top: number;
  right: number;
  bottom: number;
  xTicks: number[];
  yTicks: number[];
  series: SeriesLayout[];
  references: ReferenceLayout[];
  /** Each legend entry's swatch: its left end and vertical centre; dashed for a reference line. */
  legend: { x: number; y: number; color: string; markers: boolean; dashed: boolean }[];
  texts: TextItem[];
}

/** 1, 2 or 5 times a power of ten, the smallest such at least `raw`. */
function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

function finiteExtent(values: Iterable<number>): [number, number] | null {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return lo <= hi ? [lo, hi] : null;
}

interface Axis {
  lo: number;
  hi: number;
  ticks: number[];
  labels: string[];
}

/**
 * Ticks about five or six to an axis at round numbers (1, 2 or 5 × 10^k apart). The y axis (`nice`) is widened
 * to the ticks either side of the data, as d3's `nice()` does; the x axis keeps the data's range plus a
 * little margin so the first and last points sit off the axes, and integer data (epochs) get integer ticks.
 */
function axis(values: number[], nice: boolean, percent: boolean): Axis {
  const [dataLo, dataHi] = finiteExtent(values) ?? [0, 1];
  let [lo, hi] = [dataLo, dataHi];
  const integers = !nice && values.every((v) => !Number.isFinite(v) || Number.isInteger(v));
  if (lo === hi) {
    const pad = integers ? 1 : Math.abs(lo) * 0.1 || 1;
    [lo, hi] = [lo - pad, hi + pad];
    // Fractions shown as percentages (accuracies) stay within 0–100% when the data do.
    if (percent) [lo, hi] = [dataLo >= 0 ? Math.max(0, lo) : lo, dataHi <= 1 ? Math.min(1, hi) : hi];
  }
  // Wide panels have room for a few more ticks across than up.
  let step = niceStep((hi - lo) / (nice ? 5 : 6));
  if (integers) step = Math.max(1, step);
  if (nice) [lo, hi] = [Math.floor(lo / step + 1e-9) * step, Math.ceil(hi / step - 1e-9) * step];
  const ticks: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k <= Math.floor(hi / step + 1e-9); k++) ticks.push(k * step);
  const labels = ticks.map((v) => formatTick(v, step, percent));
  if (!nice) [lo, hi] = [lo - (hi - lo) * 0.03, hi + (hi - lo) * 0.03];
  return { lo, hi, ticks, labels };
}

/**
 * A tick value with as many decimals as the step needs (0.2 → one, 0.05 → two), the same for all, and a
 * true minus sign (−5, not -5), as typeset figures have.
 */
function formatTick(v: number, step: number, percent: boolean): string {
  if (percent) [v, step] = [v * 100, step * 100];
  const decimals = Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
  const s = Math.abs(v) >= 1e6 || decimals > 6 ? v.toExponential(1) : v.toFixed(decimals);
  const signed = s.replaceAll('-', '−');
  return percent ? `${signed}%` : signed;
}

/** Refuses anything but `#rrggbb`, the one colour form both SVG viewers and the renderer read alike. */
function checkColor(op: string, color: string): void {
  if (!/^#[0-9a-f]{6}$/i.test(color))
    fail(op, `colours are written '#rrggbb' (like '#1f77b4'), got '${color}'`);
}

function checkChart(op: string, chart: LineChart, index: number): void {
  if (!chart || !Array.isArray(chart.series)) fail(op, `chart ${index} has no series array`);
  for (const s of chart.series) {
    if (typeof s.name !== 'string') fail(op, `every series needs a name (chart ${index})`);
    if (s.x.length !== s.y.length)
      fail(op, `series '${s.name}' has ${s.x.length} x values but ${s.y.length} y values; they must pair up`);
    if (s.color) checkColor(op, s.color);
  }
  for (const r of chart.references ?? []) {
    if (typeof r.name !== 'string' || !Number.isFinite(r.y))
      fail(op, `a reference line needs a name and a finite y, got ${JSON.stringify(r)} (chart ${index})`);
    if (r.color) checkColor(op, r.color);
  }
}

function layoutPanel(chart: LineChart, ox: number, oy: number, width: number, height: number): PanelLayout {
  const texts: TextItem[] = [];
  const refs = chart.references ?? [];
  const xs = chart.series.flatMap((s) => [...s.x]);
  const ys = [...chart.series.flatMap((s) => [...s.y]), ...refs.map((r) => r.y)];
  const xAxis = axis(xs, false, false);
  const yAxis = axis(ys, true, chart.yFormat === 'percent');

  let y = oy + 8;
  if (chart.title) {
    texts.push({
      x: ox + width / 2,
      y: y + 8,
      text: chart.title,
      size: 'title',
      anchor: 'middle',
      color: INK,
    });
    y += 24;
  }
  // Legend entries flow in rows above the plot, where they can never cover a line.
  const legend: PanelLayout['legend'] = [];
  const colors = chart.series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]!);
  const refColors = refs.map((r, i) => r.color ?? PALETTE[(chart.series.length + i) % PALETTE.length]!);
  const entries = [
    ...chart.series.map((s, i) => ({
      name: s.name,
      color: colors[i]!,
      markers: s.x.length <= MAX_MARKED,
      dashed: false,
    })),
    ...refs.map((r, i) => ({ name: r.name, color: refColors[i]!, markers: false, dashed: true })),
  ];
  const entryWidth = (name: string): number => SWATCH + 5 + textWidth(name, FONT_PX.label);
  const rows: (typeof entries)[] = [];
  let rowWidth = Number.POSITIVE_INFINITY;
  for (const e of entries) {
    const w = entryWidth(e.name);
    if (rowWidth + 16 + w > width - 20) {
      rows.push([]);
      rowWidth = -16;
    }
    rows[rows.length - 1]!.push(e);
    rowWidth += 16 + w;
  }
  for (const row of rows) {
    const total = row.reduce((sum, e) => sum + entryWidth(e.name), 0) + 16 * (row.length - 1);
    let x = ox + width / 2 - total / 2;
    for (const e of row) {
      legend.push({ x, y: y + 6, color: e.color, markers: e.markers, dashed: e.dashed });
      texts.push({ x: x + SWATCH + 5, y: y + 6, text: e.name, size: 'label', anchor: 'start', color: INK });
      x += entryWidth(e.name) + 16;
    }
    y += 16;
  }

  const top = y + 8;
  const bottom = oy + height - (chart.xLabel ? 44 : 26);
  const longest = Math.max(0, ...yAxis.labels.map((l) => textWidth(l, FONT_PX.tick)));
  const left = ox + (chart.yLabel ? 24 : 6) + longest + TICK + 4;
  const right = ox + width - 16;
  const px = (v: number): number => left + ((v - xAxis.lo) / (xAxis.hi - xAxis.lo)) * (right - left);
  const py = (v: number): number => bottom - ((v - yAxis.lo) / (yAxis.hi - yAxis.lo)) * (bottom - top);

  const xTicks = xAxis.ticks.map(px);
  const yTicks = yAxis.ticks.map(py);
  xTicks.forEach((x, i) => {
    texts.push({
      x,
      y: bottom + TICK + 9,
      text: xAxis.labels[i]!,
      size: 'tick',
      anchor: 'middle',
      color: AXIS,
    });
  });
  yTicks.forEach((y, i) => {
    texts.push({ x: left - TICK - 4, y, text: yAxis.labels[i]!, size: 'tick', anchor: 'end', color: AXIS });
  });
  if (chart.xLabel)
    texts.push({
      x: (left + right) / 2,
      y: bottom + 32,
      text: chart.xLabel,
      size: 'label',
      anchor: 'middle',
      color: INK,
    });
  if (chart.yLabel)
    texts.push({
      x: ox + 12,
      y: (top + bottom) / 2,
      text: chart.yLabel,
      size: 'label',
      anchor: 'middle',
      vertical: true,
      color: INK,
    });

  const series = chart.series.map((s, i): SeriesLayout => {
    const segments: [number, number][][] = [];
    let current: [number, number][] | null = null;
    for (let k = 0; k < s.x.length; k++) {
      const [x, y] = [s.x[k]!, s.y[k]!];
      if (!Number.isFinite(x) || !Number.isFinite(y)) {
        current = null;
        continue;
      }
      if (!current) segments.push((current = []));
      current.push([px(x), py(y)]);
    }
    return { name: s.name, color: colors[i]!, segments, markers: s.x.length <= MAX_MARKED };
  });
  const references = refs.map((r, i): ReferenceLayout => ({ y: py(r.y), color: refColors[i]! }));
  return { left, top, right, bottom, xTicks, yTicks, series, references, legend, texts };
}

function layoutFigure(op: string, charts: LineChart | readonly LineChart[], options: PlotOptions) {
  const opts = checkOptions(op, options, ['title', 'subtitle', 'panelWidth', 'panelHeight', 'pixelRatio']);
  const list: readonly LineChart[] = Array.isArray(charts) ? charts : [charts as LineChart];
  if (list.length === 0) fail(op, 'no charts to draw: pass a chart or a non-empty array of them');
  list.forEach((c, i) => {
    checkChart(op, c, i);
  });
  const panelWidth = opts.panelWidth ?? 480;
  const panelHeight = opts.panelHeight ?? 320;
  if (!(panelWidth >= 200 && panelHeight >= 150))
    fail(op, `panels must be at least 200 × 150 to hold their axes, got ${panelWidth} × ${panelHeight}`);
  const width = panelWidth * list.length;
  const headings: TextItem[] = [];
  let top = 0;
  if (opts.title) {
    headings.push({ x: width / 2, y: 18, text: opts.title, size: 'heading', anchor: 'middle', color: INK });
    top += HEADING;
  }
  if (opts.subtitle) {
    headings.push({
      x: width / 2,
      y: top + 9,
      text: opts.subtitle,
      size: 'label',
      anchor: 'middle',
      color: AXIS,
    });
    top += SUBHEADING;
  }
  const panels = list.map((c, i) => layoutPanel(c, i * panelWidth, top, panelWidth, panelHeight));
  return { panels, headings, width, height: top + panelHeight };
}

function svgText(t: TextItem): string {
  const anchor = t.anchor === 'start' ? '' : ` text-anchor="${t.anchor}"`;
  const weight = t.size === 'title' || t.size === 'heading' ? ' font-weight="bold"' : '';
  const place = t.vertical
    ? `transform="translate(${num(t.x)},${num(t.y)}) rotate(-90)"`
    : `x="${num(t.x)}" y="${num(t.y)}"`;
  return `<text ${place} dy="0.35em" font-size="${FONT_PX[t.size]}" fill="${t.color}"${anchor}${weight}>${escapeXml(t.text)}</text>`;
}

/**
 * A line chart, or several side by side, as SVG text: an optional title over the figure, and for each
 * panel its title, a legend, axes with ticks at round numbers and their labels, light grid lines, one
 * `<polyline>` per series (per unbroken run of finite values), with a dot at each point when there are at
 * most 40, and a dashed line for each reference value. Text is set in DejaVu Sans.
 *
 *     lineChartSvg({ title: 'Loss', xLabel: 'epoch', series: [{ name: 'train', x: [1, 2, 3], y: [0.9, 0.5, 0.4] }] })
 */
export function lineChartSvg(charts: LineChart | readonly LineChart[], opts: PlotOptions = {}): string {
  const { panels, headings, width, height } = layoutFigure('lineChartSvg', charts, opts);
  const out = [svgHeader(width, height)];
  for (const t of headings) out.push(svgText(t));
  for (const p of panels) {
    out.push('<g class="panel">');
    out.push(`<g stroke="${GRID}" stroke-width="1" shape-rendering="crispEdges">`);
    for (const y of p.yTicks)
      out.push(`<line x1="${num(p.left)}" y1="${num(y)}" x2="${num(p.right)}" y2="${num(y)}"/>`);
    for (const x of p.xTicks)
      out.push(`<line x1="${num(x)}" y1="${num(p.top)}" x2="${num(x)}" y2="${num(p.bottom)}"/>`);
    out.push('</g>');
    out.push(`<g stroke="${AXIS}" stroke-width="1" shape-rendering="crispEdges">`);
    out.push(`<line x1="${num(p.left)}" y1="${num(p.top)}" x2="${num(p.left)}" y2="${num(p.bottom)}"/>`);
    out.push(`<line x1="${num(p.left)}" y1="${num(p.bottom)}" x2="${num(p.right)}" y2="${num(p.bottom)}"/>`);
    for (const y of p.yTicks)
      out.push(`<line x1="${num(p.left - TICK)}" y1="${num(y)}" x2="${num(p.left)}" y2="${num(y)}"/>`);
    for (const x of p.xTicks)
      out.push(`<line x1="${num(x)}" y1="${num(p.bottom)}" x2="${num(x)}" y2="${num(p.bottom + TICK)}"/>`);
    out.push('</g>');
    for (const r of p.references)
      out.push(
        `<line class="reference" x1="${num(p.left)}" y1="${num(r.y)}" x2="${num(p.right)}" y2="${num(r.y)}" stroke="${r.color}" stroke-width="1.5" stroke-dasharray="6 4"/>`,
      );
    for (const s of p.series) {
      out.push(`<g class="series"><title>${escapeXml(s.name)}</title>`);
      for (const seg of s.segments)
        out.push(
          `<polyline fill="none" stroke="${s.color}" stroke-width="2" stroke-linejoin="round" stroke-linecap="round" points="${seg.map(([x, y]) => `${num(x)},${num(y)}`).join(' ')}"/>`,
        );
      if (s.markers)
        for (const [x, y] of s.segments.flat())
          out.push(`<circle cx="${num(x)}" cy="${num(y)}" r="2.5" fill="${s.color}"/>`);
      out.push('</g>');
    }
    for (const l of p.legend) {
      const dash = l.dashed ? ' stroke-width="1.5" stroke-dasharray="6 4"' : ' stroke-width="2"';
      out.push(
        `<line x1="${num(l.x)}" y1="${num(l.y)}" x2="${num(l.x + SWATCH)}" y2="${num(l.y)}" stroke="${l.color}"${dash}/>`,
      );
      if (l.markers)
        out.push(`<circle cx="${num(l.x + SWATCH / 2)}" cy="${num(l.y)}" r="2.5" fill="${l.color}"/>`);
    }
    for (const t of p.texts) out.push(svgText(t));
    out.push('</g>');
  }
  out.push('</svg>', '');
  return out.join('\n');
}

/**
 * The same chart as {@link lineChartSvg}, rendered (vector text and all) into an RGB image `pixelRatio`
 * times the SVG's size.
 */
export function lineChartImage(
  charts: LineChart | readonly LineChart[],
  opts: PlotOptions = {},
): ImageBuffer {
  return renderSvg(lineChartSvg(charts, opts), opts.pixelRatio ?? 2);
}

/**
 * Writes a chart to `path`, atomically, as SVG or PNG according to its extension (`.svg` or `.png`).
 *
 *     saveLineChart('runs/lm/perplexity.svg', { title: 'Perplexity', series: [{ name: 'valid', x: steps, y: ppl }] })
 */
export function saveLineChart(
  path: string,
  charts: LineChart | readonly LineChart[],
  opts: PlotOptions = {},
): void {
  const ext = extname(path).toLowerCase();
  if (ext === '.svg') writeFileAtomic(path, lineChartSvg(charts, opts));
  else if (ext === '.png') savePng(path, lineChartImage(charts, opts));
  else fail('saveLineChart', `cannot tell the format from '${path}': name it .svg or .png`);
}

/** What {@link saveTrainingCurves} reads from each epoch; `fit`'s history records fit it as they are. */
export interface EpochCurves {
  epoch: number;
  loss: number;
  /** A fraction in [0, 1]; leave it out (or NaN) for models without one and the panel is dropped. */
  accuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
}

export interface CurvesOptions extends PlotOptions {
  /** The trained model's result on the test set, drawn as a dashed line in each panel and named with its value. */
  test?: { loss?: number; accuracy?: number };
}

/**
 * Draws loss and accuracy against epoch, training and validation, with the test result as a dashed line,
 * and writes them to `dir` as `curves.svg` (to read values from) and `curves.png` (to glance at),
 * creating `dir` if needed. Returns the two paths.
 *
 *     const { history } = fit({ ... });
 *     const result = evaluate(model, testLoader, crossEntropy);
 *     saveTrainingCurves('runs/mnist', history, { title: 'mnist', test: result });
 */
export function saveTrainingCurves(
  dir: string,
  history: readonly EpochCurves[],
  opts: CurvesOptions = {},
): { svg: string; png: string } {
  const op = 'saveTrainingCurves';
  if (!Array.isArray(history) || history.length === 0)
    fail(op, 'the history is empty: train for at least one epoch first');
  history.forEach((h, i) => {
    if (!Number.isFinite(h?.epoch)) fail(op, `history[${i}] has no finite epoch number`);
  });
  const { test, ...plot } = checkOptions(op, opts, [
    'test',
    'title',
    'subtitle',
    'panelWidth',
    'panelHeight',
    'pixelRatio',
  ]);
  const epochs = history.map((h) => h.epoch);
  const has = (key: keyof EpochCurves): boolean => history.some((h) => Number.isFinite(h[key]));
  const values = (key: keyof EpochCurves): number[] => history.map((h) => h[key] ?? Number.NaN);
  const panel = (
    title: string,
    train: keyof EpochCurves,
    val: keyof EpochCurves,
    result: number | undefined,
    percent: boolean,
  ): LineChart => ({
    title,
    xLabel: 'epoch',
    yLabel: title.toLowerCase(),
    yFormat: percent ? 'percent' : 'number',
    series: [
      { name: 'train', x: epochs, y: values(train) },
      ...(has(val) ? [{ name: 'validation', x: epochs, y: values(val) }] : []),
    ],
    references: Number.isFinite(result)
      ? [{ name: `test ${percent ? `${(result! * 100).toFixed(2)}%` : result!.toPrecision(4)}`, y: result! }]
      : [],
  });
  const charts = [panel('Loss', 'loss', 'valLoss', test?.loss, false)];
  if (has('accuracy') || has('valAccuracy'))
    charts.push(panel('Accuracy', 'accuracy', 'valAccuracy', test?.accuracy, true));
  mkdirSync(dir, { recursive: true });
  const paths = { svg: join(dir, 'curves.svg'), png: join(dir, 'curves.png') };
  saveLineChart(paths.svg, charts, plot);
  saveLineChart(paths.png, charts, plot);
  return paths;
}
