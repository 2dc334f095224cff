import { fail } from '../errors.js';
import { tensor } from '../tensor/creation.js';
import { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { seededEpochs } from './loader.js';
import type { Mnist } from './mnist.js';

/**
 * The caption words: digit d is `DIGIT_WORDS[d]`.
 *
 *     [3, 1, 4].map((d) => data.DIGIT_WORDS[d]).join(' ') // → 'three one four'
 */
export const DIGIT_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

/**
 * Caption token ids: `pad` 0, `bos` 1 (a caption's start), `eos` 2 (its end), and digit d is `digit + d`.
 *
 *     data.CAPTION_IDS.digit + 7 // → 10
 */
export const CAPTION_IDS = { pad: 0, bos: 1, eos: 2, digit: 3 } as const;
const { bos: CAPTION_BOS, eos: CAPTION_EOS, digit: DIGIT_OFFSET } = CAPTION_IDS;

/**
 * The captions' vocabulary in id order: `<pad> <bos> <eos> zero … nine`.
 *
 *     data.CAPTION_VOCAB.length // → 13
 */
export const CAPTION_VOCAB = ['<pad>', '<bos>', '<eos>', ...DIGIT_WORDS];

/** How strips are drawn. */
export interface DigitStripOptions {
  /** Canvas height in pixels (default 32). */
  height?: number;
  /** Canvas width in pixels (default 128); fixed, so that strips stack into batches. */
  width?: number;
  /** Digits per strip, uniform in 1..maxDigits (default 5). */
  maxDigits?: number;
  /** The range each digit's scale factor is drawn from, uniformly (default [0.8, 1.2]). */
  scale?: readonly [number, number];
  /** The range of the gap between neighbouring digits in pixels, uniform integers (default [1, 6]). */
  gap?: readonly [number, number];
}

/** One strip: its pixels, row-major [height × width] in [0, 1], the digits left to right, and where each lies. */
export interface DigitStrip {
  pixels: Float32Array;
  digits: number[];
  /** Each digit's box on the canvas, and the MNIST image it came from. */
  boxes: { x: number; y: number; width: number; height: number; image: number }[];
}

/** A batch of strips: images [B, 1, H, W], captions [B, maxDigits + 2] (`<bos>` digits `<eos>` then `<pad>`). */
export interface StripBatch {
  images: Tensor;
  captions: Tensor;
  digits: number[][];
}

type Settings = Required<DigitStripOptions>;

function settings(op: string, o: DigitStripOptions): Settings {
  const s: Settings = { height: 32, width: 128, maxDigits: 5, scale: [0.8, 1.2], gap: [1, 6], ...o };
  const int = (v: number, min: number) => Number.isInteger(v) && v >= min;
  if (!int(s.height, 28) || !int(s.width, 28))
    fail(op, `height and width must be integers ≥ 28, got ${s.height} × ${s.width}`);
  if (!int(s.maxDigits, 1)) fail(op, `maxDigits must be a positive integer, got ${s.maxDigits}`);
  const [lo, hi] = s.scale;
  if (!(lo > 0 && lo <= hi && 20 * hi <= s.height))
    fail(op, `scale must be [lo, hi] with 0 < lo ≤ hi and 20·hi ≤ height ${s.height}, got [${lo}, ${hi}]`);
  const [g0, g1] = s.gap;
  if (!(int(g0, 0) && int(g1, g0)))
    fail(op, `gap must be integers [lo, hi] with 0 ≤ lo ≤ hi, got [${g0}, ${g1}]`);
  // The widest possible digits (20 px of ink at the top scale) with the smallest gaps must fit.
  const widest = s.maxDigits * Math.round(20 * hi) + (s.maxDigits - 1) * g0;
  if (widest > s.width)
    fail(
      op,
      `${s.maxDigits} digits at scale ${hi} with gaps of ${g0} px need ${widest} px; the width is ${s.width}`,
    );
  return s;
}

/** The ink's bounding box of a 28 × 28 image (pixels above 0); a blank image gives its centre pixel. */
function inkBox(images: Float32Array, image: number): [number, number, number, number] {
  let [top, bottom, left, right] = [28, -1, 28, -1];
  const base = image * 784;
  for (let r = 0; r < 28; r++)
    for (let c = 0; c < 28; c++)
      if (images[base + r * 28 + c]! > 0) {
        if (r < top) top = r;
        if (r > bottom) bottom = r;
        if (c < left) left = c;
        if (c > right) right = c;
      }
  return bottom < 0 ? [14, 14, 14, 14] : [top, bottom, left, right];
}

/**
 * Draws one strip: k digits (k uniform in 1..maxDigits), each a random image of `pool` cropped to its
 * ink, scaled by a factor drawn from `scale` (bilinear), placed left to right with gaps drawn from `gap`
 * (narrowed where the strip would not fit), the row started at a random offset and each digit at its own
 * random height; overlaps keep the brighter pixel.
 *
 *     const mnist = data.loadMnist('test', { limit: 100 });
 *     const strip = data.drawDigitStrip(mnist, new Generator(3));
 *     strip.pixels.length // → 4096
 */
export function drawDigitStrip(
  mnist: Mnist,
  rng: Generator,
  options: DigitStripOptions & { pool?: Int32Array } = {},
): DigitStrip {
  const { pool, ...rest } = options;
  return drawStrip(mnist, pool ?? null, rng, settings('drawDigitStrip', rest));
}

function drawStrip(mnist: Mnist, pool: Int32Array | null, rng: Generator, s: Settings): DigitStrip {
  const images = mnist.images.data as Float32Array;
  const labels = mnist.labels.data as Int32Array;
  const available = pool ? pool.length : mnist.labels.shape[0]!;
  const k = rng.randint(1, s.maxDigits + 1);
  const parts = Array.from({ length: k }, () => {
    const image = pool ? pool[rng.randint(0, available)]! : rng.randint(0, available);
    const [top, bottom, left, right] = inkBox(images, image);
    const scale = s.scale[0] + (s.scale[1] - s.scale[0]) * rng.uniform();
    const [h, w] = [bottom - top + 1, right - left + 1];
    return {
      image,
      top,
      left,
      h,
      w,
      height: Math.max(1, Math.round(h * scale)),
      width: Math.max(1, Math.round(w * scale)),
    };
  });
  const gaps = Array.from({ length: k - 1 }, () => rng.randint(s.gap[0], s.gap[1] + 1));
  const inked = parts.reduce((a, p) => a + p.width, 0);
  let total = inked + gaps.reduce((a, g) => a + g, 0);
  // Too wide: narrow the widest gaps, one pixel at a time, never below the smallest gap.
  while (total > s.width) {
    const i = gaps.indexOf(Math.max(...gaps));
    gaps[i]!--;
    total--;
  }
  const pixels = new Float32Array(s.height * s.width);
  let x = rng.randint(0, s.width - total + 1);
  const boxes: DigitStrip['boxes'] = [];
  parts.forEach((p, i) => {
    const y = rng.randint(0, s.height - p.height + 1);
    const base = p.image * 784;
    // Bilinear resampling of the ink box: output pixel centres mapped back onto source pixel centres.
    const [sy, sx] = [p.h / p.height, p.w / p.width];
    for (let r = 0; r < p.height; r++) {
      const v = Math.min(Math.max((r + 0.5) * sy - 0.5, 0), p.h - 1);
      const r0 = Math.floor(v);
      const r1 = Math.min(r0 + 1, p.h - 1);
      const fr = v - r0;
      for (let c = 0; c < p.width; c++) {
        const u = Math.min(Math.max((c + 0.5) * sx - 0.5, 0), p.w - 1);
        const c0 = Math.floor(u);
        const c1 = Math.min(c0 + 1, p.w - 1);
        const fc = u - c0;
        const at = (rr: number, cc: number) => images[base + (p.top + rr) * 28 + p.left + cc]!;
        const value =
          (1 - fr) * ((1 - fc) * at(r0, c0) + fc * at(r0, c1)) +
          fr * ((1 - fc) * at(r1, c0) + fc * at(r1, c1));
        const q = (y + r) * s.width + x + c;
        if (value > pixels[q]!) pixels[q] = value;
      }
    }
    boxes.push({ x, y, width: p.width, height: p.height, image: p.image });
    x += p.width + (gaps[i] ?? 0);
  });
  return { pixels, digits: parts.map((p) => labels[p.image]!), boxes };
}

/** Strip `index`'s own generator under `seed`, so a strip does not depend on the batch size or on the strips before it. */
function stripGenerator(seed: number, index: number): Generator {
  return new Generator((Math.imul(index + 1, 0x9e3779b1) ^ Math.imul(seed >>> 0, 0x85ebca6b)) >>> 0);
}

/** Options of a set of strips. */
export interface DigitStripSetOptions extends DigitStripOptions {
  /** Strips in the set (per epoch, for training). */
  count: number;
  /** Strips per batch (default 64). */
  batchSize?: number;
  /** The seed that fixes every strip (a training epoch draws its own, see {@link stripEpochs}). */
  seed?: number;
  /** The MNIST images the strips may use (default: all of them). */
  pool?: Int32Array;
}

/**
 * A set of strips drawn from MNIST images, each strip made on demand from the seed and its index
 * (nothing is stored, and strip i is the same whatever the batch size): `batch(b)` gives batch b,
 * `strip(i)` strip i. Captions are `<bos>`, the digits' ids, `<eos>`, then `<pad>` up to maxDigits + 2.
 *
 *     const mnist = data.loadMnist('test', { limit: 200 });
 *     const strips = new data.DigitStrips(mnist, { count: 10, batchSize: 4, seed: 1 });
 *     strips.batch(0).images.shape // → [4, 1, 32, 128]
 *     strips.batch(2).captions.shape // → [2, 7]
 */
export class DigitStrips {
  readonly count: number;
  readonly batchSize: number;
  readonly seed: number;
  readonly height: number;
  readonly width: number;
  readonly maxDigits: number;
  private readonly settings: Settings;
  private readonly pool: Int32Array | null;

  constructor(
    readonly mnist: Mnist,
    options: DigitStripSetOptions,
  ) {
    const op = 'DigitStrips';
    const { count, batchSize = 64, seed = 0, pool, ...drawing } = options;
    if (!(Number.isInteger(count) && count >= 1)) fail(op, `count must be a positive integer, got ${count}`);
    if (!(Number.isInteger(batchSize) && batchSize >= 1))
      fail(op, `batchSize must be a positive integer, got ${batchSize}`);
    const n = mnist.labels.shape[0]!;
    if (pool !== undefined && (pool.length === 0 || pool.some((i) => !(i >= 0 && i < n))))
      fail(op, `pool must hold one or more image indices in 0..${n - 1}`);
    if (n === 0) fail(op, 'the MNIST split holds no images');
    this.settings = settings(op, drawing);
    ({ height: this.height, width: this.width, maxDigits: this.maxDigits } = this.settings);
    this.count = count;
    this.batchSize = batchSize;
    this.seed = seed;
    this.pool = pool ?? null;
  }

  /** Batches in the set. */
  get length(): number {
    return Math.ceil(this.count / this.batchSize);
  }

  /** Strip `index` under `seed` (default the set's). */
  strip(index: number, seed = this.seed): DigitStrip {
    return drawStrip(this.mnist, this.pool, stripGenerator(seed, index), this.settings);
  }

  /** Batch `b` under `seed` (default the set's): strips b·batchSize onwards. */
  batch(b: number, seed = this.seed): StripBatch {
    if (!(Number.isInteger(b) && b >= 0 && b < this.length))
      fail('DigitStrips.batch', `batch ${b} is outside 0..${this.length - 1}`);
    const start = b * this.batchSize;
    const n = Math.min(this.batchSize, this.count - start);
    const area = this.height * this.width;
    const pixels = new Float32Array(n * area);
    const T = this.maxDigits + 2;
    const captions = new Int32Array(n * T);
    const digits: number[][] = [];
    for (let i = 0; i < n; i++) {
      const s = this.strip(start + i, seed);
      pixels.set(s.pixels, i * area);
      captions.set(caption(s.digits, T), i * T);
      digits.push(s.digits);
    }
    return {
      images: tensor(pixels, { shape: [n, 1, this.height, this.width] }),
      captions: tensor(captions, { shape: [n, T] }),
      digits,
    };
  }

  /** Every batch in order under `seed` (default the set's). */
  *batches(seed = this.seed): IterableIterator<StripBatch> {
    for (let b = 0; b < this.length; b++) yield this.batch(b, seed);
  }
}

/**
 * A caption's ids: `<bos>`, the digits, `<eos>`, padded to `length`.
 *
 *     data.caption([3, 1, 4], 7) // → [1, 6, 4, 7, 2, 0, 0]
 */
export function caption(digits: readonly number[], length = digits.length + 2): Int32Array {
  if (digits.length + 2 > length)
    fail(
      'caption',
      `${digits.length} digits need ${digits.length + 2} ids with <bos> and <eos>, got room for ${length}`,
    );
  const ids = new Int32Array(length);
  ids[0] = CAPTION_BOS;
  digits.forEach((d, i) => {
    ids[i + 1] = DIGIT_OFFSET + d;
  });
  ids[digits.length + 1] = CAPTION_EOS;
  return ids;
}

/**
 * A training epoch of new strips: each epoch draws one seed from the run's `generator` as it starts and
 * makes its strips from it, so every epoch sees different strips and a resumed run (whose generator is
 * restored to the epoch's start) sees the same ones.
 *
 *     const strips = new data.DigitStrips(data.loadMnist('test', { limit: 100 }), { count: 8, batchSize: 4 });
 *     const epoch = data.stripEpochs(strips, new Generator(0));
 *     [...epoch.iterate()].length // → 2
 */
export function stripEpochs(
  strips: DigitStrips,
  generator: Generator,
): { length: number; iterate(o?: { startBatch?: number }): Iterable<StripBatch> } {
  return seededEpochs(strips.length, generator, (seed) => (b) => strips.batch(b, seed));
}

/** How well captions were read: whole strips and digits. */
export interface ReadingAccuracy {
  /** Strips whose caption came out exactly (every digit, and the length). */
  sequence: number;
  /** Reference digits read right at their position. */
  perDigit: number;
  strips: number;
  digits: number;
}

/**
 * Sequence and per-digit accuracy of read captions against the references. A strip counts as read
 * when the output equals the reference exactly, length included. Per digit, each reference position i
 * is right when the output has the same digit at position i: an output too short counts its missing
 * positions wrong, and digits an output has beyond the reference's length count in no position (they
 * only make the strip wrong).
 *
 *     data.readingAccuracy([[3, 1, 4], [1, 5]], [[3, 1, 4], [1, 5, 9]])
 *     // → { sequence: 0.5, perDigit: 0.8333333333333334, strips: 2, digits: 6 }
 */
export function readingAccuracy(
  predicted: readonly (readonly number[])[],
  reference: readonly (readonly number[])[],
): ReadingAccuracy {
  if (predicted.length !== reference.length)
    fail(
      'readingAccuracy',
      `${predicted.length} outputs for ${reference.length} references: they must pair up`,
    );
  let [strips, digits] = [0, 0];
  let [rightStrips, rightDigits] = [0, 0];
  predicted.forEach((p, i) => {
    const r = reference[i]!;
    strips++;
    digits += r.length;
    let same = 0;
    r.forEach((d, j) => {
      if (p[j] === d) same++;
    });
    rightDigits += same;
    if (same === r.length && p.length === r.length) rightStrips++;
  });
  return {
    sequence: strips === 0 ? 0 : rightStrips / strips,
    perDigit: digits === 0 ? 0 : rightDigits / digits,
    strips,
    digits,
  };
}
