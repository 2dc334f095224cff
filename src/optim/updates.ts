import type { AdamHyper, SgdHyper } from '../backend/backend.js';
import type { TypedArray } from '../tensor/dtype.js';

export type { AdamHyper, SgdHyper };

/** Every update can climb instead of descend: with maximize the gradient's sign is flipped first. */
export interface Maximize {
  maximize: boolean;
}

/**
 * The optimizers' maths, one pure function per algorithm over a parameter's storage, its gradient and
 * its state buffers (all contiguous, same length), updated in place in one pass. The classes in
 * optimizers.ts keep PyTorch's shape around these; a native backend can replace them one for one.
 */

/**
 * d = ±g + λp (−g with maximize); with momentum μ: buf = d on the first step, else μ·buf + (1 - dampening)·d, and
 * d = buf (or d + μ·buf with Nesterov); then p -= lr·d.
 *
 *     const [p, g] = [Float64Array.of(1, 2), Float64Array.of(0.5, -1)]; // a parameter and its gradient
 *     const buf = new Float64Array(2);
 *     const h = { lr: 0.1, momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0 };
 *     optim.sgdUpdate(p, g, buf, h, true); // the first step: buf = g
 *     p // → [0.95, 2.1]
 *     optim.sgdUpdate(p, g, buf, h, false); // buf = 0.9·buf + g = 1.9·g
 *     p // → [0.855, 2.29]
 */
export function sgdUpdate(
  p: TypedArray,
  g: TypedArray,
  buf: TypedArray | null,
  h: SgdHyper & Partial<Maximize>,
  first: boolean,
): void {
  const { lr, momentum, dampening, nesterov, weightDecay } = h;
  const sign = h.maximize ? -1 : 1;
  for (let i = 0; i < p.length; i++) {
    let d = sign * g[i]! + weightDecay * p[i]!;
    if (buf) {
      const b = first ? d : momentum * buf[i]! + (1 - dampening) * d;
      buf[i] = b;
      d = nesterov ? d + momentum * b : b;
    }
    p[i]! -= lr * d;
  }
}

export interface AdagradHyper extends Maximize {
  lr: number;
  lrDecay: number;
  weightDecay: number;
  eps: number;
}

/**
 * Duchi et al. (2011): d = ±g + λp, s += d²; p -= lr/(1 + (t-1)·decay) · d / (sqrt(s) + eps).
 *
 *     const [p, g] = [Float64Array.of(1, 2), Float64Array.of(0.5, -1)]; // a parameter and its gradient
 *     const sum = new Float64Array(2);
 *     const h = { lr: 0.1, lrDecay: 0, weightDecay: 0, eps: 1e-10, maximize: false };
 *     optim.adagradUpdate(p, g, sum, h, 1); // s = g², so p -= lr·sign(g)
 *     p // → [0.9, 2.1]
 *     optim.adagradUpdate(p, g, sum, h, 2); // s = 2g², so p -= lr·sign(g)/√2
 *     p // → [0.829289, 2.170711]
 */
export function adagradUpdate(
  p: TypedArray,
  g: TypedArray,
  sum: TypedArray,
  h: AdagradHyper,
  step: number,
): void {
  const clr = h.lr / (1 + (step - 1) * h.lrDecay);
  const sign = h.maximize ? -1 : 1;
  for (let i = 0; i < p.length; i++) {
    const d = sign * g[i]! + h.weightDecay * p[i]!;
    const s = sum[i]! + d * d;
    sum[i] = s;
    p[i]! -= (clr * d) / (Math.sqrt(s) + h.eps);
  }
}

export interface RmspropHyper extends Maximize {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
}

/**
 * Tieleman & Hinton (2012), with d = ±g + λp in place of g: v = α v + (1-α) g²; the step divides g by sqrt(v) + eps (by the
 * standard deviation sqrt(v - ḡ²) + eps when centered), through a momentum buffer if momentum > 0.
 *
 *     const [p, g] = [Float64Array.of(1, 2), Float64Array.of(0.5, -1)]; // a parameter and its gradient
 *     const squareAvg = new Float64Array(2);
 *     const h = { lr: 0.01, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false };
 *     optim.rmspropUpdate(p, g, squareAvg, null, null, h); // v = 0.01·g², so p -= 10·lr·sign(g)
 *     p // → [0.9, 2.1]
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
  const sign = h.maximize ? -1 : 1;
  for (let i = 0; i < p.length; i++) {
    const d = sign * g[i]! + weightDecay * p[i]!;
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
 * Kingma & Ba (2015) with PyTorch's bias correction, g negated first with maximize: m = β1 m + (1-β1) g, v = β2 v + (1-β2) g²,
 * p -= lr/(1-β1^t) · m / (sqrt(v)/sqrt(1-β2^t) + eps). AdamW (Loshchilov & Hutter) decays p first.
 *
 *     const [p, g] = [Float64Array.of(1, 2), Float64Array.of(0.5, -1)]; // a parameter and its gradient
 *     const [m, v] = [new Float64Array(2), new Float64Array(2)];
 *     const h = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, amsgrad: false };
 *     optim.adamUpdate(p, g, m, v, null, h, 1); // bias-corrected, the first step is lr·sign(g)
 *     p // → [0.9, 2.1]
 *     m // → [0.05, -0.1]
 */
export function adamUpdate(
  p: TypedArray,
  g: TypedArray,
  m: TypedArray,
  v: TypedArray,
  vMax: TypedArray | null,
  h: AdamHyper & Partial<Maximize>,
  step: number,
): void {
  const { lr, beta1, beta2, eps, weightDecay, decoupled } = h;
  const sign = h.maximize ? -1 : 1;
  const stepSize = lr / (1 - beta1 ** step);
  const bc2 = Math.sqrt(1 - beta2 ** step);
  const decay = decoupled ? 1 - lr * weightDecay : 1;
  const l2 = decoupled ? 0 : weightDecay;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]! * decay;
    const d = sign * g[i]! + l2 * pi;
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

export interface AdadeltaHyper extends Maximize {
  lr: number;
  rho: number;
  eps: number;
  weightDecay: number;
}

/**
 * Zeiler (2012): d = ±g + λp; v = ρ v + (1-ρ) d²; Δ = sqrt(u + eps)/sqrt(v + eps) · d;
 * u = ρ u + (1-ρ) Δ²; p -= lr·Δ.
 *
 *     const [p, g] = [Float64Array.of(1, 2), Float64Array.of(0.5, -1)]; // a parameter and its gradient
 *     const [squareAvg, accDelta] = [new Float64Array(2), new Float64Array(2)];
 *     optim.adadeltaUpdate(p, g, squareAvg, accDelta, { lr: 1, rho: 0.9, eps: 1e-6, weightDecay: 0, maximize: false });
 *     p // → [0.996838, 2.003162]
 *     squareAvg // → [0.025, 0.1]
 */
export function adadeltaUpdate(
  p: TypedArray,
  g: TypedArray,
  sq: TypedArray,
  acc: TypedArray,
  h: AdadeltaHyper,
): void {
  const { lr, rho, eps, weightDecay } = h;
  const sign = h.maximize ? -1 : 1;
  for (let i = 0; i < p.length; i++) {
    const d = sign * g[i]! + weightDecay * p[i]!;
    const v = rho * sq[i]! + (1 - rho) * d * d;
    sq[i] = v;
    const delta = (Math.sqrt(acc[i]! + eps) / Math.sqrt(v + eps)) * d;
    acc[i] = rho * acc[i]! + (1 - rho) * delta * delta;
    p[i]! -= lr * delta;
  }
}

/** The Adam variants' settings in the form their updates read them. */
export interface MomentsHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/**
 * Adamax (Kingma & Ba, 2015, §7.1): d = ±g + λp; m = β1 m + (1-β1) d; u = max(β2 u, |d| + eps);
 * p -= lr/(1-β1^t) · m/u.
 *
 *     const [p, g] = [Float64Array.of(1, 2), Float64Array.of(0.5, -1)]; // a parameter and its gradient
 *     const [m, u] = [new Float64Array(2), new Float64Array(2)];
 *     optim.adamaxUpdate(p, g, m, u, { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maximize: false }, 1);
 *     p // → [0.9, 2.1]
 *     u // → [0.5, 1]
 */
export function adamaxUpdate(
  p: TypedArray,
  g: TypedArray,
  m: TypedArray,
  u: TypedArray,
  h: MomentsHyper & Maximize,
  step: number,
): void {
  const { lr, beta1, beta2, eps, weightDecay } = h;
  const clr = lr / (1 - beta1 ** step);
  const sign = h.maximize ? -1 : 1;
  for (let i = 0; i < p.length; i++) {
    const d = sign * g[i]! + weightDecay * p[i]!;
    const mi = beta1 * m[i]! + (1 - beta1) * d;
    const ui = Math.max(beta2 * u[i]!, Math.abs(d) + eps);
    m[i] = mi;
    u[i] = ui;
    p[i]! -= (clr * mi) / ui;
  }
}

/**
 * NAdam (Dozat, 2016) as PyTorch 1.13 has it: d = ±g + λp; μ_t = β1(1 - ½·0.96^(tψ)) with ψ the
 * momentum decay, Π_t = Π_{t-1}·μ_t (kept in `muProduct[0]`); m and v as in Adam; with
 * D = sqrt(v/(1-β2^t)) + eps, p -= lr(1-μ_t)/(1-Π_t) · d/D + lr·μ_{t+1}/(1-Π_t·μ_t·μ_{t+1}) · m/D.
 * The second denominator counts μ_t twice, as PyTorch 1.13 does (PyTorch 2 has 1 - Π_t·μ_{t+1}); kept so
 * that trajectories match the PyTorch this project is checked against.
 *
 *     const [p, g] = [Float64Array.of(1, 2), Float64Array.of(0.5, -1)]; // a parameter and its gradient
 *     const [m, v, muProduct] = [new Float64Array(2), new Float64Array(2), Float64Array.of(1)];
 *     const h = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, momentumDecay: 4e-3, maximize: false };
 *     optim.nadamUpdate(p, g, m, v, muProduct, h, 1);
 *     p // → [0.895047, 2.104953]
 *     muProduct // → [0.450073]
 */
export function nadamUpdate(
  p: TypedArray,
  g: TypedArray,
  m: TypedArray,
  v: TypedArray,
  muProduct: TypedArray,
  h: MomentsHyper & Maximize & { momentumDecay: number },
  step: number,
): void {
  const { lr, beta1, beta2, eps, weightDecay, momentumDecay } = h;
  const sign = h.maximize ? -1 : 1;
  const bc2 = 1 - beta2 ** step;
  const mu = beta1 * (1 - 0.5 * 0.96 ** (step * momentumDecay));
  const muNext = beta1 * (1 - 0.5 * 0.96 ** ((step + 1) * momentumDecay));
  const product = muProduct[0]! * mu;
  muProduct[0] = product;
  // Read back so that a float32 state rounds as PyTorch's float32 mu_product does.
  const pi = muProduct[0]!;
  const gradStep = (lr * (1 - mu)) / (1 - pi);
  const momentStep = (lr * muNext) / (1 - pi * mu * muNext);
  for (let i = 0; i < p.length; i++) {
    const d = sign * g[i]! + weightDecay * p[i]!;
    const mi = beta1 * m[i]! + (1 - beta1) * d;
    const vi = beta2 * v[i]! + (1 - beta2) * d * d;
    m[i] = mi;
    v[i] = vi;
    const denom = Math.sqrt(vi / bc2) + eps;
    p[i] = p[i]! - (gradStep * d) / denom - (momentStep * mi) / denom;
  }
}

/**
 * RAdam (Liu et al., 2020): d = ±g + λp; m, v as in Adam; ρ∞ = 2/(1-β2) - 1,
 * ρ_t = ρ∞ - 2tβ2^t/(1-β2^t). While ρ_t ≤ 5 the step is SGD with momentum, p -= lr·m/(1-β1^t); after,
 * it is rectified: r = sqrt((ρ_t-4)(ρ_t-2)ρ∞ / ((ρ∞-4)(ρ∞-2)ρ_t)),
 * p -= lr·m/(1-β1^t) · r·sqrt(1-β2^t)/(sqrt(v) + eps).
 *
 *     const [p, g] = [Float64Array.of(1, 2), Float64Array.of(0.5, -1)]; // a parameter and its gradient
 *     const [m, v] = [new Float64Array(2), new Float64Array(2)];
 *     optim.radamUpdate(p, g, m, v, { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maximize: false }, 1);
 *     p // → [0.95, 2.1]
 */
export function radamUpdate(
  p: TypedArray,
  g: TypedArray,
  m: TypedArray,
  v: TypedArray,
  h: MomentsHyper & Maximize,
  step: number,
): void {
  const { lr, beta1, beta2, eps, weightDecay } = h;
  const sign = h.maximize ? -1 : 1;
  const bc1 = 1 - beta1 ** step;
  const bc2 = 1 - beta2 ** step;
  const rhoInf = 2 / (1 - beta2) - 1;
  const rhoT = rhoInf - (2 * step * beta2 ** step) / bc2;
  const rect =
    rhoT > 5 ? Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT)) : 0;
  for (let i = 0; i < p.length; i++) {
    const d = sign * g[i]! + weightDecay * p[i]!;
    const mi = beta1 * m[i]! + (1 - beta1) * d;
    const vi = beta2 * v[i]! + (1 - beta2) * d * d;
    m[i] = mi;
    v[i] = vi;
    const mHat = mi / bc1;
    p[i]! -= rhoT > 5 ? mHat * lr * (Math.sqrt(bc2) / (Math.sqrt(vi) + eps)) * rect : mHat * lr;
  }
}
