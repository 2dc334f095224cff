import { checkArity, checkOptions, describe, fail, fmtShape } from '../errors.js';
import { isFloat } from '../tensor/dtype.js';
import { sameShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** Argument checks and reductions shared by the loss functions, so every loss refuses bad input alike. */

export type Reduction = 'mean' | 'sum' | 'none';

const REDUCTIONS: readonly string[] = ['mean', 'sum', 'none'];

/**
 * The options of a loss call, checked: no positional extras (`mseLoss(x, y, 'sum')` as PyTorch once
 * took it), no unknown keys, and a known reduction. `form` is the call written the accepted way.
 */
export function lossOptions<T extends { reduction?: string }>(
  op: string,
  args: ArrayLike<unknown>,
  arity: number,
  options: T | undefined,
  accepted: readonly (keyof T & string)[],
  form: string,
  reductions: readonly string[] = REDUCTIONS,
): Partial<T> {
  checkArity(op, args, arity, form);
  const o = checkOptions(op, options, accepted, form);
  if (o.reduction !== undefined && !reductions.includes(o.reduction)) {
    fail(op, `reduction must be ${reductions.map((r) => `'${r}'`).join(', ')}, got ${describe(o.reduction)}`);
  }
  return o;
}

/** Reduces per-element losses: their mean, their sum, or the losses themselves. */
export function reduceLoss(loss: Tensor, reduction: Reduction): Tensor {
  if (reduction === 'mean') return loss.mean();
  if (reduction === 'sum') return loss.sum();
  return loss;
}

/** Fails unless `value` is a Tensor; a JavaScript array is told how to become one. */
export function checkTensor(op: string, what: string, value: unknown, fix = 'tensor(…)'): Tensor {
  if (value instanceof Tensor) return value;
  const hint = Array.isArray(value) || typeof value === 'number' ? `; wrap it with ${fix}` : '';
  return fail(op, `${what} must be a Tensor, got ${describe(value)}${hint}`);
}

/** A floating-point tensor argument. */
export function checkFloat(op: string, what: string, value: unknown): Tensor {
  const t = checkTensor(op, what, value);
  if (!isFloat(t.dtype)) {
    fail(op, `${what} must be floating point, got ${t.dtype}; convert it with .cast('float32')`);
  }
  return t;
}

/** Two arguments that must have the same shape (PyTorch would broadcast them, mostly by mistake). */
export function checkSameShape(op: string, what: [string, string], a: Tensor, b: Tensor): void {
  if (!sameShape(a.shape, b.shape)) {
    fail(op, `${what[0]} ${fmtShape(a.shape)} and ${what[1]} ${fmtShape(b.shape)} must have the same shape`);
  }
}

/** A number option within bounds: `min` inclusive unless `minExclusive`. */
export function checkNumber(
  op: string,
  name: string,
  value: unknown,
  { min = -Infinity, minExclusive = false }: { min?: number; minExclusive?: boolean } = {},
): number {
  const ok = typeof value === 'number' && !Number.isNaN(value) && (minExclusive ? value > min : value >= min);
  if (!ok) {
    const bound = min === -Infinity ? 'a number' : `a number ${minExclusive ? '>' : '≥'} ${min}`;
    fail(op, `${name} must be ${bound}, got ${describe(value)}`);
  }
  return value as number;
}

/** A boolean option. */
export function checkBoolean(op: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail(op, `${name} must be true or false, got ${describe(value)}`);
  return value;
}

/** A loss module's constructor options, checked as its function checks them, with the `new` form. */
export function moduleOptions<T extends { reduction?: string }>(
  name: string,
  args: ArrayLike<unknown>,
  options: T | undefined,
  accepted: readonly (keyof T & string)[],
  reductions?: readonly string[],
): Partial<T> {
  return lossOptions(name, args, 1, options, accepted, `new ${name}({ ${accepted.join(', ')} })`, reductions);
}
