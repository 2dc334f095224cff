/**
 * nn normalisation, dropout and regularisation, against values worked out by hand (the arithmetic is
 * in the comments) and float64 finite differences. No expected value is computed with the code under
 * test.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as st from '../src/index.js';
import { gradcheck, gradgradcheck } from './gradcheck.js';

const { nn } = st;
type Tensor = st.Tensor;

const EPS = 1e-5; // PyTorch's default eps for BatchNorm and LayerNorm

import { f64, flat, near, setParam, throwsStrata } from './assertions.js';

function buffer(m: st.nn.Module, name: string): Tensor {
  return m.getBuffer(name);
}

// ---------------------------------------------------------------------------------------------------
// BatchNorm
// ---------------------------------------------------------------------------------------------------

// The 4×2 batch used throughout:
//   channel 0: 1, 3, 5, 7 → mean 4, deviations -3 -1 1 3, squares sum 20,
//              biased var 20/4 = 5, unbiased 20/3
//   channel 1: 0, 0, 4, 4 → mean 2, deviations -2 -2 2 2, squares sum 16,
//              biased var 16/4 = 4, unbiased 16/3
const X = [
  [1, 0],
  [3, 0],
  [5, 4],
  [7, 4],
];
// The same batch + 10: means 14 and 12, same variances.
const X10 = X.map((r) => r.map((v) => v + 10));
const XHAT = [
  [-3 / Math.sqrt(5 + EPS), -2 / Math.sqrt(4 + EPS)],
  [-1 / Math.sqrt(5 + EPS), -2 / Math.sqrt(4 + EPS)],
  [1 / Math.sqrt(5 + EPS), 2 / Math.sqrt(4 + EPS)],
  [3 / Math.sqrt(5 + EPS), 2 / Math.sqrt(4 + EPS)],
];

test('BatchNorm1d: PyTorch names and defaults', () => {
  const bn = new nn.BatchNorm1d(2);
  assert.deepEqual(Object.keys(bn.stateDict()), [
    'weight',
    'bias',
    'running_mean',
    'running_var',
    'num_batches_tracked',
  ]);
  assert.deepEqual(
    bn.namedParameters().map(([n]) => n),
    ['weight', 'bias'],
  );
  near(bn.weight!, [1, 1]);
  near(bn.bias!, [0, 0]);
  near(buffer(bn, 'running_mean'), [0, 0]);
  near(buffer(bn, 'running_var'), [1, 1]);
  const nbt = buffer(bn, 'num_batches_tracked');
  assert.equal(nbt.dtype, 'int32');
  assert.deepEqual(nbt.shape, []);
  assert.equal(nbt.item(), 0);
  assert.equal(bn.eps, 1e-5);
  assert.equal(bn.momentum, 0.1);
  assert.equal(
    bn.toString(),
    'BatchNorm1d(2, eps=0.00001, momentum=0.1, affine=true, trackRunningStats=true)',
  );
});

test('BatchNorm1d training: batch statistics, running statistics after one and two steps', () => {
  const bn = new nn.BatchNorm1d(2, { dtype: 'float64' });
  // y = (x - batch mean) / sqrt(biased batch var + eps), weight 1, bias 0
  near(bn.forward(f64(X)), XHAT.flat(), 1e-12, 'y');
  // running = 0.9·running + 0.1·batch, with the unbiased variance:
  //   mean: 0.9·[0, 0] + 0.1·[4, 2] = [0.4, 0.2]
  //   var:  0.9·[1, 1] + 0.1·[20/3, 16/3] = [0.9 + 2/3, 0.9 + 1.6/3] = [1.5666…, 1.4333…]
  near(bn.runningMean!, [0.4, 0.2], 1e-12, 'running_mean 1');
  near(bn.runningVar!, [0.9 + 2 / 3, 0.9 + 1.6 / 3], 1e-12, 'running_var 1');
  assert.equal(bn.numBatchesTracked!.item(), 1);

  // Second batch X + 10: means [14, 12], same variances; the output is the same normalised batch.
  near(bn.forward(f64(X10)), XHAT.flat(), 1e-12, 'y 2');
  //   mean: 0.9·[0.4, 0.2] + 0.1·[14, 12] = [0.36 + 1.4, 0.18 + 1.2] = [1.76, 1.38]
  //   var:  0.9·(0.9 + 2/3) + 0.1·20/3 = 0.81 + 0.6 + 2/3 = 2.07666…
  //         0.9·(0.9 + 1.6/3) + 0.1·16/3 = 0.81 + 0.48 + 1.6/3 = 1.82333…
  near(bn.runningMean!, [1.76, 1.38], 1e-12, 'running_mean 2');
  near(bn.runningVar!, [0.81 + 0.6 + 2 / 3, 0.81 + 0.48 + 1.6 / 3], 1e-12, 'running_var 2');
  assert.equal(bn.numBatchesTracked!.item(), 2);

  // Eval: the running statistics, not the batch's. x = [2, 3]:
  //   (2 - 1.76) / sqrt(2.07666… + eps), (3 - 1.38) / sqrt(1.82333… + eps)
  bn.eval();
  const evalY = [0.24 / Math.sqrt(0.81 + 0.6 + 2 / 3 + EPS), 1.62 / Math.sqrt(0.81 + 0.48 + 1.6 / 3 + EPS)];
  near(bn.forward(f64([[2, 3]])), evalY, 1e-12, 'eval y');
  // … the same row inside another batch gives the same output, and eval leaves the buffers alone
  near(
    bn
      .forward(
        f64([
          [2, 3],
          [100, -100],
        ]),
      )
      .narrow(0, 0, 1),
    evalY,
    1e-12,
    'eval y in a batch',
  );
  near(bn.runningMean!, [1.76, 1.38], 1e-12);
  assert.equal(bn.numBatchesTracked!.item(), 2);
});

test('BatchNorm1d: the running statistics update is in place and off the tape', () => {
  const bn = new nn.BatchNorm1d(2);
  const rm = bn.runningMean!;
  const storage = rm.data;
  const y = bn.forward(st.tensor(X, { requiresGrad: true }));
  assert.equal(bn.runningMean, rm);
  assert.equal(rm.data, storage);
  assert.equal(rm.requiresGrad, false);
  assert.equal(rm.gradFn, null);
  assert.equal(bn.runningVar!.gradFn, null);
  assert.ok(y.requiresGrad);
  y.square().sum().backward(); // no error from the buffers
  near(rm, [0.4, 0.2], 1e-6);
});

test('BatchNorm1d: affine weight and bias scale and shift each channel', () => {
  const bn = new nn.BatchNorm1d(2, { dtype: 'float64' });
  setParam(bn.weight, [2, 3]);
  setParam(bn.bias, [1, -1]);
  // y = 2·x̂ + 1 on channel 0, 3·x̂ - 1 on channel 1
  const expected = XHAT.flatMap(([a, b]) => [2 * a! + 1, 3 * b! - 1]);
  near(bn.forward(f64(X)), expected, 1e-12);
  // Gradients of sum(y): d/dweight = Σ x̂ = 0 per channel, d/dbias = N = 4
  bn.zeroGrad();
  bn.forward(f64(X)).sum().backward();
  near(bn.weight!.grad!, [0, 0], 1e-12, 'dweight');
  near(bn.bias!.grad!, [4, 4], 1e-12, 'dbias');
  // affine: false has no parameters
  const plain = new nn.BatchNorm1d(2, { affine: false, dtype: 'float64' });
  assert.equal(plain.parameters().length, 0);
  assert.deepEqual(Object.keys(plain.stateDict()), ['running_mean', 'running_var', 'num_batches_tracked']);
  near(plain.forward(f64(X)), XHAT.flat(), 1e-12);
});

test('BatchNorm1d: momentum null keeps a cumulative average', () => {
  const bn = new nn.BatchNorm1d(2, { momentum: null, dtype: 'float64' });
  // batch k gets weight 1/k:
  //   step 1 (1/1): mean [4, 2], var [20/3, 16/3]
  bn.forward(f64(X));
  near(bn.runningMean!, [4, 2], 1e-12, 'mean 1');
  near(bn.runningVar!, [20 / 3, 16 / 3], 1e-12, 'var 1');
  //   step 2 (1/2): mean ½[4, 2] + ½[14, 12] = [9, 7]; var unchanged
  bn.forward(f64(X10));
  near(bn.runningMean!, [9, 7], 1e-12, 'mean 2');
  near(bn.runningVar!, [20 / 3, 16 / 3], 1e-12, 'var 2');
  //   step 3 (1/3) with X + 1 (means [5, 3]): (4 + 14 + 5)/3 = 23/3, (2 + 12 + 3)/3 = 17/3
  bn.forward(f64(X.map((r) => r.map((v) => v + 1))));
  near(bn.runningMean!, [23 / 3, 17 / 3], 1e-12, 'mean 3');
  assert.equal(bn.numBatchesTracked!.item(), 3);
});

test('BatchNorm1d on [N, C, L]: statistics per channel over N and L', () => {
  const bn = new nn.BatchNorm1d(2, { dtype: 'float64' });
  // [2, 2, 2]: channel 0 holds 1, 3 (sample 0) and 5, 7 (sample 1); channel 1 holds 0, 0 and 4, 4:
  // the same per-channel values as X, so the same x̂ and running statistics (n = 4).
  const x = f64([
    [
      [1, 3],
      [0, 0],
    ],
    [
      [5, 7],
      [4, 4],
    ],
  ]);
  const [a, b, c, d] = [-3, -1, 1, 3].map((v) => v / Math.sqrt(5 + EPS));
  const [e, f] = [-2, 2].map((v) => v / Math.sqrt(4 + EPS));
  near(bn.forward(x), [a!, b!, e!, e!, c!, d!, f!, f!], 1e-12);
  near(bn.runningVar!, [0.9 + 2 / 3, 0.9 + 1.6 / 3], 1e-12);
});

test('BatchNorm2d: statistics per channel over N, H and W', () => {
  const bn = new nn.BatchNorm2d(2, { dtype: 'float64' });
  // [N=2, C=2, H=2, W=1]. Channel 1 is constant within each sample (0,0 and 4,4): per-sample
  // statistics would give variance 0, per-channel ones over N·H·W give mean 2, biased var 4.
  // Channel 0: 1, 3 | 5, 7 → mean 4, biased var 5, unbiased 20/3.
  const x = f64([
    [
      [[1], [3]],
      [[0], [0]],
    ],
    [
      [[5], [7]],
      [[4], [4]],
    ],
  ]);
  const [a, b, c, d] = [-3, -1, 1, 3].map((v) => v / Math.sqrt(5 + EPS));
  const [e, f] = [-2, 2].map((v) => v / Math.sqrt(4 + EPS));
  near(bn.forward(x), [a!, b!, e!, e!, c!, d!, f!, f!], 1e-12, 'y');
  near(bn.runningMean!, [0.4, 0.2], 1e-12, 'running_mean');
  near(bn.runningVar!, [0.9 + 2 / 3, 0.9 + 1.6 / 3], 1e-12, 'running_var');
  // eval: (x - [0.4, 0.2]) / sqrt([1.5666…, 1.4333…] + eps)
  bn.eval();
  const y = bn.forward(f64([[[[1.4]], [[0.2]]]]));
  near(y, [1 / Math.sqrt(0.9 + 2 / 3 + EPS), 0], 1e-12, 'eval');
});

test('BatchNorm: errors name the layer and the shapes', () => {
  const bn1 = new nn.BatchNorm1d(3);
  throwsStrata(() => bn1.forward(st.zeros([4, 2])), /BatchNorm1d/, /3 channels/, /\[4, 2\]/);
  throwsStrata(
    () => bn1.forward(st.zeros([2, 3, 4, 5])),
    /BatchNorm1d/,
    /\[N, 3\] or \[N, 3, L\]/,
    /\[2, 3, 4, 5\]/,
  );
  throwsStrata(() => bn1.forward(st.zeros([3])), /BatchNorm1d/, /\[3\]/);
  throwsStrata(
    () => bn1.forward(st.zeros([1, 3])),
    /BatchNorm1d/,
    /more than 1 value per channel/,
    /\[1, 3\]/,
  );
  assert.equal(bn1.numBatchesTracked!.item(), 0); // a rejected batch is not counted
  bn1.eval();
  near(
    bn1.forward(st.ones([1, 3])),
    [1, 1, 1].map(() => 1 / Math.sqrt(1 + EPS)),
    1e-6,
  ); // one sample is fine in eval
  const bn2 = new nn.BatchNorm2d(3);
  throwsStrata(() => bn2.forward(st.zeros([4, 3])), /BatchNorm2d/, /\[N, 3, H, W\]/, /\[4, 3\]/);
  throwsStrata(() => bn2.forward(st.zeros([2, 4, 2, 2])), /BatchNorm2d/, /3 channels/, /\[2, 4, 2, 2\]/);
  throwsStrata(() => new nn.BatchNorm1d(0), /BatchNorm1d/, /numFeatures/);
  throwsStrata(() => new nn.BatchNorm2d(2, { momentum: 1.5 }), /BatchNorm2d/, /momentum/);
  throwsStrata(() => nn.batchNorm(st.zeros([2, 3]), null, null), /batchNorm/, /running_mean and running_var/);
  throwsStrata(
    () => nn.batchNorm(st.zeros([2, 3]), st.zeros([2]), st.ones([3]), { training: true }),
    /batchNorm/,
    /running_mean has shape \[2\]/,
  );
});

test('BatchNorm without running statistics uses batch statistics in eval too', () => {
  const bn = new nn.BatchNorm1d(2, { trackRunningStats: false, dtype: 'float64' });
  assert.deepEqual(Object.keys(bn.stateDict()), ['weight', 'bias']);
  assert.equal(bn.runningMean, null);
  bn.eval();
  near(bn.forward(f64(X)), XHAT.flat(), 1e-12);
});

test('BatchNorm: float64 gradient checks in training mode', () => {
  // Through the module: x only (weight and bias are Parameters, which gradcheck cannot perturb).
  const bn1 = new nn.BatchNorm1d(3, { dtype: 'float64' });
  setParam(bn1.weight, [1.5, -0.5, 2]);
  setParam(bn1.bias, [0.1, 0.2, -0.3]);
  gradcheck(
    (x) => bn1.forward(x),
    [
      f64([
        [0.3, -1.2, 0.5],
        [1.1, 0.4, -0.7],
        [-0.6, 0.9, 1.3],
        [0.2, -0.1, 0.8],
      ]),
    ],
    {
      label: 'BatchNorm1d [4, 3]',
    },
  );
  const bn2 = new nn.BatchNorm2d(2, { dtype: 'float64' });
  const x2 = st.randn([2, 2, 2, 3], { dtype: 'float64', generator: new st.Generator(3) });
  gradcheck((x) => bn2.forward(x), [x2], { label: 'BatchNorm2d [2, 2, 2, 3]', fullLimit: 30 });
  // The functional form, with respect to input, weight and bias together, on [N, C, L].
  const x3 = st.randn([3, 2, 2], { dtype: 'float64', generator: new st.Generator(4) });
  gradcheck(
    (x, w, b) => nn.batchNorm(x, null, null, { weight: w, bias: b, training: true }),
    [x3, f64([0.7, -1.3]), f64([0.5, 0.25])],
    { label: 'batchNorm [3, 2, 2]' },
  );
});

test('BatchNorm: stateDict round trip restores identical eval outputs, buffers included', () => {
  const src = new nn.Sequential(new nn.Linear(2, 2), new nn.BatchNorm1d(2));
  setParam((src.layers[1] as st.nn.BatchNorm1d).weight, [2, 3]);
  setParam((src.layers[1] as st.nn.BatchNorm1d).bias, [1, -1]);
  src.forward(st.tensor(X));
  src.forward(st.tensor(X10));
  const state = src.stateDict();
  assert.deepEqual(Object.keys(state).sort(), [
    '0.bias',
    '0.weight',
    '1.bias',
    '1.num_batches_tracked',
    '1.running_mean',
    '1.running_var',
    '1.weight',
  ]);
  assert.equal(state['1.num_batches_tracked']!.item(), 2);

  const dst = new nn.Sequential(new nn.Linear(2, 2), new nn.BatchNorm1d(2));
  dst.loadStateDict(state);
  for (const k of ['1.running_mean', '1.running_var', '1.num_batches_tracked'])
    near(dst.stateDict()[k]!, state[k]!, 0, k);
  src.eval();
  dst.eval();
  const probe = st.tensor([
    [0.5, -1],
    [2, 3],
  ]);
  near(dst.forward(probe), src.forward(probe), 0, 'eval outputs');

  // Strict loading lists a missing buffer by its PyTorch name.
  const partial = { ...state };
  delete partial['1.running_var'];
  throwsStrata(() => dst.loadStateDict(partial), /missing keys: 1\.running_var/);
});

// ---------------------------------------------------------------------------------------------------
// LayerNorm
// ---------------------------------------------------------------------------------------------------

test('LayerNorm: hand values over the last axis and over two axes', () => {
  const ln = new nn.LayerNorm(3, { dtype: 'float64' });
  assert.deepEqual(Object.keys(ln.stateDict()), ['weight', 'bias']);
  // row 0: 1 2 3 → mean 2, deviations -1 0 1, biased var 2/3
  // row 1: 2 4 6 → mean 4, deviations -2 0 2, biased var 8/3
  const x = f64([
    [1, 2, 3],
    [2, 4, 6],
  ]);
  const r0 = 1 / Math.sqrt(2 / 3 + EPS);
  const r1 = 2 / Math.sqrt(8 / 3 + EPS);
  near(ln.forward(x), [-r0, 0, r0, -r1, 0, r1], 1e-12, 'plain');
  // weight [1, 2, 3], bias [0, 0, 1]: elementwise over the normalised axis
  setParam(ln.weight, [1, 2, 3]);
  setParam(ln.bias, [0, 0, 1]);
  near(ln.forward(x), [-r0, 0, 3 * r0 + 1, -r1, 0, 3 * r1 + 1], 1e-12, 'affine');
  // eval changes nothing
  ln.eval();
  near(ln.forward(x), [-r0, 0, 3 * r0 + 1, -r1, 0, 3 * r1 + 1], 1e-12, 'eval');

  // normalizedShape [2, 2] on [1, 2, 2]: 1 3 5 7 → mean 4, biased var 5
  const ln2 = new nn.LayerNorm([2, 2], { elementwiseAffine: false, dtype: 'float64' });
  assert.equal(ln2.parameters().length, 0);
  near(
    ln2.forward(
      f64([
        [
          [1, 3],
          [5, 7],
        ],
      ]),
    ),
    [-3, -1, 1, 3].map((v) => v / Math.sqrt(5 + EPS)),
    1e-12,
  );
  throwsStrata(() => ln.forward(st.zeros([2, 4])), /LayerNorm/, /\[3\]/, /\[2, 4\]/);
  throwsStrata(() => ln2.forward(st.zeros([2, 3])), /LayerNorm/, /\[2, 2\]/, /\[2, 3\]/);
  throwsStrata(() => new nn.LayerNorm([]), /LayerNorm/, /normalizedShape/);
});

test('LayerNorm: float64 gradient checks', () => {
  const ln = new nn.LayerNorm([2, 3], { dtype: 'float64' });
  setParam(ln.weight, [
    [1, 2, -1],
    [0.5, 1.5, 3],
  ]);
  const x = st.randn([2, 2, 3], { dtype: 'float64', generator: new st.Generator(5) });
  gradcheck((t) => ln.forward(t), [x], { label: 'LayerNorm [2, 2, 3]' });
  gradcheck(
    (t, w, b) => nn.layerNorm(t, [4], { weight: w, bias: b }),
    [
      st.randn([3, 4], { dtype: 'float64', generator: new st.Generator(6) }),
      f64([1, -2, 0.5, 3]),
      f64([0, 1, -1, 2]),
    ],
    { label: 'layerNorm [3, 4]' },
  );
});

// ---------------------------------------------------------------------------------------------------
// Dropout
// ---------------------------------------------------------------------------------------------------

test('Dropout: identity in eval mode, p = 0 identity, p = 1 zeros', () => {
  const x = st.tensor([
    [1, -2, 3],
    [4, 5, -6],
  ]);
  const d = new nn.Dropout(0.5);
  assert.equal(d.p, 0.5);
  assert.equal(new nn.Dropout().p, 0.5);
  d.eval();
  near(d.forward(x), x, 0, 'eval');
  near(nn.dropout(x, 0.5, false), x, 0, 'functional eval');
  near(new nn.Dropout(0).forward(x), x, 0, 'p = 0');
  near(new nn.Dropout(1).forward(x), [0, 0, 0, 0, 0, 0], 0, 'p = 1');
  near(nn.dropout(x, 1), [0, 0, 0, 0, 0, 0], 0, 'functional p = 1');
});

test('Dropout: zeroes about p of a big tensor, scales survivors by 1/(1-p), keeps the mean', () => {
  const n = 100_000;
  const p = 0.3;
  const d = new nn.Dropout(p, { generator: new st.Generator(11) });
  const y = flat(d.forward(st.ones([n])));
  const zeros = y.filter((v) => v === 0).length;
  // Zero fraction ~ Binomial(n, 0.3)/n: sd sqrt(0.21/n) ≈ 0.0015, so ±0.01 is ~7 sd.
  assert.ok(Math.abs(zeros / n - p) < 0.01, `zero fraction ${zeros / n}`);
  // Survivors are 1/(1 - 0.3) = 1.428571…
  for (const v of y) if (v !== 0) assert.ok(Math.abs(v - 1 / 0.7) < 1e-6, `survivor ${v}`);
  // E[y] = 0.7 · 1/0.7 = 1; sd of the mean sqrt((1/0.7 - 1)/n) ≈ 0.002, so ±0.015 is ~7 sd.
  const mean = y.reduce((a, b) => a + b, 0) / n;
  assert.ok(Math.abs(mean - 1) < 0.015, `mean ${mean}`);
});

test('Dropout: the gradient is the mask scaled by 1/(1-p)', () => {
  const x = st.ones([1000], { requiresGrad: true });
  const y = nn.dropout(x, 0.5, true, new st.Generator(2));
  y.sum().backward();
  // dy/dx = mask / (1 - 0.5) = 0 or 2, exactly where y is
  near(x.grad!, y.detach(), 0);
  assert.ok(flat(y).every((v) => v === 0 || v === 2));
});

test('Dropout: the same seed gives the same mask, through the default generator too', () => {
  const x = st.ones([64]);
  const a = nn.dropout(x, 0.5, true, new st.Generator(7));
  const b = nn.dropout(x, 0.5, true, new st.Generator(7));
  const c = nn.dropout(x, 0.5, true, new st.Generator(8));
  near(a, b, 0, 'same seed');
  assert.notDeepEqual(flat(a), flat(c));
  // The module draws from the global generator by default, so manualSeed fixes its masks.
  const d = new nn.Dropout(0.5);
  st.manualSeed(123);
  const m1 = flat(d.forward(x));
  const m2 = flat(d.forward(x)); // the generator has moved on: a new mask
  st.manualSeed(123);
  assert.deepEqual(flat(d.forward(x)), m1);
  assert.notDeepEqual(m1, m2);
});

test('Dropout: p outside [0, 1] is an error', () => {
  for (const p of [-0.1, 1.5, Number.NaN]) {
    throwsStrata(() => new nn.Dropout(p), /Dropout/, /\[0, 1\]/);
    throwsStrata(() => new nn.Dropout2d(p), /Dropout2d/, /\[0, 1\]/);
    throwsStrata(() => nn.dropout(st.ones([2]), p), /dropout/, /\[0, 1\]/);
  }
  throwsStrata(() => nn.dropout(st.ones([2]), 2, false), /dropout/); // even outside training
});

test('Dropout2d: zeroes whole channels of [N, C, H, W] and [N, C, L]', () => {
  const d = new nn.Dropout2d(0.5, { generator: new st.Generator(9) });
  const y = d.forward(st.ones([4, 8, 3, 3]));
  // Each of the 32 channels is all 0 or all 2 (= 1/(1 - 0.5)).
  const values = flat(y);
  let dropped = 0;
  for (let ch = 0; ch < 32; ch++) {
    const block = values.slice(ch * 9, ch * 9 + 9);
    assert.ok(block.every((v) => v === 0) || block.every((v) => v === 2), `channel ${ch}: [${block}]`);
    if (block[0] === 0) dropped++;
  }
  assert.ok(dropped > 0 && dropped < 32, `${dropped} of 32 channels dropped`);
  const y3 = flat(nn.dropout2d(st.ones([3, 5, 4]), 0.5, true, new st.Generator(10)));
  for (let ch = 0; ch < 15; ch++) {
    const block = y3.slice(ch * 4, ch * 4 + 4);
    assert.ok(new Set(block).size === 1, `[N, C, L] channel ${ch}: [${block}]`);
  }
  d.eval();
  near(d.forward(st.ones([1, 2, 2, 2])), st.ones([8]), 0, 'eval');
  throwsStrata(() => d.forward(st.ones([4, 8])), /Dropout2d/, /\[4, 8\]/);
});

// ---------------------------------------------------------------------------------------------------
// Regularisation
// ---------------------------------------------------------------------------------------------------

test('l2Penalty and l1Penalty: values and gradients', () => {
  const a = f64([1, -2], true);
  const b = f64([[3], [-4]], true);
  // l2 = 0.1 · (1 + 4 + 9 + 16) = 3; gradient 2 · 0.1 · w
  const l2 = nn.l2Penalty([a, b], 0.1);
  assert.deepEqual(l2.shape, []);
  near(l2, 3, 1e-12, 'l2');
  l2.backward();
  near(a.grad!, [0.2, -0.4], 1e-12, 'l2 grad a');
  near(b.grad!, [0.6, -0.8], 1e-12, 'l2 grad b');

  // l1 = 0.1 · (1 + 2 + 3 + 4) = 1; gradient 0.1 · sign(w), 0 at w = 0
  const c = f64([1, -2, 0], true);
  const d = f64([[3], [-4]], true);
  const l1 = nn.l1Penalty([c, d], 0.1);
  near(l1, 1, 1e-12, 'l1');
  l1.backward();
  near(c.grad!, [0.1, -0.1, 0], 1e-12, 'l1 grad c');
  near(d.grad!, [0.1, -0.1], 1e-12, 'l1 grad d');

  // Added to a loss through a model's parameters
  const lin = new nn.Linear(2, 1);
  setParam(lin.weight, [[0.5, -1]]);
  setParam(lin.bias, [2]);
  // 0.01 · (0.25 + 1 + 4) = 0.0525
  near(nn.l2Penalty(lin.parameters(), 0.01), 0.0525, 1e-7, 'module l2');
  near(nn.l2Penalty([], 0.01), 0, 0, 'empty');
  throwsStrata(() => nn.l2Penalty([a], -1), /l2Penalty/, /lambda/);
  throwsStrata(() => nn.l1Penalty([a], Number.NaN), /l1Penalty/, /lambda/);
});

test('maxNorm_: rescales only the units above the limit to exactly the limit', () => {
  // Rows (units of a Linear weight [out, in]): norms 5, 1, 10; limit 2.
  //   [3, 4]·2/5 = [1.2, 1.6]; [0.6, 0.8] stays (norm 1 ≤ 2); [6, 8]·2/10 = [1.2, 1.6]
  const lin = new nn.Linear(2, 3);
  setParam(lin.weight, [
    [3, 4],
    [0.6, 0.8],
    [6, 8],
  ]);
  const storage = lin.weight.data;
  const out = nn.maxNorm_(lin.weight, 2);
  assert.equal(out, lin.weight);
  assert.equal(lin.weight.data, storage);
  assert.equal(lin.weight.gradFn, null);
  near(lin.weight, [1.2, 1.6, 0.6, 0.8, 1.2, 1.6], 1e-6);

  // float64: the norms of the rescaled rows are the limit to rounding
  const w = f64([
    [3, 4],
    [0.6, 0.8],
    [0, 0],
    [-6, 8],
  ]);
  nn.maxNorm_(w, 2);
  near(w, [1.2, 1.6, 0.6, 0.8, 0, 0, -1.2, 1.6], 1e-15);
  const norms = [0, 1, 2, 3].map((r) => Math.hypot(w.at(r, 0), w.at(r, 1)));
  near(norms, [2, 1, 0, 2], 1e-15, 'norms');

  // axis 1: per column. Columns [3, 4] (norm 5) → [1.2, 1.6]; [0, 1] stays.
  const cols = f64([
    [3, 0],
    [4, 1],
  ]);
  nn.maxNorm_(cols, 2, 1);
  near(cols, [1.2, 0, 1.6, 1], 1e-15);

  // A conv weight [out, in, kH, kW]: one norm per filter (over in·kH·kW). Filter 0: four 2s, norm 4 → 1s.
  const conv = st.full([2, 1, 2, 2], 2, { dtype: 'float64' });
  st.noGrad(() => conv.narrow(0, 1, 1).copy_(st.full([1, 1, 2, 2], 0.5, { dtype: 'float64' }))); // norm 1
  nn.maxNorm_(conv, 2);
  near(conv, [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5], 1e-15);

  throwsStrata(() => nn.maxNorm_(w, 0), /maxNorm_/, /positive/);
  throwsStrata(() => nn.maxNorm_(w, 1, 2), /maxNorm_/, /axis 2/);
});

test('groupNorm and instanceNorm: float64 gradient checks to second order, input, weight and bias together', () => {
  const g = new st.Generator(5);
  const x = st.randn([2, 4, 3], { dtype: 'float64', generator: g });
  const w = st.randn([4], { dtype: 'float64', generator: g });
  const b = st.randn([4], { dtype: 'float64', generator: g });
  const gn = (x: Tensor, w: Tensor, b: Tensor) => nn.groupNorm(x, 2, { weight: w, bias: b });
  gradcheck(gn, [x, w, b], { label: 'groupNorm [2, 4, 3], 2 groups' });
  gradgradcheck(gn, [x, w, b], { label: 'groupNorm, second order' });
  const inorm = (x: Tensor, w: Tensor, b: Tensor) => nn.instanceNorm(x, { weight: w, bias: b });
  gradcheck(inorm, [x, w, b], { label: 'instanceNorm [2, 4, 3]' });
  gradgradcheck(inorm, [x, w, b], { label: 'instanceNorm, second order' });
});
