import { checkOptions, describe, fail, fmtShape } from '../errors.js';
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

const CREATE_KEYS = ['dtype', 'requiresGrad'] as const;
const RANDOM_KEYS = [...CREATE_KEYS, 'generator'] as const;

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
  checkOptions('tensor', opts, [...CREATE_KEYS, 'shape']);
  if (ArrayBuffer.isView(values)) {
    if (!(values instanceof Float32Array || values instanceof Float64Array || values instanceof Int32Array))
      fail(
        'tensor',
        `expected a Float32Array, Float64Array or Int32Array, got ${describe(values)}; convert it with Float32Array.from(...)`,
      );
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
  if (typeof values !== 'number' && !Array.isArray(values))
    fail('tensor', `expected a number, a nested array of numbers or a typed array, got ${describe(values)}`);
  const shape: number[] = [];
  for (let v: NestedArray = values; Array.isArray(v); v = v[0]!) {
    shape.push(v.length);
    if (v.length === 0) break;
  }
  const flat: number[] = [];
  // `at` is the index of the entry being read, for messages: [1, 0] is values[1][0].
  const at: number[] = [];
  const where = () => (at.length ? ` at [${at.join(', ')}]` : '');
  const walk = (v: NestedArray, axis: number): void => {
    if (axis === shape.length) {
      if (typeof v !== 'number') {
        fail(
          'tensor',
          Array.isArray(v)
            ? `ragged nested array: expected a number${where()}, got an array (the first entries are ${shape.length} deep)`
            : `expected numbers, got ${describe(v)}${where()}`,
        );
      }
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[axis]) {
      fail(
        'tensor',
        `ragged nested array: expected an array of ${shape[axis]} entries${where()}, got ${describe(v)}`,
      );
    }
    v.forEach((x, i) => {
      at.push(i);
      walk(x, axis + 1);
      at.pop();
    });
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
  checkNumber('scalar', 'value', value);
  const data = allocate(checkDType('scalar', dtype), 1);
  data[0] = value;
  return new Tensor(data, []);
}

export function full(shape: Shape, value: number, opts?: CreateOptions): Tensor {
  checkOptions('full', opts, CREATE_KEYS);
  const s = checkShape('full', shape);
  checkNumber('full', 'value', value);
  const data = allocate(dtypeOr(opts, 'float32', 'full'), sizeOf(s));
  if (value !== 0) data.fill(value);
  return finish(new Tensor(data, s), opts);
}

export function zeros(shape: Shape, opts?: CreateOptions): Tensor {
  checkOptions('zeros', opts, CREATE_KEYS);
  return full(checkShape('zeros', shape), 0, opts);
}

export function ones(shape: Shape, opts?: CreateOptions): Tensor {
  checkOptions('ones', opts, CREATE_KEYS);
  return full(checkShape('ones', shape), 1, opts);
}

/** A tensor shaped like t, of its dtype unless one is given. */
function like(op: string, t: Tensor, value: number, opts: CreateOptions | undefined): Tensor {
  if (!(t instanceof Tensor)) fail(op, `expected a Tensor, got ${describe(t)}`);
  checkOptions(op, opts, CREATE_KEYS);
  return full(t.shape, value, { dtype: t.dtype, ...opts });
}

export function zerosLike(t: Tensor, opts?: CreateOptions): Tensor {
  return like('zerosLike', t, 0, opts);
}

export function onesLike(t: Tensor, opts?: CreateOptions): Tensor {
  return like('onesLike', t, 1, opts);
}

export function fullLike(t: Tensor, value: number, opts?: CreateOptions): Tensor {
  checkNumber('fullLike', 'value', value);
  return like('fullLike', t, value, opts);
}

function checkNumber(op: string, name: string, v: unknown): void {
  if (typeof v !== 'number') fail(op, `${name} must be a number, got ${describe(v)}`);
}

function checkCount(op: string, name: string, v: unknown): void {
  if (!Number.isInteger(v) || (v as number) < 0)
    fail(op, `${name} must be a non-negative integer, got ${describe(v)}`);
}

/** Values start, start+step, ... below stop (like `torch.arange`); int32 when all arguments are integers. */
export function arange(start: number, stop?: number, step = 1, opts?: CreateOptions): Tensor {
  checkOptions('arange', opts, CREATE_KEYS, 'arange(start, stop, step, { dtype })');
  checkNumber('arange', 'start', start);
  if (stop !== undefined) checkNumber('arange', 'stop', stop);
  checkNumber('arange', 'step', step);
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
  checkOptions('linspace', opts, CREATE_KEYS);
  checkNumber('linspace', 'start', start);
  checkNumber('linspace', 'stop', stop);
  checkCount('linspace', 'n', n);
  const data = allocate(dtypeOr(opts, 'float32', 'linspace'), n);
  for (let i = 0; i < n; i++) data[i] = n === 1 ? start : start + ((stop - start) * i) / (n - 1);
  return finish(new Tensor(data, [n]), opts);
}

/** The n×m identity (ones on the diagonal). */
export function eye(n: number, m = n, opts?: CreateOptions): Tensor {
  checkCount('eye', 'n', n);
  checkCount('eye', 'm', m);
  checkOptions('eye', opts, CREATE_KEYS);
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
  checkOptions('rand', opts, [...RANDOM_KEYS, 'low', 'high']);
  const low = opts?.low ?? 0;
  const high = opts?.high ?? 1;
  if (!(low <= high)) fail('rand', `need low <= high, got [${low}, ${high})`);
  return randomFill('rand', shape, opts, (g) => low + (high - low) * g.uniform());
}

/** Normal with the given mean and standard deviation (default N(0, 1)). */
export function randn(shape: Shape, opts?: RandomOptions & { mean?: number; std?: number }): Tensor {
  checkOptions('randn', opts, [...RANDOM_KEYS, 'mean', 'std']);
  const mean = opts?.mean ?? 0;
  const std = opts?.std ?? 1;
  if (!(std >= 0)) fail('randn', `std must be non-negative, got ${std}`);
  return randomFill('randn', shape, opts, (g) => mean + std * g.normal());
}

/** Integers uniform on [low, high), int32. */
export function randint(low: number, high: number, shape: Shape, opts?: { generator?: Generator }): Tensor {
  checkOptions('randint', opts, ['generator'], 'randint(low, high, shape, { generator })');
  if (!Number.isInteger(low) || !Number.isInteger(high) || low >= high)
    fail('randint', `expected integers low < high, got ${describe(low)} and ${describe(high)}`);
  const s = checkShape('randint', shape);
  const g = opts?.generator ?? defaultGenerator;
  const data = new Int32Array(sizeOf(s));
  for (let i = 0; i < data.length; i++) data[i] = g.randint(low, high);
  return new Tensor(data, s);
}

/** Ones with probability p, zeros otherwise. */
export function bernoulli(shape: Shape, p: number, opts?: RandomOptions): Tensor {
  checkOptions('bernoulli', opts, RANDOM_KEYS);
  if (!(p >= 0 && p <= 1)) fail('bernoulli', `probability must be in [0, 1], got ${describe(p)}`);
  return randomFill('bernoulli', shape, opts, (g) => (g.uniform() < p ? 1 : 0));
}

/** A random permutation of 0..n-1, int32. */
export function randperm(n: number, opts?: { generator?: Generator }): Tensor {
  checkOptions('randperm', opts, ['generator']);
  checkCount('randperm', 'n', n);
  return new Tensor((opts?.generator ?? defaultGenerator).permutation(n), [n]);
}
