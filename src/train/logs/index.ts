/** Training logs in the formats people already read: TensorBoard event files (scalars, histograms, images, text). */
export { type HistogramBins, type HistogramOptions, makeHistogram } from './histogram.js';
export {
  type AddHistogramOptions,
  type AddImageOptions,
  SummaryWriter,
  type SummaryWriterOptions,
} from './summary-writer.js';
