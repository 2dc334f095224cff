import { fail, fmtShape } from '../errors.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';

/** Anything indexable by 0..length-1 (PyTorch's map-style dataset). */
export interface Dataset<T> {
  readonly length: number;
  get(i: number): T;
}

function checkIndex(op: string, i: number, length: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= length) {
    fail(op, `index ${i} is out of range for a dataset of length ${length}`);
  }
}

/**
 * Tensors that share their first dimension, read row by row: item i is `[t0[i], t1[i], ...]`, each row a
 * view (no copy). A DataLoader over a TensorDataset, or a Subset of one, copies whole batches of rows at
 * once instead of collating items one by one.
 *
 *     const { images, labels } = data.loadMnist('test', { limit: 64 });
 *     const set = new data.TensorDataset(images, labels); // [64, 784] and [64]
 *     const [image, label] = set.get(0);                 // [784] and []
 *     image!.shape // → [784]
 *     label!.item() // → 7
 */
export class TensorDataset implements Dataset<Tensor[]> {
  readonly tensors: readonly Tensor[];
  readonly length: number;

  constructor(...tensors: Tensor[]) {
    if (tensors.length === 0) fail('TensorDataset', 'expected at least one tensor');
    tensors.forEach((t, k) => {
      if (!(t instanceof Tensor)) fail('TensorDataset', `argument ${k} is not a Tensor`);
      if (t.rank === 0)
        fail('TensorDataset', `tensor ${k} is 0-d; every tensor needs a first dimension to index`);
    });
    const n = tensors[0]!.shape[0]!;
    tensors.forEach((t, k) => {
      if (t.shape[0] !== n) {
        fail(
          'TensorDataset',
          `tensors must share their first dimension: tensor 0 is ${fmtShape(tensors[0]!.shape)}, ` +
            `tensor ${k} is ${fmtShape(t.shape)} (${n} ≠ ${t.shape[0]})`,
        );
      }
    });
    this.tensors = tensors;
    this.length = n;
  }

  get(i: number): Tensor[] {
    checkIndex('TensorDataset.get', i, this.length);
    return this.tensors.map(
      (t) => new Tensor(t.data, t.shape.slice(1), t.strides.slice(1), t.offset + i * t.strides[0]!),
    );
  }
}

/**
 * The items of `dataset` at the given indices, in that order (PyTorch's `Subset`).
 *
 *     const firstFour = new data.Subset(new data.TensorDataset(x, y), [0, 1, 2, 3]);
 *     firstFour.length // → 4
 *     const [batch] = new data.DataLoader(firstFour, { batchSize: 4 });
 *     batch![0]!.shape // → [4, 4]
 */
export class Subset<T> implements Dataset<T> {
  readonly indices: Int32Array;

  constructor(
    readonly dataset: Dataset<T>,
    indices: ArrayLike<number>,
  ) {
    const n = dataset.length;
    this.indices = Int32Array.from(indices);
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k]!;
      if (!Number.isInteger(i) || i < 0 || i >= n) {
        fail('Subset', `index ${i} (position ${k}) is out of range for a dataset of length ${n}`);
      }
    }
  }

  get length(): number {
    return this.indices.length;
  }

  get(i: number): T {
    checkIndex('Subset.get', i, this.indices.length);
    return this.dataset.get(this.indices[i]!);
  }
}

/**
 * Splits a dataset into disjoint random subsets (PyTorch's `random_split`). `lengths` are either counts
 * that sum to `dataset.length`, or fractions that sum to 1: each part gets floor(fraction × n) items and
 * the remainder goes one by one to the first parts. The order comes from one permutation drawn from
 * `generator`, so a seed fixes the split.
 *
 *     const dataset = new data.TensorDataset(x, y); // 16 rows
 *     const [train, validation] = data.randomSplit(dataset, [0.75, 0.25], new Generator(42));
 *     [train!.length, validation!.length] // → [12, 4]
 */
export function randomSplit<T>(
  dataset: Dataset<T>,
  lengths: readonly number[],
  generator: Generator = defaultGenerator,
): Subset<T>[] {
  const n = dataset.length;
  if (lengths.length === 0) fail('randomSplit', 'expected at least one length');
  if (lengths.some((l) => !(Number.isFinite(l) && l >= 0))) {
    fail('randomSplit', `lengths must be non-negative numbers, got [${lengths.join(', ')}]`);
  }
  const total = lengths.reduce((a, b) => a + b, 0);
  let counts: number[];
  if (lengths.every(Number.isInteger) && total === n) {
    counts = [...lengths];
  } else if (lengths.every((l) => l <= 1) && Math.abs(total - 1) < 1e-6) {
    counts = lengths.map((f) => Math.floor(f * n));
    let rest = n - counts.reduce((a, b) => a + b, 0);
    for (let k = 0; rest > 0; k = (k + 1) % counts.length, rest--) counts[k]!++;
  } else {
    return fail(
      'randomSplit',
      `lengths [${lengths.join(', ')}] must be counts summing to the dataset's length ${n} or fractions summing to 1`,
    );
  }
  const order = generator.permutation(n);
  let start = 0;
  return counts.map((c) => {
    const part = new Subset(dataset, order.subarray(start, start + c));
    start += c;
    return part;
  });
}

/**
 * Holds out a random `validationFraction` of a dataset (rounded to the nearest item) for validation.
 *
 *     const { train, validation } = data.trainValidationSplit(new data.TensorDataset(x, y), 0.25, new Generator(0));
 *     [train.length, validation.length] // → [12, 4]
 */
export function trainValidationSplit<T>(
  dataset: Dataset<T>,
  validationFraction: number,
  generator: Generator = defaultGenerator,
): { train: Subset<T>; validation: Subset<T> } {
  if (!(validationFraction > 0 && validationFraction < 1)) {
    fail('trainValidationSplit', `validationFraction must be in (0, 1), got ${validationFraction}`);
  }
  const nVal = Math.round(dataset.length * validationFraction);
  const [train, validation] = randomSplit(dataset, [dataset.length - nVal, nVal], generator);
  return { train: train!, validation: validation! };
}
