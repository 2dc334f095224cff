/**
 * Losses against PyTorch: every loss, reduction and main option in float64 (to 1e-9) and float32 (to
 * 1e-5 relative), forward values and the gradients of sum(output · weights) with respect to every
 * differentiable input, from test/fixtures/losses.json (made by scripts/fixtures/losses.py with PyTorch
 * 1.13). Then the argument checks at the API's edge, the module forms and second derivatives.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import * as st from '../src/index.js';
import { throwsStrata } from './assertions.js';
import { gradcheck, gradgradcheck } from './gradcheck.js';

const { nn } = st;
type Tensor = st.Tensor;

interface FixtureTensor {
  tensor: number[];
  shape: number[];
  dtype: st.DType;
}

interface Fixture {
  name: string;
  fn: string;
  dtype: 'float32' | 'float64';
  inputs: { name: string; values: number[]; shape: number[]; dtype: st.DType; grad: boolean }[];
  options: Record<string, unknown>;
  output: { values: number[]; shape: number[] };
  outputWeights: number[];
  grads: Record<string, number[] | null>;
}

const FIXTURES: { torch: string; cases: Fixture[] } = JSON.parse(
  readFileSync(new URL('./fixtures/losses.json', import.meta.url), 'utf8'),
);

const isTensorSpec = (v: unknown): v is FixtureTensor =>
  typeof v === 'object' && v !== null && 'tensor' in v && 'shape' in v;

/** Calls the loss a fixture names, with its tensors in order and its options (tensors rebuilt). */
function call(c: Fixture, xs: Tensor[]): Tensor {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c.options)) {
    o[k] = isTensorSpec(v) ? st.tensor(v.tensor, { shape: v.shape, dtype: v.dtype }) : v;
  }
  const [a, b, d] = xs as [Tensor, Tensor, Tensor];
  switch (c.fn) {
    case 'mseLoss':
      return nn.mseLoss(a, b, o);
    case 'l1Loss':
      return nn.l1Loss(a, b, o);
    case 'smoothL1Loss':
      return nn.smoothL1Loss(a, b, o);
    case 'huberLoss':
      return nn.huberLoss(a, b, o);
    case 'bceLoss':
      return nn.bceLoss(a, b, o);
    case 'bceWithLogits':
      return nn.bceWithLogits(a, b, o);
    case 'nllLoss':
      return nn.nllLoss(a, b, o);
    case 'crossEntropy':
      return nn.crossEntropy(a, b, o);
    case 'klDivLoss':
      return nn.klDivLoss(a, b, o);
    case 'poissonNllLoss':
      return nn.poissonNllLoss(a, b, o);
    case 'gaussianNllLoss':
      return nn.gaussianNllLoss(a, b, d, o);
    case 'cosineEmbeddingLoss':
      return nn.cosineEmbeddingLoss(a, b, d, o);
    case 'marginRankingLoss':
      return nn.marginRankingLoss(a, b, d, o);
    case 'tripletMarginLoss':
      return nn.tripletMarginLoss(a, b, d, o);
    case 'ctcLoss(logSoftmax)': {
      const { inputLengths, targetLengths, ...rest } = o;
      return nn.ctcLoss(
        a.logSoftmax(-1),
        b,
        inputLengths as st.nn.Lengths,
        targetLengths as st.nn.Lengths,
        rest,
      );
    }
    default:
      throw new Error(`no call for ${c.fn}`);
  }
}

function close(actual: ArrayLike<number>, expected: readonly number[], tol: number, what: string): void {
  assert.equal(
    actual.length,
    expected.length,
    `${what}: ${actual.length} values, expected ${expected.length}`,
  );
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const ok = a === e || Math.abs(a - e) <= tol * Math.max(1, Math.abs(e));
    assert.ok(
      ok,
      `${what}[${i}]: got ${a}, PyTorch ${e} (tol ${tol}); all: [${Array.from(actual).join(', ')}]`,
    );
  }
}

describe(`losses against PyTorch ${FIXTURES.torch}`, () => {
  for (const c of FIXTURES.cases) {
    test(c.name, () => {
      const tol = c.dtype === 'float64' ? 1e-9 : 1e-5;
      const xs = c.inputs.map((i) =>
        st.tensor(i.values, { shape: i.shape, dtype: i.dtype, requiresGrad: i.grad }),
      );
      const out = call(c, xs);
      assert.equal(out.dtype, c.dtype);
      assert.deepEqual(out.shape, c.output.shape);
      close(out.toTypedArray(), c.output.values, tol, 'output');
      const wanted = c.inputs.filter((i) => i.grad);
      if (wanted.length === 0) return;
      out
        .mul(st.tensor(c.outputWeights, { shape: c.output.shape, dtype: c.dtype }))
        .sum()
        .backward();
      c.inputs.forEach((spec, k) => {
        if (!spec.grad) return;
        const expected = c.grads[spec.name];
        const g = xs[k]!.grad;
        if (expected === null || expected === undefined) {
          assert.ok(
            g === null || g.toTypedArray().every((v) => v === 0),
            `${spec.name}: PyTorch has no gradient`,
          );
        } else {
          assert.ok(g, `${spec.name}: no gradient`);
          close(g.toTypedArray(), expected, tol, `d/d${spec.name}`);
        }
      });
    });
  }
});

// ---------------------------------------------------------------------------------------------------
// Arguments checked at the edge
// ---------------------------------------------------------------------------------------------------

const f64 = (values: st.NestedArray, requiresGrad = false) =>
  st.tensor(values, { dtype: 'float64', requiresGrad });
const labels = (values: st.NestedArray) => st.tensor(values, { dtype: 'int32' });
const x23 = () =>
  f64([
    [0.1, 0.5, -0.3],
    [1.2, -0.4, 0.2],
  ]);

/** Every loss function, called with valid arguments and the options given. */
const CALLS: Record<string, (o: object) => Tensor> = {
  mseLoss: (o) => nn.mseLoss(x23(), x23(), o),
  l1Loss: (o) => nn.l1Loss(x23(), x23(), o),
  smoothL1Loss: (o) => nn.smoothL1Loss(x23(), x23(), o),
  huberLoss: (o) => nn.huberLoss(x23(), x23(), o),
  bceLoss: (o) => nn.bceLoss(x23().sigmoid(), x23().sigmoid(), o),
  bceWithLogits: (o) => nn.bceWithLogits(x23(), x23().sigmoid(), o),
  nllLoss: (o) => nn.nllLoss(x23().logSoftmax(1), labels([0, 2]), o),
  crossEntropy: (o) => nn.crossEntropy(x23(), labels([0, 2]), o),
  klDivLoss: (o) => nn.klDivLoss(x23().logSoftmax(1), x23().softmax(1), o),
  poissonNllLoss: (o) => nn.poissonNllLoss(x23(), x23().abs(), o),
  gaussianNllLoss: (o) => nn.gaussianNllLoss(x23(), x23(), x23().abs(), o),
  cosineEmbeddingLoss: (o) => nn.cosineEmbeddingLoss(x23(), x23(), f64([1, -1]), o),
  marginRankingLoss: (o) =>
    nn.marginRankingLoss(
      x23(),
      x23(),
      f64([
        [1, -1, 1],
        [-1, 1, 1],
      ]),
      o,
    ),
  tripletMarginLoss: (o) => nn.tripletMarginLoss(x23(), x23(), x23(), o),
  ctcLoss: (o) =>
    nn.ctcLoss(st.zeros([3, 2, 3], { dtype: 'float64' }), labels([[1], [2]]), [3, 3], [1, 1], o),
};

/** Every loss module, made with the options given. */
const MODULES: Record<string, (o: object) => st.nn.Module<never[], Tensor>> = {
  MSELoss: (o) => new nn.MSELoss(o),
  L1Loss: (o) => new nn.L1Loss(o),
  SmoothL1Loss: (o) => new nn.SmoothL1Loss(o),
  HuberLoss: (o) => new nn.HuberLoss(o),
  BCELoss: (o) => new nn.BCELoss(o),
  BCEWithLogitsLoss: (o) => new nn.BCEWithLogitsLoss(o),
  NLLLoss: (o) => new nn.NLLLoss(o),
  CrossEntropyLoss: (o) => new nn.CrossEntropyLoss(o),
  KLDivLoss: (o) => new nn.KLDivLoss(o),
  PoissonNLLLoss: (o) => new nn.PoissonNLLLoss(o),
  GaussianNLLLoss: (o) => new nn.GaussianNLLLoss(o),
  CosineEmbeddingLoss: (o) => new nn.CosineEmbeddingLoss(o),
  MarginRankingLoss: (o) => new nn.MarginRankingLoss(o),
  TripletMarginLoss: (o) => new nn.TripletMarginLoss(o),
  CTCLoss: (o) => new nn.CTCLoss(o),
};

test('every loss takes { reduction } and refuses unknown option keys, naming the accepted ones', () => {
  for (const [name, f] of [...Object.entries(CALLS), ...Object.entries(MODULES)]) {
    assert.doesNotThrow(() => f({ reduction: 'sum' }), name);
    throwsStrata(
      () => f({ reduction: 'mean', size_average: false }),
      new RegExp(`^${name}:`),
      /unknown option size_average/,
      /accepted: reduction/,
    );
    throwsStrata(
      () => f({ reduction: 'avg' }),
      new RegExp(`^${name}:`),
      /reduction must be 'mean', 'sum', 'none'/,
      /"avg"/,
    );
  }
  // 'batchmean' is KL divergence's alone.
  assert.doesNotThrow(() => CALLS.klDivLoss!({ reduction: 'batchmean' }));
  assert.doesNotThrow(() => MODULES.KLDivLoss!({ reduction: 'batchmean' }));
  throwsStrata(() => CALLS.mseLoss!({ reduction: 'batchmean' }), /mseLoss/, /batchmean/);
});

test('the positional forms PyTorch takes are refused, showing the options form', () => {
  const x = x23();
  throwsStrata(
    () => nn.mseLoss(x, x, 'sum' as never),
    /mseLoss: expected an options object, got "sum"/,
    /mseLoss\(input, target, \{ reduction: 'sum' \}\)/,
  );
  throwsStrata(() => nn.bceLoss(x.sigmoid(), x.sigmoid(), 'none' as never), /bceLoss/, /options object/);
  throwsStrata(
    () => new nn.MSELoss('sum' as never),
    /MSELoss: expected an options object/,
    /new MSELoss\(\{ reduction \}\)/,
  );
  // torch.nn.CrossEntropyLoss(weight): a tensor where the options go; positional extras after the options.
  throwsStrata(
    () => new nn.CrossEntropyLoss(f64([1, 2, 3]) as never),
    /CrossEntropyLoss/,
    /a Tensor/,
    /weight/,
  );
  throwsStrata(
    () => (nn.crossEntropy as (...a: unknown[]) => Tensor)(x, labels([0, 1]), {}, 'mean'),
    /crossEntropy: takes at most 3 arguments, got 4/,
  );
});

test('losses name what they expected when handed arrays, integers or mismatched shapes', () => {
  const x = x23();
  throwsStrata(
    () => nn.mseLoss([1, 2] as never, x),
    /mseLoss: input must be a Tensor, got an array of length 2; wrap it with tensor\(…\)/,
  );
  throwsStrata(() => nn.l1Loss(x, 3 as never), /l1Loss: target must be a Tensor, got 3; wrap it/);
  throwsStrata(
    () => nn.crossEntropy(x, [0, 2] as never),
    /crossEntropy: target must be a Tensor/,
    /wrap it with tensor\(labels, \{ dtype: 'int32' \}\)/,
  );
  throwsStrata(
    () => nn.mseLoss(labels([1, 2]), labels([1, 2])),
    /mseLoss: input must be floating point, got int32/,
  );
  throwsStrata(
    () => nn.huberLoss(x, f64([1, 2, 3])),
    /huberLoss: input \[2, 3\] and target \[3\] must have the same shape/,
  );
});

test('class losses: int32 indices in range, a weight per class, probabilities of the input shape', () => {
  const x = x23();
  throwsStrata(
    () => nn.crossEntropy(x, st.tensor([0, 2])),
    /crossEntropy: class indices must be int32: use tensor\(labels, \{ dtype: 'int32' \}\)/,
    /got a float32 target \[2\]/,
    /or probabilities of the input's shape \[2, 3\]/,
  );
  throwsStrata(() => nn.nllLoss(x, st.tensor([0, 2])), /nllLoss: class indices must be int32/);
  throwsStrata(
    () => nn.nllLoss(x, labels([0, 3])),
    /nllLoss: target class 3 at position 1 is out of range \[0, 3\)/,
  );
  throwsStrata(
    () => nn.crossEntropy(x, labels([0, 1]), { weight: f64([1, 2]) }),
    /weight must hold one value per class, \[3\], got \[2\]/,
  );
  throwsStrata(
    () => nn.crossEntropy(x, labels([0, 1]), { ignoreIndex: 0.5 }),
    /ignoreIndex must be an integer/,
  );
  throwsStrata(
    () => nn.crossEntropy(x, labels([0, 1]), { labelSmoothing: 2 }),
    /labelSmoothing must be in \[0, 1\], got 2/,
  );
  throwsStrata(
    () => nn.crossEntropy(st.scalar(1, 'float64'), labels([0])),
    /crossEntropy: expected input \[C\]/,
  );
  throwsStrata(
    () => nn.crossEntropy(x, x.softmax(1), { ignoreIndex: 1 }),
    /crossEntropy: ignoreIndex applies to class-index targets, not to probabilities/,
  );
  // Every position ignored: a mean over nothing is 0/0 = NaN, as in PyTorch.
  assert.ok(Number.isNaN(nn.crossEntropy(x, labels([-100, -100])).item()));
});

test('other options are checked: beta, delta, flags, variances', () => {
  const x = x23();
  throwsStrata(() => nn.smoothL1Loss(x, x, { beta: -1 }), /smoothL1Loss: beta must be a number ≥ 0, got -1/);
  throwsStrata(() => nn.huberLoss(x, x, { delta: 0 }), /huberLoss: delta must be a number > 0, got 0/);
  throwsStrata(() => nn.klDivLoss(x, x, { logTarget: 1 as never }), /logTarget must be true or false, got 1/);
  throwsStrata(
    () => nn.gaussianNllLoss(x, x, f64([1, 1, 1])),
    /variance \[3\] must have the input's shape \[2, 3\], or that shape with the last axis 1 or dropped/,
  );
  throwsStrata(() => nn.gaussianNllLoss(x, x, f64([1, -1])), /variance must not be negative/);
});

test('klDivLoss: a zero target probability adds 0 (0·log 0 = 0), with a finite gradient', () => {
  // target [0, 1] against log-probabilities [ln 0.5, ln 0.5]: 0 + 1·(ln 1 - ln 0.5) = ln 2.
  const input = f64([Math.log(0.5), Math.log(0.5)], true);
  const target = f64([0, 1], true);
  const loss = nn.klDivLoss(input, target, { reduction: 'sum' });
  assert.ok(Math.abs(loss.item() - Math.LN2) < 1e-15);
  loss.backward();
  // d/dinput = -target; d/dtarget = log target + 1 - input where target > 0, and only the -input of
  // -target·input at the zero (PyTorch's is NaN there, differentiating 0·log 0).
  assert.deepEqual(Array.from(input.grad!.toTypedArray()), [-0, -1]);
  assert.deepEqual(Array.from(target.grad!.toTypedArray()), [Math.LN2, 1 + Math.LN2]);
});

test('loss modules: options checked when made, class weights saved as buffers under PyTorch names', () => {
  const w = f64([0.5, 1, 2]);
  const ce = new nn.CrossEntropyLoss({ weight: w, labelSmoothing: 0.1 });
  assert.deepEqual(Object.keys(ce.stateDict()), ['weight']);
  const x = x23();
  const t = labels([0, 2]);
  assert.equal(ce.forward(x, t).item(), nn.crossEntropy(x, t, { weight: w, labelSmoothing: 0.1 }).item());
  assert.deepEqual(Object.keys(new nn.BCEWithLogitsLoss({ posWeight: w, weight: w }).stateDict()), [
    'weight',
    'pos_weight',
  ]);
  assert.deepEqual(Object.keys(new nn.NLLLoss().stateDict()), []);
  const nll = new nn.NLLLoss({ weight: w, ignoreIndex: 2 });
  assert.equal(
    nll.forward(x.logSoftmax(1), t).item(),
    nn.nllLoss(x.logSoftmax(1), t, { weight: w, ignoreIndex: 2 }).item(),
  );
  throwsStrata(
    () => new nn.CrossEntropyLoss({ weight: [1, 2] as never }),
    /CrossEntropyLoss: weight must be a Tensor/,
    /wrap it/,
  );
  throwsStrata(
    () => new nn.KLDivLoss({ reduction: 'avg' as never }),
    /KLDivLoss: reduction must be/,
    /'batchmean'/,
  );
});

test('margin losses: ±1 targets of the right shape, matching inputs, a positive p', () => {
  const x = x23();
  throwsStrata(
    () => nn.cosineEmbeddingLoss(x, x, f64([1, -1, 1])),
    /cosineEmbeddingLoss: target must have shape \[2\]/,
  );
  throwsStrata(() => nn.cosineEmbeddingLoss(x, x, f64([1, 0])), /target must hold 1 or -1, got 0/);
  throwsStrata(
    () => nn.tripletMarginLoss(x, x, f64([1, 2])),
    /tripletMarginLoss: anchor \[2, 3\] and negative \[2\]/,
  );
  throwsStrata(() => nn.tripletMarginLoss(x, x, x, { p: 0 }), /p must be a number > 0/);
  // margin_ranking_loss(x1, x2, y, 0.5): a number where the options go.
  throwsStrata(() => CALLS.marginRankingLoss!(0.5 as never), /marginRankingLoss/, /got 0.5/);
});

test('ctcLoss on alignments counted by hand', () => {
  // Two classes (blank 0, label 1), each at probability 1/2 at every step. Sample 0: T = 2, target [1]:
  // alignments 11, 01, 10, so p = 3/4 and the loss is ln(4/3). Sample 1: T = 3, target [1, 1]: the
  // repeat needs a blank between, so only 101, p = 1/8, loss ln 8.
  const lp = st.full([3, 2, 2], Math.log(0.5), { dtype: 'float64' });
  const targets = labels([
    [1, 0],
    [1, 1],
  ]);
  const none = nn.ctcLoss(lp, targets, [2, 3], [1, 2], { reduction: 'none' });
  assert.deepEqual(none.shape, [2]);
  const [a, b] = Array.from(none.toTypedArray());
  assert.ok(Math.abs(a! - Math.log(4 / 3)) < 1e-15 && Math.abs(b! - Math.log(8)) < 1e-15, `${a}, ${b}`);
  // 'mean' divides each loss by its target length, then averages: (ln(4/3)/1 + ln 8/2)/2.
  const mean = nn.ctcLoss(lp, targets, [2, 3], [1, 2]).item();
  assert.ok(Math.abs(mean - (Math.log(4 / 3) + Math.log(8) / 2) / 2) < 1e-15);
  // [1, 1] cannot fit in 2 steps: an infinite loss, or 0 with zeroInfinity (and no gradient).
  assert.equal(nn.ctcLoss(lp, targets, [2, 2], [1, 2], { reduction: 'none' }).toTypedArray()[1], Infinity);
  const x = lp.clone().requiresGrad_();
  const zeroed = nn.ctcLoss(x, targets, [2, 2], [1, 2], { reduction: 'none', zeroInfinity: true });
  assert.equal(zeroed.toTypedArray()[1], 0);
  zeroed.sum().backward();
  const g = x.grad!.toArray() as number[][][];
  assert.deepEqual(
    g.map((step) => step[1]),
    [
      [0, 0],
      [0, 0],
      [0, 0],
    ],
  );
  // Sample 0's gradient: d(-log p)/d lp_t(c) = -(share of p through c at t): at t = 0, label 1 carries
  // 11 and 10 (2/3 of p), blank 01 (1/3); at t = 2, beyond its length, nothing.
  assert.ok(Math.abs(g[0]![0]![1]! + 2 / 3) < 1e-15 && Math.abs(g[0]![0]![0]! + 1 / 3) < 1e-15);
  assert.deepEqual(g[2]![0], [0, 0]);
});

test('ctcLoss checks its lengths, labels and blank', () => {
  const lp = st.zeros([4, 2, 3], { dtype: 'float64' });
  const t = labels([
    [1, 2],
    [2, 0],
  ]);
  throwsStrata(
    () => nn.ctcLoss(lp, t, [4, 5], [2, 1]),
    /ctcLoss: inputLengths\[1\] is 5, more than the 4 time steps/,
  );
  throwsStrata(
    () => nn.ctcLoss(lp, t, [4], [2, 1]),
    /inputLengths must hold one length per sample \(2\), got 1/,
  );
  throwsStrata(() => nn.ctcLoss(lp, t, [4, 4], [3, 1]), /targetLengths\[0\] is 3, more than the 2 columns/);
  throwsStrata(
    () => nn.ctcLoss(lp, t, [4, 4], [2, 2]),
    /target label 0 of sample 1 \(position 1\) must be a class in \[0, 3\) other than the blank 0/,
  );
  throwsStrata(() => nn.ctcLoss(lp, t, st.tensor([4, 4]), [2, 1]), /inputLengths must be int32, got float32/);
  throwsStrata(
    () => nn.ctcLoss(lp, st.tensor([1, 2]), [4, 4], [1, 1]),
    /ctcLoss: class indices must be int32/,
  );
  throwsStrata(
    () => nn.ctcLoss(lp, labels([1, 2]), [4, 4], [2, 1]),
    /concatenated targets hold 2 labels but targetLengths add up to 3/,
  );
  throwsStrata(
    () => nn.ctcLoss(lp, t, [4, 4], [2, 1], { blank: 3 }),
    /blank must be a class index in \[0, 3\), got 3/,
  );
  throwsStrata(
    () => nn.ctcLoss(lp, t, [4, -1], [2, 1]),
    /inputLengths must be non-negative integers, got -1 at sample 1/,
  );
  throwsStrata(
    () => new (nn.CTCLoss as new (...a: unknown[]) => unknown)({}, 0),
    /CTCLoss: takes at most 1 arguments, got 2/,
  );
});

// ---------------------------------------------------------------------------------------------------
// Derivatives: the composites differentiate to second order (CTC to first, as in PyTorch)
// ---------------------------------------------------------------------------------------------------

const R = (shape: number[], lo: number, hi: number, seed: number) => {
  const g = new st.Generator(seed);
  return st.rand(shape, { low: lo, high: hi, dtype: 'float64', generator: g });
};

test('second derivatives of the composite losses match finite differences', () => {
  const t = labels([2, 0, 1]);
  const q = R([3, 4], 0.1, 1, 1);
  const cases: [string, (...xs: Tensor[]) => Tensor, Tensor[]][] = [
    ['mseLoss', (a, b) => nn.mseLoss(a!, b!), [R([3, 4], -1, 1, 2), R([3, 4], -1, 1, 3)]],
    ['huberLoss', (a, b) => nn.huberLoss(a!, b!, { delta: 5 }), [R([3, 4], -1, 1, 4), R([3, 4], -1, 1, 5)]],
    [
      'smoothL1Loss',
      (a, b) => nn.smoothL1Loss(a!, b!, { beta: 5 }),
      [R([3, 4], -1, 1, 6), R([3, 4], -1, 1, 7)],
    ],
    [
      'bceLoss',
      (p, y) => nn.bceLoss(p!, y!, { weight: q.select(0, 0) }),
      [R([3, 4], 0.1, 0.9, 8), R([3, 4], 0, 1, 9)],
    ],
    [
      'bceWithLogits',
      (x, y) => nn.bceWithLogits(x!, y!, { posWeight: q.select(0, 1) }),
      [R([3, 4], -2, 2, 10), R([3, 4], 0, 1, 11)],
    ],
    ['nllLoss', (x) => nn.nllLoss(x!.logSoftmax(1), t, { weight: q.select(0, 2) }), [R([3, 4], -2, 2, 12)]],
    [
      'crossEntropy',
      (x) => nn.crossEntropy(x!, t, { weight: q.select(0, 2), labelSmoothing: 0.2 }),
      [R([3, 4], -2, 2, 13)],
    ],
    [
      'crossEntropy probabilities',
      (x, p) => nn.crossEntropy(x!, p!, { labelSmoothing: 0.1 }),
      [R([3, 4], -2, 2, 14), q],
    ],
    ['klDivLoss', (x, p) => nn.klDivLoss(x!, p!, { reduction: 'batchmean' }), [R([3, 4], -3, -0.1, 15), q]],
    [
      'poissonNllLoss',
      (x, y) => nn.poissonNllLoss(x!, y!, { full: true }),
      [R([3, 4], -1, 1, 16), R([3, 4], 1.5, 4, 17)],
    ],
    [
      'gaussianNllLoss',
      (x, y, v) => nn.gaussianNllLoss(x!, y!, v!, { full: true }),
      [R([3, 4], -1, 1, 18), R([3, 4], -1, 1, 19), R([3, 4], 0.2, 2, 20)],
    ],
    [
      'cosineEmbeddingLoss',
      (a, b) => nn.cosineEmbeddingLoss(a!, b!, f64([1, -1, 1]), { margin: -1 }),
      [R([3, 4], -1, 1, 21), R([3, 4], -1, 1, 22)],
    ],
    [
      'tripletMarginLoss',
      (a, p, n) => nn.tripletMarginLoss(a!, p!, n!, { margin: 10, p: 3 }),
      [R([3, 4], -1, 1, 23), R([3, 4], -1, 1, 24), R([3, 4], -1, 1, 25)],
    ],
  ];
  for (const [name, f, xs] of cases) {
    gradcheck(f, xs, { label: name });
    gradgradcheck(f, xs, { label: name });
  }
});

test('ctcLoss differentiates to first order, through a log-softmax and without one', () => {
  const logits = R([5, 2, 4], -2, 2, 30);
  const targets = labels([
    [1, 1],
    [3, 0],
  ]);
  gradcheck((x) => nn.ctcLoss(x!.logSoftmax(2), targets, [5, 4], [2, 1]), [logits], {
    label: 'ctc through logSoftmax',
  });
  gradcheck((x) => nn.ctcLoss(x!, targets, [5, 4], [2, 1], { reduction: 'sum' }), [logits.logSoftmax(2)], {
    label: 'ctc',
  });
});

test("loss dtypes: refused where PyTorch refuses them, PyTorch's result dtype where it accepts them", () => {
  // PyTorch 1.13, float32 input x [4, 3]:
  //   F.cross_entropy(x, t, weight=float64) and F.nll_loss(...) raise "expected scalar type Float but found Double";
  //   F.binary_cross_entropy(p, float64 target) raises "Found dtype Double but expected Float";
  //   F.binary_cross_entropy(p, y, weight=float64) is float32, and so is F.binary_cross_entropy_with_logits
  //   with a float64 weight or pos_weight (both applied in place); with a float64 target it is float64;
  //   F.cross_entropy(x, float64 probabilities) and F.mse_loss(x, float64) are float64.
  const x = st.tensor([
    [0.2, 0.5, 0.7],
    [0.9, 0.1, 0.4],
    [0.3, 0.3, 0.6],
    [0.8, 0.2, 0.5],
  ]);
  const y = st.tensor([
    [0, 1, 1],
    [1, 0, 0],
    [0, 1, 0],
    [1, 1, 0],
  ]);
  const y64 = y.cast('float64');
  const t = st.tensor([0, 1, 2, 1], { dtype: 'int32' });
  const w64 = st.tensor([1, 2, 0.5], { dtype: 'float64' });
  throwsStrata(
    () => nn.crossEntropy(x, t, { weight: w64 }),
    /^crossEntropy: the input is float32 but the weight is float64; convert the weight with weight\.cast\('float32'\)/,
  );
  throwsStrata(
    () => new nn.CrossEntropyLoss({ weight: w64 }).forward(x, t),
    /^crossEntropy: the input is float32 but the weight is float64/,
  );
  throwsStrata(
    () => nn.nllLoss(x.logSoftmax(1), t, { weight: w64 }),
    /^nllLoss: the input is float32 but the weight is float64; convert the weight with weight\.cast\('float32'\)/,
  );
  throwsStrata(
    () => nn.bceLoss(x, y64),
    /^bceLoss: the input is float32 but the target is float64; convert the target with target\.cast\('float32'\)/,
  );
  assert.equal(nn.crossEntropy(x, t, { weight: w64.cast('float32') }).dtype, 'float32');
  assert.equal(nn.bceLoss(x, y, { weight: y64 }).dtype, 'float32');
  assert.equal(nn.bceWithLogits(x, y, { weight: y64 }).dtype, 'float32');
  assert.equal(nn.bceWithLogits(x, y, { posWeight: w64 }).dtype, 'float32');
  assert.equal(nn.bceWithLogits(x, y64).dtype, 'float64');
  assert.equal(nn.crossEntropy(x, y64.div(2)).dtype, 'float64');
  assert.equal(nn.crossEntropy(x, y64.div(2), { weight: w64 }).dtype, 'float64');
  assert.equal(nn.mseLoss(x, y64).dtype, 'float64');
  // F.binary_cross_entropy_with_logits(x, y, pos_weight=tensor([1, 2, 0.5], dtype=float64)) = 0.7907050251960754
  // and F.binary_cross_entropy(x, y, weight=y.double()) = 0.3493114411830902, both float32.
  const pw = nn.bceWithLogits(x, y, { posWeight: w64 }).item();
  assert.ok(Math.abs(pw - 0.7907050251960754) < 1e-7, `bceWithLogits: got ${pw}`);
  const bw = nn.bceLoss(x, y, { weight: y64 }).item();
  assert.ok(Math.abs(bw - 0.3493114411830902) < 1e-7, `bceLoss: got ${bw}`);
});

test('bceLoss refuses an input outside [0, 1] (or NaN), as PyTorch does, instead of returning NaN', () => {
  // torch.nn.functional.binary_cross_entropy(torch.tensor([1.5, 0.5]), torch.tensor([1., 0.])) raises
  // "all elements of input should be between 0 and 1"
  const y = f64([1, 0, 1]);
  for (const [values, bad] of [
    [[0.5, 1.5, 0.2], /got 1\.5 at flat index 1 \(1 of 3 elements outside\)/],
    [[-1e-9, 0.5, 2], /got -1e-9 at flat index 0 \(2 of 3 elements outside\)/],
    [[0.5, Number.NaN, 0.2], /got NaN at flat index 1/],
  ] as const) {
    throwsStrata(
      () => nn.bceLoss(f64([...values]), y),
      /bceLoss: every element of the input must be a probability in \[0, 1\]/,
      bad,
      /bceWithLogits/,
    );
    throwsStrata(() => new nn.BCELoss().forward(f64([...values]), y), /bceLoss/, bad);
  }
  // The ends themselves are fine: the clamped log gives 100 per element, as in PyTorch.
  assert.deepEqual(
    Array.from(nn.bceLoss(f64([0, 1]), f64([1, 0]), { reduction: 'none' }).toTypedArray()),
    [100, 100],
  );
});
