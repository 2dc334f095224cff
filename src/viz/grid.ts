import { fail, fmtShape } from '../errors.js';
import type { TypedArray } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { finiteRange, type ImageBuffer, savePng, toByte } from './png.js';

/** A colour as red, green, blue intensities in [0, 1]. */
export type Rgb = readonly [number, number, number];

export interface ImageGridOptions {
  /** Images per row; default ⌈√N⌉, so the grid is about square. */
  columns?: number;
  /** Background pixels between images and around the edge (not scaled); default 2. */
  padding?: number;
  /**
   * How values become intensities. `'each'` (default) stretches every image over the full range on its
   * own, which shows the pattern of each filter; `'all'` uses one range for all of them, which shows
   * which are stronger; `'none'` takes values as intensities in [0, 1] (in [-1, 1] for the diverging map).
   */
  normalize?: 'each' | 'all' | 'none';
  /** Each value becomes a `scale`×`scale` block, so that a 5×5 filter is big enough to see; default 1. */
  scale?: number;
  /** The colour between and around images: a grey level or an RGB triple, in [0, 1]; default 0.5 (grey). */
  background?: number | Rgb;
  /**
   * For one-channel images: `'gray'` (default) or `'diverging'`, blue for negative, white for zero, red
   * for positive ({@link divergingColor}) — for signed values such as first-layer convolution filters.
   * With the diverging map, normalisation divides by the largest magnitude so that 0 stays white.
   */
  colormap?: 'gray' | 'diverging';
}

// The ends and quarter points of ColorBrewer's RdBu scheme, with a pure white centre.
export const DIVERGING_STOPS: readonly Rgb[] = [
  [0x21, 0x66, 0xac],
  [0x92, 0xc5, 0xde],
  [0xff, 0xff, 0xff],
  [0xf4, 0xa5, 0x82],
  [0xb2, 0x18, 0x2b],
];

/**
 * The colour (bytes) of a signed value `t` in [-1, 1] on a blue–white–red map: -1 is dark blue, 0 white,
 * +1 dark red, interpolated linearly between ColorBrewer's RdBu colours at -1, -½, 0, ½, 1. Values
 * outside [-1, 1] are clamped; NaN is black, a colour the map never uses, so it stands out.
 *
 *     divergingColor(0)  // → [255, 255, 255]
 */
export function divergingColor(t: number): [number, number, number] {
  if (Number.isNaN(t)) return [0, 0, 0];
  const u = (Math.min(1, Math.max(-1, t)) + 1) * 2; // in [0, 4]
  const i = Math.min(3, Math.floor(u));
  const f = u - i;
  const a = DIVERGING_STOPS[i]!;
  const b = DIVERGING_STOPS[i + 1]!;
  return [0, 1, 2].map((c) => Math.round(a[c]! + (b[c]! - a[c]!) * f)) as [number, number, number];
}

function positiveInteger(op: string, name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) fail(op, `${name} must be an integer ≥ ${min}, got ${v}`);
  return v;
}

function backgroundBytes(op: string, bg: number | Rgb): [number, number, number] {
  const rgb = typeof bg === 'number' ? [bg, bg, bg] : bg;
  if (rgb.length !== 3 || rgb.some((v) => !(v >= 0 && v <= 1)))
    fail(op, `background must be a grey level or an [r, g, b] triple in [0, 1], got ${JSON.stringify(bg)}`);
  return [toByte(rgb[0]!), toByte(rgb[1]!), toByte(rgb[2]!)];
}

/** Per-image [shift, scale] so that `(v - shift) * scale` is the intensity (or signed value, diverging). */
function normalisers(
  values: TypedArray,
  n: number,
  per: number,
  mode: 'each' | 'all' | 'none',
  diverging: boolean,
): [number, number][] {
  const affine = (lo: number, hi: number): [number, number] => {
    if (diverging) {
      const m = Math.max(Math.abs(lo), Math.abs(hi));
      return [0, m > 0 ? 1 / m : 1];
    }
    // A constant image has no contrast to stretch: show it mid-grey rather than divide by zero.
    return hi > lo ? [lo, 1 / (hi - lo)] : [lo - 0.5, 1];
  };
  if (mode === 'none') return Array.from({ length: n }, () => [0, 1]);
  if (mode === 'all') {
    const a = affine(...finiteRange(values));
    return Array.from({ length: n }, () => a);
  }
  return Array.from({ length: n }, (_, i) => {
    return affine(...finiteRange(values.subarray(i * per, (i + 1) * per)));
  });
}

/**
 * Lays out a batch of images in a grid, for looking at inputs, reconstructions, samples or filters.
 * `images` is [N, C, H, W] with C = 1 (grey) or 3 (RGB), or [N, H, W] for grey; a convolution weight
 * [out, in, kh, kw] with in = 1 or 3 can be passed as it is. Image i goes to row ⌊i / columns⌋, column
 * i mod columns, its top-left corner at `padding + column·(W·scale + padding)` across and likewise down.
 * The result is RGB when the images are, the colour map is diverging or the background is a colour;
 * grey otherwise.
 *
 *     const conv1 = model.conv1.weight;                       // [6, 1, 5, 5]
 *     saveImageGrid('filters.png', conv1, { scale: 8, colormap: 'diverging' });
 */
export function imageGrid(images: Tensor, opts: ImageGridOptions = {}): ImageBuffer {
  const op = 'imageGrid';
  const shape = images.shape;
  if (shape.length !== 3 && shape.length !== 4)
    fail(op, `expected images of shape [N, C, H, W] or [N, H, W], got ${fmtShape(shape)}`);
  const [n, c, h, w] = shape.length === 4 ? shape : [shape[0]!, 1, shape[1]!, shape[2]!];
  if (c !== 1 && c !== 3)
    fail(op, `expected 1 (grey) or 3 (RGB) channels in [N, C, H, W], got C = ${c} in ${fmtShape(shape)}`);
  if (n === 0 || h === 0 || w === 0) fail(op, `there are no pixels to show in ${fmtShape(shape)}`);

  const colormap = opts.colormap ?? 'gray';
  if (colormap !== 'gray' && colormap !== 'diverging')
    fail(op, `colormap must be 'gray' or 'diverging', got '${String(colormap)}'`);
  const diverging = colormap === 'diverging';
  if (diverging && c !== 1)
    fail(op, `the diverging colour map is for one-channel images, got ${c} channels in ${fmtShape(shape)}`);
  const normalize = opts.normalize ?? 'each';
  if (normalize !== 'each' && normalize !== 'all' && normalize !== 'none')
    fail(op, `normalize must be 'each', 'all' or 'none', got '${String(normalize)}'`);
  const columns = Math.min(n, positiveInteger(op, 'columns', opts.columns ?? Math.ceil(Math.sqrt(n)), 1));
  const padding = positiveInteger(op, 'padding', opts.padding ?? 2, 0);
  const scale = positiveInteger(op, 'scale', opts.scale ?? 1, 1);
  const bg = backgroundBytes(op, opts.background ?? 0.5);

  const rows = Math.ceil(n / columns);
  const tileW = w * scale;
  const tileH = h * scale;
  const width = columns * tileW + (columns + 1) * padding;
  const height = rows * tileH + (rows + 1) * padding;
  const channels = c === 3 || diverging || bg[0] !== bg[1] || bg[1] !== bg[2] ? 3 : 1;
  const data = new Uint8Array(width * height * channels);
  for (let p = 0; p < width * height; p++) for (let k = 0; k < channels; k++) data[p * channels + k] = bg[k]!;

  const values = images.toTypedArray();
  const per = c * h * w;
  const norms = normalisers(values, n, per, normalize, diverging);
  const pixel: number[] = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    const [shift, factor] = norms[i]!;
    const left = padding + (i % columns) * (tileW + padding);
    const top = padding + Math.floor(i / columns) * (tileH + padding);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const at = i * per + y * w + x;
        if (diverging) {
          const rgb = divergingColor((values[at]! - shift) * factor);
          for (let k = 0; k < 3; k++) pixel[k] = rgb[k]!;
        } else {
          for (let k = 0; k < c; k++) pixel[k] = toByte((values[at + k * h * w]! - shift) * factor);
          if (c === 1) pixel[1] = pixel[2] = pixel[0]!; // a grey image on a coloured background
        }
        for (let dy = 0; dy < scale; dy++) {
          let q = ((top + y * scale + dy) * width + left + x * scale) * channels;
          for (let dx = 0; dx < scale; dx++) for (let k = 0; k < channels; k++) data[q++] = pixel[k]!;
        }
      }
    }
  }
  return { width, height, channels, data };
}

/**
 * Writes {@link imageGrid}'s picture of `images` to `path` as PNG, atomically.
 *
 *     saveImageGrid('runs/vae/samples.png', decoder.forward(z).reshape([64, 1, 28, 28]), { scale: 2 });
 */
export function saveImageGrid(path: string, images: Tensor, opts: ImageGridOptions = {}): void {
  savePng(path, imageGrid(images, opts));
}
