export * from './activation.js';
export * as init from './init.js';
export * from './layers.js';
export * from './losses.js';
export { Module, Parameter } from './module.js';
export { Sequential } from './sequential.js';
