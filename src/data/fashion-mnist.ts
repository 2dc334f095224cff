import { type IdxImageSet, type LoadMnistOptions, loadIdxImages, type Mnist } from './mnist.js';

/** Where Debian's package `dataset-fashion-mnist` puts the four original gzipped IDX files. */
const DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';

/**
 * The ten Fashion-MNIST classes: `FASHION_MNIST_CLASSES[label]` names a label.
 *
 *     data.FASHION_MNIST_CLASSES[9] // → 'Ankle boot'
 *     data.FASHION_MNIST_CLASSES.length // → 10
 */
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
]);

/**
 * Where `loadFashionMnist` looks and what its messages say; pass a copy with other `fallbackDirs` to
 * `loadIdxImages` to search elsewhere.
 *
 *     data.FASHION_MNIST.folder // → 'fashion-mnist'
 *     const mine = { ...data.FASHION_MNIST, fallbackDirs: () => ['/usr/share/datasets/fashion-mnist'] };
 *     data.loadIdxImages(mine, 'test', { limit: 8 }).images.shape // → [8, 784]
 */
export const FASHION_MNIST: Readonly<IdxImageSet> = Object.freeze({
  op: 'loadFashionMnist',
  title: 'Fashion-MNIST',
  folder: 'fashion-mnist',
  labelNoun: 'classes',
  fallbackDirs: () => [DEBIAN_DIR],
  hint: `install Debian's package (\`sudo apt-get install dataset-fashion-mnist\`), which puts the files in ${DEBIAN_DIR}`,
});

/**
 * Loads Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017): Zalando's 28×28 greyscale photos of clothes in ten
 * classes (`FASHION_MNIST_CLASSES`), a drop-in replacement for MNIST with the same files, sizes and
 * splits. Images are float32 [N, 784] with pixels / 255 in [0, 1], labels int32 [N] in 0..9.
 *
 * Reads the original IDX files (plain or `.gz`): from `opts.dir` if given, and nowhere else; otherwise
 * from `fashion-mnist/` under each folder of `dataSearchPath()` (`$STRATA_DATA_DIR` first), then from
 * `/usr/share/datasets/fashion-mnist`, where Debian's `dataset-fashion-mnist` package installs them.
 * Every header, size and label is checked as by `loadMnist`, and a problem is a StrataError naming the file.
 *
 *     const { images, labels } = data.loadFashionMnist('test', { limit: 64 }); // float32 [64, 784], int32 [64]
 *     data.FASHION_MNIST_CLASSES[labels.data[0]!] // → 'Ankle boot'
 */
export function loadFashionMnist(split: 'train' | 'test', opts: LoadMnistOptions = {}): Mnist {
  return loadIdxImages(FASHION_MNIST, split, opts);
}
