import { dirname, join } from 'node:path';
import { noGrad } from '../autograd/mode.js';
import { loadFashionMnist } from '../data/fashion-mnist.js';
import { loadMnist } from '../data/mnist.js';
import { fail } from '../errors.js';
import { checkpointPath, loadModel } from '../models/registry.js';
import { Linear } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import { Sequential } from '../nn/sequential.js';
import type { Tensor } from '../tensor/tensor.js';
import { saveImageGrid } from '../viz/grid.js';
import { type Flags, helpText, num, outputDir, parse } from './args.js';
import { vizWords } from './words.js';

const FLAGS: Flags = {
  out: { type: 'string', help: 'directory for the PNG files (default: beside the checkpoint)' },
  digit: {
    type: 'string',
    help: 'features: which test image to show (its index in the test set)',
    default: '0',
  },
  words: { type: 'string', help: 'words: how many of the most frequent words to map', default: '300' },
  seed: { type: 'string', help: "words: seed of t-SNE's starting points", default: '0' },
};

export const VIZ_HELP = helpText(
  'strata viz filters|features|words <checkpoint> [options]',
  "Pictures of a trained model: `filters` draws the first layer's weights as a grid (blue negative, red positive);\n" +
    "`features` runs one test image through the model and draws what every layer outputs (the review's Fig. 2);\n" +
    "`words` maps a language model's word vectors to 2-D with t-SNE (the review's Fig. 4).",
  FLAGS,
);

/** `strata viz <what> <checkpoint>`: writes PNGs and returns their paths. */
export function viz(argv: string[]): string[] {
  const { values: v, positionals } = parse('viz', argv, FLAGS, 2);
  const [what, path] = positionals;
  if ((what !== 'filters' && what !== 'features' && what !== 'words') || !path)
    fail('viz', "usage: strata viz filters|features|words <checkpoint> (see 'strata viz --help')");
  if (what === 'words') {
    const count = num('viz', 'words', v.words, { integer: true, min: 10 });
    return vizWords(
      path,
      count,
      typeof v.out === 'string' ? v.out : undefined,
      num('viz', 'seed', v.seed, { integer: true }),
    );
  }
  const loaded = loadModel(path, 'viz');
  const { config } = loaded;
  const model = loaded.model as Module;
  const out = outputDir('viz', v.out, dirname(checkpointPath(path)));
  if (what === 'filters') {
    const first = model.parameters()[0]!;
    // A conv kernel [O, C, kh, kw] is drawn as is; a Linear's rows are its units' 28×28 receptive fields.
    const w =
      first.rank === 4
        ? first
        : first.rank === 2 && first.shape[1] === 784
          ? first.narrow(0, 0, Math.min(64, first.shape[0]!)).reshape([-1, 1, 28, 28])
          : null;
    if (!w) fail('viz', `the first weight has shape [${first.shape}], which is not a picture`);
    const file = join(out, 'filters.png');
    saveImageGrid(file, w.detach(), {
      colormap: 'diverging',
      normalize: 'all',
      scale: w.shape[2]! <= 7 ? 12 : 3,
      padding: 2,
    });
    return [file];
  }
  const index = num('viz', 'digit', v.digit, { integer: true, min: 0 });
  const test =
    config.dataset === 'fashion-mnist'
      ? loadFashionMnist('test', { limit: index + 1 })
      : loadMnist('test', { limit: index + 1 });
  if (index >= test.images.shape[0]!) fail('viz', `--digit ${index} is beyond the test set`);
  const image = test.images.narrow(0, index, 1);
  const isConv = model.parameters()[0]!.rank === 4;
  let x: Tensor = isConv ? image.reshape([1, 1, 28, 28]) : image;
  const layers = model instanceof Sequential ? model.layers : [model];
  const files = [join(out, `features-${index}-input.png`)];
  saveImageGrid(files[0]!, image.reshape([1, 1, 28, 28]), { scale: 6 });
  noGrad(() => {
    layers.forEach((layer, i) => {
      x = layer.forward(x);
      const name = `${i}-${layer.constructor.name.toLowerCase()}`;
      const file = join(out, `features-${index}-${name}.png`);
      // Maps [1, C, H, W] become a grid of C images; a vector [1, F] becomes one strip of F cells.
      const maps =
        x.rank === 4 ? x.reshape([x.shape[1]!, 1, x.shape[2]!, x.shape[3]!]) : x.reshape([1, 1, 1, -1]);
      const scale =
        x.rank === 4
          ? Math.max(1, Math.round(96 / x.shape[2]!))
          : layer instanceof Linear && x.shape[1]! <= 16
            ? 24
            : 4;
      saveImageGrid(file, maps, { normalize: x.rank === 4 ? 'each' : 'all', scale });
      files.push(file);
    });
  });
  return files;
}
