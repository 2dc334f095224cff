import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { autocast } from '../autograd/mode.js';
import { fail } from '../errors.js';
import { BEST_FILE, CHECKPOINT_FILE } from '../io/checkpoint.js';
import { countNgrams, type RunSettings, type TrainReport, trainModel } from '../models/recipes.js';
import { MODELS } from '../models/registry.js';
import { type Flags, helpText, num, outputDir, parse } from './args.js';

/** Each trainable model's defaults: the flags' default values and its own flags. */
interface Defaults {
  epochs: number;
  batchSize: number;
  optimizer: string;
  schedule: string;
  dropout: number;
  clip: number;
  /** The learning rate without --lr, when not the optimizer's usual one. */
  lr?: number;
  /** The learning rate of SGD without --lr, when not 0.05 (20 for the language models). */
  sgdLr?: number;
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

const TRANSLATION: Flags = {
  layers: str('stacked layers of the encoder and of the decoder', 1),
  ...WORDS,
  'max-length': str('longest source or target in ids with <bos> and <eos>; longer pairs are left out', 32),
  'bleu-sentences': str(
    'greedy BLEU each epoch on the first N English sentences of valid.tsv (0: loss only)',
    300,
  ),
  beam: str('beam width of the test BLEU (besides greedy)', 5),
  'length-penalty': str('α: beam hypotheses ranked by log-probability / length^α', 0.6),
  'test-limit': str('score only the first N English sentences of test.tsv (default: all)'),
};
const TRANSLATION_DEFAULTS = { epochs: 10, batchSize: 64, optimizer: 'adam', schedule: 'none', clip: 1 };

const IMAGE_DEFAULTS = { schedule: 'cosine', dropout: 0, clip: 0, own: IMAGE };
const DEFAULTS: Record<string, Defaults> = {
  mlp: { ...IMAGE_DEFAULTS, epochs: 3, batchSize: 128, optimizer: 'sgd' },
  lenet: { ...IMAGE_DEFAULTS, epochs: 10, batchSize: 64, optimizer: 'adam' },
  'resnet-mnist': { ...IMAGE_DEFAULTS, epochs: 3, batchSize: 128, optimizer: 'adam' },
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
  seq2seq: {
    ...{ ...TRANSLATION_DEFAULTS, dropout: 0.2 },
    own: {
      attention: str('none | additive (Bahdanau) | dot (Luong)', 'dot'),
      cell: str('gru | lstm', 'gru'),
      hidden: str('units of the decoder and of each encoder direction', 256),
      embed: str('word-vector size', 256),
      'no-bidirectional': bool('read the source left to right only'),
      ...TRANSLATION,
    },
  },
  transformer: {
    ...{ ...TRANSLATION_DEFAULTS, dropout: 0.1, lr: 5e-4 },
    own: {
      'd-model': str('features of every layer', 128),
      heads: str('attention heads', 4),
      ff: str('width of the feed-forward blocks', 256),
      ...TRANSLATION,
      layers: str('encoder layers, and as many decoder layers', 2),
    },
  },
  'read-digits': {
    ...{ epochs: 6, batchSize: 64, optimizer: 'adam', lr: 2e-3, schedule: 'cosine', dropout: 0, clip: 5 },
    own: {
      attention: str('soft (Xu et al.) | none (one thought vector of the strip)', 'soft'),
      hidden: str('units of the GRU decoder', 128),
      embed: str('word-vector size', 64),
      strips: str('new training strips per epoch (from the first 55,000 MNIST training images)', 30000),
      'valid-strips': str('validation strips (from the last 5,000 training images)', 1000),
      'test-strips': str('test strips (from the MNIST test images)', 10000),
      'max-digits': str('digits per strip, uniform in 1..N', 5),
    },
  },
  // Sukhbaatar et al.'s training: SGD at 0.01, batches of 32, the rate halved every quarter of the run
  // (every 25 of 100 epochs; with linear start, of the epochs after it), gradients clipped at norm 40.
  memn2n: {
    ...{ epochs: 100, batchSize: 32, optimizer: 'sgd', schedule: 'halve', dropout: 0, clip: 40, sgdLr: 0.01 },
    own: {
      task: str(
        'the bAbI task, 1-20 (not 3: it has no training file), or all (joint training; task 3 scored too)',
        1,
      ),
      hops: str('memory hops K, 1 to 3', 3),
      tying: str(
        'adjacent (A^{k+1} = C^k, B = A^1, W = C^K) | layerwise (one A, one C, a linear map H)',
        'adjacent',
      ),
      encoding: str('bow (bag of words) | position (position encoding)', 'bow'),
      'no-temporal': bool('no temporal encoding of the memory slots'),
      'linear-start': bool(
        'leave the softmax out of the attention for the first --ls-epochs epochs, at half the rate',
      ),
      'ls-epochs': str('epochs of the linear start, at the start of --epochs (default 20)'),
      'random-noise': bool('insert 10% empty memories in training (regularises the temporal encoding)'),
      memory: str('memory slots: the last N statements before each question', 50),
      embed: str('embedding width d (default: 20 for one task, 50 for all)'),
      'test-limit': str('score only the first N test questions of each task'),
    },
  },
  // Hinton's practical guide (2010): SGD at 0.1 on batches of 100, momentum 0.5 then 0.9, an L2 penalty of
  // 2e-4 on the weights; CD-1.
  rbm: {
    ...{ epochs: 20, batchSize: 100, optimizer: 'sgd', schedule: 'none', dropout: 0, clip: 0, sgdLr: 0.1 },
    own: {
      ...{ dataset: IMAGE.dataset },
      hidden: str('hidden units', 500),
      'visible-units': str(
        'binary (the images binarised once) | gaussian (standardised pixels; --lr 0.001 unless given, as Hinton advises)',
        'binary',
      ),
      'cd-k': str('Gibbs steps of contrastive divergence (CD-k)', 1),
      persistent: str('fantasy particles of persistent CD (PCD); 0: CD-k from the data', 0),
      'weight-decay': str('L2 penalty on the weights, added to the CD loss', 0.0002),
      'ais-runs': str('annealed importance sampling runs for log Z', 100),
      'ais-steps': str("AIS temperatures, in Salakhutdinov & Murray's proportions", 14500),
      'sample-steps': str('Gibbs steps of the 100 chains drawn in RUN/samples.png', 1000),
    },
  },
  // Burda et al.'s (2016) architecture and optimizer: two tanh layers of 200 each way, 50 latent
  // dimensions, Adam at 1e-3 on batches of 100.
  vae: {
    ...{ epochs: 100, batchSize: 100, optimizer: 'adam', schedule: 'none', dropout: 0, clip: 0 },
    own: {
      ...{ dataset: IMAGE.dataset },
      hidden: str('units of each hidden layer of the encoder (the decoder mirrors it)', 200),
      layers: str('hidden layers of the encoder, and of the decoder', 2),
      latent: str('latent dimensions (2: also the manifold picture)', 50),
      'test-samples': str('importance samples per test image for the log-likelihood', 5000),
      'test-limit': str('score only the first N test images'),
    },
  },
  // Adam at 1e-3 (Collier & Beel 2018's reimplementation: it learns copy in far fewer sequences than the
  // paper's RMSprop at 1e-4 with momentum 0.9, --optimizer rmsprop --lr 1e-4 --momentum 0.9); gradients
  // clipped at norm 10 (the paper clipped each component to ±10).
  ntm: {
    ...{ epochs: 10, batchSize: 16, optimizer: 'adam', schedule: 'none', dropout: 0, clip: 10 },
    own: {
      task: str('copy | recall (associative recall) | sort (priority sort)', 'copy'),
      controller: str(
        "lstm | feedforward (the NTM's controller) | lstm-only (the baseline: a stacked LSTM, no memory)",
        'lstm',
      ),
      hidden: str("controller units (default 100; lstm-only: 256 per layer, as the paper's baseline)"),
      layers: str('lstm-only: stacked LSTM layers (default 3)'),
      'memory-rows': str('memory rows N (default 128)'),
      'memory-width': str('memory row width M (default 20)'),
      'read-heads': str('read heads (default 1)'),
      'write-heads': str('write heads (default 1)'),
      sequences: str('training sequences per epoch', 1000),
      'min-length': str('copy: shortest training sequence, default 1 (recall: fewest items, default 2)'),
      'max-length': str('copy: longest training sequence, default 20 (recall: most items, default 6)'),
      'test-lengths': str('copy: the lengths the trained model is tested on (default 30,50,80,120)'),
    },
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
  const pairs = MODELS[model]!.input === 'pairs';
  const strips = MODELS[model]!.input === 'strips';
  const stories = MODELS[model]!.input === 'stories';
  const sequences = MODELS[model]!.input === 'sequences';
  return {
    epochs: str(
      sequences ? 'epochs of --sequences fresh sequences each' : 'passes over the training data',
      d.epochs,
    ),
    'batch-size': str(
      text
        ? 'parallel streams of text'
        : pairs
          ? 'sentence pairs per step'
          : strips
            ? 'strips per step'
            : stories
              ? 'questions per step'
              : sequences
                ? 'sequences per step'
                : 'examples per step',
      d.batchSize,
    ),
    lr: str(
      text
        ? 'learning rate (default: 20 for sgd, 0.002 otherwise)'
        : d.sgdLr !== undefined
          ? `learning rate (default: ${d.sgdLr} for sgd, 0.001 otherwise)`
          : d.lr !== undefined
            ? `learning rate (default: 0.05 for sgd, ${d.lr} otherwise)`
            : 'learning rate (default: 0.05 for sgd, 0.01 for adagrad, 0.001 otherwise)',
    ),
    optimizer: str('sgd | adam | adamw | rmsprop | adagrad', d.optimizer),
    momentum: str(
      `momentum of sgd and rmsprop (default: ${['image', 'flat', 'unlabelled'].includes(MODELS[model]!.input) ? '0.9 for sgd, ' : ''}0)${model === 'rbm' ? '; 0.5 for the first 5 epochs' : ''}`,
    ),
    schedule: str(
      'learning-rate schedule over the epochs: cosine | step | halve (every quarter of the run) | plateau (÷4 when validation stalls) | none',
      d.schedule,
    ),
    dropout: str(
      model === 'mlp' || text || pairs ? 'dropout probability' : 'dropout (not used by this model: 0 only)',
      d.dropout,
    ),
    clip: str('clip the global gradient norm to this (0: off)', d.clip),
    seed: str('seed for initialisation, shuffling, augmentation and dropout', 0),
    // Translation validates on the fixed valid.tsv, reading digits on its own validation strips, memn2n on
    // the last 10% of each bAbI training file, ntm on sequences drawn from the seed.
    ...(pairs || strips || stories || sequences
      ? {}
      : {
          validation: str(
            text
              ? "fraction of the training text held out for validation (0: Moby-Dick's validation chapters)"
              : 'fraction of the training set held out for validation',
            0,
          ),
        }),
    patience: str('stop after this many epochs without validation improvement'),
    out: str(`directory for checkpoints, curves and results (default: runs/${model})`),
    resume: bool('continue the run whose checkpoint is in --out'),
    force: bool('start over in an --out that already holds a run'),
    'checkpoint-every': str('also checkpoint every N steps'),
    tensorboard: str('also write TensorBoard event files into DIR (scalars, histograms, filters, config)'),
    ...(strips || sequences
      ? {}
      : {
          limit: str(
            text
              ? 'use only the first N training tokens'
              : pairs
                ? 'use only the first N training pairs'
                : stories
                  ? 'use only the first N questions of each training file'
                  : 'use only the first N training examples',
          ),
        }),
    json: bool('print the results as one JSON object on the last line of stdout'),
    backend: str('backend to run on (see strata info)'),
    precision: str(
      'float32, or bf16: products from bf16-rounded operands where the CPU has it (see strata info)',
      'float32',
    ),
    'no-progress': bool('hide the progress bar'),
    ...d.own,
  };
}

export function trainHelp(model: string): string {
  const entry = model === 'ngram' ? null : MODELS[model]!;
  const what = entry
    ? entry.input === 'tokens'
      ? `Trains ${entry.summary} on Moby-Dick (chapters ending in 0 held out for testing, in 5 for validation) and reports test perplexity.`
      : entry.input === 'pairs'
        ? `Trains ${entry.summary} on the English–French Tatoeba pairs (eng-fra/train.tsv; valid.tsv picks the best epoch) with teacher forcing,\nand reports test BLEU-4, greedy and beam, against all the French translations of each English sentence.`
        : entry.input === 'strips'
          ? `Trains ${entry.summary} on strips of 1 to 5 MNIST digits captioned by their names ("three one four"),\nand reports sequence and per-digit accuracy on test strips made from the test images only.`
          : entry.input === 'sequences'
            ? `Trains ${entry.summary} (or the LSTM baseline), on sequences drawn afresh every step,\nand reports the cost in bits and bit errors per sequence: copy at lengths 30, 50, 80 and 120, sort's exact output vectors.`
            : model === 'vae'
              ? `Trains ${entry.summary} on MNIST's (or Fashion-MNIST's) training images, binarised, by maximising the ELBO,\nand reports the test ELBO and log-likelihood per image (importance-weighted, Burda et al. 2016), with samples.`
              : entry.input === 'unlabelled'
                ? `Trains ${entry.summary} by contrastive divergence on MNIST's (or Fashion-MNIST's) training images, without their labels,\nand reports the test log-probability per image with log Z estimated by annealed importance sampling.`
                : entry.input === 'stories'
                  ? `Trains ${entry.summary} on the bAbI tasks (babi-en-10k; the last 10% of each training file, by story, validates),\nand reports the test error per task, their mean and the tasks failed (> 5%), with the first test story's attention per hop.`
                  : `Trains ${entry.summary} on MNIST (or Fashion-MNIST) with softmax cross-entropy and reports test accuracy.`
    : 'Counts an interpolated Kneser-Ney trigram model of Moby-Dick (the count-based baseline) and reports test perplexity.';
  return helpText(`strata train ${model} [options]`, what, flagsOf(model));
}

/** `strata train <model>` (a model of TRAINABLE): parses and checks the flags, then runs the model's recipe. */
export async function train(model: string, argv: string[]): Promise<TrainReport> {
  const cmd = `train ${model}`;
  const { values: v } = parse(cmd, argv, flagsOf(model));
  const n = (name: string, o: { integer?: boolean; min?: number } = {}) => num(cmd, name, v[name], o);
  const maybe = (name: string, o: { integer?: boolean; min?: number }) =>
    v[name] === undefined ? undefined : n(name, o);
  const text = model === 'ngram' || MODELS[model]!.input === 'tokens';
  const pairs = model !== 'ngram' && MODELS[model]!.input === 'pairs';
  const strips = model !== 'ngram' && MODELS[model]!.input === 'strips';
  const stories = model !== 'ngram' && MODELS[model]!.input === 'stories';
  const sequences = model !== 'ngram' && MODELS[model]!.input === 'sequences';
  const unlabelled = model !== 'ngram' && MODELS[model]!.input === 'unlabelled';
  const limit = maybe('limit', { integer: true, min: text ? 100 : 1 });
  if (model === 'ngram') return countNgrams(n('min-freq', { integer: true, min: 1 }), limit);
  const epochs = n('epochs', { integer: true, min: 1 });
  const batchSize = n('batch-size', { integer: true, min: 1 });
  const seed = n('seed', { integer: true });
  const checkpointEvery = maybe('checkpoint-every', { integer: true, min: 1 });
  const lr = maybe('lr', { min: 0 });
  const clip = n('clip', { min: 0 });
  const validation = pairs || strips || stories || sequences ? 0 : n('validation', { min: 0 });
  if (validation >= 1) fail(cmd, `--validation must be below 1, got ${validation}`);
  const patience = maybe('patience', { integer: true, min: 1 });
  if (patience !== undefined && validation === 0 && !text && !pairs && !strips && !stories && !sequences)
    fail(cmd, '--patience needs a validation set: add --validation 0.1');
  const optimizer = String(v.optimizer);
  const precision = String(v.precision);
  if (precision !== 'float32' && precision !== 'bf16')
    fail(cmd, `unknown --precision '${precision}': expected float32, bf16`);
  // A CPU without bf16 says so now, before the data is read.
  autocast(precision, () => {});
  const defaultLr =
    optimizer === 'sgd'
      ? text
        ? 20
        : (DEFAULTS[model]!.sgdLr ?? 0.05)
      : text
        ? 0.002
        : (DEFAULTS[model]!.lr ?? (optimizer === 'adagrad' ? 1e-2 : 1e-3));
  // Gaussian visible units take a rate one to two orders smaller (Hinton 2010, §13.2).
  const gaussianRbm = model === 'rbm' && v['visible-units'] === 'gaussian';
  const given = maybe('momentum', { min: 0 });
  if (given !== undefined && given >= 1) fail(cmd, `--momentum must be below 1, got ${given}`);
  if (given !== undefined && optimizer !== 'sgd' && optimizer !== 'rmsprop')
    fail(cmd, `--momentum applies to --optimizer sgd and rmsprop, not ${optimizer}`);
  const image = ['image', 'flat', 'unlabelled'].includes(MODELS[model]!.input);
  const momentum = given ?? (optimizer === 'sgd' && image ? 0.9 : 0);
  const dropout = n('dropout', { min: 0 });
  if (dropout >= 1) fail(cmd, `--dropout must be below 1, got ${dropout}`);
  // Only these models have dropout layers; for any other it would be accepted and ignored.
  if (dropout > 0 && !(model === 'mlp' || text || pairs))
    fail(
      cmd,
      `--dropout applies to the mlp, the language models and the translation models; ${model} does not take it`,
    );
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
  const own: Record<string, unknown> = {};
  let scoring: RunSettings['scoring'];
  if (sequences) {
    own.task = String(v.task);
    if (!['copy', 'recall', 'sort'].includes(own.task as string))
      fail(cmd, `unknown --task '${own.task}': expected copy, recall, sort`);
    own.controller = String(v.controller);
    if (!['lstm', 'feedforward', 'lstm-only'].includes(own.controller as string))
      fail(cmd, `unknown --controller '${own.controller}': expected lstm, feedforward, lstm-only`);
    own.hidden =
      v.hidden === undefined
        ? own.controller === 'lstm-only'
          ? 256
          : 100
        : n('hidden', { integer: true, min: 1 });
    if (v.layers !== undefined && own.controller !== 'lstm-only')
      fail(
        cmd,
        `--layers is the baseline's (--controller lstm-only); the ${own.controller} controller has one`,
      );
    own.layers = v.layers === undefined ? 3 : n('layers', { integer: true, min: 1 });
    // The memory's settings: refused for the baseline, which has no memory, rather than ignored.
    const memory = [
      ['memory-rows', 'memoryRows', 128, 2],
      ['memory-width', 'memoryWidth', 20, 1],
      ['read-heads', 'readHeads', 1, 1],
      ['write-heads', 'writeHeads', 1, 1],
    ] as const;
    for (const [flag, key, fallback, min] of memory) {
      if (v[flag] !== undefined && own.controller === 'lstm-only')
        fail(cmd, `--${flag} sets the NTM's memory; the baseline (--controller lstm-only) has none`);
      own[key] = v[flag] === undefined ? fallback : n(flag, { integer: true, min });
    }
    own.sequences = n('sequences', { integer: true, min: 1 });
    for (const flag of ['min-length', 'max-length'])
      if (own.task === 'sort' && v[flag] !== undefined)
        fail(cmd, `--${flag} applies to copy and recall; priority sort always sorts 20 vectors`);
    const recall = own.task === 'recall';
    own.minLength =
      v['min-length'] === undefined ? (recall ? 2 : 1) : n('min-length', { integer: true, min: 1 });
    own.maxLength =
      v['max-length'] === undefined ? (recall ? 6 : 20) : n('max-length', { integer: true, min: 1 });
    if (own.task === 'recall' && (own.minLength as number) < 2)
      fail(cmd, `--min-length must be at least 2 items for recall, got ${own.minLength}`);
    if ((own.maxLength as number) < (own.minLength as number))
      fail(cmd, `--max-length ${own.maxLength} is below --min-length ${own.minLength}`);
    if (own.task !== 'copy' && v['test-lengths'] !== undefined)
      fail(cmd, `--test-lengths applies to copy; ${own.task} is tested on sequences like its training ones`);
    const lengths = String(v['test-lengths'] ?? '30,50,80,120').split(',');
    own.testLengths = lengths.map((l) => Number(l));
    if (!(own.testLengths as number[]).every((l) => Number.isInteger(l) && l >= 1))
      fail(cmd, `--test-lengths must be positive integers separated by commas, got '${v['test-lengths']}'`);
  } else if (stories) {
    own.task = String(v.task);
    if (!(own.task === 'all' || /^([1-9]|1[0-9]|20)$/.test(own.task as string)))
      fail(cmd, `unknown --task '${own.task}': expected a bAbI task 1 to 20, or all`);
    if (own.task === '3')
      fail(
        cmd,
        '--task 3 has no training file in babi-en-10k: it is scored by a model trained on the others, --task all',
      );
    own.hops = n('hops', { integer: true, min: 1 });
    if ((own.hops as number) > 3) fail(cmd, `--hops must be 1, 2 or 3, got ${own.hops}`);
    own.tying = String(v.tying);
    if (!['adjacent', 'layerwise'].includes(own.tying as string))
      fail(cmd, `unknown --tying '${own.tying}': expected adjacent, layerwise`);
    own.encoding = String(v.encoding);
    if (!['bow', 'position'].includes(own.encoding as string))
      fail(cmd, `unknown --encoding '${own.encoding}': expected bow, position`);
    own.temporal = v['no-temporal'] !== true;
    own.linearStart = v['linear-start'] === true;
    if (!own.linearStart && v['ls-epochs'] !== undefined)
      fail(cmd, '--ls-epochs is the length of the linear start: add --linear-start');
    own.linearStartEpochs = !own.linearStart
      ? 0
      : v['ls-epochs'] === undefined
        ? 20
        : n('ls-epochs', { integer: true, min: 1 });
    if ((own.linearStartEpochs as number) >= epochs)
      fail(cmd, `--ls-epochs (${own.linearStartEpochs}) must be fewer than --epochs (${epochs})`);
    if (own.linearStart === true && String(v.schedule) === 'plateau')
      fail(
        cmd,
        '--linear-start takes a schedule over the epochs after it: --schedule halve, step, cosine or none',
      );
    own.randomNoise = v['random-noise'] === true;
    own.memorySize = n('memory', { integer: true, min: 1 });
    own.embed =
      v.embed === undefined ? (own.task === 'all' ? 50 : 20) : n('embed', { integer: true, min: 1 });
    own.testLimit = maybe('test-limit', { integer: true, min: 1 }) ?? null;
  } else if (strips) {
    own.attention = String(v.attention);
    if (!['soft', 'none'].includes(own.attention as string))
      fail(cmd, `unknown --attention '${own.attention}': expected soft, none`);
    own.hidden = n('hidden', { integer: true, min: 2 });
    own.embed = n('embed', { integer: true, min: 1 });
    Object.assign(own, { height: 32, width: 128 });
    own.maxDigits = n('max-digits', { integer: true, min: 1 });
    own.strips = n('strips', { integer: true, min: 1 });
    own.validStrips = n('valid-strips', { integer: true, min: 1 });
    own.testStrips = n('test-strips', { integer: true, min: 1 });
  } else if (pairs) {
    own.minFreq = n('min-freq', { integer: true, min: 1 });
    own.maxLength = n('max-length', { integer: true, min: 3 });
    own.bleuSentences = n('bleu-sentences', { integer: true, min: 0 });
    own.layers = n('layers', { integer: true, min: 1 });
    scoring = {
      beam: n('beam', { integer: true, min: 1 }),
      lengthPenalty: n('length-penalty', { min: 0 }),
      testLimit: maybe('test-limit', { integer: true, min: 1 }),
    };
    if (model === 'seq2seq') {
      own.cell = String(v.cell);
      if (!['gru', 'lstm'].includes(own.cell as string))
        fail(cmd, `unknown --cell '${own.cell}': expected gru, lstm`);
      own.attention = String(v.attention);
      if (!['none', 'additive', 'dot'].includes(own.attention as string))
        fail(cmd, `unknown --attention '${own.attention}': expected none, additive, dot`);
      own.hidden = n('hidden', { integer: true, min: 1 });
      own.embed = n('embed', { integer: true, min: 1 });
      own.bidirectional = v['no-bidirectional'] !== true;
    } else {
      own.dModel = n('d-model', { integer: true, min: 1 });
      own.heads = n('heads', { integer: true, min: 1 });
      own.ff = n('ff', { integer: true, min: 1 });
      if ((own.dModel as number) % (own.heads as number) !== 0)
        fail(cmd, `--d-model ${own.dModel} must be divisible by --heads ${own.heads}`);
    }
  } else if (unlabelled) {
    own.dataset = String(v.dataset);
    if (!['mnist', 'fashion-mnist'].includes(own.dataset as string))
      fail(cmd, `unknown dataset '${own.dataset}': expected mnist, fashion-mnist`);
    own.hidden = n('hidden', { integer: true, min: 1 });
    if (model === 'vae') {
      own.layers = n('layers', { integer: true, min: 1 });
      own.latent = n('latent', { integer: true, min: 1 });
      own.testSamples = n('test-samples', { integer: true, min: 1 });
      own.testLimit = maybe('test-limit', { integer: true, min: 1 }) ?? null;
    } else {
      own.visibleUnits = String(v['visible-units']);
      if (!['binary', 'gaussian'].includes(own.visibleUnits as string))
        fail(cmd, `unknown --visible-units '${own.visibleUnits}': expected binary, gaussian`);
      own.cdK = n('cd-k', { integer: true, min: 1 });
      own.persistentChains = n('persistent', { integer: true, min: 0 });
      own.weightDecay = n('weight-decay', { min: 0 });
      own.aisRuns = n('ais-runs', { integer: true, min: 2 });
      own.aisSteps = n('ais-steps', { integer: true, min: 3 });
      own.sampleSteps = n('sample-steps', { integer: true, min: 1 });
    }
  } else if (!text) {
    own.dataset = String(v.dataset);
    if (!['mnist', 'fashion-mnist'].includes(own.dataset as string))
      fail(cmd, `unknown dataset '${own.dataset}': expected mnist, fashion-mnist`);
    own.augment = v.augment === true;
  } else {
    own.level = model === 'char-rnn' ? 'char' : 'word';
    own.minFreq = own.level === 'word' ? n('min-freq', { integer: true, min: 1 }) : 1;
    own.hidden = n('hidden', { integer: true, min: 1 });
    own.bptt = n('bptt', { integer: true, min: 1 });
    own.embed = v.embed === undefined ? own.hidden : n('embed', { integer: true, min: 1 });
    if (model === 'nplm')
      Object.assign(own, { order: n('order', { integer: true, min: 2 }), direct: v.direct === true });
    else {
      own.cell = String(v.cell);
      if (!['lstm', 'gru', 'rnn'].includes(own.cell as string))
        fail(cmd, `unknown --cell '${own.cell}': expected lstm, gru, rnn`);
      own.layers = n('layers', { integer: true, min: 1 });
      own.tie = model === 'rnnlm' && v['no-tie'] !== true && own.embed === own.hidden;
    }
  }
  return trainModel({
    model,
    epochs,
    batchSize,
    seed,
    validation,
    patience,
    limit,
    checkpointEvery,
    optimizer,
    lr: lr ?? (gaussianRbm && optimizer === 'sgd' ? 0.001 : defaultLr),
    momentum,
    schedule: String(v.schedule),
    clip,
    dropout,
    out,
    resume: v.resume === true,
    progress: v['no-progress'] !== true,
    precision,
    tensorboard: v.tensorboard === undefined ? undefined : String(v.tensorboard),
    own,
    scoring,
  });
}
