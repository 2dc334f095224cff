import { type Window, windowCount } from '../backend/backend.js';
import { getBackend } from '../backend/registry.js';
import { checkArity, checkOptions, describe, fail, fmtShape } from '../errors.js';
import { isFloat } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { where } from './elementwise.js';
import { pad as padTensor } from './movement.js';
import { defineOp, empty, kernels, type Op, tensorArg } from './op.js';

/**
 * Convolution and pooling. The reference composition uses two kernels: unfold (im2col), which lays every
 * window's taps out as columns, and its adjoint fold (col2im); a convolution is then one batched matrix
 * product. A backend may fuse the three convolution passes (forward, input gradient, weight gradient),
 * which each are bilinear, so their VJPs are the other two and gradients of any order stay fast.
 */

export type Size = number | readonly number[];

export interface WindowOptions {
  stride?: Size;
  padding?: Size;
  dilation?: Size;
}

function expandSize(op: string, name: string, v: Size, dims: number, min: number): number[] {
  const list = typeof v === 'number' ? new Array<number>(dims).fill(v) : [...v];
  if (list.length !== dims || list.some((x) => !Number.isInteger(x) || x < min)) {
    fail(
      op,
      `${name} must be ${dims === 1 ? 'an integer' : `an integer or ${dims} integers`} ≥ ${min}, got ${JSON.stringify(v)}`,
    );
  }
  return list;
}

function checkRank(op: string, shape: readonly number[], dims: number, what = 'input'): void {
  if (shape.length !== dims + 2) {
    const axes = ['L', 'H, W', 'D, H, W'][dims - 1];
    // Layers and their functions take one sample without the batch axis (below); unfold and fold do not.
    const single =
      what === 'input' && !op.endsWith('fold') ? ` (or ${dims + 1}-D [C, ${axes}] unbatched)` : '';
    fail(op, `expected a ${dims + 2}-D ${what} [N, C, ${axes}]${single}, got shape ${fmtShape(shape)}`);
  }
}

/**
 * Whether x is one sample [C, ...S] without the batch axis, which convolutions and pooling take as
 * PyTorch does: as a batch of one, the batch axis removed from the result.
 */
function isUnbatched(x: unknown, dims: number): boolean {
  return x instanceof Tensor && x.rank === dims + 1;
}

function dropBatch<T extends Tensor | [Tensor, Tensor]>(out: T): T {
  return (out instanceof Tensor ? out.squeeze(0) : [out[0].squeeze(0), out[1].squeeze(0)]) as T;
}

/** Checks and completes a window over the last `dims` axes of x [N, C, ...S]. */
function makeWindow(
  op: string,
  shape: readonly number[],
  dims: number,
  kernel: Size,
  o: WindowOptions,
  what = 'input',
): Window {
  checkRank(op, shape, dims, what);
  const w: Window = {
    kernel: expandSize(op, 'kernel size', kernel, dims, 1),
    stride: expandSize(op, 'stride', o.stride ?? 1, dims, 1),
    padding: expandSize(op, 'padding', o.padding ?? 0, dims, 0),
    dilation: expandSize(op, 'dilation', o.dilation ?? 1, dims, 1),
  };
  for (let i = 0; i < dims; i++) {
    const size = shape[i + 2]!;
    const span = w.dilation[i]! * (w.kernel[i]! - 1) + 1;
    if (span > size + 2 * w.padding[i]!) {
      fail(
        op,
        `the kernel (${w.kernel.join('×')}${w.dilation.some((d) => d > 1) ? `, dilation ${w.dilation.join('×')}` : ''}) is larger than the padded ${what} (${fmtShape(shape)} with padding ${w.padding.join('×')})`,
      );
    }
  }
  return w;
}

function outputSpatial(shape: readonly number[], w: Window): number[] {
  return w.kernel.map((k, i) => windowCount(shape[i + 2]!, k, w.stride[i]!, w.padding[i]!, w.dilation[i]!));
}

function taps(w: Window): number {
  return w.kernel.reduce((a, b) => a * b, 1);
}

export interface UnfoldAttrs {
  window: Window;
  padValue: number;
}

const unfoldOp = defineOp({
  name: 'unfold',
  forward: ([x], { window, padValue }) => {
    const positions = outputSpatial(x!.shape, window).reduce((a, b) => a * b, 1);
    const out = empty([x!.shape[0]!, x!.shape[1]!, taps(window), positions], x!.dtype);
    kernels().unfold(out, x!, window, padValue);
    return out;
  },
  // Taps in the padding read a constant, so they pass no gradient back.
  vjp: (g, { inputs: [x], attrs }) => [fold(g, x!.shape, attrs.window)],
});

const foldOp = defineOp({
  name: 'fold',
  forward: ([cols], { window, shape }) => {
    const out = empty(shape, cols!.dtype);
    kernels().fold(out, cols!.contiguous(), window);
    return out;
  },
  vjp: (g, { attrs }) => [unfold(g, attrs.window)],
});

/** Checks a window given as a whole (to unfold or fold) against the tensor [N, C, ...S] it slides over. */
function checkWindow(op: string, shape: readonly number[], w: Window): Window {
  const dims = w.kernel.length;
  if (dims < 1 || dims > 3) fail(op, `a window covers 1, 2 or 3 axes, got ${dims}`);
  return makeWindow(op, shape, dims, w.kernel, {
    stride: w.stride,
    padding: w.padding,
    dilation: w.dilation,
  });
}

/** im2col: x [N, C, ...S] to [N, C, K, L] (K taps per window, L windows); padding reads padValue. */
export function unfold(x: Tensor, window: Window, padValue = 0): Tensor {
  checkArity('unfold', arguments, 3, 'unfold(x, window, padValue)');
  tensorArg('unfold', x, 'the input as a Tensor');
  return unfoldOp([x], { window: checkWindow('unfold', x.shape, window), padValue });
}

/** col2im: cols [N, C, K, L] summed back into a tensor of `shape` [N, C, ...S] (unfold's adjoint). */
export function fold(cols: Tensor, shape: readonly number[], window: Window): Tensor {
  checkArity('fold', arguments, 3, 'fold(cols, shape, window)');
  tensorArg('fold', cols, 'the columns as a Tensor');
  const w = checkWindow('fold', shape, window);
  const want = [shape[0]!, shape[1]!, taps(w), outputSpatial(shape, w).reduce((a, b) => a * b, 1)];
  if (cols.rank !== 4 || cols.shape.some((d, i) => d !== want[i])) {
    fail(
      'fold',
      `columns ${fmtShape(cols.shape)} do not match the window over ${fmtShape(shape)} (expected ${fmtShape(want)})`,
    );
  }
  return foldOp([cols], { window: w, shape: [...shape] });
}

export interface ConvOptions extends WindowOptions {
  groups?: number;
}

/** How a convolution layer fills its padding (PyTorch's padding_mode; 'zeros' is the functional form's). */
export type PaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';

export type ConvNdOptions = Omit<ConvOptions, 'padding'> & { padding?: Size | 'same' | 'valid' };

/** [before, after] padding per spatial axis: 'same' splits d(k-1), the odd element after, as PyTorch does. */
function paddingPairs(
  op: string,
  padding: Size | 'same' | 'valid',
  kernel: readonly number[],
  o: Omit<ConvOptions, 'padding'>,
): [number, number][] {
  const dims = kernel.length;
  if (padding === 'valid') return kernel.map(() => [0, 0]);
  if (padding === 'same') {
    if (expandSize(op, 'stride', o.stride ?? 1, dims, 1).some((s) => s !== 1)) {
      fail(op, "padding 'same' needs stride 1");
    }
    const dil = expandSize(op, 'dilation', o.dilation ?? 1, dims, 1);
    return kernel.map((k, i) => {
      const total = dil[i]! * (k - 1);
      return [Math.floor(total / 2), total - Math.floor(total / 2)];
    });
  }
  if (typeof padding === 'string')
    fail(op, `padding must be a size, 'same' or 'valid', got ${describe(padding)}`);
  return expandSize(op, 'padding', padding, dims, 0).map((p) => [p, p]);
}

/**
 * N-dimensional cross-correlation (what deep learning calls convolution), PyTorch's conv1d/2d/3d:
 * x [N, C, ...S], weight [O, C/groups, ...k], bias [O]. `padding: 'same'` keeps the size (stride 1);
 * a `paddingMode` other than 'zeros' pads the input explicitly (reflected, replicated or wrapped)
 * and convolves the result without padding, as PyTorch's layers do.
 */
export function convNd(
  op: string,
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null | undefined,
  dims: number,
  options: ConvNdOptions & { paddingMode?: PaddingMode } = {},
  activation: 'none' | 'relu' = 'none',
): Tensor {
  checkArity(op, arguments, 7, `${op}(x, weight, bias, { stride: 2, padding: 1 })`);
  const {
    groups = 1,
    padding = 0,
    paddingMode = 'zeros',
    ...o
  } = checkOptions(op, options, [...CONV_KEYS, 'paddingMode']);
  if (isUnbatched(x, dims))
    return dropBatch(convNd(op, x.unsqueeze(0), weight, bias, dims, options, activation));
  tensorArg(op, x, 'the input as a Tensor');
  tensorArg(op, weight, 'the weight as a Tensor');
  if (bias != null) tensorArg(op, bias, 'the bias as a Tensor');
  requireFloatInput(op, x);
  if (weight.rank !== dims + 2)
    fail(op, `weight must be ${dims + 2}-D [out, in/groups, ...kernel], got ${fmtShape(weight.shape)}`);
  if (!Number.isInteger(groups) || groups < 1) fail(op, `groups must be a positive integer, got ${groups}`);
  const [outC, inPerGroup] = weight.shape as [number, number];
  const inC = x.shape[1];
  if (x.rank === dims + 2 && (inC !== inPerGroup * groups || inC % groups !== 0 || outC % groups !== 0)) {
    fail(
      op,
      inC! % groups !== 0 || outC % groups !== 0
        ? `${groups} groups do not divide the ${inC} input and ${outC} output channels`
        : `input has ${inC} channels but the weight ${fmtShape(weight.shape)} expects ${inPerGroup * groups} (${inPerGroup} per group × ${groups} groups)`,
    );
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== outC))
    fail(op, `bias must be [${outC}], got ${fmtShape(bias.shape)}`);
  const kernel = weight.shape.slice(2);
  if (!['zeros', 'reflect', 'replicate', 'circular'].includes(paddingMode))
    fail(
      op,
      `paddingMode must be 'zeros', 'reflect', 'replicate' or 'circular', got ${describe(paddingMode)}`,
    );
  const pairs = paddingPairs(op, padding, kernel, o);
  let input = x;
  let pad: number[] = pairs.map(([before]) => before);
  if (paddingMode !== 'zeros' || pairs.some(([before, after]) => before !== after)) {
    checkRank(op, x.shape, dims);
    // PyTorch's limits: a reflection needs more elements than it mirrors; a wrap, at least as many.
    const fits = (p: number, size: number) =>
      paddingMode === 'reflect' ? p < size : paddingMode === 'circular' ? p <= size : true;
    pairs.forEach(([before, after], i) => {
      const size = x.shape[i + 2]!;
      if (!fits(before, size) || !fits(after, size))
        fail(
          op,
          `${paddingMode} padding of ${Math.max(before, after)} does not fit the input ${fmtShape(x.shape)} of size ${size} along axis ${i + 2} (${paddingMode === 'reflect' ? 'it must be smaller than the size' : 'at most the size'})`,
        );
    });
    input = padTensor(x, pairs, { mode: paddingMode === 'zeros' ? 'constant' : paddingMode });
    pad = pad.map(() => 0);
  }
  const window = makeWindow(op, input.shape, dims, kernel, { ...o, padding: pad });
  if (x.dtype !== weight.dtype || (bias && bias.dtype !== x.dtype))
    fail(
      op,
      `the input is ${x.dtype} but the weight is ${weight.dtype}${bias ? ` and the bias ${bias.dtype}` : ''}; convert them to one dtype`,
    );
  return convOp(bias ? [input, weight, bias] : [input, weight], {
    window,
    groups,
    relu: activation === 'relu',
  });
}

/** A convolution's window (kernel, stride, padding, dilation per axis) and its group count. */
export interface ConvAttrs {
  window: Window;
  groups: number;
}

/** A gradient pass knows the shape of the tensor it computes the gradient of. */
export type ShapedConvAttrs = ConvAttrs & { shape: readonly number[] };

/** The forward may add a bias and apply ReLU in the same pass over the output. */
export type ForwardConvAttrs = ConvAttrs & { relu: boolean };

/** The reference composition's views: x's columns [N, G, C/G·K, L] and the weight as [G, O/G, C/G·K]. */
function groupedCols(x: Tensor, { window, groups }: ConvAttrs): Tensor {
  return unfold(x, window).reshape([
    x.shape[0]!,
    groups,
    -1,
    outputSpatial(x.shape, window).reduce((a, b) => a * b, 1),
  ]);
}

function groupedWeight(w: Tensor, groups: number): Tensor {
  return w.reshape([groups, w.shape[0]! / groups, -1]);
}

/** y [N, O, ...L] = conv(x [N, C, ...S], w [O, C/G, ...k]) (+ b [O]) (then ReLU). */
const convOp: Op<ForwardConvAttrs> = defineOp({
  name: 'conv',
  forward: ([x, w, b], a) => {
    const shape = [x!.shape[0]!, w!.shape[0]!, ...outputSpatial(x!.shape, a.window)];
    const fused = getBackend().fused?.conv;
    if (fused) {
      const y = empty(shape, x!.dtype);
      fused(y, x!, w!.contiguous(), b ? b.contiguous() : null, a.relu, a.window, a.groups);
      return y;
    }
    let y = groupedWeight(w!, a.groups).matmul(groupedCols(x!, a)).reshape(shape);
    if (b) y = y.add(b.reshape([b.shape[0]!, ...new Array<number>(shape.length - 2).fill(1)]));
    return a.relu ? y.relu() : y;
  },
  vjp: (g, { inputs: [x, w, b], output, attrs }) => {
    const gy = attrs.relu ? where(output.gt(0), g, 0) : g;
    return [
      x!.requiresGrad ? convBackwardInputOp([gy, w!], { ...attrs, shape: x!.shape }) : null,
      w!.requiresGrad ? convBackwardWeightOp([x!, gy], { ...attrs, shape: w!.shape }) : null,
      ...(b ? [b.requiresGrad ? gy.sum([0, ...gy.shape.slice(2).map((_, i) => i + 2)]) : null] : []),
    ];
  },
});

/** dx [N, C, ...S] of `shape` from dy [N, O, ...L] and w: Wᵀ·dy folded onto the image (transposed convolution). */
const convBackwardInputOp: Op<ShapedConvAttrs> = defineOp({
  name: 'convBackwardInput',
  forward: ([dy, w], a) => {
    const fused = getBackend().fused?.convBackwardInput;
    if (fused) {
      const dx = empty(a.shape, dy!.dtype);
      fused(dx, dy!.contiguous(), w!.contiguous(), a.window, a.groups);
      return dx;
    }
    const [n, c] = a.shape as [number, number];
    const cols = groupedWeight(w!, a.groups)
      .transpose()
      .matmul(dy!.reshape([n, a.groups, dy!.shape[1]! / a.groups, -1]));
    return fold(cols.reshape([n, c, taps(a.window), -1]), a.shape, a.window);
  },
  vjp: (g, { inputs: [dy, w], attrs }) => [
    dy!.requiresGrad ? convOp([g, w!], { ...attrs, relu: false }) : null,
    w!.requiresGrad ? convBackwardWeightOp([g, dy!], { ...attrs, shape: w!.shape }) : null,
  ],
});

/** dw [O, C/G, ...k] of `shape` from x and dy: dy·colsᵀ summed over the batch. */
const convBackwardWeightOp: Op<ShapedConvAttrs> = defineOp({
  name: 'convBackwardWeight',
  forward: ([x, dy], a) => {
    const fused = getBackend().fused?.convBackwardWeight;
    if (fused) {
      const dw = empty(a.shape, x!.dtype);
      fused(dw, x!, dy!.contiguous(), a.window, a.groups);
      return dw;
    }
    const gy = dy!.reshape([x!.shape[0]!, a.groups, dy!.shape[1]! / a.groups, -1]);
    return gy.matmul(groupedCols(x!, a).transpose()).sum(0).reshape(a.shape);
  },
  vjp: (g, { inputs: [x, dy], attrs }) => [
    x!.requiresGrad ? convBackwardInputOp([dy!, g], { ...attrs, shape: x!.shape }) : null,
    dy!.requiresGrad ? convOp([x!, g], { ...attrs, relu: false }) : null,
  ],
});

const CONV_KEYS = ['stride', 'padding', 'dilation', 'groups'] as const;

/** conv1d/2d/3d's and convTranspose1d/2d/3d's call form. */
export type ConvFunction<O> = (x: Tensor, weight: Tensor, bias?: Tensor | null, options?: O) => Tensor;

/** A functional convolution named `op`: checks the call, then runs `nd` with the checked options. */
function convFunction<O extends object>(
  op: string,
  keys: readonly (keyof O & string)[],
  example: string,
  nd: (x: Tensor, weight: Tensor, bias: Tensor | null | undefined, o: Partial<O>) => Tensor,
): ConvFunction<O> {
  const form = `${op}(x, weight, bias, { ${example} })`;
  return function (x, weight, bias, options) {
    checkArity(op, arguments, 4, form);
    return nd(x, weight, bias, checkOptions(op, options, keys, form));
  };
}

const conv = (op: string, dims: number) =>
  convFunction<ConvNdOptions>(op, CONV_KEYS, 'stride: 2, padding: 1', (x, w, b, o) =>
    convNd(op, x, w, b, dims, o),
  );

/** PyTorch's conv1d: x [N, C, L], weight [O, C/groups, k], bias [O]. */
export const conv1d = conv('conv1d', 1);

/** PyTorch's conv2d: x [N, C, H, W], weight [O, C/groups, kh, kw], bias [O]. */
export const conv2d = conv('conv2d', 2);

/** PyTorch's conv3d: x [N, C, D, H, W], weight [O, C/groups, kd, kh, kw], bias [O]. */
export const conv3d = conv('conv3d', 3);

export interface ConvTransposeOptions extends ConvOptions {
  outputPadding?: Size;
}

/**
 * The transpose (adjoint) of convNd with the same geometry, PyTorch's conv_transpose1d/2d/3d:
 * x [N, Cin, ...S], weight [Cin, Cout/groups, ...k], bias [Cout]. Each input element scatters a weighted
 * kernel into the output, of size (S-1)·stride - 2·padding + dilation·(k-1) + outputPadding + 1.
 */
export function convTransposeNd(
  op: string,
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null | undefined,
  dims: number,
  options: ConvTransposeOptions = {},
): Tensor {
  checkArity(op, arguments, 6, `${op}(x, weight, bias, { stride: 2, outputPadding: 1 })`);
  const o = checkOptions(op, options, [...CONV_KEYS, 'outputPadding']);
  if (isUnbatched(x, dims)) return dropBatch(convTransposeNd(op, x.unsqueeze(0), weight, bias, dims, o));
  tensorArg(op, x, 'the input as a Tensor');
  tensorArg(op, weight, 'the weight as a Tensor');
  if (bias != null) tensorArg(op, bias, 'the bias as a Tensor');
  requireFloatInput(op, x);
  checkRank(op, x.shape, dims);
  if (weight.rank !== dims + 2)
    fail(op, `weight must be ${dims + 2}-D [in, out/groups, ...kernel], got ${fmtShape(weight.shape)}`);
  const groups = o.groups ?? 1;
  const [inC, outPerGroup] = weight.shape as [number, number];
  if (!Number.isInteger(groups) || groups < 1 || inC % groups !== 0)
    fail(op, `groups ${groups} must divide the ${inC} input channels`);
  if (x.shape[1] !== inC)
    fail(op, `input has ${x.shape[1]} channels but the weight ${fmtShape(weight.shape)} expects ${inC}`);
  const outC = outPerGroup * groups;
  if (bias && (bias.rank !== 1 || bias.shape[0] !== outC))
    fail(op, `bias must be [${outC}], got ${fmtShape(bias.shape)}`);
  const kernel = weight.shape.slice(2);
  const stride = expandSize(op, 'stride', o.stride ?? 1, dims, 1);
  const padding = expandSize(op, 'padding', o.padding ?? 0, dims, 0);
  const dilation = expandSize(op, 'dilation', o.dilation ?? 1, dims, 1);
  const outPad = expandSize(op, 'outputPadding', o.outputPadding ?? 0, dims, 0);
  if (outPad.some((p, i) => p >= Math.max(stride[i]!, dilation[i]!))) {
    fail(op, `outputPadding ${outPad.join('×')} must be smaller than the stride or the dilation`);
  }
  const spatial = kernel.map(
    (k, i) => (x.shape[i + 2]! - 1) * stride[i]! - 2 * padding[i]! + dilation[i]! * (k - 1) + outPad[i]! + 1,
  );
  if (spatial.some((s) => s < 1))
    fail(op, `the output size ${spatial.join('×')} would be empty for input ${fmtShape(x.shape)}`);
  const window: Window = { kernel, stride, padding, dilation };
  if (x.dtype !== weight.dtype || (bias && bias.dtype !== x.dtype))
    fail(op, `the input is ${x.dtype} but the weight is ${weight.dtype}; convert them to one dtype`);
  // The transpose of a convolution with this weight is its input gradient, taken at x.
  let y = convBackwardInputOp([x, weight], { window, groups, shape: [x.shape[0]!, outC, ...spatial] });
  if (bias) y = y.add(bias.reshape([outC, ...new Array<number>(dims).fill(1)]));
  return y;
}

const convTranspose = (op: string, dims: number) =>
  convFunction<ConvTransposeOptions>(
    op,
    [...CONV_KEYS, 'outputPadding'],
    'stride: 2, outputPadding: 1',
    (x, w, b, o) => convTransposeNd(op, x, w, b, dims, o),
  );

/** PyTorch's conv_transpose1d: x [N, Cin, L], weight [Cin, Cout/groups, k], bias [Cout]. */
export const convTranspose1d = convTranspose('convTranspose1d', 1);

/** PyTorch's conv_transpose2d: x [N, Cin, H, W], weight [Cin, Cout/groups, kh, kw], bias [Cout]. */
export const convTranspose2d = convTranspose('convTranspose2d', 2);

/** PyTorch's conv_transpose3d: x [N, Cin, D, H, W], weight [Cin, Cout/groups, kd, kh, kw], bias [Cout]. */
export const convTranspose3d = convTranspose('convTranspose3d', 3);

export interface PoolOptions {
  /** Default: the kernel size. */
  stride?: Size;
  padding?: Size;
  dilation?: Size;
  /** Count windows by rounding up, PyTorch's ceil_mode: a last, partial window where one starts inside the input or left padding. */
  ceilMode?: boolean;
}

export interface MaxPoolOptions extends PoolOptions {
  /** Also return each maximum's flat position in its input plane (int32), PyTorch's return_indices. */
  returnIndices?: boolean;
}

export interface AvgPoolOptions extends Omit<PoolOptions, 'dilation'> {
  /** Padding counts as zeros in the average (default true); false averages the input elements only. */
  countIncludePad?: boolean;
  /** Divide every window's sum by this instead of its size. */
  divisorOverride?: number;
}

/**
 * Pooling takes floating point only, as in PyTorch 1.13 (max pooling included): an int32 average would
 * otherwise be built from divisors that truncate to 0.
 */
function requireFloatInput(op: string, x: Tensor): void {
  if (!isFloat(x.dtype))
    fail(op, `expected a floating-point input, got ${x.dtype}; convert it first with x.cast('float32')`);
}

function poolWindow(op: string, x: Tensor, dims: number, kernel: Size, o: PoolOptions): Window {
  tensorArg(op, x, 'the input as a Tensor');
  requireFloatInput(op, x);
  if (o.ceilMode !== undefined && typeof o.ceilMode !== 'boolean')
    fail(op, `ceilMode must be true or false, got ${describe(o.ceilMode)}`);
  const w = makeWindow(op, x.shape, dims, kernel, {
    stride: o.stride ?? kernel,
    padding: o.padding,
    dilation: o.dilation,
  });
  w.padding.forEach((p, i) => {
    if (p * 2 > w.kernel[i]!) fail(op, `padding ${p} must be at most half the kernel size ${w.kernel[i]}`);
  });
  return w;
}

/**
 * The padding after each axis that ceil mode adds for its last, partial windows (none in floor mode):
 * PyTorch rounds the window count up, then drops a last window that would start in the right padding.
 */
function ceilPadding(shape: readonly number[], w: Window, ceil: boolean | undefined): number[] {
  return w.kernel.map((k, i) => {
    if (!ceil) return 0;
    const [size, s, p] = [shape[i + 2]!, w.stride[i]!, w.padding[i]!];
    const span = w.dilation[i]! * (k - 1) + 1;
    let count = Math.ceil((size + 2 * p - span) / s) + 1;
    if ((count - 1) * s >= size + p) count--;
    return Math.max(0, (count - 1) * s + span - size - 2 * p);
  });
}

function padAfter(x: Tensor, extra: readonly number[], value: number): Tensor {
  return extra.some((e) => e > 0)
    ? x.pad(
        extra.map((e) => [0, e] as const),
        value,
      )
    : x;
}

/**
 * Max pooling over the last `dims` axes; padding counts as -infinity. As in PyTorch, the gradient goes
 * to the first maximum of each window, through the positions the kernel records. Ceil mode's partial
 * windows read -infinity past the input's end.
 */
export function maxPoolNd(
  op: string,
  x: Tensor,
  dims: number,
  kernel: Size,
  options: MaxPoolOptions & { returnIndices: true },
): [Tensor, Tensor];
export function maxPoolNd(
  op: string,
  x: Tensor,
  dims: number,
  kernel: Size,
  options?: MaxPoolOptions & { returnIndices?: false },
): Tensor;
export function maxPoolNd(
  op: string,
  x: Tensor,
  dims: number,
  kernel: Size,
  options?: MaxPoolOptions,
): Tensor | [Tensor, Tensor];
export function maxPoolNd(
  op: string,
  x: Tensor,
  dims: number,
  kernel: Size,
  options?: MaxPoolOptions,
): Tensor | [Tensor, Tensor] {
  checkArity(op, arguments, 5, `${op}(x, kernelSize, { stride: 2 })`);
  const o = checkOptions(op, options, [...MAX_POOL_KEYS, 'returnIndices']);
  if (isUnbatched(x, dims)) return dropBatch(maxPoolNd(op, x.unsqueeze(0), dims, kernel, o));
  if (o.returnIndices !== undefined && typeof o.returnIndices !== 'boolean')
    fail(op, `returnIndices must be true or false, got ${describe(o.returnIndices)}`);
  const window = poolWindow(op, x, dims, kernel, o);
  const padded = padAfter(x, ceilPadding(x.shape, window, o.ceilMode), -Infinity);
  const attrs = { window, argmax: null as Tensor | null };
  const y = maxPoolOp([padded], attrs);
  if (!o.returnIndices) return y;
  return [y, planeIndices(attrs.argmax!, padded.shape.slice(2), x.shape.slice(2), (_, at) => at)];
}

/**
 * Flat positions in one plane of `from` sizes, written as flat positions in a plane of `to` sizes:
 * the coordinate along axis i becomes `map(i, coordinate)` (clamped inside `to`).
 */
function planeIndices(
  positions: Tensor,
  from: readonly number[],
  to: readonly number[],
  map: (axis: number, at: number) => number,
): Tensor {
  const out = empty(positions.shape, 'int32');
  for (let k = 0; k < out.size; k++) {
    let rest = positions.data[k]!;
    let flat = 0;
    let scale = 1;
    for (let i = from.length - 1; i >= 0; i--) {
      flat += Math.min(map(i, rest % from[i]!), to[i]! - 1) * scale;
      rest = Math.floor(rest / from[i]!);
      scale *= to[i]!;
    }
    out.data[k] = flat;
  }
  return out;
}

const maxPoolOp = defineOp({
  name: 'maxPool',
  forward: ([x], a) => {
    const shape = [x!.shape[0]!, x!.shape[1]!, ...outputSpatial(x!.shape, a.window)];
    const out = empty(shape, x!.dtype);
    a.argmax = empty(shape, 'int32');
    kernels().maxPool(out, a.argmax, x!, a.window);
    return out;
  },
  vjp: (g, { inputs: [x], attrs: { argmax } }) => [maxUnpoolOp([g, argmax!], { shape: x!.shape })],
});

/**
 * Max pooling's gradient: each window's gradient lands on its argmax in a zero tensor of the input's
 * shape, overlapping windows that share one adding up. Linear in g, so its own gradient gathers.
 */
const maxUnpoolOp = defineOp({
  name: 'maxUnpool',
  forward: ([g, argmax], { shape }) => {
    const [n, c] = shape as [number, number];
    const out = empty([n, c, shape.slice(2).reduce((a, b) => a * b, 1)], g!.dtype);
    out.data.fill(0);
    const flat = (t: Tensor) => t.reshape([n, c, -1]);
    kernels().scatterAdd(out, 2, flat(argmax!), flat(g!.contiguous()));
    return out.reshape(shape);
  },
  vjp: (h, { inputs: [g, argmax] }) => {
    const [n, c] = g!.shape as [number, number];
    return [
      h
        .reshape([n, c, -1])
        .gather(2, argmax!.reshape([n, c, -1]))
        .reshape(g!.shape),
      null,
    ];
  },
});

/**
 * Average pooling: each window's sum over its size. The size is PyTorch's: the window clipped to the
 * padded input (ceil mode's partial windows count only what they cover), or with `countIncludePad:
 * false` clipped to the input itself, or `divisorOverride` for every window. Composed as a sum over
 * unfolded windows divided by a constant of the output's shape.
 */
export function avgPoolNd(
  op: string,
  x: Tensor,
  dims: number,
  kernel: Size,
  options?: AvgPoolOptions,
): Tensor {
  checkArity(op, arguments, 5, `${op}(x, kernelSize, { stride: 2 })`);
  const o = checkOptions(op, options, [...AVG_POOL_KEYS, 'divisorOverride']);
  if (isUnbatched(x, dims)) return dropBatch(avgPoolNd(op, x.unsqueeze(0), dims, kernel, o));
  const w = poolWindow(op, x, dims, kernel, o);
  const { countIncludePad = true, divisorOverride } = o;
  if (typeof countIncludePad !== 'boolean')
    fail(op, `countIncludePad must be true or false, got ${describe(countIncludePad)}`);
  const xp = padAfter(x, ceilPadding(x.shape, w, o.ceilMode), 0);
  const out = outputSpatial(xp.shape, w);
  const sums = unfold(xp, w, 0)
    .sum(2)
    .reshape([x.shape[0]!, x.shape[1]!, ...out]);
  if (divisorOverride !== undefined) {
    if (!Number.isInteger(divisorOverride) || divisorOverride < 1)
      fail(op, `divisorOverride must be a positive integer, got ${describe(divisorOverride)}`);
    return sums.div(divisorOverride);
  }
  // Window sizes are a product of one count per axis.
  const counts = out.map((n, i) => {
    const [size, k, s, p] = [x.shape[i + 2]!, w.kernel[i]!, w.stride[i]!, w.padding[i]!];
    return Array.from({ length: n }, (_, j) => {
      const start = j * s - p;
      const end = Math.min(start + k, size + p);
      return countIncludePad ? end - start : Math.min(end, size) - Math.max(start, 0);
    });
  });
  const divisor = empty(out, x.dtype);
  for (let at = 0; at < divisor.size; at++) {
    let rest = at;
    let d = 1;
    for (let i = dims - 1; i >= 0; i--) {
      d *= counts[i]![rest % out[i]!]!;
      rest = Math.floor(rest / out[i]!);
    }
    divisor.data[at] = d;
  }
  return sums.div(divisor);
}

const MAX_POOL_KEYS = ['stride', 'padding', 'dilation', 'ceilMode'] as const;
const AVG_POOL_KEYS = ['stride', 'padding', 'ceilMode', 'countIncludePad'] as const;

function functionalPool<O extends object>(
  op: string,
  args: ArrayLike<unknown>,
  options: O | undefined,
  keys: readonly (keyof O & string)[],
): Partial<O> {
  const form = `${op}(x, kernelSize, { stride: 2, padding: 1 })`;
  checkArity(op, args, 3, form);
  return checkOptions(op, options, keys, form);
}

/** maxPool1d/2d/3d's call forms: with `returnIndices: true`, [values, indices]. */
export interface MaxPool {
  (x: Tensor, kernelSize: Size, options: MaxPoolOptions & { returnIndices: true }): [Tensor, Tensor];
  (x: Tensor, kernelSize: Size, options?: MaxPoolOptions & { returnIndices?: false }): Tensor;
}

/** The functional max pool over the last `dims` axes, named `op` in its errors. */
function maxPool(op: string, dims: number): MaxPool {
  return function (x: Tensor, kernelSize: Size, options?: MaxPoolOptions): Tensor | [Tensor, Tensor] {
    const o = functionalPool(op, arguments, options, [...MAX_POOL_KEYS, 'returnIndices']);
    return maxPoolNd(op, x, dims, kernelSize, o);
  } as MaxPool;
}

/** PyTorch's max_pool1d over x [N, C, L]; the stride defaults to the kernel size. */
export const maxPool1d = maxPool('maxPool1d', 1);

/**
 * PyTorch's max_pool2d over x [N, C, H, W]; the stride defaults to the kernel size. With `returnIndices`,
 * [values, the flat position of each maximum in its input plane]:
 *
 *     const [y, where] = maxPool2d(x, 2, { returnIndices: true });
 */
export const maxPool2d = maxPool('maxPool2d', 2);

/** PyTorch's max_pool3d over x [N, C, D, H, W]; the stride defaults to the kernel size. */
export const maxPool3d = maxPool('maxPool3d', 3);

/** PyTorch's avg_pool1d over x [N, C, L] (which has no divisorOverride). */
export function avgPool1d(
  x: Tensor,
  kernelSize: Size,
  options?: Omit<AvgPoolOptions, 'divisorOverride'>,
): Tensor {
  return avgPoolNd(
    'avgPool1d',
    x,
    1,
    kernelSize,
    functionalPool('avgPool1d', arguments, options, AVG_POOL_KEYS),
  );
}

/** PyTorch's avg_pool2d over x [N, C, H, W]. */
export function avgPool2d(x: Tensor, kernelSize: Size, options?: AvgPoolOptions): Tensor {
  const o = functionalPool('avgPool2d', arguments, options, [...AVG_POOL_KEYS, 'divisorOverride']);
  return avgPoolNd('avgPool2d', x, 2, kernelSize, o);
}

/** PyTorch's avg_pool3d over x [N, C, D, H, W]. */
export function avgPool3d(x: Tensor, kernelSize: Size, options?: AvgPoolOptions): Tensor {
  const o = functionalPool('avgPool3d', arguments, options, [...AVG_POOL_KEYS, 'divisorOverride']);
  return avgPoolNd('avgPool3d', x, 3, kernelSize, o);
}

/** An adaptive pool's output size: one per axis, or null to keep that axis's input size. */
export type AdaptiveSize = number | readonly (number | null)[];

/** PyTorch's adaptive bins: output cell i of an axis of `size` covers input [floor(i·S/O), ceil((i+1)·S/O)). */
function adaptiveBins(size: number, out: number): [number, number][] {
  return Array.from({ length: out }, (_, i) => [
    Math.floor((i * size) / out),
    Math.ceil(((i + 1) * size) / out),
  ]);
}

function adaptiveSizes(op: string, input: unknown, dims: number, outputSize: AdaptiveSize): number[] {
  const x = tensorArg(op, input, 'the input as a Tensor');
  requireFloatInput(op, x);
  checkRank(op, x.shape, dims);
  const list = typeof outputSize === 'number' ? new Array<number>(dims).fill(outputSize) : [...outputSize];
  if (list.length !== dims || list.some((v) => v !== null && (!Number.isInteger(v) || v < 1))) {
    fail(
      op,
      `output size must be a positive integer or ${dims} of them (null keeps an axis), got ${JSON.stringify(outputSize)}`,
    );
  }
  return list.map((v, i) => v ?? x.shape[i + 2]!);
}

/**
 * Averages over PyTorch's adaptive bins along each of the last `dims` axes, whatever the input size:
 * products with fixed averaging matrices, so the gradient is exact at every order.
 */
export function adaptiveAvgPoolNd(op: string, x: Tensor, dims: number, outputSize: AdaptiveSize): Tensor {
  checkArity(op, arguments, 4, `${op}(x, outputSize)`);
  if (isUnbatched(x, dims)) return dropBatch(adaptiveAvgPoolNd(op, x.unsqueeze(0), dims, outputSize));
  const outs = adaptiveSizes(op, x, dims, outputSize);
  let y = x;
  outs.forEach((out, i) => {
    const size = x.shape[i + 2]!;
    const m = empty([size, out], x.dtype);
    m.data.fill(0);
    adaptiveBins(size, out).forEach(([start, end], j) => {
      for (let r = start; r < end; r++) m.data[r * out + j] = 1 / (end - start);
    });
    const axis = i + 2 - x.rank;
    y = axis === -1 ? y.matmul(m) : y.transpose(axis, -1).matmul(m).transpose(axis, -1);
  });
  return y;
}

/**
 * Max over PyTorch's adaptive bins, with the flat input-plane position of each maximum when
 * `returnIndices`. The bins are gathered into equal windows (a short bin repeats its last element,
 * which cannot change a maximum or its first position) and max-pooled, so the gradient reaches the
 * first maximum of each bin, as in PyTorch.
 */
export function adaptiveMaxPoolNd(
  op: string,
  x: Tensor,
  dims: number,
  outputSize: AdaptiveSize,
  returnIndices: true,
): [Tensor, Tensor];
export function adaptiveMaxPoolNd(
  op: string,
  x: Tensor,
  dims: number,
  outputSize: AdaptiveSize,
  returnIndices?: boolean,
): Tensor | [Tensor, Tensor];
export function adaptiveMaxPoolNd(
  op: string,
  x: Tensor,
  dims: number,
  outputSize: AdaptiveSize,
  returnIndices = false,
): Tensor | [Tensor, Tensor] {
  checkArity(op, arguments, 5, `${op}(x, outputSize)`);
  if (typeof returnIndices !== 'boolean')
    fail(op, `returnIndices must be true or false, got ${describe(returnIndices)}`);
  if (isUnbatched(x, dims))
    return dropBatch(adaptiveMaxPoolNd(op, x.unsqueeze(0), dims, outputSize, returnIndices));
  const outs = adaptiveSizes(op, x, dims, outputSize);
  const spatial = x.shape.slice(2);
  const lengths: number[] = [];
  const sources = outs.map((out, i) => {
    const bins = adaptiveBins(spatial[i]!, out);
    const length = Math.max(...bins.map(([start, end]) => end - start));
    lengths.push(length);
    return Int32Array.from({ length: out * length }, (_, at) => {
      const [start, end] = bins[Math.floor(at / length)]!;
      return Math.min(start + (at % length), end - 1);
    });
  });
  let gathered = x;
  sources.forEach((index, i) => {
    gathered = gathered.indexSelect(i + 2, new Tensor(index, [index.length]));
  });
  const attrs = {
    window: {
      kernel: lengths,
      stride: lengths,
      padding: lengths.map(() => 0),
      dilation: lengths.map(() => 1),
    },
    argmax: null as Tensor | null,
  };
  const y = maxPoolOp([gathered], attrs);
  if (!returnIndices) return y;
  // A position in the gathered plane, axis by axis, back to the input plane.
  const gatheredSizes = sources.map((s) => s.length);
  return [y, planeIndices(attrs.argmax!, gatheredSizes, spatial, (i, at) => sources[i]![at]!)];
}

function functionalAdaptive(op: string, args: ArrayLike<unknown>): void {
  checkArity(op, args, 2, `${op}(x, outputSize)`);
}

/** PyTorch's adaptive_avg_pool1d: x [N, C, L] to [N, C, outputSize]. */
export function adaptiveAvgPool1d(x: Tensor, outputSize: AdaptiveSize): Tensor {
  functionalAdaptive('adaptiveAvgPool1d', arguments);
  return adaptiveAvgPoolNd('adaptiveAvgPool1d', x, 1, outputSize);
}

/** PyTorch's adaptive_avg_pool2d: x [N, C, H, W] to [N, C, ...outputSize]; outputSize 1 is global average pooling. */
export function adaptiveAvgPool2d(x: Tensor, outputSize: AdaptiveSize): Tensor {
  functionalAdaptive('adaptiveAvgPool2d', arguments);
  return adaptiveAvgPoolNd('adaptiveAvgPool2d', x, 2, outputSize);
}

/** PyTorch's adaptive_avg_pool3d: x [N, C, D, H, W] to [N, C, ...outputSize]. */
export function adaptiveAvgPool3d(x: Tensor, outputSize: AdaptiveSize): Tensor {
  functionalAdaptive('adaptiveAvgPool3d', arguments);
  return adaptiveAvgPoolNd('adaptiveAvgPool3d', x, 3, outputSize);
}

/** adaptiveMaxPool1d/2d/3d's call forms: with `returnIndices: true`, [values, indices]. */
export interface AdaptiveMaxPool {
  (x: Tensor, outputSize: AdaptiveSize, options: { returnIndices: true }): [Tensor, Tensor];
  (x: Tensor, outputSize: AdaptiveSize, options?: { returnIndices?: false }): Tensor;
}

/** The functional adaptive max pool over the last `dims` axes, named `op` in its errors. */
function adaptiveMaxPool(op: string, dims: number): AdaptiveMaxPool {
  const form = `${op}(x, outputSize, { returnIndices: true })`;
  return function (x: Tensor, outputSize: AdaptiveSize, options?: { returnIndices?: boolean }) {
    checkArity(op, arguments, 3, form);
    const { returnIndices = false } = checkOptions(op, options, ['returnIndices'], form);
    return adaptiveMaxPoolNd(op, x, dims, outputSize, returnIndices);
  } as AdaptiveMaxPool;
}

/** PyTorch's adaptive_max_pool1d: x [N, C, L] to [N, C, ...outputSize]; with `returnIndices`, [values, indices]. */
export const adaptiveMaxPool1d = adaptiveMaxPool('adaptiveMaxPool1d', 1);

/** PyTorch's adaptive_max_pool2d: x [N, C, H, W] to [N, C, ...outputSize]; with `returnIndices`, [values, indices]. */
export const adaptiveMaxPool2d = adaptiveMaxPool('adaptiveMaxPool2d', 2);

/** PyTorch's adaptive_max_pool3d: x [N, C, D, H, W] to [N, C, ...outputSize]; with `returnIndices`, [values, indices]. */
export const adaptiveMaxPool3d = adaptiveMaxPool('adaptiveMaxPool3d', 3);
