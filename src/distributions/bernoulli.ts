import { fail } from '../errors.js';
import { stableSoftplus } from '../ops/functional.js';
import { rand } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import type { Shape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  asParameter,
  checkParameter,
  Distribution,
  type Parameter,
  parameterDType,
  type SampleOptions,
  type ValidateOptions,
  validateOption,
} from './distribution.js';

/** A distribution given by probabilities or by logits (log-odds), exactly one of the two. */
export interface ProbsOrLogits extends ValidateOptions {
  probs?: Parameter;
  logits?: Parameter;
}

/** A dtype's machine epsilon (the step above 1), for clamping probabilities before their logarithm (PyTorch's clamp_probs). */
export function dtypeEps(dtype: DType): number {
  return dtype === 'float64' ? 2 ** -52 : 2 ** -23;
}

/** probs or logits, refused unless exactly one was given. */
export function probsOrLogits(
  op: string,
  params: ProbsOrLogits | undefined,
): { probs?: Tensor; logits?: Tensor; validate: boolean } {
  if (params === null || typeof params !== 'object')
    fail(op, `expected { probs } or { logits }, got ${String(params)}`);
  const validate = validateOption(op, { validateArgs: params.validateArgs });
  const extra = Object.keys(params).filter((k) => !['probs', 'logits', 'validateArgs'].includes(k));
  if (extra.length)
    fail(op, `unknown option ${extra.join(', ')}; expected { probs } or { logits } (and validateArgs)`);
  const { probs, logits } = params;
  if ((probs === undefined) === (logits === undefined))
    fail(
      op,
      probs === undefined
        ? 'expected { probs } or { logits }, got neither'
        : 'expected { probs } or { logits }, got both; pass exactly one of them',
    );
  const dtype = parameterDType(op, probs === undefined ? { logits: logits! } : { probs });
  return probs === undefined
    ? { logits: asParameter(op, 'logits', logits!, dtype), validate }
    : { probs: asParameter(op, 'probs', probs, dtype), validate };
}

/**
 * The Bernoulli distribution over {0, 1}, torch.distributions.Bernoulli, given `{ probs }` (in [0, 1])
 * or `{ logits }` (log-odds). Samples are 0.0 or 1.0 in the parameters' dtype; there is no rsample.
 *
 *     const d = new distributions.Bernoulli({ probs: tensor([0.25, 0.5]) });
 *     d.logProb(tensor([1, 0])).tolist() // → [-1.386294, -0.693147]
 *     d.sample([4]).shape // → [4, 2]
 */
export class Bernoulli extends Distribution {
  readonly probs: Tensor;
  readonly logits: Tensor;

  constructor(params: ProbsOrLogits) {
    const op = 'Bernoulli';
    const { probs, logits, validate } = probsOrLogits(op, params);
    super(op, (probs ?? logits)!.shape, [], validate);
    if (probs) {
      if (validate) checkParameter(op, 'probs', probs, (v) => v >= 0 && v <= 1, 'a probability in [0, 1]');
      const eps = dtypeEps(probs.dtype);
      const clamped = probs.clamp(eps, 1 - eps);
      this.probs = probs;
      this.logits = clamped.log().sub(clamped.neg().log1p());
    } else {
      if (validate) checkParameter(op, 'logits', logits!, (v) => !Number.isNaN(v), 'a number (not NaN)');
      this.logits = logits!;
      this.probs = logits!.sigmoid();
    }
  }

  get mean(): Tensor {
    return this.probs;
  }

  get variance(): Tensor {
    return this.probs.mul(this.probs.neg().add(1));
  }

  override sample(sampleShape: Shape = [], opts?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    const u = rand(shape, { dtype: this.probs.dtype, generator: this.generatorOf(opts) });
    return u.lt(this.probs.detach()).cast(this.probs.dtype);
  }

  /** x·logits − softplus(logits), PyTorch's −binary_cross_entropy_with_logits. */
  logProb(value: Parameter): Tensor {
    const x = this.checkValue(value, this.probs.dtype);
    return x.mul(this.logits).sub(stableSoftplus(this.logits));
  }

  /** softplus(logits) − probs·logits. */
  entropy(): Tensor {
    return stableSoftplus(this.logits).sub(this.probs.mul(this.logits));
  }

  protected support(value: Tensor): Tensor {
    return value.eq(0).add(value.eq(1));
  }

  protected supportText(): string {
    return '{0, 1}';
  }
}
