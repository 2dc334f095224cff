import { checkArity, checkOptions, describe, fail } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { type AnyOptimizer, type HyperRule, Optimizer, hyperRules as R, show } from './optimizer.js';

/**
 * Learning-rate schedules with PyTorch's names, defaults and arithmetic. `t` counts calls to `step()`
 * (per epoch or per batch, as the caller chooses; PyTorch's last_epoch), and building a schedule applies
 * its rate for t = 0, as PyTorch's do. Each computes the next rates from the current ones where PyTorch
 * does (its "chainable" form), so that ChainedScheduler composes schedules the same way.
 */

/** Any optimizer whose groups have a learning rate: what a schedule drives. */

/** A schedule's progress, as stateDict() gives it: its step count, base and last rates, and its own counters. */
export interface SchedulerState {
  t: number;
  baseLrs: number[];
  [key: string]: unknown;
}

// A group's first learning rate, shared by every schedule built on it (PyTorch's group['initial_lr']):
// a second schedule on the same optimizer starts from the rate the first was built with.
const initialLrs = new WeakMap<object, number>();

const fractionOpenAtZero: HyperRule = {
  expected: 'a number in (0, 1]',
  ok: (v) => typeof v === 'number' && v > 0 && v <= 1,
};
function need(op: string, key: string, value: unknown, rule: HyperRule): void {
  if (!rule.ok(value)) fail(op, `${key} must be ${rule.expected}, got ${show(value)}`);
}

function oneOf<T extends string>(op: string, key: string, value: unknown, allowed: readonly T[]): T {
  if (!(allowed as readonly unknown[]).includes(value))
    fail(op, `${key} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${show(value)}`);
  return value as T;
}

/** A setting given once for every group or as one value per group (PyTorch's _format_param). */
function perGroup(
  op: string,
  key: string,
  value: number | readonly number[],
  n: number,
  rule: HyperRule,
): number[] {
  const values = Array.isArray(value) ? [...value] : Array.from({ length: n }, () => value as number);
  if (values.length !== n)
    fail(op, `${key} has ${values.length} values, the optimizer has ${n} parameter groups`);
  values.forEach((v, i) => {
    need(op, Array.isArray(value) ? `${key}[${i}]` : key, v, rule);
  });
  return values;
}

function checkOptimizer(op: string, optimizer: unknown): AnyOptimizer {
  if (!(optimizer instanceof Optimizer)) fail(op, `expected an Optimizer, got ${describe(optimizer)}`);
  return optimizer as AnyOptimizer;
}

/**
 * Refuses PyTorch's deprecated `step(epoch)`: a schedule here counts its own steps, and jumping to an
 * epoch is not supported (except by CosineAnnealingWarmRestarts, whose step takes a fractional epoch).
 */
function noEpoch(name: string, args: ArrayLike<unknown>): void {
  if (args.length > 0)
    fail(
      `${name}.step`,
      `takes no arguments, got ${args.length} (${describe(args[0])}); the epoch argument is deprecated in PyTorch and not supported here: call step() once per epoch (or per batch), and loadStateDict to resume`,
    );
}

/** Python's modulo (the result takes the divisor's sign). */
function mod(a: number, m: number): number {
  return ((a % m) + m) % m;
}

/**
 * The base of every schedule: the optimizer, each group's base rate, the step count t and the rates it
 * last set. A subclass computes the rates for the current t (computeLrs) and calls start() at the end
 * of its constructor.
 *
 *     // A schedule that halves the rate every step, from the base rates:
 *     class Halving extends optim.LRScheduler {
 *       constructor(optimizer: optim.AnyOptimizer) {
 *         super('Halving', optimizer);
 *         this.start();
 *       }
 *       protected computeLrs(): number[] {
 *         return this.baseLrs.map((lr) => lr * 0.5 ** this.t);
 *       }
 *     }
 *     const halving = new Halving(opt); // opt's lr is 0.1
 *     halving.step();
 *     halving.lastLr() // → [0.05]
 */
export abstract class LRScheduler {
  readonly optimizer: AnyOptimizer;
  readonly baseLrs: number[];
  /** Number of step() calls so far (PyTorch's last_epoch). */
  t = 0;
  private lastLrs: number[] = [];

  protected constructor(
    protected readonly name: string,
    optimizer: AnyOptimizer,
  ) {
    this.optimizer = checkOptimizer(name, optimizer);
    this.baseLrs = this.optimizer.paramGroups.map((g) => {
      if (!initialLrs.has(g)) initialLrs.set(g, g.lr);
      return initialLrs.get(g)!;
    });
  }

  /** The rates for the current t, from the current ones where the schedule is chainable. */
  protected abstract computeLrs(): number[];

  /** The rates for the current t from the base rates alone (PyTorch's closed form). */
  protected closedFormLrs(): number[] {
    return this.computeLrs();
  }

  /** Applies the rates for t = 0. */
  protected start(): void {
    this.t = 0;
    this.setLrs(this.computeLrs());
  }

  /** Advances t by one and sets every group's rate; takes no epoch (see noEpoch). */
  step(): void {
    noEpoch(this.name, arguments);
    this.t++;
    this.setLrs(this.computeLrs());
  }

  /** Starts the schedule over from t = 0 on the base rates (SequentialLR at a milestone: PyTorch's step(0)). */
  restart(): void {
    this.t = 0;
    this.setLrs(this.closedFormLrs());
  }

  /** The learning rate of each group as the schedule last set it. */
  lastLr(): number[] {
    return [...this.lastLrs];
  }

  /** The progress: t, the base rates, the last rates and the schedule's own counters. */
  stateDict(): SchedulerState {
    checkArity(`${this.name}.stateDict`, arguments, 0, 'stateDict()');
    return { t: this.t, baseLrs: [...this.baseLrs], lastLr: this.lastLr(), ...this.extraState() };
  }

  /**
   * Continues from a stateDict() of the same schedule (its settings come from the constructor, as
   * PyTorch's come from __init__). Like PyTorch's load_state_dict it restores only the schedule (t, the
   * base and last rates, its counters) and leaves the optimizer alone: the groups' rates, momenta and
   * betas come from the optimizer's own state dict. Building a schedule sets the rates (and momentum)
   * for t = 0, so resume in PyTorch's order, loading the optimizer after the schedule is built:
   *
   *     const opt = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
   *     const schedule = new OneCycleLR(opt, { maxLr: 0.2, totalSteps: 1000 });
   *     opt.loadStateDict(saved.optimizer);
   *     schedule.loadStateDict(saved.schedule);
   *
   * Everything is checked before anything changes.
   */
  loadStateDict(state: SchedulerState): void {
    const op = `${this.name}.loadStateDict`;
    checkArity(op, arguments, 1, 'loadStateDict(state)');
    const n = this.optimizer.paramGroups.length;
    if (state === null || typeof state !== 'object' || Array.isArray(state))
      fail(op, `expected a stateDict() object, got ${describe(state)}`);
    checkOptions(op, state, ['t', 'baseLrs', 'lastLr', ...this.extraKeys()] as (keyof SchedulerState &
      string)[]);
    need(op, 't', state.t, R.nonNegativeInteger);
    const rates = (key: string, v: unknown): number[] => {
      if (!Array.isArray(v) || v.length !== n)
        fail(op, `${key} must be an array of ${n} rates (one per parameter group), got ${show(v)}`);
      v.forEach((x, i) => {
        need(op, `${key}[${i}]`, x, R.nonNegative);
      });
      return v as number[];
    };
    const base = rates('baseLrs', state.baseLrs);
    const last = state.lastLr === undefined ? undefined : rates('lastLr', state.lastLr);
    const extra = this.checkExtra(op, state);
    this.t = state.t;
    this.baseLrs.splice(0, this.baseLrs.length, ...base);
    extra();
    this.lastLrs = last ? [...last] : this.currentLrs();
  }

  /** The keys of the schedule's own counters in its state. */
  protected extraKeys(): string[] {
    return [];
  }

  /** The schedule's own counters, for stateDict. */
  protected extraState(): Record<string, unknown> {
    return {};
  }

  /** Checks the schedule's own counters in a state and returns the function that applies them. */
  protected checkExtra(_op: string, _state: SchedulerState): () => void {
    return () => {};
  }

  /** Sets every group's rate (and remembers them for lastLr). */
  protected setLrs(lrs: number[]): void {
    const groups = this.optimizer.paramGroups;
    if (groups.length !== this.baseLrs.length || lrs.length !== groups.length) {
      fail(
        this.name,
        `the optimizer has ${groups.length} parameter groups, the schedule was built for ${this.baseLrs.length}; build the schedule after addParamGroup`,
      );
    }
    groups.forEach((g, i) => {
      g.lr = lrs[i]!;
    });
    this.lastLrs = groups.map((g) => g.lr);
  }

  /** Every group's current rate. */
  protected currentLrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }
}

/** LambdaLR's options. */
export interface LambdaLROptions {
  /** The multiplier of the base rate after t steps; one function for every group, or one per group. */
  lrLambda: ((t: number) => number) | readonly ((t: number) => number)[];
}

/**
 * Sets each group's rate to its base rate times lrLambda(t) (PyTorch's LambdaLR).
 *
 *     const schedule = new optim.LambdaLR(opt, { lrLambda: (t) => 1 / (t + 1) }); // opt's lr is 0.1
 *     const lrs: number[] = [];
 *     for (let epoch = 0; epoch < 4; epoch++) {
 *       lrs.push(opt.paramGroups[0]!.lr); // train an epoch at this rate
 *       schedule.step();
 *     }
 *     lrs // → [0.1, 0.05, 0.033333, 0.025]
 */
export class LambdaLR extends LRScheduler {
  private readonly lambdas: ((t: number) => number)[];

  constructor(optimizer: AnyOptimizer, options: LambdaLROptions) {
    checkArity('LambdaLR', arguments, 2, 'new LambdaLR(optimizer, { lrLambda: (t) => 0.95 ** t })');
    const o = checkOptions('LambdaLR', options, ['lrLambda'], 'new LambdaLR(optimizer, { lrLambda })');
    super('LambdaLR', optimizer);
    const n = this.optimizer.paramGroups.length;
    const fns = Array.isArray(o.lrLambda) ? [...o.lrLambda] : Array.from({ length: n }, () => o.lrLambda);
    if (fns.length !== n)
      fail('LambdaLR', `lrLambda has ${fns.length} functions, the optimizer has ${n} groups`);
    if (!fns.every((f) => typeof f === 'function'))
      fail('LambdaLR', `lrLambda must be a function of t or one per group, got ${show(o.lrLambda)}`);
    this.lambdas = fns as ((t: number) => number)[];
    this.start();
  }

  protected computeLrs(): number[] {
    return this.baseLrs.map((b, i) => {
      const f = this.lambdas[i]!(this.t);
      if (typeof f !== 'number' || !Number.isFinite(f))
        fail('LambdaLR', `lrLambda(${this.t}) must return a finite number, got ${describe(f)}`);
      return b * f;
    });
  }
}

/** StepLR's options. */
export interface StepLROptions {
  stepSize: number;
  gamma?: number;
}

/**
 * Multiplies the rate by gamma (0.1) every stepSize steps: lr = base·gamma^⌊t/stepSize⌋.
 *
 *     const schedule = new optim.StepLR(opt, { stepSize: 2, gamma: 0.5 }); // opt's lr is 0.1
 *     const lrs: number[] = [];
 *     for (let epoch = 0; epoch < 5; epoch++) {
 *       lrs.push(opt.paramGroups[0]!.lr); // train an epoch at this rate
 *       schedule.step();
 *     }
 *     lrs // → [0.1, 0.1, 0.05, 0.05, 0.025]
 */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: AnyOptimizer, options: StepLROptions) {
    const form = 'new StepLR(optimizer, { stepSize: 30, gamma: 0.1 })';
    checkArity('StepLR', arguments, 2, form);
    const { stepSize, gamma = 0.1 } = checkOptions('StepLR', options, ['stepSize', 'gamma'], form);
    need('StepLR', 'stepSize', stepSize, R.positiveInteger);
    need('StepLR', 'gamma', gamma, R.positive);
    super('StepLR', optimizer);
    this.stepSize = stepSize as number;
    this.gamma = gamma;
    this.start();
  }

  protected computeLrs(): number[] {
    const lrs = this.currentLrs();
    return this.t === 0 || this.t % this.stepSize !== 0 ? lrs : lrs.map((lr) => lr * this.gamma);
  }

  protected override closedFormLrs(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** Math.floor(this.t / this.stepSize));
  }
}

/** MultiStepLR's options. */
export interface MultiStepLROptions {
  milestones: readonly number[];
  gamma?: number;
}

/**
 * Multiplies the rate by gamma (0.1) at each milestone: lr = base·gamma^(milestones ≤ t).
 *
 *     const schedule = new optim.MultiStepLR(opt, { milestones: [2, 4] }); // opt's lr is 0.1
 *     const lrs: number[] = [];
 *     for (let epoch = 0; epoch < 5; epoch++) {
 *       lrs.push(opt.paramGroups[0]!.lr); // train an epoch at this rate
 *       schedule.step();
 *     }
 *     lrs // → [0.1, 0.1, 0.01, 0.01, 0.001]
 */
export class MultiStepLR extends LRScheduler {
  readonly milestones: number[];
  readonly gamma: number;

  constructor(optimizer: AnyOptimizer, options: MultiStepLROptions) {
    const form = 'new MultiStepLR(optimizer, { milestones: [30, 80], gamma: 0.1 })';
    checkArity('MultiStepLR', arguments, 2, form);
    const { milestones, gamma = 0.1 } = checkOptions('MultiStepLR', options, ['milestones', 'gamma'], form);
    if (!Array.isArray(milestones) || !milestones.every((m) => R.positiveInteger.ok(m)))
      fail('MultiStepLR', `milestones must be an array of positive integers, got ${show(milestones)}`);
    need('MultiStepLR', 'gamma', gamma, R.positive);
    super('MultiStepLR', optimizer);
    // A milestone given twice multiplies by gamma twice, as PyTorch's Counter does.
    this.milestones = [...milestones].sort((a, b) => a - b);
    this.gamma = gamma;
    this.start();
  }

  protected computeLrs(): number[] {
    const hits = this.milestones.filter((m) => m === this.t).length;
    return this.currentLrs().map((lr) => (hits === 0 ? lr : lr * this.gamma ** hits));
  }

  protected override closedFormLrs(): number[] {
    const passed = this.milestones.filter((m) => m <= this.t).length;
    return this.baseLrs.map((b) => b * this.gamma ** passed);
  }
}

/** ConstantLR's options. */
export interface ConstantLROptions {
  factor?: number;
  totalIters?: number;
}

/**
 * Multiplies the rate by factor (1/3) until t reaches totalIters (5), then restores it.
 *
 *     const schedule = new optim.ConstantLR(opt, { factor: 0.5, totalIters: 2 }); // opt's lr is 0.1
 *     const lrs: number[] = [];
 *     for (let epoch = 0; epoch < 4; epoch++) {
 *       lrs.push(opt.paramGroups[0]!.lr); // train an epoch at this rate
 *       schedule.step();
 *     }
 *     lrs // → [0.05, 0.05, 0.1, 0.1]
 */
export class ConstantLR extends LRScheduler {
  readonly factor: number;
  readonly totalIters: number;

  constructor(optimizer: AnyOptimizer, options?: ConstantLROptions) {
    const form = 'new ConstantLR(optimizer, { factor: 0.5, totalIters: 4 })';
    checkArity('ConstantLR', arguments, 2, form);
    const { factor = 1 / 3, totalIters = 5 } = checkOptions(
      'ConstantLR',
      options,
      ['factor', 'totalIters'],
      form,
    );
    need('ConstantLR', 'factor', factor, fractionOpenAtZero);
    need('ConstantLR', 'totalIters', totalIters, R.nonNegativeInteger);
    super('ConstantLR', optimizer);
    this.factor = factor;
    this.totalIters = totalIters;
    this.start();
  }

  protected computeLrs(): number[] {
    const lrs = this.currentLrs();
    if (this.t === 0) return lrs.map((lr) => lr * this.factor);
    return this.t === this.totalIters ? lrs.map((lr) => lr * (1 / this.factor)) : lrs;
  }

  protected override closedFormLrs(): number[] {
    return this.baseLrs.map((b) => b * (this.t >= this.totalIters ? 1 : this.factor));
  }
}

/** LinearLR's options. */
export interface LinearLROptions {
  startFactor?: number;
  endFactor?: number;
  totalIters?: number;
}

/**
 * Moves the rate's multiplier linearly from startFactor (1/3) to endFactor (1) over totalIters (5)
 * steps, then keeps it: lr = base·(start + (end - start)·min(t, totalIters)/totalIters).
 *
 *     const schedule = new optim.LinearLR(opt, { startFactor: 0.25, totalIters: 3 }); // opt's lr is 0.1
 *     const lrs: number[] = [];
 *     for (let epoch = 0; epoch < 5; epoch++) {
 *       lrs.push(opt.paramGroups[0]!.lr); // train an epoch at this rate
 *       schedule.step();
 *     }
 *     lrs // → [0.025, 0.05, 0.075, 0.1, 0.1]
 */
export class LinearLR extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;

  constructor(optimizer: AnyOptimizer, options?: LinearLROptions) {
    const form = 'new LinearLR(optimizer, { startFactor: 0.1, endFactor: 1, totalIters: 5 })';
    checkArity('LinearLR', arguments, 2, form);
    const o = checkOptions('LinearLR', options, ['startFactor', 'endFactor', 'totalIters'], form);
    const { startFactor = 1 / 3, endFactor = 1, totalIters = 5 } = o;
    // startFactor 0 would divide by zero in the chainable step.
    need('LinearLR', 'startFactor', startFactor, fractionOpenAtZero);
    need('LinearLR', 'endFactor', endFactor, R.unitInterval);
    need('LinearLR', 'totalIters', totalIters, R.positiveInteger);
    super('LinearLR', optimizer);
    this.startFactor = startFactor;
    this.endFactor = endFactor;
    this.totalIters = totalIters;
    this.start();
  }

  protected computeLrs(): number[] {
    const { startFactor: s, endFactor: e, totalIters: n, t } = this;
    const lrs = this.currentLrs();
    if (t === 0) return lrs.map((lr) => lr * s);
    if (t > n) return lrs;
    return lrs.map((lr) => lr * (1 + (e - s) / (n * s + (t - 1) * (e - s))));
  }

  protected override closedFormLrs(): number[] {
    const { startFactor: s, endFactor: e, totalIters: n } = this;
    return this.baseLrs.map((b) => b * (s + ((e - s) * Math.min(n, this.t)) / n));
  }
}

/** ExponentialLR's options. */
export interface ExponentialLROptions {
  gamma: number;
}

/**
 * Multiplies the rate by gamma every step: lr = base·gamma^t.
 *
 *     const schedule = new optim.ExponentialLR(opt, { gamma: 0.5 }); // opt's lr is 0.1
 *     const lrs: number[] = [];
 *     for (let epoch = 0; epoch < 4; epoch++) {
 *       lrs.push(opt.paramGroups[0]!.lr); // train an epoch at this rate
 *       schedule.step();
 *     }
 *     lrs // → [0.1, 0.05, 0.025, 0.0125]
 */
export class ExponentialLR extends LRScheduler {
  readonly gamma: number;

  constructor(optimizer: AnyOptimizer, options: ExponentialLROptions) {
    const form = 'new ExponentialLR(optimizer, { gamma: 0.9 })';
    checkArity('ExponentialLR', arguments, 2, form);
    const { gamma } = checkOptions('ExponentialLR', options, ['gamma'], form);
    need('ExponentialLR', 'gamma', gamma, R.positive);
    super('ExponentialLR', optimizer);
    this.gamma = gamma as number;
    this.start();
  }

  protected computeLrs(): number[] {
    const lrs = this.currentLrs();
    return this.t === 0 ? lrs : lrs.map((lr) => lr * this.gamma);
  }

  protected override closedFormLrs(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** this.t);
  }
}

/** PolynomialLR's options. */
export interface PolynomialLROptions {
  totalIters?: number;
  power?: number;
}

/**
 * Decays the rate to 0 over totalIters (5) steps: lr = base·(1 - min(t, totalIters)/totalIters)^power.
 *
 *     const schedule = new optim.PolynomialLR(opt, { totalIters: 4, power: 1 }); // opt's lr is 0.1
 *     const lrs: number[] = [];
 *     for (let epoch = 0; epoch < 5; epoch++) {
 *       lrs.push(opt.paramGroups[0]!.lr); // train an epoch at this rate
 *       schedule.step();
 *     }
 *     lrs // → [0.1, 0.075, 0.05, 0.025, 0]
 */
export class PolynomialLR extends LRScheduler {
  readonly totalIters: number;
  readonly power: number;

  constructor(optimizer: AnyOptimizer, options?: PolynomialLROptions) {
    const form = 'new PolynomialLR(optimizer, { totalIters: 10, power: 2 })';
    checkArity('PolynomialLR', arguments, 2, form);
    const { totalIters = 5, power = 1 } = checkOptions(
      'PolynomialLR',
      options,
      ['totalIters', 'power'],
      form,
    );
    need('PolynomialLR', 'totalIters', totalIters, R.positiveInteger);
    need('PolynomialLR', 'power', power, R.nonNegative);
    super('PolynomialLR', optimizer);
    this.totalIters = totalIters;
    this.power = power;
    this.start();
  }

  protected computeLrs(): number[] {
    const { t, totalIters: n } = this;
    const lrs = this.currentLrs();
    if (t === 0 || t > n) return lrs;
    const decay = ((1 - t / n) / (1 - (t - 1) / n)) ** this.power;
    return lrs.map((lr) => lr * decay);
  }

  protected override closedFormLrs(): number[] {
    const n = this.totalIters;
    return this.baseLrs.map((b) => b * (1 - Math.min(n, this.t) / n) ** this.power);
  }
}

/** CosineAnnealingLR's options. */
export interface CosineAnnealingLROptions {
  tMax: number;
  /** The lowest rate, absolute (not a fraction of the initial one), as in PyTorch. */
  etaMin?: number;
}

/**
 * Half a cosine from the base rate down to etaMin over tMax steps (SGDR without restarts, Loshchilov &
 * Hutter): lr = etaMin + (base - etaMin)(1 + cos(π t/tMax))/2. As in PyTorch, the cosine continues past
 * tMax, so the rate rises again towards the base over the next tMax steps.
 *
 *     const schedule = new optim.CosineAnnealingLR(opt, { tMax: 4 }); // opt's lr is 0.1
 *     const lrs: number[] = [];
 *     for (let epoch = 0; epoch < 5; epoch++) {
 *       lrs.push(opt.paramGroups[0]!.lr); // train an epoch at this rate
 *       schedule.step();
 *     }
 *     lrs // → [0.1, 0.085355, 0.05, 0.014645, 0]
 */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: AnyOptimizer, options: CosineAnnealingLROptions) {
    const form = 'new CosineAnnealingLR(optimizer, { tMax: 100, etaMin: 0 })';
    checkArity('CosineAnnealingLR', arguments, 2, form);
    const { tMax, etaMin = 0 } = checkOptions('CosineAnnealingLR', options, ['tMax', 'etaMin'], form);
    need('CosineAnnealingLR', 'tMax', tMax, R.positive);
    need('CosineAnnealingLR', 'etaMin', etaMin, R.nonNegative);
    super('CosineAnnealingLR', optimizer);
    this.tMax = tMax as number;
    this.etaMin = etaMin;
    this.start();
  }

  protected computeLrs(): number[] {
    const { t, tMax: T, etaMin } = this;
    const lrs = this.currentLrs();
    if (t === 0) return lrs;
    // At the bottom of a cycle the ratio below would divide by zero; PyTorch steps up by the first increment.
    if (mod(t - 1 - T, 2 * T) === 0)
      return lrs.map((lr, i) => lr + ((this.baseLrs[i]! - etaMin) * (1 - Math.cos(Math.PI / T))) / 2);
    const ratio = (1 + Math.cos((Math.PI * t) / T)) / (1 + Math.cos((Math.PI * (t - 1)) / T));
    return lrs.map((lr) => ratio * (lr - etaMin) + etaMin);
  }

  protected override closedFormLrs(): number[] {
    const { t, tMax: T, etaMin } = this;
    return this.baseLrs.map((b) => etaMin + ((b - etaMin) * (1 + Math.cos((Math.PI * t) / T))) / 2);
  }
}

/** CosineAnnealingWarmRestarts's options (PyTorch's T_0, T_mult, eta_min). */
export interface CosineAnnealingWarmRestartsOptions {
  t0: number;
  tMult?: number;
  etaMin?: number;
}

/**
 * SGDR (Loshchilov & Hutter, 2017): cosine annealing from the base rate to etaMin over a cycle of T_i
 * steps, then a restart at the base rate; the first cycle has t0 steps and each next one tMult times
 * more. lr = etaMin + (base - etaMin)(1 + cos(π T_cur/T_i))/2.
 *
 *     const schedule = new optim.CosineAnnealingWarmRestarts(opt, { t0: 2 }); // opt's lr is 0.1
 *     const lrs: number[] = [];
 *     for (let epoch = 0; epoch < 5; epoch++) {
 *       lrs.push(opt.paramGroups[0]!.lr); // train an epoch at this rate
 *       schedule.step();
 *     }
 *     lrs // → [0.1, 0.05, 0.1, 0.05, 0.1]
 */
export class CosineAnnealingWarmRestarts extends LRScheduler {
  readonly t0: number;
  readonly tMult: number;
  readonly etaMin: number;
  /** Steps since the last restart, and the length of the current cycle. */
  tCur = 0;
  tI: number;

  constructor(optimizer: AnyOptimizer, options: CosineAnnealingWarmRestartsOptions) {
    const form = 'new CosineAnnealingWarmRestarts(optimizer, { t0: 10, tMult: 2 })';
    const op = 'CosineAnnealingWarmRestarts';
    checkArity(op, arguments, 2, form);
    const { t0, tMult = 1, etaMin = 0 } = checkOptions(op, options, ['t0', 'tMult', 'etaMin'], form);
    need(op, 't0', t0, R.positiveInteger);
    need(op, 'tMult', tMult, R.positiveInteger);
    need(op, 'etaMin', etaMin, R.nonNegative);
    super(op, optimizer);
    this.t0 = t0 as number;
    this.tI = this.t0;
    this.tMult = tMult;
    this.etaMin = etaMin;
    this.start();
  }

  /**
   * Advances one step, or with `epoch` jumps to that (possibly fractional) point of the schedule, so
   * that it can be stepped per batch as `step(epoch + batch / batches)`, as PyTorch's can; t becomes
   * ⌊epoch⌋ and plain steps continue from there.
   */
  override step(epoch?: number): void {
    checkArity(this.name, arguments, 1, 'step(epoch + batch / batches)');
    if (epoch !== undefined) {
      this.jumpTo(epoch);
      return;
    }
    if (this.t < 0) {
      this.restart();
      return;
    }
    this.t++;
    this.tCur++;
    if (this.tCur >= this.tI) {
      this.tCur -= this.tI;
      this.tI *= this.tMult;
    }
    this.setLrs(this.computeLrs());
  }

  private jumpTo(epoch: number): void {
    need(this.name, 'step(epoch): epoch', epoch, R.nonNegative);
    const { t0, tMult } = this;
    if (epoch < t0) {
      this.tI = t0;
      this.tCur = epoch;
    } else if (tMult === 1) this.tCur = epoch % t0;
    else {
      // The cycle that epoch falls in: cycles end at t0·(tMult^n - 1)/(tMult - 1).
      const n = Math.floor(Math.log((epoch / t0) * (tMult - 1) + 1) / Math.log(tMult));
      this.tCur = epoch - (t0 * (tMult ** n - 1)) / (tMult - 1);
      this.tI = t0 * tMult ** n;
    }
    this.t = Math.floor(epoch);
    this.setLrs(this.computeLrs());
  }

  override restart(): void {
    this.tCur = 0;
    this.tI = this.t0;
    super.restart();
  }

  protected computeLrs(): number[] {
    const c = (1 + Math.cos((Math.PI * this.tCur) / this.tI)) / 2;
    return this.baseLrs.map((b) => this.etaMin + (b - this.etaMin) * c);
  }

  protected override extraKeys(): string[] {
    return ['tCur', 'tI'];
  }

  protected override extraState(): Record<string, unknown> {
    return { tCur: this.tCur, tI: this.tI };
  }

  protected override checkExtra(op: string, s: SchedulerState): () => void {
    need(op, 'tCur', s.tCur, R.nonNegative);
    need(op, 'tI', s.tI, R.positiveInteger);
    return () => {
      this.tCur = s.tCur as number;
      this.tI = s.tI as number;
    };
  }
}

/** Whether a schedule may cycle an optimizer's momentum (SGD, RMSprop) or its beta1 (the Adam family). */
function momentumKey(optimizer: AnyOptimizer, allowBetas: boolean): 'momentum' | 'betas' | undefined {
  if ('momentum' in optimizer.defaults) return 'momentum';
  if (allowBetas && 'betas' in optimizer.defaults) return 'betas';
  return undefined;
}

function setMomentum(optimizer: AnyOptimizer, key: 'momentum' | 'betas', values: number[]): void {
  optimizer.paramGroups.forEach((g, i) => {
    const group = g as unknown as Record<string, unknown>;
    if (key === 'momentum') group.momentum = values[i]!;
    else group.betas = [values[i]!, (group.betas as [number, number])[1]];
  });
}

/** OneCycleLR's options (PyTorch's names in camelCase). */
export interface OneCycleLROptions {
  maxLr: number | readonly number[];
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  pctStart?: number;
  annealStrategy?: 'cos' | 'linear';
  cycleMomentum?: boolean;
  baseMomentum?: number | readonly number[];
  maxMomentum?: number | readonly number[];
  divFactor?: number;
  finalDivFactor?: number;
  threePhase?: boolean;
}

interface Phase {
  end: number;
  lr: [number, number][];
  momentum: [number, number][];
}

/**
 * The 1cycle policy (Smith & Topin, 2018): the rate rises from maxLr/divFactor to maxLr over the first
 * pctStart of totalSteps, then falls to maxLr/(divFactor·finalDivFactor), annealed by half a cosine (or
 * linearly); momentum (or Adam's beta1) moves the opposite way between maxMomentum and baseMomentum.
 * With threePhase the fall first returns to the initial rate symmetrically, then annihilates. Stepped
 * once per batch; stepping past totalSteps fails.
 *
 *     const sgd = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 *     const schedule = new optim.OneCycleLR(sgd, { maxLr: 1, totalSteps: 10 });
 *     const lrs: number[] = [];
 *     for (let batch = 0; batch < 10; batch++) {
 *       lrs.push(sgd.paramGroups[0]!.lr); // train a batch at this rate
 *       schedule.step();
 *     }
 *     lrs.map((lr) => Number(lr.toFixed(2))) // → [0.04, 0.52, 1, 0.95, 0.81, 0.61, 0.39, 0.19, 0.05, 0]
 */
export class OneCycleLR extends LRScheduler {
  readonly totalSteps: number;
  readonly annealStrategy: 'cos' | 'linear';
  private readonly phases: Phase[];
  private readonly momentumKey: 'momentum' | 'betas' | undefined;

  constructor(optimizer: AnyOptimizer, options: OneCycleLROptions) {
    const op = 'OneCycleLR';
    const form = 'new OneCycleLR(optimizer, { maxLr: 0.1, totalSteps: 1000 })';
    checkArity(op, arguments, 2, form);
    const o = checkOptions(
      op,
      options,
      [
        'maxLr',
        'totalSteps',
        'epochs',
        'stepsPerEpoch',
        'pctStart',
        'annealStrategy',
        'cycleMomentum',
        'baseMomentum',
        'maxMomentum',
        'divFactor',
        'finalDivFactor',
        'threePhase',
      ],
      form,
    );
    const opt = checkOptimizer(op, optimizer);
    const n = opt.paramGroups.length;
    let total: number;
    if (o.totalSteps !== undefined) {
      need(op, 'totalSteps', o.totalSteps, R.positiveInteger);
      total = o.totalSteps;
    } else if (o.epochs !== undefined || o.stepsPerEpoch !== undefined) {
      need(op, 'epochs', o.epochs, R.positiveInteger);
      need(op, 'stepsPerEpoch', o.stepsPerEpoch, R.positiveInteger);
      total = o.epochs! * o.stepsPerEpoch!;
    } else fail(op, `needs totalSteps, or epochs and stepsPerEpoch: ${form}`);
    const {
      pctStart = 0.3,
      divFactor = 25,
      finalDivFactor = 1e4,
      cycleMomentum = true,
      threePhase = false,
    } = o;
    need(op, 'pctStart', pctStart, R.unitInterval);
    need(op, 'divFactor', divFactor, R.positive);
    need(op, 'finalDivFactor', finalDivFactor, R.positive);
    need(op, 'cycleMomentum', cycleMomentum, R.flag);
    need(op, 'threePhase', threePhase, R.flag);
    const annealStrategy = oneOf(op, 'annealStrategy', o.annealStrategy ?? 'cos', ['cos', 'linear'] as const);
    if (o.maxLr === undefined) fail(op, `needs maxLr: ${form}`);
    const maxLrs = perGroup(op, 'maxLr', o.maxLr, n, R.nonNegative);
    const initial = maxLrs.map((m) => m / divFactor);
    const min = initial.map((i) => i / finalDivFactor);
    const key = cycleMomentum ? momentumKey(opt, true) : undefined;
    if (cycleMomentum && !key)
      fail(
        op,
        `cycleMomentum needs an optimizer with momentum or betas, ${opt.constructor.name} has neither; pass cycleMomentum: false`,
      );
    const maxM = perGroup(op, 'maxMomentum', o.maxMomentum ?? 0.95, n, R.unitInterval);
    const baseM = perGroup(op, 'baseMomentum', o.baseMomentum ?? 0.85, n, R.unitInterval);
    const up = pctStart * total - 1;
    const ends = threePhase ? [up, 2 * pctStart * total - 2, total - 1] : [up, total - 1];
    // A phase of no steps would divide by zero (PyTorch gives NaN rates).
    ends.forEach((end, i) => {
      if (!(end > (ends[i - 1] ?? 0)))
        fail(
          op,
          `pctStart ${pctStart} of ${total} steps leaves phase ${i + 1} without steps; raise totalSteps or change pctStart`,
        );
    });
    const pairs = (a: number[], b: number[]): [number, number][] => a.map((x, i) => [x, b[i]!]);
    const phases: Phase[] = threePhase
      ? [
          { end: ends[0]!, lr: pairs(initial, maxLrs), momentum: pairs(maxM, baseM) },
          { end: ends[1]!, lr: pairs(maxLrs, initial), momentum: pairs(baseM, maxM) },
          { end: ends[2]!, lr: pairs(initial, min), momentum: pairs(maxM, maxM) },
        ]
      : [
          { end: ends[0]!, lr: pairs(initial, maxLrs), momentum: pairs(maxM, baseM) },
          { end: ends[1]!, lr: pairs(maxLrs, min), momentum: pairs(baseM, maxM) },
        ];
    opt.paramGroups.forEach((g, i) => {
      initialLrs.set(g, initial[i]!);
    });
    if (key) setMomentum(opt, key, maxM);
    super(op, opt);
    this.totalSteps = total;
    this.annealStrategy = annealStrategy;
    this.phases = phases;
    this.momentumKey = key;
    this.start();
  }

  protected computeLrs(): number[] {
    const t = this.t;
    if (t > this.totalSteps)
      fail(
        'OneCycleLR',
        `step() was called ${t} times, past totalSteps ${this.totalSteps}; build it with more totalSteps (or epochs × stepsPerEpoch)`,
      );
    const anneal =
      this.annealStrategy === 'cos'
        ? (a: number, b: number, pct: number) => b + ((a - b) / 2) * (Math.cos(Math.PI * pct) + 1)
        : (a: number, b: number, pct: number) => (b - a) * pct + a;
    let start = 0;
    let phase = this.phases[this.phases.length - 1]!;
    for (const ph of this.phases) {
      if (t <= ph.end || ph === phase) {
        phase = ph;
        break;
      }
      start = ph.end;
    }
    const pct = (t - start) / (phase.end - start);
    if (this.momentumKey)
      setMomentum(
        this.optimizer,
        this.momentumKey,
        phase.momentum.map(([a, b]) => anneal(a, b, pct)),
      );
    return phase.lr.map(([a, b]) => anneal(a, b, pct));
  }
}

/** CyclicLR's options (PyTorch's names in camelCase). */
export interface CyclicLROptions {
  baseLr: number | readonly number[];
  maxLr: number | readonly number[];
  stepSizeUp?: number;
  stepSizeDown?: number;
  mode?: 'triangular' | 'triangular2' | 'exp_range';
  gamma?: number;
  /** A custom amplitude scale of the cycle number (or of t, with scaleMode 'iterations'), in place of mode. */
  scaleFn?: (x: number) => number;
  scaleMode?: 'cycle' | 'iterations';
  cycleMomentum?: boolean;
  baseMomentum?: number | readonly number[];
  maxMomentum?: number | readonly number[];
}

/**
 * Cyclical learning rates (Smith, 2017): the rate goes from baseLr up to maxLr over stepSizeUp steps
 * and back over stepSizeDown (= stepSizeUp), the amplitude scaled per cycle: 'triangular' keeps it,
 * 'triangular2' halves it each cycle, 'exp_range' multiplies it by gamma^t. With cycleMomentum (SGD's or
 * RMSprop's momentum) momentum moves the opposite way, between maxMomentum and baseMomentum. Stepped once
 * per batch.
 *
 *     const sgd = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 *     const schedule = new optim.CyclicLR(sgd, { baseLr: 0.01, maxLr: 0.1, stepSizeUp: 2 });
 *     const seen: number[][] = [];
 *     for (let batch = 0; batch < 5; batch++) {
 *       seen.push([sgd.paramGroups[0]!.lr, sgd.paramGroups[0]!.momentum]); // train a batch with these
 *       schedule.step();
 *     }
 *     seen // → [[0.01, 0.9], [0.055, 0.85], [0.1, 0.8], [0.055, 0.85], [0.01, 0.9]]
 */
export class CyclicLR extends LRScheduler {
  private readonly maxLrs: number[];
  private readonly totalSize: number;
  private readonly stepRatio: number;
  private readonly scale: (x: number) => number;
  private readonly scaleMode: 'cycle' | 'iterations';
  private readonly momenta: { base: number[]; max: number[] } | undefined;

  constructor(optimizer: AnyOptimizer, options: CyclicLROptions) {
    const op = 'CyclicLR';
    const form = 'new CyclicLR(optimizer, { baseLr: 0.001, maxLr: 0.1, stepSizeUp: 2000 })';
    checkArity(op, arguments, 2, form);
    const o = checkOptions(
      op,
      options,
      [
        'baseLr',
        'maxLr',
        'stepSizeUp',
        'stepSizeDown',
        'mode',
        'gamma',
        'scaleFn',
        'scaleMode',
        'cycleMomentum',
        'baseMomentum',
        'maxMomentum',
      ],
      form,
    );
    const opt = checkOptimizer(op, optimizer);
    const n = opt.paramGroups.length;
    if (o.baseLr === undefined || o.maxLr === undefined) fail(op, `needs baseLr and maxLr: ${form}`);
    const baseLrs = perGroup(op, 'baseLr', o.baseLr, n, R.nonNegative);
    const maxLrs = perGroup(op, 'maxLr', o.maxLr, n, R.nonNegative);
    const { stepSizeUp = 2000, gamma = 1, cycleMomentum = true } = o;
    need(op, 'stepSizeUp', stepSizeUp, R.positive);
    const stepSizeDown = o.stepSizeDown ?? stepSizeUp;
    need(op, 'stepSizeDown', stepSizeDown, R.positive);
    need(op, 'gamma', gamma, R.positive);
    need(op, 'cycleMomentum', cycleMomentum, R.flag);
    let scale: (x: number) => number;
    let scaleMode: 'cycle' | 'iterations';
    if (o.scaleFn !== undefined) {
      if (typeof o.scaleFn !== 'function') fail(op, `scaleFn must be a function, got ${describe(o.scaleFn)}`);
      if (o.mode !== undefined) fail(op, 'give either mode or scaleFn, not both');
      scale = o.scaleFn;
      scaleMode = oneOf(op, 'scaleMode', o.scaleMode ?? 'cycle', ['cycle', 'iterations'] as const);
    } else {
      if (o.scaleMode !== undefined) fail(op, 'scaleMode goes with scaleFn; each mode has its own');
      const mode = oneOf(op, 'mode', o.mode ?? 'triangular', [
        'triangular',
        'triangular2',
        'exp_range',
      ] as const);
      scale =
        mode === 'triangular'
          ? () => 1
          : mode === 'triangular2'
            ? (x) => 1 / 2 ** (x - 1)
            : (x) => gamma ** x;
      scaleMode = mode === 'exp_range' ? 'iterations' : 'cycle';
    }
    let momenta: { base: number[]; max: number[] } | undefined;
    if (cycleMomentum) {
      if (!momentumKey(opt, false))
        fail(
          op,
          `cycleMomentum needs an optimizer with momentum (SGD, RMSprop), ${opt.constructor.name} has none; pass cycleMomentum: false`,
        );
      momenta = {
        base: perGroup(op, 'baseMomentum', o.baseMomentum ?? 0.8, n, R.nonNegative),
        max: perGroup(op, 'maxMomentum', o.maxMomentum ?? 0.9, n, R.nonNegative),
      };
      setMomentum(opt, 'momentum', momenta.base);
    }
    opt.paramGroups.forEach((g, i) => {
      g.lr = baseLrs[i]!;
    });
    super(op, opt);
    this.baseLrs.splice(0, n, ...baseLrs);
    this.maxLrs = maxLrs;
    this.totalSize = stepSizeUp + stepSizeDown;
    this.stepRatio = stepSizeUp / this.totalSize;
    this.scale = scale;
    this.scaleMode = scaleMode;
    this.momenta = momenta;
    this.start();
  }

  protected computeLrs(): number[] {
    const t = this.t;
    const cycle = Math.floor(1 + t / this.totalSize);
    const x = 1 + t / this.totalSize - cycle;
    const height = x <= this.stepRatio ? x / this.stepRatio : (x - 1) / (this.stepRatio - 1);
    const s = this.scale(this.scaleMode === 'cycle' ? cycle : t);
    if (this.momenta) {
      const { base, max } = this.momenta;
      setMomentum(
        this.optimizer,
        'momentum',
        max.map((m, i) => m - (m - base[i]!) * height * s),
      );
    }
    return this.baseLrs.map((b, i) => b + (this.maxLrs[i]! - b) * height * s);
  }
}

/**
 * The base of the schedules made of others (SequentialLR, ChainedScheduler): the rates are those the
 * children last set, and the state holds each child's state, loaded all or none.
 */
abstract class ComposedScheduler extends LRScheduler {
  readonly schedulers: LRScheduler[];

  protected constructor(name: string, optimizer: AnyOptimizer, schedulers: readonly LRScheduler[]) {
    super(name, optimizer);
    this.schedulers = [...schedulers];
  }

  protected computeLrs(): number[] {
    return this.currentLrs();
  }

  protected override extraKeys(): string[] {
    return ['schedulers'];
  }

  protected override extraState(): Record<string, unknown> {
    return { schedulers: this.schedulers.map((s) => s.stateDict()) };
  }

  protected override checkExtra(op: string, s: SchedulerState): () => void {
    return loadChildren(op, this.schedulers, s.schedulers);
  }
}

/** SequentialLR's options. */
export interface SequentialLROptions {
  schedulers: readonly LRScheduler[];
  /** The steps at which the next schedule takes over (one fewer than the schedules). */
  milestones: readonly number[];
}

/**
 * Runs schedules one after another: the first until milestones[0], then the next, each started over
 * from its base rates when it takes over (PyTorch's SequentialLR).
 *
 *     // Warm up linearly for 2 epochs, then decay exponentially from the base rate (opt's lr is 0.1):
 *     const warmUp = new optim.LinearLR(opt, { startFactor: 0.1, totalIters: 2 });
 *     const decay = new optim.ExponentialLR(opt, { gamma: 0.5 });
 *     const schedule = new optim.SequentialLR(opt, { schedulers: [warmUp, decay], milestones: [2] });
 *     const lrs: number[] = [];
 *     for (let epoch = 0; epoch < 5; epoch++) {
 *       lrs.push(opt.paramGroups[0]!.lr); // train an epoch at this rate
 *       schedule.step();
 *     }
 *     lrs // → [0.01, 0.055, 0.1, 0.05, 0.025]
 */
export class SequentialLR extends ComposedScheduler {
  readonly milestones: number[];

  constructor(optimizer: AnyOptimizer, options: SequentialLROptions) {
    const op = 'SequentialLR';
    const form = 'new SequentialLR(optimizer, { schedulers: [warmup, decay], milestones: [5] })';
    checkArity(op, arguments, 2, form);
    const { schedulers, milestones } = checkOptions(op, options, ['schedulers', 'milestones'], form);
    if (
      !Array.isArray(schedulers) ||
      schedulers.length === 0 ||
      !schedulers.every((s) => s instanceof LRScheduler)
    )
      fail(op, `schedulers must be a non-empty array of schedules, got ${show(schedulers)}`);
    schedulers.forEach((s, i) => {
      if (s.optimizer !== optimizer) fail(op, `schedulers[${i}] belongs to another optimizer`);
    });
    if (!Array.isArray(milestones) || milestones.length !== schedulers.length - 1)
      fail(
        op,
        `needs ${schedulers.length - 1} milestones for ${schedulers.length} schedules, got ${show(milestones)}`,
      );
    milestones.forEach((m, i) => {
      if (!R.positiveInteger.ok(m) || (i > 0 && m <= milestones[i - 1]!))
        fail(op, `milestones must be increasing positive integers, got ${show(milestones)}`);
    });
    super(op, optimizer, schedulers);
    this.milestones = [...milestones];
    // Undo what building the schedules did to the rates and take the first one's first step again, as
    // PyTorch does; the others start over (restart) at their milestones.
    this.setLrs([...this.baseLrs]);
    const first = this.schedulers[0]!;
    first.t -= 1;
    first.step();
    this.setLrs(this.currentLrs());
  }

  override step(): void {
    noEpoch(this.name, arguments);
    this.t++;
    const idx = this.milestones.filter((m) => m <= this.t).length;
    const s = this.schedulers[idx]!;
    if (idx > 0 && this.milestones[idx - 1] === this.t) s.restart();
    else s.step();
    this.setLrs(this.currentLrs());
  }
}

/**
 * Loads each child schedule's state, all or none: a child that refuses its state puts the others back
 * as they were. Runs while the parent checks its state, so that nothing fails after.
 */
function loadChildren(op: string, children: LRScheduler[], states: unknown): () => void {
  if (!Array.isArray(states) || states.length !== children.length)
    fail(op, `schedulers must hold ${children.length} states, got ${show(states)}`);
  const saved = children.map((c) => c.stateDict());
  try {
    children.forEach((c, i) => {
      c.loadStateDict(states[i] as SchedulerState);
    });
  } catch (e) {
    children.forEach((c, i) => {
      c.loadStateDict(saved[i]!);
    });
    throw e;
  }
  return () => {};
}

/**
 * Steps several schedules together on one optimizer, each applying its change to the rate the one
 * before set (PyTorch's ChainedScheduler).
 *
 *     // Half the rate for 2 epochs, and 0.9 times less every epoch (opt's lr is 0.1):
 *     const schedule = new optim.ChainedScheduler([
 *       new optim.ConstantLR(opt, { factor: 0.5, totalIters: 2 }),
 *       new optim.ExponentialLR(opt, { gamma: 0.9 }),
 *     ]);
 *     const lrs: number[] = [];
 *     for (let epoch = 0; epoch < 4; epoch++) {
 *       lrs.push(opt.paramGroups[0]!.lr); // train an epoch at this rate
 *       schedule.step();
 *     }
 *     lrs // → [0.05, 0.045, 0.081, 0.0729]
 */
export class ChainedScheduler extends ComposedScheduler {
  constructor(schedulers: readonly LRScheduler[]) {
    const op = 'ChainedScheduler';
    checkArity(op, arguments, 1, 'new ChainedScheduler([first, second])');
    if (
      !Array.isArray(schedulers) ||
      schedulers.length === 0 ||
      !schedulers.every((s) => s instanceof LRScheduler)
    )
      fail(op, `expected a non-empty array of schedules, got ${show(schedulers)}`);
    const optimizer = schedulers[0]!.optimizer;
    schedulers.forEach((s, i) => {
      if (s.optimizer !== optimizer)
        fail(op, `schedulers[${i}] belongs to another optimizer than schedulers[0]`);
    });
    super(op, optimizer, schedulers);
    this.setLrs(this.currentLrs());
  }

  override step(): void {
    noEpoch(this.name, arguments);
    this.t++;
    for (const s of this.schedulers) s.step();
    this.setLrs(this.currentLrs());
  }
}

/** LinearWarmupLR's options. */
export interface LinearWarmupLROptions {
  warmupSteps: number;
  startFactor?: number;
  /** The multiplier after the warm-up, as a function of the steps since it ended (1 if absent). */
  after?: (t: number) => number;
}

/**
 * Linear warm-up from startFactor (1/3) to 1 over warmupSteps, then (optionally) another multiplier,
 * counted from the end of the warm-up: a LambdaLR.
 *
 *     const schedule = new optim.LinearWarmupLR(opt, { warmupSteps: 3, after: (t) => 0.5 ** t }); // opt's lr is 0.1
 *     const lrs: number[] = [];
 *     for (let step = 0; step < 6; step++) {
 *       lrs.push(opt.paramGroups[0]!.lr); // train a batch at this rate
 *       schedule.step();
 *     }
 *     lrs // → [0.033333, 0.055556, 0.077778, 0.1, 0.05, 0.025]
 */
export class LinearWarmupLR extends LambdaLR {
  constructor(optimizer: AnyOptimizer, options: LinearWarmupLROptions) {
    const form = 'new LinearWarmupLR(optimizer, { warmupSteps: 5, startFactor: 0.1 })';
    checkArity('LinearWarmupLR', arguments, 2, form);
    const o = checkOptions('LinearWarmupLR', options, ['warmupSteps', 'startFactor', 'after'], form);
    const { warmupSteps, startFactor = 1 / 3, after } = o;
    need('LinearWarmupLR', 'warmupSteps', warmupSteps, R.positiveInteger);
    need('LinearWarmupLR', 'startFactor', startFactor, R.finite);
    if (after !== undefined && typeof after !== 'function')
      fail('LinearWarmupLR', `after must be a function of t, got ${describe(after)}`);
    const w = warmupSteps as number;
    super(optimizer, {
      lrLambda: (t) => (t < w ? startFactor + ((1 - startFactor) * t) / w : after ? after(t - w) : 1),
    });
  }
}

/** ReduceLROnPlateau's options (PyTorch's names in camelCase). */
export interface ReduceLROnPlateauOptions {
  mode?: 'min' | 'max';
  factor?: number;
  patience?: number;
  threshold?: number;
  thresholdMode?: 'rel' | 'abs';
  cooldown?: number;
  minLr?: number | readonly number[];
  eps?: number;
}

/** ReduceLROnPlateau's progress. */
export interface PlateauState {
  t: number;
  /** The best metric so far, null before the first. */
  best: number | null;
  numBadEpochs: number;
  cooldownCounter: number;
  lastLr: number[];
}

/**
 * Multiplies the rate by factor (0.1) when a metric has not improved for more than patience (10)
 * steps, then waits cooldown steps; never below minLr, and not by less than eps. A metric improves on
 * the best when it is below best·(1 - threshold) ('min', 'rel'), below best - threshold ('min', 'abs'),
 * or above best·(1 + threshold) / best + threshold in 'max' mode. step(metric) once per evaluation.
 *
 *     const plateau = new optim.ReduceLROnPlateau(opt, { factor: 0.5, patience: 1 }); // opt's lr is 0.1
 *     for (const valLoss of [1.0, 0.9, 0.95, 0.93, 0.8]) plateau.step(valLoss); // two epochs without a new best
 *     opt.paramGroups[0]!.lr // → 0.05
 */
export class ReduceLROnPlateau {
  readonly optimizer: AnyOptimizer;
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minLrs: number[];
  readonly eps: number;
  t = 0;
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;

  constructor(optimizer: AnyOptimizer, options?: ReduceLROnPlateauOptions) {
    const op = 'ReduceLROnPlateau';
    const form = "new ReduceLROnPlateau(optimizer, { mode: 'min', factor: 0.1, patience: 10 })";
    checkArity(op, arguments, 2, form);
    const o = checkOptions(
      op,
      options,
      ['mode', 'factor', 'patience', 'threshold', 'thresholdMode', 'cooldown', 'minLr', 'eps'],
      form,
    );
    this.optimizer = checkOptimizer(op, optimizer);
    this.mode = oneOf(op, 'mode', o.mode ?? 'min', ['min', 'max'] as const);
    this.thresholdMode = oneOf(op, 'thresholdMode', o.thresholdMode ?? 'rel', ['rel', 'abs'] as const);
    const { factor = 0.1, patience = 10, threshold = 1e-4, cooldown = 0, eps = 1e-8 } = o;
    need(op, 'factor', factor, R.belowOne);
    need(op, 'patience', patience, R.nonNegativeInteger);
    need(op, 'threshold', threshold, R.nonNegative);
    need(op, 'cooldown', cooldown, R.nonNegativeInteger);
    need(op, 'eps', eps, R.nonNegative);
    this.factor = factor;
    this.patience = patience;
    this.threshold = threshold;
    this.cooldown = cooldown;
    this.eps = eps;
    this.minLrs = perGroup(op, 'minLr', o.minLr ?? 0, this.optimizer.paramGroups.length, R.nonNegative);
    this.best = this.worst();
  }

  /** Records a metric (a number or a one-element Tensor) and lowers the rates if it has plateaued. */
  step(metric: number | Tensor): void {
    if (arguments.length > 1)
      fail(
        'ReduceLROnPlateau',
        `step(metric) takes one argument, got ${arguments.length}; PyTorch's epoch argument is deprecated and not supported`,
      );
    const current = metric instanceof Tensor && metric.size === 1 ? metric.item() : metric;
    if (typeof current !== 'number')
      fail('ReduceLROnPlateau', `step(metric) needs the metric as a number, got ${describe(metric)}`);
    const n = this.optimizer.paramGroups.length;
    if (n !== this.minLrs.length)
      fail(
        'ReduceLROnPlateau',
        `the optimizer has ${n} parameter groups, the schedule was built for ${this.minLrs.length}; build the schedule after addParamGroup`,
      );
    this.t++;
    if (this.isBetter(current)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else this.numBadEpochs++;
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      this.optimizer.paramGroups.forEach((g, i) => {
        const lr = Math.max(g.lr * this.factor, this.minLrs[i]!);
        if (g.lr - lr > this.eps) g.lr = lr;
      });
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
  }

  /** The learning rate of each group. */
  lastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  stateDict(): PlateauState {
    return {
      t: this.t,
      best: Number.isFinite(this.best) ? this.best : null,
      numBadEpochs: this.numBadEpochs,
      cooldownCounter: this.cooldownCounter,
      lastLr: this.lastLr(),
    };
  }

  /**
   * Continues from a stateDict(): restores only the schedule's counters, not the groups' rates (they
   * come from the optimizer's own state dict), as PyTorch's load_state_dict. Checked before anything
   * changes.
   */
  loadStateDict(s: PlateauState): void {
    const op = 'ReduceLROnPlateau.loadStateDict';
    checkArity(op, arguments, 1, 'loadStateDict(state)');
    if (s === null || typeof s !== 'object') fail(op, `expected a stateDict() object, got ${describe(s)}`);
    checkOptions(op, s, ['t', 'best', 'numBadEpochs', 'cooldownCounter', 'lastLr']);
    for (const k of ['t', 'numBadEpochs', 'cooldownCounter'] as const)
      need(op, k, s[k], R.nonNegativeInteger);
    if (s.best !== null) need(op, 'best', s.best, R.finite);
    const n = this.optimizer.paramGroups.length;
    if (!Array.isArray(s.lastLr) || s.lastLr.length !== n || !s.lastLr.every((lr) => R.nonNegative.ok(lr)))
      fail(op, `lastLr must be ${n} finite rates ≥ 0, got ${show(s.lastLr)}`);
    this.t = s.t;
    this.best = s.best ?? this.worst();
    this.numBadEpochs = s.numBadEpochs;
    this.cooldownCounter = s.cooldownCounter;
  }

  private worst(): number {
    return this.mode === 'min' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  }

  private isBetter(a: number): boolean {
    const { best, threshold } = this;
    if (this.mode === 'min')
      return this.thresholdMode === 'rel' ? a < best * (1 - threshold) : a < best - threshold;
    return this.thresholdMode === 'rel' ? a > best * (threshold + 1) : a > best + threshold;
  }
}
