import { zeroGrads } from '../autograd/grads.js';
import { enableGrad } from '../autograd/mode.js';
import { checkArity, checkOptions, describe, fail, fmtShape } from '../errors.js';
import { zeros } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { sameShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** A parameter group: its tensors and its own hyper-parameters (PyTorch's param_groups). */
export type ParamGroup<H> = H & { params: Tensor[] };

/** A group as the constructor and addParamGroup take it: parameters, and the settings it overrides. */
export type GroupArg<H> = { params: readonly Tensor[] } & Partial<H>;

/** What the constructor accepts: parameters, or groups that override some hyper-parameters. */
export type ParamsArg<H> = readonly Tensor[] | readonly GroupArg<H>[];

/** Per-parameter state: a step count and named buffers (shaped like the parameter unless said otherwise). */
export interface ParamState {
  step: number;
  buffers: Record<string, Tensor>;
}

/** The serialisable state: buffers keyed by parameter index (in group order), and the groups' settings. */
export interface OptimizerState<H> {
  state: Record<number, ParamState>;
  paramGroups: (H & { params: number[] })[];
}

/** What step(closure) accepts: a function that recomputes the loss (and its gradients) and returns it. */
export type Closure = () => number | Tensor;

/** How one hyper-parameter is checked: what it must be (for the message) and the test. */
export interface HyperRule {
  readonly expected: string;
  ok(value: unknown): boolean;
}

/** One rule per hyper-parameter: a group's settings are exactly these keys. */
export type HyperRules<H> = { readonly [K in keyof H]-?: HyperRule };

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** The checks PyTorch's optimizers make (lr ≥ 0, betas in [0, 1), ...), plus finiteness and types. */
export const hyperRules = {
  finite: { expected: 'a finite number', ok: isFiniteNumber },
  nonNegative: { expected: 'a finite number ≥ 0', ok: (v: unknown) => isFiniteNumber(v) && v >= 0 },
  positive: { expected: 'a finite number > 0', ok: (v: unknown) => isFiniteNumber(v) && v > 0 },
  unitInterval: {
    expected: 'a number in [0, 1]',
    ok: (v: unknown) => isFiniteNumber(v) && v >= 0 && v <= 1,
  },
  betas: {
    expected: 'a pair [beta1, beta2] of numbers in [0, 1)',
    ok: (v: unknown) =>
      Array.isArray(v) && v.length === 2 && v.every((b) => isFiniteNumber(b) && b >= 0 && b < 1),
  },
  flag: { expected: 'true or false', ok: (v: unknown) => typeof v === 'boolean' },
  positiveInteger: {
    expected: 'a positive integer',
    ok: (v: unknown) => Number.isInteger(v) && (v as number) > 0,
  },
  nonNegativeInteger: {
    expected: 'a non-negative integer',
    ok: (v: unknown) => Number.isInteger(v) && (v as number) >= 0,
  },
  belowOne: {
    expected: 'a number in [0, 1)',
    ok: (v: unknown) => isFiniteNumber(v) && v >= 0 && v < 1,
  },
} satisfies Record<string, HyperRule>;

/** A value for a message; arrays show their elements (betas). */
export function show(v: unknown): string {
  return Array.isArray(v) && v.length <= 8 ? `[${v.map(describe).join(', ')}]` : describe(v);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * PyTorch's optimizer shape: groups of parameters with their own hyper-parameters, lazily created
 * per-parameter state, `step()` and `zeroGrad()`, and a state dict. Subclasses supply the update for one
 * parameter, which calls a pure function from updates.ts, and one rule per hyper-parameter, checked at
 * construction, in addParamGroup and in loadStateDict.
 *
 *     // A new optimizer: the update of one parameter, and a rule for each setting.
 *     class SignSGD extends optim.Optimizer<{ lr: number }> {
 *       protected readonly bufferNames = [];
 *       constructor(params: Tensor[], options?: { lr?: number }) {
 *         const lr = { expected: 'a number ≥ 0', ok: (v: unknown) => typeof v === 'number' && v >= 0 };
 *         super(params, options, { lr: 0.01 }, { lr }, 'new SignSGD(params, { lr: 0.01 })');
 *       }
 *       protected initState() {
 *         return {};
 *       }
 *       protected update(p: Tensor, grad: Tensor, _state: optim.ParamState, group: optim.ParamGroup<{ lr: number }>) {
 *         for (let i = 0; i < p.size; i++) p.data[i]! -= group.lr * Math.sign(grad.data[i]!);
 *       }
 *     }
 *     const w = tensor([1, -2], { requiresGrad: true });
 *     const signSgd = new SignSGD([w], { lr: 0.5 });
 *     w.mul(w).sum().backward();
 *     signSgd.step();
 *     w // → [0.5, -1.5]
 */
export abstract class Optimizer<H extends { lr: number }> {
  readonly paramGroups: ParamGroup<H>[] = [];
  readonly state = new Map<Tensor, ParamState>();
  /** The settings a group takes when it does not give its own. */
  readonly defaults: H;
  /** Every buffer name a parameter's state may hold (loadStateDict refuses others). */
  protected abstract readonly bufferNames: readonly string[];
  /**
   * The buffers, shaped like the parameter, that `update` creates when the group's settings first need
   * them (SGD's momentum buffer once momentum > 0), as PyTorch creates them lazily: a state may hold
   * each or not, whatever the settings, and loadStateDict accepts both.
   */
  protected readonly lazyBuffers: readonly string[] = [];
  // Typed by name only, so that every optimizer is an Optimizer<{ lr: number }>.
  private readonly rules: Readonly<Record<string, HyperRule>>;

  /** `form` shows the call with an options object, for the message when options come positionally. */
  protected constructor(
    params: ParamsArg<H>,
    options: Partial<H> | undefined,
    defaults: H,
    rules: HyperRules<H>,
    form: string,
  ) {
    const name = this.constructor.name;
    this.rules = rules;
    const given = checkOptions(
      name,
      options as H | undefined,
      this.hyperKeys() as (keyof H & string)[],
      form,
    );
    this.defaults = copySettings({ ...defaults, ...given });
    this.checkGroup(name, '', this.defaults);
    if (!Array.isArray(params)) {
      fail(
        name,
        `expected an array of parameters (module.parameters()) or of groups ({ params, ...settings }), got ${describe(params)}`,
      );
    }
    if (params.length === 0) fail(name, 'got an empty parameter list; pass module.parameters()');
    if (params.every((p) => p instanceof Tensor))
      this.addGroup(name, '', { params } as unknown as GroupArg<H>);
    else if (params.every(isPlainObject)) {
      (params as unknown as readonly GroupArg<H>[]).forEach((g, i) => {
        this.addGroup(name, `param group ${i}: `, g);
      });
    } else {
      const i = params.findIndex((p) => !(p instanceof Tensor));
      fail(
        name,
        `parameter ${i} is ${describe(params[i])}; expected Tensors that require gradients (module.parameters()) or groups ({ params, ...settings }), not a mix`,
      );
    }
  }

  /** Adds a group of parameters, with settings that override the defaults (PyTorch's add_param_group). */
  addParamGroup(group: GroupArg<H>): void {
    const name = `${this.constructor.name}.addParamGroup`;
    checkArity(name, arguments, 1, 'addParamGroup({ params, lr: 0.01 })');
    if (!isPlainObject(group)) fail(name, `expected a group { params, ...settings }, got ${describe(group)}`);
    this.addGroup(name, '', group);
  }

  /** Checks one group's settings beyond their own rules (Nesterov needs momentum): the problem, or undefined. */
  protected crossCheck(_group: H): string | undefined {
    return undefined;
  }

  /** Updates one parameter from its gradient. */
  protected abstract update(p: Tensor, grad: Tensor, state: ParamState, group: ParamGroup<H>): void;

  /** The buffers a parameter's state starts with (those in lazyBuffers come later, from update). */
  protected abstract initState(p: Tensor, group: ParamGroup<H>): Record<string, Tensor>;

  /**
   * The buffers a parameter's state holds under a group's settings, and their shapes; `given` is the
   * state being loaded (for optimizers whose buffers grow, like L-BFGS's history).
   */
  protected stateShapes(
    p: Tensor,
    group: ParamGroup<H>,
    _given: Record<string, Tensor>,
  ): Record<string, readonly number[]> {
    return Object.fromEntries(Object.keys(this.initState(p, group)).map((k) => [k, p.shape]));
  }

  /** The dtype a loaded buffer is stored in: the parameter's, unless the optimizer keeps its own. */
  protected bufferDtype(p: Tensor): DType {
    return p.dtype;
  }

  /**
   * Applies one update to every parameter that has a gradient. With a closure, first calls it (with
   * gradients enabled) and returns the loss it gives.
   */
  step(closure?: Closure): number | undefined {
    const loss = closure === undefined ? undefined : lossValue(this.constructor.name, closure);
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (!p.grad) continue;
        const grad = ownGrad(p);
        let s = this.state.get(p);
        if (!s) {
          s = { step: 0, buffers: this.initState(p, group) };
          this.state.set(p, s);
        }
        s.step++;
        this.update(p, grad, s, group);
      }
    }
    return loss;
  }

  /**
   * Clears every parameter's gradient before the next backward. With setToNone true (the default,
   * PyTorch 2's; PyTorch 1.13's default was false) gradients become null, and `step()` skips a
   * parameter that gets no new gradient: its momentum, Adam moments and weight decay stand still.
   * With false, existing gradients are filled with zeros in place (detached) and null ones stay null,
   * so such a parameter is still stepped with a zero gradient: momentum keeps moving it, Adam's
   * moments decay and weight decay shrinks it.
   *
   *     opt.zeroGrad();      // grads = null
   *     opt.zeroGrad(false); // grads = 0, as PyTorch 1.13's opt.zero_grad()
   */
  zeroGrad(setToNone = true): void {
    zeroGrads(
      `${this.constructor.name}.zeroGrad`,
      this.paramGroups.flatMap((g) => g.params),
      setToNone,
      arguments,
    );
  }

  stateDict(): OptimizerState<H> {
    checkArity(`${this.constructor.name}.stateDict`, arguments, 0, 'stateDict()');
    const params = this.paramGroups.flatMap((g) => g.params);
    const state: Record<number, ParamState> = {};
    params.forEach((p, i) => {
      const s = this.state.get(p);
      if (s) state[i] = s;
    });
    let at = 0;
    const paramGroups = this.paramGroups.map(({ params: ps, ...rest }) => ({
      ...(rest as unknown as H),
      params: ps.map(() => at++),
    }));
    return { state, paramGroups };
  }

  /**
   * Restores a state dict from an optimizer of the same kind over parameters of the same shapes, in the
   * same groups. Everything is checked first (group and parameter counts, every setting, step counts,
   * buffer names and shapes), so a refused state leaves the optimizer as it was.
   */
  loadStateDict(sd: OptimizerState<H>): void {
    const op = `${this.constructor.name}.loadStateDict`;
    const unchanged = '; the optimizer was left unchanged';
    checkArity(op, arguments, 1, 'loadStateDict(state)');
    if (!isPlainObject(sd) || !Array.isArray(sd.paramGroups) || !isPlainObject(sd.state))
      fail(op, `expected { state, paramGroups } from stateDict(), got ${describe(sd)}${unchanged}`);
    checkOptions(op, sd, ['state', 'paramGroups']);
    if (sd.paramGroups.length !== this.paramGroups.length) {
      fail(
        op,
        `state has ${sd.paramGroups.length} parameter groups, the optimizer has ${this.paramGroups.length}${unchanged}`,
      );
    }
    const byIndex = new Map<number, { p: Tensor; group: ParamGroup<H> }>();
    const settings = sd.paramGroups.map((g, i) => {
      const where = `param group ${i}: `;
      const here = this.paramGroups[i]!;
      if (!isPlainObject(g)) fail(op, `${where}expected an object, got ${describe(g)}${unchanged}`);
      const { params: ids, ...hyper } = g;
      const unknown = Object.keys(hyper).filter((k) => !(k in this.rules));
      if (unknown.length > 0)
        fail(
          op,
          `${where}unknown setting ${unknown.join(', ')}; known: ${this.hyperKeys().join(', ')}${unchanged}`,
        );
      for (const k of this.hyperKeys())
        if (!(k in hyper)) fail(op, `${where}has no setting '${k}'${unchanged}`);
      if (!Array.isArray(ids) || ids.length !== here.params.length) {
        fail(
          op,
          `group ${i} has ${Array.isArray(ids) ? ids.length : describe(ids)} parameters in the state, ${here.params.length} here${unchanged}`,
        );
      }
      const merged = { ...(hyper as unknown as H), params: here.params } as ParamGroup<H>;
      this.checkGroup(op, where, merged, unchanged);
      ids.forEach((id, j) => {
        if (!Number.isInteger(id) || byIndex.has(id))
          fail(op, `${where}parameter index ${j} is ${describe(id)}, not a new integer${unchanged}`);
        byIndex.set(id, { p: here.params[j]!, group: merged });
      });
      return hyper;
    });
    const restored = new Map<Tensor, ParamState>();
    for (const [k, s] of Object.entries(sd.state)) {
      const target = byIndex.get(Number(k));
      if (!target) fail(op, `state names parameter ${k}, but there are only ${byIndex.size}${unchanged}`);
      const { p, group } = target;
      const where = `parameter ${k}: `;
      if (!isPlainObject(s) || !isPlainObject(s.buffers))
        fail(op, `${where}expected { step, buffers }, got ${describe(s)}${unchanged}`);
      if (!Number.isInteger(s.step) || s.step < 0)
        fail(op, `${where}step must be a non-negative integer, got ${describe(s.step)}${unchanged}`);
      const shapes = this.stateShapes(p, group, s.buffers as Record<string, Tensor>);
      const buffers: Record<string, Tensor> = {};
      for (const [b, t] of Object.entries(s.buffers)) {
        if (!this.bufferNames.includes(b))
          fail(op, `${where}unknown buffer '${b}'; known: ${this.bufferNames.join(', ')}${unchanged}`);
        const shape = shapes[b] ?? (this.lazyBuffers.includes(b) ? p.shape : undefined);
        if (!shape) fail(op, `${where}buffer '${b}' is not used with these settings${unchanged}`);
        if (!(t instanceof Tensor))
          fail(op, `${where}buffer '${b}' is ${describe(t)}, not a Tensor${unchanged}`);
        if (!sameShape(t.shape, shape)) {
          fail(
            op,
            `${where}buffer '${b}' has shape ${fmtShape(t.shape)} (${t.size} elements), the parameter needs ${fmtShape(shape)}${unchanged}`,
          );
        }
        buffers[b] = zeros(shape, { dtype: this.bufferDtype(p) }).copy_(t);
      }
      for (const b of Object.keys(shapes))
        if (!(b in buffers) && !this.lazyBuffers.includes(b))
          fail(op, `${where}buffer '${b}' is missing${unchanged}`);
      restored.set(p, { step: s.step, buffers });
    }
    settings.forEach((hyper, i) => {
      Object.assign(this.paramGroups[i]!, hyper);
    });
    this.state.clear();
    for (const [p, s] of restored) this.state.set(p, s);
  }

  private hyperKeys(): string[] {
    return Object.keys(this.rules);
  }

  /** Fails naming the first setting that breaks its rule, or the cross-check's problem. */
  private checkGroup(op: string, where: string, group: object, suffix = ''): void {
    for (const k of this.hyperKeys()) {
      const v = (group as Record<string, unknown>)[k];
      if (!this.rules[k]!.ok(v))
        fail(op, `${where}${k} must be ${this.rules[k]!.expected}, got ${show(v)}${suffix}`);
    }
    const problem = this.crossCheck(group as H);
    if (problem) fail(op, `${where}${problem}${suffix}`);
  }

  private addGroup(op: string, where: string, group: GroupArg<H>): void {
    const label = where ? `${op}: ${where.slice(0, -2)}` : op;
    const { params, ...hyper } = checkOptions(label, group as Record<string, unknown>, [
      'params',
      ...this.hyperKeys(),
    ]);
    if (!Array.isArray(params))
      fail(op, `${where}params must be an array of Tensors that require gradients, got ${describe(params)}`);
    if (params.length === 0) fail(op, `${where}has an empty parameter list`);
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    params.forEach((p: unknown, i) => {
      if (!(p instanceof Tensor))
        fail(op, `${where}parameter ${i} is ${describe(p)}; expected a Tensor that requires gradients`);
      if (seen.has(p)) fail(op, `${where}parameter ${i} appears in more than one group (or twice in one)`);
      if (!p.requiresGrad) {
        fail(
          op,
          `${where}parameter ${i} (shape ${fmtShape(p.shape)}) does not require gradients; every parameter must require gradients (create it with requiresGrad: true, or pass module.parameters())`,
        );
      }
      if (!p.isContiguous() || p.offset !== 0)
        fail(op, `${where}parameter ${i}: parameters must own contiguous storage (pass a clone())`);
      seen.add(p);
    });
    const merged = {
      ...copySettings(this.defaults),
      ...copySettings(hyper),
      params: [...params],
    } as ParamGroup<H>;
    this.checkGroup(op, where, merged);
    this.paramGroups.push(merged);
  }
}

/** A copy of a group's settings that shares no arrays (betas) with the original. */
function copySettings<T extends object>(settings: T): T {
  return Object.fromEntries(
    Object.entries(settings).map(([k, v]) => [k, Array.isArray(v) ? [...v] : v]),
  ) as T;
}

/** Calls a closure with gradients enabled and reads its loss as a number. */
export function lossValue(op: string, closure: Closure): number {
  if (typeof closure !== 'function') fail(op, `step(closure): expected a function, got ${describe(closure)}`);
  const loss = enableGrad(closure);
  if (typeof loss === 'number') return loss;
  if (loss instanceof Tensor && loss.size === 1) return loss.item();
  return fail(
    op,
    `the closure must return the loss (a number or a one-element Tensor), got ${describe(loss)}`,
  );
}

/**
 * A parameter's gradient as a tensor that owns contiguous storage from offset 0, so update kernels
 * can read and write its array directly (a copy is made and stored back only when needed).
 */
export function ownGrad(p: Tensor): Tensor {
  const g = p.grad!;
  if (!sameShape(g.shape, p.shape) || g.dtype !== p.dtype) {
    fail(
      'optimizer',
      `a gradient of shape ${fmtShape(g.shape)} (${g.dtype}) does not fit its parameter ${fmtShape(p.shape)} (${p.dtype})`,
    );
  }
  if (!g.isContiguous() || g.offset !== 0 || g.data.length !== g.size) p.grad = g.detach().clone();
  return p.grad!;
}

/** Any optimizer, whatever its hyper-parameters beyond the learning rate. */
export type AnyOptimizer = Optimizer<{ lr: number }>;
