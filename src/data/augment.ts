import { fail, fmtShape } from '../errors.js';
import { Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import type { Dataset } from './dataset.js';
import {
  type Collated,
  DataLoader,
  type DataLoaderOptions,
  type IterateOptions,
  type Sample,
} from './loader.js';
import { type ImageShape, type Transform, transformRows } from './transforms.js';

export interface AugmentedDataLoaderOptions extends DataLoaderOptions {
  /** The augmentation applied to every image of every batch (build it with `compose(...)`). */
  transform: Transform;
  /** The shape [channels, height, width] of one image; a batch row must hold exactly that many values. */
  imageShape: ImageShape;
  /** Which tensor of a batch `[x, y, ...]` holds the images (default 0, the x). */
  input?: number;
}

const OWN_KEYS = ['transform', 'imageShape', 'input'];
const LOADER_KEYS = ['batchSize', 'shuffle', 'dropLast', 'generator'];

/**
 * A DataLoader whose batches are augmented: every image of each batch is deformed by `transform`, so each
 * epoch sees new variations of the training set (torchvision's `transform=` argument, applied per batch).
 * Batches are built as by `DataLoader` (the fast path copies a TensorDataset's rows into a new array), and
 * then each row of that new array is transformed in place; the dataset itself is never changed.
 *
 *     const { images, labels } = data.loadMnist('train', { limit: 64 });
 *     const loader = new data.AugmentedDataLoader(new data.TensorDataset(images, labels), {
 *       batchSize: 16, shuffle: true, generator: new Generator(0), imageShape: [1, 28, 28],
 *       transform: data.compose(data.randomAffine({ degrees: 10 }), data.elasticDistortion({ alpha: 34, sigma: 4 })),
 *     });
 *     for (const [x, y] of loader) {
 *       // x float32 [16, 784], deformed anew every epoch; y int32 [16]
 *     }
 *
 * Reproducibility: `iterate()` draws the epoch's permutation and then one 32-bit epoch seed from the
 * loader's generator; batch b's augmentations come from a generator seeded by (epoch seed, b) alone, rows
 * in batch order. So a seed fixes every augmentation; dropout or anything else drawing from the same
 * generator while the batches are read neither changes them nor is changed by them; and DataLoader's
 * resume recipe stays exact: restore the generator state saved just before `iterate()` (as `fit` does
 * with its `epochRng`), call `iterate({ startBatch: done })`, and the remaining batches, augmentations
 * included, are the ones the interrupted epoch would have produced.
 */
export class AugmentedDataLoader<T extends Sample> extends DataLoader<T> {
  readonly transform: Transform;
  readonly imageShape: ImageShape;
  readonly input: number;
  private readonly imageSize: number;

  constructor(dataset: Dataset<T>, opts: AugmentedDataLoaderOptions) {
    const op = 'AugmentedDataLoader';
    if (typeof opts !== 'object' || opts === null) fail(op, 'options must be an object');
    for (const key of Object.keys(opts)) {
      if (!OWN_KEYS.includes(key) && !LOADER_KEYS.includes(key)) {
        fail(op, `unknown option '${key}': expected one of ${[...LOADER_KEYS, ...OWN_KEYS].join(', ')}`);
      }
    }
    const { transform, imageShape, input = 0, ...loaderOptions } = opts;
    super(dataset, loaderOptions);
    if (typeof transform !== 'function') fail(op, 'transform must be a transform (see data/transforms)');
    if (
      !Array.isArray(imageShape) ||
      imageShape.length !== 3 ||
      !imageShape.every((d) => Number.isInteger(d) && d > 0)
    ) {
      fail(
        op,
        `imageShape must be [channels, height, width] of positive integers, got ${String(imageShape)}`,
      );
    }
    if (!Number.isInteger(input) || input < 0) fail(op, `input must be a non-negative integer, got ${input}`);
    this.transform = transform;
    this.imageShape = [imageShape[0], imageShape[1], imageShape[2]];
    this.input = input;
    this.imageSize = imageShape[0] * imageShape[1] * imageShape[2];
  }

  /** One epoch of augmented batches; the order and the epoch seed are drawn when this is called. */
  override iterate(opts: IterateOptions = {}): IterableIterator<Collated<T>> {
    const batches = super.iterate(opts);
    const epochSeed = this.generator.nextU32();
    return this.augment(batches, epochSeed, opts.startBatch ?? 0);
  }

  private *augment(
    batches: IterableIterator<Collated<T>>,
    epochSeed: number,
    startBatch: number,
  ): IterableIterator<Collated<T>> {
    const rng = new Generator();
    let b = startBatch;
    for (const batch of batches) {
      const images = Array.isArray(batch)
        ? (batch as Tensor[])[this.input]
        : this.input === 0
          ? (batch as Tensor)
          : undefined;
      this.check(images, b);
      rng.seed(batchSeed(epochSeed, b));
      // DataLoader builds every batch in a new array, so transforming it in place leaves the dataset alone.
      transformRows(images.data as Float32Array, this.imageShape, this.transform, rng);
      yield batch;
      b++;
    }
  }

  private check(images: Tensor | undefined, b: number): asserts images is Tensor {
    const op = 'AugmentedDataLoader';
    if (!(images instanceof Tensor)) {
      fail(op, `batch ${b} has no tensor at position ${this.input} (the input option) to augment`);
    }
    if (images.dtype !== 'float32') {
      fail(op, `the images must be float32 to be augmented, got ${images.dtype} ${fmtShape(images.shape)}`);
    }
    const rows = images.shape[0] ?? 0;
    const ok =
      images.rank >= 1 &&
      images.size === rows * this.imageSize &&
      images.offset === 0 &&
      images.data.length === images.size &&
      images.isContiguous();
    if (!ok) {
      fail(
        op,
        `batch ${b} holds images ${fmtShape(images.shape)}, not rows of ${fmtShape(this.imageShape)} (${this.imageSize} values each)`,
      );
    }
  }
}

/** A 32-bit seed for batch b of an epoch: the two mixed by murmur3's finaliser so nearby b are unrelated. */
function batchSeed(epochSeed: number, b: number): number {
  let h = (epochSeed ^ Math.imul(b + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
