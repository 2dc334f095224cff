import { join } from 'node:path';
import { noGrad } from '../autograd/mode.js';
import { TensorDataset } from '../data/dataset.js';
import { loadFashionMnist } from '../data/fashion-mnist.js';
import { DataLoader } from '../data/loader.js';
import { loadMnist } from '../data/mnist.js';
import { fail } from '../errors.js';
import { rand } from '../tensor/creation.js';
import { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { EarlyStopping } from '../train/callbacks.js';
import { type Task, Trainer } from '../train/trainer.js';
import { saveFilterFigure } from '../viz/filters.js';
import { saveImageGrid } from '../viz/grid.js';
import { aisSchedule, annealedLogPartition, type RBM } from './rbm.js';
import { type RecipeResult, type RecipeRun, recipeResult } from './recipes.js';

/**
 * `strata train rbm`: a restricted Boltzmann machine on MNIST's (or Fashion-MNIST's) training images,
 * trained by CD-k or persistent CD on the one training engine, its test log-likelihood estimated by
 * annealed importance sampling as Salakhutdinov & Murray (2008) did.
 *
 * - Data: binary units see the images binarised once, each pixel on with its intensity as probability
 *   (fixed draws, the same in every run, so that every run is scored on the same binary test set);
 *   Gaussian units see them standardised pixel by pixel with the training set's mean and deviation.
 * - Training (Hinton's practical guide): momentum 0.5 for the first 5 epochs, then --momentum; an L2
 *   penalty of --weight-decay on the weights only, added to the CD loss. The epoch's metric is the mean
 *   squared reconstruction error per image; validation (--validation) scores it on held-out images.
 * - Test: log Ẑ by AIS (--ais-runs runs over --ais-steps temperatures in S&M's proportions), then the
 *   average test log-probability −F(v) − log Ẑ in nats, and the same on the first 10,000 training images
 *   (for Gaussian units a log-density of the standardised pixels, not comparable with the binary case).
 * - Pictures: `filters.svg`/`.png` (each hidden unit's weights as a 28×28 tile) and `samples.png` (100
 *   Gibbs chains from random states after --sample-steps steps, each shown as its last mean-field visible means).
 */

/** Fixed draws for binarising: the same binary data set in every run. */
const BINARISE_SEED = { train: 101, test: 102 };
/** Momentum 0.5 for this many epochs, then the run's (Hinton 2010, §9). */
const EARLY_MOMENTUM_EPOCHS = 5;
const SAMPLE_CHAINS = 100;

/** The images as an unsupervised model sees them (validation held out of the training part), and a map back to pixels for pictures. */
export interface Visible {
  train: Tensor;
  held: Tensor | null;
  test: Tensor;
  toPixels: (v: Tensor) => Tensor;
}

export function visibleData(
  config: Record<string, unknown>,
  limit: number | undefined,
  validation: number,
  op: string,
): Visible {
  const load = (split: 'train' | 'test', n?: number) =>
    (config.dataset === 'fashion-mnist' ? loadFashionMnist : loadMnist)(split, { limit: n }).images;
  let [train, test] = [load('train', limit), load('test')];
  if (config.visibleUnits === 'binary') {
    const binarise = (x: Tensor, seed: number) =>
      rand(x.shape, { generator: new Generator(seed) })
        .lt(x)
        .cast('float32');
    [train, test] = [binarise(train, BINARISE_SEED.train), binarise(test, BINARISE_SEED.test)];
  }
  // The last --validation fraction of the training images validates.
  let held: Tensor | null = null;
  if (validation > 0) {
    const n = train.shape[0]!;
    const cut = n - Math.round(n * validation);
    if (cut < 1 || cut >= n)
      fail(op, `--validation ${validation} of ${n} images leaves none to train on or none to validate`);
    [held, train] = [train.narrow(0, cut, n - cut), train.narrow(0, 0, cut)];
  }
  if (config.visibleUnits === 'binary') return { train, held, test, toPixels: (v) => v };
  // Standardised with the training part's statistics alone.
  const mean = train.mean(0);
  const std = train.sub(mean).square().mean(0).sqrt().clamp(0.01);
  const standardise = (x: Tensor) => x.sub(mean).div(std);
  return {
    train: standardise(train),
    held: held && standardise(held),
    test: standardise(test),
    toPixels: (v) => v.mul(std).add(mean).clamp(0, 1),
  };
}

/** Trains an RBM and estimates its test log-likelihood (see the module comment). */
export async function trainRBM(
  r: RecipeRun & { limit?: number; validation: number; seed: number },
): Promise<{ result: RecipeResult; parameters: number; report: Record<string, unknown> }> {
  const c = r.config;
  const data = visibleData(c, r.limit, r.validation, r.op);
  const train = data.train;
  const held = data.held ? [[data.held]] : undefined;
  const rbm = r.entry.build(c, { vocab: null, generator: r.run.generator }) as RBM;
  const optimizer = r.optimizer(rbm.parameters());
  const [k, decay, final] = [c.cdK as number, c.weightDecay as number, c.momentum as number];
  const task: Task<Tensor[]> = {
    model: rbm,
    optimizers: [optimizer],
    trainStep: ([v], ctx) => {
      for (const group of optimizer.paramGroups as { momentum?: number }[])
        if (group.momentum !== undefined)
          group.momentum = ctx.epoch < EARLY_MOMENTUM_EPOCHS ? Math.min(0.5, final) : final;
      const cd = rbm.contrastiveDivergence(v!, { k, generator: ctx.generator });
      const loss =
        decay > 0
          ? cd.loss.add(
              rbm.weight
                .square()
                .sum()
                .mul(decay / 2),
            )
          : cd.loss;
      const recon = noGrad(() => rbm.visibleMean(rbm.hiddenProbs(v!)).sub(v!).square().sum());
      return { loss, metrics: { reconstruction: recon }, size: v!.shape[0]! };
    },
    evalStep: ([v]) => ({
      loss: rbm.visibleMean(rbm.hiddenProbs(v!)).sub(v!).square().sum(1).mean(),
      size: v!.shape[0]!,
    }),
  };
  const best = new EarlyStopping({
    monitor: 'valLoss',
    mode: 'min',
    patience: r.patience,
    restoreBest: false,
  });
  const schedule = r.schedule(optimizer);
  const result = await new Trainer(task, {
    ...r.run,
    data: new DataLoader(new TensorDataset(train), {
      batchSize: r.batchSize,
      shuffle: true,
      generator: r.run.generator,
    }),
    validation: held,
    callbacks: [...(held ? [best] : []), ...(schedule ? [schedule] : []), ...r.callbacks],
    unit: 'images',
    op: r.op,
  }).fit();

  // log Z by AIS, from a base model with the training images' marginals.
  const ais = annealedLogPartition(rbm, {
    runs: c.aisRuns as number,
    betas: aisSchedule(c.aisSteps as number),
    data: train,
    generator: new Generator(r.seed + 4000),
  });
  const logProb = (v: Tensor) => noGrad(() => -rbm.freeEnergy(v).mean().item()) - ais.logZ;
  const testLogProb = logProb(data.test);
  const trainLogProb = logProb(train.narrow(0, 0, Math.min(10000, train.shape[0]!)));
  const testRecon = noGrad(() =>
    rbm.visibleMean(rbm.hiddenProbs(data.test)).sub(data.test).square().sum(1).mean().item(),
  );
  let figures: string[] = [];
  if (r.run.out !== undefined) {
    const tiles = rbm.weight.detach().reshape([rbm.hidden, 1, 28, 28]);
    const filters = saveFilterFigure(join(r.run.out, 'filters'), tiles, {
      name: `weight (${rbm.hidden} hidden units)`,
    });
    // Gibbs chains from random states; the last step's visible means are what is drawn.
    const g = new Generator(r.seed + 5000);
    const start = rand([SAMPLE_CHAINS, rbm.visible], { generator: g }).lt(0.5).cast('float32');
    const steps = c.sampleSteps as number;
    const means = noGrad(() =>
      rbm.visibleMean(rbm.sampleHidden(steps > 1 ? rbm.gibbs(start, steps - 1, g) : start, g)),
    );
    const samples = join(r.run.out, 'samples.png');
    saveImageGrid(samples, data.toPixels(means).reshape([SAMPLE_CHAINS, 1, 28, 28]), {
      scale: 2,
      columns: 10,
    });
    figures = [filters.png, samples];
  }
  const kept = recipeResult(result, best);
  const nats = (x: number) => x.toFixed(2);
  const gaussian = c.visibleUnits === 'gaussian';
  return {
    result: kept,
    parameters: rbm.numParameters(),
    report: {
      summary: `test ${gaussian ? 'log-density of the standardised pixels' : 'log-probability'} ${nats(testLogProb)} nats per image (log Z ${ais.logZ.toFixed(2)} by AIS, ${ais.runs} runs × ${ais.steps} steps), train ${nats(trainLogProb)}`,
      ...{ test_log_prob: testLogProb, train_log_prob: trainLogProb, test_loss: -testLogProb },
      // A Gaussian RBM's density is of the standardised pixels (no change of variables back to pixels).
      log_prob_of: gaussian ? 'standardised pixels' : 'binarised images',
      ...{ log_z: ais.logZ, log_z_low: ais.logZ + ais.logZLow, log_z_high: ais.logZ + ais.logZHigh },
      ...{ ais_runs: ais.runs, ais_steps: ais.steps, test_reconstruction: testRecon },
      ...{ train_images: train.shape[0], figures },
      images_per_second: result.samplesPerSecond,
    },
  };
}
