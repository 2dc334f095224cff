import { isGradEnabled } from '../autograd/mode.js';
import { getBackend } from '../backend/registry.js';
import { checkArity, checkOptions, describe, fail, fmtShape } from '../errors.js';
import { tensor } from '../tensor/creation.js';
import { normAxis } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { where } from './elementwise.js';
import { indexSelect } from './indexing.js';
import { narrow } from './movement.js';
import { defineOp, empty, requireFloat, tensorArg } from './op.js';

/**
 * Composites: plain functions over differentiable ops, with no VJP of their own; and logSoftmax, an op
 * whose forward a backend may fuse, with its VJP written in tensor ops.
 */

/** A real argument of an activation, checked where it enters. */
function checkReal(op: string, name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    fail(op, `${name} must be a finite number, got ${describe(value)}`);
}

const logSoftmaxOp = defineOp({
  name: 'logSoftmax',
  forward: ([x], axis) => {
    const fused = getBackend().fused?.logSoftmax;
    if (fused && axis === x!.rank - 1 && x!.isContiguous() && x!.dtype !== 'int32') {
      const out = empty(x!.shape, x!.dtype);
      fused(out, x!);
      return out;
    }
    // (x - m) - log(sum(exp(x - m))): subtracting the shifted terms keeps float32 precision for large x.
    const m = x!.max(axis, true);
    const shifted = x!.sub(where(m.abs().lt(Infinity), m, 0));
    return shifted.sub(shifted.exp().sum(axis, true).log());
  },
  // d/dx: g - softmax(x) * sum(g), with softmax = exp(y): the backend's one pass for first-order
  // gradients, the ops otherwise, which autograd differentiates again.
  vjp: (g, { output, attrs: axis }) => {
    const fused = getBackend().fused?.logSoftmaxBackward;
    if (
      fused &&
      !isGradEnabled() &&
      axis === output.rank - 1 &&
      g.dtype === output.dtype &&
      output.isContiguous() &&
      g.isContiguous()
    ) {
      const dx = empty(output.shape, output.dtype);
      fused(dx, g, output);
      return [dx];
    }
    return [g.sub(output.exp().mul(g.sum(axis, true)))];
  },
});

/** log softmax(x) = x - logsumexp(x) along an axis, computed stably. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  checkArity('logSoftmax', arguments, 2, 'logSoftmax(x, axis)');
  tensorArg('logSoftmax', x);
  requireFloat('logSoftmax', x);
  return logSoftmaxOp([x], normAxis('logSoftmax', axis, x.rank));
}

/** exp(x_i) / sum_j exp(x_j) along an axis, as exp(logSoftmax(x)). */
export function softmax(x: Tensor, axis = -1): Tensor {
  checkArity('softmax', arguments, 2, 'softmax(x, axis)');
  requireFloat('softmax', x);
  return logSoftmaxOp([x], normAxis('softmax', axis, x.rank)).exp();
}

/** max(0, x) + slope * min(0, x). */
export function leakyRelu(x: Tensor, slope = 0.01): Tensor {
  checkArity('leakyRelu', arguments, 2, 'leakyRelu(x, slope)');
  tensorArg('leakyRelu', x);
  checkReal('leakyRelu', 'slope', slope);
  return where(x.gt(0), x, x.mul(slope));
}

/** x for x > 0, alpha (e^x - 1) otherwise; the exponential only sees x <= 0, so it cannot overflow. */
export function elu(x: Tensor, alpha = 1): Tensor {
  checkArity('elu', arguments, 2, 'elu(x, alpha)');
  tensorArg('elu', x);
  checkReal('elu', 'alpha', alpha);
  const positive = x.gt(0);
  return where(positive, x, where(positive, 0, x).exp().sub(1).mul(alpha));
}

const softplusOp = defineOp({
  name: 'stableSoftplus',
  forward: ([z]) => z!.maximum(0).add(z!.abs().neg().exp().log1p()),
  vjp: (g, { inputs: [z] }) => [g.mul(z!.sigmoid())],
});

/**
 * log(1 + e^z), computed as max(z, 0) + log1p(e^-|z|) so that it never overflows; its derivative is
 * sigmoid(z) at every order, kinks of the formula notwithstanding.
 */
export function stableSoftplus(z: Tensor): Tensor {
  return softplusOp([z], undefined);
}

/**
 * log(1 + e^(beta x)) / beta; above `threshold` (in units of beta x) it returns x, as PyTorch does.
 */
export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor {
  checkArity('softplus', arguments, 3, 'softplus(x, beta, threshold)');
  tensorArg('softplus', x);
  checkReal('softplus', 'beta', beta);
  if (beta === 0) fail('softplus', 'beta must not be 0 (it divides the result)');
  // An infinite threshold is meaningful: never switch to the identity.
  if (typeof threshold !== 'number' || Number.isNaN(threshold))
    fail('softplus', `threshold must be a number, got ${describe(threshold)}`);
  const z = x.mul(beta);
  return where(z.gt(threshold), x, stableSoftplus(z).div(beta));
}

/** The two forms of gelu: the exact x·Φ(x), and PyTorch's tanh approximation. */
export type GeluApproximation = 'none' | 'tanh';

/**
 * x Φ(x), with Φ the standard normal CDF: the exact (erf) form by default, PyTorch's; with 'tanh',
 * Hendrycks & Gimpel's approximation ½x(1 + tanh(sqrt(2/π)(x + 0.044715x³))), PyTorch's
 * `approximate='tanh'`.
 *
 *     gelu(x, 'tanh')
 */
export function gelu(x: Tensor, approximate: GeluApproximation = 'none'): Tensor {
  checkArity('gelu', arguments, 2, "gelu(x, 'tanh')");
  tensorArg('gelu', x);
  if (approximate === 'tanh') {
    const inner = x.add(x.mul(x).mul(x).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
    return x.mul(inner.tanh().add(1)).mul(0.5);
  }
  if (approximate !== 'none')
    fail('gelu', `approximate must be 'none' or 'tanh', got ${describe(approximate)}`);
  return x.mul(x.mul(Math.SQRT1_2).erf().add(1)).mul(0.5);
}

/** x·sigmoid(x), the sigmoid-weighted linear unit (Elfwing et al., 2018; "swish"). */
export function silu(x: Tensor): Tensor {
  checkArity('silu', arguments, 1, 'silu(x)');
  tensorArg('silu', x);
  return x.mul(x.sigmoid());
}

/** x·tanh(softplus(x)) (Misra, 2019), through the overflow-free softplus. */
export function mish(x: Tensor): Tensor {
  checkArity('mish', arguments, 1, 'mish(x)');
  tensorArg('mish', x);
  return x.mul(stableSoftplus(x).tanh());
}

// SELU's constants (Klambauer et al., 2017), PyTorch's to double precision.
const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

/** scale·elu(x, alpha) with the self-normalising constants α ≈ 1.6733 and scale ≈ 1.0507. */
export function selu(x: Tensor): Tensor {
  checkArity('selu', arguments, 1, 'selu(x)');
  tensorArg('selu', x);
  return elu(x, SELU_ALPHA).mul(SELU_SCALE);
}

/** max(0, x) + min(0, α(e^(x/α) - 1)) (Barron, 2017); α must not be 0. */
export function celu(x: Tensor, alpha = 1): Tensor {
  checkArity('celu', arguments, 2, 'celu(x, alpha)');
  tensorArg('celu', x);
  checkReal('celu', 'alpha', alpha);
  if (alpha === 0) fail('celu', 'alpha must not be 0 (it divides x)');
  const positive = x.gt(0);
  return where(positive, x, where(positive, 0, x).div(alpha).exp().sub(1).mul(alpha));
}

/**
 * x limited to [minVal, maxVal]. As in PyTorch the gradient is 0 on the boundaries themselves (clamp
 * passes it there), so relu6 and hardsigmoid match PyTorch's gradients at their corners too.
 */
export function hardtanh(x: Tensor, minVal = -1, maxVal = 1): Tensor {
  checkArity('hardtanh', arguments, 3, 'hardtanh(x, minVal, maxVal)');
  tensorArg('hardtanh', x);
  checkReal('hardtanh', 'minVal', minVal);
  checkReal('hardtanh', 'maxVal', maxVal);
  if (minVal > maxVal) fail('hardtanh', `minVal ${minVal} is greater than maxVal ${maxVal}`);
  return where(x.le(minVal), minVal, where(x.ge(maxVal), maxVal, x));
}

/** min(max(0, x), 6). */
export function relu6(x: Tensor): Tensor {
  checkArity('relu6', arguments, 1, 'relu6(x)');
  tensorArg('relu6', x);
  return hardtanh(x, 0, 6);
}

/** log sigmoid(x) = -softplus(-x), which neither overflows nor loses small values for large |x|. */
export function logSigmoid(x: Tensor): Tensor {
  checkArity('logSigmoid', arguments, 1, 'logSigmoid(x)');
  tensorArg('logSigmoid', x);
  return stableSoftplus(x.neg()).neg();
}

/** x / (1 + |x|). */
export function softsign(x: Tensor): Tensor {
  checkArity('softsign', arguments, 1, 'softsign(x)');
  tensorArg('softsign', x);
  return x.div(x.abs().add(1));
}

/** softmax(-x) along an axis: weights that favour the smallest values. */
export function softmin(x: Tensor, axis = -1): Tensor {
  checkArity('softmin', arguments, 2, 'softmin(x, axis)');
  requireFloat('softmin', x);
  normAxis('softmin', axis, x.rank);
  return softmax(x.neg(), axis);
}

/**
 * x·relu6(x + 3)/6 (Howard et al., 2019), a cheap swish, rounded as PyTorch's kernel rounds it. The
 * clamp's middle branch x + 3 holds on the closed interval [-3, 3], so the gradient at ±3 is PyTorch's
 * x/3 + 1/2 (-1/2 and 3/2), not a one-sided 0 or 1.
 */
export function hardswish(x: Tensor): Tensor {
  checkArity('hardswish', arguments, 1, 'hardswish(x)');
  tensorArg('hardswish', x);
  return x.mul(where(x.lt(-3), 0, where(x.gt(3), 6, x.add(3)))).div(6);
}

/** relu6(x + 3)/6: 0 below -3, 1 above 3, linear between. */
export function hardsigmoid(x: Tensor): Tensor {
  checkArity('hardsigmoid', arguments, 1, 'hardsigmoid(x)');
  tensorArg('hardsigmoid', x);
  return relu6(x.add(3)).div(6);
}

/**
 * The gated linear unit (Dauphin et al., 2017): a·sigmoid(b), with a and b the two halves of x along
 * an axis, whose size must be even.
 */
export function glu(x: Tensor, axis = -1): Tensor {
  checkArity('glu', arguments, 2, 'glu(x, axis)');
  tensorArg('glu', x);
  const a = normAxis('glu', axis, x.rank);
  const d = x.shape[a]!;
  if (d % 2 !== 0)
    fail('glu', `axis ${axis} must have an even size to be halved, got shape ${fmtShape(x.shape)}`);
  return narrow(x, a, 0, d / 2).mul(narrow(x, a, d / 2, d / 2).sigmoid());
}

/**
 * max(0, x) + w·min(0, x) with a learnt slope w (He et al., 2015), as PyTorch's `F.prelu`: one slope
 * (w of shape [1]) for all elements, or one per channel on axis 1 (w of shape [C]).
 */
export function prelu(x: Tensor, weight: Tensor): Tensor {
  checkArity('prelu', arguments, 2, 'prelu(x, weight)');
  tensorArg('prelu', x);
  if (!(weight instanceof Tensor) || weight.rank !== 1)
    fail('prelu', `weight must be a 1-D Tensor of slopes, got ${describe(weight)}`);
  const c = weight.shape[0]!;
  if (c !== 1 && (x.rank < 2 || x.shape[1] !== c))
    fail(
      'prelu',
      `weight has ${c} slopes but the input ${fmtShape(x.shape)} has not ${c} channels on axis 1`,
    );
  const slope = c === 1 || x.rank === 2 ? weight : weight.reshape([c, ...Array<number>(x.rank - 2).fill(1)]);
  return where(x.gt(0), x, x.mul(slope));
}

/** How interpolate fills new positions: the nearest source value, or (bi/tri)linear weights. */
export type InterpolateMode = 'nearest' | 'linear' | 'bilinear' | 'trilinear';

export interface InterpolateOptions {
  /** Output size of the spatial axes (one number for all of them). */
  size?: number | readonly number[];
  /** Multiplier of the spatial sizes (one number for all of them); the output size is floor(in·scale). */
  scaleFactor?: number | readonly number[];
  /** 'nearest' (default); 'linear', 'bilinear' or 'trilinear' for inputs of rank 3, 4 or 5. */
  mode?: InterpolateMode;
  /**
   * Linear modes only: map the corner pixels' centres onto each other (true) rather than their outer
   * edges (false, PyTorch's default).
   */
  alignCorners?: boolean;
}

const LINEAR_RANK: Record<InterpolateMode, number> = { nearest: 0, linear: 3, bilinear: 4, trilinear: 5 };
const INTERPOLATE_FORM = "interpolate(x, { scaleFactor: 2, mode: 'bilinear' })";

/** One number per spatial axis, from a number or a list. */
function perAxis(name: string, value: number | readonly number[], n: number, integer: boolean): number[] {
  const list: unknown[] =
    typeof value === 'number' ? Array<number>(n).fill(value) : Array.isArray(value) ? value : [];
  const what = integer ? 'a positive integer' : 'a positive number';
  if (
    list.length !== n ||
    list.some(
      (v) => typeof v !== 'number' || !(v > 0 && Number.isFinite(v)) || (integer && !Number.isInteger(v)),
    )
  )
    fail(
      'interpolate',
      `${name} must be ${what} or a list of ${n} (one per spatial axis), got ${describe(value)}`,
    );
  return list as number[];
}

function indices(values: readonly number[]): Tensor {
  return new Tensor(Int32Array.from(values), [values.length]);
}

/**
 * Resizes the spatial axes of [N, C, ...] (1 to 3 of them), as PyTorch's `F.interpolate`, to `size`
 * or by `scaleFactor`. Each output position d reads the source coordinate s(d) on its axis:
 *
 *     nearest:                  s = floor(d·scale)   (scale = 1/scaleFactor, or in/out, in float32)
 *     linear, alignCorners off: s = max((d + ½)·scale − ½, 0)
 *     linear, alignCorners on:  s = d·(in − 1)/(out − 1)
 *
 * and linear modes weigh the two neighbours floor(s) and floor(s) + 1 by their distance. An axis whose
 * size does not change is left as it is (PyTorch's copy), even when a factor is given. The axes are
 * resized one after another (bilinear is linear along H then W), as index selections and weighted
 * sums, so the gradient is autograd's: scatter-added back to the sources.
 *
 *     interpolate(images, { scaleFactor: 2, mode: 'bilinear' }) // [N, C, 14, 14] -> [N, C, 28, 28]
 */
export function interpolate(x: Tensor, options: InterpolateOptions): Tensor {
  checkArity('interpolate', arguments, 2, INTERPOLATE_FORM);
  const {
    size,
    scaleFactor,
    mode = 'nearest',
    alignCorners,
  } = checkOptions(
    'interpolate',
    options ?? {},
    ['size', 'scaleFactor', 'mode', 'alignCorners'],
    INTERPOLATE_FORM,
  );
  if (!(x instanceof Tensor))
    fail('interpolate', `expected a Tensor, got ${describe(x)}; wrap it with tensor(…)`);
  requireFloat('interpolate', x);
  if (!(mode in LINEAR_RANK))
    fail('interpolate', `mode must be one of ${Object.keys(LINEAR_RANK).join(', ')}, got ${describe(mode)}`);
  const linearRank = LINEAR_RANK[mode];
  if (x.rank < 3 || x.rank > 5 || (linearRank > 0 && x.rank !== linearRank)) {
    const want = linearRank > 0 ? `rank ${linearRank}` : 'rank 3, 4 or 5 ([N, C, ...spatial])';
    fail('interpolate', `mode '${mode}' expects input of ${want}, got shape ${fmtShape(x.shape)}`);
  }
  if (alignCorners !== undefined && (linearRank === 0 || typeof alignCorners !== 'boolean'))
    fail(
      'interpolate',
      `alignCorners is a boolean for the linear modes only, got ${describe(alignCorners)} with mode '${mode}'`,
    );
  if ((size === undefined) === (scaleFactor === undefined))
    fail('interpolate', `give exactly one of size and scaleFactor; ${INTERPOLATE_FORM}`);
  const spatial = x.rank - 2;
  const inSizes = x.shape.slice(2);
  const factors = scaleFactor === undefined ? null : perAxis('scaleFactor', scaleFactor, spatial, false);
  const outSizes = factors
    ? inSizes.map((d, i) => Math.floor(d * factors[i]!))
    : perAxis('size', size!, spatial, true);
  if (outSizes.some((d) => d < 1))
    fail(
      'interpolate',
      `scaleFactor ${describe(scaleFactor)} leaves an empty axis for input ${fmtShape(x.shape)}`,
    );
  let y = x;
  for (let i = 0; i < spatial; i++) {
    const axis = i + 2;
    const n = inSizes[i]!;
    const out = outSizes[i]!;
    const scale = factors ? 1 / factors[i]! : n / out;
    // An axis whose size is unchanged is kept as it is, whatever the factor, as PyTorch does.
    if (out === n) continue;
    const positions = Array.from({ length: out }, (_, d) => d);
    if (linearRank === 0) {
      // PyTorch computes nearest indices in float32; doing the same keeps every index equal to its
      // own where d·scale lands next to an integer.
      const scale32 = Math.fround(scale);
      const source = positions.map((d) => Math.min(Math.floor(Math.fround(d * scale32)), n - 1));
      y = indexSelect(y, axis, indices(source));
      continue;
    }
    const source = positions.map((d) =>
      alignCorners ? (out > 1 ? (d * (n - 1)) / (out - 1) : 0) : Math.max((d + 0.5) * scale - 0.5, 0),
    );
    const low = source.map((s) => Math.min(Math.floor(s), n - 1));
    const high = low.map((l) => Math.min(l + 1, n - 1));
    // The weight of the upper neighbour, broadcast along the axes after this one.
    const weightShape = [out, ...Array<number>(x.rank - axis - 1).fill(1)];
    const upper = tensor(
      source.map((s, d) => s - low[d]!),
      { dtype: x.dtype, shape: weightShape },
    );
    y = indexSelect(y, axis, indices(low))
      .mul(upper.neg().add(1))
      .add(indexSelect(y, axis, indices(high)).mul(upper));
  }
  return y;
}
