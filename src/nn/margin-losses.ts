import { fail, fmtShape } from '../errors.js';
import { where } from '../ops/elementwise.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  checkBoolean,
  checkFloat,
  checkNumber,
  checkSameShape,
  checkTensor,
  lossOptions,
  moduleOptions,
  type Reduction,
  reduceLoss,
} from './loss-checks.js';
import { Module } from './module.js';

/** Losses on pairs and triplets of embeddings or scores, with a margin: PyTorch's names and semantics. */

/** Options of the margin losses: the reduction and the margin. */
export interface MarginOptions {
  reduction?: Reduction;
  /** How far apart the losses want the two sides (default 0). */
  margin?: number;
}

/** A ±1 target of a given shape: 1 for "alike" (or "x1 ranks higher"), -1 for the opposite. */
function checkSigns(op: string, value: unknown, shape: readonly number[]): Tensor {
  const y = checkTensor(op, 'target', value);
  if (y.shape.length !== shape.length || y.shape.some((d, i) => d !== shape[i])) {
    fail(op, `target must have shape ${fmtShape(shape)}, got ${fmtShape(y.shape)}`);
  }
  const bad = Array.from(y.toTypedArray()).find((v) => v !== 1 && v !== -1);
  if (bad !== undefined) fail(op, `target must hold 1 or -1, got ${bad}`);
  return y;
}

/**
 * Cosine embedding loss of x1, x2 [N, D] (or [D]) at targets y [N] (or 0-d) of ±1: 1 - cos(x1, x2)
 * where y = 1, max(0, cos(x1, x2) - margin) where y = -1. The cosine is
 * Σ x1 x2 / sqrt((Σ x1² + 1e-12)(Σ x2² + 1e-12)), as in PyTorch.
 */
export function cosineEmbeddingLoss(x1: Tensor, x2: Tensor, target: Tensor, options?: MarginOptions): Tensor {
  const op = 'cosineEmbeddingLoss';
  const o = lossOptions(
    op,
    arguments,
    4,
    options,
    ['reduction', 'margin'],
    `${op}(x1, x2, target, { margin: 0 })`,
  );
  const margin = checkNumber(op, 'margin', o.margin ?? 0);
  const a = checkFloat(op, 'x1', x1);
  const b = checkFloat(op, 'x2', x2);
  checkSameShape(op, ['x1', 'x2'], a, b);
  if (a.rank !== 1 && a.rank !== 2) fail(op, `expected x1 and x2 [N, D] or [D], got ${fmtShape(a.shape)}`);
  const y = checkSigns(op, target, a.shape.slice(0, -1));
  const eps = 1e-12;
  const cos = a
    .mul(b)
    .sum(-1)
    .div(a.square().sum(-1).add(eps).mul(b.square().sum(-1).add(eps)).sqrt());
  const loss = where(y.gt(0), cos.neg().add(1), cos.sub(margin).clamp(0));
  return reduceLoss(loss, o.reduction ?? 'mean');
}

/**
 * Margin ranking loss of scores x1, x2 at targets y of ±1 (all of one shape): max(0, -y (x1 - x2) +
 * margin), which is 0 once the one y prefers is ahead by the margin.
 */
export function marginRankingLoss(x1: Tensor, x2: Tensor, target: Tensor, options?: MarginOptions): Tensor {
  const op = 'marginRankingLoss';
  const o = lossOptions(
    op,
    arguments,
    4,
    options,
    ['reduction', 'margin'],
    `${op}(x1, x2, target, { margin: 0 })`,
  );
  const margin = checkNumber(op, 'margin', o.margin ?? 0);
  const a = checkFloat(op, 'x1', x1);
  const b = checkFloat(op, 'x2', x2);
  checkSameShape(op, ['x1', 'x2'], a, b);
  const y = checkSigns(op, target, a.shape);
  return reduceLoss(a.sub(b).mul(y.neg()).add(margin).clamp(0), o.reduction ?? 'mean');
}

export interface TripletMarginOptions extends MarginOptions {
  /** The norm of the distances (default 2). */
  p?: number;
  /** Added to the differences before the norm, keeping it differentiable at 0 (default 1e-6). */
  eps?: number;
  /** Use the positive-negative distance where it is smaller (the distance swap; default false). */
  swap?: boolean;
}

/** ‖x1 - x2 + eps‖_p along the last axis: PyTorch's pairwise distance. */
function distance(x1: Tensor, x2: Tensor, p: number, eps: number): Tensor {
  const d = x1.sub(x2).add(eps);
  if (p === 2) return d.square().sum(-1).sqrt();
  if (p === 1) return d.abs().sum(-1);
  if (p === Infinity) return d.abs().max(-1);
  return d
    .abs()
    .pow(p)
    .sum(-1)
    .pow(1 / p);
}

/**
 * Triplet margin loss of anchors, positives and negatives [N, D] (or [D]): max(0, margin + d(a, p) -
 * d(a, n)) with d the p-norm distance (default margin 1, p 2, eps 1e-6); with `swap`, d(a, n) is
 * replaced by d(p, n) where that is smaller.
 */
export function tripletMarginLoss(
  anchor: Tensor,
  positive: Tensor,
  negative: Tensor,
  options?: TripletMarginOptions,
): Tensor {
  const op = 'tripletMarginLoss';
  const o = lossOptions(
    op,
    arguments,
    4,
    options,
    ['reduction', 'margin', 'p', 'eps', 'swap'],
    `${op}(anchor, positive, negative, { margin: 1, p: 2 })`,
  );
  const margin = checkNumber(op, 'margin', o.margin ?? 1);
  const p = checkNumber(op, 'p', o.p ?? 2, { min: 0, minExclusive: true });
  const eps = checkNumber(op, 'eps', o.eps ?? 1e-6, { min: 0 });
  const swap = checkBoolean(op, 'swap', o.swap ?? false);
  const a = checkFloat(op, 'anchor', anchor);
  const pos = checkFloat(op, 'positive', positive);
  const neg = checkFloat(op, 'negative', negative);
  if (a.rank !== 1 && a.rank !== 2)
    fail(op, `expected inputs [N, D] or [D], got anchor ${fmtShape(a.shape)}`);
  checkSameShape(op, ['anchor', 'positive'], a, pos);
  checkSameShape(op, ['anchor', 'negative'], a, neg);
  let dNeg = distance(a, neg, p, eps);
  if (swap) dNeg = dNeg.minimum(distance(pos, neg, p, eps));
  return reduceLoss(distance(a, pos, p, eps).sub(dNeg).add(margin).clamp(0), o.reduction ?? 'mean');
}

export class CosineEmbeddingLoss extends Module {
  readonly options: MarginOptions;
  constructor(options?: MarginOptions) {
    super();
    this.options = moduleOptions('CosineEmbeddingLoss', arguments, options, ['reduction', 'margin']);
  }
  forward(x1: Tensor, x2: Tensor, target: Tensor): Tensor {
    return cosineEmbeddingLoss(x1, x2, target, this.options);
  }
}

export class MarginRankingLoss extends Module {
  readonly options: MarginOptions;
  constructor(options?: MarginOptions) {
    super();
    this.options = moduleOptions('MarginRankingLoss', arguments, options, ['reduction', 'margin']);
  }
  forward(x1: Tensor, x2: Tensor, target: Tensor): Tensor {
    return marginRankingLoss(x1, x2, target, this.options);
  }
}

export class TripletMarginLoss extends Module {
  readonly options: TripletMarginOptions;
  constructor(options?: TripletMarginOptions) {
    super();
    const accepted = ['reduction', 'margin', 'p', 'eps', 'swap'] as const;
    this.options = moduleOptions('TripletMarginLoss', arguments, options, accepted);
  }
  forward(anchor: Tensor, positive: Tensor, negative: Tensor): Tensor {
    return tripletMarginLoss(anchor, positive, negative, this.options);
  }
}
