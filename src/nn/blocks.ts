import { checkArity, checkOptions } from '../errors.js';
import { concat } from '../ops/movement.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { Conv2d } from './conv.js';
import { constant_ } from './init.js';
import { Linear } from './layers.js';
import { checkInput, checkInteger, checkNumber, floatDType, Module } from './module.js';
import { BatchNorm2d } from './normalization.js';
import { Sequential } from './sequential.js';

/** Building blocks with shorter paths from input to output: residual, highway and dense connections. */

export interface BlockOptions {
  /** dtype of the parameters and running statistics (float64 for gradient checks). */
  dtype?: DType;
}

export interface ResidualBlockOptions extends BlockOptions {
  /** Stride of the first 3×3 convolution (and of the projection shortcut): 2 halves the image. */
  stride?: number;
}

/**
 * The basic residual block of He et al. (2016), named as torchvision's BasicBlock so that weights move
 * to and from PyTorch (`conv1`, `bn1`, `conv2`, `bn2`, `downsample.0`, `downsample.1`):
 *
 *     y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))
 *
 * Both convolutions are 3×3 with padding 1 and no bias (batch norm follows them). The shortcut is the
 * identity when the shapes match; when the stride is not 1 or the channels change it is a projection,
 * a 1×1 convolution with that stride followed by batch norm (`downsample`, else null).
 *
 *     const block = new ResidualBlock(16, 32, { stride: 2 }); // [N, 16, 28, 28] -> [N, 32, 14, 14]
 */
export class ResidualBlock extends Module {
  conv1: Conv2d;
  bn1: BatchNorm2d;
  conv2: Conv2d;
  bn2: BatchNorm2d;
  downsample: Sequential | null;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly stride: number;

  constructor(inChannels: number, outChannels: number, options?: ResidualBlockOptions) {
    super();
    const form = 'new ResidualBlock(16, 32, { stride: 2 })';
    checkArity('ResidualBlock', arguments, 3, form);
    const { stride = 1, dtype } = checkOptions('ResidualBlock', options, ['stride', 'dtype'], form);
    checkInteger('ResidualBlock', 'inChannels', inChannels);
    checkInteger('ResidualBlock', 'outChannels', outChannels);
    checkInteger('ResidualBlock', 'stride', stride);
    const type = floatDType('ResidualBlock', dtype);
    this.conv1 = new Conv2d(inChannels, outChannels, 3, { stride, padding: 1, bias: false });
    this.bn1 = new BatchNorm2d(outChannels);
    this.conv2 = new Conv2d(outChannels, outChannels, 3, { padding: 1, bias: false });
    this.bn2 = new BatchNorm2d(outChannels);
    this.downsample =
      stride !== 1 || inChannels !== outChannels
        ? new Sequential(
            new Conv2d(inChannels, outChannels, 1, { stride, bias: false }),
            new BatchNorm2d(outChannels),
          )
        : null;
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.stride = stride;
    // The layers initialise in float32, as every layer does, then widen.
    if (type !== 'float32') this.to(type);
  }

  forward(x: Tensor): Tensor {
    checkInput('ResidualBlock', x);
    const out = this.bn2.forward(this.conv2.forward(this.bn1.forward(this.conv1.forward(x)).relu()));
    const shortcut = this.downsample ? this.downsample.forward(x) : x;
    return out.add(shortcut).relu();
  }

  protected override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, stride=${this.stride}`;
  }
}

export interface HighwayOptions extends BlockOptions {
  /**
   * Initial bias of the transform gate T. Negative, so that T = sigmoid(bias) starts small and the
   * layer starts by carrying its input through (Srivastava et al. suggest -1 to -3).
   */
  gateBias?: number;
}

/**
 * A highway layer (Srivastava et al., 2015) on the last axis, of size `features`:
 *
 *     y = T(x)·H(x) + (1 - T(x))·x,   H(x) = relu(W_H x + b_H),   T(x) = sigmoid(W_T x + b_T)
 *
 * H is `hidden` and the transform gate T is `gate`, both Linear(features, features) with PyTorch's
 * default initialisation, except the gate's bias, which is `gateBias` (-2) everywhere.
 *
 *     const layer = new Highway(64); // [N, 64] -> [N, 64]
 */
export class Highway extends Module {
  hidden: Linear;
  gate: Linear;
  readonly features: number;

  constructor(features: number, options?: HighwayOptions) {
    super();
    const form = 'new Highway(64, { gateBias: -2 })';
    checkArity('Highway', arguments, 2, form);
    const { gateBias = -2, dtype } = checkOptions('Highway', options, ['gateBias', 'dtype'], form);
    checkInteger('Highway', 'features', features);
    checkNumber('Highway', 'gateBias', gateBias);
    this.hidden = new Linear(features, features, { dtype });
    this.gate = new Linear(features, features, { dtype });
    constant_(this.gate.bias!, gateBias);
    this.features = features;
  }

  forward(x: Tensor): Tensor {
    checkInput('Highway', x);
    // Fused unless hooks on hidden must see its own output.
    const h = this.hidden.hasForwardHooks()
      ? this.hidden.forward(x).relu()
      : this.hidden.forwardWith(x, 'relu');
    const t = this.gate.forward(x).sigmoid();
    // The paper's form rather than x + t·(h - x): it gives exactly x where T = 0 and exactly H where T = 1.
    return t.mul(h).add(t.neg().add(1).mul(x));
  }

  protected override extraRepr(): string {
    return `${this.features}`;
  }
}

/**
 * One layer of a dense block: batch norm, ReLU, then a 3×3 convolution (padding 1, no bias) from
 * `inChannels` to `growthRate` channels. Its parts are `norm` and `conv`.
 */
export class DenseLayer extends Module {
  norm: BatchNorm2d;
  conv: Conv2d;

  constructor(inChannels: number, growthRate: number, options?: BlockOptions) {
    super();
    const form = 'new DenseLayer(inChannels, growthRate, { dtype })';
    checkArity('DenseLayer', arguments, 3, form);
    const { dtype } = checkOptions('DenseLayer', options, ['dtype'], form);
    checkInteger('DenseLayer', 'inChannels', inChannels);
    checkInteger('DenseLayer', 'growthRate', growthRate);
    const type = floatDType('DenseLayer', dtype);
    this.norm = new BatchNorm2d(inChannels, { dtype: type });
    this.conv = new Conv2d(inChannels, growthRate, 3, { padding: 1, bias: false });
    if (type !== 'float32') this.to(type);
  }

  forward(x: Tensor): Tensor {
    checkInput('DenseLayer', x);
    return this.conv.forward(this.norm.forward(x).relu());
  }
}

/**
 * A dense block (Huang et al., 2017): `numLayers` DenseLayers, the l-th of which sees the block's input
 * concatenated (along the channel axis 1) with the outputs of all the layers before it,
 *
 *     x_l = H_l([x_0, x_1, ..., x_{l-1}]),   output = [x_0, x_1, ..., x_L]
 *
 * so layer l has inChannels + l·growthRate input channels, and the block returns
 * `outChannels` = inChannels + numLayers·growthRate channels, the first inChannels being its input.
 * The spatial size is kept. Layers are named `layers.0`, `layers.1`, ...
 *
 *     const block = new DenseBlock(16, 4, 12); // [N, 16, H, W] -> [N, 64, H, W]
 */
export class DenseBlock extends Module {
  layers: DenseLayer[];
  readonly inChannels: number;
  readonly growthRate: number;
  readonly outChannels: number;

  constructor(inChannels: number, numLayers: number, growthRate: number, options?: BlockOptions) {
    super();
    const form = 'new DenseBlock(inChannels, numLayers, growthRate, { dtype })';
    checkArity('DenseBlock', arguments, 4, form);
    const { dtype } = checkOptions('DenseBlock', options, ['dtype'], form);
    checkInteger('DenseBlock', 'inChannels', inChannels);
    checkInteger('DenseBlock', 'numLayers', numLayers);
    checkInteger('DenseBlock', 'growthRate', growthRate);
    this.layers = Array.from(
      { length: numLayers },
      (_, l) => new DenseLayer(inChannels + l * growthRate, growthRate, { dtype }),
    );
    this.inChannels = inChannels;
    this.growthRate = growthRate;
    this.outChannels = inChannels + numLayers * growthRate;
  }

  forward(x: Tensor): Tensor {
    checkInput('DenseBlock', x);
    // Appending each layer's output to the running concatenation gives [x_0, ..., x_l] in order.
    let features = x;
    for (const layer of this.layers) features = concat([features, layer.forward(features)], 1);
    return features;
  }

  protected override extraRepr(): string {
    return `${this.inChannels}, numLayers=${this.layers.length}, growthRate=${this.growthRate}`;
  }
}
