/**
 * The autograd engine: `.backward()` and `.grad`, the functional transformations, higher-order
 * derivatives in closed form, user-defined ops, and the engine's edge cases.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  backward,
  customOp,
  detectAnomaly,
  grad,
  gradients,
  isAnomalyDetection,
  isGradEnabled,
  noGrad,
  ones,
  StrataError,
  type Tensor,
  tensor,
  valueAndGrad,
  zeros,
} from '../src/index.js';
import { defineOp } from '../src/ops/op.js';
import { gradcheck, gradgradcheck } from './gradcheck.js';

const f64 = (values: number[] | number[][], requiresGrad = false) =>
  tensor(values, { dtype: 'float64', requiresGrad });

function assertClose(t: Tensor | null, expected: number[], tol = 1e-12): void {
  assert.ok(t, 'expected a gradient, got null');
  const got = Array.from(t.toTypedArray());
  assert.equal(got.length, expected.length, `got [${got}], expected [${expected}]`);
  got.forEach((v, i) => {
    assert.ok(
      Math.abs(v - expected[i]!) <= tol * Math.max(1, Math.abs(expected[i]!)),
      `element ${i}: got ${v}, expected ${expected[i]} ([${got}])`,
    );
  });
}

function throwsStrata(fn: () => unknown, ...patterns: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof StrataError, `expected a StrataError, got ${String(e)}`);
    for (const p of patterns) assert.ok(e.message.includes(p), `"${e.message}" does not contain "${p}"`);
    return true;
  });
}

describe('backward() and .grad', () => {
  test('gradients accumulate into .grad across calls', () => {
    const x = f64([1, 2, 3], true);
    x.mul(x).sum().backward();
    assertClose(x.grad, [2, 4, 6]);
    x.mul(3).sum().backward();
    assertClose(x.grad, [5, 7, 9]);
    assert.equal(x.grad!.requiresGrad, false, 'a plain backward leaves no graph behind');
  });

  test('fan-out: a tensor used several times gets the sum of its gradients', () => {
    const x = f64([1, -2], true);
    const h = x.mul(2);
    h.mul(h).add(h).add(x).sum().backward(); // 4x^2 + 2x + x
    assertClose(x.grad, [8 * 1 + 3, 8 * -2 + 3]);
  });

  test('broadcast inputs get gradients summed back to their shape', () => {
    const a = tensor([[1], [2], [3]], { dtype: 'float64', requiresGrad: true });
    const b = tensor([[1, 2, 3, 4]], { dtype: 'float64', requiresGrad: true });
    a.mul(b).sum().backward();
    assertClose(a.grad, [10, 10, 10]);
    assertClose(b.grad, [6, 6, 6, 6]);
    assert.deepEqual(a.grad!.shape, [3, 1]);
    assert.deepEqual(b.grad!.shape, [1, 4]);
  });

  test('a non-scalar output needs a gradient: a clear error without one', () => {
    const x = f64([1, 2], true);
    throwsStrata(() => x.mul(2).backward(), 'backward', 'gradient must be given', '[2]');
    throwsStrata(() => x.mul(2).backward(f64([1, 2, 3])), 'backward', '[3]', '[2]');
    x.mul(x).backward(f64([1, 10]));
    assertClose(x.grad, [2, 40]);
  });

  test('backward on a tensor that needs no gradient is an error', () => {
    throwsStrata(() => f64([1]).mul(2).sum().backward(), 'backward', 'requiresGrad');
  });

  test('only leaves get .grad; dtypes of leaves are kept', () => {
    const x = tensor([1, 2], { requiresGrad: true }); // float32
    const h = x.cast('float64').mul(3);
    h.sum().backward();
    assert.equal(h.grad, null);
    assert.equal(x.grad!.dtype, 'float32');
    assertClose(x.grad, [3, 3]);
  });

  test('createGraph keeps the backward pass differentiable', () => {
    const x = f64([2], true);
    x.pow(3).backward(undefined, { createGraph: true }); // dx = 3x^2
    const g = x.grad!;
    assert.equal(g.requiresGrad, true);
    x.grad = null;
    g.backward(); // d(3x^2)/dx = 6x
    assertClose(x.grad, [12]);
  });
});

describe('recording', () => {
  test('noGrad records nothing', () => {
    const x = f64([1, 2], true);
    const y = noGrad(() => {
      assert.equal(isGradEnabled(), false);
      return x.mul(2).exp();
    });
    assert.equal(isGradEnabled(), true);
    assert.equal(y.requiresGrad, false);
    assert.equal(y.gradFn, null);
  });

  test('noGrad restores the mode after an exception', () => {
    assert.throws(() =>
      noGrad(() => {
        throw new Error('boom');
      }),
    );
    assert.equal(isGradEnabled(), true);
  });

  test('detach stops gradients and shares storage', () => {
    const x = f64([3], true);
    const d = x.detach();
    assert.equal(d.data, x.data);
    assert.equal(d.requiresGrad, false);
    x.mul(d).sum().backward();
    assertClose(x.grad, [3], 0);
  });

  test('results of ops on tensors that require gradients require gradients; comparisons do not', () => {
    const x = f64([1, 2], true);
    const y = x.add(1);
    assert.equal(y.requiresGrad, true);
    assert.equal(y.isLeaf, false);
    assert.equal(y.gradFn!.name, 'add');
    assert.equal(x.gt(0).requiresGrad, false);
    assert.equal(f64([1]).add(1).requiresGrad, false);
    throwsStrata(() => y.requiresGrad_(), 'requiresGrad_', 'leaf');
  });
});

describe('grad and valueAndGrad', () => {
  const f = (a: Tensor, b: Tensor) => a.mul(b.square()).sum();
  const a = f64([1, 2]);
  const b = f64([3, -1]);

  test('argnums pick the arguments to differentiate', () => {
    assertClose(grad(f)(a, b)[0]!, [9, 1]);
    assertClose(grad(f, 1)(a, b)[0]!, [6, -4]);
    const [ga, gb] = grad(f, [0, 1])(a, b);
    assertClose(ga!, [9, 1]);
    assertClose(gb!, [6, -4]);
    assert.equal(grad(f, [1, 0])(a, b)[0]!.at(0), 6, 'gradients come in argnums order');
  });

  test('valueAndGrad returns the value too, detached unless something tracks the argument', () => {
    const [v, [g]] = valueAndGrad((t: Tensor) => t.square().sum())(f64([1, 2]));
    assert.equal(v.item(), 5);
    assert.equal(v.requiresGrad, false);
    assertClose(g!, [2, 4]);
    const x = f64([1, 2], true);
    const [v2, [g2]] = valueAndGrad((t: Tensor) => t.square().sum())(x);
    assert.equal(v2.requiresGrad, true, 'x is on the tape, so the value stays on it');
    assertClose(g2!, [2, 4]);
    assert.equal(x.grad, null, '.grad is left alone');
  });

  test('bad use is an error', () => {
    throwsStrata(() => grad(f, 2)(a, b), 'grad', 'argnum 2');
    throwsStrata(() => grad((t: Tensor) => t.mul(2))(a), 'grad', 'one-element', '[2]');
  });

  test('an input the function ignores gets zeros', () => {
    const [ga, gb] = grad((x: Tensor, _y: Tensor) => x.sum(), [0, 1])(a, b);
    assertClose(ga!, [1, 1], 0);
    assertClose(gb!, [0, 0], 0);
    const w = f64([1, 2], true);
    const unused = f64([5, 6, 7], true);
    const [gu] = gradients([w.sum()], [unused]);
    assert.deepEqual(gu!.shape, [3]);
    assertClose(gu!, [0, 0, 0], 0);
  });

  test('an ignored input holding infinities or NaN still gets zeros', () => {
    const w = f64([1, 2], true);
    const unused = f64([Infinity, Number.NaN, 1], true);
    assertClose(gradients([w.sum()], [unused])[0]!, [0, 0, 0], 0);
  });

  test('gradients with respect to an intermediate tensor', () => {
    const x = f64([1, 2], true);
    const h = x.mul(3);
    const [gh, gx] = gradients([h.square().sum()], [h, x]);
    assertClose(gh!, [6, 12]);
    assertClose(gx!, [18, 36]);
  });
});

describe('higher-order derivatives', () => {
  test("tanh'' = -2 tanh (1 - tanh^2) in float64", () => {
    const xs = [-2, -0.7, 0, 0.3, 1.5];
    const d2 = grad((x: Tensor) => grad((y: Tensor) => y.tanh().sum())(x)[0]!.sum());
    assertClose(
      d2(f64(xs))[0]!,
      xs.map((x) => -2 * Math.tanh(x) * (1 - Math.tanh(x) ** 2)),
      1e-14,
    );
    const d3 = grad((x: Tensor) => d2(x)[0]!.sum());
    // tanh''' = -2 (1 - t^2)(1 - 3 t^2)
    assertClose(
      d3(f64(xs))[0]!,
      xs.map((x) => -2 * (1 - Math.tanh(x) ** 2) * (1 - 3 * Math.tanh(x) ** 2)),
      1e-13,
    );
  });

  test('a Hessian-vector product in closed form: f = sum(x^3) + sum(x)^2, H v = 6 x v + 2 (1^T v) 1', () => {
    const x = f64([0.5, -1, 2, 3]);
    const v = f64([1, 2, -1, 0.5]);
    const f = (t: Tensor) => t.pow(3).sum().add(t.sum().square());
    const hvp = grad((t: Tensor) => grad(f)(t)[0]!.mul(v).sum())(x)[0]!;
    const sumV = 1 + 2 - 1 + 0.5;
    assertClose(
      hvp,
      [0.5, -1, 2, 3].map((xi, i) => 6 * xi * [1, 2, -1, 0.5][i]! + 2 * sumV),
    );
  });

  test('mixed partials through a closure: d/dy of d/dx (x y) is 1', () => {
    // The inner grad differentiates with respect to x only; y reaches it through the closure and is
    // tracked by the outer grad, so the inner backward pass must itself be recorded.
    const x0 = f64([3]);
    const y0 = f64([2]);
    const dxy = grad((y: Tensor) => grad((x: Tensor) => x.mul(y).sum())(x0)[0]!.sum())(y0)[0]!;
    assertClose(dxy, [1]);
  });

  test('mixed partials through argnums: d/dy of d/dx (x^2 y^3) = 6 x y^2', () => {
    const h = (x: Tensor, y: Tensor) => x.square().mul(y.pow(3)).sum();
    const dxdy = grad((x: Tensor, y: Tensor) => grad(h, 0)(x, y)[0]!.sum(), 1)(f64([2]), f64([3]))[0]!;
    assertClose(dxdy, [6 * 2 * 9]);
  });
});

describe('user-defined ops', () => {
  test('a straight-through estimator: round forward, identity backward', () => {
    const roundSte = customOp<void>({
      name: 'roundSte',
      forward: ([x]) => {
        const out = x!.clone();
        for (let i = 0; i < out.data.length; i++) out.data[i] = Math.round(out.data[i]!);
        return out;
      },
      vjp: (g) => [g],
    });
    const x = f64([0.2, 1.7, -2.6], true);
    const y = roundSte([x], undefined);
    assert.deepEqual(y.toArray(), [0, 2, -3]);
    assert.equal(y.gradFn!.name, 'roundSte');
    y.mul(f64([1, 2, 3]))
      .sum()
      .backward();
    assertClose(x.grad, [1, 2, 3], 0);
  });

  test('a cube with its own backward rule passes gradcheck to second order', () => {
    const cube = customOp<{ scale: number }>({
      name: 'scaledCube',
      forward: ([x], { scale }) => x!.mul(x!).mul(x!).mul(scale),
      vjp: (g, { inputs: [x], attrs }) => [g.mul(x!.square()).mul(3 * attrs.scale)],
    });
    const f = (x: Tensor) => cube([x], { scale: 0.5 });
    const x = f64([
      [0.3, -1.2, 2],
      [1, -0.4, 0.8],
    ]);
    gradcheck(f, [x]);
    gradgradcheck(f, [x]);
    assertClose(grad((t: Tensor) => f(t).sum())(f64([2]))[0]!, [6]);
  });

  test('a multi-input op gets each gradient, and null means no gradient', () => {
    const scaleBy = customOp<void>({
      name: 'scaleBy',
      forward: ([x, s]) => x!.mul(s!),
      vjp: (g, { inputs: [x, s] }) => [g.mul(s!), s!.requiresGrad ? g.mul(x!).sum() : null],
    });
    const x = f64([1, 2, 3], true);
    const s = f64([2], true);
    scaleBy([x, s], undefined).sum().backward();
    assertClose(x.grad, [2, 2, 2]);
    assertClose(s.grad, [6]);
  });
});

describe('the engine checks what a VJP returns', () => {
  const opWith = (vjp: (g: Tensor) => (Tensor | null)[]) =>
    customOp<void>({ name: 'badRule', forward: ([x, y]) => x!.add(y!), vjp });
  const x = () => f64([1, 2, 3], true);

  test('one gradient per input, naming the op', () => {
    const op = opWith((g) => [g]);
    assert.throws(
      () => op([x(), x()], undefined).sum().backward(),
      (e: unknown) =>
        e instanceof StrataError && /^badRule: its VJP returned 1 gradients for 2 inputs/.test(e.message),
    );
  });

  test("each gradient of its input's shape, or one the input broadcasts to", () => {
    const op = opWith((g) => [g, g.sum()]);
    op([x(), f64([2], true)], undefined)
      .sum()
      .backward(); // [3] sums down to [1]
    const wrong = opWith((g) => [g, g.reshape([3, 1])]);
    assert.throws(
      () => wrong([x(), x()], undefined).sum().backward(),
      (e: unknown) =>
        e instanceof StrataError &&
        /^badRule: its VJP returned a gradient of shape \[3, 1\] for input 1 of shape \[3\]/.test(e.message),
    );
  });

  test('an unregistered name is a type error for a built-in op', () => {
    // Never called: the point is that tsc refuses the name (the directive fails if it compiles).
    const unregistered = () =>
      // @ts-expect-error 'notAnOp' is not in OpRegistry
      defineOp({ name: 'notAnOp', forward: ([x]) => x!, vjp: (g) => [g] });
    assert.equal(typeof unregistered, 'function');
  });

  test('a built-in name can be defined only once', () => {
    assert.throws(
      () => defineOp({ name: 'exp', forward: ([x]) => x!, vjp: (g) => [g] }),
      (e: unknown) => e instanceof StrataError && /an op named 'exp' is already defined/.test(e.message),
    );
  });
});

describe('engine edge cases', () => {
  test('a deep chain of 5000 ops does not overflow the stack', () => {
    const x = f64([1], true);
    let y = x;
    for (let i = 0; i < 5000; i++) y = y.add(1);
    y.sum().backward();
    assertClose(x.grad, [1], 0);
    assert.equal(y.item(), 5001);
    const [g] = grad((t: Tensor) => {
      let u = t;
      for (let i = 0; i < 5000; i++) u = u.mul(1);
      return u.sum();
    })(f64([2]));
    assertClose(g!, [1], 0);
  });

  test('max splits its gradient evenly among ties, as PyTorch does', () => {
    const x = f64([1, 3, 3, 2], true);
    x.max().backward();
    assertClose(x.grad, [0, 0.5, 0.5, 0]);
    const a = f64([1, 2], true);
    const b = f64([1, 3], true);
    a.maximum(b).sum().backward();
    assertClose(a.grad, [0.5, 0]);
    assertClose(b.grad, [0.5, 1]);
  });

  test('gradients flow through views into the base leaf', () => {
    const x = tensor(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      { dtype: 'float64', requiresGrad: true },
    );
    x.transpose()
      .slice([[1, 3], 0])
      .mul(f64([10, 20]))
      .sum()
      .backward();
    assert.deepEqual(x.grad!.toArray(), [
      [0, 10, 20],
      [0, 0, 0],
    ]);
  });

  test('zeros and ones of integer dtype cannot require gradients, float ones can', () => {
    assert.equal(ones([2], { requiresGrad: true }).requiresGrad, true);
    throwsStrata(() => zeros([2], { dtype: 'int32' }).requiresGrad_(), 'int32');
  });

  test('backward() is also a function', () => {
    const x = f64([2], true);
    backward(x.square().sum());
    assertClose(x.grad, [4]);
  });
});

test('anomaly detection names the op whose forward or backward first made a NaN or an infinity', () => {
  // Forward: log of a negative number.
  assert.throws(
    () => detectAnomaly(() => tensor([1, -1], { dtype: 'float64' }).log().sum()),
    /^StrataError: log: the forward pass turned finite inputs \(\[2\]\) into a NaN or an infinity \(anomaly detection\)$/,
  );
  // Backward: sqrt's derivative at 0 is infinite; the division inside its rule is not blamed.
  const x = tensor([0, 4], { dtype: 'float64', requiresGrad: true });
  assert.throws(
    () => detectAnomaly(() => x.sqrt().sum().backward()),
    /^StrataError: sqrt: the backward pass turned finite inputs/,
  );
  // Off by default, and restored after: the same computations run through.
  assert.ok(!isAnomalyDetection());
  x.sqrt().sum().backward();
  assert.equal(x.grad!.at(0), Infinity);
});
