import { checkArity, describe, fail } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { ownGrad } from './optimizer.js';

/** Fails unless params is an array of tensors. */
function checkParams(op: string, params: readonly Tensor[]): void {
  if (!Array.isArray(params)) fail(op, `expected an array of parameters, got ${describe(params)}`);
  const i = params.findIndex((p) => !(p instanceof Tensor));
  if (i >= 0) fail(op, `parameter ${i} is ${describe(params[i])}, not a Tensor`);
}

/**
 * Scales all gradients together so their global norm is at most maxNorm (Pascanu et al., 2013), in
 * place: coef = min(1, maxNorm / (norm + 1e-6)). Returns the norm before clipping.
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number, normType = 2): number {
  checkArity('clipGradNorm', arguments, 3, 'clipGradNorm(params, maxNorm, normType)');
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
