import { fail, fmtShape } from '../errors.js';
import { Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * Data augmentation: random deformations of training images that make new training examples from the
 * existing ones (shifts, rotations, scalings, the elastic distortions of Simard, Steinkraus & Platt, 2003),
 * in the spirit of torchvision's `transforms`. They work on single images stored as Float32Array rows,
 * channel by channel and row-major (C×H×W: an MNIST row of 784 values is 1×28×28), with plain loops and
 * no tensor ops, and they change the image in place and keep its shape.
 *
 * Every random transform takes its generator as an argument, so a seed fixes every deformation; nothing
 * draws from a hidden global. `AugmentedDataLoader` applies a transform to each batch a DataLoader builds.
 */

/** The shape of one image: [channels, height, width]. */
export type ImageShape = readonly [channels: number, height: number, width: number];

/**
 * A transform: deforms one C×H×W image, the values of `image`, in place, drawing every random number it
 * needs from `generator`. Build them with `randomAffine`, `elasticDistortion`, ... and `compose`.
 */
export type Transform = (image: Float32Array, shape: ImageShape, generator: Generator) => void;

/** The parameters of `affine`, all optional; the defaults leave the image as it is. */
export interface AffineParams {
  /** Rotation in degrees about the image's centre, counter-clockwise as displayed (y down) (default 0). */
  angle?: number;
  /** Translation in pixels, `[dx, dy]`: right and down (default [0, 0]). */
  translate?: readonly [number, number];
  /** Scale factor about the centre: > 1 enlarges (default 1). */
  scale?: number;
  /** Shear parallel to the x axis in degrees: x moves by tan(shear) × (y − centre) (default 0). */
  shear?: number;
}

/**
 * The image moved by an affine map about its centre c = ((W−1)/2, (H−1)/2): the pixel at p goes to
 * q = c + t + s·R(angle)·Sh(shear)·(p − c). Each output pixel q takes the input at p = c + M⁻¹(q − c − t),
 * interpolated bilinearly from its four neighbours, with zeros outside the image. Angles that are
 * multiples of 90° and integer translations move pixels exactly. Writes into `out` (a new array if not
 * given; it must not be `image`) and returns it.
 *
 *     const image = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9); // one 3×3 channel, row by row
 *     data.affine(image, [1, 3, 3], { angle: 90 }) // → [3, 6, 9, 2, 5, 8, 1, 4, 7]
 *     const digit = data.loadMnist('test', { limit: 1 }).images.toTypedArray() as Float32Array;
 *     const tilted = data.affine(digit, [1, 28, 28], { angle: 15, scale: 1.1 });
 */
export function affine(
  image: Float32Array,
  shape: ImageShape,
  params: AffineParams,
  out: Float32Array = new Float32Array(image.length),
): Float32Array {
  checkImage('affine', image, shape);
  checkOut('affine', image, out);
  const { angle = 0, translate = [0, 0], scale = 1, shear = 0 } = params;
  if (![angle, translate[0], translate[1], shear, scale].every(Number.isFinite) || !(scale > 0)) {
    fail(
      'affine',
      `expected finite angle, translate and shear and a positive scale, got angle ${angle}, translate [${translate.join(', ')}], scale ${scale}, shear ${shear}`,
    );
  }
  const [, height, width] = shape;
  const { xs, ys } = affineGrid(height, width, { angle, translate, scale, shear }, new Coordinates());
  remap(image, out, shape, xs, ys);
  return out;
}

/**
 * The image moved by whole pixels, `dx` right and `dy` down, with zeros where nothing moved in: pixels are
 * copied, not interpolated. Writes into `out` (a new array if not given; not `image`) and returns it.
 *
 *     const image = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9); // one 3×3 channel, row by row
 *     data.shift(image, [1, 3, 3], 1, 0) // → [0, 1, 2, 0, 4, 5, 0, 7, 8]
 */
export function shift(
  image: Float32Array,
  shape: ImageShape,
  dx: number,
  dy: number,
  out: Float32Array = new Float32Array(image.length),
): Float32Array {
  checkImage('shift', image, shape);
  checkOut('shift', image, out);
  if (!Number.isInteger(dx) || !Number.isInteger(dy)) {
    fail('shift', `dx and dy must be integers, got ${dx} and ${dy}; use affine for sub-pixel moves`);
  }
  const [channels, height, width] = shape;
  out.fill(0);
  const x0 = Math.max(0, dx);
  const x1 = Math.min(width, width + dx);
  if (x1 <= x0) return out;
  for (let c = 0; c < channels; c++) {
    for (let y = Math.max(0, dy); y < Math.min(height, height + dy); y++) {
      const from = (c * height + y - dy) * width - dx;
      out.set(image.subarray(from + x0, from + x1), (c * height + y) * width + x0);
    }
  }
  return out;
}

/**
 * Moves the image by whole pixels, dx and dy drawn uniformly from −maxPixels..maxPixels, with zero fill.
 *
 *     const { images } = data.loadMnist('test', { limit: 8 });
 *     const moved = data.augmentImages(images, [1, 28, 28], data.randomShift(2), generator); // up to 2 pixels each way
 */
export function randomShift(maxPixels: number): Transform {
  const op = 'randomShift';
  checkCount(op, 'maxPixels', maxPixels);
  const scratch = new Scratch();
  return checked(op, (image, shape, generator) => {
    const dx = generator.randint(-maxPixels, maxPixels + 1);
    const dy = generator.randint(-maxPixels, maxPixels + 1);
    shift(scratch.copyOf(image), shape, dx, dy, image);
  });
}

/**
 * Rotates the image about its centre by an angle drawn uniformly from [−degrees, degrees] (or from
 * [min, max]), counter-clockwise for positive angles, with bilinear interpolation and zero fill.
 *
 *     const tilt = data.randomRotation(15);       // within ±15°
 *     const turn = data.randomRotation([90, 90]); // always a quarter turn
 *     const image = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9); // one 3×3 channel, row by row
 *     turn(image, [1, 3, 3], generator); // in place
 *     image // → [3, 6, 9, 2, 5, 8, 1, 4, 7]
 */
export function randomRotation(degrees: number | readonly [number, number]): Transform {
  return makeRandomAffine('randomRotation', { degrees });
}

/**
 * Scales the image about its centre by a factor drawn uniformly from [min, max], with bilinear
 * interpolation and zero fill: < 1 shrinks it, > 1 enlarges it (and crops what falls outside).
 *
 *     const { images } = data.loadMnist('test', { limit: 8 });
 *     const resized = data.augmentImages(images, [1, 28, 28], data.randomScale(0.9, 1.1), generator);
 */
export function randomScale(min: number, max: number): Transform {
  return makeRandomAffine('randomScale', { scale: [min, max] });
}

/** The ranges `randomAffine` draws from; each is optional, and a missing one leaves that part out. */
export interface RandomAffineOptions {
  /** Rotation in degrees: d means [−d, d], or give [min, max] (default 0). */
  degrees?: number | readonly [number, number];
  /**
   * Largest translation as fractions of the width and the height: dx is drawn from [−a·W, a·W] and dy
   * from [−b·H, b·H], each rounded to whole pixels, as in torchvision (default none).
   */
  translate?: readonly [number, number];
  /** The scale factor's range [min, max] (default 1). */
  scale?: readonly [number, number];
  /** Shear parallel to the x axis in degrees: s means [−s, s], or give [min, max] (default 0). */
  shear?: number | readonly [number, number];
}

/**
 * A random affine map about the centre (torchvision's `RandomAffine`): rotation, translation, scale and
 * shear drawn uniformly from the given ranges for every image, applied by `affine` (bilinear, zero fill).
 * Each image draws five numbers, in this order: angle, dx, dy, scale, shear.
 *
 *     const jitter = data.randomAffine({ degrees: 10, translate: [0.1, 0.1], scale: [0.9, 1.1] });
 *     const { images } = data.loadMnist('test', { limit: 8 });
 *     data.augmentImages(images, [1, 28, 28], jitter, generator).shape // → [8, 784]
 */
export function randomAffine(opts: RandomAffineOptions): Transform {
  return makeRandomAffine('randomAffine', opts);
}

/** randomAffine, with errors named after `op` (randomRotation and randomScale are special cases). */
function makeRandomAffine(op: string, opts: RandomAffineOptions): Transform {
  if (typeof opts !== 'object' || opts === null) fail(op, 'options must be an object');
  const degrees = symmetricRange(op, 'degrees', opts.degrees ?? 0);
  const shear = symmetricRange(op, 'shear', opts.shear ?? 0);
  const [fx, fy] = opts.translate ?? [0, 0];
  if (!(fx! >= 0 && fx! <= 1 && fy! >= 0 && fy! <= 1) || (opts.translate && opts.translate.length !== 2)) {
    fail(op, `translate must be two fractions in [0, 1], got [${opts.translate?.join(', ')}]`);
  }
  const [s0, s1] = opts.scale ?? [1, 1];
  if (!(s0! > 0 && s1! >= s0! && Number.isFinite(s1)) || (opts.scale && opts.scale.length !== 2)) {
    fail(op, `scale must be [min, max] with 0 < min <= max, got [${opts.scale?.join(', ')}]`);
  }
  const scratch = new Scratch();
  const grid = new Coordinates();
  return checked(op, (image, shape, generator) => {
    const [, height, width] = shape;
    const angle = uniform(generator, degrees[0], degrees[1]);
    const dx = Math.round(uniform(generator, -fx! * width, fx! * width));
    const dy = Math.round(uniform(generator, -fy! * height, fy! * height));
    const scale = uniform(generator, s0!, s1!);
    const shearAngle = uniform(generator, shear[0], shear[1]);
    const src = scratch.copyOf(image);
    const { xs, ys } = affineGrid(
      height,
      width,
      { angle, translate: [dx, dy], scale, shear: shearAngle },
      grid,
    );
    remap(src, image, shape, xs, ys);
  });
}

/** The settings of `elasticDistortion`. */
export interface ElasticOptions {
  /** The displacements' scale in pixels (Simard et al. use 34 on 28×28 digits); 0 leaves images as they are. */
  alpha: number;
  /** The standard deviation in pixels of the Gaussian that smooths the displacements (Simard et al.: 4). */
  sigma: number;
}

/**
 * Elastic distortion (Simard, Steinkraus & Platt, 2003, §2): random displacement fields Δx, Δy, each pixel
 * uniform in [−1, 1], smoothed by a Gaussian of standard deviation σ (truncated at 4σ, zero beyond the
 * edges) and scaled by α; the output pixel (x, y) is the input at (x + Δx, y + Δy), interpolated
 * bilinearly, with zeros outside. Small σ gives nearly random, large σ nearly affine displacements. One
 * field serves all channels. Each image draws 2·H·W numbers.
 *
 *     const elastic = data.elasticDistortion({ alpha: 34, sigma: 4 }); // Simard et al.'s setting for MNIST
 *     const { images } = data.loadMnist('test', { limit: 8 });
 *     data.augmentImages(images, [1, 28, 28], elastic, generator).shape // → [8, 784]
 */
export function elasticDistortion(opts: ElasticOptions): Transform {
  const op = 'elasticDistortion';
  if (typeof opts !== 'object' || opts === null) fail(op, 'options must be an object { alpha, sigma }');
  const { alpha, sigma } = opts;
  if (!(Number.isFinite(alpha) && alpha >= 0)) fail(op, `alpha must be a non-negative number, got ${alpha}`);
  if (!(Number.isFinite(sigma) && sigma > 0)) fail(op, `sigma must be a positive number, got ${sigma}`);
  const kernel = gaussianKernel(sigma);
  const scratch = new Scratch();
  const grid = new Coordinates();
  let blur = new Float64Array(0);
  return checked(op, (image, shape, generator) => {
    const [, height, width] = shape;
    const plane = height * width;
    const { xs, ys } = grid.ensure(plane);
    if (blur.length < plane) blur = new Float64Array(plane);
    // Both fields are drawn first, Δx then Δy, so the draws do not depend on the smoothing.
    for (let p = 0; p < plane; p++) xs[p] = generator.nextU32() * 2 ** -31 - 1;
    for (let p = 0; p < plane; p++) ys[p] = generator.nextU32() * 2 ** -31 - 1;
    for (const field of [xs, ys]) {
      smooth(field, blur, height, width, kernel);
      for (let y = 0, p = 0; y < height; y++) {
        for (let x = 0; x < width; x++, p++) field[p] = (field === xs ? x : y) + alpha * field[p]!;
      }
    }
    remap(scratch.copyOf(image), image, shape, xs, ys);
  });
}

/**
 * Pads the image with `padding` zeros on every side and crops it back to `size` at a random place
 * (torchvision's `RandomCrop(size, padding)`, the usual CIFAR augmentation). Transforms keep an image's
 * shape, so `size` must be the image's own [height, width] (a number means a square): the crop is a
 * whole-pixel shift by up to `padding` each way, with zero fill. The top offset is drawn, then the left.
 *
 *     const crop = data.randomCrop(32, 4); // on 3×32×32 images
 *     const photos = rand([2, 3 * 32 * 32], { generator });
 *     data.augmentImages(photos, [3, 32, 32], crop, generator).shape // → [2, 3072]
 */
export function randomCrop(size: number | readonly [number, number], padding = 0): Transform {
  const op = 'randomCrop';
  const [h, w] = typeof size === 'number' ? [size, size] : size;
  if (!(Number.isInteger(h) && h! > 0 && Number.isInteger(w) && w! > 0)) {
    fail(op, `size must be a positive integer or [height, width], got ${String(size)}`);
  }
  checkCount(op, 'padding', padding);
  const scratch = new Scratch();
  return checked(op, (image, shape, generator) => {
    if (shape[1] !== h || shape[2] !== w) {
      fail(
        op,
        `the crop size ${h}×${w} must equal the image size ${shape[1]}×${shape[2]}: transforms keep the shape, so crops only move the image within its padding`,
      );
    }
    const top = generator.randint(0, 2 * padding + 1);
    const left = generator.randint(0, 2 * padding + 1);
    shift(scratch.copyOf(image), shape, padding - left, padding - top, image);
  });
}

/**
 * Mirrors the image left to right with probability p (default 0.5); one draw per image.
 *
 *     const image = Float32Array.of(1, 2, 3, 4, 5, 6); // one 2×3 channel, row by row
 *     data.randomHorizontalFlip(1)(image, [1, 2, 3], generator); // p = 1: always, in place
 *     image // → [3, 2, 1, 6, 5, 4]
 */
export function randomHorizontalFlip(p = 0.5): Transform {
  const op = 'randomHorizontalFlip';
  if (!(p >= 0 && p <= 1)) fail(op, `p must be a probability in [0, 1], got ${p}`);
  return checked(op, (image, shape, generator) => {
    if (generator.uniform() >= p) return;
    const [channels, height, width] = shape;
    for (let row = 0; row < channels * height; row++) {
      for (let a = row * width, b = a + width - 1; a < b; a++, b--) {
        const t = image[a]!;
        image[a] = image[b]!;
        image[b] = t;
      }
    }
  });
}

/**
 * The transforms applied one after another (torchvision's `Compose`).
 *
 *     const augment = data.compose(
 *       data.randomAffine({ degrees: 10, scale: [0.9, 1.1] }),
 *       data.elasticDistortion({ alpha: 34, sigma: 4 }),
 *     );
 *     const { images } = data.loadMnist('test', { limit: 8 });
 *     data.augmentImages(images, [1, 28, 28], augment, generator).shape // → [8, 784]
 */
export function compose(...transforms: Transform[]): Transform {
  transforms.forEach((t, k) => {
    if (typeof t !== 'function') fail('compose', `argument ${k} is not a transform (a function)`);
  });
  return (image, shape, generator) => {
    for (const t of transforms) t(image, shape, generator);
  };
}

/**
 * Applies `transform` to each row of the float32 array `rows` in place, row after row: `rows` holds whole
 * C×H×W images back to back. This is what `AugmentedDataLoader` does to each batch it builds.
 *
 *     const rows = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8); // two 1×2×2 images
 *     data.transformRows(rows, [1, 2, 2], data.randomHorizontalFlip(1), generator);
 *     rows // → [2, 1, 4, 3, 6, 5, 8, 7]
 */
export function transformRows(
  rows: Float32Array,
  shape: ImageShape,
  transform: Transform,
  generator: Generator,
): void {
  const size = imageSize('transformRows', shape);
  if (rows.length % size !== 0) {
    fail(
      'transformRows',
      `${rows.length} values are not whole images of ${fmtShape(shape)} (${size} values each)`,
    );
  }
  for (let start = 0; start < rows.length; start += size) {
    transform(rows.subarray(start, start + size), shape, generator);
  }
}

/**
 * A transformed copy of a batch of images: `images` is float32 [N, ...] with C×H×W values per row; each
 * row is transformed in order, drawing from `generator`. Use it to enlarge a training set once with
 * deformed copies (concatenated to the originals); `AugmentedDataLoader` makes fresh ones every epoch.
 *
 *     const train = data.loadMnist('train', { limit: 64 });
 *     const more = data.augmentImages(train.images, [1, 28, 28], data.elasticDistortion({ alpha: 34, sigma: 4 }), new Generator(1));
 *     const images = concat([train.images, more]);
 *     images.shape // → [128, 784]
 */
export function augmentImages(
  images: Tensor,
  shape: ImageShape,
  transform: Transform,
  generator: Generator,
): Tensor {
  const op = 'augmentImages';
  if (!(images instanceof Tensor) || images.dtype !== 'float32' || images.rank < 1) {
    fail(op, 'images must be a float32 Tensor with one image per row');
  }
  if (!(generator instanceof Generator)) fail(op, 'generator must be a Generator from tensor/random');
  const size = imageSize(op, shape);
  if (images.size !== images.shape[0]! * size) {
    fail(
      op,
      `images ${fmtShape(images.shape)} do not hold one ${fmtShape(shape)} image (${size} values) per row`,
    );
  }
  const data = images.toTypedArray() as Float32Array;
  transformRows(data, shape, transform, generator);
  return new Tensor(data, images.shape);
}

// ---------------------------------------------------------------------------------------------------------

/** A uniform draw from [low, high] (exactly low when the range is empty). */
function uniform(generator: Generator, low: number, high: number): number {
  return low + (high - low) * generator.uniform();
}

/** d → [−d, d]; [a, b] stays. */
function symmetricRange(
  op: string,
  name: string,
  value: number | readonly [number, number],
): [number, number] {
  const range: readonly number[] = typeof value === 'number' ? [-value, value] : value;
  if (
    !Array.isArray(range) ||
    range.length !== 2 ||
    !range.every(Number.isFinite) ||
    range[0]! > range[1]! ||
    (typeof value === 'number' && value < 0)
  ) {
    fail(op, `${name} must be a non-negative number d (for [−d, d]) or [min, max], got ${String(value)}`);
  }
  return [range[0]!, range[1]!];
}

function checkCount(op: string, name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) fail(op, `${name} must be a non-negative integer, got ${value}`);
}

function imageSize(op: string, shape: ImageShape): number {
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    fail(op, `an image shape is [channels, height, width] of positive integers, got ${String(shape)}`);
  }
  return shape[0] * shape[1] * shape[2];
}

function checkImage(op: string, image: Float32Array, shape: ImageShape): void {
  if (!(image instanceof Float32Array)) fail(op, 'the image must be a Float32Array');
  const size = imageSize(op, shape);
  if (image.length !== size) {
    fail(op, `the image has ${image.length} values but its shape ${fmtShape(shape)} needs ${size}`);
  }
}

function checkOut(op: string, image: Float32Array, out: Float32Array): void {
  if (!(out instanceof Float32Array) || out.length !== image.length) {
    fail(op, `out must be a Float32Array of ${image.length} values like the image`);
  }
  const overlap =
    out.buffer === image.buffer &&
    out.byteOffset < image.byteOffset + image.byteLength &&
    image.byteOffset < out.byteOffset + out.byteLength;
  if (overlap) fail(op, 'out must not overlap the image; it is written while the image is read');
}

/** The transform `fn` with its image checked first, so that every transform's errors name it. */
function checked(op: string, fn: Transform): Transform {
  return (image, shape, generator) => {
    checkImage(op, image, shape);
    if (!(generator instanceof Generator)) fail(op, 'the generator must be a Generator from tensor/random');
    fn(image, shape, generator);
  };
}

/** A reusable copy buffer, so that in-place transforms allocate once, not per image. */
class Scratch {
  private buffer = new Float32Array(0);

  /** A copy of `image` in the buffer, valid until the next call. */
  copyOf(image: Float32Array): Float32Array {
    if (this.buffer.length < image.length) this.buffer = new Float32Array(image.length);
    const copy = this.buffer.subarray(0, image.length);
    copy.set(image);
    return copy;
  }
}

/** Reusable arrays of source coordinates, one (x, y) per output pixel. */
class Coordinates {
  xs = new Float64Array(0);
  ys = new Float64Array(0);

  ensure(n: number): { xs: Float64Array; ys: Float64Array } {
    if (this.xs.length < n) {
      this.xs = new Float64Array(n);
      this.ys = new Float64Array(n);
    }
    return { xs: this.xs.subarray(0, n), ys: this.ys.subarray(0, n) };
  }
}

/** cos and sin of an angle in degrees, exact (0, ±1) at multiples of 90° so quarter turns move pixels exactly. */
function cosSin(degrees: number): [number, number] {
  const quarter = degrees / 90;
  if (Number.isInteger(quarter)) {
    const k = ((quarter % 4) + 4) % 4;
    return [[1, 0, -1, 0][k]!, [0, 1, 0, -1][k]!];
  }
  const rad = (degrees * Math.PI) / 180;
  return [Math.cos(rad), Math.sin(rad)];
}

/** For each output pixel, the input point that `affine`'s map sends there. */
function affineGrid(
  height: number,
  width: number,
  p: Required<AffineParams>,
  grid: Coordinates,
): { xs: Float64Array; ys: Float64Array } {
  const [cos, sin] = cosSin(p.angle);
  const tan = p.shear === 0 ? 0 : Math.tan((p.shear * Math.PI) / 180);
  // M = s·R·Sh with R = [[cos, sin], [−sin, cos]] (counter-clockwise with y down), Sh = [[1, tan], [0, 1]].
  const m00 = p.scale * cos;
  const m01 = p.scale * (cos * tan + sin);
  const m10 = -p.scale * sin;
  const m11 = p.scale * (cos - sin * tan);
  const det = m00 * m11 - m01 * m10;
  const i00 = m11 / det;
  const i01 = -m01 / det;
  const i10 = -m10 / det;
  const i11 = m00 / det;
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const { xs, ys } = grid.ensure(height * width);
  for (let y = 0, k = 0; y < height; y++) {
    const v = y - cy - p.translate[1];
    for (let x = 0; x < width; x++, k++) {
      const u = x - cx - p.translate[0];
      xs[k] = cx + i00 * u + i01 * v;
      ys[k] = cy + i10 * u + i11 * v;
    }
  }
  return { xs, ys };
}

/**
 * dst at each pixel p of every channel = src at (xs[p], ys[p]), interpolated bilinearly, with zeros
 * outside the image. At integer coordinates the weight of the one neighbour is exactly 1, so a pixel
 * that lands on the grid is copied exactly. `src` and `dst` must not overlap.
 */
function remap(
  src: Float32Array,
  dst: Float32Array,
  shape: ImageShape,
  xs: Float64Array,
  ys: Float64Array,
): void {
  const [channels, height, width] = shape;
  const plane = height * width;
  for (let p = 0; p < plane; p++) {
    const x = xs[p]!;
    const y = ys[p]!;
    const x0 = Math.floor(x);
    const y0 = Math.floor(y);
    if (!(x0 >= -1 && x0 < width && y0 >= -1 && y0 < height)) {
      for (let c = 0, q = p; c < channels; c++, q += plane) dst[q] = 0;
      continue;
    }
    const fx = x - x0;
    const fy = y - y0;
    const left = x0 >= 0;
    const right = x0 + 1 < width;
    const top = y0 >= 0;
    const bottom = y0 + 1 < height;
    // A weight is 0 for a neighbour outside the image, which is then never read.
    const w00 = left && top ? (1 - fx) * (1 - fy) : 0;
    const w01 = right && top ? fx * (1 - fy) : 0;
    const w10 = left && bottom ? (1 - fx) * fy : 0;
    const w11 = right && bottom ? fx * fy : 0;
    const corner = y0 * width + x0;
    for (let c = 0, q = p, s = corner; c < channels; c++, q += plane, s += plane) {
      let v = 0;
      if (w00 !== 0) v += w00 * src[s]!;
      if (w01 !== 0) v += w01 * src[s + 1]!;
      if (w10 !== 0) v += w10 * src[s + width]!;
      if (w11 !== 0) v += w11 * src[s + width + 1]!;
      dst[q] = v;
    }
  }
}

/** A normalised Gaussian of standard deviation sigma on −r..r, r = round(4σ) (scipy's `truncate=4`). */
function gaussianKernel(sigma: number): Float64Array {
  const radius = Math.floor(4 * sigma + 0.5);
  const kernel = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let k = -radius; k <= radius; k++) {
    const w = Math.exp((-k * k) / (2 * sigma * sigma));
    kernel[k + radius] = w;
    sum += w;
  }
  for (let k = 0; k < kernel.length; k++) kernel[k]! /= sum;
  return kernel;
}

/**
 * Convolves the height×width field with the kernel along x, then along y, with zeros beyond the edges.
 * The second pass adds whole rows, so both passes read memory in order.
 */
function smooth(
  field: Float64Array,
  tmp: Float64Array,
  height: number,
  width: number,
  kernel: Float64Array,
): void {
  // An integer radius (>> 1, not / 2) keeps the kernel's indices small integers, which V8 indexes fastest.
  const r = (kernel.length - 1) >> 1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const j0 = Math.max(0, x - r);
      const j1 = Math.min(width - 1, x + r);
      let v = 0;
      for (let j = j0, k = j0 - x + r; j <= j1; j++, k++) v += kernel[k]! * field[row + j]!;
      tmp[row + x] = v;
    }
  }
  for (let y = 0; y < height; y++) {
    const out = y * width;
    field.fill(0, out, out + width);
    for (let i = Math.max(0, y - r); i <= Math.min(height - 1, y + r); i++) {
      const w = kernel[i - y + r]!;
      const src = i * width;
      for (let x = 0; x < width; x++) field[out + x]! += w * tmp[src + x]!;
    }
  }
}
