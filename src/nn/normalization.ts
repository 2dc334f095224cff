import { noGrad } from '../autograd/mode.js';
import { checkArity, checkOptions, describe, fail, fmtShape } from '../errors.js';
import { defineOp, requireFloat } from '../ops/op.js';
import { full, scalar } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { sameShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { constant_ } from './init.js';
import {
  checkInput,
  checkInteger,
  checkNumber,
  type FloatDType,
  floatDType,
  Module,
  type Parameter,
  parameter,
} from './module.js';

export interface BatchNormFunctionOptions {
  /** Per-channel scale γ, shape [C]. */
  weight?: Tensor | null;
  /** Per-channel shift β, shape [C]. */
  bias?: Tensor | null;
  /** Normalise with the batch's statistics (and update the running ones, if given). */
  training?: boolean;
  /** Weight of the batch's statistics in the running ones' update. */
  momentum?: number;
  eps?: number;
}

/** The axes statistics are taken over (all but the channel axis 1) and the [1, C, 1, ...] shape they keep. */
function channelStats(x: Tensor): { axes: number[]; statShape: number[]; count: number } {
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  return {
    axes,
    statShape: x.shape.map((d, i) => (i === 1 ? d : 1)),
    count: axes.reduce((n, a) => n * x.shape[a]!, 1),
  };
}

/**
 * Batch normalisation (Ioffe & Szegedy, 2015) over axis 1 of [N, C, ...], as PyTorch's
 * `F.batch_norm`:
 *
 *     y = (x - μ) / sqrt(σ² + eps) · γ + β
 *
 * In training μ and σ² are the batch's mean and biased variance per channel (over N and the spatial
 * axes), differentiated through; if running statistics are given they are updated in place, off the
 * tape, with the unbiased variance: running = (1 - momentum)·running + momentum·batch. Outside training
 * the running statistics are used, as constants.
 *
 *     batchNorm(x, runningMean, runningVar, { weight, bias, training: true })
 */
/** The batch statistics normalizeOp computed, handed back for the running averages. */
interface BatchStats {
  mean?: Tensor;
  variance?: Tensor;
}

/**
 * x̂ = (x − mean) / sqrt(var + eps) over `axes` with the batch's own (biased) statistics, as one op whose
 * gradient is the closed form dx = (g − mean(g) − x̂·mean(g·x̂)) / sqrt(var + eps): a handful of passes
 * instead of differentiating through mean, variance, square root and division one by one.
 */
declare module '../ops/registry.js' {
  interface OpRegistry {
    batchNormalize: { axes: number[]; eps: number; stats: BatchStats };
  }
}

const normalizeOp = defineOp({
  name: 'batchNormalize',
  forward: ([x], { axes, eps, stats }) => {
    const mean = x!.mean(axes, true);
    const centred = x!.sub(mean);
    const variance = centred.square().mean(axes, true);
    stats.mean = mean;
    stats.variance = variance;
    return centred.div(variance.add(eps).sqrt());
  },
  vjp: (g, { inputs: [x], output: xhat, attrs: { axes, eps } }) => {
    const std = x!.sub(x!.mean(axes, true)).square().mean(axes, true).add(eps).sqrt();
    return [
      g
        .sub(g.mean(axes, true))
        .sub(xhat.mul(g.mul(xhat).mean(axes, true)))
        .div(std),
    ];
  },
});

export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  options?: BatchNormFunctionOptions,
): Tensor {
  const form = 'batchNorm(x, runningMean, runningVar, { weight, bias, training: true })';
  checkArity('batchNorm', arguments, 4, form);
  const {
    weight = null,
    bias = null,
    training = false,
    momentum = 0.1,
    eps = 1e-5,
  } = checkOptions('batchNorm', options, ['weight', 'bias', 'training', 'momentum', 'eps'], form);
  checkInput('batchNorm', x);
  requireFloat('batchNorm', x);
  checkNumber('batchNorm', 'eps', eps, 0);
  checkNumber('batchNorm', 'momentum', momentum, 0, 1);
  if (x.rank < 2) fail('batchNorm', `expected input of shape [N, C, ...], got ${fmtShape(x.shape)}`);
  const channels = x.shape[1]!;
  for (const [name, t] of [
    ['running_mean', runningMean],
    ['running_var', runningVar],
    ['weight', weight],
    ['bias', bias],
  ] as const) {
    if (t && !sameShape(t.shape, [channels])) {
      fail(
        'batchNorm',
        `${name} has shape ${fmtShape(t.shape)} but the input ${fmtShape(x.shape)} has ${channels} channels (expected [${channels}])`,
      );
    }
  }
  const { axes, statShape, count } = channelStats(x);
  let y: Tensor;
  if (training) {
    if (count <= 1) {
      fail(
        'batchNorm',
        `expected more than 1 value per channel when training, got input of shape ${fmtShape(x.shape)}`,
      );
    }
    const stats: BatchStats = {};
    y = normalizeOp([x], { axes, eps, stats });
    const { mean, variance } = stats as Required<BatchStats>;
    if (runningMean && runningVar) {
      noGrad(() => {
        runningMean.copy_(runningMean.mul(1 - momentum).add(mean.reshape([channels]).mul(momentum)));
        // The running variance estimates the population's, so it takes Bessel's correction n / (n - 1).
        const unbiased = variance.reshape([channels]).mul(count / (count - 1));
        runningVar.copy_(runningVar.mul(1 - momentum).add(unbiased.mul(momentum)));
      });
    }
  } else {
    if (!runningMean || !runningVar) {
      fail('batchNorm', 'running_mean and running_var are needed outside training (or pass training: true)');
    }
    y = x.sub(runningMean.reshape(statShape)).div(runningVar.reshape(statShape).add(eps).sqrt());
  }
  if (weight) y = y.mul(weight.reshape(statShape));
  if (bias) y = y.add(bias.reshape(statShape));
  return y;
}

export interface BatchNormOptions {
  /** Added to the variance before the square root, for stability. */
  eps?: number;
  /** Weight of each batch in the running statistics; null for a cumulative (equal-weight) average. */
  momentum?: number | null;
  /** Learn a per-channel scale `weight` (ones) and shift `bias` (zeros). */
  affine?: boolean;
  /** Keep running statistics for evaluation; without them, batch statistics are used in eval too. */
  trackRunningStats?: boolean;
  /** dtype of the parameters and running statistics (float64 for gradient checks). */
  dtype?: DType;
}

const LAYOUTS: Record<number, string> = {
  2: '[N, C]',
  3: '[N, C, L]',
  4: '[N, C, H, W]',
  5: '[N, C, D, H, W]',
};

/** The message for an input of the wrong rank, listing the layouts a layer takes with its channel count. */
function layoutMismatch(name: string, ranks: readonly number[], c: number, x: Tensor): never {
  const layouts = ranks.map((r) => LAYOUTS[r]!.replace('C', String(c))).join(' or ');
  return fail(name, `expected input of shape ${layouts}, got ${fmtShape(x.shape)} (rank ${x.rank})`);
}

/** The options of the batch and instance norms, checked, with a layer's own defaults filled in. */
function normOptions(
  name: string,
  numFeatures: number,
  options: BatchNormOptions | undefined,
  defaults: { affine: boolean; trackRunningStats: boolean; nullMomentum: boolean },
): { eps: number; momentum: number | null; affine: boolean; trackRunningStats: boolean; dtype: FloatDType } {
  const form = `new ${name}(${describe(numFeatures)}, { eps: 1e-5, momentum: 0.1, affine: ${defaults.affine} })`;
  const {
    eps = 1e-5,
    momentum = 0.1,
    affine = defaults.affine,
    trackRunningStats = defaults.trackRunningStats,
    dtype,
  } = checkOptions(name, options, ['eps', 'momentum', 'affine', 'trackRunningStats', 'dtype'], form);
  checkInteger(name, 'numFeatures', numFeatures);
  checkNumber(name, 'eps', eps, 0);
  if (!(momentum === null && defaults.nullMomentum)) checkNumber(name, 'momentum', momentum, 0, 1);
  for (const [key, v] of [
    ['affine', affine],
    ['trackRunningStats', trackRunningStats],
  ] as const) {
    if (typeof v !== 'boolean') fail(name, `${key} must be a boolean, got ${describe(v)}`);
  }
  return { eps, momentum, affine, trackRunningStats, dtype: floatDType(name, dtype) };
}

/** Registers running_mean, running_var and num_batches_tracked, PyTorch's buffers, in their order. */
function registerRunningStats(m: Module, numFeatures: number, dtype: FloatDType): void {
  m.registerBuffer('running_mean', full([numFeatures], 0, { dtype }));
  m.registerBuffer('running_var', full([numFeatures], 1, { dtype }));
  m.registerBuffer('num_batches_tracked', scalar(0, 'int32'));
}

/**
 * The state the batch and instance norms share (PyTorch's `_NormBase`): the checked options, the
 * affine parameters `weight` (ones) and `bias` (zeros) of shape [C] when `affine`, and the running
 * statistics' buffers when `trackRunningStats`, in PyTorch's order.
 */
abstract class NormBase extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;

  protected constructor(
    readonly numFeatures: number,
    options: BatchNormOptions | undefined,
    defaults: { affine: boolean; trackRunningStats: boolean; nullMomentum: boolean },
  ) {
    super();
    const { eps, momentum, affine, trackRunningStats, dtype } = normOptions(
      this.constructor.name,
      numFeatures,
      options,
      defaults,
    );
    this.eps = eps;
    this.momentum = momentum;
    this.affine = affine;
    this.trackRunningStats = trackRunningStats;
    this.weight = affine ? parameter([numFeatures], dtype, (t) => constant_(t, 1)) : null;
    this.bias = affine ? parameter([numFeatures], dtype) : null;
    if (trackRunningStats) registerRunningStats(this, numFeatures, dtype);
  }
}

/**
 * The shared body of BatchNorm1d, 2d and 3d (PyTorch's `_BatchNorm`). Parameters `weight` and
 * `bias`, buffers `running_mean`, `running_var` and `num_batches_tracked`, named as in PyTorch so that
 * state dicts move both ways; `num_batches_tracked` is stored as int32 (PyTorch's is int64).
 *
 * In training mode the batch statistics normalise the input and update the running ones (once per
 * forward call); in eval mode the running statistics are used.
 */
export abstract class BatchNorm extends NormBase {
  protected constructor(
    numFeatures: number,
    private readonly ranks: readonly number[],
    options: BatchNormOptions | undefined,
  ) {
    super(numFeatures, options, { affine: true, trackRunningStats: true, nullMomentum: true });
  }

  /** The running mean per channel (the `running_mean` buffer), or null without running statistics. */
  get runningMean(): Tensor | null {
    return this.trackRunningStats ? this.getBuffer('running_mean') : null;
  }

  /** The running unbiased variance per channel (the `running_var` buffer), or null. */
  get runningVar(): Tensor | null {
    return this.trackRunningStats ? this.getBuffer('running_var') : null;
  }

  /** Training batches seen (the int32 0-d `num_batches_tracked` buffer), or null. */
  get numBatchesTracked(): Tensor | null {
    return this.trackRunningStats ? this.getBuffer('num_batches_tracked') : null;
  }

  forward(x: Tensor): Tensor {
    const name = this.constructor.name;
    const c = this.numFeatures;
    checkInput(name, x);
    if (!this.ranks.includes(x.rank)) layoutMismatch(name, this.ranks, c, x);
    if (x.shape[1] !== c)
      fail(name, `expected ${c} channels on axis 1, got input of shape ${fmtShape(x.shape)}`);
    const count = x.size / c;
    if (this.training && count <= 1) {
      fail(
        name,
        `expected more than 1 value per channel when training, got input of shape ${fmtShape(x.shape)}`,
      );
    }
    let momentum = 0;
    const track = this.training && this.trackRunningStats;
    if (track) {
      const seen = this.getBuffer('num_batches_tracked');
      noGrad(() => seen.copy_(seen.add(1)));
      momentum = this.momentum ?? 1 / seen.item(); // null: the k-th batch gets weight 1/k
    }
    return batchNorm(x, this.runningMean, this.runningVar, {
      weight: this.weight,
      bias: this.bias,
      // Without running statistics the batch's are used in eval mode too, as in PyTorch.
      training: this.training || !this.trackRunningStats,
      momentum,
      eps: this.eps,
    });
  }

  protected override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, trackRunningStats=${this.trackRunningStats}`;
  }
}

/**
 * Batch normalisation of [N, C] (features) or [N, C, L] (sequences), statistics per channel C over N
 * (and L). PyTorch's defaults: eps 1e-5, momentum 0.1, affine, running statistics tracked.
 *
 *     const bn = new BatchNorm1d(64);
 *     const y = bn.forward(x); // x: [32, 64]
 */
export class BatchNorm1d extends BatchNorm {
  constructor(numFeatures: number, options?: BatchNormOptions) {
    super(numFeatures, [2, 3], options);
    checkArity('BatchNorm1d', arguments, 2, 'new BatchNorm1d(numFeatures, { eps, momentum, affine })');
  }
}

/** Batch normalisation of images [N, C, H, W], statistics per channel C over N, H and W. */
export class BatchNorm2d extends BatchNorm {
  constructor(numFeatures: number, options?: BatchNormOptions) {
    super(numFeatures, [4], options);
    checkArity('BatchNorm2d', arguments, 2, 'new BatchNorm2d(numFeatures, { eps, momentum, affine })');
  }
}

/** Batch normalisation of volumes [N, C, D, H, W], statistics per channel C over N, D, H and W. */
export class BatchNorm3d extends BatchNorm {
  constructor(numFeatures: number, options?: BatchNormOptions) {
    super(numFeatures, [5], options);
    checkArity('BatchNorm3d', arguments, 2, 'new BatchNorm3d(numFeatures, { eps, momentum, affine })');
  }
}

export interface LayerNormFunctionOptions {
  /** Elementwise scale, of the normalised shape. */
  weight?: Tensor | null;
  /** Elementwise shift, of the normalised shape. */
  bias?: Tensor | null;
  eps?: number;
}

function checkTrailing(op: string, x: Tensor, normalizedShape: readonly number[]): void {
  const k = normalizedShape.length;
  if (x.rank < k || !sameShape(x.shape.slice(x.rank - k), normalizedShape)) {
    fail(
      op,
      `expected input whose last axes are ${fmtShape(normalizedShape)}, got shape ${fmtShape(x.shape)}`,
    );
  }
}

/**
 * Layer normalisation (Ba, Kiros & Hinton, 2016) over the last axes, which must equal
 * `normalizedShape`, as PyTorch's `F.layer_norm`: y = (x - μ) / sqrt(σ² + eps) · γ + β with μ and the
 * biased σ² taken per sample over those axes. The same in training and evaluation.
 *
 *     layerNorm(x, [512], { weight, bias }) // x: [batch, time, 512]
 */
export function layerNorm(
  x: Tensor,
  normalizedShape: readonly number[],
  options?: LayerNormFunctionOptions,
): Tensor {
  const form = 'layerNorm(x, normalizedShape, { weight, bias, eps })';
  checkArity('layerNorm', arguments, 3, form);
  const {
    weight = null,
    bias = null,
    eps = 1e-5,
  } = checkOptions('layerNorm', options, ['weight', 'bias', 'eps'], form);
  checkInput('layerNorm', x);
  requireFloat('layerNorm', x);
  checkNumber('layerNorm', 'eps', eps, 0);
  checkTrailing('layerNorm', x, normalizedShape);
  for (const [name, t] of [
    ['weight', weight],
    ['bias', bias],
  ] as const) {
    if (t && !sameShape(t.shape, normalizedShape)) {
      fail(
        'layerNorm',
        `${name} has shape ${fmtShape(t.shape)}, expected the normalised shape ${fmtShape(normalizedShape)}`,
      );
    }
  }
  const axes = normalizedShape.map((_, i) => x.rank - normalizedShape.length + i);
  const centred = x.sub(x.mean(axes, true));
  let y = centred.div(centred.square().mean(axes, true).add(eps).sqrt());
  if (weight) y = y.mul(weight);
  if (bias) y = y.add(bias);
  return y;
}

export interface LayerNormOptions {
  eps?: number;
  /** Learn an elementwise scale `weight` (ones) and shift `bias` (zeros) of the normalised shape. */
  elementwiseAffine?: boolean;
  /** With elementwiseAffine, whether to learn the shift too (PyTorch's `bias`). */
  bias?: boolean;
  /** dtype of the parameters (float64 for gradient checks). */
  dtype?: DType;
}

/**
 * Layer normalisation over the trailing axes `normalizedShape` (a number means one axis), with
 * PyTorch's defaults: eps 1e-5, elementwise affine with bias.
 *
 *     const ln = new LayerNorm(512);
 *     const y = ln.forward(x); // x: [batch, time, 512]
 */
export class LayerNorm extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  readonly normalizedShape: readonly number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;

  constructor(normalizedShape: number | readonly number[], options?: LayerNormOptions) {
    super();
    const form = 'new LayerNorm(512, { eps: 1e-5, elementwiseAffine: true })';
    checkArity('LayerNorm', arguments, 2, form);
    const {
      eps = 1e-5,
      elementwiseAffine = true,
      bias = true,
      dtype,
    } = checkOptions('LayerNorm', options, ['eps', 'elementwiseAffine', 'bias', 'dtype'], form);
    const shape =
      typeof normalizedShape === 'number'
        ? [normalizedShape]
        : Array.isArray(normalizedShape)
          ? [...normalizedShape]
          : [];
    if (shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d <= 0))
      fail(
        'LayerNorm',
        `normalizedShape must be a positive integer or a list of them, got ${describe(normalizedShape)}`,
      );
    checkNumber('LayerNorm', 'eps', eps, 0);
    const type = floatDType('LayerNorm', dtype);
    this.normalizedShape = shape;
    this.eps = eps;
    this.elementwiseAffine = elementwiseAffine;
    this.weight = elementwiseAffine ? parameter(shape, type, (t) => constant_(t, 1)) : null;
    this.bias = elementwiseAffine && bias ? parameter(shape, type) : null;
  }

  forward(x: Tensor): Tensor {
    checkInput('LayerNorm', x);
    checkTrailing('LayerNorm', x, this.normalizedShape);
    return layerNorm(x, this.normalizedShape, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  protected override extraRepr(): string {
    return `${fmtShape(this.normalizedShape)}, eps=${this.eps}, elementwiseAffine=${this.elementwiseAffine}`;
  }
}

export interface GroupNormFunctionOptions {
  /** Per-channel scale, shape [C]. */
  weight?: Tensor | null;
  /** Per-channel shift, shape [C]. */
  bias?: Tensor | null;
  eps?: number;
}

/** Checks that per-channel tensors have shape [C]. */
function checkPerChannel(op: string, x: Tensor, tensors: readonly [string, Tensor | null][]): void {
  const c = x.shape[1]!;
  for (const [name, t] of tensors) {
    if (t && !sameShape(t.shape, [c]))
      fail(
        op,
        `${name} has shape ${fmtShape(t.shape)} but the input ${fmtShape(x.shape)} has ${c} channels (expected [${c}])`,
      );
  }
}

/** Applies a per-channel scale and shift to [N, C, ...]. */
function affineChannels(y: Tensor, weight: Tensor | null, bias: Tensor | null): Tensor {
  const statShape = y.shape.map((d, i) => (i === 1 ? d : 1));
  if (weight) y = y.mul(weight.reshape(statShape));
  if (bias) y = y.add(bias.reshape(statShape));
  return y;
}

/**
 * Group normalisation (Wu & He, 2018), as PyTorch's `F.group_norm`: the C channels of [N, C, ...] are
 * split into `numGroups` groups of consecutive channels, and each sample's group is normalised with its
 * own mean and biased variance (over the group's channels and all spatial positions), then scaled and
 * shifted per channel. It does not depend on the batch, so it is the same in training and evaluation.
 *
 *     groupNorm(x, 4, { weight, bias }) // x: [N, 32, H, W], 8 channels per group
 */
export function groupNorm(x: Tensor, numGroups: number, options?: GroupNormFunctionOptions): Tensor {
  const form = 'groupNorm(x, numGroups, { weight, bias, eps })';
  checkArity('groupNorm', arguments, 3, form);
  const {
    weight = null,
    bias = null,
    eps = 1e-5,
  } = checkOptions('groupNorm', options, ['weight', 'bias', 'eps'], form);
  checkInput('groupNorm', x);
  requireFloat('groupNorm', x);
  checkNumber('groupNorm', 'eps', eps, 0);
  checkInteger('groupNorm', 'numGroups', numGroups);
  if (x.rank < 2) fail('groupNorm', `expected input of shape [N, C, ...], got ${fmtShape(x.shape)}`);
  const [n, c] = x.shape as [number, number];
  if (c % numGroups !== 0)
    fail(
      'groupNorm',
      `${c} channels (input ${fmtShape(x.shape)}) cannot be split into ${numGroups} equal groups`,
    );
  checkPerChannel('groupNorm', x, [
    ['weight', weight],
    ['bias', bias],
  ]);
  const grouped = x.reshape([n, numGroups, x.size / (n * numGroups)]);
  const y = normalizeOp([grouped], { axes: [2], eps, stats: {} }).reshape(x.shape);
  return affineChannels(y, weight, bias);
}

export interface GroupNormOptions {
  eps?: number;
  /** Learn a per-channel scale `weight` (ones) and shift `bias` (zeros). */
  affine?: boolean;
  /** dtype of the parameters (float64 for gradient checks). */
  dtype?: DType;
}

/**
 * Group normalisation of [N, C, ...] in `numGroups` groups of channels, with PyTorch's defaults (eps
 * 1e-5, affine) and parameter names (`weight`, `bias`, shape [C]).
 *
 *     const gn = new GroupNorm(4, 32); // [N, 32, H, W]
 */
export class GroupNorm extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  readonly eps: number;
  readonly affine: boolean;

  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    options?: GroupNormOptions,
  ) {
    super();
    const form = `new GroupNorm(${describe(numGroups)}, ${describe(numChannels)}, { eps: 1e-5, affine: true })`;
    checkArity('GroupNorm', arguments, 3, form);
    const {
      eps = 1e-5,
      affine = true,
      dtype,
    } = checkOptions('GroupNorm', options, ['eps', 'affine', 'dtype'], form);
    checkInteger('GroupNorm', 'numGroups', numGroups);
    checkInteger('GroupNorm', 'numChannels', numChannels);
    if (numChannels % numGroups !== 0)
      fail('GroupNorm', `numChannels ${numChannels} must be divisible by numGroups ${numGroups}`);
    checkNumber('GroupNorm', 'eps', eps, 0);
    const type = floatDType('GroupNorm', dtype);
    this.eps = eps;
    this.affine = affine;
    this.weight = affine ? parameter([numChannels], type, (t) => constant_(t, 1)) : null;
    this.bias = affine ? parameter([numChannels], type) : null;
  }

  forward(x: Tensor): Tensor {
    checkInput('GroupNorm', x);
    if (x.rank < 2 || x.shape[1] !== this.numChannels)
      fail('GroupNorm', `expected input of shape [N, ${this.numChannels}, ...], got ${fmtShape(x.shape)}`);
    return groupNorm(x, this.numGroups, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  protected override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${this.eps}, affine=${this.affine}`;
  }
}

export interface InstanceNormFunctionOptions extends GroupNormFunctionOptions {
  /** Running mean per channel, shape [C], updated in place when using the input's statistics. */
  runningMean?: Tensor | null;
  /** Running unbiased variance per channel, shape [C], likewise. */
  runningVar?: Tensor | null;
  /** Normalise with each instance's own statistics (true, the default) or with the running ones. */
  useInputStats?: boolean;
  /** Weight of each batch in the running statistics' update. */
  momentum?: number;
}

/**
 * Instance normalisation (Ulyanov et al., 2016), as PyTorch's `F.instance_norm`: each channel of each
 * sample of [N, C, ...] is normalised with its own mean and biased variance over the spatial axes,
 * then scaled and shifted per channel. With running statistics, each call that uses the input's
 * statistics moves them towards the batch's average instance mean and unbiased variance
 * (running = (1 − momentum)·running + momentum·batch, off the tape); with `useInputStats: false` the
 * running statistics normalise instead, as constants.
 *
 *     instanceNorm(x, { weight, bias }) // x: [N, C, H, W]
 */
export function instanceNorm(x: Tensor, options?: InstanceNormFunctionOptions): Tensor {
  const form = 'instanceNorm(x, { runningMean, runningVar, weight, bias, useInputStats, momentum, eps })';
  checkArity('instanceNorm', arguments, 2, form);
  const {
    runningMean = null,
    runningVar = null,
    weight = null,
    bias = null,
    useInputStats = true,
    momentum = 0.1,
    eps = 1e-5,
  } = checkOptions(
    'instanceNorm',
    options,
    ['runningMean', 'runningVar', 'weight', 'bias', 'useInputStats', 'momentum', 'eps'],
    form,
  );
  checkInput('instanceNorm', x);
  requireFloat('instanceNorm', x);
  checkNumber('instanceNorm', 'eps', eps, 0);
  checkNumber('instanceNorm', 'momentum', momentum, 0, 1);
  if (x.rank < 3)
    fail('instanceNorm', `expected input of shape [N, C, ...spatial], got ${fmtShape(x.shape)}`);
  checkPerChannel('instanceNorm', x, [
    ['runningMean', runningMean],
    ['runningVar', runningVar],
    ['weight', weight],
    ['bias', bias],
  ]);
  const c = x.shape[1]!;
  const axes = x.shape.map((_, i) => i).filter((i) => i >= 2);
  const count = x.size / (x.shape[0]! * c);
  let y: Tensor;
  if (useInputStats) {
    if (count <= 1)
      fail(
        'instanceNorm',
        `expected more than 1 spatial element per channel, got input of shape ${fmtShape(x.shape)}`,
      );
    const stats: BatchStats = {};
    y = normalizeOp([x], { axes, eps, stats });
    if (runningMean && runningVar) {
      const { mean, variance } = stats as Required<BatchStats>;
      noGrad(() => {
        // The batch's value is the average over its samples of each instance's statistic.
        const batchMean = mean.mean(0).reshape([c]);
        const batchVar = variance
          .mul(count / (count - 1))
          .mean(0)
          .reshape([c]);
        runningMean.copy_(runningMean.mul(1 - momentum).add(batchMean.mul(momentum)));
        runningVar.copy_(runningVar.mul(1 - momentum).add(batchVar.mul(momentum)));
      });
    }
  } else {
    if (!runningMean || !runningVar)
      fail('instanceNorm', 'runningMean and runningVar are needed with useInputStats: false');
    const statShape = x.shape.map((d, i) => (i === 1 ? d : 1));
    y = x.sub(runningMean.reshape(statShape)).div(runningVar.reshape(statShape).add(eps).sqrt());
  }
  return affineChannels(y, weight, bias);
}

/** InstanceNorm's options: BatchNorm's, except that momentum is a number (PyTorch has no cumulative form). */
export interface InstanceNormOptions extends Omit<BatchNormOptions, 'momentum'> {
  /** Weight of each batch in the running statistics. */
  momentum?: number;
}

/**
 * The shared body of InstanceNorm1d, 2d and 3d (PyTorch's `_InstanceNorm`), with PyTorch's defaults:
 * eps 1e-5, momentum 0.1, no affine parameters, no running statistics. With `affine` it learns
 * `weight` and `bias` of shape [C]; with `trackRunningStats` it keeps `running_mean`, `running_var`
 * (and `num_batches_tracked`, which PyTorch's instance norms register but never advance) and uses them
 * in eval mode. An input without its batch axis ([C, ...]) is normalised as a batch of one. An input
 * whose channel count differs from numFeatures fails even without affine parameters or running
 * statistics, where PyTorch only warns: the mismatch is almost always a mistake.
 */
export abstract class InstanceNorm extends NormBase {
  declare readonly momentum: number;

  protected constructor(
    numFeatures: number,
    private readonly rank: number,
    options: InstanceNormOptions | undefined,
  ) {
    super(numFeatures, options, { affine: false, trackRunningStats: false, nullMomentum: false });
  }

  forward(x: Tensor): Tensor {
    const name = this.constructor.name;
    checkInput(name, x);
    const batched = x.rank === this.rank;
    if (!batched && x.rank !== this.rank - 1) {
      const layout = LAYOUTS[this.rank]!.replace('C', String(this.numFeatures));
      fail(
        name,
        `expected input of shape ${layout} or ${layout.replace('N, ', '')}, got ${fmtShape(x.shape)}`,
      );
    }
    const input = batched ? x : x.unsqueeze(0);
    if (input.shape[1] !== this.numFeatures)
      fail(name, `expected ${this.numFeatures} channels, got input of shape ${fmtShape(x.shape)}`);
    const track = this.trackRunningStats;
    const y = instanceNorm(input, {
      runningMean: track ? this.getBuffer('running_mean') : null,
      runningVar: track ? this.getBuffer('running_var') : null,
      weight: this.weight,
      bias: this.bias,
      // Without running statistics the instance's own are used in eval mode too, as in PyTorch.
      useInputStats: this.training || !track,
      momentum: this.momentum,
      eps: this.eps,
    });
    return batched ? y : y.squeeze(0);
  }

  protected override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, trackRunningStats=${this.trackRunningStats}`;
  }
}

/** Instance normalisation of sequences [N, C, L] (or [C, L]), statistics per sample and channel over L. */
export class InstanceNorm1d extends InstanceNorm {
  constructor(numFeatures: number, options?: InstanceNormOptions) {
    super(numFeatures, 3, options);
    checkArity('InstanceNorm1d', arguments, 2, 'new InstanceNorm1d(numFeatures, { affine: true })');
  }
}

/** Instance normalisation of images [N, C, H, W] (or [C, H, W]), statistics per sample and channel. */
export class InstanceNorm2d extends InstanceNorm {
  constructor(numFeatures: number, options?: InstanceNormOptions) {
    super(numFeatures, 4, options);
    checkArity('InstanceNorm2d', arguments, 2, 'new InstanceNorm2d(numFeatures, { affine: true })');
  }
}

/** Instance normalisation of volumes [N, C, D, H, W] (or [C, D, H, W]), per sample and channel. */
export class InstanceNorm3d extends InstanceNorm {
  constructor(numFeatures: number, options?: InstanceNormOptions) {
    super(numFeatures, 5, options);
    checkArity('InstanceNorm3d', arguments, 2, 'new InstanceNorm3d(numFeatures, { affine: true })');
  }
}
