import { fail, fmtShape } from '../errors.js';
import { zerosLike } from '../tensor/creation.js';
import { sameShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** A parameter group: its tensors and its own hyper-parameters (PyTorch's param_groups). */
export type ParamGroup<H> = H & { params: Tensor[] };

/** What the constructor accepts: parameters, or groups that override some hyper-parameters. */
export type ParamsArg<H> = readonly Tensor[] | readonly ({ params: readonly Tensor[] } & Partial<H>)[];

/** Per-parameter state: a step count and named buffers shaped like the parameter. */
export interface ParamState {
  step: number;
  buffers: Record<string, Tensor>;
}

/** The serialisable state: buffers keyed by parameter index (in group order), and the groups' settings. */
export interface OptimizerState<H> {
  state: Record<number, ParamState>;
  paramGroups: (H & { params: number[] })[];
}

/**
 * PyTorch's optimizer shape: groups of parameters with their own hyper-parameters, lazily created
 * per-parameter state, `step()` and `zeroGrad()`, and a state dict. Subclasses supply the update for one
 * parameter, which calls a pure function from updates.ts.
 */
export abstract class Optimizer<H extends { lr: number }> {
  readonly paramGroups: ParamGroup<H>[];
  readonly state = new Map<Tensor, ParamState>();

  constructor(params: ParamsArg<H>, defaults: H) {
    const name = this.constructor.name;
    if (params.length === 0) fail(name, 'got an empty parameter list');
    const groups = isGroupList(params) ? params : [{ params }];
    this.paramGroups = groups.map((g) => {
      const group = { ...defaults, ...g, params: [...g.params] } as ParamGroup<H>;
      this.validate(group);
      return group;
    });
    const seen = new Set<Tensor>();
    for (const p of this.paramGroups.flatMap((g) => g.params)) {
      if (seen.has(p)) fail(name, 'a parameter appears in more than one group (or twice in one)');
      if (!p.requiresGrad) fail(name, 'every parameter must require gradients');
      if (!p.isContiguous() || p.offset !== 0) fail(name, 'parameters must own contiguous storage');
      seen.add(p);
    }
  }

  /** Checks one group's hyper-parameters; subclasses add their own checks. */
  protected validate(group: ParamGroup<H>): void {
    if (!(group.lr >= 0)) fail(this.constructor.name, `learning rate must be non-negative, got ${group.lr}`);
  }

  /** Updates one parameter from its gradient. */
  protected abstract update(p: Tensor, grad: Tensor, state: ParamState, group: ParamGroup<H>): void;

  /** The buffers a parameter's state starts with. */
  protected abstract initState(p: Tensor, group: ParamGroup<H>): Record<string, Tensor>;

  /** Applies one update to every parameter that has a gradient. */
  step(): void {
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
  }

  zeroGrad(): void {
    for (const g of this.paramGroups) for (const p of g.params) p.grad = null;
  }

  stateDict(): OptimizerState<H> {
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

  /** Restores a state dict from an optimizer over parameters of the same shapes, in the same groups. */
  loadStateDict(sd: OptimizerState<H>): void {
    const name = this.constructor.name;
    if (sd.paramGroups.length !== this.paramGroups.length) {
      fail(
        name,
        `state has ${sd.paramGroups.length} parameter groups, the optimizer has ${this.paramGroups.length}`,
      );
    }
    const params = this.paramGroups.flatMap((g) => g.params);
    sd.paramGroups.forEach((g, i) => {
      if (g.params.length !== this.paramGroups[i]!.params.length) {
        fail(
          name,
          `group ${i} has ${g.params.length} parameters in the state, ${this.paramGroups[i]!.params.length} here`,
        );
      }
    });
    for (const [k, s] of Object.entries(sd.state)) {
      const p = params[Number(k)];
      if (!p) fail(name, `state names parameter ${k}, but there are only ${params.length}`);
      for (const [b, t] of Object.entries(s.buffers)) {
        if (t.size !== p.size)
          fail(name, `buffer '${b}' of parameter ${k} has ${t.size} elements, the parameter ${p.size}`);
      }
    }
    sd.paramGroups.forEach(({ params: _, ...hyper }, i) => {
      Object.assign(this.paramGroups[i]!, hyper);
    });
    this.state.clear();
    for (const [k, s] of Object.entries(sd.state)) {
      const p = params[Number(k)]!;
      const buffers: Record<string, Tensor> = {};
      for (const [b, t] of Object.entries(s.buffers)) buffers[b] = zerosLike(p).copy_(t.reshape(p.shape));
      this.state.set(p, { step: s.step, buffers });
    }
  }
}

function isGroupList<H>(
  params: ParamsArg<H>,
): params is readonly ({ params: readonly Tensor[] } & Partial<H>)[] {
  return params.length > 0 && 'params' in (params[0] as object) && !('data' in (params[0] as object));
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
