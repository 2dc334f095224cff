import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AugmentedDataLoader } from '../src/data/augment.js';
import { type Dataset, Subset, TensorDataset } from '../src/data/dataset.js';
import { DataLoader } from '../src/data/loader.js';
import { loadMnist } from '../src/data/mnist.js';
import {
  affine,
  augmentImages,
  compose,
  elasticDistortion,
  type ImageShape,
  randomAffine,
  randomCrop,
  randomHorizontalFlip,
  randomRotation,
  randomScale,
  randomShift,
  shift,
  type Transform,
  transformRows,
} from '../src/data/transforms.js';
import { StrataError } from '../src/errors.js';
import { manualSeed } from '../src/index.js';
import { mlp } from '../src/models/mlp.js';
import { crossEntropy } from '../src/nn/losses.js';
import { SGD } from '../src/optim/optimizers.js';
import { tensor } from '../src/tensor/creation.js';
import { Generator } from '../src/tensor/random.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { fit } from '../src/train/fit.js';
import { tempDirs } from './tmpdirs.js';

function throwsStrata(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof StrataError, `expected a StrataError, got ${String(e)}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

const MNIST_SHAPE: ImageShape = [1, 28, 28];

/** Uniform noise in [0, 1) of the given shape. */
function noise(shape: ImageShape, seed: number): Float32Array {
  const g = new Generator(seed);
  return Float32Array.from({ length: shape[0] * shape[1] * shape[2] }, () => g.uniform());
}

/** A black image with one pixel of value 1 at (x, y) in every channel. */
function dot(shape: ImageShape, x: number, y: number): Float32Array {
  const [c, h, w] = shape;
  const image = new Float32Array(c * h * w);
  for (let k = 0; k < c; k++) image[(k * h + y) * w + x] = 1;
  return image;
}

/** The (x, y) of every non-zero pixel of a one-channel image. */
function litPixels(image: Float32Array, width: number): [number, number][] {
  const out: [number, number][] = [];
  image.forEach((v, i) => {
    if (v !== 0) out.push([i % width, Math.floor(i / width)]);
  });
  return out;
}

/** The transform applied to a copy of the image. */
function applied(t: Transform, image: Float32Array, shape: ImageShape, g: Generator): Float32Array {
  const copy = image.slice();
  t(copy, shape, g);
  return copy;
}

function sum(a: Float32Array): number {
  let s = 0;
  for (const v of a) s += v;
  return s;
}

// A few real digits, for the transforms that should look at something digit-like.
const digits = loadMnist('train', { limit: 64 });

test('transforms: identity parameters give the input back exactly', () => {
  for (const shape of [MNIST_SHAPE, [3, 5, 8] as const, [2, 6, 6] as const]) {
    const image = noise(shape, 1);
    assert.deepEqual(affine(image, shape, {}), image);
    assert.deepEqual(affine(image, shape, { angle: 0, translate: [0, 0], scale: 1, shear: 0 }), image);
    assert.deepEqual(affine(image, shape, { angle: 360 }), image);
    assert.deepEqual(shift(image, shape, 0, 0), image);
    const identities: Transform[] = [
      randomAffine({}),
      randomAffine({ degrees: 0, translate: [0, 0], scale: [1, 1], shear: 0 }),
      randomRotation(0),
      randomScale(1, 1),
      randomShift(0),
      randomCrop([shape[1], shape[2]], 0),
      elasticDistortion({ alpha: 0, sigma: 4 }),
      randomHorizontalFlip(0),
      compose(),
      compose(randomShift(0), elasticDistortion({ alpha: 0, sigma: 1 })),
    ];
    const g = new Generator(5);
    for (const t of identities) assert.deepEqual(applied(t, image, shape, g), image);
  }
});

test('shift and randomShift: a bright pixel moves by exactly k whole pixels, with zero fill', () => {
  const shape: ImageShape = [1, 28, 28];
  const image = dot(shape, 10, 12);
  for (const [dx, dy] of [
    [1, 0],
    [3, 0],
    [0, -2],
    [-4, 5],
  ] as const) {
    const moved = shift(image, shape, dx, dy);
    assert.deepEqual(litPixels(moved, 28), [[10 + dx, 12 + dy]]);
    assert.equal(sum(moved), 1);
    // An integer translation through the bilinear path lands on the grid: the same array exactly.
    assert.deepEqual(affine(image, shape, { translate: [dx, dy] }), moved);
  }
  // Moved out of the image, it is gone; what moves in is zero.
  assert.equal(sum(shift(image, shape, 20, 0)), 0);
  assert.equal(sum(shift(noise(shape, 3), shape, 0, 28)), 0);
  // Every channel moves alike.
  assert.deepEqual(litPixels(shift(dot([3, 4, 4], 1, 1), [3, 4, 4], 2, 1), 4), [
    [3, 2],
    [3, 6],
    [3, 10],
  ]);

  const g = new Generator(0);
  const seen = new Set<number>();
  for (let k = 0; k < 200; k++) {
    const out = applied(randomShift(3), image, shape, g);
    const lit = litPixels(out, 28);
    assert.equal(lit.length, 1);
    const [x, y] = lit[0]!;
    assert.ok(Math.abs(x - 10) <= 3 && Math.abs(y - 12) <= 3, `moved to ${x}, ${y}`);
    assert.equal(out[y * 28 + x], 1);
    seen.add(x - 10);
  }
  assert.equal(seen.size, 7, 'every shift in -3..3 occurs');
  throwsStrata(() => shift(image, shape, 0.5, 0), /^shift: dx and dy must be integers/);
});

test('rotation by ±90° and 180° matches the hand-rotated arrays (bilinear, exact on the grid)', () => {
  const shape: ImageShape = [1, 3, 3];
  const image = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // Counter-clockwise as displayed: the top row becomes the left column, read upwards.
  const ccw = [3, 6, 9, 2, 5, 8, 1, 4, 7];
  const cw = [7, 4, 1, 8, 5, 2, 9, 6, 3];
  assert.deepEqual(Array.from(affine(image, shape, { angle: 90 })), ccw);
  assert.deepEqual(Array.from(affine(image, shape, { angle: -90 })), cw);
  assert.deepEqual(Array.from(affine(image, shape, { angle: 180 })), [9, 8, 7, 6, 5, 4, 3, 2, 1]);
  const g = new Generator(1);
  assert.deepEqual(Array.from(applied(randomRotation([90, 90]), image, shape, g)), ccw);
  // An even side: the centre lies between pixels and quarter turns still map the grid onto itself.
  const four = Float32Array.from({ length: 16 }, (_, i) => i + 1);
  assert.deepEqual(
    Array.from(affine(four, [1, 4, 4], { angle: 90 })),
    [4, 8, 12, 16, 3, 7, 11, 15, 2, 6, 10, 14, 1, 5, 9, 13],
  );
  // Off the grid it interpolates: a 45° turn of a bar leaves values in [0, 1] and about the same mass.
  const bar = new Float32Array(81);
  for (let x = 1; x < 8; x++) bar[4 * 9 + x] = 1;
  const turned = affine(bar, [1, 9, 9], { angle: 45 });
  assert.ok(turned.every((v) => v >= 0 && v <= 1));
  assert.ok(
    turned.some((v) => v > 0 && v < 1),
    'bilinear values between pixels',
  );
  assert.ok(Math.abs(sum(turned) - 7) < 1.5, `mass ${sum(turned)}`);
  assert.equal(turned[4 * 9 + 4], 1, 'the centre stays');
  // Random rotations stay within the range: a dot at radius 3 stays at radius 3, at an angle ≤ 30°.
  const ring = dot([1, 15, 15], 10, 7);
  for (let k = 0; k < 20; k++) {
    const out = applied(randomRotation(30), ring, [1, 15, 15], g);
    let mx = 0;
    let my = 0;
    const m = sum(out);
    out.forEach((v, i) => {
      mx += (v * (i % 15)) / m;
      my += (v * Math.floor(i / 15)) / m;
    });
    const angle = (Math.atan2(-(my - 7), mx - 7) * 180) / Math.PI;
    assert.ok(Math.abs(angle) <= 30 + 1e-6, `angle ${angle}`);
  }
});

test('scaling keeps the centre fixed and moves other points radially', () => {
  const shape: ImageShape = [1, 9, 9];
  const centre = dot(shape, 4, 4);
  const g = new Generator(2);
  for (let k = 0; k < 20; k++) {
    const out = applied(randomScale(0.5, 2), centre, shape, g);
    assert.equal(out[4 * 9 + 4], 1);
  }
  // Enlarged twice, a dot 2 pixels right of the centre peaks 4 pixels right of it (and spreads, as an
  // enlarged dot should); one 2 pixels above peaks 4 above; shrunk by half, one 4 left lands 2 left.
  const right = affine(dot(shape, 6, 4), shape, { scale: 2 });
  assert.equal(right[4 * 9 + 8], 1);
  assert.equal(Math.max(...right), 1);
  assert.equal(affine(dot(shape, 4, 2), shape, { scale: 2 })[0 * 9 + 4], 1);
  assert.deepEqual(litPixels(affine(dot(shape, 0, 4), shape, { scale: 0.5 }), 9), [[2, 4]]);
  // On a real digit the intensity-weighted centre about the image centre scales by s (up to clipping).
  const digit = digits.images.data.subarray(0, 784) as Float32Array;
  const centroid = (a: Float32Array): [number, number] => {
    let mx = 0;
    let my = 0;
    const m = sum(a);
    a.forEach((v, i) => {
      mx += (v * (i % 28)) / m;
      my += (v * Math.floor(i / 28)) / m;
    });
    return [mx - 13.5, my - 13.5];
  };
  const [cx, cy] = centroid(digit);
  const [sx, sy] = centroid(affine(digit, MNIST_SHAPE, { scale: 0.8 }));
  assert.ok(Math.abs(sx - 0.8 * cx) < 0.1 && Math.abs(sy - 0.8 * cy) < 0.1, `${[cx, cy]} → ${[sx, sy]}`);
});

test('elasticDistortion: alpha 0 is the identity; alpha > 0 deforms, keeps [0, 1] and roughly the mass', () => {
  const g = new Generator(3);
  // Simard et al.'s setting for digits, then a milder one. Sampling (not splatting) a deformed grid
  // changes a digit's mass where the field compresses or stretches it, so on its own a digit keeps its
  // mass only roughly (within about ±50% at α = 34, σ = 4, as scipy's implementation does too); on
  // average it is kept.
  for (const [alpha, sigma, tolerance] of [
    [34, 4, 0.6],
    [8, 3, 0.2],
  ] as const) {
    const t = elasticDistortion({ alpha, sigma });
    let ratios = 0;
    for (let i = 0; i < 64; i++) {
      const digit = digits.images.data.slice(i * 784, (i + 1) * 784) as Float32Array;
      assert.deepEqual(applied(elasticDistortion({ alpha: 0, sigma }), digit, MNIST_SHAPE, g), digit);
      const out = applied(t, digit, MNIST_SHAPE, g);
      assert.equal(out.length, 784);
      assert.ok(
        out.every((v) => v >= 0 && v <= 1),
        'a bilinear mix of pixels in [0, 1] stays in [0, 1]',
      );
      let changed = 0;
      for (let p = 0; p < 784; p++) if (Math.abs(out[p]! - digit[p]!) > 0.05) changed++;
      assert.ok(changed > 10, `only ${changed} pixels changed`);
      const ratio = sum(out) / sum(digit);
      assert.ok(Math.abs(ratio - 1) < tolerance, `α ${alpha}, σ ${sigma}: mass ratio ${ratio}`);
      ratios += ratio / 64;
    }
    assert.ok(Math.abs(ratios - 1) < 0.05, `α ${alpha}, σ ${sigma}: mean mass ratio ${ratios}`);
  }
  // Smooth fields move whole strokes: with a huge sigma the distortion is nearly a translation, so a
  // dot stays one compact spot (a rough check that the displacements are smoothed, not per-pixel noise).
  const spot = dot([1, 21, 21], 10, 10);
  const moved = applied(elasticDistortion({ alpha: 200, sigma: 30 }), spot, [1, 21, 21], g);
  const lit = litPixels(moved, 21);
  assert.ok(lit.length >= 1 && lit.length <= 4, `${lit.length} pixels lit`);
  throwsStrata(() => elasticDistortion({ alpha: -1, sigma: 4 }), /^elasticDistortion: alpha must be/);
  throwsStrata(() => elasticDistortion({ alpha: 1, sigma: 0 }), /^elasticDistortion: sigma must be/);
});

test('randomHorizontalFlip twice is the identity; randomCrop with padding keeps the shape', () => {
  const shape: ImageShape = [3, 4, 5];
  const image = noise(shape, 4);
  const g = new Generator(4);
  const flip = randomHorizontalFlip(1);
  const once = applied(flip, image, shape, g);
  assert.deepEqual(Array.from(once.subarray(5, 10)), Array.from(image.subarray(5, 10)).reverse());
  assert.deepEqual(Array.from(once.subarray(55, 60)), Array.from(image.subarray(55, 60)).reverse());
  assert.deepEqual(applied(flip, once, shape, g), image);
  // p = 0.5 flips about half the time.
  let flipped = 0;
  for (let k = 0; k < 400; k++)
    if (applied(randomHorizontalFlip(), image, shape, g)[0] !== image[0]) flipped++;
  assert.ok(flipped > 150 && flipped < 250, `${flipped} of 400`);

  const crop = randomCrop(28, 4);
  const seen = new Set<string>();
  for (let k = 0; k < 100; k++) {
    const out = applied(crop, dot(MNIST_SHAPE, 14, 14), MNIST_SHAPE, g);
    assert.equal(out.length, 784);
    const lit = litPixels(out, 28);
    assert.equal(lit.length, 1);
    const [x, y] = lit[0]!;
    assert.ok(Math.abs(x - 14) <= 4 && Math.abs(y - 14) <= 4);
    seen.add(`${x},${y}`);
  }
  assert.ok(seen.size > 30, `${seen.size} distinct crops`);
  throwsStrata(
    () => crop(new Float32Array(32 * 32), [1, 32, 32], g),
    /^randomCrop: the crop size 28×28 must equal the image size 32×32/,
  );
});

test('transforms: the same seed gives the same output, different seeds different ones', () => {
  const t = compose(
    randomAffine({ degrees: 15, translate: [0.1, 0.1], scale: [0.9, 1.1], shear: 10 }),
    elasticDistortion({ alpha: 34, sigma: 4 }),
    randomHorizontalFlip(),
    randomShift(2),
  );
  const digit = digits.images.data.slice(0, 784) as Float32Array;
  const a = applied(t, digit, MNIST_SHAPE, new Generator(11));
  const b = applied(t, digit, MNIST_SHAPE, new Generator(11));
  const c = applied(t, digit, MNIST_SHAPE, new Generator(12));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  // The generator's stream advances: a second draw from the same generator differs.
  const g = new Generator(11);
  assert.notDeepEqual(applied(t, digit, MNIST_SHAPE, g), applied(t, digit, MNIST_SHAPE, g));
});

test('transforms: bad arguments and mismatched images get StrataErrors naming the transform', () => {
  const g = new Generator(0);
  throwsStrata(() => randomShift(-1), /^randomShift: maxPixels must be a non-negative integer, got -1/);
  throwsStrata(() => randomRotation(-5), /^randomRotation: degrees must be/);
  throwsStrata(() => randomRotation([10, -10]), /^randomRotation: degrees must be/);
  throwsStrata(() => randomScale(0, 1), /^randomScale: scale must be \[min, max\] with 0 < min <= max/);
  throwsStrata(() => randomScale(2, 1), /^randomScale: scale must be/);
  throwsStrata(() => randomAffine({ translate: [0.5, 2] }), /^randomAffine: translate must be two fractions/);
  throwsStrata(() => randomHorizontalFlip(1.5), /^randomHorizontalFlip: p must be a probability/);
  throwsStrata(() => randomCrop(0, 2), /^randomCrop: size must be a positive integer/);
  throwsStrata(() => compose(randomShift(1), 3 as unknown as Transform), /^compose: argument 1/);
  throwsStrata(
    () => randomRotation(10)(new Float32Array(700), MNIST_SHAPE, g),
    /^randomRotation: the image has 700 values but its shape \[1, 28, 28\] needs 784/,
  );
  throwsStrata(
    () => elasticDistortion({ alpha: 1, sigma: 1 })(new Float32Array(4), [1, 2, 2], {} as Generator),
    /^elasticDistortion: the generator must be a Generator/,
  );
  const image = new Float32Array(16);
  throwsStrata(() => affine(image, [1, 4, 4], {}, image), /^affine: out must not overlap the image/);
  throwsStrata(() => affine(image, [1, 4, 4], { scale: 0 }), /^affine: expected .* a positive scale/);
  throwsStrata(() => transformRows(new Float32Array(10), [1, 2, 2], randomShift(1), g), /not whole images/);
});

test('augmentImages: a transformed copy, the input untouched', () => {
  const images = digits.images;
  const before = images.data.slice();
  const t = randomAffine({ degrees: 10 });
  const out = augmentImages(images, MNIST_SHAPE, t, new Generator(9));
  assert.deepEqual(out.shape, [64, 784]);
  assert.deepEqual(images.data, before);
  assert.notDeepEqual(out.data, before);
  const rows = before.slice() as Float32Array;
  transformRows(rows, MNIST_SHAPE, t, new Generator(9));
  assert.deepEqual(out.data, rows);
  throwsStrata(
    () => augmentImages(images, [1, 20, 20], t, new Generator(0)),
    /^augmentImages: images \[64, 784\] do not hold one \[1, 20, 20\] image \(400 values\) per row/,
  );
});

/** All of an epoch's batches as plain arrays: [x values, y values] per batch. */
function collect(batches: Iterable<Tensor[]>): number[][][] {
  return [...batches].map((batch) => batch.map((t) => Array.from(t.data)));
}

test('AugmentedDataLoader: augmented batches of the right shape, reproducible from a seed', () => {
  const data = new TensorDataset(digits.images, digits.labels);
  const before = digits.images.data.slice();
  const transform = compose(randomAffine({ degrees: 10, translate: [0.1, 0.1] }), randomHorizontalFlip());
  const make = (seed: number, t = transform) =>
    new AugmentedDataLoader(data, {
      batchSize: 24,
      shuffle: true,
      generator: new Generator(seed),
      imageShape: MNIST_SHAPE,
      transform: t,
    });
  const loader = make(7);
  assert.equal(loader.length, 3);
  const batches = [...loader];
  assert.deepEqual(
    batches.map(([x, y]) => [x!.shape, x!.dtype, y!.shape, y!.dtype]),
    [
      [[24, 784], 'float32', [24], 'int32'],
      [[24, 784], 'float32', [24], 'int32'],
      [[16, 784], 'float32', [16], 'int32'],
    ],
  );
  // The same order as a plain DataLoader from the same seed (the permutation is drawn first), with
  // each image augmented; the dataset itself is never touched.
  const plain = [...new DataLoader(data, { batchSize: 24, shuffle: true, generator: new Generator(7) })];
  assert.deepEqual(
    batches.map(([, y]) => Array.from(y!.data)),
    plain.map(([, y]) => Array.from(y!.data)),
  );
  batches.forEach(([x], b) => {
    assert.notDeepEqual(x!.data, plain[b]![0]!.data);
  });
  assert.deepEqual(digits.images.data, before);
  // An identity transform gives exactly the plain batches: the fast path's rows, unchanged.
  assert.deepEqual(collect(make(7, compose())), collect(plain));

  assert.deepEqual(collect(make(7)), collect(make(7)));
  assert.notDeepEqual(collect(make(7)), collect(make(8)));
  // Each epoch draws new augmentations, even without shuffling.
  const fixedOrder = new AugmentedDataLoader(data, { batchSize: 64, imageShape: MNIST_SHAPE, transform });
  assert.notDeepEqual(collect(fixedOrder), collect(fixedOrder));
  // Subsets keep the fast path; generic datasets are collated, then augmented alike.
  const subset = new AugmentedDataLoader(new Subset(data, [5, 3, 1]), {
    batchSize: 3,
    imageShape: MNIST_SHAPE,
    transform: randomShift(0),
  });
  assert.deepEqual(
    collect(subset)[0]![1],
    [5, 3, 1].map((i) => digits.labels.data[i]!),
  );
  const generic: Dataset<[Tensor, number]> = {
    length: 4,
    get: (i) => [tensor(digits.images.data.slice(i * 784, (i + 1) * 784), { shape: [1, 28, 28] }), i],
  };
  const [[gx, gy]] = [
    ...new AugmentedDataLoader(generic, { batchSize: 4, imageShape: MNIST_SHAPE, transform }),
  ];
  assert.deepEqual(gx!.shape, [4, 1, 28, 28]);
  assert.deepEqual(Array.from(gy!.data), [0, 1, 2, 3]);
  assert.notDeepEqual(gx!.data, digits.images.data.subarray(0, 4 * 784));
});

test('AugmentedDataLoader: startBatch resume reproduces the remaining batches, whatever else draws', () => {
  const data = new TensorDataset(digits.images, digits.labels);
  const generator = new Generator(21);
  const loader = new AugmentedDataLoader(data, {
    batchSize: 10,
    shuffle: true,
    generator,
    imageShape: MNIST_SHAPE,
    transform: compose(
      randomAffine({ degrees: 20, scale: [0.8, 1.2] }),
      elasticDistortion({ alpha: 8, sigma: 3 }),
    ),
  });
  const epochStart = generator.getState();
  const full = collect(loader.iterate());
  const afterEpoch = generator.getState();
  // Resume after 4 batches: restore the state saved before iterate(), skip what was done.
  generator.setState(epochStart);
  const rest = collect(loader.iterate({ startBatch: 4 }));
  assert.equal(rest.length, full.length - 4);
  assert.deepEqual(rest, full.slice(4));
  assert.deepEqual(generator.getState(), afterEpoch, 'iterate() draws the same numbers, however it starts');
  // Other draws from the same generator while batches are read (dropout) change no augmentation.
  generator.setState(epochStart);
  const interleaved: number[][][] = [];
  for (const batch of loader.iterate()) {
    for (let k = 0; k < 50; k++) generator.normal();
    interleaved.push(batch.map((t) => Array.from(t.data)));
  }
  assert.deepEqual(interleaved, full);
  // The next epoch is different.
  generator.setState(afterEpoch);
  assert.notDeepEqual(collect(loader.iterate()), full);
});

test('AugmentedDataLoader: bad options and batches get StrataErrors', () => {
  const data = new TensorDataset(digits.images, digits.labels);
  const transform = randomShift(1);
  throwsStrata(
    () => new AugmentedDataLoader(data, { imageShape: MNIST_SHAPE, transform, batchsize: 4 } as never),
    /^AugmentedDataLoader: unknown option 'batchsize': expected one of batchSize, .*transform, imageShape, input/,
  );
  throwsStrata(
    () => new AugmentedDataLoader(data, { imageShape: [1, 28], transform } as never),
    /^AugmentedDataLoader: imageShape must be \[channels, height, width\]/,
  );
  throwsStrata(
    () => new AugmentedDataLoader(data, { imageShape: MNIST_SHAPE, transform: 'shift' } as never),
    /^AugmentedDataLoader: transform must be a transform/,
  );
  throwsStrata(
    () => new AugmentedDataLoader(data, { imageShape: MNIST_SHAPE, transform, batchSize: 0 }),
    /^DataLoader: batchSize must be a positive integer/,
  );
  const wrongShape = new AugmentedDataLoader(data, { batchSize: 8, imageShape: [1, 32, 32], transform });
  throwsStrata(
    () => [...wrongShape],
    /^AugmentedDataLoader: batch 0 holds images \[8, 784\], not rows of \[1, 32, 32\] \(1024 values each\)/,
  );
  const labelsAsImages = new AugmentedDataLoader(data, { imageShape: [1, 1, 1], transform, input: 1 });
  throwsStrata(() => [...labelsAsImages], /^AugmentedDataLoader: the images must be float32/);
  const noSuchInput = new AugmentedDataLoader(data, { imageShape: MNIST_SHAPE, transform, input: 2 });
  throwsStrata(() => [...noSuchInput], /^AugmentedDataLoader: batch 0 has no tensor at position 2/);
});

test('fit with an AugmentedDataLoader: a run resumed mid-epoch ends bitwise equal to an uninterrupted one', async () => {
  const data = new TensorDataset(digits.images, digits.labels);
  const run = async (opts: { crashAt?: number; resume?: boolean; out: string }) => {
    manualSeed(3);
    const model = mlp([784, 8, 10]);
    const optimizer = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
    const generator = new Generator(4);
    const train = new AugmentedDataLoader(data, {
      batchSize: 16,
      shuffle: true,
      generator,
      imageShape: MNIST_SHAPE,
      transform: compose(
        randomAffine({ degrees: 10, scale: [0.9, 1.1] }),
        elasticDistortion({ alpha: 8, sigma: 3 }),
      ),
    });
    let calls = 0;
    // The loss draws from the run's generator, as dropout would.
    const loss = (out: Tensor, y: Tensor) => {
      if (++calls === opts.crashAt) throw new Error('simulated crash');
      return crossEntropy(out, y).mul(1 + 1e-3 * generator.uniform());
    };
    const result = await fit(model, optimizer, {
      epochs: 2,
      loss,
      train,
      generator,
      checkpointEvery: 3,
      out: opts.out,
      resume: opts.resume,
    });
    return { weights: model.stateDict(), rng: generator.getState(), from: result.resumedFrom };
  };
  const newDir = tempDirs('augment');
  const straight = await run({ out: newDir() });
  const dir = newDir();
  // 4 batches per epoch, checkpoints after steps 3, 4 (the epoch's end) and 6: the crash on step 7
  // leaves the one of step 6, in the middle of the second epoch.
  await assert.rejects(() => run({ crashAt: 7, out: dir }), /simulated crash/);
  const resumed = await run({ resume: true, out: dir });
  assert.deepEqual(resumed.from, { epoch: 1, batch: 2 });
  assert.deepEqual(resumed.rng, straight.rng);
  for (const [name, t] of Object.entries(straight.weights)) {
    assert.deepEqual(resumed.weights[name]!.data, t.data, name);
  }
});
