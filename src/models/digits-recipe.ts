import { join } from 'node:path';
import { withPrecision } from '../autograd/mode.js';
import {
  CAPTION_VOCAB,
  DIGIT_WORDS,
  DigitStrips,
  type ReadingAccuracy,
  readingAccuracy,
  type StripBatch,
  stripEpochs,
} from '../data/digit-strips.js';
import { loadMnist } from '../data/mnist.js';
import { crossEntropy } from '../nn/losses.js';
import { evaluating } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { EarlyStopping, GradientClipping } from '../train/callbacks.js';
import { scoringProgress } from '../train/progress.js';
import { type Task, Trainer } from '../train/trainer.js';
import { type StripAttention, saveStripAttentionFigure } from '../viz/attention.js';
import type { DigitReader } from './read-digits.js';
import { type RecipeResult, type RecipeRun, recipeResult } from './recipes.js';

/**
 * `strata train read-digits`: reading strips of 1 to 5 MNIST digits (src/data/digit-strips.ts) into
 * their digit names, on the one training engine.
 *
 * - Training strips come from the first 55,000 MNIST training images, `strips` new ones every epoch
 *   (drawn from the run's generator, so a resumed run sees the same ones); validation strips from the
 *   last 5,000 training images; test strips from the test images only. The validation and test strips
 *   are fixed (seeds 1001 and 2015, whatever the run's seed), so every run is scored on the same strips.
 * - The loss is the teacher-forced cross-entropy per caption word (digits and `<eos>`).
 * - Each epoch is validated by greedy reading (sequence accuracy picks the best epoch, whose weights
 *   are scored on the test strips); the report gives test sequence and per-digit accuracy (the rule is
 *   readingAccuracy's) and, with attention, `attention.svg` and `attention.png` in the run folder: the
 *   first four test strips, one panel per output word with its attention over the strip.
 */

/** Training images for training strips; the rest (the last 5,000 of 60,000) for validation strips. */
const VALID_IMAGES = 5000;
const VALID_SEED = 1001;
const TEST_SEED = 2015;
/** Strips drawn in the attention figure. */
const FIGURE_STRIPS = 4;

/** The mean cross-entropy per caption word after `<bos>`, `<pad>` ignored, and the words counted. */
function batchLoss(model: DigitReader, b: StripBatch, columns?: Tensor): { loss: Tensor; words: number } {
  const t = b.captions.shape[1]!;
  const prefix = b.captions.narrow(1, 0, t - 1);
  const logits = columns ? model.decode(columns, prefix) : model.forward(b.images, prefix);
  const next = b.captions.narrow(1, 1, t - 1).reshape([-1]);
  const loss = crossEntropy(logits.reshape([-1, logits.shape[2]!]), next, { ignoreIndex: 0 });
  return { loss, words: b.digits.reduce((a, d) => a + d.length + 1, 0) };
}

/** Reads every batch greedily: the accuracy, the mean loss per word, and the first batch's readings. */
function score(model: DigitReader, strips: DigitStrips, shown?: (done: number) => void) {
  const predicted: number[][] = [];
  const reference: number[][] = [];
  let [sum, words] = [0, 0];
  let first: { batch: StripBatch; attention: number[][][]; digits: number[][] } | null = null;
  for (let i = 0; i < strips.length; i++) {
    const b = strips.batch(i);
    const {
      r,
      loss,
      words: n,
    } = evaluating(model, () => {
      const columns = model.encode(b.images);
      return { r: model.readEncoded(columns), ...batchLoss(model, b, columns) };
    });
    first ??= { batch: b, ...r };
    predicted.push(...r.digits);
    reference.push(...b.digits);
    sum += loss.item() * n;
    words += n;
    shown?.(i + 1);
  }
  return { accuracy: readingAccuracy(predicted, reference), loss: sum / Math.max(1, words), first: first! };
}

/** The figure's strips: each output word (the digits read, then `<eos>` when read) with its weights. */
function figureStrips(
  first: ReturnType<typeof score>['first'],
  height: number,
  width: number,
): StripAttention[] {
  const area = height * width;
  const pixels = first.batch.images.toTypedArray();
  return first.digits.slice(0, FIGURE_STRIPS).map((digits, i) => {
    const steps = first.attention[i]!;
    const words = steps.map((_, t) => (t < digits.length ? DIGIT_WORDS[digits[t]!]! : CAPTION_VOCAB[2]!));
    return {
      pixels: pixels.subarray(i * area, (i + 1) * area),
      height,
      width,
      words,
      weights: steps,
      label: `test strip ${i}: "${first.batch.digits[i]!.map((d) => DIGIT_WORDS[d]).join(' ')}"`,
    };
  });
}

const percent = (a: number) => `${(100 * a).toFixed(2)}%`;

/** Trains a digit-strip reader and scores it on the test strips (see the module comment). */
export async function trainReadDigits(
  r: RecipeRun,
): Promise<{ result: RecipeResult; parameters: number; report: Record<string, unknown> }> {
  const c = r.config;
  const shape = { height: c.height as number, width: c.width as number, maxDigits: c.maxDigits as number };
  const train = loadMnist('train');
  const test = loadMnist('test');
  const n = train.labels.shape[0]!;
  const cut = n - VALID_IMAGES;
  const range = (a: number, b: number) => Int32Array.from({ length: b - a }, (_, i) => a + i);
  const trainStrips = new DigitStrips(train, {
    ...shape,
    count: c.strips as number,
    batchSize: r.batchSize,
    pool: range(0, cut),
  });
  const fixed = { ...shape, batchSize: 250 };
  const validStrips = new DigitStrips(train, {
    ...fixed,
    count: c.validStrips as number,
    seed: VALID_SEED,
    pool: range(cut, n),
  });
  const testStrips = new DigitStrips(test, { ...fixed, count: c.testStrips as number, seed: TEST_SEED });
  const model = r.entry.build(c, { vocab: null, generator: r.run.generator }) as unknown as DigitReader;
  const optimizer = r.optimizer(model.parameters());
  const step = (b: StripBatch) => ({ loss: batchLoss(model, b).loss, size: b.digits.length });
  const task: Task<StripBatch> = { model, optimizers: [optimizer], trainStep: step, evalStep: step };
  const best = new EarlyStopping({
    monitor: 'valSequenceAccuracy',
    mode: 'max',
    patience: r.patience,
    restoreBest: true,
  });
  const schedule = r.schedule(optimizer);
  const result = await new Trainer(task, {
    ...r.run,
    data: stripEpochs(trainStrips, r.run.generator),
    validation: () => {
      const v = score(model, validStrips);
      return { loss: v.loss, sequenceAccuracy: v.accuracy.sequence, digitAccuracy: v.accuracy.perDigit };
    },
    callbacks: [
      best,
      ...(r.clip > 0 ? [new GradientClipping(r.clip)] : []),
      ...(schedule ? [schedule] : []),
      ...r.callbacks,
    ],
    unit: 'strips',
    op: r.op,
    extra: { vocab: CAPTION_VOCAB },
  }).fit();
  const scored = withPrecision(r.run.precision ?? 'float32', () =>
    score(
      model,
      testStrips,
      scoringProgress(r.run.progress ?? false, 'reading the test strips', testStrips.length),
    ),
  );
  const a: ReadingAccuracy = scored.accuracy;
  let figure: string | null = null;
  if (model.kind === 'soft' && r.run.out !== undefined) {
    figure = saveStripAttentionFigure(
      join(r.run.out, 'attention'),
      figureStrips(scored.first, shape.height, shape.width),
      { title: `read-digits (soft attention): test sequence accuracy ${percent(a.sequence)}` },
    ).png;
  }
  const bestRecord = result.history.find((h) => h.epoch === best.bestEpoch);
  return {
    result: recipeResult(result, best),
    parameters: model.numParameters(),
    report: {
      summary: `test sequence accuracy ${percent(a.sequence)}, per-digit accuracy ${percent(a.perDigit)} (${a.strips} test strips)`,
      ...{ test_sequence_accuracy: a.sequence, test_digit_accuracy: a.perDigit, test_loss: scored.loss },
      ...{ test_strips: a.strips, test_digits: a.digits },
      valid_sequence_accuracy: bestRecord?.valSequenceAccuracy ?? null,
      ...{
        train_strips_per_epoch: trainStrips.count,
        attention_figure: figure,
        strips_per_second: result.samplesPerSecond,
      },
    },
  };
}
