/**
 * nn: Module bookkeeping, layers, activations, losses and initialisers, each checked against values
 * worked out by hand or in closed form (the arithmetic is in the comments). No expected value here is
 * computed with the code under test.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as st from '../src/index.js';

const { nn } = st;
type Tensor = st.Tensor;

const LN2 = Math.LN2;
const LN3 = Math.log(3);
const LN4 = Math.log(4);
const LN6 = Math.log(6);

/** A float64 tensor, so that closed forms can be compared to ~1e-12. */
import { f64, flat, near, setParam, throwsStrata } from './assertions.js';

// ---------------------------------------------------------------------------------------------------
// Module
// ---------------------------------------------------------------------------------------------------

class TwoLayer extends nn.Module {
  scale = new nn.Parameter(st.ones([1]));
  fc1 = new nn.Linear(2, 3);
  act = new nn.Tanh();
  fc2 = new nn.Linear(3, 1);
  forward(x: Tensor): Tensor {
    return this.fc2.forward(this.act.forward(this.fc1.forward(x))).mul(this.scale);
  }
}

test('Module finds parameters in declaration order, own parameters first (as named_parameters)', () => {
  const m = new TwoLayer();
  assert.deepEqual(
    m.namedParameters().map(([n]) => n),
    ['scale', 'fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'],
  );
  assert.deepEqual(
    m.namedParameters().map(([, p]) => p.shape),
    [[1], [3, 2], [3], [1, 3], [1]],
  );
  assert.ok(m.parameters().every((p) => p instanceof nn.Parameter && p.requiresGrad));
  // 1 + (3·2 + 3) + (1·3 + 1) = 1 + 9 + 4 = 14
  assert.equal(m.numParameters(), 14);
  assert.deepEqual(
    m.namedModules().map(([n]) => n),
    ['', 'fc1', 'act', 'fc2'],
  );
});

test('Sequential names its children 0, 1, 2, ... (activations hold no parameters)', () => {
  const seq = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU(), new nn.Linear(3, 2));
  assert.deepEqual(
    seq.namedParameters().map(([n]) => n),
    ['0.weight', '0.bias', '2.weight', '2.bias'],
  );
  // (3·4 + 3) + (2·3 + 2) = 15 + 8 = 23
  assert.equal(seq.numParameters(), 23);
  assert.deepEqual(Object.keys(seq.stateDict()), ['0.weight', '0.bias', '2.weight', '2.bias']);
});

class Encoder extends nn.Module {
  layers = new nn.Sequential(new nn.Linear(2, 4), new nn.Tanh(), new nn.Linear(4, 4));
  forward(x: Tensor): Tensor {
    return this.layers.forward(x);
  }
}

class EncoderHeads extends nn.Module {
  encoder = new Encoder();
  heads = [new nn.Linear(4, 1), new nn.Linear(4, 2, { bias: false })];
  forward(x: Tensor): Tensor {
    const h = this.encoder.forward(x);
    return st.concat(
      this.heads.map((head) => head.forward(h)),
      1,
    );
  }
}

test('nested modules get dotted names through a Sequential field and an array of modules', () => {
  const m = new EncoderHeads();
  assert.deepEqual(
    m.namedParameters().map(([n]) => n),
    [
      'encoder.layers.0.weight',
      'encoder.layers.0.bias',
      'encoder.layers.2.weight',
      'encoder.layers.2.bias',
      'heads.0.weight',
      'heads.0.bias',
      'heads.1.weight',
    ],
  );
  assert.deepEqual(
    m.namedModules().map(([n]) => n),
    [
      '',
      'encoder',
      'encoder.layers',
      'encoder.layers.0',
      'encoder.layers.1',
      'encoder.layers.2',
      'heads.0',
      'heads.1',
    ],
  );
  // (4·2 + 4) + (4·4 + 4) + (1·4 + 1) + (2·4) = 12 + 20 + 5 + 8 = 45
  assert.equal(m.numParameters(), 45);
  assert.deepEqual(m.forward(st.zeros([5, 2])).shape, [5, 3]);
});

test('a shared module or parameter is counted once', () => {
  class Tied extends nn.Module {
    a = new nn.Linear(3, 3);
    b = this.a; // the same module under a second name
    out = new nn.Linear(3, 3, { bias: false });
    constructor() {
      super();
      this.out.weight = this.a.weight; // weight tying across modules
    }
    forward(x: Tensor): Tensor {
      return this.out.forward(this.b.forward(this.a.forward(x)));
    }
  }
  const m = new Tied();
  assert.deepEqual(
    m.namedParameters().map(([n]) => n),
    ['a.weight', 'a.bias'],
  );
  // 3·3 + 3 = 12, not 12 + 12 + 9
  assert.equal(m.numParameters(), 12);
  assert.equal(new Set(m.parameters()).size, m.parameters().length);
});

test('train() and eval() set the mode recursively; zeroGrad clears every gradient', () => {
  const m = new EncoderHeads();
  assert.ok(m.modules().every((x) => x.training));
  assert.equal(m.eval(), m);
  assert.ok(m.modules().every((x) => !x.training));
  assert.equal(m.modules().length, 8);
  m.train();
  assert.ok(m.modules().every((x) => x.training));
  m.train(false);
  assert.ok(m.modules().every((x) => !x.training));

  m.forward(st.ones([2, 2]))
    .sum()
    .backward();
  assert.ok(m.parameters().every((p) => p.grad !== null));
  m.zeroGrad();
  assert.ok(m.parameters().every((p) => p.grad === null));
});

test('stateDict round trip restores identical outputs; loaded values are copies', () => {
  st.manualSeed(1);
  const a = new EncoderHeads();
  st.manualSeed(2);
  const b = new EncoderHeads();
  const x = st.tensor([
    [0.5, -1],
    [2, 0.25],
    [-3, 1.5],
  ]);
  assert.notDeepEqual(a.forward(x).toArray(), b.forward(x).toArray());
  const sd = a.stateDict();
  assert.deepEqual(
    Object.keys(sd),
    a.namedParameters().map(([n]) => n),
  );
  const result = b.loadStateDict(sd);
  assert.deepEqual(result, { missing: [], unexpected: [] });
  assert.deepEqual(b.forward(x).toArray(), a.forward(x).toArray());
  // b got copies: changing a afterwards leaves b alone.
  const before = b.forward(x).toArray();
  setParam(a.encoder.layers.layers[0]!.parameters()[0]!, [
    [9, 9],
    [9, 9],
    [9, 9],
    [9, 9],
  ]);
  assert.deepEqual(b.forward(x).toArray(), before);
  assert.notDeepEqual(a.forward(x).toArray(), before);
});

test('strict loadStateDict lists every missing, unexpected and mis-shaped key in one error and changes nothing', () => {
  const m = new TwoLayer(); // scale [1], fc1.weight [3, 2], fc1.bias [3], fc2.weight [1, 3], fc2.bias [1]
  const before = m.parameters().map((p) => p.toArray());
  const state: Record<string, Tensor> = {
    scale: st.full([1], 7),
    'fc1.weight': st.zeros([2, 2]), // mis-shaped: model [3, 2]
    'fc2.weight': st.zeros([3, 1]), // mis-shaped: model [1, 3]
    // fc1.bias and fc2.bias missing
    'fc3.weight': st.zeros([1, 1]), // unexpected
    'encoder.bias': st.zeros([2]), // unexpected
  };
  throwsStrata(
    () => m.loadStateDict(state),
    /loadStateDict/,
    /missing/,
    /fc1\.bias/,
    /fc2\.bias/,
    /unexpected/,
    /fc3\.weight/,
    /encoder\.bias/,
    /fc1\.weight/,
    /fc2\.weight/,
    /\[3, 2\]/,
    /\[2, 2\]/,
    /\[1, 3\]/,
    /\[3, 1\]/,
  );
  // Nothing changed, not even the key that fitted (scale).
  assert.deepEqual(
    m.parameters().map((p) => p.toArray()),
    before,
  );
});

test('non-strict loadStateDict loads what fits and reports the rest; mis-shaped keys still fail', () => {
  const m = new TwoLayer();
  const out = m.loadStateDict(
    { scale: st.full([1], 7), 'fc2.bias': st.full([1], -2), extra: st.zeros([2]) },
    { strict: false },
  );
  assert.deepEqual(out, { missing: ['fc1.weight', 'fc1.bias', 'fc2.weight'], unexpected: ['extra'] });
  near(m.scale, [7]);
  near(m.fc2.bias!, [-2]);
  throwsStrata(() => m.loadStateDict({ scale: st.zeros([2]) }, { strict: false }), /scale/, /\[1\]/, /\[2\]/);
});

test('buffers appear in stateDict with dotted names, are not parameters, and load back', () => {
  class Norm extends nn.Module {
    gain = new nn.Parameter(st.ones([3]));
    constructor() {
      super();
      this.registerBuffer('runningMean', st.zeros([3]));
    }
    forward(x: Tensor): Tensor {
      return x.sub(this.getBuffer('runningMean')).mul(this.gain);
    }
  }
  class Net extends nn.Module {
    fc = new nn.Linear(3, 3);
    norm = new Norm();
    constructor() {
      super();
      this.registerBuffer('steps', st.zeros([1]));
    }
    forward(x: Tensor): Tensor {
      return this.norm.forward(this.fc.forward(x));
    }
  }
  const a = new Net();
  assert.deepEqual(Object.keys(a.stateDict()).sort(), [
    'fc.bias',
    'fc.weight',
    'norm.gain',
    'norm.runningMean',
    'steps',
  ]);
  assert.deepEqual(
    a.namedParameters().map(([n]) => n),
    ['fc.weight', 'fc.bias', 'norm.gain'],
  );
  assert.deepEqual(
    a.namedBuffers().map(([n]) => n),
    ['steps', 'norm.runningMean'],
  );
  st.noGrad(() => a.norm.getBuffer('runningMean').copy_(st.tensor([1, 2, 3])));
  const b = new Net();
  b.loadStateDict(a.stateDict());
  near(b.norm.getBuffer('runningMean'), [1, 2, 3]);
  throwsStrata(() => b.getBuffer('nope'), /nope/);
  // A missing buffer is a missing key like any other.
  const partial = { ...a.stateDict() };
  delete partial['norm.runningMean'];
  throwsStrata(() => b.loadStateDict(partial), /missing/, /norm\.runningMean/);
});

// ---------------------------------------------------------------------------------------------------
// Linear, Identity, Flatten
// ---------------------------------------------------------------------------------------------------

test('Linear computes x Wᵀ + b (hand values) and its gradients', () => {
  const lin = new nn.Linear(2, 3);
  setParam(lin.weight, [
    [1, 2],
    [3, 4],
    [5, 6],
  ]);
  setParam(lin.bias!, [0.5, -1, 2]);
  const x = st.tensor(
    [
      [1, -1],
      [2, 0.5],
    ],
    { requiresGrad: true },
  );
  const y = lin.forward(x);
  // row 0: [1·1 + 2·(-1) + 0.5, 3·1 + 4·(-1) - 1, 5·1 + 6·(-1) + 2] = [-0.5, -2, 1]
  // row 1: [1·2 + 2·0.5 + 0.5, 3·2 + 4·0.5 - 1, 5·2 + 6·0.5 + 2] = [3.5, 7, 15]
  assert.deepEqual(y.shape, [2, 3]);
  near(y, [-0.5, -2, 1, 3.5, 7, 15]);
  // d(sum y)/dW[o][i] = Σ_n x[n][i] = [1 + 2, -1 + 0.5] = [3, -0.5] for every o; d/db = N = 2;
  // d/dx[n][i] = Σ_o W[o][i] = [1 + 3 + 5, 2 + 4 + 6] = [9, 12].
  y.sum().backward();
  near(lin.weight.grad!, [3, -0.5, 3, -0.5, 3, -0.5]);
  near(lin.bias!.grad!, [2, 2, 2]);
  near(x.grad!, [9, 12, 9, 12]);
  // A single vector and extra leading axes work too.
  near(lin.forward(st.tensor([1, -1])), [-0.5, -2, 1]);
  assert.deepEqual(lin.forward(st.zeros([4, 5, 2])).shape, [4, 5, 3]);
});

test('Linear without bias has only a weight', () => {
  const lin = new nn.Linear(3, 2, { bias: false });
  assert.equal(lin.bias, null);
  assert.deepEqual(
    lin.namedParameters().map(([n]) => n),
    ['weight'],
  );
  setParam(lin.weight, [
    [1, 0, -1],
    [2, 2, 2],
  ]);
  // [1 - 3, 2·(1 + 2 + 3)] = [-2, 12]
  near(lin.forward(st.tensor([[1, 2, 3]])), [-2, 12]);
});

test('Linear default init: weight and bias ~ U(±1/sqrt(in)), roughly uniform', () => {
  st.manualSeed(7);
  const lin = new nn.Linear(400, 300);
  const bound = 1 / Math.sqrt(400); // 0.05
  const w = flat(lin.weight);
  const b = flat(lin.bias!);
  const maxOf = (v: number[]) => v.reduce((m, x) => Math.max(m, x), -Infinity);
  const minOf = (v: number[]) => v.reduce((m, x) => Math.min(m, x), Infinity);
  assert.ok(maxOf(w) <= bound && minOf(w) >= -bound, 'weights within the bound');
  assert.ok(maxOf(b) <= bound && minOf(b) >= -bound, 'biases within the bound');
  // The extremes come close to the bound (a uniform sample of 120 000 fills its range).
  assert.ok(maxOf(w) > 0.99 * bound && minOf(w) < -0.99 * bound);
  // Uniform on [-a, a]: mean 0, variance a²/3, and each quarter of the range holds 1/4 of the values.
  const n = w.length;
  const mean = w.reduce((s, v) => s + v, 0) / n;
  const variance = w.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
  assert.ok(Math.abs(mean) < 0.001, `mean ${mean}`);
  assert.ok(Math.abs(variance / (bound ** 2 / 3) - 1) < 0.02, `variance ${variance} vs ${bound ** 2 / 3}`);
  const bins = [0, 0, 0, 0];
  for (const v of w) bins[Math.min(3, Math.floor(((v + bound) / (2 * bound)) * 4))]!++;
  for (const c of bins) assert.ok(Math.abs(c / n - 0.25) < 0.01, `bins ${bins}`);
  // The bias spreads over its range too (300 values).
  assert.ok(maxOf(b) > 0.8 * bound && minOf(b) < -0.8 * bound);
});

test('Linear rejects a wrong input size, naming Linear and the shape', () => {
  const lin = new nn.Linear(3, 2);
  throwsStrata(() => lin.forward(st.zeros([2, 4])), /Linear/, /\[2, 4\]/, /3/);
  throwsStrata(() => lin.forward(st.zeros([4])), /Linear/, /\[4\]/);
  throwsStrata(() => new nn.Linear(0, 2), /Linear/, /inFeatures/);
  throwsStrata(() => new nn.Linear(2, 1.5), /Linear/, /outFeatures/);
});

test('Identity returns its input; Flatten merges all but the batch axis by default', () => {
  const x = st.arange(24).reshape([2, 3, 4]);
  assert.equal(new nn.Identity().forward(x), x);
  assert.deepEqual(new nn.Flatten().forward(x).shape, [2, 12]);
  assert.deepEqual(new nn.Flatten(0, 1).forward(x).shape, [6, 4]);
  assert.deepEqual(
    flat(new nn.Flatten().forward(x)),
    Array.from({ length: 24 }, (_, i) => i),
  );
  assert.equal(new nn.Flatten().numParameters(), 0);
});

// ---------------------------------------------------------------------------------------------------
// Activations against closed forms
// ---------------------------------------------------------------------------------------------------

test('ReLU and LeakyReLU', () => {
  const x = f64([-2, -0.5, 0, 0.5, 2]);
  near(new nn.ReLU().forward(x), [0, 0, 0, 0.5, 2], 0);
  // slope 0.1: [-0.2, -0.05, 0, 0.5, 2]
  near(new nn.LeakyReLU(0.1).forward(x), [-0.2, -0.05, 0, 0.5, 2], 1e-15);
  // default slope 0.01: [-0.02, -0.005, 0, 0.5, 2]
  near(new nn.LeakyReLU().forward(x), [-0.02, -0.005, 0, 0.5, 2], 1e-15);
});

test('Sigmoid and Tanh at points with closed forms, saturating without NaN', () => {
  // σ(0) = 1/2; σ(ln 3) = 1/(1 + 1/3) = 3/4; σ(-ln 3) = 1/(1 + 3) = 1/4; σ(±1000) = 1, 0.
  near(new nn.Sigmoid().forward(f64([0, LN3, -LN3, 1000, -1000])), [0.5, 0.75, 0.25, 1, 0], 1e-15);
  near(new nn.Sigmoid().forward(st.tensor([1000, -1000])), [1, 0], 0);
  // tanh(ln 2) = (2 - 1/2)/(2 + 1/2) = 1.5/2.5 = 0.6; tanh(±1000) = ±1.
  near(new nn.Tanh().forward(f64([0, LN2, -LN2, 1000, -1000])), [0, 0.6, -0.6, 1, -1], 1e-15);
});

test('Softplus: log(1 + e^x), the threshold branch, and large negative inputs', () => {
  const sp = new nn.Softplus();
  // softplus(0) = ln 2; softplus(ln 3) = ln 4; softplus(-ln 3) = ln(1 + 1/3) = ln(4/3).
  near(sp.forward(f64([0, LN3, -LN3])), [LN2, LN4, Math.log(4 / 3)], 1e-15);
  // softplus(-5) = ln(1 + e^-5) = 0.006715348489117967.
  near(sp.forward(f64([-5])), [Math.log1p(Math.exp(-5))], 1e-15);
  // Above the threshold (20) it returns x itself: softplus(25) = 25 exactly, 1000 without overflow.
  near(sp.forward(f64([25, 1000])), [25, 1000], 0);
  // At x = 20 (not above the threshold): 20 + ln(1 + e^-20) = 20 + 2.0611536e-9.
  near(sp.forward(f64([20])), [20 + Math.log1p(Math.exp(-20))], 1e-12);
  // Large negative: ln(1 + e^-1000) underflows to 0, with no overflow on the way (e^1000 = inf).
  const x = st.tensor([-1000, -100], { requiresGrad: true });
  const y = sp.forward(x);
  near(y, [0, 0], 1e-30);
  // Its gradient σ(x) is finite there too: σ(-1000) = σ(-100) = 0 (to float32).
  y.sum().backward();
  near(x.grad!, [0, 0], 1e-30);
  // β = 2: softplus(x) = ln(1 + e^(2x))/2; at x = ln 3 / 2, e^(2x) = 3, so ln 4 / 2 = ln 2.
  // The threshold is in units of βx: at x = 15, βx = 30 > 20, so it returns 15 exactly.
  near(new nn.Softplus(2).forward(f64([LN3 / 2, 15])), [LN2, 15], 1e-15);
});

test('Softplus gradient is σ(βx) everywhere, including x = 0', () => {
  // d/dx ln(1 + e^x) = σ(x): at [-ln 3, 0, ln 3, 25] → [1/4, 1/2, 3/4, 1 (threshold branch: d/dx x)].
  const x = f64([-LN3, 0, LN3, 25], true);
  new nn.Softplus().forward(x).sum().backward();
  near(x.grad!, [0.25, 0.5, 0.75, 1], 1e-15);
});

test('ELU: x above 0, α(e^x - 1) below', () => {
  // α = 1: elu(-ln 2) = 1/2 - 1 = -1/2; elu(2) = 2; elu(-1000) = -1.
  near(new nn.ELU().forward(f64([-LN2, 0, 2, -1000])), [-0.5, 0, 2, -1], 1e-15);
  // α = 2: elu(-ln 2) = 2 · (-1/2) = -1; elu(-ln 4) = 2 · (1/4 - 1) = -1.5.
  near(new nn.ELU(2).forward(f64([-LN2, -LN4, 3])), [-1, -1.5, 3], 1e-15);
  // Large positive inputs do not overflow the unused branch.
  near(new nn.ELU().forward(st.tensor([1000])), [1000], 0);
});

test('GELU is the exact x·Φ(x) (erf form)', () => {
  // Φ(1) = 0.8413447460685429, Φ(2) = 0.9772498680518208 (standard normal CDF tables);
  // gelu(-x) = -x·Φ(-x) = -x·(1 - Φ(x)), so gelu(-1) = -(1 - 0.8413447460685429) = -0.15865525393145707.
  near(
    new nn.GELU().forward(f64([1, -1, 2, 0])),
    [0.8413447460685429, -0.15865525393145707, 2 * 0.9772498680518208, 0],
    1e-14,
  );
  // float32: within float32 precision.
  near(new nn.GELU().forward(st.tensor([1])), [0.8413447460685429], 1e-7);
});

test('activation gradients match their closed-form derivatives', () => {
  // σ'(x) = σ(1 - σ): at ln 3 → 3/4·1/4 = 3/16; at 0 → 1/4.
  const a = f64([LN3, 0], true);
  new nn.Sigmoid().forward(a).sum().backward();
  near(a.grad!, [3 / 16, 1 / 4], 1e-15);
  // tanh'(x) = 1 - tanh²: at ln 2 → 1 - 0.36 = 0.64.
  const b = f64([LN2, 0], true);
  new nn.Tanh().forward(b).sum().backward();
  near(b.grad!, [0.64, 1], 1e-15);
  // gelu'(x) = Φ(x) + x·φ(x); at 1: 0.8413447460685429 + e^(-1/2)/sqrt(2π) = 0.8413447460685429 + 0.24197072451914337.
  const c = f64([1, 0], true);
  new nn.GELU().forward(c).sum().backward();
  near(c.grad!, [0.8413447460685429 + Math.exp(-0.5) / Math.sqrt(2 * Math.PI), 0.5], 1e-14);
  // LeakyReLU: slope below 0, 1 above; PyTorch takes the slope at 0 (x > 0 is false there).
  const d = f64([-1, 0, 2], true);
  new nn.LeakyReLU(0.1).forward(d).sum().backward();
  near(d.grad!, [0.1, 0.1, 1], 1e-15);
  // ReLU: 0 at 0, as PyTorch.
  const r = f64([-1, 0, 2], true);
  new nn.ReLU().forward(r).sum().backward();
  near(r.grad!, [0, 0, 1], 0);
  // ELU, α = 2: 2e^x below 0 (at -ln 2: 2·1/2 = 1), 1 above.
  const e = f64([-LN2, 3], true);
  new nn.ELU(2).forward(e).sum().backward();
  near(e.grad!, [1, 1], 1e-15);
});

test("hard activations: values and gradients at their kinks are PyTorch 1.13's", () => {
  // torch.nn.X()(x).sum().backward(), x = tensor([-3, 3, -1, 1, 0, 6], dtype=float64).
  const grad = (m: st.nn.Module<[Tensor], Tensor>): Tensor => {
    const x = f64([-3, 3, -1, 1, 0, 6], true);
    m.forward(x).sum().backward();
    return x.grad!;
  };
  // Hardswish uses x/3 + 1/2 on the closed interval [-3, 3]: -1/2 and 3/2 at the kinks.
  near(grad(new nn.Hardswish()), [-0.5, 1.5, 0.16666666666666669, 0.8333333333333333, 0.5, 1], 1e-15);
  // PyTorch's float64 hardsigmoid_backward multiplies by a float32 1/6 (0.1666666716337204); this is 1/6.
  near(grad(new nn.Hardsigmoid()), [0, 0, 1 / 6, 1 / 6, 1 / 6, 0], 1e-8);
  near(grad(new nn.ReLU6()), [0, 1, 0, 1, 0, 0], 0);
  near(grad(new nn.Hardtanh()), [0, 0, 0, 0, 1, 0], 0);
  // F.hardswish(tensor([-3.5, -3, -1.3, 0.7, 2.9, 3, 3.2])), x·clamp(x + 3, 0, 6)/6 as PyTorch rounds it.
  const x = [-3.5, -3, -1.3, 0.7, 2.9, 3, 3.2];
  near(
    new nn.Hardswish().forward(f64(x)),
    [0, 0, -0.36833333333333335, 0.43166666666666664, 2.8516666666666666, 3, 3.2000000000000006],
    0,
  );
  near(
    new nn.Hardswish().forward(st.tensor(x)),
    [0, 0, -0.3683333396911621, 0.43166664242744446, 2.8516666889190674, 3, 3.200000047683716],
    0,
  );
});

test('ELU gradient at x = 0 (α = 1: both one-sided derivatives are 1)', () => {
  // d/dx elu(x) = α e^x for x ≤ 0 and 1 for x > 0; with α = 1 the function is C¹ and elu'(0) = 1.
  // PyTorch's elu_backward takes the x ≤ 0 branch at 0: α·e^0 = α (1 here).
  const x = f64([-LN2, 0, 2], true);
  new nn.ELU().forward(x).sum().backward();
  near(x.grad!, [0.5, 1, 1], 1e-15);
});

test('Softmax, LogSoftmax and Softmin want an axis past 2-D, where PyTorch would pick one implicitly', () => {
  const x = st.randn([2, 3, 4]);
  for (const M of [nn.Softmax, nn.LogSoftmax, nn.Softmin]) {
    assert.throws(
      () => new M().forward(x),
      (e: Error) =>
        e instanceof st.StrataError &&
        e.message.includes(`${M.name}: no axis given for a 3-D input`) &&
        e.message.includes('axis 0'),
    );
    assert.throws(() => new M().forward(st.randn([1, 2, 3, 4])), /implicit choice would be axis 1/);
    assert.deepEqual(new M(1).forward(x).shape, [2, 3, 4]);
  }
  // Up to 2-D the default is the last axis, as PyTorch's implicit choice is there.
  near(new nn.Softmax().forward(f64([[0, LN3]])), [1 / 4, 3 / 4], 1e-15);
});

test('Softmax rows sum to 1 and match hand values', () => {
  // Row [0, ln 2, ln 3]: e^x = [1, 2, 3] / 6 = [1/6, 1/3, 1/2]; row [1, 1, 1]: [1/3, 1/3, 1/3].
  const p = new nn.Softmax().forward(
    f64([
      [0, LN2, LN3],
      [1, 1, 1],
    ]),
  );
  near(p, [1 / 6, 1 / 3, 1 / 2, 1 / 3, 1 / 3, 1 / 3], 1e-15);
  near(p.sum(1), [1, 1], 1e-15);
  // Along axis 0: column [0, ln 3] → [1/4, 3/4]; column [0, 0] → [1/2, 1/2].
  near(
    new nn.Softmax(0).forward(
      f64([
        [0, 0],
        [LN3, 0],
      ]),
    ),
    [0.25, 0.5, 0.75, 0.5],
    1e-15,
  );
  // exp(1000) overflows; the shifted form does not: [1000, 0] → [1, e^-1000 = 0], nothing NaN.
  const big = new nn.Softmax().forward(
    st.tensor([
      [1000, 0],
      [-1000, 0],
    ]),
  );
  assert.ok(flat(big).every(Number.isFinite));
  near(big, [1, 0, 0, 1], 1e-7);
});

test('LogSoftmax matches log of hand softmax and is stable at 1000', () => {
  // [0, ln 3] → log([1/4, 3/4]) = [-ln 4, ln 3 - ln 4].
  near(new nn.LogSoftmax().forward(f64([0, LN3])), [-LN4, LN3 - LN4], 1e-15);
  // [1000, 0] → [0 - log(1 + e^-1000), -1000] = [0, -1000], finite.
  const y = new nn.LogSoftmax().forward(st.tensor([[1000, 0]]));
  near(y, [0, -1000], 1e-6);
  assert.ok(flat(y).every(Number.isFinite));
  // Large equal logits in float64: [1000, 1000] → [-ln 2, -ln 2].
  near(new nn.LogSoftmax().forward(f64([1000, 1000])), [-LN2, -LN2], 1e-12);
});

test('softmax, softmin and logSoftmax name themselves when they refuse int32 input or a bad axis', () => {
  // PyTorch 1.13 refuses them too: "softmax_lastdim_kernel_impl" not implemented for 'Long'.
  const ints = st.tensor([1, 2], { dtype: 'int32' });
  const hint = /expected a floating-point tensor, got int32; convert it with x\.cast\('float32'\)/;
  throwsStrata(() => st.softmax(ints), /^softmax: /, hint);
  throwsStrata(() => new nn.Softmax().forward(ints), /^softmax: /, hint);
  throwsStrata(() => st.softmin(ints), /^softmin: /, hint);
  throwsStrata(() => new nn.Softmin().forward(ints), /^softmin: /, hint);
  throwsStrata(() => st.logSoftmax(ints), /^logSoftmax: /, hint);
  throwsStrata(() => st.softmax(f64([1, 2]), 1), /^softmax: /);
  throwsStrata(() => st.softmin(f64([1, 2]), 1), /^softmin: /);
});

test('Softmax and LogSoftmax keep float32 precision for large logits (shift by the max before the log)', () => {
  // PyTorch computes log_softmax as (x - max) - log Σ exp(x - max): for [1000, 1000] that is 0 - ln 2,
  // exact to float32 (~6e-8 at 0.69). Forming logsumexp = 1000 + ln 2 first rounds it to float32's
  // spacing at 1000 (6.1e-5), and that error survives the subtraction.
  const x = st.tensor([
    [1000, 1000],
    [1000, 1000 + 1],
  ]);
  // Row 1: [1000, 1001] → softmax [1/(1 + e), e/(1 + e)] = [0.2689414213699951, 0.7310585786300049].
  const e = Math.E;
  near(new nn.Softmax().forward(x), [0.5, 0.5, 1 / (1 + e), e / (1 + e)], 1e-6);
  near(new nn.LogSoftmax().forward(x), [-LN2, -LN2, -Math.log1p(e), 1 - Math.log1p(e)], 1e-6);
  // Cross-entropy inherits it: logits [1000, 1000], target 0 → ln 2.
  near(nn.crossEntropy(st.tensor([[1000, 1000]]), st.tensor([0], { dtype: 'int32' })), LN2, 1e-6);
});

// ---------------------------------------------------------------------------------------------------
// Losses against hand values
// ---------------------------------------------------------------------------------------------------

test('mseLoss: mean, sum, none and gradient 2(x - y)/N', () => {
  const x = f64([1, 2, 3], true);
  const y = f64([0, 2, 5]);
  // (x - y)² = [1, 0, 4]: sum 5, mean 5/3.
  near(nn.mseLoss(x, y), 5 / 3, 1e-15);
  near(nn.mseLoss(x, y, { reduction: 'sum' }), 5, 1e-15);
  near(nn.mseLoss(x, y, { reduction: 'none' }), [1, 0, 4], 1e-15);
  near(new nn.MSELoss({ reduction: 'sum' }).forward(x, y), 5, 1e-15);
  nn.mseLoss(x, y).backward();
  // 2·[1, 0, -2]/3
  near(x.grad!, [2 / 3, 0, -4 / 3], 1e-15);
  throwsStrata(() => nn.mseLoss(st.zeros([2, 3]), st.zeros([3, 2])), /mseLoss/, /\[2, 3\]/, /\[3, 2\]/);
  throwsStrata(() => nn.mseLoss(x, y, { reduction: 'avg' as st.nn.Reduction }), /reduction/, /avg/);
});

test('bceLoss: hand values; logs clamped at -100 so p = 0 or 1 gives 100, not infinity', () => {
  const p = f64([0.5, 0.8, 0.1]);
  const y = f64([1, 1, 0]);
  // -ln 0.5, -ln 0.8, -ln(1 - 0.1) = [0.6931471805599453, 0.2231435513142097, 0.10536051565782628]
  const each = [-Math.log(0.5), -Math.log(0.8), -Math.log(0.9)];
  near(nn.bceLoss(p, y, { reduction: 'none' }), each, 1e-15);
  near(nn.bceLoss(p, y), (each[0]! + each[1]! + each[2]!) / 3, 1e-15);
  near(new nn.BCELoss({ reduction: 'sum' }).forward(p, y), each[0]! + each[1]! + each[2]!, 1e-15);
  // p = 0 with y = 1 and p = 1 with y = 0: -max(log 0, -100) = 100; the confident right answers give 0.
  near(
    nn.bceLoss(st.tensor([0, 1, 0, 1]), st.tensor([1, 0, 0, 1]), { reduction: 'none' }),
    [100, 100, 0, 0],
    0,
  );
  throwsStrata(() => nn.bceLoss(st.zeros([2]), st.zeros([3])), /bceLoss/, /\[2\]/, /\[3\]/);
});

test('bceLoss gradient: (p - y) / (p (1 - p)) / N, finite where p is exactly 0 or 1', () => {
  // Interior: p = [0.5, 0.8, 0.1], y = [1, 1, 0] → (p - y)/(p(1-p)) = [-0.5/0.25, -0.2/0.16, 0.1/0.09]
  // = [-2, -1.25, 1.1111], divided by N = 3.
  const p = f64([0.5, 0.8, 0.1], true);
  nn.bceLoss(p, f64([1, 1, 0])).backward();
  near(p.grad!, [-2 / 3, -1.25 / 3, 0.1 / 0.09 / 3], 1e-12);
  // A sigmoid saturates to exactly 1 in float32 (σ(20) rounds to 1), so p = 0 or 1 does reach this loss.
  // With the target on the same side, the loss is 0 and flat: PyTorch's gradient is
  // (p - y)/max(p(1-p), 1e-12) = 0/1e-12 = 0. It must at least not be NaN.
  const q = st.tensor([0, 1], { requiresGrad: true });
  nn.bceLoss(q, st.tensor([0, 1])).backward();
  assert.ok(flat(q.grad!).every(Number.isFinite), `gradient at p = [0, 1], y = [0, 1]: [${flat(q.grad!)}]`);
  near(q.grad!, [0, 0], 0);
});

test('bceWithLogits equals BCE of the sigmoid, is stable at |x| = 1000, and weights positives', () => {
  // x = [0, ln 3, -ln 3]: σ = [1/2, 3/4, 1/4]; y = [1, 0, 1] → [-ln 1/2, -ln(1 - 3/4), -ln 1/4] = [ln 2, ln 4, ln 4].
  const x = f64([0, LN3, -LN3]);
  const y = f64([1, 0, 1]);
  near(nn.bceWithLogits(x, y, { reduction: 'none' }), [LN2, LN4, LN4], 1e-15);
  near(nn.bceWithLogits(x, y), (LN2 + 2 * LN4) / 3, 1e-15);
  near(nn.bceWithLogits(x, y), nn.bceLoss(x.sigmoid(), y), 1e-15);
  // |x| = 1000: right answers cost log(1 + e^-1000) = 0, wrong ones cost 1000.
  const big = st.tensor([1000, -1000, 1000, -1000], { requiresGrad: true });
  const l = nn.bceWithLogits(big, st.tensor([1, 0, 0, 1]), { reduction: 'none' });
  near(l, [0, 0, 1000, 1000], 1e-3);
  // d/dx = σ(x) - y = [0, 0, 1, -1] (reduction none, summed).
  l.sum().backward();
  near(big.grad!, [0, 0, 1, -1], 1e-6);
  // posWeight w multiplies the positive term: -(w y log σ(x) + (1 - y) log(1 - σ(x))).
  // x = 0, y = 1, w = 3 → 3 ln 2; x = 0, y = 0 → ln 2; x = ln 3, y = 1, w = 3 → 3 ln(4/3).
  const pw = f64([3]);
  near(
    nn.bceWithLogits(f64([0, 0, LN3]), f64([1, 0, 1]), { reduction: 'none', posWeight: pw }),
    [3 * LN2, LN2, 3 * Math.log(4 / 3)],
    1e-14,
  );
  near(
    new nn.BCEWithLogitsLoss({ reduction: 'sum', posWeight: pw }).forward(f64([0, 0]), f64([1, 0])),
    4 * LN2,
    1e-14,
  );
  throwsStrata(() => nn.bceWithLogits(st.zeros([2]), st.zeros([2, 1])), /bceWithLogits/, /\[2\]/, /\[2, 1\]/);
});

test('bceWithLogits gradient is (σ(x) - y)/N, including x = 0', () => {
  // x = [0, 0, ln 3, -ln 3], y = [1, 0, 0, 1]: σ(x) - y = [1/2 - 1, 1/2, 3/4, 1/4 - 1] = [-0.5, 0.5, 0.75, -0.75];
  // mean over N = 4. Logits are exactly 0 whenever a model starts from zero weights.
  const x = f64([0, 0, LN3, -LN3], true);
  nn.bceWithLogits(x, f64([1, 0, 0, 1])).backward();
  near(x.grad!, [-0.5 / 4, 0.5 / 4, 0.75 / 4, -0.75 / 4], 1e-15);
  // With posWeight w: d/dx = (1 + (w - 1) y)·σ(x) - w·y; at x = 0, y = 1, w = 3 → 3/2 - 3 = -1.5.
  const z = f64([0], true);
  nn.bceWithLogits(z, f64([1]), { posWeight: f64([3]) }).backward();
  near(z.grad!, [-1.5], 1e-15);
});

/*
 * The 2×3 cross-entropy example used below:
 *   row 0: logits [0, ln 2, ln 3] → e^x = [1, 2, 3] → p = [1/6, 2/6, 3/6]; target 2 → -ln(1/2) = ln 2
 *   row 1: logits [ln 4, 0, 0]   → e^x = [4, 1, 1] → p = [4/6, 1/6, 1/6]; target 1 → -ln(1/6) = ln 6
 *   mean = (ln 2 + ln 6)/2 = ln(12)/2, sum = ln 12.
 */
const CE_LOGITS = [
  [0, LN2, LN3],
  [LN4, 0, 0],
];
const CE_PROBS = [
  [1 / 6, 2 / 6, 3 / 6],
  [4 / 6, 1 / 6, 1 / 6],
];
const labels = (v: st.NestedArray): Tensor => st.tensor(v, { dtype: 'int32' });

test('crossEntropy on a 2×3 example worked by hand, in every reduction', () => {
  const x = f64(CE_LOGITS);
  const t = labels([2, 1]);
  near(nn.crossEntropy(x, t, { reduction: 'none' }), [LN2, LN6], 1e-15);
  near(nn.crossEntropy(x, t, { reduction: 'sum' }), LN2 + LN6, 1e-15);
  near(nn.crossEntropy(x, t), (LN2 + LN6) / 2, 1e-15);
  near(new nn.CrossEntropyLoss().forward(x, t), Math.log(12) / 2, 1e-15);
  // float32 logits agree to float32 precision.
  near(nn.crossEntropy(st.tensor(CE_LOGITS), t), Math.log(12) / 2, 1e-6);
});

test('crossEntropy gradient is (softmax - onehot)/N', () => {
  const x = f64(CE_LOGITS, true);
  nn.crossEntropy(x, labels([2, 1])).backward();
  // row 0: ([1/6, 2/6, 3/6] - [0, 0, 1])/2; row 1: ([4/6, 1/6, 1/6] - [0, 1, 0])/2
  near(x.grad!, [1 / 12, 2 / 12, -3 / 12, 4 / 12, -5 / 12, 1 / 12], 1e-15);
});

test('crossEntropy with label smoothing: (1 - ε)·nll + ε/C·Σ_c(-log p_c), gradient softmax - smoothed target', () => {
  const eps = 0.3;
  // row 0: -log p = [ln 6, ln 3, ln 2], Σ = ln 36; target 2 → 0.7·ln 2 + 0.1·ln 36
  // row 1: -log p = [ln(6/4), ln 6, ln 6], Σ = ln 54; target 1 → 0.7·ln 6 + 0.1·ln 54
  const row0 = 0.7 * LN2 + 0.1 * Math.log(36);
  const row1 = 0.7 * LN6 + 0.1 * Math.log(54);
  const x = f64(CE_LOGITS, true);
  const t = labels([2, 1]);
  near(nn.crossEntropy(x, t, { labelSmoothing: eps, reduction: 'none' }), [row0, row1], 1e-14);
  const loss = nn.crossEntropy(x, t, { labelSmoothing: eps });
  near(loss, (row0 + row1) / 2, 1e-14);
  // ε = 1 leaves only the uniform part: mean over rows of ln 36/3 and ln 54/3.
  near(nn.crossEntropy(x, t, { labelSmoothing: 1 }), (Math.log(36) / 3 + Math.log(54) / 3) / 2, 1e-14);
  // Smoothed targets: (1 - ε)·onehot + ε/C = 0.7·onehot + 0.1.
  loss.backward();
  const q = [
    [0.1, 0.1, 0.8],
    [0.1, 0.8, 0.1],
  ];
  near(
    x.grad!,
    CE_PROBS.flatMap((row, i) => row.map((p, c) => (p - q[i]![c]!) / 2)),
    1e-14,
  );
  throwsStrata(
    () => nn.crossEntropy(x, t, { labelSmoothing: 1.5 }),
    /crossEntropy/,
    /labelSmoothing/,
    /1\.5/,
  );
  throwsStrata(() => nn.crossEntropy(x, t, { labelSmoothing: -0.1 }), /labelSmoothing/);
});

test('crossEntropy with ignoreIndex: ignored positions add nothing and the mean counts only the rest', () => {
  const x = f64(CE_LOGITS, true);
  // Row 1 ignored: mean = sum = ln 2 (one position counted); none = [ln 2, 0].
  const t = labels([2, -100]);
  near(nn.crossEntropy(x, t, { ignoreIndex: -100, reduction: 'none' }), [LN2, 0], 1e-15);
  near(nn.crossEntropy(x, t, { ignoreIndex: -100, reduction: 'sum' }), LN2, 1e-15);
  const loss = nn.crossEntropy(x, t, { ignoreIndex: -100 });
  near(loss, LN2, 1e-15);
  // The gradient of the ignored row is 0; the kept row is divided by 1 (the kept count).
  loss.backward();
  near(x.grad!, [1 / 6, 2 / 6, -3 / 6, 0, 0, 0], 1e-15);
  // ignoreIndex may be a real class: targets [2, 1] with ignoreIndex 1 → the same.
  near(nn.crossEntropy(f64(CE_LOGITS), labels([2, 1]), { ignoreIndex: 1 }), LN2, 1e-15);
  // With label smoothing the ignored row is still 0.
  near(
    nn.crossEntropy(f64(CE_LOGITS), t, { ignoreIndex: -100, labelSmoothing: 0.3, reduction: 'none' }),
    [0.7 * LN2 + 0.1 * Math.log(36), 0],
    1e-14,
  );
});

test('crossEntropy with the class axis 1 and an extra axis ([N, C, T])', () => {
  // N = 2, C = 3, T = 2. Column (n, :, t) holds the logits of position (n, t):
  //   (0, t0) = [0, ln 2, ln 3], target 2 → ln 2      (0, t1) = [ln 4, 0, 0], target 1 → ln 6
  //   (1, t0) = [ln 4, 0, 0], target 0 → -ln(4/6) = ln 1.5    (1, t1) = [0, ln 2, ln 3], target 0 → ln 6
  const x = f64([
    [
      [0, LN4],
      [LN2, 0],
      [LN3, 0],
    ],
    [
      [LN4, 0],
      [0, LN2],
      [0, LN3],
    ],
  ]);
  const t = labels([
    [2, 1],
    [0, 0],
  ]);
  const none = nn.crossEntropy(x, t, { reduction: 'none' });
  assert.deepEqual(none.shape, [2, 2]);
  near(none, [LN2, LN6, Math.log(1.5), LN6], 1e-15);
  near(nn.crossEntropy(x, t), (LN2 + LN6 + Math.log(1.5) + LN6) / 4, 1e-15);
  near(nn.nllLoss(x.logSoftmax(1), t, { reduction: 'none' }), [LN2, LN6, Math.log(1.5), LN6], 1e-15);
  throwsStrata(() => nn.crossEntropy(x, labels([2, 1])), /crossEntropy/, /\[2\]/, /\[2, 3, 2\]/);
});

test('crossEntropy gradient with the class axis 1 ([N, C, T]) is (softmax - onehot)/(N·T) in place', () => {
  // N = 1, C = 3, T = 2: column t0 = [0, ln 2, ln 3] with target 2, column t1 = [ln 4, 0, 0] with target 1.
  // Gradient column t0 = ([1/6, 2/6, 3/6] - [0, 0, 1])/2, column t1 = ([4/6, 1/6, 1/6] - [0, 1, 0])/2,
  // laid out as [C, T] rows: [[1/12, 4/12], [2/12, -5/12], [-3/12, 1/12]].
  const x = f64(
    [
      [
        [0, LN4],
        [LN2, 0],
        [LN3, 0],
      ],
    ],
    true,
  );
  nn.crossEntropy(x, labels([[2, 1]])).backward();
  near(x.grad!, [1 / 12, 4 / 12, 2 / 12, -5 / 12, -3 / 12, 1 / 12], 1e-15);
});

test('nllLoss picks -logP[target]; crossEntropy = nllLoss(logSoftmax)', () => {
  const logP = f64([
    [Math.log(0.2), Math.log(0.3), Math.log(0.5)],
    [Math.log(0.6), Math.log(0.1), Math.log(0.3)],
  ]);
  const t = labels([1, 0]);
  // [-ln 0.3, -ln 0.6]
  near(nn.nllLoss(logP, t, { reduction: 'none' }), [-Math.log(0.3), -Math.log(0.6)], 1e-15);
  near(nn.nllLoss(logP, t), -(Math.log(0.3) + Math.log(0.6)) / 2, 1e-15);
  near(new nn.NLLLoss({ reduction: 'sum' }).forward(logP, t), -(Math.log(0.3) + Math.log(0.6)), 1e-15);
  near(nn.nllLoss(logP, labels([1, 0]), { ignoreIndex: 0 }), -Math.log(0.3), 1e-15);
  const x = f64(CE_LOGITS);
  near(nn.nllLoss(x.logSoftmax(1), labels([2, 1])), nn.crossEntropy(x, labels([2, 1])), 1e-15);
});

test('class losses reject bad targets: out of range (naming op, class and position), floats, shapes', () => {
  const x = f64(CE_LOGITS);
  throwsStrata(() => nn.crossEntropy(x, labels([0, 3])), /crossEntropy/, /class 3/, /position 1/, /\[0, 3\)/);
  throwsStrata(() => nn.crossEntropy(x, labels([-1, 0])), /crossEntropy/, /-1/, /position 0/);
  throwsStrata(() => nn.nllLoss(x, labels([5, 0])), /nllLoss/, /5/, /position 0/);
  // -100 is skipped because it is the default ignoreIndex (PyTorch's); with another ignoreIndex it is a class.
  near(nn.crossEntropy(x, labels([-100, 1])), LN6, 1e-15);
  throwsStrata(() => nn.crossEntropy(x, labels([-100, 0]), { ignoreIndex: 5 }), /crossEntropy/, /-100/);
  throwsStrata(() => nn.crossEntropy(x, st.tensor([2, 1])), /crossEntropy/, /int32/, /float32/);
  throwsStrata(() => nn.crossEntropy(x, labels([2, 1, 0])), /crossEntropy/, /\[3\]/, /\[2, 3\]/);
  throwsStrata(() => nn.crossEntropy(f64([1, 2, 3]), labels([0])), /crossEntropy/, /\[3\]/);
});

// ---------------------------------------------------------------------------------------------------
// Initialisers
// ---------------------------------------------------------------------------------------------------

function stats(t: Tensor): { mean: number; std: number; maxAbs: number } {
  const v = flat(t);
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  const variance = v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length;
  const maxAbs = v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  return { mean, std: Math.sqrt(variance), maxAbs };
}

test('calculateGain values (PyTorch calculate_gain)', () => {
  const { calculateGain } = nn.init;
  assert.equal(calculateGain('linear'), 1);
  assert.equal(calculateGain('sigmoid'), 1);
  near(calculateGain('tanh'), 5 / 3, 1e-15);
  near(calculateGain('relu'), Math.sqrt(2), 1e-15);
  // leaky_relu: sqrt(2 / (1 + slope²)), slope 0.01 by default → sqrt(2/1.0001) = 1.4141428569978354
  near(calculateGain('leaky_relu'), 1.4141428569978354, 1e-15);
  near(calculateGain('leaky_relu', 0.2), Math.sqrt(2 / 1.04), 1e-15);
  near(calculateGain('selu'), 0.75, 1e-15);
  throwsStrata(
    () => calculateGain('swish' as st.nn.init.Nonlinearity),
    /calculateGain: unknown nonlinearity "swish": expected one of 'linear', 'conv1d', .*'selu'/,
  );
  // PyTorch 1.13's calculate_gain returns 1 for each of its linear_fns.
  for (const name of [
    'conv1d',
    'conv2d',
    'conv3d',
    'conv_transpose1d',
    'conv_transpose2d',
    'conv_transpose3d',
  ] as const)
    assert.equal(calculateGain(name), 1, name);
  // calculate_gain('leaky_relu', 0) = sqrt(2) = 1.4142135623730951; a non-number slope is refused there too.
  assert.equal(calculateGain('leaky_relu', 0), Math.SQRT2);
  throwsStrata(
    () => calculateGain('leaky_relu', true as unknown as number),
    /calculateGain: leaky_relu's negative slope must be a number, got true/,
  );
});

test('fans follow PyTorch ([out, in, ...kernel])', () => {
  assert.deepEqual(nn.init.fans(st.zeros([20, 30])), { fanIn: 30, fanOut: 20 });
  // conv weight [16, 8, 3, 3]: receptive field 9 → fan_in 8·9 = 72, fan_out 16·9 = 144
  assert.deepEqual(nn.init.fans(st.zeros([16, 8, 3, 3])), { fanIn: 72, fanOut: 144 });
  throwsStrata(() => nn.init.fans(st.zeros([5])), /fan/, /\[5\]/);
});

test('xavierUniform_ stays within ±sqrt(6/(fan_in + fan_out)); xavierNormal_ has std sqrt(2/(fan_in + fan_out))', () => {
  st.manualSeed(3);
  const w = nn.init.xavierUniform_(st.zeros([200, 300]));
  const bound = Math.sqrt(6 / 500); // 0.10954451150103323
  const s = stats(w);
  assert.ok(s.maxAbs <= bound && s.maxAbs > 0.99 * bound, `max |w| ${s.maxAbs}, bound ${bound}`);
  // U(-a, a) has std a/sqrt(3) = sqrt(2/500) = 0.0632
  assert.ok(Math.abs(s.std / (bound / Math.sqrt(3)) - 1) < 0.01, `std ${s.std}`);
  const g = nn.init.xavierUniform_(st.zeros([200, 300]), 2);
  assert.ok(stats(g).maxAbs <= 2 * bound && stats(g).maxAbs > 1.98 * bound);
  const n = stats(nn.init.xavierNormal_(st.zeros([200, 300])));
  assert.ok(Math.abs(n.std / Math.sqrt(2 / 500) - 1) < 0.01, `std ${n.std}`);
  assert.ok(Math.abs(n.mean) < 0.001);
});

test('kaiming initialisers: normal std sqrt(2/fan), uniform bound sqrt(6/fan)', () => {
  st.manualSeed(4);
  // [256, 1024]: fan_in 1024 → std sqrt(2/1024) = 0.04419417382415922 (262 144 samples: ~0.14% noise)
  const s = stats(nn.init.kaimingNormal_(st.zeros([256, 1024])));
  assert.ok(Math.abs(s.std / Math.sqrt(2 / 1024) - 1) < 0.01, `std ${s.std}`);
  assert.ok(Math.abs(s.mean) < 0.001, `mean ${s.mean}`);
  // mode fan_out: std sqrt(2/256)
  const o = stats(nn.init.kaimingNormal_(st.zeros([256, 1024]), { mode: 'fan_out' }));
  assert.ok(Math.abs(o.std / Math.sqrt(2 / 256) - 1) < 0.01, `std ${o.std}`);
  // relu, uniform: bound sqrt(3)·sqrt(2)/sqrt(fan_in) = sqrt(6/1024)
  const u = stats(nn.init.kaimingUniform_(st.zeros([256, 1024]), { nonlinearity: 'relu' }));
  assert.ok(u.maxAbs <= Math.sqrt(6 / 1024) && u.maxAbs > 0.99 * Math.sqrt(6 / 1024), `max ${u.maxAbs}`);
  // tanh gain 5/3 and a conv-shaped tensor: fan_in 8·3·3 = 72 → std (5/3)/sqrt(72)
  const c = stats(nn.init.kaimingNormal_(st.zeros([512, 8, 3, 3]), { nonlinearity: 'tanh' }));
  assert.ok(Math.abs(c.std / (5 / 3 / Math.sqrt(72)) - 1) < 0.01, `std ${c.std}`);
});

/** AᵀA (columns' Gram matrix) of a row-major rows×cols matrix, in plain JS. */
function gram(v: number[], rows: number, cols: number, ofRows: boolean): number[][] {
  const n = ofRows ? rows : cols;
  const len = ofRows ? cols : rows;
  const at = (i: number, k: number) => (ofRows ? v[i * cols + k]! : v[k * cols + i]!);
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => {
      let s = 0;
      for (let k = 0; k < len; k++) s += at(i, k) * at(j, k);
      return s;
    }),
  );
}

function assertIdentity(m: number[][], scale: number, tol: number): void {
  m.forEach((row, i) => {
    row.forEach((v, j) => {
      assert.ok(Math.abs(v - (i === j ? scale : 0)) < tol, `entry (${i}, ${j}) = ${v}`);
    });
  });
}

test('orthogonal_: QᵀQ = I for a tall matrix, QQᵀ = I for a wide one, scaled by gain²', () => {
  st.manualSeed(5);
  // tall 6×4: orthonormal columns
  assertIdentity(gram(flat(nn.init.orthogonal_(st.zeros([6, 4]))), 6, 4, false), 1, 1e-6);
  // wide 3×7: orthonormal rows
  assertIdentity(gram(flat(nn.init.orthogonal_(st.zeros([3, 7]))), 3, 7, true), 1, 1e-6);
  // square 5×5: both
  const sq = flat(nn.init.orthogonal_(st.zeros([5, 5]), 1, { generator: new st.Generator(9) }));
  assertIdentity(gram(sq, 5, 5, true), 1, 1e-6);
  assertIdentity(gram(sq, 5, 5, false), 1, 1e-6);
  // gain 2: QᵀQ = 4I
  assertIdentity(gram(flat(nn.init.orthogonal_(st.zeros([8, 3]), 2)), 8, 3, false), 4, 1e-5);
  // [4, 2, 3] flattens to 4×6 (wide)
  assertIdentity(gram(flat(nn.init.orthogonal_(st.zeros([4, 2, 3]))), 4, 6, true), 1, 1e-6);
  // float64: to rounding
  assertIdentity(
    gram(flat(nn.init.orthogonal_(st.zeros([10, 6], { dtype: 'float64' }))), 10, 6, false),
    1,
    1e-12,
  );
  throwsStrata(() => nn.init.orthogonal_(st.zeros([4])), /orthogonal_/, /\[4\]/);
});

test('zeros_, ones_, constant_, uniform_, normal_ fill in place; a seed fixes the draw', () => {
  const t = st.full([2, 3], 5);
  assert.equal(nn.init.zeros_(t), t);
  assert.deepEqual(flat(t), [0, 0, 0, 0, 0, 0]);
  nn.init.ones_(t);
  assert.deepEqual(flat(t), [1, 1, 1, 1, 1, 1]);
  nn.init.constant_(t, -2.5);
  assert.deepEqual(flat(t), [-2.5, -2.5, -2.5, -2.5, -2.5, -2.5]);
  const u = flat(nn.init.uniform_(st.zeros([1000]), 2, 3));
  assert.ok(u.every((v) => v >= 2 && v < 3));
  const n = stats(nn.init.normal_(st.zeros([20000]), 1, 0.5));
  assert.ok(Math.abs(n.mean - 1) < 0.02 && Math.abs(n.std - 0.5) < 0.01, `mean ${n.mean} std ${n.std}`);
  // Initialising a parameter works in place and keeps it a parameter.
  const p = new nn.Parameter(st.zeros([3, 3]));
  nn.init.ones_(p);
  assert.deepEqual(flat(p), [1, 1, 1, 1, 1, 1, 1, 1, 1]);
  assert.ok(p.requiresGrad);
  // The same seed gives the same model.
  st.manualSeed(11);
  const a = flat(new nn.Linear(5, 4).weight);
  st.manualSeed(11);
  assert.deepEqual(flat(new nn.Linear(5, 4).weight), a);
  const viaGen = (seed: number) =>
    flat(nn.init.normal_(st.zeros([6]), 0, 1, { generator: new st.Generator(seed) }));
  assert.deepEqual(viaGen(3), viaGen(3));
  assert.notDeepEqual(viaGen(3), viaGen(4));
});

test('Linear, linear and matmul refuse mixed dtypes, as PyTorch does, instead of promoting', () => {
  // PyTorch 1.13: nn.Linear(3, 2)(x.double()) and F.linear(x.double(), w) raise "expected scalar type
  // Double but found Float"; torch.ones(2, 2) @ torch.ones(2, 2, dtype=float64) raises "expected scalar
  // type Float but found Double", and a float32 @ int32 product "... but found Int".
  const x64 = st.randn([4, 3], { dtype: 'float64' });
  throwsStrata(
    () => new nn.Linear(3, 2).forward(x64),
    /^Linear: the input is float64 but the parameters are float32; convert the input with x\.cast\('float32'\), or the module with model\.double\(\)/,
  );
  throwsStrata(
    () => new nn.Sequential(new nn.Linear(3, 2), new nn.ReLU()).forward(x64),
    /^Linear: the input is float64 but the parameters are float32/,
  );
  throwsStrata(
    () => new nn.Linear(3, 2).forward(st.tensor([[1, 2, 3]], { dtype: 'int32' })),
    /^Linear: the input is int32 but the parameters are float32; convert the input with x\.cast\('float32'\)$/,
  );
  assert.equal(new nn.Linear(3, 2).double().forward(x64).dtype, 'float64');
  const w = st.randn([2, 3]);
  throwsStrata(
    () => st.linear(x64, w),
    /^linear: the input is float64 but the weight is float32; convert them to one dtype, e.g\. x\.cast\('float32'\)/,
  );
  throwsStrata(
    () => st.linear(x64.cast('float32'), w, st.zeros([2], { dtype: 'float64' })),
    /^linear: the input is float32 but the weight is float32 and the bias float64/,
  );
  throwsStrata(
    () => st.ones([2, 2]).matmul(st.ones([2, 2], { dtype: 'float64' })),
    /^matmul: a is float32 but b is float64; convert one to the other's dtype, e\.g\. b\.cast\('float32'\)/,
  );
  throwsStrata(
    () => st.matmul(st.ones([2]), st.ones([2, 2], { dtype: 'int32' })),
    /^matmul: a is float32 but b is int32/,
  );
  // Elementwise ops still promote, as PyTorch's do: float32 + float64 is float64.
  assert.equal(st.ones([2]).add(st.ones([2], { dtype: 'float64' })).dtype, 'float64');
});

test("the module walks take PyTorch's prefix and recurse arguments; other PyTorch arguments are refused, never ignored", () => {
  class Net extends nn.Module {
    own = new nn.Parameter(st.zeros([2]));
    fc = new nn.Linear(2, 2);
    bn = new nn.BatchNorm1d(2);
    forward(x: st.Tensor) {
      return this.bn.forward(this.fc.forward(x).add(this.own));
    }
  }
  const n = new Net();
  // torch: len(list(net.parameters(recurse=False))) == 1; [k for k, _ in net.named_parameters('pre')]
  assert.deepEqual(n.parameters(false), [n.own]);
  assert.equal(n.parameters().length, 5);
  assert.deepEqual(
    n.namedParameters('pre').map(([k]) => k),
    ['pre.own', 'pre.fc.weight', 'pre.fc.bias', 'pre.bn.weight', 'pre.bn.bias'],
  );
  assert.deepEqual(
    n.namedParameters('pre', false).map(([k]) => k),
    ['pre.own'],
  );
  assert.deepEqual(
    n.fc.namedParameters('', false).map(([k]) => k),
    ['weight', 'bias'],
  );
  assert.deepEqual(
    n.namedBuffers('m').map(([k]) => k),
    ['m.bn.running_mean', 'm.bn.running_var', 'm.bn.num_batches_tracked'],
  );
  assert.deepEqual(n.buffers(false), []);
  assert.equal(n.buffers().length, 3);
  assert.deepEqual(n.bn.buffers(false), n.bn.buffers());
  assert.deepEqual(
    n.namedModules('root').map(([k]) => k),
    ['root', 'root.fc', 'root.bn'],
  );
  const any = n as unknown as Record<string, (...a: unknown[]) => unknown>;
  const call =
    (name: string, ...args: unknown[]) =>
    () =>
      any[name]!.apply(n, args);
  throwsStrata(call('parameters', 'false'), /Net.parameters: recurse must be true or false, got "false"/);
  throwsStrata(call('parameters', false, true), /Net.parameters: takes at most 1 arguments, got 2/);
  throwsStrata(call('namedParameters', false), /Net.namedParameters: prefix must be a string, got false/);
  throwsStrata(call('namedBuffers', '', 0), /recurse must be true or false, got 0/);
  throwsStrata(call('buffers', {}), /Net.buffers: recurse must be true or false/);
  throwsStrata(call('namedModules', new Set()), /Net.namedModules: prefix must be a string, got a Set/);
  throwsStrata(call('modules', true), /Net.modules: takes at most 0 arguments, got 1/);
  throwsStrata(call('stateDict', 'pre.'), /Net.stateDict: takes no arguments, got 1/, /prefix/);
  throwsStrata(call('eval', true), /eval: takes no arguments, got 1; use train\(false\)/);
  assert.equal(n.training, true);
  throwsStrata(call('train', false, true), /train: takes at most 1 arguments, got 2/);
  throwsStrata(call('to', 'float64', 'cuda'), /Net.to: takes at most 1 arguments/);
  throwsStrata(call('to', 'cuda'), /dtype must be 'float32' or 'float64', got "cuda"/);
  throwsStrata(call('double', true), /Net.double: takes at most 0 arguments/);
  throwsStrata(
    call('loadStateDict', n.stateDict(), false),
    /expected an options object, got false/,
    /strict: false/,
  );
  throwsStrata(
    () => (n.registerBuffer as (...a: unknown[]) => void).call(n, 'extra', st.zeros([1]), false),
    /registerBuffer: takes at most 2 arguments, got 3/,
  );
});
