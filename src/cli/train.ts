import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { getBackend } from '../backend/registry.js';
import { AugmentedDataLoader } from '../data/augment.js';
import { TensorDataset } from '../data/dataset.js';
import { loadFashionMnist } from '../data/fashion-mnist.js';
import { DataLoader } from '../data/loader.js';
import { loadMnist } from '../data/mnist.js';
import { EOS } from '../data/text.js';
import { fail } from '../errors.js';
import { BEST_FILE, CHECKPOINT_FILE } from '../io/checkpoint.js';
import { KneserNeyTrigram } from '../models/ngram.js';
import { MODELS, type ModelConfig } from '../models/registry.js';
import { crossEntropy } from '../nn/losses.js';
import type { Module } from '../nn/module.js';
import { Generator, manualSeed } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { type FitResult, fit } from '../train/fit.js';
import { fitLanguageModel, type LanguageModel, type LmFitResult, perplexity } from '../train/lm.js';
import { evaluate } from '../train/metrics.js';
import { scoringProgress } from '../train/progress.js';
import { digitAugmentation, holdOut, makeOptimizer, makeSchedule, mobyDickCorpus } from '../train/recipes.js';
import { saveTrainingCurves } from '../viz/plot.js';
import { type Flags, helpText, num, outputDir, parse } from './args.js';

/** Each trainable model's defaults: the flags' default values and its own flags. */
interface Defaults {
  epochs: number;
  batchSize: number;
  optimizer: string;
  schedule: string;
  dropout: number;
  clip: number;
  own: Flags;
}

const str = (help: string, value?: string | number): Flags[string] => ({
  type: 'string',
  help,
  ...(value === undefined ? {} : { default: String(value) }),
});
const bool = (help: string): Flags[string] => ({ type: 'boolean', help });

const IMAGE: Flags = {
  dataset: str('mnist | fashion-mnist', 'mnist'),
  augment: bool('deform training images: small affine moves and elastic distortions'),
};
const TEXT = (bptt: number): Flags => ({
  bptt: str('tokens per training window (truncated backpropagation through time)', bptt),
});
const WORDS: Flags = { 'min-freq': str('words seen fewer times in training become <unk>', 2) };
const RECURRENT = (layers: number, embed?: number): Flags => ({
  cell: str('lstm | gru | rnn (tanh)', 'lstm'),
  hidden: str('units per recurrent layer', 256),
  layers: str('stacked recurrent layers', layers),
  embed: str(embed === undefined ? 'token-vector size (default: --hidden)' : 'token-vector size', embed),
});

const DEFAULTS: Record<string, Defaults> = {
  mlp: { epochs: 3, batchSize: 128, optimizer: 'sgd', schedule: 'cosine', dropout: 0, clip: 0, own: IMAGE },
  lenet: {
    epochs: 10,
    batchSize: 64,
    optimizer: 'adam',
    schedule: 'cosine',
    dropout: 0,
    clip: 0,
    own: IMAGE,
  },
  'resnet-mnist': {
    epochs: 3,
    batchSize: 128,
    optimizer: 'adam',
    schedule: 'cosine',
    dropout: 0,
    clip: 0,
    own: IMAGE,
  },
  nplm: {
    ...{ epochs: 6, batchSize: 64, optimizer: 'adam', schedule: 'plateau', dropout: 0.3, clip: 1 },
    own: {
      order: str('n: predict each word from the n − 1 before it', 5),
      embed: str('size of each word feature vector', 64),
      hidden: str('units of the tanh layer', 256),
      direct: bool('also connect the word features straight to the output'),
      ...TEXT(32),
      ...WORDS,
    },
  },
  rnnlm: {
    ...{ epochs: 15, batchSize: 20, optimizer: 'sgd', schedule: 'plateau', dropout: 0.5, clip: 0.25 },
    own: {
      ...RECURRENT(2),
      'no-tie': bool('do not share the embedding and output weights'),
      ...TEXT(35),
      ...WORDS,
    },
  },
  'char-rnn': {
    ...{ epochs: 3, batchSize: 32, optimizer: 'adam', schedule: 'plateau', dropout: 0.2, clip: 1 },
    own: { ...RECURRENT(1, 64), ...TEXT(100) },
  },
};

/** The count-based n-gram model takes only what it uses. */
const NGRAM_FLAGS: Flags = {
  ...WORDS,
  limit: str('use only the first N training tokens'),
  json: bool('print the results as one JSON object on the last line of stdout'),
  backend: str('backend to run on (see strata info)'),
};

/** Every trainable model's name (the registry's, and the n-gram counts). */
export const TRAINABLE = [...Object.keys(DEFAULTS), 'ngram'];

/** The flags every neural model takes, with its defaults, then its own. */
function flagsOf(model: string): Flags {
  if (model === 'ngram') return NGRAM_FLAGS;
  const d = DEFAULTS[model]!;
  const text = MODELS[model]!.input === 'tokens';
  return {
    epochs: str('passes over the training data', d.epochs),
    'batch-size': str(text ? 'parallel streams of text' : 'examples per step', d.batchSize),
    lr: str(
      text
        ? 'learning rate (default: 20 for sgd, 0.002 otherwise)'
        : 'learning rate (default: 0.05 for sgd, 0.01 for adagrad, 0.001 otherwise)',
    ),
    optimizer: str('sgd | adam | adamw | rmsprop | adagrad', d.optimizer),
    schedule: str(
      'learning-rate schedule over the epochs: cosine | step | plateau (÷4 when validation stalls) | none',
      d.schedule,
    ),
    dropout: str(
      model === 'mlp' || text ? 'dropout probability' : 'dropout (not used by this model: 0 only)',
      d.dropout,
    ),
    clip: str('clip the global gradient norm to this (0: off)', d.clip),
    seed: str('seed for initialisation, shuffling, augmentation and dropout', 0),
    validation: str(
      text
        ? "fraction of the training text held out for validation (0: Moby-Dick's validation chapters)"
        : 'fraction of the training set held out for validation',
      0,
    ),
    patience: str('stop after this many epochs without validation improvement'),
    out: str(`directory for checkpoints, curves and results (default: runs/${model})`),
    resume: bool('continue the run whose checkpoint is in --out'),
    force: bool('start over in an --out that already holds a run'),
    'checkpoint-every': str('also checkpoint every N steps'),
    limit: str(text ? 'use only the first N training tokens' : 'use only the first N training examples'),
    json: bool('print the results as one JSON object on the last line of stdout'),
    backend: str('backend to run on (see strata info)'),
    'no-progress': bool('hide the progress bar'),
    ...d.own,
  };
}

export function trainHelp(model: string): string {
  const entry = model === 'ngram' ? null : MODELS[model]!;
  const what = entry
    ? entry.input === 'tokens'
      ? `Trains ${entry.summary} on Moby-Dick (chapters ending in 0 held out for testing, in 5 for validation) and reports test perplexity.`
      : `Trains ${entry.summary} on MNIST (or Fashion-MNIST) with softmax cross-entropy and reports test accuracy.`
    : 'Counts an interpolated Kneser-Ney trigram model of Moby-Dick (the count-based baseline) and reports test perplexity.';
  return helpText(`strata train ${model} [options]`, what, flagsOf(model));
}

/** What `strata train` prints (and `--json` writes): the results, the settings and the history. */
export type TrainReport = Record<string, unknown> & { model: string; summary: string };

/** `strata train <model>`: parses the flags and runs the model's recipe. */
export async function train(model: string, argv: string[]): Promise<TrainReport> {
  if (!TRAINABLE.includes(model))
    fail('train', `unknown model '${model}': expected one of ${TRAINABLE.join(', ')}`);
  const cmd = `train ${model}`;
  const { values: v } = parse(cmd, argv, flagsOf(model));
  if (model === 'ngram') return countNgrams(v);
  const n = (name: string, o: { integer?: boolean; min?: number } = {}) => num(cmd, name, v[name], o);
  const maybe = (name: string, o: { integer?: boolean; min?: number }) =>
    v[name] === undefined ? undefined : n(name, o);
  const entry = MODELS[model]!;
  const text = entry.input === 'tokens';
  const epochs = n('epochs', { integer: true, min: 1 });
  const batchSize = n('batch-size', { integer: true, min: 1 });
  const seed = n('seed', { integer: true });
  const validation = n('validation', { min: 0 });
  if (validation >= 1) fail(cmd, `--validation must be below 1, got ${validation}`);
  const patience = maybe('patience', { integer: true, min: 1 });
  if (patience !== undefined && validation === 0 && !text)
    fail(cmd, '--patience needs a validation set: add --validation 0.1');
  const limit = maybe('limit', { integer: true, min: text ? 100 : 1 });
  const checkpointEvery = maybe('checkpoint-every', { integer: true, min: 1 });
  const optimizer = String(v.optimizer);
  const lr =
    maybe('lr', { min: 0 }) ??
    (optimizer === 'sgd' ? (text ? 20 : 0.05) : text ? 0.002 : optimizer === 'adagrad' ? 1e-2 : 1e-3);
  const clip = n('clip', { min: 0 });
  const dropout = n('dropout', { min: 0 });
  if (dropout >= 1) fail(cmd, `--dropout must be below 1, got ${dropout}`);
  if (dropout > 0 && Object.keys(entry.shape).length === 0)
    fail(cmd, `--dropout applies to the mlp and the language models; ${model} does not take it`);
  const out = outputDir(cmd, v.out, `runs/${model}`, [
    CHECKPOINT_FILE,
    BEST_FILE,
    'curves.svg',
    'curves.png',
  ]);
  if (v.resume !== true && existsSync(join(out, CHECKPOINT_FILE))) {
    if (v.force !== true)
      fail(
        cmd,
        `'${out}' already holds a run (${CHECKPOINT_FILE}): pass --resume to continue it, --force to start over, or another --out`,
      );
    rmSync(join(out, BEST_FILE), { force: true });
  }

  manualSeed(seed);
  const generator = new Generator(seed + 1);
  // Every setting that shapes the model or the run; --resume compares them all (--epochs may grow).
  const config: ModelConfig = {
    model,
    optimizer,
    lr,
    schedule: String(v.schedule),
    batchSize,
    seed,
    limit: limit ?? null,
    validation,
    clip,
    dropout,
  };
  const run = {
    epochs,
    generator,
    out,
    resume: v.resume === true,
    checkpointEvery,
    progress: v['no-progress'] !== true,
    config,
  };
  const monitor = text ? 'valPerplexity' : 'valLoss';
  let result: FitResult | LmFitResult;
  let report: Record<string, unknown>;
  let parameters: number;
  if (!text) {
    const dataset = String(v.dataset);
    if (!['mnist', 'fashion-mnist'].includes(dataset))
      fail(cmd, `unknown dataset '${dataset}': expected mnist, fashion-mnist`);
    Object.assign(config, { dataset, augment: v.augment === true });
    const load = (split: 'train' | 'test', n?: number) =>
      dataset === 'mnist' ? loadMnist(split, { limit: n }) : loadFashionMnist(split, { limit: n });
    const shape = (x: Tensor) => (entry.input === 'image' ? x.reshape([-1, 1, 28, 28]) : x);
    const trainData = load('train', limit);
    let [x, y] = [shape(trainData.images), trainData.labels];
    let held: Tensor[][] | undefined;
    if (validation > 0) {
      const split = holdOut(x.shape[0]!, validation, seed + 2);
      held = [
        ...new DataLoader(new TensorDataset(x.indexSelect(0, split.held), y.indexSelect(0, split.held)), {
          batchSize: 1000,
        }),
      ];
      [x, y] = [x.indexSelect(0, split.kept), y.indexSelect(0, split.kept)];
    }
    const set = new TensorDataset(x, y);
    const loader = config.augment
      ? new AugmentedDataLoader(set, {
          batchSize,
          shuffle: true,
          generator,
          imageShape: [1, 28, 28],
          transform: digitAugmentation(),
        })
      : new DataLoader(set, { batchSize, shuffle: true, generator });
    const net = entry.build(config, { vocab: null, generator }) as Module;
    const opt = makeOptimizer(optimizer, net.parameters(), lr, 0.9);
    const schedule = makeSchedule(String(v.schedule), opt, epochs, monitor);
    result = await fit(net, opt, {
      ...run,
      loss: (o, t) => crossEntropy(o, t),
      train: loader,
      validation: held,
      clipGradNorm: clip > 0 ? clip : undefined,
      earlyStopping:
        patience === undefined ? undefined : { monitor: 'valAccuracy', patience, restoreBest: true },
      callbacks: schedule ? [schedule] : [],
    });
    const test = load('test');
    const batches = [
      ...new DataLoader(new TensorDataset(shape(test.images), test.labels), { batchSize: 1000 }),
    ];
    const shown = scoringProgress(run.progress, 'scoring the test set', batches.length);
    let done = 0;
    const score = evaluate(
      net,
      {
        *[Symbol.iterator]() {
          for (const b of batches) {
            yield b;
            shown(++done);
          }
        },
      },
      (o, t) => crossEntropy(o, t),
    );
    parameters = net.numParameters();
    report = {
      dataset,
      summary: `test accuracy ${(100 * score.accuracy).toFixed(2)}%, test loss ${score.loss.toFixed(4)}`,
      test_accuracy: score.accuracy,
      test_loss: score.loss,
      train_samples: set.length,
      augment: config.augment,
    };
  } else {
    const level = model === 'char-rnn' ? 'char' : 'word';
    const minFreq = level === 'word' ? n('min-freq', { integer: true, min: 1 }) : 1;
    const hidden = n('hidden', { integer: true, min: 1 });
    const shapeOf: Record<string, unknown> =
      model === 'nplm'
        ? {
            order: n('order', { integer: true, min: 2 }),
            embed: n('embed', { integer: true, min: 1 }),
            direct: v.direct === true,
          }
        : {
            cell: String(v.cell),
            layers: n('layers', { integer: true, min: 1 }),
            embed: v.embed === undefined ? hidden : n('embed', { integer: true, min: 1 }),
          };
    if (model !== 'nplm') {
      if (!['lstm', 'gru', 'rnn'].includes(shapeOf.cell as string))
        fail(cmd, `unknown --cell '${shapeOf.cell}': expected lstm, gru, rnn`);
      shapeOf.tie = model === 'rnnlm' && v['no-tie'] !== true && shapeOf.embed === hidden;
    }
    const bptt = n('bptt', { integer: true, min: 1 });
    Object.assign(config, { level, minFreq, hidden, bptt, ...shapeOf });
    const data = mobyDickCorpus(level, minFreq, limit);
    let [trainIds, validIds] = [data.train, data.valid];
    if (validation > 0) {
      // The end of the training text is held out, so both parts stay contiguous text.
      const cut = Math.round(trainIds.length * (1 - validation));
      [trainIds, validIds] = [trainIds.subarray(0, cut), trainIds.subarray(cut)];
    }
    const net = entry.build(config, { vocab: data.vocab, generator }) as unknown as LanguageModel;
    const opt = makeOptimizer(optimizer, net.parameters(), lr);
    const schedule = makeSchedule(String(v.schedule), opt, epochs, monitor);
    result = await fitLanguageModel(net, opt, {
      ...run,
      batchSize,
      bptt,
      train: trainIds,
      valid: validIds,
      clip,
      anneal: 1,
      patience,
      callbacks: schedule ? [schedule] : [],
      extra: { vocab: data.vocab.toJSON() },
    });
    const test = perplexity(net, data.test, batchSize, bptt);
    const best = result.history.find((r) => r.epoch === result.bestEpoch);
    parameters = net.numParameters();
    report = {
      dataset: 'moby-dick',
      summary: `test perplexity ${test.toFixed(1)} (vocabulary ${data.vocab.size})`,
      test_perplexity: test,
      valid_perplexity: best?.valPerplexity ?? Number.NaN,
      test_loss: Math.log(test),
      ...(level === 'char' ? { bits_per_char: Math.log2(test) } : {}),
      vocab_size: data.vocab.size,
      train_tokens: trainIds.length,
      test_tokens: data.test.length,
      tokens_per_second: result.samplesPerSecond,
    };
  }
  saveTrainingCurves(out, result.history);
  return {
    ...config,
    ...report,
    model,
    epochs,
    train_seconds: result.trainSeconds,
    samples_per_second: result.samplesPerSecond,
    backend: getBackend().name,
    batch_size: batchSize,
    parameters,
    best_epoch: result.bestEpoch,
    stopped_early: result.stoppedEarly,
    resumed_from: result.resumedFrom,
    history: result.history,
    summary: `${model}: ${report.summary}, ${result.trainSeconds.toFixed(1)} s training (${Math.round(result.samplesPerSecond)} ${text ? 'tokens' : 'samples'}/s) on ${getBackend().name}`,
  } as TrainReport;
}

/** `strata train ngram`: the count-based baseline. */
function countNgrams(v: Record<string, string | boolean | undefined>): TrainReport {
  const cmd = 'train ngram';
  const minFreq = num(cmd, 'min-freq', v['min-freq'], { integer: true, min: 1 });
  const limit = v.limit === undefined ? undefined : num(cmd, 'limit', v.limit, { integer: true, min: 100 });
  const data = mobyDickCorpus('word', minFreq, limit);
  const t0 = performance.now();
  // The stream starts after an end of paragraph, as every paragraph after the first does.
  const start = data.vocab.id(EOS);
  const lm = KneserNeyTrigram.fit(data.train, data.vocab.size, start);
  const seconds = (performance.now() - t0) / 1000;
  const test = lm.perplexity(data.test, start);
  return {
    model: 'ngram',
    dataset: 'moby-dick',
    level: 'word',
    min_freq: minFreq,
    summary: `ngram: test perplexity ${test.toFixed(1)} (vocabulary ${data.vocab.size}), ${seconds.toFixed(1)} s counting`,
    test_perplexity: test,
    valid_perplexity: lm.perplexity(data.valid, start),
    test_loss: Math.log(test),
    vocab_size: data.vocab.size,
    train_tokens: data.train.length,
    test_tokens: data.test.length,
    epochs: 1,
    train_seconds: seconds,
    tokens_per_second: data.train.length / seconds,
    backend: getBackend().name,
    parameters: lm.sizes.trigrams + lm.sizes.bigrams + lm.sizes.unigrams,
    discounts: lm.discounts,
    ngrams: lm.sizes,
  };
}
