/**
 * Strata's public API under Node. Importing it installs the tensor methods (`x.add(y)`,
 * `loss.backward()`) and the native backend; browser.ts is the entry for bundles.
 */
import './backend/node.js';
import './ops/methods.js';

export type { TensorFunction } from './autograd/engine.js';
export { type BackwardOptions, backward, grad, gradients, valueAndGrad } from './autograd/engine.js';
export { detectAnomaly, enableGrad, isAnomalyDetection, isGradEnabled, noGrad } from './autograd/mode.js';
export type { ArgReduceOp, Backend, FusedKernels, ReduceOp, View, Window } from './backend/backend.js';
export type { Candidate } from './backend/registry.js';
export { backendNames, backendReason, getBackend, registerBackend, setBackend } from './backend/registry.js';
export * as data from './data/index.js';
export { StrataError } from './errors.js';
export {
  BEST_FILE,
  CHECKPOINT_FILE,
  type Checkpoint,
  type CheckpointInput,
  loadCheckpoint,
  loadWeights,
  type OptimizerCheckpoint,
  saveCheckpoint,
  saveWeights,
} from './io/checkpoint.js';
export * as logs from './io/logs/index.js';
export { type EncodeOptions, loadSafetensors, type Safetensors, saveSafetensors } from './io/safetensors.js';
export { type LenetOptions, lenet } from './models/lenet.js';
export { type MlpOptions, mlp } from './models/mlp.js';
export { KneserNeyTrigram } from './models/ngram.js';
export { NeuralProbabilisticLM, type NplmOptions } from './models/nplm.js';
export {
  configProblems,
  type LoadedModel,
  loadModel,
  MODELS,
  type ModelConfig,
  type ModelEntry,
  registerModel,
  type SettingKind,
} from './models/registry.js';
export { ResNet, type ResNetOptions, type ResnetMnistOptions, resnetMnist } from './models/resnet.js';
export {
  type LmState,
  type RnnCell,
  RnnLanguageModel,
  type RnnLmOptions,
  type SampleOptions,
  sampleTokens,
} from './models/rnnlm.js';
export * as nn from './nn/index.js';
export * from './ops/conv.js';
export * from './ops/elementwise.js';
export * from './ops/functional.js';
export * from './ops/indexing.js';
export * from './ops/linalg.js';
export * from './ops/losses.js';
export * from './ops/movement.js';
export type { Op, TensorLike } from './ops/op.js';
export { customOp, type OpRecord, type VjpContext } from './ops/op.js';
export * from './ops/recurrent.js';
export * from './ops/reduce.js';
export * as optim from './optim/index.js';
export * from './tensor/creation.js';
export type { DType, TypedArray } from './tensor/dtype.js';
export { defaultGenerator, Generator, manualSeed, type RngState } from './tensor/random.js';
export type { Shape } from './tensor/shape.js';
export { type GradFn, type NestedArray, Tensor } from './tensor/tensor.js';
export {
  EarlyStopping,
  type EarlyStoppingOptions,
  GradientClipping,
  LearningRateSchedule,
  type MetricLogger,
  MetricLogging,
  type ScheduleOptions,
  TensorBoard,
} from './train/callbacks.js';
export { type ClassifierEpoch, classifierTask, type FitOptions, type FitResult, fit } from './train/fit.js';
export {
  bpttSource,
  fitLanguageModel,
  type LanguageModel,
  type LmEpoch,
  type LmFitOptions,
  type LmFitResult,
  languageModelTask,
  perplexity,
} from './train/lm.js';
export { countCorrect, type Evaluation, evaluate } from './train/metrics.js';
export {
  type Callback,
  type EpochRecord,
  type EpochSource,
  type Ranks,
  type Run,
  type RunShape,
  type StepContext,
  type StepResult,
  steps,
  type Task,
  Trainer,
  type TrainerOptions,
  type TrainResult,
} from './train/trainer.js';
export * as viz from './viz/index.js';
