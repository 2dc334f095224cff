import { describe, fail, StrataError } from '../errors.js';
import { type RngState, rngStateProblem } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { readFileBytes } from './atomic.js';
import { decodeSafetensors, saveSafetensors } from './safetensors.js';

/**
 * Everything needed to resume a run exactly: weights, optimizer state, the random generator's state
 * and how far training got. Tensors are stored as tensors; everything else must be JSON-able.
 */
export interface Checkpoint {
  /** The model's state dict, with PyTorch-style names (`layers.0.weight`). */
  model: Record<string, Tensor>;
  /** The optimizer's per-parameter tensors (moments, ...) and the rest of its state (step counts, groups). */
  optimizer: { tensors: Record<string, Tensor>; state: unknown };
  rng: RngState;
  /** Epoch, step, best metric, history... */
  progress: Record<string, unknown>;
  /** Anything else the caller wants back (the run's config, say); JSON-able. */
  extra?: unknown;
}

const FORMAT = 1;
const CHECKPOINT_KEY = 'strata.checkpoint';
const MODEL = 'model.';
const OPTIM = 'optim.';
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

/**
 * Saves a checkpoint as one safetensors file (model weights under `model.*`, optimizer tensors under
 * `optim.*`, the rest as JSON in the `strata.checkpoint` metadata entry), so that a single atomic rename
 * replaces the previous checkpoint: a crash at any moment leaves either the old file or the new one.
 *
 *     saveCheckpoint('runs/mnist/last.safetensors', {
 *       model: net.stateDict(), optimizer: opt.stateDict(), rng: gen.getState(), progress: { epoch, step },
 *     })
 */
export function saveCheckpoint(path: string, ckpt: Checkpoint): void {
  let json: string;
  try {
    json = JSON.stringify(
      {
        format: FORMAT,
        optimizer: ckpt.optimizer.state,
        rng: ckpt.rng,
        progress: ckpt.progress,
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
  ]);
  saveSafetensors(path, tensors, { [CHECKPOINT_KEY]: json }, STORE_AS_INT64);
}

/**
 * Loads and verifies a checkpoint written by saveCheckpoint. Throws a StrataError if the file is missing,
 * has no checksum or does not match it (corrupt, truncated), is a safetensors file but not a Strata
 * checkpoint, or holds no valid RNG state or progress record.
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
    corrupt(`unknown checkpoint format ${describe(info.format)}`);
  }
  const rngProblem = rngStateProblem(info.rng);
  if (rngProblem !== null) corrupt(`it has no valid RNG state (${rngProblem})`);
  const rng = info.rng as RngState;
  const progress = info.progress;
  if (typeof progress !== 'object' || progress === null || Array.isArray(progress))
    corrupt('it has no progress record');

  const model: [string, Tensor][] = [];
  const optim: [string, Tensor][] = [];
  for (const [name, t] of Object.entries(tensors)) {
    if (name.startsWith(MODEL)) model.push([name.slice(MODEL.length), t]);
    else if (name.startsWith(OPTIM)) optim.push([name.slice(OPTIM.length), t]);
    else corrupt(`unexpected tensor '${name}' (checkpoint tensors are named ${MODEL}* or ${OPTIM}*)`);
  }
  const ckpt: Checkpoint = {
    model: Object.fromEntries(model),
    optimizer: { tensors: Object.fromEntries(optim), state: info.optimizer },
    rng,
    progress: progress as Record<string, unknown>,
  };
  if (info.extra !== undefined) ckpt.extra = info.extra;
  return ckpt;
}

/**
 * Saves a state dict as plain safetensors with its PyTorch-style names, for exchange: PyTorch reads it with
 * `safetensors.torch.load_file(path)` and `model.load_state_dict(...)`. Written atomically.
 */
export function saveWeights(path: string, weights: Record<string, Tensor>): void {
  // "format": "pt" is what Hugging Face tools look for to treat the file as PyTorch weights.
  saveSafetensors(path, weights, { format: 'pt' }, STORE_AS_INT64);
}

/**
 * Loads and verifies weights written by saveWeights; a file without Strata's checksum is refused, as it
 * cannot be verified. For weights from PyTorch or the hub, use `loadSafetensors(path).tensors`.
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
