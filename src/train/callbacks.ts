import { join } from 'node:path';
import { describe } from '../errors.js';
import { BEST_FILE, isCount, isRecord, loadWeights, saveWeights, snapshot } from '../io/checkpoint.js';
import { addParameterHistograms, configMarkdown } from '../io/logs/model-logs.js';
import { SummaryWriter } from '../io/logs/summary-writer.js';
import { clipGradNorm } from '../optim/clip.js';
import {
  type LRScheduler,
  type PlateauState,
  ReduceLROnPlateau,
  type SchedulerState,
} from '../optim/schedules.js';
import type { Tensor } from '../tensor/tensor.js';
import { imageGrid } from '../viz/grid.js';
import type { Callback, EpochRecord, Run, RunShape } from './trainer.js';

export interface EarlyStoppingOptions {
  /** The epoch record's metric to watch (`valLoss`, `valAccuracy`, `valPerplexity`). */
  monitor: string;
  /** 'min' (default for losses and perplexities) or 'max' (default for accuracies). */
  mode?: 'min' | 'max';
  /** Epochs without improvement before stopping; Infinity (the default) never stops, only keeps the best. */
  patience?: number;
  /** The smallest change that counts as an improvement. */
  minDelta?: number;
  /** Put the best epoch's weights back at the end (kept in `best.safetensors` when the run has an out directory). */
  restoreBest?: boolean;
}

/**
 * Stops a run when a monitored metric has not improved for `patience` epochs, and keeps the best
 * epoch's weights (Keras's EarlyStopping with restore_best_weights). Its state (best value and epoch,
 * epochs since) is checkpointed, so a resumed run counts on.
 *
 *     const stopping = new EarlyStopping({ monitor: 'valLoss', patience: 3, restoreBest: true });
 *     await new Trainer(task, { epochs: 10, data: loader, validation: [[x, y]], generator, callbacks: [stopping] }).fit();
 *     stopping.bestEpoch // the epoch whose weights the model now has
 */
export class EarlyStopping implements Callback {
  readonly name = 'earlyStopping';
  readonly monitor: string;
  private readonly sign: number;
  private readonly patience: number;
  private readonly minDelta: number;
  private readonly restoreBest: boolean;
  best: number | null = null;
  bestEpoch: number | null = null;
  sinceBest = 0;
  private inMemory: Record<string, Tensor> | null = null;

  constructor(o: EarlyStoppingOptions) {
    this.monitor = o.monitor;
    this.sign = (o.mode ?? (/acc/i.test(o.monitor) ? 'max' : 'min')) === 'max' ? -1 : 1;
    this.patience = o.patience ?? Number.POSITIVE_INFINITY;
    this.minDelta = o.minDelta ?? 0;
    this.restoreBest = o.restoreBest ?? false;
  }

  onEpochEnd(record: EpochRecord, run: Run): void {
    const raw = record[this.monitor];
    if (raw === undefined) return;
    // Compared as a value to minimise, so that one rule serves both modes.
    const value = this.sign * raw;
    if (this.best === null || value < this.best - this.minDelta) {
      this.best = value;
      this.bestEpoch = record.epoch;
      this.sinceBest = 0;
      if (this.restoreBest && run.out && run.writes)
        saveWeights(join(run.out, BEST_FILE), run.model.stateDict());
      else if (this.restoreBest) this.inMemory = snapshot(run.model);
    } else if (++this.sinceBest >= this.patience) run.stop();
  }

  onRunEnd(run: Run): void {
    if (!this.restoreBest || this.bestEpoch === null) return;
    run.model.loadStateDict(run.out ? loadWeights(join(run.out, BEST_FILE)) : this.inMemory!);
  }

  stateDict(): unknown {
    return { best: this.best, bestEpoch: this.bestEpoch, sinceBest: this.sinceBest };
  }

  stateProblem(s: unknown, run: RunShape): string | null {
    if (!isRecord(s)) return `the early-stopping state is ${describe(s)}`;
    if (!(s.best === null || (typeof s.best === 'number' && !Number.isNaN(s.best))))
      return `'best' is ${describe(s.best)}, not a number`;
    if (!(s.bestEpoch === null || (isCount(s.bestEpoch) && s.bestEpoch >= 1 && s.bestEpoch <= run.epoch)))
      return `'bestEpoch' is ${describe(s.bestEpoch)}, not null or one of the ${run.epoch} finished epochs`;
    if (!isCount(s.sinceBest) || s.sinceBest > run.epoch)
      return `'sinceBest' is ${describe(s.sinceBest)}, not a count of the ${run.epoch} finished epochs`;
    // The best value is its epoch's monitored value, and the epochs since it add up.
    if (s.bestEpoch === null) {
      if (s.best !== null || s.sinceBest !== 0)
        return `it has no best epoch, yet 'best' or 'sinceBest' says there was one`;
      return null;
    }
    const monitored = run.history[s.bestEpoch - 1]?.[this.monitor];
    if (monitored === undefined || s.best !== this.sign * monitored)
      return `'best' (${describe(s.best)}) is not the ${this.monitor} of its epoch ${s.bestEpoch}`;
    if (s.sinceBest !== run.epoch - s.bestEpoch)
      return `'sinceBest' is ${s.sinceBest}, but ${run.epoch - s.bestEpoch} epochs followed the best one`;
    return null;
  }

  loadStateDict(s: unknown): void {
    Object.assign(this, s);
  }
}

export interface ScheduleOptions {
  /** Step after every epoch (default) or every batch. */
  per?: 'epoch' | 'batch';
  /** ReduceLROnPlateau only: the epoch record's metric it watches (default `valLoss`). */
  monitor?: string;
}

/**
 * Steps a learning-rate schedule per epoch or per batch; a ReduceLROnPlateau is stepped with the
 * monitored metric of each epoch. Its state is checkpointed.
 *
 *     const cosine = new LearningRateSchedule(new optim.CosineAnnealingLR(opt, { tMax: 4 }));
 *     await new Trainer(task, { epochs: 4, data: loader, generator, callbacks: [cosine] }).fit();
 *     opt.paramGroups[0]!.lr // → 0
 *
 *     // Divide the rate by 10 whenever an epoch's validation loss is no better than the best so far:
 *     const plateau = new LearningRateSchedule(new optim.ReduceLROnPlateau(opt, { patience: 0 }), { monitor: 'valLoss' });
 *     await new Trainer(task, { epochs: 3, data: loader, validation: [[x, y]], generator, callbacks: [plateau] }).fit();
 */
export class LearningRateSchedule implements Callback {
  readonly name = 'scheduler';
  private readonly per: 'epoch' | 'batch';
  private readonly monitor: string;

  constructor(
    readonly scheduler: LRScheduler | ReduceLROnPlateau,
    { per = 'epoch', monitor = 'valLoss' }: ScheduleOptions = {},
  ) {
    this.per = scheduler instanceof ReduceLROnPlateau ? 'epoch' : per;
    this.monitor = monitor;
  }

  onStep(): void {
    if (this.per === 'batch') (this.scheduler as LRScheduler).step();
  }

  onEpochEnd(record: EpochRecord): void {
    if (this.scheduler instanceof ReduceLROnPlateau) {
      const value = record[this.monitor];
      if (value !== undefined) this.scheduler.step(value);
    } else if (this.per === 'epoch') this.scheduler.step();
  }

  stateDict(): unknown {
    return this.scheduler.stateDict();
  }

  stateProblem(s: unknown, run: RunShape): string | null {
    if (this.scheduler instanceof ReduceLROnPlateau)
      return isRecord(s) ? null : `'scheduler' is ${describe(s)}`;
    const [t, unit] = this.per === 'epoch' ? [run.epoch, 'epochs'] : [run.step, 'steps'];
    if (!isRecord(s) || s.t !== t)
      return `'scheduler' is not a schedule stepped once for each of ${t} ${unit}`;
    const lrs = s.baseLrs;
    if (!Array.isArray(lrs) || lrs.length !== run.groups || !lrs.every((v) => Number.isFinite(v) && v >= 0))
      return `'scheduler.baseLrs' is not ${run.groups} finite non-negative learning rates`;
    return null;
  }

  loadStateDict(s: unknown): void {
    if (this.scheduler instanceof ReduceLROnPlateau) this.scheduler.loadStateDict(s as PlateauState);
    else this.scheduler.loadStateDict(s as SchedulerState);
  }
}

/**
 * Clips the global gradient norm of each update's parameters to `maxNorm` before the optimizer steps.
 *
 *     await new Trainer(task, { epochs: 1, data: loader, generator, callbacks: [new GradientClipping(0.25)] }).fit();
 */
export class GradientClipping implements Callback {
  constructor(readonly maxNorm: number) {}

  beforeUpdate(params: readonly Tensor[]): void {
    clipGradNorm(params, this.maxNorm);
  }
}

/**
 * Where logged scalars go: a JSON-lines, CSV or TensorBoard writer behind a `scalar` function
 * (`{ scalar: (tag, value, step) => jsonl.log({ tag, step, value }) }`). `step` is the global step for
 * per-step values and the epoch number for per-epoch ones (tags `epoch/...`).
 */
export interface MetricLogger {
  scalar(tag: string, value: number, step: number): void;
  /** Called once at the end of the run. */
  close?(): void;
}

/**
 * Sends every scalar the run produces to a MetricLogger: each step's loss and metrics (`train/loss`),
 * every epoch's record (`epoch/valLoss`, `epoch/lr`, ...).
 *
 *     const jsonl = new logs.JsonlLogger('runs/x/metrics.jsonl');
 *     const logging = new MetricLogging({
 *       scalar: (tag, value, step) => jsonl.log({ tag, step, value }),
 *       close: () => jsonl.close(),
 *     });
 *     await new Trainer(task, { epochs: 2, data: loader, generator, callbacks: [logging] }).fit();
 *     // runs/x/metrics.jsonl, a line per scalar: {"tag":"train/loss","step":1,"value":1.19...}
 */
export class MetricLogging implements Callback {
  constructor(readonly logger: MetricLogger) {}

  onStep(step: number, values: Record<string, number>): void {
    const size = values.size ?? 1;
    for (const [k, v] of Object.entries(values))
      if (k !== 'size') this.logger.scalar(`train/${k}`, k === 'loss' ? v : v / size, step);
  }

  onEpochEnd(record: EpochRecord): void {
    for (const [k, v] of Object.entries(record))
      if (k !== 'epoch' && v !== undefined) this.logger.scalar(`epoch/${k}`, v, record.epoch);
  }

  onRunEnd(): void {
    this.logger.close?.();
  }
}

/**
 * Writes a run's TensorBoard event file into `logDir` (Keras's TensorBoard callback): the config as a
 * Markdown table at the start, every step's loss and metrics (`train/...`, at the global step), every
 * epoch's record (`epoch/...`: validation metrics, lr, at the epoch number), and once per epoch a
 * histogram of every parameter and its gradient (`parameters/<name>`, `gradients/<name>`) and, where the
 * first weight is a picture (a conv kernel with 1 or 3 input channels, or a Linear over 784 inputs seen
 * as 28×28 tiles), an image of the first layer's filters (`filters/<name>`). Only the rank that writes
 * files writes it; it is closed at the run's end, and by `close()` after a failure.
 *
 *     const board = new TensorBoard('runs/tb/tiny', { model: 'mlp', lr: 0.1 });
 *     await new Trainer(task, { epochs: 2, data: loader, generator, callbacks: [board] }).fit();
 *     // then: tensorboard --logdir runs/tb
 */
export class TensorBoard implements Callback {
  private writer: SummaryWriter | null = null;
  private scalars: MetricLogging | null = null;

  constructor(
    readonly logDir: string,
    private readonly config: Readonly<Record<string, unknown>> = {},
  ) {}

  onRunStart(run: Run): void {
    if (!run.writes) return;
    const writer = new SummaryWriter(this.logDir);
    this.writer = writer;
    this.scalars = new MetricLogging({ scalar: (tag, v, step) => writer.addScalar(tag, v, step) });
    writer.addText('config', configMarkdown(this.config), 0);
  }

  onStep(step: number, values: Record<string, number>): void {
    this.scalars?.onStep(step, values);
  }

  onEpochEnd(record: EpochRecord, run: Run): void {
    const writer = this.writer;
    if (!writer) return;
    this.scalars!.onEpochEnd(record);
    addParameterHistograms(writer, run.model, record.epoch);
    const [name, w] = run.model.namedParameters()[0] ?? [];
    // A conv kernel over 1 or 3 channels, enlarged to be seen, or a Linear over 784 inputs as 28×28 tiles.
    const conv = w?.rank === 4 && (w.shape[1] === 1 || w.shape[1] === 3);
    const tiles = conv ? w : w?.rank === 2 && w.shape[1] === 784 ? w.reshape([-1, 28, 28]) : null;
    const grid = (t: Tensor) => imageGrid(t.detach(), { scale: conv ? 4 : 1, colormap: 'diverging' });
    if (tiles) writer.addImage(`filters/${name}`, grid(tiles), record.epoch);
    writer.flush();
  }

  onRunEnd(): void {
    this.close();
  }

  /** Writes what is queued and closes the file; closing twice is harmless. */
  close(): void {
    this.writer?.close();
    this.writer = null;
    this.scalars = null;
  }
}
