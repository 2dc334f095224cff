import { getBackend } from '../backend/registry.js';
import { normAxis } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { where } from './elementwise.js';
import { defineOp, empty, requireFloat } from './op.js';

/**
 * Composites: plain functions over differentiable ops, with no VJP of their own; and logSoftmax, an op
 * whose forward a backend may fuse, with its VJP written in tensor ops.
 */

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
  // d/dx: g - softmax(x) * sum(g), with softmax = exp(y).
  vjp: (g, { output, attrs: axis }) => [g.sub(output.exp().mul(g.sum(axis, true)))],
});

/** log softmax(x) = x - logsumexp(x) along an axis, computed stably. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  requireFloat('logSoftmax', x);
  return logSoftmaxOp([x], normAxis('logSoftmax', axis, x.rank));
}

/** exp(x_i) / sum_j exp(x_j) along an axis, as exp(logSoftmax(x)). */
export function softmax(x: Tensor, axis = -1): Tensor {
  return logSoftmax(x, axis).exp();
}

/** max(0, x) + slope * min(0, x). */
export function leakyRelu(x: Tensor, slope = 0.01): Tensor {
  return where(x.gt(0), x, x.mul(slope));
}

/** x for x > 0, alpha (e^x - 1) otherwise; the exponential only sees x <= 0, so it cannot overflow. */
export function elu(x: Tensor, alpha = 1): Tensor {
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
  const z = x.mul(beta);
  return where(z.gt(threshold), x, stableSoftplus(z).div(beta));
}

/** x Φ(x), with Φ the standard normal CDF (the exact form, PyTorch's default). */
export function gelu(x: Tensor): Tensor {
  return x.mul(x.mul(Math.SQRT1_2).erf().add(1)).mul(0.5);
}
