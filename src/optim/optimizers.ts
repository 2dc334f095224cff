import { getBackend } from '../backend/registry.js';
import { checkArity, checkOptions, fail } from '../errors.js';
import { full, fullLike, zerosLike } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  type HyperRules,
  Optimizer,
  type ParamGroup,
  type ParamState,
  type ParamsArg,
  hyperRules as R,
} from './optimizer.js';
import {
  type AdadeltaHyper,
  type AdagradHyper,
  type AdamHyper,
  adadeltaUpdate,
  adagradUpdate,
  adamaxUpdate,
  adamUpdate,
  type Maximize,
  type MomentsHyper,
  nadamUpdate,
  type RmspropHyper,
  radamUpdate,
  rmspropUpdate,
  type SgdHyper,
  sgdUpdate,
} from './updates.js';

/** SGD's settings, as its groups hold them. */
export interface SgdOptions extends SgdHyper, Maximize {}

const SGD_RULES: HyperRules<SgdOptions> = {
  lr: R.nonNegative,
  momentum: R.nonNegative,
  dampening: R.finite,
  nesterov: R.flag,
  weightDecay: R.nonNegative,
  maximize: R.flag,
};

const SGD_FORM = 'new SGD(params, { lr: 0.1, momentum: 0.9 })';

/**
 * Stochastic gradient descent with optional momentum (classic or Nesterov) and L2 weight decay, as
 * PyTorch's SGD: d = ±g + λp (−g with maximize); with momentum μ, buf = d on the first step, then
 * μ·buf + (1 - dampening)·d, and d = buf (d + μ·buf with Nesterov); p -= lr·d. lr has no default.
 *
 *     const w = tensor([1, 2], { requiresGrad: true });
 *     const sgd = new optim.SGD([w], { lr: 0.1, momentum: 0.9 });
 *     w.mul(w).sum().backward(); // the gradient 2w is [2, 4]
 *     sgd.step(); // the first step's buffer is the gradient itself
 *     w // → [0.8, 1.6]
 *
 *     // The usual step on a model:
 *     const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-4 });
 *     opt.zeroGrad();
 *     nn.crossEntropy(model.forward(x), y).backward();
 *     opt.step();
 */
export class SGD extends Optimizer<SgdOptions> {
  protected readonly bufferNames = ['momentumBuffer'];
  protected override readonly lazyBuffers = ['momentumBuffer'];

  constructor(params: ParamsArg<SgdOptions>, options: Partial<SgdOptions> & { lr: number }) {
    checkArity('SGD', arguments, 2, SGD_FORM);
    const o = checkOptions('SGD', options, Object.keys(SGD_RULES) as (keyof SgdOptions)[], SGD_FORM);
    if (o.lr === undefined) fail('SGD', 'lr has no default; pass it: new SGD(params, { lr: 0.1 })');
    super(
      params,
      options,
      { lr: o.lr, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, maximize: false },
      SGD_RULES,
      SGD_FORM,
    );
  }

  protected override crossCheck(g: SgdOptions): string | undefined {
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0))
      return `Nesterov momentum needs momentum > 0 and dampening 0, got momentum ${g.momentum} and dampening ${g.dampening}`;
    return undefined;
  }

  protected initState(): Record<string, Tensor> {
    return {};
  }

  protected update(p: Tensor, grad: Tensor, s: ParamState, g: ParamGroup<SgdOptions>): void {
    // The momentum buffer is made the first time momentum is on (at any step, as PyTorch's is), and
    // starts as the first d; a buffer kept while momentum is 0 is left alone.
    const first = g.momentum > 0 && !s.buffers.momentumBuffer;
    if (first) s.buffers.momentumBuffer = zerosLike(p);
    const buf = g.momentum > 0 ? s.buffers.momentumBuffer!.data : null;
    // The native kernel has no maximize; the reference update does.
    const fused = g.maximize ? undefined : getBackend().fused?.sgdUpdate;
    if (fused && p.data instanceof Float32Array)
      fused(p.data, grad.data as Float32Array, buf as Float32Array | null, g, first);
    else sgdUpdate(p.data, grad.data, buf, g, first);
  }
}

/** Adagrad's settings. */
export interface AdagradOptions extends AdagradHyper {
  initialAccumulatorValue: number;
}

const ADAGRAD_RULES: HyperRules<AdagradOptions> = {
  lr: R.nonNegative,
  lrDecay: R.nonNegative,
  weightDecay: R.nonNegative,
  eps: R.nonNegative,
  initialAccumulatorValue: R.nonNegative,
  maximize: R.flag,
};

const ADAGRAD_FORM = 'new Adagrad(params, { lr: 0.01 })';

/**
 * Adagrad (Duchi et al., 2011): per-coordinate steps shrinking with the accumulated squared gradient.
 * d = ±g + λp; s += d² (s starts at initialAccumulatorValue); p -= lr/(1 + (t-1)·lrDecay) · d/(sqrt(s) + eps).
 * A group's own initialAccumulatorValue is honoured, like its other settings; PyTorch 1.13 starts every
 * group's s from the constructor's value and ignores the group's (adagrad.py:95), which we take for an
 * oversight, not a behaviour to copy.
 *
 *     const w = tensor([1, 2], { requiresGrad: true });
 *     const adagrad = new optim.Adagrad([w]); // lr 0.01
 *     w.mul(w).sum().backward(); // the gradient 2w is [2, 4]
 *     adagrad.step(); // s = g², so the first step is lr·sign(g)
 *     w // → [0.99, 1.99]
 */
export class Adagrad extends Optimizer<AdagradOptions> {
  protected readonly bufferNames = ['sum'];

  constructor(params: ParamsArg<AdagradOptions>, options?: Partial<AdagradOptions>) {
    checkArity('Adagrad', arguments, 2, ADAGRAD_FORM);
    super(
      params,
      options,
      { lr: 0.01, lrDecay: 0, weightDecay: 0, eps: 1e-10, initialAccumulatorValue: 0, maximize: false },
      ADAGRAD_RULES,
      ADAGRAD_FORM,
    );
  }

  protected initState(p: Tensor, g: ParamGroup<AdagradOptions>): Record<string, Tensor> {
    return { sum: fullLike(p, g.initialAccumulatorValue) };
  }

  protected update(p: Tensor, grad: Tensor, s: ParamState, g: ParamGroup<AdagradOptions>): void {
    adagradUpdate(p.data, grad.data, s.buffers.sum!.data, g, s.step);
  }
}

const RMSPROP_RULES: HyperRules<RmspropHyper> = {
  lr: R.nonNegative,
  alpha: R.nonNegative,
  eps: R.nonNegative,
  weightDecay: R.nonNegative,
  momentum: R.nonNegative,
  centered: R.flag,
  maximize: R.flag,
};

const RMSPROP_FORM = 'new RMSprop(params, { lr: 0.01 })';

/**
 * RMSprop (Tieleman & Hinton, 2012), optionally centred and with momentum: d = ±g + λp;
 * v = α v + (1-α) d²; D = sqrt(v) + eps (sqrt(v - ḡ²) + eps when centred, ḡ = α ḡ + (1-α) d);
 * p -= lr·d/D, or with momentum buf = μ·buf + d/D, p -= lr·buf.
 *
 *     const w = tensor([1, 2], { requiresGrad: true });
 *     const rmsprop = new optim.RMSprop([w]); // lr 0.01, alpha 0.99
 *     w.mul(w).sum().backward(); // the gradient 2w is [2, 4]
 *     rmsprop.step(); // v = 0.01·g², so the first step is 10·lr·sign(g)
 *     w // → [0.9, 1.9]
 */
export class RMSprop extends Optimizer<RmspropHyper> {
  protected readonly bufferNames = ['squareAvg', 'gradAvg', 'momentumBuffer'];
  protected override readonly lazyBuffers = ['gradAvg', 'momentumBuffer'];

  constructor(params: ParamsArg<RmspropHyper>, options?: Partial<RmspropHyper>) {
    checkArity('RMSprop', arguments, 2, RMSPROP_FORM);
    super(
      params,
      options,
      { lr: 0.01, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false },
      RMSPROP_RULES,
      RMSPROP_FORM,
    );
  }

  protected initState(p: Tensor): Record<string, Tensor> {
    return { squareAvg: zerosLike(p) };
  }

  protected update(p: Tensor, grad: Tensor, s: ParamState, g: ParamGroup<RmspropHyper>): void {
    const b = s.buffers;
    // Made, as zeros, the first time centered or momentum is on; PyTorch 1.13 makes them only at a
    // parameter's first step, so switching either on later fails there.
    if (g.centered) b.gradAvg ??= zerosLike(p);
    if (g.momentum > 0) b.momentumBuffer ??= zerosLike(p);
    rmspropUpdate(
      p.data,
      grad.data,
      b.squareAvg!.data,
      g.centered ? b.gradAvg!.data : null,
      g.momentum > 0 ? b.momentumBuffer!.data : null,
      g,
    );
  }
}

/** The settings every Adam variant shares, as its groups hold them (betas as PyTorch has them). */
export interface BetasOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

/** Adam's and AdamW's settings. */
export interface AdamOptions extends BetasOptions, Maximize {
  amsgrad: boolean;
}

const BETAS_RULES: HyperRules<BetasOptions> = {
  lr: R.nonNegative,
  betas: R.betas,
  eps: R.nonNegative,
  weightDecay: R.nonNegative,
};

const ADAM_RULES: HyperRules<AdamOptions> = { ...BETAS_RULES, amsgrad: R.flag, maximize: R.flag };

/** A group's settings in the form the moment updates read them. */
function moments(g: BetasOptions): MomentsHyper {
  return { lr: g.lr, beta1: g.betas[0], beta2: g.betas[1], eps: g.eps, weightDecay: g.weightDecay };
}

/** The Adam family's shared update; Adam and AdamW differ only in how weight decay applies. */
abstract class AdamFamily extends Optimizer<AdamOptions> {
  protected readonly bufferNames = ['expAvg', 'expAvgSq', 'maxExpAvgSq'];
  protected override readonly lazyBuffers = ['maxExpAvgSq'];
  protected abstract readonly decoupled: boolean;

  protected initState(p: Tensor): Record<string, Tensor> {
    return { expAvg: zerosLike(p), expAvgSq: zerosLike(p) };
  }

  protected update(p: Tensor, grad: Tensor, s: ParamState, g: ParamGroup<AdamOptions>): void {
    const b = s.buffers;
    // Made, as zeros, the first time amsgrad is on (PyTorch 1.13 makes it only at the first step).
    if (g.amsgrad) b.maxExpAvgSq ??= zerosLike(p);
    const [m, v, vMax] = [b.expAvg!.data, b.expAvgSq!.data, g.amsgrad ? b.maxExpAvgSq!.data : null];
    const h: AdamHyper = { ...moments(g), decoupled: this.decoupled, amsgrad: g.amsgrad };
    // The native kernel has no maximize; the reference update does.
    const fused = g.maximize ? undefined : getBackend().fused?.adamUpdate;
    if (fused && p.data instanceof Float32Array) {
      fused(
        p.data,
        grad.data as Float32Array,
        m as Float32Array,
        v as Float32Array,
        vMax as Float32Array | null,
        h,
        s.step,
      );
    } else adamUpdate(p.data, grad.data, m, v, vMax, { ...h, maximize: g.maximize }, s.step);
  }
}

const ADAM_DEFAULTS = {
  lr: 1e-3,
  betas: [0.9, 0.999] as [number, number],
  eps: 1e-8,
  amsgrad: false,
  maximize: false,
};

const ADAM_FORM = 'new Adam(params, { lr: 1e-3 })';

/**
 * Adam (Kingma & Ba, 2015), with L2 weight decay added to the gradient as in PyTorch's Adam:
 * d = ±g + λp; m = β1 m + (1-β1) d; v = β2 v + (1-β2) d² (v ← max(v_max, v) with amsgrad);
 * p -= lr/(1-β1^t) · m/(sqrt(v)/sqrt(1-β2^t) + eps).
 *
 *     const w = tensor([1, 2], { requiresGrad: true });
 *     const adam = new optim.Adam([w], { lr: 0.1, betas: [0.9, 0.999] });
 *     w.mul(w).sum().backward(); // the gradient 2w is [2, 4]
 *     adam.step(); // bias-corrected, the first step is lr·sign(g)
 *     w // → [0.9, 1.9]
 */
export class Adam extends AdamFamily {
  protected readonly decoupled = false;

  constructor(params: ParamsArg<AdamOptions>, options?: Partial<AdamOptions>) {
    checkArity('Adam', arguments, 2, ADAM_FORM);
    super(params, options, { ...ADAM_DEFAULTS, weightDecay: 0 }, ADAM_RULES, ADAM_FORM);
  }
}

const ADAMW_FORM = 'new AdamW(params, { lr: 1e-3 })';

/**
 * AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay, 0.01 by default: p ← p(1 - lr·λ)
 * first, then Adam's step without λ in the gradient.
 *
 *     const w = tensor([1, 2], { requiresGrad: true });
 *     const adamw = new optim.AdamW([w], { lr: 0.1 }); // weightDecay 0.01
 *     w.mul(w).sum().backward(); // the gradient 2w is [2, 4]
 *     adamw.step(); // w·(1 - 0.1·0.01), then Adam's step of lr·sign(g)
 *     w // → [0.899, 1.898]
 */
export class AdamW extends AdamFamily {
  protected readonly decoupled = true;

  constructor(params: ParamsArg<AdamOptions>, options?: Partial<AdamOptions>) {
    checkArity('AdamW', arguments, 2, ADAMW_FORM);
    super(params, options, { ...ADAM_DEFAULTS, weightDecay: 0.01 }, ADAM_RULES, ADAMW_FORM);
  }
}

const ADADELTA_RULES: HyperRules<AdadeltaHyper> = {
  lr: R.nonNegative,
  rho: R.unitInterval,
  eps: R.nonNegative,
  weightDecay: R.nonNegative,
  maximize: R.flag,
};

const ADADELTA_FORM = 'new Adadelta(params, { lr: 1, rho: 0.9 })';

/**
 * Adadelta (Zeiler, 2012): d = ±g + λp; v = ρ v + (1-ρ) d²; Δ = sqrt(u + eps)/sqrt(v + eps) · d;
 * u = ρ u + (1-ρ) Δ²; p -= lr·Δ. PyTorch's defaults: lr 1, ρ 0.9, eps 1e-6.
 *
 *     const w = tensor([1, 2], { requiresGrad: true });
 *     const adadelta = new optim.Adadelta([w]); // lr 1, rho 0.9, eps 1e-6
 *     w.mul(w).sum().backward(); // the gradient 2w is [2, 4]
 *     adadelta.step(); // Δ = sqrt(eps)/sqrt(0.1·g² + eps)·g
 *     w // → [0.996838, 1.996838]
 */
export class Adadelta extends Optimizer<AdadeltaHyper> {
  protected readonly bufferNames = ['squareAvg', 'accDelta'];

  constructor(params: ParamsArg<AdadeltaHyper>, options?: Partial<AdadeltaHyper>) {
    checkArity('Adadelta', arguments, 2, ADADELTA_FORM);
    super(
      params,
      options,
      { lr: 1, rho: 0.9, eps: 1e-6, weightDecay: 0, maximize: false },
      ADADELTA_RULES,
      ADADELTA_FORM,
    );
  }

  protected initState(p: Tensor): Record<string, Tensor> {
    return { squareAvg: zerosLike(p), accDelta: zerosLike(p) };
  }

  protected update(p: Tensor, grad: Tensor, s: ParamState, g: ParamGroup<AdadeltaHyper>): void {
    adadeltaUpdate(p.data, grad.data, s.buffers.squareAvg!.data, s.buffers.accDelta!.data, g);
  }
}

/** Adamax's settings. */
export interface AdamaxOptions extends BetasOptions, Maximize {}

const ADAMAX_FORM = 'new Adamax(params, { lr: 2e-3 })';

/**
 * Adamax (Kingma & Ba, 2015, §7.1), Adam with the infinity norm: d = ±g + λp; m = β1 m + (1-β1) d;
 * u = max(β2 u, |d| + eps); p -= lr/(1-β1^t) · m/u. PyTorch's default lr is 2e-3.
 *
 *     const w = tensor([1, 2], { requiresGrad: true });
 *     const adamax = new optim.Adamax([w]); // lr 2e-3
 *     w.mul(w).sum().backward(); // the gradient 2w is [2, 4]
 *     adamax.step(); // u = |g|, so the first step is lr·sign(g)
 *     w // → [0.998, 1.998]
 */
export class Adamax extends Optimizer<AdamaxOptions> {
  protected readonly bufferNames = ['expAvg', 'expInf'];

  constructor(params: ParamsArg<AdamaxOptions>, options?: Partial<AdamaxOptions>) {
    checkArity('Adamax', arguments, 2, ADAMAX_FORM);
    super(
      params,
      options,
      { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, maximize: false },
      { ...BETAS_RULES, maximize: R.flag },
      ADAMAX_FORM,
    );
  }

  protected initState(p: Tensor): Record<string, Tensor> {
    return { expAvg: zerosLike(p), expInf: zerosLike(p) };
  }

  protected update(p: Tensor, grad: Tensor, s: ParamState, g: ParamGroup<AdamaxOptions>): void {
    const h = { ...moments(g), maximize: g.maximize };
    adamaxUpdate(p.data, grad.data, s.buffers.expAvg!.data, s.buffers.expInf!.data, h, s.step);
  }
}

/** NAdam's settings. */
export interface NadamOptions extends BetasOptions, Maximize {
  momentumDecay: number;
}

const NADAM_FORM = 'new NAdam(params, { lr: 2e-3 })';

/**
 * NAdam (Dozat, 2016): Adam with Nesterov momentum and PyTorch's momentum schedule
 * μ_t = β1(1 - ½·0.96^(t·momentumDecay)); with Π_t = ∏ μ_i and D = sqrt(v/(1-β2^t)) + eps,
 * p -= lr(1-μ_t)/(1-Π_t) · d/D + lr·μ_{t+1}/(1-Π_t·μ_t·μ_{t+1}) · m/D (PyTorch 1.13's second
 * denominator, see nadamUpdate), d = ±g + λp. Its state holds Π_t as the 0-d buffer `muProduct`.
 * PyTorch 1.13's NAdam has no maximize; PyTorch 2's does, as here.
 *
 *     const w = tensor([1, 2], { requiresGrad: true });
 *     const nadam = new optim.NAdam([w]); // lr 2e-3
 *     w.mul(w).sum().backward(); // the gradient 2w is [2, 4]
 *     nadam.step();
 *     w // → [0.997901, 1.997901]
 */
export class NAdam extends Optimizer<NadamOptions> {
  protected readonly bufferNames = ['expAvg', 'expAvgSq', 'muProduct'];

  constructor(params: ParamsArg<NadamOptions>, options?: Partial<NadamOptions>) {
    checkArity('NAdam', arguments, 2, NADAM_FORM);
    super(
      params,
      options,
      { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, momentumDecay: 4e-3, maximize: false },
      { ...BETAS_RULES, momentumDecay: R.nonNegative, maximize: R.flag },
      NADAM_FORM,
    );
  }

  protected initState(p: Tensor): Record<string, Tensor> {
    return { expAvg: zerosLike(p), expAvgSq: zerosLike(p), muProduct: full([], 1, { dtype: p.dtype }) };
  }

  protected override stateShapes(p: Tensor): Record<string, readonly number[]> {
    return { expAvg: p.shape, expAvgSq: p.shape, muProduct: [] };
  }

  protected update(p: Tensor, grad: Tensor, s: ParamState, g: ParamGroup<NadamOptions>): void {
    const b = s.buffers;
    const h = { ...moments(g), momentumDecay: g.momentumDecay, maximize: g.maximize };
    nadamUpdate(p.data, grad.data, b.expAvg!.data, b.expAvgSq!.data, b.muProduct!.data, h, s.step);
  }
}

/** RAdam's settings. */
export interface RadamOptions extends BetasOptions, Maximize {}

const RADAM_FORM = 'new RAdam(params, { lr: 1e-3 })';

/**
 * RAdam (Liu et al., 2020), Adam with the variance of its adaptive rate rectified: while the
 * approximated moving-average length ρ_t ≤ 5 it takes SGD-with-momentum steps p -= lr·m/(1-β1^t);
 * after, p -= lr·m/(1-β1^t) · r·sqrt(1-β2^t)/(sqrt(v) + eps) with the rectification r (updates.ts);
 * d = ±g + λp in place of g. PyTorch 1.13's RAdam has no maximize; PyTorch 2's does, as here.
 *
 *     const w = tensor([1, 2], { requiresGrad: true });
 *     const radam = new optim.RAdam([w]); // lr 1e-3
 *     w.mul(w).sum().backward(); // the gradient 2w is [2, 4]
 *     radam.step(); // ρ_t ≤ 5 at first: SGD with momentum, lr·g
 *     w // → [0.998, 1.996]
 */
export class RAdam extends Optimizer<RadamOptions> {
  protected readonly bufferNames = ['expAvg', 'expAvgSq'];

  constructor(params: ParamsArg<RadamOptions>, options?: Partial<RadamOptions>) {
    checkArity('RAdam', arguments, 2, RADAM_FORM);
    super(
      params,
      options,
      { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, maximize: false },
      { ...BETAS_RULES, maximize: R.flag },
      RADAM_FORM,
    );
  }

  protected initState(p: Tensor): Record<string, Tensor> {
    return { expAvg: zerosLike(p), expAvgSq: zerosLike(p) };
  }

  protected update(p: Tensor, grad: Tensor, s: ParamState, g: ParamGroup<RadamOptions>): void {
    const h = { ...moments(g), maximize: g.maximize };
    radamUpdate(p.data, grad.data, s.buffers.expAvg!.data, s.buffers.expAvgSq!.data, h, s.step);
  }
}
