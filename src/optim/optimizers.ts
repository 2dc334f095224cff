import { getBackend } from '../backend/registry.js';
import { fail } from '../errors.js';
import { fullLike, zerosLike } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, type ParamGroup, type ParamState, type ParamsArg } from './optimizer.js';
import {
  type AdagradHyper,
  type AdamHyper,
  adagradUpdate,
  adamUpdate,
  type RmspropHyper,
  rmspropUpdate,
  type SgdHyper,
  sgdUpdate,
} from './updates.js';

function checkNonNegative(op: string, values: Record<string, number>): void {
  for (const [k, v] of Object.entries(values)) if (!(v >= 0)) fail(op, `${k} must be non-negative, got ${v}`);
}

/** Stochastic gradient descent with optional momentum (classic or Nesterov) and L2 weight decay. */
export class SGD extends Optimizer<SgdHyper> {
  constructor(params: ParamsArg<SgdHyper>, opts: Partial<SgdHyper> & { lr: number }) {
    super(params, { momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, ...opts });
  }

  protected override validate(g: ParamGroup<SgdHyper>): void {
    super.validate(g);
    checkNonNegative('SGD', { momentum: g.momentum, weightDecay: g.weightDecay });
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0))
      fail('SGD', 'Nesterov momentum needs momentum > 0 and dampening 0');
  }

  protected initState(p: Tensor, g: ParamGroup<SgdHyper>): Record<string, Tensor> {
    return g.momentum > 0 ? { momentumBuffer: zerosLike(p) } : {};
  }

  protected update(p: Tensor, grad: Tensor, s: ParamState, g: ParamGroup<SgdHyper>): void {
    const buf = s.buffers.momentumBuffer?.data ?? null;
    const fused = getBackend().fused?.sgdUpdate;
    if (fused && p.data instanceof Float32Array)
      fused(p.data, grad.data as Float32Array, buf as Float32Array | null, g, s.step === 1);
    else sgdUpdate(p.data, grad.data, buf, g, s.step === 1);
  }
}

/** Adagrad (Duchi et al., 2011): per-coordinate steps shrinking with the accumulated squared gradient. */
type AdagradOptions = AdagradHyper & { initialAccumulatorValue: number };

export class Adagrad extends Optimizer<AdagradOptions> {
  constructor(params: ParamsArg<AdagradOptions>, opts: Partial<AdagradOptions> = {}) {
    super(params, { lr: 0.01, lrDecay: 0, weightDecay: 0, eps: 1e-10, initialAccumulatorValue: 0, ...opts });
  }

  protected override validate(g: ParamGroup<AdagradOptions>): void {
    super.validate(g);
    checkNonNegative('Adagrad', {
      lrDecay: g.lrDecay,
      weightDecay: g.weightDecay,
      eps: g.eps,
      initialAccumulatorValue: g.initialAccumulatorValue,
    });
  }

  protected initState(p: Tensor, g: ParamGroup<AdagradOptions>): Record<string, Tensor> {
    return { sum: fullLike(p, g.initialAccumulatorValue) };
  }

  protected update(p: Tensor, grad: Tensor, s: ParamState, g: ParamGroup<AdagradHyper>): void {
    adagradUpdate(p.data, grad.data, s.buffers.sum!.data, g, s.step);
  }
}

/** RMSprop (Tieleman & Hinton, 2012), optionally centred and with momentum. */
export class RMSprop extends Optimizer<RmspropHyper> {
  constructor(params: ParamsArg<RmspropHyper>, opts: Partial<RmspropHyper> = {}) {
    super(params, {
      lr: 0.01,
      alpha: 0.99,
      eps: 1e-8,
      weightDecay: 0,
      momentum: 0,
      centered: false,
      ...opts,
    });
  }

  protected override validate(g: ParamGroup<RmspropHyper>): void {
    super.validate(g);
    checkNonNegative('RMSprop', {
      alpha: g.alpha,
      eps: g.eps,
      momentum: g.momentum,
      weightDecay: g.weightDecay,
    });
  }

  protected initState(p: Tensor, g: ParamGroup<RmspropHyper>): Record<string, Tensor> {
    return {
      squareAvg: zerosLike(p),
      ...(g.centered ? { gradAvg: zerosLike(p) } : {}),
      ...(g.momentum > 0 ? { momentumBuffer: zerosLike(p) } : {}),
    };
  }

  protected update(p: Tensor, grad: Tensor, s: ParamState, g: ParamGroup<RmspropHyper>): void {
    const b = s.buffers;
    rmspropUpdate(
      p.data,
      grad.data,
      b.squareAvg!.data,
      b.gradAvg?.data ?? null,
      b.momentumBuffer?.data ?? null,
      g,
    );
  }
}

type AdamOptions = Partial<Omit<AdamHyper, 'decoupled'>> & { betas?: [number, number] };

function adamDefaults(opts: AdamOptions, decoupled: boolean, weightDecay: number): AdamHyper {
  const { betas = [0.9, 0.999], ...rest } = opts;
  return {
    lr: 1e-3,
    beta1: betas[0],
    beta2: betas[1],
    eps: 1e-8,
    weightDecay,
    amsgrad: false,
    ...rest,
    decoupled,
  };
}

/** The Adam family's shared update; Adam and AdamW differ only in how weight decay applies. */
abstract class AdamFamily extends Optimizer<AdamHyper> {
  protected override validate(g: ParamGroup<AdamHyper>): void {
    super.validate(g);
    checkNonNegative(this.constructor.name, { eps: g.eps, weightDecay: g.weightDecay });
    for (const b of [g.beta1, g.beta2])
      if (!(b >= 0 && b < 1)) fail(this.constructor.name, `betas must be in [0, 1), got ${b}`);
  }

  protected initState(p: Tensor, g: ParamGroup<AdamHyper>): Record<string, Tensor> {
    return {
      expAvg: zerosLike(p),
      expAvgSq: zerosLike(p),
      ...(g.amsgrad ? { maxExpAvgSq: zerosLike(p) } : {}),
    };
  }

  protected update(p: Tensor, grad: Tensor, s: ParamState, g: ParamGroup<AdamHyper>): void {
    const b = s.buffers;
    const [m, v, vMax] = [b.expAvg!.data, b.expAvgSq!.data, b.maxExpAvgSq?.data ?? null];
    const fused = getBackend().fused?.adamUpdate;
    if (fused && p.data instanceof Float32Array) {
      fused(
        p.data,
        grad.data as Float32Array,
        m as Float32Array,
        v as Float32Array,
        vMax as Float32Array | null,
        g,
        s.step,
      );
    } else adamUpdate(p.data, grad.data, m, v, vMax, g, s.step);
  }
}

/** Adam (Kingma & Ba, 2015), with L2 weight decay added to the gradient as in PyTorch's Adam. */
export class Adam extends AdamFamily {
  constructor(params: ParamsArg<AdamHyper>, opts: AdamOptions = {}) {
    super(params, adamDefaults(opts, false, 0));
  }
}

/** AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay, 0.01 by default. */
export class AdamW extends AdamFamily {
  constructor(params: ParamsArg<AdamHyper>, opts: AdamOptions = {}) {
    super(params, adamDefaults(opts, true, 0.01));
  }
}
