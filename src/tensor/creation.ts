import { fail, fmtShape } from '../errors.js';
import { allocate, checkDType, type DType, dtypeOf, type TypedArray } from './dtype.js';
import { defaultGenerator, type Generator } from './random.js';
import { checkShape, type Shape, sizeOf } from './shape.js';
import { type NestedArray, Tensor } from './tensor.js';

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

export interface RandomOptions extends CreateOptions {
  generator?: Generator;
}

function finish(t: Tensor, opts: CreateOptions | undefined): Tensor {
  if (opts?.requiresGrad) t.requiresGrad_(true);
  return t;
}

function dtypeOr(opts: CreateOptions | undefined, fallback: DType, op: string): DType {
  return opts?.dtype === undefined ? fallback : checkDType(op, opts.dtype);
}

/**
 * A tensor from nested arrays, a typed array or a number. A typed array is used as storage without a
 * copy; its dtype follows the array unless one is given.
 *
 *     tensor([[1, 2], [3, 4]])                          // float32 [2, 2]
 *     tensor(new Int32Array([0, 3, 1]), { shape: [3] })  // int32, shares the array
 */
export function tensor(values: NestedArray | TypedArray, opts?: CreateOptions & { shape?: Shape }): Tensor {
  if (ArrayBuffer.isView(values)) {
    const shape = checkShape('tensor', opts?.shape ?? [values.length]);
    if (sizeOf(shape) !== values.length) {
      fail(
        'tensor',
        `shape ${fmtShape(shape)} holds ${sizeOf(shape)} elements but the array has ${values.length}`,
      );
    }
    let data: TypedArray = values;
    if (opts?.dtype && opts.dtype !== dtypeOf(values)) {
      data = allocate(checkDType('tensor', opts.dtype), values.length);
      data.set(values);
    }
    return finish(new Tensor(data, shape), opts);
  }
  const shape: number[] = [];
  for (let v: NestedArray = values; Array.isArray(v); v = v[0]!) {
    shape.push(v.length);
    if (v.length === 0) break;
  }
  const flat: number[] = [];
  const walk = (v: NestedArray, axis: number): void => {
    if (axis === shape.length) {
      if (typeof v !== 'number') fail('tensor', `ragged nested array: expected a number at depth ${axis}`);
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[axis]) {
      fail('tensor', `ragged nested array: expected ${shape[axis]} entries at depth ${axis}`);
    }
    for (const x of v) walk(x, axis + 1);
  };
  walk(values, 0);
  if (opts?.shape) {
    const want = checkShape('tensor', opts.shape);
    if (sizeOf(want) !== flat.length)
      fail('tensor', `shape ${fmtShape(want)} does not hold ${flat.length} elements`);
    shape.splice(0, shape.length, ...want);
  }
  const data = allocate(dtypeOr(opts, 'float32', 'tensor'), flat.length);
  data.set(flat);
  return finish(new Tensor(data, shape), opts);
}

/** A 0-d tensor holding one number. */
export function scalar(value: number, dtype: DType = 'float32'): Tensor {
  const data = allocate(dtype, 1);
  data[0] = value;
  return new Tensor(data, []);
}

export function full(shape: Shape, value: number, opts?: CreateOptions): Tensor {
  const s = checkShape('full', shape);
  const data = allocate(dtypeOr(opts, 'float32', 'full'), sizeOf(s));
  if (value !== 0) data.fill(value);
  return finish(new Tensor(data, s), opts);
}

export function zeros(shape: Shape, opts?: CreateOptions): Tensor {
  return full(shape, 0, opts);
}

export function ones(shape: Shape, opts?: CreateOptions): Tensor {
  return full(shape, 1, opts);
}

export function zerosLike(t: Tensor, opts?: CreateOptions): Tensor {
  return full(t.shape, 0, { dtype: t.dtype, ...opts });
}

export function onesLike(t: Tensor, opts?: CreateOptions): Tensor {
  return full(t.shape, 1, { dtype: t.dtype, ...opts });
}

export function fullLike(t: Tensor, value: number, opts?: CreateOptions): Tensor {
  return full(t.shape, value, { dtype: t.dtype, ...opts });
}

/** Values start, start+step, ... below stop (like `torch.arange`); int32 when all arguments are integers. */
export function arange(start: number, stop?: number, step = 1, opts?: CreateOptions): Tensor {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0 || !Number.isFinite(step))
    fail('arange', `step must be a non-zero finite number, got ${step}`);
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const ints = [start, stop, step].every(Number.isInteger);
  const data = allocate(dtypeOr(opts, ints ? 'int32' : 'float32', 'arange'), n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return finish(new Tensor(data, [n]), opts);
}

/** n values evenly spaced from start to stop inclusive. */
export function linspace(start: number, stop: number, n: number, opts?: CreateOptions): Tensor {
  if (!Number.isInteger(n) || n < 0) fail('linspace', `n must be a non-negative integer, got ${n}`);
  const data = allocate(dtypeOr(opts, 'float32', 'linspace'), n);
  for (let i = 0; i < n; i++) data[i] = n === 1 ? start : start + ((stop - start) * i) / (n - 1);
  return finish(new Tensor(data, [n]), opts);
}

/** The n×m identity (ones on the diagonal). */
export function eye(n: number, m = n, opts?: CreateOptions): Tensor {
  const t = zeros([n, m], opts);
  for (let i = 0; i < Math.min(n, m); i++) t.data[i * m + i] = 1;
  return t;
}

function randomFill(
  op: string,
  shape: Shape,
  opts: RandomOptions | undefined,
  draw: (g: Generator) => number,
): Tensor {
  const s = checkShape(op, shape);
  const dtype = dtypeOr(opts, 'float32', op);
  if (dtype === 'int32') fail(op, 'expected a floating-point dtype, got int32');
  const g = opts?.generator ?? defaultGenerator;
  const data = allocate(dtype, sizeOf(s));
  for (let i = 0; i < data.length; i++) data[i] = draw(g);
  return finish(new Tensor(data, s), opts);
}

/** Uniform on [low, high) (default [0, 1)). */
export function rand(shape: Shape, opts?: RandomOptions & { low?: number; high?: number }): Tensor {
  const low = opts?.low ?? 0;
  const high = opts?.high ?? 1;
  if (!(low <= high)) fail('rand', `need low <= high, got [${low}, ${high})`);
  return randomFill('rand', shape, opts, (g) => low + (high - low) * g.uniform());
}

/** Normal with the given mean and standard deviation (default N(0, 1)). */
export function randn(shape: Shape, opts?: RandomOptions & { mean?: number; std?: number }): Tensor {
  const mean = opts?.mean ?? 0;
  const std = opts?.std ?? 1;
  if (!(std >= 0)) fail('randn', `std must be non-negative, got ${std}`);
  return randomFill('randn', shape, opts, (g) => mean + std * g.normal());
}

/** Integers uniform on [low, high), int32. */
export function randint(low: number, high: number, shape: Shape, opts?: { generator?: Generator }): Tensor {
  const s = checkShape('randint', shape);
  const g = opts?.generator ?? defaultGenerator;
  const data = new Int32Array(sizeOf(s));
  for (let i = 0; i < data.length; i++) data[i] = g.randint(low, high);
  return new Tensor(data, s);
}

/** Ones with probability p, zeros otherwise. */
export function bernoulli(shape: Shape, p: number, opts?: RandomOptions): Tensor {
  if (!(p >= 0 && p <= 1)) fail('bernoulli', `probability must be in [0, 1], got ${p}`);
  return randomFill('bernoulli', shape, opts, (g) => (g.uniform() < p ? 1 : 0));
}

/** A random permutation of 0..n-1, int32. */
export function randperm(n: number, opts?: { generator?: Generator }): Tensor {
  if (!Number.isInteger(n) || n < 0) fail('randperm', `n must be a non-negative integer, got ${n}`);
  return new Tensor((opts?.generator ?? defaultGenerator).permutation(n), [n]);
}
