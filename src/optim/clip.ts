import { checkArity, checkOptions, describe, fail } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { ownGrad } from './optimizer.js';

/** Fails unless params is an array of tensors. */
function checkParams(op: string, params: readonly Tensor[]): void {
  if (!Array.isArray(params)) fail(op, `expected an array of parameters, got ${describe(params)}`);
  const i = params.findIndex((p) => !(p instanceof Tensor));
  if (i >= 0) fail(op, `parameter ${i} is ${describe(params[i])}, not a Tensor`);
}

/** clipGradNorm's options. */
export interface ClipGradNormOptions {
  /** Fail when the total norm is NaN or infinite, instead of scaling by it (default false, as PyTorch). */
  errorIfNonfinite?: boolean;
}

/**
 * Scales all gradients together so their global norm is at most maxNorm (Pascanu et al., 2013), in
 * place: coef = min(1, maxNorm / (norm + 1e-6)). Returns the norm before clipping. A non-finite norm
 * scales as PyTorch's does (a NaN norm makes every gradient NaN, an infinite one zeroes the finite
 * elements), unless `errorIfNonfinite` asks for an error.
 *
 *     const w = tensor([3, 4], { requiresGrad: true });
 *     w.mul(w).sum().div(2).backward(); // the gradient is w, of norm 5
 *     optim.clipGradNorm([w], 1) // → 5
 *     w.grad // → [0.6, 0.8]
 *
 * Before an update: `clipGradNorm(model.parameters(), 1, 2, { errorIfNonfinite: true })`.
 */
export function clipGradNorm(
  params: readonly Tensor[],
  maxNorm: number,
  normType = 2,
  options?: ClipGradNormOptions,
): number {
  const form = 'clipGradNorm(params, maxNorm, normType, { errorIfNonfinite: true })';
  checkArity('clipGradNorm', arguments, 4, form);
  const { errorIfNonfinite = false } = checkOptions('clipGradNorm', options, ['errorIfNonfinite'], form);
  if (typeof errorIfNonfinite !== 'boolean')
    fail('clipGradNorm', `errorIfNonfinite must be true or false, got ${describe(errorIfNonfinite)}`);
  checkParams('clipGradNorm', params);
  if (typeof maxNorm !== 'number' || !(maxNorm > 0))
    fail('clipGradNorm', `maxNorm must be a positive number, got ${describe(maxNorm)}`);
  if (typeof normType !== 'number' || !(normType > 0))
    fail(
      'clipGradNorm',
      `normType must be a positive number (Infinity for the largest element), got ${describe(normType)}`,
    );
  const grads = params.flatMap((p) => (p.grad ? [ownGrad(p)] : []));
  let total = 0;
  for (const g of grads) {
    const d = g.data;
    const n = d.length;
    if (normType === 2) for (let i = 0; i < n; i++) total += d[i]! * d[i]!;
    else if (normType === Infinity) for (let i = 0; i < n; i++) total = Math.max(total, Math.abs(d[i]!));
    else for (let i = 0; i < n; i++) total += Math.abs(d[i]!) ** normType;
  }
  const norm = normType === Infinity ? total : total ** (1 / normType);
  if (errorIfNonfinite && !Number.isFinite(norm))
    fail(
      'clipGradNorm',
      `the total norm of order ${normType} of the gradients is ${norm}, so they cannot be clipped; find the non-finite gradient, or pass errorIfNonfinite: false to scale by the non-finite norm anyway`,
    );
  const coef = maxNorm / (norm + 1e-6);
  // PyTorch multiplies by min(coef, 1) always; a NaN coefficient then makes every gradient NaN.
  if (!(coef >= 1))
    for (const g of grads) {
      const d = g.data;
      for (let i = 0; i < d.length; i++) d[i]! *= coef;
    }
  return norm;
}

/**
 * Clamps every gradient element to [-clipValue, clipValue], in place.
 *
 *     const w = tensor([3, -4, 0.5], { requiresGrad: true });
 *     w.mul(w).sum().div(2).backward(); // the gradient is w
 *     optim.clipGradValue([w], 1);
 *     w.grad // → [1, -1, 0.5]
 */
export function clipGradValue(params: readonly Tensor[], clipValue: number): void {
  checkArity('clipGradValue', arguments, 2, 'clipGradValue(params, clipValue)');
  checkParams('clipGradValue', params);
  if (typeof clipValue !== 'number' || !(clipValue >= 0))
    fail('clipGradValue', `clipValue must be a number ≥ 0, got ${describe(clipValue)}`);
  for (const p of params) {
    if (!p.grad) continue;
    const d = ownGrad(p).data;
    for (let i = 0; i < d.length; i++) d[i] = Math.min(clipValue, Math.max(-clipValue, d[i]!));
  }
}
