import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { FASHION_MNIST, FASHION_MNIST_CLASSES, loadFashionMnist } from '../src/data/fashion-mnist.js';
import { loadIdxImages, loadMnist } from '../src/data/mnist.js';
import { StrataError } from '../src/errors.js';
import { assertBytePixels } from './assertions.js';
import { idx, threeImages, threeLabels, writeSplit } from './idxfiles.js';
import { tempDirs } from './tmpdirs.js';

const DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';

function throwsStrata(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof StrataError, `expected a StrataError, got ${String(e)}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

/** The raw bytes of one of the Debian package's files, decompressed here without Strata's reader. */
function rawFile(name: string): Buffer {
  return gunzipSync(readFileSync(join(DEBIAN_DIR, `${name}.gz`)));
}

test('the Debian package dataset-fashion-mnist is installed (CI: apt-get install dataset-fashion-mnist)', () => {
  for (const name of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte']) {
    assert.ok(existsSync(join(DEBIAN_DIR, `${name}.gz`)), `missing ${DEBIAN_DIR}/${name}.gz`);
  }
});

test('loadFashionMnist: the real training set', () => {
  const { images, labels } = loadFashionMnist('train');
  assert.deepEqual(images.shape, [60000, 784]);
  assert.equal(images.dtype, 'float32');
  assert.deepEqual(labels.shape, [60000]);
  assert.equal(labels.dtype, 'int32');
  assertBytePixels(images);
  // Fashion-MNIST is balanced: exactly 6000 training examples per class.
  const counts = new Array<number>(10).fill(0);
  for (const c of labels.data) counts[c]!++;
  assert.deepEqual(counts, new Array(10).fill(6000));

  // Against the raw files: the label file's 9th byte (after the 8-byte header) is the first label, 9,
  // an ankle boot; the image file's pixels start after its 16-byte header.
  const rawLabels = rawFile('train-labels-idx1-ubyte');
  assert.equal(rawLabels.readUInt32BE(0), 2049);
  assert.equal(rawLabels[8], 9);
  assert.equal(labels.data[0], 9);
  assert.equal(FASHION_MNIST_CLASSES[labels.data[0]!], 'Ankle boot');
  for (const i of [0, 1, 59999]) assert.equal(labels.data[i], rawLabels[8 + i]);
  const rawImages = rawFile('train-images-idx3-ubyte');
  for (const i of [0, 400, 783, 784 * 1234 + 300, 784 * 60000 - 1]) {
    assert.equal(images.data[i], Math.fround(rawImages[16 + i]! / 255));
  }
});

test('loadFashionMnist: the test set, limit, and MNIST unchanged beside it', () => {
  const { images, labels } = loadFashionMnist('test', { limit: 5 });
  assert.deepEqual(images.shape, [5, 784]);
  const raw = rawFile('t10k-labels-idx1-ubyte');
  assert.deepEqual(Array.from(labels.data), Array.from(raw.subarray(8, 13)));
  assert.equal(labels.data[0], 9);
  throwsStrata(() => loadFashionMnist('test', { limit: 1.5 }), /^loadFashionMnist: limit/);
  throwsStrata(
    () => loadFashionMnist('valid' as 'test'),
    /^loadFashionMnist: split must be 'train' or 'test', got 'valid'/,
  );
  // loadMnist still reads MNIST, not the Fashion files.
  assert.equal(loadMnist('test', { limit: 1 }).labels.data[0], 7);
});

test('FASHION_MNIST_CLASSES: the ten names from the data set README, in label order', () => {
  assert.deepEqual(
    [...FASHION_MNIST_CLASSES],
    [
      'T-shirt/top',
      'Trouser',
      'Pullover',
      'Dress',
      'Coat',
      'Sandal',
      'Shirt',
      'Sneaker',
      'Bag',
      'Ankle boot',
    ],
  );
  assert.ok(Object.isFrozen(FASHION_MNIST_CLASSES));
});

/** An IDX file: the magic's type and rank bytes, the dimensions, then the bytes. */
const newDir = tempDirs('fashion');

/** A folder (new, or `dir`) with a training split's files. */
function fakeFashion(files: Parameters<typeof writeSplit>[1], dir = newDir()): string {
  return writeSplit(dir, files);
}

test('loadFashionMnist: bad files get StrataErrors naming the file and the problem', () => {
  const missing = fakeFashion({});
  throwsStrata(
    () => loadFashionMnist('train', { dir: missing }),
    /^loadFashionMnist: cannot find the Fashion-MNIST train images/,
    new RegExp(`${missing}/train-images-idx3-ubyte\\.gz`),
  );
  const noLabels = fakeFashion({ images: threeImages, gz: true });
  throwsStrata(() => loadFashionMnist('train', { dir: noLabels }), /but not train-labels-idx1-ubyte/);
  const wrongMagic = fakeFashion({
    images: idx([3, 28, 28], new Uint8Array(3 * 784), 0x0801),
    labels: threeLabels,
  });
  throwsStrata(
    () => loadFashionMnist('train', { dir: wrongMagic }),
    /^loadFashionMnist: .*\/train-images-idx3-ubyte: expected magic number 2051/,
    /found 2049/,
  );
  const truncated = fakeFashion({ images: threeImages.subarray(0, 1000), labels: threeLabels, gz: true });
  throwsStrata(
    () => loadFashionMnist('train', { dir: truncated }),
    /train-images-idx3-ubyte\.gz is truncated: expected 2368 bytes after decompression, found 1000/,
  );
  const corrupt = newDir();
  writeFileSync(join(corrupt, 'train-images-idx3-ubyte.gz'), Buffer.from([0x1f, 0x8b, 1, 2, 3]));
  throwsStrata(
    () => loadFashionMnist('train', { dir: fakeFashion({ labels: threeLabels }, corrupt) }),
    /^loadFashionMnist: .*train-images-idx3-ubyte\.gz is not a valid gzip file/,
  );
  const wrongSize = fakeFashion({ images: idx([1, 32, 32], new Uint8Array(1024)), labels: threeLabels });
  throwsStrata(() => loadFashionMnist('train', { dir: wrongSize }), /expected 28×28 images, found 32×32/);
  const mismatch = fakeFashion({ images: threeImages, labels: idx([2], [1, 2]) });
  throwsStrata(
    () => loadFashionMnist('train', { dir: mismatch }),
    /holds 3 images but .*\/train-labels-idx1-ubyte holds 2 labels/,
  );
  const small = fakeFashion({ images: threeImages, labels: threeLabels, gz: true });
  throwsStrata(
    () => loadFashionMnist('train', { dir: small }),
    /train-images-idx3-ubyte\.gz: expected 60000 examples in the Fashion-MNIST train split, found 3/,
  );
  const badLabel = fakeFashion({ images: threeImages, labels: idx([3], [1, 10, 3]) });
  throwsStrata(
    () => loadFashionMnist('train', { dir: badLabel }),
    /train-labels-idx1-ubyte: labels must be classes 0\.\.9, found 10 at index 1/,
  );
});

test('loadFashionMnist: $STRATA_DATA_DIR/fashion-mnist comes first; a missing data set says how to get it', () => {
  const saved = process.env.STRATA_DATA_DIR;
  try {
    const env = newDir();
    process.env.STRATA_DATA_DIR = env;
    // Tiny files there are found before the Debian package's real ones (and rejected for their size).
    const dir = fakeFashion({ images: threeImages, labels: threeLabels }, join(env, 'fashion-mnist'));
    throwsStrata(
      () => loadFashionMnist('train'),
      new RegExp(`^loadFashionMnist: ${dir}/train-images-idx3-ubyte: expected 60000`),
    );
    // With nothing in the search path nor in the fallback folder, the error lists where it looked and
    // names both fixes: STRATA_DATA_DIR and the Debian package.
    const empty = newDir();
    process.env.STRATA_DATA_DIR = empty;
    throwsStrata(
      () => loadIdxImages({ ...FASHION_MNIST, fallbackDirs: () => [join(empty, 'nowhere')] }, 'test'),
      /^loadFashionMnist: cannot find the Fashion-MNIST test images\. Looked in:/,
      new RegExp(`${empty}/fashion-mnist/t10k-images-idx3-ubyte\\.gz`),
      new RegExp(`${empty}/nowhere/t10k-images-idx3-ubyte`),
      /set STRATA_DATA_DIR to a folder that holds fashion-mnist\/t10k-images-idx3-ubyte/,
      /apt-get install dataset-fashion-mnist/,
    );
    // The real loader falls back on the Debian package's folder.
    assert.ok(FASHION_MNIST.fallbackDirs().includes(DEBIAN_DIR));
    assert.equal(loadFashionMnist('test', { limit: 1 }).labels.data[0], 9);
  } finally {
    if (saved === undefined) delete process.env.STRATA_DATA_DIR;
    else process.env.STRATA_DATA_DIR = saved;
  }
});
