import type { BinaryOp, UnaryOp } from '../backend/backend.js';
import { fail } from '../errors.js';
import { zerosLike } from '../tensor/creation.js';
import { type DType, isFloat, promote } from '../tensor/dtype.js';
import { broadcastShapes } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { broadcastView, defineOp, empty, kernels, lift, type TensorLike, tensorArg } from './op.js';
import type { OpName } from './registry.js';

/** Converts to another dtype; gradients flow between floating-point dtypes only. */
export const cast = (x: Tensor, dtype: DType): Tensor => (x.dtype === dtype ? x : castOp([x], dtype));
const castOp = defineOp({
  name: 'cast',
  forward: ([x], dtype) => {
    const out = empty(x!.shape, dtype);
    kernels().copy(out, x!);
    return out;
  },
  vjp: (g, { inputs: [x] }) => [isFloat(x!.dtype) ? cast(g, x!.dtype) : null],
});

function unaryForward(op: UnaryOp, x: Tensor): Tensor {
  // Integer inputs to real functions compute in float32, as in PyTorch.
  const keepInt = x.dtype === 'int32' && (op === 'neg' || op === 'abs' || op === 'sign' || op === 'relu');
  const src = keepInt || isFloat(x.dtype) ? x : cast(x, 'float32');
  const out = empty(src.shape, src.dtype);
  kernels().unary(op, out, src);
  return out;
}

function unary(op: UnaryOp & OpName, vjp: (g: Tensor, x: Tensor, y: Tensor) => Tensor) {
  const f = defineOp({
    name: op,
    forward: ([x]) => unaryForward(op, x!),
    vjp: (g, { inputs: [x], output }) => [vjp(g, x!, output)],
  });
  return (x: Tensor): Tensor => f([x], undefined);
}

export const neg = unary('neg', (g) => g.neg());
export const exp = unary('exp', (g, _x, y) => g.mul(y));
export const log = unary('log', (g, x) => g.div(x));
export const sqrt = unary('sqrt', (g, _x, y) => g.div(y.mul(2)));
export const abs = unary('abs', (g, x) => g.mul(x.sign()));
export const sign = unary('sign', (g) => zerosLike(g));
export const sin = unary('sin', (g, x) => g.mul(x.cos()));
export const cos = unary('cos', (g, x) => g.mul(x.sin()).neg());
export const tanh = unary('tanh', (g, _x, y) => g.mul(y.mul(y).neg().add(1)));
export const sigmoid = unary('sigmoid', (g, _x, y) => g.mul(y).mul(y.neg().add(1)));
// where() rather than g·mask: no int32 mask to convert, one pass fewer.
export const relu = unary('relu', (g, x) => where(x.gt(0), g, 0));
export const log1p = unary('log1p', (g, x) => g.div(x.add(1)));
export const erf = unary('erf', (g, x) =>
  g.mul(
    x
      .mul(x)
      .neg()
      .exp()
      .mul(2 / Math.sqrt(Math.PI)),
  ),
);

const COMPARISONS = new Set<BinaryOp>(['eq', 'ne', 'lt', 'le', 'gt', 'ge']);

function binaryForward(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes(op, a.shape, b.shape);
  let dtype = promote(a.dtype, b.dtype);
  if (op === 'div' && dtype === 'int32') dtype = 'float32'; // true division, as in PyTorch
  const out = empty(shape, COMPARISONS.has(op) ? 'int32' : dtype);
  kernels().binary(op, out, broadcastView(cast(a, dtype), shape), broadcastView(cast(b, dtype), shape));
  return out;
}

type BinaryVjp = (g: Tensor, a: Tensor, b: Tensor, y: Tensor, need: [boolean, boolean]) => (Tensor | null)[];

function binary(op: BinaryOp & OpName, vjp: BinaryVjp) {
  const f = defineOp({
    name: op,
    forward: ([a, b]) => binaryForward(op, a!, b!),
    vjp: (g, { inputs: [a, b], output }) => vjp(g, a!, b!, output, [a!.requiresGrad, b!.requiresGrad]),
  });
  return (a: Tensor, b: TensorLike): Tensor => f([tensorArg(op, a), lift(op, b, a)], undefined);
}

export const add = binary('add', (g) => [g, g]);
export const sub = binary('sub', (g, _a, _b, _y, [, nb]) => [g, nb ? g.neg() : null]);
export const mul = binary('mul', (g, a, b, _y, [na, nb]) => [na ? g.mul(b) : null, nb ? g.mul(a) : null]);
export const div = binary('div', (g, _a, b, y, [na, nb]) => {
  const ga = g.div(b);
  return [na ? ga : null, nb ? ga.mul(y).neg() : null];
});
export const pow = binary('pow', (g, a, b, y, [na, nb]) => [
  // b·a^(b-1) is 0·inf at a = b = 0; the derivative there is 0, as PyTorch has it.
  na ? where(b.eq(0), 0, g.mul(b).mul(a.pow(b.sub(1)))) : null,
  // d(a^b)/db = a^b log a; where a = 0 the limit is 0 (for b > 0), not NaN.
  nb ? g.mul(y).mul(where(a.eq(0), 0, a.log())) : null,
]);
// At ties the gradient is split evenly, as in PyTorch.
export const maximum = binary('maximum', (g, a, b) => {
  const share = a.gt(b).add(a.eq(b).mul(0.5));
  return [g.mul(share), g.mul(share.neg().add(1))];
});
export const minimum = binary('minimum', (g, a, b) => {
  const share = a.lt(b).add(a.eq(b).mul(0.5));
  return [g.mul(share), g.mul(share.neg().add(1))];
});

function comparison(op: BinaryOp) {
  return (a: Tensor, b: TensorLike): Tensor => binaryForward(op, tensorArg(op, a), lift(op, b, a));
}

/** Comparisons give int32 masks of 0 and 1 and are not differentiable. */
export const eq = comparison('eq');
export const ne = comparison('ne');
export const lt = comparison('lt');
export const le = comparison('le');
export const gt = comparison('gt');
export const ge = comparison('ge');

const whereOp = defineOp({
  name: 'where',
  forward: ([cond, a, b]) => {
    const shape = broadcastShapes('where', cond!.shape, a!.shape, b!.shape);
    const dtype = promote(a!.dtype, b!.dtype);
    const out = empty(shape, dtype);
    kernels().where(
      out,
      broadcastView(cond!, shape),
      broadcastView(cast(a!, dtype), shape),
      broadcastView(cast(b!, dtype), shape),
    );
    return out;
  },
  vjp: (g, { inputs: [cond, a, b] }) => [
    null,
    a!.requiresGrad ? where(cond!, g, 0) : null,
    b!.requiresGrad ? where(cond!, 0, g) : null,
  ],
});

/** cond != 0 ? a : b, elementwise with broadcasting. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  if (typeof a === 'number' && typeof b === 'number')
    fail('where', 'at least one of a and b must be a tensor');
  tensorArg('where', cond, 'a condition Tensor');
  const ta = typeof a === 'number' ? lift('where', a, tensorArg('where', b)) : tensorArg('where', a);
  const tb = lift('where', b, ta);
  return whereOp([cond, ta, tb], undefined);
}

/** Limits values to [min, max]; the gradient passes where the input was inside (boundaries included). */
export function clamp(x: Tensor, min?: number, max?: number): Tensor {
  if (min !== undefined && max !== undefined && min > max)
    fail('clamp', `min ${min} is greater than max ${max}`);
  let y = x;
  if (min !== undefined) y = where(x.lt(min), min, y);
  if (max !== undefined) y = where(x.gt(max), max, y);
  return y;
}
