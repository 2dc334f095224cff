import { join } from 'node:path';
import { noGrad } from '../autograd/mode.js';
import { TensorDataset } from '../data/dataset.js';
import { DataLoader } from '../data/loader.js';
import { concat } from '../ops/movement.js';
import { linspace, tensor } from '../tensor/creation.js';
import { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { EarlyStopping } from '../train/callbacks.js';
import { scoringProgress } from '../train/progress.js';
import { type Task, Trainer } from '../train/trainer.js';
import { saveImageGrid } from '../viz/grid.js';
import { visibleData } from './rbm-recipe.js';
import { type RecipeResult, type RecipeRun, recipeResult } from './recipes.js';
import type { VAE } from './vae.js';

/**
 * `strata train vae`: a variational autoencoder on MNIST's (or Fashion-MNIST's) training images, binarised
 * once as for the RBM (the same fixed draws, so the two are scored on the same binary test set), trained
 * on the one engine by maximising the ELBO (the loss is −ELBO in nats per image).
 *
 * - Test: the ELBO, and the importance-weighted log-likelihood with --test-samples samples per image
 *   (Burda et al. 2016 used 5,000), on the first --test-limit test images (default all 10,000).
 * - Pictures: `samples.png` (100 images decoded from z ~ N(0, I)), `reconstructions.png` (ten test digits
 *   above their reconstructions from the posterior mean) and, with a 2-D latent, `manifold.png`: the
 *   decoder over a 20×20 grid of z at evenly spaced quantiles of N(0, 1), as Kingma & Welling's Fig. 4.
 */

const SAMPLES = 100;
const MANIFOLD = 20;

/** Φ⁻¹ of each p in (0, 1), by bisection on Φ(z) = (1 + erf(z/√2))/2. */
function normalQuantiles(p: readonly number[]): number[] {
  let [lo, hi] = [p.map(() => -10), p.map(() => 10)];
  for (let it = 0; it < 80; it++) {
    const mid = lo.map((l, i) => (l + hi[i]!) / 2);
    const cdf = tensor(mid, { dtype: 'float64' })
      .mul(Math.SQRT1_2)
      .erf()
      .add(1)
      .mul(0.5)
      .tolist() as number[];
    [lo, hi] = [
      mid.map((m, i) => (cdf[i]! < p[i]! ? m : lo[i]!)),
      mid.map((m, i) => (cdf[i]! < p[i]! ? hi[i]! : m)),
    ];
  }
  return lo.map((l, i) => (l + hi[i]!) / 2);
}

/** Trains a VAE and scores its test ELBO and importance-weighted log-likelihood (see the module comment). */
export async function trainVAE(
  r: RecipeRun & { limit?: number; validation: number; seed: number; progress: boolean },
): Promise<{ result: RecipeResult; parameters: number; report: Record<string, unknown> }> {
  const c = r.config;
  const data = visibleData({ ...c, visibleUnits: 'binary' }, r.limit, r.validation, r.op);
  const vae = r.entry.build(c, { vocab: null, generator: r.run.generator }) as VAE;
  const optimizer = r.optimizer(vae.parameters());
  // Validation and the test ELBO use fixed noise, so that a resumed run scores the same.
  const task: Task<Tensor[]> = {
    model: vae,
    optimizers: [optimizer],
    trainStep: ([x], ctx) => ({
      loss: vae.elbo(x!, { generator: ctx.generator }).mean().neg(),
      size: x!.shape[0]!,
    }),
    evalStep: ([x]) => ({
      loss: vae
        .elbo(x!, { generator: new Generator(r.seed + 6000) })
        .mean()
        .neg(),
      size: x!.shape[0]!,
    }),
  };
  const best = new EarlyStopping({
    monitor: 'valLoss',
    mode: 'min',
    patience: r.patience,
    restoreBest: true,
  });
  const schedule = r.schedule(optimizer);
  const result = await new Trainer(task, {
    ...r.run,
    data: new DataLoader(new TensorDataset(data.train), {
      batchSize: r.batchSize,
      shuffle: true,
      generator: r.run.generator,
    }),
    validation: data.held ? [[data.held]] : undefined,
    callbacks: [...(data.held ? [best] : []), ...(schedule ? [schedule] : []), ...r.callbacks],
    unit: 'images',
    op: r.op,
  }).fit();

  vae.eval();
  const limit = (c.testLimit as number | null) ?? data.test.shape[0]!;
  const test = data.test.narrow(0, 0, Math.min(limit, data.test.shape[0]!));
  const k = c.testSamples as number;
  const rows = 100;
  const batches = Math.ceil(test.shape[0]! / rows);
  const progress = scoringProgress(r.progress, `importance sampling (k = ${k})`, batches);
  const generator = new Generator(r.seed + 7000);
  const elbos: Tensor[] = [];
  const logLikelihoods: Tensor[] = [];
  for (let b = 0; b < batches; b++) {
    const x = test.narrow(0, b * rows, Math.min(rows, test.shape[0]! - b * rows));
    elbos.push(noGrad(() => vae.elbo(x, { generator })));
    logLikelihoods.push(
      vae.logLikelihood(x, k, { generator, chunk: Math.max(1, Math.floor(20000 / x.shape[0]!)) }),
    );
    progress?.(b + 1);
  }
  const testElbo = concat(elbos, 0).mean().item();
  const testLogLikelihood = concat(logLikelihoods, 0).mean().item();

  const figures: string[] = [];
  if (r.run.out !== undefined) {
    const picture = (name: string, images: Tensor, columns: number) => {
      const path = join(r.run.out!, name);
      saveImageGrid(path, images.reshape([-1, 1, 28, 28]), { scale: 2, columns });
      figures.push(path);
    };
    picture('samples.png', vae.sample(SAMPLES, { generator: new Generator(r.seed + 8000) }), 10);
    const shown = data.test.narrow(0, 0, 10);
    picture('reconstructions.png', concat([shown, noGrad(() => vae.forward(shown).sigmoid())], 0), 10);
    if (vae.latent === 2) {
      const q = normalQuantiles(linspace(0.05, 0.95, MANIFOLD).tolist() as number[]);
      // Rows from high z₂ at the top to low, columns from low z₁ to high.
      const grid = q.flatMap((_, i) => q.map((z1) => [z1, q[MANIFOLD - 1 - i]!]));
      picture(
        'manifold.png',
        noGrad(() => vae.decoder.forward(tensor(grid)).sigmoid()),
        MANIFOLD,
      );
    }
  }
  const kept = recipeResult(result, best);
  return {
    result: kept,
    parameters: vae.numParameters(),
    report: {
      summary: `test log-likelihood ${testLogLikelihood.toFixed(2)} nats per image (k = ${k}), ELBO ${testElbo.toFixed(2)}, on ${test.shape[0]} test images`,
      ...{ test_log_likelihood: testLogLikelihood, test_elbo: testElbo, test_loss: -testLogLikelihood },
      ...{ test_samples: k, test_images: test.shape[0], train_images: data.train.shape[0], figures },
      images_per_second: result.samplesPerSecond,
    },
  };
}
