import { noGrad } from '../autograd/mode.js';
import { fail, fmtShape } from '../errors.js';
import { defineOp, requireFloat } from '../ops/op.js';
import { full, scalar } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { sameShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module, Parameter } from './module.js';

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
  { weight = null, bias = null, training = false, momentum = 0.1, eps = 1e-5 }: BatchNormFunctionOptions = {},
): Tensor {
  requireFloat('batchNorm', x);
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

const LAYOUTS: Record<number, string> = { 2: '[N, C]', 3: '[N, C, L]', 4: '[N, C, H, W]' };

/**
 * The shared body of BatchNorm1d and BatchNorm2d (PyTorch's `_BatchNorm`). Parameters `weight` and
 * `bias`, buffers `running_mean`, `running_var` and `num_batches_tracked`, named as in PyTorch so that
 * state dicts move both ways; `num_batches_tracked` is stored as int32 (PyTorch's is int64).
 *
 * In training mode the batch statistics normalise the input and update the running ones (once per
 * forward call); in eval mode the running statistics are used.
 */
export abstract class BatchNorm extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;

  protected constructor(
    readonly numFeatures: number,
    private readonly ranks: readonly number[],
    {
      eps = 1e-5,
      momentum = 0.1,
      affine = true,
      trackRunningStats = true,
      dtype = 'float32',
    }: BatchNormOptions,
  ) {
    super();
    const name = this.constructor.name;
    if (!Number.isInteger(numFeatures) || numFeatures <= 0)
      fail(name, `numFeatures must be a positive integer, got ${numFeatures}`);
    if (!(eps >= 0 && Number.isFinite(eps))) fail(name, `eps must be a non-negative number, got ${eps}`);
    if (momentum !== null && !(momentum >= 0 && momentum <= 1))
      fail(name, `momentum must be in [0, 1] or null, got ${momentum}`);
    this.eps = eps;
    this.momentum = momentum;
    this.affine = affine;
    this.trackRunningStats = trackRunningStats;
    this.weight = affine ? new Parameter(full([numFeatures], 1, { dtype })) : null;
    this.bias = affine ? new Parameter(full([numFeatures], 0, { dtype })) : null;
    if (trackRunningStats) {
      this.registerBuffer('running_mean', full([numFeatures], 0, { dtype }));
      this.registerBuffer('running_var', full([numFeatures], 1, { dtype }));
      this.registerBuffer('num_batches_tracked', scalar(0, 'int32'));
    }
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
    if (!this.ranks.includes(x.rank)) {
      const layouts = this.ranks.map((r) => LAYOUTS[r]!.replace('C', String(c))).join(' or ');
      fail(name, `expected input of shape ${layouts}, got ${fmtShape(x.shape)} (rank ${x.rank})`);
    }
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
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super(numFeatures, [2, 3], opts);
  }
}

/** Batch normalisation of images [N, C, H, W], statistics per channel C over N, H and W. */
export class BatchNorm2d extends BatchNorm {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super(numFeatures, [4], opts);
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
  { weight = null, bias = null, eps = 1e-5 }: LayerNormFunctionOptions = {},
): Tensor {
  requireFloat('layerNorm', x);
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

  constructor(
    normalizedShape: number | readonly number[],
    { eps = 1e-5, elementwiseAffine = true, bias = true, dtype = 'float32' }: LayerNormOptions = {},
  ) {
    super();
    const shape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    if (shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d <= 0))
      fail('LayerNorm', `normalizedShape must be positive integers, got ${fmtShape(shape)}`);
    if (!(eps >= 0 && Number.isFinite(eps)))
      fail('LayerNorm', `eps must be a non-negative number, got ${eps}`);
    this.normalizedShape = shape;
    this.eps = eps;
    this.elementwiseAffine = elementwiseAffine;
    this.weight = elementwiseAffine ? new Parameter(full(shape, 1, { dtype })) : null;
    this.bias = elementwiseAffine && bias ? new Parameter(full(shape, 0, { dtype })) : null;
  }

  forward(x: Tensor): Tensor {
    checkTrailing('LayerNorm', x, this.normalizedShape);
    return layerNorm(x, this.normalizedShape, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  protected override extraRepr(): string {
    return `${fmtShape(this.normalizedShape)}, eps=${this.eps}, elementwiseAffine=${this.elementwiseAffine}`;
  }
}
