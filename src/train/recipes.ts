import { mobyDick } from '../data/moby-dick.js';
import { charTokens, EOS, UNK, Vocab, wordTokens } from '../data/text.js';
import { compose, elasticDistortion, randomAffine } from '../data/transforms.js';
import { fail } from '../errors.js';
import type { Optimizer } from '../optim/optimizer.js';
import { Adagrad, Adam, AdamW, RMSprop, SGD } from '../optim/optimizers.js';
import { CosineAnnealingLR, ReduceLROnPlateau, StepLR } from '../optim/schedules.js';
import { tensor } from '../tensor/creation.js';
import { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { LearningRateSchedule } from './callbacks.js';

/** The optimizers `strata train` offers, by name. */
export const OPTIMIZERS = ['sgd', 'adam', 'adamw', 'rmsprop', 'adagrad'] as const;

/** An optimizer by name; SGD with `momentum` (0.9 for the image models, 0 for the language models, as Zaremba et al.). */
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
      return new RMSprop(params, { lr });
    case 'adagrad':
      return new Adagrad(params, { lr });
    default:
      return fail('train', `unknown optimizer '${name}': expected ${OPTIMIZERS.join(', ')}`);
  }
}

/** The schedules `strata train` offers: stepped per epoch; `plateau` divides the rate by 4 when validation stalls. */
export const SCHEDULES = ['cosine', 'step', 'plateau', 'none'] as const;

/**
 * A schedule by name, stepped once per epoch: half a cosine over the run down to 0 (tMax = epochs, so
 * the rate never rises again), ×0.1 every third of it, or ÷4 whenever `monitor` does not improve
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
  if (name === 'plateau') {
    const plateau = new ReduceLROnPlateau(optimizer, { factor: 0.25, patience: 0, threshold: 0 });
    return new LearningRateSchedule(plateau, { monitor });
  }
  if (name !== 'none') fail('train', `unknown schedule '${name}': expected ${SCHEDULES.join(', ')}`);
  return null;
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
