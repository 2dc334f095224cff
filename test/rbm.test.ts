import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { sample } from '../src/cli/sample.js';
import { train } from '../src/cli/train.js';
import * as st from '../src/index.js';
import { aisSchedule, annealedLogPartition, logPartition, RBM } from '../src/index.js';
import { loadModel } from '../src/models/registry.js';
import { loadPng } from '../src/viz/png.js';
import { near, onEveryBackend, throwsStrata } from './assertions.js';
import { gradcheck, gradgradcheck, hashSeed } from './gradcheck.js';
import { tempDirs } from './tmpdirs.js';

const fresh = tempDirs('rbm');

/** A small RBM with weights large enough that its distribution is far from uniform. */
function randomRbm(
  visible: number,
  hidden: number,
  visibleUnits: 'binary' | 'gaussian',
  seed: number,
  scale = 1,
) {
  const rbm = new RBM({ visible, hidden, visibleUnits });
  const g = new st.Generator(seed);
  rbm.weight.data.set(st.randn([hidden, visible], { std: scale, generator: g }).data);
  rbm.visibleBias.data.set(st.randn([visible], { std: scale, generator: g }).data);
  rbm.hiddenBias.data.set(st.randn([hidden], { std: scale, generator: g }).data);
  return rbm;
}

/** Every binary vector of n bits, as rows. */
function allStates(n: number): st.Tensor {
  return st.tensor(
    Array.from({ length: 2 ** n }, (_, s) => Array.from({ length: n }, (_, i) => (s >>> i) & 1)),
  );
}

/** E(v, h) of a binary–binary RBM, computed from its definition. */
function energy(rbm: RBM, v: number[], h: number[]): number {
  const [W, b, c] = [
    rbm.weight.tolist() as number[][],
    rbm.visibleBias.tolist() as number[],
    rbm.hiddenBias.tolist() as number[],
  ];
  let e = 0;
  for (let i = 0; i < v.length; i++) e -= b[i]! * v[i]!;
  for (let j = 0; j < h.length; j++) {
    e -= c[j]! * h[j]!;
    for (let i = 0; i < v.length; i++) e -= h[j]! * W[j]![i]! * v[i]!;
  }
  return e;
}

test('free energy and log Z agree with sums over every state of a binary RBM', () => {
  const rbm = randomRbm(5, 3, 'binary', 1);
  const vs = allStates(5).tolist() as number[][];
  const hs = allStates(3).tolist() as number[][];
  const F = rbm.freeEnergy(allStates(5)).tolist() as number[];
  let z = 0;
  vs.forEach((v, k) => {
    const pv = hs.reduce((s, h) => s + Math.exp(-energy(rbm, v, h)), 0);
    near(F[k]!, -Math.log(pv), 1e-5, `F(v${k})`);
    z += pv;
  });
  near(logPartition(rbm), Math.log(z), 1e-9, 'log Z');
  // p(h | v) factorises: each unit's probability is the ratio of the two sums.
  const probs = rbm.hiddenProbs(allStates(5)).tolist() as number[][];
  vs.forEach((v, k) => {
    const total = hs.reduce((s, h) => s + Math.exp(-energy(rbm, v, h)), 0);
    const on = hs.filter((h) => h[0] === 1).reduce((s, h) => s + Math.exp(-energy(rbm, v, h)), 0);
    near(probs[k]![0]!, on / total, 1e-5, `p(h0 = 1 | v${k})`);
  });
});

test('log Z of a Gaussian–binary RBM agrees with numerical integration over its visible unit', () => {
  const rbm = randomRbm(1, 3, 'gaussian', 2, 0.7);
  // ∫ e^{−F(v)} dv by the trapezoid rule over a wide grid.
  const grid = Array.from({ length: 40001 }, (_, k) => -20 + k * 0.001);
  const F = rbm.freeEnergy(st.tensor(grid.map((v) => [v]))).tolist() as number[];
  const z = F.reduce((s, f) => s + Math.exp(-f), 0) * 0.001;
  near(logPartition(rbm), Math.log(z), 1e-5, 'log Z');
});

test('annealed importance sampling estimates log Z within its reported spread, binary and Gaussian', async () => {
  await onEveryBackend((backend) => {
    for (const units of ['binary', 'gaussian'] as const) {
      const rbm = randomRbm(8, 6, units, 3, units === 'binary' ? 1 : 0.3);
      const exact = logPartition(rbm);
      const betas = Array.from({ length: 1001 }, (_, k) => k / 1000);
      const ais = annealedLogPartition(rbm, { runs: 200, betas, generator: new st.Generator(4) });
      assert.equal(ais.steps, 1000);
      assert.ok(Math.abs(ais.logZ - exact) < 0.05, `${units} on ${backend}: AIS ${ais.logZ}, exact ${exact}`);
      assert.ok(ais.logZLow < 0 && ais.logZHigh > 0);
    }
  });
  const schedule = aisSchedule();
  assert.equal(schedule.length, 14501);
  assert.deepEqual([schedule[0], schedule[500], schedule[4500], schedule.at(-1)], [0, 0.5, 0.9, 1]);
});

test('the free energy: gradients of first and second order match central differences in float64', async () => {
  await onEveryBackend((backend) => {
    for (const units of ['binary', 'gaussian'] as const) {
      const rbm = randomRbm(4, 3, units, 5).to('float64');
      const label = `RBM.freeEnergy (${units}) on ${backend}`;
      // F as a function of the visible states and of the parameters, as the module computes it.
      const f = (v: st.Tensor, W: st.Tensor, b: st.Tensor, c: st.Tensor) => {
        const hidden = st.softplus(v.matmul(W.T).add(c)).sum(1);
        const visible =
          units === 'binary' ? v.matmul(b.unsqueeze(1)).squeeze(1).neg() : v.sub(b).square().sum(1).mul(0.5);
        return visible.sub(hidden);
      };
      const inputs = () => [
        st.rand([2, 4], { dtype: 'float64', generator: new st.Generator(6) }),
        rbm.weight.detach().clone(),
        rbm.visibleBias.detach().clone(),
        rbm.hiddenBias.detach().clone(),
      ];
      // The module's own freeEnergy agrees with the expression checked.
      const [v, W, b, c] = inputs();
      near(rbm.freeEnergy(v!), f(v!, W!, b!, c!), 1e-12, label);
      const fn = (...xs: (st.Tensor | undefined)[]) => f(xs[0]!, xs[1]!, xs[2]!, xs[3]!);
      gradcheck(fn, inputs(), { label, seed: hashSeed(label) });
      gradgradcheck(fn, inputs(), { label, seed: hashSeed(label) });
      const own = (x: st.Tensor | undefined) => rbm.freeEnergy(x!);
      gradcheck(own, [inputs()[0]!], { label: `${label}, the module`, seed: hashSeed(label) });
      gradgradcheck(own, [inputs()[0]!], { label: `${label}, the module`, seed: hashSeed(label) });
    }
  });
});

test('the CD loss has the gradient <v h>_model − <v h>_data, and CD-1 training raises the exact likelihood', async () => {
  await onEveryBackend(() => {
    // Its gradient with respect to W, from the definition.
    const rbm = randomRbm(4, 3, 'binary', 7).to('float64');
    const v = st
      .tensor([
        [1, 0, 1, 1],
        [0, 1, 0, 0],
      ])
      .cast('float64');
    const { loss, samples } = rbm.contrastiveDivergence(v, { k: 2, generator: new st.Generator(8) });
    loss.backward();
    const outer = (x: st.Tensor) => rbm.hiddenProbs(x).T.matmul(x).div(x.shape[0]!);
    near(
      rbm.weight.grad!,
      st.noGrad(() => outer(samples).sub(outer(v))),
      1e-12,
      'dW',
    );

    // Two patterns and their complements: CD-1 with momentum and weight decay learns them.
    const data = st.tensor([
      [1, 1, 1, 0, 0, 0],
      [0, 0, 0, 1, 1, 1],
      [1, 1, 1, 0, 0, 0],
      [0, 0, 0, 1, 1, 1],
    ]);
    for (const persistent of [false, true]) {
      const learner = new RBM({
        ...{ visible: 6, hidden: 4, generator: new st.Generator(9) },
        persistentChains: persistent ? 4 : 0,
      });
      const logLikelihood = () => -learner.freeEnergy(data).mean().item() - logPartition(learner);
      const before = logLikelihood();
      const opt = new st.optim.SGD(learner.parameters(), { lr: 0.1, momentum: 0.5, weightDecay: 1e-4 });
      const generator = new st.Generator(10);
      for (let step = 0; step < 600; step++) {
        opt.zeroGrad();
        const cd = learner.contrastiveDivergence(data, { k: 1, generator });
        cd.loss.backward();
        opt.step();
        // The chains carry on from the last step's samples.
        if (persistent) assert.deepEqual(learner.getBuffer('chain').tolist(), cd.samples.tolist());
      }
      if (persistent) assert.deepEqual(Object.keys(learner.stateDict()).includes('chain'), true);
      const after = logLikelihood();
      // Uniform over the 64 states is −4.16 nats per pattern; the two patterns alone would be −0.69.
      const what = persistent ? 'PCD' : 'CD-1';
      assert.ok(before < -4 && after > -1, `${what}: log-likelihood ${before} → ${after}`);
      assert.ok(
        learner.reconstructionError(data) < 0.05,
        `${what}: reconstruction ${learner.reconstructionError(data)}`,
      );
    }
  });
});

test('Gibbs sampling: seeded, the right shapes, binary or Gaussian values', () => {
  for (const units of ['binary', 'gaussian'] as const) {
    const rbm = randomRbm(5, 4, units, 11);
    const v0 = st
      .rand([3, 5], { generator: new st.Generator(13) })
      .gt(0.5)
      .cast('float32');
    const a = rbm.gibbs(v0, 3, new st.Generator(12));
    const b = rbm.gibbs(v0, 3, new st.Generator(12));
    assert.deepEqual(a.tolist(), b.tolist());
    assert.deepEqual(a.shape, [3, 5]);
    const values = (a.tolist() as number[][]).flat();
    if (units === 'binary') assert.ok(values.every((x) => x === 0 || x === 1));
    else assert.ok(values.some((x) => x !== 0 && x !== 1));
    assert.deepEqual(rbm.sampleHidden(v0, new st.Generator(1)).shape, [3, 4]);
  }
});

test('log Z sums 2^20 hidden states without running out of stack', () => {
  const rbm = new RBM({ visible: 2, hidden: 20 });
  for (const p of [rbm.weight, rbm.visibleBias, rbm.hiddenBias]) p.data.fill(0);
  // All parameters 0: Z = 2^(visible + hidden).
  near(logPartition(rbm), 22 * Math.LN2, 1e-9);
});

test('bad input: a Gibbs chain of length 0, wrong shapes, bad options are refused clearly', () => {
  const rbm = new RBM({ visible: 4, hidden: 2 });
  const v = st.zeros([2, 4]);
  throwsStrata(
    () => rbm.gibbs(v, 0),
    /RBM.gibbs: a Gibbs chain needs at least one step: k must be an integer ≥ 1, got 0/,
  );
  throwsStrata(
    () => rbm.contrastiveDivergence(v, { k: 1.5 }),
    /RBM.contrastiveDivergence: a Gibbs chain needs at least one step/,
  );
  throwsStrata(
    () => rbm.freeEnergy(st.zeros([2, 5])),
    /RBM.freeEnergy: expected visible states \[N, 4\], got \[2, 5\]/,
  );
  throwsStrata(
    () => rbm.hiddenProbs(st.zeros([2, 4], { dtype: 'float64' })),
    /expected float32 visible states/,
  );
  throwsStrata(
    () => rbm.visibleMean(st.zeros([2, 3])),
    /RBM.visibleMean: expected hidden states \[N, 2\], got \[2, 3\]/,
  );
  throwsStrata(
    () => new RBM({ visible: 2, hidden: 2, persistentChains: -1 }),
    /RBM: persistentChains must be an integer ≥ 0 \(0: CD-k\), got -1/,
  );
  throwsStrata(() => new RBM({ visible: 0, hidden: 2 }), /RBM: visible must be a positive integer, got 0/);
  throwsStrata(
    () => new RBM({ visible: 2, hidden: 2, visibleUnits: 'poisson' as 'binary' }),
    /RBM: visibleUnits must be 'binary' or 'gaussian', got "poisson"/,
  );
  throwsStrata(
    () => annealedLogPartition(rbm, { betas: [0, 0.5, 0.4, 1] }),
    /betas must rise strictly from 0 to 1/,
  );
  throwsStrata(() => annealedLogPartition(rbm, { runs: 1 }), /runs must be an integer ≥ 2, got 1/);
  throwsStrata(
    () => annealedLogPartition(rbm, { data: st.zeros([3, 5]) }),
    /data must be \[N, 4\], got \[3, 5\]/,
  );
  throwsStrata(
    () => logPartition(new RBM({ visible: 2, hidden: 25 })),
    /use annealedLogPartition beyond 24 hidden units/,
  );
});

test('strata train rbm: the report, the pictures, the model reloads, and PCD resumes as the run unbroken', async () => {
  const tiny = [
    '--limit',
    '300',
    '--hidden',
    '16',
    '--persistent',
    '20',
    '--ais-runs',
    '10',
    '--sample-steps',
    '5',
  ];
  const small = [...tiny, '--ais-steps', '60', '--validation', '0.1', '--no-progress'];
  const out = fresh();
  const report = await train('rbm', [...small, '--epochs', '2', '--out', out]);
  assert.equal(report.model, 'rbm');
  assert.equal(report.train_images, 270);
  assert.equal(report.ais_steps, 60);
  const lp = report.test_log_prob as number;
  // 784 fair coins are −543 nats; a trained RBM does better even after two epochs on 270 images.
  assert.ok(lp < 0 && lp > -543, `test log-probability ${lp}`);
  assert.match(
    report.summary,
    /test log-probability -[\d.]+ nats per image \(log Z [\d.]+ by AIS, 10 runs × 60 steps\)/,
  );
  const history = report.history as { reconstruction: number; valLoss: number }[];
  assert.ok(history.every((h) => h.reconstruction > 0 && h.valLoss > 0));
  for (const f of ['filters.png', 'filters.svg', 'samples.png']) assert.ok(existsSync(join(out, f)), f);
  assert.deepEqual(
    [loadPng(join(out, 'samples.png')).width, loadPng(join(out, 'samples.png')).height],
    [582, 582],
  );
  const { model } = loadModel(out);
  assert.ok(model instanceof RBM && model.persistentChains === 20);
  // The fantasy particles are in the checkpoint: one epoch, then the second, is the run of two.
  const split = fresh();
  await train('rbm', [...small, '--epochs', '1', '--out', split]);
  const resumed = await train('rbm', [...small, '--epochs', '2', '--out', split, '--resume']);
  const loss = (r: typeof report) => (r.history as { reconstruction: number }[]).map((h) => h.reconstruction);
  assert.deepEqual(loss(resumed), loss(report));
  assert.equal(resumed.test_log_prob, report.test_log_prob);

  await assert.rejects(
    train('rbm', ['--visible-units', 'poisson', '--out', fresh()]),
    /unknown --visible-units 'poisson': expected binary, gaussian/,
  );
  await assert.rejects(
    train('rbm', ['--cd-k', '0', '--out', fresh()]),
    /--cd-k expects an integer ≥ 1, got '0'/,
  );
  await assert.rejects(
    train('rbm', ['--ais-steps', '2', '--out', fresh()]),
    /--ais-steps expects an integer ≥ 3, got '2'/,
  );
});

test('strata train rbm --visible-units gaussian trains on standardised pixels; strata sample draws from it', async () => {
  const out = fresh();
  const r = await train('rbm', [
    ...['--limit', '200', '--hidden', '8', '--epochs', '1', '--visible-units', 'gaussian'],
    ...['--ais-runs', '4', '--ais-steps', '30', '--sample-steps', '1', '--no-progress', '--out', out],
  ]);
  assert.equal(r.visibleUnits, 'gaussian');
  assert.equal(r.lr, 0.001, "Gaussian units' own rate");
  assert.equal(r.log_prob_of, 'standardised pixels');
  assert.match(r.summary, /test log-density of the standardised pixels -?[\d.]+ nats per image/);
  assert.ok(Number.isFinite(r.test_log_prob as number));
  // CD-1 (no persistent chains) reloads, and samples as a 4 × 4 grid.
  const path = sample([out, '--n', '16', '--columns', '4', '--steps', '5']);
  assert.equal(path, join(out, 'samples-seed0.png'));
  const png = loadPng(path);
  assert.deepEqual([png.width, png.height], [2 + 4 * 58, 2 + 4 * 58]);
  assert.equal(
    sample([out, '--n', '16', '--columns', '4', '--steps', '5', '--out', join(out, 'again.png')]),
    join(out, 'again.png'),
  );
  assert.deepEqual(loadPng(join(out, 'again.png')).data, png.data, 'seeded');
  throwsStrata(() => sample([out, '--steps', '0']), /sample: --steps expects an integer ≥ 1, got '0'/);
  throwsStrata(() => sample([out, '--out', join(out, 'x.jpg')]), /--out must name a \.png file/);
});
