import { fail } from '../errors.js';
import { where } from '../ops/elementwise.js';
import { stableSoftplus } from '../ops/functional.js';
import type { Tensor } from '../tensor/tensor.js';
import { Bernoulli } from './bernoulli.js';
import { Categorical, OneHotCategorical } from './categorical.js';
import { Beta, Dirichlet } from './dirichlet.js';
import { Distribution, sumRightmost } from './distribution.js';
import { Independent } from './independent.js';
import { Normal } from './normal.js';
import { digamma, lgamma } from './special.js';
import { Uniform } from './uniform.js';

/** A distribution class, as registerKl takes it. */
// biome-ignore lint/suspicious/noExplicitAny: constructors of any signature
export type DistributionClass<D extends Distribution> = abstract new (...args: any[]) => D;

type KlFn = (p: Distribution, q: Distribution) => Tensor;
type AnyClass = DistributionClass<Distribution>;

const registry = new Map<AnyClass, Map<AnyClass, KlFn>>();

/**
 * Registers KL(p ‖ q) for p of class P and q of class Q, as torch.distributions.kl.register_kl. The
 * lookup in klDivergence takes the most specific pair along both class chains (p's first).
 *
 *     class Standard extends distributions.Normal {}
 *     distributions.registerKl(Standard, Standard, () => tensor(0));
 */
export function registerKl<P extends Distribution, Q extends Distribution>(
  p: DistributionClass<P>,
  q: DistributionClass<Q>,
  fn: (p: P, q: Q) => Tensor,
): void {
  if (typeof p !== 'function' || typeof q !== 'function' || typeof fn !== 'function')
    fail('registerKl', 'expected two distribution classes and a function (p, q) => Tensor');
  let row = registry.get(p);
  if (!row) registry.set(p, (row = new Map()));
  row.set(q, fn as KlFn);
}

function chain(d: Distribution): AnyClass[] {
  const out: AnyClass[] = [];
  for (
    let proto = Object.getPrototypeOf(d);
    proto && proto !== Distribution.prototype;
    proto = Object.getPrototypeOf(proto)
  )
    out.push(proto.constructor as AnyClass);
  return out;
}

/**
 * KL(p ‖ q) = E_p[log p(x) − log q(x)] in closed form, torch.distributions.kl_divergence, of shape the
 * batch shape: Normal, Bernoulli, Categorical, OneHotCategorical, Uniform, Beta, Dirichlet and
 * Independent pairs (of the same family), +∞ where p puts mass where q has none. Other pairs are
 * refused, naming both; add one with {@link registerKl}.
 *
 *     const p = new distributions.Normal(0, 1);
 *     const q = new distributions.Normal(1, 2);
 *     distributions.klDivergence(p, q).item() // → 0.443147
 */
export function klDivergence(p: Distribution, q: Distribution): Tensor {
  if (!(p instanceof Distribution) || !(q instanceof Distribution))
    fail('klDivergence', 'expected two distributions (klDivergence(p, q))');
  for (const a of chain(p)) {
    const row = registry.get(a);
    if (!row) continue;
    for (const b of chain(q)) {
      const fn = row.get(b);
      if (fn) return fn(p, q);
    }
  }
  return fail(
    'klDivergence',
    `no closed form is registered for KL(${p.name} ‖ ${q.name}); estimate it by Monte Carlo (p.logProb(x) − q.logProb(x) with x = p.sample([n]), averaged), or register one with registerKl(${p.name}, ${q.name}, fn)`,
  );
}

registerKl(Normal, Normal, (p, q) => {
  const varRatio = p.scale.div(q.scale).square();
  const t1 = p.loc.sub(q.loc).div(q.scale).square();
  return varRatio.add(t1).sub(1).sub(varRatio.log()).mul(0.5);
});

registerKl(Bernoulli, Bernoulli, (p, q) => {
  let t1 = p.probs.mul(stableSoftplus(q.logits.neg()).sub(stableSoftplus(p.logits.neg())));
  t1 = where(p.probs.eq(0), 0, where(q.probs.eq(0), Infinity, t1));
  let t2 = p.probs
    .neg()
    .add(1)
    .mul(stableSoftplus(q.logits).sub(stableSoftplus(p.logits)));
  t2 = where(p.probs.eq(1), 0, where(q.probs.eq(1), Infinity, t2));
  return t1.add(t2);
});

function categoricalKl(p: Categorical, q: Categorical): Tensor {
  let t = p.probs.mul(p.logits.sub(q.logits));
  t = where(p.probs.eq(0), 0, where(q.probs.eq(0), Infinity, t));
  return t.sum(-1);
}

registerKl(Categorical, Categorical, categoricalKl);
registerKl(OneHotCategorical, OneHotCategorical, (p, q) => categoricalKl(p.categorical, q.categorical));

registerKl(Uniform, Uniform, (p, q) => {
  const result = q.high.sub(q.low).div(p.high.sub(p.low)).log();
  return where(q.low.gt(p.low).add(q.high.lt(p.high)), Infinity, result);
});

registerKl(Beta, Beta, (p, q) => {
  const sumP = p.concentration1.add(p.concentration0);
  const sumQ = q.concentration1.add(q.concentration0);
  const t1 = lgamma(q.concentration1).add(lgamma(q.concentration0)).add(lgamma(sumP));
  const t2 = lgamma(p.concentration1).add(lgamma(p.concentration0)).add(lgamma(sumQ));
  const t3 = p.concentration1.sub(q.concentration1).mul(digamma(p.concentration1));
  const t4 = p.concentration0.sub(q.concentration0).mul(digamma(p.concentration0));
  const t5 = sumQ.sub(sumP).mul(digamma(sumP));
  return t1.sub(t2).add(t3).add(t4).add(t5);
});

registerKl(Dirichlet, Dirichlet, (p, q) => {
  const sumP = p.concentration.sum(-1);
  const sumQ = q.concentration.sum(-1);
  const t1 = lgamma(sumP).sub(lgamma(sumQ));
  const t2 = lgamma(p.concentration).sub(lgamma(q.concentration)).sum(-1);
  const t3 = p.concentration.sub(q.concentration);
  const t4 = digamma(p.concentration).sub(digamma(sumP).unsqueeze(-1));
  return t1.sub(t2).add(t3.mul(t4).sum(-1));
});

registerKl(Independent, Independent, (p, q) => {
  if (p.reinterpretedBatchNdims !== q.reinterpretedBatchNdims)
    fail(
      'klDivergence',
      `KL(Independent ‖ Independent) needs the same reinterpretedBatchNdims, got ${p.reinterpretedBatchNdims} and ${q.reinterpretedBatchNdims}`,
    );
  return sumRightmost(klDivergence(p.base, q.base), p.reinterpretedBatchNdims);
});
