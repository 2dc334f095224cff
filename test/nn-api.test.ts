/**
 * The layers' edges: dtype options and Module.to, and the arguments every constructor, function and
 * forward refuses (positional extras, unknown options, hyper-parameters out of range, non-tensors),
 * each with a message that says what to do.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as st from '../src/index.js';
import { throwsStrata } from './assertions.js';

const { nn } = st;

test('Module.to converts parameters and floating buffers in place, keeping Parameter identity', () => {
  st.manualSeed(3);
  const model = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4), new nn.PReLU());
  const params = model.parameters();
  const before = params.map((p) => Array.from(p.toTypedArray()));
  const optimizer = new st.optim.SGD(params, { lr: 0.1 });
  assert.equal(model.double(), model);
  assert.deepEqual(model.parameters(), params);
  params.forEach((p, i) => {
    assert.equal(model.parameters()[i], p, 'the same Parameter object');
    assert.equal(p.dtype, 'float64');
    assert.deepEqual(Array.from(p.toTypedArray()), before[i], 'float32 values widened exactly');
  });
  const buffers = () => Object.fromEntries(model.namedBuffers());
  assert.equal(buffers()['1.running_mean']!.dtype, 'float64');
  assert.equal(buffers()['1.running_var']!.dtype, 'float64');
  assert.equal(buffers()['1.num_batches_tracked']!.dtype, 'int32', 'integer buffers untouched');
  // The optimizer made before the conversion still updates the converted parameters.
  const x = st.tensor(
    [
      [1, 2, 3],
      [0, -1, 2],
    ],
    { dtype: 'float64' },
  );
  model.forward(x).sum().backward();
  assert.equal(params[0]!.grad!.dtype, 'float64');
  const w = Array.from(params[0]!.toTypedArray());
  optimizer.step();
  assert.notDeepEqual(Array.from(params[0]!.toTypedArray()), w);
  assert.equal(params[0]!.dtype, 'float64');
  assert.equal(buffers()['1.num_batches_tracked']!.item(), 1);
  assert.equal(model.float(), model);
  assert.ok(model.parameters().every((p, i) => p === params[i] && p.dtype === 'float32'));
  assert.equal(buffers()['1.running_mean']!.dtype, 'float32');
  throwsStrata(() => model.to('int32'), /Sequential\.to/, /'float32' or 'float64'/);
});

test('Module.to converts gradients with their parameters', () => {
  const lin = new nn.Linear(2, 1);
  lin
    .forward(st.tensor([[1, 2]]))
    .sum()
    .backward();
  lin.to('float64');
  assert.equal(lin.weight.grad!.dtype, 'float64');
  assert.deepEqual(Array.from(lin.weight.grad!.toTypedArray()), [1, 2]);
});

test("a layer's dtype option makes float64 parameters equal to its float32 twin's under the same seed", () => {
  const twins = [
    (dtype: 'float32' | 'float64') => new nn.Linear(5, 3, { dtype }),
    (dtype: 'float32' | 'float64') => new nn.PReLU({ numParameters: 2, dtype }),
    (dtype: 'float32' | 'float64') => new nn.GroupNorm(2, 4, { dtype }),
    (dtype: 'float32' | 'float64') =>
      new nn.InstanceNorm2d(3, { affine: true, trackRunningStats: true, dtype }),
    (dtype: 'float32' | 'float64') => new nn.BatchNorm3d(3, { dtype }),
    (dtype: 'float32' | 'float64') => new nn.LayerNorm([2, 3], { dtype }),
    (dtype: 'float32' | 'float64') => new nn.Highway(4, { dtype }),
    (dtype: 'float32' | 'float64') => new nn.ResidualBlock(2, 3, { dtype }),
  ];
  for (const make of twins) {
    st.manualSeed(11);
    const single = make('float32');
    st.manualSeed(11);
    const double = make('float64');
    const a = single.stateDict();
    const b = double.stateDict();
    assert.deepEqual(Object.keys(a), Object.keys(b));
    for (const k of Object.keys(a)) {
      const want = a[k]!.dtype === 'int32' ? 'int32' : 'float64';
      assert.equal(b[k]!.dtype, want, `${single.constructor.name} ${k}`);
      assert.deepEqual(Array.from(b[k]!.toTypedArray()), Array.from(a[k]!.toTypedArray()), k);
    }
  }
  throwsStrata(
    () => new nn.Linear(2, 2, { dtype: 'int32' }),
    /Linear/,
    /dtype must be 'float32' or 'float64'/,
  );
});

test('PyTorch-style positional extras fail, showing the options-object form', () => {
  throwsStrata(
    // @ts-expect-error: the third argument is an options object
    () => new nn.Linear(5, 4, false),
    /Linear/,
    /new Linear\(5, 4, \{ bias: false \}\)/,
  );
  // @ts-expect-error: ReLU takes no arguments (PyTorch's inplace has no counterpart)
  throwsStrata(() => new nn.ReLU(true), /ReLU: takes at most 0 arguments/, /new ReLU\(\)/);
  // @ts-expect-error: eps and momentum go in the options object
  throwsStrata(() => new nn.BatchNorm2d(3, 1e-5, 0.1), /BatchNorm2d/, /options/);
  // @ts-expect-error: GroupNorm's eps goes in the options object
  throwsStrata(() => new nn.GroupNorm(2, 4, 1e-5), /GroupNorm/, /eps/);
  // @ts-expect-error: approximate is an option
  throwsStrata(() => new nn.GELU('tanh'), /GELU/, /new GELU\(\{ approximate: 'tanh' \}\)/);
  // @ts-expect-error: gelu takes x and the approximation
  throwsStrata(() => st.gelu(st.tensor([1]), 'tanh', 1), /gelu: takes at most 2 arguments/);
  // @ts-expect-error: Dropout's generator is an option
  throwsStrata(() => new nn.Dropout(0.5, true), /Dropout/, /new Dropout\(0\.5, \{ generator \}\)/);
});

test('unknown option keys fail, listing the accepted ones', () => {
  throwsStrata(
    // @ts-expect-error: not an option
    () => new nn.Linear(2, 3, { bais: false }),
    /Linear: unknown option bais; accepted: bias, dtype/,
  );
  // @ts-expect-error: not an option
  throwsStrata(() => new nn.GELU({ approx: 'tanh' }), /unknown option approx; accepted: approximate/);
  // @ts-expect-error: not an option
  throwsStrata(() => new nn.BatchNorm1d(3, { track: false }), /BatchNorm1d: unknown option track/);
  // @ts-expect-error: not an option
  throwsStrata(() => new nn.LayerNorm(3, { affine: false }), /LayerNorm: unknown option affine/);
  // @ts-expect-error: not an option
  throwsStrata(() => new nn.Upsample({ scale: 2 }), /Upsample: unknown option scale/);
  throwsStrata(
    // @ts-expect-error: not an option
    () => st.interpolate(st.zeros([1, 1, 2, 2]), { scale: 2 }),
    /interpolate: unknown option scale/,
  );
  throwsStrata(
    // @ts-expect-error: not an option
    () => nn.batchNorm(st.zeros([2, 3]), null, null, { train: true }),
    /batchNorm: unknown option/,
  );
});

test('gelu approximate: the tanh form is used, and an unknown form fails', () => {
  const x = st.tensor([1.5], { dtype: 'float64' });
  const tanhForm = 0.5 * 1.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (1.5 + 0.044715 * 1.5 ** 3)));
  assert.ok(Math.abs(st.gelu(x, 'tanh').item() - tanhForm) < 1e-15);
  assert.ok(Math.abs(new nn.GELU({ approximate: 'tanh' }).forward(x).item() - tanhForm) < 1e-15);
  assert.ok(Math.abs(st.gelu(x).item() - tanhForm) > 1e-5, 'the exact form differs');
  // @ts-expect-error: not a form
  throwsStrata(() => st.gelu(x, 'fast'), /gelu: approximate must be 'none' or 'tanh', got "fast"/);
  // @ts-expect-error: not a form
  throwsStrata(() => new nn.GELU({ approximate: 'fast' }), /GELU: approximate must be/);
});

test('every forward refuses a JavaScript array, asking to wrap it with tensor(…)', () => {
  const layers: st.nn.Module[] = [
    new nn.Linear(2, 3),
    new nn.ReLU(),
    new nn.GELU(),
    new nn.Mish(),
    new nn.PReLU(),
    new nn.Softmax(),
    new nn.Identity(),
    new nn.Flatten(),
    new nn.Unflatten(1, [2, 1]),
    new nn.BatchNorm1d(2),
    new nn.LayerNorm(2),
    new nn.GroupNorm(1, 2),
    new nn.InstanceNorm1d(2),
    new nn.Dropout(),
    new nn.Upsample({ scaleFactor: 2 }),
    new nn.Sequential(new nn.Linear(2, 2)),
    new nn.Highway(2),
  ];
  for (const layer of layers) {
    const name = layer.constructor.name;
    throwsStrata(
      // @ts-expect-error: an array, not a Tensor
      () => layer.forward([1, 2]),
      new RegExp(
        `^${name}: expected a Tensor as input, got an array of length 2; wrap it with tensor\\(…\\)`,
      ),
    );
  }
});

test('hyper-parameters are checked for type and range when the layer is made', () => {
  throwsStrata(() => new nn.Linear(0, 3), /Linear: inFeatures must be a positive integer, got 0/);
  throwsStrata(() => new nn.Linear(2.5, 3), /inFeatures/);
  // @ts-expect-error: a string
  throwsStrata(() => new nn.Linear('4', 3), /inFeatures must be a positive integer, got "4"/);
  throwsStrata(
    () => new nn.BatchNorm1d(3, { eps: -1 }),
    /BatchNorm1d: eps must be a finite number of at least 0/,
  );
  throwsStrata(() => new nn.BatchNorm2d(3, { momentum: 2 }), /momentum must be a number in \[0, 1\], got 2/);
  // @ts-expect-error: instance norms have no cumulative momentum
  throwsStrata(() => new nn.InstanceNorm2d(3, { momentum: null }), /InstanceNorm2d: momentum/);
  // @ts-expect-error: a string
  throwsStrata(() => new nn.BatchNorm1d(3, { affine: 'yes' }), /affine must be a boolean/);
  throwsStrata(() => new nn.LayerNorm([3, 0]), /LayerNorm: normalizedShape/);
  throwsStrata(() => new nn.LayerNorm(4, { eps: Number.NaN }), /LayerNorm: eps/);
  throwsStrata(() => new nn.GroupNorm(3, 4), /GroupNorm: numChannels 4 must be divisible by numGroups 3/);
  throwsStrata(() => new nn.PReLU({ numParameters: 0 }), /PReLU: numParameters must be a positive integer/);
  throwsStrata(() => new nn.PReLU({ init: Number.POSITIVE_INFINITY }), /PReLU: init must be a finite number/);
  throwsStrata(() => new nn.Hardtanh(2, 1), /Hardtanh: minVal 2 is greater than maxVal 1/);
  throwsStrata(() => new nn.CELU(0), /CELU: alpha must not be 0/);
  throwsStrata(() => new nn.Softplus(0), /Softplus: beta must not be 0/);
  // @ts-expect-error: a string
  throwsStrata(() => new nn.LeakyReLU('0.2'), /LeakyReLU: negativeSlope must be a finite number, got "0.2"/);
  throwsStrata(() => new nn.Softmax(0.5), /Softmax: axis must be an integer, got 0.5/);
  throwsStrata(() => new nn.Unflatten(1, [2, -1, -1]), /Unflatten: only one size can be -1/);
  throwsStrata(() => new nn.Upsample({}), /Upsample: give exactly one of size and scaleFactor/);
  throwsStrata(() => new nn.Upsample({ size: [2.5, 3] }), /Upsample: size must be a positive integer/);
  throwsStrata(() => new nn.Upsample({ scaleFactor: -2 }), /Upsample: scaleFactor must be a positive number/);
  throwsStrata(
    () => new nn.Upsample({ scaleFactor: 2, alignCorners: true }),
    /alignCorners is a boolean for the linear modes only/,
  );
  // @ts-expect-error: not a mode
  throwsStrata(() => new nn.Upsample({ scaleFactor: 2, mode: 'bicubic' }), /mode must be one of nearest/);
  throwsStrata(() => new nn.Dropout(1.5), /Dropout: dropout probability p must be in \[0, 1\], got 1.5/);
  throwsStrata(
    () => new nn.Highway(4, { gateBias: Number.NaN }),
    /Highway: gateBias must be a finite number/,
  );
  throwsStrata(() => new nn.DenseBlock(4, 0, 2), /DenseBlock: numLayers must be a positive integer/);
  // @ts-expect-error: not a module
  throwsStrata(() => new nn.Sequential(new nn.ReLU(), 3), /Sequential: layer 1 must be a Module, got 3/);
});

test('inputs that do not fit the layer fail at forward, naming the shapes', () => {
  throwsStrata(
    () => new nn.PReLU({ numParameters: 3 }).forward(st.zeros([2, 4])),
    /prelu: weight has 3 slopes/,
  );
  throwsStrata(
    () => new nn.GroupNorm(2, 4).forward(st.zeros([2, 3, 5])),
    /GroupNorm: expected input of shape \[N, 4, ...\]/,
  );
  throwsStrata(
    () => new nn.InstanceNorm2d(3).forward(st.zeros([2, 3])),
    /InstanceNorm2d: expected input of shape \[N, 3, H, W\] or \[3, H, W\]/,
  );
  throwsStrata(() => new nn.InstanceNorm1d(3).forward(st.zeros([2, 3, 1])), /more than 1 spatial element/);
  throwsStrata(
    () => new nn.BatchNorm3d(3).forward(st.zeros([2, 3, 4, 4])),
    /BatchNorm3d: expected input of shape \[N, 3, D, H, W\]/,
  );
  throwsStrata(() => new nn.Unflatten(1, [4, -1]).forward(st.zeros([2, 6])), /Unflatten: axis 1 of size 6/);
  throwsStrata(() => new nn.GLU().forward(st.zeros([2, 3])), /glu: axis -1 must have an even size/);
  throwsStrata(
    () => new nn.Upsample({ scaleFactor: 2, mode: 'bilinear' }).forward(st.zeros([1, 2, 3])),
    /interpolate: mode 'bilinear' expects input of rank 4, got shape \[1, 2, 3\]/,
  );
});

test('Identity takes and ignores any constructor arguments, as PyTorch', () => {
  const id = new nn.Identity(54, 'unused', { argument: true });
  const x = st.tensor([1, 2]);
  assert.equal(id.forward(x), x);
  assert.equal(id.numParameters(), 0);
});

test('Unflatten infers a -1 size; Upsample and interpolate keep the dtype', () => {
  assert.deepEqual(new nn.Unflatten(-1, [2, -1]).forward(st.zeros([3, 8])).shape, [3, 2, 4]);
  const x = st.zeros([1, 1, 2, 2], { dtype: 'float64' });
  const y = new nn.Upsample({ size: [3, 5], mode: 'bilinear', alignCorners: true }).forward(x);
  assert.deepEqual(y.shape, [1, 1, 3, 5]);
  assert.equal(y.dtype, 'float64');
  assert.match(String(new nn.Upsample({ scaleFactor: 2 })), /Upsample\(scaleFactor=2, mode='nearest'\)/);
});

test('logSigmoid and mish stay finite and exact at |x| = 1000 (softplus forms)', () => {
  const x = st.tensor([-1000, -30, 0, 30, 1000], { dtype: 'float64' });
  const ls = Array.from(st.logSigmoid(x).toTypedArray());
  assert.deepEqual(ls.slice(0, 2), [-1000, -30 - Math.log1p(Math.exp(-30))]);
  assert.equal(ls[2], -Math.LN2);
  assert.ok(ls.slice(3).every((v) => v <= 0 && v > -1e-12));
  const m = Array.from(st.mish(x).toTypedArray());
  assert.ok(m.every(Number.isFinite));
  assert.equal(m[4], 1000);
  assert.ok(Math.abs(m[0]!) < 1e-300);
});

test('init functions, loadStateDict, registerBuffer and train refuse what they cannot use', () => {
  const w = st.zeros([3, 2]);
  throwsStrata(
    // @ts-expect-error: the generator goes in the options object
    () => nn.init.uniform_(w, 0, 1, new st.Generator(1), 2),
    /uniform_: takes at most 4 arguments/,
  );
  // @ts-expect-error: not an option
  throwsStrata(() => nn.init.kaimingUniform_(w, { gain: 2 }), /kaimingUniform_: unknown option gain/);
  // @ts-expect-error: not a mode
  throwsStrata(() => nn.init.kaimingNormal_(w, { mode: 'fan_avg' }), /mode must be 'fan_in' or 'fan_out'/);
  throwsStrata(
    // @ts-expect-error: not a generator
    () => nn.init.normal_(w, 0, 1, { generator: 7 }),
    /normal_: generator must be a Generator, got 7/,
  );
  // @ts-expect-error: a JavaScript array
  throwsStrata(() => nn.init.xavierUniform_([[1, 2]]), /init: expected a Tensor, got an array of length 1/);
  throwsStrata(() => nn.init.uniform_(w, Number.NaN), /uniform_: low must be a finite number/);
  const lin = new nn.Linear(2, 1);
  // @ts-expect-error: strict is an option
  throwsStrata(() => lin.loadStateDict(lin.stateDict(), false), /loadStateDict/, /\{ strict: false \}/);
  throwsStrata(
    // @ts-expect-error: values must be tensors
    () => lin.loadStateDict({ weight: [[1, 2]], bias: st.zeros([1]) }),
    /loadStateDict: expected tensors, but weight is not/,
  );
  throwsStrata(() => lin.registerBuffer('a.b', st.zeros([1])), /registerBuffer: .* without dots/);
  // @ts-expect-error: a string
  throwsStrata(() => lin.train('eval'), /train: mode must be a boolean/);
});

test('the activation functions refuse a JavaScript array, asking to wrap it with tensor(…)', () => {
  const fns = { silu: st.silu, mish: st.mish, selu: st.selu, relu6: st.relu6, logSigmoid: st.logSigmoid };
  for (const [name, f] of Object.entries(fns)) {
    throwsStrata(
      () => f([1, 2] as unknown as st.Tensor),
      new RegExp(`^${name}: expected a Tensor, got an array of length 2; wrap it`),
    );
  }
  // @ts-expect-error: an array, not a Tensor
  throwsStrata(() => st.interpolate([1, 2], { size: 2 }), /^interpolate: expected a Tensor/);
  throwsStrata(() => st.celu(st.tensor([1]), Number.NaN), /celu: alpha must be a finite number/);
  throwsStrata(() => st.hardtanh(st.tensor([1]), 1, -1), /hardtanh: minVal 1 is greater than maxVal -1/);
});

test('the older activation functions check their arguments too', () => {
  const x = st.tensor([1, -1]);
  // @ts-expect-error: PyTorch's inplace has no counterpart
  throwsStrata(() => st.leakyRelu(x, 0.1, true), /leakyRelu: takes at most 2 arguments/);
  throwsStrata(() => st.elu(x, Number.NaN), /elu: alpha must be a finite number/);
  throwsStrata(() => st.softplus(x, 0), /softplus: beta must not be 0/);
  assert.deepEqual(
    Array.from(st.softplus(st.tensor([30]), 1, Number.POSITIVE_INFINITY).toTypedArray()),
    [30],
  );
  // @ts-expect-error: an array, not a Tensor
  throwsStrata(() => st.softmax([1, 2]), /^softmax: expected a Tensor, got an array of length 2/);
  throwsStrata(() => new st.nn.Parameter([1] as unknown as st.Tensor), /^Parameter: expected a Tensor/);
  // @ts-expect-error: zeros_ takes the tensor only
  throwsStrata(() => nn.init.zeros_(st.zeros([2]), 1), /zeros_: takes at most 1 argument/);
});

test('the normalisation functions check eps and momentum', () => {
  const x = st.rand([4, 3, 2]);
  throwsStrata(() => nn.batchNorm(x, null, null, { training: true, eps: -1 }), /batchNorm: eps must be/);
  throwsStrata(
    () => nn.batchNorm(x, null, null, { training: true, momentum: 1.5 }),
    /batchNorm: momentum must be/,
  );
  throwsStrata(() => nn.layerNorm(x, [2], { eps: Number.NaN }), /layerNorm: eps must be/);
  throwsStrata(() => nn.groupNorm(x, 3, { eps: -0.1 }), /groupNorm: eps must be/);
  throwsStrata(() => nn.instanceNorm(x, { momentum: -1 }), /instanceNorm: momentum must be/);
});

test('a module shared by two parents is listed once by namedModules and its parameters once, but its state under both paths (PyTorch: named_modules, named_parameters, state_dict)', () => {
  const shared = new nn.Linear(2, 2);
  const model = new nn.Sequential(shared, new nn.ReLU(), shared);
  assert.deepEqual(
    model.namedModules().map(([path]) => path),
    ['', '0', '1'],
  );
  assert.deepEqual(
    model.namedParameters().map(([name]) => name),
    ['0.weight', '0.bias'],
  );
  assert.deepEqual(Object.keys(model.stateDict()), ['0.weight', '0.bias', '2.weight', '2.bias']);
  assert.equal(model.stateDict()['2.weight'], shared.weight);
  // Loading writes the shared tensors through either path.
  model.loadStateDict(model.stateDict());
  assert.equal(model.modules().length, 3);
});
