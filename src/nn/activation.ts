import { checkArity, checkOptions, describe, fail } from '../errors.js';
import {
  celu,
  elu,
  type GeluApproximation,
  gelu,
  glu,
  hardsigmoid,
  hardswish,
  hardtanh,
  leakyRelu,
  logSigmoid,
  logSoftmax,
  mish,
  prelu,
  relu6,
  selu,
  silu,
  softmax,
  softmin,
  softplus,
  softsign,
} from '../ops/functional.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { constant_ } from './init.js';
import {
  checkInput,
  checkInteger,
  checkNumber,
  floatDType,
  Module,
  type Parameter,
  parameter,
} from './module.js';

/**
 * The non-linearities as modules, for Sequential; each is the function of the same name in ops/, with
 * PyTorch's name and defaults (`axis` for PyTorch's `dim`). PyTorch's `inplace` flag has no
 * counterpart: passing it fails rather than being ignored.
 */

/**
 * A non-linearity with nothing to set: its constructor takes no arguments (so PyTorch's
 * `new ReLU(true)` for inplace fails), and forward checks the input, naming the layer, then applies
 * `activate`.
 */
abstract class FixedActivation extends Module {
  constructor() {
    super();
    checkArity(new.target.name, arguments, 0, `new ${new.target.name}()`);
  }
  forward(x: Tensor): Tensor {
    checkInput(this.constructor.name, x);
    return this.activate(x);
  }
  protected abstract activate(x: Tensor): Tensor;
}

export class ReLU extends FixedActivation {
  protected activate(x: Tensor): Tensor {
    return x.relu();
  }
}

/** max(0, x) + negativeSlope·min(0, x), with PyTorch's default slope 0.01. */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
    checkArity('LeakyReLU', arguments, 1, 'new LeakyReLU(0.2)');
    checkNumber('LeakyReLU', 'negativeSlope', negativeSlope);
  }
  forward(x: Tensor): Tensor {
    checkInput('LeakyReLU', x);
    return leakyRelu(x, this.negativeSlope);
  }
  protected override extraRepr(): string {
    return `negativeSlope=${this.negativeSlope}`;
  }
}

export class Sigmoid extends FixedActivation {
  protected activate(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

export class Tanh extends FixedActivation {
  protected activate(x: Tensor): Tensor {
    return x.tanh();
  }
}

/** log(1 + e^(βx))/β, and x itself where βx > threshold (PyTorch's defaults: β 1, threshold 20). */
export class Softplus extends Module {
  constructor(
    readonly beta = 1,
    readonly threshold = 20,
  ) {
    super();
    checkArity('Softplus', arguments, 2, 'new Softplus(beta, threshold)');
    checkNumber('Softplus', 'beta', beta);
    if (beta === 0) fail('Softplus', 'beta must not be 0 (it divides the result)');
    // An infinite threshold is meaningful: never switch to the identity.
    if (typeof threshold !== 'number' || Number.isNaN(threshold))
      fail('Softplus', `threshold must be a number, got ${describe(threshold)}`);
  }
  forward(x: Tensor): Tensor {
    checkInput('Softplus', x);
    return softplus(x, this.beta, this.threshold);
  }
  protected override extraRepr(): string {
    return `beta=${this.beta}, threshold=${this.threshold}`;
  }
}

/** x above 0, α(e^x − 1) below (α 1 by default). */
export class ELU extends Module {
  constructor(readonly alpha = 1) {
    super();
    checkArity('ELU', arguments, 1, 'new ELU(alpha)');
    checkNumber('ELU', 'alpha', alpha);
  }
  forward(x: Tensor): Tensor {
    checkInput('ELU', x);
    return elu(x, this.alpha);
  }
  protected override extraRepr(): string {
    return `alpha=${this.alpha}`;
  }
}

export interface GELUOptions {
  /** 'none' (default): the exact x·Φ(x); 'tanh': PyTorch's tanh approximation. */
  approximate?: GeluApproximation;
}

/** x·Φ(x); `new GELU({ approximate: 'tanh' })` for the tanh approximation. */
export class GELU extends Module {
  readonly approximate: GeluApproximation;

  constructor(options?: GELUOptions) {
    super();
    const form = "new GELU({ approximate: 'tanh' })";
    checkArity('GELU', arguments, 1, form);
    const { approximate = 'none' } = checkOptions('GELU', options, ['approximate'], form);
    if (approximate !== 'none' && approximate !== 'tanh')
      fail('GELU', `approximate must be 'none' or 'tanh', got ${describe(approximate)}`);
    this.approximate = approximate;
  }
  forward(x: Tensor): Tensor {
    checkInput('GELU', x);
    return gelu(x, this.approximate);
  }
  protected override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

/** A non-linearity along one axis, −1 by default: `new GLU(axis)`; forward applies `activate`. */
abstract class AxisActivation extends Module {
  constructor(readonly axis = -1) {
    super();
    checkArity(new.target.name, arguments, 1, `new ${new.target.name}(axis)`);
    checkInteger(new.target.name, 'axis', axis, Number.NEGATIVE_INFINITY);
  }
  forward(x: Tensor): Tensor {
    checkInput(this.constructor.name, x);
    return this.activate(x, this.axis);
  }
  protected abstract activate(x: Tensor, axis: number): Tensor;
  protected override extraRepr(): string {
    return `axis=${this.axis}`;
  }
}

/**
 * Softmax, LogSoftmax and Softmin take their axis as PyTorch's take `dim`. Given none, they use the last
 * axis of a 0-, 1- or 2-D input, which is what PyTorch's implicit choice gives there too; for more axes
 * PyTorch's implicit choice (axis 0 for 3-D, 1 above) is deprecated and rarely what was meant, so the
 * axis must be given.
 */
abstract class NormalizingActivation extends AxisActivation {
  private readonly given: boolean;
  constructor(axis?: number) {
    super(axis);
    checkArity(new.target.name, arguments, 1, `new ${new.target.name}(axis)`);
    this.given = axis !== undefined;
  }
  override forward(x: Tensor): Tensor {
    checkInput(this.constructor.name, x);
    if (!this.given && x.rank > 2) {
      const implicit = x.rank === 3 ? 0 : 1;
      fail(
        this.constructor.name,
        `no axis given for a ${x.rank}-D input; PyTorch's implicit choice would be axis ${implicit}, which is deprecated: give it, e.g. new ${this.constructor.name}(${implicit}) or new ${this.constructor.name}(-1)`,
      );
    }
    return this.activate(x, this.axis);
  }
}

export class Softmax extends NormalizingActivation {
  protected activate(x: Tensor, axis: number): Tensor {
    return softmax(x, axis);
  }
}

export class LogSoftmax extends NormalizingActivation {
  protected activate(x: Tensor, axis: number): Tensor {
    return logSoftmax(x, axis);
  }
}

/** softmax(−x) along `axis` (the last axis of a 0- to 2-D input by default). */
export class Softmin extends NormalizingActivation {
  protected activate(x: Tensor, axis: number): Tensor {
    return softmin(x, axis);
  }
}

/** x·sigmoid(x). */
export class SiLU extends FixedActivation {
  protected activate(x: Tensor): Tensor {
    return silu(x);
  }
}

/** x·tanh(softplus(x)). */
export class Mish extends FixedActivation {
  protected activate(x: Tensor): Tensor {
    return mish(x);
  }
}

/** scale·elu(x, α) with the self-normalising constants. */
export class SELU extends FixedActivation {
  protected activate(x: Tensor): Tensor {
    return selu(x);
  }
}

/** max(0, x) + min(0, α(e^(x/α) − 1)), α 1 by default and never 0. */
export class CELU extends Module {
  constructor(readonly alpha = 1) {
    super();
    checkArity('CELU', arguments, 1, 'new CELU(alpha)');
    checkNumber('CELU', 'alpha', alpha);
    if (alpha === 0) fail('CELU', 'alpha must not be 0 (it divides x)');
  }
  forward(x: Tensor): Tensor {
    checkInput('CELU', x);
    return celu(x, this.alpha);
  }
  protected override extraRepr(): string {
    return `alpha=${this.alpha}`;
  }
}

/** x limited to [minVal, maxVal], [−1, 1] by default. */
export class Hardtanh extends Module {
  constructor(
    readonly minVal = -1,
    readonly maxVal = 1,
  ) {
    super();
    checkArity('Hardtanh', arguments, 2, 'new Hardtanh(minVal, maxVal)');
    checkNumber('Hardtanh', 'minVal', minVal);
    checkNumber('Hardtanh', 'maxVal', maxVal);
    if (minVal > maxVal) fail('Hardtanh', `minVal ${minVal} is greater than maxVal ${maxVal}`);
  }
  forward(x: Tensor): Tensor {
    checkInput('Hardtanh', x);
    return hardtanh(x, this.minVal, this.maxVal);
  }
  protected override extraRepr(): string {
    return `minVal=${this.minVal}, maxVal=${this.maxVal}`;
  }
}

/** min(max(0, x), 6). */
export class ReLU6 extends FixedActivation {
  protected activate(x: Tensor): Tensor {
    return relu6(x);
  }
}

/** log sigmoid(x), computed as −softplus(−x). */
export class LogSigmoid extends FixedActivation {
  protected activate(x: Tensor): Tensor {
    return logSigmoid(x);
  }
}

/** x / (1 + |x|). */
export class Softsign extends FixedActivation {
  protected activate(x: Tensor): Tensor {
    return softsign(x);
  }
}

/** x·relu6(x + 3)/6. */
export class Hardswish extends FixedActivation {
  protected activate(x: Tensor): Tensor {
    return hardswish(x);
  }
}

/** relu6(x + 3)/6. */
export class Hardsigmoid extends FixedActivation {
  protected activate(x: Tensor): Tensor {
    return hardsigmoid(x);
  }
}

/** a·sigmoid(b) for the halves a, b of the input along `axis` (−1 by default), which must be even. */
export class GLU extends AxisActivation {
  protected activate(x: Tensor): Tensor {
    return glu(x, this.axis);
  }
}

export interface PReLUOptions {
  /** 1 (one slope shared by all channels, the default) or the number of channels on axis 1. */
  numParameters?: number;
  /** The slopes' initial value (0.25, as PyTorch). */
  init?: number;
  /** dtype of the slopes (float64 for gradient checks). */
  dtype?: DType;
}

/**
 * A leaky ReLU whose negative slope is learnt (He et al., 2015): max(0, x) + w·min(0, x), with one
 * slope or one per channel (axis 1), in the parameter `weight` as in PyTorch.
 *
 *     const act = new PReLU({ numParameters: 16 }); // [N, 16, H, W]
 */
export class PReLU extends Module {
  /** The slopes, of shape [numParameters]. */
  weight: Parameter;

  constructor(options?: PReLUOptions) {
    super();
    const form = 'new PReLU({ numParameters: 16, init: 0.25 })';
    checkArity('PReLU', arguments, 1, form);
    const {
      numParameters = 1,
      init = 0.25,
      dtype,
    } = checkOptions('PReLU', options, ['numParameters', 'init', 'dtype'], form);
    checkInteger('PReLU', 'numParameters', numParameters);
    checkNumber('PReLU', 'init', init);
    this.weight = parameter([numParameters], floatDType('PReLU', dtype), (t) => constant_(t, init));
  }
  forward(x: Tensor): Tensor {
    checkInput('PReLU', x);
    return prelu(x, this.weight);
  }
  protected override extraRepr(): string {
    return `numParameters=${this.weight.size}`;
  }
}
