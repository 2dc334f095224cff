import { join } from 'node:path';
import { withPrecision } from '../autograd/mode.js';
import {
  type AlgorithmicTask,
  copyBatch,
  recallBatch,
  type SequenceBatch,
  sortBatch,
} from '../data/algorithmic.js';
import { seededEpochs } from '../data/loader.js';
import { bceWithLogits } from '../nn/losses.js';
import { evaluating, type Module } from '../nn/module.js';
import { sigmoid } from '../ops/elementwise.js';
import { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { EarlyStopping, GradientClipping } from '../train/callbacks.js';
import { type EpochSource, type Task, Trainer } from '../train/trainer.js';
import { saveHeatMapFigure } from '../viz/heatmap.js';
import { saveLineChart } from '../viz/plot.js';
import { NTM } from './ntm.js';
import { type RecipeResult, type RecipeRun, recipeResult } from './recipes.js';

/**
 * `strata train ntm`: a neural Turing machine (or the LSTM baseline, `--controller lstm-only`) on one of
 * the paper's algorithmic tasks — copy, associative recall, priority sort (src/data/algorithmic.ts) — on
 * the one training engine.
 *
 * - Data: every batch is drawn afresh from the run's generator (an epoch is ⌈sequences / batch⌉ batches), so a
 *   resumed run draws the same batches; validation is a fixed set drawn from the seed, the test sets too.
 * - Loss: the binary cross-entropy of the output bits on the answer steps only, summed over a sequence
 *   and reported in bits (the paper's "cost per sequence"), averaged over the batch.
 * - The epoch with the lowest validation cost is kept and tested: copy at `testLengths` (by default 30,
 *   50, 80 and 120: cost and bit errors per sequence, as the paper's Fig. 4), priority sort's fraction of output vectors
 *   exactly right; `learning.svg`/`.png` draw the cost against sequences seen, and with an NTM
 *   `memory.svg`/`.png` show one test sequence's inputs, targets, outputs and weightings (Fig. 6).
 */

/** Sequences per validation and per test set (per copy length). */
const EVAL_SEQUENCES = 64;
/** Test batches; validation batches are of 4, so that its 64 sequences draw 16 lengths (or item counts). */
const EVAL_BATCH = 32;
const VALID_BATCH = 4;

/** An NTM or the LSTM baseline: logits [B, T, O] from inputs [B, T, I]. */
type SequenceModel = Module<[Tensor], Tensor>;

/** The settings a task's batches are drawn with. */
interface TaskDraw {
  task: AlgorithmicTask;
  /** Copy: the sequence lengths; recall: the items. */
  min: number;
  max: number;
}

/** One batch of the task from `generator`. */
function drawBatch(d: TaskDraw, batchSize: number, generator: Generator): SequenceBatch {
  if (d.task === 'copy') return copyBatch({ batchSize, minLength: d.min, maxLength: d.max, generator });
  if (d.task === 'recall') return recallBatch({ batchSize, minItems: d.min, maxItems: d.max, generator });
  return sortBatch({ batchSize, generator });
}

/** The batches of one epoch, each drawn from a generator seeded by the run's at the epoch's start. */
function epochs(
  d: TaskDraw,
  sequences: number,
  batchSize: number,
  generator: Generator,
): EpochSource<SequenceBatch> {
  return seededEpochs(
    Math.ceil(sequences / batchSize),
    generator,
    (seed) => (b) => drawBatch(d, batchSize, new Generator(seed + 1 + b)),
  );
}

/**
 * The cost in bits per sequence of `logits` [B, T, O] against a batch: Σ over the answer steps and bits of
 * the binary cross-entropy, / ln 2, averaged over the B sequences.
 */
export function sequenceCost(logits: Tensor, batch: SequenceBatch): Tensor {
  const bce = bceWithLogits(logits, batch.targets, { reduction: 'none' });
  return bce
    .mul(batch.mask.unsqueeze(2))
    .sum()
    .div(batch.mask.shape[0]! * Math.LN2);
}

/** Scores of a model on batches: cost and bit errors per sequence, and the fraction of answer vectors exactly right. */
interface SequenceScore {
  cost: number;
  bitErrors: number;
  vectorAccuracy: number;
}

/** Scores `model` on `batches` in eval mode (bits thresholded at probability 1/2). */
function scoreSequences(model: SequenceModel, batches: readonly SequenceBatch[]): SequenceScore {
  let [cost, errors, right, vectors, sequences] = [0, 0, 0, 0, 0];
  evaluating(model, () => {
    for (const b of batches) {
      const logits = model.forward(b.inputs);
      const n = b.mask.shape[0]!;
      cost += sequenceCost(logits, b).item() * n;
      const wrong = logits.gt(0).ne(b.targets.gt(0.5)).cast('float32').mul(b.mask.unsqueeze(2));
      errors += wrong.sum().item();
      const perStep = wrong.sum(2).toTypedArray();
      const mask = b.mask.toTypedArray();
      for (let i = 0; i < mask.length; i++)
        if (mask[i]! > 0) {
          vectors++;
          if (perStep[i] === 0) right++;
        }
      sequences += n;
    }
  });
  return {
    cost: cost / sequences,
    bitErrors: errors / sequences,
    vectorAccuracy: right / Math.max(1, vectors),
  };
}

/** `count` sequences of the task in batches of `batch` from `seed`. */
function fixedSet(d: TaskDraw, count: number, seed: number, batch = EVAL_BATCH): SequenceBatch[] {
  const generator = new Generator(seed);
  return Array.from({ length: Math.ceil(count / batch) }, (_, i) =>
    drawBatch(d, Math.min(batch, count - i * batch), generator),
  );
}

/** Rows [channel][step] of the first sequence of a [B, T, C] tensor. */
function channels(x: Tensor): number[][] {
  const [t, c] = [x.shape[1]!, x.shape[2]!];
  const v = x.narrow(0, 0, 1).toTypedArray();
  return Array.from({ length: c }, (_, k) => Array.from({ length: t }, (_, s) => v[s * c + k]!));
}

/** The paper's Fig. 6 for one sequence: inputs, targets, outputs, then each head's weighting over the rows in time. */
function saveMemoryFigure(
  base: string,
  model: NTM,
  batch: SequenceBatch,
  task: AlgorithmicTask,
  title: string,
): string {
  const out = evaluating(model, () => model.run(batch.inputs.narrow(0, 0, 1)));
  const weightings = (w: Tensor, kind: string) =>
    Array.from({ length: w.shape[2]! }, (_, h) => ({
      name: `${kind} weighting${w.shape[2]! > 1 ? ` ${h + 1}` : ''} (rows × time)`,
      values: channels(w.select(2, h)),
    }));
  return saveHeatMapFigure(
    base,
    [
      // Priority sort's priorities are in [−1, 1].
      {
        name: 'inputs',
        values: channels(batch.inputs.narrow(0, 0, 1)),
        range: task === 'sort' ? [-1, 1] : [0, 1],
      },
      { name: 'targets', values: channels(batch.targets.narrow(0, 0, 1)) },
      { name: 'outputs', values: channels(sigmoid(out.logits)) },
      ...weightings(out.writes, 'write'),
      ...weightings(out.reads, 'read'),
    ],
    {
      title,
      footnote: `as Graves, Wayne & Danihelka 2014, Fig. 6: white 0, black 1${task === 'sort' ? ' (inputs: −1 to 1)' : ''}`,
    },
  ).png;
}

/** Trains an NTM or the LSTM baseline on an algorithmic task and tests it (see the module comment). */
export async function trainNTM(
  r: RecipeRun,
): Promise<{ result: RecipeResult; parameters: number; report: Record<string, unknown> }> {
  const c = r.config;
  const seed = c.seed as number;
  const d: TaskDraw = {
    task: c.task as AlgorithmicTask,
    min: c.minLength as number,
    max: c.maxLength as number,
  };
  const model = r.entry.build(c, { vocab: null, generator: r.run.generator }) as SequenceModel;
  const optimizer = r.optimizer(model.parameters());
  const task: Task<SequenceBatch> = {
    model,
    optimizers: [optimizer],
    trainStep: (b) => ({ loss: sequenceCost(model.forward(b.inputs), b), size: b.mask.shape[0]! }),
  };
  const valid = fixedSet(d, EVAL_SEQUENCES, seed + 1000, VALID_BATCH);
  const best = new EarlyStopping({
    monitor: 'valLoss',
    mode: 'min',
    patience: r.patience,
    restoreBest: true,
  });
  const schedule = r.schedule(optimizer);
  const sequences = c.sequences as number;
  const result = await new Trainer(task, {
    ...r.run,
    data: epochs(d, sequences, r.batchSize, r.run.generator),
    validation: () => {
      const s = scoreSequences(model, valid);
      return { loss: s.cost, bitErrors: s.bitErrors, vectorAccuracy: s.vectorAccuracy };
    },
    callbacks: [
      best,
      ...(r.clip > 0 ? [new GradientClipping(r.clip)] : []),
      ...(schedule ? [schedule] : []),
      ...r.callbacks,
    ],
    unit: 'sequences',
    op: r.op,
  }).fit();
  const precision = r.run.precision ?? 'float32';
  const report: Record<string, unknown> = {};
  let summary: string;
  if (d.task === 'copy') {
    const byLength = withPrecision(precision, () =>
      (c.testLengths as number[]).map((length, i) => ({
        length,
        ...scoreSequences(
          model,
          fixedSet({ task: 'copy', min: length, max: length }, EVAL_SEQUENCES, seed + 2000 + i),
        ),
      })),
    );
    report.copy_test = byLength.map((s) => ({
      length: s.length,
      cost_bits: s.cost,
      bit_errors: s.bitErrors,
    }));
    summary = `copy: ${byLength.map((s) => `length ${s.length} ${s.cost.toFixed(1)} bits, ${s.bitErrors.toFixed(1)} bit errors`).join('; ')} per sequence`;
  } else {
    const test = withPrecision(precision, () =>
      scoreSequences(model, fixedSet(d, 4 * EVAL_SEQUENCES, seed + 2000)),
    );
    Object.assign(report, { test_cost_bits: test.cost, test_bit_errors: test.bitErrors });
    report.test_vector_accuracy = test.vectorAccuracy;
    summary = `${d.task}: test cost ${test.cost.toFixed(2)} bits, ${test.bitErrors.toFixed(2)} bit errors per sequence, ${(100 * test.vectorAccuracy).toFixed(1)}% of output vectors exactly right`;
  }
  const kept = recipeResult(result, best);
  const history = kept.history;
  // The sequences an epoch draws: whole batches.
  const perEpoch = Math.ceil(sequences / r.batchSize) * r.batchSize;
  const seen = history.map((h) => h.epoch * perEpoch);
  let figure: string | null = null;
  if (r.run.out !== undefined) {
    const chart = {
      title: `${c.controller === 'lstm-only' ? 'LSTM' : `NTM (${c.controller} controller)`} on ${d.task}`,
      xLabel: 'sequences seen',
      yLabel: 'cost per sequence (bits)',
      series: [
        { name: 'training', x: seen, y: history.map((h) => h.loss) },
        { name: 'validation', x: seen, y: history.map((h) => h.valLoss ?? Number.NaN) },
      ],
    };
    for (const ext of ['svg', 'png']) saveLineChart(join(r.run.out, `learning.${ext}`), chart);
    if (model instanceof NTM) {
      const shown = d.task === 'copy' ? { task: 'copy' as const, min: d.max, max: d.max } : d;
      figure = saveMemoryFigure(
        join(r.run.out, 'memory'),
        model,
        drawBatch(shown, 1, new Generator(seed + 3000)),
        d.task,
        `NTM (${c.controller}) on ${d.task}`,
      );
    }
  }
  const bestRecord = history.find((h) => h.epoch === best.bestEpoch);
  return {
    result: kept,
    parameters: model.numParameters(),
    report: {
      summary,
      ...report,
      ...{ valid_cost_bits: bestRecord?.valLoss ?? null, valid_bit_errors: bestRecord?.valBitErrors ?? null },
      ...{ sequences_seen: (history.at(-1)?.epoch ?? 0) * perEpoch, memory_figure: figure },
      ...(d.task === 'copy' ? {} : { test_loss: report.test_cost_bits }),
      sequences_per_second: result.samplesPerSecond,
    },
  };
}
