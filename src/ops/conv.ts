import { type Window, windowCount } from '../backend/backend.js';
import { getBackend } from '../backend/registry.js';
import { fail, fmtShape } from '../errors.js';
import { isFloat } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { where } from './elementwise.js';
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

/** Checks and completes a window over the last `dims` axes of x [N, C, ...S]. */
function makeWindow(
  op: string,
  shape: readonly number[],
  dims: number,
  kernel: Size,
  o: WindowOptions,
  what = 'input',
): Window {
  if (shape.length !== dims + 2) {
    fail(
      op,
      `expected a ${dims + 2}-D ${what} [N, C, ${['L', 'H, W', 'D, H, W'][dims - 1]}], got shape ${fmtShape(shape)}`,
    );
  }
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
  return unfoldOp([x], { window: checkWindow('unfold', x.shape, window), padValue });
}

/** col2im: cols [N, C, K, L] summed back into a tensor of `shape` [N, C, ...S] (unfold's adjoint). */
export function fold(cols: Tensor, shape: readonly number[], window: Window): Tensor {
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

/**
 * N-dimensional cross-correlation (what deep learning calls convolution), PyTorch's conv1d/2d/3d:
 * x [N, C, ...S], weight [O, C/groups, ...k], bias [O]. `padding: 'same'` keeps the size (stride 1).
 */
export function convNd(
  op: string,
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null | undefined,
  dims: number,
  { groups = 1, padding = 0, ...o }: ConvNdOptions = {},
  activation: 'none' | 'relu' = 'none',
): Tensor {
  tensorArg(op, x, 'an input Tensor');
  tensorArg(op, weight, 'a weight Tensor');
  if (bias != null) tensorArg(op, bias, 'a bias Tensor (or null)');
  if (!isFloat(x.dtype)) fail(op, `expected a floating-point input, got ${x.dtype}`);
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
  let input = x;
  let pad: Size = 0;
  if (padding === 'same') {
    if ((o.stride ?? 1) !== 1 && !(Array.isArray(o.stride) && o.stride.every((s) => s === 1))) {
      fail(op, "padding 'same' needs stride 1");
    }
    // Total padding d(k-1) per axis; an odd total puts the extra element after, as PyTorch does.
    const dil = expandSize(op, 'dilation', o.dilation ?? 1, dims, 1);
    const total = kernel.map((k, i) => dil[i]! * (k - 1));
    const before = total.map((t) => Math.floor(t / 2));
    if (total.some((t) => t % 2 === 1)) {
      input = x.pad(total.map((t, i) => [before[i]!, t - before[i]!] as const));
    } else pad = before;
  } else if (padding !== 'valid') pad = padding;
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

interface ConvAttrs {
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

export type ConvNdOptions = Omit<ConvOptions, 'padding'> & { padding?: Size | 'same' | 'valid' };

export const conv1d = (x: Tensor, w: Tensor, b?: Tensor | null, o?: ConvNdOptions) =>
  convNd('conv1d', x, w, b, 1, o);
export const conv2d = (x: Tensor, w: Tensor, b?: Tensor | null, o?: ConvNdOptions) =>
  convNd('conv2d', x, w, b, 2, o);
export const conv3d = (x: Tensor, w: Tensor, b?: Tensor | null, o?: ConvNdOptions) =>
  convNd('conv3d', x, w, b, 3, o);

export interface ConvTransposeOptions extends ConvOptions {
  outputPadding?: Size;
}

/**
 * The transpose (adjoint) of conv2d with the same geometry, PyTorch's conv_transpose2d: x [N, Cin, H, W],
 * weight [Cin, Cout/groups, kh, kw], bias [Cout]. Each input pixel scatters a weighted kernel into the
 * output: the columns W^T x folded back onto the image.
 */
export function convTranspose2d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  o: ConvTransposeOptions = {},
): Tensor {
  const op = 'convTranspose2d';
  tensorArg(op, x, 'an input Tensor');
  tensorArg(op, weight, 'a weight Tensor');
  const dims = 2;
  if (x.rank !== 4) fail(op, `expected a 4-D input [N, C, H, W], got shape ${fmtShape(x.shape)}`);
  if (weight.rank !== 4)
    fail(op, `weight must be 4-D [in, out/groups, kh, kw], got ${fmtShape(weight.shape)}`);
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
  if (x.dtype !== weight.dtype)
    fail(op, `the input is ${x.dtype} but the weight is ${weight.dtype}; convert one of them`);
  // The transpose of a convolution with this weight is its input gradient, taken at x.
  let y = convBackwardInputOp([x, weight], { window, groups, shape: [x.shape[0]!, outC, ...spatial] });
  if (bias) y = y.add(bias.reshape([outC, 1, 1]));
  return y;
}

export interface PoolOptions {
  stride?: Size;
  padding?: Size;
  dilation?: Size;
}

function poolWindow(op: string, x: Tensor, dims: number, kernel: Size, o: PoolOptions): Window {
  tensorArg(op, x);
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
 * Max pooling over the last `dims` axes; padding counts as -infinity. As in PyTorch, the gradient goes
 * to the first maximum of each window, through the positions the kernel records.
 */
export function maxPoolNd(op: string, x: Tensor, dims: number, kernel: Size, o: PoolOptions = {}): Tensor {
  return maxPoolOp([x], { window: poolWindow(op, x, dims, kernel, o), argmax: null });
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

/** Average pooling; padding counts as zeros in the average (PyTorch's count_include_pad=True). */
export function avgPoolNd(
  op: string,
  x: Tensor,
  dims: number,
  kernel: Size,
  o: Omit<PoolOptions, 'dilation'> = {},
): Tensor {
  const w = poolWindow(op, x, dims, kernel, o);
  return unfold(x, w, 0)
    .mean(2)
    .reshape([x.shape[0]!, x.shape[1]!, ...outputSpatial(x.shape, w)]);
}

export const maxPool1d = (x: Tensor, k: Size, o?: PoolOptions) => maxPoolNd('maxPool1d', x, 1, k, o);
export const maxPool2d = (x: Tensor, k: Size, o?: PoolOptions) => maxPoolNd('maxPool2d', x, 2, k, o);
export const maxPool3d = (x: Tensor, k: Size, o?: PoolOptions) => maxPoolNd('maxPool3d', x, 3, k, o);
export const avgPool1d = (x: Tensor, k: Size, o?: PoolOptions) => avgPoolNd('avgPool1d', x, 1, k, o);
export const avgPool2d = (x: Tensor, k: Size, o?: PoolOptions) => avgPoolNd('avgPool2d', x, 2, k, o);
export const avgPool3d = (x: Tensor, k: Size, o?: PoolOptions) => avgPoolNd('avgPool3d', x, 3, k, o);

/**
 * Averages over PyTorch's adaptive bins: output cell i of an axis covers input [floor(i·S/O), ceil((i+1)·S/O)).
 * Written as products with fixed averaging matrices, so any sizes work and the gradient is exact.
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: Size): Tensor {
  const op = 'adaptiveAvgPool2d';
  if (x.rank !== 4) fail(op, `expected a 4-D input [N, C, H, W], got shape ${fmtShape(x.shape)}`);
  const [oh, ow] = expandSize(op, 'output size', outputSize, 2, 1);
  const bins = (size: number, out: number): Tensor => {
    const m = empty([out, size], x.dtype);
    m.data.fill(0);
    for (let i = 0; i < out; i++) {
      const start = Math.floor((i * size) / out);
      const end = Math.ceil(((i + 1) * size) / out);
      for (let j = start; j < end; j++) m.data[i * size + j] = 1 / (end - start);
    }
    return m;
  };
  return bins(x.shape[2]!, oh!).matmul(x).matmul(bins(x.shape[3]!, ow!).transpose());
}
