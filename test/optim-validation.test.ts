/**
 * optim at its edge: every hyper-parameter of every optimizer checked (type, finite, PyTorch's range)
 * at construction, in addParamGroup and in loadStateDict; a refused state leaves the optimizer as it
 * was; unknown option keys and positional extras refused; maximize climbs.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import * as st from '../src/index.js';
import {
  loadCheckpoint,
  optimizerFromCheckpoint,
  optimizerToCheckpoint,
  saveCheckpoint,
} from '../src/io/checkpoint.js';
import { tempDirs } from './tmpdirs.js';

const { optim } = st;
type Tensor = st.Tensor;
type AnyOptimizer = st.optim.Optimizer<{ lr: number }>;

function param(values: number[], dtype: 'float32' | 'float64' = 'float64'): Tensor {
  return st.tensor(values, { dtype, requiresGrad: true });
}

function throwsStrata(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof st.StrataError, `expected a StrataError, got ${String(e)}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

/** Each optimizer, built from parameters and options (untyped: these tests pass wrong values on purpose). */
const MAKERS: Record<string, (ps: unknown, o?: unknown) => AnyOptimizer> = {
  SGD: (ps, o) => new optim.SGD(ps as Tensor[], { lr: 0.1, ...(o as object) }),
  Adagrad: (ps, o) => new optim.Adagrad(ps as Tensor[], o as object),
  RMSprop: (ps, o) => new optim.RMSprop(ps as Tensor[], o as object),
  Adam: (ps, o) => new optim.Adam(ps as Tensor[], o as object),
  AdamW: (ps, o) => new optim.AdamW(ps as Tensor[], o as object),
  Adadelta: (ps, o) => new optim.Adadelta(ps as Tensor[], o as object),
  Adamax: (ps, o) => new optim.Adamax(ps as Tensor[], o as object),
  NAdam: (ps, o) => new optim.NAdam(ps as Tensor[], o as object),
  RAdam: (ps, o) => new optim.RAdam(ps as Tensor[], o as object),
  LBFGS: (ps, o) => new optim.LBFGS(ps as Tensor[], o as object),
};

/** Values each optimizer must refuse, per option: [option, value, what the message says it expects]. */
const BAD: Record<string, [string, unknown, RegExp][]> = {
  SGD: [
    ['momentum', -0.5, /≥ 0/],
    ['dampening', Number.NaN, /finite/],
    ['nesterov', 'yes', /true or false/],
    ['weightDecay', -1, /≥ 0/],
    ['maximize', 1, /true or false/],
  ],
  Adagrad: [
    ['lrDecay', -0.1, /≥ 0/],
    ['eps', -1, /≥ 0/],
    ['initialAccumulatorValue', -1, /≥ 0/],
    ['weightDecay', Number.POSITIVE_INFINITY, /finite/],
  ],
  RMSprop: [
    ['alpha', -1, /≥ 0/],
    ['momentum', -1, /≥ 0/],
    ['centered', 0, /true or false/],
  ],
  Adam: [
    ['betas', [1, 0.999], /\[0, 1\)/],
    ['betas', [0.9], /pair/],
    ['betas', 0.9, /pair/],
    ['eps', -1e-8, /≥ 0/],
    ['amsgrad', 'no', /true or false/],
  ],
  AdamW: [['betas', [0.9, -0.1], /\[0, 1\)/]],
  Adadelta: [
    ['rho', 1.5, /\[0, 1\]/],
    ['eps', -1, /≥ 0/],
  ],
  Adamax: [['betas', [0.9, 1], /\[0, 1\)/]],
  NAdam: [
    ['momentumDecay', -1, /≥ 0/],
    ['betas', [Number.NaN, 0.9], /\[0, 1\)/],
  ],
  RAdam: [['weightDecay', -0.1, /≥ 0/]],
  LBFGS: [
    ['maxIter', 0, /positive integer/],
    ['maxEval', 2.5, /positive integer/],
    ['toleranceGrad', -1, /≥ 0/],
    ['toleranceChange', Number.NaN, /finite/],
    ['historySize', 0, /positive integer/],
    ['lineSearchFn', 'wolfe', /null or 'strong_wolfe'/],
  ],
};

test('every optimizer refuses an lr that is infinite, NaN, negative or not a number, naming itself and the option', () => {
  for (const [name, make] of Object.entries(MAKERS)) {
    for (const [lr, got] of [
      [Number.POSITIVE_INFINITY, /got Infinity/],
      [Number.NaN, /got NaN/],
      [-0.1, /got -0\.1/],
      ['0.1', /got "0\.1"/],
    ] as const) {
      throwsStrata(
        () => make([param([1])], { lr }),
        new RegExp(`^${name}: `),
        /lr must be a finite number ≥ 0/,
        got,
      );
    }
  }
});

test('every optimizer checks each of its hyper-parameters as PyTorch does (plus type and finiteness)', () => {
  for (const [name, cases] of Object.entries(BAD)) {
    for (const [key, value, expected] of cases) {
      throwsStrata(
        () => MAKERS[name]!([param([1])], { [key]: value }),
        new RegExp(`^${name}: ${key} must be`),
        expected,
      );
      // The same value in a group is refused, naming the group.
      throwsStrata(
        () => MAKERS[name]!([{ params: [param([1])] }, { params: [param([2])], [key]: value }]),
        new RegExp(`^${name}: param group 1: ${key} must be`),
      );
    }
  }
  // Nesterov needs momentum and no dampening, as in PyTorch.
  throwsStrata(() => new optim.SGD([param([1])], { lr: 0.1, nesterov: true }), /SGD: Nesterov/, /momentum 0/);
  throwsStrata(
    () => new optim.SGD([param([1])], { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }),
    /SGD: Nesterov momentum needs momentum > 0 and dampening 0/,
    /dampening 0\.1/,
  );
  // SGD has no default lr (PyTorch's `required`).
  throwsStrata(() => new optim.SGD([param([1])], {} as { lr: number }), /SGD: lr has no default/);
});

test('unknown option keys, positional extras and a number for the options are refused', () => {
  for (const [name, make] of Object.entries(MAKERS)) {
    throwsStrata(
      () => make([param([1])], { lr: 0.1, learningRate: 0.1 }),
      new RegExp(`^${name}: unknown option learningRate; accepted: lr, `),
    );
    // A group with a misspelt key is refused too.
    throwsStrata(
      () => make([{ params: [param([1])] }, { params: [param([1])], moment: 0.9 }]),
      new RegExp(`^${name}: param group 1: unknown option moment`),
    );
  }
  // PyTorch-style positional arguments.
  const sgd = optim.SGD as unknown as new (...args: unknown[]) => AnyOptimizer;
  throwsStrata(
    () => new sgd([param([1])], 0.1),
    /SGD: expected an options object, got 0\.1/,
    /new SGD\(params, \{ lr/,
  );
  throwsStrata(() => new sgd([param([1])], { lr: 0.1 }, 0.9), /SGD: takes at most 2 arguments, got 3/);
  const adam = optim.Adam as unknown as new (...args: unknown[]) => AnyOptimizer;
  throwsStrata(() => new adam([param([1])], 1e-3, [0.9, 0.99]), /Adam: takes at most 2 arguments, got 3/);
});

test('parameters that are not tensors requiring gradients, or none at all, get clear errors', () => {
  for (const [name, make] of Object.entries(MAKERS)) {
    throwsStrata(() => make([]), new RegExp(`^${name}: got an empty parameter list`));
    throwsStrata(
      () => make(param([1])),
      new RegExp(`^${name}: expected an array of parameters`),
      /got a Tensor/,
    );
    throwsStrata(() => make([param([1]), 3]), new RegExp(name), /parameter 1 is 3/);
    throwsStrata(
      () => make([st.tensor([1])]),
      new RegExp(name),
      /parameter 0 \(shape \[1\]\) does not require gradients/,
    );
    throwsStrata(
      () => make([{ params: [] }]),
      new RegExp(name),
      /param group 0: has an empty parameter list/,
    );
    throwsStrata(() => make([{ params: param([1]) }]), new RegExp(name), /params must be an array/);
  }
});

test('addParamGroup takes the defaults for what the group leaves out, and validates what it gives', () => {
  const a = param([1]);
  const b = param([1]);
  const opt = new optim.SGD([a], { lr: 0.1, momentum: 0.5 });
  opt.addParamGroup({ params: [b], lr: 0.01 });
  assert.deepEqual(
    opt.paramGroups.map((g) => [g.lr, g.momentum]),
    [
      [0.1, 0.5],
      [0.01, 0.5],
    ],
  );
  a.grad = st.tensor([1], { dtype: 'float64' });
  b.grad = st.tensor([1], { dtype: 'float64' });
  opt.step();
  // a: 1 - 0.1·1; b: 1 - 0.01·1
  assert.deepEqual([a.item(), b.item()], [0.9, 0.99]);
  throwsStrata(
    () => opt.addParamGroup({ params: [param([1])], lr: Number.NaN }),
    /SGD.addParamGroup: lr must be/,
  );
  throwsStrata(
    () => opt.addParamGroup({ params: [a] }),
    /SGD.addParamGroup: parameter 0 appears in more than one group/,
  );
  throwsStrata(
    () => opt.addParamGroup({ params: [param([1])], nesterov: true, momentum: 0 }),
    /SGD.addParamGroup: Nesterov/,
  );
  throwsStrata(() => opt.addParamGroup([param([1])] as never), /SGD.addParamGroup: expected a group/);
  assert.equal(opt.paramGroups.length, 2, 'refused groups are not added');
});

/** An Adam with two groups and a state after one step, and a copy of its state dict to corrupt. */
function adamWithState() {
  const a = param([1, 2]);
  const b = param([3]);
  const opt = new optim.Adam([{ params: [a] }, { params: [b], lr: 0.5 }], { lr: 0.1 });
  a.grad = st.tensor([0.5, -1], { dtype: 'float64' });
  b.grad = st.tensor([2], { dtype: 'float64' });
  opt.step();
  const sd = opt.stateDict();
  const copy = (): st.optim.OptimizerState<st.optim.AdamOptions> => ({
    state: Object.fromEntries(
      Object.entries(sd.state).map(([k, s]) => [k, { step: s.step, buffers: { ...s.buffers } }]),
    ),
    paramGroups: sd.paramGroups.map((g) => ({ ...g, params: [...g.params] })),
  });
  return { opt, a, b, copy };
}

test('loadStateDict refuses bad settings, step counts, buffer names and shapes, and leaves the optimizer untouched', () => {
  const target = new optim.Adam([{ params: [param([0, 0])] }, { params: [param([0])], lr: 7 }], { lr: 3 });
  const [pa, pb] = target.paramGroups.map((g) => g.params[0]!);
  target.loadStateDict(adamWithState().copy());
  const before = JSON.stringify({
    groups: target.paramGroups.map(({ params: _, ...h }) => h),
    state: [...target.state.values()].map((s) => ({ step: s.step, b: Object.keys(s.buffers) })),
  });
  const m0 = Array.from(target.state.get(pa!)!.buffers.expAvg!.toTypedArray());
  const { copy } = adamWithState();
  type Sd = ReturnType<typeof copy>;
  const cases: [string, (sd: Sd) => void, RegExp][] = [
    [
      'lr NaN',
      (sd) => (sd.paramGroups[1]!.lr = Number.NaN),
      /param group 1: lr must be a finite number ≥ 0, got NaN/,
    ],
    ['lr a string', (sd) => ((sd.paramGroups[0] as { lr: unknown }).lr = '0.1'), /lr must be/],
    ['betas', (sd) => (sd.paramGroups[0]!.betas = [0.9, 1]), /betas must be/],
    [
      'unknown setting',
      (sd) => Object.assign(sd.paramGroups[0]!, { foo: 1 }),
      /unknown setting foo; known: lr, betas/,
    ],
    ['missing setting', (sd) => delete (sd.paramGroups[0] as { eps?: number }).eps, /has no setting 'eps'/],
    [
      'negative step',
      (sd) => (sd.state[1]!.step = -1),
      /parameter 1: step must be a non-negative integer, got -1/,
    ],
    ['fractional step', (sd) => (sd.state[0]!.step = 1.5), /step must be a non-negative integer, got 1\.5/],
    [
      'unknown buffer',
      (sd) => (sd.state[0]!.buffers.momentum = st.zeros([2], { dtype: 'float64' })),
      /unknown buffer 'momentum'; known: expAvg, expAvgSq, maxExpAvgSq/,
    ],
    [
      'mis-shaped lazy buffer',
      // maxExpAvgSq is made lazily, so it may be present without amsgrad, but shaped like its parameter
      (sd) => (sd.state[0]!.buffers.maxExpAvgSq = st.zeros([3], { dtype: 'float64' })),
      /buffer 'maxExpAvgSq' has shape \[3\]/,
    ],
    [
      'wrong shape',
      (sd) => (sd.state[0]!.buffers.expAvg = st.zeros([2, 1], { dtype: 'float64' })),
      /buffer 'expAvg' has shape \[2, 1\].*needs \[2\]/,
    ],
    [
      'not a tensor',
      (sd) => ((sd.state[0]!.buffers as Record<string, unknown>).expAvg = [0, 0]),
      /not a Tensor/,
    ],
    [
      'missing buffer',
      (sd) => delete sd.state[1]!.buffers.expAvgSq,
      /parameter 1: buffer 'expAvgSq' is missing/,
    ],
    [
      'unknown parameter',
      (sd) => (sd.state[5] = sd.state[0]!),
      /state names parameter 5, but there are only 2/,
    ],
    ['group count', (sd) => sd.paramGroups.pop(), /state has 1 parameter groups, the optimizer has 2/],
    [
      'parameter count',
      (sd) => sd.paramGroups[1]!.params.push(2),
      /group 1 has 2 parameters in the state, 1 here/,
    ],
  ];
  for (const [what, corrupt, message] of cases) {
    const sd = copy();
    corrupt(sd);
    throwsStrata(() => target.loadStateDict(sd), /^Adam.loadStateDict: /, message, /left unchanged/);
    const after = JSON.stringify({
      groups: target.paramGroups.map(({ params: _, ...h }) => h),
      state: [...target.state.values()].map((s) => ({ step: s.step, b: Object.keys(s.buffers) })),
    });
    assert.equal(after, before, `${what}: the optimizer changed`);
    assert.deepEqual(
      Array.from(target.state.get(pa!)!.buffers.expAvg!.toTypedArray()),
      m0,
      `${what}: buffers changed`,
    );
    assert.ok(target.state.has(pb!), `${what}: state dropped`);
  }
  throwsStrata(
    () => target.loadStateDict(null as never),
    /Adam.loadStateDict: expected \{ state, paramGroups \}/,
  );
});

/** One step of an optimizer on p = [1, -2] with gradient g, returning p afterwards. */
function oneStep(
  make: (ps: Tensor[], o?: object) => AnyOptimizer,
  o: object,
  g: number[],
  dtype: 'float32' | 'float64',
) {
  const p = param([1, -2], dtype);
  const opt = make([p], o);
  for (let i = 0; i < 3; i++) {
    p.grad = st.tensor(g, { dtype });
    opt.step();
  }
  return Array.from(p.toTypedArray());
}

test('maximize climbs: three steps with gradient g equal three descending steps with -g', () => {
  // PyTorch negates the gradient first, so maximize(g) and descent on -g take the same path, for every
  // optimizer that has the option (NAdam and RAdam have it from PyTorch 2). float32 goes through the
  // native fused kernels when they are present.
  const withMaximize = ['SGD', 'Adagrad', 'RMSprop', 'Adam', 'AdamW', 'Adadelta', 'Adamax', 'NAdam', 'RAdam'];
  for (const name of withMaximize) {
    for (const dtype of ['float64', 'float32'] as const) {
      const extra = name === 'SGD' ? { momentum: 0.9, weightDecay: 0.1 } : { weightDecay: 0.1 };
      const up = oneStep(MAKERS[name]!, { ...extra, maximize: true }, [0.5, 1], dtype);
      const down = oneStep(MAKERS[name]!, extra, [-0.5, -1], dtype);
      // float32 may take the native kernel one way and the reference update the other: 1e-6 relative.
      const tol = dtype === 'float32' ? 1e-6 : 0;
      up.forEach((u, i) => {
        assert.ok(Math.abs(u - down[i]!) <= tol * Math.abs(down[i]!), `${name} (${dtype}): ${up} vs ${down}`);
      });
      const plain = oneStep(MAKERS[name]!, extra, [0.5, 1], dtype);
      assert.notDeepEqual(up, plain, `${name} (${dtype}) maximize changed nothing`);
    }
  }
  // L-BFGS has none (nor has PyTorch's); the key is refused rather than ignored.
  throwsStrata(
    () => new optim.LBFGS([param([1])], { maximize: true } as never),
    /LBFGS: unknown option maximize/,
  );
});

// ---------------------------------------------------------------------------------------------------
// Schedules at their edge
// ---------------------------------------------------------------------------------------------------

function sgd(lr = 1): st.optim.SGD {
  return new optim.SGD([param([0])], { lr, momentum: 0.9 });
}

test('schedules refuse positional arguments, unknown keys and bad values, naming the schedule and the option', () => {
  const step = optim.StepLR as unknown as new (...args: unknown[]) => unknown;
  throwsStrata(() => new step(sgd(), 2, 0.5), /StepLR: takes at most 2 arguments, got 3/, /stepSize/);
  throwsStrata(() => new step(sgd(), 2), /StepLR: expected an options object, got 2/);
  throwsStrata(
    () => new optim.StepLR(sgd(), { stepSize: 2, gama: 0.5 } as never),
    /StepLR: unknown option gama/,
  );
  throwsStrata(
    () => new optim.StepLR({} as never, { stepSize: 2 }),
    /StepLR: expected an Optimizer, got an object/,
  );
  const cases: [() => unknown, RegExp][] = [
    [
      () => new optim.StepLR(sgd(), { stepSize: 1.5 }),
      /StepLR: stepSize must be a positive integer, got 1\.5/,
    ],
    [() => new optim.MultiStepLR(sgd(), { milestones: [3, -1] }), /MultiStepLR: milestones must be/],
    [() => new optim.ConstantLR(sgd(), { factor: 1.5 }), /ConstantLR: factor must be a number in \(0, 1\]/],
    [
      () => new optim.LinearLR(sgd(), { startFactor: 0 }),
      /LinearLR: startFactor must be a number in \(0, 1\]/,
    ],
    [() => new optim.LinearLR(sgd(), { totalIters: 0 }), /LinearLR: totalIters must be a positive integer/],
    [() => new optim.ExponentialLR(sgd(), { gamma: Number.NaN }), /ExponentialLR: gamma must be/],
    [() => new optim.PolynomialLR(sgd(), { power: -1 }), /PolynomialLR: power must be/],
    [
      () => new optim.CosineAnnealingLR(sgd(), { tMax: 10, etaMin: -0.1 }),
      /CosineAnnealingLR: etaMin must be/,
    ],
    [
      () => new optim.CosineAnnealingWarmRestarts(sgd(), { t0: 3, tMult: 0 }),
      /tMult must be a positive integer/,
    ],
    [
      () => new optim.OneCycleLR(sgd(), { maxLr: 1 }),
      /OneCycleLR: needs totalSteps, or epochs and stepsPerEpoch/,
    ],
    [
      () => new optim.OneCycleLR(sgd(), { maxLr: 1, totalSteps: 10, annealStrategy: 'cosine' as never }),
      /annealStrategy must be one of 'cos', 'linear'/,
    ],
    [
      () => new optim.OneCycleLR(sgd(), { maxLr: [1, 2], totalSteps: 10 }),
      /maxLr has 2 values, the optimizer has 1 parameter groups/,
    ],
    [
      () => new optim.OneCycleLR(sgd(), { maxLr: 1, totalSteps: 3, pctStart: 0.1 }),
      /leaves phase 1 without steps/,
    ],
    [
      () => new optim.OneCycleLR(new optim.Adagrad([param([0])]), { maxLr: 1, totalSteps: 10 }),
      /cycleMomentum needs an optimizer with momentum or betas, Adagrad has neither/,
    ],
    [
      () => new optim.CyclicLR(new optim.Adam([param([0])]), { baseLr: 0.1, maxLr: 1 }),
      /CyclicLR: cycleMomentum needs an optimizer with momentum/,
    ],
    [
      () => new optim.CyclicLR(sgd(), { baseLr: 0.1, maxLr: 1, mode: 'triangle' as never }),
      /mode must be one of/,
    ],
    [() => new optim.LambdaLR(sgd(), { lrLambda: 0.5 as never }), /LambdaLR: lrLambda must be a function/],
    [
      () => new optim.ReduceLROnPlateau(sgd(), { factor: 1 }),
      /ReduceLROnPlateau: factor must be a number in \[0, 1\)/,
    ],
    [
      () => new optim.ReduceLROnPlateau(sgd(), { mode: 'lowest' as never }),
      /mode must be one of 'min', 'max'/,
    ],
    [() => new optim.ReduceLROnPlateau(sgd(), { patience: -1 }), /patience must be a non-negative integer/],
  ];
  for (const [make, message] of cases) throwsStrata(make, message);
  const opt = sgd();
  const other = sgd();
  throwsStrata(
    () =>
      new optim.SequentialLR(opt, {
        schedulers: [new optim.ConstantLR(opt), new optim.ExponentialLR(other, { gamma: 0.9 })],
        milestones: [2],
      }),
    /SequentialLR: schedulers\[1\] belongs to another optimizer/,
  );
  throwsStrata(
    () =>
      new optim.SequentialLR(opt, {
        schedulers: [new optim.ConstantLR(opt), new optim.ConstantLR(opt)],
        milestones: [],
      }),
    /SequentialLR: needs 1 milestones for 2 schedules/,
  );
  throwsStrata(
    () => new optim.ChainedScheduler([]),
    /ChainedScheduler: expected a non-empty array of schedules/,
  );
});

test('OneCycleLR refuses to step past totalSteps; a schedule built before addParamGroup says so', () => {
  const s = new optim.OneCycleLR(sgd(), { maxLr: 1, totalSteps: 4 });
  for (let i = 0; i < 4; i++) s.step();
  throwsStrata(() => s.step(), /OneCycleLR: step\(\) was called 5 times, past totalSteps 4/);
  const opt = sgd();
  const e = new optim.ExponentialLR(opt, { gamma: 0.5 });
  opt.addParamGroup({ params: [param([0])] });
  throwsStrata(
    () => e.step(),
    /ExponentialLR: the optimizer has 2 parameter groups, the schedule was built for 1/,
  );
});

test('a schedule refuses a bad state and is left as it was', () => {
  const opt = sgd();
  const s = new optim.CosineAnnealingWarmRestarts(opt, { t0: 3 });
  s.step();
  s.step();
  const before = JSON.stringify([s.stateDict(), opt.paramGroups[0]!.lr]);
  const good = s.stateDict();
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...good, t: -1 }, /t must be a non-negative integer, got -1/],
    [{ ...good, t: 1.5 }, /t must be a non-negative integer/],
    [{ ...good, baseLrs: [Number.NaN] }, /baseLrs\[0\] must be a finite number ≥ 0, got NaN/],
    [{ ...good, baseLrs: [1, 1] }, /baseLrs must be an array of 1 rates/],
    [{ ...good, lastLr: [-1] }, /lastLr\[0\] must be/],
    [{ ...good, tCur: -2 }, /tCur must be a finite number ≥ 0, got -2/],
    [{ ...good, extra: 1 }, /unknown option extra/],
  ];
  for (const [state, message] of cases) {
    throwsStrata(
      () => s.loadStateDict(state as never),
      /^CosineAnnealingWarmRestarts.loadStateDict: /,
      message,
    );
    assert.equal(JSON.stringify([s.stateDict(), opt.paramGroups[0]!.lr]), before);
  }
  // A chain whose second child refuses its state leaves the first child and the rates alone.
  const chainOpt = sgd();
  const chain = new optim.ChainedScheduler([
    new optim.ConstantLR(chainOpt, { factor: 0.5, totalIters: 2 }),
    new optim.ExponentialLR(chainOpt, { gamma: 0.9 }),
  ]);
  chain.step();
  const saved = JSON.stringify([chain.stateDict(), chainOpt.paramGroups[0]!.lr]);
  const bad = chain.stateDict() as { schedulers: Record<string, unknown>[] } & st.optim.SchedulerState;
  bad.schedulers[0] = { ...bad.schedulers[0], t: 0 };
  bad.schedulers[1] = { ...bad.schedulers[1], t: 'one' };
  throwsStrata(() => chain.loadStateDict(bad), /ExponentialLR.loadStateDict: t must be/);
  assert.equal(JSON.stringify([chain.stateDict(), chainOpt.paramGroups[0]!.lr]), saved);
  // ReduceLROnPlateau: the same care.
  const p = new optim.ReduceLROnPlateau(sgd(), { patience: 1 });
  p.step(1);
  const ps = JSON.stringify(p.stateDict());
  throwsStrata(
    () => p.loadStateDict({ ...p.stateDict(), numBadEpochs: -1 }),
    /ReduceLROnPlateau.loadStateDict: numBadEpochs/,
  );
  throwsStrata(() => p.loadStateDict({ ...p.stateDict(), best: Number.NaN }), /best must be a finite number/);
  assert.equal(JSON.stringify(p.stateDict()), ps);
  throwsStrata(
    () => p.step('0.5' as never),
    /ReduceLROnPlateau: step\(metric\) needs the metric as a number, got "0\.5"/,
  );
});

test("groups share no settings arrays: changing one group's betas leaves the others and new optimizers alone", () => {
  const opt = new optim.Adam([{ params: [param([1])] }, { params: [param([1])] }]);
  opt.paramGroups[0]!.betas[0] = 0.5;
  assert.deepEqual(
    opt.paramGroups.map((g) => g.betas[0]),
    [0.5, 0.9],
  );
  assert.equal(new optim.Adam([param([1])]).paramGroups[0]!.betas[0], 0.9);
});

test('every optimizer state, L-BFGS included, survives a checkpoint file and continues the same path', () => {
  const dir = tempDirs('optim')();
  const cases: [string, (ps: Tensor[]) => AnyOptimizer][] = [
    ...Object.entries(MAKERS)
      .filter(([name]) => name !== 'LBFGS')
      .map(([name, make]): [string, (ps: Tensor[]) => AnyOptimizer] => [name, (ps) => make(ps)]),
    ['Adam amsgrad', (ps) => new optim.Adam(ps, { amsgrad: true })],
    ['RMSprop centred', (ps) => new optim.RMSprop(ps, { centered: true, momentum: 0.5 })],
  ];
  const stepBoth = (opt: AnyOptimizer, ps: Tensor[], g: number[]) => {
    ps.forEach((p) => {
      p.grad = st.tensor(g, { dtype: 'float64' });
    });
    opt.step();
  };
  for (const [name, make] of cases) {
    const ps = [param([1, -2]), param([0.5, 3])];
    const opt = make(ps);
    stepBoth(opt, ps, [0.3, -0.7]);
    stepBoth(opt, ps, [-0.1, 0.4]);
    const path = join(dir, `${name}.safetensors`);
    saveCheckpoint(path, {
      model: {},
      optimizer: optimizerToCheckpoint(opt),
      rng: new st.Generator(1).getState(),
      progress: {},
    });
    const copies = ps.map((p) => p.detach().clone().requiresGrad_());
    const again = make(copies);
    optimizerFromCheckpoint(again, loadCheckpoint(path).optimizer);
    stepBoth(opt, ps, [0.2, 0.2]);
    stepBoth(again, copies, [0.2, 0.2]);
    ps.forEach((p, i) => {
      assert.deepEqual(Array.from(copies[i]!.toTypedArray()), Array.from(p.toTypedArray()), name);
    });
  }
  // L-BFGS: history, last direction and counters round-trip too.
  const make = () => {
    const p = param([1.5, -0.5]);
    const opt = new optim.LBFGS([p], { maxIter: 3 });
    const closure = () => {
      opt.zeroGrad();
      const loss = p
        .sub(0.25)
        .square()
        .mul(st.tensor([1, 10], { dtype: 'float64' }))
        .sum();
      loss.backward();
      return loss;
    };
    return { p, opt, closure };
  };
  const one = make();
  one.opt.step(one.closure);
  const path = join(dir, 'lbfgs.safetensors');
  saveCheckpoint(path, {
    model: {},
    optimizer: optimizerToCheckpoint(one.opt),
    rng: new st.Generator(1).getState(),
    progress: {},
  });
  const two = make();
  st.noGrad(() => two.p.copy_(one.p));
  optimizerFromCheckpoint(two.opt, loadCheckpoint(path).optimizer);
  one.opt.step(one.closure);
  two.opt.step(two.closure);
  assert.deepEqual(Array.from(two.p.toTypedArray()), Array.from(one.p.toTypedArray()), 'LBFGS');
});

test('step(closure) on any optimizer evaluates the closure first and returns its loss, as PyTorch does', () => {
  const p = param([2, -1]);
  const opt = new optim.SGD([p], { lr: 0.1 });
  const loss = opt.step(() => {
    opt.zeroGrad();
    const l = p.square().sum(); // 4 + 1; gradient 2p = [4, -2]
    l.backward();
    return l;
  });
  assert.equal(loss, 5);
  // p - 0.1·[4, -2]
  assert.deepEqual(Array.from(p.toTypedArray()), [2 - 0.4, -1 + 0.2]);
  throwsStrata(() => opt.step((() => 'five') as never), /SGD: the closure must return the loss/);
  assert.equal(opt.step(), undefined);
});

test('clipping refuses strings, extra positional arguments and non-tensors', () => {
  const p = param([1, 2]);
  p.grad = st.tensor([3, 4], { dtype: 'float64' });
  const clip = optim.clipGradNorm as unknown as (...args: unknown[]) => number;
  throwsStrata(() => clip([p], '1'), /clipGradNorm: maxNorm must be a positive number, got "1"/);
  throwsStrata(() => clip([p], 1, '2'), /clipGradNorm: normType must be a positive number/);
  // PyTorch's positional error_if_nonfinite: refused, showing the options form.
  throwsStrata(
    () => clip([p], 1, 2, true),
    /clipGradNorm: expected an options object, got true/,
    /\{ errorIfNonfinite: true \}/,
  );
  throwsStrata(() => clip([p], 1, 2, {}, 5), /clipGradNorm: takes at most 4 arguments, got 5/);
  throwsStrata(() => clip(p, 1), /clipGradNorm: expected an array of parameters, got a Tensor/);
  throwsStrata(() => clip([p, 'w'], 1), /clipGradNorm: parameter 1 is "w", not a Tensor/);
  const clipValue = optim.clipGradValue as unknown as (...args: unknown[]) => void;
  throwsStrata(() => clipValue([p], Number.NaN), /clipGradValue: clipValue must be a number ≥ 0, got NaN/);
  throwsStrata(() => clipValue([p], 1, 2), /clipGradValue: takes at most 2 arguments, got 3/);
  assert.deepEqual(Array.from(p.grad.toTypedArray()), [3, 4], 'refused calls leave the gradient alone');
});
