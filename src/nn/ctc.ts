import { describe, fail, fmtShape } from '../errors.js';
import { ctcNegLogLikelihood } from '../ops/losses.js';
import { tensor } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';
import {
  checkBoolean,
  checkFloat,
  checkTensor,
  lossOptions,
  moduleOptions,
  type Reduction,
  reduceLoss,
} from './loss-checks.js';
import { Module } from './module.js';

/** Per-sample lengths: an integer tensor [N] or an array of N numbers (one number when unbatched). */
export type Lengths = Tensor | readonly number[] | number;

export interface CtcOptions {
  /**
   * 'mean' (default) divides each sample's loss by its target length (at least 1) and averages over the
   * batch; 'sum' adds the losses; 'none' returns them, [N].
   */
  reduction?: Reduction;
  /** The class index of the blank (default 0). */
  blank?: number;
  /** Impossible alignments (an infinite loss, when an input is too short) give 0 and no gradient. */
  zeroInfinity?: boolean;
}

const FORM = "ctcLoss(logProbs, targets, inputLengths, targetLengths, { blank: 0, reduction: 'mean' })";

function lengthsOf(op: string, what: string, value: unknown, n: number): number[] {
  let values: number[];
  if (typeof value === 'number') values = [value];
  else if (Array.isArray(value)) values = value as number[];
  else if (value instanceof Tensor) {
    if (value.dtype !== 'int32') {
      fail(op, `${what} must be int32, got ${value.dtype}; use tensor(lengths, { dtype: 'int32' })`);
    }
    values = Array.from(value.toTypedArray());
  } else return fail(op, `${what} must be an int32 tensor or an array of numbers, got ${describe(value)}`);
  if (values.length !== n) fail(op, `${what} must hold one length per sample (${n}), got ${values.length}`);
  const bad = values.findIndex((v) => typeof v !== 'number' || !Number.isInteger(v) || v < 0);
  if (bad >= 0)
    fail(op, `${what} must be non-negative integers, got ${describe(values[bad])} at sample ${bad}`);
  return values;
}

/**
 * Connectionist temporal classification loss (Graves et al., 2006): for each sample, -log of the total
 * probability of every alignment of its target to its inputs, an alignment being a path through the
 * classes with blanks between labels and repeats merged. `logProbs` is [T, N, C] log-probabilities (a
 * log-softmax over C; [T, C] unbatched); `targets` are int32 labels, padded [N, S] or all concatenated
 * 1-D; `inputLengths` and `targetLengths` say how much of each sample counts. The forward-backward
 * recursions run in log space over typed arrays.
 *
 *     ctcLoss(logits.logSoftmax(2), targets, [50, 48], [10, 7], { blank: 0 })
 */
export function ctcLoss(
  logProbs: Tensor,
  targets: Tensor,
  inputLengths: Lengths,
  targetLengths: Lengths,
  options?: CtcOptions,
): Tensor {
  const op = 'ctcLoss';
  const o = lossOptions(op, arguments, 5, options, ['reduction', 'blank', 'zeroInfinity'], FORM);
  const zeroInfinity = checkBoolean(op, 'zeroInfinity', o.zeroInfinity ?? false);
  const lp = checkFloat(op, 'logProbs', logProbs);
  const t = checkTensor(op, 'targets', targets, "tensor(labels, { dtype: 'int32' })");
  if (lp.rank !== 3 && lp.rank !== 2) {
    fail(op, `expected logProbs [T, N, C] (or [T, C] unbatched), got ${fmtShape(lp.shape)}`);
  }
  const unbatched = lp.rank === 2;
  const lp3 = unbatched ? lp.unsqueeze(1) : lp;
  const [T, N, C] = lp3.shape as [number, number, number];
  const blank = o.blank ?? 0;
  if (!Number.isInteger(blank) || blank < 0 || blank >= C) {
    fail(op, `blank must be a class index in [0, ${C}), got ${describe(blank)}`);
  }
  if (t.dtype !== 'int32') {
    fail(op, `class indices must be int32: use tensor(labels, { dtype: 'int32' }); got ${t.dtype} targets`);
  }
  const inLens = lengthsOf(op, 'inputLengths', inputLengths, N);
  const targetLens = lengthsOf(op, 'targetLengths', targetLengths, N);
  const long = inLens.findIndex((l) => l > T);
  if (long >= 0)
    fail(op, `inputLengths[${long}] is ${inLens[long]}, more than the ${T} time steps of logProbs`);
  const labels = t.toTypedArray() as Int32Array;
  const perSample: Int32Array[] = [];
  if (unbatched || t.rank === 2) {
    const S = unbatched ? t.size : t.shape[1]!;
    if (!unbatched && t.shape[0] !== N) {
      fail(op, `padded targets must be [N, S] with N = ${N}, got ${fmtShape(t.shape)}`);
    }
    if (unbatched && t.rank !== 1) fail(op, `unbatched targets must be 1-D, got ${fmtShape(t.shape)}`);
    targetLens.forEach((l, n) => {
      if (l > S) fail(op, `targetLengths[${n}] is ${l}, more than the ${S} columns of targets`);
      perSample.push(labels.subarray(n * S, n * S + l));
    });
  } else if (t.rank === 1) {
    const total = targetLens.reduce((a, b) => a + b, 0);
    if (t.size < total) {
      fail(op, `concatenated targets hold ${t.size} labels but targetLengths add up to ${total}`);
    }
    let at = 0;
    for (const l of targetLens) {
      perSample.push(labels.subarray(at, at + l));
      at += l;
    }
  } else fail(op, `targets must be padded [N, S] or concatenated 1-D, got ${fmtShape(t.shape)}`);
  perSample.forEach((labelsOfN, n) => {
    const bad = labelsOfN.findIndex((c) => c < 0 || c >= C || c === blank);
    if (bad >= 0) {
      fail(
        op,
        `target label ${labelsOfN[bad]} of sample ${n} (position ${bad}) must be a class in [0, ${C}) other than the blank ${blank}`,
      );
    }
  });
  const nll = ctcNegLogLikelihood(lp3, { targets: perSample, inputLengths: inLens, blank, zeroInfinity });
  const reduction = o.reduction ?? 'mean';
  if (reduction === 'mean') {
    const per = tensor(
      targetLens.map((l) => Math.max(l, 1)),
      { dtype: lp.dtype },
    );
    return nll.div(per).mean();
  }
  return unbatched && reduction === 'none' ? nll.reshape([]) : reduceLoss(nll, reduction);
}

export class CTCLoss extends Module<[Tensor, Tensor, Lengths, Lengths]> {
  readonly options: CtcOptions;
  constructor(options?: CtcOptions) {
    super();
    this.options = moduleOptions('CTCLoss', arguments, options, ['reduction', 'blank', 'zeroInfinity']);
  }
  forward(logProbs: Tensor, targets: Tensor, inputLengths: Lengths, targetLengths: Lengths): Tensor {
    return ctcLoss(logProbs, targets, inputLengths, targetLengths, this.options);
  }
}
