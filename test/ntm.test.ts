/**
 * Neural Turing machines: every addressing stage checked by finite differences to second order in float64
 * on every backend, against hand examples (a weighting sums to 1, a one-hot shift rotates, a large γ gives
 * one-hot, erase-then-add writes exactly), bad inputs; the NTM and its LSTM baseline's shapes; the three
 * algorithmic tasks; a few hundred sequences of short copies lowering the cost; and `strata train ntm`
 * end to end with resume.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { train } from '../src/cli/train.js';
import * as st from '../src/index.js';
import {
  circularShift,
  contentAddressing,
  cosineSimilarity,
  interpolateWeighting,
  memoryRead,
  memoryWrite,
  memoryWrites,
  NTM,
  ntmAddress,
  SequenceLSTM,
  sharpen,
} from '../src/models/ntm.js';
import { sequenceCost } from '../src/models/ntm-recipe.js';
import { loadModel } from '../src/models/registry.js';
import { loadPng } from '../src/viz/png.js';
import { near, onEveryBackend, throwsStrata } from './assertions.js';
import { gradcheck, gradgradcheck, hashSeed, makeRng } from './gradcheck.js';
import { tempDirs } from './tmpdirs.js';

const fresh = tempDirs('ntm');

/** A float64 tensor of uniform values in [lo, hi), seeded by its label. */
function uniform(shape: number[], lo: number, hi: number, label: string): st.Tensor {
  const rng = makeRng(hashSeed(label));
  const n = shape.reduce((a, b) => a * b, 1);
  return new st.Tensor(
    Float64Array.from({ length: n }, () => lo + (hi - lo) * rng()),
    shape,
  );
}

const [B, N, M] = [2, 5, 3];
/** Each addressing function with inputs in its domain. */
const CHECKED: [string, (...x: st.Tensor[]) => st.Tensor, () => st.Tensor[]][] = [
  [
    'cosineSimilarity',
    cosineSimilarity,
    () => [uniform([B, M], -1, 1, 'key'), uniform([B, N, M], -1, 1, 'memory')],
  ],
  [
    'contentAddressing',
    contentAddressing,
    () => [
      uniform([B, M], -1, 1, 'key'),
      uniform([B, 1], 0.5, 3, 'beta'),
      uniform([B, N, M], -1, 1, 'memory'),
    ],
  ],
  [
    'interpolateWeighting',
    interpolateWeighting,
    () => [uniform([B, N], 0, 1, 'wc'), uniform([B, N], 0, 1, 'wp'), uniform([B, 1], 0.1, 0.9, 'g')],
  ],
  ['circularShift', circularShift, () => [uniform([B, N], 0, 1, 'w'), uniform([B, 3], 0, 1, 's')]],
  ['sharpen', sharpen, () => [uniform([B, N], 0.1, 1, 'w'), uniform([B, 1], 1, 3, 'gamma')]],
  ['memoryRead', memoryRead, () => [uniform([B, N, M], -1, 1, 'memory'), uniform([B, N], 0, 1, 'w')]],
  [
    'memoryWrite',
    memoryWrite,
    () => [
      uniform([B, N, M], -1, 1, 'memory'),
      uniform([B, N], 0, 1, 'w'),
      uniform([B, M], 0, 1, 'e'),
      uniform([B, M], -1, 1, 'a'),
    ],
  ],
  [
    'memoryWrites (two heads)',
    (memory, w1, e1, a1, w2, e2, a2) =>
      memoryWrites(memory!, [
        { weighting: w1!, erase: e1!, add: a1! },
        { weighting: w2!, erase: e2!, add: a2! },
      ]),
    () => [
      uniform([B, N, M], -1, 1, 'memory'),
      ...[uniform([B, N], 0, 1, 'w1'), uniform([B, M], 0, 1, 'e1'), uniform([B, M], -1, 1, 'a1')],
      ...[uniform([B, N], 0, 1, 'w2'), uniform([B, M], 0, 1, 'e2'), uniform([B, M], -1, 1, 'a2')],
    ],
  ],
  [
    'ntmAddress',
    (key, beta, gate, shift, gamma, memory, previous) =>
      ntmAddress(
        { key: key!, strength: beta!, gate: gate!, shift: shift!, sharpness: gamma! },
        memory!,
        previous!,
      ),
    () => [
      uniform([B, M], -1, 1, 'key'),
      uniform([B, 1], 0.5, 3, 'beta'),
      uniform([B, 1], 0.1, 0.9, 'g'),
      uniform([B, 3], 0.1, 1, 's'),
      uniform([B, 1], 1, 3, 'gamma'),
      uniform([B, N, M], -1, 1, 'memory'),
      uniform([B, N], 0.05, 1, 'wp'),
    ],
  ],
];

for (const [name, fn, inputs] of CHECKED)
  test(`${name}: gradients of first and second order match central differences in float64`, async () => {
    await onEveryBackend((backend) => {
      const label = `${name} on ${backend}`;
      gradcheck(fn, inputs(), { label, seed: hashSeed(label) });
      gradgradcheck(fn, inputs(), { label, seed: hashSeed(label) });
    });
  });

test('content addressing: cosine similarity per row, a weighting summing to 1, sharper with β', () => {
  const memory = st.tensor([
    [
      [1, 0],
      [0, 2],
      [-3, 0],
      [0, 0],
    ],
  ]);
  near(cosineSimilarity(st.tensor([[2, 0]]), memory), [1, 0, -1, 0], 1e-6, 'a zero row scores 0');
  const soft = contentAddressing(st.tensor([[1, 0]]), st.tensor([1]), memory);
  const sharp = contentAddressing(st.tensor([[1, 0]]), st.tensor([[20]]), memory);
  near(soft.sum(1), [1], 1e-6);
  near(sharp.sum(1), [1], 1e-6);
  // softmax(β K) with K = (1, 0, −1, 0).
  const z = Math.E + 2 + 1 / Math.E;
  near(soft, [Math.E / z, 1 / z, 1 / Math.E / z, 1 / z], 1e-6);
  assert.ok(sharp.toTypedArray()[0]! > 0.999);
});

test('interpolation, shift and sharpening: g mixes, a one-hot shift rotates, a large γ gives one-hot', () => {
  near(
    interpolateWeighting(st.tensor([[1, 0, 0]]), st.tensor([[0, 0, 1]]), st.tensor([0.3])),
    [0.3, 0, 0.7],
    1e-6,
  );
  const w = st.tensor([[0.1, 0.6, 0.3, 0, 0]]);
  near(circularShift(w, st.tensor([[0, 0, 1]])), [0, 0.1, 0.6, 0.3, 0], 1e-7, 'shift +1');
  near(circularShift(w, st.tensor([[1, 0, 0]])), [0.6, 0.3, 0, 0, 0.1], 1e-7, 'shift −1 wraps round');
  near(circularShift(w, st.tensor([[0, 1, 0]])), w, 1e-7, 'no shift');
  const oneHot = st.tensor([[0, 0, 0, 0, 1]]);
  near(circularShift(oneHot, st.tensor([[0, 0, 1]])), [1, 0, 0, 0, 0], 1e-7, 'the last row comes round');
  near(circularShift(oneHot, st.tensor([[0, 0, 0, 0, 1]])), [0, 1, 0, 0, 0], 1e-7, 'shift +2 with R = 2');
  const spread = circularShift(oneHot, st.tensor([[0.25, 0.5, 0.25]]));
  near(spread, [0.25, 0, 0, 0.25, 0.5], 1e-7, 'a spread shift blurs');
  near(sharpen(st.tensor([[0.5, 0.25, 0.25]]), st.tensor([1])), [0.5, 0.25, 0.25], 1e-6, 'γ = 1 keeps it');
  near(sharpen(st.tensor([[0.5, 0.25, 0.25]]), st.tensor([2])), [2 / 3, 1 / 6, 1 / 6], 1e-6);
  const hard = sharpen(st.tensor([[0.3, 0.4, 0.3]]), st.tensor([200]));
  near(hard, [0, 1, 0], 1e-6, 'γ = 200 is one-hot');
  near(sharpen(st.tensor([[0, 1, 0]]), st.tensor([3])), [0, 1, 0], 1e-6, 'zeros stay zero');
});

test('reading and writing: erase everything then add writes exactly; w = 0 leaves the memory', () => {
  const memory = st.tensor([
    [
      [1, 2],
      [3, 4],
      [5, 6],
    ],
  ]);
  near(memoryRead(memory, st.tensor([[0, 1, 0]])), [3, 4], 1e-7);
  near(memoryRead(memory, st.tensor([[0.5, 0, 0.5]])), [3, 4], 1e-7);
  const written = memoryWrite(memory, st.tensor([[0, 1, 0]]), st.tensor([[1, 1]]), st.tensor([[-7, 9]]));
  near(written, [1, 2, -7, 9, 5, 6], 0, 'row 1 replaced exactly');
  const added = memoryWrite(memory, st.tensor([[0, 0, 1]]), st.tensor([[0, 0]]), st.tensor([[1, 1]]));
  near(added, [1, 2, 3, 4, 6, 7], 1e-7, 'e = 0 adds only');
  const halfErased = memoryWrite(memory, st.tensor([[0.5, 0, 0]]), st.tensor([[1, 0]]), st.tensor([[0, 0]]));
  near(halfErased, [0.5, 2, 3, 4, 5, 6], 1e-7, 'w e scales the erase');
  near(memoryWrite(memory, st.zeros([1, 3]), st.ones([1, 2]), st.ones([1, 2])), memory, 0);
  // Two heads: both erase before either adds, so the second head's erase keeps the first's add.
  const row1 = st.tensor([[0, 1, 0]]);
  const both = memoryWrites(memory, [
    { weighting: row1, erase: st.zeros([1, 2]), add: st.tensor([[10, 20]]) },
    { weighting: row1, erase: st.ones([1, 2]), add: st.zeros([1, 2]) },
  ]);
  near(both, [1, 2, 10, 20, 5, 6], 0, 'erased, then the add');
  throwsStrata(() => memoryWrites(memory, []), /memoryWrites: no write heads/);
});

test('bad inputs name the op, what was expected and what came', () => {
  const memory = st.zeros([2, 4, 3]);
  throwsStrata(
    () => cosineSimilarity(st.zeros([2, 4]), memory),
    /cosineSimilarity: the key must be \[2, 3\]/,
  );
  throwsStrata(
    () => cosineSimilarity(st.zeros([2, 3]), st.zeros([4, 3])),
    /cosineSimilarity: the memory must be \[B, N, M\]/,
  );
  throwsStrata(
    () => contentAddressing(st.zeros([2, 3]), st.zeros([3]), memory),
    /contentAddressing: the key strength β must be \[2\] or \[2, 1\]/,
  );
  throwsStrata(
    () => interpolateWeighting(st.zeros([2, 4]), st.zeros([2, 5]), st.zeros([2])),
    /interpolateWeighting: the previous weighting must be \[2, 4\].*got \[2, 5\]/,
  );
  throwsStrata(
    () => circularShift(st.zeros([2, 4]), st.zeros([2, 2])),
    /circularShift: the shift distribution must be \[2, 2R \+ 1\].*got \[2, 2\]/,
  );
  throwsStrata(
    () => circularShift(st.zeros([1, 2]), st.zeros([1, 5])),
    /circularShift: the shift range 2 must be below the 2 rows/,
  );
  throwsStrata(
    () => sharpen(st.zeros([2, 4]), st.zeros([2, 2])),
    /sharpen: the sharpening γ must be \[2\] or \[2, 1\]/,
  );
  throwsStrata(() => memoryRead(memory, st.zeros([2, 3])), /memoryRead: the weighting must be \[2, 4\]/);
  throwsStrata(
    () => memoryWrite(memory, st.zeros([2, 4]), st.zeros([2, 3]), st.zeros([2, 2])),
    /memoryWrite: the add vector must be \[2, 3\]/,
  );
  throwsStrata(
    () => new NTM({ inputSize: 3, outputSize: 2, controller: 'gru' as 'lstm' }),
    /NTM: controller must be/,
  );
  throwsStrata(
    () => new NTM({ inputSize: 3, outputSize: 2, memoryRows: 2, shiftRange: 2 }),
    /NTM: shiftRange 2 must be below memoryRows 2/,
  );
  const ntm = new NTM({ inputSize: 3, outputSize: 2, memoryRows: 4, memoryWidth: 2, hidden: 4 });
  throwsStrata(() => ntm.forward(st.zeros([2, 5, 4])), /NTM: inputs must be \[B, T, 3\].*got \[2, 5, 4\]/);
  throwsStrata(
    () => ntm.forward(st.zeros([2, 0, 3])),
    /NTM: inputs must be \[B, T, 3\] with T ≥ 1.*got \[2, 0, 3\]/,
  );
});

test('the NTM: logits per step, weightings per step and head that sum to 1, both controllers', () => {
  for (const controller of ['lstm', 'feedforward'] as const) {
    const ntm = new NTM({
      ...{ inputSize: 4, outputSize: 3, controller, hidden: 6 },
      ...{ memoryRows: 7, memoryWidth: 5, readHeads: 2, writeHeads: 1 },
    });
    const out = ntm.run(st.rand([3, 4, 4]));
    assert.deepEqual(out.logits.shape, [3, 4, 3]);
    assert.deepEqual(out.reads.shape, [3, 4, 2, 7]);
    assert.deepEqual(out.writes.shape, [3, 4, 1, 7]);
    near(out.reads.sum(3), new Array(3 * 4 * 2).fill(1), 1e-5);
    near(out.writes.sum(3), new Array(3 * 4).fill(1), 1e-5);
    // Parameters: the controller, each head's map (key M, β, g, 3 shifts, γ: 11; a write head also e and a),
    // the read-out from [h, r_1, r_2], and the learned initial reads.
    const inner = 4 + 2 * 5;
    const ctrl = controller === 'lstm' ? 4 * 6 * (inner + 6) + 8 * 6 : 6 * inner + 6;
    const heads = 2 * (6 * 11 + 11) + (6 * 21 + 21);
    assert.equal(ntm.numParameters(), ctrl + heads + (6 + 10) * 3 + 3 + 2 * 5, controller);
  }
  const lstm = new SequenceLSTM({ inputSize: 9, outputSize: 8, hidden: 16, layers: 2 });
  assert.deepEqual(lstm.forward(st.rand([2, 6, 9])).shape, [2, 6, 8]);
});

test('the tasks: deterministic from the generator, targets as the paper describes', () => {
  const a = st.data.copyBatch({ batchSize: 3, minLength: 1, maxLength: 20, generator: new st.Generator(5) });
  const b = st.data.copyBatch({ batchSize: 3, minLength: 1, maxLength: 20, generator: new st.Generator(5) });
  assert.deepEqual(a.inputs.tolist(), b.inputs.tolist());
  const L = (a.inputs.shape[1]! - 1) / 2;
  const x = a.inputs.tolist() as number[][][];
  const y = a.targets.tolist() as number[][][];
  for (let s = 0; s < 3; s++) {
    for (let t = 0; t < L; t++) {
      assert.deepEqual(y[s]![L + 1 + t], x[s]![t]!.slice(0, 8), 'the answer is the sequence');
      assert.equal(x[s]![t]![8], 0);
    }
    assert.deepEqual(x[s]![L], [0, 0, 0, 0, 0, 0, 0, 0, 1], 'the delimiter step');
  }
  assert.deepEqual(a.mask.sum(1).tolist(), [L, L, L]);
  const lengths = new Set(
    Array.from({ length: 40 }, (_, i) => {
      const c = st.data.copyBatch({ batchSize: 1, generator: new st.Generator(i) });
      return (c.inputs.shape[1]! - 1) / 2;
    }),
  );
  assert.ok([...lengths].every((l) => l >= 1 && l <= 20) && lengths.size > 8, `lengths ${[...lengths]}`);

  const r = st.data.recallBatch({ batchSize: 4, minItems: 3, maxItems: 3, generator: new st.Generator(2) });
  assert.deepEqual(r.inputs.shape, [4, 20, 8]);
  const ri = r.inputs.tolist() as number[][][];
  const rt = r.targets.tolist() as number[][][];
  for (let s = 0; s < 4; s++) {
    const item = (i: number) => [1, 2, 3].map((k) => ri[s]![4 * i + k]!.slice(0, 6));
    const query = [13, 14, 15].map((t) => ri[s]![t]!.slice(0, 6));
    const q = [0, 1].find((i) => JSON.stringify(item(i)) === JSON.stringify(query));
    assert.ok(q !== undefined, 'the query is one of the items but the last');
    assert.deepEqual(
      [17, 18, 19].map((t) => rt[s]![t]),
      item(q + 1),
      'the answer is the next item',
    );
    assert.equal(ri[s]![12]![7], 1);
    assert.equal(ri[s]![16]![7], 1);
  }
  assert.deepEqual((r.mask.tolist() as number[][])[0], [...new Array(17).fill(0), 1, 1, 1]);

  const p = st.data.sortBatch({ batchSize: 2, generator: new st.Generator(3) });
  assert.deepEqual(p.inputs.shape, [2, 37, 10]);
  const pi = p.inputs.tolist() as number[][][];
  const pt = p.targets.tolist() as number[][][];
  for (let s = 0; s < 2; s++) {
    const byPriority = pi[s]!.slice(0, 20).sort((u, v) => v[8]! - u[8]!);
    assert.ok(pi[s]!.slice(0, 20).every((v) => v[8]! >= -1 && v[8]! <= 1));
    assert.deepEqual(
      pt[s]!.slice(21),
      byPriority.slice(0, 16).map((v) => v.slice(0, 8)),
    );
    assert.deepEqual(pi[s]![20], [0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  }
  throwsStrata(
    () => st.data.sortBatch({ batchSize: 1, count: 4, keep: 5, generator: new st.Generator(0) }),
    /sortBatch: keep \(5\) must be at most count \(4\)/,
  );
  throwsStrata(
    () => st.data.recallBatch({ batchSize: 1, minItems: 1, generator: new st.Generator(0) }),
    /recallBatch: minItems must be an integer ≥ 2/,
  );
});

test('800 short copies (length 1 to 2) lower the cost per sequence clearly', () => {
  st.manualSeed(0);
  const ntm = new NTM({ inputSize: 9, outputSize: 8, hidden: 16, memoryRows: 8, memoryWidth: 8 });
  const opt = new st.optim.Adam(ntm.parameters(), { lr: 0.01 });
  const generator = new st.Generator(1);
  const valid = st.data.copyBatch({
    batchSize: 32,
    minLength: 2,
    maxLength: 2,
    generator: new st.Generator(9),
  });
  const cost = () => st.noGrad(() => sequenceCost(ntm.forward(valid.inputs), valid).item());
  const before = cost();
  for (let step = 0; step < 100; step++) {
    const b = st.data.copyBatch({ batchSize: 8, minLength: 1, maxLength: 2, generator });
    const loss = sequenceCost(ntm.forward(b.inputs), b);
    opt.zeroGrad();
    loss.backward();
    st.optim.clipGradNorm(ntm.parameters(), 10);
    opt.step();
  }
  const after = cost();
  // Guessing every bit costs 16 bits for 2 vectors of 8 bits.
  assert.ok(before > 15, `before ${before}`);
  assert.ok(after < 0.85 * before, `cost ${before} → ${after} bits per sequence`);
});

test('strata train ntm on copy: report, pictures, reload, and resume giving the run unbroken', async () => {
  const small = ['--sequences', '32', '--batch-size', '16', '--memory-rows', '8', '--memory-width', '6'];
  const tiny = [...small, '--max-length', '3', '--test-lengths', '4,6', '--hidden', '16', '--no-progress'];
  const out = fresh();
  const report = await train('ntm', [...tiny, '--epochs', '2', '--out', out]);
  assert.equal(report.model, 'ntm');
  assert.equal(report.sequences_seen, 64);
  assert.deepEqual(
    (report.copy_test as { length: number }[]).map((s) => s.length),
    [4, 6],
  );
  assert.match(report.summary, /copy: length 4 [\d.]+ bits, [\d.]+ bit errors; length 6 /);
  for (const f of ['checkpoint.safetensors', 'best.safetensors', 'learning.svg', 'memory.svg', 'curves.svg'])
    assert.ok(existsSync(join(out, f)), f);
  assert.ok(loadPng(join(out, 'memory.png')).height > 200);
  const { model } = loadModel(out);
  assert.ok(model instanceof NTM);
  // Resume: one epoch, then on to the second, is the run of two epochs.
  const split = fresh();
  await train('ntm', [...tiny, '--epochs', '1', '--out', split]);
  const resumed = await train('ntm', [...tiny, '--epochs', '2', '--out', split, '--resume']);
  const [h, r] = [report.history as { loss: number }[], resumed.history as { loss: number }[]];
  assert.equal(r.length, 2);
  near(r[1]!.loss, h[1]!.loss, 1e-5, 'the resumed epoch');
});

test('strata train ntm: the feedforward controller, the LSTM baseline, priority sort; bad flags', async () => {
  const small = ['--sequences', '32', '--batch-size', '16', '--memory-rows', '8', '--memory-width', '6'];
  const tiny = [...small, '--max-length', '3', '--test-lengths', '4,6', '--hidden', '16', '--no-progress'];
  const ff = await train('ntm', [...tiny, '--controller', 'feedforward', '--out', fresh(), '--epochs', '1']);
  assert.equal(ff.controller, 'feedforward');
  const base = await train('ntm', [
    ...['--sequences', '32', '--batch-size', '16', '--max-length', '3', '--test-lengths', '4,6'],
    ...['--hidden', '16', '--no-progress'],
    ...['--controller', 'lstm-only', '--layers', '2', '--out', fresh(), '--epochs', '1'],
  ]);
  assert.equal(
    base.parameters,
    new SequenceLSTM({ inputSize: 9, outputSize: 8, hidden: 16, layers: 2 }).numParameters(),
  );
  assert.equal(base.memory_figure, null);
  const sort = await train('ntm', [
    ...[...small, '--hidden', '16', '--no-progress'],
    ...['--task', 'sort', '--out', fresh(), '--epochs', '1'],
  ]);
  assert.match(
    sort.summary,
    /sort: test cost [\d.]+ bits, [\d.]+ bit errors per sequence, [\d.]+% of output vectors exactly right/,
  );
  assert.ok((sort.test_vector_accuracy as number) >= 0 && (sort.test_vector_accuracy as number) <= 1);

  await assert.rejects(
    train('ntm', ['--task', 'add', '--out', fresh()]),
    /unknown --task 'add': expected copy, recall, sort/,
  );
  await assert.rejects(train('ntm', ['--controller', 'gru', '--out', fresh()]), /unknown --controller 'gru'/);
  await assert.rejects(
    train('ntm', ['--task', 'recall', '--min-length', '1', '--out', fresh()]),
    /--min-length must be at least 2 items for recall/,
  );
  // A flag that would be ignored is refused.
  await assert.rejects(
    train('ntm', ['--layers', '2', '--out', fresh()]),
    /--layers is the baseline's \(--controller lstm-only\); the lstm controller has one/,
  );
  await assert.rejects(
    train('ntm', ['--controller', 'lstm-only', '--read-heads', '2', '--out', fresh()]),
    /--read-heads sets the NTM's memory; the baseline \(--controller lstm-only\) has none/,
  );
  await assert.rejects(
    train('ntm', ['--task', 'sort', '--max-length', '5', '--out', fresh()]),
    /--max-length applies to copy and recall; priority sort always sorts 20 vectors/,
  );
  await assert.rejects(
    train('ntm', ['--task', 'recall', '--test-lengths', '30', '--out', fresh()]),
    /--test-lengths applies to copy; recall is tested/,
  );
});

test('strata train ntm --task recall draws 2 to 6 items by default, as the paper', async () => {
  const report = await train('ntm', [
    ...['--task', 'recall', '--sequences', '16', '--batch-size', '16', '--epochs', '1'],
    ...['--memory-rows', '8', '--memory-width', '6', '--hidden', '8', '--no-progress', '--out', fresh()],
  ]);
  assert.equal(report.minLength, 2);
  assert.equal(report.maxLength, 6);
});

test('the heat-map figure: one picture per panel, named, on one time axis; ragged panels refused', () => {
  const svg = st.viz.heatMapFigure(
    [
      {
        name: 'inputs',
        values: [
          [0, 1, 0],
          [1, 0, 1],
        ],
      },
      {
        name: 'write weighting',
        values: [
          [1, 0, 0],
          [0, 1, 0],
          [0, 0, 1],
          [0, 0, 0],
        ],
      },
    ],
    { title: 'copy', cellWidth: 4 },
  );
  assert.equal(svg.match(/<image /g)?.length, 2);
  assert.match(svg, />inputs</);
  assert.match(svg, />write weighting</);
  assert.match(svg, /width="12" height="/, 'three columns of 4 units');
  throwsStrata(
    () =>
      st.viz.heatMapFigure([
        { name: 'a', values: [[0, 1]] },
        { name: 'b', values: [[0]] },
      ]),
    /heatMapFigure: panel 'b' must have at least one row, every row of 2 columns/,
  );
  throwsStrata(() => st.viz.heatMapFigure([]), /heatMapFigure: no panels to draw/);
  throwsStrata(
    () => st.viz.heatMapFigure([{ name: 'a', values: [[]] }]),
    /heatMapFigure: panel 'a' has no columns \(steps\) to draw/,
  );
  throwsStrata(
    () => st.viz.heatMapFigure([{ name: 'a', values: [[0, 1]], range: [1, 1] }]),
    /heatMapFigure: panel 'a': range must be \[low, high\] with low < high, got \[1, 1\]/,
  );
});
