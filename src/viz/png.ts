import { PNG } from 'pngjs';
import { fail } from '../errors.js';
import { readFileBytes, writeFileAtomic } from '../io/atomic.js';

/**
 * An 8-bit image: `height` rows of `width` pixels, each `channels` bytes (1: grey, 3: red, green, blue),
 * stored row by row with the channels of a pixel side by side (`data[(y * width + x) * channels + c]`).
 */
export interface ImageBuffer {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly data: Uint8Array;
}

/**
 * Pixels to turn into an image, laid out like an {@link ImageBuffer}. Bytes (`Uint8Array`) are taken as
 * they are; floating-point values are intensities in [0, 1] (clamped), or with `normalize: 'minmax'`
 * are first mapped so that the smallest becomes 0 and the largest 1.
 */
export interface Pixels {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly data: Uint8Array | Float32Array | Float64Array;
}

export interface PixelOptions {
  /**
   * How floating-point values become intensities: `'none'` (default) clamps them to [0, 1]; `'minmax'`
   * maps [min, max] onto [0, 1] over all channels together, so a constant image comes out mid-grey.
   * Ignored for bytes.
   */
  normalize?: 'none' | 'minmax';
}

function checkPixels(op: string, p: Pixels): void {
  if (!Number.isInteger(p.width) || !Number.isInteger(p.height) || p.width < 1 || p.height < 1)
    fail(op, `width and height must be positive integers, got ${p.width}×${p.height}`);
  if (p.channels !== 1 && p.channels !== 3)
    fail(op, `channels must be 1 (grey) or 3 (RGB), got ${String(p.channels)}`);
  const expected = p.width * p.height * p.channels;
  if (p.data.length !== expected)
    fail(
      op,
      `a ${p.width}×${p.height} image with ${p.channels} channel(s) needs ${expected} values, got ${p.data.length}`,
    );
}

/**
 * The smallest and largest finite values in `values`; `[0, 0]` if there are none. Non-finite values
 * (a diverged weight) are left out so that one NaN or infinity does not wash out the whole image.
 */
export function finiteRange(values: ArrayLike<number>): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    // Only reached when some value is infinite or every value is NaN: rescan for finite ones alone.
    lo = Number.POSITIVE_INFINITY;
    hi = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (!Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (lo > hi) return [0, 0];
  }
  return [lo, hi];
}

/** An intensity in [0, 1] as a byte; NaN becomes 0 and values outside the range are clamped. */
export function toByte(v: number): number {
  if (!(v > 0)) return 0;
  if (v >= 1) return 255;
  return Math.round(v * 255);
}

/**
 * Converts pixels to 8-bit, clamping or min–max normalising floating-point values (see
 * {@link PixelOptions}).
 *
 *     toImageBuffer({ width: 2, height: 1, channels: 1, data: new Float32Array([-3, 5]) }, { normalize: 'minmax' })
 *     // → data [0, 255]
 */
export function toImageBuffer(pixels: Pixels, opts: PixelOptions = {}): ImageBuffer {
  return convert('toImageBuffer', pixels, opts);
}

function convert(op: string, pixels: Pixels, opts: PixelOptions): ImageBuffer {
  checkPixels(op, pixels);
  const { width, height, channels, data } = pixels;
  if (data instanceof Uint8Array) return { width, height, channels, data };
  const normalize = opts.normalize ?? 'none';
  if (normalize !== 'none' && normalize !== 'minmax')
    fail(op, `normalize must be 'none' or 'minmax', got '${String(normalize)}'`);
  let shift = 0;
  let scale = 1;
  if (normalize === 'minmax') {
    const [lo, hi] = finiteRange(data);
    // A constant image has no contrast to stretch: show it mid-grey rather than divide by zero.
    if (hi > lo) [shift, scale] = [lo, 1 / (hi - lo)];
    else [shift, scale] = [lo - 0.5, 1];
  }
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = toByte((data[i]! - shift) * scale);
  return { width, height, channels, data: out };
}

/**
 * Encodes an image as PNG: 8-bit greyscale (colour type 0) for one channel, 8-bit RGB (colour type 2)
 * for three.
 */
export function encodePng(pixels: Pixels, opts: PixelOptions = {}): Uint8Array {
  return encode('encodePng', pixels, opts);
}

function encode(op: string, pixels: Pixels, opts: PixelOptions): Uint8Array {
  const image = convert(op, pixels, opts);
  const colorType = image.channels === 1 ? 0 : 2;
  const png = new PNG();
  png.width = image.width;
  png.height = image.height;
  png.data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  return PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: false });
}

/**
 * Decodes a PNG of any colour type and bit depth into 8-bit pixels: greyscale images get one channel,
 * colour and palette images three. Transparency is dropped (the colour channels are kept as stored).
 */
export function decodePng(bytes: Uint8Array): ImageBuffer {
  return decode('decodePng', bytes);
}

function decode(op: string, bytes: Uint8Array): ImageBuffer {
  let png: { width: number; height: number; color: boolean; data: Buffer };
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    return fail(op, `not a valid PNG image (${(e as Error).message})`);
  }
  const channels = png.color ? 3 : 1;
  const n = png.width * png.height;
  const data = new Uint8Array(n * channels);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < channels; c++) data[i * channels + c] = png.data[i * 4 + c]!;
  return { width: png.width, height: png.height, channels, data };
}

/**
 * Writes an image to `path` as PNG, atomically: the file holds either its old contents or the whole new
 * image, never half of one.
 *
 *     savePng('runs/mnist/digit.png', { width: 28, height: 28, channels: 1, data: pixels }, { normalize: 'minmax' })
 */
export function savePng(path: string, pixels: Pixels, opts: PixelOptions = {}): void {
  writeFileAtomic(path, encode('savePng', pixels, opts));
}

/** Reads a PNG file (see {@link decodePng}). */
export function loadPng(path: string): ImageBuffer {
  return decode(`loadPng: '${path}'`, readFileBytes('loadPng', path));
}
