import { fail } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { ownGrad } from './optimizer.js';

/**
 * Scales all gradients together so their global norm is at most maxNorm (Pascanu et al., 2013), in
 * place: coef = min(1, maxNorm / (norm + 1e-6)). Returns the norm before clipping.
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number, normType = 2): number {
  if (!(maxNorm > 0)) fail('clipGradNorm', `maxNorm must be positive, got ${maxNorm}`);
  if (!(normType > 0)) fail('clipGradNorm', `normType must be positive, got ${normType}`);
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
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1)
    for (const g of grads) {
      const d = g.data;
      for (let i = 0; i < d.length; i++) d[i]! *= coef;
    }
  return norm;
}

/** Clamps every gradient element to [-clipValue, clipValue], in place. */
export function clipGradValue(params: readonly Tensor[], clipValue: number): void {
  if (!(clipValue >= 0)) fail('clipGradValue', `clipValue must be non-negative, got ${clipValue}`);
  for (const p of params) {
    if (!p.grad) continue;
    const d = ownGrad(p).data;
    for (let i = 0; i < d.length; i++) d[i] = Math.min(clipValue, Math.max(-clipValue, d[i]!));
  }
}
