import { fail, fmtShape } from '../errors.js';
import type { Shape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { Distribution, type Parameter, type SampleOptions, sumRightmost } from './distribution.js';

/**
 * Reinterprets the last `reinterpretedBatchNdims` batch axes of a distribution as event axes,
 * torch.distributions.Independent: logProb and entropy sum over them. A diagonal Gaussian over vectors
 * of 3 is `new Independent(new Normal(loc [3], scale [3]), 1)`, with batch shape [] and event shape [3].
 *
 *     const d = new distributions.Independent(new distributions.Normal(zeros([2, 3]), 1), 1);
 *     [d.batchShape, d.eventShape] // → [[2], [3]]
 *     d.logProb(zeros([2, 3])).shape // → [2]
 */
export class Independent extends Distribution {
  override readonly hasRsample: boolean;

  constructor(
    readonly base: Distribution,
    readonly reinterpretedBatchNdims: number,
  ) {
    const op = 'Independent';
    if (!(base instanceof Distribution)) fail(op, `expected a Distribution as base, got ${String(base)}`);
    const n = reinterpretedBatchNdims;
    if (!Number.isInteger(n) || n < 0 || n > base.batchShape.length)
      fail(
        op,
        `reinterpretedBatchNdims must be an integer from 0 to the base's batch rank ${base.batchShape.length} (batch shape ${fmtShape(base.batchShape)}), got ${n}`,
      );
    const split = base.batchShape.length - n;
    super(
      op,
      base.batchShape.slice(0, split),
      [...base.batchShape.slice(split), ...base.eventShape],
      base.validateArgs,
    );
    this.hasRsample = base.hasRsample;
  }

  get mean(): Tensor {
    return this.base.mean;
  }

  get variance(): Tensor {
    return this.base.variance;
  }

  override sample(sampleShape: Shape = [], opts?: SampleOptions): Tensor {
    return this.base.sample(sampleShape, opts);
  }

  override rsample(sampleShape: Shape = [], opts?: SampleOptions): Tensor {
    if (!this.hasRsample) return super.rsample(sampleShape, opts);
    return this.base.rsample(sampleShape, opts);
  }

  /** The base's logProb summed over the reinterpreted axes (the base checks the value). */
  logProb(value: Parameter): Tensor {
    return sumRightmost(this.base.logProb(value), this.reinterpretedBatchNdims);
  }

  entropy(): Tensor {
    return sumRightmost(this.base.entropy(), this.reinterpretedBatchNdims);
  }

  /** Never asked: logProb hands the value to the base, which checks it against its own support. */
  protected support(_value: Tensor): Tensor {
    return fail('Independent', `values are checked by the base distribution (${this.base.name})`);
  }

  protected supportText(): string {
    return `the support of ${this.base.name}`;
  }
}
