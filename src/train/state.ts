import { fail } from '../errors.js';
import type { Optimizer, OptimizerState } from '../optim/optimizer.js';
import type { Tensor } from '../tensor/tensor.js';

/** An optimizer's state split for a checkpoint: buffers as tensors (`<param>.<buffer>`), the rest as JSON. */
export function optimizerToCheckpoint(opt: Optimizer<{ lr: number }>): {
  tensors: Record<string, Tensor>;
  state: unknown;
} {
  const sd = opt.stateDict();
  const tensors: Record<string, Tensor> = {};
  const steps: Record<string, number> = {};
  for (const [i, s] of Object.entries(sd.state)) {
    steps[i] = s.step;
    for (const [name, t] of Object.entries(s.buffers)) tensors[`${i}.${name}`] = t;
  }
  return { tensors, state: { type: opt.constructor.name, paramGroups: sd.paramGroups, steps } };
}

interface SavedOptimizer {
  type: string;
  paramGroups: OptimizerState<{ lr: number }>['paramGroups'];
  steps: Record<string, number>;
}

/** Restores what optimizerToCheckpoint wrote, into an optimizer of the same type over the same parameters. */
export function optimizerFromCheckpoint(
  opt: Optimizer<{ lr: number }>,
  saved: { tensors: Record<string, Tensor>; state: unknown },
): void {
  const s = saved.state as SavedOptimizer;
  if (!s || typeof s !== 'object' || !Array.isArray(s.paramGroups))
    fail('resume', 'the checkpoint has no optimizer state');
  if (s.type !== opt.constructor.name)
    fail('resume', `the checkpoint was made with ${s.type}, but this run uses ${opt.constructor.name}`);
  if (typeof s.steps !== 'object' || s.steps === null)
    fail('resume', 'the checkpoint has no optimizer step counts');
  const state: OptimizerState<{ lr: number }>['state'] = {};
  for (const [i, step] of Object.entries(s.steps)) state[Number(i)] = { step, buffers: {} };
  for (const [key, t] of Object.entries(saved.tensors)) {
    const dot = key.indexOf('.');
    if (dot < 1) fail('resume', `optimizer tensor '${key}' is not named <parameter>.<buffer>`);
    const entry = state[Number(key.slice(0, dot))];
    if (!entry) fail('resume', `optimizer tensor '${key}' names no parameter with a step count`);
    entry.buffers[key.slice(dot + 1)] = t;
  }
  opt.loadStateDict({ state, paramGroups: s.paramGroups });
}

/** Fails naming the first setting of `config` that differs from the one the checkpoint was made with. */
export function checkResumeConfig(
  op: string,
  saved: Record<string, unknown>,
  config: Record<string, unknown>,
): void {
  for (const [k, v] of Object.entries(config)) {
    if (k in saved && JSON.stringify(saved[k]) !== JSON.stringify(v)) {
      fail(
        op,
        `--resume: the checkpoint was made with ${k}=${JSON.stringify(saved[k])}, this run has ${JSON.stringify(v)}`,
      );
    }
  }
}
