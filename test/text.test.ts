/**
 * The text pipeline and the n-gram baseline: tokenizers, vocabulary, language-model batching, the
 * Moby-Dick chapter split, and interpolated Kneser-Ney against probabilities worked out by hand.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as st from '../src/index.js';
import { KneserNeyTrigram } from '../src/models/ngram.js';
import { flat, near, throwsStrata } from './assertions.js';

const { data } = st;

test('word tokens: lower case, punctuation and dashes apart, inner apostrophes and hyphens kept, <eos> per paragraph', () => {
  assert.deepEqual(
    data.wordTokens("Call me Ishmael. Some years ago—never mind the sea-captain's log!\n\nIt's 1851."),
    [
      'call',
      'me',
      'ishmael',
      '.',
      'some',
      'years',
      'ago',
      '—',
      'never',
      'mind',
      'the',
      "sea-captain's",
      'log',
      '!',
      '<eos>',
      "it's",
      '1851',
      '.',
      '<eos>',
    ],
  );
  assert.deepEqual(data.charTokens('ab\nc'), ['a', 'b', '\n', 'c']);
});

test('vocabulary: specials first, then by frequency (ties by first appearance); rare words become <unk>', () => {
  const tokens = 'the whale the sea a whale the ship'.split(' ');
  const v = data.Vocab.build(tokens, { minFreq: 2 });
  assert.deepEqual(v.itos, ['<unk>', 'the', 'whale']);
  assert.deepEqual(v.counts, [0, 3, 2]);
  assert.deepEqual(Array.from(v.encode(['whale', 'sea', 'the'])), [2, 0, 1]);
  assert.deepEqual(v.decode([1, 2]), ['the', 'whale']);
  const all = data.Vocab.build(tokens, { specials: ['<unk>', '<eos>'] });
  assert.deepEqual(all.itos, ['<unk>', '<eos>', 'the', 'whale', 'sea', 'a', 'ship']);
  assert.deepEqual(data.Vocab.build(tokens, { maxSize: 3 }).itos, ['<unk>', 'the', 'whale']);
  assert.deepEqual(data.Vocab.fromJSON(JSON.parse(JSON.stringify(all))).itos, all.itos);
  throwsStrata(() => v.token(3), /Vocab/, /id 3 is outside the vocabulary \[0, 3\)/);
  throwsStrata(
    () => data.Vocab.build(tokens, { specials: [] }).id('kraken'),
    /'kraken' is not in the vocabulary/,
  );
});

test('batchify and BPTT windows: contiguous streams side by side, targets one step ahead', () => {
  const ids = Int32Array.from({ length: 11 }, (_, i) => i);
  const s = data.batchify(ids, 2);
  assert.deepEqual(s.shape, [2, 5]);
  assert.deepEqual(flat(s), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const windows = [...data.bpttWindows(s, 3)];
  assert.equal(windows.length, 2);
  assert.deepEqual(flat(windows[0]![0]), [0, 1, 2, 5, 6, 7]);
  assert.deepEqual(flat(windows[0]![1]), [1, 2, 3, 6, 7, 8]);
  assert.deepEqual(flat(windows[1]![0]), [3, 8]);
  assert.deepEqual(flat(windows[1]![1]), [4, 9]);
  throwsStrata(() => data.batchify(ids, 6), /batchify/, /11 tokens cannot fill 6 streams/);
});

test('Moby-Dick: 135 chapters and the epilogue, split by chapter number into train, validation and test', () => {
  const chapters = data.mobyDickChapters();
  assert.equal(chapters.length, 136);
  assert.equal(chapters[0]!.title, 'Loomings.');
  assert.ok(chapters[0]!.text.startsWith('Call me Ishmael.'));
  assert.equal(chapters[135]!.title, 'Epilogue');
  const counts = { train: 0, valid: 0, test: 0 };
  for (const c of chapters) counts[data.splitOf(c.number)]++;
  assert.deepEqual(counts, { train: 109, valid: 14, test: 13 });
  const words = (s: st.data.TextSplit) => data.wordTokens(data.mobyDick(s)).length;
  const [train, valid, test_] = [words('train'), words('valid'), words('test')];
  assert.ok(train > 8 * test_ && valid > 10000 && test_ > 10000, `${train} ${valid} ${test_}`);
  assert.ok(!data.mobyDick('test').includes('Call me Ishmael'));
});

test('Kneser-Ney trigram: probabilities worked out by hand on a four-token stream, and each context sums to one', () => {
  // Stream 1 2 1 2 after two start ids 0, vocabulary {0, 1, 2}. Trigrams 001, 012, 121, 212 (once each);
  // continuation counts N(•01) = 1, N(•12) = 2 (after 0 and 2), N(•21) = 1; N(•1) = 2, N(•2) = 1.
  // Discounts: D1 = 1/(1 + 2·1) = 1/3, D2 = 2/(2 + 2·1) = 1/2, D3 = 4/4 = 1.
  const lm = KneserNeyTrigram.fit(Int32Array.from([1, 2, 1, 2]), 3);
  near([...lm.discounts], [1 / 3, 1 / 2, 1], 1e-15, 'discounts');
  // P1: (max(N(•w) − 1/3, 0) + (1/3)·2/3) / 3  → 2/27, 17/27, 8/27.
  // P2(w | 1): context 1 has N(•1•) = 2 over one type: (max(N(•1w) − 1/2, 0) + 1/2 · P1(w)) / 2.
  near(
    [lm.prob(2, 1, 0), lm.prob(2, 1, 1)],
    [2 / 108, 17 / 108],
    1e-15,
    'P3 backs off to P2 in context 2 1 (D3 = 1)',
  );
  near(lm.prob(0, 1, 2), 3 / 4 + 2 / 27, 1e-15, 'P3(2 | 0 1)');
  // Unseen trigram context 2 2: P2(0 | 2) = 1/2 · P1(0) = 1/27.
  near(lm.prob(2, 2, 0), 1 / 27, 1e-15, 'unseen context');
  for (const [u, v] of [
    [0, 0],
    [0, 1],
    [1, 2],
    [2, 2],
    [1, 1],
  ]) {
    near(
      [0, 1, 2].reduce((s, w) => s + lm.prob(u!, v!, w), 0),
      1,
      1e-12,
      `sum over w after ${u} ${v}`,
    );
  }
  const ppl = lm.perplexity(Int32Array.from([1, 2]));
  near(ppl, Math.exp(-(Math.log(lm.prob(0, 0, 1)) + Math.log(lm.prob(0, 1, 2))) / 2), 1e-12, 'perplexity');
  throwsStrata(() => lm.perplexity(Int32Array.from([3])), /token id 3 is outside the vocabulary \[0, 3\)/);
});
