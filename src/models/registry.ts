import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type AlgorithmicTask, taskSizes } from '../data/algorithmic.js';
import { EOS, Vocab } from '../data/text.js';
import { describe, fail } from '../errors.js';
import {
  BEST_FILE,
  CHECKPOINT_FILE,
  type Checkpoint,
  loadCheckpoint,
  loadWeights,
} from '../io/checkpoint.js';
import type { AnyModule } from '../nn/module.js';
import type { Generator } from '../tensor/random.js';
import type { LanguageModel } from '../train/lm.js';
import { lenet } from './lenet.js';
import { MemN2N, type MemoryTying, type SentenceEncoding } from './memn2n.js';
import { mlp } from './mlp.js';
import { NeuralProbabilisticLM } from './nplm.js';
import { NTM, type NtmController, SequenceLSTM } from './ntm.js';
import { RBM, type VisibleUnits } from './rbm.js';
import { type DigitAttention, DigitReader } from './read-digits.js';
import { resnetMnist } from './resnet.js';
import { type RnnCell, RnnLanguageModel } from './rnnlm.js';
import { Seq2Seq, type Seq2SeqAttention, type Seq2SeqCell, type TranslationModel } from './seq2seq.js';
import { TranslationTransformer } from './translation-transformer.js';
import { VAE } from './vae.js';

/** A run's config as a checkpoint stores it: `model` names the registered builder; the rest shapes it and the run. */
export type ModelConfig = { model: string } & Record<string, unknown>;

/** What a config key must be, for the message that lists what is wrong. */
/** The kind of value a config setting holds. */
/** A config value's kind: 'integer' is a positive one, 'count' one that may also be 0. */
export type SettingKind = 'number' | 'integer' | 'count' | 'boolean' | 'string';

/** How one registered model is rebuilt. */
export interface ModelEntry {
  summary: string;
  /**
   * What its input is: images (flat rows or [N, 1, 28, 28]), token ids, sentence pairs (translation), or
   * strips of digits to read (src/data/digit-strips.ts), bAbI stories with questions (src/data/babi.ts),
   * the binary sequences of the algorithmic tasks (src/data/algorithmic.ts), or images without their
   * labels, as flat rows (the unsupervised models).
   */
  input: 'flat' | 'image' | 'tokens' | 'pairs' | 'strips' | 'stories' | 'sequences' | 'unlabelled';
  /** The config keys that shape the model, each with its kind. */
  shape: Record<string, SettingKind>;
  /**
   * Builds a fresh model; `vocab` for language models, `vocabs` (English and French) for translation
   * models, `generator` for their dropout.
   */
  build(
    config: ModelConfig,
    o: { vocab: Vocab | null; vocabs?: TranslationVocabs; generator?: Generator },
  ): AnyModule;
}

/** A translation model's two vocabularies: the English source's and the French target's. */
export interface TranslationVocabs {
  source: Vocab;
  target: Vocab;
}

const num = (c: ModelConfig, k: string) => c[k] as number;

const LM_SHAPE = { hidden: 'integer', embed: 'integer', dropout: 'number', level: 'string' } as const;
const PAIRS_SHAPE = { dropout: 'number', maxLength: 'integer', minFreq: 'integer' } as const;

/** The vocabularies a translation model is built over; loadModel reads them from the checkpoint. */
function vocabsOf(vocabs: TranslationVocabs | undefined, model: string): TranslationVocabs {
  if (!vocabs)
    fail('loadModel', `${model} needs its English and French vocabularies ({ vocabs: { source, target } })`);
  return vocabs;
}

/**
 * Every model `strata train` makes, by name.
 *
 *     MODELS.lenet!.summary // → 'LeNet-5 (LeCun et al. 1998) with ReLU and max-pooling'
 *     MODELS.lenet!.build({ model: 'lenet' }, { vocab: null }).numParameters() // → 61706
 */
export const MODELS: Record<string, ModelEntry> = {
  mlp: {
    summary: 'a 784-512-256-10 ReLU MLP',
    input: 'flat',
    shape: { dropout: 'number' },
    build: (c, { generator }) => mlp([784, 512, 256, 10], { dropout: num(c, 'dropout'), generator }),
  },
  lenet: {
    summary: 'LeNet-5 (LeCun et al. 1998) with ReLU and max-pooling',
    input: 'image',
    shape: {},
    build: () => lenet(),
  },
  'resnet-mnist': {
    summary: 'a small residual network (He et al. 2016) for 28×28 images',
    input: 'image',
    // One residual block per stage keeps an epoch within minutes on two cores.
    shape: {},
    build: () => resnetMnist({ blocksPerStage: 1 }),
  },
  nplm: {
    summary: "Bengio et al.'s neural probabilistic language model (word features, a tanh layer, a softmax)",
    input: 'tokens',
    shape: { ...LM_SHAPE, order: 'integer', direct: 'boolean' },
    build: (c, { vocab, generator }) =>
      new NeuralProbabilisticLM(vocab!.size, {
        order: num(c, 'order'),
        embed: num(c, 'embed'),
        hidden: num(c, 'hidden'),
        direct: c.direct === true,
        dropout: num(c, 'dropout'),
        startId: vocab!.has(EOS) ? vocab!.id(EOS) : 0,
        generator,
      }),
  },
  rnnlm: {
    summary: 'a recurrent (LSTM, GRU or tanh RNN) word-level language model',
    input: 'tokens',
    shape: { ...LM_SHAPE, cell: 'string', layers: 'integer', tie: 'boolean' },
    build: (c, { vocab, generator }) => rnnLm(c, vocab!, generator),
  },
  'char-rnn': {
    summary: 'a character-level LSTM language model',
    input: 'tokens',
    shape: { ...LM_SHAPE, cell: 'string', layers: 'integer', tie: 'boolean' },
    build: (c, { vocab, generator }) => rnnLm(c, vocab!, generator),
  },
  seq2seq: {
    summary: 'a recurrent encoder–decoder (GRU or LSTM, bidirectional encoder) with optional attention',
    input: 'pairs',
    shape: {
      ...PAIRS_SHAPE,
      ...{ cell: 'string', attention: 'string', hidden: 'integer', embed: 'integer', layers: 'integer' },
      bidirectional: 'boolean',
    },
    build: (c, { vocabs, generator }) => {
      const { source, target } = vocabsOf(vocabs, 'seq2seq');
      return new Seq2Seq(source.size, target.size, {
        cell: c.cell as Seq2SeqCell,
        attention: c.attention as Seq2SeqAttention,
        ...{ hidden: num(c, 'hidden'), embed: num(c, 'embed'), layers: num(c, 'layers') },
        ...{
          dropout: num(c, 'dropout'),
          bidirectional: c.bidirectional === true,
          maxLength: num(c, 'maxLength'),
        },
        generator,
      });
    },
  },
  transformer: {
    summary: 'a Transformer encoder–decoder (Vaswani et al. 2017) for translation',
    input: 'pairs',
    shape: { ...PAIRS_SHAPE, dModel: 'integer', heads: 'integer', ff: 'integer', layers: 'integer' },
    build: (c, { vocabs, generator }) => {
      const { source, target } = vocabsOf(vocabs, 'transformer');
      return new TranslationTransformer(source.size, target.size, {
        ...{ dModel: num(c, 'dModel'), heads: num(c, 'heads'), ff: num(c, 'ff'), layers: num(c, 'layers') },
        ...{ dropout: num(c, 'dropout'), maxLength: num(c, 'maxLength') },
        generator,
      });
    },
  },
  'read-digits': {
    summary:
      'a ConvNet encoder and a GRU decoder reading strips of MNIST digits, with soft attention or none',
    input: 'strips',
    shape: {
      ...{ attention: 'string', hidden: 'integer', embed: 'integer' },
      ...{ height: 'integer', width: 'integer', maxDigits: 'integer' },
    },
    build: (c) => {
      if (c.attention !== 'soft' && c.attention !== 'none')
        fail('loadModel', `read-digits: attention must be soft or none, got ${describe(c.attention)}`);
      return new DigitReader({
        attention: c.attention as DigitAttention,
        ...{ hidden: num(c, 'hidden'), embed: num(c, 'embed') },
        ...{ height: num(c, 'height'), width: num(c, 'width'), maxDigits: num(c, 'maxDigits') },
      });
    },
  },
  memn2n: {
    summary: 'an end-to-end memory network (Sukhbaatar et al. 2015) answering bAbI questions',
    input: 'stories',
    shape: {
      ...{ hops: 'integer', tying: 'string', encoding: 'string', temporal: 'boolean' },
      ...{ memorySize: 'integer', embed: 'integer', vocabSize: 'integer' },
    },
    build: (c, { generator }) =>
      new MemN2N({
        ...{ vocabSize: num(c, 'vocabSize'), hops: num(c, 'hops'), tying: c.tying as MemoryTying },
        ...{ encoding: c.encoding as SentenceEncoding, temporal: c.temporal === true },
        ...{ memorySize: num(c, 'memorySize'), embed: num(c, 'embed'), generator },
      }),
  },
  rbm: {
    summary: 'a restricted Boltzmann machine (binary or Gaussian visible units)',
    input: 'unlabelled',
    shape: { hidden: 'integer', visibleUnits: 'string', persistentChains: 'count' },
    build: (c, { generator }) => {
      if (c.visibleUnits !== 'binary' && c.visibleUnits !== 'gaussian')
        fail('loadModel', `rbm: visibleUnits must be binary or gaussian, got ${describe(c.visibleUnits)}`);
      return new RBM({
        ...{ visible: 784, hidden: num(c, 'hidden'), visibleUnits: c.visibleUnits as VisibleUnits },
        ...{ persistentChains: num(c, 'persistentChains'), generator },
      });
    },
  },
  vae: {
    summary: 'a variational autoencoder (Kingma & Welling 2014) with MLP encoder and decoder',
    input: 'unlabelled',
    shape: { hidden: 'integer', layers: 'integer', latent: 'integer' },
    build: (c) =>
      new VAE({
        hidden: Array.from({ length: num(c, 'layers') }, () => num(c, 'hidden')),
        latent: num(c, 'latent'),
      }),
  },
  ntm: {
    summary: 'a neural Turing machine (Graves et al. 2014) on copy, associative recall or priority sort',
    input: 'sequences',
    shape: {
      ...{ task: 'string', controller: 'string', hidden: 'integer', layers: 'integer' },
      ...{ memoryRows: 'integer', memoryWidth: 'integer', readHeads: 'integer', writeHeads: 'integer' },
    },
    build: (c, { generator }) => {
      if (!['copy', 'recall', 'sort'].includes(c.task as string))
        fail('loadModel', `ntm: task must be copy, recall or sort, got ${describe(c.task)}`);
      if (!['lstm', 'feedforward', 'lstm-only'].includes(c.controller as string))
        fail(
          'loadModel',
          `ntm: controller must be lstm, feedforward or lstm-only, got ${describe(c.controller)}`,
        );
      const sizes = taskSizes(c.task as AlgorithmicTask);
      if (c.controller === 'lstm-only')
        return new SequenceLSTM({ ...sizes, hidden: num(c, 'hidden'), layers: num(c, 'layers') });
      return new NTM({
        ...{ ...sizes, controller: c.controller as NtmController, hidden: num(c, 'hidden') },
        ...{ memoryRows: num(c, 'memoryRows'), memoryWidth: num(c, 'memoryWidth') },
        ...{ readHeads: num(c, 'readHeads'), writeHeads: num(c, 'writeHeads'), generator },
      });
    },
  },
};

function rnnLm(c: ModelConfig, vocab: Vocab, generator?: Generator): RnnLanguageModel {
  if (!['lstm', 'gru', 'rnn'].includes(c.cell as string))
    fail('loadModel', `cell must be lstm, gru or rnn, got ${describe(c.cell)}`);
  return new RnnLanguageModel(vocab.size, {
    cell: c.cell as RnnCell,
    hidden: num(c, 'hidden'),
    embed: num(c, 'embed'),
    layers: num(c, 'layers'),
    dropout: num(c, 'dropout'),
    tie: c.tie === true,
    generator,
  });
}

/**
 * Adds a model to the registry, so that loadModel (and `strata generate|viz`) can rebuild it.
 *
 *     registerModel('tiny', { summary: 'a 784-10 softmax', input: 'flat', shape: {}, build: () => mlp([784, 10]) });
 *     const net = MODELS.tiny!.build({ model: 'tiny' }, { vocab: null });
 *     const rng = generator.getState();
 *     const optimizer = new optim.SGD(net.parameters(), { lr: 0.1 });
 *     saveCheckpoint('tiny.safetensors', { model: net.stateDict(), optimizer, rng, progress: {}, config: { model: 'tiny' } });
 *     loadModel('tiny.safetensors').entry.summary // → 'a 784-10 softmax'
 */
export function registerModel(name: string, entry: ModelEntry): void {
  if (Object.hasOwn(MODELS, name)) fail('registerModel', `a model named '${name}' is already registered`);
  MODELS[name] = entry;
}

/**
 * What is wrong with a config for its model, each problem in a list (empty: it is good).
 *
 *     configProblems({ model: 'mlp', dropout: 0.5 }) // → []
 *     configProblems({ model: 'mlp' }) // → ["'dropout' is undefined, not a number"]
 */
export function configProblems(config: unknown): string[] {
  if (typeof config !== 'object' || config === null || Array.isArray(config))
    return [`the run config is ${describe(config)}, not an object`];
  const c = config as Record<string, unknown>;
  const entry = typeof c.model === 'string' && Object.hasOwn(MODELS, c.model) ? MODELS[c.model] : undefined;
  if (!entry)
    return [
      `'model' is ${describe(c.model)}, not one of the registered models (${Object.keys(MODELS).join(', ')})`,
    ];
  const ok: Record<SettingKind, (v: unknown) => boolean> = {
    number: (v) => typeof v === 'number' && Number.isFinite(v),
    integer: (v) => Number.isSafeInteger(v) && (v as number) > 0,
    count: (v) => Number.isSafeInteger(v) && (v as number) >= 0,
    boolean: (v) => typeof v === 'boolean',
    string: (v) => typeof v === 'string',
  };
  return Object.entries(entry.shape).flatMap(([k, kind]) =>
    ok[kind](c[k])
      ? []
      : [
          `'${k}' is ${describe(c[k])}, not ${kind === 'integer' ? 'a positive integer' : kind === 'count' ? 'an integer ≥ 0' : `a ${kind}`}`,
        ],
  );
}

/** The vocabulary a language model's checkpoint keeps in `extra.vocab`, checked. */
function vocabOf(ckpt: Checkpoint, path: string, op: string): Vocab {
  const extra = ckpt.extra as { vocab?: { itos?: unknown } } | undefined;
  const itos = extra?.vocab?.itos;
  if (!Array.isArray(itos) || itos.length === 0 || !itos.every((w) => typeof w === 'string'))
    fail(op, `'${path}' holds a language model but no vocabulary (extra.vocab.itos)`);
  return Vocab.fromJSON(extra!.vocab as { itos: string[] });
}

/** The English and French vocabularies a translation model's checkpoint keeps in `extra.vocabs`, checked. */
function vocabsFromCheckpoint(ckpt: Checkpoint, path: string, op: string): TranslationVocabs {
  const vocabs = (ckpt.extra as { vocabs?: Record<string, { itos?: unknown }> } | undefined)?.vocabs;
  const side = (k: 'source' | 'target') => {
    const itos = vocabs?.[k]?.itos;
    if (!Array.isArray(itos) || itos.length === 0 || !itos.every((w) => typeof w === 'string'))
      fail(op, `'${path}' holds a translation model but no ${k} vocabulary (extra.vocabs.${k}.itos)`);
    return Vocab.fromJSON(vocabs![k] as { itos: string[] });
  };
  return { source: side('source'), target: side('target') };
}

/** A model rebuilt from a checkpoint, with what it was made from. */
export interface LoadedModel {
  model: AnyModule;
  config: ModelConfig;
  entry: ModelEntry;
  /** A language model's vocabulary; null for the others. */
  vocab: Vocab | null;
  /** A translation model's vocabularies; null for the others. */
  vocabs: TranslationVocabs | null;
}

/** The checkpoint a path names: the file itself, or the checkpoint in a run folder. */
export function checkpointPath(path: string): string {
  return existsSync(path) && statSync(path).isDirectory() ? join(path, CHECKPOINT_FILE) : path;
}

/**
 * Rebuilds the model a checkpoint of any registered model holds (or the run folder holding it), from its
 * stored config, and loads its weights — the best epoch's (`best.safetensors` beside it) when there
 * are any — in eval mode. `op` names the command in errors.
 *
 *     const { model, config, vocab } = loadModel('runs/rnnlm'); // a run of strata train rnnlm
 *     config.model // → 'rnnlm'
 *     const drawn = sampleTokens(model as LanguageModel, vocab!.encode(['call', 'me']), { length: 8, generator });
 *     data.detokenize(vocab!.decode(drawn)) // eight words of Moby-Dick's vocabulary
 */
export function loadModel(run: string, op = 'loadModel'): LoadedModel {
  const path = checkpointPath(run);
  const ckpt = loadCheckpoint(path);
  const problems = configProblems(ckpt.config);
  if (problems.length > 0)
    fail(op, `'${path}' cannot be rebuilt from its run config: ${problems.join('; ')}`);
  const config = ckpt.config as ModelConfig;
  const entry = MODELS[config.model]!;
  const vocab = entry.input === 'tokens' ? vocabOf(ckpt, path, op) : null;
  const vocabs = entry.input === 'pairs' ? vocabsFromCheckpoint(ckpt, path, op) : null;
  const model = entry.build(config, { vocab, vocabs: vocabs ?? undefined });
  const best = join(dirname(path), BEST_FILE);
  model.loadStateDict(existsSync(best) ? loadWeights(best) : ckpt.model);
  model.eval();
  return { model, config, entry, vocab, vocabs };
}

/**
 * A trained language model, its vocabulary and its token level, from a run of `train nplm|rnnlm|char-rnn`.
 *
 *     const { model, vocab } = loadLanguageModel('runs/rnnlm');
 */
export function loadLanguageModel(
  path: string,
  op = 'loadLanguageModel',
): { model: LanguageModel; vocab: Vocab; level: 'word' | 'char'; config: ModelConfig } {
  const { model, config, vocab } = loadModel(path, op);
  if (vocab === null)
    fail(op, `'${path}' holds ${config.model}, not a language model of strata train nplm, rnnlm or char-rnn`);
  return { model: model as LanguageModel, vocab, level: config.level === 'char' ? 'char' : 'word', config };
}

/**
 * A trained translation model and its English and French vocabularies, from a run of `train seq2seq|transformer`.
 *
 *     const { model, vocabs } = loadTranslationModel('runs/seq2seq');
 */
export function loadTranslationModel(
  path: string,
  op = 'loadTranslationModel',
): { model: TranslationModel; vocabs: TranslationVocabs; config: ModelConfig } {
  const { model, config, vocabs } = loadModel(path, op);
  if (vocabs === null)
    fail(
      op,
      `'${path}' holds ${config.model}, not a translation model of strata train seq2seq or transformer`,
    );
  return { model: model as unknown as TranslationModel, vocabs, config };
}
