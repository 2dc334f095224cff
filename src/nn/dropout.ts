import { checkArity, checkOptions, describe, fail, fmtShape } from '../errors.js';
import { requireFloat } from '../ops/op.js';
import { bernoulli } from '../tensor/creation.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import type { Shape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkInput, Module } from './module.js';

function checkP(op: string, p: number): void {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1))
    fail(op, `dropout probability p must be in [0, 1], got ${describe(p)}`);
}

/**
 * x · mask / (1 - p) with mask ~ Bernoulli(1 - p) of maskShape (broadcast over x). Identity outside
 * training and for p = 0 (drawing nothing); zeros for p = 1 (x · 0, as PyTorch).
 */
function masked(
  op: string,
  x: Tensor,
  p: number,
  training: boolean,
  maskShape: Shape,
  generator: Generator | undefined,
): Tensor {
  checkInput(op, x);
  checkP(op, p);
  if (typeof training !== 'boolean') fail(op, `training must be a boolean, got ${describe(training)}`);
  if (!training || p === 0) return x;
  requireFloat(op, x);
  if (p === 1) return x.mul(0);
  const keep = bernoulli(maskShape, 1 - p, { dtype: x.dtype, generator: generator ?? defaultGenerator });
  return x.mul(keep.mul(1 / (1 - p)));
}

/**
 * Inverted dropout (Srivastava et al., 2014): in training each element is zeroed with probability p
 * and the survivors scaled by 1 / (1 - p), so that E[y] = x and evaluation needs no rescaling. The mask
 * comes from `generator` (the seeded default generator unless given), so a seed fixes it.
 *
 *     const h = dropout(x, 0.5, model.training);
 */
export function dropout(x: Tensor, p = 0.5, training = true, generator?: Generator): Tensor {
  checkArity('dropout', arguments, 4, 'dropout(x, p, training, generator)');
  return masked('dropout', x, p, training, x.shape, generator);
}

function channelMaskShape(op: string, x: Tensor): number[] {
  if (x.rank !== 3 && x.rank !== 4)
    fail(op, `expected input of shape [N, C, H, W] or [N, C, L], got ${fmtShape(x.shape)}`);
  return x.shape.map((d, i) => (i < 2 ? d : 1));
}

/**
 * Channel dropout (Tompson et al., 2015): zeroes whole channels of [N, C, H, W] (or [N, C, L]), each
 * with probability p, scaling the rest by 1 / (1 - p). Neighbouring pixels are correlated, so dropping
 * single ones regularises little; dropping feature maps does.
 */
export function dropout2d(x: Tensor, p = 0.5, training = true, generator?: Generator): Tensor {
  checkArity('dropout2d', arguments, 4, 'dropout2d(x, p, training, generator)');
  checkInput('dropout2d', x);
  return masked('dropout2d', x, p, training, channelMaskShape('dropout2d', x), generator);
}

export interface DropoutOptions {
  /** The generator masks are drawn from; the global `defaultGenerator` unless given. */
  generator?: Generator;
}

/** Inverted dropout of single elements with probability p (default 0.5); identity in eval mode. */
export class Dropout extends Module {
  readonly generator: Generator;

  constructor(
    readonly p = 0.5,
    options?: DropoutOptions,
  ) {
    super();
    const form = 'new Dropout(0.5, { generator })';
    checkArity('Dropout', arguments, 2, form);
    const { generator = defaultGenerator } = checkOptions('Dropout', options, ['generator'], form);
    checkP('Dropout', p);
    this.generator = generator;
  }

  forward(x: Tensor): Tensor {
    return masked('Dropout', x, this.p, this.training, x.shape, this.generator);
  }

  protected override extraRepr(): string {
    return `p=${this.p}`;
  }
}

/** Dropout of whole channels of [N, C, H, W] (or [N, C, L]) with probability p; identity in eval mode. */
export class Dropout2d extends Module {
  readonly generator: Generator;

  constructor(
    readonly p = 0.5,
    options?: DropoutOptions,
  ) {
    super();
    const form = 'new Dropout2d(0.5, { generator })';
    checkArity('Dropout2d', arguments, 2, form);
    const { generator = defaultGenerator } = checkOptions('Dropout2d', options, ['generator'], form);
    checkP('Dropout2d', p);
    this.generator = generator;
  }

  forward(x: Tensor): Tensor {
    checkInput('Dropout2d', x);
    return masked('Dropout2d', x, this.p, this.training, channelMaskShape('Dropout2d', x), this.generator);
  }

  protected override extraRepr(): string {
    return `p=${this.p}`;
  }
}
