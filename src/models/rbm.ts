import { noGrad } from '../autograd/mode.js';
import { describe, fail, fmtShape } from '../errors.js';
import { normal_ } from '../nn/init.js';
import { Module, type Parameter, parameter } from '../nn/module.js';
import { softplus } from '../ops/functional.js';
import { rand, randn, zeros } from '../tensor/creation.js';
import { Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';

/** Binary (Bernoulli) visible units, or Gaussian ones of unit variance (data standardised first). */
export type VisibleUnits = 'binary' | 'gaussian';

export interface RbmOptions {
  visible: number;
  hidden: number;
  /** 'binary' (default) or 'gaussian' (unit variance, as in Hinton's practical guide). */
  visibleUnits?: VisibleUnits;
  /**
   * Fantasy particles of persistent contrastive divergence (Tieleman 2008), kept as the buffer `chain`
   * so that checkpoints carry them; 0 (default): CD-k, every chain started at the data.
   */
  persistentChains?: number;
  /** Draws the N(0, 0.01²) initial weights and the chains' random start (default a fresh Generator(0)); the biases start at 0. */
  generator?: Generator;
}

/** What contrastive divergence returns: the loss to backpropagate and the negative samples. */
export interface CdStep {
  /** mean F(v_data) − mean F(v_model): its gradient is the CD estimate of −∇ log-likelihood. */
  loss: Tensor;
  /** The negative samples v_model [N, visible] (with PCD, the chains' new state), without gradient. */
  samples: Tensor;
}

/**
 * A restricted Boltzmann machine: visible units v, hidden binary units h, energy
 * E(v, h) = −bᵀv − cᵀh − hᵀWv (binary visible) or ‖v − b‖²/2 − cᵀh − hᵀWv (Gaussian visible, unit
 * variance). `weight` is W [hidden, visible] (Linear's layout), `visibleBias` b, `hiddenBias` c.
 * forward(v) gives the hidden probabilities p(h = 1 | v), the features a deep belief net stacks.
 *
 * Training is backpropagation of `contrastiveDivergence`'s loss with any optimizer (SGD's momentum and
 * weight decay are the classic settings): the free energy's gradient at the data minus at the model's
 * samples is the CD-k (or, with a persistent chain, PCD) estimate of the log-likelihood's gradient.
 *
 *     const rbm = new RBM({ visible: 6, hidden: 3 });
 *     const v = tensor([[1, 0, 1, 0, 1, 0]]);
 *     rbm.forward(v).shape // → [1, 3]
 *     rbm.freeEnergy(v).shape // → [1]
 */
export class RBM extends Module<[Tensor], Tensor> {
  weight: Parameter;
  visibleBias: Parameter;
  hiddenBias: Parameter;
  readonly visibleUnits: VisibleUnits;
  readonly visible: number;
  readonly hidden: number;
  readonly persistentChains: number;

  constructor({
    visible,
    hidden,
    visibleUnits = 'binary',
    persistentChains = 0,
    generator = new Generator(0),
  }: RbmOptions) {
    super();
    for (const [k, n] of [
      ['visible', visible],
      ['hidden', hidden],
    ] as const)
      if (!(Number.isInteger(n) && n >= 1))
        fail('RBM', `${k} must be a positive integer, got ${describe(n)}`);
    if (!(Number.isInteger(persistentChains) && persistentChains >= 0))
      fail('RBM', `persistentChains must be an integer ≥ 0 (0: CD-k), got ${describe(persistentChains)}`);
    if (visibleUnits !== 'binary' && visibleUnits !== 'gaussian')
      fail('RBM', `visibleUnits must be 'binary' or 'gaussian', got ${describe(visibleUnits)}`);
    this.visible = visible;
    this.hidden = hidden;
    this.visibleUnits = visibleUnits;
    this.weight = parameter([hidden, visible], 'float32', (t) => normal_(t, 0, 0.01, { generator }));
    this.visibleBias = parameter([visible], 'float32');
    this.hiddenBias = parameter([hidden], 'float32');
    this.persistentChains = persistentChains;
    // The chains start at random states: fair coins, or N(0, 1) for Gaussian units.
    if (persistentChains > 0)
      this.registerBuffer(
        'chain',
        visibleUnits === 'binary'
          ? bernoulliOf(zeros([persistentChains, visible]).add(0.5), generator)
          : randn([persistentChains, visible], { generator }),
      );
  }

  forward(v: Tensor): Tensor {
    return this.hiddenProbs(v);
  }

  /** p(h_j = 1 | v) = σ(c_j + W_j v), [N, hidden]. */
  hiddenProbs(v: Tensor): Tensor {
    this.checkVisible('RBM.hiddenProbs', v);
    return v.matmul(this.weight.T).add(this.hiddenBias).sigmoid();
  }

  /** E[v | h]: σ(b + Wᵀh) for binary units, b + Wᵀh for Gaussian ones, [N, visible]. */
  visibleMean(h: Tensor): Tensor {
    if (!(h instanceof Tensor) || h.rank !== 2 || h.shape[1] !== this.hidden)
      fail('RBM.visibleMean', `expected hidden states [N, ${this.hidden}], got ${shapeOf(h)}`);
    const a = h.matmul(this.weight).add(this.visibleBias);
    return this.visibleUnits === 'binary' ? a.sigmoid() : a;
  }

  /** h ~ p(h | v), 0/1, without gradient. */
  sampleHidden(v: Tensor, generator?: Generator): Tensor {
    return noGrad(() => bernoulliOf(this.hiddenProbs(v), generator));
  }

  /** v ~ p(v | h), without gradient: 0/1 for binary units, N(b + Wᵀh, 1) for Gaussian ones. */
  sampleVisible(h: Tensor, generator?: Generator): Tensor {
    return noGrad(() => {
      const mean = this.visibleMean(h);
      return this.visibleUnits === 'binary'
        ? bernoulliOf(mean, generator)
        : mean.add(randn(mean.shape, { generator }));
    });
  }

  /** `steps` full Gibbs steps v → h → v from `v`, without gradient. */
  gibbs(v: Tensor, steps: number, generator?: Generator): Tensor {
    checkSteps('RBM.gibbs', steps);
    this.checkVisible('RBM.gibbs', v);
    return noGrad(() => {
      let x = v;
      for (let k = 0; k < steps; k++) x = this.sampleVisible(this.sampleHidden(x, generator), generator);
      return x;
    });
  }

  /**
   * F(v) = −log Σ_h e^{−E(v, h)}, [N]: −bᵀv − Σ_j softplus(c_j + W_j v) for binary units, with
   * ‖v − b‖²/2 in place of −bᵀv for Gaussian ones. p(v) = e^{−F(v)} / Z.
   */
  freeEnergy(v: Tensor): Tensor {
    this.checkVisible('RBM.freeEnergy', v);
    const hidden = softplus(v.matmul(this.weight.T).add(this.hiddenBias)).sum(1);
    const visible =
      this.visibleUnits === 'binary'
        ? v.matmul(this.visibleBias.unsqueeze(1)).squeeze(1).neg()
        : v.sub(this.visibleBias).square().sum(1).mul(0.5);
    return visible.sub(hidden);
  }

  /**
   * One contrastive-divergence estimate on the batch `v` of shape [N, visible]. The negative samples are
   * `k` Gibbs steps from the data (CD-k) or, with persistent chains, from the chains' last state, which
   * they then replace (PCD). Backpropagate `loss` and step the optimizer.
   *
   *     const rbm = new RBM({ visible: 4, hidden: 2, persistentChains: 8 });
   *     const { loss, samples } = rbm.contrastiveDivergence(tensor([[1, 0, 1, 0]]), { k: 1 });
   *     loss.backward();
   *     samples.shape // → [8, 4]
   */
  contrastiveDivergence(v: Tensor, { k = 1, generator }: { k?: number; generator?: Generator } = {}): CdStep {
    const op = 'RBM.contrastiveDivergence';
    checkSteps(op, k);
    this.checkVisible(op, v);
    const chain = this.persistentChains > 0 ? this.getBuffer('chain') : null;
    const samples = this.gibbs(chain ?? v, k, generator);
    if (chain) noGrad(() => chain.copy_(samples));
    return { loss: this.freeEnergy(v).mean().sub(this.freeEnergy(samples).mean()), samples };
  }

  /** Mean squared error per image of one mean-field reconstruction v → p(h|v) → E[v|h], without gradient. */
  reconstructionError(v: Tensor): number {
    return noGrad(() => this.visibleMean(this.hiddenProbs(v)).sub(v).square().sum(1).mean().item());
  }

  private checkVisible(op: string, v: Tensor): void {
    if (!(v instanceof Tensor) || v.rank !== 2 || v.shape[1] !== this.visible)
      fail(op, `expected visible states [N, ${this.visible}], got ${shapeOf(v)}`);
    if (v.dtype !== this.weight.dtype)
      fail(
        op,
        `expected ${this.weight.dtype} visible states (the weights' dtype), got ${v.dtype}; cast them`,
      );
  }
}

/**
 * log Z by summing over every hidden configuration, exact (at most 24 hidden units): for binary visible
 * units Σ_h e^{cᵀh} Π_i (1 + e^{b_i + (Wᵀh)_i}); for Gaussian ones the integral over v in closed form.
 * An RBM with all parameters 0 has Z = 2^(visible + hidden).
 *
 *     logPartition(new RBM({ visible: 3, hidden: 2 })) > 0 // → true
 */
export function logPartition(rbm: RBM): number {
  const op = 'logPartition';
  if (!(rbm instanceof RBM)) fail(op, `expected an RBM, got ${describe(rbm)}`);
  if (rbm.hidden > 24)
    fail(
      op,
      `the exact sum visits 2^${rbm.hidden} hidden states; use annealedLogPartition beyond 24 hidden units`,
    );
  const [nv, nh] = [rbm.visible, rbm.hidden];
  const W = Float64Array.from(rbm.weight.detach().contiguous().data);
  const b = Float64Array.from(rbm.visibleBias.detach().data);
  const c = Float64Array.from(rbm.hiddenBias.detach().data);
  // A running log-sum-exp: 2^24 terms are too many to keep.
  let [top, total] = [Number.NEGATIVE_INFINITY, 0];
  const a = new Float64Array(nv);
  for (let s = 0; s < 2 ** nh; s++) {
    // a = b + Wᵀh for the hidden state whose bits are s.
    a.set(b);
    let t = 0;
    for (let j = 0; j < nh; j++) {
      if (!((s >>> j) & 1)) continue;
      t += c[j]!;
      for (let i = 0; i < nv; i++) a[i] += W[j * nv + i]!;
    }
    if (rbm.visibleUnits === 'binary') for (let i = 0; i < nv; i++) t += softplusOf(a[i]!);
    else {
      // ∫ e^{−‖v−b‖²/2 + vᵀWᵀh} dv = (2π)^{n/2} e^{(‖b + Wᵀh‖² − ‖b‖²)/2}
      for (let i = 0; i < nv; i++) t += (a[i]! * a[i]! - b[i]! * b[i]!) / 2;
      t += (nv / 2) * Math.log(2 * Math.PI);
    }
    if (t > top) [top, total] = [t, total * Math.exp(top - t) + 1];
    else total += Math.exp(t - top);
  }
  return top + Math.log(total);
}

export interface AisOptions {
  /** Independent annealing runs (default 100). */
  runs?: number;
  /** The inverse temperatures β_0 = 0 < … < β_K = 1 (default Salakhutdinov & Murray's 14,500 +1). */
  betas?: readonly number[];
  /**
   * The base model's visible biases (default: from `data`, the training images' log-odds for binary
   * units, their mean for Gaussian ones; zero without data).
   */
  baseBias?: Tensor;
  /** Training data to set the base model's biases from. */
  data?: Tensor;
  generator?: Generator;
}

export interface AisEstimate {
  /** log Ẑ = log Z_A + log mean_r w_r. */
  logZ: number;
  /** log(mean w ∓ 3 standard errors) − log(mean w), as Salakhutdinov & Murray report the spread. */
  logZLow: number;
  logZHigh: number;
  runs: number;
  steps: number;
}

/**
 * Salakhutdinov & Murray's (2008) inverse temperatures: of their 14,500 steps (the default), 500 evenly
 * in [0, 0.5), 4,000 in [0.5, 0.9) and 10,000 in [0.9, 1], then 1; `steps` scales the three spans alike.
 *
 *     aisSchedule().length // → 14501
 *     aisSchedule(29).length // → 30
 */
export function aisSchedule(steps = 14500): number[] {
  if (!(Number.isInteger(steps) && steps >= 3))
    fail('aisSchedule', `steps must be an integer ≥ 3 (one per span), got ${describe(steps)}`);
  const first = Math.max(1, Math.round((steps * 500) / 14500));
  const second = Math.max(1, Math.round((steps * 4000) / 14500));
  const spans: [number, number, number][] = [
    [0, 0.5, first],
    [0.5, 0.9, second],
    [0.9, 1, steps - first - second],
  ];
  const betas: number[] = [];
  for (const [from, to, n] of spans) for (let k = 0; k < n; k++) betas.push(from + ((to - from) * k) / n);
  betas.push(1);
  return betas;
}

/**
 * log Z of an RBM by annealed importance sampling (Neal 2001; Salakhutdinov & Murray 2008), from a base
 * model A with the RBM's hidden units unconnected and visible biases b_A, through
 * p_β(v) ∝ e^{(1−β)(−F_A(v)) + β(−F_B^visible(v))} Π_j (1 + e^{β(c_j + W_j v)}), each step one Gibbs
 * transition at β_k. The test log-likelihood of images is then −F(v) − log Z.
 *
 *     const rbm = new RBM({ visible: 5, hidden: 3 });
 *     const ais = annealedLogPartition(rbm, { runs: 20, betas: Array.from({ length: 101 }, (_, k) => k / 100) });
 *     Math.abs(ais.logZ - logPartition(rbm)) < 0.05 // → true
 */
export function annealedLogPartition(rbm: RBM, opts: AisOptions = {}): AisEstimate {
  const op = 'annealedLogPartition';
  if (!(rbm instanceof RBM)) fail(op, `expected an RBM, got ${describe(rbm)}`);
  const { runs = 100, betas = aisSchedule(), generator = new Generator(0) } = opts;
  if (!(Number.isInteger(runs) && runs >= 2)) fail(op, `runs must be an integer ≥ 2, got ${describe(runs)}`);
  if (
    !Array.isArray(betas) ||
    betas.length < 2 ||
    betas[0] !== 0 ||
    betas.at(-1) !== 1 ||
    betas.some((b, k) => !(Number.isFinite(b) && (k === 0 || b > betas[k - 1]!)))
  )
    fail(op, 'betas must rise strictly from 0 to 1 (at least [0, 1]); aisSchedule() gives the usual ones');
  const gaussian = rbm.visibleUnits === 'gaussian';
  const bA = noGrad(() => baseBias(rbm, opts, op));
  return noGrad(() => {
    const W = rbm.weight.detach();
    const bB = rbm.visibleBias.detach();
    const c = rbm.hiddenBias.detach();
    // The visible term −F^visible(v) of a model with biases b: bᵀv, or −‖v − b‖²/2.
    const visibleTerm = (v: Tensor, bias: Tensor) =>
      gaussian ? v.sub(bias).square().sum(1).mul(-0.5) : v.matmul(bias.unsqueeze(1)).squeeze(1);
    const logStar = (v: Tensor, beta: number) =>
      visibleTerm(v, bA)
        .mul(1 - beta)
        .add(visibleTerm(v, bB).mul(beta))
        .add(softplus(v.matmul(W.T).add(c).mul(beta)).sum(1));
    // v_1 from the base model: independent units with biases b_A.
    const base = bA.unsqueeze(0).expand([runs, rbm.visible]);
    let v = gaussian
      ? base.add(randn([runs, rbm.visible], { generator }))
      : bernoulliOf(base.sigmoid(), generator);
    let logW = zeros([runs], { dtype: 'float64' });
    for (let k = 1; k < betas.length; k++) {
      const beta = betas[k]!;
      logW = logW.add(
        logStar(v, beta)
          .sub(logStar(v, betas[k - 1]!))
          .cast('float64'),
      );
      if (k === betas.length - 1) break;
      // One Gibbs transition that leaves p_β invariant.
      const h = bernoulliOf(v.matmul(W.T).add(c).mul(beta).sigmoid(), generator);
      const mean = bA.mul(1 - beta).add(h.matmul(W).add(bB).mul(beta));
      v = gaussian ? mean.add(randn(mean.shape, { generator })) : bernoulliOf(mean.sigmoid(), generator);
    }
    const w = Array.from(logW.data as Float64Array);
    const logZA =
      rbm.hidden * Math.LN2 +
      (gaussian
        ? (rbm.visible / 2) * Math.log(2 * Math.PI)
        : Array.from(bA.data).reduce((s, x) => s + softplusOf(x), 0));
    const m = w.reduce((a, x) => Math.max(a, x), Number.NEGATIVE_INFINITY);
    const scaled = w.map((x) => Math.exp(x - m));
    const mean = scaled.reduce((s, x) => s + x, 0) / runs;
    const sd = Math.sqrt(scaled.reduce((s, x) => s + (x - mean) ** 2, 0) / (runs - 1));
    const err = (3 * sd) / Math.sqrt(runs);
    return {
      logZ: logZA + m + Math.log(mean),
      logZLow: mean - err > 0 ? Math.log(mean - err) - Math.log(mean) : Number.NEGATIVE_INFINITY,
      logZHigh: Math.log(mean + err) - Math.log(mean),
      runs,
      steps: betas.length - 1,
    };
  });
}

/** The base model's visible biases: given, or from the data's marginals (smoothed), or zero. */
function baseBias(rbm: RBM, { baseBias: given, data }: AisOptions, op: string): Tensor {
  if (given !== undefined && data !== undefined) fail(op, 'pass baseBias or data, not both');
  if (given !== undefined) {
    if (!(given instanceof Tensor) || given.rank !== 1 || given.shape[0] !== rbm.visible)
      fail(op, `baseBias must be [${rbm.visible}], got ${shapeOf(given)}`);
    return given.detach().cast(rbm.weight.dtype);
  }
  if (data === undefined) return zeros([rbm.visible], { dtype: rbm.weight.dtype });
  if (!(data instanceof Tensor) || data.rank !== 2 || data.shape[1] !== rbm.visible)
    fail(op, `data must be [N, ${rbm.visible}], got ${shapeOf(data)}`);
  const mean = data.detach().cast(rbm.weight.dtype).mean(0);
  if (rbm.visibleUnits === 'gaussian') return mean;
  // Log-odds of the pixel marginals, kept off ±∞ as Salakhutdinov & Murray's code does.
  const n = data.shape[0]!;
  const p = mean
    .mul(n)
    .add(0.05)
    .div(n + 0.1);
  return p.log().sub(p.neg().add(1).log());
}

function bernoulliOf(probs: Tensor, generator?: Generator): Tensor {
  return rand(probs.shape, { generator, dtype: probs.dtype }).lt(probs).cast(probs.dtype);
}

function checkSteps(op: string, steps: number): void {
  if (!(Number.isInteger(steps) && steps >= 1))
    fail(op, `a Gibbs chain needs at least one step: k must be an integer ≥ 1, got ${describe(steps)}`);
}

function shapeOf(x: unknown): string {
  return x instanceof Tensor ? fmtShape(x.shape) : describe(x);
}

function softplusOf(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}
