import { fail } from '../errors.js';
import {
  adaptiveAvgPool2d,
  avgPoolNd,
  type ConvNdOptions,
  convNd,
  convTranspose2d,
  maxPoolNd,
  type PoolOptions,
  type Size,
} from '../ops/conv.js';
import { zeros } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { kaimingUniform_, uniform_ } from './init.js';
import { Module, Parameter } from './module.js';

function sizes(v: Size, dims: number): number[] {
  return typeof v === 'number' ? new Array<number>(dims).fill(v) : [...v];
}

/**
 * PyTorch's default initialisation for convolutions, as for Linear: weight U(±1/sqrt(fan_in))
 * (Kaiming-uniform with a = sqrt(5)) and bias U(±1/sqrt(fan_in)).
 */
function initConv(weight: Parameter, fanIn: number, bias: boolean): Parameter | null {
  kaimingUniform_(weight, { a: Math.sqrt(5) });
  const bound = 1 / Math.sqrt(fanIn);
  return bias ? new Parameter(uniform_(zeros([weight.shape[0]!]), -bound, bound)) : null;
}

export interface ConvLayerOptions extends ConvNdOptions {
  bias?: boolean;
}

/** Convolution over `dims` spatial axes: weight [out, in/groups, ...kernel], bias [out]. */
export class ConvNd extends Module {
  weight: Parameter;
  bias: Parameter | null;

  constructor(
    private readonly dims: number,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: Size,
    readonly options: ConvLayerOptions = {},
  ) {
    super();
    const groups = options.groups ?? 1;
    const name = this.constructor.name;
    for (const [what, v] of [
      ['inChannels', inChannels],
      ['outChannels', outChannels],
      ['groups', groups],
    ] as const) {
      if (!Number.isInteger(v) || v <= 0) fail(name, `${what} must be a positive integer, got ${v}`);
    }
    if (inChannels % groups !== 0 || outChannels % groups !== 0) {
      fail(name, `groups ${groups} must divide inChannels ${inChannels} and outChannels ${outChannels}`);
    }
    const k = sizes(kernelSize, dims);
    if (k.length !== dims || k.some((v) => !Number.isInteger(v) || v < 1)) {
      fail(
        name,
        `kernelSize must be a positive integer or ${dims} of them, got ${JSON.stringify(kernelSize)}`,
      );
    }
    this.weight = new Parameter(zeros([outChannels, inChannels / groups, ...k]));
    this.bias = initConv(
      this.weight,
      (inChannels / groups) * k.reduce((a, b) => a * b, 1),
      options.bias ?? true,
    );
  }

  forward(x: Tensor): Tensor {
    return this.forwardWith(x, 'none');
  }

  /** forward followed by an activation, fused into one op (Sequential uses it for a convolution then ReLU). */
  forwardWith(x: Tensor, activation: 'none' | 'relu'): Tensor {
    const { bias: _, ...o } = this.options;
    return convNd(this.constructor.name, x, this.weight, this.bias, this.dims, o, activation);
  }

  protected override extraRepr(): string {
    const o = this.options;
    return `${this.inChannels}, ${this.outChannels}, kernelSize=${JSON.stringify(this.kernelSize)}${o.stride ? `, stride=${JSON.stringify(o.stride)}` : ''}${o.padding ? `, padding=${JSON.stringify(o.padding)}` : ''}${o.groups ? `, groups=${o.groups}` : ''}`;
  }
}

export class Conv1d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: Size, options?: ConvLayerOptions) {
    super(1, inChannels, outChannels, kernelSize, options);
  }
}

export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: Size, options?: ConvLayerOptions) {
    super(2, inChannels, outChannels, kernelSize, options);
  }
}

export class Conv3d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: Size, options?: ConvLayerOptions) {
    super(3, inChannels, outChannels, kernelSize, options);
  }
}

/** The transpose of Conv2d (a "deconvolution"): weight [in, out/groups, kh, kw], bias [out]. */
export class ConvTranspose2d extends Module {
  weight: Parameter;
  bias: Parameter | null;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: Size,
    readonly options: ConvLayerOptions & { outputPadding?: Size } = {},
  ) {
    super();
    const groups = options.groups ?? 1;
    if (
      ![inChannels, outChannels, groups].every((v) => Number.isInteger(v) && v > 0) ||
      inChannels % groups ||
      outChannels % groups
    ) {
      fail(
        'ConvTranspose2d',
        `channels ${inChannels} → ${outChannels} and groups ${groups} must be positive integers with groups dividing both`,
      );
    }
    const k = sizes(kernelSize, 2);
    this.weight = new Parameter(zeros([inChannels, outChannels / groups, ...k]));
    // PyTorch computes fan_in from weight.shape[1] here, i.e. out/groups · kernel.
    this.bias = initConv(this.weight, (outChannels / groups) * k[0]! * k[1]!, options.bias ?? true);
  }

  forward(x: Tensor): Tensor {
    const { bias: _, padding, ...o } = this.options;
    if (padding === 'same' || padding === 'valid')
      fail('ConvTranspose2d', `padding '${padding}' is not supported`);
    return convTranspose2d(x, this.weight, this.bias, { ...o, padding });
  }
}

/** Max pooling over 1, 2 or 3 spatial axes; the stride defaults to the kernel size. */
class MaxPoolNd extends Module {
  constructor(
    private readonly dims: number,
    readonly kernelSize: Size,
    readonly options: PoolOptions = {},
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return maxPoolNd(this.constructor.name, x, this.dims, this.kernelSize, this.options);
  }
}

export class MaxPool1d extends MaxPoolNd {
  constructor(kernelSize: Size, options?: PoolOptions) {
    super(1, kernelSize, options);
  }
}
export class MaxPool2d extends MaxPoolNd {
  constructor(kernelSize: Size, options?: PoolOptions) {
    super(2, kernelSize, options);
  }
}
export class MaxPool3d extends MaxPoolNd {
  constructor(kernelSize: Size, options?: PoolOptions) {
    super(3, kernelSize, options);
  }
}

/** Average pooling over 1, 2 or 3 spatial axes; padding counts as zeros, as in PyTorch. */
class AvgPoolNd extends Module {
  constructor(
    private readonly dims: number,
    readonly kernelSize: Size,
    readonly options: Omit<PoolOptions, 'dilation'> = {},
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return avgPoolNd(this.constructor.name, x, this.dims, this.kernelSize, this.options);
  }
}

export class AvgPool1d extends AvgPoolNd {
  constructor(kernelSize: Size, options?: Omit<PoolOptions, 'dilation'>) {
    super(1, kernelSize, options);
  }
}
export class AvgPool2d extends AvgPoolNd {
  constructor(kernelSize: Size, options?: Omit<PoolOptions, 'dilation'>) {
    super(2, kernelSize, options);
  }
}
export class AvgPool3d extends AvgPoolNd {
  constructor(kernelSize: Size, options?: Omit<PoolOptions, 'dilation'>) {
    super(3, kernelSize, options);
  }
}

/** Averages into a fixed output size whatever the input size; AdaptiveAvgPool2d(1) is global average pooling. */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: Size) {
    super();
  }
  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }
}
