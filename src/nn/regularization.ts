import { noGrad } from '../autograd/mode.js';
import { checkArity, fail } from '../errors.js';
import { where } from '../ops/elementwise.js';
import { requireFloat } from '../ops/op.js';
import { scalar } from '../tensor/creation.js';
import { normAxis } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

function checkLambda(op: string, lambda: number): void {
  if (!(Number.isFinite(lambda) && lambda >= 0))
    fail(op, `lambda must be a non-negative finite number, got ${lambda}`);
}

function penalty(op: string, params: Iterable<Tensor>, lambda: number, term: (p: Tensor) => Tensor): Tensor {
  checkLambda(op, lambda);
  let total: Tensor | null = null;
  for (const p of params) {
    const t = term(p).sum();
    total = total ? total.add(t) : t;
  }
  return total ? total.mul(lambda) : scalar(0);
}

/**
 * λ · Σ_p Σ_i p_i², a 0-d tensor to add to the loss (Keras's l2 convention: no ½, so its gradient is
 * 2λp and it matches SGD weight decay 2λ). Usually applied to weights only, not biases:
 *
 *     const decay = model.namedParameters().filter(([n]) => n.endsWith('weight')).map(([, p]) => p);
 *     const loss = crossEntropy(model.forward(x), y).add(l2Penalty(decay, 1e-4));
 */
export function l2Penalty(params: Iterable<Tensor>, lambda: number): Tensor {
  checkArity('l2Penalty', arguments, 2, 'l2Penalty(params, lambda)');
  return penalty('l2Penalty', params, lambda, (p) => p.square());
}

/**
 * λ · Σ_p Σ_i |p_i|, a 0-d tensor to add to the loss; its gradient is λ · sign(p) (0 at 0). It drives
 * weights to exactly zero, giving sparse models.
 *
 *     const loss = mseLoss(model.forward(x), y).add(l1Penalty(model.parameters(), 1e-5));
 */
export function l1Penalty(params: Iterable<Tensor>, lambda: number): Tensor {
  checkArity('l1Penalty', arguments, 2, 'l1Penalty(params, lambda)');
  return penalty('l1Penalty', params, lambda, (p) => p.abs());
}

/**
 * The max-norm constraint (Srivastava et al., 2014): rescales, in place and off the tape, each slice of
 * `weight` along `axis` — one unit's incoming weights — whose L2 norm exceeds c to norm exactly c:
 *
 *     w_u ← w_u · min(1, c / ‖w_u‖)
 *
 * `axis` indexes the units, as `dim` in PyTorch's `torch.renorm`: 0 for a Linear weight [out, in] (one
 * norm per row) and for a Conv2d weight [out, in, kH, kW] (one per filter). Call it after each
 * optimizer step. Returns `weight`.
 *
 *     optimizer.step();
 *     maxNorm_(model.fc1.weight, 3);
 */
export function maxNorm_(weight: Tensor, maxNorm: number, axis = 0): Tensor {
  checkArity('maxNorm_', arguments, 3, 'maxNorm_(weight, maxNorm, axis)');
  requireFloat('maxNorm_', weight);
  if (!(Number.isFinite(maxNorm) && maxNorm > 0))
    fail('maxNorm_', `maxNorm must be a positive finite number, got ${maxNorm}`);
  const unitAxis = normAxis('maxNorm_', axis, weight.rank);
  const others = weight.shape.map((_, i) => i).filter((i) => i !== unitAxis);
  return noGrad(() => {
    const norms = weight.square().sum(others, true).sqrt();
    // Units at or under the limit keep scale 1 (and a zero unit never divides by its zero norm).
    const scale = where(norms.gt(maxNorm), norms.div(maxNorm), 1);
    return weight.copy_(weight.div(scale));
  });
}
