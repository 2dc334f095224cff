import { checkArity, checkOptions, fail, fmtShape } from '../errors.js';
import {
  type AdaptiveSize,
  type AvgPoolOptions,
  adaptiveAvgPoolNd,
  adaptiveMaxPoolNd,
  avgPoolNd,
  type ConvNdOptions,
  convNd,
  convTransposeNd,
  type MaxPoolOptions,
  maxPoolNd,
  type PaddingMode,
  type PoolOptions,
  type Size,
} from '../ops/conv.js';
import { zeros } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  checkBoolean,
  checkInput,
  checkPositive,
  checkSize,
  layerOptions,
  type ParamDType,
  paramDType,
} from './checks.js';
import { kaimingUniform_, uniform_ } from './init.js';
import { Module, Parameter } from './module.js';

/** Options as toString shows them after the positional arguments: `, stride=2, ceilMode=true`. */
function reprOptions(options: object, skip: readonly string[] = []): string {
  return Object.entries(options)
    .filter(([k, v]) => v !== undefined && !skip.includes(k))
    .map(([k, v]) => `, ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join('');
}

function sizes(v: Size, dims: number): number[] {
  return typeof v === 'number' ? new Array<number>(dims).fill(v) : [...v];
}

/**
 * PyTorch's default initialisation for convolutions, as for Linear: weight U(±1/sqrt(fan_in))
 * (Kaiming-uniform with a = sqrt(5), fan_in from the weight's second axis) and bias [out] U(±1/sqrt(fan_in)).
 */
function initConv(weight: Parameter, out: number, bias: boolean): Parameter | null {
  kaimingUniform_(weight, { a: Math.sqrt(5) });
  const fanIn = weight.shape.slice(1).reduce((a, b) => a * b, 1);
  const bound = 1 / Math.sqrt(fanIn);
  return bias ? new Parameter(uniform_(zeros([out], { dtype: weight.dtype }), -bound, bound)) : null;
}

/** Checks the hyper-parameters that convolutions and transposed convolutions share. */
function checkConv(
  name: string,
  dims: number,
  inChannels: number,
  outChannels: number,
  kernelSize: Size,
  o: { stride?: Size; dilation?: Size; groups?: number; bias?: boolean },
): number[] {
  checkPositive(name, 'inChannels', inChannels);
  checkPositive(name, 'outChannels', outChannels);
  const groups = checkPositive(name, 'groups', o.groups ?? 1);
  if (inChannels % groups !== 0 || outChannels % groups !== 0) {
    fail(name, `groups ${groups} must divide inChannels ${inChannels} and outChannels ${outChannels}`);
  }
  checkSize(name, 'kernelSize', kernelSize, dims, 1);
  checkSize(name, 'stride', o.stride ?? 1, dims, 1);
  checkSize(name, 'dilation', o.dilation ?? 1, dims, 1);
  checkBoolean(name, 'bias', o.bias);
  return sizes(kernelSize, dims);
}

export interface ConvLayerOptions extends ConvNdOptions {
  bias?: boolean;
  /** How the padding is filled (default 'zeros'), PyTorch's padding_mode. */
  paddingMode?: PaddingMode;
  /** The parameters' dtype (default float32). */
  dtype?: ParamDType;
}

const CONV_POSITIONAL = ['stride', 'padding', 'dilation', 'groups', 'bias', 'paddingMode'];
const CONV_KEYS = ['stride', 'padding', 'dilation', 'groups', 'bias', 'paddingMode', 'dtype'] as const;

/** Convolution over `dims` spatial axes: weight [out, in/groups, ...kernel], bias [out]. */
export class ConvNd extends Module {
  weight: Parameter;
  bias: Parameter | null;
  readonly options: ConvLayerOptions;

  constructor(
    private readonly dims: number,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: Size,
    options: ConvLayerOptions = {},
  ) {
    super();
    const name = this.constructor.name;
    const o = layerOptions<ConvLayerOptions>(
      name,
      [inChannels, outChannels, kernelSize, options],
      3,
      options,
      [],
      [...CONV_KEYS],
    );
    const k = checkConv(name, dims, inChannels, outChannels, kernelSize, o);
    const { padding = 0, paddingMode = 'zeros' } = o;
    if (typeof padding !== 'string') checkSize(name, 'padding', padding, dims, 0);
    else if (padding !== 'same' && padding !== 'valid')
      fail(name, `padding must be a size, 'same' or 'valid', got '${padding}'`);
    else if (padding === 'same' && sizes(o.stride ?? 1, dims).some((v) => v !== 1))
      fail(name, "padding 'same' needs stride 1 (a strided convolution cannot keep the size)");
    if (!['zeros', 'reflect', 'replicate', 'circular'].includes(paddingMode))
      fail(name, `paddingMode must be 'zeros', 'reflect', 'replicate' or 'circular', got '${paddingMode}'`);
    this.options = o;
    const groups = o.groups ?? 1;
    const dtype = paramDType(name, o.dtype);
    this.weight = new Parameter(zeros([outChannels, inChannels / groups, ...k], { dtype }));
    this.bias = initConv(this.weight, outChannels, o.bias ?? true);
  }

  forward(x: Tensor): Tensor {
    return this.forwardWith(x, 'none');
  }

  /** forward followed by an activation, fused into one op (Sequential uses it for a convolution then ReLU). */
  forwardWith(x: Tensor, activation: 'none' | 'relu'): Tensor {
    const name = this.constructor.name;
    checkInput(name, x);
    const { bias: _, dtype: __, ...o } = this.options;
    return convNd(name, x, this.weight, this.bias, this.dims, o, activation);
  }

  protected override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=${JSON.stringify(this.kernelSize)}${reprOptions(this.options, ['dtype'])}`;
  }
}

/**
 * PyTorch's Conv1d over x [N, C, L]. Options by name:
 *
 *     new Conv1d(16, 32, 3, { stride: 2, padding: 1, paddingMode: 'reflect' })
 */
export class Conv1d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: Size, options?: ConvLayerOptions) {
    layerOptions('Conv1d', arguments, 3, options, CONV_POSITIONAL, [...CONV_KEYS]);
    super(1, inChannels, outChannels, kernelSize, options);
  }
}

/**
 * PyTorch's Conv2d over x [N, C, H, W]. Options by name:
 *
 *     new Conv2d(4, 6, 3, { stride: 2, padding: 1 })
 */
export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: Size, options?: ConvLayerOptions) {
    layerOptions('Conv2d', arguments, 3, options, CONV_POSITIONAL, [...CONV_KEYS]);
    super(2, inChannels, outChannels, kernelSize, options);
  }
}

/** PyTorch's Conv3d over x [N, C, D, H, W]. */
export class Conv3d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: Size, options?: ConvLayerOptions) {
    layerOptions('Conv3d', arguments, 3, options, CONV_POSITIONAL, [...CONV_KEYS]);
    super(3, inChannels, outChannels, kernelSize, options);
  }
}

export interface ConvTransposeLayerOptions {
  stride?: Size;
  padding?: Size;
  /** Extra size on one side of each output axis, to pick among the input sizes a strided convolution maps to one size. */
  outputPadding?: Size;
  groups?: number;
  bias?: boolean;
  dilation?: Size;
  /** The parameters' dtype (default float32). */
  dtype?: ParamDType;
}

const TRANSPOSE_POSITIONAL = [
  'stride',
  'padding',
  'outputPadding',
  'groups',
  'bias',
  'dilation',
  'paddingMode',
];
const TRANSPOSE_KEYS = ['stride', 'padding', 'outputPadding', 'groups', 'bias', 'dilation', 'dtype'] as const;

export interface ConvTransposeForwardOptions {
  /**
   * The output's spatial size (or its whole shape): a strided convolution maps several input sizes to
   * one, and this picks which of them to produce (PyTorch's output_size; it sets outputPadding).
   */
  outputSize?: readonly number[];
}

/**
 * The transpose of a convolution over `dims` axes (a "deconvolution"), PyTorch's layout:
 * weight [in, out/groups, ...kernel], bias [out].
 */
export class ConvTransposeNd extends Module<[Tensor, ConvTransposeForwardOptions?], Tensor> {
  weight: Parameter;
  bias: Parameter | null;
  readonly options: ConvTransposeLayerOptions;

  constructor(
    private readonly dims: number,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: Size,
    options: ConvTransposeLayerOptions = {},
  ) {
    super();
    const name = this.constructor.name;
    const o = layerOptions<ConvTransposeLayerOptions>(
      name,
      [inChannels, outChannels, kernelSize, options],
      3,
      options,
      [],
      [...TRANSPOSE_KEYS],
    );
    const k = checkConv(name, dims, inChannels, outChannels, kernelSize, o);
    checkSize(name, 'padding', o.padding ?? 0, dims, 0);
    checkSize(name, 'outputPadding', o.outputPadding ?? 0, dims, 0);
    this.options = o;
    const groups = o.groups ?? 1;
    const dtype = paramDType(name, o.dtype);
    this.weight = new Parameter(zeros([inChannels, outChannels / groups, ...k], { dtype }));
    this.bias = initConv(this.weight, outChannels, o.bias ?? true);
  }

  forward(x: Tensor, options?: ConvTransposeForwardOptions): Tensor {
    const name = this.constructor.name;
    checkInput(name, x);
    const form = `${name}.forward(x, { outputSize: [${this.dims === 1 ? 'L' : this.dims === 2 ? 'H, W' : 'D, H, W'}] })`;
    checkArity(name, arguments, 2, form);
    const { outputSize } = checkOptions(name, options, ['outputSize'], form);
    const { bias: _, dtype: __, ...o } = this.options;
    const padding = outputSize === undefined ? undefined : this.outputPadding(name, x, outputSize);
    if (padding) o.outputPadding = padding;
    return convTransposeNd(name, x, this.weight, this.bias, this.dims, o);
  }

  protected override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=${JSON.stringify(this.kernelSize)}${reprOptions(this.options, ['dtype'])}`;
  }

  /**
   * The outputPadding that gives `outputSize`: its excess over the smallest output, below the stride.
   * As in PyTorch, outputSize may lead with the non-spatial axes: N and C for batched input, C for
   * unbatched. Undefined for input of the wrong rank, which convTransposeNd then reports.
   */
  private outputPadding(name: string, x: Tensor, outputSize: readonly number[]): number[] | undefined {
    const dims = this.dims;
    const lead = x.rank - dims;
    if (lead !== 1 && lead !== 2) return undefined;
    const size =
      Array.isArray(outputSize) && outputSize.length === lead + dims ? outputSize.slice(lead) : outputSize;
    if (!Array.isArray(size) || size.length !== dims || size.some((v) => !Number.isInteger(v)))
      fail(
        name,
        `outputSize must be ${dims} integers (or ${dims + lead} with ${lead === 2 ? 'N and C' : 'C'} for ${x.rank}-D input), got ${JSON.stringify(outputSize)}`,
      );
    const expand = (v: Size | undefined, fill: number) => sizes(v ?? fill, dims);
    const [stride, padding, dilation] = [
      expand(this.options.stride, 1),
      expand(this.options.padding, 0),
      expand(this.options.dilation, 1),
    ];
    const kernel = this.weight.shape.slice(2);
    return size.map((want, i) => {
      const min =
        (x.shape[i + lead]! - 1) * stride[i]! - 2 * padding[i]! + dilation[i]! * (kernel[i]! - 1) + 1;
      if (want < min || want > min + stride[i]! - 1)
        fail(
          name,
          `outputSize ${JSON.stringify(outputSize)} cannot come from input ${fmtShape(x.shape)}: axis ${i} can be ${min} to ${min + stride[i]! - 1}, got ${want}`,
        );
      return want - min;
    });
  }
}

/** PyTorch's ConvTranspose1d over x [N, C, L]. */
export class ConvTranspose1d extends ConvTransposeNd {
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: Size,
    options?: ConvTransposeLayerOptions,
  ) {
    layerOptions('ConvTranspose1d', arguments, 3, options, TRANSPOSE_POSITIONAL, [...TRANSPOSE_KEYS]);
    super(1, inChannels, outChannels, kernelSize, options);
  }
}

/**
 * PyTorch's ConvTranspose2d over x [N, C, H, W]; doubling a feature map:
 *
 *     new ConvTranspose2d(64, 32, 3, { stride: 2, padding: 1, outputPadding: 1 })
 */
export class ConvTranspose2d extends ConvTransposeNd {
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: Size,
    options?: ConvTransposeLayerOptions,
  ) {
    layerOptions('ConvTranspose2d', arguments, 3, options, TRANSPOSE_POSITIONAL, [...TRANSPOSE_KEYS]);
    super(2, inChannels, outChannels, kernelSize, options);
  }
}

/** PyTorch's ConvTranspose3d over x [N, C, D, H, W]. */
export class ConvTranspose3d extends ConvTransposeNd {
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: Size,
    options?: ConvTransposeLayerOptions,
  ) {
    layerOptions('ConvTranspose3d', arguments, 3, options, TRANSPOSE_POSITIONAL, [...TRANSPOSE_KEYS]);
    super(3, inChannels, outChannels, kernelSize, options);
  }
}

/** Checks a pooling layer's window hyper-parameters when it is built rather than on its first input. */
function checkPool(name: string, dims: number, kernelSize: Size, o: PoolOptions): void {
  checkSize(name, 'kernelSize', kernelSize, dims, 1);
  checkSize(name, 'stride', o.stride ?? kernelSize, dims, 1);
  checkSize(name, 'padding', o.padding ?? 0, dims, 0);
  checkSize(name, 'dilation', o.dilation ?? 1, dims, 1);
  checkBoolean(name, 'ceilMode', o.ceilMode);
  const k = sizes(kernelSize, dims);
  sizes(o.padding ?? 0, dims).forEach((p, i) => {
    if (p * 2 > k[i]!) fail(name, `padding ${p} must be at most half the kernel size ${k[i]}`);
  });
}

const MAX_POOL_POSITIONAL = ['stride', 'padding', 'dilation', 'returnIndices', 'ceilMode'];
const MAX_POOL_KEYS = ['stride', 'padding', 'dilation', 'ceilMode', 'returnIndices'] as const;

/** What a max pooling layer returns: the values, or with `returnIndices: true` [values, int32 positions]. */
export type Pooled<R extends boolean> = R extends true ? [Tensor, Tensor] : Tensor;

/** Max pooling over 1, 2 or 3 spatial axes; the stride defaults to the kernel size. */
class MaxPoolNd<R extends boolean> extends Module<[Tensor], Pooled<R>> {
  readonly options: MaxPoolOptions;

  constructor(
    private readonly dims: number,
    readonly kernelSize: Size,
    options: MaxPoolOptions & { returnIndices?: R } = {},
  ) {
    super();
    const name = this.constructor.name;
    this.options = layerOptions<MaxPoolOptions>(
      name,
      [kernelSize, options],
      1,
      options,
      [],
      [...MAX_POOL_KEYS],
    );
    checkPool(name, dims, kernelSize, this.options);
    checkBoolean(name, 'returnIndices', this.options.returnIndices);
  }

  forward(x: Tensor): Pooled<R> {
    return maxPoolNd(this.constructor.name, x, this.dims, this.kernelSize, this.options) as Pooled<R>;
  }

  protected override extraRepr(): string {
    return `kernelSize=${JSON.stringify(this.kernelSize)}${reprOptions(this.options)}`;
  }
}

/**
 * PyTorch's MaxPool1d over x [N, C, L]:
 *
 *     new MaxPool1d(3, { stride: 2, ceilMode: true })
 */
export class MaxPool1d<R extends boolean = false> extends MaxPoolNd<R> {
  constructor(kernelSize: Size, options?: MaxPoolOptions & { returnIndices?: R }) {
    layerOptions('MaxPool1d', arguments, 1, options, MAX_POOL_POSITIONAL, [...MAX_POOL_KEYS]);
    super(1, kernelSize, options);
  }
}

/**
 * PyTorch's MaxPool2d over x [N, C, H, W]; with `returnIndices`, also where each maximum was:
 *
 *     const [y, indices] = new MaxPool2d(2, { returnIndices: true }).forward(x);
 */
export class MaxPool2d<R extends boolean = false> extends MaxPoolNd<R> {
  constructor(kernelSize: Size, options?: MaxPoolOptions & { returnIndices?: R }) {
    layerOptions('MaxPool2d', arguments, 1, options, MAX_POOL_POSITIONAL, [...MAX_POOL_KEYS]);
    super(2, kernelSize, options);
  }
}

/** PyTorch's MaxPool3d over x [N, C, D, H, W]. */
export class MaxPool3d<R extends boolean = false> extends MaxPoolNd<R> {
  constructor(kernelSize: Size, options?: MaxPoolOptions & { returnIndices?: R }) {
    layerOptions('MaxPool3d', arguments, 1, options, MAX_POOL_POSITIONAL, [...MAX_POOL_KEYS]);
    super(3, kernelSize, options);
  }
}

const AVG_POOL_POSITIONAL = ['stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride'];
// PyTorch's AvgPool1d has no divisor_override.
const AVG_POOL_1D_KEYS = ['stride', 'padding', 'ceilMode', 'countIncludePad'] as const;
const AVG_POOL_KEYS = [...AVG_POOL_1D_KEYS, 'divisorOverride'] as const;

/** Average pooling over 1, 2 or 3 spatial axes; padding counts as zeros unless `countIncludePad: false`. */
class AvgPoolNd extends Module {
  readonly options: AvgPoolOptions;

  constructor(
    private readonly dims: number,
    readonly kernelSize: Size,
    options: AvgPoolOptions = {},
  ) {
    super();
    const name = this.constructor.name;
    const keys = dims === 1 ? AVG_POOL_1D_KEYS : AVG_POOL_KEYS;
    this.options = layerOptions<AvgPoolOptions>(name, [kernelSize, options], 1, options, [], [...keys]);
    checkPool(name, dims, kernelSize, this.options);
    checkBoolean(name, 'countIncludePad', this.options.countIncludePad);
    const d = this.options.divisorOverride;
    if (d !== undefined) checkPositive(name, 'divisorOverride', d);
  }

  forward(x: Tensor): Tensor {
    return avgPoolNd(this.constructor.name, x, this.dims, this.kernelSize, this.options);
  }

  protected override extraRepr(): string {
    return `kernelSize=${JSON.stringify(this.kernelSize)}${reprOptions(this.options)}`;
  }
}

/** PyTorch's AvgPool1d over x [N, C, L]. */
export class AvgPool1d extends AvgPoolNd {
  constructor(kernelSize: Size, options?: Omit<AvgPoolOptions, 'divisorOverride'>) {
    layerOptions('AvgPool1d', arguments, 1, options, AVG_POOL_POSITIONAL, [...AVG_POOL_1D_KEYS]);
    super(1, kernelSize, options);
  }
}

/**
 * PyTorch's AvgPool2d over x [N, C, H, W]:
 *
 *     new AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false })
 */
export class AvgPool2d extends AvgPoolNd {
  constructor(kernelSize: Size, options?: AvgPoolOptions) {
    layerOptions('AvgPool2d', arguments, 1, options, AVG_POOL_POSITIONAL, [...AVG_POOL_KEYS]);
    super(2, kernelSize, options);
  }
}

/** PyTorch's AvgPool3d over x [N, C, D, H, W]. */
export class AvgPool3d extends AvgPoolNd {
  constructor(kernelSize: Size, options?: AvgPoolOptions) {
    layerOptions('AvgPool3d', arguments, 1, options, AVG_POOL_POSITIONAL, [...AVG_POOL_KEYS]);
    super(3, kernelSize, options);
  }
}

function checkAdaptive(name: string, dims: number, outputSize: AdaptiveSize): void {
  const list = typeof outputSize === 'number' ? [outputSize] : Array.isArray(outputSize) ? outputSize : null;
  if (
    !list ||
    (typeof outputSize !== 'number' && list.length !== dims) ||
    list.some((v) => v !== null && (typeof v !== 'number' || !Number.isInteger(v) || v < 1))
  ) {
    fail(
      name,
      `outputSize must be a positive integer${dims > 1 ? ` or ${dims} of them (null keeps an axis's size)` : ''}, got ${JSON.stringify(outputSize)}`,
    );
  }
}

/** Averages into a fixed output size whatever the input size, over PyTorch's bins. */
class AdaptiveAvgPoolNd extends Module {
  constructor(
    private readonly dims: number,
    readonly outputSize: AdaptiveSize,
  ) {
    super();
    checkAdaptive(this.constructor.name, dims, outputSize);
  }

  forward(x: Tensor): Tensor {
    return adaptiveAvgPoolNd(this.constructor.name, x, this.dims, this.outputSize);
  }

  protected override extraRepr(): string {
    return `outputSize=${JSON.stringify(this.outputSize)}`;
  }
}

/** PyTorch's AdaptiveAvgPool1d: x [N, C, L] to [N, C, outputSize]. */
export class AdaptiveAvgPool1d extends AdaptiveAvgPoolNd {
  constructor(outputSize: AdaptiveSize) {
    layerOptions('AdaptiveAvgPool1d', arguments, 1, undefined, [], []);
    super(1, outputSize);
  }
}

/** PyTorch's AdaptiveAvgPool2d: x [N, C, H, W] to [N, C, ...outputSize]; AdaptiveAvgPool2d(1) is global average pooling. */
export class AdaptiveAvgPool2d extends AdaptiveAvgPoolNd {
  constructor(outputSize: AdaptiveSize) {
    layerOptions('AdaptiveAvgPool2d', arguments, 1, undefined, [], []);
    super(2, outputSize);
  }
}

/** PyTorch's AdaptiveAvgPool3d: x [N, C, D, H, W] to [N, C, ...outputSize]. */
export class AdaptiveAvgPool3d extends AdaptiveAvgPoolNd {
  constructor(outputSize: AdaptiveSize) {
    layerOptions('AdaptiveAvgPool3d', arguments, 1, undefined, [], []);
    super(3, outputSize);
  }
}

export interface AdaptiveMaxPoolOptions<R extends boolean = boolean> {
  /** Also return each maximum's flat position in its input plane (int32), PyTorch's return_indices. */
  returnIndices?: R;
}

/** The maximum of each of PyTorch's adaptive bins; with `returnIndices`, [values, indices]. */
class AdaptiveMaxPoolNd<R extends boolean> extends Module<[Tensor], Pooled<R>> {
  readonly returnIndices: boolean;

  constructor(
    private readonly dims: number,
    readonly outputSize: AdaptiveSize,
    options: AdaptiveMaxPoolOptions<R> = {},
  ) {
    super();
    const name = this.constructor.name;
    checkAdaptive(name, dims, outputSize);
    const o = layerOptions<AdaptiveMaxPoolOptions>(
      name,
      [outputSize, options],
      1,
      options,
      [],
      ['returnIndices'],
    );
    checkBoolean(name, 'returnIndices', o.returnIndices);
    this.returnIndices = o.returnIndices ?? false;
  }

  forward(x: Tensor): Pooled<R> {
    return adaptiveMaxPoolNd(
      this.constructor.name,
      x,
      this.dims,
      this.outputSize,
      this.returnIndices,
    ) as Pooled<R>;
  }

  protected override extraRepr(): string {
    return `outputSize=${JSON.stringify(this.outputSize)}${this.returnIndices ? ', returnIndices=true' : ''}`;
  }
}

/** PyTorch's AdaptiveMaxPool1d: x [N, C, L] to [N, C, outputSize]. */
export class AdaptiveMaxPool1d<R extends boolean = false> extends AdaptiveMaxPoolNd<R> {
  constructor(outputSize: AdaptiveSize, options?: AdaptiveMaxPoolOptions<R>) {
    layerOptions('AdaptiveMaxPool1d', arguments, 1, options, ['returnIndices'], ['returnIndices']);
    super(1, outputSize, options);
  }
}

/**
 * PyTorch's AdaptiveMaxPool2d: x [N, C, H, W] to [N, C, ...outputSize].
 *
 *     const [values, indices] = new AdaptiveMaxPool2d([3, 2], { returnIndices: true }).forward(x);
 */
export class AdaptiveMaxPool2d<R extends boolean = false> extends AdaptiveMaxPoolNd<R> {
  constructor(outputSize: AdaptiveSize, options?: AdaptiveMaxPoolOptions<R>) {
    layerOptions('AdaptiveMaxPool2d', arguments, 1, options, ['returnIndices'], ['returnIndices']);
    super(2, outputSize, options);
  }
}

/** PyTorch's AdaptiveMaxPool3d: x [N, C, D, H, W] to [N, C, ...outputSize]. */
export class AdaptiveMaxPool3d<R extends boolean = false> extends AdaptiveMaxPoolNd<R> {
  constructor(outputSize: AdaptiveSize, options?: AdaptiveMaxPoolOptions<R>) {
    layerOptions('AdaptiveMaxPool3d', arguments, 1, options, ['returnIndices'], ['returnIndices']);
    super(3, outputSize, options);
  }
}
