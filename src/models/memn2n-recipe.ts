import { join } from 'node:path';
import { withPrecision } from '../autograd/mode.js';
import {
  BABI_ATTRIBUTION,
  type BabiBatch,
  type BabiQuestion,
  type BabiSet,
  babiBatch,
  babiVocab,
  encodeBabi,
  loadBabi,
  splitBabi,
} from '../data/babi.js';
import { seededEpochs } from '../data/loader.js';
import type { Vocab } from '../data/text.js';
import { describe, fail } from '../errors.js';
import { isRecord } from '../io/checkpoint.js';
import { crossEntropy } from '../nn/losses.js';
import { evaluating } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { ConstantLR, LRScheduler, SequentialLR } from '../optim/schedules.js';
import { Generator } from '../tensor/random.js';
import { EarlyStopping, GradientClipping, LearningRateSchedule } from '../train/callbacks.js';
import { type Callback, type EpochRecord, type EpochSource, type Task, Trainer } from '../train/trainer.js';
import { saveAttentionFigure } from '../viz/attention.js';
import type { MemN2N } from './memn2n.js';
import { type RecipeResult, type RecipeRun, recipeResult } from './recipes.js';

/**
 * `strata train memn2n`: an end-to-end memory network on the bAbI tasks (en-10k), one task or all of them
 * jointly, on the one training engine.
 *
 * - Data (src/data/babi.ts): each training file's last 10% of questions, by story, is its validation part;
 *   the vocabulary is every word of the training files used (test words outside it are `<unk>`, a test
 *   answer outside it is refused); memories are the last `memorySize` statements before each question.
 *   Task 3 has no training file: a joint run (`--task all`) trains on the other 19 and also scores task 3.
 * - Training as the paper's: SGD without momentum on the batch's summed loss, gradients clipped at norm 40, the recipe's schedule
 *   (by default the rate halved every quarter of the run: every 25 of 100 epochs), optionally random
 *   noise (10% empty memories inserted in training) and linear start (the attention's softmax left out
 *   for the first 20 epochs at half the rate, then put back for good, as the authors' code does).
 * - The epoch with the lowest validation error (all tasks' questions together) is kept and scored on the
 *   test files: the error per task, their mean and the tasks failed (error above 5%); with an output
 *   folder, `attention.svg`/`.png` show the first test story's memories and each hop's attention on them.
 */

/** A test error above this fails the task (Weston et al.'s threshold). */
const FAILED = 0.05;
/** Noise memories inserted before each memory in training with this probability (RN). */
const NOISE_RATE = 0.1;

/** The tasks a run trains and tests on: one task, or all twenty (task 3 tested only). */
export function babiTasks(task: string): { train: number[]; test: number[] } {
  if (task === 'all') {
    const all = Array.from({ length: 20 }, (_, i) => i + 1);
    return { train: all.filter((t) => t !== 3), test: all };
  }
  return { train: [Number(task)], test: [Number(task)] };
}

/** The batches of one training epoch: a fresh order (and fresh noise) drawn from the run's generator. */
function epochs(
  set: BabiSet,
  batchSize: number,
  noise: boolean,
  generator: Generator,
): EpochSource<BabiBatch> {
  const n = set.answers.length;
  return seededEpochs(Math.ceil(n / batchSize), generator, (seed) => {
    const order = new Generator(seed).permutation(n);
    return (b) =>
      babiBatch(
        set,
        order.subarray(b * batchSize, Math.min(n, (b + 1) * batchSize)),
        noise ? { rate: NOISE_RATE, generator: new Generator(seed + 1 + b) } : undefined,
      );
  });
}

/**
 * Linear start as the authors' code runs it: the softmax stays out of the attention for the first
 * `epochs` epochs, then it is put back for good (the paper's "until the validation loss stops falling"
 * is, in their released code, a fixed 20 epochs; a rule on a noisy validation loss ended it too early).
 */
class LinearStart implements Callback {
  readonly name = 'linearStart';

  constructor(
    private readonly model: MemN2N,
    private readonly epochs: number,
  ) {}

  onEpochEnd(record: EpochRecord): void {
    if (record.epoch >= this.epochs) this.model.linearStart = false;
  }

  stateDict(): unknown {
    return { linear: this.model.linearStart };
  }

  stateProblem(s: unknown): string | null {
    if (!isRecord(s) || typeof s.linear !== 'boolean')
      return `the linear-start state is ${describe(s)}, not { linear }`;
    return null;
  }

  loadStateDict(s: unknown): void {
    this.model.linearStart = (s as { linear: boolean }).linear;
  }
}

/**
 * The rate of a run with linear start: half the rate while the softmax is out (the authors' 0.005 of
 * 0.01), then the run's schedule over the epochs after it, from the full rate.
 */
function linearStartSchedule(
  optimizer: Optimizer<{ lr: number }>,
  epochs: number,
  after: LearningRateSchedule | null,
): LearningRateSchedule {
  const half = new ConstantLR(optimizer, { factor: 0.5, totalIters: epochs });
  const rest = after?.scheduler;
  if (rest !== undefined && !(rest instanceof LRScheduler))
    fail('train memn2n', 'linear start takes a schedule over the epochs after it, not plateau');
  return new LearningRateSchedule(
    rest ? new SequentialLR(optimizer, { schedulers: [half, rest], milestones: [epochs] }) : half,
  );
}

/** Every question of a set answered in batches: the mean loss, the predicted ids and the first batch's attention. */
function answer(model: MemN2N, set: BabiSet) {
  const predicted = new Int32Array(set.answers.length);
  let loss = 0;
  let first = null as { batch: BabiBatch; attention: number[][] } | null;
  evaluating(model, () => {
    for (let start = 0; start < predicted.length; start += 500) {
      const rows = Int32Array.from({ length: Math.min(500, predicted.length - start) }, (_, i) => start + i);
      const b = babiBatch(set, rows);
      const out = model.run(b.stories, b.slots, b.queries);
      loss += crossEntropy(out.logits, b.answers).item() * rows.length;
      predicted.set(out.logits.argmax(1).toTypedArray(), start);
      first ??= {
        batch: b,
        attention: out.attention.map((p) => Array.from(p.narrow(0, 0, 1).toTypedArray())),
      };
    }
  });
  let wrong = 0;
  for (let i = 0; i < predicted.length; i++) if (predicted[i] !== set.answers[i]) wrong++;
  return {
    loss: loss / Math.max(1, predicted.length),
    error: wrong / Math.max(1, predicted.length),
    predicted,
    first,
  };
}

/** The paper's Table 1 for one test question: its memories (oldest first) as rows, one column per hop. */
function saveFigure(
  base: string,
  q: BabiQuestion,
  memorySize: number,
  attention: number[][],
  predicted: string,
  title: string,
): string {
  const memories = q.statements.slice(-memorySize);
  // Slot 0 is the most recent statement: row r (oldest first) is slot memories.length − 1 − r.
  const rows = memories.map((_, r) => attention.map((hop) => hop[memories.length - 1 - r]!));
  const target = memories.map((s) => `${q.supporting.includes(s.id) ? '* ' : ''}${s.words.join(' ')}`);
  return saveAttentionFigure(base, rows, {
    source: attention.map((_, k) => `hop ${k + 1}`),
    target,
    title: `${title}: ${q.question.join(' ')}? answer ${q.answer}, predicted ${predicted}`,
    footnote: `task ${q.task}, ${q.file.split('/').pop()}:${q.line}; * supporting facts. ${BABI_ATTRIBUTION}`,
  }).png;
}

const percent = (a: number) => `${(100 * a).toFixed(1)}%`;

/** Trains a memory network on bAbI and scores it per task (see the module comment). */
export async function trainMemN2N(
  r: RecipeRun,
): Promise<{ result: RecipeResult; parameters: number; report: Record<string, unknown>; vocab: Vocab }> {
  const c = r.config;
  const tasks = babiTasks(String(c.task));
  const limit = c.limit === null ? undefined : (c.limit as number);
  const testLimit = c.testLimit === null ? undefined : (c.testLimit as number);
  const memorySize = c.memorySize as number;
  const parts = tasks.train.map((t) => splitBabi(loadBabi(t, 'train').slice(0, limit), 0.1));
  const trainQs = parts.flatMap((p) => p.train);
  const validQs = parts.flatMap((p) => p.valid);
  const vocab = babiVocab([...trainQs, ...validQs]);
  const trainSet = encodeBabi(trainQs, vocab, memorySize);
  const validSet = encodeBabi(validQs, vocab, memorySize);
  const testSets = tasks.test.map((t) => ({
    task: t,
    set: encodeBabi(loadBabi(t, 'test').slice(0, testLimit), vocab, memorySize),
  }));
  // The vocabulary's size shapes the model: it joins the run's config (and so the checkpoint) here.
  c.vocabSize = vocab.size;
  const model = r.entry.build(c, { vocab, generator: r.run.generator }) as unknown as MemN2N;
  model.linearStart = c.linearStart === true;
  const optimizer = r.optimizer(model.parameters());
  const task: Task<BabiBatch> = {
    model,
    optimizers: [optimizer],
    // The paper's step follows the gradient of the batch's summed loss (its rate and its clipping at
    // norm 40 are for that sum); the loss reported is the mean per question.
    manual: true,
    trainStep: async (b, ctx) => {
      const logits = model.forward(b.stories, b.slots, b.queries);
      const wrong = logits.argmax(1).ne(b.answers).sum();
      const sum = crossEntropy(logits, b.answers, { reduction: 'sum' });
      await ctx.update(optimizer, sum);
      const size = b.indices.length;
      return { loss: sum.detach().div(size), metrics: { error: wrong }, size };
    },
  };
  const best = new EarlyStopping({
    monitor: 'valError',
    mode: 'min',
    patience: r.patience,
    restoreBest: true,
  });
  const ls = c.linearStart === true ? (c.linearStartEpochs as number) : 0;
  const schedule =
    ls > 0
      ? linearStartSchedule(optimizer, ls, r.schedule(optimizer, r.run.epochs - ls))
      : r.schedule(optimizer);
  const result = await new Trainer(task, {
    ...r.run,
    data: epochs(trainSet, r.batchSize, c.randomNoise === true, r.run.generator),
    validation: () => {
      const v = answer(model, validSet);
      return { loss: v.loss, error: v.error, linearStart: model.linearStart ? 1 : 0 };
    },
    callbacks: [
      best,
      ...(ls > 0 ? [new LinearStart(model, ls)] : []),
      ...(r.clip > 0 ? [new GradientClipping(r.clip)] : []),
      ...(schedule ? [schedule] : []),
      ...r.callbacks,
    ],
    unit: 'questions',
    op: r.op,
    extra: { vocab: vocab.toJSON() },
  }).fit();
  const bestRecord = result.history.find((h) => h.epoch === best.bestEpoch);
  // The kept weights are scored the way they were validated (with or without the softmax).
  if (bestRecord) model.linearStart = bestRecord.valLinearStart === 1;
  const scored = withPrecision(r.run.precision ?? 'float32', () =>
    testSets.map(({ task: t, set }) => ({ task: t, set, ...answer(model, set) })),
  );
  const testError = Object.fromEntries(scored.map((s) => [String(s.task), s.error]));
  const mean = scored.reduce((a, s) => a + s.error, 0) / scored.length;
  const failed = scored.filter((s) => s.error > FAILED).map((s) => s.task);
  const testLoss =
    scored.reduce((a, s) => a + s.loss * s.set.answers.length, 0) /
    scored.reduce((a, s) => a + s.set.answers.length, 0);
  let figure: string | null = null;
  const shown = scored[0]!;
  if (r.run.out !== undefined && shown.first) {
    const q = shown.set.questions[0]!;
    figure = saveFigure(
      join(r.run.out, 'attention'),
      q,
      memorySize,
      shown.first.attention,
      vocab.token(shown.predicted[0]!),
      `memn2n, ${c.hops} hops`,
    );
  }
  const what = tasks.test.length === 1 ? `task ${tasks.test[0]}` : `${tasks.test.length} tasks`;
  return {
    result: recipeResult(result, best),
    parameters: model.numParameters(),
    vocab,
    report: {
      summary: `${what}: mean test error ${percent(mean)}, ${failed.length} failed (> 5%)${tasks.test.length > 1 ? ` [${scored.map((s) => `${s.task}: ${percent(s.error)}`).join(', ')}]` : ''}`,
      ...{
        test_error: testError,
        mean_test_error: mean,
        failed_tasks: failed.length,
        failed_task_ids: failed,
      },
      ...{ test_loss: testLoss, test_accuracy: 1 - mean, valid_error: bestRecord?.valError ?? null },
      ...{ train_questions: trainSet.answers.length, valid_questions: validSet.answers.length },
      test_questions: Object.fromEntries(scored.map((s) => [String(s.task), s.set.answers.length])),
      ...{ vocab_size: vocab.size, attention_figure: figure, questions_per_second: result.samplesPerSecond },
      ...(tasks.test.includes(3) && !tasks.train.includes(3)
        ? { note: 'task 3 has no training file: it is scored by the model trained on the other 19 tasks' }
        : {}),
    },
  };
}
