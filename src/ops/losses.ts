import { fail } from '../errors.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { defineOp } from './op.js';

/**
 * The two losses that are ops of their own rather than compositions: binary cross-entropy, whose
 * gradient PyTorch keeps finite where p is exactly 0 or 1, and CTC, whose forward-backward recursions run
 * over typed arrays. The loss functions in nn/ validate their arguments and call these.
 */

const bceOp = defineOp({
  name: 'binaryCrossEntropy',
  forward: ([p, y]) => {
    const logP = p!.log().maximum(-100);
    const log1mP = p!.neg().add(1).log().maximum(-100);
    return y!.mul(logP).add(y!.neg().add(1).mul(log1mP)).neg();
  },
  // PyTorch's gradient (p - y) / max(p (1 - p), 1e-12): finite where p is exactly 0 or 1.
  vjp: (g, { inputs: [p, y] }) => [
    g.mul(p!.sub(y!)).div(p!.mul(p!.neg().add(1)).maximum(1e-12)),
    y!.requiresGrad ? g.mul(p!.neg().add(1).log().maximum(-100).sub(p!.log().maximum(-100))) : null,
  ],
});

/**
 * Elementwise binary cross-entropy of probabilities p at targets y, -(y log p + (1 - y) log(1 - p)), with
 * the logs clamped at -100 as in PyTorch, so p = 0 or 1 gives a large finite loss, not infinity.
 */
export function binaryCrossEntropy(p: Tensor, y: Tensor): Tensor {
  return bceOp([p, y], undefined);
}

/** The alignment problem of one CTC call, in the form the recursions read. */
export interface CtcProblem {
  /** Per sample, its target labels. */
  targets: readonly Int32Array[];
  /** Per sample, how many of the T time steps it uses. */
  inputLengths: readonly number[];
  blank: number;
  /** Impossible alignments (infinite loss) give 0 and a zero gradient instead. */
  zeroInfinity: boolean;
}

export interface CtcAttrs extends CtcProblem {
  /** Filled by the forward: log α per sample, [T·(2L + 1)], and its negative log-likelihood. */
  alpha: Float64Array[];
  nll: Float64Array;
}

function logAdd(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

/** Label s of the blank-extended target (blank, l1, blank, l2, ..., blank). */
const extended = (target: Int32Array, blank: number, s: number): number =>
  s % 2 === 0 ? blank : target[(s - 1) >> 1]!;

/** Whether the path may skip from s - 2 to s: a label that differs from the one two back. */
const canSkip = (target: Int32Array, blank: number, s: number): boolean =>
  s >= 2 && s % 2 === 1 && extended(target, blank, s) !== extended(target, blank, s - 2);

/**
 * Sample n's CTC lattice over its T time steps: S blank-extended labels, and `at(t, s)`, the
 * log-probability of extended label s at time t. lp is [·, N, C] row-major.
 */
function lattice(lp: Float64Array, N: number, C: number, problem: CtcProblem, n: number) {
  const { blank } = problem;
  const target = problem.targets[n]!;
  const at = (t: number, s: number) => lp[(t * N + n) * C + extended(target, blank, s)]!;
  return { target, blank, T: problem.inputLengths[n]!, S: 2 * target.length + 1, at };
}

type Lattice = ReturnType<typeof lattice>;

/**
 * log α_t(s) over t < T for one sample: the log-probability of all path prefixes that emit the first s
 * extended labels by time t, including the label at t.
 */
function forwardVariables({ target, blank, T, S, at }: Lattice): Float64Array {
  const alpha = new Float64Array(T * S).fill(-Infinity);
  if (T === 0) return alpha;
  alpha[0] = at(0, 0);
  if (S > 1) alpha[1] = at(0, 1);
  for (let t = 1; t < T; t++) {
    const prev = (t - 1) * S;
    for (let s = 0; s < S; s++) {
      let a = alpha[prev + s]!;
      if (s >= 1) a = logAdd(a, alpha[prev + s - 1]!);
      if (canSkip(target, blank, s)) a = logAdd(a, alpha[prev + s - 2]!);
      alpha[t * S + s] = a === -Infinity ? a : a + at(t, s);
    }
  }
  return alpha;
}

/** log β_t(s): the log-probability of all path suffixes from extended label s at time t to the end. */
function backwardVariables({ target, blank, T, S, at }: Lattice): Float64Array {
  const beta = new Float64Array(T * S).fill(-Infinity);
  if (T === 0) return beta;
  beta[(T - 1) * S + S - 1] = at(T - 1, S - 1);
  if (S > 1) beta[(T - 1) * S + S - 2] = at(T - 1, S - 2);
  for (let t = T - 2; t >= 0; t--) {
    const next = (t + 1) * S;
    for (let s = 0; s < S; s++) {
      let b = beta[next + s]!;
      if (s + 1 < S) b = logAdd(b, beta[next + s + 1]!);
      if (s + 2 < S && canSkip(target, blank, s + 2)) b = logAdd(b, beta[next + s + 2]!);
      beta[t * S + s] = b === -Infinity ? b : b + at(t, s);
    }
  }
  return beta;
}

function floatArray(dtype: DType, n: number): Float32Array | Float64Array {
  return dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
}

const ctcOp = defineOp({
  name: 'ctcNegLogLikelihood',
  forward: ([logProbs], a) => {
    const [, N, C] = logProbs!.shape as [number, number, number];
    const lp = Float64Array.from(logProbs!.toTypedArray());
    const out = floatArray(logProbs!.dtype, N);
    for (let n = 0; n < N; n++) {
      const l = lattice(lp, N, C, a, n);
      const { target, T: Tn, S } = l;
      const alpha = forwardVariables(l);
      a.alpha[n] = alpha;
      // With no time steps, only the empty target has a (single, empty) alignment.
      const logP =
        Tn === 0
          ? target.length === 0
            ? 0
            : -Infinity
          : logAdd(alpha[(Tn - 1) * S + S - 1]!, S > 1 ? alpha[(Tn - 1) * S + S - 2]! : -Infinity);
      a.nll[n] = -logP;
      out[n] = a.zeroInfinity && logP === -Infinity ? 0 : -logP;
    }
    return new Tensor(out, [N]);
  },
  // d(-log p)/d lp[t, c] = -exp(log Σ_{s: l'_s = c} α_t(s) β_t(s) - lp[t, c] + nll), since α and β both
  // include the label's probability at t. (PyTorch adds exp(lp), which cancels only when a log-softmax
  // comes before; this is the gradient with respect to the log-probabilities themselves.) The
  // weights are constants of the forward, so the VJP is exact to first order only, as in PyTorch.
  vjp: (g, { inputs: [logProbs], attrs: a }) => {
    const [T, N, C] = logProbs!.shape as [number, number, number];
    const lp = Float64Array.from(logProbs!.toTypedArray());
    const w = floatArray(logProbs!.dtype, T * N * C);
    for (let n = 0; n < N; n++) {
      const nll = a.nll[n]!;
      if (a.zeroInfinity && nll === Infinity) continue;
      const l = lattice(lp, N, C, a, n);
      const { target, T: Tn, S } = l;
      const alpha = a.alpha[n]!;
      const beta = backwardVariables(l);
      const lcab = new Float64Array(C);
      for (let t = 0; t < Tn; t++) {
        lcab.fill(-Infinity);
        for (let s = 0; s < S; s++) {
          const c = extended(target, a.blank, s);
          lcab[c] = logAdd(lcab[c]!, alpha[t * S + s]! + beta[t * S + s]!);
        }
        const row = (t * N + n) * C;
        for (let c = 0; c < C; c++) {
          // lcab = -inf where no alignment uses c at t: a zero, unless the loss itself is infinite.
          w[row + c] =
            lcab[c] === -Infinity && nll !== Infinity ? 0 : -Math.exp(lcab[c]! - lp[row + c]! + nll);
        }
      }
    }
    return [g.reshape([1, N, 1]).mul(new Tensor(w, [T, N, C]))];
  },
});

/**
 * The negative log-likelihood of each sample's target under connectionist temporal classification:
 * -log Σ over all alignments of the target (labels separated by optional blanks, repeats merged) of the
 * product of the per-step probabilities. `logProbs` is [T, N, C]; the result is [N]. The problem is
 * trusted as given: nn.ctcLoss validates it.
 */
export function ctcNegLogLikelihood(logProbs: Tensor, problem: CtcProblem): Tensor {
  if (logProbs.rank !== 3)
    fail('ctcNegLogLikelihood', `expected log-probabilities [T, N, C], got rank ${logProbs.rank}`);
  const N = logProbs.shape[1]!;
  return ctcOp([logProbs], { ...problem, alpha: new Array<Float64Array>(N), nll: new Float64Array(N) });
}
