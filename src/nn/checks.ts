import { checkArity, checkOptions, describe, fail } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * Checks shared by the convolution, pooling, recurrent and embedding layers: their constructors'
 * arguments (PyTorch-style positional extras, unknown options, hyper-parameters out of range) and
 * their forward's input.
 */

/** A value as a call prints it: `3`, `[2, 2]`, `'same'`, `true`. */
function show(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (Array.isArray(v) && v.every((e) => typeof e === 'number')) return `[${v.join(', ')}]`;
  return typeof v === 'number' || typeof v === 'boolean' || v === null ? String(v) : describe(v);
}

/**
 * Refuses a layer's constructor call with positional arguments past its `leading` ones, or an options
 * argument that is not a plain object with known keys. The message writes the call with the extras
 * named in PyTorch's positional order: `new Conv2d(4, 6, 3, 2, 1)` → `new Conv2d(4, 6, 3, { stride: 2,
 * padding: 1 })`. Returns the options.
 */
export function layerOptions<T extends object>(
  name: string,
  args: ArrayLike<unknown>,
  leading: number,
  options: T | undefined,
  positional: readonly string[],
  accepted: readonly (keyof T & string)[],
): Partial<T> {
  const all = Array.from(args);
  const extras = all.slice(leading);
  const named =
    extras.length > 0 && extras.some((v) => v === null || typeof v !== 'object' || Array.isArray(v))
      ? extras.map((v, i) => `${positional[i] ?? `option${i}`}: ${show(v)}`).join(', ')
      : '…';
  const form = `new ${name}(${all.slice(0, leading).map(show).join(', ')}, { ${named} })`;
  checkArity(name, args, leading + 1, form);
  return checkOptions(name, options, accepted, form);
}

/** A forward's input must be a Tensor. */
export function checkInput(op: string, x: unknown, what = 'input'): asserts x is Tensor {
  if (!(x instanceof Tensor))
    fail(op, `expected the ${what} as a Tensor, got ${describe(x)}; wrap it with tensor(…)`);
}

/**
 * Refuses an input whose dtype differs from the layer's parameters, as PyTorch does ("expected scalar
 * type Float but found Double") rather than promoting the product.
 */
export function checkParamDType(op: string, x: Tensor, param: Tensor): void {
  if (x.dtype === param.dtype) return;
  const model =
    x.dtype === 'float64'
      ? ', or the module with model.double()'
      : x.dtype === 'float32'
        ? ', or the module with model.float()'
        : '';
  fail(
    op,
    `the input is ${x.dtype} but the parameters are ${param.dtype}; convert the input with x.cast('${param.dtype}')${model}`,
  );
}

export function checkPositive(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
    fail(op, `${name} must be a positive integer, got ${describe(v)}`);
  return v;
}

/** A size argument (kernel, stride, padding...): an integer ≥ min, or `dims` of them. */
export function checkSize(op: string, name: string, v: unknown, dims: number, min: number): void {
  const list = typeof v === 'number' ? [v] : Array.isArray(v) ? v : null;
  if (
    !list ||
    (typeof v !== 'number' && list.length !== dims) ||
    list.some((x) => typeof x !== 'number' || !Number.isInteger(x) || x < min)
  ) {
    fail(
      op,
      `${name} must be an integer ≥ ${min}${dims > 1 ? ` or ${dims} of them` : ''}, got ${Array.isArray(v) ? show(v) : describe(v)}`,
    );
  }
}

export function checkBoolean(op: string, name: string, v: unknown): void {
  if (v !== undefined && typeof v !== 'boolean')
    fail(op, `${name} must be true or false, got ${describe(v)}`);
}

export type ParamDType = 'float32' | 'float64';

/** The dtype a layer creates its parameters in (float32 unless asked). */
export function paramDType(op: string, dtype: unknown): ParamDType {
  if (dtype === undefined) return 'float32';
  if (dtype !== 'float32' && dtype !== 'float64')
    fail(op, `dtype must be 'float32' or 'float64', got ${describe(dtype)}`);
  return dtype;
}
