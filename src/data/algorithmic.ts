import { describe, fail } from '../errors.js';
import { tensor } from '../tensor/creation.js';
import type { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * The algorithmic tasks of the neural Turing machine paper (Graves, Wayne & Danihelka 2014, §4): copy,
 * associative recall and priority sort, drawn from a Generator (the same generator state draws the same
 * batch). Every sequence of a batch has the same length; a batch is inputs [B, T, I], targets [B, T, O]
 * and a mask [B, T] that is 1 on the steps whose outputs are scored (the answer phase) and 0 elsewhere.
 */

/** The tasks by name. */
export type AlgorithmicTask = 'copy' | 'recall' | 'sort';

/** One batch of a task. */
export interface SequenceBatch {
  inputs: Tensor;
  targets: Tensor;
  /** 1 on the steps whose outputs are scored. */
  mask: Tensor;
}

/**
 * The input and output channels of a task's steps.
 *
 *     data.taskSizes('copy') // → { inputSize: 9, outputSize: 8 }
 */
export function taskSizes(task: AlgorithmicTask): { inputSize: number; outputSize: number } {
  switch (task) {
    case 'copy':
      return { inputSize: COPY_BITS + 1, outputSize: COPY_BITS };
    case 'recall':
      return { inputSize: RECALL_BITS + 2, outputSize: RECALL_BITS };
    case 'sort':
      return { inputSize: SORT_BITS + 2, outputSize: SORT_BITS };
    default:
      return fail('taskSizes', `unknown task ${describe(task)}: expected copy, recall or sort`);
  }
}

const COPY_BITS = 8;
const RECALL_BITS = 6;
const RECALL_ITEM = 3;
const SORT_BITS = 8;

function checkCount(op: string, name: string, v: number, min: number): void {
  if (!(Number.isInteger(v) && v >= min)) fail(op, `${name} must be an integer ≥ ${min}, got ${describe(v)}`);
}

/** A batch from its flat arrays. */
function batchOf(
  b: number,
  t: number,
  inputs: Float32Array,
  targets: Float32Array,
  mask: Float32Array,
): SequenceBatch {
  return {
    inputs: tensor(inputs).reshape([b, t, inputs.length / (b * t)]),
    targets: tensor(targets).reshape([b, t, targets.length / (b * t)]),
    mask: tensor(mask).reshape([b, t]),
  };
}

const bit = (generator: Generator) => (generator.uniform() < 0.5 ? 0 : 1);

export interface CopyOptions {
  batchSize: number;
  /** Vectors per sequence, drawn uniformly from minLength..maxLength once per batch (paper: 1..20). */
  minLength?: number;
  maxLength?: number;
  generator: Generator;
}

/**
 * The copy task (§4.1): a sequence of L random 8-bit vectors, then a step with only the delimiter
 * channel (the ninth) on, then L blank steps in which the target is the sequence again. Inputs
 * [B, 2L + 1, 9], targets [B, 2L + 1, 8] (zero before the answer), the mask 1 on the last L steps.
 *
 *     const b = data.copyBatch({ batchSize: 2, minLength: 3, maxLength: 3, generator });
 *     b.inputs.shape // → [2, 7, 9]
 *     b.mask.narrow(0, 0, 1).tolist() // → [[0, 0, 0, 0, 1, 1, 1]]
 */
export function copyBatch({
  batchSize,
  minLength = 1,
  maxLength = 20,
  generator,
}: CopyOptions): SequenceBatch {
  const op = 'copyBatch';
  checkCount(op, 'batchSize', batchSize, 1);
  checkCount(op, 'minLength', minLength, 1);
  checkCount(op, 'maxLength', maxLength, minLength);
  const length = generator.randint(minLength, maxLength + 1);
  const [steps, w] = [2 * length + 1, COPY_BITS];
  const inputs = new Float32Array(batchSize * steps * (w + 1));
  const targets = new Float32Array(batchSize * steps * w);
  const mask = new Float32Array(batchSize * steps);
  for (let s = 0; s < batchSize; s++) {
    for (let t = 0; t < length; t++)
      for (let k = 0; k < w; k++) {
        const v = bit(generator);
        inputs[(s * steps + t) * (w + 1) + k] = v;
        targets[(s * steps + length + 1 + t) * w + k] = v;
      }
    inputs[(s * steps + length) * (w + 1) + w] = 1;
    mask.fill(1, s * steps + length + 1, (s + 1) * steps);
  }
  return batchOf(batchSize, steps, inputs, targets, mask);
}

export interface RecallOptions {
  batchSize: number;
  /** Items per sequence, drawn uniformly from minItems..maxItems once per batch (paper: 2..6). */
  minItems?: number;
  maxItems?: number;
  generator: Generator;
}

/**
 * Associative recall (§4.2): k items of 3 random 6-bit vectors, each item after a step with the item
 * delimiter (channel 7) on; then the query delimiter (channel 8), one of the first k − 1 items again, the
 * query delimiter once more, and 3 blank steps in which the target is the item that followed the queried
 * one. Inputs [B, 4k + 8, 8], targets [B, 4k + 8, 6], the mask 1 on the last 3 steps.
 *
 *     const b = data.recallBatch({ batchSize: 1, minItems: 2, maxItems: 2, generator });
 *     b.inputs.shape // → [1, 16, 8]
 */
export function recallBatch({
  batchSize,
  minItems = 2,
  maxItems = 6,
  generator,
}: RecallOptions): SequenceBatch {
  const op = 'recallBatch';
  checkCount(op, 'batchSize', batchSize, 1);
  checkCount(op, 'minItems', minItems, 2);
  checkCount(op, 'maxItems', maxItems, minItems);
  const items = generator.randint(minItems, maxItems + 1);
  const [w, len] = [RECALL_BITS, RECALL_ITEM];
  const [iw, steps] = [w + 2, (len + 1) * items + 2 * len + 2];
  const inputs = new Float32Array(batchSize * steps * iw);
  const targets = new Float32Array(batchSize * steps * w);
  const mask = new Float32Array(batchSize * steps);
  const item = new Float32Array(items * len * w);
  for (let s = 0; s < batchSize; s++) {
    for (let i = 0; i < item.length; i++) item[i] = bit(generator);
    const at = (t: number) => (s * steps + t) * iw;
    for (let i = 0; i < items; i++) {
      inputs[at(i * (len + 1)) + w] = 1;
      for (let r = 0; r < len; r++)
        for (let k = 0; k < w; k++) inputs[at(i * (len + 1) + 1 + r) + k] = item[(i * len + r) * w + k]!;
    }
    const q = generator.randint(0, items - 1);
    const query = items * (len + 1);
    inputs[at(query) + w + 1] = 1;
    for (let r = 0; r < len; r++)
      for (let k = 0; k < w; k++) inputs[at(query + 1 + r) + k] = item[(q * len + r) * w + k]!;
    inputs[at(query + len + 1) + w + 1] = 1;
    const answer = query + len + 2;
    for (let r = 0; r < len; r++)
      for (let k = 0; k < w; k++)
        targets[(s * steps + answer + r) * w + k] = item[((q + 1) * len + r) * w + k]!;
    mask.fill(1, s * steps + answer, s * steps + answer + len);
  }
  return batchOf(batchSize, steps, inputs, targets, mask);
}

export interface SortOptions {
  batchSize: number;
  /** Vectors in, each with a priority uniform in [−1, 1] (paper: 20). */
  count?: number;
  /** The highest-priority vectors out, highest first (paper: 16). */
  keep?: number;
  generator: Generator;
}

/**
 * Priority sort (§4.5): `count` random 8-bit vectors, each with its priority, uniform in [−1, 1], as the
 * ninth input channel; then a step with the delimiter (channel 10) on; then `keep` blank steps in which
 * the target is the `keep` highest-priority vectors, highest first. Inputs [B, count + 1 + keep, 10],
 * targets [B, count + 1 + keep, 8], the mask 1 on the last `keep` steps.
 *
 *     const b = data.sortBatch({ batchSize: 4, generator });
 *     b.inputs.shape // → [4, 37, 10]
 */
export function sortBatch({ batchSize, count = 20, keep = 16, generator }: SortOptions): SequenceBatch {
  const op = 'sortBatch';
  checkCount(op, 'batchSize', batchSize, 1);
  checkCount(op, 'count', count, 1);
  checkCount(op, 'keep', keep, 1);
  if (keep > count) fail(op, `keep (${keep}) must be at most count (${count})`);
  const w = SORT_BITS;
  const [iw, steps] = [w + 2, count + 1 + keep];
  const inputs = new Float32Array(batchSize * steps * iw);
  const targets = new Float32Array(batchSize * steps * w);
  const mask = new Float32Array(batchSize * steps);
  const priority = new Float64Array(count);
  for (let s = 0; s < batchSize; s++) {
    const at = (t: number) => (s * steps + t) * iw;
    for (let t = 0; t < count; t++) {
      for (let k = 0; k < w; k++) inputs[at(t) + k] = bit(generator);
      priority[t] = 2 * generator.uniform() - 1;
      inputs[at(t) + w] = priority[t]!;
    }
    inputs[at(count) + w + 1] = 1;
    const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => priority[b]! - priority[a]!);
    for (let r = 0; r < keep; r++)
      for (let k = 0; k < w; k++) targets[(s * steps + count + 1 + r) * w + k] = inputs[at(order[r]!) + k]!;
    mask.fill(1, s * steps + count + 1, (s + 1) * steps);
  }
  return batchOf(batchSize, steps, inputs, targets, mask);
}
