import { describe, fail } from '../errors.js';
import type { Checkpoint } from '../io/checkpoint.js';

export { optimizerToCheckpoint } from '../io/checkpoint.js';

import type { AnyModule } from '../nn/module.js';
import type { Optimizer, OptimizerState } from '../optim/optimizer.js';
import type { Tensor } from '../tensor/tensor.js';

/** A non-negative integer, as step, epoch and batch counts are. */
export function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** Whether `value` is a JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A copy of the model's state dict that later training steps do not touch. */
export function snapshot(model: AnyModule): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, t.detach().clone()]));
}

/**
 * The optimizer state dict that optimizerToCheckpoint wrote, checked for structure (type, groups, step
 * counts, buffer names) without touching `opt`; its hyper-parameters and buffers are checked by
 * `opt.loadStateDict` itself.
 */
function optimizerStateFromCheckpoint(
  opt: Optimizer<{ lr: number }>,
  saved: { tensors: Record<string, Tensor>; state: unknown },
): OptimizerState<{ lr: number }> {
  const s = saved.state;
  const name = opt.constructor.name;
  if (!isRecord(s) || !Array.isArray(s.paramGroups) || !s.paramGroups.every(isRecord))
    fail('resume', 'the checkpoint has no optimizer state');
  if (s.type !== name)
    fail('resume', `the checkpoint was made with ${describe(s.type)}, but this run uses ${name}`);
  for (const [i, g] of s.paramGroups.entries()) {
    if (!Array.isArray(g.params) || !g.params.every(isCount))
      fail('resume', `the checkpoint's optimizer group ${i} has no list of parameter indices`);
    const problem = i < opt.paramGroups.length ? hyperParameterProblem(g, opt.paramGroups[i]!) : null;
    if (problem !== null) fail('resume', `the checkpoint's optimizer group ${i} ${problem}`);
  }
  if (!isRecord(s.steps)) fail('resume', 'the checkpoint has no optimizer step counts');
  const state: OptimizerState<{ lr: number }>['state'] = {};
  for (const [i, step] of Object.entries(s.steps)) {
    if (!/^(0|[1-9]\d{0,8})$/.test(i))
      fail('resume', `the checkpoint's optimizer state names parameter '${i}'`);
    if (!isCount(step)) {
      fail(
        'resume',
        `the checkpoint's optimizer step count of parameter ${i} is ${describe(step)}; expected a non-negative integer`,
      );
    }
    state[Number(i)] = { step, buffers: {} };
  }
  for (const [key, t] of Object.entries(saved.tensors)) {
    const dot = key.indexOf('.');
    if (dot < 1) fail('resume', `optimizer tensor '${key}' is not named <parameter>.<buffer>`);
    const entry = Object.hasOwn(state, key.slice(0, dot)) ? state[Number(key.slice(0, dot))] : undefined;
    if (!entry) fail('resume', `optimizer tensor '${key}' names no parameter with a step count`);
    entry.buffers[key.slice(dot + 1)] = t;
  }
  return { state, paramGroups: s.paramGroups as OptimizerState<{ lr: number }>['paramGroups'] };
}

/** Whether a saved hyper-parameter has the form of the optimizer's own: finite numbers, booleans, tuples of them. */
function sameForm(saved: unknown, own: unknown): boolean {
  if (typeof own === 'number') return typeof saved === 'number' && Number.isFinite(saved);
  if (Array.isArray(own))
    return Array.isArray(saved) && saved.length === own.length && saved.every((v, i) => sameForm(v, own[i]));
  return typeof saved === typeof own && (typeof own !== 'object' || own === saved);
}

/**
 * What is wrong with a saved group's hyper-parameters for this optimizer's group, or null: the same
 * names, each of the same form (their ranges are the optimizer's to check, in loadStateDict).
 */
function hyperParameterProblem(saved: Record<string, unknown>, own: Record<string, unknown>): string | null {
  // An option left undefined is not saved (JSON drops it), so it is not compared either.
  const names = (g: Record<string, unknown>) =>
    Object.keys(g).filter((k) => k !== 'params' && g[k] !== undefined);
  const unknown = names(saved).find((k) => !Object.hasOwn(own, k));
  if (unknown !== undefined) return `has '${unknown}', which this optimizer does not take`;
  const missing = names(own).find((k) => !Object.hasOwn(saved, k));
  if (missing !== undefined) return `has no '${missing}'`;
  const bad = names(own).find((k) => !sameForm(saved[k], own[k]));
  if (bad !== undefined)
    return `has ${bad} = ${describe(saved[bad])}, where this optimizer has ${describe(own[bad])}`;
  return null;
}

/** Restores what optimizerToCheckpoint wrote, into an optimizer of the same type over the same parameters. */
export function optimizerFromCheckpoint(
  opt: Optimizer<{ lr: number }>,
  saved: { tensors: Record<string, Tensor>; state: unknown },
): void {
  opt.loadStateDict(optimizerStateFromCheckpoint(opt, saved));
}

/**
 * Loads a checkpoint's weights and optimizer state, then runs `rest` (which restores the remaining
 * state: generator, schedule). The caller checks progress and config first; whatever is refused here
 * (a mis-shaped weight, an optimizer hyper-parameter out of range) or in `rest` puts the model and
 * the optimizer back as they were, so a refused checkpoint changes nothing.
 */
export function restoreCheckpoint(
  model: AnyModule,
  optimizer: Optimizer<{ lr: number }>,
  ckpt: Checkpoint,
  rest: () => void = () => {},
): void {
  const optimizerState = optimizerStateFromCheckpoint(optimizer, ckpt.optimizer);
  // loadStateDict would cast a tensor of another dtype silently; Strata saves each in its own dtype.
  const own = model.stateDict();
  for (const [k, t] of Object.entries(ckpt.model)) {
    const mine = Object.hasOwn(own, k) ? own[k] : undefined;
    if (mine && mine.dtype !== t.dtype)
      fail('resume', `the checkpoint's weight '${k}' is ${t.dtype}, but the model's is ${mine.dtype}`);
  }
  const params = optimizer.paramGroups.flatMap((g) => g.params);
  for (const [i, s] of Object.entries(optimizerState.state)) {
    const p = params[Number(i)];
    for (const [b, t] of Object.entries(s.buffers)) {
      if (p && t.dtype !== p.dtype)
        fail(
          'resume',
          `the checkpoint's optimizer buffer '${i}.${b}' is ${t.dtype}, but its parameter is ${p.dtype}`,
        );
    }
  }
  const modelBefore = snapshot(model);
  const optimizerBefore = optimizer.stateDict();
  try {
    model.loadStateDict(ckpt.model);
    optimizer.loadStateDict(optimizerState);
    rest();
  } catch (e) {
    model.loadStateDict(modelBefore);
    optimizer.loadStateDict(optimizerBefore);
    throw e;
  }
}

/**
 * Fails listing every setting of `config` that differs from the one the checkpoint was made with, or
 * that the checkpoint does not record (a checkpoint of another command or version), or that it records
 * and this run lacks.
 */
export function checkResumeConfig(op: string, saved: unknown, config: Record<string, unknown>): void {
  if (!isRecord(saved)) fail(op, `--resume: the checkpoint records no run settings (got ${describe(saved)})`);
  const unrecorded = Object.keys(config).filter((k) => !Object.hasOwn(saved, k));
  if (unrecorded.length > 0) {
    fail(
      op,
      `--resume: the checkpoint does not record the setting${unrecorded.length > 1 ? 's' : ''} ${unrecorded
        .map((k) => `${k} (this run has ${JSON.stringify(config[k])})`)
        .join(', ')}; it was made by another command or version: start a new run in another --out directory`,
    );
  }
  // Loaded JSON is at most 64 levels deep (loadCheckpoint), so stringifying it cannot overflow.
  const changed = Object.keys({ ...saved, ...config }).filter(
    (k) => JSON.stringify(saved[k]) !== JSON.stringify(config[k]),
  );
  if (changed.length > 0) {
    const show = (v: unknown) => (v === undefined ? '(none)' : JSON.stringify(v));
    fail(
      op,
      `--resume: this run's settings differ from the checkpoint's: ${changed
        .map((k) => `${k}=${show(saved[k])} in the checkpoint, ${show(config[k])} now`)
        .join(
          '; ',
        )}. Resume with the same settings (only --epochs may grow), or start a new run in another --out`,
    );
  }
}
