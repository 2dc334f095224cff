export * from './clip.js';
export {
  Optimizer,
  type OptimizerState,
  type ParamGroup,
  type ParamState,
  type ParamsArg,
} from './optimizer.js';
export * from './optimizers.js';
export * from './schedules.js';
export * from './updates.js';
