/** Pictures of tensors and training runs: line charts, filter and feature-map figures, word maps, attention maps, PNG files. */
export {
  type AttentionFigureLayout,
  type AttentionFigureOptions,
  attentionFigure,
  type StripAttention,
  saveAttentionFigure,
  saveStripAttentionFigure,
  stripAttentionFigure,
} from './attention.js';
export {
  type FeatureFigureLayout,
  type FeatureFigureOptions,
  type FeaturePanel,
  featureFigure,
  saveFeatureFigure,
} from './features.js';
export {
  type FilterFigureLayout,
  type FilterFigureOptions,
  filterFigure,
  saveFilterFigure,
} from './filters.js';
export { divergingColor, type ImageGridOptions, imageGrid, type Rgb, saveImageGrid } from './grid.js';
export {
  type HeatMapFigureOptions,
  type HeatMapPanel,
  heatMapFigure,
  saveHeatMapFigure,
} from './heatmap.js';
export {
  type CurvesOptions,
  type EpochCurves,
  type LineChart,
  lineChartImage,
  lineChartSvg,
  type PlotOptions,
  type Reference,
  type Series,
  saveLineChart,
  saveTrainingCurves,
} from './plot.js';
export {
  decodePng,
  encodePng,
  type ImageBuffer,
  loadPng,
  type PixelOptions,
  type Pixels,
  savePng,
  toImageBuffer,
} from './png.js';
export { renderSvg } from './svg.js';
export { type Box, saveWordMap, type WordMapLayout, wordMapLayout } from './wordmap.js';
