import type { Tensor } from '../tensor/tensor.js';
import { where } from './elementwise.js';
import { logsumexp } from './reduce.js';

/**
 * Composites: plain functions over differentiable ops, with no VJP of their own. A backend may give
 * one a fast path below autograd later; its gradient stays the composition's.
 */

/** exp(x_i) / sum_j exp(x_j) along an axis, computed as exp(x - logsumexp(x)) for stability. */
export function softmax(x: Tensor, axis = -1): Tensor {
  return x.sub(logsumexp(x, axis, true)).exp();
}

/** log softmax(x) = x - logsumexp(x). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return x.sub(logsumexp(x, axis, true));
}

/** max(0, x) + slope * min(0, x). */
export function leakyRelu(x: Tensor, slope = 0.01): Tensor {
  return where(x.gt(0), x, x.mul(slope));
}

/** x for x > 0, alpha (e^x - 1) otherwise. */
export function elu(x: Tensor, alpha = 1): Tensor {
  return where(x.gt(0), x, x.minimum(0).exp().sub(1).mul(alpha));
}

/**
 * log(1 + e^(beta x)) / beta, written as relu(z) + log(1 + e^-|z|) so it never overflows; above
 * `threshold` (in units of beta x) it returns x, as PyTorch does.
 */
export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor {
  const z = x.mul(beta);
  const smooth = z.relu().add(z.abs().neg().exp().add(1).log()).div(beta);
  return where(z.gt(threshold), x, smooth);
}

/** x Φ(x), with Φ the standard normal CDF (the exact form, PyTorch's default). */
export function gelu(x: Tensor): Tensor {
  return x.mul(x.mul(Math.SQRT1_2).erf().add(1)).mul(0.5);
}
