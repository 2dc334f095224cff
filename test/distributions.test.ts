/**
 * torch.distributions in Strata: values against PyTorch (test/fixtures/distributions.json, written by
 * scripts/fixtures/distributions.py: logProb, entropy, mean, variance, KL pairs, lgamma and digamma, all
 * float64, agreeing to 1e-10 relative), float64 gradient checks to second order, the implicit
 * reparameterisation gradient of gamma samples, sample statistics, and the errors for bad input.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { gammaSampleGradient, standardGamma } from '../src/distributions/gamma.js';
import { lgammaNumber } from '../src/distributions/special.js';
import * as st from '../src/index.js';
import { f64, near, onEveryBackend, throwsStrata } from './assertions.js';
import { gradcheck, gradgradcheck } from './gradcheck.js';

const { distributions: D, tensor, Generator } = st;
type Tensor = st.Tensor;

type Num = number | 'nan' | 'inf' | '-inf';
interface Stored {
  shape: number[];
  data: Num[];
}
interface Spec {
  dist: string;
  params: Record<string, Stored> | { base: Spec; reinterpretedBatchNdims: number };
}
interface Case extends Spec {
  name: string;
  batchShape: number[];
  eventShape: number[];
  value: Stored;
  logProb: Stored;
  entropy: Stored;
  mean: Stored;
  variance: Stored;
}
interface KlCase {
  name: string;
  p: Spec;
  q: Spec;
  kl: Stored;
}

const fixtures = JSON.parse(
  readFileSync(new URL('./fixtures/distributions.json', import.meta.url), 'utf8'),
) as { cases: Case[]; kl: KlCase[]; special: { x: Stored; lgamma: Stored; digamma: Stored } };

function num(v: Num): number {
  if (v === 'nan') return Number.NaN;
  if (v === 'inf') return Infinity;
  if (v === '-inf') return -Infinity;
  return v;
}

function toTensor(s: Stored): Tensor {
  return tensor(Float64Array.from(s.data, num), { shape: s.shape });
}

function build(spec: Spec): st.distributions.Distribution {
  if (spec.dist === 'Independent') {
    const p = spec.params as { base: Spec; reinterpretedBatchNdims: number };
    return new D.Independent(build(p.base), p.reinterpretedBatchNdims);
  }
  const p = Object.fromEntries(
    Object.entries(spec.params as Record<string, Stored>).map(([k, v]) => [k, toTensor(v)]),
  );
  switch (spec.dist) {
    case 'Normal':
      return new D.Normal(p.loc!, p.scale!);
    case 'Bernoulli':
      return new D.Bernoulli(p);
    case 'Categorical':
      return new D.Categorical(p);
    case 'OneHotCategorical':
      return new D.OneHotCategorical(p);
    case 'Uniform':
      return new D.Uniform(p.low!, p.high!);
    case 'Beta':
      return new D.Beta(p.concentration1!, p.concentration0!);
    case 'Dirichlet':
      return new D.Dirichlet(p.concentration!);
    default:
      throw new Error(`unknown distribution ${spec.dist}`);
  }
}

/** Worst relative error seen against PyTorch, by quantity, for the report at the end. */
const worst = new Map<string, number>();

/** |a − e| ≤ rtol·|e| + atol elementwise, infinities and NaNs matched exactly. */
function close(actual: Tensor, expected: Stored, what: string, rtol = 1e-10, atol = 1e-12): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const a = actual.toTypedArray();
  expected.data.forEach((raw, i) => {
    const e = num(raw);
    const v = a[i]!;
    if (!Number.isFinite(e)) {
      assert.ok(
        Object.is(v, e) || (Number.isNaN(e) && Number.isNaN(v)),
        `${what}[${i}]: got ${v}, expected ${e}`,
      );
      return;
    }
    const err = Math.abs(v - e);
    const key = what.split(' ').slice(-1)[0]!;
    if (e !== 0) worst.set(key, Math.max(worst.get(key) ?? 0, err / Math.abs(e)));
    assert.ok(err <= rtol * Math.abs(e) + atol, `${what}[${i}]: got ${v}, expected ${e} (error ${err})`);
  });
}

describe('distributions against PyTorch (float64)', () => {
  test('logProb, entropy, mean, variance and the shapes of every case', async () => {
    await onEveryBackend((backend) => {
      for (const c of fixtures.cases) {
        const d = build(c);
        const label = `${backend} ${c.name}`;
        assert.deepEqual(d.batchShape, c.batchShape, `${label}: batchShape`);
        assert.deepEqual(d.eventShape, c.eventShape, `${label}: eventShape`);
        close(d.logProb(toTensor(c.value)), c.logProb, `${label} logProb`);
        close(d.entropy(), c.entropy, `${label} entropy`);
        close(d.mean.expand([...d.batchShape, ...d.eventShape]), c.mean, `${label} mean`);
        close(d.variance.expand([...d.batchShape, ...d.eventShape]), c.variance, `${label} variance`);
      }
    });
  });

  test('klDivergence of every pair with a closed form, infinities included', async () => {
    await onEveryBackend((backend) => {
      for (const c of fixtures.kl)
        close(D.klDivergence(build(c.p), build(c.q)), c.kl, `${backend} ${c.name} kl`);
    });
  });

  test('lgamma and digamma from 1e-3 to 1e3', async () => {
    const { x, lgamma, digamma } = fixtures.special;
    await onEveryBackend((backend) => {
      // Near lgamma's zeros (x = 1, 2) only absolute accuracy is possible: a few ulps of the terms summed.
      close(st.lgamma(toTensor(x)), lgamma, `${backend} lgamma`, 1e-12, 1e-14);
      close(st.digamma(toTensor(x)), digamma, `${backend} digamma`, 1e-12, 1e-14);
    });
    console.log(`worst relative errors against PyTorch: ${JSON.stringify(Object.fromEntries(worst))}`);
  });
});

/** Plain float64 leaves, as the gradient checks want them. */
function leaves(...values: st.NestedArray[]): Tensor[] {
  return values.map((v) => f64(v));
}

function check(f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], label: string, second = true): void {
  gradcheck(f, inputs, { label });
  if (second) gradgradcheck(f, inputs, { label: `${label} (second order)` });
}

describe('gradients in float64, first and second order', () => {
  test('logProb with respect to the parameters and the value', async () => {
    await onEveryBackend((backend) => {
      check(
        (loc, scale, x) => new D.Normal(loc!, scale!).logProb(x!),
        leaves([0.3, -1], [0.7, 1.5], [1.2, 0.4]),
        `${backend} Normal`,
      );
      check(
        (logits) => new D.Bernoulli({ logits }).logProb(f64([1, 0, 1])),
        leaves([0.5, -2, 1]),
        `${backend} Bernoulli logits`,
      );
      check(
        (probs) => new D.Bernoulli({ probs }).logProb(f64([1, 0, 1])),
        leaves([0.3, 0.6, 0.9]),
        `${backend} Bernoulli probs`,
      );
      const k = tensor([2, 0], { dtype: 'int32' });
      check(
        (logits) => new D.Categorical({ logits }).logProb(k),
        leaves([
          [0.1, 0.5, -1],
          [2, 0, 1],
        ]),
        `${backend} Categorical logits`,
      );
      check(
        (probs) => new D.Categorical({ probs }).logProb(k),
        leaves([
          [0.2, 0.3, 0.5],
          [0.6, 0.1, 0.3],
        ]),
        `${backend} Categorical probs`,
      );
      check(
        (logits) => new D.OneHotCategorical({ logits }).logProb(f64([[0, 1, 0]])),
        leaves([[0.1, 0.5, -1]]),
        `${backend} OneHotCategorical`,
      );
      check(
        (low, high) => new D.Uniform(low!, high!).logProb(f64([0.5, 1])),
        leaves([0, -1], [1, 3]),
        `${backend} Uniform`,
      );
      check(
        (a, b, x) => new D.Beta(a!, b!).logProb(x!),
        leaves([0.7, 2.5], [1.3, 4], [0.3, 0.6]),
        `${backend} Beta`,
      );
      // A perturbed value leaves the simplex; the density is still smooth there.
      check(
        (c, x) => new D.Dirichlet(c!, { validateArgs: false }).logProb(x!),
        leaves([[0.8, 2, 3.5]], [[0.2, 0.3, 0.5]]),
        `${backend} Dirichlet`,
      );
      check(
        (loc, scale, x) => new D.Independent(new D.Normal(loc!, scale!), 1).logProb(x!),
        leaves([0.3, -1], [0.7, 1.5], [1.2, 0.4]),
        `${backend} Independent Normal`,
      );
    });
  });

  test('entropy and klDivergence of Normal, Beta and Dirichlet', async () => {
    await onEveryBackend((backend) => {
      check(
        (loc, scale) => new D.Normal(loc!, scale!).entropy(),
        leaves([0.3], [0.7]),
        `${backend} Normal entropy`,
      );
      check((a, b) => new D.Beta(a!, b!).entropy(), leaves([0.7, 2.5], [1.3, 4]), `${backend} Beta entropy`);
      check((c) => new D.Dirichlet(c!).entropy(), leaves([[0.8, 2, 3.5]]), `${backend} Dirichlet entropy`);
      check(
        (l1, s1, l2, s2) => D.klDivergence(new D.Normal(l1!, s1!), new D.Normal(l2!, s2!)),
        leaves([0.3, 1], [0.7, 2], [-0.2, 0], [1.1, 0.5]),
        `${backend} Normal KL`,
      );
      check(
        (a1, b1, a2, b2) => D.klDivergence(new D.Beta(a1!, b1!), new D.Beta(a2!, b2!)),
        leaves([0.7, 2.5], [1.3, 4], [2, 0.5], [1.5, 3]),
        `${backend} Beta KL`,
      );
      check(
        (c1, c2) => D.klDivergence(new D.Dirichlet(c1!), new D.Dirichlet(c2!)),
        leaves([[0.8, 2, 3.5]], [[1.5, 0.6, 2]]),
        `${backend} Dirichlet KL`,
      );
    });
  });

  test('lgamma and digamma', async () => {
    await onEveryBackend((backend) => {
      const xs = () => leaves([0.05, 0.6, 1, 2.3, 9.5, 40]);
      check((x) => st.lgamma(x!), xs(), `${backend} lgamma`);
      check((x) => st.digamma(x!), xs(), `${backend} digamma`);
    });
  });

  test('rsample of Normal, Uniform and Independent with a fixed seed', async () => {
    await onEveryBackend((backend) => {
      const gen = () => ({ generator: new Generator(7) });
      check(
        (loc, scale) => new D.Normal(loc!, scale!).rsample([3], gen()),
        leaves([0.3, -1], [0.7, 1.5]),
        `${backend} Normal rsample`,
      );
      check(
        (low, high) => new D.Uniform(low!, high!).rsample([3], gen()),
        leaves([0, -1], [1, 3]),
        `${backend} Uniform rsample`,
      );
      check(
        (loc, scale) => new D.Independent(new D.Normal(loc!, scale!), 1).rsample([2], gen()),
        leaves([0.3, -1], [0.7, 1.5]),
        `${backend} Independent rsample`,
      );
    });
  });
});

/** F(x; a) / p(x; alpha) by the series of F: e^−x Σ_n x^(a+n)/Γ(a+n+1), in plain doubles. */
function lowerRatio(x: number, a: number, alpha: number): number {
  // The term n = 0 over p(x; alpha) = x^(alpha−1) e^−x / Γ(alpha).
  let term = Math.exp((a - alpha + 1) * Math.log(x) + lgammaNumber(alpha) - lgammaNumber(a + 1));
  let sum = term;
  for (let n = 1; n < 100000; n++) {
    term *= x / (a + n);
    sum += term;
    if (a + n > x && term < 1e-18 * sum) break;
  }
  return sum;
}

/** Q(x; a) / p(x; alpha) = 1 − F by the continued fraction of Γ(a, x) (modified Lentz), x > a + 1. */
function upperRatio(x: number, a: number, alpha: number): number {
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 100000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  // Q = e^−x x^a h / Γ(a).
  return Math.exp((a - alpha + 1) * Math.log(x) + lgammaNumber(alpha) - lgammaNumber(a)) * h;
}

describe('implicit reparameterisation of gamma samples (Beta, Dirichlet)', () => {
  test('dx/dα agrees with −(∂F/∂α)/p from central differences of the CDF', () => {
    for (const alpha of [0.05, 0.3, 1, 2.5, 10, 80]) {
      for (const q of [0.05, 0.3, 1, 1.8, 3]) {
        const x = q * alpha;
        const h = 1e-5 * alpha;
        const analytic = gammaSampleGradient(x, alpha);
        // Below x = α from the lower series of F, above from Q = 1 − F by its continued fraction, each
        // divided by p(x; α) analytically, so that neither difference is of two numbers near 1.
        const numeric =
          x < alpha + 1
            ? -(lowerRatio(x, alpha + h, alpha) - lowerRatio(x, alpha - h, alpha)) / (2 * h)
            : (upperRatio(x, alpha + h, alpha) - upperRatio(x, alpha - h, alpha)) / (2 * h);
        assert.ok(
          Math.abs(analytic - numeric) <= 1e-6 * Math.abs(numeric) + 1e-9,
          `alpha ${alpha}, x ${x}: ${analytic} vs ${numeric}`,
        );
      }
    }
  });

  test('Monte Carlo: E[dx/dα] = dE[x]/dα for Gamma (1) and Beta (β/(α+β)²)', () => {
    const n = 20000;
    for (const a of [0.4, 3]) {
      const alpha = f64([a], true);
      standardGamma(alpha.expand([n]), new Generator(11))
        .sum()
        .backward();
      const mean = alpha.grad!.item() / n;
      assert.ok(Math.abs(mean - 1) < 0.05, `Gamma(${a}): E[dx/dα] = ${mean}, expected 1`);
    }
    const a = f64(1.5, true);
    const b = f64(2.5, true);
    new D.Beta(a, b)
      .rsample([n], { generator: new Generator(5) })
      .mean()
      .backward();
    assert.ok(
      Math.abs(a.grad!.item() - 2.5 / 16) < 0.01,
      `Beta dE/dα = ${a.grad!.item()}, expected ${2.5 / 16}`,
    );
    assert.ok(
      Math.abs(b.grad!.item() + 1.5 / 16) < 0.01,
      `Beta dE/dβ = ${b.grad!.item()}, expected ${-1.5 / 16}`,
    );
    const c = f64([1, 2, 3], true);
    new D.Dirichlet(c)
      .rsample([n], { generator: new Generator(6) })
      .select(1, 0)
      .mean()
      .backward();
    // d(α₀/Σα)/dα = (Σα − α₀)/(Σα)², −α₀/(Σα)² for the others.
    const expected = [5 / 36, -1 / 36, -1 / 36];
    c.grad!.toTypedArray().forEach((g, i) => {
      assert.ok(
        Math.abs(g - expected[i]!) < 0.01,
        `Dirichlet dE[x₀]/dα_${i} = ${g}, expected ${expected[i]}`,
      );
    });
  });

  test('the gradient of a sample is that of the normalised gammas of the same seed', () => {
    const a = f64([0.7, 2], true);
    const b = f64([1.5, 0.4], true);
    const x = new D.Beta(a, b).rsample([3], { generator: new Generator(2) });
    const [ga, gb] = st.gradients([x.sum()], [a, b]);
    const gen = new Generator(2);
    const a2 = f64([0.7, 2], true);
    const b2 = f64([1.5, 0.4], true);
    const g1 = standardGamma(a2.expand([3, 2]), gen);
    const g0 = standardGamma(b2.expand([3, 2]), gen);
    const [ea, eb] = st.gradients([g1.div(g1.add(g0)).sum()], [a2, b2]);
    assert.deepEqual(Array.from(ga!.toTypedArray()), Array.from(ea!.toTypedArray()));
    assert.deepEqual(Array.from(gb!.toTypedArray()), Array.from(eb!.toTypedArray()));
    assert.ok(ga!.toTypedArray().every(Number.isFinite));
  });

  test('second-order gradients through a gamma sample are refused', () => {
    const a = f64([1.5], true);
    const x = new D.Beta(a, 2).rsample([2], { generator: new Generator(1) });
    throwsStrata(() => st.gradients([x.sum()], [a], { createGraph: true }), /standardGamma/, /second-order/);
    const c = f64([1, 2], true);
    const y = new D.Dirichlet(c).rsample([], { generator: new Generator(1) });
    throwsStrata(() => st.gradients([y.select(0, 0)], [c], { createGraph: true }), /second-order/);
  });
});

/** Mean and variance along axis 0 of samples, in doubles. */
function moments(samples: Tensor): { mean: number[]; variance: number[] } {
  const x = samples.cast('float64');
  return {
    mean: Array.from(x.mean(0).toTypedArray()),
    variance: Array.from(x.var(0).flatten().toTypedArray()),
  };
}

describe('sample statistics (20 000 samples)', () => {
  const n = 20000;
  const cases: [string, () => st.distributions.Distribution][] = [
    ['Normal', () => new D.Normal(f64([0.5, -2]), f64([1, 3]))],
    ['Bernoulli', () => new D.Bernoulli({ probs: f64([0.1, 0.7]) })],
    ['OneHotCategorical', () => new D.OneHotCategorical({ probs: f64([0.2, 0.5, 0.3]) })],
    ['Uniform', () => new D.Uniform(f64([0, -1]), f64([1, 5]))],
    ['Beta', () => new D.Beta(f64([0.5, 2]), f64([0.5, 5]))],
    ['Dirichlet', () => new D.Dirichlet(f64([0.3, 1, 4]))],
    ['Independent', () => new D.Independent(new D.Normal(f64([1, 2]), f64([0.5, 2])), 1)],
  ];
  for (const [name, make] of cases) {
    test(`${name}: sample means and variances near the analytic ones`, () => {
      const d = make();
      const s = d.sample([n], { generator: new Generator(42) });
      assert.deepEqual(s.shape, [n, ...d.batchShape, ...d.eventShape]);
      const { mean, variance } = moments(s);
      const m = Array.from(d.mean.toTypedArray());
      const v = Array.from(d.variance.toTypedArray());
      m.forEach((mu, i) => {
        // Five standard errors of the mean; variances to 6% (the fourth moments here are moderate).
        const se = Math.sqrt(v[i]! / n);
        assert.ok(Math.abs(mean[i]! - mu) < 5 * se, `${name} mean[${i}]: ${mean[i]} vs ${mu} (se ${se})`);
        assert.ok(
          Math.abs(variance[i]! - v[i]!) < 0.06 * v[i]!,
          `${name} variance[${i}]: ${variance[i]} vs ${v[i]}`,
        );
      });
    });
  }

  test('Categorical: frequencies near the probabilities, int32 indices; a seed repeats its draws', () => {
    const d = new D.Categorical({
      logits: f64([
        [0, 1, 2, -1],
        [3, 0, 0, 0],
      ]),
    });
    const s = d.sample([n], { generator: new Generator(9) });
    assert.equal(s.dtype, 'int32');
    assert.deepEqual(s.shape, [n, 2]);
    const counts = [new Array(4).fill(0), new Array(4).fill(0)];
    const drawn = s.toTypedArray();
    for (let i = 0; i < drawn.length; i++) counts[i % 2]![drawn[i]!]++;
    const p = d.probs.toArray() as number[][];
    for (let b = 0; b < 2; b++) {
      for (let k = 0; k < 4; k++) {
        const f = counts[b]![k]! / n;
        assert.ok(Math.abs(f - p[b]![k]!) < 0.012, `row ${b} category ${k}: ${f} vs ${p[b]![k]}`);
      }
    }
    assert.deepEqual(
      Array.from(d.sample([5], { generator: new Generator(3) }).toTypedArray()),
      Array.from(d.sample([5], { generator: new Generator(3) }).toTypedArray()),
    );
  });

  test('sample records no gradient; rsample does', () => {
    const loc = f64([0, 1], true);
    const d = new D.Normal(loc, 1);
    assert.equal(d.sample([2]).requiresGrad, false);
    assert.equal(d.rsample([2]).requiresGrad, true);
    assert.equal(new D.Beta(f64(2, true), 1).sample([2]).requiresGrad, false);
  });
});

test('Beta and Dirichlet with a concentration of 1 have finite densities on the boundary (0·log 0 = 0)', async () => {
  await onEveryBackend((backend) => {
    const a = f64([1, 1], true);
    const lp = new D.Beta(a, f64([2, 3])).logProb(f64([0, 0.5]));
    // Beta(1, β) has density β(1 − x)^(β−1).
    near(lp, [Math.log(2), Math.log(3 * 0.25)], 1e-12, `${backend} Beta`);
    lp.sum().backward();
    assert.ok(
      a.grad!.toTypedArray().every(Number.isFinite),
      `${backend}: finite gradients, got ${a.grad!.tolist()}`,
    );
    near(
      new D.Dirichlet(f64([1, 2, 1])).logProb(f64([0, 1, 0])),
      [Math.log(6)],
      1e-12,
      `${backend} Dirichlet`,
    );
  });
});

describe('bad input', () => {
  test('parameters outside their domains name the distribution and the value', () => {
    throwsStrata(() => new D.Normal(0, -1), /^Normal: scale must be positive/, /got -1/);
    throwsStrata(() => new D.Normal(tensor([0, 0]), tensor([1, 0])), /Normal: scale/, /got 0 at index \[1\]/);
    throwsStrata(
      () => new D.Bernoulli({ probs: tensor([0.5, 1.5]) }),
      /Bernoulli: probs must be a probability in \[0, 1\], got 1.5/,
    );
    throwsStrata(
      () => new D.Categorical({ probs: tensor([0.5, -0.1]) }),
      /Categorical: probs must be non-negative/,
    );
    throwsStrata(() => new D.Beta(0, 1), /Beta: concentration1 must be positive/, /got 0/);
    throwsStrata(
      () => new D.Dirichlet(tensor([1, -2])),
      /Dirichlet: concentration must be positive/,
      /got -2/,
    );
    throwsStrata(() => new D.Uniform(2, 1), /Uniform: low must be less than high/, /low = 2 and high = 1/);
    throwsStrata(() => st.lgamma(tensor([1, 0])), /lgamma: .*x > 0/, /got x = 0/);
    throwsStrata(() => st.digamma(tensor([-1])), /digamma/, /got x = -1/);
  });

  test('probs and logits: exactly one', () => {
    throwsStrata(() => new D.Bernoulli({ probs: 0.5, logits: 0 }), /Bernoulli: .*got both/);
    throwsStrata(() => new D.Categorical({}), /Categorical: .*got neither/);
    throwsStrata(
      () => new D.OneHotCategorical({ probs: tensor([0.5, 0.5]), logits: tensor([0, 0]) }),
      /OneHotCategorical: .*both/,
    );
  });

  test('values outside the support', () => {
    throwsStrata(
      () => new D.Bernoulli({ probs: 0.3 }).logProb(0.5),
      /Bernoulli.logProb: the value 0.5 .*outside the support/,
    );
    throwsStrata(
      () => new D.Uniform(0, 1).logProb(tensor([0.5, 2])),
      /Uniform.logProb: the value 2 at index \[1\]/,
    );
    throwsStrata(() => new D.Beta(1, 1).logProb(-0.1), /Beta.logProb: the value -0.1/);
    throwsStrata(
      () => new D.Categorical({ probs: tensor([0.5, 0.5]) }).logProb(2),
      /Categorical.logProb: the value 2 .*integers 0 to 1/,
    );
    throwsStrata(
      () => new D.Dirichlet(tensor([1, 1])).logProb(tensor([0.5, 0.6])),
      /Dirichlet.logProb: .*simplex/,
    );
    throwsStrata(
      () => new D.OneHotCategorical({ probs: tensor([0.5, 0.5]) }).logProb(tensor([1, 1])),
      /one-hot/,
    );
    // Without validation the log density is −inf, as in PyTorch.
    assert.equal(new D.Uniform(0, 1, { validateArgs: false }).logProb(2).item(), -Infinity);
  });

  test('shapes that do not broadcast', () => {
    throwsStrata(
      () => new D.Normal(tensor([0, 0, 0]), tensor([1, 1])),
      /Normal: the parameters' shapes do not broadcast together: loc \[3\], scale \[2\]/,
    );
    throwsStrata(
      () => new D.Normal(tensor([0, 0, 0]), 1).logProb(tensor([0, 0])),
      /Normal.logProb: a value of shape \[2\] does not broadcast/,
    );
    throwsStrata(() => new D.Dirichlet(tensor([1, 1, 1])).logProb(tensor([0.5, 0.5])), /event shape \[3\]/);
    throwsStrata(
      () => new D.Independent(new D.Normal(tensor([0, 0]), 1), 2),
      /reinterpretedBatchNdims must be an integer from 0 to the base's batch rank 1/,
    );
  });

  test('sample shapes and options are checked', () => {
    throwsStrata(
      () => new D.Normal(0, 1).sample([2.5]),
      /Normal.sample: sampleShape must be an array of non-negative integers, got \[2.5\]/,
    );
    throwsStrata(() => new D.Normal(0, 1, { validate: true } as never), /Normal: unknown option validate/);
    throwsStrata(
      () => new D.Normal(tensor([1], { dtype: 'int32' }), 1),
      /Normal: loc must be a floating-point tensor/,
    );
  });

  test('rsample where there is none, and KL pairs with no closed form', () => {
    throwsStrata(
      () => new D.Bernoulli({ probs: 0.5 }).rsample([2]),
      /Bernoulli.rsample: Bernoulli has no reparameterised sampler/,
    );
    throwsStrata(() => new D.Categorical({ logits: tensor([0, 0]) }).rsample(), /hasRsample is false/);
    throwsStrata(
      () => D.klDivergence(new D.Normal(0, 1), new D.Uniform(0, 1)),
      /klDivergence: no closed form .*KL\(Normal ‖ Uniform\)/,
    );
    throwsStrata(
      () =>
        D.klDivergence(
          new D.Independent(new D.Normal(tensor([[0]]), 1), 1),
          new D.Independent(new D.Normal(tensor([[0]]), 1), 2),
        ),
      /same reinterpretedBatchNdims, got 1 and 2/,
    );
  });

  test('registerKl adds a pair; the most specific class wins', () => {
    class Standard extends D.Normal {
      constructor() {
        super(0, 1);
      }
    }
    D.registerKl(Standard, Standard, () => tensor(42));
    assert.equal(D.klDivergence(new Standard(), new Standard()).item(), 42);
    assert.equal(D.klDivergence(new Standard(), new D.Normal(0, 1)).item(), 0);
  });
});

test('a category of probability 0 is never drawn, the last one included; gamma gradients past α = 10⁶', () => {
  const d = new st.distributions.Categorical({ probs: st.tensor([0.3, 0.7, 0]) });
  const drawn = d.sample([20000], { generator: new st.Generator(3) }).toTypedArray();
  assert.ok(drawn.every((i) => i === 0 || i === 1));
  // Far in the normal regime: dx/dα = 1 + (x − α)/(2α), about 1 within a few standard deviations.
  for (const alpha of [1e9, 1e10])
    for (const z of [-2, 0, 2]) {
      const x = alpha + z * Math.sqrt(alpha);
      near(gammaSampleGradient(x, alpha), 1 + z / (2 * Math.sqrt(alpha)), 1e-9, `α = ${alpha}, z = ${z}`);
    }
  // Just below the switch the series still converges and agrees with the approximation closely.
  near(gammaSampleGradient(1e6 + 1000, 1e6), 1.0005, 2e-4, 'α = 10⁶');
});
