import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { autocast, noGrad, withPrecision } from '../autograd/mode.js';
import type { MatmulPrecision } from '../backend/backend.js';
import { describe, fail } from '../errors.js';
import { ensureOutputDir } from '../io/atomic.js';
import {
  BEST_FILE,
  CHECKPOINT_FILE,
  isCount,
  isRecord,
  loadCheckpoint,
  optimizerFromCheckpoint,
  restoreCheckpoint,
  saveCheckpoint,
} from '../io/checkpoint.js';
import type { AnyModule } from '../nn/module.js';
import type { AnyOptimizer } from '../optim/optimizer.js';
import { type Generator, type RngState, rngStateProblem } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { epochLine, Progress } from './progress.js';

/**
 * What one training step reports. `metrics` are the batch's totals (correct predictions, say): an
 * epoch's value of each is the sum of its totals divided by the sum of the batches' `size`. The loss is
 * a mean over the batch, weighted by `size` in the epoch's mean.
 */
export interface StepResult {
  /** The batch's mean loss; unless the task is `manual`, the engine backpropagates it and steps the optimizer. */
  loss?: Tensor;
  /** Batch totals, as numbers or one-element tensors (read back asynchronously). */
  metrics?: Record<string, number | Tensor>;
  /** Samples (or tokens) in the batch. */
  size: number;
}

/** What a step sees of the run, and the one way it updates a model. */
export interface StepContext {
  /** Epoch, batch within it and global step, counted from 0 (the step being run). */
  readonly epoch: number;
  readonly batch: number;
  readonly step: number;
  /** The run's checkpointed generator: draw from it (noise, exploration) and a resumed run draws the same. */
  readonly generator: Generator;
  /**
   * Reads the loss back, stops the run with an error naming the step and batch if it is NaN or infinite
   * (before anything changes), then zeroes the optimizer's gradients, backpropagates, runs the
   * gradient hooks (reduction across ranks, clipping) and steps the optimizer. Returns the loss.
   */
  update(optimizer: AnyOptimizer, loss: Tensor): Promise<number>;
}

/**
 * A task tells the engine how to train one model family; the engine does the rest (the loop,
 * validation, callbacks, progress, checkpoints, exact resume). The shapes it covers:
 *
 * - **one optimizer** (a classifier, a language model): `trainStep` returns `{ loss, metrics, size }`
 *   and the engine calls `update(optimizers[0], loss)`, as Keras's `train_step` or Lightning's
 *   automatic optimisation.
 * - **several optimizers** (a GAN): set `manual: true`, list every optimizer in `optimizers` (each is
 *   checkpointed) and call `ctx.update(optimizer, loss)` once per optimizer inside `trainStep`, as
 *   Lightning's manual optimisation; report the losses as metrics (`{ dLoss: d * size }`).
 * - **no dataset** (a reinforcement-learning agent): give the Trainer a `StepSource` (`steps(n)`)
 *   instead of a loader; each "batch" is a step index and `trainStep` collects its own experience,
 *   drawing from `ctx.generator` so that a resumed run collects the same.
 * - **several ranks** (data parallelism): give the Trainer `ranks`; its `reduceGradients` runs inside
 *   `update` after backward and before the gradient hooks and the step, `reduceSums` sums each epoch's
 *   metric totals across ranks, and only rank 0 writes checkpoints and progress.
 *
 * State carried from batch to batch (a recurrent model's hidden state) is exposed through `carried`,
 * so that a checkpoint taken mid-epoch holds it and a resumed run continues it.
 */
export interface Task<B> {
  readonly model: AnyModule;
  /** Every optimizer the task steps; the first one's learning rate is the one reported and scheduled. */
  readonly optimizers: readonly AnyOptimizer[];
  /** The step calls `ctx.update` itself (several optimizers); otherwise the engine updates with its loss. */
  readonly manual?: boolean;
  trainStep(batch: B, ctx: StepContext): StepResult | Promise<StepResult>;
  /** One validation batch, in eval mode and without recording; needed when the Trainer has `validation` batches. */
  evalStep?(batch: B): StepResult | Promise<StepResult>;
  /** Metrics derived from an epoch's means, added to its record (a language model's perplexity = exp(loss)). */
  derive?(means: Record<string, number>): Record<string, number>;
  carried?: {
    /** The carried tensors, or null at an epoch's start. */
    save(): Record<string, Tensor> | null;
    /** Restores what save() gave (null: start the epoch afresh). */
    load(tensors: Record<string, Tensor> | null): void;
  };
}

/** The batches of one epoch: a DataLoader, or a StepSource for a task that collects its own data. */
export interface EpochSource<B> {
  /** Batches per epoch. */
  readonly length: number;
  /** One epoch's batches from `startBatch` on; what it draws from the run's generator it draws as it is called. */
  iterate(options?: { startBatch?: number }): Iterable<B>;
}

/**
 * `n` steps per epoch with no data: each batch is its step index within the epoch (an RL agent's source).
 * The task collects its own data, drawing from `ctx.generator` so that a resumed run draws the same:
 *
 *     const net = new nn.Linear(1, 1);
 *     const fresh: Task<number> = {
 *       model: net,
 *       optimizers: [new optim.SGD(net.parameters(), { lr: 0.1 })],
 *       trainStep(_step, ctx) {
 *         const x = randn([8, 1], { generator: ctx.generator }); // new samples of y = 2x every step
 *         return { loss: nn.mseLoss(net.forward(x), x.mul(2)), size: 8 };
 *       },
 *     };
 *     const { history } = await new Trainer(fresh, { epochs: 2, data: steps(50), generator }).fit();
 *     history.length // → 2
 */
export function steps(n: number): EpochSource<number> {
  if (!Number.isInteger(n) || n < 1) fail('steps', `expected a positive number of steps per epoch, got ${n}`);
  return {
    length: n,
    *iterate({ startBatch = 0 } = {}) {
      for (let i = startBatch; i < n; i++) yield i;
    },
  };
}

/** Data parallelism: how this rank meets the others. */
export interface Ranks {
  readonly rank: number;
  readonly size: number;
  /** All-reduces (averages) the gradients of `params` in place, before clipping and the update. */
  reduceGradients(params: readonly Tensor[]): Promise<void>;
  /** Sums each entry across ranks. */
  reduceSums(values: number[]): Promise<number[]>;
}

/** One finished epoch: its mean metrics (and `val`-prefixed validation metrics), rate, time and throughput. */
export interface EpochRecord {
  epoch: number;
  /** The mean loss (absent for a manual task that reports its losses as metrics). */
  loss?: number;
  lr: number;
  seconds: number;
  /** Samples (or tokens) per second. */
  samplesPerSecond: number;
  [metric: string]: number | undefined;
}

/** What the engine shows callbacks of the run. */
export interface Run {
  readonly model: AnyModule;
  readonly optimizers: readonly AnyOptimizer[];
  /** The output directory, if the run writes one; callbacks put their files there. */
  readonly out: string | undefined;
  /** Whether this rank writes files (rank 0, or the only one). */
  readonly writes: boolean;
  readonly epochs: number;
  /** Batches per epoch. */
  readonly batches: number;
  /** Ends the run after the current epoch. */
  stop(): void;
}

/** Where a run stands, checked against a saved callback state. */
export interface RunShape {
  epochs: number;
  batches: number;
  /** Finished epochs and steps at the checkpoint. */
  epoch: number;
  step: number;
  /** Parameter groups of the first optimizer. */
  groups: number;
  /** The finished epochs' records, already checked one by one. */
  history: readonly EpochRecord[];
}

/**
 * A hook into the loop. A callback with a `name` and `stateDict` is checkpointed under
 * `progress.callbacks[name]`; `stateProblem` vets a saved state before anything is restored.
 */
export interface Callback {
  readonly name?: string;
  onRunStart?(run: Run): void;
  /** The gradients of `params` are in place; the optimizer has not stepped (clipping goes here). */
  beforeUpdate?(params: readonly Tensor[], optimizer: AnyOptimizer): void;
  /** After every step, with the batch's values read back (`loss` and the metrics' totals). */
  onStep?(step: number, values: Record<string, number>, run: Run): void | Promise<void>;
  /** After an epoch's record is complete (validation included), before the checkpoint is written. */
  onEpochEnd?(record: EpochRecord, run: Run): void | Promise<void>;
  /** After the last epoch (or a stop). */
  onRunEnd?(run: Run): void;
  stateDict?(): unknown;
  stateProblem?(state: unknown, run: RunShape): string | null;
  loadStateDict?(state: unknown): void;
}

/** How a run is kept and shown, shared by the Trainer and the `fit` functions built on it. */
export interface RunOptions {
  /** The generator behind shuffling, dropout and the task's draws; its state goes into checkpoints. */
  generator: Generator;
  callbacks?: readonly Callback[];
  /** Directory for `checkpoint.safetensors` (and callbacks' files); none means no checkpoints. */
  out?: string;
  /** Checkpoint every this many steps (besides epoch ends). */
  checkpointEvery?: number;
  /** Checkpoint at the end of every this many epochs (default 1) and at the end of the run. */
  checkpointEveryEpochs?: number;
  /** Continue from the checkpoint in `out`. */
  resume?: boolean;
  /** Show progress on standard error. */
  progress?: boolean;
  /** The run's settings, stored in the checkpoint and compared on resume. */
  config?: Record<string, unknown>;
  /** More JSON-able data for the checkpoint (a vocabulary). */
  extra?: unknown;
  ranks?: Ranks;
  /** The precision of the products in each training and validation step (see `autocast`); float32 unless set. */
  precision?: MatmulPrecision;
}

export interface TrainerOptions<B> extends RunOptions {
  epochs: number;
  /** Each epoch's batches. */
  data: EpochSource<B>;
  /** Scored after every epoch: batches through `task.evalStep`, or a function giving the metrics. */
  validation?: Iterable<B> | (() => Record<string, number> | Promise<Record<string, number>>);
  /** What the throughput counts. */
  unit?: string;
  /** The op named in errors. */
  op?: string;
}

export interface TrainResult {
  history: EpochRecord[];
  /** Training time in seconds over the epochs this call ran (validation excluded). */
  trainSeconds: number;
  samplesPerSecond: number;
  stoppedEarly: boolean;
  resumedFrom: { epoch: number; batch: number } | null;
}

/** Where a run stands, saved in every checkpoint so that a resumed run continues exactly. */
interface TrainerProgress {
  epoch: number;
  batch: number;
  step: number;
  /** The generator's state as the epoch began, which fixes the epoch's data order. */
  epochRng: RngState;
  /** The epoch's running totals: `loss` (Σ loss × size) and each metric. */
  sums: Record<string, number>;
  seen: number;
  epochSeconds: number;
  history: EpochRecord[];
  stopped: boolean;
  callbacks: Record<string, unknown>;
}

/** The one place values come back from the backend: an asynchronous readback (WebGPU) plugs in here. */
async function read(value: number | Tensor): Promise<number> {
  return typeof value === 'number' ? value : value.item();
}

/**
 * The training engine: runs a Task's steps over epochs with validation, callbacks, progress, a NaN/Inf
 * guard and checkpoints from which a run resumes exactly, mid-epoch included.
 *
 *     const trainer = new Trainer(task, { epochs: 5, data: loader, validation: [[x, y]], generator, out: 'runs/x',
 *       callbacks: [new EarlyStopping({ monitor: 'valLoss', patience: 2 })] });
 *     const { history } = await trainer.fit(); // per epoch: loss, accuracy, valLoss, valAccuracy, lr, ...
 *
 * A custom loop needs none of this (add `saveCheckpoint` when you want one):
 *
 *     for (const [x, y] of loader) {
 *       opt.zeroGrad();
 *       nn.crossEntropy(model.forward(x), y).backward();
 *       opt.step();
 *     }
 */
export class Trainer<B> implements Run {
  readonly model: AnyModule;
  readonly optimizers: readonly AnyOptimizer[];
  readonly out: string | undefined;
  readonly writes: boolean;
  readonly epochs: number;
  readonly batches: number;
  private readonly op: string;
  private readonly callbacks: readonly Callback[];
  private p: TrainerProgress;
  private stopRequested = false;
  private readonly precision: MatmulPrecision;

  constructor(
    private readonly task: Task<B>,
    private readonly o: TrainerOptions<B>,
  ) {
    this.op = o.op ?? 'fit';
    if (!Number.isInteger(o.epochs) || o.epochs < 1)
      fail(this.op, `epochs must be a positive integer, got ${o.epochs}`);
    if (task.optimizers.length === 0) fail(this.op, 'the task has no optimizer');
    if (o.resume && !o.out) fail(this.op, 'resume needs the output directory that holds the checkpoint');
    // A precision the backend or CPU lacks fails here, before any work.
    this.precision = o.precision ?? 'float32';
    autocast(this.precision, () => {});
    // Checked before any work, so that an unusable directory (even '') fails now, not after an epoch.
    if (o.out !== undefined) ensureOutputDir(this.op, o.out, [CHECKPOINT_FILE, BEST_FILE]);
    this.model = task.model;
    this.optimizers = task.optimizers;
    this.out = o.out;
    this.writes = (o.ranks?.rank ?? 0) === 0;
    this.epochs = o.epochs;
    this.batches = o.data.length;
    this.callbacks = o.callbacks ?? [];
    const names = this.callbacks.flatMap((c) => (c.name ? [c.name] : []));
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice !== undefined) fail(this.op, `two callbacks are named '${twice}'; their states would collide`);
    this.p = {
      epoch: 0,
      batch: 0,
      step: 0,
      epochRng: o.generator.getState(),
      sums: {},
      seen: 0,
      epochSeconds: 0,
      history: [],
      stopped: false,
      callbacks: {},
    };
  }

  stop(): void {
    this.stopRequested = true;
  }

  /** Trains to `epochs` (or a stop), resuming first if asked; returns the history. */
  async fit(): Promise<TrainResult> {
    const { o, task } = this;
    let resumedFrom: TrainResult['resumedFrom'] = null;
    if (o.resume) {
      this.restore();
      resumedFrom = { epoch: this.p.epoch, batch: this.p.batch };
    }
    const bar = new Progress(this.writes && (o.progress ?? false), {
      epochs: o.epochs,
      batches: this.batches,
      unit: o.unit ?? 'samples',
      stepsDone: this.p.step,
    });
    for (const c of this.callbacks) c.onRunStart?.(this);
    let [trainSeconds, trainSamples] = [0, 0];
    task.model.train();
    const p = this.p;
    while (p.epoch < o.epochs && !p.stopped) {
      let batches: Iterable<B>;
      if (p.batch === 0) {
        p.epochRng = o.generator.getState();
        task.carried?.load(null);
        batches = o.data.iterate();
      } else {
        // Resuming mid-epoch: replay the epoch's order from its starting state, skip the batches
        // already done, then continue the generator from where the checkpoint left it.
        const now = o.generator.getState();
        o.generator.setState(p.epochRng);
        batches = o.data.iterate({ startBatch: p.batch });
        o.generator.setState(now);
      }
      bar.startEpoch(p.epoch, p.batch);
      let t0 = performance.now();
      for (const batch of batches) {
        const values = await this.runStep(batch);
        p.seen += values.size!;
        for (const [k, v] of Object.entries(values))
          if (k !== 'size') p.sums[k] = (p.sums[k] ?? 0) + (k === 'loss' ? v * values.size! : v);
        p.batch++;
        p.step++;
        for (const c of this.callbacks) await c.onStep?.(p.step, values, this);
        const elapsed = p.epochSeconds + (performance.now() - t0) / 1000;
        bar.update(p.batch, this.means(p.sums, p.seen), p.seen / elapsed);
        if (o.checkpointEvery && p.step % o.checkpointEvery === 0 && p.batch < this.batches) {
          const t1 = performance.now();
          p.epochSeconds += (t1 - t0) / 1000;
          this.save();
          t0 = performance.now();
        }
      }
      const seconds = p.epochSeconds + (performance.now() - t0) / 1000;
      let seen = p.seen;
      let sums = p.sums;
      if (o.ranks) {
        const keys = Object.keys(sums).sort();
        const reduced = await o.ranks.reduceSums([seen, ...keys.map((k) => sums[k]!)]);
        seen = reduced[0]!;
        sums = Object.fromEntries(keys.map((k, i) => [k, reduced[i + 1]!]));
      }
      trainSeconds += seconds;
      trainSamples += seen;
      const record: EpochRecord = {
        epoch: p.epoch + 1,
        ...this.means(sums, seen),
        lr: this.optimizers[0]!.paramGroups[0]!.lr,
        seconds,
        samplesPerSecond: seen / seconds,
      } as EpochRecord;
      if (o.validation) {
        for (const [k, v] of Object.entries(await this.validate(bar)))
          record[`val${k[0]!.toUpperCase()}${k.slice(1)}`] = v;
      }
      p.history.push(record);
      for (const c of this.callbacks) await c.onEpochEnd?.(record, this);
      if (this.stopRequested) p.stopped = true;
      bar.endEpoch(epochLine(record, o.epochs, o.unit ?? 'samples'));
      Object.assign(p, { epoch: p.epoch + 1, batch: 0, sums: {}, seen: 0, epochSeconds: 0 });
      const every = o.checkpointEveryEpochs ?? 1;
      if (p.epoch % every === 0 || p.epoch === o.epochs || p.stopped) this.save();
    }
    for (const c of this.callbacks) c.onRunEnd?.(this);
    return {
      history: p.history,
      trainSeconds,
      samplesPerSecond: trainSamples / Math.max(trainSeconds, 1e-9),
      stoppedEarly: p.stopped,
      resumedFrom,
    };
  }

  /** Mean metrics of an epoch's totals, with the task's derived ones. */
  private means(sums: Record<string, number>, seen: number): Record<string, number> {
    const means = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / Math.max(1, seen)]));
    return { ...means, ...this.task.derive?.(means) };
  }

  /** One step: the task's, then (automatic tasks) the update; every value read back. */
  private async runStep(batch: B): Promise<Record<string, number>> {
    const p = this.p;
    let lossValue: number | undefined;
    const ctx: StepContext = {
      epoch: p.epoch,
      batch: p.batch,
      step: p.step,
      generator: this.o.generator,
      update: async (optimizer, loss) => {
        const value = await read(loss);
        if (!Number.isFinite(value)) {
          fail(
            this.op,
            `the loss became ${value} at step ${p.step + 1} (epoch ${p.epoch + 1}, batch ${p.batch + 1}); lower the learning rate or check the inputs`,
          );
        }
        optimizer.zeroGrad();
        loss.backward();
        const params = optimizer.paramGroups.flatMap((g) => g.params);
        await this.o.ranks?.reduceGradients(params);
        for (const c of this.callbacks) c.beforeUpdate?.(params, optimizer);
        optimizer.step();
        return value;
      },
    };
    // The synchronous part of the step (the forward pass) runs in the run's precision, and so its backward.
    const r = await withPrecision(this.precision, () => this.task.trainStep(batch, ctx));
    if (!this.task.manual) {
      if (!r.loss) fail(this.op, `the train step returned no loss at step ${p.step + 1}`);
      lossValue = await ctx.update(this.optimizers[0]!, r.loss);
    } else if (r.loss) lossValue = await read(r.loss);
    const values: Record<string, number> = {};
    if (lossValue !== undefined) values.loss = lossValue;
    for (const [k, v] of Object.entries(r.metrics ?? {})) values[k] = await read(v);
    values.size = r.size;
    return values;
  }

  /** The validation metrics: batches through evalStep in eval mode without recording, or the given function. */
  private async validate(bar: Progress): Promise<Record<string, number>> {
    const v = this.o.validation!;
    const model = this.task.model;
    model.eval();
    try {
      // The synchronous part of a step runs without recording; its readbacks are awaited after.
      const step = <T>(fn: () => T) => noGrad(() => withPrecision(this.precision, fn));
      if (typeof v === 'function') return await step(v);
      const evalStep = this.task.evalStep;
      if (!evalStep) return fail(this.op, 'validation batches need the task to have an evalStep');
      const sums: Record<string, number> = {};
      let seen = 0;
      let i = 0;
      const all = [...v];
      for (const batch of all) {
        const r = await step(() => evalStep.call(this.task, batch));
        if (r.loss) sums.loss = (sums.loss ?? 0) + (await read(r.loss)) * r.size;
        for (const [k, m] of Object.entries(r.metrics ?? {})) sums[k] = (sums[k] ?? 0) + (await read(m));
        seen += r.size;
        bar.phase('validation', ++i, all.length);
      }
      if (seen === 0) fail(this.op, 'no examples to validate on: the validation batches were empty');
      return this.means(sums, seen);
    } finally {
      model.train();
    }
  }

  private save(): void {
    if (!this.o.out || !this.writes) return;
    const p = this.p;
    p.callbacks = Object.fromEntries(
      this.callbacks.flatMap((c) => (c.name && c.stateDict ? [[c.name, c.stateDict()]] : [])),
    );
    const carried = p.batch > 0 ? this.task.carried?.save() : null;
    saveCheckpoint(join(this.o.out, CHECKPOINT_FILE), {
      model: this.task.model.stateDict(),
      optimizer: this.optimizers[0]!,
      otherOptimizers: this.optimizers.length > 1 ? this.optimizers.slice(1) : undefined,
      rng: this.o.generator.getState(),
      progress: p as unknown as Record<string, unknown>,
      config: this.o.config ?? {},
      state: carried ?? undefined,
      extra: this.o.extra,
    });
  }

  /** Loads the checkpoint in `out`, checked whole before anything is restored. */
  private restore(): void {
    const path = join(this.o.out!, CHECKPOINT_FILE);
    if (!existsSync(path)) fail(this.op, `nothing to resume: no checkpoint at '${path}'`);
    const ckpt = loadCheckpoint(path);
    checkResumeConfig(ckpt.config ?? {}, this.o.config ?? {});
    const others = ckpt.otherOptimizers ?? [];
    const problem =
      progressProblem(ckpt.progress, this, this.callbacks) ??
      (others.length === this.optimizers.length - 1
        ? null
        : `it holds ${others.length + 1} optimizers, this task has ${this.optimizers.length}`);
    if (problem !== null) {
      fail(
        'resume',
        `'${path}' has no valid training progress for this run: ${problem}. Start a new run (another --out) or resume with the settings it was made with`,
      );
    }
    const saved = ckpt.progress as unknown as TrainerProgress;
    restoreCheckpoint(this.task.model, this.optimizers[0]!, ckpt, () => {
      others.forEach((s, k) => {
        optimizerFromCheckpoint(this.optimizers[k + 1]!, s);
      });
      for (const c of this.callbacks)
        if (c.name && c.loadStateDict && Object.hasOwn(saved.callbacks, c.name))
          c.loadStateDict(saved.callbacks[c.name]);
      if (saved.batch > 0) this.task.carried?.load(ckpt.state ?? null);
      this.o.generator.setState(ckpt.rng);
    });
    this.p = saved;
  }
}

/**
 * Fails listing every setting of `config` that differs from the one the checkpoint was made with, that
 * the checkpoint does not record (a checkpoint of another command or version), or that it records and
 * this run lacks.
 */
function checkResumeConfig(saved: unknown, config: Record<string, unknown>): void {
  if (!isRecord(saved)) fail('resume', `the checkpoint records no run settings (got ${describe(saved)})`);
  // Loaded JSON is at most 64 levels deep (loadCheckpoint), so stringifying it cannot overflow.
  const changed = Object.keys({ ...saved, ...config }).filter(
    (k) => JSON.stringify(saved[k]) !== JSON.stringify(config[k]),
  );
  if (changed.length === 0) return;
  const show = (v: unknown) => (v === undefined ? '(none)' : JSON.stringify(v));
  const differences = changed.map((k) =>
    Object.hasOwn(saved, k)
      ? `${k}=${show(saved[k])} in the checkpoint, ${show(config[k])} now`
      : `the checkpoint does not record the setting ${k} (another command or version made it), ${show(config[k])} now`,
  );
  fail(
    'resume',
    `this run's settings differ from the checkpoint's: ${differences.join('; ')}. Resume with the same settings (only --epochs may grow), or start a new run in another --out`,
  );
}

/**
 * What is wrong with one epoch record of a checkpoint's history, or null. A value must be one an epoch
 * can produce under its name: never NaN; a loss finite (the loop stops at any other); accuracies
 * fractions; rates, times, rates of learning and perplexities non-negative (a perplexity may be Infinity).
 */
function recordProblem(r: unknown, i: number): string | null {
  if (!isRecord(r)) return `history[${i}] is ${describe(r)}, not an epoch record`;
  if (r.epoch !== i + 1) return `history[${i}] is for epoch ${describe(r.epoch)}, expected ${i + 1}`;
  const fits = (k: string, v: unknown) =>
    typeof v === 'number' &&
    !Number.isNaN(v) &&
    (k === 'loss'
      ? Number.isFinite(v)
      : /accuracy/i.test(k)
        ? v >= 0 && v <= 1
        : !/^(lr|seconds|samplesPerSecond|tokensPerSecond)$|perplexity/i.test(k) || v >= 0);
  const bad = ['lr', 'seconds', 'samplesPerSecond', ...Object.keys(r)].find((k) => !fits(k, r[k]));
  return bad === undefined ? null : `history[${i}].${bad} is ${describe(r[bad])}`;
}

/** What is wrong with a checkpoint's progress for this run, or null if it is consistent. */
function progressProblem(
  raw: Record<string, unknown>,
  run: { epochs: number; batches: number; optimizers: readonly AnyOptimizer[] },
  callbacks: readonly Callback[],
): string | null {
  for (const k of ['epoch', 'batch', 'step', 'seen'])
    if (!isCount(raw[k])) return `'${k}' is ${describe(raw[k])}, not a non-negative integer`;
  if (!isRecord(raw.sums)) return `'sums' is ${describe(raw.sums)}, not the epoch's running totals`;
  const totals = [
    ...Object.entries(raw.sums).map(([k, v]) => [`sums.${k}`, v]),
    ['epochSeconds', raw.epochSeconds],
  ];
  const notFinite = totals.find(([, v]) => typeof v !== 'number' || !Number.isFinite(v));
  if (notFinite) return `'${notFinite[0]}' is ${describe(notFinite[1])}, not a finite number`;
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
  // At an epoch's start its running totals are empty.
  const started = [...totals, ['seen', raw.seen]].find(([, v]) => v !== 0);
  if (batch === 0 && started)
    return `'${started[0]}' is ${describe(started[1])} at the start of an epoch, where it is 0`;
  const rng = rngStateProblem(raw.epochRng);
  if (rng !== null) return `'epochRng' is not a generator state (${rng})`;
  if (!Array.isArray(raw.history)) return `'history' is ${describe(raw.history)}, not a list`;
  if (raw.history.length !== epoch)
    return `'history' has ${raw.history.length} records for ${epoch} finished epochs`;
  for (const [i, r] of raw.history.entries()) {
    const problem = recordProblem(r, i);
    if (problem !== null) return problem;
  }
  if (!isRecord(raw.callbacks)) return `'callbacks' is ${describe(raw.callbacks)}, not the callbacks' states`;
  const shape: RunShape = {
    epochs: run.epochs,
    batches: run.batches,
    epoch,
    step,
    groups: run.optimizers[0]!.paramGroups.length,
    history: raw.history as EpochRecord[],
  };
  for (const c of callbacks) {
    if (!c.name || !c.stateProblem || !Object.hasOwn(raw.callbacks, c.name)) continue;
    const problem = c.stateProblem(raw.callbacks[c.name], shape);
    if (problem !== null) return problem;
  }
  return null;
}
