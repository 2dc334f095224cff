import { getBackend } from '../backend/registry.js';
import { mobyDick } from '../data/moby-dick.js';
import { EOS, UNK, Vocab, wordTokens } from '../data/text.js';
import { fail } from '../errors.js';
import { KneserNeyTrigram } from '../models/ngram.js';
import { type RnnCell, RnnLanguageModel } from '../models/rnnlm.js';
import type { Optimizer } from '../optim/optimizer.js';
import { Adam, SGD } from '../optim/optimizers.js';
import { Generator, manualSeed } from '../tensor/random.js';
import { fitLanguageModel, type LanguageModel, perplexity } from '../train/lm.js';
import { type Flags, helpText, num, parse } from './args.js';

/** The language models `strata train` knows, all on Moby-Dick split by chapter (src/data/moby-dick.ts). */
export const LM_MODELS: Record<string, string> = {
  ngram: 'an interpolated Kneser-Ney trigram model (the count-based baseline)',
  rnnlm: 'a recurrent (LSTM, GRU or tanh RNN) word-level language model',
};

const COMMON: Flags = {
  'min-freq': { type: 'string', help: 'words seen fewer times in training become <unk>', default: '2' },
  seed: { type: 'string', help: 'seed for initialisation and dropout', default: '0' },
  out: { type: 'string', help: 'directory for checkpoints and results (default: runs/<model>)' },
  json: { type: 'boolean', help: 'print the results as one JSON object on the last line of stdout' },
  backend: { type: 'string', help: 'backend to run on (see strata info)' },
  limit: { type: 'string', help: 'use only the first N training tokens' },
};

const RNN_FLAGS: Flags = {
  cell: { type: 'string', help: 'lstm | gru | rnn (tanh)', default: 'lstm' },
  epochs: { type: 'string', help: 'passes over the training text', default: '8' },
  'batch-size': { type: 'string', help: 'parallel streams of text', default: '20' },
  bptt: {
    type: 'string',
    help: 'tokens per window of truncated backpropagation through time',
    default: '35',
  },
  lr: { type: 'string', help: 'learning rate (default: 20 for sgd, 0.002 for adam)' },
  optimizer: { type: 'string', help: 'sgd (plain, as Zaremba et al.) | adam', default: 'sgd' },
  clip: { type: 'string', help: 'clip the global gradient norm to this (0: off)', default: '0.25' },
  embed: { type: 'string', help: 'word-vector size (default: --hidden)' },
  hidden: { type: 'string', help: 'units per recurrent layer', default: '256' },
  layers: { type: 'string', help: 'stacked recurrent layers', default: '2' },
  dropout: {
    type: 'string',
    help: 'dropout on embeddings, between layers and before the output',
    default: '0.5',
  },
  'no-tie': { type: 'boolean', help: 'do not share the embedding and output weights' },
  resume: { type: 'boolean', help: 'continue the run whose checkpoint is in --out' },
  'no-progress': { type: 'boolean', help: 'hide the progress bar' },
  ...COMMON,
};

function flagsOf(model: string): Flags {
  return model === 'ngram' ? COMMON : RNN_FLAGS;
}

export function lmHelp(model: string): string {
  return helpText(
    `strata train ${model} [options]`,
    `Trains ${LM_MODELS[model]} on Moby-Dick (chapters ending in 0 held out for testing, in 5 for validation) and reports test perplexity.`,
    flagsOf(model),
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

/** The three splits as word ids over a vocabulary built from the training split. */
function corpus(minFreq: number, limit?: number) {
  let train = wordTokens(mobyDick('train'));
  if (limit !== undefined) train = train.slice(0, limit);
  const vocab = Vocab.build(train, { minFreq, specials: [UNK, EOS] });
  return {
    vocab,
    train: vocab.encode(train),
    valid: vocab.encode(wordTokens(mobyDick('valid'))),
    test: vocab.encode(wordTokens(mobyDick('test'))),
  };
}

/** `strata train ngram|rnnlm`. */
export function trainLanguageModel(model: string, argv: string[]): LmResult {
  if (!LM_MODELS[model]) fail('train', `unknown language model '${model}'`);
  const cmd = `train ${model}`;
  const { values: v } = parse(cmd, argv, flagsOf(model));
  const minFreq = num('train', 'min-freq', v['min-freq'], { integer: true, min: 1 });
  const seed = num('train', 'seed', v.seed, { integer: true });
  const limit =
    v.limit === undefined ? undefined : num('train', 'limit', v.limit, { integer: true, min: 100 });
  const data = corpus(minFreq, limit);
  const base = {
    model,
    dataset: 'moby-dick' as const,
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
    const lm = KneserNeyTrigram.fit(data.train, data.vocab.size, data.vocab.id(EOS));
    const seconds = (performance.now() - t0) / 1000;
    const test = lm.perplexity(data.test, data.vocab.id(EOS));
    return {
      ...base,
      test_perplexity: test,
      valid_perplexity: lm.perplexity(data.valid, data.vocab.id(EOS)),
      test_loss: Math.log(test),
      epochs: 1,
      train_seconds: seconds,
      tokens_per_second: data.train.length / seconds,
      parameters: lm.sizes.trigrams + lm.sizes.bigrams + lm.sizes.unigrams,
      discounts: lm.discounts,
      ngrams: lm.sizes,
    };
  }
  const cell = String(v.cell);
  if (!['lstm', 'gru', 'rnn'].includes(cell))
    fail('train', `unknown --cell '${cell}': expected lstm, gru, rnn`);
  const optimizerName = String(v.optimizer);
  if (!['sgd', 'adam'].includes(optimizerName))
    fail('train', `unknown --optimizer '${optimizerName}': expected sgd, adam`);
  const epochs = num('train', 'epochs', v.epochs, { integer: true, min: 1 });
  const batchSize = num('train', 'batch-size', v['batch-size'], { integer: true, min: 1 });
  const bptt = num('train', 'bptt', v.bptt, { integer: true, min: 1 });
  const lr =
    v.lr === undefined ? (optimizerName === 'sgd' ? 20 : 0.002) : num('train', 'lr', v.lr, { min: 0 });
  const clip = num('train', 'clip', v.clip, { min: 0 });
  const hidden = num('train', 'hidden', v.hidden, { integer: true, min: 1 });
  const embed = v.embed === undefined ? hidden : num('train', 'embed', v.embed, { integer: true, min: 1 });
  const layers = num('train', 'layers', v.layers, { integer: true, min: 1 });
  const dropout = num('train', 'dropout', v.dropout, { min: 0 });
  if (dropout >= 1) fail('train', `--dropout must be below 1, got ${dropout}`);
  const tie = v['no-tie'] !== true && embed === hidden;

  manualSeed(seed);
  const generator = new Generator(seed + 1);
  const net = new RnnLanguageModel(data.vocab.size, {
    cell: cell as RnnCell,
    hidden,
    embed,
    layers,
    dropout,
    tie,
  });
  const optimizer: Optimizer<{ lr: number }> =
    optimizerName === 'sgd' ? new SGD(net.parameters(), { lr }) : new Adam(net.parameters(), { lr });
  const config = {
    model,
    cell,
    minFreq,
    optimizer: optimizerName,
    batchSize,
    bptt,
    lr,
    clip,
    hidden,
    embed,
    layers,
    dropout,
    tie,
    seed,
    limit: limit ?? null,
  };
  const out = typeof v.out === 'string' ? v.out : `runs/${model}`;
  const result = fitLanguageModel(net as unknown as LanguageModel, optimizer, {
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
  // Test perplexity with one stream per 10 batch rows' worth of text would cut more contexts short;
  // the test text is read as `batchSize` streams like validation.
  const test = perplexity(net as unknown as LanguageModel, data.test, batchSize, bptt);
  const best = result.history.find((r) => r.epoch === result.bestEpoch);
  return {
    ...base,
    test_perplexity: test,
    valid_perplexity: best?.valPerplexity ?? Number.NaN,
    test_loss: Math.log(test),
    epochs,
    best_epoch: result.bestEpoch,
    train_seconds: result.trainSeconds,
    tokens_per_second: result.tokensPerSecond,
    samples_per_second: result.tokensPerSecond,
    parameters: net.numParameters(),
    cell,
    optimizer: optimizerName,
    lr,
    batch_size: batchSize,
    bptt,
    clip,
    hidden,
    embed,
    layers,
    dropout,
    tie,
    resumed_from: result.resumedFrom,
    history: result.history,
  };
}
