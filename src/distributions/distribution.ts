import { noGrad } from '../autograd/mode.js';
import { checkOptions, describe, fail, fmtShape } from '../errors.js';
import { requireFloat, tensorArg } from '../ops/op.js';
import { scalar } from '../tensor/creation.js';
import { type DType, isFloat } from '../tensor/dtype.js';
import type { Generator } from '../tensor/random.js';
import { broadcastShapes, type Shape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** Where a sample's randomness comes from (the default generator unless one is given). */
export interface SampleOptions {
  generator?: Generator;
}

/**
 * Whether a distribution checks its parameters and the values given to logProb, as PyTorch's
 * `validate_args` (on by default). Checking reads the data, so a loop that is known to be safe may turn
 * it off.
 */
export interface ValidateOptions {
  validateArgs?: boolean;
}

/** A parameter: a Tensor, or a number (which takes the dtype of the other parameters, float32 if none). */
export type Parameter = Tensor | number;

/**
 * A probability distribution, as torch.distributions.Distribution: a batch of independent distributions
 * (`batchShape`) over values of shape `eventShape`. `sample` draws without gradients; `rsample` draws with
 * the reparameterisation trick, differentiably in the parameters, where `hasRsample` is true. `logProb`
 * of a value whose shape broadcasts with `[...batchShape, ...eventShape]` gives one log density per
 * batch element.
 *
 *     const d = new distributions.Normal(tensor([0, 1]), 2);
 *     d.batchShape // → [2]
 *     d.sample([5]).shape // → [5, 2]
 */
export abstract class Distribution {
  /** True where `rsample` gives reparameterised (differentiable) samples. */
  readonly hasRsample: boolean = false;

  protected constructor(
    /** The family's name, for messages: 'Normal'. */
    readonly name: string,
    readonly batchShape: Shape,
    readonly eventShape: Shape,
    readonly validateArgs: boolean,
  ) {}

  /** The mean, of shape `[...batchShape, ...eventShape]`. */
  abstract get mean(): Tensor;
  /** The variance, of shape `[...batchShape, ...eventShape]`. */
  abstract get variance(): Tensor;
  /** The standard deviation, √variance. */
  get stddev(): Tensor {
    return this.variance.sqrt();
  }

  /** log p(value), of shape broadcast(value's batch part, batchShape). */
  abstract logProb(value: Parameter): Tensor;
  /** The entropy −E[log p(x)], of shape `batchShape`. */
  abstract entropy(): Tensor;

  /** Samples of shape `[...sampleShape, ...batchShape, ...eventShape]`, recorded on no tape. */
  sample(sampleShape: Shape = [], opts?: SampleOptions): Tensor {
    return noGrad(() => this.rsample(sampleShape, opts));
  }

  /**
   * Reparameterised samples of shape `[...sampleShape, ...batchShape, ...eventShape]`, differentiable
   * with respect to the parameters; only where `hasRsample` is true.
   */
  rsample(_sampleShape: Shape = [], _opts?: SampleOptions): Tensor {
    return fail(
      `${this.name}.rsample`,
      `${this.name} has no reparameterised sampler (hasRsample is false); use sample() for samples without gradients, or a score-function estimator: logProb(x).mul(f(x).detach()) with x = sample()`,
    );
  }

  /** The shape of samples for a sample shape. */
  protected extendedShape(sampleShape: Shape): number[] {
    if (!Array.isArray(sampleShape) || sampleShape.some((d) => !Number.isInteger(d) || d < 0))
      fail(
        `${this.name}.sample`,
        `sampleShape must be an array of non-negative integers, got ${Array.isArray(sampleShape) ? `[${sampleShape.join(', ')}]` : describe(sampleShape)}`,
      );
    return [...sampleShape, ...this.batchShape, ...this.eventShape];
  }

  /** The generator to draw from, with the options checked. */
  protected generatorOf(opts: SampleOptions | undefined): Generator | undefined {
    return checkOptions(`${this.name}.sample`, opts, ['generator'], 'sample(shape, { generator })').generator;
  }

  /**
   * A value handed to logProb as a tensor of the parameters' dtype, checked (with validation on) to have
   * a shape that broadcasts with `[...batchShape, ...eventShape]` and to lie in the support.
   */
  protected checkValue(value: Parameter, dtype: DType): Tensor {
    const op = `${this.name}.logProb`;
    const v = typeof value === 'number' ? scalar(value, dtype) : tensorArg(op, value, 'a Tensor or a number');
    if (!this.validateArgs) return v;
    const expected = [...this.batchShape, ...this.eventShape];
    const e = this.eventShape.length;
    if (v.rank < e || v.shape.slice(v.rank - e).some((d, i) => d !== this.eventShape[i]))
      fail(
        op,
        `the value's last ${e} axes must be the event shape ${fmtShape(this.eventShape)}, got a value of shape ${fmtShape(v.shape)}`,
      );
    for (let i = 1; i <= Math.min(v.rank, expected.length); i++) {
      const a = v.shape[v.rank - i]!;
      const b = expected[expected.length - i]!;
      if (a !== b && a !== 1 && b !== 1)
        fail(
          op,
          `a value of shape ${fmtShape(v.shape)} does not broadcast with the batch and event shape ${fmtShape(expected)} (axis ${-i}: ${a} vs ${b})`,
        );
    }
    const mask = noGrad(() => this.support(v));
    const bad = mask.toTypedArray().indexOf(0);
    if (bad >= 0) {
      const at = unravel(bad, mask.shape);
      const where =
        e === 0
          ? `the value ${noGrad(() => v.expand(broadcastShapes(op, v.shape, mask.shape))).toTypedArray()[bad]} at index [${at.join(', ')}]`
          : `the value at index [${[...at, ':'].join(', ')}]`;
      fail(
        op,
        `${where} is outside the support of ${this.name} (${this.supportText()}); pass values in the support, or construct with { validateArgs: false } to get log densities of −inf or NaN`,
      );
    }
    return v;
  }

  /** A mask (int32, 1 where inside) of the support over the value's batch elements. */
  protected abstract support(value: Tensor): Tensor;
  /** The support in words, for messages: 'real numbers', '[low, high]'. */
  protected abstract supportText(): string;
}

function unravel(flat: number, shape: Shape): number[] {
  const at = new Array<number>(shape.length).fill(0);
  for (let a = shape.length - 1; a >= 0; a--) {
    at[a] = flat % shape[a]!;
    flat = Math.floor(flat / shape[a]!);
  }
  return at;
}

/** The dtype numbers take among the parameters: that of the first tensor, float32 if none. */
export function parameterDType(op: string, params: Record<string, Parameter>): DType {
  for (const [name, p] of Object.entries(params)) {
    if (typeof p === 'number') continue;
    tensorArg(op, p, `${name} as a Tensor or a number`);
    if (!isFloat(p.dtype))
      fail(op, `${name} must be a floating-point tensor, got ${p.dtype}; convert it with x.cast('float32')`);
    return p.dtype;
  }
  return 'float32';
}

/** A parameter as a tensor of the given dtype; a number is refused unless finite. */
export function asParameter(op: string, name: string, p: Parameter, dtype: DType): Tensor {
  if (typeof p === 'number') {
    if (Number.isNaN(p)) fail(op, `${name} must be a number, got NaN`);
    return scalar(p, dtype);
  }
  requireFloat(op, p);
  return p;
}

/**
 * The parameters broadcast to one shape (PyTorch's broadcast_all): Normal(loc [3], scale 2) has batch
 * shape [3]. A failure names the distribution and the shapes.
 */
export function broadcastAll(
  op: string,
  params: Record<string, Tensor>,
): { shape: number[]; values: Tensor[] } {
  const entries = Object.entries(params);
  let shape: number[];
  try {
    shape = broadcastShapes(op, ...entries.map(([, t]) => t.shape));
  } catch {
    return fail(
      op,
      `the parameters' shapes do not broadcast together: ${entries.map(([n, t]) => `${n} ${fmtShape(t.shape)}`).join(', ')}; give them shapes that broadcast (equal, or 1, axis by axis from the right)`,
    );
  }
  return {
    shape,
    values: entries.map(([, t]) =>
      t.rank === shape.length && t.shape.every((d, i) => d === shape[i]) ? t : t.expand(shape),
    ),
  };
}

/**
 * Checks a parameter elementwise (with validation on): fails naming the distribution, the parameter, the
 * first offending value and its index, and what was expected.
 */
export function checkParameter(
  op: string,
  name: string,
  t: Tensor,
  ok: (v: number) => boolean,
  expected: string,
): void {
  const values = t.toTypedArray();
  for (let i = 0; i < values.length; i++) {
    if (!ok(values[i]!)) {
      const at = t.rank === 0 ? '' : ` at index [${unravel(i, t.shape).join(', ')}]`;
      fail(op, `${name} must be ${expected}, got ${values[i]}${at}`);
    }
  }
}

/** Parses a distribution's options object (only validateArgs), true by default. */
export function validateOption(op: string, opts: ValidateOptions | undefined): boolean {
  const v = checkOptions(op, opts, ['validateArgs']).validateArgs ?? true;
  if (typeof v !== 'boolean') fail(op, `validateArgs must be true or false, got ${describe(v)}`);
  return v;
}

/** Sums the last n axes (n = 0: the tensor itself). */
export function sumRightmost(x: Tensor, n: number): Tensor {
  if (n === 0) return x;
  return x.sum(Array.from({ length: n }, (_, i) => x.rank - n + i));
}
