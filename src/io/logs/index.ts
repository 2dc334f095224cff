/**
 * Training logs in the formats people already read: JSON lines and CSV of every logged record, and
 * TensorBoard event files (scalars, histograms, images, text, hyperparameters). They are file writers,
 * beside checkpoints and safetensors in io/; the training engine's callbacks call them.
 */

export type { HistogramProto } from '../tensorboard.js';
export { CsvLogger, type CsvLoggerOptions } from './csv.js';
export { type HistogramBins, type HistogramOptions, makeHistogram } from './histogram.js';
export { JsonlLogger } from './jsonl.js';
export type { LineLoggerOptions, LogRecord, LogValue } from './lines.js';
export { addParameterHistograms, configMarkdown, type NamedParameters } from './model-logs.js';
export {
  type AddHistogramOptions,
  type AddHparamsOptions,
  type AddImageOptions,
  type Hparam,
  type ImageBytes,
  SummaryWriter,
  type SummaryWriterOptions,
} from './summary-writer.js';
