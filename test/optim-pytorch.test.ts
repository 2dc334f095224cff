/**
 * optim against PyTorch 1.13: every optimizer (with its main option combinations) takes the same steps
 * from the same float64 parameters and gradients, and every schedule sets the same rates (and momenta)
 * step after step, to 1e-9. The trajectories come from scripts/fixtures/optim.py (test/fixtures/optim.json).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as st from '../src/index.js';

const { optim } = st;
type AnyOptimizer = st.optim.Optimizer<{ lr: number }>;

interface OptimizerCase {
  optimizer: string;
  case: string;
  options: Record<string, unknown>;
  params: number[][];
  grads: number[][][];
  trajectory: number[][][];
}

interface ScheduleSpec {
  schedule: string;
  options: Record<string, unknown>;
}

interface ScheduleCase extends ScheduleSpec {
  optimizer: 'SGD' | 'Adam';
  steps: number;
  lrs: number[][];
  momenta: number[][];
}

interface PlateauCase {
  options: Record<string, unknown>;
  metrics: number[];
  lrs: number[][];
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/optim.json', import.meta.url), 'utf8')) as {
  shapes: number[][];
  groupLr: Record<string, number>;
  optimizers: OptimizerCase[];
  schedules: ScheduleCase[];
  plateau: PlateauCase[];
};

const TOL = 1e-9;

function close(actual: readonly number[], expected: readonly number[], what: string): void {
  assert.equal(
    actual.length,
    expected.length,
    `${what}: ${actual.length} values, expected ${expected.length}`,
  );
  actual.forEach((a, i) => {
    const e = expected[i]!;
    assert.ok(
      Math.abs(a - e) <= TOL * Math.max(1, Math.abs(e)),
      `${what}[${i}]: got ${a}, PyTorch ${e}; all: [${actual.join(', ')}] vs [${expected.join(', ')}]`,
    );
  });
}

const OPTIMIZERS: Record<string, (groups: never, options: never) => AnyOptimizer> = {
  SGD: (g, o) => new optim.SGD(g, o),
  Adagrad: (g, o) => new optim.Adagrad(g, o),
  RMSprop: (g, o) => new optim.RMSprop(g, o),
  Adam: (g, o) => new optim.Adam(g, o),
  AdamW: (g, o) => new optim.AdamW(g, o),
  Adadelta: (g, o) => new optim.Adadelta(g, o),
  Adamax: (g, o) => new optim.Adamax(g, o),
  NAdam: (g, o) => new optim.NAdam(g, o),
  RAdam: (g, o) => new optim.RAdam(g, o),
};

test('the fixture covers every optimizer', () => {
  assert.deepEqual(
    [...new Set(fixture.optimizers.map((c) => c.optimizer))].sort(),
    Object.keys(OPTIMIZERS).sort(),
  );
});

for (const c of fixture.optimizers) {
  test(`${c.optimizer} (${c.case}) follows PyTorch's trajectory for ${c.grads.length} steps`, () => {
    const params = c.params.map((v, i) =>
      st
        .tensor(v, { dtype: 'float64', requiresGrad: true })
        .reshape(fixture.shapes[i]!)
        .detach()
        .requiresGrad_(),
    );
    const groups = [{ params: [params[0]!] }, { params: [params[1]!], lr: fixture.groupLr[c.optimizer]! }];
    const opt = OPTIMIZERS[c.optimizer]!(groups as never, c.options as never);
    c.grads.forEach((g, step) => {
      params.forEach((p, i) => {
        p.grad = st.tensor(g[i]!, { dtype: 'float64' }).reshape(p.shape);
      });
      opt.step();
      params.forEach((p, i) => {
        close(Array.from(p.toTypedArray()), c.trajectory[step]![i]!, `step ${step + 1}, parameter ${i}`);
      });
    });
    // A state dict taken midway and loaded into a fresh optimizer continues on the same path.
    const copy = params.map((p) => p.detach().clone().requiresGrad_());
    const again = OPTIMIZERS[c.optimizer]!(
      [{ params: [copy[0]!] }, { params: [copy[1]!], lr: 1 }] as never,
      c.options as never,
    );
    again.loadStateDict(opt.stateDict());
    for (const [o, ps] of [
      [opt, params],
      [again, copy],
    ] as const) {
      ps.forEach((p, i) => {
        p.grad = st.tensor(c.grads[0]![i]!, { dtype: 'float64' }).reshape(p.shape);
      });
      o.step();
    }
    params.forEach((p, i) => {
      assert.deepEqual(
        Array.from(copy[i]!.toTypedArray()),
        Array.from(p.toTypedArray()),
        'after loadStateDict',
      );
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// Schedules
// ---------------------------------------------------------------------------------------------------

const LAMBDAS: Record<string, (t: number) => number> = {
  exp95: (t) => 0.95 ** t,
  inverse: (t) => 1 / (t + 1),
};

function scheduleOptimizer(kind: 'SGD' | 'Adam'): AnyOptimizer {
  const groups = [
    { params: [st.zeros([1], { dtype: 'float64' }).requiresGrad_()] },
    { params: [st.zeros([1], { dtype: 'float64' }).requiresGrad_()], lr: 0.5 },
  ];
  return kind === 'Adam'
    ? new optim.Adam(groups, { lr: 1 })
    : new optim.SGD(groups, { lr: 1, momentum: 0.9 });
}

function build(opt: AnyOptimizer, spec: ScheduleSpec): st.optim.LRScheduler {
  const o = spec.options as never;
  const children = () => (spec.options.schedulers as ScheduleSpec[]).map((child) => build(opt, child));
  switch (spec.schedule) {
    case 'StepLR':
      return new optim.StepLR(opt, o);
    case 'MultiStepLR':
      return new optim.MultiStepLR(opt, o);
    case 'ConstantLR':
      return new optim.ConstantLR(opt, o);
    case 'LinearLR':
      return new optim.LinearLR(opt, o);
    case 'ExponentialLR':
      return new optim.ExponentialLR(opt, o);
    case 'PolynomialLR':
      return new optim.PolynomialLR(opt, o);
    case 'CosineAnnealingLR':
      return new optim.CosineAnnealingLR(opt, o);
    case 'CosineAnnealingWarmRestarts':
      return new optim.CosineAnnealingWarmRestarts(opt, o);
    case 'CyclicLR':
      return new optim.CyclicLR(opt, o);
    case 'OneCycleLR':
      return new optim.OneCycleLR(opt, o);
    case 'LambdaLR': {
      const names = spec.options.lrLambda as string | string[];
      const lrLambda = Array.isArray(names) ? names.map((n) => LAMBDAS[n]!) : LAMBDAS[names]!;
      return new optim.LambdaLR(opt, { lrLambda });
    }
    case 'SequentialLR':
      return new optim.SequentialLR(opt, {
        schedulers: children(),
        milestones: spec.options.milestones as number[],
      });
    case 'ChainedScheduler':
      return new optim.ChainedScheduler(children());
    default:
      throw new Error(`no such schedule in the fixture: ${spec.schedule}`);
  }
}

function momenta(opt: AnyOptimizer): number[] {
  return opt.paramGroups.map((g) => {
    const group = g as unknown as { momentum?: number; betas?: [number, number] };
    return group.betas ? group.betas[0] : group.momentum!;
  });
}

for (const c of fixture.schedules) {
  const label = `${c.schedule} ${JSON.stringify(c.options)} on ${c.optimizer}`;
  test(`${label}: PyTorch's rates for ${c.steps} steps`, () => {
    const opt = scheduleOptimizer(c.optimizer);
    const s = build(opt, c);
    const lrs = [s.lastLr()];
    const moms = [momenta(opt)];
    for (let i = 0; i < c.steps; i++) {
      s.step();
      lrs.push(s.lastLr());
      moms.push(momenta(opt));
      assert.deepEqual(
        s.lastLr(),
        opt.paramGroups.map((g) => g.lr),
        'lastLr is what the groups hold',
      );
    }
    lrs.forEach((lr, t) => {
      close(lr, c.lrs[t]!, `lr at t = ${t}`);
      close(moms[t]!, c.momenta[t]!, `momentum at t = ${t}`);
    });
    // From state dicts halfway, a second schedule on a second optimizer continues identically, resumed
    // in PyTorch's order: both built, then the optimizer's state (its rates) loaded, then the schedule's.
    const half = Math.floor(c.steps / 2);
    const opt1 = scheduleOptimizer(c.optimizer);
    const first = build(opt1, c);
    for (let i = 0; i < half; i++) first.step();
    const sd = JSON.parse(JSON.stringify(first.stateDict()));
    const opt2 = scheduleOptimizer(c.optimizer);
    const second = build(opt2, c);
    opt2.loadStateDict(opt1.stateDict());
    second.loadStateDict(sd);
    for (let i = half; i < c.steps; i++) {
      second.step();
      close(second.lastLr(), c.lrs[i + 1]!, `after loadStateDict, lr at t = ${i + 1}`);
    }
  });
}

test('the fixture covers every schedule', () => {
  const covered = new Set([...fixture.schedules.map((c) => c.schedule), 'ReduceLROnPlateau']);
  const all = Object.entries(optim)
    .filter(
      ([, v]) =>
        typeof v === 'function' &&
        (v.prototype instanceof optim.LRScheduler || v === optim.ReduceLROnPlateau),
    )
    .map(([k]) => k)
    .filter((k) => k !== 'LinearWarmupLR'); // Strata's own (a LambdaLR), not PyTorch's
  assert.deepEqual([...covered].sort(), all.sort());
});

for (const c of fixture.plateau) {
  test(`ReduceLROnPlateau ${JSON.stringify(c.options)}: PyTorch's rates for ${c.metrics.length} metrics`, () => {
    const opt = scheduleOptimizer('SGD');
    const s = new optim.ReduceLROnPlateau(opt, c.options as never);
    c.metrics.forEach((m, i) => {
      s.step(m);
      close(s.lastLr(), c.lrs[i]!, `after metric ${i} (${m})`);
    });
    // Halfway state → a fresh one continues the same way.
    const half = Math.floor(c.metrics.length / 2);
    const a = new optim.ReduceLROnPlateau(scheduleOptimizer('SGD'), c.options as never);
    for (const m of c.metrics.slice(0, half)) a.step(m);
    const b = new optim.ReduceLROnPlateau(scheduleOptimizer('SGD'), c.options as never);
    b.optimizer.loadStateDict(a.optimizer.stateDict());
    b.loadStateDict(JSON.parse(JSON.stringify(a.stateDict())));
    c.metrics.slice(half).forEach((m, i) => {
      b.step(m);
      close(b.lastLr(), c.lrs[half + i]!, `after loading, metric ${half + i}`);
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// L-BFGS: a closure computes the loss (1 - x)² + 10(y - x²)² + ½Σ(b - c)² and its gradients.
// ---------------------------------------------------------------------------------------------------

interface LbfgsCase {
  case: string;
  options: Record<string, unknown>;
  trajectory: number[][][];
  losses: number[];
  evaluations: number[];
  funcEvals: number;
  nIter: number;
}

const lbfgsFixture = (
  fixture as unknown as { lbfgs: { params: number[][]; c: number[]; steps: number; cases: LbfgsCase[] } }
).lbfgs;

function lbfgsProblem() {
  const a = st.tensor(lbfgsFixture.params[0]!, { dtype: 'float64', requiresGrad: true });
  const b = st.tensor(lbfgsFixture.params[1]!, { dtype: 'float64', requiresGrad: true });
  const c = st.tensor(lbfgsFixture.c, { dtype: 'float64' });
  let evaluations = 0;
  const closureFor = (opt: st.optim.LBFGS) => () => {
    opt.zeroGrad();
    const x = a.narrow(0, 0, 1);
    const y = a.narrow(0, 1, 1);
    const rosenbrock = x.neg().add(1).square().add(y.sub(x.square()).square().mul(10)).sum();
    const loss = rosenbrock.add(b.sub(c).square().sum().mul(0.5));
    loss.backward();
    evaluations++;
    return loss;
  };
  return { a, b, closureFor, evaluations: () => evaluations };
}

for (const c of lbfgsFixture.cases) {
  test(`LBFGS (${c.case}) follows PyTorch's iterates, losses and evaluation counts`, () => {
    const { a, b, closureFor, evaluations } = lbfgsProblem();
    const opt = new optim.LBFGS([a, b], c.options as never);
    const closure = closureFor(opt);
    for (let i = 0; i < lbfgsFixture.steps; i++) {
      const loss = opt.step(closure);
      close([loss], [c.losses[i]!], `loss returned by step ${i + 1}`);
      close(Array.from(a.toTypedArray()), c.trajectory[i]![0]!, `step ${i + 1}, a`);
      close(Array.from(b.toTypedArray()), c.trajectory[i]![1]!, `step ${i + 1}, b`);
      assert.equal(evaluations(), c.evaluations[i], `closure calls after step ${i + 1}`);
    }
    const s = opt.state.get(a)!;
    assert.equal(s.step, c.nIter, 'iterations (n_iter)');
    assert.equal(s.buffers.funcEvals!.item(), c.funcEvals, 'func_evals');
  });
}

test('LBFGS continues identically from a state dict, and refuses groups, a missing closure and bad settings', () => {
  const one = lbfgsProblem();
  const opt = new optim.LBFGS([one.a, one.b], { maxIter: 4, historySize: 3 });
  const closure = one.closureFor(opt);
  opt.step(closure);
  opt.step(closure);
  const two = lbfgsProblem();
  st.noGrad(() => {
    two.a.copy_(one.a);
    two.b.copy_(one.b);
  });
  const again = new optim.LBFGS([two.a, two.b], { maxIter: 4, historySize: 3 });
  again.loadStateDict(opt.stateDict());
  opt.step(closure);
  again.step(two.closureFor(again));
  assert.deepEqual(Array.from(two.a.toTypedArray()), Array.from(one.a.toTypedArray()));
  assert.deepEqual(Array.from(two.b.toTypedArray()), Array.from(one.b.toTypedArray()));
  // A history longer than the parameters' size does not load.
  const sd = opt.stateDict();
  sd.state[0]!.buffers.oldDirs = st.zeros([2, 4], { dtype: 'float64' });
  assert.throws(
    () => again.loadStateDict(sd),
    /LBFGS.loadStateDict: parameter 0: buffer 'oldDirs' has shape \[2, 4\].*needs \[2, 5\]/,
  );
  assert.throws(() => opt.step(), /LBFGS: step\(closure\) needs the closure/);
  assert.throws(
    () =>
      new optim.LBFGS([
        { params: [st.zeros([1]).requiresGrad_()] },
        { params: [st.zeros([1]).requiresGrad_()] },
      ]),
    /LBFGS: takes one parameter group/,
  );
  assert.throws(() => opt.addParamGroup({ params: [st.zeros([1]).requiresGrad_()] }), /LBFGS.addParamGroup/);
  assert.throws(
    () => new optim.LBFGS([one.a], { lineSearchFn: 'backtracking' as never }),
    /lineSearchFn must be null or 'strong_wolfe'/,
  );
  assert.throws(
    () => new optim.LBFGS([one.a], { historySize: 0 }),
    /LBFGS: historySize must be a positive integer/,
  );
});

const warmRestarts = (
  fixture as unknown as {
    warmRestartEpochs: { options: Record<string, number>; epochs: (number | null)[]; lrs: number[][] }[];
  }
).warmRestartEpochs;

for (const c of warmRestarts) {
  test(`CosineAnnealingWarmRestarts ${JSON.stringify(c.options)} stepped to fractional epochs: PyTorch's rates`, () => {
    const s = new optim.CosineAnnealingWarmRestarts(scheduleOptimizer('SGD'), c.options as never);
    c.epochs.forEach((e, i) => {
      s.step(e ?? undefined);
      close(s.lastLr(), c.lrs[i]!, `after step(${e})`);
    });
  });
}
