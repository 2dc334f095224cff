/**
 * optim: each optimizer takes two or three steps on a tiny float64 parameter with fixed gradients and
 * is compared with the algorithm worked out by hand (the arithmetic is in the comments); schedules and
 * clipping likewise. No expected value here is computed with the code under test.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as st from '../src/index.js';
import { onEveryBackend } from './assertions.js';

const { optim } = st;
type Tensor = st.Tensor;

function param(values: number[]): Tensor {
  return st.tensor(values, { dtype: 'float64', requiresGrad: true });
}

function flat(x: Tensor): number[] {
  return Array.from(x.toTypedArray());
}

function near(actual: Tensor | readonly number[], expected: readonly number[], tol = 1e-12, what = ''): void {
  const a = actual instanceof st.Tensor ? flat(actual) : [...actual];
  assert.equal(a.length, expected.length, `${what}: ${a.length} values, expected ${expected.length}`);
  for (let i = 0; i < a.length; i++) {
    assert.ok(
      Math.abs(a[i]! - expected[i]!) <= tol,
      `${what}[${i}]: got ${a[i]}, expected ${expected[i]} (tol ${tol}); all: [${a.join(', ')}]`,
    );
  }
}

function throwsStrata(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof st.StrataError, `expected a StrataError, got ${String(e)}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

/** Sets p.grad to the given values and takes one step. */
function stepWith(opt: { step(): void }, p: Tensor, grad: number[]): void {
  p.grad = st.tensor(grad, { dtype: 'float64' });
  opt.step();
}

/** p = [1, -2] with the constant gradient g = [0.5, 1] for the SGD cases. */
const P0 = [1, -2];
const G = [0.5, 1];

// ---------------------------------------------------------------------------------------------------
// SGD
// ---------------------------------------------------------------------------------------------------

test('SGD plain: p -= lr·g', () => {
  const p = param(P0);
  const opt = new optim.SGD([p], { lr: 0.1 });
  stepWith(opt, p, G);
  // [1 - 0.05, -2 - 0.1]
  near(p, [0.95, -2.1]);
  stepWith(opt, p, G);
  near(p, [0.9, -2.2]);
});

test('SGD momentum: the first buffer is g itself, then buf = μ·buf + g', () => {
  const p = param(P0);
  const opt = new optim.SGD([p], { lr: 0.1, momentum: 0.9 });
  // step 1: buf = [0.5, 1]; p = [1 - 0.05, -2 - 0.1] = [0.95, -2.1]
  stepWith(opt, p, G);
  near(p, [0.95, -2.1]);
  near(opt.state.get(p)!.buffers.momentumBuffer!, [0.5, 1]);
  // step 2: buf = 0.9·[0.5, 1] + [0.5, 1] = [0.95, 1.9]; p = [0.95 - 0.095, -2.1 - 0.19] = [0.855, -2.29]
  stepWith(opt, p, G);
  near(p, [0.855, -2.29]);
  // step 3: buf = 0.9·[0.95, 1.9] + [0.5, 1] = [1.355, 2.71]; p = [0.855 - 0.1355, -2.29 - 0.271]
  stepWith(opt, p, G);
  near(p, [0.7195, -2.561]);
});

test('SGD dampening: buf = μ·buf + (1 - d)·g after a first step that takes g undamped', () => {
  const p = param(P0);
  const opt = new optim.SGD([p], { lr: 0.1, momentum: 0.9, dampening: 0.5 });
  // step 1: buf = g = [0.5, 1] (PyTorch does not dampen the first step); p = [0.95, -2.1]
  stepWith(opt, p, G);
  near(p, [0.95, -2.1]);
  // step 2: buf = 0.9·[0.5, 1] + 0.5·[0.5, 1] = [0.7, 1.4]; p = [0.95 - 0.07, -2.1 - 0.14] = [0.88, -2.24]
  stepWith(opt, p, G);
  near(p, [0.88, -2.24]);
});

test('SGD Nesterov: the step is g + μ·buf', () => {
  const p = param(P0);
  const opt = new optim.SGD([p], { lr: 0.1, momentum: 0.9, nesterov: true });
  // step 1: buf = [0.5, 1]; d = g + 0.9·buf = [0.95, 1.9]; p = [1 - 0.095, -2 - 0.19] = [0.905, -2.19]
  stepWith(opt, p, G);
  near(p, [0.905, -2.19]);
  // step 2: buf = [0.95, 1.9]; d = [0.5 + 0.855, 1 + 1.71] = [1.355, 2.71]; p = [0.905 - 0.1355, -2.19 - 0.271]
  stepWith(opt, p, G);
  near(p, [0.7695, -2.461]);
});

test('SGD weight decay adds λ·p to the gradient', () => {
  const p = param(P0);
  const opt = new optim.SGD([p], { lr: 0.1, weightDecay: 0.1 });
  // step 1: d = [0.5 + 0.1·1, 1 + 0.1·(-2)] = [0.6, 0.8]; p = [1 - 0.06, -2 - 0.08] = [0.94, -2.08]
  stepWith(opt, p, G);
  near(p, [0.94, -2.08]);
  // step 2: d = [0.5 + 0.094, 1 - 0.208] = [0.594, 0.792]; p = [0.94 - 0.0594, -2.08 - 0.0792]
  stepWith(opt, p, G);
  near(p, [0.8806, -2.1592]);
});

test('SGD skips parameters without a gradient; zeroGrad clears them', () => {
  const a = param([1]);
  const b = param([2]);
  const opt = new optim.SGD([a, b], { lr: 1 });
  a.grad = st.tensor([0.5], { dtype: 'float64' });
  opt.step();
  near(a, [0.5]);
  near(b, [2]);
  assert.equal(opt.state.has(b), false);
  opt.zeroGrad();
  assert.equal(a.grad, null);
});

test('a gradient that is a view at an offset into a larger storage is read from its offset', () => {
  // PyTorch accepts any tensor of the right shape as .grad; a view (narrow/slice) starts at an offset.
  const p = param([0, 0]);
  const opt = new optim.SGD([p], { lr: 1 });
  p.grad = st.tensor([10, 20, 1, 2], { dtype: 'float64' }).narrow(0, 2, 2); // the elements [1, 2]
  assert.deepEqual(flat(p.grad), [1, 2]);
  opt.step();
  // p = [0, 0] - 1·[1, 2]
  near(p, [-1, -2]);
});

// ---------------------------------------------------------------------------------------------------
// Adagrad
// ---------------------------------------------------------------------------------------------------

test('Adagrad: s += g², p -= lr·g/(sqrt(s) + eps)', () => {
  const p = param(P0);
  const opt = new optim.Adagrad([p], { lr: 0.1 });
  // step 1: s = [0.25, 1]; g/sqrt(s) = [0.5/0.5, 1/1] = [1, 1]; p = [0.9, -2.1]
  stepWith(opt, p, G);
  near(p, [0.9, -2.1], 1e-9);
  // step 2: s = [0.5, 2]; g/sqrt(s) = [0.5/sqrt(0.5), 1/sqrt(2)] = [1/√2, 1/√2]; p -= 0.1/√2
  stepWith(opt, p, G);
  near(p, [0.9 - 0.1 / Math.SQRT2, -2.1 - 0.1 / Math.SQRT2], 1e-9);
  near(opt.state.get(p)!.buffers.sum!, [0.5, 2]);
});

test('Adagrad lrDecay divides lr by 1 + (t - 1)·decay; initialAccumulatorValue starts s', () => {
  const p = param([1]);
  const opt = new optim.Adagrad([p], { lr: 0.1, lrDecay: 0.5 });
  // step 1: clr = 0.1/(1 + 0) = 0.1; s = 0.25; p = 1 - 0.1·0.5/0.5 = 0.9
  stepWith(opt, p, [0.5]);
  near(p, [0.9], 1e-9);
  // step 2: clr = 0.1/(1 + 0.5) = 1/15; s = 0.5; p = 0.9 - (1/15)·0.5/sqrt(0.5) = 0.9 - (1/15)/√2
  stepWith(opt, p, [0.5]);
  near(p, [0.9 - 1 / 15 / Math.SQRT2], 1e-9);

  const q = param([1]);
  const o2 = new optim.Adagrad([q], { lr: 0.1, initialAccumulatorValue: 1 });
  // s = 1 + 0.25 = 1.25; q = 1 - 0.1·0.5/sqrt(1.25)
  stepWith(o2, q, [0.5]);
  near(q, [1 - 0.05 / Math.sqrt(1.25)], 1e-9);

  const r = param([2]);
  const o3 = new optim.Adagrad([r], { lr: 0.1, weightDecay: 0.5 });
  // d = 0.5 + 0.5·2 = 1.5; s = 2.25; r = 2 - 0.1·1.5/1.5 = 1.9
  stepWith(o3, r, [0.5]);
  near(r, [1.9], 1e-9);
});

// ---------------------------------------------------------------------------------------------------
// RMSprop. With a constant g, after k steps v_k = (1 - α^k)·g² and (centred) ḡ_k = (1 - α^k)·g.
// p = [1, -2], g = [0.5, -2], α = 0.9, lr = 0.01, eps = 0 so the arithmetic is exact.
// ---------------------------------------------------------------------------------------------------

const RG = [0.5, -2];

test('RMSprop plain: p -= lr·g/sqrt(v)', () => {
  const p = param(P0);
  const opt = new optim.RMSprop([p], { lr: 0.01, alpha: 0.9, eps: 0 });
  // step 1: v = 0.1·g² → g/sqrt(v) = sign(g)/sqrt(0.1) = ±√10; p = [1 - 0.01·√10, -2 + 0.01·√10]
  stepWith(opt, p, RG);
  near(p, [1 - 0.01 * Math.sqrt(10), -2 + 0.01 * Math.sqrt(10)]);
  near(opt.state.get(p)!.buffers.squareAvg!, [0.1 * 0.25, 0.1 * 4]);
  // step 2: v = (1 - 0.81)·g² = 0.19·g² → step = 0.01·sign(g)/sqrt(0.19)
  stepWith(opt, p, RG);
  const s = 0.01 * Math.sqrt(10) + 0.01 / Math.sqrt(0.19);
  near(p, [1 - s, -2 + s]);
});

test('RMSprop eps is added to sqrt(v)', () => {
  const p = param([1]);
  const opt = new optim.RMSprop([p], { lr: 0.01, alpha: 0.99, eps: 0.1 });
  // v = 0.01·4 = 0.04; sqrt(v) = 0.2; p = 1 - 0.01·2/(0.2 + 0.1) = 1 - 0.02/0.3
  stepWith(opt, p, [2]);
  near(p, [1 - 0.02 / 0.3]);
});

test('RMSprop centred divides by sqrt(v - ḡ²)', () => {
  const p = param(P0);
  const opt = new optim.RMSprop([p], { lr: 0.01, alpha: 0.9, eps: 0, centered: true });
  // step 1: v - ḡ² = 0.1·g² - 0.01·g² = 0.09·g² → denom 0.3·|g|; step = 0.01·sign(g)/0.3
  stepWith(opt, p, RG);
  near(p, [1 - 0.01 / 0.3, -2 + 0.01 / 0.3]);
  // step 2: v - ḡ² = 0.19·g² - 0.19²·g² = 0.19·0.81·g² = 0.1539·g² → step = 0.01·sign(g)/sqrt(0.1539)
  stepWith(opt, p, RG);
  const s = 0.01 / 0.3 + 0.01 / Math.sqrt(0.1539);
  near(p, [1 - s, -2 + s]);
  near(opt.state.get(p)!.buffers.gradAvg!, [0.19 * 0.5, 0.19 * -2]);
});

test('RMSprop momentum: buf = μ·buf + g/sqrt(v), p -= lr·buf', () => {
  const p = param(P0);
  const opt = new optim.RMSprop([p], { lr: 0.01, alpha: 0.9, eps: 0, momentum: 0.5 });
  // step 1: buf = sign(g)/sqrt(0.1); p -= 0.01·buf
  stepWith(opt, p, RG);
  const b1 = 1 / Math.sqrt(0.1);
  near(p, [1 - 0.01 * b1, -2 + 0.01 * b1]);
  // step 2: buf = 0.5·b1 + 1/sqrt(0.19)
  stepWith(opt, p, RG);
  const b2 = 0.5 * b1 + 1 / Math.sqrt(0.19);
  near(p, [1 - 0.01 * (b1 + b2), -2 + 0.01 * (b1 + b2)]);
});

// ---------------------------------------------------------------------------------------------------
// Adam and AdamW
// ---------------------------------------------------------------------------------------------------

test('Adam with a constant gradient moves each coordinate by lr·|g|/(|g| + eps) ≈ lr·sign(g) per step', () => {
  // m_t = (1 - β1^t)·g and v_t = (1 - β2^t)·g², so the bias-corrected m̂ = g, v̂ = g² at every step.
  const p = param([1, -2, 3]);
  const g = [0.5, -2, 1e-3];
  const opt = new optim.Adam([p], { lr: 0.1 });
  const step = g.map((x) => (0.1 * x) / (Math.abs(x) + 1e-8));
  stepWith(opt, p, g);
  near(p, [1 - step[0]!, -2 - step[1]!, 3 - step[2]!]);
  stepWith(opt, p, g);
  stepWith(opt, p, g);
  near(p, [1 - 3 * step[0]!, -2 - 3 * step[1]!, 3 - 3 * step[2]!]);
  // β1 = 0.9, β2 = 0.999 by default: after 3 steps m = (1 - 0.729)·g = 0.271·g, v = (1 - 0.999³)·g².
  near(
    opt.state.get(p)!.buffers.expAvg!,
    g.map((x) => 0.271 * x),
  );
  near(
    opt.state.get(p)!.buffers.expAvgSq!,
    g.map((x) => (1 - 0.999 ** 3) * x * x),
  );
});

test('Adam bias correction with a changing gradient (worked step by step)', () => {
  const p = param([1]);
  const opt = new optim.Adam([p], { lr: 0.1, betas: [0.9, 0.999], eps: 1e-8 });
  // step 1, g = 0.5: m = 0.1·0.5 = 0.05; v = 0.001·0.25 = 0.00025;
  //   m̂ = 0.05/(1 - 0.9) = 0.5; sqrt(v̂) = sqrt(0.00025/0.001) = 0.5; p = 1 - 0.1·0.5/(0.5 + 1e-8)
  stepWith(opt, p, [0.5]);
  const p1 = 1 - (0.1 * 0.5) / (0.5 + 1e-8);
  near(p, [p1]);
  // step 2, g = -1: m = 0.9·0.05 + 0.1·(-1) = -0.055; v = 0.999·0.00025 + 0.001·1 = 0.00124975;
  //   m̂ = -0.055/(1 - 0.81) = -0.055/0.19; v̂ = 0.00124975/(1 - 0.998001) = 0.00124975/0.001999
  stepWith(opt, p, [-1]);
  const mHat = -0.055 / 0.19;
  const vHat = 0.00124975 / 0.001999;
  const p2 = p1 - (0.1 * mHat) / (Math.sqrt(vHat) + 1e-8);
  near(p, [p2]);
  near(opt.state.get(p)!.buffers.expAvg!, [-0.055]);
  near(opt.state.get(p)!.buffers.expAvgSq!, [0.00124975]);
});

test('Adam amsgrad divides by the running maximum of v', () => {
  // betas (0.9, 0.5) so that v falls quickly: g = 2 then 0.1.
  //   step 1: m = 0.2, v = 0.5·4 = 2; m̂ = 0.2/0.1 = 2; v̂ = 2/0.5 = 4 → p1 = 1 - 0.1·2/(2 + eps)
  //   step 2: m = 0.9·0.2 + 0.1·0.1 = 0.19; v = 0.5·2 + 0.5·0.01 = 1.005 < v_max = 2
  //           m̂ = 0.19/(1 - 0.81) = 1; amsgrad uses v_max: p2 = p1 - 0.1·1/(sqrt(2/0.75) + eps)
  //           plain Adam uses v:                      p2 = p1 - 0.1·1/(sqrt(1.005/0.75) + eps)
  const eps = 1e-8;
  const p1 = 1 - (0.1 * 2) / (2 + eps);
  const run = (amsgrad: boolean) => {
    const p = param([1]);
    const opt = new optim.Adam([p], { lr: 0.1, betas: [0.9, 0.5], amsgrad });
    stepWith(opt, p, [2]);
    near(p, [p1]);
    stepWith(opt, p, [0.1]);
    return { p, opt };
  };
  const ams = run(true);
  near(ams.p, [p1 - 0.1 / (Math.sqrt(2 / 0.75) + eps)]);
  near(ams.opt.state.get(ams.p)!.buffers.maxExpAvgSq!, [2]);
  near(ams.opt.state.get(ams.p)!.buffers.expAvgSq!, [1.005]);
  const plain = run(false);
  near(plain.p, [p1 - 0.1 / (Math.sqrt(1.005 / 0.75) + eps)]);
});

test("AdamW's decoupled decay differs from Adam's L2 decay as expected", () => {
  // g = 0, λ = 0.1, lr = 0.1, p = 1.
  //   Adam (L2): d = g + λp = 0.1, normalised to ≈ 1 → p = 1 - 0.1·0.1/(0.1 + 1e-8) ≈ 0.9
  //   AdamW:     p = 1·(1 - lr·λ) = 0.99, then m = 0 gives no further step
  const a = param([1]);
  const adam = new optim.Adam([a], { lr: 0.1, weightDecay: 0.1 });
  stepWith(adam, a, [0]);
  near(a, [1 - (0.1 * 0.1) / (0.1 + 1e-8)]);
  const w = param([1]);
  const adamw = new optim.AdamW([w], { lr: 0.1, weightDecay: 0.1 });
  stepWith(adamw, w, [0]);
  near(w, [0.99]);
  // g = 0.5: Adam d = 0.6 → p = 1 - 0.1·0.6/(0.6 + eps); AdamW p = 0.99 - 0.1·0.5/(0.5 + eps)
  const a2 = param([1]);
  stepWith(new optim.Adam([a2], { lr: 0.1, weightDecay: 0.1 }), a2, [0.5]);
  near(a2, [1 - 0.06 / (0.6 + 1e-8)]);
  const w2 = param([1]);
  stepWith(new optim.AdamW([w2], { lr: 0.1, weightDecay: 0.1 }), w2, [0.5]);
  near(w2, [0.99 - 0.05 / (0.5 + 1e-8)]);
  // AdamW's default decay is 0.01: p = 1·(1 - 0.1·0.01) = 0.999 with g = 0.
  const w3 = param([1]);
  stepWith(new optim.AdamW([w3], { lr: 0.1 }), w3, [0]);
  near(w3, [0.999]);
  // Adam's default decay is 0: g = 0 leaves p alone.
  const a3 = param([1]);
  stepWith(new optim.Adam([a3], { lr: 0.1 }), a3, [0]);
  near(a3, [1]);
});

// ---------------------------------------------------------------------------------------------------
// Groups, state dicts, errors
// ---------------------------------------------------------------------------------------------------

test('param groups take their own hyper-parameters over the defaults', () => {
  const a = param([1]);
  const b = param([1]);
  const c = param([1]);
  const opt = new optim.SGD([{ params: [a] }, { params: [b], lr: 0.01 }, { params: [c], momentum: 0.5 }], {
    lr: 0.1,
  });
  assert.equal(opt.paramGroups.length, 3);
  assert.deepEqual(
    opt.paramGroups.map((g) => g.lr),
    [0.1, 0.01, 0.1],
  );
  assert.deepEqual(
    opt.paramGroups.map((g) => g.momentum),
    [0, 0, 0.5],
  );
  for (let i = 0; i < 2; i++) {
    for (const p of [a, b, c]) p.grad = st.tensor([1], { dtype: 'float64' });
    opt.step();
  }
  // a: 1 - 2·0.1 = 0.8; b: 1 - 2·0.01 = 0.98; c: buf 1 then 0.5 + 1 = 1.5 → 1 - 0.1 - 0.15 = 0.75
  near(a, [0.8]);
  near(b, [0.98]);
  near(c, [0.75]);
});

test('stateDict → a new optimizer → loadStateDict gives identical subsequent steps', () => {
  const grads = [
    [0.5, -1],
    [0.25, 2],
    [-0.75, 0.1],
    [1, 1],
  ];
  const make = (ctor: (ps: Tensor[]) => st.optim.Optimizer<{ lr: number }>) => {
    const a = param([1, 2]);
    const b = param([-1]);
    const opt = ctor([a, b]);
    const stepAll = (g: number[]) => {
      a.grad = st.tensor(g, { dtype: 'float64' });
      b.grad = st.tensor([g[0]! * 2], { dtype: 'float64' });
      opt.step();
    };
    return { a, b, opt, stepAll };
  };
  const cases: [string, (ps: Tensor[], lr: number) => st.optim.Optimizer<{ lr: number }>][] = [
    [
      'SGD',
      (ps, lr) => new optim.SGD([{ params: [ps[0]!] }, { params: [ps[1]!], lr: 0.5 }], { lr, momentum: 0.9 }),
    ],
    [
      'Adam',
      (ps, lr) =>
        new optim.Adam([{ params: [ps[0]!] }, { params: [ps[1]!], lr: 0.5 }], { lr, amsgrad: true }),
    ],
    [
      'RMSprop',
      (ps, lr) =>
        new optim.RMSprop([{ params: [ps[0]!] }, { params: [ps[1]!], lr: 0.5 }], {
          lr,
          centered: true,
          momentum: 0.3,
        }),
    ],
    [
      'Adagrad',
      (ps, lr) =>
        new optim.Adagrad([{ params: [ps[0]!] }, { params: [ps[1]!], lr: 0.5 }], { lr, lrDecay: 0.1 }),
    ],
  ];
  for (const [name, ctor] of cases) {
    const one = make((ps) => ctor(ps, 0.1));
    one.stepAll(grads[0]!);
    one.stepAll(grads[1]!);
    // A second optimizer over parameters with the same values but a different lr, then load.
    const two = make((ps) => ctor(ps, 123));
    st.noGrad(() => {
      two.a.copy_(one.a);
      two.b.copy_(one.b);
    });
    two.opt.loadStateDict(one.opt.stateDict());
    assert.deepEqual(
      two.opt.paramGroups.map((g) => g.lr),
      [0.1, 0.5],
      `${name}: hyper-parameters restored`,
    );
    for (const g of grads.slice(2)) {
      one.stepAll(g);
      two.stepAll(g);
    }
    assert.deepEqual(flat(two.a), flat(one.a), `${name}: a`);
    assert.deepEqual(flat(two.b), flat(one.b), `${name}: b`);
    // The loaded state is a copy, not shared with the source optimizer.
    const sa = one.opt.state.get(one.a)!;
    const sb = two.opt.state.get(two.a)!;
    assert.equal(sb.step, sa.step, `${name}: step count`);
    for (const k of Object.keys(sa.buffers)) assert.notEqual(sb.buffers[k]!.data, sa.buffers[k]!.data);
  }
});

test('optimizer errors: negative lr, empty params, bad hyper-parameters, mismatched state', () => {
  throwsStrata(
    () => new optim.SGD([param([1])], { lr: -0.1 }),
    /SGD/,
    /lr must be a finite number ≥ 0/,
    /-0\.1/,
  );
  throwsStrata(() => new optim.Adam([param([1])], { lr: -1 }), /Adam/, /lr must be/);
  throwsStrata(() => new optim.SGD([], { lr: 0.1 }), /SGD/, /empty/);
  throwsStrata(() => new optim.Adam([]), /Adam/, /empty/);
  throwsStrata(() => new optim.SGD([param([1])], { lr: 0.1, nesterov: true }), /SGD/, /Nesterov/);
  throwsStrata(() => new optim.SGD([param([1])], { lr: 0.1, momentum: -0.5 }), /SGD/, /momentum/);
  throwsStrata(() => new optim.Adam([param([1])], { betas: [1, 0.999] }), /Adam/, /betas/);
  throwsStrata(() => new optim.RMSprop([param([1])], { alpha: -1 }), /RMSprop/, /alpha/);
  const p = param([1]);
  throwsStrata(() => new optim.SGD([p, p], { lr: 0.1 }), /SGD/, /more than one group|twice/);
  throwsStrata(() => new optim.SGD([st.tensor([1])], { lr: 0.1 }), /SGD/, /require gradients/);
  // A state with two groups does not load into an optimizer with one.
  const a = param([1]);
  const b = param([2]);
  const two = new optim.SGD([{ params: [a] }, { params: [b] }], { lr: 0.1 });
  const one = new optim.SGD([param([1]), param([2])], { lr: 0.1 });
  throwsStrata(() => one.loadStateDict(two.stateDict()), /SGD/, /2 parameter groups/, /1/);
  // Same group count, different number of parameters in a group.
  const three = new optim.SGD([{ params: [param([1])] }, { params: [param([1]), param([1])] }], { lr: 0.1 });
  throwsStrata(() => two.loadStateDict(three.stateDict()), /SGD/, /group 1/);
  // A buffer of the wrong size.
  const big = param([1, 2, 3]);
  const withState = new optim.SGD([big], { lr: 0.1, momentum: 0.9 });
  stepWith(withState, big, [1, 1, 1]);
  const small = new optim.SGD([param([1])], { lr: 0.1, momentum: 0.9 });
  throwsStrata(() => small.loadStateDict(withState.stateDict()), /SGD/, /momentumBuffer/, /3/);
});

test('Adagrad validates its hyper-parameters like the others (lrDecay, weightDecay, eps, initial value)', () => {
  // PyTorch's Adagrad rejects each of these ("Invalid lr_decay value", ...); so do SGD, RMSprop and Adam here.
  throwsStrata(() => new optim.Adagrad([param([1])], { lrDecay: -0.1 }), /Adagrad/, /lrDecay/);
  throwsStrata(() => new optim.Adagrad([param([1])], { weightDecay: -0.1 }), /Adagrad/, /weightDecay/);
  throwsStrata(() => new optim.Adagrad([param([1])], { eps: -1 }), /Adagrad/, /eps/);
  throwsStrata(
    () => new optim.Adagrad([param([1])], { initialAccumulatorValue: -1 }),
    /Adagrad/,
    /initialAccumulatorValue/,
  );
});

// ---------------------------------------------------------------------------------------------------
// Schedules (base lr 1 so that lr = factor)
// ---------------------------------------------------------------------------------------------------

function sgd(lr = 1): st.optim.SGD {
  return new optim.SGD([param([0])], { lr });
}

/** The lr after each of n calls to step(). */
function lrsAfterSteps(s: st.optim.LRScheduler, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s.step();
    out.push(s.lastLr()[0]!);
  }
  return out;
}

test('StepLR multiplies by gamma every stepSize steps', () => {
  const s = new optim.StepLR(sgd(), { stepSize: 2, gamma: 0.5 });
  // lr = 0.5^floor(t/2) for t = 1..6: 1, 0.5, 0.5, 0.25, 0.25, 0.125
  near(lrsAfterSteps(s, 6), [1, 0.5, 0.5, 0.25, 0.25, 0.125]);
});

test('ExponentialLR multiplies by gamma every step', () => {
  const s = new optim.ExponentialLR(sgd(2), { gamma: 0.5 });
  // lr = 2·0.5^t for t = 1..4: 1, 0.5, 0.25, 0.125
  near(lrsAfterSteps(s, 4), [1, 0.5, 0.25, 0.125]);
});

test("CosineAnnealingLR follows PyTorch's: half a cosine to an absolute etaMin, rising again past tMax", () => {
  const s = new optim.CosineAnnealingLR(sgd(), { tMax: 10 });
  // lr(t) = (1 + cos(π t/10))/2: t = 2 → (1 + cos(π/5))/2 = (1 + 0.8090169943749475)/2; t = 5 → 1/2; t = 10 → 0
  const lrs = lrsAfterSteps(s, 20);
  near([lrs[1]!, lrs[4]!, lrs[9]!], [0.9045084971874737, 0.5, 0], 1e-12);
  // Past tMax the cosine continues: t = 11 → (1 - cos(π/10))/2 = (1 - 0.9510565162951535)/2, t = 15 → 1/2,
  // t = 20 → back at the base rate 1 (the old schedule stayed at 0 here).
  near([lrs[10]!, lrs[14]!, lrs[19]!], [0.024471741852423234, 0.5, 1], 1e-12);
  // etaMin is a rate, not a fraction of the base: base 2, etaMin 0.1 → t = 5: 0.1 + 1.9/2 = 1.05; t = 10: 0.1.
  const f = new optim.CosineAnnealingLR(sgd(2), { tMax: 10, etaMin: 0.1 });
  const fl = lrsAfterSteps(f, 10);
  near([fl[4]!, fl[9]!], [1.05, 0.1], 1e-12);
});

test('LinearWarmupLR ramps from startFactor to 1, then hands over to a cosine', () => {
  // warm-up 4 steps from 0.25: 0.25 + 0.75·t/4 = 0.25, 0.4375, 0.625, 0.8125; then cos over 8 steps:
  // t = 4 → cos(0) → 1; t = 8 → (1 + cos(π/2))/2 = 0.5; t = 12 → 0.
  const cosine = (t: number) => (1 + Math.cos((Math.PI * Math.min(t, 8)) / 8)) / 2;
  const s = new optim.LinearWarmupLR(sgd(), { warmupSteps: 4, startFactor: 0.25, after: cosine });
  assert.equal(s.lastLr()[0], 0.25);
  const lrs = lrsAfterSteps(s, 12);
  near([lrs[0]!, lrs[1]!, lrs[2]!, lrs[3]!, lrs[7]!, lrs[11]!], [0.4375, 0.625, 0.8125, 1, 0.5, 0]);
  // Without a follow-up it stays at 1.
  const plain = new optim.LinearWarmupLR(sgd(), { warmupSteps: 2, startFactor: 0.5 });
  near(lrsAfterSteps(plain, 3), [0.75, 1, 1]);
});

test('a schedule sets lr to its t = 0 rate as soon as it is built (before the first step)', () => {
  // PyTorch's schedulers apply t = 0 on construction: StepLR → 1, CosineAnnealingLR → 1,
  // ExponentialLR → 1, LinearWarmupLR → startFactor.
  const built = [
    ['StepLR', new optim.StepLR(sgd(0.1), { stepSize: 2, gamma: 0.5 }), 0.1],
    ['ExponentialLR', new optim.ExponentialLR(sgd(0.1), { gamma: 0.5 }), 0.1],
    ['CosineAnnealingLR', new optim.CosineAnnealingLR(sgd(0.1), { tMax: 10 }), 0.1],
    ['LinearWarmupLR', new optim.LinearWarmupLR(sgd(0.1), { warmupSteps: 4, startFactor: 0.25 }), 0.025],
  ] as const;
  const got = built.map(([name, s]) => `${name}: ${s.lastLr()[0]}`);
  const want = built.map(([name, , lr]) => `${name}: ${lr}`);
  assert.deepEqual(got, want);
});

test('schedules scale each group from its own base lr', () => {
  const opt = new optim.SGD([{ params: [param([0])] }, { params: [param([0])], lr: 0.5 }], { lr: 0.1 });
  const s = new optim.ExponentialLR(opt, { gamma: 0.5 });
  s.step();
  near(s.lastLr(), [0.05, 0.25]);
  assert.deepEqual(s.baseLrs, [0.1, 0.5]);
});

test('schedule stateDict round trip continues the same schedule', () => {
  const a = new optim.StepLR(sgd(0.8), { stepSize: 2, gamma: 0.5 });
  lrsAfterSteps(a, 3); // t = 3 → 0.8·0.5 = 0.4
  const sd = a.stateDict();
  assert.deepEqual(sd, { t: 3, baseLrs: [0.8], lastLr: [0.4] });
  // Resumed in PyTorch's order: schedule built, optimizer state loaded (it carries lr), schedule state loaded.
  const b = new optim.StepLR(sgd(7), { stepSize: 2, gamma: 0.5 });
  assert.equal(b.optimizer.paramGroups[0]!.lr, 7);
  b.optimizer.loadStateDict(a.optimizer.stateDict());
  b.loadStateDict(sd);
  near(b.lastLr(), [0.4]);
  // t = 4, 5, 6 → 0.8·[0.25, 0.25, 0.125]
  near(lrsAfterSteps(b, 3), [0.2, 0.2, 0.1]);
  near(lrsAfterSteps(a, 3), [0.2, 0.2, 0.1]);
});

test('schedule errors', () => {
  throwsStrata(() => new optim.StepLR(sgd(), { stepSize: 0 }), /StepLR/, /stepSize/);
  throwsStrata(() => new optim.ExponentialLR(sgd(), { gamma: -1 }), /ExponentialLR/, /gamma/);
  throwsStrata(() => new optim.CosineAnnealingLR(sgd(), { tMax: 0 }), /CosineAnnealingLR/, /tMax/);
  throwsStrata(() => new optim.LinearWarmupLR(sgd(), { warmupSteps: 0 }), /LinearWarmupLR/, /warmupSteps/);
});

// ---------------------------------------------------------------------------------------------------
// Gradient clipping
// ---------------------------------------------------------------------------------------------------

function withGrad(values: number[]): Tensor {
  const p = param(values.map(() => 0));
  p.grad = st.tensor(values, { dtype: 'float64' });
  return p;
}

test('clipGradNorm returns the pre-clip norm and scales to maxNorm', () => {
  const p = withGrad([3, 4]);
  // ‖[3, 4]‖ = 5; coef = 1/(5 + 1e-6) → [3, 4]/(5 + 1e-6) ≈ [0.6, 0.8]
  assert.equal(optim.clipGradNorm([p], 1), 5);
  near(p.grad!, [3 / (5 + 1e-6), 4 / (5 + 1e-6)]);
  near(p.grad!, [0.6, 0.8], 1e-6);
  // The norm is global over all parameters: ‖[3], [4]‖ = 5; each scaled by 2/(5 + 1e-6).
  const a = withGrad([3]);
  const b = withGrad([4]);
  const none = param([0]); // no gradient: skipped
  near([optim.clipGradNorm([a, none, b], 2)], [5]);
  near(a.grad!, [6 / (5 + 1e-6)]);
  near(b.grad!, [8 / (5 + 1e-6)]);
  assert.equal(none.grad, null);
});

test('clipGradNorm leaves gradients under maxNorm alone', () => {
  const p = withGrad([0.3, 0.4]);
  near([optim.clipGradNorm([p], 1)], [0.5]);
  assert.deepEqual(flat(p.grad!), [0.3, 0.4]);
});

test('clipGradNorm with the infinity norm and the 1-norm', () => {
  const p = withGrad([1, -3, 2]);
  // max |g| = 3; coef = 1.5/(3 + 1e-6)
  assert.equal(optim.clipGradNorm([p], 1.5, Infinity), 3);
  const c = 1.5 / (3 + 1e-6);
  near(p.grad!, [c, -3 * c, 2 * c]);
  // 1-norm of [3, -4] = 7
  const q = withGrad([3, -4]);
  near([optim.clipGradNorm([q], 14, 1)], [7]);
  assert.deepEqual(flat(q.grad!), [3, -4]);
  throwsStrata(() => optim.clipGradNorm([q], 0), /clipGradNorm/, /maxNorm/);
  throwsStrata(() => optim.clipGradNorm([q], 1, -2), /clipGradNorm/, /normType/);
});

test('clipGradNorm scales only the gradient, even when it is a view of a larger storage', () => {
  const big = st.tensor([10, 20, 3, 4], { dtype: 'float64' });
  const p = param([0, 0]);
  p.grad = big.narrow(0, 2, 2); // [3, 4]
  assert.equal(optim.clipGradNorm([p], 1), 5);
  near(p.grad!, [0.6, 0.8], 1e-6);
  assert.deepEqual(flat(big), [10, 20, 3, 4]);
});

test('clipGradValue clamps each element to [-v, v]', () => {
  const p = withGrad([-1, 0.2, 3, -0.5]);
  optim.clipGradValue([p, param([0])], 0.5);
  assert.deepEqual(flat(p.grad!), [-0.5, 0.2, 0.5, -0.5]);
  throwsStrata(() => optim.clipGradValue([p], -1), /clipGradValue/, /clipValue/);
});

test('a gradient that does not fit its parameter is refused, not read past its end', () => {
  const p = st.tensor(new Float32Array(100), { shape: [100], requiresGrad: true });
  const opt = new st.optim.SGD([p], { lr: 0.1, momentum: 0.9 });
  p.grad = st.ones([10]);
  assert.throws(
    () => opt.step(),
    /optimizer: a gradient of shape \[10\] \(float32\) does not fit its parameter \[100\] \(float32\)/,
  );
});

test('float32 Adam and AdamW take PyTorch 1.13 steps on every backend, at default and near-one beta2', async () => {
  // torch.optim.Adam([p], lr=0.1, betas=(0.9, 0.99999)) and torch.optim.AdamW([p], lr=0.1, weight_decay=0.1),
  // float32 p = ones(3), three steps with p.grad = tensor([0.5, -2, 1e-3]) (PyTorch 1.13).
  const cases: [string, (p: Tensor) => { step(): unknown }, number[]][] = [
    [
      'Adam β2 = 0.99999',
      (p) => new optim.Adam([p], { lr: 0.1, betas: [0.9, 0.99999] }),
      [0.6999999284744263, 1.3000000715255737, 0.7000029683113098],
    ],
    [
      'AdamW defaults',
      (p) => new optim.AdamW([p], { lr: 0.1, weightDecay: 0.1 }),
      [0.6732890605926514, 1.2673090696334839, 0.6732919812202454],
    ],
  ];
  await onEveryBackend(async (name) => {
    for (const [what, make, expected] of cases) {
      const p = st.tensor([1, 1, 1], { dtype: 'float32', requiresGrad: true });
      const opt = make(p);
      for (let i = 0; i < 3; i++) {
        p.grad = st.tensor([0.5, -2, 1e-3], { dtype: 'float32' });
        opt.step();
      }
      // One float32 ulp near 1 is 1.2e-7; the old native rounding was off by 2e-4 (β2 = 0.99999), 2e-6 (defaults).
      near(p, expected, 1.2e-7, `${name} ${what}`);
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// zeroGrad(setToNone)
// ---------------------------------------------------------------------------------------------------

/** The reviewer's deterministic values in (-1, 1) (a Park–Miller sequence), as float64. */
function lcg(n: number, seed: number): number[] {
  let s = seed * 9301 + 49297;
  const a: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (s * 16807) % 2147483647;
    a.push((s / 2147483647) * 2 - 1);
  }
  return a;
}

/**
 * Four steps on p0, p1 (lcg(3, 1), lcg(3, 2)) of the loss Σp0² (+ Σp1² on even steps), zeroing with
 * `zero`, for Adam(lr 0.1) and SGD(lr 0.1, momentum 0.9, weight decay 0.1). Returns p1 after each step.
 */
function zeroGradRun(zero: (opt: st.optim.SGD | st.optim.Adam) => void): Record<string, number[][]> {
  const out: Record<string, number[][]> = {};
  const makers = {
    adam: (ps: Tensor[]) => new optim.Adam(ps, { lr: 0.1 }),
    sgdmom: (ps: Tensor[]) => new optim.SGD(ps, { lr: 0.1, momentum: 0.9, weightDecay: 0.1 }),
  };
  for (const [name, make] of Object.entries(makers)) {
    const p0 = param(lcg(3, 1));
    const p1 = param(lcg(3, 2));
    const opt = make([p0, p1]);
    out[name] = [];
    for (let s = 0; s < 4; s++) {
      zero(opt);
      let loss = p0.mul(p0).sum();
      if (s % 2 === 0) loss = loss.add(p1.mul(p1).sum());
      loss.backward();
      opt.step();
      out[name]!.push(flat(p1));
    }
  }
  return out;
}

test('zeroGrad(false) zero-fills gradients, so a parameter left out of the loss is still stepped (PyTorch values)', () => {
  // p1 after each step, from /usr/bin/python3 (torch 1.13): opt.zero_grad(set_to_none=False)
  const keep = {
    adam: [
      [-0.0371946993474091, -0.33144573546953143, 0.5915434418452056],
      [-0.10420051721518243, -0.2644399111543269, 0.5245376171168612],
      [-0.0761924531504774, -0.18688440243859133, 0.44465544258289774],
      [-0.053249951559351485, -0.12335564897296185, 0.3792208259848394],
    ],
    sgdmom: [
      [0.04961618122626845, -0.3408421301054034, 0.5463193184865264],
      [0.037249819095316224, -0.2558904650196389, 0.4101544149295681],
      [0.01829763116744281, -0.12569696878832673, 0.2014735745930964],
      [0.0010576857206823114, -0.0072658524922624805, 0.011646082544340875],
    ],
  };
  // ... and with opt.zero_grad(set_to_none=True): p1 stands still on odd steps
  const none = {
    adam: [
      [-0.0371946993474091, -0.33144573546953143, 0.5915434418452056],
      [-0.0371946993474091, -0.33144573546953143, 0.5915434418452056],
      [-0.056908337547416, -0.23297161962760524, 0.49225088203386225],
      [-0.056908337547416, -0.23297161962760524, 0.49225088203386225],
    ],
    sgdmom: [
      [0.04961618122626845, -0.3408421301054034, 0.5463193184865264],
      [0.04961618122626845, -0.3408421301054034, 0.5463193184865264],
      [0.027326582850062533, -0.18772203899855824, 0.30089055123226277],
      [0.027326582850062533, -0.18772203899855824, 0.30089055123226277],
    ],
  };
  const runs = {
    'zeroGrad(false)': [zeroGradRun((o) => o.zeroGrad(false)), keep],
    'zeroGrad()': [zeroGradRun((o) => o.zeroGrad()), none],
    'zeroGrad(true)': [zeroGradRun((o) => o.zeroGrad(true)), none],
  } as const;
  for (const [call, [got, want]] of Object.entries(runs))
    for (const k of ['adam', 'sgdmom'] as const)
      want[k].forEach((w, s) => {
        near(got[k]![s]!, w, 1e-12, `${call} ${k} step ${s}`);
      });
});

test('zeroGrad(false) zeroes in place and detached, keeps null gradients null; anything but a boolean is refused', () => {
  const a = param([1, 2]);
  const b = param([3]);
  const opt = new optim.SGD([a, b], { lr: 0.1 });
  const x = param([5, 6]);
  a.grad = x.mul(2); // a gradient with a graph, as backward({ createGraph }) leaves
  const before = a.grad;
  opt.zeroGrad(false);
  assert.deepEqual(flat(a.grad!), [0, 0]);
  assert.equal(a.grad!.data, before.data, 'the same storage, zeroed in place');
  assert.equal(a.grad!.isLeaf, true);
  assert.equal(b.grad, null);
  const m = new st.nn.Linear(2, 1);
  m.weight.grad = st.onesLike(m.weight);
  m.zeroGrad(false);
  assert.deepEqual(flat(m.weight.grad!), [0, 0]);
  assert.equal(m.bias!.grad, null);
  m.zeroGrad();
  assert.equal(m.weight.grad, null);
  const bad = (f: () => void) => throwsStrata(f, /zeroGrad: setToNone must be true or false/);
  throwsStrata(
    () => opt.zeroGrad({ setToNone: false } as never),
    /SGD\.zeroGrad/,
    /an object/,
    /zeroGrad\(false\)/,
  );
  throwsStrata(() => m.zeroGrad({ setToNone: false } as never), /Linear\.zeroGrad/, /zeroGrad\(false\)/);
  bad(() => opt.zeroGrad(0 as never));
  bad(() => m.zeroGrad('false' as never));
  throwsStrata(() => (opt.zeroGrad as (...a: unknown[]) => void)(false, true), /takes at most 1 arguments/);
});

test('clipGradNorm scales by a non-finite norm as PyTorch does, or fails with errorIfNonfinite', () => {
  // torch.nn.utils.clip_grad_norm_([p], 1.0) with p.grad = [nan, 1]: returns nan, grad becomes [nan, nan]
  const p = param([3, -4]);
  p.grad = st.tensor([Number.NaN, 1], { dtype: 'float64' });
  assert.ok(Number.isNaN(optim.clipGradNorm([p], 1)));
  assert.deepEqual(flat(p.grad), [Number.NaN, Number.NaN]);
  // ... with p.grad = [inf, 1]: returns inf, grad becomes [nan, 0]
  p.grad = st.tensor([Number.POSITIVE_INFINITY, 1], { dtype: 'float64' });
  assert.equal(optim.clipGradNorm([p], 1), Number.POSITIVE_INFINITY);
  assert.deepEqual(flat(p.grad), [Number.NaN, 0]);
  // error_if_nonfinite=True raises "The total norm of order 2.0 for gradients from `parameters` is
  // non-finite, so it cannot be clipped. ..." and leaves the gradients alone.
  p.grad = st.tensor([Number.NaN, 1], { dtype: 'float64' });
  throwsStrata(
    () => optim.clipGradNorm([p], 1, 2, { errorIfNonfinite: true }),
    /clipGradNorm: the total norm of order 2 of the gradients is NaN, so they cannot be clipped/,
    /errorIfNonfinite: false/,
  );
  assert.deepEqual(flat(p.grad), [Number.NaN, 1]);
  p.grad = st.tensor([3, 4], { dtype: 'float64' });
  assert.equal(optim.clipGradNorm([p], 10, 2, { errorIfNonfinite: true }), 5);
  throwsStrata(
    () => optim.clipGradNorm([p], 1, 2, { errorIfNonfinite: 1 } as never),
    /errorIfNonfinite must be true or false/,
  );
  throwsStrata(
    () => optim.clipGradNorm([p], 1, 2, true as never),
    /expected an options object/,
    /errorIfNonfinite: true/,
  );
});

test("Adagrad honours a group's own initialAccumulatorValue (PyTorch 1.13 ignores it, adagrad.py:95)", () => {
  const a = param([1]);
  const b = param([1]);
  const opt = new optim.Adagrad([{ params: [a] }, { params: [b], initialAccumulatorValue: 3 }], { lr: 0.1 });
  a.grad = st.tensor([1], { dtype: 'float64' });
  b.grad = st.tensor([1], { dtype: 'float64' });
  opt.step();
  // a: s = 0 + 1 = 1, p = 1 - 0.1·1/(1 + 1e-10); b: s = 3 + 1 = 4, p = 1 - 0.1·1/(2 + 1e-10)
  near(a, [1 - 0.1 / (1 + 1e-10)]);
  near(b, [1 - 0.1 / (2 + 1e-10)]);
});

test('SGD makes its momentum buffer when momentum is first switched on, at any step (PyTorch values)', () => {
  // torch.optim.SGD([p], lr=0.1), p = [1, 2], grad = [1, 1] each step, param_groups[0]['momentum'] = 0.9
  // before the third step: p after each of 5 steps, from /usr/bin/python3 (torch 1.13)
  const want = [
    [0.9, 1.9],
    [0.8, 1.7999999999999998],
    [0.7000000000000001, 1.6999999999999997],
    [0.5100000000000001, 1.5099999999999998],
    [0.2390000000000001, 1.2389999999999999],
  ];
  const p = param([1, 2]);
  const opt = new optim.SGD([p], { lr: 0.1 });
  want.forEach((w, s) => {
    if (s === 2) opt.paramGroups[0]!.momentum = 0.9;
    stepWith(opt, p, [1, 1]);
    near(p, w, 1e-15, `step ${s}`);
  });
  assert.deepEqual(Object.keys(opt.state.get(p)!.buffers), ['momentumBuffer']);
});

test('RMSprop and Adam make their centered, momentum and amsgrad buffers when first switched on', () => {
  const r = param([1, 2]);
  const rms = new optim.RMSprop([r], { lr: 0.1 });
  stepWith(rms, r, [1, 1]);
  assert.deepEqual(Object.keys(rms.state.get(r)!.buffers), ['squareAvg']);
  rms.paramGroups[0]!.centered = true;
  rms.paramGroups[0]!.momentum = 0.5;
  const before = flat(r);
  const v = flat(rms.state.get(r)!.buffers.squareAvg!);
  stepWith(rms, r, [1, 1]);
  // step 2: v = 0.99 v + 0.01; ḡ = 0.01 (from 0); buf = 0 + 1/(sqrt(v - ḡ²) + 1e-8); p -= 0.1 buf
  const v2 = v.map((x) => 0.99 * x + 0.01);
  near(
    r,
    before.map((x, i) => x - 0.1 / (Math.sqrt(v2[i]! - 0.01 ** 2) + 1e-8)),
    1e-12,
  );
  assert.deepEqual(Object.keys(rms.state.get(r)!.buffers).sort(), ['gradAvg', 'momentumBuffer', 'squareAvg']);

  const a = param([1]);
  const adam = new optim.Adam([a], { lr: 0.1 });
  stepWith(adam, a, [1]);
  assert.equal('maxExpAvgSq' in adam.state.get(a)!.buffers, false);
  adam.paramGroups[0]!.amsgrad = true;
  stepWith(adam, a, [0.5]);
  // maxExpAvgSq starts at 0, so it takes v = 0.999·0.001 + 0.001·0.25
  near(adam.state.get(a)!.buffers.maxExpAvgSq!, [0.999 * 0.001 + 0.001 * 0.25], 1e-15);
});

test('loadStateDict accepts a lazily made buffer present or absent, whatever the settings', () => {
  const p = param([1, 2]);
  const plain = new optim.SGD([p], { lr: 0.1 });
  stepWith(plain, p, [1, 1]);
  // A state saved before momentum was switched on loads into an optimizer with momentum, and the
  // buffer is then made at the next step from d (PyTorch's momentum_buffer = None).
  const q = param([1, 2]);
  const withMomentum = new optim.SGD([q], { lr: 0.1, momentum: 0.9 });
  const saved = plain.stateDict();
  saved.paramGroups[0]!.momentum = 0.9; // the group's settings come from the state too
  withMomentum.loadStateDict(saved);
  assert.deepEqual(withMomentum.state.get(q)!.buffers, {});
  stepWith(withMomentum, q, [1, 1]);
  near(q, [0.9, 1.9], 1e-15);
  // ... and a state holding the buffer loads where momentum is now 0 (it is kept, and not used).
  const r = param([1, 2]);
  const noMomentum = new optim.SGD([r], { lr: 0.1 });
  const later = withMomentum.stateDict();
  later.paramGroups[0]!.momentum = 0;
  noMomentum.loadStateDict(later);
  stepWith(noMomentum, r, [1, 1]);
  near(r, [0.9, 1.9], 1e-15);
  near(noMomentum.state.get(r)!.buffers.momentumBuffer!, [1, 1]);
  // Buffers that are always there are still required, and unknown ones refused.
  const a = param([1]);
  const adam = new optim.Adam([a], { lr: 0.1, amsgrad: true });
  stepWith(adam, a, [1]);
  const sd = adam.stateDict();
  const fresh = new optim.Adam([param([1])], { lr: 0.1 });
  const { maxExpAvgSq, ...without } = sd.state[0]!.buffers;
  assert.ok(maxExpAvgSq);
  fresh.loadStateDict({ ...sd, state: { 0: { step: 1, buffers: without } } });
  const { expAvg, ...noExpAvg } = without;
  assert.ok(expAvg);
  throwsStrata(
    () => fresh.loadStateDict({ ...sd, state: { 0: { step: 1, buffers: noExpAvg } } }),
    /buffer 'expAvg' is missing/,
  );
  throwsStrata(
    () => fresh.loadStateDict({ ...sd, state: { 0: { step: 1, buffers: { ...without, other: expAvg } } } }),
    /unknown buffer 'other'/,
  );
});

test("a schedule's loadStateDict restores only the schedule; resumed in PyTorch's order, OneCycleLR and CyclicLR continue exactly, momentum included", () => {
  const build = {
    OneCycleLR: (o: st.optim.SGD) => new optim.OneCycleLR(o, { maxLr: 0.2, totalSteps: 12 }),
    CyclicLR: (o: st.optim.SGD) => new optim.CyclicLR(o, { baseLr: 0.01, maxLr: 0.1, stepSizeUp: 3 }),
  };
  const sgdm = (p: Tensor) => new optim.SGD([p], { lr: 0.05, momentum: 0.9 });
  for (const [name, make] of Object.entries(build)) {
    /** 8 steps with grad = 1; at step 4 (if asked) everything is rebuilt and resumed from state dicts. */
    const run = (resume: 'pytorch' | 'optimizer first' | null) => {
      let p = param([1, -2, 3]);
      let opt = sgdm(p);
      let s = make(opt);
      const seen: number[][] = [];
      for (let i = 0; i < 8; i++) {
        if (i === 4 && resume) {
          const [osd, ssd] = [opt.stateDict(), JSON.parse(JSON.stringify(s.stateDict()))];
          p = param(flat(p));
          opt = sgdm(p);
          if (resume === 'pytorch') {
            s = make(opt);
            opt.loadStateDict(osd);
          } else {
            opt.loadStateDict(osd);
            s = make(opt);
          }
          s.loadStateDict(ssd);
        }
        seen.push([opt.paramGroups[0]!.lr, opt.paramGroups[0]!.momentum]);
        stepWith(opt, p, [1, 1, 1]);
        s.step();
      }
      return { seen, p: flat(p) };
    };
    const straight = run(null);
    assert.deepEqual(run('pytorch'), straight, `${name}: resumed run differs from the uninterrupted one`);
    // Building the schedule after loading the optimizer puts back the t = 0 rate and momentum, and
    // loadStateDict does not undo that (PyTorch's too); the next step() is right again.
    const late = run('optimizer first').seen;
    assert.deepEqual(late[4], straight.seen[0], name);
    assert.deepEqual(late.slice(5), straight.seen.slice(5), name);
  }
  // The same with torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.2, total_steps=12) on
  // SGD([p], lr=0.05, momentum=0.9), from /usr/bin/python3 (torch 1.13): [lr, momentum] at steps 0..7,
  // and p after 8 steps, uninterrupted or resumed in that order (identical); with the optimizer loaded
  // before the schedule is built, step 4 runs at [0.008, 0.95] there too.
  const torchSeen = [
    [0.008000000000000007, 0.95],
    [0.0699579308439166, 0.9177302443521267],
    [0.17585703182442575, 0.8625744625914449],
    [0.19888308709018238, 0.8505584586887436],
    [0.18660259396828235, 0.856698729810778],
    [0.1623491307899526, 0.8688255099070633],
    [0.12947579953902066, 0.8852622412794547],
    [0.09252742053339501, 0.9037365046793212],
  ];
  const torchP = [-2.776762511858892, -5.776762511858891, -0.7767625118588917];
  const p = param([1, -2, 3]);
  const opt = sgdm(p);
  const s = build.OneCycleLR(opt);
  const osd = () => opt.stateDict();
  for (let i = 0; i < 8; i++) {
    near(
      [opt.paramGroups[0]!.lr, opt.paramGroups[0]!.momentum],
      torchSeen[i]!,
      1e-15,
      `OneCycleLR step ${i}`,
    );
    stepWith(opt, p, [1, 1, 1]);
    s.step();
  }
  near(p, torchP, 1e-12);
  // The reviewer's case: after loading, the group's momentum and lr are the optimizer state's.
  const q = sgdm(param([0, 0, 0]));
  const again = build.OneCycleLR(q);
  q.loadStateDict(osd());
  again.loadStateDict(s.stateDict());
  assert.deepEqual(
    [q.paramGroups[0]!.lr, q.paramGroups[0]!.momentum],
    [opt.paramGroups[0]!.lr, opt.paramGroups[0]!.momentum],
  );
  assert.deepEqual(again.lastLr(), s.lastLr());
});

test("ReduceLROnPlateau's loadStateDict leaves the optimizer's rates alone, as PyTorch's", () => {
  const a = new optim.ReduceLROnPlateau(sgd(1), { patience: 0, factor: 0.5 });
  a.step(1);
  a.step(2); // worse: lr 1 → 0.5
  assert.deepEqual(a.lastLr(), [0.5]);
  const b = new optim.ReduceLROnPlateau(sgd(1), { patience: 0, factor: 0.5 });
  b.loadStateDict(a.stateDict());
  assert.deepEqual(b.lastLr(), [1]);
  b.optimizer.loadStateDict(a.optimizer.stateDict());
  b.step(3); // worse again: 0.5 → 0.25
  assert.deepEqual(b.lastLr(), [0.25]);
});

test("a schedule's step refuses PyTorch's deprecated epoch argument instead of ignoring it", () => {
  const o = sgd(1);
  const step = new optim.StepLR(o, { stepSize: 2, gamma: 0.5 });
  // torch's StepLR.step(5) would jump to the closed form 0.25 (with a deprecation warning)
  throwsStrata(
    () => (step.step as (e: number) => void)(5),
    /StepLR\.step: takes no arguments, got 1 \(5\); the epoch argument is deprecated in PyTorch and not supported/,
    /call step\(\) once per epoch/,
  );
  assert.equal(o.paramGroups[0]!.lr, 1);
  const others = [
    new optim.ExponentialLR(sgd(), { gamma: 0.9 }),
    new optim.OneCycleLR(sgd(), { maxLr: 1, totalSteps: 10 }),
    new optim.SequentialLR(o, {
      schedulers: [new optim.ConstantLR(o), new optim.ExponentialLR(o, { gamma: 0.9 })],
      milestones: [2],
    }),
    new optim.ChainedScheduler([new optim.ConstantLR(o), new optim.ExponentialLR(o, { gamma: 0.9 })]),
  ];
  for (const s of others)
    throwsStrata(
      () => (s.step as (e: number) => void)(3),
      /\.step: takes no arguments/,
      /deprecated in PyTorch/,
    );
  // CosineAnnealingWarmRestarts takes an epoch; ReduceLROnPlateau takes the metric, not an epoch after it.
  const warm = new optim.CosineAnnealingWarmRestarts(sgd(), { t0: 2 });
  warm.step(1.5);
  throwsStrata(() => (warm.step as (...a: number[]) => void)(1, 2), /takes at most 1 arguments/);
  const plateau = new optim.ReduceLROnPlateau(sgd());
  plateau.step(1);
  throwsStrata(
    () => (plateau.step as (...a: number[]) => void)(1, 2),
    /ReduceLROnPlateau: step\(metric\) takes one argument, got 2/,
    /deprecated/,
  );
});

test('optimizer and schedule state calls refuse extra arguments instead of ignoring them', () => {
  const o = sgd(1);
  const s = new optim.StepLR(o, { stepSize: 2 });
  const f = (fn: unknown) => fn as (...a: unknown[]) => unknown;
  throwsStrata(() => f(o.stateDict).call(o, {}), /SGD\.stateDict: takes at most 0 arguments, got 1/);
  throwsStrata(
    () => f(o.loadStateDict).call(o, o.stateDict(), true),
    /SGD\.loadStateDict: takes at most 1 arguments, got 2/,
  );
  throwsStrata(
    () => f(o.addParamGroup).call(o, { params: [param([1])] }, 0.1),
    /SGD\.addParamGroup: takes at most 1 arguments, got 2/,
  );
  throwsStrata(() => f(s.stateDict).call(s, 'x'), /StepLR\.stateDict: takes at most 0 arguments/);
  throwsStrata(
    () => f(s.loadStateDict).call(s, s.stateDict(), 1),
    /StepLR\.loadStateDict: takes at most 1 arguments/,
  );
  const p = new optim.ReduceLROnPlateau(sgd());
  throwsStrata(
    () => f(p.loadStateDict).call(p, p.stateDict(), 1),
    /ReduceLROnPlateau\.loadStateDict: takes at most 1/,
  );
  throwsStrata(
    () => st.zeros([2]).requiresGrad_('no' as never),
    /requiresGrad_: flag must be true or false, got "no"/,
  );
});
