/** Pictures of tensors and training runs: PNG files, image grids, line charts. */
export { divergingColor, type ImageGridOptions, imageGrid, type Rgb, saveImageGrid } from './grid.js';
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
