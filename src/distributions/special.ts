import { fail } from '../errors.js';
import { tensorArg } from '../ops/op.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * The log-gamma and digamma functions, composed of differentiable tensor ops so that they differentiate
 * to any order: the argument is shifted up by SHIFT with the recurrences Γ(x+1) = xΓ(x) and
 * ψ(x+1) = ψ(x) + 1/x, and at x + SHIFT ≥ SHIFT the asymptotic series take over. With SHIFT = 10 and the
 * terms below, the series' truncation error is under 1e-17, so float64 results are good to a few units
 * of rounding of the terms summed (relative ~1e-15, absolute ~2e-15 near the zeros of lgamma at 1 and 2).
 */
const SHIFT = 10;

/** Stirling's series for lgamma: B_2n / (2n(2n - 1)), n = 1..8. */
const LGAMMA_SERIES = [
  1 / 12,
  -1 / 360,
  1 / 1260,
  -1 / 1680,
  1 / 1188,
  -691 / 360360,
  1 / 156,
  -3617 / 122400,
];

/** The asymptotic series of digamma: B_2n / 2n, n = 1..7 (ψ(z) ≈ ln z − 1/2z − Σ B_2n / (2n z^2n)). */
const DIGAMMA_SERIES = [1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12];

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

function checkPositive(op: string, x: Tensor): void {
  tensorArg(op, x);
  if (x.dtype === 'int32')
    fail(op, "expected a floating-point tensor, got int32; convert it with x.cast('float64')");
  const values = x.toTypedArray();
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(v > 0))
      fail(
        op,
        `is defined here for x > 0 only, got x = ${v} at flat index ${i}; for x ≤ 0 use the reflection formula Γ(x)Γ(1 − x) = π / sin(πx)`,
      );
  }
}

/** Σ c_k r^(2k) by Horner's rule, in tensors. */
function evenSeries(coefficients: readonly number[], r2: Tensor): Tensor {
  let acc = r2.mul(coefficients[coefficients.length - 1]!);
  for (let k = coefficients.length - 2; k >= 0; k--) acc = r2.mul(acc.add(coefficients[k]!));
  return acc;
}

/**
 * log Γ(x) elementwise for x > 0 (torch.lgamma), differentiable to any order (its derivative is
 * {@link digamma}): lgamma(x) = lgamma(x + 10) − Σ_{k<10} log(x + k), and for z = x + 10 Stirling's
 * series (z − ½) log z − z + ½ log 2π + Σ B_2n / (2n(2n−1) z^(2n−1)). An x ≤ 0 is refused.
 *
 *     lgamma(tensor([1, 5, 0.5], { dtype: 'float64' })).tolist() // → [0, 3.178054, 0.572365]
 */
export function lgamma(x: Tensor): Tensor {
  checkPositive('lgamma', x);
  const z = x.add(SHIFT);
  const r = z.pow(-1);
  const stirling = z
    .sub(0.5)
    .mul(z.log())
    .sub(z)
    .add(HALF_LOG_2PI)
    .add(evenSeries(LGAMMA_SERIES, r.mul(r)).div(r));
  let shift = x.log();
  for (let k = 1; k < SHIFT; k++) shift = shift.add(x.add(k).log());
  return stirling.sub(shift);
}

/**
 * ψ(x) = d/dx log Γ(x) elementwise for x > 0 (torch.digamma), differentiable to any order:
 * ψ(x) = ψ(x + 10) − Σ_{k<10} 1/(x + k), and for z = x + 10 the series ln z − 1/(2z) − Σ B_2n / (2n z^2n).
 *
 *     digamma(tensor([1, 2], { dtype: 'float64' })).tolist() // → [-0.577216, 0.422784]
 */
export function digamma(x: Tensor): Tensor {
  checkPositive('digamma', x);
  const z = x.add(SHIFT);
  const r = z.pow(-1);
  const asymptotic = z
    .log()
    .sub(r.mul(0.5))
    .sub(evenSeries(DIGAMMA_SERIES, r.mul(r)));
  let shift = x.pow(-1);
  for (let k = 1; k < SHIFT; k++) shift = shift.add(x.add(k).pow(-1));
  return asymptotic.sub(shift);
}

/** log Γ(x) of a number x > 0, by the same method, for computations on data. */
export function lgammaNumber(x: number): number {
  let shift = 0;
  let z = x;
  while (z < SHIFT) {
    shift += Math.log(z);
    z += 1;
  }
  const r2 = 1 / (z * z);
  let series = 0;
  for (let k = LGAMMA_SERIES.length - 1; k >= 0; k--) series = (series + LGAMMA_SERIES[k]!) * r2;
  return (z - 0.5) * Math.log(z) - z + HALF_LOG_2PI + series * z - shift;
}

/** ψ(x) of a number x > 0, by the same method, for computations on data. */
export function digammaNumber(x: number): number {
  let shift = 0;
  let z = x;
  while (z < SHIFT) {
    shift += 1 / z;
    z += 1;
  }
  const r2 = 1 / (z * z);
  let series = 0;
  for (let k = DIGAMMA_SERIES.length - 1; k >= 0; k--) series = (series + DIGAMMA_SERIES[k]!) * r2;
  return Math.log(z) - 0.5 / z - series - shift;
}
