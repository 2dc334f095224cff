import { fail } from '../errors.js';
import { ResidualBlock } from '../nn/blocks.js';
import { AdaptiveAvgPool2d, Conv2d } from '../nn/conv.js';
import { kaimingNormal_ } from '../nn/init.js';
import { Linear } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { BatchNorm2d } from '../nn/normalization.js';
import { Sequential } from '../nn/sequential.js';
import type { Tensor } from '../tensor/tensor.js';

export interface ResNetOptions {
  /** Channels of the input images (1 for grey). */
  inChannels?: number;
  /** Channels of each stage; the first is also the stem's. Each stage after the first halves the image. */
  channels?: readonly number[];
  /** Residual blocks in each stage. */
  blocksPerStage?: number;
  numClasses?: number;
}

/**
 * A residual network of basic blocks (He et al., 2016), shaped like the paper's CIFAR networks (§4.2):
 *
 * ```text
 * conv 3×3 (no bias) → BN → ReLU → stage 1 → stage 2 → ... → global average pool → Linear
 * ```
 *
 * Stage i is `blocksPerStage` ResidualBlocks with `channels[i]` channels, the first of which has stride 2
 * (and a projection shortcut) in every stage but the first. Names are torchvision's ResNet's: `conv1`,
 * `bn1`, `layer1.0.conv1`, ..., `layer2.0.downsample.0`, ..., `fc`. Convolutions are initialised as
 * torchvision does, Kaiming-normal with fan_out and ReLU's gain; batch norms with γ = 1, β = 0; the
 * final Linear with PyTorch's default.
 *
 *     const net = new ResNet({ inChannels: 3, channels: [8, 16], blocksPerStage: 1, numClasses: 10 });
 *     net.forward(randn([2, 3, 32, 32])).shape // → [2, 10]
 *     net.namedParameters()[0]![0] // → 'conv1.weight'
 */
export class ResNet extends Module {
  conv1: Conv2d;
  bn1: BatchNorm2d;
  stages: Sequential[];
  avgpool: AdaptiveAvgPool2d;
  fc: Linear;

  constructor({
    inChannels = 1,
    channels = [16, 32, 64],
    blocksPerStage = 2,
    numClasses = 10,
  }: ResNetOptions = {}) {
    super();
    if (channels.length === 0 || channels.some((c) => !Number.isInteger(c) || c <= 0))
      fail('ResNet', `channels must be one or more positive integers, got [${channels.join(', ')}]`);
    if (!Number.isInteger(blocksPerStage) || blocksPerStage <= 0)
      fail('ResNet', `blocksPerStage must be a positive integer, got ${blocksPerStage}`);
    this.conv1 = new Conv2d(inChannels, channels[0]!, 3, { padding: 1, bias: false });
    this.bn1 = new BatchNorm2d(channels[0]!);
    this.stages = channels.map((c, i) => {
      const blocks = [new ResidualBlock(i === 0 ? c : channels[i - 1]!, c, { stride: i === 0 ? 1 : 2 })];
      for (let b = 1; b < blocksPerStage; b++) blocks.push(new ResidualBlock(c, c));
      return new Sequential(...blocks);
    });
    this.avgpool = new AdaptiveAvgPool2d(1);
    this.fc = new Linear(channels[channels.length - 1]!, numClasses);
    for (const m of this.modules())
      if (m instanceof Conv2d) kaimingNormal_(m.weight, { mode: 'fan_out', nonlinearity: 'relu' });
  }

  /** torchvision's names: the stages are `layer1`, `layer2`, ... rather than `stages.0`, `stages.1`, ... */
  override *namedChildren(): Generator<[string, Module]> {
    yield ['conv1', this.conv1];
    yield ['bn1', this.bn1];
    for (let i = 0; i < this.stages.length; i++) yield [`layer${i + 1}`, this.stages[i]!];
    yield ['avgpool', this.avgpool];
    yield ['fc', this.fc];
  }

  forward(x: Tensor): Tensor {
    let y = this.bn1.forward(this.conv1.forward(x)).relu();
    for (const stage of this.stages) y = stage.forward(y);
    return this.fc.forward(this.avgpool.forward(y).flatten(1));
  }
}

export interface ResnetMnistOptions {
  /** Channels of each stage (the stem has the first). */
  channels?: readonly number[];
  /** Residual blocks in each stage. */
  blocksPerStage?: number;
}

/**
 * A small ResNet for 28×28 grey images [N, 1, 28, 28] and 10 classes: a 3×3 stem, stages of residual
 * blocks at 28×28, 14×14 and 7×7 (by default), global average pooling and a Linear classifier. With the
 * defaults it has 174,970 parameters.
 *
 *     const { images } = data.loadMnist('test', { limit: 4 });
 *     resnetMnist({ blocksPerStage: 1 }).forward(images.reshape([-1, 1, 28, 28])).shape // → [4, 10]
 *     resnetMnist().numParameters() // → 174970
 */
export function resnetMnist({
  channels = [16, 32, 64],
  blocksPerStage = 2,
}: ResnetMnistOptions = {}): ResNet {
  return new ResNet({ inChannels: 1, channels, blocksPerStage, numClasses: 10 });
}
