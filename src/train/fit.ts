import type { DataLoader, Sample } from '../data/loader.js';
import { fail } from '../errors.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { LRScheduler } from '../optim/schedules.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  EarlyStopping,
  type EarlyStoppingOptions,
  GradientClipping,
  LearningRateSchedule,
} from './callbacks.js';
import { countCorrect } from './metrics.js';
import {
  type Callback,
  type EpochRecord,
  type EpochSource,
  type RunOptions,
  type Task,
  Trainer,
  type TrainResult,
} from './trainer.js';

/** A classifier's epoch: mean loss and accuracy, and with validation the same on the held-out batches. */
export interface ClassifierEpoch extends EpochRecord {
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
}

export interface FitOptions<T extends Sample> extends RunOptions {
  epochs: number;
  loss: (output: Tensor, target: Tensor) => Tensor;
  train: DataLoader<T>;
  validation?: Iterable<Tensor[]>;
  /** Stepped once per epoch. */
  scheduler?: LRScheduler;
  /** Clip the global gradient norm to this before each update. */
  clipGradNorm?: number;
  earlyStopping?: EarlyStoppingOptions & { monitor: 'valLoss' | 'valAccuracy'; patience: number };
  onEpoch?: (record: ClassifierEpoch) => void;
}

export interface FitResult extends TrainResult {
  history: ClassifierEpoch[];
  bestEpoch: number | null;
}

/**
 * The task of a classifier: logits from `model.forward(x)`, a loss against the labels, and the count of
 * correct predictions as its `accuracy` metric.
 *
 *     const task = classifierTask(model, opt, nn.crossEntropy);
 *     const { history } = await new Trainer(task, { epochs: 3, data: loader, validation: [[x, y]], generator }).fit();
 *     history[2]!.valAccuracy // the share of the validation rows classified right after the third epoch
 */
export function classifierTask(
  model: Module,
  optimizer: Optimizer<{ lr: number }>,
  loss: (output: Tensor, target: Tensor) => Tensor,
): Task<Tensor[]> {
  const step = ([x, y]: Tensor[]) => {
    const out = model.forward(x!);
    return { loss: loss(out, y!), metrics: { accuracy: countCorrect(out, y!) }, size: y!.shape[0]! };
  };
  return { model, optimizers: [optimizer], trainStep: step, evalStep: step };
}

/**
 * Trains a classifier on the Trainer: for each batch forward, loss, backward, (clip), step; then
 * validation, the schedule, early stopping and a checkpoint at the end of every epoch. A non-finite loss
 * stops the run before the update with an error naming the step, epoch and batch. With `resume`, the run
 * continues from the checkpoint in `out` exactly as if it had not stopped.
 *
 *     const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
 *     const run = { loss: nn.crossEntropy, train: loader, validation: [[x, y]], generator, out: 'runs/mlp' };
 *     const { history } = await fit(model, opt, { ...run, epochs: 3 });
 *     history.length // → 3
 *
 *     // Later, two epochs more from the checkpoint in runs/mlp, as if the run had not stopped:
 *     const more = await fit(model, opt, { ...run, epochs: 5, resume: true });
 *     more.resumedFrom // → { epoch: 3, batch: 0 }
 */
export async function fit<T extends Sample>(
  model: Module,
  optimizer: Optimizer<{ lr: number }>,
  o: FitOptions<T>,
): Promise<FitResult> {
  const { loss, train, validation, scheduler, clipGradNorm, earlyStopping, onEpoch, ...run } = o;
  if (earlyStopping && !validation) fail('fit', 'early stopping needs a validation set');
  const callbacks: Callback[] = [];
  if (clipGradNorm !== undefined) callbacks.push(new GradientClipping(clipGradNorm));
  if (scheduler) callbacks.push(new LearningRateSchedule(scheduler));
  const stopping = earlyStopping ? new EarlyStopping(earlyStopping) : null;
  if (stopping) callbacks.push(stopping);
  if (onEpoch) callbacks.push({ onEpochEnd: (r) => onEpoch(r as ClassifierEpoch) });
  // The callbacks given run after those the options above make.
  callbacks.push(...(o.callbacks ?? []));
  const trainer = new Trainer(classifierTask(model, optimizer, loss), {
    ...run,
    data: train as unknown as EpochSource<Tensor[]>,
    // Read once: a one-shot iterator would be empty from the second epoch on.
    validation: validation ? [...validation] : undefined,
    callbacks,
  });
  const result = await trainer.fit();
  return { ...result, history: result.history as ClassifierEpoch[], bestEpoch: stopping?.bestEpoch ?? null };
}
