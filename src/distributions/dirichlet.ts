import { fail, fmtShape } from '../errors.js';
import { where } from '../ops/elementwise.js';
import type { Shape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  asParameter,
  broadcastAll,
  checkParameter,
  Distribution,
  type Parameter,
  parameterDType,
  type SampleOptions,
  type ValidateOptions,
  validateOption,
} from './distribution.js';
import { standardGamma } from './gamma.js';
import { digamma, lgamma } from './special.js';

/**
 * (c − 1)·log x with 0·log 0 = 0 (PyTorch's xlogy), so that a concentration of 1 gives a finite density
 * at the boundary; x = 0 is replaced before the logarithm so that no NaN reaches the gradients.
 */
function powerTerm(c: Tensor, x: Tensor): Tensor {
  const edge = c.eq(1).mul(x.eq(0));
  return where(edge, 0, c.sub(1).mul(where(edge, 1, x).log()));
}

/**
 * The Dirichlet distribution on the simplex, torch.distributions.Dirichlet: concentration [..., K] (> 0),
 * event shape [K]. rsample normalises Gamma(α_k, 1) samples, differentiable in the concentration by
 * implicit reparameterisation (first order).
 *
 *     const d = new distributions.Dirichlet(tensor([1, 2, 3]));
 *     d.mean.tolist() // → [0.166667, 0.333333, 0.5]
 *     d.sample([4]).sum(-1).sub(1).abs().max().item() < 1e-6 // → true
 */
export class Dirichlet extends Distribution {
  override readonly hasRsample = true;
  readonly concentration: Tensor;

  constructor(concentration: Tensor, opts?: ValidateOptions) {
    const op = 'Dirichlet';
    const validate = validateOption(op, opts);
    const c = asParameter(op, 'concentration', concentration, parameterDType(op, { concentration }));
    if (c.rank < 1)
      fail(
        op,
        `concentration must have at least one axis (the K categories), got shape ${fmtShape(c.shape)}`,
      );
    super(op, c.shape.slice(0, -1), c.shape.slice(-1), validate);
    if (validate)
      checkParameter(op, 'concentration', c, (v) => v > 0 && v < Infinity, 'positive (> 0) and finite');
    this.concentration = c;
  }

  get mean(): Tensor {
    return this.concentration.div(this.concentration.sum(-1, true));
  }

  get variance(): Tensor {
    const total = this.concentration.sum(-1, true);
    return this.concentration.mul(total.sub(this.concentration)).div(total.square().mul(total.add(1)));
  }

  override rsample(sampleShape: Shape = [], opts?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    const gammas = standardGamma(this.concentration.expand(shape), this.generatorOf(opts));
    return gammas.div(gammas.sum(-1, true));
  }

  /** Σ (α_k − 1) log x_k + lgamma(Σ α_k) − Σ lgamma(α_k). */
  logProb(value: Parameter): Tensor {
    const x = this.checkValue(value, this.concentration.dtype);
    const c = this.concentration;
    return powerTerm(c, x)
      .sum(-1)
      .add(lgamma(c.sum(-1)))
      .sub(lgamma(c).sum(-1));
  }

  /** log B(α) + (α₀ − K) ψ(α₀) − Σ (α_k − 1) ψ(α_k), α₀ = Σ α_k. */
  entropy(): Tensor {
    const c = this.concentration;
    const k = c.shape[c.rank - 1]!;
    const total = c.sum(-1);
    const logBeta = lgamma(c).sum(-1).sub(lgamma(total));
    return logBeta.add(total.sub(k).mul(digamma(total))).sub(c.sub(1).mul(digamma(c)).sum(-1));
  }

  protected support(value: Tensor): Tensor {
    const nonNegative = value.ge(0).cast('float32').min(-1).eq(1);
    return nonNegative.mul(value.sum(-1).sub(1).abs().lt(1e-6));
  }

  protected supportText(): string {
    return 'the simplex: x_k ≥ 0 with Σ x_k = 1';
  }
}

/**
 * The beta distribution on [0, 1], torch.distributions.Beta(concentration1, concentration0) (α, β > 0):
 * density x^(α−1)(1 − x)^(β−1) / B(α, β). rsample is G₁/(G₁ + G₀) with G ~ Gamma(·, 1), differentiable
 * in both concentrations by implicit reparameterisation (first order).
 *
 *     const d = new distributions.Beta(2, 3);
 *     d.mean.item() // → 0.4
 *     d.logProb(0.5).item() // → 0.405465
 */
export class Beta extends Distribution {
  override readonly hasRsample = true;
  readonly concentration1: Tensor;
  readonly concentration0: Tensor;

  constructor(concentration1: Parameter, concentration0: Parameter, opts?: ValidateOptions) {
    const op = 'Beta';
    const validate = validateOption(op, opts);
    const dtype = parameterDType(op, { concentration1, concentration0 });
    const { shape, values } = broadcastAll(op, {
      concentration1: asParameter(op, 'concentration1', concentration1, dtype),
      concentration0: asParameter(op, 'concentration0', concentration0, dtype),
    });
    super(op, shape, [], validate);
    [this.concentration1, this.concentration0] = values as [Tensor, Tensor];
    if (validate) {
      const ok = (v: number) => v > 0 && v < Infinity;
      checkParameter(op, 'concentration1', this.concentration1, ok, 'positive (> 0) and finite');
      checkParameter(op, 'concentration0', this.concentration0, ok, 'positive (> 0) and finite');
    }
  }

  get mean(): Tensor {
    return this.concentration1.div(this.concentration1.add(this.concentration0));
  }

  get variance(): Tensor {
    const total = this.concentration1.add(this.concentration0);
    return this.concentration1.mul(this.concentration0).div(total.square().mul(total.add(1)));
  }

  override rsample(sampleShape: Shape = [], opts?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    const generator = this.generatorOf(opts);
    const g1 = standardGamma(this.concentration1.expand(shape), generator);
    const g0 = standardGamma(this.concentration0.expand(shape), generator);
    return g1.div(g1.add(g0));
  }

  /** (α − 1) log x + (β − 1) log(1 − x) − log B(α, β). */
  logProb(value: Parameter): Tensor {
    const x = this.checkValue(value, this.concentration1.dtype);
    const a = this.concentration1;
    const b = this.concentration0;
    return powerTerm(a, x)
      .add(powerTerm(b, x.neg().add(1)))
      .add(lgamma(a.add(b)))
      .sub(lgamma(a))
      .sub(lgamma(b));
  }

  /** log B(α, β) − (α − 1)ψ(α) − (β − 1)ψ(β) + (α + β − 2)ψ(α + β). */
  entropy(): Tensor {
    const a = this.concentration1;
    const b = this.concentration0;
    const total = a.add(b);
    return lgamma(a)
      .add(lgamma(b))
      .sub(lgamma(total))
      .sub(a.sub(1).mul(digamma(a)))
      .sub(b.sub(1).mul(digamma(b)))
      .add(total.sub(2).mul(digamma(total)));
  }

  protected support(value: Tensor): Tensor {
    return value.ge(0).mul(value.le(1));
  }

  protected supportText(): string {
    return '[0, 1]';
  }
}
