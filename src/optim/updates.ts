import type { AdamHyper, SgdHyper } from '../backend/backend.js';
import type { TypedArray } from '../tensor/dtype.js';

export type { AdamHyper, SgdHyper };

/**
 * The optimizers' maths, one pure function per algorithm over a parameter's storage, its gradient and
 * its state buffers (all contiguous, same length), updated in place in one pass. The classes in
 * optimizers.ts keep PyTorch's shape around these; a native backend can replace them one for one.
 */

/**
 * d = g + λp; with momentum μ: buf = d on the first step, else μ·buf + (1 - dampening)·d, and
 * d = buf (or d + μ·buf with Nesterov); then p -= lr·d.
 */
export function sgdUpdate(
  p: TypedArray,
  g: TypedArray,
  buf: TypedArray | null,
  h: SgdHyper,
  first: boolean,
): void {
  const { lr, momentum, dampening, nesterov, weightDecay } = h;
  for (let i = 0; i < p.length; i++) {
    let d = g[i]! + weightDecay * p[i]!;
    if (buf) {
      const b = first ? d : momentum * buf[i]! + (1 - dampening) * d;
      buf[i] = b;
      d = nesterov ? d + momentum * b : b;
    }
    p[i]! -= lr * d;
  }
}

export interface AdagradHyper {
  lr: number;
  lrDecay: number;
  weightDecay: number;
  eps: number;
}

/** Duchi et al. (2011): s += g²; p -= lr/(1 + (t-1)·decay) · g / (sqrt(s) + eps). */
export function adagradUpdate(
  p: TypedArray,
  g: TypedArray,
  sum: TypedArray,
  h: AdagradHyper,
  step: number,
): void {
  const clr = h.lr / (1 + (step - 1) * h.lrDecay);
  for (let i = 0; i < p.length; i++) {
    const d = g[i]! + h.weightDecay * p[i]!;
    const s = sum[i]! + d * d;
    sum[i] = s;
    p[i]! -= (clr * d) / (Math.sqrt(s) + h.eps);
  }
}

export interface RmspropHyper {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
}

/**
 * Tieleman & Hinton (2012): v = α v + (1-α) g²; the step divides g by sqrt(v) + eps (by the
 * standard deviation sqrt(v - ḡ²) + eps when centered), through a momentum buffer if momentum > 0.
 */
export function rmspropUpdate(
  p: TypedArray,
  g: TypedArray,
  sq: TypedArray,
  gAvg: TypedArray | null,
  buf: TypedArray | null,
  h: RmspropHyper,
): void {
  const { lr, alpha, eps, weightDecay, momentum } = h;
  for (let i = 0; i < p.length; i++) {
    const d = g[i]! + weightDecay * p[i]!;
    const v = alpha * sq[i]! + (1 - alpha) * d * d;
    sq[i] = v;
    let denom: number;
    if (gAvg) {
      const a = alpha * gAvg[i]! + (1 - alpha) * d;
      gAvg[i] = a;
      denom = Math.sqrt(v - a * a) + eps;
    } else denom = Math.sqrt(v) + eps;
    if (buf) {
      const b = momentum * buf[i]! + d / denom;
      buf[i] = b;
      p[i]! -= lr * b;
    } else p[i]! -= (lr * d) / denom;
  }
}

/**
 * Kingma & Ba (2015) with PyTorch's bias correction: m = β1 m + (1-β1) g, v = β2 v + (1-β2) g²,
 * p -= lr/(1-β1^t) · m / (sqrt(v)/sqrt(1-β2^t) + eps). AdamW (Loshchilov & Hutter) decays p first.
 */
export function adamUpdate(
  p: TypedArray,
  g: TypedArray,
  m: TypedArray,
  v: TypedArray,
  vMax: TypedArray | null,
  h: AdamHyper,
  step: number,
): void {
  const { lr, beta1, beta2, eps, weightDecay, decoupled } = h;
  const stepSize = lr / (1 - beta1 ** step);
  const bc2 = Math.sqrt(1 - beta2 ** step);
  const decay = decoupled ? 1 - lr * weightDecay : 1;
  const l2 = decoupled ? 0 : weightDecay;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]! * decay;
    const d = g[i]! + l2 * pi;
    const mi = beta1 * m[i]! + (1 - beta1) * d;
    let vi = beta2 * v[i]! + (1 - beta2) * d * d;
    m[i] = mi;
    v[i] = vi;
    if (vMax) {
      vi = Math.max(vMax[i]!, vi);
      vMax[i] = vi;
    }
    p[i] = pi - (stepSize * mi) / (Math.sqrt(vi) / bc2 + eps);
  }
}
