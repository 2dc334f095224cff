import { fail } from '../errors.js';
import type { Optimizer } from './optimizer.js';

/**
 * Learning-rate schedules: each sets every group's lr to its initial lr times factor(t), where t counts
 * calls to `step()` (per epoch or per batch, as the caller chooses), as PyTorch's LRScheduler does.
 */
export class LRScheduler {
  readonly baseLrs: number[];
  /** Number of step() calls so far. */
  t = 0;

  constructor(
    readonly optimizer: Optimizer<{ lr: number }>,
    /** The multiplier of the initial learning rate after t steps. */
    readonly factor: (t: number) => number,
  ) {
    this.baseLrs = optimizer.paramGroups.map((g) => g.lr);
    this.apply();
  }

  step(): void {
    this.t++;
    this.apply();
  }

  /** The current learning rate of each group. */
  lastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  stateDict(): { t: number; baseLrs: number[] } {
    return { t: this.t, baseLrs: [...this.baseLrs] };
  }

  loadStateDict(s: { t: number; baseLrs: number[] }): void {
    this.t = s.t;
    this.baseLrs.splice(0, this.baseLrs.length, ...s.baseLrs);
    this.apply();
  }

  private apply(): void {
    const f = this.factor(this.t);
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = this.baseLrs[i]! * f;
    });
  }
}

function positive(op: string, name: string, v: number): void {
  if (!(v > 0)) fail(op, `${name} must be positive, got ${v}`);
}

/** Multiplies the rate by gamma every stepSize steps. */
export class StepLR extends LRScheduler {
  constructor(optimizer: Optimizer<{ lr: number }>, stepSize: number, gamma = 0.1) {
    positive('StepLR', 'stepSize', stepSize);
    super(optimizer, (t) => gamma ** Math.floor(t / stepSize));
  }
}

/** Multiplies the rate by gamma every step. */
export class ExponentialLR extends LRScheduler {
  constructor(optimizer: Optimizer<{ lr: number }>, gamma: number) {
    positive('ExponentialLR', 'gamma', gamma);
    super(optimizer, (t) => gamma ** t);
  }
}

/** Half a cosine from the initial rate down to etaMin over tMax steps (Loshchilov & Hutter's SGDR, one cycle). */
export class CosineAnnealingLR extends LRScheduler {
  /** etaMinFactor is the final rate as a fraction of the initial one. */
  constructor(optimizer: Optimizer<{ lr: number }>, tMax: number, etaMinFactor = 0) {
    positive('CosineAnnealingLR', 'tMax', tMax);
    super(
      optimizer,
      (t) => etaMinFactor + ((1 - etaMinFactor) * (1 + Math.cos((Math.PI * Math.min(t, tMax)) / tMax))) / 2,
    );
  }
}

/**
 * Linear warm-up from startFactor to 1 over warmupSteps, then (optionally) another schedule's factor,
 * counted from the end of the warm-up.
 */
export class LinearWarmupLR extends LRScheduler {
  constructor(
    optimizer: Optimizer<{ lr: number }>,
    warmupSteps: number,
    startFactor = 1 / 3,
    then?: (t: number) => number,
  ) {
    positive('LinearWarmupLR', 'warmupSteps', warmupSteps);
    super(optimizer, (t) =>
      t < warmupSteps
        ? startFactor + ((1 - startFactor) * t) / warmupSteps
        : then
          ? then(t - warmupSteps)
          : 1,
    );
  }
}
