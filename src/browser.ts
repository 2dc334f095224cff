/**
 * Strata's public API for browsers and other runtimes without Node (the package's `browser` and
 * `default` export conditions): tensors, autograd, nn, optim, distributions, the in-memory data tools,
 * beam search and BLEU, on the js backend. Left out, because they read or write files: the data-set readers,
 * checkpoints and safetensors, and the pictures (viz). Importing it installs the tensor methods.
 */
import './ops/methods.js';

export { type BackwardOptions, backward, grad, gradients, valueAndGrad } from './autograd/engine.js';
export {
  autocast,
  detectAnomaly,
  enableGrad,
  isAnomalyDetection,
  isGradEnabled,
  matmulPrecision,
  noGrad,
} from './autograd/mode.js';
export type { Backend, MatmulPrecision, View } from './backend/backend.js';
export { backendNames, backendReason, getBackend, registerBackend, setBackend } from './backend/registry.js';
export * as data from './data/browser.js';
export * as distributions from './distributions/index.js';
export { digamma, lgamma } from './distributions/special.js';
export { StrataError } from './errors.js';
export { type LenetOptions, lenet } from './models/lenet.js';
export {
  MemN2N,
  type MemN2NOptions,
  type MemN2NOutput,
  type MemoryTying,
  positionEncoding,
  type SentenceEncoding,
} from './models/memn2n.js';
export { type MlpOptions, mlp } from './models/mlp.js';
export { KneserNeyTrigram } from './models/ngram.js';
export { NeuralProbabilisticLM, type NplmOptions } from './models/nplm.js';
export {
  circularShift,
  contentAddressing,
  cosineSimilarity,
  type HeadAddressing,
  type HeadWrite,
  interpolateWeighting,
  memoryRead,
  memoryWrite,
  memoryWrites,
  NTM,
  type NtmController,
  type NtmOptions,
  type NtmOutput,
  ntmAddress,
  SequenceLSTM,
  type SequenceLstmOptions,
  sharpen,
} from './models/ntm.js';
export {
  type AisEstimate,
  type AisOptions,
  aisSchedule,
  annealedLogPartition,
  type CdStep,
  logPartition,
  RBM,
  type RbmOptions,
  type VisibleUnits,
} from './models/rbm.js';
export {
  type DigitAttention,
  DigitReader,
  type DigitReaderOptions,
  type DigitReading,
} from './models/read-digits.js';
export { ResNet, type ResNetOptions, type ResnetMnistOptions, resnetMnist } from './models/resnet.js';
export {
  type LmState,
  type RnnCell,
  RnnLanguageModel,
  type RnnLmOptions,
  type SampleOptions,
  sampleTokens,
} from './models/rnnlm.js';
export {
  type DecoderState,
  type DecodeStep,
  type EncodedSource,
  Seq2Seq,
  type Seq2SeqAttention,
  type Seq2SeqCell,
  type Seq2SeqOptions,
  type TranslationModel,
} from './models/seq2seq.js';
export {
  attentionMap,
  type BeamOptions,
  type BleuDecoding,
  beamTranslate,
  greedyTranslate,
  translationBleu,
} from './models/translate.js';
export {
  TranslationTransformer,
  type TranslationTransformerOptions,
} from './models/translation-transformer.js';
export { VAE, type VaeOptions, type VaeSampleOptions } from './models/vae.js';
export * as nn from './nn/index.js';
export * from './ops/conv.js';
export * from './ops/elementwise.js';
export * from './ops/functional.js';
export * from './ops/indexing.js';
export * from './ops/linalg.js';
export * from './ops/losses.js';
export * from './ops/movement.js';
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
  type BeamSearchOptions,
  type BeamStep,
  type BeamStepResult,
  beamSearch,
  type Hypothesis,
} from './train/beam-search.js';
export { type BleuOptions, type BleuScore, type BleuSmoothing, corpusBleu } from './train/bleu.js';
