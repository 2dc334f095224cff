import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DataLoader, Sample } from '../data/loader.js';
import { describe, fail } from '../errors.js';
import { ensureOutputDir } from '../io/atomic.js';
import { loadCheckpoint, loadWeights, saveCheckpoint, saveWeights } from '../io/checkpoint.js';
import type { Module } from '../nn/module.js';
import { clipGradNorm } from '../optim/clip.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { LRScheduler } from '../optim/schedules.js';
import { type Generator, type RngState, rngStateProblem } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { countCorrect, evaluate } from './metrics.js';
import { Progress } from './progress.js';
import {
  checkResumeConfig,
  isCount,
  isRecord,
  optimizerToCheckpoint,
  restoreCheckpoint,
  snapshot,
} from './state.js';

export interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  lr: number;
  seconds: number;
  samplesPerSecond: number;
}

export interface EarlyStopping {
  monitor: 'valLoss' | 'valAccuracy';
  /** Epochs without improvement before stopping. */
  patience: number;
  /** The smallest change that counts as an improvement. */
  minDelta?: number;
  /** Put the best epoch's weights back at the end. */
  restoreBest?: boolean;
}

export interface FitOptions<T extends Sample> {
  epochs: number;
  loss: (output: Tensor, target: Tensor) => Tensor;
  train: DataLoader<T>;
  validation?: Iterable<Tensor[]>;
  /** The generator behind shuffling and dropout; its state goes into checkpoints. */
  generator: Generator;
  scheduler?: LRScheduler;
  /** Clip the global gradient norm to this before each update. */
  clipGradNorm?: number;
  earlyStopping?: EarlyStopping;
  /** Directory for `checkpoint.safetensors` (and `best.safetensors`); none means no checkpoints. */
  out?: string;
  /** Also checkpoint every this many steps (besides the end of every epoch). */
  checkpointEvery?: number;
  /** Continue from the checkpoint in `out`. */
  resume?: boolean;
  /** Show the progress bar on standard error. */
  progress?: boolean;
  /** JSON-able settings stored in the checkpoint, checked again on resume. */
  config?: Record<string, unknown>;
  onEpoch?: (record: EpochRecord) => void;
}

export interface FitResult {
  history: EpochRecord[];
  /** Training time in seconds over the epochs this call ran (evaluation excluded; a resumed epoch counts its time before the stop too). */
  trainSeconds: number;
  samplesPerSecond: number;
  stoppedEarly: boolean;
  bestEpoch: number | null;
  resumedFrom: { epoch: number; batch: number } | null;
}

/** Where a run stands, saved in every checkpoint so that a resumed run continues exactly. */
interface FitProgress {
  epoch: number;
  batch: number;
  step: number;
  /** The generator's state as the epoch began, which fixes the epoch's shuffle. */
  epochRng: RngState;
  lossSum: number;
  correct: number;
  seen: number;
  epochSeconds: number;
  history: EpochRecord[];
  best: number | null;
  bestEpoch: number | null;
  sinceBest: number;
  stopped: boolean;
  scheduler: { t: number; baseLrs: number[] } | null;
}

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
export const BEST_FILE = 'best.safetensors';

/**
 * Trains a classifier: for each batch, forward, loss, backward, (clip), step; then evaluation, the
 * schedule, early stopping and a checkpoint at the end of every epoch. A non-finite loss stops the run
 * with an error naming the step, epoch and batch. With `resume`, the run continues from the checkpoint
 * in `out` exactly as if it had not stopped: same weights, optimizer state, shuffle and random draws.
 */
export function fit<T extends Sample>(
  model: Module,
  optimizer: Optimizer<{ lr: number }>,
  o: FitOptions<T>,
): FitResult {
  if (!Number.isInteger(o.epochs) || o.epochs < 1)
    fail('fit', `epochs must be a positive integer, got ${o.epochs}`);
  if (o.earlyStopping && !o.validation) fail('fit', 'early stopping needs a validation set');
  if (o.resume && !o.out) fail('fit', 'resume needs the output directory that holds the checkpoint');
  // Checked before any work, so that an unusable directory (even '') fails now, not after an epoch.
  if (o.out !== undefined) ensureOutputDir('fit', o.out, [CHECKPOINT_FILE, BEST_FILE]);
  const ckptPath = o.out ? join(o.out, CHECKPOINT_FILE) : null;
  const bestPath = o.out ? join(o.out, BEST_FILE) : null;
  // Read the validation batches once: a one-shot iterator would be empty from the second epoch on.
  const validation = o.validation ? [...o.validation] : undefined;

  let p: FitProgress = {
    epoch: 0,
    batch: 0,
    step: 0,
    epochRng: o.generator.getState(),
    lossSum: 0,
    correct: 0,
    seen: 0,
    epochSeconds: 0,
    history: [],
    best: null,
    bestEpoch: null,
    sinceBest: 0,
    stopped: false,
    scheduler: null,
  };
  let resumedFrom: FitResult['resumedFrom'] = null;
  if (o.resume) {
    if (!existsSync(ckptPath!)) fail('fit', `nothing to resume: no checkpoint at '${ckptPath}'`);
    const ckpt = loadCheckpoint(ckptPath!);
    // Everything is checked before anything is restored: a refused checkpoint changes nothing.
    checkResumeConfig('resume', ckpt.extra ?? {}, o.config ?? {});
    const saved = checkProgress(ckpt.progress, ckptPath!, {
      epochs: o.epochs,
      batches: o.train.length,
      groups: optimizer.paramGroups.length,
    });
    restoreCheckpoint(model, optimizer, ckpt, () => {
      if (saved.scheduler && o.scheduler) o.scheduler.loadStateDict(saved.scheduler);
      o.generator.setState(ckpt.rng);
    });
    p = saved;
    resumedFrom = { epoch: p.epoch, batch: p.batch };
  }

  const save = () => {
    if (!ckptPath) return;
    p.scheduler = o.scheduler?.stateDict() ?? null;
    saveCheckpoint(ckptPath, {
      model: model.stateDict(),
      optimizer: optimizerToCheckpoint(optimizer),
      rng: o.generator.getState(),
      progress: p as unknown as Record<string, unknown>,
      extra: o.config ?? {},
    });
  };

  const bar = new Progress(o.progress ?? false, o.epochs);
  const params = model.parameters();
  let trainSeconds = 0;
  let trainSamples = 0;
  // Without an output directory the best weights are kept in memory.
  let bestInMemory: Record<string, Tensor> | null = null;
  model.train();

  while (p.epoch < o.epochs && !p.stopped) {
    let batches: Iterable<unknown>;
    if (p.batch === 0) {
      p.epochRng = o.generator.getState();
      batches = o.train.iterate();
    } else {
      // Resuming mid-epoch: replay the epoch's shuffle from its starting state, skip the batches
      // already done, then continue the generator from where the checkpoint left it.
      const now = o.generator.getState();
      o.generator.setState(p.epochRng);
      batches = o.train.iterate({ startBatch: p.batch });
      o.generator.setState(now);
    }
    bar.startEpoch(p.epoch, o.train.length, p.batch);
    let t0 = performance.now();
    for (const batch of batches) {
      const [x, y] = batch as Tensor[];
      optimizer.zeroGrad();
      const out = model.forward(x!);
      const loss = o.loss(out, y!);
      const value = loss.item();
      if (!Number.isFinite(value)) {
        fail(
          'fit',
          `the loss became ${value} at step ${p.step + 1} (epoch ${p.epoch + 1}, batch ${p.batch + 1}); lower the learning rate or check the inputs`,
        );
      }
      loss.backward();
      if (o.clipGradNorm !== undefined) clipGradNorm(params, o.clipGradNorm);
      optimizer.step();
      const n = y!.shape[0]!;
      p.lossSum += value * n;
      p.correct += countCorrect(out, y!);
      p.seen += n;
      p.batch++;
      p.step++;
      const elapsed = p.epochSeconds + (performance.now() - t0) / 1000;
      bar.update(p.batch, {
        loss: p.lossSum / p.seen,
        accuracy: p.correct / p.seen,
        samplesPerSecond: p.seen / elapsed,
      });
      if (o.checkpointEvery && p.step % o.checkpointEvery === 0 && p.batch < o.train.length) {
        const t1 = performance.now();
        p.epochSeconds += (t1 - t0) / 1000;
        save();
        t0 = performance.now();
      }
    }
    const seconds = p.epochSeconds + (performance.now() - t0) / 1000;
    trainSeconds += seconds;
    trainSamples += p.seen;
    const record: EpochRecord = {
      epoch: p.epoch + 1,
      loss: p.lossSum / Math.max(1, p.seen),
      accuracy: p.correct / Math.max(1, p.seen),
      lr: optimizer.paramGroups[0]!.lr,
      seconds,
      samplesPerSecond: p.seen / seconds,
    };
    if (validation) {
      const v = evaluate(model, validation, o.loss);
      record.valLoss = v.loss;
      record.valAccuracy = v.accuracy;
    }
    p.history.push(record);
    o.scheduler?.step();
    if (o.earlyStopping) {
      const es = o.earlyStopping;
      const value = es.monitor === 'valLoss' ? record.valLoss! : -record.valAccuracy!;
      if (p.best === null || value < p.best - (es.minDelta ?? 0)) {
        p.best = value;
        p.bestEpoch = record.epoch;
        p.sinceBest = 0;
        if (es.restoreBest && bestPath) saveWeights(bestPath, model.stateDict());
        else if (es.restoreBest) bestInMemory = snapshot(model);
      } else if (++p.sinceBest >= es.patience) p.stopped = true;
    }
    bar.endEpoch(summary(record, o.epochs));
    o.onEpoch?.(record);
    Object.assign(p, { epoch: p.epoch + 1, batch: 0, lossSum: 0, correct: 0, seen: 0, epochSeconds: 0 });
    save();
  }

  if (o.earlyStopping?.restoreBest && p.bestEpoch !== null) {
    model.loadStateDict(bestPath ? loadWeights(bestPath) : bestInMemory!);
  }
  return {
    history: p.history,
    trainSeconds,
    samplesPerSecond: trainSamples / Math.max(trainSeconds, 1e-9),
    stoppedEarly: p.stopped,
    bestEpoch: p.bestEpoch,
    resumedFrom,
  };
}

function summary(r: EpochRecord, epochs: number): string {
  const val =
    r.valLoss === undefined
      ? ''
      : ` | val loss ${r.valLoss.toFixed(4)} acc ${(100 * r.valAccuracy!).toFixed(2)}%`;
  return `epoch ${r.epoch}/${epochs} | loss ${r.loss.toFixed(4)} acc ${(100 * r.accuracy).toFixed(2)}%${val} | ${Math.round(r.samplesPerSecond)} samples/s | ${r.seconds.toFixed(1)} s`;
}

/** What a checkpoint's progress must agree with: the run it is resumed into. */
interface RunShape {
  epochs: number;
  /** Batches per epoch. */
  batches: number;
  /** The optimizer's parameter groups (one base learning rate each in the schedule's state). */
  groups: number;
}

/** What is wrong with one epoch record of a checkpoint's history, or null. */
function recordProblem(r: unknown, i: number): string | null {
  if (!isRecord(r)) return `history[${i}] is ${describe(r)}, not an epoch record`;
  if (r.epoch !== i + 1) return `history[${i}] is for epoch ${describe(r.epoch)}, expected ${i + 1}`;
  // What each field can be: a finite loss (fit stops at any other), a fraction, a rate, a duration.
  const fits: Record<string, (v: number) => boolean> = {
    loss: Number.isFinite,
    accuracy: (v) => v >= 0 && v <= 1,
    lr: (v) => Number.isFinite(v) && v >= 0,
    seconds: (v) => Number.isFinite(v) && v >= 0,
    samplesPerSecond: (v) => v >= 0,
    valLoss: (v) => !Number.isNaN(v),
    valAccuracy: (v) => v >= 0 && v <= 1,
  };
  for (const [k, ok] of Object.entries(fits)) {
    const optional = k === 'valLoss' || k === 'valAccuracy';
    if (optional && r[k] === undefined) continue;
    if (typeof r[k] !== 'number' || !ok(r[k])) return `history[${i}].${k} is ${describe(r[k])}`;
  }
  return null;
}

/** What is wrong with a checkpoint's fit progress for this run, or null if it is consistent. */
function progressProblem(raw: Record<string, unknown>, run: RunShape): string | null {
  for (const k of ['epoch', 'batch', 'step', 'seen', 'correct', 'sinceBest'])
    if (!isCount(raw[k])) return `'${k}' is ${describe(raw[k])}, not a non-negative integer`;
  for (const k of ['lossSum', 'epochSeconds'])
    if (typeof raw[k] !== 'number' || !Number.isFinite(raw[k]))
      return `'${k}' is ${describe(raw[k])}, not a finite number`;
  if (typeof raw.stopped !== 'boolean') return `'stopped' is ${describe(raw.stopped)}, not true or false`;
  const [epoch, batch, step] = [raw.epoch, raw.batch, raw.step] as number[];
  if (epoch > run.epochs)
    return `it has finished ${epoch} epochs, more than the ${run.epochs} this run asks for: pass at least --epochs ${epoch}`;
  if (batch >= run.batches || (batch > 0 && epoch >= run.epochs))
    return `it stopped at batch ${batch} of epoch ${epoch + 1}, but this run has ${run.batches} batches in each of ${run.epochs} epochs`;
  if (step !== epoch * run.batches + batch) {
    return (
      `it is at epoch ${epoch}, batch ${batch} and step ${step}, but with ${run.batches} batches per epoch ` +
      `that is step ${epoch * run.batches + batch}: was the data or the batch size changed?`
    );
  }
  if ((raw.correct as number) > (raw.seen as number))
    return `'correct' (${raw.correct}) exceeds 'seen' (${raw.seen})`;
  // At an epoch's start its running sums are empty.
  if (batch === 0) {
    const started = ['seen', 'correct', 'lossSum', 'epochSeconds'].find((k) => raw[k] !== 0);
    if (started) return `'${started}' is ${describe(raw[started])} at the start of an epoch, where it is 0`;
  }
  const rng = rngStateProblem(raw.epochRng);
  if (rng !== null) return `'epochRng' is not a generator state (${rng})`;
  if (!Array.isArray(raw.history)) return `'history' is ${describe(raw.history)}, not a list`;
  if (raw.history.length !== epoch)
    return `'history' has ${raw.history.length} records for ${epoch} finished epochs`;
  for (const [i, r] of raw.history.entries()) {
    const problem = recordProblem(r, i);
    if (problem !== null) return problem;
  }
  const { best, bestEpoch } = raw;
  if (!(best === null || (typeof best === 'number' && !Number.isNaN(best))))
    return `'best' is ${describe(best)}`;
  if (!(bestEpoch === null || (isCount(bestEpoch) && bestEpoch >= 1 && bestEpoch <= epoch)))
    return `'bestEpoch' is ${describe(bestEpoch)}, not null or one of the ${epoch} finished epochs`;
  // Early stopping records the best epoch's monitored value and counts the epochs since it.
  if (bestEpoch === null) {
    if (best !== null || raw.sinceBest !== 0 || raw.stopped)
      return `it has no best epoch, yet 'best', 'sinceBest' or 'stopped' says there was one`;
  } else {
    const r = raw.history[(bestEpoch as number) - 1] as Record<string, unknown>;
    if (best !== r.valLoss && best !== -(r.valAccuracy as number))
      return `'best' (${describe(best)}) is not the validation loss or accuracy of its epoch ${bestEpoch}`;
    if (raw.sinceBest !== epoch - (bestEpoch as number))
      return `'sinceBest' is ${raw.sinceBest}, but ${epoch - (bestEpoch as number)} epochs followed the best one`;
  }
  const sched = raw.scheduler;
  if (sched !== null) {
    if (!isRecord(sched) || sched.t !== epoch)
      return `'scheduler' is not a schedule stepped once for each of ${epoch} epochs`;
    const lrs = sched.baseLrs;
    if (!Array.isArray(lrs) || lrs.length !== run.groups || !lrs.every((v) => Number.isFinite(v) && v >= 0))
      return `'scheduler.baseLrs' is not ${run.groups} finite non-negative learning rates`;
  }
  return null;
}

/** The progress record of a checkpoint, checked field by field, and against the run, before it is trusted. */
function checkProgress(raw: Record<string, unknown>, path: string, run: RunShape): FitProgress {
  const problem = progressProblem(raw, run);
  if (problem !== null) {
    fail(
      'resume',
      `'${path}' has no valid fit progress for this run: ${problem}. Start a new run (another --out) or resume with the settings it was made with`,
    );
  }
  return raw as unknown as FitProgress;
}
