import { noGrad } from '../autograd/mode.js';
import { checkOptions, fail, fmtShape } from '../errors.js';
import type { Module } from '../nn/module.js';
import { Sequential } from '../nn/sequential.js';
import { Tensor } from '../tensor/tensor.js';
import { gridColumns } from './filters.js';
import { textWidth } from './font.js';
import { imageGrid } from './grid.js';
import { finiteRange, type ImageBuffer, toByte } from './png.js';
import { escapeXml, num, saveFigure, svgHeader, svgImage } from './svg.js';

export interface FeatureFigureOptions {
  /** A title over the figure. */
  title?: string;
  /** The input's true class, shown beside the prediction. */
  label?: number;
  /** Names of the classes, `classes[k]` for class k; by default the class number. */
  classes?: readonly string[];
}

/** One panel of the figure: what it shows and where, in SVG units. */
export interface FeaturePanel {
  name: string;
  shape: readonly number[];
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface FeatureFigureLayout {
  width: number;
  height: number;
  panels: FeaturePanel[];
  /** The most probable class of the model's output, and its probability. */
  predicted: { class: number; probability: number };
}

const INK = '#222222';
const MUTED = '#555555';
const MARGIN = 16;
const GAP = 20;
const NAME = 12;
const SHAPE = 11;
/** Panels flow left to right and wrap to a new row past this width. */
const MAX_WIDTH = 1100;
/** The pictures in a panel are scaled to about this width. */
const PANEL = 240;

/**
 * What each direct child of `model` outputs when `model` runs on `input`, in the order they ran: each
 * child's `forward` is wrapped for the one call and then restored, so any model (a Sequential, a ResNet
 * whose forward calls its parts by hand) shows its stages.
 */
function recordChildren(
  model: Module<[Tensor], Tensor>,
  input: Tensor,
): { outputs: [string, Tensor][]; y: Tensor } {
  const outputs: [string, Tensor][] = [];
  // A Sequential fuses a layer with the ReLU after it; run its layers one by one to see each.
  if (model instanceof Sequential) {
    const y = noGrad(() =>
      model.layers.reduce((x: Tensor, layer, i) => {
        const out = (layer as Module<[Tensor], Tensor>).forward(x);
        outputs.push([`${i} · ${layer.constructor.name}`, out]);
        return out;
      }, input),
    );
    return { outputs, y };
  }
  type Forward = (...args: unknown[]) => unknown;
  const restore: (() => void)[] = [];
  for (const [name, child] of model.namedChildren()) {
    const target = child as unknown as { forward?: Forward };
    const original = target.forward!;
    const own = Object.hasOwn(target, 'forward');
    const label = `${name} · ${child.constructor.name}`;
    target.forward = (...args: unknown[]) => {
      const y = original.apply(target, args);
      if (y instanceof Tensor) outputs.push([label, y]);
      return y;
    };
    restore.push(() => {
      if (own) target.forward = original;
      else delete target.forward;
    });
  }
  try {
    const y = noGrad(() => model.forward(input));
    return { outputs, y };
  } finally {
    for (const undo of restore) undo();
  }
}

/**
 * A vector as a grid of grey cells on one scale (a strip when short), as near square as leaves no cell
 * unused (784 inputs as 28 × 28), any unused end cells white.
 */
function cells(values: ArrayLike<number>): ImageBuffer {
  const n = values.length;
  const columns = n <= 32 ? n : gridColumns(n);
  const rows = Math.ceil(n / columns);
  const scale = Math.max(2, Math.min(24, Math.floor(PANEL / columns)));
  const [lo, hi] = finiteRange(values);
  const width = columns * scale;
  const height = rows * scale;
  const data = new Uint8Array(width * height).fill(255);
  for (let i = 0; i < n; i++) {
    const v = hi > lo ? toByte((values[i]! - lo) / (hi - lo)) : 128;
    const [cx, cy] = [(i % columns) * scale, Math.floor(i / columns) * scale];
    for (let y = 0; y < scale; y++) data.fill(v, (cy + y) * width + cx, (cy + y) * width + cx + scale);
  }
  return { width, height, channels: 1, data };
}

/** Maps [1, C, H, W] as a grid of C pictures, each stretched over its own range; anything else as cells. */
function picture(t: Tensor): ImageBuffer {
  const values = t.toTypedArray();
  if (t.rank === 4 && t.shape[2]! * t.shape[3]! > 1) {
    const [c, h, w] = [t.shape[1]!, t.shape[2]!, t.shape[3]!];
    const columns = gridColumns(c);
    const scale = Math.max(1, Math.min(Math.floor(112 / w), Math.floor(PANEL / (columns * w))));
    return imageGrid(new Tensor(values, [c, 1, h, w]), { columns, scale, padding: 1, background: 1 });
  }
  return cells(values);
}

/**
 * The review's Fig. 2 for any model: the input, then what each of the model's parts outputs for it, each
 * panel headed by the part's name, type and output shape, and the model's prediction under the last.
 * Maps [1, C, H, W] are drawn as C grey pictures, each on its own range; vectors [1, F] as grey cells on
 * one range. `input` is a batch of one. Returns the SVG and where its panels are.
 *
 *     const { svg } = featureFigure(lenet(), image.reshape([1, 1, 28, 28]), { label: 7 });
 */
export function featureFigure(
  model: Module<[Tensor], Tensor>,
  input: Tensor,
  opts: FeatureFigureOptions = {},
): { svg: string; layout: FeatureFigureLayout } {
  const op = 'featureFigure';
  const { title, label, classes } = checkOptions(op, opts, ['title', 'label', 'classes']);
  if (!(input instanceof Tensor) || input.shape[0] !== 1)
    fail(
      op,
      `expected one input, a tensor whose first dimension is 1, got ${input instanceof Tensor ? fmtShape(input.shape) : typeof input}`,
    );
  const { outputs, y } = recordChildren(model, input);
  // A model with no parts to show (a single layer) still shows its output.
  const shown: [string, Tensor][] = [
    ['input', input],
    ...(outputs.length ? outputs : [['output', y] as [string, Tensor]]),
  ];

  // The output's softmax: its most probable class and how sure the model is.
  const logits = y.toTypedArray();
  let best = 0;
  for (let k = 1; k < logits.length; k++) if (logits[k]! > logits[best]!) best = k;
  let total = 0;
  for (const v of logits) total += Math.exp(v - logits[best]!);
  const className = (k: number): string => classes?.[k] ?? String(k);
  const predicted = { class: best, probability: 1 / total };
  const verdict =
    `predicted ${className(best)} (${(predicted.probability * 100).toFixed(1)}%)` +
    (label === undefined ? '' : `, true class ${className(label)}`);

  const body: string[] = [];
  const panels: FeaturePanel[] = [];
  let top = MARGIN;
  if (title) {
    body.push(
      `<text x="${MARGIN}" y="${top + 13}" font-size="16" font-weight="bold" fill="${INK}">${escapeXml(title)}</text>`,
    );
    top += 26;
  }
  body.push(`<text x="${MARGIN}" y="${top + 11}" font-size="13" fill="${INK}">${escapeXml(verdict)}</text>`);
  top += 26;
  let [x, rowHeight, width] = [MARGIN, 0, 0];
  for (const [name, t] of shown) {
    const image = picture(t);
    const shape = fmtShape(t.shape);
    const w = Math.max(image.width, textWidth(name, NAME, 'bold'), textWidth(shape, SHAPE));
    const h = NAME + SHAPE + 10 + image.height;
    if (x > MARGIN && x + w > MAX_WIDTH - MARGIN) {
      [x, top, rowHeight] = [MARGIN, top + rowHeight + GAP, 0];
    }
    body.push(
      `<g class="panel"><text x="${num(x)}" y="${num(top + NAME)}" font-size="${NAME}" font-weight="bold" fill="${INK}">${escapeXml(name)}</text>`,
      `<text x="${num(x)}" y="${num(top + NAME + SHAPE + 3)}" font-size="${SHAPE}" fill="${MUTED}">${escapeXml(shape)}</text>`,
      svgImage(image, x, top + NAME + SHAPE + 10),
      `<rect x="${num(x - 0.5)}" y="${num(top + NAME + SHAPE + 9.5)}" width="${image.width + 1}" height="${image.height + 1}" fill="none" stroke="#bbbbbb" stroke-width="1"/></g>`,
    );
    panels.push({ name, shape: t.shape, x, y: top, width: w, height: h });
    x += w + GAP;
    width = Math.max(width, x - GAP + MARGIN);
    rowHeight = Math.max(rowHeight, h);
  }
  const height = Math.ceil(top + rowHeight + MARGIN);
  width = Math.ceil(
    Math.max(width, 2 * MARGIN + textWidth(title ?? '', 16, 'bold'), 2 * MARGIN + textWidth(verdict, 13)),
  );
  const svg = [svgHeader(width, height), ...body, '</svg>', ''].join('\n');
  return { svg, layout: { width, height, panels, predicted } };
}

/**
 * Writes {@link featureFigure} as `<base>.svg` and `<base>.png` (2 pixels per unit). Returns the paths.
 *
 *     saveFeatureFigure('runs/lenet/features-3', model, image, { label: 7, title: 'lenet, test image 3' });
 */
export function saveFeatureFigure(
  base: string,
  model: Module<[Tensor], Tensor>,
  input: Tensor,
  opts: FeatureFigureOptions = {},
): { svg: string; png: string } {
  return saveFigure(base, featureFigure(model, input, opts).svg);
}
