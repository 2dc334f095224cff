import { fail, fmtShape } from '../errors.js';
import { allocate, type TypedArray } from '../tensor/dtype.js';
import { defaultGenerator, Generator } from '../tensor/random.js';
import { sameShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { type Dataset, Subset, TensorDataset } from './dataset.js';

/** What a dataset item may be for the DataLoader to collate it: a tensor, a number, or a tuple of those. */
export type Sample = Tensor | number | readonly (Tensor | number)[];

/** The batch made from items of type T: tuples become arrays of batched tensors, the rest one tensor. */
export type Collated<T extends Sample> = T extends readonly unknown[] ? Tensor[] : Tensor;

export interface DataLoaderOptions {
  /** Items per batch (default 1). */
  batchSize?: number;
  /** Draw a fresh random order at the start of every epoch (default false: dataset order). */
  shuffle?: boolean;
  /** Leave out the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** The generator that draws the shuffling permutations (default `defaultGenerator`). */
  generator?: Generator;
}

export interface IterateOptions {
  /** Skip this many batches at the start of the epoch, to resume a run mid-epoch (default 0). */
  startBatch?: number;
  /** Use this order of dataset indices instead of drawing one (a permutation of 0..length-1). */
  order?: Int32Array;
}

const OPTION_KEYS = ['batchSize', 'shuffle', 'dropLast', 'generator'];

/**
 * Batches of a dataset, like PyTorch's `DataLoader`. Each iteration is one epoch; with `shuffle` it
 * draws a new permutation from the generator as the iteration starts, so a seed fixes every epoch's order.
 *
 * Batches of a `TensorDataset` (or a `Subset` of one) are `[x, y, ...]`: each tensor's selected rows
 * copied into one new contiguous array, batch first. Items of other datasets are collated: tensors are
 * stacked along a new first axis, numbers become a 1-d tensor (int32 when every number in the batch is an
 * integer, float32 otherwise), and tuples are collated position by position.
 *
 *     const { images, labels } = data.loadMnist('test', { limit: 256 });
 *     const set = new data.TensorDataset(images, labels);
 *     const loader = new data.DataLoader(set, { batchSize: 128, shuffle: true, generator: new Generator(0) });
 *     for (const [x, y] of loader) {
 *       // x float32 [128, 784], y int32 [128], in a new order every epoch
 *     }
 *     loader.length // → 2
 *
 * Resuming mid-epoch exactly: the permutation is drawn when `iterate()` is called, so save
 * `generator.getState()` just before it (or pass your own `order`), and the number of batches done. To
 * resume, restore that state and call `iterate({ startBatch: done })`; afterwards you can restore the
 * generator's later state if other code (dropout) also draws from it.
 */
export class DataLoader<T extends Sample> implements Iterable<Collated<T>> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly generator: Generator;

  constructor(
    readonly dataset: Dataset<T>,
    opts: DataLoaderOptions = {},
  ) {
    if (typeof opts !== 'object' || opts === null) fail('DataLoader', 'options must be an object');
    for (const key of Object.keys(opts)) {
      if (!OPTION_KEYS.includes(key)) {
        fail('DataLoader', `unknown option '${key}': expected one of ${OPTION_KEYS.join(', ')}`);
      }
    }
    const n = dataset?.length;
    if (!Number.isInteger(n) || n < 0 || typeof dataset.get !== 'function') {
      fail('DataLoader', 'dataset must have a non-negative integer length and a get(i) method');
    }
    const { batchSize = 1, shuffle = false, dropLast = false, generator = defaultGenerator } = opts;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      fail('DataLoader', `batchSize must be a positive integer, got ${batchSize}`);
    }
    if (typeof shuffle !== 'boolean')
      fail('DataLoader', `shuffle must be true or false, got ${String(shuffle)}`);
    if (typeof dropLast !== 'boolean')
      fail('DataLoader', `dropLast must be true or false, got ${String(dropLast)}`);
    if (!(generator instanceof Generator))
      fail('DataLoader', 'generator must be a Generator from tensor/random');
    this.batchSize = batchSize;
    this.shuffle = shuffle;
    this.dropLast = dropLast;
    this.generator = generator;
  }

  /** The number of batches in one epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  [Symbol.iterator](): Iterator<Collated<T>> {
    return this.iterate();
  }

  /**
   * One epoch of batches, optionally starting at batch `startBatch` or in a given `order`. The order is
   * fixed (the permutation drawn) when this is called, not when the first batch is read.
   */
  iterate(opts: IterateOptions = {}): IterableIterator<Collated<T>> {
    const n = this.dataset.length;
    const { startBatch = 0, order } = opts;
    if (!Number.isInteger(startBatch) || startBatch < 0 || startBatch > this.length) {
      fail(
        'DataLoader',
        `startBatch must be an integer in [0, ${this.length}] (batches per epoch), got ${startBatch}`,
      );
    }
    if (order !== undefined) checkPermutation(order, n);
    const indices = order ?? (this.shuffle ? this.generator.permutation(n) : null);
    return this.batches(indices, startBatch);
  }

  private *batches(indices: Int32Array | null, startBatch: number): IterableIterator<Collated<T>> {
    const n = this.dataset.length;
    const source = tensorSource(this.dataset);
    for (let b = startBatch; b < this.length; b++) {
      const start = b * this.batchSize;
      const end = Math.min(n, start + this.batchSize);
      const rows = new Int32Array(end - start);
      for (let k = 0; k < rows.length; k++) {
        const i = indices === null ? start + k : indices[start + k]!;
        rows[k] = source?.map ? source.map[i]! : i;
      }
      if (source !== null) {
        yield source.root.tensors.map((t) =>
          gatherRows(t, rows, indices === null && !source.map),
        ) as Collated<T>;
      } else {
        yield collate(
          Array.from(rows, (i) => this.dataset.get(i)),
          rows,
        );
      }
    }
  }
}

function checkPermutation(order: Int32Array, n: number): void {
  if (!(order instanceof Int32Array) || order.length !== n) {
    fail('DataLoader', `order must be an Int32Array permutation of 0..${n - 1} (length ${n})`);
  }
  const seen = new Uint8Array(n);
  for (const i of order) {
    if (i < 0 || i >= n || seen[i])
      fail('DataLoader', `order is not a permutation of 0..${n - 1}: bad or repeated ${i}`);
    seen[i] = 1;
  }
}

/**
 * For a TensorDataset, or Subsets of one, the dataset to copy rows from and the map from the loader's
 * indices to its rows (null for the identity). Subclasses that override `get` are collated item by item.
 */
function tensorSource(dataset: Dataset<unknown>): { root: TensorDataset; map: Int32Array | null } | null {
  if (dataset instanceof TensorDataset && dataset.get === TensorDataset.prototype.get) {
    return { root: dataset, map: null };
  }
  if (dataset instanceof Subset && dataset.get === Subset.prototype.get) {
    const inner = tensorSource(dataset.dataset as Dataset<unknown>);
    if (inner === null) return null;
    const outer = (dataset as Subset<unknown>).indices;
    return { root: inner.root, map: inner.map === null ? outer : outer.map((i) => inner.map![i]!) };
  }
  return null;
}

/** The rows of t (along its first axis) copied into one new contiguous tensor. */
function gatherRows(t: Tensor, rows: Int32Array, consecutive: boolean): Tensor {
  const rowShape = t.shape.slice(1);
  const rowSize = rowShape.reduce((a, b) => a * b, 1);
  const shape = [rows.length, ...rowShape];
  if (!t.isContiguous()) {
    // Rare (a transposed or sliced input): copy row by row through toTypedArray of each row view.
    const out = allocate(t.dtype, rows.length * rowSize);
    rows.forEach((r, k) => {
      const row = new Tensor(t.data, rowShape, t.strides.slice(1), t.offset + r * t.strides[0]!);
      out.set(row.toTypedArray(), k * rowSize);
    });
    return new Tensor(out, shape);
  }
  const src = t.data;
  const base = t.offset;
  if (consecutive && rows.length > 0) {
    const from = base + rows[0]! * rowSize;
    return new Tensor(src.slice(from, from + rows.length * rowSize), shape);
  }
  const out = allocate(t.dtype, rows.length * rowSize);
  if (rowSize >= 32) {
    for (let k = 0; k < rows.length; k++) {
      const from = base + rows[k]! * rowSize;
      out.set(src.subarray(from, from + rowSize), k * rowSize);
    }
  } else {
    // Short rows (labels): a plain loop beats creating a subarray per row.
    for (let k = 0, o = 0; k < rows.length; k++) {
      const from = base + rows[k]! * rowSize;
      for (let j = 0; j < rowSize; j++) out[o++] = src[from + j]!;
    }
  }
  return new Tensor(out, shape);
}

/** Stacks a batch of items: tensors along a new first axis, numbers into a 1-d tensor, tuples by position. */
function collate<T extends Sample>(items: T[], rows: Int32Array): Collated<T> {
  const first = items[0];
  if (Array.isArray(first)) {
    const arity = first.length;
    const columns: (Tensor | number)[][] = Array.from({ length: arity }, () => []);
    items.forEach((item, k) => {
      if (!Array.isArray(item) || item.length !== arity) {
        fail(
          'DataLoader',
          `item ${rows[k]} is not a tuple of ${arity} like item ${rows[0]}; items must share a structure`,
        );
      }
      for (let j = 0; j < arity; j++) columns[j]!.push(item[j]!);
    });
    return columns.map((c) => stack(c, rows)) as Collated<T>;
  }
  return stack(items as (Tensor | number)[], rows) as Collated<T>;
}

function stack(values: (Tensor | number)[], rows: Int32Array): Tensor {
  const first = values[0];
  if (typeof first === 'number') {
    values.forEach((v, k) => {
      if (typeof v !== 'number')
        fail('DataLoader', `item ${rows[k]} has a ${describe(v)} where item ${rows[0]} has a number`);
    });
    const nums = values as number[];
    const data = nums.every(Number.isInteger) ? Int32Array.from(nums) : Float32Array.from(nums);
    return new Tensor(data, [nums.length]);
  }
  if (!(first instanceof Tensor)) {
    return fail(
      'DataLoader',
      `cannot collate item ${rows[0]}: expected a Tensor, a number or an array of them, got ${describe(first)}`,
    );
  }
  const size = first.size;
  const out: TypedArray = allocate(first.dtype, values.length * size);
  values.forEach((v, k) => {
    if (!(v instanceof Tensor))
      fail('DataLoader', `item ${rows[k]} has a ${describe(v)} where item ${rows[0]} has a Tensor`);
    if (!sameShape(v.shape, first.shape) || v.dtype !== first.dtype) {
      fail(
        'DataLoader',
        `cannot stack item ${rows[k]} (${v.dtype} ${fmtShape(v.shape)}) with item ${rows[0]} (${first.dtype} ${fmtShape(first.shape)}): ` +
          'items must share shape and dtype',
      );
    }
    out.set(v.isContiguous() ? v.data.subarray(v.offset, v.offset + size) : v.toTypedArray(), k * size);
  });
  return new Tensor(out, [values.length, ...first.shape]);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v instanceof Tensor) return 'Tensor';
  return typeof v === 'object' ? (v.constructor?.name ?? 'object') : typeof v;
}

/**
 * The epochs of a source that makes its own batches: each `iterate()` draws one seed from `generator` as
 * it is called (not when the first batch is read), and `epoch(seed)` gives that epoch's batch b. So the
 * training engine, which restores the generator to an epoch's start, calls `iterate({ startBatch })` and
 * then puts the generator's later state back, replays the same epoch from any batch.
 *
 *     const source = data.seededEpochs(3, new Generator(0), (seed) => (b) => [seed % 7, b]);
 *     [...source.iterate({ startBatch: 1 })].length // → 2
 */
export function seededEpochs<B>(
  length: number,
  generator: Generator,
  epoch: (seed: number) => (batch: number) => B,
): { length: number; iterate(options?: { startBatch?: number }): Iterable<B> } {
  if (!(Number.isInteger(length) && length >= 1))
    fail('seededEpochs', `length must be a positive integer (batches per epoch), got ${length}`);
  return {
    length,
    iterate({ startBatch = 0 } = {}) {
      const batch = epoch(generator.nextU32());
      return (function* () {
        for (let b = startBatch; b < length; b++) yield batch(b);
      })();
    },
  };
}
