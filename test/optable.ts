/**
 * The op table: the rows of every differentiable op registered in src/ops/registry.ts (several where
 * an op has variants worth checking, such as reduction axes). From each row `gradcheck.test.ts`
 * derives the float64 gradient checks (contiguous, broadcast, non-contiguous, second order) and
 * `conformance.test.ts` runs the row's forward and backward on every backend against the reference.
 * The table is typed over the registry, so an op without rows does not compile; the coverage test
 * also wants a row for every composite exported from src/ops.
 */
import {
  adaptiveAvgPool1d,
  adaptiveAvgPool2d,
  adaptiveAvgPool3d,
  adaptiveAvgPoolNd,
  adaptiveMaxPool1d,
  adaptiveMaxPool2d,
  adaptiveMaxPool3d,
  adaptiveMaxPoolNd,
  avgPool1d,
  avgPool2d,
  avgPool3d,
  avgPoolNd,
  binaryCrossEntropy,
  celu,
  concat,
  conv1d,
  conv2d,
  conv3d,
  convNd,
  convTranspose1d,
  convTranspose2d,
  convTranspose3d,
  convTransposeNd,
  ctcNegLogLikelihood,
  type DType,
  elu,
  fold,
  gather,
  gelu,
  glu,
  grad,
  gruCell,
  hardsigmoid,
  hardswish,
  hardtanh,
  indexSelect,
  interpolate,
  leakyRelu,
  linear,
  logSigmoid,
  logSoftmax,
  logsumexp,
  lstmCell,
  max,
  maxPool1d,
  maxPool2d,
  maxPool3d,
  maxPoolNd,
  mean,
  min,
  mish,
  nn,
  pad,
  prelu,
  relu6,
  type Shape,
  scatterAdd,
  selu,
  silu,
  softmax,
  softmin,
  softplus,
  softsign,
  stableSoftplus,
  stack,
  std,
  sum,
  Tensor,
  unfold,
  variance,
  where,
} from '../src/index.js';
import type { OpName } from '../src/ops/registry.js';
import { makeRng } from './gradcheck.js';

export type Domain = readonly [number, number];

export interface RowSpec {
  /** The exported function the row goes through, when it is not the op itself (a composite, a wrapper). */
  calls?: string;
  /** What distinguishes this row from the op's other rows. */
  label?: string;
  /** The function under test; every argument is a floating-point tensor to differentiate. */
  fn: (...xs: Tensor[]) => Tensor | readonly Tensor[];
  /** Input shapes. */
  shapes: readonly Shape[];
  /** Interval the inputs are drawn from: one for all inputs, or one per input (default [-2, 2]). */
  domain?: Domain | readonly Domain[];
  /** Further input shapes that the op broadcasts, each checked like `shapes`. */
  broadcast?: readonly (readonly Shape[])[];
  /** Also check second derivatives. */
  gradgrad?: boolean;
  /** Why the op has no second derivative to check, for the few ops that are first order by design. */
  firstOrderOnly?: string;
  /** Points where the op is not differentiable: inputs are drawn at least 0.1 away from them. */
  kinks?: readonly number[];
  /** All input elements pairwise well apart (for extrema: a tie has no derivative). */
  distinct?: boolean;
  /** Values written at the start of the first input: smooth points where special cases hide. */
  special?: readonly number[];
  /** Input dtypes (default float64); float32 inputs need a larger `eps`. */
  dtype?: DType | readonly DType[];
  /** Finite-difference step, when float64's 1e-6 does not suit the row. */
  eps?: number;
}

/** A row with the registered op it checks. */
export interface OpRow extends RowSpec {
  op: OpName;
}

export const DEFAULT_DOMAIN: Domain = [-2, 2];

/** An int32 tensor from values and a shape: the rows' index arguments, fixed by hand. */
function ints(values: readonly number[], shape: Shape): Tensor {
  return new Tensor(Int32Array.from(values), shape);
}

/** NumPy broadcasting of shapes, written out here so the table does not depend on the code it checks. */
function broadcastShape(...shapes: Shape[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  return Array.from({ length: rank }, (_, i) =>
    Math.max(...shapes.map((s) => (i - rank + s.length >= 0 ? s[i - rank + s.length]! : 1))),
  );
}

/** A fixed 0/1 int32 mask of a shape, mixing both values on every axis. */
function mask(shape: Shape): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor(
    Int32Array.from({ length: n }, (_, i) => ((i * 7 + 3) % 5 < 2 ? 1 : 0)),
    shape,
  );
}

const BINARY_BROADCAST: readonly (readonly Shape[])[] = [
  [
    [3, 1],
    [1, 4],
  ],
  [[4], [3, 4]],
  [[3, 4], []],
  [[], [2, 3]],
  [
    [2, 1, 4],
    [3, 1],
  ],
];

const binary = (
  calls: string,
  fn: (a: Tensor, b: Tensor) => Tensor,
  extra: Partial<RowSpec> = {},
): RowSpec => ({
  calls,
  fn,
  shapes: [
    [3, 4],
    [3, 4],
  ],
  broadcast: BINARY_BROADCAST,
  gradgrad: true,
  ...extra,
});

const unary = (
  calls: string,
  fn: (x: Tensor) => Tensor | readonly Tensor[],
  extra: Partial<RowSpec> = {},
): RowSpec => ({
  calls,
  fn,
  shapes: [[3, 4]],
  gradgrad: true,
  ...extra,
});

const POSITIVE: Domain = [0.5, 3];

// CTC is first order only, like PyTorch's (which has no double backward): its VJP scales weights α·β/p
// that the forward recursions computed as constants.
const CTC_FIRST_ORDER = 'the VJP reuses the forward recursions as constants';

/**
 * The rows of every registered op, keyed by its name in src/ops/registry.ts: an op without an entry
 * here fails `tsc`. Composites (plain functions over ops, such as softmax or conv2d) have their rows
 * under the op they are built around, with `calls` naming them.
 */
export type RowTable = { readonly [P in OpName]: readonly [RowSpec, ...RowSpec[]] };

export const ROWS: RowTable = {
  cast: [
    unary('cast', (x) => x.cast('float32'), { label: 'float64 to float32', eps: 1e-2 }),
    unary('cast', (x) => x.cast('float64'), { label: 'float32 to float64', dtype: 'float32', eps: 1e-2 }),
  ],
  neg: [unary('neg', (x) => x.neg())],
  exp: [unary('exp', (x) => x.exp()), unary('exp', (x) => x.exp(), { label: '0-d', shapes: [[]] })],
  log: [unary('log', (x) => x.log(), { domain: POSITIVE })],
  sqrt: [unary('sqrt', (x) => x.sqrt(), { domain: POSITIVE })],
  abs: [unary('abs', (x) => x.abs(), { kinks: [0] })],
  sign: [unary('sign', (x) => x.sign(), { kinks: [0] })],
  sin: [unary('sin', (x) => x.sin(), { domain: [-4, 4], special: [0] })],
  cos: [unary('cos', (x) => x.cos(), { domain: [-4, 4], special: [0] })],
  tanh: [
    unary('tanh', (x) => x.tanh(), { special: [0] }),
    unary('tanh', (x) => x.tanh(), { label: 'large', shapes: [[40, 30]] }),
    unary('gelu', (x) => gelu(x, 'tanh'), { label: 'tanh approximation', domain: [-3, 3], special: [0] }),
  ],
  sigmoid: [
    unary('sigmoid', (x) => x.sigmoid(), { domain: [-6, 6], special: [0] }),
    unary('silu', (x) => silu(x), { domain: [-4, 4], special: [0] }),
    unary('glu', (x) => glu(x)),
    unary('glu', (x) => glu(x, 0), { label: 'axis 0', shapes: [[4, 3]] }),
  ],
  relu: [unary('relu', (x) => x.relu(), { kinks: [0] })],
  erf: [
    unary('erf', (x) => x.erf(), { domain: [-3, 3], special: [0] }),
    unary('gelu', (x) => gelu(x), { domain: [-3, 3], special: [0] }),
  ],
  log1p: [unary('log1p', (x) => x.log1p(), { domain: [-0.6, 3], special: [0] })],
  add: [
    binary('add', (a, b) => a.add(b)),
    binary('add', (a, b) => a.add(b), {
      label: 'float32 + float64',
      dtype: ['float32', 'float64'],
      eps: 1e-2,
      broadcast: [],
    }),
    unary('add', (x) => x.add(1.5), { label: 'number' }),
  ],
  sub: [binary('sub', (a, b) => a.sub(b))],
  mul: [
    binary('mul', (a, b) => a.mul(b)),
    binary('mul', (a, b) => a.mul(b), { label: 'float32', dtype: 'float32', eps: 1e-2, broadcast: [] }),
    unary('mul', (x) => x.mul(x), { label: 'same tensor twice' }),
  ],
  div: [
    binary('div', (a, b) => a.div(b), { domain: [DEFAULT_DOMAIN, POSITIVE] }),
    unary('div', (x) => x.div(-3), { label: 'number' }),
    unary('softsign', (x) => softsign(x), { kinks: [0] }),
  ],
  pow: [
    binary('pow', (a, b) => a.pow(b), { domain: [POSITIVE, DEFAULT_DOMAIN] }),
    unary('pow', (x) => x.pow(3), { label: 'integer exponent, negative base' }),
    unary('pow', (x) => x.pow(-1.5), { label: 'fractional exponent', domain: POSITIVE }),
  ],
  maximum: [binary('maximum', (a, b) => a.maximum(b), { distinct: true })],
  minimum: [binary('minimum', (a, b) => a.minimum(b), { distinct: true })],
  where: [
    binary('where', (a, b) => where(mask(broadcastShape(a.shape, b.shape)), a, b)),
    unary('where', (x) => where(mask(x.shape), 0.5, x), { label: 'number' }),
    unary('clamp', (x) => x.clamp(-0.5, 0.7), { kinks: [-0.5, 0.7] }),
    unary('clamp', (x) => x.clamp(0.2), { label: 'min only', kinks: [0.2] }),
    unary('clamp', (x) => x.clamp(undefined, 0.2), { label: 'max only', kinks: [0.2] }),
    unary('leakyRelu', (x) => leakyRelu(x, 0.1), { kinks: [0] }),
    unary('elu', (x) => elu(x, 1.5), { kinks: [0] }),
    // With alpha 1, elu is continuously differentiable at 0 (both sides have slope 1).
    unary('elu', (x) => elu(x), { label: 'alpha 1, smooth at 0', special: [0], gradgrad: false }),
    unary('selu', (x) => selu(x), { kinks: [0] }),
    unary('celu', (x) => celu(x, 0.7), { kinks: [0] }),
    unary('hardtanh', (x) => hardtanh(x), { kinks: [-1, 1] }),
    unary('hardtanh', (x) => hardtanh(x, -0.5, 1.5), {
      label: 'minVal -0.5, maxVal 1.5',
      kinks: [-0.5, 1.5],
    }),
    unary('relu6', (x) => relu6(x), { domain: [-2, 8], kinks: [0, 6] }),
    unary('hardswish', (x) => hardswish(x), { domain: [-5, 5], kinks: [-3, 3] }),
    unary('hardsigmoid', (x) => hardsigmoid(x), { domain: [-5, 5], kinks: [-3, 3] }),
    binary('prelu', (x, w) => prelu(x, w), {
      shapes: [[2, 3, 4], [3]],
      broadcast: [],
      kinks: [0],
    }),
    binary('prelu', (x, w) => prelu(x, w), {
      label: 'one slope',
      shapes: [[3, 4], [1]],
      broadcast: [],
      kinks: [0],
    }),
  ],
  sum: [
    unary('sum', (x) => sum(x), { label: 'all axes' }),
    unary('sum', (x) => x.sum(1), { label: 'axis 1' }),
    unary('sum', (x) => x.sum(-1, true), { label: 'axis -1, keepDims' }),
    unary('sum', (x) => x.sum([0, 2]), { label: 'axes [0, 2]', shapes: [[2, 3, 4]] }),
    unary('sum', (x) => x.sum([-1, -3], true), { label: 'axes [-1, -3], keepDims', shapes: [[2, 3, 4]] }),
    unary('mean', (x) => mean(x), { label: 'all axes' }),
    unary('mean', (x) => x.mean(0), { label: 'axis 0' }),
    unary('mean', (x) => x.mean(-1, true), { label: 'axis -1, keepDims' }),
    unary('mean', (x) => x.mean([0, 2]), { label: 'axes [0, 2]', shapes: [[2, 3, 4]] }),
    unary('variance', (x) => variance(x), { label: 'all axes' }),
    unary('variance', (x) => x.var(1), { label: 'axis 1' }),
    unary('variance', (x) => x.var(-1, { keepDims: true }), { label: 'axis -1, keepDims' }),
    unary('variance', (x) => x.var([0, 2], { correction: 0 }), {
      label: 'axes [0, 2], correction 0',
      shapes: [[2, 3, 4]],
    }),
    unary('std', (x) => std(x), { label: 'all axes' }),
    unary('std', (x) => x.std(0), { label: 'axis 0' }),
    unary('std', (x) => x.std(-1, { keepDims: true, correction: 0 }), {
      label: 'axis -1, keepDims, correction 0',
    }),
    unary('logsumexp', (x) => logsumexp(x), { label: 'all axes' }),
    unary('logsumexp', (x) => x.logsumexp(1), { label: 'axis 1' }),
    unary('logsumexp', (x) => x.logsumexp(-1, true), { label: 'axis -1, keepDims' }),
    unary('logsumexp', (x) => x.logsumexp([0, 2]), { label: 'axes [0, 2]', shapes: [[2, 3, 4]] }),
  ],
  max: [
    unary('max', (x) => max(x), { label: 'all axes', distinct: true }),
    unary('max', (x) => x.max(1), { label: 'axis 1', distinct: true }),
    unary('max', (x) => x.max(-2, true), { label: 'axis -2, keepDims', distinct: true }),
    unary('max', (x) => x.max([0, -1]), { label: 'axes [0, -1]', shapes: [[2, 3, 4]], distinct: true }),
  ],
  min: [
    unary('min', (x) => min(x), { label: 'all axes', distinct: true }),
    unary('min', (x) => x.min(0), { label: 'axis 0', distinct: true }),
    unary('min', (x) => x.min(-1, true), { label: 'axis -1, keepDims', distinct: true }),
  ],
  matmul: [
    binary('matmul', (a, b) => a.matmul(b), {
      label: '2-D',
      shapes: [
        [3, 4],
        [4, 2],
      ],
      broadcast: [],
    }),
    binary('matmul', (a, b) => a.matmul(b.transpose()), {
      label: 'x @ w^T',
      shapes: [
        [3, 4],
        [2, 4],
      ],
      broadcast: [],
    }),
    binary('matmul', (a, b) => a.matmul(b), {
      label: 'batched 3-D',
      shapes: [
        [2, 2, 3],
        [2, 3, 2],
      ],
      broadcast: [
        [
          [2, 2, 3],
          [3, 2],
        ],
        [
          [2, 1, 2, 3],
          [3, 3, 2],
        ],
        [
          [1, 2, 3],
          [2, 3, 2],
        ],
      ],
    }),
    binary('matmul', (a, b) => a.matmul(b), {
      label: '1-D @ 2-D',
      shapes: [[4], [4, 3]],
      broadcast: [[[3], [2, 3, 2]]],
    }),
    binary('matmul', (a, b) => a.matmul(b), {
      label: '2-D @ 1-D',
      shapes: [[3, 4], [4]],
      broadcast: [[[2, 2, 3], [3]]],
    }),
    binary('matmul', (a, b) => a.matmul(b), { label: '1-D @ 1-D', shapes: [[5], [5]], broadcast: [] }),
    binary('matmul', (a, b) => a.matmul(b), {
      label: 'large',
      shapes: [
        [12, 20],
        [20, 8],
      ],
      broadcast: [],
    }),
    {
      calls: 'adaptiveAvgPool2d',
      label: '5×5 to 3×2',
      fn: (x) => adaptiveAvgPool2d(x!, [3, 2]),
      shapes: [[1, 2, 5, 5]],
      gradgrad: true,
    },
    {
      calls: 'adaptiveAvgPool1d',
      label: '7 to 3',
      fn: (x) => adaptiveAvgPool1d(x!, 3),
      shapes: [[2, 2, 7]],
      gradgrad: true,
    },
    {
      calls: 'adaptiveAvgPool3d',
      label: '3×5×4 to 2×3×(kept)',
      fn: (x) => adaptiveAvgPool3d(x!, [2, 3, null]),
      shapes: [[1, 1, 3, 5, 4]],
      gradgrad: true,
    },
    {
      calls: 'adaptiveAvgPoolNd',
      label: 'as AdaptiveAvgPool2d calls it',
      fn: (x) => adaptiveAvgPoolNd('AdaptiveAvgPool2d', x!, 2, [2, 4]),
      shapes: [[1, 2, 3, 5]],
      gradgrad: true,
    },
  ],
  attention: [
    // Matmuls around a softmax, masked with where() or an addition; on a backend with a fused kernel,
    // one op whose first-order gradients are the kernel's and whose second order is the composition's.
    {
      calls: 'scaledDotProductAttention',
      label: 'boolean mask [L, S]',
      fn: (q, k, v) =>
        nn.scaledDotProductAttention(q!, k!, v!, {
          mask: ints([1, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1], [3, 5]),
        }),
      shapes: [
        [2, 3, 4],
        [2, 5, 4],
        [2, 5, 3],
      ],
      gradgrad: true,
    },
    {
      calls: 'scaledDotProductAttention',
      label: 'float mask (differentiated too), broadcast batch',
      fn: (q, k, v, m) => nn.scaledDotProductAttention(q!, k!, v!, { mask: m! }),
      shapes: [
        [2, 2, 3, 4],
        [2, 5, 4],
        [1, 5, 2],
        [2, 1, 3, 5],
      ],
      gradgrad: true,
    },
    {
      calls: 'scaledDotProductAttention',
      label: 'causal, scale 0.5',
      fn: (q, k, v) => nn.scaledDotProductAttention(q!, k!, v!, { isCausal: true, scale: 0.5 }),
      shapes: [
        [4, 3],
        [6, 3],
        [6, 2],
      ],
      gradgrad: true,
    },
    {
      calls: 'scaledDotProductAttention',
      label: 'float mask [L, S] with -∞, strided q',
      fn: (q, k, v) =>
        nn.scaledDotProductAttention(q!.transpose(0, 1), k!, v!, {
          mask: new Tensor(Float64Array.from([0, -Infinity, 0.5, 0, -1, 0, -Infinity, 2, 0.25, 0]), [2, 5]),
        }),
      shapes: [
        [2, 3, 4],
        [3, 5, 4],
        [3, 5, 2],
      ],
      gradgrad: true,
    },
  ],
  linear: [
    {
      calls: 'linear',
      label: 'x wᵀ + b',
      fn: (x, w, b) => linear(x!, w!, b),
      shapes: [[3, 4], [5, 4], [5]],
      gradgrad: true,
    },
    {
      calls: 'linear',
      label: 'no bias, 3-D input',
      fn: (x, w) => linear(x!, w!),
      shapes: [
        [2, 3, 4],
        [5, 4],
      ],
      gradgrad: true,
    },
    {
      calls: 'linear',
      label: 'fused ReLU',
      fn: (x, w, b) => linear(x!, w!, b, 'relu'),
      shapes: [[6, 4], [5, 4], [5]],
      special: [0.9, -0.8, 1.1, 0.7],
      gradgrad: true,
    },
  ],
  reshape: [
    unary('reshape', (x) => x.reshape([2, 6]), { label: '[3, 4] to [2, 6]' }),
    unary('reshape', (x) => x.reshape([-1]), { label: 'to [-1]' }),
    unary('reshape', (x) => x.reshape([6, 1, 4]), { label: '[2, 3, 4] to [6, 1, 4]', shapes: [[2, 3, 4]] }),
    unary('squeeze', (x) => x.squeeze(1), { shapes: [[3, 1, 4]] }),
    unary('squeeze', (x) => x.squeeze(), { label: 'all', shapes: [[1, 3, 1, 4]] }),
    unary('unsqueeze', (x) => x.unsqueeze(1)),
    unary('unsqueeze', (x) => x.unsqueeze(-1), { label: 'axis -1' }),
    unary('flatten', (x) => x.flatten(), { shapes: [[2, 3, 4]] }),
    unary('flatten', (x) => x.flatten(1), { label: 'from axis 1', shapes: [[2, 3, 4]] }),
    unary('flatten', (x) => x.flatten(0, -2), { label: 'axes 0..-2', shapes: [[2, 3, 4]] }),
    // Splitting an axis is a view in every layout, so view's rows split (merging would refuse some).
    unary('view', (x) => x.view(3, 2, 2), { label: '[3, 4] to [3, 2, 2]' }),
    unary('view', (x) => x.view([-1, 2, 4]), { label: 'to [-1, 2, 4]', shapes: [[6, 4]] }),
    unary('unflatten', (x) => x.unflatten(1, [2, 2])),
    unary('unflatten', (x) => x.unflatten(0, [-1, 3]), { label: 'with -1', shapes: [[6, 4]] }),
  ],
  permute: [
    unary('permute', (x) => x.permute([2, 0, 1]), { shapes: [[2, 3, 4]] }),
    unary('permute', (x) => x.permute([-1, 0, -2]), { label: 'negative axes', shapes: [[2, 3, 4]] }),
    unary('transpose', (x) => x.transpose()),
    unary('transpose', (x) => x.transpose(0, -1), { label: 'axes 0 and -1', shapes: [[2, 3, 4]] }),
    unary('transpose', (x) => x.T, { label: '.T' }),
    unary('transpose', (x) => x.mT, { label: '.mT', shapes: [[2, 3, 4]] }),
  ],
  expand: [
    unary('expand', (x) => x.expand([2, 3, 4]), { shapes: [[3, 1]] }),
    unary('expand', (x) => x.expand([2, -1, 5]), { label: 'with -1', shapes: [[1, 3, 1]] }),
  ],
  slice: [
    unary('slice', (x) => x.slice([[1, 3], null, [undefined, undefined, 2]]), {
      label: 'ranges and a step',
      shapes: [[4, 2, 5]],
    }),
    unary('slice', (x) => x.slice([null, [-3, -1]]), { label: 'negative indices' }),
    unary('slice', (x) => x.slice([1, [0, 4, 3]]), { label: 'an integer index drops an axis' }),
    unary('slice', (x) => x.slice([-1]), { label: 'a negative integer index' }),
    unary('slice', (x) => x.slice([{ start: 1, step: 2 }]), { label: 'object spec', shapes: [[5, 2]] }),
    unary('narrow', (x) => x.narrow(1, 1, 2)),
    unary('narrow', (x) => x.narrow(-2, 1, 2), { label: 'axis -2' }),
    unary('select', (x) => x.select(1, 1)),
    unary('select', (x) => x.select(-1, -1), { label: 'last axis, negative index' }),
    unary('split', (x) => x.split([1, 3], 1), { label: 'sizes' }),
    unary('split', (x) => x.split(2, 0), { label: 'uneven pieces', shapes: [[5, 2]] }),
  ],
  embed: [
    unary('pad', (x) => x.pad([[1, 2]], 0.5)),
    unary(
      'pad',
      (x) =>
        x.pad(
          [
            [0, 1],
            [2, 1],
          ],
          -1,
        ),
      { label: 'two axes' },
    ),
  ],
  concat: [
    {
      calls: 'concat',
      fn: (a, b, c) => concat([a!, b!, c!], 1),
      shapes: [
        [2, 3],
        [2, 1],
        [2, 2],
      ],
      gradgrad: true,
    },
    {
      calls: 'concat',
      label: 'axis -3',
      fn: (a, b) => concat([a!, b!], -3),
      shapes: [
        [1, 2, 3],
        [2, 2, 3],
      ],
      gradgrad: true,
    },
    binary('stack', (a, b) => stack([a, b], 1), { broadcast: [] }),
    binary('stack', (a, b) => stack([a, b], -1), { label: 'axis -1', broadcast: [] }),
  ],
  copy: [unary('contiguous', (x) => x.contiguous()), unary('clone', (x) => x.clone())],
  gather: [
    unary('gather', (x) => gather(x, 1, ints([0, 3, 3, 1, 2, 2], [3, 2])), { label: 'axis 1' }),
    unary('gather', (x) => x.gather(0, ints([2, 0, 1, 2, 2, 2, 0, 1], [2, 4])), { label: 'axis 0' }),
    unary('gather', (x) => x.gather(-1, ints([1, 1, 0, 2], [2, 2])), {
      label: 'index smaller than input',
    }),
    unary('indexSelect', (x) => indexSelect(x, 0, ints([2, 0, 2], [3])), { shapes: [[4, 3]] }),
    unary('indexSelect', (x) => x.indexSelect(-1, ints([1, 1], [2])), { label: 'axis -1', shapes: [[4, 3]] }),
    unary('interpolate', (x) => interpolate(x, { scaleFactor: 2 }), {
      label: 'nearest ×2',
      shapes: [[1, 2, 3, 3]],
    }),
    unary('interpolate', (x) => interpolate(x, { size: [5, 2] }), {
      label: 'nearest to size',
      shapes: [[2, 1, 3, 4]],
    }),
    unary('interpolate', (x) => interpolate(x, { size: 5, mode: 'bilinear' }), {
      label: 'bilinear',
      shapes: [[1, 2, 3, 4]],
    }),
    unary('interpolate', (x) => interpolate(x, { scaleFactor: 1.5, mode: 'bilinear', alignCorners: true }), {
      label: 'bilinear, alignCorners',
      shapes: [[1, 2, 3, 2]],
    }),
    unary('interpolate', (x) => interpolate(x, { scaleFactor: 2, mode: 'linear' }), {
      label: 'linear',
      shapes: [[2, 2, 3]],
    }),
    {
      calls: 'pad',
      label: "reflect, PyTorch's flat widths",
      fn: (x) => pad(x!, [2, 1, 1, 0], { mode: 'reflect' }),
      shapes: [[2, 3, 4]],
      gradgrad: true,
    },
    {
      calls: 'pad',
      label: 'replicate, wider than the axis',
      fn: (x) => pad(x!, [[3, 1]], { mode: 'replicate' }),
      shapes: [[2, 2]],
      gradgrad: true,
    },
    {
      calls: 'pad',
      label: 'circular, two axes',
      fn: (x) =>
        pad(
          x!,
          [
            [1, 2],
            [3, 0],
          ],
          { mode: 'circular' },
        ),
      shapes: [[2, 3, 3]],
      gradgrad: true,
    },
  ],
  scatterAdd: [
    binary('scatterAdd', (x, src) => scatterAdd(x, 1, ints([0, 2, 3, 3, 1, 1], [3, 2]), src), {
      shapes: [
        [3, 4],
        [3, 2],
      ],
      broadcast: [],
    }),
    binary('scatterAdd', (x, src) => x.scatterAdd(0, ints([2, 0, 2, 1], [2, 2]), src), {
      label: 'axis 0, src larger than index',
      shapes: [
        [3, 4],
        [3, 3],
      ],
      broadcast: [],
    }),
  ],
  logSoftmax: [
    unary('softmax', (x) => softmax(x)),
    unary('softmax', (x) => x.softmax(0), { label: 'axis 0' }),
    unary('softmax', (x) => x.softmax(), { label: 'large', shapes: [[32, 10]], domain: [-5, 5] }),
    unary('logSoftmax', (x) => logSoftmax(x)),
    unary('logSoftmax', (x) => x.logSoftmax(1), { label: 'axis 1', shapes: [[2, 3, 4]] }),
    unary('softmin', (x) => softmin(x)),
    unary('softmin', (x) => softmin(x, 0), { label: 'axis 0' }),
  ],
  stableSoftplus: [
    unary('stableSoftplus', (x) => stableSoftplus(x), { domain: [-4, 4], special: [0] }),
    unary('softplus', (x) => softplus(x), { special: [0] }),
    unary('softplus', (x) => softplus(x, 2, 3), { label: 'beta 2, threshold 3', kinks: [1.5] }),
    unary('mish', (x) => mish(x), { domain: [-4, 4], special: [0] }),
    unary('logSigmoid', (x) => logSigmoid(x), { domain: [-6, 6], special: [0] }),
  ],
  lstmCell: [
    {
      calls: 'lstmCell',
      label: "h' and c'",
      fn: (xw, hw, c) => lstmCell(xw!, hw!, c!),
      shapes: [
        [2, 12],
        [2, 12],
        [2, 3],
      ],
      gradgrad: true,
    },
    {
      calls: 'lstmCell',
      label: "only h' used, 3-D",
      fn: (xw, hw, c) => lstmCell(xw!, hw!, c!)[0],
      shapes: [
        [2, 1, 8],
        [2, 1, 8],
        [2, 1, 2],
      ],
    },
  ],
  gruCell: [
    {
      calls: 'gruCell',
      fn: (xw, hw, h) => gruCell(xw!, hw!, h!),
      shapes: [
        [2, 9],
        [2, 9],
        [2, 3],
      ],
      gradgrad: true,
    },
  ],
  conv: [
    {
      calls: 'conv1d',
      label: 'stride 2, padding 1',
      fn: (x, w, b) => conv1d(x!, w!, b, { stride: 2, padding: 1 }),
      shapes: [[2, 2, 7], [3, 2, 3], [3]],
      gradgrad: true,
    },
    {
      calls: 'convNd',
      label: 'as Conv2d calls it',
      fn: (x, w) => convNd('Conv2d', x!, w!, null, 2, { padding: 1 }),
      shapes: [
        [1, 1, 3, 3],
        [1, 1, 3, 3],
      ],
    },
    {
      calls: 'convNd',
      label: 'with bias and ReLU fused, as Sequential calls it',
      fn: (x, w, b) => convNd('Conv2d', x!, w!, b, 2, { padding: 1 }, 'relu'),
      shapes: [[2, 2, 4, 4], [3, 2, 3, 3], [3]],
      gradgrad: true,
    },
    {
      calls: 'conv2d',
      label: '3×3, stride 1, 16 channels in and out (Winograd on native), odd sizes',
      fn: (x, w, b) => conv2d(x!, w!, b, { padding: 1 }),
      shapes: [[3, 16, 5, 3], [16, 16, 3, 3], [16]],
      gradgrad: true,
    },
    {
      calls: 'conv2d',
      label: 'plain',
      fn: (x, w, b) => conv2d(x!, w!, b),
      shapes: [[1, 2, 4, 4], [2, 2, 3, 3], [2]],
      gradgrad: true,
    },
    {
      calls: 'conv2d',
      label: 'stride, padding, dilation',
      fn: (x, w) => conv2d(x!, w!, null, { stride: [2, 1], padding: [1, 2], dilation: [1, 2] }),
      shapes: [
        [1, 2, 5, 5],
        [2, 2, 2, 3],
      ],
    },
    {
      calls: 'conv2d',
      label: 'groups 2',
      fn: (x, w, b) => conv2d(x!, w!, b, { groups: 2 }),
      shapes: [[2, 4, 3, 3], [4, 2, 2, 2], [4]],
    },
    {
      calls: 'conv2d',
      label: "padding 'same', even kernel",
      fn: (x, w) => conv2d(x!, w!, null, { padding: 'same' }),
      shapes: [
        [1, 1, 4, 4],
        [2, 1, 2, 2],
      ],
    },
    {
      calls: 'conv3d',
      label: 'padding 1',
      fn: (x, w) => conv3d(x!, w!, null, { padding: 1 }),
      shapes: [
        [1, 1, 3, 3, 3],
        [2, 1, 2, 2, 2],
      ],
    },
    {
      calls: 'convNd',
      label: "Conv2d's reflect padding mode, uneven widths",
      fn: (x, w, b) => convNd('Conv2d', x!, w!, b, 2, { padding: [1, 2], paddingMode: 'reflect' }),
      shapes: [[1, 2, 4, 5], [2, 2, 3, 3], [2]],
      gradgrad: true,
    },
    {
      calls: 'convNd',
      label: "Conv1d's circular padding with padding 'same'",
      fn: (x, w) => convNd('Conv1d', x!, w!, null, 1, { padding: 'same', paddingMode: 'circular' }),
      shapes: [
        [2, 2, 5],
        [3, 2, 4],
      ],
      gradgrad: true,
    },
    {
      calls: 'conv1d',
      label: 'one sample without the batch axis',
      fn: (x, w, b) => conv1d(x!, w!, b, { padding: 1 }),
      shapes: [[2, 5], [3, 2, 3], [3]],
      gradgrad: true,
    },
  ],
  maxPool: [
    {
      calls: 'maxPoolNd',
      label: 'as MaxPool1d calls it',
      fn: (x) => maxPoolNd('MaxPool1d', x!, 1, 2),
      shapes: [[1, 2, 6]],
      distinct: true,
    },
    {
      calls: 'maxPool1d',
      label: 'kernel 3, stride 2, padding 1',
      fn: (x) => maxPool1d(x!, 3, { stride: 2, padding: 1 }),
      shapes: [[2, 2, 7]],
      distinct: true,
    },
    {
      calls: 'maxPool2d',
      label: '2×2',
      fn: (x) => maxPool2d(x!, 2),
      shapes: [[1, 2, 4, 4]],
      distinct: true,
      gradgrad: true,
    },
    {
      calls: 'maxPool2d',
      label: 'kernel 3, stride 1, dilation 2',
      fn: (x) => maxPool2d(x!, 3, { stride: 1, dilation: 2 }),
      shapes: [[1, 1, 6, 6]],
      distinct: true,
    },
    {
      calls: 'maxPool3d',
      label: '2×2×2',
      fn: (x) => maxPool3d(x!, 2),
      shapes: [[1, 1, 4, 4, 2]],
      distinct: true,
    },
    {
      calls: 'maxPool2d',
      label: 'ceil mode: a partial last window',
      fn: (x) => maxPool2d(x!, 3, { stride: 2, ceilMode: true }),
      shapes: [[1, 2, 6, 5]],
      distinct: true,
      gradgrad: true,
    },
    {
      calls: 'maxPoolNd',
      label: 'as MaxPool3d calls it: ceil mode, dilation',
      fn: (x) => maxPoolNd('MaxPool3d', x!, 3, 2, { stride: 2, dilation: [1, 2, 1], ceilMode: true }),
      shapes: [[1, 1, 3, 4, 3]],
      distinct: true,
      gradgrad: true,
    },
    {
      calls: 'adaptiveMaxPool1d',
      label: '7 to 3 (overlapping bins)',
      fn: (x) => adaptiveMaxPool1d(x!, 3),
      shapes: [[2, 2, 7]],
      distinct: true,
      gradgrad: true,
    },
    {
      calls: 'adaptiveMaxPool2d',
      label: '5×7 to 3×2',
      fn: (x) => adaptiveMaxPool2d(x!, [3, 2]),
      shapes: [[1, 2, 5, 7]],
      distinct: true,
      gradgrad: true,
    },
    {
      calls: 'adaptiveMaxPool3d',
      label: '3×4×3 to 2×3×2',
      fn: (x) => adaptiveMaxPool3d(x!, [2, 3, 2]),
      shapes: [[1, 1, 3, 4, 3]],
      distinct: true,
      gradgrad: true,
    },
    {
      calls: 'maxPool2d',
      label: 'with indices, ceil mode and padding',
      fn: (x) => maxPool2d(x!, 3, { stride: 2, padding: 1, ceilMode: true, returnIndices: true })[0],
      shapes: [[1, 1, 5, 6]],
      distinct: true,
      gradgrad: true,
    },
    {
      calls: 'adaptiveMaxPoolNd',
      label: 'as AdaptiveMaxPool2d calls it, with indices',
      fn: (x) => adaptiveMaxPoolNd('AdaptiveMaxPool2d', x!, 2, [2, 3], true)[0]!,
      shapes: [[1, 1, 4, 5]],
      distinct: true,
      gradgrad: true,
    },
  ],
  unfold: [
    {
      calls: 'avgPoolNd',
      label: 'as AvgPool1d calls it',
      fn: (x) => avgPoolNd('AvgPool1d', x!, 1, 3, { stride: 1 }),
      shapes: [[1, 2, 6]],
    },
    {
      calls: 'avgPool1d',
      label: 'kernel 2',
      fn: (x) => avgPool1d(x!, 2),
      shapes: [[2, 3, 6]],
      gradgrad: true,
    },
    {
      calls: 'avgPool2d',
      label: 'kernel 3, stride 2, padding 1',
      fn: (x) => avgPool2d(x!, 3, { stride: 2, padding: 1 }),
      shapes: [[1, 2, 5, 5]],
      gradgrad: true,
    },
    { calls: 'avgPool3d', label: 'kernel 2', fn: (x) => avgPool3d(x!, 2), shapes: [[1, 1, 4, 2, 2]] },
    {
      calls: 'unfold',
      label: '2×2 windows, padding 1',
      fn: (x) => unfold(x!, { kernel: [2, 2], stride: [1, 2], padding: [1, 1], dilation: [1, 1] }),
      shapes: [[1, 2, 3, 4]],
      gradgrad: true,
    },
    {
      calls: 'avgPool2d',
      label: 'one sample without the batch axis',
      fn: (x) => avgPool2d(x!, 2, { ceilMode: true }),
      shapes: [[2, 3, 5]],
      gradgrad: true,
    },
    {
      calls: 'avgPool2d',
      label: 'ceil mode, padding excluded from the count',
      fn: (x) => avgPool2d(x!, 3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }),
      shapes: [[1, 2, 6, 5]],
      gradgrad: true,
    },
    {
      calls: 'avgPool3d',
      label: 'divisorOverride, ceil mode',
      fn: (x) => avgPool3d(x!, 2, { divisorOverride: 3, ceilMode: true }),
      shapes: [[1, 1, 3, 2, 3]],
      gradgrad: true,
    },
    {
      calls: 'avgPoolNd',
      label: 'as AvgPool1d calls it: ceil mode, padding counted',
      fn: (x) => avgPoolNd('AvgPool1d', x!, 1, 2, { padding: 1, ceilMode: true }),
      shapes: [[2, 1, 6]],
      gradgrad: true,
    },
  ],
  convBackwardInput: [
    {
      calls: 'convTranspose2d',
      label: 'stride 2, outputPadding 1',
      fn: (x, w, b) => convTranspose2d(x!, w!, b, { stride: 2, outputPadding: 1 }),
      shapes: [[1, 2, 3, 3], [2, 3, 3, 3], [3]],
      gradgrad: true,
    },
    {
      calls: 'convTranspose2d',
      label: 'groups 2, padding 1, dilation 2',
      fn: (x, w) => convTranspose2d(x!, w!, null, { groups: 2, padding: 1, dilation: 2 }),
      shapes: [
        [1, 4, 3, 3],
        [4, 1, 2, 2],
      ],
    },
    {
      calls: 'convTransposeNd',
      label: 'as ConvTranspose3d calls it: groups 2',
      fn: (x, w, b) => convTransposeNd('ConvTranspose3d', x!, w!, b, 3, { groups: 2, stride: [1, 2, 1] }),
      shapes: [[1, 2, 2, 2, 3], [2, 2, 2, 1, 2], [4]],
      gradgrad: true,
    },
    {
      calls: 'convTranspose1d',
      label: 'stride 3, padding 1, outputPadding 2',
      fn: (x, w, b) => convTranspose1d(x!, w!, b, { stride: 3, padding: 1, outputPadding: 2 }),
      shapes: [[2, 2, 4], [2, 3, 3], [3]],
      gradgrad: true,
    },
    {
      calls: 'convTranspose3d',
      label: 'stride 2',
      fn: (x, w) => convTranspose3d(x!, w!, null, { stride: 2 }),
      shapes: [
        [1, 2, 2, 2, 2],
        [2, 1, 2, 2, 2],
      ],
      gradgrad: true,
    },
  ],
  fold: [
    {
      calls: 'fold',
      label: 'unfold’s adjoint',
      fn: (c) =>
        fold(c!, [1, 1, 3, 3], { kernel: [2, 2], stride: [1, 1], padding: [0, 0], dilation: [1, 1] }),
      shapes: [[1, 1, 4, 4]],
      gradgrad: true,
    },
  ],
  identity: [
    {
      label: 'grad inside grad',
      fn: (x) => grad((y) => y.mul(y).sum())(x!)[0]!,
      shapes: [[3, 4]],
      gradgrad: true,
    },
  ],
  maxUnpool: [
    {
      label: "maxPool2d's gradient, as a function of the incoming gradient",
      fn: (x, r) => grad((y) => maxPool2d(y, 2).mul(r!).sum())(x!)[0]!,
      shapes: [
        [1, 2, 4, 4],
        [1, 2, 2, 2],
      ],
      distinct: true,
      gradgrad: true,
    },
  ],
  convBackwardWeight: [
    {
      label: "conv2d's weight gradient, from the input and the incoming gradient",
      fn: (x, w, r) => grad((v) => conv2d(x!, v, null, { padding: 1 }).mul(r!).sum())(w!)[0]!,
      shapes: [
        [2, 2, 4, 3],
        [3, 2, 3, 3],
        [2, 3, 4, 3],
      ],
      gradgrad: true,
    },
  ],
  batchNormalize: [
    {
      calls: 'batchNorm',
      label: 'training, batch statistics',
      fn: (x, w, b) => nn.batchNorm(x!, null, null, { weight: w!, bias: b!, training: true }),
      shapes: [[4, 3, 2], [3], [3]],
      gradgrad: true,
    },
  ],
  binaryCrossEntropy: [
    binary('binaryCrossEntropy', (p, y) => binaryCrossEntropy(p, y), {
      domain: [
        [0.05, 0.95],
        [0, 1],
      ],
      broadcast: [],
    }),
    {
      calls: 'bceLoss',
      label: 'probabilities and soft targets',
      fn: (p, y) => nn.bceLoss(p!, y!, { reduction: 'none' }),
      shapes: [
        [3, 4],
        [3, 4],
      ],
      domain: [
        [0.05, 0.95],
        [0, 1],
      ],
      gradgrad: true,
    },
  ],
  // Targets: a repeated label (its alignments need a blank between), a sample shorter than T, an empty
  // target; then blank 2 with zeroInfinity on an impossible sample. Log-probabilities need not be
  // normalised for the gradient to hold.
  ctcNegLogLikelihood: [
    {
      label: 'repeats, short input, empty target',
      fn: (lp) =>
        ctcNegLogLikelihood(lp!, {
          targets: [Int32Array.of(1, 2, 2), Int32Array.of(3), Int32Array.of()],
          inputLengths: [6, 4, 5],
          blank: 0,
          zeroInfinity: false,
        }),
      shapes: [[6, 3, 4]],
      domain: [-3, 0],
      firstOrderOnly: CTC_FIRST_ORDER,
    },
    {
      label: 'blank 2, zeroInfinity with an impossible sample',
      fn: (lp) =>
        ctcNegLogLikelihood(lp!, {
          targets: [Int32Array.of(1, 1), Int32Array.of(0, 1, 3)],
          inputLengths: [2, 5],
          blank: 2,
          zeroInfinity: true,
        }),
      shapes: [[5, 2, 4]],
      domain: [-3, 0],
      firstOrderOnly: CTC_FIRST_ORDER,
    },
  ],
};

/** Every row, with the registered op it belongs to. */
export const OP_TABLE: readonly OpRow[] = Object.entries(ROWS).flatMap(([op, rows]) =>
  rows.map((row: RowSpec) => ({ op: op as OpName, ...row })),
);

/** The function a row calls, with its label: `softmax (axis 0)`. How tests name a row. */
export function rowName(row: OpRow): string {
  const name = row.calls ?? row.op;
  return row.label ? `${name} (${row.label})` : name;
}

function domainOf(row: OpRow, i: number): Domain {
  const d = row.domain ?? DEFAULT_DOMAIN;
  return typeof d[0] === 'number' ? (d as Domain) : (d as readonly Domain[])[i]!;
}

export function dtypeOf(row: OpRow, i: number): DType {
  const d = row.dtype ?? 'float64';
  return typeof d === 'string' ? d : d[i]!;
}

/**
 * Input values for a row at the given shapes (row-major, one array per input), deterministic in the
 * seed: uniform on the row's domain, kept 0.1 away from its kinks, pairwise apart when `distinct`,
 * with the row's special points first.
 */
export function sampleInputs(row: OpRow, shapes: readonly Shape[], seed: number): Float64Array[] {
  const rng = makeRng(seed);
  const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
  const margin = 0.1;
  const nearKink = (v: number) => (row.kinks ?? []).some((k) => Math.abs(v - k) < margin);
  let values: Float64Array[];
  if (row.distinct) {
    // One grid over all inputs, shuffled and jittered: every gap is at least a third of a cell.
    const [lo, hi] = domainOf(row, 0);
    const total = sizes.reduce((a, b) => a + b, 0);
    const cell = (hi - lo) / total;
    const grid = Array.from({ length: total }, (_, i) => lo + (i + 0.5 + (rng() - 0.5) * 0.6) * cell);
    for (let i = total - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [grid[i], grid[j]] = [grid[j]!, grid[i]!];
    }
    let at = 0;
    values = sizes.map((n) => {
      const v = Float64Array.from(grid.slice(at, at + n));
      at += n;
      return v;
    });
  } else {
    values = sizes.map((n, i) => {
      const [lo, hi] = domainOf(row, i);
      return Float64Array.from({ length: n }, () => {
        let v = lo + (hi - lo) * rng();
        while (nearKink(v)) v = lo + (hi - lo) * rng();
        return v;
      });
    });
  }
  (row.special ?? []).forEach((v, i) => {
    if (i < values[0]!.length) values[0]![i] = v;
  });
  return values;
}

/**
 * Ops exported from src/ops that have no derivative to check, each with the reason. Everything else
 * exported there needs a row.
 */
export const NOT_DIFFERENTIABLE: Readonly<Record<string, string>> = {
  eq: 'comparison: an int32 mask',
  ne: 'comparison: an int32 mask',
  lt: 'comparison: an int32 mask',
  le: 'comparison: an int32 mask',
  gt: 'comparison: an int32 mask',
  ge: 'comparison: an int32 mask',
  argmax: 'an int32 index',
  argmin: 'an int32 index',
  oneHot: 'int32 labels in, constants out',
  copyInto: 'writes in place and is never recorded',
};
