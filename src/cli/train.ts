import { getBackend } from '../backend/registry.js';
import { TensorDataset } from '../data/dataset.js';
import { DataLoader } from '../data/loader.js';
import { loadMnist } from '../data/mnist.js';
import { fail } from '../errors.js';
import { mlp } from '../models/mlp.js';
import { crossEntropy } from '../nn/losses.js';
import type { Optimizer } from '../optim/optimizer.js';
import { Adagrad, Adam, AdamW, RMSprop, SGD } from '../optim/optimizers.js';
import { CosineAnnealingLR, type LRScheduler, StepLR } from '../optim/schedules.js';
import { tensor } from '../tensor/creation.js';
import { Generator, manualSeed } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { fit } from '../train/fit.js';
import { evaluate } from '../train/metrics.js';
import { type Flags, helpText, num, parse } from './args.js';

export const TRAIN_FLAGS: Flags = {
  epochs: { type: 'string', help: 'passes over the training set', default: '3' },
  'batch-size': { type: 'string', help: 'examples per step', default: '128' },
  lr: { type: 'string', help: 'learning rate (default: 0.05 for sgd, 0.001 otherwise)' },
  optimizer: {
    type: 'string',
    help: 'sgd (momentum 0.9) | adam | adamw | rmsprop | adagrad',
    default: 'sgd',
  },
  schedule: {
    type: 'string',
    help: 'learning-rate schedule over the epochs: cosine | step | none',
    default: 'cosine',
  },
  seed: { type: 'string', help: 'seed for initialisation and shuffling', default: '0' },
  out: { type: 'string', help: 'directory for checkpoints and results', default: 'runs/mlp' },
  resume: { type: 'boolean', help: 'continue the run whose checkpoint is in --out' },
  json: { type: 'boolean', help: 'print the results as one JSON object on the last line of stdout' },
  backend: { type: 'string', help: 'backend to run on (see strata info)' },
  validation: { type: 'string', help: 'fraction of the training set held out for validation', default: '0' },
  patience: {
    type: 'string',
    help: 'stop after this many epochs without validation improvement (needs --validation)',
  },
  'checkpoint-every': { type: 'string', help: 'also checkpoint every N steps' },
  limit: { type: 'string', help: 'use only the first N training examples' },
  'no-progress': { type: 'boolean', help: 'hide the progress bar' },
};

export const TRAIN_HELP = helpText(
  'strata train mlp [options]',
  'Trains a 784-512-256-10 ReLU MLP on MNIST (softmax cross-entropy) and reports test accuracy.',
  TRAIN_FLAGS,
);

export interface TrainResult {
  model: string;
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
  train_samples: number;
  stopped_early: boolean;
  resumed_from: { epoch: number; batch: number } | null;
  history: unknown[];
}

const OPTIMIZERS = ['sgd', 'adam', 'adamw', 'rmsprop', 'adagrad'];
const SCHEDULES = ['cosine', 'step', 'none'];

function makeOptimizer(name: string, params: Tensor[], lr: number | undefined): Optimizer<{ lr: number }> {
  switch (name) {
    case 'sgd':
      return new SGD(params, { lr: lr ?? 0.05, momentum: 0.9 });
    case 'adam':
      return new Adam(params, { lr: lr ?? 1e-3 });
    case 'adamw':
      return new AdamW(params, { lr: lr ?? 1e-3 });
    case 'rmsprop':
      return new RMSprop(params, { lr: lr ?? 1e-3 });
    case 'adagrad':
      return new Adagrad(params, { lr: lr ?? 1e-2 });
    default:
      return fail('train', `unknown optimizer '${name}'`);
  }
}

/** A schedule stepped once per epoch: half a cosine over the run, or ×0.1 every third of it. */
function makeScheduler(
  name: string,
  optimizer: Optimizer<{ lr: number }>,
  epochs: number,
): LRScheduler | undefined {
  if (name === 'cosine') return new CosineAnnealingLR(optimizer, epochs);
  if (name === 'step') return new StepLR(optimizer, Math.max(1, Math.ceil(epochs / 3)), 0.1);
  return undefined;
}

/** `strata train mlp`: the MLP on MNIST, end to end. */
export function trainMlp(argv: string[]): TrainResult {
  const { values: v } = parse('train mlp', argv, TRAIN_FLAGS);
  const epochs = num('train', 'epochs', v.epochs, { integer: true, min: 1 });
  const batchSize = num('train', 'batch-size', v['batch-size'], { integer: true, min: 1 });
  const seed = num('train', 'seed', v.seed, { integer: true });
  const lr = v.lr === undefined ? undefined : num('train', 'lr', v.lr, { min: 0 });
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
  const optimizerName = String(v.optimizer);
  const schedule = String(v.schedule);
  if (!OPTIMIZERS.includes(optimizerName))
    fail('train', `unknown optimizer '${optimizerName}': expected ${OPTIMIZERS.join(', ')}`);
  if (!SCHEDULES.includes(schedule))
    fail('train', `unknown schedule '${schedule}': expected ${SCHEDULES.join(', ')}`);

  manualSeed(seed);
  const generator = new Generator(seed + 1);
  const train = loadMnist('train', { limit });
  const test = loadMnist('test');
  let trainSet = new TensorDataset(train.images, train.labels);
  let validation: Tensor[][] | undefined;
  if (valFraction > 0) {
    // A fixed split by a seeded permutation: the last part of it is held out.
    const perm = new Generator(seed + 2).permutation(trainSet.length);
    const nVal = Math.round(trainSet.length * valFraction);
    if (nVal < 1 || nVal >= trainSet.length) {
      fail(
        'train',
        `--validation ${valFraction} of ${trainSet.length} examples leaves ${nVal} for validation and ${trainSet.length - nVal} for training; both need at least one`,
      );
    }
    const pick = (idx: Int32Array) => [
      train.images.indexSelect(0, tensorOf(idx)),
      train.labels.indexSelect(0, tensorOf(idx)),
    ];
    const [vx, vy] = pick(perm.subarray(trainSet.length - nVal));
    validation = [...new DataLoader(new TensorDataset(vx!, vy!), { batchSize: 1000 })];
    const [tx, ty] = pick(perm.subarray(0, trainSet.length - nVal));
    trainSet = new TensorDataset(tx!, ty!);
  }
  const loader = new DataLoader(trainSet, { batchSize, shuffle: true, generator });
  const model = mlp([784, 512, 256, 10]);
  const optimizer = makeOptimizer(optimizerName, model.parameters(), lr);
  const scheduler = makeScheduler(schedule, optimizer, epochs);
  const result = fit(model, optimizer, {
    epochs,
    loss: (out, y) => crossEntropy(out, y),
    train: loader,
    validation,
    generator,
    scheduler,
    earlyStopping:
      patience === undefined ? undefined : { monitor: 'valAccuracy', patience, restoreBest: true },
    out: String(v.out),
    resume: v.resume === true,
    checkpointEvery,
    progress: v['no-progress'] !== true,
    config: {
      model: 'mlp',
      optimizer: optimizerName,
      schedule,
      batchSize,
      seed,
      lr: lr ?? null,
      limit: limit ?? null,
      validation: valFraction,
    },
  });
  const testEval = evaluate(
    model,
    new DataLoader(new TensorDataset(test.images, test.labels), { batchSize: 1000 }),
    (o, y) => crossEntropy(o, y),
  );
  return {
    model: 'mlp',
    epochs,
    test_accuracy: testEval.accuracy,
    test_loss: testEval.loss,
    train_seconds: result.trainSeconds,
    samples_per_second: result.samplesPerSecond,
    backend: getBackend().name,
    seed,
    batch_size: batchSize,
    optimizer: optimizerName,
    lr: lr ?? (optimizerName === 'sgd' ? 0.05 : optimizerName === 'adagrad' ? 1e-2 : 1e-3),
    schedule,
    train_samples: trainSet.length,
    stopped_early: result.stoppedEarly,
    resumed_from: result.resumedFrom,
    history: result.history,
  };
}

function tensorOf(idx: Int32Array): Tensor {
  return tensor(Int32Array.from(idx));
}
