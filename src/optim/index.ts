export * from './clip.js';
export * from './lbfgs.js';
export {
  type AnyOptimizer,
  type Closure,
  type GroupArg,
  type HyperRule,
  type HyperRules,
  Optimizer,
  type OptimizerState,
  type ParamGroup,
  type ParamState,
  type ParamsArg,
} from './optimizer.js';
export * from './optimizers.js';
export * from './schedules.js';
export * from './updates.js';
