/**
 * Translation models: shapes and padding masks of the recurrent encoder–decoder and the Transformer,
 * learning a tiny reversal task by teacher forcing on every backend, greedy = beam width 1, the attention
 * map and its figure, bad inputs through the models; then `strata train seq2seq|transformer` on a small
 * slice, resume, and `strata translate` with its warnings and errors.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as st from '../src/index.js';
import { Seq2Seq, type TranslationModel } from '../src/models/seq2seq.js';
import { attentionMap, beamTranslate, greedyTranslate } from '../src/models/translate.js';
import { TranslationTransformer } from '../src/models/translation-transformer.js';
import { attentionFigure } from '../src/viz/attention.js';
import { renderSvg } from '../src/viz/svg.js';
import { onEveryBackend } from './assertions.js';
import { tempDirs } from './tmpdirs.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const fresh = tempDirs('seq2seq');
const ids = (rows: number[][]) => st.tensor(rows, { dtype: 'int32' });

/** Every kind of model, small. */
function models(): [string, () => TranslationModel][] {
  const small = { hidden: 8, embed: 6 };
  return [
    ['gru, dot, bidirectional', () => new Seq2Seq(12, 12, { ...small, attention: 'dot' })],
    [
      'lstm, additive, 2 layers',
      () => new Seq2Seq(12, 12, { ...small, cell: 'lstm', attention: 'additive', layers: 2 }),
    ],
    ['gru, none, one way', () => new Seq2Seq(12, 12, { ...small, attention: 'none', bidirectional: false })],
    ['lstm, dot, one way', () => new Seq2Seq(12, 12, { ...small, cell: 'lstm', bidirectional: false })],
    [
      'transformer',
      () => new TranslationTransformer(12, 12, { dModel: 16, heads: 2, ff: 24, layers: 2, dropout: 0 }),
    ],
  ];
}

const source = ids([
  [1, 5, 6, 7, 2],
  [1, 8, 2, 0, 0],
]);
const padding = ids([
  [0, 0, 0, 0, 0],
  [0, 0, 0, 1, 1],
]);
const targetIn = ids([
  [1, 4, 5, 6],
  [1, 7, 0, 0],
]);

test('every translation model gives logits [N, T, V] and ignores what the padding holds', () => {
  st.manualSeed(0);
  for (const [what, make] of models()) {
    const model = make();
    model.eval();
    const logits = model.forward(source, padding, targetIn);
    assert.deepEqual(logits.shape, [2, 4, 12], what);
    // Other ids in the padded source positions, and other ids after the target's end: the real
    // positions' outputs stay the same.
    const junk = model.forward(
      ids([
        [1, 5, 6, 7, 2],
        [1, 8, 2, 9, 11],
      ]),
      padding,
      ids([
        [1, 4, 5, 6],
        [1, 7, 3, 9],
      ]),
    );
    const [a, b] = [logits.toTypedArray(), junk.toTypedArray()];
    // Row 0's four steps (logits 0..47) and row 1's first two (48..71) are real.
    for (let k = 0; k < 72; k++)
      assert.ok(Math.abs(a[k]! - b[k]!) < 1e-5, `${what}: logit ${k} moved from ${a[k]} to ${b[k]}`);
    // Row 1 alone, unpadded, gives its real steps the same logits as in the padded batch.
    const alone = model.forward(ids([[1, 8, 2]]), ids([[0, 0, 0]]), ids([[1, 7]])).toTypedArray();
    for (let k = 0; k < 24; k++)
      assert.ok(
        Math.abs(alone[k]! - a[48 + k]!) < 1e-5,
        `${what}: padding changed the outputs of real positions`,
      );
  }
});

test('bad inputs through the models are clear errors: mask shape, target or source too long, no <bos>', () => {
  for (const [what, make] of models()) {
    const model = make();
    assert.throws(
      () => model.forward(source, ids([[0, 0, 0]]), targetIn),
      /padding mask must have the source's shape \[2, 5\]/,
      what,
    );
    const long = ids([Array.from({ length: 40 }, (_, i) => (i === 0 ? 1 : 4))]);
    assert.throws(
      () => model.forward(ids([[1, 4, 2]]), ids([[0, 0, 0]]), long),
      /the target has 40 positions, more than the model's maxLength 32/,
      what,
    );
    assert.throws(
      () => model.encode(long, long.mul(0)),
      /the source has 40 positions, more than the model's maxLength 32/,
      what,
    );
    assert.throws(() => model.forward(source.cast('float32'), padding, targetIn), /int32 token ids/, what);
  }
  assert.throws(
    () => new Seq2Seq(5, 5, { attention: 'luong' as never }),
    /attention must be none, additive or dot/,
  );
  assert.throws(() => new Seq2Seq(5, 5).encode(ids([[0, 4, 2]]), ids([[1, 0, 0]])), /starts with it/);
});

/** Pairs of the reversal task: 3 to 5 tokens of 4..11, the target the source reversed. */
function reversal(n: number, generator: st.Generator): st.data.EncodedPair[] {
  return Array.from({ length: n }, () => {
    const len = 3 + Math.floor(generator.uniform() * 3);
    const words = Array.from({ length: len }, () => 4 + Math.floor(generator.uniform() * 8));
    return { source: Int32Array.from([1, ...words, 2]), target: Int32Array.from([1, ...words.reverse(), 2]) };
  });
}

/** Teacher-forced training steps on the reversal task; returns the first and last losses. */
function trainReversal(model: TranslationModel, steps: number, lr: number): [number, number] {
  const generator = new st.Generator(3);
  const pairs = reversal(256, generator);
  const loader = new st.data.BucketLoader(pairs, { batchSize: 32, generator });
  const opt = new st.optim.Adam(model.parameters(), { lr });
  const losses: number[] = [];
  model.train();
  while (losses.length < steps) {
    for (const b of loader) {
      if (losses.length === steps) break;
      const t = b.target.shape[1]!;
      const logits = model.forward(b.source, b.sourcePaddingMask, b.target.narrow(1, 0, t - 1));
      const loss = st.nn.crossEntropy(logits.reshape([-1, 12]), b.target.narrow(1, 1, t - 1).reshape([-1]), {
        ignoreIndex: 0,
      });
      opt.zeroGrad();
      loss.backward();
      opt.step();
      losses.push(loss.item());
    }
  }
  model.eval();
  return [losses[0]!, losses.at(-1)!];
}

test('teacher forcing learns to reverse short sequences within dozens of steps, on every backend', async () => {
  await onEveryBackend(async (name) => {
    st.manualSeed(1);
    const s2s = new Seq2Seq(12, 12, { hidden: 32, embed: 16, attention: 'dot' });
    const [first, last] = trainReversal(s2s, 40, 0.02);
    assert.ok(last < first * 0.5, `${name} seq2seq: loss ${first.toFixed(3)} → ${last.toFixed(3)}`);
    const transformer = new TranslationTransformer(12, 12, {
      dModel: 32,
      heads: 4,
      ff: 64,
      layers: 1,
      dropout: 0,
    });
    const [f2, l2] = trainReversal(transformer, 40, 0.005);
    assert.ok(l2 < f2 * 0.5, `${name} transformer: loss ${f2.toFixed(3)} → ${l2.toFixed(3)}`);
  });
});

test('greedy decoding of a batch equals beam search of width 1, sentence by sentence; attention rows are distributions over real tokens', () => {
  st.manualSeed(2);
  const sources = [
    Int32Array.of(1, 5, 6, 7, 2),
    Int32Array.of(1, 8, 2),
    Int32Array.of(1, 4, 9, 10, 11, 5, 2),
  ];
  for (const [what, make] of models()) {
    const model = make();
    trainReversal(model, 15, 0.02);
    const greedy = greedyTranslate(model, sources);
    sources.forEach((s, i) => {
      const beam = beamTranslate(model, s, { beamWidth: 1 });
      assert.deepEqual(beam.tokens, greedy[i], `${what}: sentence ${i}`);
      assert.ok(beamTranslate(model, s, { beamWidth: 4, lengthPenalty: 1 }).tokens.length <= s.length + 10);
    });
    if (what.includes('none')) {
      assert.throws(() => attentionMap(model, sources[0]!, greedy[0]!), /no attention/);
      continue;
    }
    const map = attentionMap(model, sources[1]!, [4, 5]);
    assert.equal(map.length, 3, `${what}: one row per output token and <eos>`);
    for (const row of map) {
      assert.equal(row.length, 3);
      assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5, `${what}: a row sums to 1`);
    }
  }
  assert.throws(
    () => beamTranslate(new Seq2Seq(12, 10, { hidden: 4, embed: 4 }), sources[0]!, { beamWidth: 0 }),
    /beamWidth must be a positive integer/,
  );
});

test('the attention figure: one cell per weight, the tokens, a colour bar, and a footnote; bad weights refused', () => {
  const { svg, layout } = attentionFigure(
    [
      [0.7, 0.2, 0.1],
      [0.1, 0.1, 0.8],
    ],
    {
      source: ['<bos>', 'i', '<eos>'],
      target: ['je', '<eos>'],
      title: 'I → je',
      footnote: st.data.ENG_FRA_ATTRIBUTION,
    },
  );
  assert.equal(svg.match(/class="cell"/g)?.length, 6);
  assert.match(svg, /CC-BY 2\.0 FR/);
  assert.match(svg, /&lt;bos&gt;/);
  assert.ok(layout.colorBar.x > layout.grid.x + layout.grid.width);
  const image = renderSvg(svg, 1);
  assert.equal(image.width, layout.width);
  assert.throws(
    () => attentionFigure([[1]], { source: ['a', 'b'], target: ['x'] }),
    /row 0 of the weights has 1 values for 2 source tokens/,
  );
  assert.throws(
    () => attentionFigure([[1, 0]], { source: ['a', 'b'], target: ['x', 'y'] }),
    /one row of weights per output token \(2\)/,
  );
});

// ---------------------------------------------------------------------------------------------------
// The commands.

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function strata(args: string[]): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let [stdout, stderr] = ['', ''];
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) =>
      resolve({ status, stdout, stderr: stderr.replace(/^strata: using the \S+ backend because .*\n/m, '') }),
    );
  });
}

const lastJson = (r: Run) => JSON.parse(r.stdout.trimEnd().split('\n').at(-1)!) as Record<string, unknown>;

function failsWith(r: Run, pattern: RegExp, what: string): void {
  assert.equal(r.status, 1, `${what}: exit ${r.status}; stderr:\n${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `${what}: one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, pattern, what);
}

const SMALL = [
  '--limit',
  '300',
  '--bleu-sentences',
  '10',
  '--test-limit',
  '10',
  '--beam',
  '2',
  '--no-progress',
  '--json',
];

test('strata train seq2seq on a slice, resumed, then strata translate with an unknown word and an attention map', async () => {
  const out = fresh();
  const args = ['train', 'seq2seq', ...SMALL, '--hidden', '24', '--embed', '16', '--out', out];
  const r = await strata([...args, '--epochs', '1']);
  assert.equal(r.status, 0, r.stderr);
  const report = lastJson(r);
  assert.equal(report.model, 'seq2seq');
  assert.equal(report.dataset, 'eng-fra');
  assert.equal(report.train_pairs, 300);
  assert.equal(report.test_sentences, 10);
  for (const k of ['test_bleu_greedy', 'test_bleu_beam', 'train_seconds', 'parameters'])
    assert.equal(typeof report[k], 'number', k);
  assert.equal((report.history as { valBleu?: number }[])[0]!.valBleu !== undefined, true);
  for (const f of ['checkpoint.safetensors', 'best.safetensors', 'curves.png', 'metrics.jsonl'])
    assert.ok(existsSync(join(out, f)), f);

  const more = await strata([...args, '--epochs', '2', '--resume']);
  assert.equal(more.status, 0, more.stderr);
  assert.deepEqual(lastJson(more).resumed_from, { epoch: 1, batch: 0 });
  assert.equal((lastJson(more).history as unknown[]).length, 2);
  failsWith(
    await strata([...args, '--epochs', '2', '--resume', '--hidden', '32']),
    /settings differ.*hidden=24/,
    'resume with another shape',
  );

  const map = join(out, 'attention.png');
  const t = await strata(['translate', out, 'I am cold, Zorglub.', '--attention-map', map]);
  assert.equal(t.status, 0, t.stderr);
  assert.match(
    t.stderr,
    /warning: 'cold', ',', 'zorglub' not in the model's English vocabulary, read as <unk>/,
  );
  assert.equal(t.stdout.trimEnd().split('\n').length, 1);
  assert.deepEqual([...readFileSync(map).subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'PNG signature');
  const svg = readFileSync(join(out, 'attention.svg'), 'utf8');
  assert.match(svg, /^<\?xml[\s\S]*<svg [\s\S]*<\/svg>\n$/);
  assert.match(svg, /zorglub \(&lt;unk&gt;\)/);
  renderSvg(svg, 1); // it parses

  const greedy = await strata(['translate', out, 'I am cold.', '--greedy']);
  const beam1 = await strata(['translate', out, 'I am cold.', '--beam', '1', '--length-penalty', '0']);
  assert.equal(greedy.stdout, beam1.stdout, 'greedy is beam width 1');

  failsWith(
    await strata(['translate', out, 'I am cold.', '--beam', '0']),
    /^error: translate: --beam expects an integer ≥ 1, got '0'$/,
    'beam 0',
  );
  failsWith(await strata(['translate', out, '  ']), /the sentence is empty/, 'empty');
  failsWith(
    await strata(['translate', out, 'very '.repeat(40)]),
    /has 40 tokens, but this model reads at most 30 .*--max-length/,
    'too long',
  );
  failsWith(
    await strata(['train', 'seq2seq', '--beam', '0', '--out', fresh()]),
    /--beam expects an integer ≥ 1/,
    'train --beam 0',
  );
  failsWith(
    await strata(['train', 'seq2seq', '--attention', 'luong', '--out', fresh()]),
    /unknown --attention 'luong'/,
    'attention',
  );
});

test('strata train transformer on a slice, leaving out pairs over --max-length, and translating with it', async () => {
  const out = fresh();
  const args = [
    'train',
    'transformer',
    ...SMALL,
    '--d-model',
    '16',
    '--heads',
    '2',
    '--ff',
    '32',
    '--layers',
    '1',
  ];
  const r = await strata([...args, '--epochs', '1', '--max-length', '8', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stderr,
    /warning: left out \d+ of 300 training pairs with a side longer than --max-length 8 ids/,
  );
  const report = lastJson(r);
  assert.equal(report.model, 'transformer');
  assert.ok((report.dropped_pairs as number) > 0);
  assert.equal(report.train_pairs, 300 - (report.dropped_pairs as number));
  const t = await strata(['translate', out, 'Go!', '--attention-map', join(out, 'map')]);
  assert.equal(t.status, 0, t.stderr);
  assert.ok(existsSync(join(out, 'map.png')) && existsSync(join(out, 'map.svg')));
  failsWith(
    await strata(['translate', out, 'I am very very very cold.']),
    /reads at most 6 .*--max-length 8/,
    'too long',
  );
  failsWith(
    await strata(['train', 'transformer', '--d-model', '10', '--heads', '4', '--out', fresh()]),
    /--d-model 10 must be divisible by --heads 4/,
    'heads',
  );
});
