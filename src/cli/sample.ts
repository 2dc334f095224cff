import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { noGrad } from '../autograd/mode.js';
import { fail } from '../errors.js';
import { RBM } from '../models/rbm.js';
import { loadModel } from '../models/registry.js';
import { VAE } from '../models/vae.js';
import { rand } from '../tensor/creation.js';
import { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { saveImageGrid } from '../viz/grid.js';
import { type Flags, helpText, num, parse } from './args.js';

const FLAGS: Flags = {
  n: { type: 'string', help: 'images to draw', default: '100' },
  columns: { type: 'string', help: 'images per row of the grid', default: '10' },
  steps: { type: 'string', help: "an RBM's Gibbs steps from random states", default: '1000' },
  seed: { type: 'string', help: 'seed for the draws', default: '0' },
  out: { type: 'string', help: 'the PNG to write (default: RUN/samples-seed<seed>.png)' },
  backend: { type: 'string', help: 'backend to run on (see strata info)' },
};

export const SAMPLE_HELP = helpText(
  'strata sample <run folder | checkpoint> [options]',
  'Draws images from a generative model trained with `strata train rbm|vae` and writes them as a picture grid:\n' +
    "an RBM's Gibbs chains from random states (the last step's visible means; a Gaussian RBM's images scaled\n" +
    "each to its own range, as its pixel statistics are not in the checkpoint), a VAE's decoder means of z ~ N(0, I).",
  FLAGS,
);

/** `strata sample <checkpoint>`: writes the grid and returns its path. */
export function sample(argv: string[]): string {
  const op = 'sample';
  const { values: v, positionals } = parse(op, argv, FLAGS, 1);
  const [path] = positionals;
  if (!path)
    fail(op, "usage: strata sample <run folder | checkpoint> [--n 100] (see 'strata sample --help')");
  const n = num(op, 'n', v.n, { integer: true, min: 1 });
  const columns = num(op, 'columns', v.columns, { integer: true, min: 1 });
  const steps = num(op, 'steps', v.steps, { integer: true, min: 1 });
  const seed = num(op, 'seed', v.seed, { integer: true });
  const { model, config } = loadModel(path, op);
  if (model instanceof VAE && argv.some((a) => a === '--steps' || a.startsWith('--steps=')))
    fail(op, "--steps is an RBM's Gibbs chain length; a VAE draws its samples in one pass");
  const generator = new Generator(seed);
  let images: Tensor;
  if (model instanceof VAE) images = model.sample(n, { generator });
  else if (model instanceof RBM) {
    const start =
      model.visibleUnits === 'binary'
        ? rand([n, model.visible], { generator }).lt(0.5).cast('float32')
        : rand([n, model.visible], { generator }).sub(0.5);
    const means = noGrad(() =>
      model.visibleMean(
        model.sampleHidden(steps > 1 ? model.gibbs(start, steps - 1, generator) : start, generator),
      ),
    );
    images =
      model.visibleUnits === 'binary'
        ? means
        : noGrad(() => {
            const lo = means.min(1, true);
            return means.sub(lo).div(means.max(1, true).sub(lo).clamp(1e-12));
          });
  } else
    fail(op, `'${path}' holds ${String(config.model)}, not a generative model of strata train rbm or vae`);
  const folder = existsSync(path) && statSync(path).isDirectory() ? path : dirname(path);
  const out = v.out === undefined ? join(folder, `samples-seed${seed}.png`) : String(v.out);
  if (!out.endsWith('.png')) fail(op, `--out must name a .png file, got '${out}'`);
  saveImageGrid(out, images.reshape([n, 1, 28, 28]), { scale: 2, columns });
  return out;
}
