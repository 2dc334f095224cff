export * from './augment.js';
export * from './dataset.js';
export * from './fashion-mnist.js';
export * from './idx.js';
export * from './loader.js';
export * from './mnist.js';
export * from './paths.js';
export * from './transforms.js';
