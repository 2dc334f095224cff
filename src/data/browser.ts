/** The part of data/ that needs no file system: data sets in memory, loaders, transforms, tokenizers. */
export * from './algorithmic.js';
export * from './augment.js';
export * from './dataset.js';
export * from './digit-strips.js';
export * from './loader.js';
export * from './text.js';
export * from './transforms.js';
export * from './translation.js';
