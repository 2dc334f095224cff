import { fail, fmtShape } from '../errors.js';
import { type LinearActivation, linear } from '../ops/linalg.js';
import { zeros } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { kaimingUniform_, uniform_ } from './init.js';
import { Module, Parameter } from './module.js';

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
    { bias = true } = {},
  ) {
    super();
    for (const [name, v] of [
      ['inFeatures', inFeatures],
      ['outFeatures', outFeatures],
    ] as const) {
      if (!Number.isInteger(v) || v <= 0) fail('Linear', `${name} must be a positive integer, got ${v}`);
    }
    this.weight = new Parameter(kaimingUniform_(zeros([outFeatures, inFeatures]), { a: Math.sqrt(5) }));
    const bound = 1 / Math.sqrt(inFeatures);
    this.bias = bias ? new Parameter(uniform_(zeros([outFeatures]), -bound, bound)) : null;
  }

  forward(x: Tensor): Tensor {
    return this.forwardWith(x, 'none');
  }

  /** forward followed by an activation, fused into one op (Sequential uses it for Linear then ReLU). */
  forwardWith(x: Tensor, activation: LinearActivation): Tensor {
    if (x.rank < 1 || x.shape[x.rank - 1] !== this.inFeatures) {
      fail('Linear', `expected input with last axis ${this.inFeatures}, got shape ${fmtShape(x.shape)}`);
    }
    return linear(x, this.weight, this.bias, activation);
  }

  protected override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

/** Returns its input. */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** Merges axes start..end (by default everything but the batch axis). */
export class Flatten extends Module {
  constructor(
    readonly startAxis = 1,
    readonly endAxis = -1,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return x.flatten(this.startAxis, this.endAxis);
  }
}
