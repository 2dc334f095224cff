/**
 * The conveniences a PyTorch user types without thinking: numel(), dim(), ndim, tolist(), .T, .mT,
 * view (with -1, refusing layouts that need a copy) and unflatten. Views and reshapes are checked
 * against PyTorch on strided layouts (test/fixtures/views.json, written by scripts/fixtures/views.py).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { arange, StrataError, type Tensor, tensor, unflatten, view, zeros } from '../src/index.js';

type Step =
  | ['reshape', number[]]
  | ['transpose', number, number]
  | ['slice', number, number, number, number]
  | ['expand', number[]];

interface ViewCase {
  source: string;
  steps: Step[];
  shape: number[];
  strides: number[];
  offset: number;
  target: number[];
  reshaped: number[];
  ok: boolean;
  viewShape?: number[];
  viewStrides?: number[];
  viewOffset?: number;
  viewValues?: number[];
}

const fixtures = JSON.parse(readFileSync(new URL('./fixtures/views.json', import.meta.url), 'utf8')) as {
  views: ViewCase[];
  unflatten: { shape: number[]; axis: number; sizes: number[]; outShape: number[]; values: number[] }[];
  transposes: {
    shape: number[];
    T?: number[];
    TShape?: number[];
    mT?: number[];
    mTShape?: number[];
    mTStrides?: number[];
  }[];
};

/** Replays the fixture's steps on arange(24) in float64. */
function build(steps: Step[]): Tensor {
  let x = arange(24).cast('float64');
  for (const step of steps) {
    if (step[0] === 'reshape') x = x.reshape(step[1]);
    else if (step[0] === 'transpose') x = x.transpose(step[1], step[2]);
    else if (step[0] === 'expand') x = x.expand(step[1]);
    else {
      const [, axis, start, stop, by] = step;
      x = x.slice([...Array<null>(axis).fill(null), [start, stop, by]]);
    }
  }
  return x;
}

const values = (t: Tensor) => Array.from(t.toTypedArray());

/** Strides where they matter: a size-1 axis may have any stride. */
const strideOf = (shape: readonly number[], strides: readonly number[]) =>
  strides.map((s, i) => (shape[i] === 1 ? null : s));

function throwsStrata(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof StrataError, `expected a StrataError, got ${String(e)}`);
    for (const p of parts) assert.ok(e.message.includes(p), `"${e.message}" does not contain "${p}"`);
    return true;
  });
}

describe('PyTorch names for sizes and values', () => {
  test('numel(), dim(), ndim and tolist()', () => {
    const x = zeros([2, 3, 4]);
    assert.equal(x.numel(), 24);
    assert.equal(x.dim(), 3);
    assert.equal(x.ndim, 3);
    assert.equal(zeros([]).numel(), 1);
    assert.equal(zeros([]).dim(), 0);
    assert.equal(zeros([0, 5]).numel(), 0);
    assert.deepEqual(
      tensor([
        [1, 2],
        [3, 4],
      ]).T.tolist(),
      [
        [1, 3],
        [2, 4],
      ],
    );
    assert.equal(tensor(7).tolist(), 7);
    assert.equal(tensor([[2.5]]).item(), 2.5);
  });
});

describe('view against PyTorch', () => {
  for (const c of fixtures.views) {
    test(`${c.source} ${JSON.stringify(c.target)}: ${c.ok ? 'a view' : 'refused, reshape copies'}`, () => {
      const x = build(c.steps);
      assert.deepEqual(x.shape, c.shape);
      assert.deepEqual(strideOf(x.shape, x.strides), strideOf(c.shape, c.strides));
      assert.equal(x.offset, c.offset);
      assert.deepEqual(values(x.reshape(c.target)), c.reshaped);
      if (c.ok) {
        for (const v of [x.view(c.target), x.view(...c.target), view(x, c.target)]) {
          assert.equal(v.data, x.data, 'a view shares storage');
          assert.deepEqual(v.shape, c.viewShape);
          assert.deepEqual(strideOf(v.shape, v.strides), strideOf(c.viewShape!, c.viewStrides!));
          assert.equal(v.offset, c.viewOffset);
          assert.deepEqual(values(v), c.viewValues);
        }
      } else {
        throwsStrata(() => x.view(c.target), 'view:', `[${c.shape.join(', ')}]`, 'use reshape()');
        assert.notEqual(x.reshape(c.target).data, x.data, 'reshape copies where view cannot');
      }
    });
  }

  test('view infers -1 and refuses a wrong size or a second -1, naming view', () => {
    assert.deepEqual(arange(12).view(-1, 4).shape, [3, 4]);
    assert.deepEqual(arange(12).view([2, -1, 2]).shape, [2, 3, 2]);
    throwsStrata(() => arange(12).view(5, -1), 'view:', 'cannot infer -1');
    throwsStrata(() => arange(12).view(-1, -1), 'view:', 'at most one -1');
    throwsStrata(() => arange(12).view(5), 'view:', '12 elements');
    throwsStrata(() => arange(12).view(), 'view:', 'got nothing');
    throwsStrata(() => arange(12).view([3] as unknown as number, 4), 'view:', 'as one array or as sizes');
    throwsStrata(() => view(arange(12), 12 as never), 'view:', 'expected a shape');
  });

  test('reshape takes sizes as PyTorch does', () => {
    assert.deepEqual(arange(12).reshape(-1, 6).shape, [2, 6]);
    assert.deepEqual(arange(12).reshape(12).shape, [12]);
  });

  test('gradients flow through view', () => {
    const x = arange(6).cast('float64').requiresGrad_();
    x.view(2, 3)
      .T.mul(tensor([1, 2], { dtype: 'float64' }))
      .sum()
      .backward();
    assert.deepEqual(x.grad?.tolist(), [1, 1, 1, 2, 2, 2]);
  });
});

describe('unflatten against PyTorch', () => {
  for (const c of fixtures.unflatten) {
    test(`[${c.shape}] axis ${c.axis} into [${c.sizes}]`, () => {
      const x = arange(24).cast('float64').reshape(c.shape);
      const y = x.unflatten(c.axis, c.sizes);
      assert.deepEqual(y.shape, c.outShape);
      assert.deepEqual(values(y), c.values);
      assert.equal(y.data, x.data);
      assert.deepEqual(unflatten(x, c.axis, c.sizes).shape, c.outShape);
    });
  }

  test('unflatten refuses sizes that do not split the axis', () => {
    const x = zeros([2, 12]);
    throwsStrata(() => x.unflatten(1, [5, -1]), 'unflatten:', 'axis 1', 'size 12');
    throwsStrata(() => x.unflatten(1, [3, 3]), 'unflatten:', 'product must be 12');
    throwsStrata(() => x.unflatten(1, [-1, -1]), 'unflatten:', 'at most one -1');
    throwsStrata(() => x.unflatten(1, []), 'unflatten:', 'non-empty');
    throwsStrata(() => x.unflatten(2, [3, 4]), 'unflatten:', 'out of range');
  });
});

describe('.T and .mT against PyTorch', () => {
  for (const c of fixtures.transposes) {
    test(`shape [${c.shape}]`, () => {
      const x = arange(24).cast('float64').reshape(c.shape);
      if (c.T) {
        assert.deepEqual(x.T.shape, c.TShape);
        assert.deepEqual(values(x.T), c.T);
      } else throwsStrata(() => x.T, 'T:', 'use x.mT');
      if (c.mT) {
        assert.deepEqual(x.mT.shape, c.mTShape);
        assert.deepEqual(x.mT.strides, c.mTStrides);
        assert.deepEqual(values(x.mT), c.mT);
        assert.equal(x.mT.data, x.data);
      } else throwsStrata(() => x.mT, 'mT:', 'at least 2 axes');
    });
  }
});
