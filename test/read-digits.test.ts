/**
 * Reading digits with attention: the strip generator (seeded, captions match the digits placed, pools
 * respected, shapes, k in range), the accuracy rule on hand-made examples, the reader's shapes and bad
 * inputs, a few steps on every backend, the attention figure, and `strata train read-digits` end to end
 * on a few hundred strips.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { train } from '../src/cli/train.js';
import {
  CAPTION_IDS,
  caption,
  DigitStrips,
  drawDigitStrip,
  readingAccuracy,
  stripEpochs,
} from '../src/data/digit-strips.js';
import * as st from '../src/index.js';
import { DigitReader } from '../src/models/read-digits.js';
import { loadModel } from '../src/models/registry.js';
import { evaluating } from '../src/nn/module.js';
import { stripAttentionFigure } from '../src/viz/attention.js';
import { loadPng } from '../src/viz/png.js';
import { near, onEveryBackend, throwsStrata } from './assertions.js';
import { tempDirs } from './tmpdirs.js';

const fresh = tempDirs('read-digits');
const mnist = st.data.loadMnist('test', { limit: 300 });
const labels = mnist.labels.toTypedArray();

test('strips are seeded: the same seed draws the same strip, another seed another', () => {
  const a = drawDigitStrip(mnist, new st.Generator(5));
  const b = drawDigitStrip(mnist, new st.Generator(5));
  assert.deepEqual(a, b);
  const set = new DigitStrips(mnist, { count: 20, batchSize: 8, seed: 3 });
  assert.deepEqual(set.batch(1).images.toTypedArray(), set.batch(1).images.toTypedArray());
  // Strip i is the same whatever the batch size.
  const other = new DigitStrips(mnist, { count: 20, batchSize: 5, seed: 3 });
  assert.deepEqual(other.strip(9), set.strip(9));
  assert.notDeepEqual(set.strip(9, 4), set.strip(9));
});

test('each strip holds 1 to 5 digits left to right, its caption their names, within the canvas', () => {
  const set = new DigitStrips(mnist, { count: 300, seed: 1 });
  const ks = new Set<number>();
  for (let i = 0; i < set.count; i++) {
    const s = set.strip(i);
    ks.add(s.digits.length);
    assert.deepEqual(
      s.digits,
      s.boxes.map((b) => labels[b.image]),
      'digits are the labels of the images placed',
    );
    s.boxes.forEach((b, j) => {
      assert.ok(b.x >= 0 && b.y >= 0 && b.x + b.width <= 128 && b.y + b.height <= 32, `strip ${i} box ${j}`);
      if (j > 0) assert.ok(b.x >= s.boxes[j - 1]!.x + s.boxes[j - 1]!.width, 'left to right, apart');
      assert.ok(b.height >= 1 && b.height <= 24, 'scaled ink of at most 20 px by at most 1.2');
    });
    assert.ok(
      s.pixels.some((v) => v > 0.5),
      'ink on the canvas',
    );
  }
  assert.deepEqual([...ks].sort(), [1, 2, 3, 4, 5]);
  const b = set.batch(0);
  assert.deepEqual(b.images.shape, [64, 1, 32, 128]);
  assert.deepEqual(b.captions.shape, [64, 7]);
  assert.deepEqual([...b.captions.toTypedArray().subarray(0, 7)], [...caption(b.digits[0]!, 7)]);
  assert.deepEqual([...caption([3, 1, 4], 7)], [1, 6, 4, 7, 2, 0, 0]);
  assert.equal(CAPTION_IDS.digit + 9, 12);
});

test('strips use only the images of their pool (training strips never touch test images)', () => {
  const pool = Int32Array.from({ length: 50 }, (_, i) => 200 + i);
  const set = new DigitStrips(mnist, { count: 100, seed: 2, pool });
  for (let i = 0; i < set.count; i++)
    for (const b of set.strip(i).boxes) assert.ok(b.image >= 200 && b.image < 250, `image ${b.image}`);
  throwsStrata(
    () => new DigitStrips(mnist, { count: 4, pool: Int32Array.of(400) }),
    /DigitStrips: pool must hold one or more image indices in 0\.\.299/,
  );
  throwsStrata(
    () => new DigitStrips(mnist, { count: 4, width: 100 }),
    /DigitStrips: 5 digits at scale 1.2 with gaps of 1 px need 124 px; the width is 100/,
  );
});

test('an epoch of strips draws its seed from the run generator: a restored generator gives the same epoch', () => {
  const set = new DigitStrips(mnist, { count: 6, batchSize: 3 });
  const g = new st.Generator(7);
  const state = g.getState();
  const first = [...stripEpochs(set, g).iterate()].map((b) => b.digits);
  const second = [...stripEpochs(set, g).iterate()].map((b) => b.digits);
  assert.notDeepEqual(first, second, 'a new epoch, new strips');
  g.setState(state);
  const resumed = [...stripEpochs(set, g).iterate({ startBatch: 1 })].map((b) => b.digits);
  assert.deepEqual(resumed, first.slice(1));
});

test('reading accuracy: the whole caption for a sequence, position by position for digits', () => {
  // Right; one digit wrong; too short (the missing digit is wrong); too long (the extra digit counts nowhere).
  const r = readingAccuracy(
    [[3, 1, 4], [1, 6], [2], [7, 7, 0]],
    [
      [3, 1, 4],
      [1, 5],
      [2, 8],
      [7, 7],
    ],
  );
  assert.equal(r.sequence, 1 / 4);
  assert.equal(r.perDigit, (3 + 1 + 1 + 2) / 9);
  assert.deepEqual([r.strips, r.digits], [4, 9]);
  // A dropped digit shifts the rest: each position is compared with the reference's.
  assert.equal(readingAccuracy([[1, 4]], [[1, 2, 4]]).perDigit, 1 / 3);
  throwsStrata(() => readingAccuracy([[1]], []), /readingAccuracy: 1 outputs for 0 references/);
});

const small = { channels: [4, 8, 8, 16], hidden: 16, embed: 8 } as const;

test('the reader gives logits [N, T, 13] with and without attention; bad inputs say what was expected', () => {
  const set = new DigitStrips(mnist, { count: 3, batchSize: 3, seed: 1 });
  const b = set.batch(0);
  for (const attention of ['soft', 'none'] as const) {
    st.manualSeed(0);
    const reader = new DigitReader({ ...small, attention });
    assert.deepEqual(reader.forward(b.images, b.captions.narrow(1, 0, 6)).shape, [3, 6, 13]);
    const read = reader.read(b.images);
    assert.equal(read.digits.length, 3);
    assert.ok(read.digits.every((d) => d.length <= 6));
    if (attention === 'soft')
      for (const w of read.attention.flat()) {
        assert.equal(w.length, 32);
        assert.ok(Math.abs(w.reduce((a, x) => a + x, 0) - 1) < 1e-4, 'weights sum to 1');
      }
    else assert.ok(read.attention.every((steps) => steps.length === 0));
    // Encoding once and then decoding or reading gives what forward and read give.
    const columns = evaluating(reader, () => reader.encode(b.images));
    assert.deepEqual(reader.readEncoded(columns), read);
    const prefix = b.captions.narrow(1, 0, 6);
    evaluating(reader, () => near(reader.decode(columns, prefix), reader.forward(b.images, prefix), 1e-6));
  }
  const reader = new DigitReader(small);
  throwsStrata(
    () => reader.forward(st.rand([2, 1, 28, 128]), b.captions),
    /DigitReader: expected float32 strips \[N, 1, 32, 128\], got float32 \[2, 1, 28, 128\]/,
  );
  throwsStrata(
    () => reader.forward(b.images, st.tensor([[1, 2]], { dtype: 'int32' })),
    /DigitReader: expected the captions as int32 ids \[N, T\] with N = 3 strips, got int32 \[1, 2\]/,
  );
  throwsStrata(
    () => reader.decode(st.rand([3, 32, 16]), st.tensor([[1, 2]], { dtype: 'int32' })),
    /DigitReader.decode: expected the captions as int32 ids \[N, T\] with N = 3 strips, got int32 \[1, 2\]/,
  );
  throwsStrata(
    () => reader.readEncoded(st.rand([3, 16, 32])),
    /DigitReader.readEncoded: expected encoded strips \[N, 32, 16\] \(encode's output\), got \[3, 16, 32\]/,
  );
  throwsStrata(
    () => new DigitReader({ attention: 'hard' as 'soft' }),
    /DigitReader: attention must be soft or none, got 'hard'/,
  );
});

test('a few steps of teacher forcing lower the loss on every backend', async () => {
  const set = new DigitStrips(mnist, { count: 16, batchSize: 16, seed: 4 });
  const b = set.batch(0);
  await onEveryBackend(async (name) => {
    st.manualSeed(2);
    const reader = new DigitReader({ ...small, attention: 'soft' });
    const opt = new st.optim.Adam(reader.parameters(), { lr: 0.01 });
    const losses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const logits = reader.forward(b.images, b.captions.narrow(1, 0, 6));
      const loss = st.nn.crossEntropy(logits.reshape([-1, 13]), b.captions.narrow(1, 1, 6).reshape([-1]), {
        ignoreIndex: 0,
      });
      opt.zeroGrad();
      loss.backward();
      opt.step();
      losses.push(loss.item());
    }
    assert.ok(losses.at(-1)! < losses[0]! * 0.9, `${name}: loss ${losses[0]} → ${losses.at(-1)}`);
  });
});

test('the attention figure: one panel per word, and its inputs checked', () => {
  const strip = {
    pixels: new Float32Array(32 * 128),
    height: 32,
    width: 128,
    words: ['three', '<eos>'],
    weights: [new Array(32).fill(1 / 32), new Array(32).fill(1 / 32)],
    label: 'test strip 0: "three"',
  };
  const { svg, width } = stripAttentionFigure([strip, strip], { title: 't' });
  assert.equal((svg.match(/<image /g) ?? []).length, 6, 'the strip and two words, twice');
  assert.ok(width >= 3 * 256);
  throwsStrata(
    () => stripAttentionFigure([{ ...strip, words: ['three'] }]),
    /stripAttentionFigure: strip 0 has 2 rows of weights for 1 words/,
  );
});

test('strata train read-digits on a hundred strips: the report, the picture, the checkpoint reloads', async () => {
  const out = fresh();
  const args = ['--strips', '64', '--valid-strips', '16', '--test-strips', '16', '--epochs', '1'];
  const small = ['--hidden', '16', '--embed', '8', '--no-progress', '--out', out];
  const report = await train('read-digits', [...args, ...small]);
  assert.equal(report.model, 'read-digits');
  assert.equal(report.dataset, 'mnist-strips');
  assert.equal(report.test_strips, 16);
  for (const k of ['test_sequence_accuracy', 'test_digit_accuracy', 'test_loss', 'parameters'])
    assert.equal(typeof report[k], 'number', k);
  assert.match(
    report.summary,
    /test sequence accuracy [\d.]+%, per-digit accuracy [\d.]+% \(16 test strips\)/,
  );
  for (const f of ['checkpoint.safetensors', 'best.safetensors', 'metrics.jsonl', 'attention.svg'])
    assert.ok(existsSync(join(out, f)), f);
  const png = loadPng(join(out, 'attention.png'));
  assert.ok(png.width > 256 && png.height > 64);
  const { model, config } = loadModel(out);
  assert.equal(config.attention, 'soft');
  assert.ok(model instanceof DigitReader);
  await assert.rejects(
    train('read-digits', [...args, '--attention', 'hard', '--out', fresh()]),
    /train read-digits: unknown --attention 'hard': expected soft, none/,
  );
});
