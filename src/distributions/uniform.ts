import { fail } from '../errors.js';
import { rand } from '../tensor/creation.js';
import type { Shape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  asParameter,
  broadcastAll,
  Distribution,
  type Parameter,
  parameterDType,
  type SampleOptions,
  type ValidateOptions,
  validateOption,
} from './distribution.js';

/**
 * The uniform distribution on [low, high), torch.distributions.Uniform, with low < high elementwise.
 * rsample is low + (high − low)·u with u ~ U[0, 1). logProb is −log(high − low) inside and −inf outside
 * (with validation on, a value outside [low, high] is refused).
 *
 *     const d = new distributions.Uniform(0, tensor([2, 4]));
 *     d.entropy().tolist() // → [0.693147, 1.386294]
 *     d.mean.tolist() // → [1, 2]
 */
export class Uniform extends Distribution {
  override readonly hasRsample = true;
  readonly low: Tensor;
  readonly high: Tensor;

  constructor(low: Parameter, high: Parameter, opts?: ValidateOptions) {
    const op = 'Uniform';
    const validate = validateOption(op, opts);
    const dtype = parameterDType(op, { low, high });
    const { shape, values } = broadcastAll(op, {
      low: asParameter(op, 'low', low, dtype),
      high: asParameter(op, 'high', high, dtype),
    });
    super(op, shape, [], validate);
    [this.low, this.high] = values as [Tensor, Tensor];
    if (validate) {
      const lo = this.low.toTypedArray();
      const hi = this.high.toTypedArray();
      for (let i = 0; i < lo.length; i++) {
        if (!(lo[i]! < hi[i]!))
          fail(
            op,
            `low must be less than high elementwise, got low = ${lo[i]} and high = ${hi[i]} at flat index ${i}; give each low below its high`,
          );
      }
    }
  }

  get mean(): Tensor {
    return this.low.add(this.high).mul(0.5);
  }

  get variance(): Tensor {
    return this.high.sub(this.low).square().div(12);
  }

  override rsample(sampleShape: Shape = [], opts?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    const u = rand(shape, { dtype: this.low.dtype, generator: this.generatorOf(opts) });
    return this.low.add(u.mul(this.high.sub(this.low)));
  }

  /** log(1[low ≤ x < high]) − log(high − low). */
  logProb(value: Parameter): Tensor {
    const x = this.checkValue(value, this.low.dtype);
    const inside = this.low.le(x).mul(this.high.gt(x)).cast(this.low.dtype);
    return inside.log().sub(this.high.sub(this.low).log());
  }

  /** log(high − low). */
  entropy(): Tensor {
    return this.high.sub(this.low).log();
  }

  protected support(value: Tensor): Tensor {
    return this.low.le(value).mul(value.le(this.high));
  }

  protected supportText(): string {
    return '[low, high]';
  }
}
