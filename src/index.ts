/**
 * Strata's public API under Node: the browser entry (browser.ts), plus what needs Node — the native
 * backend, the data-set readers, checkpoints and safetensors, logs, the model registry, the training
 * engine and the pictures. Importing it installs the tensor methods and registers the native backend.
 */
import './backend/node.js';

export type { TensorFunction } from './autograd/engine.js';
export type { ArgReduceOp, Backend, FusedKernels, ReduceOp, View, Window } from './backend/backend.js';
export type { Candidate } from './backend/registry.js';
export * from './browser.js';
export * as data from './data/index.js';
export {
  BEST_FILE,
  CHECKPOINT_FILE,
  type Checkpoint,
  type CheckpointInput,
  loadCheckpoint,
  loadWeights,
  type OptimizerCheckpoint,
  restoreCheckpoint,
  saveCheckpoint,
  saveWeights,
} from './io/checkpoint.js';
export * as logs from './io/logs/index.js';
export { type EncodeOptions, loadSafetensors, type Safetensors, saveSafetensors } from './io/safetensors.js';
export {
  configProblems,
  type LoadedModel,
  loadModel,
  MODELS,
  type ModelConfig,
  type ModelEntry,
  registerModel,
  type SettingKind,
  type TranslationVocabs,
} from './models/registry.js';
export { analogy, neighbours, type WordVectors, wordMap, wordVectors } from './models/words.js';
export type { Op, TensorLike } from './ops/op.js';
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
  type RunOptions,
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
