/**
 * End-to-end memory networks: shapes, the two tyings as the paper has them (which tensor plays which
 * part), the position encoding against its formula on a hand example and inside the model, the temporal
 * encoding, linear start, the `<nil>` word staying zero through training, bad inputs, and
 * `strata train memn2n` end to end on a few hundred questions of task 1 on every backend.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { train } from '../src/cli/train.js';
import * as st from '../src/index.js';
import { MemN2N, positionEncoding } from '../src/models/memn2n.js';
import { loadModel } from '../src/models/registry.js';
import { loadPng } from '../src/viz/png.js';
import { near, onEveryBackend, throwsStrata } from './assertions.js';
import { tempDirs } from './tmpdirs.js';

const fresh = tempDirs('memn2n');
const ids = (v: number[][] | number[][][]) => st.tensor(v, { dtype: 'int32' });

test("the position encoding is the authors' code's l_kj = 1 + 4 (k − (d+1)/2)(j − (J+1)/2) / dJ", () => {
  // J = 3 words, d = 2: l_kj = 1 + (2/3)(k − 3/2)(j − 2); j = 1 → (4/3, 2/3), j = 2 → (1, 1), j = 3 → (2/3, 4/3).
  near(positionEncoding(3, 2).flat(), [4 / 3, 2 / 3, 1, 1, 2 / 3, 4 / 3], 1e-12);
});

test('shapes: logits over the vocabulary, one attention row per hop summing to 1 over the story', () => {
  const net = new MemN2N({ vocabSize: 12, hops: 3, memorySize: 5, embed: 4 });
  const stories = ids([
    [
      [2, 3, 4],
      [5, 6, 0],
      [0, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
    ],
    [
      [7, 8, 9],
      [0, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
    ],
  ]);
  const slots = st.tensor([
    [1, 1, 0, 0, 0],
    [1, 0, 0, 0, 0],
  ]);
  const out = net.run(
    stories,
    slots,
    ids([
      [10, 11],
      [10, 0],
    ]),
  );
  assert.deepEqual(out.logits.shape, [2, 12]);
  assert.equal(out.attention.length, 3);
  for (const p of out.attention) {
    assert.deepEqual(p.shape, [2, 5]);
    near(p.sum(1), [1, 1], 1e-5);
    near(p.narrow(1, 2, 3), new Array(6).fill(0), 1e-6, 'slots past the story take no weight');
  }
});

test('adjacent tying: A^{k+1} = C^k, B = A^1, W = C^K; layer-wise: one A, one C, and H', () => {
  const adj = new MemN2N({ vocabSize: 10, hops: 3, memorySize: 6, embed: 4 });
  assert.equal(adj.question, adj.memoryIn(1).words);
  for (let k = 1; k < 3; k++) {
    assert.equal(adj.memoryIn(k + 1).words, adj.memoryOut(k).words);
    assert.equal(adj.memoryIn(k + 1).time, adj.memoryOut(k).time);
  }
  assert.notEqual(adj.memoryIn(1).words, adj.memoryOut(1).words);
  assert.equal(adj.numParameters(), 4 * 10 * 4 + 4 * 6 * 4, 'K + 1 word tables and K + 1 temporal tables');
  // W = C^K: the logits are u^{K+1} · C^K's rows.
  const names = adj.namedParameters().map(([n]) => n);
  assert.deepEqual(names, [
    ...['embeddings.0.weight', 'embeddings.1.weight', 'embeddings.2.weight', 'embeddings.3.weight'],
    ...['temporal.0.weight', 'temporal.1.weight', 'temporal.2.weight', 'temporal.3.weight'],
  ]);
  const lw = new MemN2N({ vocabSize: 10, hops: 3, memorySize: 6, embed: 4, tying: 'layerwise' });
  assert.equal(lw.memoryIn(1).words, lw.memoryIn(3).words);
  assert.equal(lw.memoryOut(1).words, lw.memoryOut(2).words);
  assert.notEqual(lw.question, lw.memoryIn(1).words);
  assert.ok(lw.mix !== null && lw.output !== null);
  assert.equal(lw.numParameters(), 3 * 10 * 4 + 2 * 6 * 4 + 4 * 4 + 10 * 4);
  const none = new MemN2N({ vocabSize: 10, hops: 1, memorySize: 6, embed: 4, temporal: false });
  assert.equal(none.numParameters(), 2 * 10 * 4);
});

test('inside the model: m_i = Σ_j l_j ⊙ A x_ij, u = Σ_j l_j ⊙ B q_j, p = softmax(uᵀ m)', () => {
  const net = new MemN2N({ vocabSize: 8, hops: 1, memorySize: 3, embed: 4, temporal: false });
  const a = net.memoryIn(1).words.weight.tolist() as number[][];
  const encode = (words: number[]) => {
    const l = positionEncoding(words.length, 4);
    return [0, 1, 2, 3].map((k) => words.reduce((s, w, j) => s + l[j]![k]! * a[w]![k]!, 0));
  };
  const [m0, m1, u] = [encode([2, 3, 4]), encode([5, 6]), encode([7, 2])];
  const dot = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i]!, 0);
  const [s0, s1] = [dot(m0, u), dot(m1, u)];
  const z = Math.exp(s0) + Math.exp(s1);
  const out = net.run(
    ids([
      [
        [2, 3, 4],
        [5, 6, 0],
        [0, 0, 0],
      ],
    ]),
    st.tensor([[1, 1, 0]]),
    ids([[7, 2]]),
  );
  near(out.attention[0]!, [Math.exp(s0) / z, Math.exp(s1) / z, 0], 1e-5);
  // Bag of words: the plain sums.
  const bow = new MemN2N({
    vocabSize: 8,
    hops: 1,
    memorySize: 3,
    embed: 4,
    temporal: false,
    encoding: 'bow',
  });
  const b = bow.memoryIn(1).words.weight.tolist() as number[][];
  const sum = (words: number[]) => [0, 1, 2, 3].map((k) => words.reduce((s, w) => s + b[w]![k]!, 0));
  const [t0, t1] = [dot(sum([2, 3, 4]), sum([7, 2])), dot(sum([5, 6]), sum([7, 2]))];
  const scores = bow.run(
    ids([
      [
        [2, 3, 4],
        [5, 6, 0],
        [0, 0, 0],
      ],
    ]),
    st.tensor([[1, 1, 0]]),
    ids([[7, 2]]),
  );
  near(scores.attention[0]!, [1 / (1 + Math.exp(t1 - t0)), 1 / (1 + Math.exp(t0 - t1)), 0], 1e-5);
  // Linear start: the raw scores, no softmax.
  bow.linearStart = true;
  const raw = bow.run(
    ids([
      [
        [2, 3, 4],
        [5, 6, 0],
        [0, 0, 0],
      ],
    ]),
    st.tensor([[1, 1, 0]]),
    ids([[7, 2]]),
  );
  near(raw.attention[0]!, [t0, t1, 0], 1e-5);
});

test('temporal encoding: an empty memory is its slot vector T_A(i) alone', () => {
  const net = new MemN2N({ vocabSize: 6, hops: 1, memorySize: 2, embed: 3, encoding: 'bow' });
  const t = net.memoryIn(1).time!.weight.tolist() as number[][];
  const q = net.question.weight.tolist() as number[][];
  const u = q[4]!;
  const [s0, s1] = t.map((row) => row.reduce((s, v, k) => s + v * u[k]!, 0)) as [number, number];
  const out = net.run(ids([[[0], [0]]]), st.tensor([[1, 1]]), ids([[4]]));
  near(out.attention[0]!, [1 / (1 + Math.exp(s1 - s0)), 1 / (1 + Math.exp(s0 - s1))], 1e-5);
});

test('the <nil> word embeds to zero and stays zero through training, the output W = C^K included', () => {
  const net = new MemN2N({ vocabSize: 9, hops: 2, memorySize: 4, embed: 5 });
  for (const e of net.embeddings)
    near(e.weight.narrow(0, 0, 1), new Array(5).fill(0), 0, 'row 0 starts at zero');
  const opt = new st.optim.SGD(net.parameters(), { lr: 0.5 });
  const stories = ids([
    [
      [2, 3, 0],
      [4, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
    ],
  ]);
  for (let i = 0; i < 3; i++) {
    const loss = st.nn.crossEntropy(
      net.forward(stories, st.tensor([[1, 1, 0, 0]]), ids([[5, 0]])),
      ids([[6]]).reshape([1]),
    );
    opt.zeroGrad();
    loss.backward();
    opt.step();
  }
  for (const e of net.embeddings)
    near(e.weight.narrow(0, 0, 1), new Array(5).fill(0), 0, 'row 0 after training');
});

test('bad inputs say what was expected and what came', () => {
  throwsStrata(() => new MemN2N({ vocabSize: 10, hops: 4 }), /MemN2N: hops must be 1, 2 or 3, got 4/);
  throwsStrata(
    () => new MemN2N({ vocabSize: 10, tying: 'global' as 'adjacent' }),
    /MemN2N: tying must be 'adjacent' or 'layerwise', got "global"/,
  );
  const net = new MemN2N({ vocabSize: 10, hops: 1, memorySize: 4, embed: 3 });
  throwsStrata(
    () => net.run(st.zeros([2, 3, 5]), st.ones([2, 4]), ids([[1], [2]])),
    /MemN2N: stories must be int32 word ids \[B, M, L\] with M from 1 to the memory size 4, got float32 \[2, 3, 5\]/,
  );
  throwsStrata(
    () => net.run(ids([[[1], [0], [0], [0], [0]]]), st.ones([1, 5]), ids([[1]])),
    /MemN2N: stories must be .* with M from 1 to the memory size 4, got int32 \[1, 5, 1\]/,
  );
  throwsStrata(
    () => net.run(ids([[[1], [0], [0], [0]]]), st.ones([1, 3]), ids([[1]])),
    /MemN2N: slots must be \[1, 4\] \(1 for a memory, 0 past the story\), got \[1, 3\]/,
  );
  throwsStrata(
    () => net.run(ids([[[1], [0], [0], [0]]]), st.ones([1, 4]), ids([[12]])),
    /embedding: token id 12 .* is outside the vocabulary \[0, 10\)/,
  );
});

test('strata train memn2n on 300 questions of task 1 lowers the loss on every backend; report, picture, reload', async () => {
  const args = ['--task', '1', '--limit', '300', '--test-limit', '60', '--epochs', '3', '--no-progress'];
  await onEveryBackend(async (name) => {
    const out = fresh();
    const report = await train('memn2n', [...args, '--encoding', 'position', '--random-noise', '--out', out]);
    const history = report.history as { loss: number }[];
    assert.ok(history[2]!.loss < history[0]!.loss, `${name}: loss ${history[0]!.loss} → ${history[2]!.loss}`);
    assert.deepEqual(Object.keys(report.test_error as object), ['1']);
    assert.equal(report.dataset, 'babi-en-10k');
    assert.equal(report.train_questions, 270);
    assert.equal(report.valid_questions, 30);
    assert.deepEqual(report.test_questions, { 1: 60 });
    assert.equal(typeof report.mean_test_error, 'number');
    assert.match(report.summary, /task 1: mean test error [\d.]+%, [01] failed \(> 5%\)/);
    for (const f of ['checkpoint.safetensors', 'best.safetensors', 'attention.svg'])
      assert.ok(existsSync(join(out, f)), f);
    assert.ok(loadPng(join(out, 'attention.png')).width > 200);
    const { model, config } = loadModel(out);
    assert.ok(model instanceof MemN2N);
    assert.equal(config.vocabSize, report.vocab_size);
  });
  const out = fresh();
  await assert.rejects(
    train('memn2n', ['--task', '3', '--out', out]),
    /train memn2n: --task 3 has no training file/,
  );
  await assert.rejects(train('memn2n', ['--task', '21', '--out', out]), /unknown --task '21'/);
  await assert.rejects(train('memn2n', ['--hops', '4', '--out', out]), /--hops must be 1, 2 or 3, got 4/);
});

test('strata train memn2n --task all: one model over the 19 training files, scored on all 20 tasks', async () => {
  const out = fresh();
  const report = await train('memn2n', [
    ...['--task', 'all', '--limit', '100', '--test-limit', '2', '--epochs', '1', '--hops', '1'],
    ...['--tying', 'layerwise', '--no-temporal', '--no-progress', '--out', out],
  ]);
  assert.equal(Object.keys(report.test_error as object).length, 20);
  assert.equal(report.embed, 50, 'd = 50 for joint training, as the paper');
  assert.equal((report.train_questions as number) + (report.valid_questions as number), 19 * 100);
  assert.match(String(report.note), /task 3 has no training file/);
  assert.match(report.summary, /20 tasks: mean test error [\d.]+%, \d+ failed \(> 5%\) \[1: [\d.]+%, 2: /);
});

test('linear start: the softmax out for the first --ls-epochs at half the rate, then the schedule from the full rate', async () => {
  const report = await train('memn2n', [
    ...['--task', '1', '--limit', '100', '--test-limit', '10', '--epochs', '4', '--hops', '1'],
    ...['--linear-start', '--ls-epochs', '2', '--no-progress', '--out', fresh()],
  ]);
  const history = report.history as { lr: number; valLinearStart: number }[];
  assert.deepEqual(
    history.map((h) => h.valLinearStart),
    [1, 1, 0, 0],
  );
  // The rate in each epoch: 0.01 / 2 while linear, then 0.01 halved every quarter of the 2 epochs after.
  near(
    history.map((h) => h.lr),
    [0.005, 0.005, 0.01, 0.005],
    1e-12,
  );
  await assert.rejects(
    train('memn2n', ['--linear-start', '--ls-epochs', '5', '--epochs', '5', '--out', fresh()]),
    /--ls-epochs \(5\) must be fewer than --epochs \(5\)/,
  );
  await assert.rejects(
    train('memn2n', ['--ls-epochs', '10', '--out', fresh()]),
    /--ls-epochs is the length of the linear start: add --linear-start/,
  );
  await assert.rejects(
    train('memn2n', ['--linear-start', '--schedule', 'plateau', '--out', fresh()]),
    /--linear-start takes a schedule over the epochs after it/,
  );
});

test('a batch cut at its longest memory answers as the full memory does (the empty slots take no weight)', () => {
  for (const linearStart of [false, true]) {
    const net = new MemN2N({
      vocabSize: 12,
      hops: 3,
      memorySize: 6,
      embed: 5,
      generator: new st.Generator(4),
    });
    net.linearStart = linearStart;
    const story = [
      [2, 3, 4],
      [5, 6, 0],
      [7, 0, 0],
    ];
    const empty = [0, 0, 0];
    const full = net.run(
      ids([[...story, empty, empty, empty]]),
      st.tensor([[1, 1, 1, 0, 0, 0]]),
      ids([[10, 11]]),
    );
    const cut = net.run(ids([story]), st.tensor([[1, 1, 1]]), ids([[10, 11]]));
    near(cut.logits, full.logits, 1e-5);
    for (const [k, p] of cut.attention.entries()) near(p, full.attention[k]!.narrow(1, 0, 3), 1e-6);
  }
});
