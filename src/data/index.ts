// The readers of files on disk, for Node only.
export * from './babi.js';
export * from './browser.js';
export * from './eng-fra.js';
export * from './fashion-mnist.js';
export * from './idx.js';
export * from './mnist.js';
export * from './moby-dick.js';
export * from './paths.js';
