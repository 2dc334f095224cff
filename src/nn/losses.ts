import { fail, fmtShape } from '../errors.js';
import { where } from '../ops/elementwise.js';
import { logSoftmax, stableSoftplus } from '../ops/functional.js';
import { binaryCrossEntropy } from '../ops/losses.js';
import { sameShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

export type Reduction = 'mean' | 'sum' | 'none';

function reduce(loss: Tensor, reduction: Reduction): Tensor {
  if (reduction === 'mean') return loss.mean();
  if (reduction === 'sum') return loss.sum();
  if (reduction === 'none') return loss;
  return fail('loss', `reduction must be 'mean', 'sum' or 'none', got '${reduction}'`);
}

function sameShapes(op: string, input: Tensor, target: Tensor): void {
  if (!sameShape(input.shape, target.shape)) {
    fail(op, `input ${fmtShape(input.shape)} and target ${fmtShape(target.shape)} must have the same shape`);
  }
}

/** Mean squared error: mean((input - target)^2). */
export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  sameShapes('mseLoss', input, target);
  return reduce(input.sub(target).square(), reduction);
}

/**
 * Binary cross-entropy on probabilities: -(y log p + (1 - y) log(1 - p)). Logs are clamped at -100 as
 * in PyTorch, so p = 0 or 1 gives a large finite loss, not infinity.
 */
export function bceLoss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  sameShapes('bceLoss', input, target);
  return reduce(binaryCrossEntropy(input, target), reduction);
}

/**
 * Binary cross-entropy on logits, stably: (1 - y) x + softplus(-x), with softplus(-x) = log(1 + e^-x)
 * computed without overflow. `posWeight` weights the positive term, as in PyTorch.
 */
export function bceWithLogits(
  input: Tensor,
  target: Tensor,
  { reduction = 'mean', posWeight }: { reduction?: Reduction; posWeight?: Tensor } = {},
): Tensor {
  sameShapes('bceWithLogits', input, target);
  const logOnePlusExpNeg = stableSoftplus(input.neg());
  const w = posWeight ? posWeight.sub(1).mul(target).add(1) : null;
  return reduce(
    input.mul(target.neg().add(1)).add(w ? w.mul(logOnePlusExpNeg) : logOnePlusExpNeg),
    reduction,
  );
}

export interface ClassLossOptions {
  reduction?: Reduction;
  /** Targets equal to this index contribute nothing (PyTorch's ignore_index; default none). */
  ignoreIndex?: number;
}

/** Moves the class axis (1) last and flattens: [N, C, d1, ...] -> [N·d1·..., C]; targets to match. */
function flattenClasses(op: string, input: Tensor, target: Tensor): [Tensor, Tensor] {
  if (input.rank < 2) fail(op, `expected input [N, C] or [N, C, ...], got ${fmtShape(input.shape)}`);
  if (target.dtype !== 'int32') fail(op, `target must hold int32 class indices, got ${target.dtype}`);
  const want = [input.shape[0]!, ...input.shape.slice(2)];
  if (!sameShape(target.shape, want)) {
    fail(
      op,
      `target of shape ${fmtShape(target.shape)} does not match input ${fmtShape(input.shape)} (expected ${fmtShape(want)})`,
    );
  }
  if (input.rank === 2) return [input, target];
  const axes = [0, ...Array.from({ length: input.rank - 2 }, (_, i) => i + 2), 1];
  return [input.permute(axes).reshape([-1, input.shape[1]!]), target.reshape([-1])];
}

function checkClasses(op: string, target: Tensor, classes: number, ignoreIndex: number | undefined): void {
  const t = target.toTypedArray();
  for (let i = 0; i < t.length; i++) {
    const c = t[i]!;
    if (c !== ignoreIndex && (c < 0 || c >= classes)) {
      fail(op, `target class ${c} at position ${i} is out of range [0, ${classes})`);
    }
  }
}

/** Per-position -log p[target] of [M, C] log-probabilities, and the mask of positions that count. */
function pickedNll(
  op: string,
  logP: Tensor,
  t: Tensor,
  ignoreIndex: number | undefined,
): [Tensor, Tensor | null] {
  checkClasses(op, t, logP.shape[1]!, ignoreIndex);
  const keep = ignoreIndex === undefined ? null : t.ne(ignoreIndex).cast(logP.dtype);
  const safe = keep ? where(t.eq(ignoreIndex!), 0, t) : t;
  return [
    logP
      .gather(1, safe.reshape([-1, 1]))
      .reshape([-1])
      .neg(),
    keep,
  ];
}

/** Reduces per-position losses; a mean counts only the positions that are kept. */
function reduceKept(
  loss: Tensor,
  keep: Tensor | null,
  reduction: Reduction,
  shape: readonly number[],
): Tensor {
  if (reduction === 'none') return (keep ? loss.mul(keep) : loss).reshape(shape);
  if (!keep) return reduce(loss, reduction);
  const masked = loss.mul(keep).sum();
  // As in PyTorch, a mean over no kept positions is 0/0 = NaN.
  return reduction === 'mean' ? masked.div(keep.sum()) : masked;
}

/** Negative log-likelihood of log-probabilities [N, C] (or [N, C, ...]) at int32 class targets. */
export function nllLoss(
  logProbs: Tensor,
  target: Tensor,
  { reduction = 'mean', ignoreIndex }: ClassLossOptions = {},
): Tensor {
  const [lp, t] = flattenClasses('nllLoss', logProbs, target);
  const [loss, keep] = pickedNll('nllLoss', lp, t, ignoreIndex);
  return reduceKept(loss, keep, reduction, target.shape);
}

/**
 * Softmax cross-entropy of logits [N, C] (or [N, C, ...]) at int32 class targets. With label smoothing
 * ε the target is (1 - ε)·onehot + ε/C, as in PyTorch.
 */
export function crossEntropy(
  logits: Tensor,
  target: Tensor,
  {
    labelSmoothing = 0,
    reduction = 'mean',
    ignoreIndex,
  }: ClassLossOptions & { labelSmoothing?: number } = {},
): Tensor {
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
    fail('crossEntropy', `labelSmoothing must be in [0, 1], got ${labelSmoothing}`);
  const [x, t] = flattenClasses('crossEntropy', logits, target);
  const logP = logSoftmax(x, 1);
  const [nll, keep] = pickedNll('crossEntropy', logP, t, ignoreIndex);
  const loss =
    labelSmoothing === 0 ? nll : nll.mul(1 - labelSmoothing).add(logP.mean(1).neg().mul(labelSmoothing));
  return reduceKept(loss, keep, reduction, target.shape);
}

/** The losses as modules. */
export class MSELoss extends Module {
  constructor(readonly reduction: Reduction = 'mean') {
    super();
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return mseLoss(input, target, this.reduction);
  }
}

export class BCELoss extends Module {
  constructor(readonly reduction: Reduction = 'mean') {
    super();
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return bceLoss(input, target, this.reduction);
  }
}

export class BCEWithLogitsLoss extends Module {
  constructor(readonly opts: { reduction?: Reduction; posWeight?: Tensor } = {}) {
    super();
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return bceWithLogits(input, target, this.opts);
  }
}

export class CrossEntropyLoss extends Module {
  constructor(readonly opts: ClassLossOptions & { labelSmoothing?: number } = {}) {
    super();
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return crossEntropy(input, target, this.opts);
  }
}

export class NLLLoss extends Module {
  constructor(readonly opts: ClassLossOptions = {}) {
    super();
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return nllLoss(input, target, this.opts);
  }
}
