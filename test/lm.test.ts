/**
 * Language models end to end: the training loop learns a pattern, checkpoints resume exactly, and the
 * `strata train ngram|rnnlm` commands print their JSON result line with test perplexity and vocabulary
 * size.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as st from '../src/index.js';
import { loadCheckpoint } from '../src/io/checkpoint.js';
import { RnnLanguageModel, sampleTokens } from '../src/models/rnnlm.js';
import { fitLanguageModel, type LanguageModel, perplexity } from '../src/train/lm.js';
import { readEventFile } from './event-reader.js';
import { tempDirs } from './tmpdirs.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const fresh = tempDirs('lm');

/** A stream that repeats 0 1 2 3 4 5 6 7: a model that learned it predicts every next token. */
const pattern = Int32Array.from({ length: 1600 }, (_, i) => i % 8);

function setup(seed: number, dropout = 0) {
  st.manualSeed(seed);
  // The model's dropout draws from the run's generator, whose state the checkpoint keeps.
  const generator = new st.Generator(1);
  const model = new RnnLanguageModel(8, { cell: 'gru', hidden: 16, layers: 1, dropout, generator });
  const opt = new st.optim.Adam(model.parameters(), { lr: 0.02 });
  return { model, opt, lm: model as unknown as LanguageModel, generator };
}

/** Training on the periodic stream, validated on its first 400 tokens. */
const PATTERN_RUN = { batchSize: 4, bptt: 10, train: pattern, valid: pattern.subarray(0, 400), clip: 1 };

/** Three epochs on the periodic stream. */
async function learnPattern(
  lm: LanguageModel,
  opt: st.optim.Optimizer<{ lr: number }>,
  generator: st.Generator,
) {
  return fitLanguageModel(lm, opt, { ...PATTERN_RUN, epochs: 3, generator });
}

test('truncated BPTT training learns a periodic stream: validation perplexity falls from about 8 to near 1', async () => {
  const { model, opt, lm, generator } = setup(0);
  const before = perplexity(lm, pattern.subarray(0, 400), 4, 10);
  assert.ok(before > 5, `untrained perplexity ${before}`);
  const r = await learnPattern(lm, opt, generator);
  assert.equal(r.history.length, 3);
  assert.ok(r.history[2]!.valPerplexity < 1.2, `perplexity after training ${r.history[2]!.valPerplexity}`);
  assert.ok(model.training, 'left in training mode');
});

test('a resumed run (dropout on) continues from its last epoch checkpoint and ends where an uninterrupted run ends', async () => {
  const out1 = fresh();
  const out2 = fresh();
  const opts = (out: string, epochs: number, generator: st.Generator, resume = false) => ({
    ...PATTERN_RUN,
    epochs,
    generator,
    out,
    resume,
    config: { test: 1 },
  });
  const full = setup(0, 0.3);
  const a = await fitLanguageModel(full.lm, full.opt, opts(out1, 2, full.generator));
  const half = setup(0, 0.3);
  await fitLanguageModel(half.lm, half.opt, opts(out2, 1, half.generator));
  assert.ok(existsSync(join(out2, 'checkpoint.safetensors')));
  const resumed = setup(5, 0.3); // different initial weights: everything must come from the checkpoint
  const b = await fitLanguageModel(resumed.lm, resumed.opt, opts(out2, 2, resumed.generator, true));
  assert.deepEqual(b.resumedFrom, { epoch: 1, batch: 0 });
  assert.deepEqual(
    b.history.map((h) => [h.loss, h.valPerplexity]),
    a.history.map((h) => [h.loss, h.valPerplexity]),
  );
  const other = setup(0);
  await assert.rejects(
    () =>
      fitLanguageModel(other.lm, other.opt, { ...opts(out2, 3, other.generator, true), config: { test: 2 } }),
    /test=1/,
  );
});

function run(args: string[]): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: repo,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

function cli(args: string[]) {
  return JSON.parse(run(args).trimEnd().split('\n').at(-1)!) as Record<string, unknown>;
}

test('strata train ngram and rnnlm report test perplexity and vocabulary size on the same split', async () => {
  // A vocabulary of the words seen 40 times (94 of them) keeps the output layer, and the test, small.
  const ngram = cli(['train', 'ngram', '--json', '--limit', '30000', '--min-freq', '40']);
  const out = fresh();
  const rnn = cli([
    'train',
    'rnnlm',
    '--json',
    '--limit',
    '30000',
    '--min-freq',
    '40',
    '--epochs',
    '1',
    '--hidden',
    '16',
    '--layers',
    '1',
    '--bptt',
    '10',
    '--out',
    out,
    '--no-progress',
  ]);
  for (const r of [ngram, rnn]) {
    assert.equal(r.dataset, 'moby-dick');
    assert.equal(typeof r.test_perplexity, 'number');
    assert.ok((r.test_perplexity as number) > 1 && Number.isFinite(r.test_perplexity));
    assert.equal(r.train_tokens, 30000);
  }
  assert.equal(rnn.vocab_size, ngram.vocab_size);
  assert.equal(rnn.test_tokens, ngram.test_tokens);
  // Sampling from the checkpoint: seeded, so the same seed gives the same text; the prompt comes first.
  const ckpt = join(out, 'checkpoint.safetensors');
  const gen = (seed: string) =>
    run(['generate', ckpt, '--prompt', 'The sea', '--length', '8', '--seed', seed]).trim();
  const text = gen('1');
  assert.ok(text.startsWith('the sea'), text);
  assert.equal(gen('1'), text);
  // The run folder is enough; a prompt word the model never saw is warned about, not dropped silently.
  const warned = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'generate', out, '--prompt', 'The qwertyuiop', '--length', '3'],
    { cwd: repo, encoding: 'utf8' },
  );
  assert.equal(warned.status, 0, warned.stderr);
  assert.match(warned.stderr, /generate: warning: 'qwertyuiop' not in the model's vocabulary, read as <unk>/);
  assert.ok(warned.stdout.startsWith('the qwertyuiop'), warned.stdout);
  assert.ok(text.split(/\s+/).length >= 3, text);
  // Word vectors: neighbours by cosine, best first, the query itself left out; an analogy; a t-SNE map.
  const near = JSON.parse(run(['words', ckpt, '--near', 'sea', '--top', '3', '--json'])) as Record<
    string,
    { word: string; cosine: number }[]
  >;
  assert.equal(near.sea!.length, 3);
  assert.ok(near.sea!.every((r, i) => r.word !== 'sea' && (i === 0 || r.cosine <= near.sea![i - 1]!.cosine)));
  assert.match(run(['words', ckpt, '--analogy', 'the,a,he']), /the : a :: he : \?: /);
  const files = run(['viz', 'words', ckpt, '--words', '40', '--out', out]).trim().split('\n');
  assert.deepEqual(
    files.map((f) => f.split('/').at(-1)),
    ['words.svg', 'words.png'],
  );
  assert.ok(files.every((f) => existsSync(f)));
  const bad = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'words', ckpt, '--near', 'qwertyuiop'],
    {
      cwd: repo,
      encoding: 'utf8',
    },
  );
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /'qwertyuiop' is not in the model's vocabulary/);
});

test('greedy sampling (top-k 1) follows the most likely next token, and sampling checks its options', async () => {
  const { model, opt, lm, generator } = setup(0);
  await learnPattern(lm, opt, generator);
  const ids = sampleTokens(model, Int32Array.from([0, 1, 2]), {
    length: 10,
    topK: 1,
    generator: new st.Generator(0),
  });
  assert.deepEqual(ids, [3, 4, 5, 6, 7, 0, 1, 2, 3, 4]);
  assert.throws(
    () =>
      sampleTokens(model, Int32Array.from([0]), {
        length: 1,
        temperature: 0,
        generator: new st.Generator(0),
      }),
    /temperature/,
  );
});

test('strata train rnnlm --resume (dropout on) reproduces the uninterrupted run', async () => {
  const args = (out: string, epochs: string) => [
    'train',
    'rnnlm',
    '--json',
    '--limit',
    '20000',
    '--min-freq',
    '50',
    '--epochs',
    epochs,
    '--hidden',
    '16',
    '--layers',
    '2',
    '--dropout',
    '0.3',
    '--bptt',
    '10',
    '--out',
    out,
    '--no-progress',
  ];
  const whole = cli(args(fresh(), '2'));
  const dir = fresh();
  cli(args(dir, '1'));
  const resumed = cli([...args(dir, '2'), '--resume']);
  assert.deepEqual(resumed.resumed_from, { epoch: 1, batch: 0 });
  const ppl = (r: Record<string, unknown>) =>
    (r.history as { valPerplexity: number }[]).map((h) => h.valPerplexity);
  assert.deepEqual(ppl(resumed), ppl(whole));
  assert.equal(resumed.test_perplexity, whole.test_perplexity);
});

/** Runs `strata ARGS` as a child; with `killMidEpoch`, SIGKILLs it once its checkpoint is inside an epoch. */
async function strataChild(
  args: string[],
  killMidEpoch?: string,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: repo });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  if (killMidEpoch) {
    const path = join(killMidEpoch, 'checkpoint.safetensors');
    for (;;) {
      assert.equal(child.exitCode, null, `the run ended before it was killed: ${stderr}`);
      if (existsSync(path)) {
        try {
          if ((loadCheckpoint(path).progress.batch as number) > 0) break;
        } catch {
          // Read as the file is replaced: look again.
        }
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    child.kill('SIGKILL');
  }
  return { status: await done, stdout, stderr };
}

for (const [model, flags, metrics] of [
  [
    'mlp',
    ['--limit', '3000', '--batch-size', '50', '--validation', '0.1'],
    ['loss', 'accuracy', 'valLoss', 'valAccuracy'],
  ],
  [
    'rnnlm',
    [
      '--limit',
      '20000',
      '--min-freq',
      '50',
      '--batch-size',
      '10',
      '--hidden',
      '16',
      '--layers',
      '1',
      '--bptt',
      '10',
      '--dropout',
      '0.3',
    ],
    ['loss', 'perplexity', 'valPerplexity'],
  ],
] as const) {
  test(`strata train ${model} killed (SIGKILL) mid-epoch and resumed ends with the uninterrupted run's numbers exactly`, async () => {
    const args = (out: string) => [
      'train',
      model,
      ...flags,
      '--epochs',
      '2',
      '--checkpoint-every',
      '1',
      '--json',
      '--no-progress',
      '--out',
      out,
    ];
    const dir = fresh();
    const [whole, killed] = await Promise.all([strataChild(args(fresh())), strataChild(args(dir), dir)]);
    assert.equal(whole.status, 0, whole.stderr);
    assert.equal(killed.status, null, 'killed by the signal');
    const resumed = await strataChild([...args(dir), '--resume']);
    assert.equal(resumed.status, 0, resumed.stderr);
    const last = (r: { stdout: string }) =>
      JSON.parse(r.stdout.trimEnd().split('\n').at(-1)!) as Record<string, unknown>;
    const [a, b] = [last(whole), last(resumed)];
    const from = b.resumed_from as { epoch: number; batch: number };
    assert.ok(from.batch > 0, `resumed inside an epoch, at ${JSON.stringify(from)}`);
    const numbers = (r: Record<string, unknown>) =>
      (r.history as Record<string, number>[]).map((h) => metrics.map((k) => h[k]));
    assert.deepEqual(numbers(b), numbers(a));
    for (const k of ['test_loss', 'test_accuracy', 'test_perplexity']) assert.equal(b[k], a[k], k);
  });
}

test('strata train rnnlm --schedule cosine --validation 0.1 --patience 2 --tensorboard DIR trains with the flags every model takes and logs', async () => {
  const out = fresh();
  const board = fresh();
  const r = cli([
    ...['train', 'rnnlm', '--schedule', 'cosine', '--validation', '0.1', '--patience', '2'],
    ...[
      '--limit',
      '3000',
      '--epochs',
      '2',
      '--hidden',
      '8',
      '--layers',
      '1',
      '--bptt',
      '10',
      '--json',
      '--out',
      out,
      '--tensorboard',
      board,
    ],
  ]);
  const history = r.history as { lr: number; valPerplexity: number }[];
  assert.equal(history.length, 2);
  assert.ok(history[1]!.lr < history[0]!.lr, 'the cosine schedule lowered the rate');
  assert.equal(r.train_tokens, 2700, '10% of the training text held out');
  assert.ok(history.every((h) => Number.isFinite(h.valPerplexity)));
  assert.ok(existsSync(join(out, 'curves.png')));

  // The event file reads back (every record's CRCs checked by readEventFile).
  const files = readdirSync(board).filter((f) => f.startsWith('events.out.tfevents.'));
  assert.equal(files.length, 1, 'one event file');
  const events = readEventFile(readFileSync(join(board, files[0]!)));
  assert.equal(events[0]!.fileVersion, 'brain.Event:2');
  const values = events.flatMap((e) => (e.values ?? []).map((v) => ({ ...v, step: Number(e.step) })));
  const steps = (tag: string) => values.filter((v) => v.tag === tag).map((v) => v.step);
  const perEpoch = Math.ceil(2700 / 20 / 10);
  const trainSteps = steps('train/loss');
  assert.equal(trainSteps.length, 2 * perEpoch, 'train loss at every step');
  assert.deepEqual(
    trainSteps,
    trainSteps.map((_, i) => i + 1),
  );
  for (const tag of ['epoch/loss', 'epoch/lr', 'epoch/valPerplexity', 'epoch/valLoss'])
    assert.deepEqual(steps(tag), [1, 2], tag);
  assert.deepEqual(
    values.filter((v) => v.tag === 'epoch/lr').map((v) => v.simpleValue),
    history.map((h) => Math.fround(h.lr)),
  );
  const histograms = values.filter((v) => v.histo).map((v) => v.tag);
  assert.ok(histograms.includes('parameters/encoder.weight'), histograms.join(', '));
  assert.ok(histograms.includes('gradients/encoder.weight'), histograms.join(', '));
  const config = values.find((v) => v.tag === 'config/text_summary')!;
  assert.match(config.tensor!.strings[0]!, /\| schedule \| "cosine" \|/);
  assert.match(config.tensor!.strings[0]!, /\| hidden \| 8 \|/);

  // metrics.jsonl holds every scalar, metrics.csv every epoch.
  const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(lines.filter((l) => l.tag === 'train/loss').length, 2 * perEpoch);
  assert.deepEqual(
    lines.filter((l) => l.tag === 'epoch/valPerplexity').map((l) => l.value),
    history.map((h) => h.valPerplexity),
  );
  const csv = readFileSync(join(out, 'metrics.csv'), 'utf8').trimEnd().split('\n');
  assert.equal(csv.length, 3, 'a header and a row per epoch');
  assert.match(csv[0]!, /^epoch,/);
  assert.match(csv[0]!, /valPerplexity/);
});
