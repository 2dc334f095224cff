export * from './activation.js';
export * from './attention.js';
export * from './blocks.js';
export type { ParamDType } from './checks.js';
export * from './conv.js';
export * from './ctc.js';
export * from './dropout.js';
export * from './embedding.js';
export * as init from './init.js';
export * from './layers.js';
export * from './losses.js';
export * from './margin-losses.js';
export {
  type AnyModule,
  type ForwardHook,
  type ForwardPreHook,
  type HookOptions,
  Module,
  Parameter,
  type RemovableHandle,
} from './module.js';
export * from './normalization.js';
export * from './recurrent.js';
export * from './regularization.js';
export { Sequential } from './sequential.js';
export { ModelSummary, type SummaryInput, type SummaryOptions, type SummaryRow } from './summary.js';
export * from './transformer.js';
