/**
 * The conveniences a PyTorch user types without thinking: numel(), dim(), ndim, tolist(), .T, .mT,
 * view (with -1, refusing layouts that need a copy) and unflatten, forward hooks and Module.summary().
 * Views and reshapes are checked against PyTorch on strided layouts (test/fixtures/views.json, written
 * by scripts/fixtures/views.py), summaries against PyTorch's forward hooks on the same models
 * (test/fixtures/summary.json, written by scripts/fixtures/summary.py).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  arange,
  nn,
  noGrad,
  randn,
  StrataError,
  type Tensor,
  tensor,
  unflatten,
  view,
  zeros,
} from '../src/index.js';
import { lenet } from '../src/models/lenet.js';

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

describe('forward hooks, as PyTorch', () => {
  const input = () => tensor([[1, -2, 3]]);

  test('a forward hook sees the module, the inputs and the output, and may replace the output', () => {
    const layer = new nn.Linear(3, 2);
    const seen: [unknown, number[], number[]][] = [];
    const handle = layer.registerForwardHook((m, [x], y) => {
      seen.push([m, [...x.shape], [...y.shape]]);
    });
    const y = layer.forward(input());
    assert.deepEqual(seen, [[layer, [1, 3], [1, 2]]]);
    const doubled = layer.registerForwardHook((_m, _inputs, out) => out.mul(2));
    assert.deepEqual(values(layer.forward(input())), values(y.mul(2)));
    handle.remove();
    doubled.remove();
    doubled.remove(); // a second remove does nothing
    assert.deepEqual(values(layer.forward(input())), values(y));
    assert.equal(seen.length, 2, 'a removed hook no longer runs');
    assert.equal(layer.hasForwardHooks(), false);
  });

  test('a pre-hook may replace the inputs, by an array or a single value; hooks see what it left', () => {
    const layer = new nn.Linear(3, 3);
    const x = input();
    const expected = values(layer.forward(x.mul(3)));
    const order: string[] = [];
    layer.registerForwardPreHook((_m, [v]) => {
      order.push('pre 1');
      return [v.mul(3)];
    });
    layer.registerForwardPreHook(() => {
      order.push('pre 2');
      return undefined;
    });
    layer.registerForwardHook((_m, [v]) => {
      order.push('post');
      assert.deepEqual(values(v), values(x.mul(3)));
      return undefined;
    });
    layer.registerForwardPreHook(
      () => {
        order.push('pre 0');
        return undefined;
      },
      { prepend: true },
    );
    assert.deepEqual(values(layer.forward(x)), expected);
    assert.deepEqual(order, ['pre 0', 'pre 1', 'pre 2', 'post']);
    const single = new nn.Linear(3, 3);
    single.registerForwardPreHook((_m, [v]) => v.mul(3));
    single.loadStateDict(layer.stateDict());
    assert.deepEqual(values(single.forward(x)), expected);
  });

  test('a hook that removes itself during a call lets the others of that call run', () => {
    const layer = new nn.ReLU();
    const ran: string[] = [];
    const first = layer.registerForwardHook(() => {
      ran.push('first');
      first.remove();
      return undefined;
    });
    layer.registerForwardHook(() => {
      ran.push('second');
      return undefined;
    });
    layer.forward(input());
    layer.forward(input());
    assert.deepEqual(ran, ['first', 'second', 'second']);
  });

  test('hooks leave the module tree, its state and its printing alone', () => {
    const model = lenet();
    const keys = Object.keys(model.stateDict());
    const text = model.toString();
    const handles = model.modules().map((m) => m.registerForwardHook(() => undefined));
    assert.deepEqual(Object.keys(model.stateDict()), keys);
    assert.equal(model.toString(), text);
    assert.deepEqual(
      model.layers.map((l) => Object.keys(l)),
      lenet().layers.map((l) => Object.keys(l)),
    );
    for (const h of handles) h.remove();
  });

  test('a hooked Linear or convolution followed by ReLU in a Sequential gives the hook its own output', () => {
    const model = new nn.Sequential(new nn.Linear(3, 8), new nn.ReLU());
    const x = randn([4, 3]);
    const expected = values(model.forward(x));
    let linearOut: Tensor | null = null;
    let reluIn: Tensor | null = null;
    model.layers[0]!.registerForwardHook((_m, _i, y) => {
      linearOut = y;
      return undefined;
    });
    model.layers[1]!.registerForwardPreHook((_m, [v]) => {
      reluIn = v;
      return undefined;
    });
    assert.deepEqual(values(model.forward(x)), expected);
    assert.ok(linearOut && values(linearOut).some((v) => v < 0), "the hook sees Linear's output before ReLU");
    assert.equal(reluIn, linearOut);

    const highway = new nn.Highway(3);
    const plain = values(highway.forward(x));
    let hidden: Tensor | null = null;
    highway.hidden.registerForwardHook((_m, _i, y) => {
      hidden = y;
      return undefined;
    });
    assert.deepEqual(values(highway.forward(x)), plain);
    assert.deepEqual((hidden as Tensor | null)?.shape, [4, 3]);
  });

  test('registration refuses what is not a hook, unknown options and extra arguments', () => {
    const layer = new nn.ReLU();
    throwsStrata(() => layer.registerForwardHook(3 as never), 'registerForwardHook:', 'expected a function');
    throwsStrata(
      () => layer.registerForwardPreHook(() => undefined, { first: true } as never),
      'registerForwardPreHook:',
      'unknown option first',
    );
    throwsStrata(
      () => layer.registerForwardHook(() => undefined, { prepend: 1 } as never),
      'prepend must be a boolean',
    );
    throwsStrata(
      () => (layer.registerForwardHook as (...a: unknown[]) => unknown)(() => undefined, {}, true),
      'registerForwardHook:',
      'at most 2 arguments',
    );
  });
});

interface SummaryCase {
  model: string;
  input: number[];
  int: boolean;
  rows: { name: string; type: string; output: string | null; calls: number; params: number }[];
  total: number;
  trainable: number;
  buffers: number;
}

const summaries = JSON.parse(readFileSync(new URL('./fixtures/summary.json', import.meta.url), 'utf8')) as {
  cases: SummaryCase[];
};

class Tagger extends nn.Module {
  embed = new nn.Embedding(50, 8);
  rnn = new nn.LSTM(8, 16, { batchFirst: true });
  head = new nn.Linear(16, 5);
  forward(tokens: Tensor): Tensor {
    const [out] = this.rnn.forward(this.embed.forward(tokens));
    return this.head.forward(out);
  }
}

class Stepper extends nn.Module {
  cell = new nn.LSTMCell(4, 6);
  out = new nn.Linear(6, 2);
  forward(x: Tensor): Tensor {
    let state: [Tensor, Tensor] | undefined;
    for (let t = 0; t < x.shape[0]!; t++) state = this.cell.forward(x.select(0, t), state);
    return this.out.forward(state![0]);
  }
}

function frozenMlp(): nn.Sequential {
  const model = new nn.Sequential(
    new nn.Linear(12, 32),
    new nn.BatchNorm1d(32),
    new nn.ReLU(),
    new nn.Dropout(0.5),
    new nn.Linear(32, 3),
  );
  for (const p of model.layers[0]!.parameters()) p.requiresGrad = false;
  return model;
}

const builders: Record<string, () => nn.Module> = {
  lenet,
  'frozen mlp': frozenMlp,
  tagger: () => new Tagger(),
  stepper: () => new Stepper(),
};

describe('Module.summary against PyTorch', () => {
  for (const c of summaries.cases) {
    test(`${c.model} on [${c.input}]`, () => {
      const s = builders[c.model]!().summary(c.input, c.int ? { dtype: 'int32' } : undefined);
      assert.deepEqual(
        s.rows.map((r) => ({ ...r })),
        c.rows,
      );
      assert.equal(s.totalParams, c.total);
      assert.equal(s.trainableParams, c.trainable);
      assert.equal(s.nonTrainableParams, c.total - c.trainable);
      assert.equal(s.bufferValues, c.buffers);
      assert.deepEqual(s.inputs, [c.input]);
    });
  }

  test('the table: one line per module with its path, type, shape and count, then the totals', () => {
    const text = String(lenet().summary([1, 1, 28, 28]));
    const lines = text.split('\n');
    assert.equal(lines[0], 'Input: [1, 1, 28, 28]');
    assert.match(text, /^Layer +Type +Output shape +Param #$/m);
    assert.match(text, /^\(model\) +Sequential +\[1, 10\] +0$/m);
    assert.match(text, /^0 +Conv2d +\[1, 6, 28, 28\] +156$/m);
    assert.match(text, /^7 +Linear +\[1, 120\] +48,120$/m);
    assert.ok(lines.includes('Total params: 61,706'));
    assert.ok(lines.includes('Trainable params: 61,706'));
    assert.ok(lines.includes('Non-trainable params: 0'));
    const widths = new Set(lines.filter((l) => l.startsWith('=')).map((l) => l.length));
    assert.equal(widths.size, 1, 'the rules span the table');
    assert.match(
      String(new Stepper().summary([3, 5, 4])),
      /^cell +LSTMCell +\(\[5, 6\], \[5, 6\]\) ×3 +288$/m,
    );
  });

  test('a tensor as the example input; without one, only the parameters are counted', () => {
    const model = new nn.Linear(3, 2, { dtype: 'float64' });
    assert.equal(model.summary(zeros([4, 3], { dtype: 'float64' })).rows[0]!.output, '[4, 2]');
    assert.equal(model.summary([4, 3]).rows[0]!.output, '[4, 2]', "zeros in the model's dtype");
    const bare = model.summary();
    assert.equal(bare.rows[0]!.output, null);
    assert.equal(bare.totalParams, 8);
    assert.match(String(bare), /no example input/);
  });

  test('a model of several inputs takes one example per argument, tensors and shapes mixed', () => {
    class Pair extends nn.Module<[Tensor, Tensor]> {
      left = new nn.Linear(3, 4);
      right = new nn.Linear(5, 4);
      forward(a: Tensor, b: Tensor): Tensor {
        return this.left.forward(a).add(this.right.forward(b));
      }
    }
    const s = new Pair().summary([zeros([2, 3]), [2, 5]]);
    assert.deepEqual(s.inputs, [
      [2, 3],
      [2, 5],
    ]);
    assert.deepEqual(
      s.rows.map((r) => [r.name, r.output]),
      [
        ['', '[2, 4]'],
        ['left', '[2, 4]'],
        ['right', '[2, 4]'],
      ],
    );
    assert.match(String(s), /^Input: \[2, 3\], \[2, 5\]$/m);
  });

  test('tied weights are counted once in the total', () => {
    class Tied extends nn.Module {
      a = new nn.Linear(4, 4, { bias: false });
      b = new nn.Linear(4, 4, { bias: false });
      constructor() {
        super();
        this.b.weight = this.a.weight;
      }
      forward(x: Tensor): Tensor {
        return this.b.forward(this.a.forward(x));
      }
    }
    const s = new Tied().summary([1, 4]);
    assert.deepEqual(
      s.rows.map((r) => r.params),
      [0, 16, 16],
    );
    assert.equal(s.totalParams, 16);
  });

  test('the model is left as it was: modes, running statistics, random stream and hooks', () => {
    const model = frozenMlp();
    model.layers[3]!.eval();
    const stats = model.stateDict()['1.running_mean']!.clone();
    const before = randn([3]);
    assert.ok(before);
    model.summary([4, 12]);
    assert.deepEqual(
      model.modules().map((m) => m.training),
      [true, true, true, true, false, true],
    );
    assert.deepEqual(values(model.stateDict()['1.running_mean']!), values(stats));
    assert.ok(model.modules().every((m) => !m.hasForwardHooks()));
    const x = randn([4, 12]);
    const y1 = noGrad(() => model.eval().forward(x));
    assert.deepEqual(values(model.forward(x)), values(y1));
  });

  test('a forward that fails names summary and the example input, and still restores the model', () => {
    const model = lenet();
    throwsStrata(
      () => model.summary([1, 3, 28, 28]),
      'summary:',
      'example input of shape [1, 3, 28, 28]',
      'Conv2d',
    );
    assert.ok(model.modules().every((m) => m.training && !m.hasForwardHooks()));
    throwsStrata(() => model.summary('big' as never), 'summary:', 'expected an example input');
    throwsStrata(() => model.summary([[1, 2], 'x'] as never), 'summary:', 'example input 1');
    throwsStrata(
      () => model.summary([1, 1, 28, 28], { depth: 2 } as never),
      'summary:',
      'unknown option depth',
    );
    throwsStrata(
      () => (model.summary as (...a: unknown[]) => unknown)([1, 1, 28, 28], {}, 3),
      'summary:',
      'at most 2 arguments',
    );
  });
});
