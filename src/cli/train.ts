import { basename, resolve } from 'node:path';
import { getBackend } from '../backend/registry.js';
import { AugmentedDataLoader } from '../data/augment.js';
import { TensorDataset } from '../data/dataset.js';
import { loadFashionMnist } from '../data/fashion-mnist.js';
import { DataLoader } from '../data/loader.js';
import { loadMnist, type Mnist } from '../data/mnist.js';
import { compose, elasticDistortion, randomAffine } from '../data/transforms.js';
import { fail } from '../errors.js';
import { lenet } from '../models/lenet.js';
import { mlp } from '../models/mlp.js';
import { resnetMnist } from '../models/resnet.js';
import { crossEntropy } from '../nn/losses.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { Adagrad, Adam, AdamW, RMSprop, SGD } from '../optim/optimizers.js';
import { CosineAnnealingLR, type LRScheduler, StepLR } from '../optim/schedules.js';
import { tensor } from '../tensor/creation.js';
import { Generator, manualSeed } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { BEST_FILE, CHECKPOINT_FILE, fit } from '../train/fit.js';
import { evaluate } from '../train/metrics.js';
import { saveTrainingCurves } from '../viz/plot.js';
import { type Flags, helpText, num, outputDir, parse } from './args.js';

/** What `strata train <model>` needs to know about a model: how to build it and how it trains by default. */
interface ModelSpec {
  summary: string;
  /** `generator` is the run's checkpointed one, for anything random inside the model (dropout). */
  build: (o: { dropout: number; generator?: Generator }) => Module;
  /** Images as rows of 784 (an MLP) or as [N, 1, 28, 28] planes (a ConvNet). */
  input: 'flat' | 'image';
  defaults: { epochs: number; batchSize: number; optimizer: string };
}

export const MODELS: Record<string, ModelSpec> = {
  mlp: {
    summary: 'a 784-512-256-10 ReLU MLP',
    build: ({ dropout, generator }) => mlp([784, 512, 256, 10], { dropout, generator }),
    input: 'flat',
    defaults: { epochs: 3, batchSize: 128, optimizer: 'sgd' },
  },
  lenet: {
    summary: 'LeNet-5 (LeCun et al. 1998) with ReLU and max-pooling',
    build: () => lenet(),
    input: 'image',
    defaults: { epochs: 10, batchSize: 64, optimizer: 'adam' },
  },
  'resnet-mnist': {
    summary: 'a small residual network (He et al. 2016) for 28×28 images',
    // One residual block per stage keeps an epoch within minutes on two cores.
    build: () => resnetMnist({ blocksPerStage: 1 }),
    input: 'image',
    defaults: { epochs: 3, batchSize: 128, optimizer: 'adam' },
  },
};

const OPTIMIZERS = ['sgd', 'adam', 'adamw', 'rmsprop', 'adagrad'];
/** What saveTrainingCurves writes into the output directory. */
const CURVE_FILES = ['curves.svg', 'curves.png'];
const SCHEDULES = ['cosine', 'step', 'none'];
const DATASETS = ['mnist', 'fashion-mnist'];

function trainFlags(d: ModelSpec['defaults']): Flags {
  return {
    epochs: { type: 'string', help: 'passes over the training set', default: String(d.epochs) },
    'batch-size': { type: 'string', help: 'examples per step', default: String(d.batchSize) },
    lr: { type: 'string', help: 'learning rate (default: 0.05 for sgd, 0.01 for adagrad, 0.001 otherwise)' },
    optimizer: {
      type: 'string',
      help: 'sgd (momentum 0.9) | adam | adamw | rmsprop | adagrad',
      default: d.optimizer,
    },
    schedule: {
      type: 'string',
      help: 'learning-rate schedule over the epochs: cosine | step | none',
      default: 'cosine',
    },
    dataset: { type: 'string', help: 'mnist | fashion-mnist', default: 'mnist' },
    augment: { type: 'boolean', help: 'deform training images: small affine moves and elastic distortions' },
    dropout: { type: 'string', help: 'mlp: dropout probability after each hidden layer', default: '0' },
    seed: { type: 'string', help: 'seed for initialisation, shuffling and augmentation', default: '0' },
    out: { type: 'string', help: 'directory for checkpoints and results (default: runs/<model>)' },
    resume: { type: 'boolean', help: 'continue the run whose checkpoint is in --out' },
    json: { type: 'boolean', help: 'print the results as one JSON object on the last line of stdout' },
    backend: { type: 'string', help: 'backend to run on (see strata info)' },
    validation: {
      type: 'string',
      help: 'fraction of the training set held out for validation',
      default: '0',
    },
    patience: {
      type: 'string',
      help: 'stop after this many epochs without validation improvement (needs --validation)',
    },
    'checkpoint-every': { type: 'string', help: 'also checkpoint every N steps' },
    limit: { type: 'string', help: 'use only the first N training examples' },
    'no-progress': { type: 'boolean', help: 'hide the progress bar' },
  };
}

export function trainHelp(model: string): string {
  const spec = MODELS[model]!;
  return helpText(
    `strata train ${model} [options]`,
    `Trains ${spec.summary} on MNIST (or Fashion-MNIST) with softmax cross-entropy and reports test accuracy.`,
    trainFlags(spec.defaults),
  );
}

export interface TrainResult {
  model: string;
  dataset: string;
  epochs: number;
  test_accuracy: number;
  test_loss: number;
  train_seconds: number;
  samples_per_second: number;
  backend: string;
  seed: number;
  batch_size: number;
  optimizer: string;
  lr: number;
  schedule: string;
  augment: boolean;
  dropout: number;
  parameters: number;
  train_samples: number;
  stopped_early: boolean;
  resumed_from: { epoch: number; batch: number } | null;
  history: unknown[];
}

function defaultLr(optimizer: string): number {
  return optimizer === 'sgd' ? 0.05 : optimizer === 'adagrad' ? 1e-2 : 1e-3;
}

function makeOptimizer(name: string, params: Tensor[], lr: number): Optimizer<{ lr: number }> {
  switch (name) {
    case 'sgd':
      return new SGD(params, { lr, momentum: 0.9 });
    case 'adam':
      return new Adam(params, { lr });
    case 'adamw':
      return new AdamW(params, { lr });
    case 'rmsprop':
      return new RMSprop(params, { lr });
    default:
      return new Adagrad(params, { lr });
  }
}

/**
 * A schedule stepped once per epoch: half a cosine over the run down to 0 (tMax = epochs, so the rate
 * never rises again), or ×0.1 every third of it.
 */
function makeScheduler(
  name: string,
  optimizer: Optimizer<{ lr: number }>,
  epochs: number,
): LRScheduler | undefined {
  if (name === 'cosine') return new CosineAnnealingLR(optimizer, { tMax: epochs });
  if (name === 'step')
    return new StepLR(optimizer, { stepSize: Math.max(1, Math.ceil(epochs / 3)), gamma: 0.1 });
  return undefined;
}

function oneOf(flag: string, value: string, allowed: string[]): string {
  if (!allowed.includes(value)) fail('train', `unknown ${flag} '${value}': expected ${allowed.join(', ')}`);
  return value;
}

/** `strata train <model>`: one of MODELS on MNIST or Fashion-MNIST, end to end. */
export function train(model: string, argv: string[]): TrainResult {
  const spec = Object.hasOwn(MODELS, model) ? MODELS[model] : undefined;
  if (!spec)
    return fail('train', `unknown model '${model}': expected one of ${Object.keys(MODELS).join(', ')}`);
  const cmd = `train ${model}`;
  const { values: v } = parse(cmd, argv, trainFlags(spec.defaults));
  const epochs = num('train', 'epochs', v.epochs, { integer: true, min: 1 });
  const batchSize = num('train', 'batch-size', v['batch-size'], { integer: true, min: 1 });
  const seed = num('train', 'seed', v.seed, { integer: true });
  const valFraction = num('train', 'validation', v.validation, { min: 0 });
  if (valFraction >= 1) fail('train', `--validation must be below 1, got ${valFraction}`);
  const patience =
    v.patience === undefined ? undefined : num('train', 'patience', v.patience, { integer: true, min: 1 });
  if (patience !== undefined && valFraction === 0)
    fail('train', '--patience needs a validation set: add --validation 0.1');
  const limit = v.limit === undefined ? undefined : num('train', 'limit', v.limit, { integer: true, min: 1 });
  const checkpointEvery =
    v['checkpoint-every'] === undefined
      ? undefined
      : num('train', 'checkpoint-every', v['checkpoint-every'], { integer: true, min: 1 });
  const optimizerName = oneOf('optimizer', String(v.optimizer), OPTIMIZERS);
  const schedule = oneOf('schedule', String(v.schedule), SCHEDULES);
  const dataset = oneOf('dataset', String(v.dataset), DATASETS);
  const lr = v.lr === undefined ? defaultLr(optimizerName) : num('train', 'lr', v.lr, { min: 0 });
  const augment = v.augment === true;
  const dropout = num('train', 'dropout', v.dropout, { min: 0 });
  if (dropout >= 1) fail('train', `--dropout must be below 1, got ${dropout}`);
  if (dropout > 0 && model !== 'mlp')
    fail('train', `--dropout applies to the mlp; ${model} does not take it`);
  const out = outputDir('train', v.out, `runs/${model}`, [CHECKPOINT_FILE, BEST_FILE, ...CURVE_FILES]);

  manualSeed(seed);
  const generator = new Generator(seed + 1);
  const load = (split: 'train' | 'test', n?: number): Mnist =>
    dataset === 'mnist' ? loadMnist(split, { limit: n }) : loadFashionMnist(split, { limit: n });
  const shape = (x: Tensor) => (spec.input === 'image' ? x.reshape([-1, 1, 28, 28]) : x);
  const trainData = load('train', limit);
  const testData = load('test');
  let [trainX, trainY] = [shape(trainData.images), trainData.labels];
  let validation: Tensor[][] | undefined;
  if (valFraction > 0) {
    // A fixed split by a seeded permutation: the last part of it is held out.
    const n = trainX.shape[0]!;
    const nVal = Math.round(n * valFraction);
    if (nVal < 1 || nVal >= n) {
      fail(
        'train',
        `--validation ${valFraction} of ${n} examples leaves ${nVal} for validation and ${n - nVal} for training; both need at least one`,
      );
    }
    const perm = new Generator(seed + 2).permutation(n);
    const held = tensor(Int32Array.from(perm.subarray(n - nVal)));
    validation = [
      ...new DataLoader(new TensorDataset(trainX.indexSelect(0, held), trainY.indexSelect(0, held)), {
        batchSize: 1000,
      }),
    ];
    const kept = tensor(Int32Array.from(perm.subarray(0, n - nVal)));
    [trainX, trainY] = [trainX.indexSelect(0, kept), trainY.indexSelect(0, kept)];
  }
  const trainSet = new TensorDataset(trainX, trainY);
  const loader = augment
    ? new AugmentedDataLoader(trainSet, {
        batchSize,
        shuffle: true,
        generator,
        imageShape: [1, 28, 28],
        // Small moves and Simard et al.'s elastic distortions, "deforming the existing examples" — mildly:
        // at alpha 34 (their value for other image scaling) some digits became unreadable and LeNet did worse.
        transform: compose(
          randomAffine({ degrees: 8, translate: [0.08, 0.08], scale: [0.92, 1.08] }),
          elasticDistortion({ alpha: 8, sigma: 4 }),
        ),
      })
    : new DataLoader(trainSet, { batchSize, shuffle: true, generator });
  const net = spec.build({ dropout, generator });
  const optimizer = makeOptimizer(optimizerName, net.parameters(), lr);
  const scheduler = makeScheduler(schedule, optimizer, epochs);
  const result = fit(net, optimizer, {
    epochs,
    loss: (out, y) => crossEntropy(out, y),
    train: loader,
    validation,
    generator,
    scheduler,
    earlyStopping:
      patience === undefined ? undefined : { monitor: 'valAccuracy', patience, restoreBest: true },
    out,
    resume: v.resume === true,
    checkpointEvery,
    progress: v['no-progress'] !== true,
    config: {
      model,
      dataset,
      optimizer: optimizerName,
      schedule,
      augment,
      batchSize,
      seed,
      lr,
      limit: limit ?? null,
      validation: valFraction,
    },
  });
  const testBatches = new DataLoader(new TensorDataset(shape(testData.images), testData.labels), {
    batchSize: 1000,
  });
  const testEval = evaluate(net, testBatches, (o, y) => crossEntropy(o, y));
  saveTrainingCurves(out, result.history, {
    title: basename(resolve(out)),
    subtitle: `${model} on ${dataset}, ${result.history.length} epochs, ${optimizerName} lr ${lr}${schedule === 'none' ? '' : ` (${schedule})`}, seed ${seed}`,
    test: testEval,
  });
  return {
    model,
    dataset,
    epochs,
    test_accuracy: testEval.accuracy,
    test_loss: testEval.loss,
    train_seconds: result.trainSeconds,
    samples_per_second: result.samplesPerSecond,
    backend: getBackend().name,
    seed,
    batch_size: batchSize,
    optimizer: optimizerName,
    lr,
    schedule,
    augment,
    dropout,
    parameters: net.numParameters(),
    train_samples: trainSet.length,
    stopped_early: result.stoppedEarly,
    resumed_from: result.resumedFrom,
    history: result.history,
  };
}
