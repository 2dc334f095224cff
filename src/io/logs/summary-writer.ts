import { join } from 'node:path';
import { PNG } from 'pngjs';
import { checkArity, checkOptions, describe, fail, fmtShape } from '../../errors.js';
import { Tensor } from '../../tensor/tensor.js';
import {
  DataType,
  EventFileWriter,
  encodeHparamsPluginData,
  type HparamsPluginData,
  type HparamValue,
  type SummaryImage,
  type SummaryValue,
} from '../tensorboard.js';
import { type HistogramBins, makeHistogram } from './histogram.js';

export interface SummaryWriterOptions {
  /** Seconds between writes of queued events to the disk (default 120, as PyTorch). */
  flushSecs?: number;
  /** Events queued before they are written regardless of time (default 10, as PyTorch). */
  maxQueue?: number;
  /** Appended to the event files' names (default none). */
  filenameSuffix?: string;
}

export interface AddHistogramOptions {
  /** The buckets (default `'tensorflow'`): see {@link HistogramBins}. */
  bins?: HistogramBins;
  /** Merges neighbouring buckets until there are at most this many. */
  maxBins?: number;
  /** Seconds since 1970 (default now). */
  wallTime?: number;
}

export interface AddImageOptions {
  /** The axes of the tensor: `'CHW'` (default, as PyTorch), `'HWC'` or `'HW'` (grey). */
  dataformats?: 'CHW' | 'HWC' | 'HW';
  /** Seconds since 1970 (default now). */
  wallTime?: number;
}

/** A hyperparameter: a number, a string or a boolean (null: not set, left out). */
export type Hparam = number | string | boolean | null;

export interface AddHparamsOptions {
  /** The subdirectory of `logDir` the session goes to (default: the time in seconds, as PyTorch). */
  runName?: string;
  /** Every value a hyperparameter can take, for TensorBoard's filters: `{ optimizer: ['sgd', 'adam'] }`. */
  hparamDomainDiscrete?: Record<string, readonly (number | string | boolean)[]>;
}

function hparamValue(v: number | string | boolean): HparamValue {
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  return { boolValue: v };
}

/** The hparams plugin's type code of a value: 1 string, 2 bool, 3 float64. */
function hparamType(v: number | string | boolean): 1 | 2 | 3 {
  return typeof v === 'string' ? 1 : typeof v === 'boolean' ? 2 : 3;
}

function checkPlainObject(op: string, what: string, value: unknown): [string, unknown][] {
  const proto = value === null || typeof value !== 'object' ? undefined : Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null)
    fail(op, `${what} must be an object, got ${describe(value)}`);
  return Object.entries(value as object);
}

function checkTag(op: string, tag: unknown): string {
  if (typeof tag !== 'string' || tag === '') fail(op, `tag must be a non-empty string, got ${describe(tag)}`);
  return tag;
}

function checkStep(op: string, step: unknown): number {
  if (typeof step !== 'number' || !Number.isSafeInteger(step))
    fail(op, `step must be an integer (the global step), got ${describe(step)}`);
  return step;
}

function checkWallTime(op: string, wallTime: unknown): number {
  if (wallTime === undefined) return Date.now() / 1000;
  if (typeof wallTime !== 'number' || !Number.isFinite(wallTime))
    fail(op, `wallTime must be seconds since 1970 as a finite number, got ${describe(wallTime)}`);
  return wallTime;
}

function scalarValue(op: string, value: unknown, what: string): number {
  if (typeof value === 'number') return value;
  if (value instanceof Tensor && value.size === 1) return value.item();
  return fail(op, `${what} must be a number or a one-element Tensor, got ${describe(value)}`);
}

/** The values of a tensor or an array, as numbers. */
function numbers(op: string, values: unknown): ArrayLike<number> {
  if (values instanceof Tensor) return values.toTypedArray();
  if (Array.isArray(values) || (ArrayBuffer.isView(values) && !(values instanceof DataView))) {
    const array = values as ArrayLike<unknown>;
    for (let i = 0; i < array.length; i++)
      if (typeof array[i] !== 'number') fail(op, `values[${i}] is ${describe(array[i])}, expected a number`);
    return array as ArrayLike<number>;
  }
  return fail(op, `values must be a Tensor or an array of numbers, got ${describe(values)}`);
}

/**
 * A byte from an image value, as PyTorch writes images: int32 values are bytes already (0…255), floats
 * are intensities in [0, 1] scaled by 255 in float32 and truncated (out-of-range values are clamped,
 * where PyTorch's uint8 cast wraps them around).
 */
function imageByte(v: number, isFloat: boolean): number {
  if (isFloat) v = Math.trunc(Math.fround(Math.fround(v) * 255));
  return v > 0 ? Math.min(v, 255) : 0;
}

const COLORSPACE_TYPE = { 1: 0, 3: 2, 4: 6 } as const;

/**
 * 8-bit pixels: `height` rows of `width` pixels, each `channels` bytes (1 grey, 3 RGB, 4 RGBA) side by
 * side, as `data[(y * width + x) * channels + c]` — the layout of the pictures viz draws.
 */
export interface ImageBytes {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3 | 4;
  readonly data: Uint8Array;
}

/** A tensor image as bytes: the layout is read from `dataformats`, 1, 3 or 4 channels. */
function tensorPixels(op: string, img: Tensor, dataformats: unknown): ImageBytes {
  if (dataformats !== 'CHW' && dataformats !== 'HWC' && dataformats !== 'HW')
    fail(op, `dataformats must be 'CHW', 'HWC' or 'HW', got ${describe(dataformats)}`);
  if (img.rank !== dataformats.length)
    fail(
      op,
      `a '${dataformats}' image needs a ${dataformats.length}-d tensor, got shape ${fmtShape(img.shape)}; set dataformats to the tensor's layout`,
    );
  const axis = (c: string): number => (dataformats.includes(c) ? img.shape[dataformats.indexOf(c)]! : 1);
  const [height, width, channels] = [axis('H'), axis('W'), axis('C')];
  if (channels !== 1 && channels !== 3 && channels !== 4)
    fail(
      op,
      `an image has 1, 3 or 4 channels, got ${channels} (shape ${fmtShape(img.shape)}, '${dataformats}')`,
    );
  if (height === 0 || width === 0) fail(op, `the image is empty (shape ${fmtShape(img.shape)})`);
  const values = img.toTypedArray();
  const isFloat = img.dtype !== 'int32';
  if (!isFloat) {
    const badAt = values.findIndex((v) => v < 0 || v > 255);
    if (badAt >= 0)
      fail(op, `an int32 image holds bytes 0…255, got ${values[badAt]}; pass floats in [0, 1] or clamp it`);
  }
  // Strides of the H, W and C axes in the row-major values, from the layout.
  const dims = [...dataformats];
  const stride = (c: string): number => {
    const at = dims.indexOf(c);
    return at < 0 ? 0 : img.shape.slice(at + 1).reduce((a, b) => a * b, 1);
  };
  const [sh, sw, sc] = [stride('H'), stride('W'), stride('C')];
  const data = new Uint8Array(height * width * channels);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < channels; c++)
        data[(y * width + x) * channels + c] = imageByte(values[y * sh + x * sw + c * sc]!, isFloat);
  return { width, height, channels, data };
}

function checkImageBytes(op: string, img: unknown, dataformats: unknown): ImageBytes {
  const { width, height, channels, data } = img as ImageBytes;
  if (!(data instanceof Uint8Array)) fail(op, `img must be a Tensor or 8-bit pixels, got ${describe(img)}`);
  if (dataformats !== undefined && dataformats !== 'HWC')
    fail(op, `8-bit pixels are laid out 'HWC'; dataformats '${String(dataformats)}' applies to tensors only`);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
    fail(op, `width and height must be positive integers, got ${describe(width)}×${describe(height)}`);
  if (channels !== 1 && channels !== 3 && channels !== 4)
    fail(op, `an image has 1, 3 or 4 channels, got ${describe(channels)}`);
  if (data.length !== width * height * channels)
    fail(
      op,
      `a ${width}×${height} image with ${channels} channels needs ${width * height * channels} bytes, got ${data.length}`,
    );
  return { width, height, channels, data };
}

/** PNG-encodes pixels as a `Summary.Image` (colorspace: the number of channels). */
function encodeImage({ width, height, channels, data }: ImageBytes): SummaryImage {
  const png = new PNG({ width, height });
  png.data = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const colorType = COLORSPACE_TYPE[channels];
  const encoded = PNG.sync.write(png, {
    colorType,
    inputColorType: colorType,
    inputHasAlpha: channels === 4,
  });
  return { height, width, colorspace: channels, encodedImageString: new Uint8Array(encoded) };
}

/**
 * Writes TensorBoard event files into `logDir`, with the names and behaviour of PyTorch's
 * `torch.utils.tensorboard.SummaryWriter`: scalars, groups of scalars, histograms, images and text,
 * each at a global step. Events are queued and written every `flushSecs`, every `maxQueue` events, on
 * `flush()`/`close()` and when the process exits; a write failure (a full disk) is a StrataError naming
 * the file. Open the directory with `tensorboard --logdir DIR`.
 *
 *     const writer = new SummaryWriter('runs/mnist')
 *     writer.addScalar('loss/train', 0.25, 100)
 *     writer.addHistogram('fc1.weight', model.fc1.weight, 100)
 *     writer.addImage('filters/conv1', viz.imageGrid(model.conv1.weight, { scale: 4 }), 100)
 *     writer.addText('config', '`lr` 0.1, `epochs` 10', 0)
 *     writer.close()
 */
export class SummaryWriter {
  readonly logDir: string;
  private readonly options: SummaryWriterOptions;
  private readonly file: EventFileWriter;
  /** The writers of `addScalars`, one per series, in subdirectories of `logDir` (as PyTorch). */
  private readonly series = new Map<string, EventFileWriter>();

  constructor(logDir: string, options?: SummaryWriterOptions) {
    const op = 'SummaryWriter';
    checkArity(op, arguments, 2, "new SummaryWriter(logDir, { flushSecs: 30, filenameSuffix: '.v2' })");
    if (typeof logDir !== 'string' || logDir === '')
      fail(op, `logDir must be a directory path, got ${describe(logDir)}`);
    this.options = checkOptions(op, options, ['flushSecs', 'maxQueue', 'filenameSuffix']);
    this.logDir = logDir;
    this.file = new EventFileWriter(op, logDir, this.options);
  }

  /** The path of the event file this writer writes (the `addScalars` series have their own). */
  get path(): string {
    return this.file.path;
  }

  /**
   * Logs one scalar (a float32 `simple_value`, as PyTorch and TensorBoard store them).
   *
   *     writer.addScalar('loss', loss.item(), step)
   */
  addScalar(tag: string, value: number | Tensor, step: number, wallTime?: number): void {
    const op = 'addScalar';
    checkArity(op, arguments, 4, 'addScalar(tag, value, step, wallTime)');
    this.add(this.file, op, step, wallTime, {
      tag: checkTag(op, tag),
      simpleValue: scalarValue(op, value, 'value'),
    });
  }

  /**
   * Logs several scalars to be drawn on one chart, as PyTorch does: each key gets its own event file in
   * the subdirectory `<logDir>/<mainTag>_<key>` (TensorBoard shows it as a run), under the tag `mainTag`.
   *
   *     writer.addScalars('loss', { train: 0.31, validation: 0.42 }, epoch)
   */
  addScalars(
    mainTag: string,
    values: Record<string, number | Tensor>,
    step: number,
    wallTime?: number,
  ): void {
    const op = 'addScalars';
    checkArity(op, arguments, 4, 'addScalars(mainTag, { train: 0.3, test: 0.4 }, step, wallTime)');
    checkTag(op, mainTag);
    checkStep(op, step);
    if (values === null || typeof values !== 'object' || Array.isArray(values))
      fail(op, `values must be an object of named scalars, got ${describe(values)}`);
    const time = checkWallTime(op, wallTime);
    // Every value is checked before any is logged, so that a bad one leaves no series half-written.
    const scalars = Object.entries(values).map(([key, v]): [string, number] => [
      key,
      scalarValue(op, v, `values.${key}`),
    ]);
    for (const [key, simpleValue] of scalars) {
      const dir = join(this.logDir, `${mainTag.replaceAll('/', '_')}_${key}`);
      let file = this.series.get(dir);
      if (!file) {
        file = new EventFileWriter(op, dir, this.options);
        this.series.set(dir, file);
      }
      this.add(file, op, step, time, { tag: mainTag, simpleValue });
    }
  }

  /**
   * Logs the distribution of `values` (weights, gradients, activations) as a TensorBoard histogram; see
   * {@link makeHistogram} for the buckets. Values must be finite.
   *
   *     for (const [name, p] of model.namedParameters()) writer.addHistogram(name, p, step)
   */
  addHistogram(
    tag: string,
    values: Tensor | ArrayLike<number>,
    step: number,
    options?: AddHistogramOptions,
  ): void {
    const op = 'addHistogram';
    checkArity(op, arguments, 4, "addHistogram(tag, values, step, { bins: 'tensorflow', maxBins: 64 })");
    const { bins, maxBins, wallTime } = checkOptions(op, options, ['bins', 'maxBins', 'wallTime']);
    checkTag(op, tag);
    const histo = makeHistogram(numbers(op, values), { bins: bins ?? 'tensorflow', maxBins }, op);
    this.add(this.file, op, step, wallTime, { tag, histo });
  }

  /**
   * Logs an image, PNG-encoded: a tensor laid out as `dataformats` says (`'CHW'` by default) with 1, 3 or
   * 4 channels, floats being intensities in [0, 1] and int32 values bytes in 0…255 (see PyTorch's
   * `add_image`); or 8-bit pixels as they are, such as a picture from viz.
   *
   *     writer.addImage('digit', x.reshape([1, 28, 28]), step)
   *     writer.addImage('filters/conv1', viz.imageGrid(model.conv1.weight, { scale: 4 }), step)
   */
  addImage(tag: string, img: Tensor | ImageBytes, step: number, options?: AddImageOptions): void {
    const op = 'addImage';
    checkArity(op, arguments, 4, "addImage(tag, img, step, { dataformats: 'HWC' })");
    const { dataformats, wallTime } = checkOptions(op, options, ['dataformats', 'wallTime']);
    checkTag(op, tag);
    const pixels =
      img instanceof Tensor
        ? tensorPixels(op, img, dataformats ?? 'CHW')
        : checkImageBytes(op, img, dataformats);
    this.add(this.file, op, step, wallTime, { tag, image: encodeImage(pixels) });
  }

  /**
   * Logs a text (Markdown, as TensorBoard's text tab renders it) the way PyTorch does: a string tensor
   * for the 'text' plugin under the tag `<tag>/text_summary`.
   *
   *     writer.addText('config', JSON.stringify(config), 0)
   */
  addText(tag: string, text: string, step: number, wallTime?: number): void {
    const op = 'addText';
    checkArity(op, arguments, 4, 'addText(tag, text, step, wallTime)');
    checkTag(op, tag);
    if (typeof text !== 'string') fail(op, `text must be a string, got ${describe(text)}`);
    this.add(this.file, op, step, wallTime, {
      tag: `${tag}/text_summary`,
      metadata: { pluginData: { pluginName: 'text', content: new Uint8Array(0) } },
      tensor: {
        dtype: DataType.string,
        tensorShape: { dim: [{ size: 1 }] },
        stringVal: [new TextEncoder().encode(text)],
      },
    });
  }

  /**
   * Logs one training session's hyperparameters and final metrics for TensorBoard's HParams tab, as
   * PyTorch's `add_hparams` does: the experiment, session start and session end summaries of the hparams
   * plugin and one scalar per metric, at step 0, in the subdirectory `runName` of `logDir`. Each
   * session of a sweep calls it once (with its own runName), so TensorBoard lists them side by side.
   * Booleans are stored as booleans (PyTorch stores them as numbers); null values are left out.
   *
   *     writer.addHparams({ lr: 0.1, optimizer: 'sgd', batchSize: 64 }, { 'hparam/accuracy': 0.97 }, { runName: 'lr0.1' })
   */
  addHparams(
    hparams: Record<string, Hparam>,
    metrics: Record<string, number | Tensor>,
    options?: AddHparamsOptions,
  ): void {
    const op = 'addHparams';
    checkArity(
      op,
      arguments,
      3,
      "addHparams(hparams, metrics, { runName: 'trial-1', hparamDomainDiscrete: {...} })",
    );
    const { runName, hparamDomainDiscrete = {} } = checkOptions(op, options, [
      'runName',
      'hparamDomainDiscrete',
    ]);
    const values = checkPlainObject(op, 'hparams', hparams).filter(([, v]) => v !== null);
    for (const [k, v] of values) {
      if (typeof v !== 'number' && typeof v !== 'string' && typeof v !== 'boolean')
        fail(op, `hparams.${k} is ${describe(v)}; a hyperparameter is a number, a string, a boolean or null`);
    }
    const set = values as [string, number | string | boolean][];
    const domains = checkPlainObject(op, 'hparamDomainDiscrete', hparamDomainDiscrete);
    for (const [k, domain] of domains) {
      const value = set.find(([name]) => name === k)?.[1];
      if (value === undefined) fail(op, `hparamDomainDiscrete.${k} names no hyperparameter given in hparams`);
      if (!Array.isArray(domain) || domain.some((d) => typeof d !== typeof value))
        fail(op, `hparamDomainDiscrete.${k} must be an array of ${typeof value}s, as hparams.${k} is`);
    }
    const scalars = checkPlainObject(op, 'metrics', metrics).map(([k, v]): [string, number] => [
      checkTag(op, k),
      scalarValue(op, v, `metrics.${k}`),
    ]);
    const run = runName ?? String(Date.now() / 1000);
    if (typeof run !== 'string' || run === '')
      fail(op, `runName must be a non-empty string, got ${describe(run)}`);

    const domainOf = new Map(domains as [string, (number | string | boolean)[]][]);
    const plugin = (data: Omit<HparamsPluginData, 'version'>, tag: string): SummaryValue => ({
      tag,
      metadata: {
        pluginData: { pluginName: 'hparams', content: encodeHparamsPluginData({ version: 0, ...data }) },
      },
    });
    const session = new EventFileWriter(op, join(this.logDir, run), this.options);
    const now = Date.now() / 1000;
    const summaries: SummaryValue[] = [
      plugin(
        {
          experiment: {
            hparamInfos: set.map(([name, v]) => {
              const domain = domainOf.get(name);
              return {
                name,
                type: hparamType(v),
                ...(domain ? { domainDiscrete: { values: domain.map(hparamValue) } } : {}),
              };
            }),
            metricInfos: scalars.map(([tag]) => ({ name: { tag } })),
          },
        },
        '_hparams_/experiment',
      ),
      plugin(
        { sessionStartInfo: { hparams: Object.fromEntries(set.map(([k, v]) => [k, hparamValue(v)])) } },
        '_hparams_/session_start_info',
      ),
      plugin({ sessionEndInfo: { status: 1 } }, '_hparams_/session_end_info'),
      ...scalars.map(([tag, simpleValue]) => ({ tag, simpleValue })),
    ];
    for (const value of summaries) session.add({ wallTime: now, step: 0, summary: { value: [value] } });
    session.close();
  }

  /** Writes every queued event to the disk. */
  flush(): void {
    this.file.flush();
    for (const file of this.series.values()) file.flush();
  }

  /** Writes what is queued and closes the files. Closing twice is harmless; logging after it fails. */
  close(): void {
    this.file.close();
    for (const file of this.series.values()) file.close();
  }

  private add(
    file: EventFileWriter,
    op: string,
    step: number,
    wallTime: number | undefined,
    value: SummaryValue,
  ) {
    file.add({
      wallTime: checkWallTime(op, wallTime),
      step: checkStep(op, step),
      summary: { value: [value] },
    });
  }
}
