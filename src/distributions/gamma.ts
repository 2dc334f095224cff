import { isGradEnabled } from '../autograd/mode.js';
import { fail } from '../errors.js';
import { customOp } from '../ops/op.js';
import { allocate } from '../tensor/dtype.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { digammaNumber } from './special.js';

/** One Gamma(α, 1) deviate by Marsaglia & Tsang (2000); α < 1 through Gamma(α + 1)·u^(1/α). */
export function gammaDeviate(alpha: number, g: Generator): number {
  const boost = alpha < 1;
  const a = boost ? alpha + 1 : alpha;
  const d = a - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  let x: number;
  for (;;) {
    const z = g.normal();
    const t = 1 + c * z;
    if (t <= 0) continue;
    const v = t * t * t;
    const u = g.uniform();
    if (u < 1 - 0.0331 * z ** 4 || Math.log(u) < 0.5 * z * z + d * (1 - v + Math.log(v))) {
      x = d * v;
      break;
    }
  }
  if (boost) {
    let u = 0;
    while (u === 0) u = g.uniform();
    x *= u ** (1 / alpha);
  }
  return x;
}

/**
 * dx/dα of a Gamma(α, 1) sample x held at its quantile (implicit reparameterisation): −(∂F/∂α)/p with
 * F(x; α) the regularised lower incomplete gamma and p the density. With
 * F = e^−x Σ_n x^(α+n)/Γ(α+n+1), term by term ∂/∂α multiplies each term by log x − ψ(α+n+1), and every
 * term divided by p(x; α) = x^(α−1) e^−x / Γ(α) is s_n = x/α · Π_{j=1..n} x/(α+j), so
 * dx/dα = −Σ_n s_n (log x − ψ(α+n+1)), with no exponentials to overflow. Below x ≈ α the terms share a
 * sign; above, they cancel, and where more than six digits would be lost the upper-tail integral
 * dx/dα = ∫_x^∞ p(t)/p(x) (log t − ψ(α)) dt (from F = 1 − ∫_x^∞ p) is summed by Gauss–Legendre instead.
 */
export function gammaSampleGradient(x: number, alpha: number): number {
  // Past a million the series needs more terms than is reasonable, and x ≈ α + √α ε to a relative
  // 1/α: held at ε, dx/dα = 1 + ε/(2√α) = 1 + (x − α)/(2α).
  if (alpha > 1e6) return 1 + (x - alpha) / (2 * alpha);
  const logX = Math.log(x);
  let s = x / alpha;
  let psi = digammaNumber(alpha + 1);
  let sum = s * (logX - psi);
  let largest = Math.abs(sum);
  let converged = false;
  for (let n = 1; n < 100000; n++) {
    s *= x / (alpha + n);
    psi += 1 / (alpha + n);
    const term = s * (logX - psi);
    sum += term;
    largest = Math.max(largest, Math.abs(term));
    if (alpha + n > x && Math.abs(term) <= 1e-17 * Math.abs(sum)) {
      converged = true;
      break;
    }
  }
  if (!converged)
    fail(
      'Gamma.rsample',
      `the gradient's series did not converge for x = ${x}, α = ${alpha}; please report it`,
    );
  if (x > alpha && largest > 1e6 * Math.abs(sum)) return upperTailGradient(x, alpha);
  return -sum;
}

/** Nodes and weights of 16-point Gauss–Legendre quadrature on [0, 1], by Newton's method on P_16. */
const GAUSS = ((n: number) => {
  const nodes: number[] = [];
  const weights: number[] = [];
  for (let i = 1; i <= n; i++) {
    let z = Math.cos((Math.PI * (i - 0.25)) / (n + 0.5));
    let dp = 0;
    for (let iter = 0; iter < 100; iter++) {
      let p0 = 1;
      let p1 = 0;
      for (let j = 1; j <= n; j++) {
        const p2 = p1;
        p1 = p0;
        p0 = ((2 * j - 1) * z * p1 - (j - 1) * p2) / j;
      }
      dp = (n * (z * p0 - p1)) / (z * z - 1);
      const step = p0 / dp;
      z -= step;
      if (Math.abs(step) < 1e-16) break;
    }
    nodes.push((1 - z) / 2);
    weights.push(1 / ((1 - z * z) * dp * dp));
  }
  return { nodes, weights };
})(16);

/** ∫_x^∞ p(t)/p(x) (log t − ψ(α)) dt for x > α, in panels until p(t)/p(x) is negligible. */
function upperTailGradient(x: number, alpha: number): number {
  const psi = digammaNumber(alpha);
  // p(t)/p(x) first falls like e^(−r(t−x)) with r = 1 − (α − 1)/x; its width is also at most ~√α.
  const rate = 1 - (alpha - 1) / x;
  const width = 0.5 * Math.min(1 / rate, Math.sqrt(alpha) + 1);
  let sum = 0;
  for (let a = x; ; a += width) {
    let panel = 0;
    let weight = 0;
    for (let k = 0; k < GAUSS.nodes.length; k++) {
      const t = a + width * GAUSS.nodes[k]!;
      weight = Math.exp((alpha - 1) * Math.log(t / x) - (t - x));
      panel += GAUSS.weights[k]! * weight * (Math.log(t) - psi);
    }
    sum += panel * width;
    if (weight < 1e-18) return sum;
  }
}

/** The smallest positive normal number of a dtype: samples that underflow are clamped to it, as in PyTorch. */
const TINY = { float32: 1.1754943508222875e-38, float64: 2.2250738585072014e-308 } as const;

interface GammaAttrs {
  generator: Generator;
}

const standardGammaOp = customOp<GammaAttrs>({
  name: 'standardGamma',
  forward: ([alpha], { generator }) => {
    const a = alpha!.toTypedArray();
    const dtype = alpha!.dtype === 'float64' ? 'float64' : 'float32';
    const out = allocate(dtype, a.length);
    for (let i = 0; i < a.length; i++) out[i] = Math.max(gammaDeviate(a[i]!, generator), TINY[dtype]);
    return new Tensor(out, alpha!.shape);
  },
  vjp: (g, { inputs: [alpha], output }) => {
    if (isGradEnabled())
      fail(
        'standardGamma',
        'the reparameterisation gradient of a gamma sample (Beta, Dirichlet rsample) is computed on the data and has no derivative of its own, so second-order gradients through it are refused; differentiate once (backward without createGraph), or use a first-order estimator',
      );
    const x = output.toTypedArray();
    const a = alpha!.toTypedArray();
    const d = allocate(output.dtype, x.length);
    for (let i = 0; i < x.length; i++) d[i] = gammaSampleGradient(x[i]!, a[i]!);
    return [g.mul(new Tensor(d, output.shape))];
  },
});

/**
 * Gamma(α, 1) samples of α's shape (α > 0, not checked here), differentiable in α by implicit
 * reparameterisation (first order only): the gradient is dx/dα = −(∂F(x; α)/∂α) / p(x; α).
 */
export function standardGamma(alpha: Tensor, generator: Generator = defaultGenerator): Tensor {
  return standardGammaOp([alpha], { generator });
}
