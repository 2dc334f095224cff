import { dirname, join } from 'node:path';
import { FASHION_MNIST_CLASSES, loadFashionMnist } from '../data/fashion-mnist.js';
import { loadMnist } from '../data/mnist.js';
import { fail } from '../errors.js';
import { checkpointPath, loadModel } from '../models/registry.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { saveFeatureFigure } from '../viz/features.js';
import { saveFilterFigure } from '../viz/filters.js';
import { type Flags, helpText, num, outputDir, parse } from './args.js';
import { vizWords } from './words.js';

const FLAGS: Flags = {
  out: { type: 'string', help: 'directory for the figures (default: beside the checkpoint)' },
  digit: { type: 'string', help: 'features: the index of the test image to show', default: '0' },
  words: { type: 'string', help: 'words: how many of the most frequent words to map', default: '300' },
  seed: { type: 'string', help: "words: seed of t-SNE's starting points", default: '0' },
};

export const VIZ_HELP = helpText(
  'strata viz filters|features|words <checkpoint> [options]',
  "Pictures of a trained model, each as SVG and PNG: `filters` draws all of the first layer's weights (blue\n" +
    'negative, red positive) with a colour bar; `features` runs one test image through the model and draws what\n' +
    "every part outputs and the predicted class in one figure (the review's Fig. 2);\n" +
    "`words` maps a language model's word vectors to 2-D with t-SNE (the review's Fig. 4).",
  FLAGS,
);

/** `strata viz <what> <checkpoint>`: writes the figures (PNG and SVG) and returns their paths. */
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
    // The first weight is the first layer's: its name, and the layer it belongs to, title the figure.
    const [name, weight] = model.namedParameters()[0]!;
    const owner = model.namedModules().find(([prefix]) => `${prefix}${prefix ? '.' : ''}weight` === name);
    const layer = owner ? ` (${owner[1].constructor.name})` : '';
    const paths = saveFilterFigure(join(out, 'filters'), weight, { name: `${name}${layer}` });
    return [paths.png, paths.svg];
  }
  const index = num('viz', 'digit', v.digit, { integer: true, min: 0 });
  const test =
    config.dataset === 'fashion-mnist'
      ? loadFashionMnist('test', { limit: index + 1 })
      : loadMnist('test', { limit: index + 1 });
  if (index >= test.images.shape[0]!) fail('viz', `--digit ${index} is beyond the test set`);
  const image = test.images.narrow(0, index, 1);
  const isConv = model.parameters()[0]!.rank === 4;
  const label = test.labels.toTypedArray()[index]!;
  const paths = saveFeatureFigure(
    join(out, `features-${index}`),
    model as Module<[Tensor], Tensor>,
    isConv ? image.reshape([1, 1, 28, 28]) : image,
    {
      title: `${String(config.model)}: what each part computes from test image ${index}`,
      label,
      classes: config.dataset === 'fashion-mnist' ? FASHION_MNIST_CLASSES : undefined,
    },
  );
  return [paths.png, paths.svg];
}
