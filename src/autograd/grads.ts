import { checkArity, describe, fail } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Clears the gradients of `params` for `Optimizer.zeroGrad` and `Module.zeroGrad`: sets them to null
 * (setToNone true), or fills the existing ones with zeros in place, detached from any graph, keeping
 * null gradients null (PyTorch's `zero_grad(set_to_none=False)`). `args` is the caller's `arguments`.
 */
export function zeroGrads(
  op: string,
  params: Iterable<Tensor>,
  setToNone: unknown,
  args: ArrayLike<unknown>,
): void {
  checkArity(op, args, 1, 'zeroGrad(false)');
  if (typeof setToNone !== 'boolean') {
    const hint =
      setToNone !== null && typeof setToNone === 'object'
        ? '; pass it positionally, as PyTorch does: zeroGrad(false)'
        : '';
    fail(op, `setToNone must be true or false, got ${describe(setToNone)}${hint}`);
  }
  for (const p of params) {
    const g = p.grad;
    if (!g) continue;
    if (setToNone) {
      p.grad = null;
      continue;
    }
    const own = g.isContiguous() && g.offset === 0 && g.data.length === g.size;
    // A gradient that shares a larger storage (a view) gets storage of its own rather than zeroing others'.
    const d = g.detach();
    p.grad = own ? d : d.clone();
    p.grad.data.fill(0);
  }
}
