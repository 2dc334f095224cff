import { getBackend } from '../backend/registry.js';
import { mobyDick } from '../data/moby-dick.js';
import { charTokens, EOS, UNK, Vocab, wordTokens } from '../data/text.js';
import { fail } from '../errors.js';
import { KneserNeyTrigram } from '../models/ngram.js';
import { NeuralProbabilisticLM } from '../models/nplm.js';
import { type RnnCell, RnnLanguageModel } from '../models/rnnlm.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { Adam, SGD } from '../optim/optimizers.js';
import { Generator, manualSeed } from '../tensor/random.js';
import { BEST_FILE, CHECKPOINT_FILE } from '../train/fit.js';
import { fitLanguageModel, type LanguageModel, perplexity } from '../train/lm.js';
import { type Flags, helpText, num, outputDir, parse } from './args.js';

/** The language models `strata train` knows, all on Moby-Dick split by chapter (src/data/moby-dick.ts). */
export const LM_MODELS: Record<string, string> = {
  ngram: 'an interpolated Kneser-Ney trigram model (the count-based baseline)',
  nplm: "Bengio et al.'s neural probabilistic language model (word features, a tanh layer, a softmax)",
  rnnlm: 'a recurrent (LSTM, GRU or tanh RNN) word-level language model',
  'char-rnn': 'a character-level LSTM language model',
};

const COMMON: Flags = {
  seed: { type: 'string', help: 'seed for initialisation and dropout', default: '0' },
  out: { type: 'string', help: 'directory for checkpoints and results (default: runs/<model>)' },
  json: { type: 'boolean', help: 'print the results as one JSON object on the last line of stdout' },
  backend: { type: 'string', help: 'backend to run on (see strata info)' },
  limit: { type: 'string', help: 'use only the first N training tokens' },
};

const MIN_FREQ: Flags = {
  'min-freq': { type: 'string', help: 'words seen fewer times in training become <unk>', default: '2' },
};

/** Training flags shared by the neural models, with each model's defaults. */
function trainFlags(d: {
  epochs: number;
  batch: number;
  bptt: number;
  optimizer: string;
  clip: number;
}): Flags {
  return {
    epochs: { type: 'string', help: 'passes over the training text', default: String(d.epochs) },
    'batch-size': { type: 'string', help: 'parallel streams of text', default: String(d.batch) },
    bptt: {
      type: 'string',
      help: 'tokens per training window (truncated backpropagation through time)',
      default: String(d.bptt),
    },
    lr: { type: 'string', help: 'learning rate (default: 20 for sgd, 0.002 for adam)' },
    optimizer: { type: 'string', help: 'sgd (plain, as Zaremba et al.) | adam', default: d.optimizer },
    clip: { type: 'string', help: 'clip the global gradient norm to this (0: off)', default: String(d.clip) },
    resume: { type: 'boolean', help: 'continue the run whose checkpoint is in --out (from its last epoch)' },
    'no-progress': { type: 'boolean', help: 'hide the progress bar' },
  };
}

const RECURRENT: Flags = {
  cell: { type: 'string', help: 'lstm | gru | rnn (tanh)', default: 'lstm' },
  hidden: { type: 'string', help: 'units per recurrent layer', default: '256' },
  layers: { type: 'string', help: 'stacked recurrent layers', default: '2' },
};

const FLAGS: Record<string, Flags> = {
  ngram: { ...MIN_FREQ, ...COMMON },
  nplm: {
    order: { type: 'string', help: 'n: predict each word from the n − 1 before it', default: '5' },
    embed: { type: 'string', help: 'size of each word feature vector', default: '64' },
    hidden: { type: 'string', help: 'units of the tanh layer', default: '256' },
    direct: { type: 'boolean', help: 'also connect the word features straight to the output' },
    dropout: { type: 'string', help: 'dropout on the tanh layer', default: '0.3' },
    ...trainFlags({ epochs: 6, batch: 64, bptt: 32, optimizer: 'adam', clip: 1 }),
    ...MIN_FREQ,
    ...COMMON,
  },
  rnnlm: {
    ...RECURRENT,
    embed: { type: 'string', help: 'word-vector size (default: --hidden)' },
    dropout: {
      type: 'string',
      help: 'dropout on embeddings, between layers and before the output',
      default: '0.5',
    },
    'no-tie': { type: 'boolean', help: 'do not share the embedding and output weights' },
    ...trainFlags({ epochs: 15, batch: 20, bptt: 35, optimizer: 'sgd', clip: 0.25 }),
    ...MIN_FREQ,
    ...COMMON,
  },
  'char-rnn': {
    ...RECURRENT,
    layers: { type: 'string', help: 'stacked recurrent layers', default: '1' },
    embed: { type: 'string', help: 'character-vector size', default: '64' },
    dropout: { type: 'string', help: 'dropout between layers and before the output', default: '0.2' },
    ...trainFlags({ epochs: 3, batch: 32, bptt: 100, optimizer: 'adam', clip: 1 }),
    ...COMMON,
  },
};

export function lmHelp(model: string): string {
  return helpText(
    `strata train ${model} [options]`,
    `Trains ${LM_MODELS[model]} on Moby-Dick (chapters ending in 0 held out for testing, in 5 for validation) and reports test perplexity.`,
    FLAGS[model]!,
  );
}

export interface LmResult {
  model: string;
  dataset: 'moby-dick';
  test_perplexity: number;
  valid_perplexity: number;
  vocab_size: number;
  test_loss: number;
  epochs: number;
  train_seconds: number;
  tokens_per_second: number;
  backend: string;
  seed: number;
  parameters: number;
  train_tokens: number;
  test_tokens: number;
  [key: string]: unknown;
}

/** The three splits as token ids over a vocabulary built from the training split. */
function corpus(level: 'word' | 'char', minFreq: number, limit?: number) {
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

/** `strata train ngram|nplm|rnnlm|char-rnn`. */
export function trainLanguageModel(model: string, argv: string[]): LmResult {
  const flags = Object.hasOwn(FLAGS, model) ? FLAGS[model] : undefined;
  if (!flags) return fail('train', `unknown language model '${model}'`);
  const { values: v } = parse(`train ${model}`, argv, flags);
  const level = model === 'char-rnn' ? 'char' : 'word';
  const minFreq = level === 'word' ? num('train', 'min-freq', v['min-freq'], { integer: true, min: 1 }) : 1;
  const seed = num('train', 'seed', v.seed, { integer: true });
  const limit =
    v.limit === undefined ? undefined : num('train', 'limit', v.limit, { integer: true, min: 100 });
  // The counted n-gram model writes nothing; every other one checkpoints into --out, checked now.
  const out =
    model === 'ngram' ? undefined : outputDir('train', v.out, `runs/${model}`, [CHECKPOINT_FILE, BEST_FILE]);
  const data = corpus(level, minFreq, limit);
  const base = {
    model,
    dataset: 'moby-dick' as const,
    level,
    vocab_size: data.vocab.size,
    backend: getBackend().name,
    seed,
    min_freq: minFreq,
    train_tokens: data.train.length,
    test_tokens: data.test.length,
  };
  if (model === 'ngram') {
    const t0 = performance.now();
    // The stream starts after an end of paragraph, as every paragraph after the first does.
    const start = data.vocab.id(EOS);
    const lm = KneserNeyTrigram.fit(data.train, data.vocab.size, start);
    const seconds = (performance.now() - t0) / 1000;
    const test = lm.perplexity(data.test, start);
    return {
      ...base,
      test_perplexity: test,
      valid_perplexity: lm.perplexity(data.valid, start),
      test_loss: Math.log(test),
      epochs: 1,
      train_seconds: seconds,
      tokens_per_second: data.train.length / seconds,
      parameters: lm.sizes.trigrams + lm.sizes.bigrams + lm.sizes.unigrams,
      discounts: lm.discounts,
      ngrams: lm.sizes,
    };
  }

  const optimizerName = String(v.optimizer);
  if (!['sgd', 'adam'].includes(optimizerName))
    fail('train', `unknown --optimizer '${optimizerName}': expected sgd, adam`);
  const epochs = num('train', 'epochs', v.epochs, { integer: true, min: 1 });
  const batchSize = num('train', 'batch-size', v['batch-size'], { integer: true, min: 1 });
  const bptt = num('train', 'bptt', v.bptt, { integer: true, min: 1 });
  const lr =
    v.lr === undefined ? (optimizerName === 'sgd' ? 20 : 0.002) : num('train', 'lr', v.lr, { min: 0 });
  const clip = num('train', 'clip', v.clip, { min: 0 });
  const dropout = num('train', 'dropout', v.dropout, { min: 0 });
  if (dropout >= 1) fail('train', `--dropout must be below 1, got ${dropout}`);
  const hidden = num('train', 'hidden', v.hidden, { integer: true, min: 1 });
  const settings: Record<string, unknown> = {
    optimizer: optimizerName,
    lr,
    batch_size: batchSize,
    bptt,
    clip,
    hidden,
    dropout,
  };
  let net: Module<[never, never?], unknown>;
  manualSeed(seed);
  const generator = new Generator(seed + 1);
  if (model === 'nplm') {
    const order = num('train', 'order', v.order, { integer: true, min: 2 });
    const embed = num('train', 'embed', v.embed, { integer: true, min: 1 });
    const direct = v.direct === true;
    net = new NeuralProbabilisticLM(data.vocab.size, {
      order,
      embed,
      hidden,
      direct,
      dropout,
      startId: data.vocab.id(EOS),
      generator,
    });
    Object.assign(settings, { order, embed, direct });
  } else {
    const cell = String(v.cell);
    if (!['lstm', 'gru', 'rnn'].includes(cell))
      fail('train', `unknown --cell '${cell}': expected lstm, gru, rnn`);
    const layers = num('train', 'layers', v.layers, { integer: true, min: 1 });
    const embed = v.embed === undefined ? hidden : num('train', 'embed', v.embed, { integer: true, min: 1 });
    const tie = model === 'rnnlm' && v['no-tie'] !== true && embed === hidden;
    net = new RnnLanguageModel(data.vocab.size, {
      cell: cell as RnnCell,
      hidden,
      embed,
      layers,
      dropout,
      tie,
      generator,
    });
    Object.assign(settings, { cell, layers, embed, tie });
  }
  const optimizer: Optimizer<{ lr: number }> =
    optimizerName === 'sgd' ? new SGD(net.parameters(), { lr }) : new Adam(net.parameters(), { lr });
  const config = { model, level, minFreq, seed, limit: limit ?? null, ...settings };
  const lm = net as unknown as LanguageModel;
  const result = fitLanguageModel(lm, optimizer, {
    epochs,
    batchSize,
    bptt,
    train: data.train,
    valid: data.valid,
    clip,
    generator,
    out,
    resume: v.resume === true,
    progress: v['no-progress'] !== true,
    config,
    extra: { vocab: data.vocab.toJSON() },
  });
  const test = perplexity(lm, data.test, batchSize, bptt);
  const best = result.history.find((r) => r.epoch === result.bestEpoch);
  return {
    ...base,
    test_perplexity: test,
    valid_perplexity: best?.valPerplexity ?? Number.NaN,
    test_loss: Math.log(test),
    ...(level === 'char' ? { bits_per_char: Math.log2(test) } : {}),
    epochs,
    best_epoch: result.bestEpoch,
    train_seconds: result.trainSeconds,
    tokens_per_second: result.tokensPerSecond,
    samples_per_second: result.tokensPerSecond,
    parameters: net.numParameters(),
    ...settings,
    resumed_from: result.resumedFrom,
    history: result.history,
  };
}
