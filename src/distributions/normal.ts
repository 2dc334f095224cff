import { randn } from '../tensor/creation.js';
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

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * The normal distribution N(loc, scale²), torch.distributions.Normal: batch shape the broadcast of the
 * parameters' shapes, scale > 0. rsample is loc + scale·ε with ε ~ N(0, 1).
 *
 *     const d = new distributions.Normal(tensor([0, 1]), 2);
 *     d.logProb(tensor([0, 1])).tolist() // → [-1.612086, -1.612086]
 *     d.rsample([3], { generator: new Generator(1) }).shape // → [3, 2]
 */
export class Normal extends Distribution {
  override readonly hasRsample = true;
  readonly loc: Tensor;
  readonly scale: Tensor;

  constructor(loc: Parameter, scale: Parameter, opts?: ValidateOptions) {
    const op = 'Normal';
    const validate = validateOption(op, opts);
    const dtype = parameterDType(op, { loc, scale });
    const { shape, values } = broadcastAll(op, {
      loc: asParameter(op, 'loc', loc, dtype),
      scale: asParameter(op, 'scale', scale, dtype),
    });
    super(op, shape, [], validate);
    [this.loc, this.scale] = values as [Tensor, Tensor];
    if (validate) {
      checkParameter(op, 'loc', this.loc, (v) => !Number.isNaN(v), 'a number (not NaN)');
      checkParameter(op, 'scale', this.scale, (v) => v > 0, 'positive (> 0)');
    }
  }

  get mean(): Tensor {
    return this.loc;
  }

  get variance(): Tensor {
    return this.scale.square();
  }

  override get stddev(): Tensor {
    return this.scale;
  }

  override rsample(sampleShape: Shape = [], opts?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    const eps = randn(shape, { dtype: this.loc.dtype, generator: this.generatorOf(opts) });
    return this.loc.add(eps.mul(this.scale));
  }

  /** −(x − loc)² / 2scale² − log scale − ½ log 2π. */
  logProb(value: Parameter): Tensor {
    const x = this.checkValue(value, this.loc.dtype);
    return x.sub(this.loc).div(this.scale).square().mul(-0.5).sub(this.scale.log()).sub(HALF_LOG_2PI);
  }

  /** ½ + ½ log 2π + log scale. */
  entropy(): Tensor {
    return this.scale.log().add(0.5 + HALF_LOG_2PI);
  }

  protected support(value: Tensor): Tensor {
    return value.eq(value);
  }

  protected supportText(): string {
    return 'real numbers';
  }
}
