import { describe, fail, fmtShape } from '../errors.js';
import { where } from '../ops/elementwise.js';
import { logSoftmax, stableSoftplus } from '../ops/functional.js';
import { binaryCrossEntropy } from '../ops/losses.js';
import { type DType, promote } from '../tensor/dtype.js';
import { sameShape } from '../tensor/shape.js';
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

/**
 * The losses of PyTorch's torch.nn.functional with its names, defaults and semantics, each also as a
 * module. Every one takes its options as one object, `{ reduction, ... }`, and checks its arguments where
 * they enter.
 */

export type { Reduction } from './loss-checks.js';

export interface ReductionOptions {
  /** 'mean' (default) averages the per-element losses, 'sum' adds them, 'none' returns them. */
  reduction?: Reduction;
}

/** input and target, checked: floating-point tensors of the same shape. */
function pair(op: string, input: unknown, target: unknown): [Tensor, Tensor] {
  const x = checkFloat(op, 'input', input);
  const y = checkFloat(op, 'target', target);
  checkSameShape(op, ['input', 'target'], x, y);
  return [x, y];
}

/** An optional elementwise weight, broadcast against the loss. */
function checkWeight(op: string, name: string, value: unknown): Tensor | undefined {
  return value === undefined || value === null ? undefined : checkFloat(op, name, value);
}

/**
 * A bce weight in the loss's dtype: PyTorch applies weight and pos_weight in place (loss.mul_(weight)),
 * so a float64 weight on float32 logits leaves the loss float32 rather than promoting it.
 */
function lossDType(weight: Tensor | undefined, dtype: DType): Tensor | undefined {
  return weight && weight.dtype !== dtype ? weight.cast(dtype) : weight;
}

/**
 * Mean squared error: (input - target)², reduced.
 *
 *     mseLoss(prediction, target, { reduction: 'sum' })
 */
export function mseLoss(input: Tensor, target: Tensor, options?: ReductionOptions): Tensor {
  const form = "mseLoss(input, target, { reduction: 'sum' })";
  const { reduction = 'mean' } = lossOptions('mseLoss', arguments, 3, options, ['reduction'], form);
  const [x, y] = pair('mseLoss', input, target);
  return reduceLoss(x.sub(y).square(), reduction);
}

/** Mean absolute error: |input - target|, reduced. */
export function l1Loss(input: Tensor, target: Tensor, options?: ReductionOptions): Tensor {
  const { reduction = 'mean' } = lossOptions(
    'l1Loss',
    arguments,
    3,
    options,
    ['reduction'],
    "l1Loss(input, target, { reduction: 'sum' })",
  );
  const [x, y] = pair('l1Loss', input, target);
  return reduceLoss(x.sub(y).abs(), reduction);
}

/**
 * Smooth L1: with d = input - target, 0.5 d²/β where |d| < β, else |d| - 0.5 β (default β = 1); β = 0
 * is the L1 loss. Quadratic near zero, so the gradient shrinks with the error instead of jumping.
 */
export function smoothL1Loss(
  input: Tensor,
  target: Tensor,
  options?: ReductionOptions & { beta?: number },
): Tensor {
  const op = 'smoothL1Loss';
  const o = lossOptions(
    op,
    arguments,
    3,
    options,
    ['reduction', 'beta'],
    `${op}(input, target, { beta: 1 })`,
  );
  const beta = checkNumber(op, 'beta', o.beta ?? 1, { min: 0 });
  const [x, y] = pair(op, input, target);
  const d = x.sub(y).abs();
  const loss = beta === 0 ? d : where(d.lt(beta), d.square().mul(0.5 / beta), d.sub(0.5 * beta));
  return reduceLoss(loss, o.reduction ?? 'mean');
}

/**
 * Huber loss: with d = input - target, 0.5 d² where |d| < δ, else δ (|d| - 0.5 δ) (default δ = 1); the
 * smooth L1 loss times δ.
 */
export function huberLoss(
  input: Tensor,
  target: Tensor,
  options?: ReductionOptions & { delta?: number },
): Tensor {
  const op = 'huberLoss';
  const o = lossOptions(
    op,
    arguments,
    3,
    options,
    ['reduction', 'delta'],
    `${op}(input, target, { delta: 1 })`,
  );
  const delta = checkNumber(op, 'delta', o.delta ?? 1, { min: 0, minExclusive: true });
  const [x, y] = pair(op, input, target);
  const d = x.sub(y).abs();
  const loss = where(d.lt(delta), d.square().mul(0.5), d.sub(0.5 * delta).mul(delta));
  return reduceLoss(loss, o.reduction ?? 'mean');
}

export interface BceOptions extends ReductionOptions {
  /** Multiplies each element's loss (broadcast against the input), as PyTorch's weight. */
  weight?: Tensor | null;
}

/** Refuses an input with an element outside [0, 1] or NaN, as PyTorch does (its log would give NaN). */
function checkProbabilities(op: string, p: Tensor): void {
  const d = p.toTypedArray();
  let bad = -1;
  let count = 0;
  for (let i = 0; i < d.length; i++) {
    const v = Number(d[i]);
    if (!(v >= 0 && v <= 1)) {
      if (bad < 0) bad = i;
      count++;
    }
  }
  if (bad >= 0)
    fail(
      op,
      `every element of the input must be a probability in [0, 1], got ${Number(d[bad])} at flat index ${bad} (${count} of ${d.length} elements outside); apply sigmoid to logits first, or use bceWithLogits on the logits`,
    );
}

/**
 * Binary cross-entropy on probabilities: -(y log p + (1 - y) log(1 - p)). Logs are clamped at -100 as
 * in PyTorch, so p = 0 or 1 gives a large finite loss, not infinity.
 */
export function bceLoss(input: Tensor, target: Tensor, options?: BceOptions): Tensor {
  const op = 'bceLoss';
  const o = lossOptions(
    op,
    arguments,
    3,
    options,
    ['reduction', 'weight'],
    `${op}(p, target, { reduction: 'sum' })`,
  );
  const [p, y] = pair(op, input, target);
  // PyTorch refuses a target of another dtype here ("Found dtype Double but expected Float").
  if (y.dtype !== p.dtype)
    fail(
      op,
      `the input is ${p.dtype} but the target is ${y.dtype}; convert the target with target.cast('${p.dtype}')`,
    );
  checkProbabilities(op, p);
  const weight = lossDType(checkWeight(op, 'weight', o.weight), p.dtype);
  const loss = binaryCrossEntropy(p, y);
  return reduceLoss(weight ? loss.mul(weight) : loss, o.reduction ?? 'mean');
}

export interface BceWithLogitsOptions extends BceOptions {
  /** Weights the positive term, per class (broadcast against the input), as PyTorch's pos_weight. */
  posWeight?: Tensor | null;
}

/**
 * Binary cross-entropy on logits, stably: (1 - y) x + w·softplus(-x), with softplus(-x) = log(1 + e^-x)
 * computed without overflow and w = 1 + (posWeight - 1) y weighting the positive term, as in PyTorch.
 */
export function bceWithLogits(input: Tensor, target: Tensor, options?: BceWithLogitsOptions): Tensor {
  const op = 'bceWithLogits';
  const o = lossOptions(
    op,
    arguments,
    3,
    options,
    ['reduction', 'weight', 'posWeight'],
    `${op}(logits, target, { posWeight })`,
  );
  const [x, y] = pair(op, input, target);
  // PyTorch's loss is promote(input, target); the weights follow it.
  const dtype = promote(x.dtype, y.dtype);
  const weight = lossDType(checkWeight(op, 'weight', o.weight), dtype);
  const posWeight = lossDType(checkWeight(op, 'posWeight', o.posWeight), dtype);
  const logOnePlusExpNeg = stableSoftplus(x.neg());
  const w = posWeight ? posWeight.sub(1).mul(y).add(1) : null;
  const loss = x.mul(y.neg().add(1)).add(w ? w.mul(logOnePlusExpNeg) : logOnePlusExpNeg);
  return reduceLoss(weight ? loss.mul(weight) : loss, o.reduction ?? 'mean');
}

export interface NllOptions extends ReductionOptions {
  /** Positions whose target is this index add nothing, and a mean does not count them (default -100). */
  ignoreIndex?: number;
  /**
   * A weight per class, [C]: each position's loss is multiplied by its target's weight, and the mean
   * divides by the sum of the weights of the positions counted (PyTorch's weighted mean).
   */
  weight?: Tensor | null;
}

export interface CrossEntropyOptions extends NllOptions {
  /**
   * ε in [0, 1]: the target becomes (1 - ε)·onehot + ε/C, as in PyTorch (default 0). With class weights
   * the uniform part is weighted per class too.
   */
  labelSmoothing?: number;
}

const LABELS_FIX = "tensor(labels, { dtype: 'int32' })";

interface ClassProblem {
  /** Scores [M, C], the class axis last. */
  scores: Tensor;
  /** Class indices [M]. */
  target: Tensor;
  /** The shape a 'none' reduction returns. */
  shape: readonly number[];
}

/**
 * Moves the class axis last and flattens: [N, C, d1, ...] → [N·d1·..., C], targets [N, d1, ...] → [M];
 * an unbatched [C] with a 0-d target is one position.
 */
function classProblem(op: string, input: Tensor, target: Tensor): ClassProblem {
  if (input.rank === 0) fail(op, `expected input [C], [N, C] or [N, C, d1, ...], got a 0-d tensor`);
  const want = input.rank === 1 ? [] : [input.shape[0]!, ...input.shape.slice(2)];
  if (target.dtype !== 'int32') {
    const probs =
      op === 'crossEntropy' ? `, or probabilities of the input's shape ${fmtShape(input.shape)}` : '';
    fail(
      op,
      `class indices must be int32: use ${LABELS_FIX}; got a ${target.dtype} target ${fmtShape(target.shape)} (expected int32 ${fmtShape(want)}${probs})`,
    );
  }
  if (!sameShape(target.shape, want)) {
    fail(
      op,
      `target of shape ${fmtShape(target.shape)} does not match input ${fmtShape(input.shape)} (expected ${fmtShape(want)})`,
    );
  }
  const C = input.shape[input.rank === 1 ? 0 : 1]!;
  if (input.rank <= 2) return { scores: input.reshape([-1, C]), target: target.reshape([-1]), shape: want };
  const axes = [0, ...Array.from({ length: input.rank - 2 }, (_, i) => i + 2), 1];
  return { scores: input.permute(axes).reshape([-1, C]), target: target.reshape([-1]), shape: want };
}

function checkClasses(op: string, target: Tensor, classes: number, ignoreIndex: number): void {
  const t = target.toTypedArray();
  for (let i = 0; i < t.length; i++) {
    const c = t[i]!;
    if (c !== ignoreIndex && (c < 0 || c >= classes)) {
      fail(
        op,
        `target class ${c} at position ${i} is out of range [0, ${classes}) (the input has ${classes} classes; ignoreIndex is ${ignoreIndex})`,
      );
    }
  }
}

function classWeight(op: string, value: unknown, classes: number): Tensor | undefined {
  const w = checkWeight(op, 'weight', value);
  if (w && !sameShape(w.shape, [classes])) {
    fail(op, `weight must hold one value per class, [${classes}], got ${fmtShape(w.shape)}`);
  }
  return w;
}

function classOptions(op: string, o: NllOptions): { ignoreIndex: number; reduction: Reduction } {
  const ignoreIndex = o.ignoreIndex ?? -100;
  if (!Number.isInteger(ignoreIndex))
    fail(op, `ignoreIndex must be an integer, got ${describe(ignoreIndex)}`);
  return { ignoreIndex, reduction: o.reduction ?? 'mean' };
}

/**
 * Per-position losses of class-index targets and their reduction, with PyTorch's semantics: the loss
 * at position i is w[t_i]·ℓ_i (0 where t_i is ignored), and the mean divides their sum by Σ w[t_i] over
 * the positions counted (their number without weights; 0/0 = NaN when every position is ignored).
 * ℓ_i = -logP[i, t_i], blended with the uniform term -Σ_c w_c logP[i, c] / C under label smoothing ε.
 */
function classIndexLoss(
  op: string,
  logP: Tensor,
  problem: ClassProblem,
  o: NllOptions,
  labelSmoothing: number,
): Tensor {
  const { ignoreIndex, reduction } = classOptions(op, o);
  const C = logP.shape[1]!;
  const weight = classWeight(op, o.weight, C);
  // PyTorch's nll_loss refuses class weights of another dtype ("expected scalar type Float but found
  // Double"); its probability-target cross-entropy promotes instead, as probabilityCrossEntropy does.
  if (weight && weight.dtype !== logP.dtype)
    fail(
      op,
      `the input is ${logP.dtype} but the weight is ${weight.dtype}; convert the weight with weight.cast('${logP.dtype}')`,
    );
  const t = problem.target;
  checkClasses(op, t, C, ignoreIndex);
  const keep = t.ne(ignoreIndex);
  const safe = where(keep, t, 0);
  const picked = logP
    .gather(1, safe.reshape([-1, 1]))
    .reshape([-1])
    .neg();
  const perPosition = weight ? weight.indexSelect(0, safe) : null;
  let loss = perPosition ? picked.mul(perPosition) : picked;
  if (labelSmoothing > 0) {
    const uniform = (weight ? logP.mul(weight) : logP).sum(1).neg().div(C);
    loss = loss.mul(1 - labelSmoothing).add(uniform.mul(labelSmoothing));
  }
  loss = where(keep, loss, 0);
  if (reduction === 'none') return loss.reshape(problem.shape);
  if (reduction === 'sum') return loss.sum();
  const counted = perPosition ? where(keep, perPosition, 0).sum() : keep.cast(logP.dtype).sum();
  return loss.sum().div(counted);
}

/**
 * Negative log-likelihood of log-probabilities [N, C] (or [N, C, d1, ...], or [C]) at int32 class
 * targets [N] (or [N, d1, ...], or 0-d): -w[t]·logP[t], reduced, with class weights and ignoreIndex as in
 * PyTorch.
 *
 *     nllLoss(logProbs, tensor([2, 0], { dtype: 'int32' }), { ignoreIndex: 0 })
 */
export function nllLoss(logProbs: Tensor, target: Tensor, options?: NllOptions): Tensor {
  const op = 'nllLoss';
  const o = lossOptions(
    op,
    arguments,
    3,
    options,
    ['reduction', 'ignoreIndex', 'weight'],
    `${op}(logProbs, target, { weight, ignoreIndex: -100, reduction: 'mean' })`,
  );
  const lp = checkFloat(op, 'input', logProbs);
  const t = checkTensor(op, 'target', target, LABELS_FIX);
  const problem = classProblem(op, lp, t);
  return classIndexLoss(op, problem.scores, problem, o, 0);
}

/**
 * Softmax cross-entropy of logits [N, C] (or [N, C, d1, ...], or [C]). The target is either int32 class
 * indices [N] (or [N, d1, ...], or 0-d), with ignoreIndex (default -100), class weights and label
 * smoothing as in nllLoss; or class probabilities of the input's shape, when the loss is
 * -Σ_c w_c q_c log softmax(x)_c per position (q smoothed to (1 - ε) q + ε/C) and the mean divides by the
 * number of positions.
 *
 *     crossEntropy(logits, tensor([2, 0], { dtype: 'int32' }), { labelSmoothing: 0.1 })
 */
export function crossEntropy(logits: Tensor, target: Tensor, options?: CrossEntropyOptions): Tensor {
  const op = 'crossEntropy';
  const o = lossOptions(
    op,
    arguments,
    3,
    options,
    ['reduction', 'ignoreIndex', 'weight', 'labelSmoothing'],
    `${op}(logits, target, { weight, ignoreIndex: -100, reduction: 'mean', labelSmoothing: 0 })`,
  );
  const labelSmoothing = o.labelSmoothing ?? 0;
  if (!(typeof labelSmoothing === 'number' && labelSmoothing >= 0 && labelSmoothing <= 1))
    fail(op, `labelSmoothing must be in [0, 1], got ${describe(labelSmoothing)}`);
  const x = checkFloat(op, 'input', logits);
  const t = checkTensor(op, 'target', target, LABELS_FIX);
  if (x.rank >= 1 && t.dtype !== 'int32' && sameShape(t.shape, x.shape)) {
    // As in PyTorch: no position of a probability target is a class index to skip.
    if (o.ignoreIndex !== undefined && o.ignoreIndex !== -100) {
      fail(
        op,
        `ignoreIndex applies to class-index targets, not to probabilities; drop it, or zero the rows to skip`,
      );
    }
    return probabilityCrossEntropy(x, t, o, labelSmoothing);
  }
  const problem = classProblem(op, x, t);
  return classIndexLoss(op, logSoftmax(problem.scores, 1), problem, o, labelSmoothing);
}

function probabilityCrossEntropy(
  x: Tensor,
  q: Tensor,
  o: CrossEntropyOptions,
  labelSmoothing: number,
): Tensor {
  const classAxis = x.rank === 1 ? 0 : 1;
  const C = x.shape[classAxis]!;
  const weight = classWeight('crossEntropy', o.weight, C);
  const reduction = o.reduction ?? 'mean';
  const target = labelSmoothing > 0 ? q.mul(1 - labelSmoothing).add(labelSmoothing / C) : q;
  let terms = logSoftmax(x, classAxis).mul(target);
  if (weight)
    terms = terms.mul(weight.reshape([C, ...Array.from({ length: x.rank - classAxis - 1 }, () => 1)]));
  if (reduction === 'none') return terms.sum(classAxis).neg();
  if (reduction === 'sum') return terms.sum().neg();
  return terms
    .sum()
    .neg()
    .div(x.size / C);
}

export interface KlDivOptions {
  /** As for the other losses, or 'batchmean': the sum divided by the batch size (axis 0). */
  reduction?: Reduction | 'batchmean';
  /** The target is given as log-probabilities (default false). */
  logTarget?: boolean;
}

const KL_REDUCTIONS = ['mean', 'sum', 'none', 'batchmean'];

/**
 * Kullback-Leibler divergence of the target distribution from the input's, with the input given as
 * log-probabilities: target·(log target - input) per element (0 where target is 0), or with
 * `logTarget`, exp(target)·(target - input). Reduction 'batchmean' divides the sum by the batch size
 * (the divergence per sample, the mathematically meaningful one); 'mean' averages over all elements, as
 * PyTorch does.
 */
export function klDivLoss(input: Tensor, target: Tensor, options?: KlDivOptions): Tensor {
  const op = 'klDivLoss';
  const o = lossOptions(
    op,
    arguments,
    3,
    options,
    ['reduction', 'logTarget'],
    `${op}(logProbs, target, { reduction: 'batchmean', logTarget: false })`,
    KL_REDUCTIONS,
  );
  const logTarget = checkBoolean(op, 'logTarget', o.logTarget ?? false);
  const [x, y] = pair(op, input, target);
  let loss: Tensor;
  if (logTarget) loss = y.exp().mul(y.sub(x));
  else {
    const positive = y.gt(0);
    loss = where(positive, y.mul(where(positive, y, 1).log()), 0).sub(y.mul(x));
  }
  const reduction = o.reduction ?? 'mean';
  if (reduction === 'batchmean') return x.rank === 0 ? loss.sum() : loss.sum().div(x.shape[0]!);
  return reduceLoss(loss, reduction);
}

export interface PoissonNllOptions extends ReductionOptions {
  /** The input is the log of the rate (default true), else the rate itself. */
  logInput?: boolean;
  /** Adds the Stirling term, so the loss is the full negative log-likelihood (default false). */
  full?: boolean;
  /** Keeps log(input + eps) finite at a zero rate when logInput is false (default 1e-8). */
  eps?: number;
}

/**
 * Negative log-likelihood of a Poisson target: exp(input) - target·input when the input is the log rate
 * (`logInput`, default), else input - target·log(input + eps). With `full`, adds Stirling's
 * approximation of log(target!), target·log(target) - target + 0.5·log(2π·target), for targets > 1.
 */
export function poissonNllLoss(input: Tensor, target: Tensor, options?: PoissonNllOptions): Tensor {
  const op = 'poissonNllLoss';
  const o = lossOptions(
    op,
    arguments,
    3,
    options,
    ['reduction', 'logInput', 'full', 'eps'],
    `${op}(logRate, target, { logInput: true, full: false, eps: 1e-8 })`,
  );
  const logInput = checkBoolean(op, 'logInput', o.logInput ?? true);
  const full = checkBoolean(op, 'full', o.full ?? false);
  const eps = checkNumber(op, 'eps', o.eps ?? 1e-8, { min: 0 });
  const [x, y] = pair(op, input, target);
  let loss = logInput ? x.exp().sub(y.mul(x)) : x.sub(y.mul(x.add(eps).log()));
  if (full) {
    const big = y.gt(1);
    const t = where(big, y, 2);
    const stirling = t
      .mul(t.log())
      .sub(t)
      .add(
        t
          .mul(2 * Math.PI)
          .log()
          .mul(0.5),
      );
    loss = loss.add(where(big, stirling, 0));
  }
  return reduceLoss(loss, o.reduction ?? 'mean');
}

export interface GaussianNllOptions extends ReductionOptions {
  /** Adds the constant 0.5·log 2π, so the loss is the full negative log-likelihood (default false). */
  full?: boolean;
  /** The variance is clamped at this value (default 1e-6). */
  eps?: number;
}

/**
 * Negative log-likelihood of a Gaussian target with predicted mean `input` and variance `variance`:
 * 0.5·(log var + (input - target)²/var), plus 0.5·log 2π with `full`. The variance has the input's shape,
 * or one value per sample (the input's shape with the last axis 1 or dropped); it is clamped at `eps`
 * for stability with the gradient passing as if unclamped, as in PyTorch.
 */
export function gaussianNllLoss(
  input: Tensor,
  target: Tensor,
  variance: Tensor,
  options?: GaussianNllOptions,
): Tensor {
  const op = 'gaussianNllLoss';
  const o = lossOptions(
    op,
    arguments,
    4,
    options,
    ['reduction', 'full', 'eps'],
    `${op}(mean, target, variance, { full: false, eps: 1e-6 })`,
  );
  const full = checkBoolean(op, 'full', o.full ?? false);
  const eps = checkNumber(op, 'eps', o.eps ?? 1e-6, { min: 0 });
  const [x, y] = pair(op, input, target);
  let v = checkFloat(op, 'variance', variance);
  if (!sameShape(v.shape, x.shape)) {
    const lead = x.shape.slice(0, -1);
    if (x.rank >= 1 && sameShape(v.shape, lead)) v = v.unsqueeze(-1);
    else if (
      !(x.rank >= 1 && v.rank === x.rank && sameShape(v.shape.slice(0, -1), lead) && v.shape.at(-1) === 1)
    ) {
      fail(
        op,
        `variance ${fmtShape(v.shape)} must have the input's shape ${fmtShape(x.shape)}, or that shape with the last axis 1 or dropped`,
      );
    }
  }
  if (v.toTypedArray().some((e) => e < 0))
    fail(op, 'variance must not be negative; it holds a negative entry');
  // v - v.detach() is exactly 0 with gradient 1: the clamped value with the unclamped gradient.
  const clamped = where(v.lt(eps), v.sub(v.detach()).add(eps), v);
  let loss = clamped.log().add(x.sub(y).square().div(clamped)).mul(0.5);
  if (full) loss = loss.add(0.5 * Math.log(2 * Math.PI));
  return reduceLoss(loss, o.reduction ?? 'mean');
}

/**
 * The losses as modules: each takes its function's options, checked when it is made, and a class or
 * element weight becomes a buffer (`weight`, `pos_weight`), saved with the module as in PyTorch.
 */
export class MSELoss extends Module {
  readonly options: ReductionOptions;
  constructor(options?: ReductionOptions) {
    super();
    this.options = moduleOptions('MSELoss', arguments, options, ['reduction']);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return mseLoss(input, target, this.options);
  }
}

export class L1Loss extends Module {
  readonly options: ReductionOptions;
  constructor(options?: ReductionOptions) {
    super();
    this.options = moduleOptions('L1Loss', arguments, options, ['reduction']);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return l1Loss(input, target, this.options);
  }
}

export class SmoothL1Loss extends Module {
  readonly options: ReductionOptions & { beta?: number };
  constructor(options?: ReductionOptions & { beta?: number }) {
    super();
    this.options = moduleOptions('SmoothL1Loss', arguments, options, ['reduction', 'beta']);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return smoothL1Loss(input, target, this.options);
  }
}

export class HuberLoss extends Module {
  readonly options: ReductionOptions & { delta?: number };
  constructor(options?: ReductionOptions & { delta?: number }) {
    super();
    this.options = moduleOptions('HuberLoss', arguments, options, ['reduction', 'delta']);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return huberLoss(input, target, this.options);
  }
}

/** Registers the weights among the options as buffers and returns the options without them. */
function weightBuffers<O extends object>(m: Module, options: O, names: Partial<Record<keyof O, string>>): O {
  const rest = { ...options };
  for (const [key, buffer] of Object.entries(names) as [keyof O, string][]) {
    const w = options[key];
    if (w !== undefined && w !== null)
      m.registerBuffer(buffer, checkFloat(m.constructor.name, String(key), w));
    delete rest[key];
  }
  return rest;
}

/** A registered buffer, or undefined. */
function bufferOf(m: Module, name: string): Tensor | undefined {
  return m.namedBuffers().find(([n]) => n === name)?.[1];
}

export class BCELoss extends Module {
  readonly options: ReductionOptions;
  constructor(options?: BceOptions) {
    super();
    this.options = weightBuffers(
      this,
      moduleOptions('BCELoss', arguments, options, ['reduction', 'weight']),
      {
        weight: 'weight',
      },
    );
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return bceLoss(input, target, { ...this.options, weight: bufferOf(this, 'weight') });
  }
}

export class BCEWithLogitsLoss extends Module {
  readonly options: ReductionOptions;
  constructor(options?: BceWithLogitsOptions) {
    super();
    const o = moduleOptions('BCEWithLogitsLoss', arguments, options, ['reduction', 'weight', 'posWeight']);
    this.options = weightBuffers(this, o, { weight: 'weight', posWeight: 'pos_weight' });
  }
  forward(input: Tensor, target: Tensor): Tensor {
    const weights = { weight: bufferOf(this, 'weight'), posWeight: bufferOf(this, 'pos_weight') };
    return bceWithLogits(input, target, { ...this.options, ...weights });
  }
}

export class NLLLoss extends Module {
  readonly options: Omit<NllOptions, 'weight'>;
  constructor(options?: NllOptions) {
    super();
    const o = moduleOptions('NLLLoss', arguments, options, ['reduction', 'ignoreIndex', 'weight']);
    this.options = weightBuffers(this, o, { weight: 'weight' });
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return nllLoss(input, target, { ...this.options, weight: bufferOf(this, 'weight') });
  }
}

export class CrossEntropyLoss extends Module {
  readonly options: Omit<CrossEntropyOptions, 'weight'>;
  constructor(options?: CrossEntropyOptions) {
    super();
    const accepted = ['reduction', 'ignoreIndex', 'weight', 'labelSmoothing'] as const;
    this.options = weightBuffers(this, moduleOptions('CrossEntropyLoss', arguments, options, accepted), {
      weight: 'weight',
    });
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return crossEntropy(input, target, { ...this.options, weight: bufferOf(this, 'weight') });
  }
}

export class KLDivLoss extends Module {
  readonly options: KlDivOptions;
  constructor(options?: KlDivOptions) {
    super();
    this.options = moduleOptions('KLDivLoss', arguments, options, ['reduction', 'logTarget'], KL_REDUCTIONS);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return klDivLoss(input, target, this.options);
  }
}

export class PoissonNLLLoss extends Module {
  readonly options: PoissonNllOptions;
  constructor(options?: PoissonNllOptions) {
    super();
    this.options = moduleOptions('PoissonNLLLoss', arguments, options, [
      'reduction',
      'logInput',
      'full',
      'eps',
    ]);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return poissonNllLoss(input, target, this.options);
  }
}

export class GaussianNLLLoss extends Module {
  readonly options: GaussianNllOptions;
  constructor(options?: GaussianNllOptions) {
    super();
    this.options = moduleOptions('GaussianNLLLoss', arguments, options, ['reduction', 'full', 'eps']);
  }
  forward(input: Tensor, target: Tensor, variance: Tensor): Tensor {
    return gaussianNllLoss(input, target, variance, this.options);
  }
}
