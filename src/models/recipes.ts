import { basename, join, resolve } from 'node:path';
import { withPrecision } from '../autograd/mode.js';
import type { MatmulPrecision } from '../backend/backend.js';
import { getBackend } from '../backend/registry.js';
import { AugmentedDataLoader } from '../data/augment.js';
import { TensorDataset } from '../data/dataset.js';
import { loadFashionMnist } from '../data/fashion-mnist.js';
import { DataLoader } from '../data/loader.js';
import { loadMnist } from '../data/mnist.js';
import { mobyDick } from '../data/moby-dick.js';
import { charTokens, EOS, UNK, Vocab, wordTokens } from '../data/text.js';
import { compose, elasticDistortion, randomAffine } from '../data/transforms.js';
import { describe, fail } from '../errors.js';
import { isCount, isRecord } from '../io/checkpoint.js';
import { CsvLogger } from '../io/logs/csv.js';
import { JsonlLogger } from '../io/logs/jsonl.js';
import type { LogRecord } from '../io/logs/lines.js';
import { crossEntropy } from '../nn/losses.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { Adagrad, Adam, AdamW, RMSprop, SGD } from '../optim/optimizers.js';
import { CosineAnnealingLR, ReduceLROnPlateau, StepLR } from '../optim/schedules.js';
import { tensor } from '../tensor/creation.js';
import { Generator, manualSeed } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { type EarlyStopping, LearningRateSchedule, MetricLogging, TensorBoard } from '../train/callbacks.js';
import { type FitResult, fit } from '../train/fit.js';
import { fitLanguageModel, type LanguageModel, type LmFitResult, perplexity } from '../train/lm.js';
import { evaluate } from '../train/metrics.js';
import { scoringProgress } from '../train/progress.js';
import type { Callback, EpochRecord, RunOptions, TrainResult } from '../train/trainer.js';
import { saveTrainingCurves } from '../viz/plot.js';
import { trainReadDigits } from './digits-recipe.js';
import { trainMemN2N } from './memn2n-recipe.js';
import { KneserNeyTrigram } from './ngram.js';
import { trainNTM } from './ntm-recipe.js';
import { trainRBM } from './rbm-recipe.js';
import { MODELS, type ModelConfig, type ModelEntry } from './registry.js';
import { type TranslationScoring, trainTranslation } from './translation-recipe.js';
import { trainVAE } from './vae-recipe.js';

/** A run of `strata train <model>`, its flags parsed and checked. */
export interface RunSettings {
  model: string;
  epochs: number;
  batchSize: number;
  seed: number;
  /** Fraction of the training data held out for validation (0: none, or Moby-Dick's validation chapters). */
  validation: number;
  patience?: number;
  limit?: number;
  checkpointEvery?: number;
  optimizer: string;
  lr: number;
  /** SGD's and RMSprop's momentum (the others take none). */
  momentum: number;
  schedule: string;
  clip: number;
  dropout: number;
  out: string;
  resume: boolean;
  progress: boolean;
  /** The products' precision in training, validation and the test (not part of the config: it may change on resume). */
  precision: MatmulPrecision;
  /** Also write a TensorBoard event file into this directory (not part of the config: it may change on resume). */
  tensorboard?: string;
  /** The model's own settings: dataset and augment for the image models, the shape and text settings for the others. */
  own: Record<string, unknown>;
  /** A translation model's test decoding (not part of the config: it may change on resume). */
  scoring?: TranslationScoring;
}

/** What `strata train` prints (and `--json` writes): the results, the settings and the history. */
export type TrainReport = Record<string, unknown> & { model: string; summary: string };

/** The engine's result of a recipe of its own, with the epoch whose weights were kept. */
export interface RecipeResult extends TrainResult {
  history: (EpochRecord & { loss: number })[];
  bestEpoch: number | null;
}

/** A recipe's result from the engine's and the EarlyStopping that kept the best epoch. */
export function recipeResult(result: TrainResult, best: EarlyStopping): RecipeResult {
  return { ...result, history: result.history as RecipeResult['history'], bestEpoch: best.bestEpoch };
}

/** The settings recipes.ts hands over to a recipe of its own (translation, read-digits, memn2n, ntm). */
export interface RecipeRun {
  entry: ModelEntry;
  config: ModelConfig;
  batchSize: number;
  /** The optimizer of the run's --optimizer and --lr, over the model's parameters. */
  optimizer: (params: Tensor[]) => Optimizer<{ lr: number }>;
  /** The schedule of --schedule over the run's epochs (or the last `epochs` of them), or null. */
  schedule: (optimizer: Optimizer<{ lr: number }>, epochs?: number) => LearningRateSchedule | null;
  clip: number;
  patience?: number;
  /** The engine's options: epochs, generator, out, resume, checkpoints, progress, precision, config. */
  run: RunOptions & { epochs: number };
  callbacks: Callback[];
  op: string;
}

/**
 * Trains a registered model by its recipe: an image classifier on MNIST or Fashion-MNIST (test accuracy),
 * a language model on Moby-Dick (test perplexity), a translation model on the English–French pairs
 * (test BLEU) or a reader of MNIST digit strips (test sequence and per-digit accuracy), with the run's
 * settings stored as its config.
 */
export async function trainModel(s: RunSettings): Promise<TrainReport> {
  const entry = MODELS[s.model]!;
  const text = entry.input === 'tokens';
  manualSeed(s.seed);
  const generator = new Generator(s.seed + 1);
  // Every setting that shapes the model or the run; --resume compares them all (--epochs may grow).
  const config: ModelConfig = {
    model: s.model,
    ...{ optimizer: s.optimizer, lr: s.lr, momentum: s.momentum, schedule: s.schedule },
    ...{ batchSize: s.batchSize, seed: s.seed },
    ...{ limit: s.limit ?? null, validation: s.validation, clip: s.clip, dropout: s.dropout, ...s.own },
  };
  const run = {
    epochs: s.epochs,
    generator,
    out: s.out,
    resume: s.resume,
    checkpointEvery: s.checkpointEvery,
  };
  const options = { ...run, progress: s.progress, precision: s.precision, config };
  const logs = runLogs(s, config);
  const monitor = text ? 'valPerplexity' : 'valLoss';
  let result: FitResult | LmFitResult | RecipeResult;
  let report: Record<string, unknown>;
  let parameters: number;
  // The recipes with a loop of their own take the run's settings as they are.
  const own: RecipeRun = {
    ...{ entry, config, batchSize: s.batchSize, clip: s.clip, patience: s.patience },
    optimizer: (params) => makeOptimizer(s.optimizer, params, s.lr, s.momentum),
    schedule: (opt, epochs = s.epochs) => makeSchedule(s.schedule, opt, epochs, 'valLoss'),
    run: options,
    callbacks: logs.callbacks,
    op: `train ${s.model}`,
  };
  if (entry.input === 'pairs') {
    ({ result, report, parameters } = await trainTranslation({
      ...own,
      limit: s.limit,
      scoring: s.scoring ?? { beam: 5, lengthPenalty: 0.6 },
    }).finally(logs.close));
  } else if (entry.input === 'strips') {
    ({ result, report, parameters } = await trainReadDigits(own).finally(logs.close));
  } else if (entry.input === 'stories') {
    ({ result, report, parameters } = await trainMemN2N(own).finally(logs.close));
  } else if (entry.input === 'sequences') {
    ({ result, report, parameters } = await trainNTM(own).finally(logs.close));
  } else if (entry.input === 'unlabelled') {
    const settings = { ...own, limit: s.limit, validation: s.validation, seed: s.seed, progress: s.progress };
    ({ result, report, parameters } = await (s.model === 'vae'
      ? trainVAE(settings)
      : trainRBM(settings)
    ).finally(logs.close));
  } else if (!text) {
    const load = (split: 'train' | 'test', n?: number) =>
      config.dataset === 'mnist' ? loadMnist(split, { limit: n }) : loadFashionMnist(split, { limit: n });
    const shape = (x: Tensor) => (entry.input === 'image' ? x.reshape([-1, 1, 28, 28]) : x);
    const trainData = load('train', s.limit);
    let [x, y] = [shape(trainData.images), trainData.labels];
    let held: Tensor[][] | undefined;
    if (s.validation > 0) {
      const split = holdOut(x.shape[0]!, s.validation, s.seed + 2);
      const heldSet = new TensorDataset(x.indexSelect(0, split.held), y.indexSelect(0, split.held));
      held = [...new DataLoader(heldSet, { batchSize: 1000 })];
      [x, y] = [x.indexSelect(0, split.kept), y.indexSelect(0, split.kept)];
    }
    const set = new TensorDataset(x, y);
    const batching = { batchSize: s.batchSize, shuffle: true, generator };
    const loader = config.augment
      ? new AugmentedDataLoader(set, { ...batching, imageShape: [1, 28, 28], transform: digitAugmentation() })
      : new DataLoader(set, batching);
    const net = entry.build(config, { vocab: null, generator }) as Module;
    const opt = makeOptimizer(s.optimizer, net.parameters(), s.lr, s.momentum);
    const schedule = makeSchedule(s.schedule, opt, s.epochs, monitor);
    result = await fit(net, opt, {
      ...options,
      loss: (o, t) => crossEntropy(o, t),
      train: loader,
      validation: held,
      clipGradNorm: s.clip > 0 ? s.clip : undefined,
      earlyStopping:
        s.patience === undefined
          ? undefined
          : { monitor: 'valAccuracy', patience: s.patience, restoreBest: true },
      callbacks: [...(schedule ? [schedule] : []), ...logs.callbacks],
    }).finally(logs.close);
    const test = load('test');
    const batches = [
      ...new DataLoader(new TensorDataset(shape(test.images), test.labels), { batchSize: 1000 }),
    ];
    const score = withPrecision(s.precision, () =>
      evaluate(
        net,
        counted(batches, scoringProgress(s.progress, 'scoring the test set', batches.length)),
        (o, t) => crossEntropy(o, t),
      ),
    );
    parameters = net.numParameters();
    report = {
      summary: `test accuracy ${(100 * score.accuracy).toFixed(2)}%, test loss ${score.loss.toFixed(4)}`,
      ...{ test_accuracy: score.accuracy, test_loss: score.loss, train_samples: set.length },
    };
  } else {
    const level = config.level as 'word' | 'char';
    const data = mobyDickCorpus(level, config.minFreq as number, s.limit);
    let [trainIds, validIds] = [data.train, data.valid];
    if (s.validation > 0) {
      // The end of the training text is held out, so both parts stay contiguous text.
      const cut = Math.round(trainIds.length * (1 - s.validation));
      [trainIds, validIds] = [trainIds.subarray(0, cut), trainIds.subarray(cut)];
    }
    const net = entry.build(config, { vocab: data.vocab, generator }) as unknown as LanguageModel;
    const opt = makeOptimizer(s.optimizer, net.parameters(), s.lr, s.momentum);
    const schedule = makeSchedule(s.schedule, opt, s.epochs, monitor);
    const bptt = config.bptt as number;
    result = await fitLanguageModel(net, opt, {
      ...options,
      ...{ batchSize: s.batchSize, bptt, train: trainIds, valid: validIds, clip: s.clip, anneal: 1 },
      patience: s.patience,
      callbacks: [...(schedule ? [schedule] : []), ...logs.callbacks],
      extra: { vocab: data.vocab.toJSON() },
    }).finally(logs.close);
    const test = withPrecision(s.precision, () => perplexity(net, data.test, s.batchSize, bptt));
    const best = result.history.find((r) => r.epoch === result.bestEpoch);
    parameters = net.numParameters();
    report = {
      summary: `test perplexity ${test.toFixed(1)} (vocabulary ${data.vocab.size})`,
      ...{
        test_perplexity: test,
        valid_perplexity: best?.valPerplexity ?? Number.NaN,
        test_loss: Math.log(test),
      },
      ...(level === 'char' ? { bits_per_char: Math.log2(test) } : {}),
      ...{ vocab_size: data.vocab.size, train_tokens: trainIds.length, test_tokens: data.test.length },
      tokens_per_second: result.samplesPerSecond,
    };
  }
  // The curves carry the run's name and its test result, so a figure lifted from the run folder says what it shows.
  const test = report as { test_loss?: number; test_accuracy?: number; test_sequence_accuracy?: number };
  const dataset =
    entry.input === 'pairs'
      ? 'eng-fra'
      : entry.input === 'strips'
        ? 'mnist-strips'
        : entry.input === 'stories'
          ? 'babi-en-10k'
          : entry.input === 'sequences'
            ? `${config.task}`
            : text
              ? 'moby-dick'
              : config.dataset;
  saveTrainingCurves(s.out, result.history, {
    title: basename(resolve(s.out)),
    subtitle: `${s.model} on ${dataset}, ${s.epochs} epochs, ${s.optimizer} lr ${s.lr}${s.schedule === 'none' ? '' : ` (${s.schedule})`}, seed ${s.seed}`,
    test: { loss: test.test_loss, accuracy: test.test_accuracy ?? test.test_sequence_accuracy },
  });
  const backend = getBackend().name;
  const unit =
    text || entry.input === 'pairs'
      ? 'tokens'
      : entry.input === 'strips'
        ? 'strips'
        : entry.input === 'stories'
          ? 'questions'
          : entry.input === 'sequences'
            ? 'sequences'
            : 'samples';
  const rate = `${Math.round(result.samplesPerSecond)} ${unit}/s`;
  return {
    ...config,
    ...report,
    ...{
      dataset,
      epochs: s.epochs,
      batch_size: s.batchSize,
      parameters,
    },
    ...{ train_seconds: result.trainSeconds, samples_per_second: result.samplesPerSecond, backend },
    precision: s.precision,
    ...{ best_epoch: result.bestEpoch, stopped_early: result.stoppedEarly, resumed_from: result.resumedFrom },
    history: result.history,
    model: s.model,
    summary: `${s.model}: ${report.summary}, ${result.trainSeconds.toFixed(1)} s training (${rate}) on ${backend}${s.precision === 'float32' ? '' : ` in ${s.precision}`}`,
  };
}

/**
 * The logs every run writes into --out: `metrics.jsonl`, one line `{"tag", "step", "value"}` per scalar
 * the run logs (each step's `train/...` at the global step, each epoch's `epoch/...` at the epoch
 * number, as MetricLogging sends them), and `metrics.csv`, one row per epoch record; on --resume both
 * are appended to. With --tensorboard, a TensorBoard event file too. `close` closes them all, also when
 * the run fails.
 */
function runLogs(s: RunSettings, config: ModelConfig): { callbacks: Callback[]; close: () => void } {
  const append = { append: s.resume };
  const jsonl = new JsonlLogger(join(s.out, 'metrics.jsonl'), append);
  const csv = new CsvLogger(join(s.out, 'metrics.csv'), append);
  const board = s.tensorboard === undefined ? null : new TensorBoard(s.tensorboard, config);
  let open = true;
  const close = (): void => {
    if (!open) return;
    open = false;
    jsonl.close();
    csv.close();
    board?.close();
  };
  const callbacks: Callback[] = [
    new MetricLogging({ scalar: (tag, value, step) => jsonl.log({ tag, step, value }) }),
    {
      onEpochEnd: (record) =>
        csv.log(Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as LogRecord),
      // A checkpoint records the logs' sizes; resuming from it cuts them back to those, so that what the
      // killed run logged after the checkpoint is not there twice (a log shorter than that is kept).
      name: 'logs',
      stateDict: () => ({ jsonl: jsonl.size, csv: csv.size }),
      stateProblem: (state) =>
        isRecord(state) && isCount(state.jsonl) && isCount(state.csv)
          ? null
          : `the logs' state is ${describe(state)}, not the byte sizes of metrics.jsonl and metrics.csv`,
      loadStateDict: (state) => {
        const { jsonl: j, csv: c } = state as { jsonl: number; csv: number };
        jsonl.truncate(Math.min(j, jsonl.size));
        csv.truncate(Math.min(c, csv.size));
      },
    },
    ...(board ? [board] : []),
  ];
  return { callbacks, close };
}

/** The batches, calling `shown` with the count done after each. */
function* counted<T>(batches: readonly T[], shown: (done: number) => void): IterableIterator<T> {
  for (const [i, b] of batches.entries()) {
    yield b;
    shown(i + 1);
  }
}

/** `strata train ngram`: the count-based baseline, an interpolated Kneser-Ney trigram model of Moby-Dick. */
export function countNgrams(minFreq: number, limit?: number): TrainReport {
  const data = mobyDickCorpus('word', minFreq, limit);
  const t0 = performance.now();
  // The stream starts after an end of paragraph, as every paragraph after the first does.
  const start = data.vocab.id(EOS);
  const lm = KneserNeyTrigram.fit(data.train, data.vocab.size, start);
  const seconds = (performance.now() - t0) / 1000;
  const test = lm.perplexity(data.test, start);
  return {
    ...{ model: 'ngram', dataset: 'moby-dick', level: 'word', min_freq: minFreq },
    summary: `ngram: test perplexity ${test.toFixed(1)} (vocabulary ${data.vocab.size}), ${seconds.toFixed(1)} s counting`,
    ...{
      test_perplexity: test,
      valid_perplexity: lm.perplexity(data.valid, start),
      test_loss: Math.log(test),
    },
    ...{ vocab_size: data.vocab.size, train_tokens: data.train.length, test_tokens: data.test.length },
    ...{ epochs: 1, train_seconds: seconds, tokens_per_second: data.train.length / seconds },
    backend: getBackend().name,
    parameters: lm.sizes.trigrams + lm.sizes.bigrams + lm.sizes.unigrams,
    ...{ discounts: lm.discounts, ngrams: lm.sizes },
  };
}

/**
 * A fixed validation split: a seeded permutation of the `n` examples, whose last `fraction` is held out.
 * Returns the indices kept for training and those held out.
 */
export function holdOut(n: number, fraction: number, seed: number): { kept: Tensor; held: Tensor } {
  const nVal = Math.round(n * fraction);
  if (nVal < 1 || nVal >= n) {
    fail(
      'train',
      `--validation ${fraction} of ${n} examples leaves ${nVal} for validation and ${n - nVal} for training; both need at least one`,
    );
  }
  const perm = new Generator(seed).permutation(n);
  return {
    kept: tensor(Int32Array.from(perm.subarray(0, n - nVal))),
    held: tensor(Int32Array.from(perm.subarray(n - nVal))),
  };
}

/**
 * The augmentation of `--augment` for 28×28 digits: small affine moves and Simard et al.'s elastic
 * distortions, "deforming the existing examples" — mildly: at alpha 34 (their value for other image
 * scaling) some digits became unreadable and LeNet did worse.
 */
export function digitAugmentation() {
  return compose(
    randomAffine({ degrees: 8, translate: [0.08, 0.08], scale: [0.92, 1.08] }),
    elasticDistortion({ alpha: 8, sigma: 4 }),
  );
}

/**
 * Moby-Dick's three splits (src/data/moby-dick.ts) as token ids over a vocabulary built from the
 * training split; `limit` keeps the first tokens of the training split only.
 */
export function mobyDickCorpus(level: 'word' | 'char', minFreq: number, limit?: number) {
  const tokenize = level === 'word' ? wordTokens : charTokens;
  let train = tokenize(mobyDick('train'));
  if (limit !== undefined) train = train.slice(0, limit);
  const vocab = Vocab.build(train, { minFreq, specials: level === 'word' ? [UNK, EOS] : [UNK] });
  return {
    vocab,
    train: vocab.encode(train),
    valid: vocab.encode(tokenize(mobyDick('valid'))),
    test: vocab.encode(tokenize(mobyDick('test'))),
  };
}

/** The optimizers `strata train` offers, by name. */
export const OPTIMIZERS = ['sgd', 'adam', 'adamw', 'rmsprop', 'adagrad'] as const;

/** An optimizer by name; SGD and RMSprop with `momentum` (`strata train`: 0.9 for SGD on the image models, else 0). */
export function makeOptimizer(
  name: string,
  params: Tensor[],
  lr: number,
  momentum = 0,
): Optimizer<{ lr: number }> {
  switch (name) {
    case 'sgd':
      return new SGD(params, { lr, momentum });
    case 'adam':
      return new Adam(params, { lr });
    case 'adamw':
      return new AdamW(params, { lr });
    case 'rmsprop':
      return new RMSprop(params, { lr, momentum });
    case 'adagrad':
      return new Adagrad(params, { lr });
    default:
      return fail('train', `unknown optimizer '${name}': expected ${OPTIMIZERS.join(', ')}`);
  }
}

/** The schedules `strata train` offers: stepped per epoch; `plateau` divides the rate by 4 when validation stalls. */
export const SCHEDULES = ['cosine', 'step', 'halve', 'plateau', 'none'] as const;

/**
 * A schedule by name, stepped once per epoch: half a cosine over the run down to 0 (tMax = epochs, so
 * the rate never rises again), ×0.1 every third of it, ×0.5 every quarter of it (Sukhbaatar et al.'s
 * memory networks: halved every 25 of 100 epochs, every 15 of 60), or ÷4 whenever `monitor` does not improve
 * (Zaremba et al.'s rule for language models); null for none.
 */
export function makeSchedule(
  name: string,
  optimizer: Optimizer<{ lr: number }>,
  epochs: number,
  monitor: string,
): LearningRateSchedule | null {
  if (name === 'cosine') return new LearningRateSchedule(new CosineAnnealingLR(optimizer, { tMax: epochs }));
  if (name === 'step')
    return new LearningRateSchedule(
      new StepLR(optimizer, { stepSize: Math.max(1, Math.ceil(epochs / 3)), gamma: 0.1 }),
    );
  if (name === 'halve')
    return new LearningRateSchedule(
      new StepLR(optimizer, { stepSize: Math.max(1, Math.round(epochs / 4)), gamma: 0.5 }),
    );
  if (name === 'plateau') {
    const plateau = new ReduceLROnPlateau(optimizer, { factor: 0.25, patience: 0, threshold: 0 });
    return new LearningRateSchedule(plateau, { monitor });
  }
  if (name !== 'none') fail('train', `unknown schedule '${name}': expected ${SCHEDULES.join(', ')}`);
  return null;
}
