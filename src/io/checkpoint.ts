import { describe, fail, StrataError } from '../errors.js';
import type { AnyModule } from '../nn/module.js';
import { type AnyOptimizer, Optimizer, type OptimizerState } from '../optim/optimizer.js';
import { type RngState, rngStateProblem } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { readFileBytes } from './atomic.js';
import { decodeSafetensors, saveSafetensors } from './safetensors.js';

/** An optimizer's state as a checkpoint holds it: per-parameter buffers as tensors, the rest as JSON. */
export interface OptimizerCheckpoint {
  /** Buffers named `<parameter index>.<buffer>` (`0.exp_avg`). */
  tensors: Record<string, Tensor>;
  /** The optimizer's type, parameter groups and step counts. */
  state: unknown;
}

/**
 * Everything needed to resume a run exactly, in one versioned schema: weights, optimizer state, the
 * random generator's state, how far training got, and the run's config (what rebuilds the model and
 * what `--resume` compares). Tensors are stored as tensors; everything else must be JSON-able.
 */
export interface Checkpoint {
  /** The model's state dict, with PyTorch-style names (`layers.0.weight`). */
  model: Record<string, Tensor>;
  /** The (first) optimizer's per-parameter tensors (moments, ...) and the rest of its state (step counts, groups). */
  optimizer: OptimizerCheckpoint;
  /** Further optimizers of a task that has several (a GAN's discriminator and generator). */
  otherOptimizers?: OptimizerCheckpoint[];
  rng: RngState;
  /** Epoch, step, history, callback states... */
  progress: Record<string, unknown>;
  /** The run's config: every setting that shapes the model or the run (`model` names the registered builder). */
  config?: Record<string, unknown>;
  /** Tensors a task carries from one batch to the next (a recurrent model's state), for a mid-epoch resume. */
  state?: Record<string, Tensor>;
  /** Anything else the caller wants back (a vocabulary, say); JSON-able. */
  extra?: unknown;
}

/** A checkpoint to save: as Checkpoint, but the optimizers may be given as they are. */
export interface CheckpointInput extends Omit<Checkpoint, 'optimizer' | 'otherOptimizers'> {
  optimizer: AnyOptimizer | OptimizerCheckpoint;
  otherOptimizers?: (AnyOptimizer | OptimizerCheckpoint)[];
}

/**
 * The file a run's checkpoint is written to in its output directory.
 *
 *     await fit(model, opt, { epochs: 1, loss: nn.crossEntropy, train: loader, generator, out: 'runs/mlp' });
 *     loadCheckpoint(`runs/mlp/${CHECKPOINT_FILE}`).progress.epoch // → 1
 *     CHECKPOINT_FILE // → 'checkpoint.safetensors'
 */
export const CHECKPOINT_FILE = 'checkpoint.safetensors';
/**
 * The file a run's best weights (by its monitored metric) are written to, beside its checkpoint.
 *
 *     await fit(model, opt, { epochs: 3, loss: nn.crossEntropy, train: loader, validation: [[x, y]], generator,
 *       earlyStopping: { monitor: 'valLoss', patience: 3, restoreBest: true }, out: 'runs/mlp' });
 *     const best = mlp([4, 8, 3]);
 *     best.loadStateDict(loadWeights(`runs/mlp/${BEST_FILE}`)); // the best epoch's weights, which model has again
 *     BEST_FILE // → 'best.safetensors'
 */
export const BEST_FILE = 'best.safetensors';

const FORMAT = 2;
const CHECKPOINT_KEY = 'strata.checkpoint';
const MODEL = 'model.';
const OPTIM = 'optim.';
const STATE = 'state.';
/** The prefix of optimizer k ≥ 1 of a task with several. */
const otherOptim = (k: number) => `optim${k}.`;
/** PyTorch keeps BatchNorm's batch count as int64; stored so, PyTorch loads Strata's files with no cast. */
const STORE_AS_INT64 = { int64: (name: string) => /(^|\.)num_batches_tracked$/.test(name) };

/**
 * JSON has no NaN or ±Infinity, yet `best: Infinity` before the first evaluation is common; they are
 * written as `{ "$float": "Infinity" }` so they come back as numbers instead of null.
 */
const FLOAT_TAG = '$float';

function replacer(key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return { [FLOAT_TAG]: String(value) };
  if (value instanceof Tensor) {
    fail(
      'saveCheckpoint',
      `'${key}' is a Tensor; put tensors in model or optimizer.tensors, not in JSON state`,
    );
  }
  return value;
}

/** Deeper JSON state than this is refused: nothing Strata saves comes near, and walking it could overflow the stack. */
const MAX_DEPTH = 64;

/** `value` with every `{ "$float": ... }` turned back into its number; null if nested beyond MAX_DEPTH. */
function restoreFloats(value: unknown, depth = 0): { value: unknown } | null {
  if (typeof value !== 'object' || value === null) return { value };
  if (depth >= MAX_DEPTH) return null;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const v of value) {
      const r = restoreFloats(v, depth + 1);
      if (r === null) return null;
      out.push(r.value);
    }
    return { value: out };
  }
  const keys = Object.keys(value);
  const tag = (value as Record<string, unknown>)[FLOAT_TAG];
  if (keys.length === 1 && keys[0] === FLOAT_TAG && typeof tag === 'string') return { value: Number(tag) };
  const out: [string, unknown][] = [];
  for (const k of keys) {
    const r = restoreFloats((value as Record<string, unknown>)[k], depth + 1);
    if (r === null) return null;
    out.push([k, r.value]);
  }
  // fromEntries defines own properties, so a key like '__proto__' stays a plain key.
  return { value: Object.fromEntries(out) };
}

function prefixed(prefix: string, tensors: Record<string, Tensor>): [string, Tensor][] {
  return Object.entries(tensors).map(([k, t]) => [prefix + k, t]);
}

/** An optimizer's state split for a checkpoint: buffers as tensors (`<param>.<buffer>`), the rest as JSON. */
export function optimizerToCheckpoint(opt: AnyOptimizer): OptimizerCheckpoint {
  const sd = opt.stateDict();
  const tensors: Record<string, Tensor> = {};
  const steps: Record<string, number> = {};
  for (const [i, s] of Object.entries(sd.state)) {
    steps[i] = s.step;
    for (const [name, t] of Object.entries(s.buffers)) tensors[`${i}.${name}`] = t;
  }
  return { tensors, state: { type: opt.constructor.name, paramGroups: sd.paramGroups, steps } };
}

/** The optimizer's state as a checkpoint holds it; what is neither an optimizer nor that is refused. */
function asCheckpoint(o: AnyOptimizer | OptimizerCheckpoint): OptimizerCheckpoint {
  if (o instanceof Optimizer) return optimizerToCheckpoint(o);
  if (isRecord(o) && isRecord(o.tensors) && isRecord(o.state)) return o;
  const stateDict = isRecord(o) && 'paramGroups' in o ? ' (an optimizer.stateDict())' : '';
  return fail(
    'saveCheckpoint',
    `optimizer must be the optimizer itself, e.g. { optimizer: opt }, got ${describe(o)}${stateDict}`,
  );
}

/**
 * Saves a checkpoint as one safetensors file (model weights under `model.*`, optimizer tensors under
 * `optim.*`, the rest as JSON in the `strata.checkpoint` metadata entry), so that a single atomic rename
 * replaces the previous checkpoint: a crash at any moment leaves either the old file or the new one.
 * The folder must exist (the Trainer makes its `out` folder).
 *
 *     saveCheckpoint('mlp.safetensors', {
 *       model: model.stateDict(), optimizer: opt, rng: generator.getState(), progress: { epoch: 3 },
 *       config: { model: 'mlp', sizes: [4, 8, 3] },
 *     });
 *     const saved = loadCheckpoint('mlp.safetensors');
 *     model.loadStateDict(saved.model);
 *     generator.setState(saved.rng);
 *     saved.progress // → { epoch: 3 }
 */
export function saveCheckpoint(path: string, input: CheckpointInput): void {
  const ckpt: Checkpoint = {
    ...input,
    optimizer: asCheckpoint(input.optimizer),
    otherOptimizers: input.otherOptimizers?.map(asCheckpoint),
  };
  let json: string;
  try {
    json = JSON.stringify(
      {
        format: FORMAT,
        optimizer: ckpt.optimizer.state,
        otherOptimizers: ckpt.otherOptimizers?.map((o) => o.state),
        rng: ckpt.rng,
        progress: ckpt.progress,
        config: ckpt.config,
        extra: ckpt.extra,
      },
      replacer,
    );
  } catch (e) {
    if (e instanceof StrataError) throw e;
    fail(
      'saveCheckpoint',
      `the optimizer state, progress or extra cannot be written as JSON: ${(e as Error).message}`,
    );
  }
  const tensors = Object.fromEntries([
    ...prefixed(MODEL, ckpt.model),
    ...prefixed(OPTIM, ckpt.optimizer.tensors),
    ...(ckpt.otherOptimizers ?? []).flatMap((o, k) => prefixed(otherOptim(k + 1), o.tensors)),
    ...prefixed(STATE, ckpt.state ?? {}),
  ]);
  saveSafetensors(path, tensors, { [CHECKPOINT_KEY]: json }, STORE_AS_INT64);
}

/**
 * Loads and verifies a checkpoint written by saveCheckpoint. Throws a StrataError if the file is missing,
 * has no checksum or does not match it (corrupt, truncated), is a safetensors file but not a Strata
 * checkpoint, or holds no valid RNG state or progress record.
 *
 *     await fit(model, opt, { epochs: 2, loss: nn.crossEntropy, train: loader, generator, out: 'runs/mlp',
 *       config: { model: 'mlp', lr: 0.1 } });
 *     const { progress, config } = loadCheckpoint('runs/mlp/checkpoint.safetensors');
 *     progress.epoch // → 2
 *     config // → { model: 'mlp', lr: 0.1 }
 */
export function loadCheckpoint(path: string): Checkpoint {
  return parseCheckpoint('loadCheckpoint', readFileBytes('loadCheckpoint', path), path);
}

/**
 * The checkpoint in the bytes of a file written by saveCheckpoint, with every check of loadCheckpoint;
 * `source` names the bytes in messages.
 */
export function decodeCheckpoint(bytes: Uint8Array, source = 'checkpoint data'): Checkpoint {
  return parseCheckpoint('decodeCheckpoint', bytes, source);
}

function parseCheckpoint(op: string, bytes: Uint8Array, path: string): Checkpoint {
  const { tensors, metadata } = decodeSafetensors(bytes, path, { requireChecksum: true });
  const corrupt = (what: string): never => fail(op, `'${path}' is corrupt: ${what}`);
  const raw = metadata[CHECKPOINT_KEY];
  if (raw === undefined) {
    return fail(
      op,
      `'${path}' is not a Strata checkpoint (no '${CHECKPOINT_KEY}' metadata); for plain weights use loadWeights`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    return corrupt(`its '${CHECKPOINT_KEY}' metadata is not valid JSON (${(e as Error).message})`);
  }
  const restored = restoreFloats(parsed);
  if (restored === null)
    return corrupt(`its '${CHECKPOINT_KEY}' metadata is nested more than ${MAX_DEPTH} levels deep`);
  const info = restored.value as Record<string, unknown>;
  if (typeof info !== 'object' || info === null || Array.isArray(info))
    return corrupt('its metadata is not an object');
  if (info.format !== FORMAT) {
    if (typeof info.format === 'number' && info.format > FORMAT) {
      fail(
        op,
        `'${path}' has checkpoint format ${info.format}; this version of Strata reads format ${FORMAT}: upgrade Strata`,
      );
    }
    if (info.format === 1) {
      fail(
        op,
        `'${path}' has checkpoint format 1, from an earlier Strata, which did not store the run config; this version reads format ${FORMAT}: start a new run, or take its weights with loadSafetensors`,
      );
    }
    corrupt(`unknown checkpoint format ${describe(info.format)}`);
  }
  const rngProblem = rngStateProblem(info.rng);
  if (rngProblem !== null) corrupt(`it has no valid RNG state (${rngProblem})`);
  const rng = info.rng as RngState;
  const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  const progress = info.progress;
  if (!isObject(progress)) corrupt('it has no progress record');
  if (info.config !== undefined && !isObject(info.config))
    corrupt(`its run config is ${describe(info.config)}, not an object`);
  if (info.otherOptimizers !== undefined && !Array.isArray(info.otherOptimizers))
    corrupt(`its further optimizers are ${describe(info.otherOptimizers)}, not a list`);
  const others = info.otherOptimizers as unknown[] | undefined;

  const groups: Record<string, [string, Tensor][]> = { [MODEL]: [], [OPTIM]: [], [STATE]: [] };
  (others ?? []).forEach((_, k) => {
    groups[otherOptim(k + 1)] = [];
  });
  for (const [name, t] of Object.entries(tensors)) {
    const prefix = /^[a-z]+\d*\./.exec(name)?.[0] ?? '';
    const group = Object.hasOwn(groups, prefix) ? groups[prefix] : undefined;
    if (group === undefined)
      return corrupt(
        `unexpected tensor '${name}' (checkpoint tensors are named ${Object.keys(groups).join('*, ')}*)`,
      );
    group.push([name.slice(prefix.length), t]);
  }
  const tensorsOf = (prefix: string) => Object.fromEntries(groups[prefix]!);
  const ckpt: Checkpoint = {
    model: tensorsOf(MODEL),
    optimizer: { tensors: tensorsOf(OPTIM), state: info.optimizer },
    rng,
    progress: progress as Record<string, unknown>,
  };
  if (others !== undefined)
    ckpt.otherOptimizers = others.map((state, k) => ({ tensors: tensorsOf(otherOptim(k + 1)), state }));
  if (groups[STATE]!.length > 0) ckpt.state = tensorsOf(STATE);
  if (info.config !== undefined) ckpt.config = info.config as Record<string, unknown>;
  if (info.extra !== undefined) ckpt.extra = info.extra;
  return ckpt;
}

/**
 * Saves a state dict as plain safetensors with its PyTorch-style names, for exchange: PyTorch reads it with
 * `safetensors.torch.load_file(path)` and `model.load_state_dict(...)`. Written atomically.
 *
 *     saveWeights('mlp.safetensors', model.stateDict());
 *     // In PyTorch: model.load_state_dict(safetensors.torch.load_file('mlp.safetensors'))
 */
export function saveWeights(path: string, weights: Record<string, Tensor>): void {
  // "format": "pt" is what Hugging Face tools look for to treat the file as PyTorch weights.
  saveSafetensors(path, weights, { format: 'pt' }, STORE_AS_INT64);
}

/**
 * Loads and verifies weights written by saveWeights; a file without Strata's checksum is refused, as it
 * cannot be verified. For weights from PyTorch or the hub, use `loadSafetensors(path).tensors`.
 *
 *     saveWeights('mlp.safetensors', model.stateDict());
 *     const copy = mlp([4, 8, 3]);
 *     copy.loadStateDict(loadWeights('mlp.safetensors'));
 *     copy.forward(x).sub(model.forward(x)).abs().max().item() // → 0
 */
export function loadWeights(path: string): Record<string, Tensor> {
  const { tensors, metadata } = decodeSafetensors(readFileBytes('loadWeights', path), path, {
    requireChecksum: true,
  });
  if (metadata[CHECKPOINT_KEY] !== undefined) {
    fail(
      'loadWeights',
      `'${path}' is a Strata checkpoint, not a weights file; use loadCheckpoint(path).model`,
    );
  }
  return tensors;
}

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
 * Loads a checkpoint's weights into `model` and its optimizer state into `optimizer` (the same kind of
 * optimizer over the same parameters), then runs `rest` (which restores the remaining state: generator,
 * schedule). Whatever is refused here (a missing or mis-shaped weight, another optimizer type, a
 * hyper-parameter out of range) or in `rest` puts the model and the optimizer back as they were, so a
 * refused checkpoint changes nothing.
 *
 *     saveCheckpoint('run.safetensors', { model: model.stateDict(), optimizer: opt, rng: generator.getState(), progress: {} });
 *     const again = new optim.SGD(model.parameters(), { lr: 0.1 });
 *     restoreCheckpoint(model, again, loadCheckpoint('run.safetensors'));
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
