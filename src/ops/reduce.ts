import type { ReduceOp } from '../backend/backend.js';
import { fail } from '../errors.js';
import { isFloat } from '../tensor/dtype.js';
import { normAxes, normAxis } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { cast, where } from './elementwise.js';
import { defineOp, empty, kernels } from './op.js';

export type Axes = number | readonly number[];

export interface ReduceAttrs {
  axes: number[];
  keepDims: boolean;
}

/** x's shape with the reduced axes set to 1 (kept) or removed. */
function reducedShape(shape: readonly number[], axes: number[], keepDims: boolean): number[] {
  return keepDims
    ? shape.map((d, i) => (axes.includes(i) ? 1 : d))
    : shape.filter((_, i) => !axes.includes(i));
}

function reduceForward(op: ReduceOp, x: Tensor, { axes, keepDims }: ReduceAttrs): Tensor {
  if (op !== 'sum' && axes.some((a) => x.shape[a] === 0))
    fail(op, `cannot reduce an empty axis of shape [${x.shape}]`);
  const out = empty(reducedShape(x.shape, axes, true), x.dtype);
  kernels().reduce(op, out, x, axes);
  return keepDims ? out : out.reshape(reducedShape(x.shape, axes, false));
}

/** Brings a reduced gradient back to the input's shape: restore the kept axes, then broadcast. */
function spread(g: Tensor, x: Tensor, axes: number[]): Tensor {
  return g.reshape(reducedShape(x.shape, axes, true)).expand(x.shape);
}

const sumOp = defineOp({
  name: 'sum',
  forward: ([x], attrs) => reduceForward('sum', x!, attrs),
  vjp: (g, { inputs: [x], attrs }) => [spread(g, x!, attrs.axes)],
});

function extremeOp(op: 'max' | 'min') {
  return defineOp({
    name: op,
    forward: ([x], attrs) => reduceForward(op, x!, attrs),
    // The gradient goes to the extreme elements, shared evenly among ties.
    vjp: (g, { inputs: [x], output, attrs }) => {
      const mask = cast(x!.eq(spread(output, x!, attrs.axes)), x!.dtype);
      const count = mask.sum(attrs.axes, true);
      return [spread(g, x!, attrs.axes).mul(mask).div(count)];
    },
  });
}
const maxOp = extremeOp('max');
const minOp = extremeOp('min');

/** Sum over the given axes (all when omitted). */
export function sum(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  return sumOp([x], { axes: normAxes('sum', axes, x.rank), keepDims });
}

export function max(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  return maxOp([x], { axes: normAxes('max', axes, x.rank), keepDims });
}

export function min(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  return minOp([x], { axes: normAxes('min', axes, x.rank), keepDims });
}

function count(x: Tensor, axes: number[]): number {
  return axes.reduce((n, a) => n * x.shape[a]!, 1);
}

/** Arithmetic mean over the given axes (all when omitted). */
export function mean(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  const ax = normAxes('mean', axes, x.rank);
  const xf = isFloat(x.dtype) ? x : cast(x, 'float32');
  return sum(xf, ax, keepDims).div(count(x, ax));
}

/**
 * Variance sum((x - mean)^2) / (n - correction); correction 1 (Bessel's) by default, as in PyTorch.
 */
export function variance(x: Tensor, axes?: Axes, { correction = 1, keepDims = false } = {}): Tensor {
  const ax = normAxes('var', axes, x.rank);
  const d = x.sub(mean(x, ax, true));
  return sum(d.mul(d), ax, keepDims).div(Math.max(0, count(x, ax) - correction));
}

export function std(x: Tensor, axes?: Axes, opts: { correction?: number; keepDims?: boolean } = {}): Tensor {
  return variance(x, axes, opts).sqrt();
}

/** log(sum(exp(x))) computed stably by shifting by the (constant) maximum. */
export function logsumexp(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  const ax = normAxes('logsumexp', axes, x.rank);
  const m0 = max(x.detach(), ax, true);
  const m = where(m0.abs().lt(Infinity), m0, 0); // all -inf rows: shift by 0, giving -inf
  const s = sum(x.sub(m).exp(), ax, true).log().add(m);
  return keepDims ? s : s.reshape(reducedShape(x.shape, ax, false));
}

function argExtreme(op: 'argmax' | 'argmin', x: Tensor, axis: number | undefined, keepDims: boolean): Tensor {
  if (axis === undefined) return argExtreme(op, x.reshape([-1]), 0, false);
  const a = normAxis(op, axis, x.rank);
  const out = empty(reducedShape(x.shape, [a], true), 'int32');
  kernels().argReduce(op, out, x, a);
  return keepDims ? out : out.reshape(reducedShape(x.shape, [a], false));
}

/** Index of the largest value along an axis (of the flattened tensor when no axis is given). */
export function argmax(x: Tensor, axis?: number, keepDims = false): Tensor {
  return argExtreme('argmax', x, axis, keepDims);
}

export function argmin(x: Tensor, axis?: number, keepDims = false): Tensor {
  return argExtreme('argmin', x, axis, keepDims);
}
