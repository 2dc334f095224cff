import { checkArity, fail } from '../errors.js';
import { full, tensor } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  type Closure,
  type GroupArg,
  type HyperRule,
  lossValue,
  Optimizer,
  ownGrad,
  type ParamGroup,
  type ParamsArg,
  hyperRules as R,
} from './optimizer.js';

/** L-BFGS's settings (PyTorch's names in camelCase). */
export interface LbfgsOptions {
  lr: number;
  /** Iterations per step(). */
  maxIter: number;
  /** Closure evaluations per step() (maxIter·5/4 by default). */
  maxEval: number;
  /** Stop when every gradient element is at most this in size. */
  toleranceGrad: number;
  /** Stop when the loss or the step changes by less than this. */
  toleranceChange: number;
  historySize: number;
  /** null: a fixed step of lr; 'strong_wolfe': a line search for the strong Wolfe conditions. */
  lineSearchFn: 'strong_wolfe' | null;
}

const lineSearch: HyperRule = {
  expected: "null or 'strong_wolfe'",
  ok: (v) => v === null || v === 'strong_wolfe',
};

const RULES = {
  lr: R.nonNegative,
  maxIter: R.positiveInteger,
  maxEval: R.positiveInteger,
  toleranceGrad: R.nonNegative,
  toleranceChange: R.nonNegative,
  historySize: R.positiveInteger,
  lineSearchFn: lineSearch,
};

const FORM = "new LBFGS(params, { lr: 1, maxIter: 20, lineSearchFn: 'strong_wolfe' })";

type Vec = Float64Array;

/** What L-BFGS remembers between steps: the last direction and step, the curvature pairs, counts. */
interface Memory {
  funcEvals: number;
  nIter: number;
  d: Vec | null;
  t: number;
  oldDirs: Vec[];
  oldStps: Vec[];
  ro: number[];
  hDiag: number;
  prevFlatGrad: Vec | null;
  prevLoss: number;
}

function dot(a: Vec, b: Vec): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function maxAbs(a: Vec): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

function sumAbs(a: Vec): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]!);
  return s;
}

function scaled(a: Vec, k: number): Vec {
  return a.map((x) => x * k);
}

/** a += k·b in place. */
function axpy(a: Vec, b: Vec, k: number): void {
  for (let i = 0; i < a.length; i++) a[i]! += k * b[i]!;
}

/**
 * The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1 and g2, clamped to the bounds
 * (the interval between the points by default); their midpoint when the cubic has no minimum.
 */
function cubicInterpolate(
  x1: number,
  f1: number,
  g1: number,
  x2: number,
  f2: number,
  g2: number,
  bounds?: [number, number],
): number {
  const [lo, hi] = bounds ?? (x1 <= x2 ? [x1, x2] : [x2, x1]);
  const d1 = g1 + g2 - (3 * (f1 - f2)) / (x1 - x2);
  const d2sq = d1 * d1 - g1 * g2;
  if (d2sq < 0) return (lo + hi) / 2;
  const d2 = Math.sqrt(d2sq);
  const minPos =
    x1 <= x2
      ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
      : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
  return Math.min(Math.max(minPos, lo), hi);
}

type Evaluate = (t: number) => [number, Vec];

/**
 * A line search along d from loss f with gradient g (slope gtd) for a step t satisfying the strong Wolfe
 * conditions f(t) ≤ f + c1·t·gtd and |f'(t)| ≤ c2·|gtd|: bracketing by cubic extrapolation, then zooming
 * by safeguarded cubic interpolation (Nocedal & Wright, algorithms 3.5 and 3.6, as PyTorch has them).
 * Returns the loss, gradient and step found, and the number of evaluations.
 */
function strongWolfe(
  evaluate: Evaluate,
  t: number,
  d: Vec,
  f: number,
  g: Vec,
  gtd: number,
): [number, Vec, number, number] {
  const c1 = 1e-4;
  const c2 = 0.9;
  const toleranceChange = 1e-9;
  const maxLs = 25;
  const dNorm = maxAbs(d);
  let [fNew, gNew] = evaluate(t);
  let evals = 1;
  let gtdNew = dot(gNew, d);
  let [tPrev, fPrev, gPrev, gtdPrev] = [0, f, g, gtd];
  let done = false;
  let iter = 0;
  let bracket: number[] = [];
  let bracketF: number[] = [];
  let bracketG: Vec[] = [];
  let bracketGtd: number[] = [];
  while (iter < maxLs) {
    // Too high or rising: the minimum lies between the previous step and this one.
    if (fNew > f + c1 * t * gtd || (iter > 1 && fNew >= fPrev)) {
      bracket = [tPrev, t];
      bracketF = [fPrev, fNew];
      bracketG = [gPrev, gNew.slice()];
      bracketGtd = [gtdPrev, gtdNew];
      break;
    }
    if (Math.abs(gtdNew) <= -c2 * gtd) {
      bracket = [t];
      bracketF = [fNew];
      bracketG = [gNew];
      done = true;
      break;
    }
    if (gtdNew >= 0) {
      bracket = [tPrev, t];
      bracketF = [fPrev, fNew];
      bracketG = [gPrev, gNew.slice()];
      bracketGtd = [gtdPrev, gtdNew];
      break;
    }
    const minStep = t + 0.01 * (t - tPrev);
    const maxStep = t * 10;
    const previous = t;
    t = cubicInterpolate(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, [minStep, maxStep]);
    [tPrev, fPrev, gPrev, gtdPrev] = [previous, fNew, gNew.slice(), gtdNew];
    [fNew, gNew] = evaluate(t);
    evals++;
    gtdNew = dot(gNew, d);
    iter++;
  }
  if (iter === maxLs) {
    bracket = [0, t];
    bracketF = [f, fNew];
    bracketG = [g, gNew];
  }
  let insufficientProgress = false;
  let [low, high] = bracketF[0]! <= bracketF[bracketF.length - 1]! ? [0, 1] : [1, 0];
  while (!done && iter < maxLs) {
    if (Math.abs(bracket[1]! - bracket[0]!) * dNorm < toleranceChange) break;
    t = cubicInterpolate(
      bracket[0]!,
      bracketF[0]!,
      bracketGtd[0]!,
      bracket[1]!,
      bracketF[1]!,
      bracketGtd[1]!,
    );
    // Keep t at least a tenth of the bracket away from its ends, unless that keeps failing.
    const hi = Math.max(...bracket);
    const lo = Math.min(...bracket);
    const eps = 0.1 * (hi - lo);
    if (Math.min(hi - t, t - lo) < eps) {
      if (insufficientProgress || t >= hi || t <= lo) {
        t = Math.abs(t - hi) < Math.abs(t - lo) ? hi - eps : lo + eps;
        insufficientProgress = false;
      } else insufficientProgress = true;
    } else insufficientProgress = false;
    [fNew, gNew] = evaluate(t);
    evals++;
    gtdNew = dot(gNew, d);
    iter++;
    if (fNew > f + c1 * t * gtd || fNew >= bracketF[low]!) {
      [bracket[high], bracketF[high], bracketG[high], bracketGtd[high]] = [t, fNew, gNew.slice(), gtdNew];
      [low, high] = bracketF[0]! <= bracketF[1]! ? [0, 1] : [1, 0];
    } else {
      if (Math.abs(gtdNew) <= -c2 * gtd) done = true;
      else if (gtdNew * (bracket[high]! - bracket[low]!) >= 0) {
        [bracket[high], bracketF[high], bracketG[high], bracketGtd[high]] = [
          bracket[low]!,
          bracketF[low]!,
          bracketG[low]!,
          bracketGtd[low]!,
        ];
      }
      [bracket[low], bracketF[low], bracketG[low], bracketGtd[low]] = [t, fNew, gNew.slice(), gtdNew];
    }
  }
  return [bracketF[low]!, bracketG[low]!, bracket[low]!, evals];
}

/**
 * L-BFGS (Liu & Nocedal, 1989) as PyTorch has it, over all parameters as one flat vector x:
 * d = -H·∇f(x) by the two-loop recursion over the last historySize pairs s = x_{k+1} - x_k,
 * y = ∇f_{k+1} - ∇f_k (a pair is kept when y·s > 1e-10; H₀ = (y·s)/(y·y)), then x += t·d with t = lr
 * (min(1, 1/‖g‖₁)·lr on the very first iteration) or the strong-Wolfe line search's step. Each step()
 * runs up to maxIter iterations and maxEval evaluations of the closure, stopping early when the
 * gradient is within toleranceGrad, or the step or the loss change is within toleranceChange.
 * One parameter group only. Its state is held on the first parameter: `step` counts iterations
 * and the buffers are d, t, oldDirs [k, n], oldStps [k, n], ro [k], hDiag, prevFlatGrad, prevLoss and
 * funcEvals (float64; scalars as 0-d tensors).
 *
 *     const w = tensor([1, 2], { requiresGrad: true });
 *     const lbfgs = new optim.LBFGS([w], { lr: 1, lineSearchFn: 'strong_wolfe' });
 *     const closure = () => {
 *       lbfgs.zeroGrad();
 *       const loss = w.sub(3).square().sum(); // smallest at w = [3, 3]
 *       loss.backward();
 *       return loss;
 *     };
 *     lbfgs.step(closure) // → 5
 *     w // → [3, 3]
 */
export class LBFGS extends Optimizer<LbfgsOptions> {
  protected readonly bufferNames = [
    'd',
    't',
    'oldDirs',
    'oldStps',
    'ro',
    'hDiag',
    'prevFlatGrad',
    'prevLoss',
    'funcEvals',
  ];

  constructor(params: ParamsArg<LbfgsOptions>, options?: Partial<LbfgsOptions>) {
    checkArity('LBFGS', arguments, 2, FORM);
    const maxIter = options?.maxIter ?? 20;
    const defaults: LbfgsOptions = {
      lr: 1,
      maxIter: 20,
      maxEval: Number.isInteger(maxIter) ? Math.floor((maxIter * 5) / 4) : 25,
      toleranceGrad: 1e-7,
      toleranceChange: 1e-9,
      historySize: 100,
      lineSearchFn: null,
    };
    super(params, options, defaults, RULES, FORM);
    if (this.paramGroups.length !== 1)
      fail(
        'LBFGS',
        `takes one parameter group (its state spans all parameters), got ${this.paramGroups.length}`,
      );
  }

  override addParamGroup(_group: GroupArg<LbfgsOptions>): void {
    fail('LBFGS.addParamGroup', 'L-BFGS takes one parameter group (its state spans all parameters)');
  }

  /**
   * Runs up to maxIter iterations, calling the closure (which must zero the gradients, compute the loss,
   * call backward() and return the loss) as often as they need. Returns the loss before the step.
   */
  override step(closure?: Closure): number {
    if (typeof closure !== 'function')
      fail('LBFGS', `step(closure) needs the closure that recomputes the loss and its gradients; ${FORM}`);
    const g = this.paramGroups[0]!;
    const mem = this.readMemory();
    const evaluate = (): number => lossValue('LBFGS', closure);
    const origLoss = evaluate();
    let loss = origLoss;
    let currentEvals = 1;
    mem.funcEvals++;
    let flatGrad = this.flatGrad();
    let optimal = maxAbs(flatGrad) <= g.toleranceGrad;
    if (optimal) {
      this.writeMemory(mem);
      return origLoss;
    }
    let nIter = 0;
    while (nIter < g.maxIter) {
      nIter++;
      mem.nIter++;
      if (mem.nIter === 1) {
        mem.d = scaled(flatGrad, -1);
        mem.oldDirs = [];
        mem.oldStps = [];
        mem.ro = [];
        mem.hDiag = 1;
      } else {
        const y = flatGrad.map((x, i) => x - mem.prevFlatGrad![i]!);
        const s = scaled(mem.d!, mem.t);
        const ys = dot(y, s);
        if (ys > 1e-10) {
          if (mem.oldDirs.length === g.historySize) {
            mem.oldDirs.shift();
            mem.oldStps.shift();
            mem.ro.shift();
          }
          mem.oldDirs.push(y);
          mem.oldStps.push(s);
          mem.ro.push(1 / ys);
          mem.hDiag = ys / dot(y, y);
        }
        const k = mem.oldDirs.length;
        const al: number[] = new Array(k);
        const q = scaled(flatGrad, -1);
        for (let i = k - 1; i >= 0; i--) {
          al[i] = dot(mem.oldStps[i]!, q) * mem.ro[i]!;
          axpy(q, mem.oldDirs[i]!, -al[i]!);
        }
        const r = scaled(q, mem.hDiag);
        for (let i = 0; i < k; i++) {
          const be = dot(mem.oldDirs[i]!, r) * mem.ro[i]!;
          axpy(r, mem.oldStps[i]!, al[i]! - be);
        }
        mem.d = r;
      }
      mem.prevFlatGrad = flatGrad.slice();
      mem.prevLoss = loss;
      mem.t = mem.nIter === 1 ? Math.min(1, 1 / sumAbs(flatGrad)) * g.lr : g.lr;
      const d = mem.d;
      const gtd = dot(flatGrad, d);
      if (gtd > -g.toleranceChange) break;
      let lsEvals = 0;
      if (g.lineSearchFn === 'strong_wolfe') {
        const x0 = this.params().map((p) => p.data.slice());
        const along: Evaluate = (t) => {
          this.addToParams(t, d);
          const f = evaluate();
          const grad = this.flatGrad();
          this.params().forEach((p, i) => {
            p.data.set(x0[i]!);
          });
          return [f, grad];
        };
        [loss, flatGrad, mem.t, lsEvals] = strongWolfe(along, mem.t, d, loss, flatGrad, gtd);
        this.addToParams(mem.t, d);
        optimal = maxAbs(flatGrad) <= g.toleranceGrad;
      } else {
        this.addToParams(mem.t, d);
        if (nIter !== g.maxIter) {
          loss = evaluate();
          flatGrad = this.flatGrad();
          optimal = maxAbs(flatGrad) <= g.toleranceGrad;
          lsEvals = 1;
        }
      }
      currentEvals += lsEvals;
      mem.funcEvals += lsEvals;
      if (nIter === g.maxIter || currentEvals >= g.maxEval || optimal) break;
      if (maxAbs(d) * Math.abs(mem.t) <= g.toleranceChange) break;
      if (Math.abs(loss - mem.prevLoss) < g.toleranceChange) break;
    }
    this.writeMemory(mem);
    return origLoss;
  }

  // L-BFGS moves all parameters together in step(); there is no per-parameter update or lazy state.
  protected initState(): Record<string, Tensor> {
    return {};
  }

  protected update(): void {
    fail('LBFGS', 'has no per-parameter update; call step(closure)');
  }

  protected override stateShapes(
    p: Tensor,
    group: ParamGroup<LbfgsOptions>,
    buffers: Record<string, Tensor>,
  ): Record<string, readonly number[]> {
    if (p !== this.params()[0]) return {};
    if (!('d' in buffers)) return { funcEvals: [] };
    const n = this.size();
    // At most historySize pairs: a longer history is refused as mis-shaped.
    const k = Math.min(buffers.oldDirs?.shape[0] ?? 0, group.historySize);
    return {
      d: [n],
      t: [],
      oldDirs: [k, n],
      oldStps: [k, n],
      ro: [k],
      hDiag: [],
      prevFlatGrad: [n],
      prevLoss: [],
      funcEvals: [],
    };
  }

  protected override bufferDtype(): 'float64' {
    return 'float64';
  }

  private params(): Tensor[] {
    return this.paramGroups[0]!.params;
  }

  private size(): number {
    return this.params().reduce((n, p) => n + p.size, 0);
  }

  /** Every parameter's gradient (0 where there is none) as one vector. */
  private flatGrad(): Vec {
    const out = new Float64Array(this.size());
    let at = 0;
    for (const p of this.params()) {
      if (p.grad) out.set(ownGrad(p).data, at);
      at += p.size;
    }
    return out;
  }

  /** x += t·d over the flat parameters. */
  private addToParams(t: number, d: Vec): void {
    let at = 0;
    for (const p of this.params()) {
      const data = p.data;
      for (let i = 0; i < data.length; i++) data[i]! += t * d[at + i]!;
      at += p.size;
    }
  }

  private readMemory(): Memory {
    const b = this.state.get(this.params()[0]!)?.buffers ?? {};
    const scalar = (name: string, fallback: number) => (b[name] ? b[name].item() : fallback);
    const rows = (name: string): Vec[] => {
      const t = b[name];
      if (!t) return [];
      const [k, n] = t.shape as [number, number];
      const data = t.data as Float64Array;
      return Array.from({ length: k }, (_, i) => data.slice(i * n, (i + 1) * n));
    };
    return {
      funcEvals: scalar('funcEvals', 0),
      nIter: this.state.get(this.params()[0]!)?.step ?? 0,
      d: b.d ? (b.d.data as Float64Array).slice() : null,
      t: scalar('t', 0),
      oldDirs: rows('oldDirs'),
      oldStps: rows('oldStps'),
      ro: b.ro ? Array.from(b.ro.data as Float64Array) : [],
      hDiag: scalar('hDiag', 1),
      prevFlatGrad: b.prevFlatGrad ? (b.prevFlatGrad.data as Float64Array).slice() : null,
      prevLoss: scalar('prevLoss', 0),
    };
  }

  private writeMemory(m: Memory): void {
    const f64 = (values: ArrayLike<number>, shape: number[]) =>
      tensor(Float64Array.from(values), { dtype: 'float64', shape });
    const one = (v: number) => full([], v, { dtype: 'float64' });
    const buffers: Record<string, Tensor> = { funcEvals: one(m.funcEvals) };
    if (m.d && m.prevFlatGrad) {
      const n = m.d.length;
      const k = m.oldDirs.length;
      const stack = (rows: Vec[]) => {
        const out = new Float64Array(k * n);
        rows.forEach((r, i) => {
          out.set(r, i * n);
        });
        return f64(out, [k, n]);
      };
      Object.assign(buffers, {
        d: f64(m.d, [n]),
        t: one(m.t),
        oldDirs: stack(m.oldDirs),
        oldStps: stack(m.oldStps),
        ro: f64(m.ro, [k]),
        hDiag: one(m.hDiag),
        prevFlatGrad: f64(m.prevFlatGrad, [n]),
        prevLoss: one(m.prevLoss),
      });
    }
    this.state.set(this.params()[0]!, { step: m.nIter, buffers });
  }
}
