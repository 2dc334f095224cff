import { checkArity, checkOptions, describe, fail, fmtShape } from '../errors.js';
import { type InterpolateMode, type InterpolateOptions, interpolate } from '../ops/functional.js';
import { type LinearActivation, linear } from '../ops/linalg.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkParamDType } from './checks.js';
import { kaimingUniform_, uniform_ } from './init.js';
import { checkInput, checkInteger, floatDType, Module, type Parameter, parameter } from './module.js';

export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** dtype of the parameters (float64 for gradient checks); initialised as for float32. */
  dtype?: DType;
}

/**
 * y = x Wᵀ + b, with W of shape [out, in] as in PyTorch. Default initialisation is PyTorch's:
 * W ~ U(±1/sqrt(in)) (Kaiming-uniform with a = sqrt(5)) and b ~ U(±1/sqrt(in)).
 */
export class Linear extends Module {
  weight: Parameter;
  bias: Parameter | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options?: LinearOptions,
  ) {
    super();
    const form = `new Linear(${describe(inFeatures)}, ${describe(outFeatures)}, { bias: false })`;
    checkArity('Linear', arguments, 3, form);
    const { bias = true, dtype } = checkOptions('Linear', options, ['bias', 'dtype'], form);
    checkInteger('Linear', 'inFeatures', inFeatures);
    checkInteger('Linear', 'outFeatures', outFeatures);
    const type = floatDType('Linear', dtype);
    this.weight = parameter([outFeatures, inFeatures], type, (t) => kaimingUniform_(t, { a: Math.sqrt(5) }));
    const bound = 1 / Math.sqrt(inFeatures);
    this.bias = bias ? parameter([outFeatures], type, (t) => uniform_(t, -bound, bound)) : null;
  }

  forward(x: Tensor): Tensor {
    return this.forwardWith(x, 'none');
  }

  /** forward followed by an activation, fused into one op (Sequential uses it for Linear then ReLU). */
  forwardWith(x: Tensor, activation: LinearActivation): Tensor {
    checkInput('Linear', x);
    if (x.rank < 1 || x.shape[x.rank - 1] !== this.inFeatures) {
      fail('Linear', `expected input with last axis ${this.inFeatures}, got shape ${fmtShape(x.shape)}`);
    }
    checkParamDType('Linear', x, this.weight);
    return linear(x, this.weight, this.bias, activation);
  }

  protected override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

/**
 * Returns its input. Like PyTorch's, it takes any constructor arguments and ignores them, so that it
 * can stand in for a layer whose arguments are computed (`cond ? new Dropout(p) : new Identity(p)`).
 */
export class Identity extends Module {
  constructor(..._ignored: unknown[]) {
    super();
  }

  forward(x: Tensor): Tensor {
    checkInput('Identity', x);
    return x;
  }
}

/** Merges axes startAxis..endAxis (by default everything but the batch axis), as PyTorch's Flatten. */
export class Flatten extends Module {
  constructor(
    readonly startAxis = 1,
    readonly endAxis = -1,
  ) {
    super();
    checkArity('Flatten', arguments, 2, 'new Flatten(startAxis, endAxis)');
    checkInteger('Flatten', 'startAxis', startAxis, Number.NEGATIVE_INFINITY);
    checkInteger('Flatten', 'endAxis', endAxis, Number.NEGATIVE_INFINITY);
  }

  forward(x: Tensor): Tensor {
    checkInput('Flatten', x);
    return x.flatten(this.startAxis, this.endAxis);
  }

  protected override extraRepr(): string {
    return `startAxis=${this.startAxis}, endAxis=${this.endAxis}`;
  }
}

/**
 * Splits one axis into several, the inverse of Flatten (PyTorch's Unflatten): the axis's size must be
 * the product of `sizes`, one of which may be -1 to be inferred.
 *
 *     new Unflatten(1, [16, 5, 5]).forward(x) // [N, 400] -> [N, 16, 5, 5]
 */
export class Unflatten extends Module {
  readonly sizes: readonly number[];

  constructor(
    readonly axis: number,
    sizes: readonly number[],
  ) {
    super();
    checkArity('Unflatten', arguments, 2, 'new Unflatten(axis, [sizes])');
    checkInteger('Unflatten', 'axis', axis, Number.NEGATIVE_INFINITY);
    if (!Array.isArray(sizes) || sizes.length === 0)
      fail('Unflatten', `sizes must be a non-empty array of sizes, got ${describe(sizes)}`);
    for (const d of sizes) if (d !== -1) checkInteger('Unflatten', 'each size', d);
    if (sizes.filter((d) => d === -1).length > 1)
      fail('Unflatten', `only one size can be -1, got [${sizes}]`);
    this.sizes = [...sizes];
  }

  forward(x: Tensor): Tensor {
    checkInput('Unflatten', x);
    const a = this.axis < 0 ? this.axis + x.rank : this.axis;
    if (a < 0 || a >= x.rank)
      fail('Unflatten', `axis ${this.axis} is out of range for input of shape ${fmtShape(x.shape)}`);
    const d = x.shape[a]!;
    const known = this.sizes.reduce((n, s) => (s === -1 ? n : n * s), 1);
    const sizes = this.sizes.map((s) => (s === -1 ? d / known : s));
    if (!sizes.every(Number.isInteger) || sizes.reduce((n, s) => n * s, 1) !== d)
      fail(
        'Unflatten',
        `axis ${this.axis} of size ${d} (input ${fmtShape(x.shape)}) cannot be split into [${this.sizes}]`,
      );
    return x.reshape([...x.shape.slice(0, a), ...sizes, ...x.shape.slice(a + 1)]);
  }

  protected override extraRepr(): string {
    return `axis=${this.axis}, sizes=[${this.sizes.join(', ')}]`;
  }
}

/**
 * Resizes the spatial axes of [N, C, ...] by `scaleFactor` or to `size`, as PyTorch's Upsample; the
 * modes and their arithmetic are `interpolate`'s ('nearest' by default, 'linear', 'bilinear',
 * 'trilinear', with `alignCorners` for the linear ones).
 *
 *     new Upsample({ scaleFactor: 2, mode: 'bilinear' }) // [N, C, 14, 14] -> [N, C, 28, 28]
 */
export class Upsample extends Module {
  readonly options: Readonly<InterpolateOptions>;

  constructor(options: InterpolateOptions) {
    super();
    const form = "new Upsample({ scaleFactor: 2, mode: 'bilinear' })";
    checkArity('Upsample', arguments, 1, form);
    const {
      size,
      scaleFactor,
      mode = 'nearest',
      alignCorners,
    } = checkOptions('Upsample', options ?? {}, ['size', 'scaleFactor', 'mode', 'alignCorners'], form);
    if ((size === undefined) === (scaleFactor === undefined))
      fail('Upsample', `give exactly one of size and scaleFactor: ${form}`);
    const [key, value] = size === undefined ? ['scaleFactor', scaleFactor!] : ['size', size];
    const list: unknown[] = typeof value === 'number' ? [value] : Array.isArray(value) ? value : [];
    const integer = key === 'size';
    const bad = (v: unknown) =>
      typeof v !== 'number' || !(v > 0 && Number.isFinite(v)) || (integer && !Number.isInteger(v));
    if (list.length === 0 || list.length > 3 || list.some(bad)) {
      const what = integer ? 'a positive integer' : 'a positive number';
      fail('Upsample', `${key} must be ${what} or a list of 1 to 3 of them, got ${describe(value)}`);
    }
    const modes: readonly InterpolateMode[] = ['nearest', 'linear', 'bilinear', 'trilinear'];
    if (!modes.includes(mode))
      fail('Upsample', `mode must be one of ${modes.join(', ')}, got ${describe(mode)}`);
    if (alignCorners !== undefined && (mode === 'nearest' || typeof alignCorners !== 'boolean'))
      fail(
        'Upsample',
        `alignCorners is a boolean for the linear modes only, got ${describe(alignCorners)} with mode '${mode}'`,
      );
    this.options = {
      ...(size === undefined ? { scaleFactor } : { size }),
      mode,
      ...(alignCorners === undefined ? {} : { alignCorners }),
    };
  }

  forward(x: Tensor): Tensor {
    checkInput('Upsample', x);
    return interpolate(x, this.options);
  }

  protected override extraRepr(): string {
    const { size, scaleFactor, mode } = this.options;
    return `${size === undefined ? `scaleFactor=${describe(scaleFactor)}` : `size=${describe(size)}`}, mode='${mode}'`;
  }
}
