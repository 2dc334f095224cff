/**
 * Finite-difference gradient checks in float64.
 *
 * The checked function may return any tensors; it is reduced to the scalar F(x) = sum_k <f_k(x), R_k>
 * with fixed random R_k, so non-scalar outputs are checked through the vector-Jacobian product
 * R·J. For tiny inputs every element is perturbed (central differences, the full R·J); for larger ones
 * F is differentiated along random directions v, and d/dt F(x + t v) is compared with <grad F(x), v>
 * (JAX's check). Second order applies the same check to G(x) = <grad F(x), W> for a random W: the
 * analytic side is the library's nested `grad`, the numeric side central differences of the
 * first-order analytic gradient.
 *
 * Inputs may be any views (transposed, strided, offset): they are perturbed in place through their
 * strides, so the op under test sees the same layout in both passes. Views must not overlap
 * themselves (no stride-0 axes of size > 1).
 */
import assert from 'node:assert/strict';
import { grad, noGrad, Tensor } from '../src/index.js';

export type CheckedFn = (...inputs: Tensor[]) => Tensor | readonly Tensor[];

export interface GradCheckOptions {
  /** Step of the central differences (1e-6 suits float64; a float32 row needs a larger one). */
  eps?: number;
  rtol?: number;
  atol?: number;
  /** Seed for R, W and the random directions. */
  seed?: number;
  /** Up to this many input elements in all, every element is perturbed; above it, random directions. */
  fullLimit?: number;
  /** Random directions per input when the inputs are too large for the full check. */
  directions?: number;
  /** Prefix for failure messages. */
  label?: string;
}

/** A small seeded generator (mulberry32) independent of the library's, so checks do not test with it. */
export function makeRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A stable 32-bit hash of a string, to give every test its own seed. */
export function hashSeed(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Storage positions of a view's elements in row-major order. */
export function viewPositions(t: { shape: readonly number[]; strides: readonly number[]; offset: number }) {
  const n = t.shape.reduce((a, b) => a * b, 1);
  const out = new Array<number>(n);
  const idx = new Array<number>(t.shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let p = t.offset;
    for (let a = 0; a < idx.length; a++) p += idx[a]! * t.strides[a]!;
    out[i] = p;
    for (let a = idx.length - 1; a >= 0; a--) {
      if (++idx[a]! < t.shape[a]!) break;
      idx[a] = 0;
    }
  }
  return out;
}

const UNIT_ROUNDOFF = { float64: 2 ** -53, float32: 2 ** -24, int32: 0.5 } as const;

function asList(y: Tensor | readonly Tensor[]): readonly Tensor[] {
  return y instanceof Tensor ? [y] : y;
}

/** sum_k <y_k, R_k> in float64 JavaScript, and sum_k <|y_k|, |R_k|> (the scale of its rounding error). */
function project(
  ys: readonly Tensor[],
  rs: readonly Float64Array[],
): { value: number; scale: number; u: number } {
  let value = 0;
  let scale = 0;
  let u = 0;
  ys.forEach((y, k) => {
    const v = y.toTypedArray();
    const r = rs[k]!;
    assert.equal(v.length, r.length, 'the output shape changed between evaluations');
    for (let i = 0; i < v.length; i++) {
      value += v[i]! * r[i]!;
      scale += Math.abs(v[i]! * r[i]!);
    }
    u = Math.max(u, UNIT_ROUNDOFF[y.dtype]);
  });
  return { value, scale, u };
}

function uniformArray(n: number, rng: () => number): Float64Array {
  return Float64Array.from({ length: n }, () => 2 * rng() - 1);
}

/**
 * Checks the analytic gradient of f at `inputs` (all differentiated) against central differences.
 * Throws an AssertionError naming the input, the element or direction, both values and the tolerance.
 */
export function gradcheck(f: CheckedFn, inputs: readonly Tensor[], opts: GradCheckOptions = {}): void {
  const eps = opts.eps ?? 1e-6;
  const rtol = opts.rtol ?? 1e-6;
  const atol = opts.atol ?? 1e-8;
  const label = opts.label ?? 'gradcheck';
  const rng = makeRng(opts.seed ?? 1);
  for (const x of inputs) {
    assert.ok(x.dtype !== 'int32', `${label}: inputs must be floating point`);
    assert.ok(!x.requiresGrad && x.isLeaf, `${label}: inputs must be plain leaves`);
  }

  const y0 = asList(noGrad(() => f(...inputs)));
  const rs = y0.map((y) => uniformArray(y.size, rng));
  const rTensors = rs.map((r, k) => new Tensor(r, y0[k]!.shape));
  const scalarF = (...xs: Tensor[]): Tensor => {
    const ys = asList(f(...xs));
    let s: Tensor | null = null;
    ys.forEach((y, k) => {
      const term = y.mul(rTensors[k]!).sum();
      s = s ? s.add(term) : term;
    });
    return s!;
  };
  const numericF = () => project(asList(noGrad(() => f(...inputs))), rs);

  const analytic = grad(
    scalarF,
    inputs.map((_, i) => i),
  )(...inputs);
  analytic.forEach((g, i) => {
    const x = inputs[i]!;
    assert.deepEqual(
      g.shape,
      x.shape,
      `${label}: gradient ${i} has shape [${g.shape}], input is [${x.shape}]`,
    );
    assert.equal(g.dtype, x.dtype, `${label}: gradient ${i} has dtype ${g.dtype}, input is ${x.dtype}`);
  });
  const gs = analytic.map((g) => g.toTypedArray());
  const positions = inputs.map(viewPositions);

  const compare = (num: number, ana: number, scale: number, u: number, delta: number, where: string) => {
    // Central differences cannot resolve F better than its rounding error divided by the step.
    const noise = (64 * u * scale) / Math.abs(delta);
    const tol = atol + noise + rtol * Math.max(Math.abs(num), Math.abs(ana));
    const ok = Math.abs(num - ana) <= tol || (Number.isNaN(num) && Number.isNaN(ana));
    assert.ok(
      ok,
      `${label}: ${where}: numeric ${num} vs analytic ${ana} (difference ${Math.abs(num - ana).toExponential(2)}, tolerance ${tol.toExponential(2)})`,
    );
  };

  const total = inputs.reduce((n, x) => n + x.size, 0);
  if (total <= (opts.fullLimit ?? 30)) {
    inputs.forEach((x, i) => {
      const data = x.data;
      positions[i]!.forEach((p, e) => {
        const v = data[p]!;
        data[p] = v + eps;
        const xp = data[p]!;
        const fp = numericF();
        data[p] = v - eps;
        const xm = data[p]!;
        const fm = numericF();
        data[p] = v;
        const num = (fp.value - fm.value) / (xp - xm);
        compare(num, gs[i]![e]!, Math.max(fp.scale, fm.scale), fp.u, xp - xm, `input ${i} element ${e}`);
      });
    });
    return;
  }

  const directions = opts.directions ?? 2;
  inputs.forEach((x, i) => {
    const data = x.data;
    const pos = positions[i]!;
    const saved = pos.map((p) => data[p]!);
    for (let d = 0; d < directions; d++) {
      const v = uniformArray(pos.length, rng);
      const shift = (t: number) => {
        pos.forEach((p, e) => {
          data[p] = saved[e]! + t * v[e]!;
        });
      };
      shift(eps);
      const fp = numericF();
      shift(-eps);
      const fm = numericF();
      shift(0);
      const num = (fp.value - fm.value) / (2 * eps);
      let ana = 0;
      let anaScale = 0;
      gs[i]!.forEach((g, e) => {
        ana += g * v[e]!;
        anaScale += Math.abs(g * v[e]!);
      });
      // <grad, v> itself carries rounding error in proportion to its terms.
      compare(
        num,
        ana,
        Math.max(fp.scale, fm.scale) + eps * anaScale,
        fp.u,
        2 * eps,
        `input ${i} direction ${d}`,
      );
    }
  });
}

/**
 * Checks second derivatives: the gradient of G(x) = sum_i <grad_i F(x), W_i>, taken by nesting the
 * library's `grad`, against central differences of G computed with the first-order gradient.
 */
export function gradgradcheck(f: CheckedFn, inputs: readonly Tensor[], opts: GradCheckOptions = {}): void {
  const rng = makeRng((opts.seed ?? 1) ^ 0x9e3779b9);
  const argnums = inputs.map((_, i) => i);
  const y0 = asList(noGrad(() => f(...inputs)));
  const rTensors = y0.map((y) => new Tensor(uniformArray(y.size, rng), y.shape));
  const ws = inputs.map((x) => new Tensor(uniformArray(x.size, rng), x.shape).cast(x.dtype));
  const scalarF = (...xs: Tensor[]): Tensor => {
    let s: Tensor | null = null;
    asList(f(...xs)).forEach((y, k) => {
      const term = y.mul(rTensors[k]!).sum();
      s = s ? s.add(term) : term;
    });
    return s!;
  };
  const g = (...xs: Tensor[]): Tensor => {
    let s: Tensor | null = null;
    grad(
      scalarF,
      argnums,
    )(...xs).forEach((gi, i) => {
      const term = gi.mul(ws[i]!).sum();
      s = s ? s.add(term) : term;
    });
    return s!;
  };
  gradcheck(g, inputs, { ...opts, label: `${opts.label ?? 'gradgradcheck'} (second order)` });
}
