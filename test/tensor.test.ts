/**
 * Tensors: creation, random generation, dtype promotion, views and copies, broadcasting, reductions,
 * joining and indexing, conversion, printing, and the errors a user sees for bad input.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import {
  arange,
  bernoulli,
  concat,
  eye,
  full,
  Generator,
  linspace,
  manualSeed,
  maxPool2d,
  nn,
  oneHot,
  ones,
  rand,
  randint,
  randn,
  randperm,
  StrataError,
  scalar,
  softmax,
  stack,
  Tensor,
  tensor,
  where,
  zeros,
  zerosLike,
} from '../src/index.js';

const i32 = (values: number[], shape?: number[]) =>
  tensor(Int32Array.from(values), shape ? { shape } : undefined);
const f64 = (values: number[] | number[][]) => tensor(values, { dtype: 'float64' });

/** Asserts fn throws a StrataError whose message matches every pattern. */
function throwsStrata(fn: () => unknown, ...patterns: (RegExp | string)[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof StrataError, `expected a StrataError, got ${String(e)}`);
    for (const p of patterns) {
      if (typeof p === 'string') assert.ok(e.message.includes(p), `"${e.message}" does not contain "${p}"`);
      else assert.match(e.message, p);
    }
    return true;
  });
}

function assertAllClose(t: Tensor, expected: number[], tol = 1e-6): void {
  const got = Array.from(t.toTypedArray());
  assert.equal(got.length, expected.length, `got [${got}], expected [${expected}]`);
  got.forEach((v, i) => {
    assert.ok(
      v === expected[i] || Math.abs(v - expected[i]!) <= tol,
      `element ${i}: got ${v}, expected ${expected[i]} ([${got}])`,
    );
  });
}

function meanStd(values: ArrayLike<number>): [number, number] {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  const m = s / values.length;
  let v = 0;
  for (let i = 0; i < values.length; i++) v += (values[i]! - m) ** 2;
  return [m, Math.sqrt(v / (values.length - 1))];
}

describe('creation', () => {
  test('from nested arrays: float32 by default, row-major', () => {
    const t = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual(t.shape, [2, 3]);
    assert.equal(t.dtype, 'float32');
    assert.deepEqual(Array.from(t.data), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(t.strides, [3, 1]);
    assert.equal(tensor([1, 2], { dtype: 'float64' }).dtype, 'float64');
    assert.deepEqual(tensor([]).shape, [0]);
  });

  test('a number makes a 0-d tensor', () => {
    const t = tensor(2.5);
    assert.deepEqual(t.shape, []);
    assert.equal(t.size, 1);
    assert.equal(t.item(), 2.5);
  });

  test('from typed arrays: the array becomes the storage, its dtype followed', () => {
    const a = new Float64Array([1, 2, 3, 4, 5, 6]);
    const t = tensor(a, { shape: [2, 3] });
    assert.equal(t.data, a);
    assert.equal(t.dtype, 'float64');
    const ints = i32([3, 1, 2]);
    assert.equal(ints.dtype, 'int32');
    const converted = tensor(a, { dtype: 'float32' });
    assert.notEqual(converted.data, a);
    assert.equal(converted.dtype, 'float32');
    throwsStrata(() => tensor(a, { shape: [4, 2] }), 'tensor', '[4, 2]', '6');
  });

  test('ragged nested arrays are an error', () => {
    throwsStrata(() => tensor([[1, 2], [3]]), 'tensor', /ragged/);
    throwsStrata(() => tensor([1, [2]] as never), /ragged/);
    throwsStrata(() => tensor([[1, 2], 3] as never), /ragged/);
  });

  test('zeros, ones, full, eye', () => {
    assert.deepEqual(zeros([2, 2]).toArray(), [
      [0, 0],
      [0, 0],
    ]);
    assert.deepEqual(ones([3], { dtype: 'int32' }).toArray(), [1, 1, 1]);
    assert.equal(ones([3], { dtype: 'int32' }).dtype, 'int32');
    assert.deepEqual(full([2], 7).toArray(), [7, 7]);
    assert.deepEqual(eye(2, 3).toArray(), [
      [1, 0, 0],
      [0, 1, 0],
    ]);
    assert.deepEqual(eye(2).toArray(), [
      [1, 0],
      [0, 1],
    ]);
    throwsStrata(() => zeros([2, -1]), 'zeros', 'invalid shape');
    throwsStrata(() => zeros([2], { dtype: 'float16' as never }), /unknown dtype 'float16'/);
  });

  test('arange: int32 for integer arguments, float32 otherwise; negative steps', () => {
    const a = arange(5);
    assert.equal(a.dtype, 'int32');
    assert.deepEqual(a.toArray(), [0, 1, 2, 3, 4]);
    assert.deepEqual(arange(2, 8, 3).toArray(), [2, 5]);
    assert.deepEqual(arange(5, 0, -2).toArray(), [5, 3, 1]);
    const f = arange(0, 1, 0.25);
    assert.equal(f.dtype, 'float32');
    assert.deepEqual(f.toArray(), [0, 0.25, 0.5, 0.75]);
    assert.deepEqual(arange(3, 3).shape, [0]);
    throwsStrata(() => arange(0, 5, 0), 'arange', 'step');
  });

  test('linspace includes both ends', () => {
    assertAllClose(linspace(0, 1, 5), [0, 0.25, 0.5, 0.75, 1]);
    assert.deepEqual(linspace(3, 9, 1).toArray(), [3]);
    assert.deepEqual(linspace(0, 1, 0).shape, [0]);
    assertAllClose(linspace(2, -2, 3, { dtype: 'float64' }), [2, 0, -2], 0);
  });

  test('requiresGrad at creation marks a leaf', () => {
    const t = ones([2], { requiresGrad: true });
    assert.equal(t.requiresGrad, true);
    assert.equal(t.isLeaf, true);
  });
});

describe('random generation', () => {
  test('manualSeed makes the default generator repeat itself', () => {
    manualSeed(42);
    const a = [randn([5]), rand([5]), randint(0, 10, [5]), bernoulli([5], 0.5)].map((t) => t.toArray());
    manualSeed(42);
    const b = [randn([5]), rand([5]), randint(0, 10, [5]), bernoulli([5], 0.5)].map((t) => t.toArray());
    assert.deepEqual(a, b);
    manualSeed(43);
    assert.notDeepEqual(randn([5]).toArray(), a[0]);
  });

  test('a Generator is its own stream and leaves the default one alone', () => {
    manualSeed(1);
    const expected = randn([4]).toArray();
    manualSeed(1);
    const g1 = new Generator(7);
    const g2 = new Generator(7);
    const x = rand([6], { generator: g1 }).toArray();
    assert.deepEqual(rand([6], { generator: g2 }).toArray(), x);
    assert.deepEqual(randn([4]).toArray(), expected, 'the default generator did not move');
    assert.notDeepEqual(rand([6], { generator: new Generator(8) }).toArray(), x);
  });

  test('generator state round-trips, including a pending normal deviate', () => {
    const g = new Generator(3);
    randn([3], { generator: g }); // odd count: one Box-Muller value is left pending
    const state = g.getState();
    const next = randn([5], { generator: g }).toArray();
    const h = new Generator(0).setState(state);
    assert.deepEqual(randn([5], { generator: h }).toArray(), next);
    throwsStrata(() => new Generator().setState({ s: [1, 2], spare: null } as never), 'setState');
  });

  test('distributions: mean and spread of 1e5 draws', () => {
    const g = new Generator(11);
    const n = 100_000;
    const [m, s] = meanStd(randn([n], { generator: g, dtype: 'float64' }).data);
    assert.ok(Math.abs(m) < 0.015, `randn mean ${m}`);
    assert.ok(Math.abs(s - 1) < 0.015, `randn std ${s}`);
    const [m2, s2] = meanStd(randn([n], { generator: g, mean: 3, std: 0.5 }).data);
    assert.ok(Math.abs(m2 - 3) < 0.01 && Math.abs(s2 - 0.5) < 0.01, `randn(3, 0.5): ${m2}, ${s2}`);
    const u = rand([n], { generator: g, low: -1, high: 3 });
    const [mu, su] = meanStd(u.data);
    assert.ok(Math.abs(mu - 1) < 0.02, `rand mean ${mu}`);
    assert.ok(Math.abs(su - 4 / Math.sqrt(12)) < 0.02, `rand std ${su}`);
    assert.ok(
      u.data.every((v) => v >= -1 && v < 3),
      'rand stays in [low, high)',
    );
    const [mb] = meanStd(bernoulli([n], 0.3, { generator: g }).data);
    assert.ok(Math.abs(mb - 0.3) < 0.01, `bernoulli mean ${mb}`);
    const r = randint(-2, 3, [n], { generator: g });
    assert.equal(r.dtype, 'int32');
    const counts = new Map<number, number>();
    for (const v of r.data) counts.set(v, (counts.get(v) ?? 0) + 1);
    assert.deepEqual([...counts.keys()].sort(), [-1, -2, 0, 1, 2].sort());
    for (const c of counts.values()) assert.ok(Math.abs(c / n - 0.2) < 0.01, `randint frequency ${c / n}`);
  });

  test('randperm is a permutation; bad arguments are errors', () => {
    const p = randperm(50, { generator: new Generator(5) });
    assert.deepEqual(
      Array.from(p.data).sort((a, b) => a - b),
      Array.from({ length: 50 }, (_, i) => i),
    );
    throwsStrata(() => rand([2], { low: 2, high: 1 }), 'rand');
    throwsStrata(() => bernoulli([2], 1.5), 'bernoulli', '1.5');
    throwsStrata(() => randint(3, 3, [2]), 'randint');
    throwsStrata(() => randn([2], { dtype: 'int32' }), 'randn', 'int32');
  });
});

describe('dtype promotion', () => {
  const i = i32([1, 2]);
  const f = tensor([0.5, 0.25]);
  const d = f64([2, 4]);

  test('binary ops promote int32 < float32 < float64', () => {
    assert.equal(i.add(f).dtype, 'float32');
    assert.deepEqual(i.add(f).toArray(), [1.5, 2.25]);
    assert.equal(f.add(d).dtype, 'float64');
    assert.equal(d.mul(i).dtype, 'float64');
    assert.equal(i.add(i).dtype, 'int32');
    assert.equal(i.maximum(f).dtype, 'float32');
  });

  test('comparisons give int32 masks', () => {
    for (const m of [f.lt(d), i.eq(i), d.ge(0.3), f.ne(f)]) assert.equal(m.dtype, 'int32');
    assert.deepEqual(
      tensor([1, 2, 3])
        .gt(tensor([2, 2, 2]))
        .toArray(),
      [0, 0, 1],
    );
  });

  test('integer division is true division in float32', () => {
    const q = i32([1, 3]).div(i32([2, 4]));
    assert.equal(q.dtype, 'float32');
    assert.deepEqual(q.toArray(), [0.5, 0.75]);
  });

  test('numbers take the tensor dtype unless an int32 tensor meets a fraction', () => {
    assert.equal(i.add(2).dtype, 'int32');
    assert.equal(i.add(2.5).dtype, 'float32');
    assert.deepEqual(i.add(2.5).toArray(), [3.5, 4.5]);
    assert.equal(f.mul(3).dtype, 'float32');
    assert.equal(d.mul(3).dtype, 'float64');
  });

  test('real functions of integers compute in float32; neg and abs keep int32', () => {
    assert.equal(i.exp().dtype, 'float32');
    assert.equal(i.mean().dtype, 'float32');
    assert.equal(i.neg().dtype, 'int32');
    assert.equal(i.abs().dtype, 'int32');
  });

  test('cast converts, truncating toward zero into int32', () => {
    assert.deepEqual(tensor([1.7, -1.7, 2.5]).cast('int32').toArray(), [1, -1, 2]);
    const up = tensor([0.1]).cast('float64');
    assert.equal(up.dtype, 'float64');
    assert.equal(up.item(), Math.fround(0.1));
    assert.equal(i.cast('int32'), i, 'casting to the same dtype is free');
  });
});

describe('views and copies', () => {
  const base = () => arange(24).reshape([4, 6]);

  test('reshape, transpose, permute, slice, expand, squeeze and narrow share storage', () => {
    const x = base();
    const views = [
      x.reshape([2, 12]),
      x.transpose(),
      x.permute([1, 0]),
      x.slice([
        [1, 3],
        [undefined, undefined, 2],
      ]),
      x.narrow(1, 2, 3),
      x.reshape([4, 1, 6]).squeeze(1),
      x.unsqueeze(0),
      x.slice([null, [0, 1]]).expand([4, 5]),
      x.flatten(),
      ...x.split(2),
    ];
    for (const v of views) assert.equal(v.data, x.data);
    const s = x.slice([
      [1, 3],
      [undefined, undefined, 2],
    ]);
    assert.deepEqual(s.toArray(), [
      [6, 8, 10],
      [12, 14, 16],
    ]);
    assert.equal(s.offset, 6);
    assert.deepEqual(s.strides, [6, 2]);
    assert.deepEqual(x.slice([null, [0, 1]]).expand([4, 5]).strides, [6, 0]);
  });

  test('writing through a view changes the base', () => {
    const x = base().cast('float32');
    x.slice([1, [2, 4]]).copy_(tensor([-1, -2]));
    assert.deepEqual(x.slice([1]).toArray(), [6, 7, -1, -2, 10, 11]);
    x.transpose().slice([0]).copy_(tensor(100));
    assert.deepEqual(x.slice([null, 0]).toArray(), [100, 100, 100, 100]);
  });

  test('contiguous() copies only when needed', () => {
    const x = base();
    assert.equal(x.contiguous(), x);
    const t = x.transpose();
    assert.equal(t.isContiguous(), false);
    const c = t.contiguous();
    assert.notEqual(c.data, x.data);
    assert.equal(c.isContiguous(), true);
    assert.deepEqual(c.toArray(), t.toArray());
    assert.deepEqual(
      Array.from(c.data),
      [0, 6, 12, 18, 1, 7, 13, 19, 2, 8, 14, 20, 3, 9, 15, 21, 4, 10, 16, 22, 5, 11, 17, 23],
    );
    const clone = x.clone();
    assert.notEqual(clone.data, x.data);
    assert.deepEqual(clone.toArray(), x.toArray());
  });

  test('reshape of a non-contiguous tensor: a view when strides allow, else a copy', () => {
    const x = base();
    const t = x.transpose(); // [6, 4], strides [1, 6]
    const split = t.reshape([6, 2, 2]);
    assert.equal(split.data, x.data, 'splitting an axis of a transpose is a view');
    assert.deepEqual(split.strides, [1, 12, 6]);
    assert.deepEqual(split.toArray(), t.contiguous().reshape([6, 2, 2]).toArray());
    const merged = t.reshape([24]);
    assert.notEqual(merged.data, x.data, 'merging the axes of a transpose needs a copy');
    assert.deepEqual(merged.toArray(), Array.from(t.contiguous().data));

    const stepped = x.slice([null, [undefined, undefined, 2]]); // [4, 3], strides [6, 2]
    const rows = stepped.reshape([2, 2, 3]);
    assert.equal(rows.data, x.data);
    assert.deepEqual(rows.toArray(), stepped.contiguous().reshape([2, 2, 3]).toArray());
    // Rows 6 apart holding 3 elements 2 apart are evenly spaced after all: still a view.
    const flat = stepped.reshape([-1]);
    assert.equal(flat.data, x.data);
    assert.deepEqual(flat.strides, [2]);
    assert.deepEqual(flat.toArray(), [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22]);
    const cropped = x.slice([null, [0, 4]]); // [4, 4], strides [6, 1]: a gap after every row
    const cflat = cropped.reshape([16]);
    assert.notEqual(cflat.data, x.data);
    assert.deepEqual(cflat.toArray(), [0, 1, 2, 3, 6, 7, 8, 9, 12, 13, 14, 15, 18, 19, 20, 21]);
    assert.equal(cropped.reshape([2, 2, 4]).data, x.data, 'splitting the row axis keeps the view');

    const expanded = tensor([1, 2, 3]).reshape([3, 1]).expand([3, 4]);
    assert.deepEqual(expanded.reshape([3, 2, 2]).strides, [1, 0, 0]);
    assert.deepEqual(expanded.reshape([12]).toArray(), [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
  });

  test('toArray and toTypedArray follow strides; item reads one element', () => {
    const t = base()
      .transpose()
      .slice([[1, 3]]);
    assert.deepEqual(t.toArray(), [
      [1, 7, 13, 19],
      [2, 8, 14, 20],
    ]);
    assert.deepEqual(Array.from(t.toTypedArray()), [1, 7, 13, 19, 2, 8, 14, 20]);
    assert.equal(tensor(4).toArray(), 4);
    assert.equal(tensor([[9]]).item(), 9);
    assert.equal(base().slice([2, 3]).item(), 15);
    throwsStrata(() => tensor([1, 2]).item(), 'item', '[2]');
    assert.equal(base().at(3, -1), 23);
    throwsStrata(() => base().at(4, 0), 'at', 'out of range');
  });
});

describe('broadcasting', () => {
  test('results follow NumPy rules', () => {
    const col = tensor([[1], [2], [3]]);
    const row = tensor([[10, 20, 30, 40]]);
    assert.deepEqual(col.add(row).toArray(), [
      [11, 21, 31, 41],
      [12, 22, 32, 42],
      [13, 23, 33, 43],
    ]);
    assert.deepEqual(
      (
        zeros([3, 4])
          .add(tensor([1, 2, 3, 4]))
          .toArray() as number[][]
      )[2],
      [1, 2, 3, 4],
    );
    assert.deepEqual(
      tensor(2)
        .mul(tensor([1, 2]))
        .toArray(),
      [2, 4],
    );
    assert.deepEqual(ones([2, 1, 4]).add(ones([3, 1])).shape, [2, 3, 4]);
    assert.deepEqual(where(tensor([1, 0]).gt(0), tensor([[1], [2]]), tensor(-1)).toArray(), [
      [1, -1],
      [2, -1],
    ]);
  });

  test('shapes that do not broadcast name the op and both shapes', () => {
    throwsStrata(() => zeros([3, 4]).add(zeros([5])), 'add', '[3, 4]', '[5]');
    throwsStrata(() => zeros([2, 3]).mul(zeros([3, 2])), 'mul', '[2, 3]', '[3, 2]');
    throwsStrata(() => zeros([2, 3]).maximum(zeros([4, 3])), 'maximum', '[2, 3]', '[4, 3]');
    throwsStrata(() => zeros([2, 3]).lt(zeros([2])), 'lt', '[2, 3]', '[2]');
    throwsStrata(() => where(zeros([2, 3]), zeros([4]), 1), 'where', '[2, 3]', '[4]');
    throwsStrata(() => zeros([3]).expand([2, 4]), 'expand', '[3]', '[2, 4]');
  });
});

describe('reductions', () => {
  const x = tensor([
    [1, 5, 3],
    [4, 2, 6],
  ]);

  test('sum and mean over axes, with keepDims and negative axes', () => {
    assert.equal(x.sum().item(), 21);
    assert.deepEqual(x.sum(0).toArray(), [5, 7, 9]);
    assert.deepEqual(x.sum(-1, true).toArray(), [[9], [12]]);
    assert.deepEqual(x.sum(-1, true).shape, [2, 1]);
    assert.deepEqual(x.sum([0, 1], true).shape, [1, 1]);
    assert.deepEqual(x.mean(-2).toArray(), [2.5, 3.5, 4.5]);
    assert.deepEqual(arange(24).reshape([2, 3, 4]).sum([0, -1]).toArray(), [60, 92, 124]);
    assert.equal(zeros([0]).sum().item(), 0);
    throwsStrata(() => x.sum([1, -1]), 'sum', 'repeated axis');
  });

  test('max, min, argmax, argmin', () => {
    assert.equal(x.max().item(), 6);
    assert.deepEqual(x.max(1).toArray(), [5, 6]);
    assert.deepEqual(x.min(0, true).toArray(), [[1, 2, 3]]);
    assert.deepEqual(x.argmax(1).toArray(), [1, 2]);
    assert.deepEqual(x.argmin(0).toArray(), [0, 1, 0]);
    assert.deepEqual(x.argmax(-1, true).shape, [2, 1]);
    assert.equal(x.argmax().item(), 5, 'without an axis: the index in the flattened tensor');
    assert.equal(x.argmax().dtype, 'int32');
    assert.deepEqual(tensor([3, 1, 3, 1]).argmax().item(), 0, 'ties: the first');
    assert.deepEqual(tensor([3, 1, 3, 1]).argmin().item(), 1);
    throwsStrata(() => zeros([0, 2]).max(0), 'max', 'empty');
  });

  test('var and std against hand values (Bessel-corrected by default)', () => {
    const v = f64([1, 2, 3, 4]);
    assert.ok(Math.abs(v.var().item() - 5 / 3) < 1e-15);
    assert.ok(Math.abs(v.var(undefined, { correction: 0 }).item() - 1.25) < 1e-15);
    assert.ok(Math.abs(v.std().item() - Math.sqrt(5 / 3)) < 1e-15);
    const m = f64([
      [1, 2],
      [3, 5],
    ]);
    assertAllClose(m.var(1), [0.5, 2], 1e-15);
    assertAllClose(m.var(0, { keepDims: true }), [2, 4.5], 1e-15);
    assert.deepEqual(m.var(0, { keepDims: true }).shape, [1, 2]);
    assertAllClose(m.std(-1, { correction: 0 }), [0.5, 1], 1e-15);
  });

  test('logsumexp and softmax against hand values, stable for large inputs', () => {
    const l = f64([
      [1, 2],
      [1000, 1000],
    ]);
    assertAllClose(l.logsumexp(1), [Math.log(Math.exp(1) + Math.exp(2)), 1000 + Math.log(2)], 1e-12);
    assertAllClose(l.softmax(-1), [1 / (1 + Math.E), Math.E / (1 + Math.E), 0.5, 0.5], 1e-12);
    assertAllClose(f64([-Infinity, -Infinity]).logsumexp(), [-Infinity], 0);
  });
});

describe('joining, splitting and indexing', () => {
  const a = tensor([
    [1, 2],
    [3, 4],
  ]);
  const b = tensor([[5, 6]]);

  test('concat and stack', () => {
    assert.deepEqual(concat([a, b]).toArray(), [
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    assert.deepEqual(concat([a, a.mul(10)], -1).toArray(), [
      [1, 2, 10, 20],
      [3, 4, 30, 40],
    ]);
    assert.deepEqual(stack([a, a.neg()], 1).toArray(), [
      [
        [1, 2],
        [-1, -2],
      ],
      [
        [3, 4],
        [-3, -4],
      ],
    ]);
    assert.deepEqual(stack([tensor(1), tensor(2)]).toArray(), [1, 2]);
    throwsStrata(() => concat([a, b], 1), 'concat', '[2, 2]', '[1, 2]');
    throwsStrata(() => concat([a, a.cast('float64')]), 'concat', 'dtypes');
    throwsStrata(() => stack([a, b]), 'stack', '[2, 2]', '[1, 2]');
  });

  test('split into sizes and into equal pieces', () => {
    const x = arange(7);
    assert.deepEqual(
      x.split(3).map((p) => p.toArray()),
      [[0, 1, 2], [3, 4, 5], [6]],
    );
    assert.deepEqual(
      x.split([2, 5]).map((p) => p.toArray()),
      [
        [0, 1],
        [2, 3, 4, 5, 6],
      ],
    );
    throwsStrata(() => x.split([2, 2]), 'split', '7');
  });

  test('pad with a value, slice and narrow', () => {
    assert.deepEqual(
      tensor([[1, 2]])
        .pad([[1, 2]], -1)
        .toArray(),
      [[-1, 1, 2, -1, -1]],
    );
    assert.deepEqual(
      tensor([[1]])
        .pad([
          [1, 0],
          [0, 1],
        ])
        .toArray(),
      [
        [0, 0],
        [1, 0],
      ],
    );
    const x = arange(10);
    assert.deepEqual(x.slice([[-3]]).toArray(), [7, 8, 9]);
    assert.deepEqual(x.slice([[1, -1, 3]]).toArray(), [1, 4, 7]);
    assert.deepEqual(x.slice([[8, 2]]).toArray(), []);
    assert.deepEqual(x.slice([-2]).shape, []);
    assert.deepEqual(x.narrow(0, 2, 3).toArray(), [2, 3, 4]);
    throwsStrata(() => x.slice([10]), 'slice', 'index 10', 'size 10');
    throwsStrata(() => x.slice([[0, 5, 0]]), 'slice', 'step');
    throwsStrata(() => x.narrow(0, 8, 3), 'narrow');
  });

  test('gather, scatterAdd, indexSelect, oneHot', () => {
    const x = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual(x.gather(1, i32([2, 0, 1, 1], [2, 2])).toArray(), [
      [3, 1],
      [5, 5],
    ]);
    assert.deepEqual(x.gather(0, i32([1, 0, 1], [1, 3])).toArray(), [[4, 2, 6]]);
    assert.deepEqual(
      zeros([2, 3])
        .scatterAdd(
          1,
          i32([0, 0, 2, 1], [2, 2]),
          tensor([
            [1, 2],
            [3, 4],
          ]),
        )
        .toArray(),
      [
        [3, 0, 0],
        [0, 4, 3],
      ],
    );
    assert.deepEqual(
      ones([3])
        .scatterAdd(0, i32([2, 2]), tensor([5, 6]))
        .toArray(),
      [1, 1, 12],
    );
    assert.deepEqual(x.indexSelect(1, i32([2, 2, 0])).toArray(), [
      [3, 3, 1],
      [6, 6, 4],
    ]);
    assert.deepEqual(x.indexSelect(0, i32([1])).toArray(), [[4, 5, 6]]);
    const h = oneHot(i32([2, 0, 1], [3]), 3);
    assert.equal(h.dtype, 'float32');
    assert.deepEqual(h.toArray(), [
      [0, 0, 1],
      [1, 0, 0],
      [0, 1, 0],
    ]);
    throwsStrata(() => oneHot(i32([3]), 3), 'oneHot', '3');
  });
});

describe('printing', () => {
  test('like PyTorch: one format for the whole tensor, aligned entries', () => {
    assert.equal(
      String(
        tensor([
          [1, 2],
          [3, 4],
        ]),
      ),
      'tensor([[1., 2.],\n        [3., 4.]])',
    );
    assert.equal(
      String(tensor([1.5, -2, 3], { dtype: 'float64' })),
      'tensor([ 1.5000, -2.0000,  3.0000], dtype=float64)',
    );
    assert.equal(String(arange(3)), 'tensor([0, 1, 2], dtype=int32)');
    assert.equal(String(tensor(3.5)), 'tensor(3.5000)');
    assert.equal(String(tensor([Number.NaN, Infinity, -Infinity])), 'tensor([nan, inf, -inf])');
    assert.equal(String(ones([2], { requiresGrad: true })), 'tensor([1., 1.], requiresGrad=true)');
    assert.match(String(ones([2], { requiresGrad: true }).mul(2)), /gradFn=<mul>/);
    assert.equal(
      String(arange(8).reshape([2, 2, 2])),
      'tensor([[[0, 1],\n         [2, 3]],\n\n        [[4, 5],\n         [6, 7]]], dtype=int32)',
    );
    assert.equal(String(tensor([[5]]).transpose()), 'tensor([[5.]])');
    assert.equal(String(zeros([0])), 'tensor([])');
    assert.equal(String(zeros([0, 5])), 'tensor([], shape=[0, 5])');
  });

  // Cases printed by PyTorch 1.13 with its default options (scripts/fixtures/printing.py). Strata
  // writes dtypes without torch.'s prefix, so the dtype suffix is compared apart.
  test('the text PyTorch prints, for small, wrapped, scientific and summarised tensors', () => {
    const fixtures = JSON.parse(readFileSync(new URL('fixtures/printing.json', import.meta.url), 'utf8')) as {
      cases: {
        name: string;
        shape: number[];
        dtype: 'float32' | 'float64' | 'int32';
        text: string;
        values?: (number | string)[];
        rule?: { a: number; m: number; c: number; div: number };
      }[];
    };
    const arrays = { float32: Float32Array, float64: Float64Array, int32: Int32Array } as const;
    const number = (v: number | string) =>
      typeof v === 'number' ? v : v === 'nan' ? Number.NaN : v === 'inf' ? Infinity : -Infinity;
    const dtypeSuffix = /,\s*dtype=(torch\.)?\w+\)$/;
    for (const c of fixtures.cases) {
      const n = c.shape.reduce((a, b) => a * b, 1);
      const { a, m, c: shift, div } = c.rule ?? { a: 0, m: 1, c: 0, div: 1 };
      const values = c.values
        ? c.values.map(number)
        : Array.from({ length: n }, (_, i) => (((i * a) % m) - shift) / div);
      const got = String(new Tensor(arrays[c.dtype].from(values), c.shape));
      assert.equal(got.replace(dtypeSuffix, ')'), c.text.replace(dtypeSuffix, ')'), c.name);
      assert.equal(dtypeSuffix.test(got), c.dtype !== 'float32', `${c.name}: dtype suffix`);
    }
  });

  test('a suffix that would pass 80 columns goes on its own line, as in PyTorch', () => {
    const s = String(arange(40).mul(100).sub(2000));
    assert.ok(s.endsWith('  1700,  1800,  1900],\n       dtype=int32)'), s);
  });

  test('large tensors print summarised, reading only what is shown', () => {
    const s = String(arange(2000).cast('float32'));
    // Magnitudes 1 to 1999 span more than 1000×: scientific, as PyTorch prints torch.arange(2000.).
    assert.equal(
      s,
      'tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n        1.9990e+03])',
    );
    const m = String(zeros([100, 100]));
    const lines = m.split('\n');
    assert.equal(lines.length, 7, 'three rows, an ellipsis row, three rows');
    assert.equal(lines[3]!.trim(), '...,');
    assert.ok(lines[0]!.includes(' ..., '));
    // These overflowed the stack (a spread of every element into Math.max).
    const big = String(randn([512, 784], { generator: new Generator(0) }));
    assert.equal(big.split('\n').length, 7);
    assert.ok(big.length < 600, `${big.length} characters`);
    assert.equal(String(zeros([3_000_000])), 'tensor([0., 0., 0.,  ..., 0., 0., 0.])');
  });

  test("console.log of a tensor and of the README model's state dict is bounded and readable", () => {
    const model = new nn.Sequential(new nn.Linear(784, 512), new nn.ReLU(), new nn.Linear(512, 10));
    const text = inspect(model.stateDict());
    // Up to 1000 elements print whole, as in PyTorch (the 512 biases); larger tensors are summarised.
    assert.ok(text.length < 12_000, `${text.length} characters`);
    assert.match(text, /^\{\n {2}'0\.weight': tensor\(\[\[/);
    assert.match(text, /'2\.bias': tensor\(\[[^\]]+\], requiresGrad=true\)\n\}$/);
    const t = tensor([[1.5, 2]]);
    assert.equal(inspect(t), 'tensor([[1.5000, 2.0000]])');
    assert.equal(inspect({ w: t }), '{ w: tensor([[1.5000, 2.0000]]) }');
  });
});

describe('the API refuses bad input where it enters', () => {
  test('tensor() says what it takes', () => {
    throwsStrata(
      () => tensor('abc' as never),
      'tensor: expected a number, a nested array of numbers or a typed array, got "abc"',
    );
    throwsStrata(() => tensor([1, 'a'] as never), 'tensor: expected numbers, got "a" at [1]');
    throwsStrata(
      () => tensor([[1, 2], [3]]),
      'expected an array of 2 entries at [1], got an array of length 1',
    );
    throwsStrata(() => tensor(new Uint8Array(3) as never), 'tensor', 'Uint8Array', 'Float32Array.from');
    throwsStrata(() => tensor([1], { dtpye: 'float64' } as never), 'tensor', 'unknown option dtpye');
  });

  test('new Tensor checks its shape, strides and offset against the storage', () => {
    throwsStrata(
      () => new Tensor(new Float32Array(4), [1000]),
      'new Tensor: shape [1000] with strides [1] and offset 0 reaches elements 0 to 999, but the storage holds 4',
    );
    throwsStrata(() => new Tensor(new Float32Array(4), [2, -2]), 'new Tensor', 'non-negative integers');
    throwsStrata(() => new Tensor(new Float32Array(4), [1.5]), 'new Tensor', 'non-negative integers');
    throwsStrata(
      () => new Tensor(new Float32Array(4), 4 as never),
      'new Tensor',
      'expected a shape',
      'got 4',
    );
    throwsStrata(() => new Tensor(new Float32Array(4), [2], [1.5]), 'new Tensor', 'integer strides');
    throwsStrata(() => new Tensor(new Float32Array(4), [2, 2], [2]), 'new Tensor', '2 integer strides');
    throwsStrata(() => new Tensor(new Float32Array(4), [2], [1], 3), 'elements 3 to 4');
    throwsStrata(
      () => new Tensor(new Float32Array(4), [2], [1], -1),
      'offset must be a non-negative integer',
    );
    throwsStrata(() => new Tensor([1, 2] as never, [2]), 'new Tensor', 'as storage', 'use tensor(...)');
    // Within the storage: broadcast (stride 0), reversed and empty views are fine.
    assert.deepEqual(new Tensor(new Float32Array([7]), [3], [0]).toArray(), [7, 7, 7]);
    assert.deepEqual(new Tensor(new Float32Array([1, 2, 3]), [3], [-1], 2).toArray(), [3, 2, 1]);
    assert.equal(new Tensor(new Float32Array(0), [0, 5]).size, 0);
  });

  test('ops given a JavaScript array say to wrap it with tensor()', () => {
    const x = zeros([2]);
    throwsStrata(
      () => x.add([1, 2] as never),
      'add: expected a Tensor or a number, got an array of length 2; wrap it with tensor(…)',
    );
    throwsStrata(
      () => x.matmul([[1]] as never),
      'matmul: expected a Tensor, got an array of length 1; wrap it with tensor(…)',
    );
    throwsStrata(() => x.mul('2' as never), 'mul', 'got "2"');
    throwsStrata(() => where([1, 0] as never, x, 0), 'where', 'condition Tensor', 'wrap it with tensor(…)');
    throwsStrata(() => x.gather(0, [0] as never), 'gather', 'int32 index Tensor', 'wrap it');
    throwsStrata(() => concat([x, [1, 2] as never]), 'concat', 'wrap it');
    throwsStrata(() => x.exp.call([1, 2] as never), 'exp', 'wrap it');
    throwsStrata(() => stack([x, [1, 2] as never]), 'stack', 'wrap it');
    throwsStrata(() => x.copy_([1, 2] as never), 'copy_: expected a source Tensor', 'wrap it');
    throwsStrata(() => x.scatterAdd(0, tensor(new Int32Array([0])), [1] as never), 'scatterAdd', 'wrap it');
    throwsStrata(() => softmax([1, 2] as never), 'softmax', 'wrap it');
    throwsStrata(() => maxPool2d([[[[1]]]] as never, 1), 'maxPool2d', 'wrap it');
  });

  test('creation functions check their shapes, values and options', () => {
    throwsStrata(
      () => zeros(3 as never),
      'zeros: expected a shape (an array of sizes, such as [2, 3]), got 3',
    );
    throwsStrata(() => ones([2, 'a'] as never), 'ones', 'invalid shape [2, "a"]');
    throwsStrata(
      () => randn([2], { seed: 1 } as never),
      'randn: unknown option seed; accepted: dtype, requiresGrad, generator, mean, std',
    );
    throwsStrata(() => rand([2], { mean: 1 } as never), 'rand', 'unknown option mean');
    throwsStrata(() => full([2], 'x' as never), 'full: value must be a number, got "x"');
    throwsStrata(() => zeros([2], { dtype: 'float16' as never }), 'unknown dtype');
    throwsStrata(() => arange(0, 5, 1, 'float32' as never), 'arange', 'expected an options object');
    throwsStrata(() => arange('5' as never), 'arange: start must be a number');
    throwsStrata(() => linspace(0, 1, 2.5), 'linspace: n must be a non-negative integer, got 2.5');
    throwsStrata(() => eye(-1), 'eye: n must be a non-negative integer');
    throwsStrata(() => randint(5, 2, [3]), 'randint: expected integers low < high, got 5 and 2');
    throwsStrata(() => randperm(3, { seed: 2 } as never), 'randperm', 'unknown option seed');
    throwsStrata(() => bernoulli([2], 0.5, { p: 1 } as never), 'bernoulli', 'unknown option p');
    throwsStrata(() => zerosLike([1, 2] as never), 'zerosLike: expected a Tensor, got an array of length 2');
    throwsStrata(() => scalar('1' as never), 'scalar: value must be a number, got "1"');
    throwsStrata(() => scalar(1, 'int64' as never), 'scalar', "unknown dtype 'int64'");
  });
});

describe('errors name the op, what was expected and what came', () => {
  test('matmul with mismatched inner dimensions', () => {
    throwsStrata(
      () => zeros([32, 784]).matmul(zeros([512, 256])),
      'matmul: inner dimensions differ: a is [32, 784], b is [512, 256]',
    );
    throwsStrata(() => zeros([2, 3, 4]).matmul(zeros([5])), 'matmul', '[2, 3, 4]', '[5]');
    throwsStrata(() => zeros([2, 3, 4]).matmul(zeros([3, 4, 2])), 'matmul', '[2]', '[3]');
    throwsStrata(() => tensor(1).matmul(zeros([2])), 'matmul', '[]');
  });

  test('wrong dtypes', () => {
    throwsStrata(() => zeros([3, 4]).gather(1, zeros([3, 1])), 'gather', 'int32', 'float32');
    throwsStrata(() => zeros([3]).scatterAdd(0, zeros([3]), zeros([3])), 'scatterAdd', 'int32');
    throwsStrata(() => zeros([3]).indexSelect(0, tensor([0.5])), 'indexSelect', 'int32');
    throwsStrata(() => arange(3).requiresGrad_(), 'requiresGrad_', 'int32');
    throwsStrata(() => zeros([2], { dtype: 'int32', requiresGrad: true }), 'int32');
  });

  test('reshape to the wrong size', () => {
    throwsStrata(() => zeros([3, 4]).reshape([5, 2]), 'reshape', '[3, 4]', '[5, 2]', '12', '10');
    throwsStrata(() => zeros([3, 4]).reshape([-1, 5]), 'reshape', '-1');
    throwsStrata(() => zeros([3, 4]).reshape([-1, -1]), 'reshape');
  });

  test('out-of-range axes', () => {
    throwsStrata(() => zeros([3, 4]).sum(2), 'sum: axis 2 is out of range for a tensor of rank 2');
    throwsStrata(() => zeros([3, 4]).max(-3), 'max', 'axis -3');
    throwsStrata(() => zeros([3, 4]).transpose(0, 2), 'transpose', 'axis 2');
    throwsStrata(() => zeros([3, 4]).softmax(5), 'axis 5');
    throwsStrata(() => zeros([3, 4]).argmax(2), 'argmax', 'axis 2');
    throwsStrata(() => zeros([3, 4]).squeeze(0), 'squeeze', 'axis 0', '[3, 4]');
    throwsStrata(() => zeros([3, 4]).permute([0, 0]), 'permute');
    throwsStrata(() => concat([zeros([2])], 1), 'concat', 'axis 1');
  });

  test('out-of-range indices', () => {
    throwsStrata(
      () => zeros([3, 4]).gather(1, i32([0, 4, 1], [3, 1])),
      'gather: index 4 is out of range for axis 1 of size 4',
    );
    throwsStrata(() => zeros([3, 4]).gather(0, i32([-1], [1, 1])), 'gather', 'index -1');
    throwsStrata(() => zeros([3]).scatterAdd(0, i32([3]), ones([1])), 'scatterAdd', 'index 3');
    throwsStrata(() => zeros([3, 4]).gather(1, i32([0, 0], [1, 2, 1])), 'gather', '[1, 2, 1]', '[3, 4]');
  });
});

test('copy_ from a view of the same storage reads the old values (overlap), on every backend alike', () => {
  // 100 elements: large enough for the native backend's own kernel, not its js fallback for tiny ops.
  const x = arange(100, undefined, 1, { dtype: 'float32' });
  x.slice([[1, 100]]).copy_(x.slice([[0, 99]]));
  assert.deepEqual([...x.toTypedArray()], [0, ...Array.from({ length: 99 }, (_, i) => i)]);
});
