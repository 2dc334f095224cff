import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { noGrad } from '../autograd/mode.js';
import { batchify, bpttWindows } from '../data/text.js';
import { describe, fail } from '../errors.js';
import { ensureOutputDir } from '../io/atomic.js';
import { loadCheckpoint, loadWeights, saveCheckpoint, saveWeights } from '../io/checkpoint.js';
import { crossEntropy } from '../nn/losses.js';
import type { Module } from '../nn/module.js';
import { detachState } from '../nn/recurrent.js';
import { clipGradNorm } from '../optim/clip.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { BEST_FILE, CHECKPOINT_FILE } from './fit.js';
import { Progress } from './progress.js';
import {
  checkResumeConfig,
  isCount,
  isRecord,
  optimizerToCheckpoint,
  restoreCheckpoint,
  snapshot,
} from './state.js';

/**
 * A language model maps token ids [B, T] (and the state carried from the previous window, if it has
 * one) to logits [B, T, V] and its next state. Window-based models (the NPLM) carry nothing.
 */
export type LanguageModel = Module<[Tensor, never?], [Tensor, unknown]>;

export interface LmEpochRecord {
  epoch: number;
  /** Mean cross-entropy per token on the training stream, in nats. */
  loss: number;
  perplexity: number;
  valPerplexity: number;
  lr: number;
  seconds: number;
  tokensPerSecond: number;
}

export interface LmFitOptions {
  epochs: number;
  batchSize: number;
  /** Tokens per window of truncated backpropagation through time. */
  bptt: number;
  train: Int32Array;
  valid: Int32Array;
  /** Clip the global gradient norm to this before each update (0: no clipping). */
  clip: number;
  /** The generator behind dropout; its state goes into checkpoints. */
  generator: Generator;
  /** Divide the learning rate by this when validation perplexity does not improve (1: never). */
  anneal?: number;
  /** Directory for `checkpoint.safetensors` and `best.safetensors`. */
  out?: string;
  resume?: boolean;
  progress?: boolean;
  /** JSON-able settings stored in the checkpoint and checked again on resume. */
  config?: Record<string, unknown>;
  /** More JSON-able data for the checkpoint (the vocabulary). */
  extra?: Record<string, unknown>;
}

export interface LmFitResult {
  history: LmEpochRecord[];
  trainSeconds: number;
  tokensPerSecond: number;
  bestEpoch: number | null;
  resumedFrom: number | null;
}

/**
 * Perplexity of a token stream: exp of the mean cross-entropy of every next-token prediction, the stream
 * cut into `batchSize` contiguous streams and read window by window with the state carried across.
 */
export function perplexity(model: LanguageModel, ids: Int32Array, batchSize: number, bptt: number): number {
  const wasTraining = model.training;
  model.eval();
  let nll = 0;
  let count = 0;
  noGrad(() => {
    let state: unknown;
    for (const [x, y] of bpttWindows(batchify(ids, Math.min(batchSize, Math.floor(ids.length / 2))), bptt)) {
      const [logits, next] = model.forward(x, state as never);
      state = next;
      nll += crossEntropy(logits.reshape([-1, logits.shape[2]!]), y.reshape([-1])).item() * y.size;
      count += y.size;
    }
  });
  model.train(wasTraining);
  return Math.exp(nll / count);
}

/**
 * Trains a language model by truncated BPTT over contiguous streams (the state carried from window to
 * window, detached), with gradient-norm clipping; evaluates validation perplexity after every epoch,
 * keeps the best weights, and divides the learning rate by `anneal` when an epoch does not improve (as
 * in Zaremba et al., 2014). Checkpoints are written atomically after every epoch; `resume` continues
 * from the last one. At the end the best epoch's weights are loaded back.
 */
export function fitLanguageModel(
  model: LanguageModel,
  optimizer: Optimizer<{ lr: number }>,
  o: LmFitOptions,
): LmFitResult {
  const anneal = o.anneal ?? 4;
  const ckptPath = o.out ? join(o.out, CHECKPOINT_FILE) : null;
  const bestPath = o.out ? join(o.out, BEST_FILE) : null;
  if (o.out !== undefined) ensureOutputDir('train', o.out, [CHECKPOINT_FILE, BEST_FILE]);
  let start = 0;
  let best = Number.POSITIVE_INFINITY;
  let bestEpoch: number | null = null;
  let history: LmEpochRecord[] = [];
  let resumedFrom: number | null = null;
  let bestInMemory: Record<string, Tensor> | null = null;
  if (o.resume) {
    if (!ckptPath || !existsSync(ckptPath))
      fail('train', `--resume: no checkpoint at ${ckptPath ?? '(no --out)'}; start without --resume`);
    const ckpt = loadCheckpoint(ckptPath);
    // Everything is checked before anything is restored: a refused checkpoint changes nothing.
    checkResumeConfig('train', isRecord(ckpt.extra) ? ckpt.extra.config : undefined, o.config ?? {});
    const p = checkLmProgress(ckpt.progress, ckptPath, o.epochs);
    restoreCheckpoint(model, optimizer, ckpt, () => o.generator.setState(ckpt.rng));
    [start, best, bestEpoch, history] = [p.epoch, p.best, p.bestEpoch, p.history];
    resumedFrom = start;
  }
  const streams = batchify(o.train, o.batchSize);
  const windows = Math.ceil((streams.shape[1]! - 1) / o.bptt);
  const bar = new Progress(o.progress ?? false, o.epochs, 'tokens');
  const params = model.parameters();
  for (let epoch = start; epoch < o.epochs; epoch++) {
    model.train();
    bar.startEpoch(epoch, windows, 0);
    const t0 = performance.now();
    let nll = 0;
    let tokens = 0;
    let state: unknown;
    let w = 0;
    for (const [x, y] of bpttWindows(streams, o.bptt)) {
      optimizer.zeroGrad();
      const [logits, next] = model.forward(
        x,
        (state === undefined ? undefined : detachState(state as Tensor)) as never,
      );
      state = next;
      const loss = crossEntropy(logits.reshape([-1, logits.shape[2]!]), y.reshape([-1]));
      loss.backward();
      if (o.clip > 0) clipGradNorm(params, o.clip);
      optimizer.step();
      const l = loss.item();
      if (!Number.isFinite(l))
        fail('train', `the loss became ${l} at epoch ${epoch + 1}, window ${w + 1}: lower --lr or --clip`);
      nll += l * y.size;
      tokens += y.size;
      w++;
      bar.update(w, {
        loss: nll / tokens,
        perplexity: Math.exp(nll / tokens),
        samplesPerSecond: (tokens * 1000) / (performance.now() - t0),
      });
    }
    const seconds = (performance.now() - t0) / 1000;
    const valPerplexity = perplexity(model, o.valid, o.batchSize, o.bptt);
    const lr = optimizer.paramGroups[0]!.lr;
    const record: LmEpochRecord = {
      epoch: epoch + 1,
      loss: nll / tokens,
      perplexity: Math.exp(nll / tokens),
      valPerplexity,
      lr,
      seconds,
      tokensPerSecond: tokens / seconds,
    };
    history.push(record);
    bar.endEpoch(
      `epoch ${epoch + 1}/${o.epochs}: train ppl ${record.perplexity.toFixed(1)}, valid ppl ${valPerplexity.toFixed(1)}, lr ${lr}, ${seconds.toFixed(1)} s (${Math.round(record.tokensPerSecond)} tokens/s)`,
    );
    if (valPerplexity < best) {
      best = valPerplexity;
      bestEpoch = epoch + 1;
      if (bestPath) saveWeights(bestPath, model.stateDict());
      else bestInMemory = snapshot(model);
    } else if (anneal > 1) {
      for (const g of optimizer.paramGroups) g.lr /= anneal;
    }
    if (ckptPath) {
      saveCheckpoint(ckptPath, {
        model: model.stateDict(),
        optimizer: optimizerToCheckpoint(optimizer),
        rng: o.generator.getState(),
        progress: { epoch: epoch + 1, best, bestEpoch, history },
        extra: { config: o.config ?? {}, ...o.extra },
      });
    }
  }
  if (bestEpoch !== null) model.loadStateDict(bestPath ? loadWeights(bestPath) : bestInMemory!);
  const ran = history.slice(resumedFrom ?? 0);
  const trainSeconds = ran.reduce((s, r) => s + r.seconds, 0);
  const tokens = ran.reduce((s, r) => s + r.tokensPerSecond * r.seconds, 0);
  return {
    history,
    trainSeconds,
    tokensPerSecond: trainSeconds > 0 ? tokens / trainSeconds : 0,
    bestEpoch,
    resumedFrom,
  };
}

interface LmProgress {
  epoch: number;
  best: number;
  bestEpoch: number | null;
  history: LmEpochRecord[];
}

/** What is wrong with a language model checkpoint's progress for a run of `epochs` epochs, or null. */
function lmProgressProblem(raw: Record<string, unknown>, epochs: number): string | null {
  const { epoch, best, bestEpoch, history } = raw;
  if (!isCount(epoch)) return `'epoch' is ${describe(epoch)}, not a non-negative integer`;
  if (epoch > epochs)
    return `it has finished ${epoch} epochs, more than the ${epochs} this run asks for: pass at least --epochs ${epoch}`;
  if (typeof best !== 'number' || Number.isNaN(best)) return `'best' is ${describe(best)}, not a number`;
  if (!(bestEpoch === null || (isCount(bestEpoch) && bestEpoch >= 1 && bestEpoch <= epoch)))
    return `'bestEpoch' is ${describe(bestEpoch)}, not null or one of the ${epoch} finished epochs`;
  if (!Array.isArray(history) || history.length !== epoch)
    return `'history' is ${describe(history)}, not one record for each of ${epoch} finished epochs`;
  for (const [i, r] of history.entries()) {
    if (!isRecord(r) || r.epoch !== i + 1) return `history[${i}] is not the record of epoch ${i + 1}`;
    for (const k of ['loss', 'perplexity', 'valPerplexity', 'lr', 'seconds', 'tokensPerSecond']) {
      const v = r[k];
      // The loop stops at a non-finite loss; a perplexity may still overflow to Infinity, never be NaN.
      if (typeof v !== 'number' || Number.isNaN(v) || v < 0)
        return `history[${i}].${k} is ${describe(v)}, not a non-negative number`;
    }
  }
  const bestRecord = bestEpoch === null ? undefined : (history[bestEpoch - 1] as Record<string, unknown>);
  if ((bestRecord?.valPerplexity ?? Number.POSITIVE_INFINITY) !== best)
    return `'best' (${best}) is not the validation perplexity of its best epoch ${describe(bestEpoch)}`;
  return null;
}

/** A language model checkpoint's progress, checked before it is trusted. */
function checkLmProgress(raw: Record<string, unknown>, path: string, epochs: number): LmProgress {
  const problem = lmProgressProblem(raw, epochs);
  if (problem !== null) {
    fail(
      'train',
      `--resume: '${path}' has no valid training progress for this run: ${problem}. Start a new run in another --out directory`,
    );
  }
  return raw as unknown as LmProgress;
}
