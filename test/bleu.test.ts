/**
 * Corpus BLEU-4 as sacrebleu computes it: worked examples computed by hand (in the comments), and
 * NLTK's corpus_bleu on random corpora from test/fixtures/bleu.json (made by scripts/fixtures/bleu.py
 * with NLTK 3.8, so CI needs no NLTK).
 *
 * NLTK and sacrebleu agree on clipping, on the closest reference length (the shorter on a tie) and on
 * the smoothing formulas (NLTK's methods 1, 2 and 3 are sacrebleu's floor, add-k and exp); they differ
 * in one count: NLTK gives each hypothesis at least 1 in every order's denominator, so a hypothesis
 * shorter than n tokens adds 1 to the n-gram total (sacrebleu and Strata add 0), and without
 * smoothing NLTK turns a zero precision into 2.2e-308 rather than 0 (a score of about 1e-75, not 0).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { type BleuSmoothing, corpusBleu } from '../src/index.js';
import { near, throwsStrata } from './assertions.js';

const words = (s: string) => (s === '' ? [] : s.split(' '));

test('a hypothesis equal to one of its references scores 100; a hypothesis of unknown words 0', () => {
  const r = corpusBleu([words('a b c d e')], [[words('x y'), words('a b c d e')]]);
  assert.equal(r.score, 100);
  assert.deepEqual(r.precisions, [100, 100, 100, 100]);
  assert.equal(r.referenceLength, 5);
  assert.equal(corpusBleu([words('x y z w')], [[words('a b c d')]], { smooth: 'none' }).score, 0);
});

test('clipping: a word counts at most as often as it occurs in any one reference, not in all of them together', () => {
  // 'a a a' against 'a a' and 'a x': 'a' is clipped to 2 (its count in the first reference), not 3.
  assert.deepEqual(corpusBleu([words('a a a')], [[words('a a'), words('a x')]]).matches, [2, 1, 0, 0]);
  // The classic: seven 'the' against 'the cat is on the mat': unigrams 2/7, no bigram matches, so BLEU is 0.
  const the = corpusBleu([words('the the the the the the the')], [[words('the cat is on the mat')]], {
    smooth: 'none',
  });
  assert.deepEqual(the.matches, [2, 0, 0, 0]);
  assert.deepEqual(the.totals, [7, 6, 5, 4]);
  assert.equal(the.score, 0);
  // floor: zero precisions become 0.1/total: 100 · (2/7 · 0.1/6 · 0.1/5 · 0.1/4)^¼ = 3.92815.
  near(
    corpusBleu([words('the the the the the the the')], [[words('the cat is on the mat')]], {
      smooth: 'floor',
    }).score,
    3.928146509,
    1e-8,
  );
});

test('multiple references: n-grams matched against any of them; zero precision and the three smoothings', () => {
  // 'a a b c' against 'a b c d' and 'a a x':
  //   unigrams a ×2 (clipped to 2 by 'a a x'), b, c: 4/4; bigrams 'a a' (2nd), 'a b', 'b c' (1st): 3/3;
  //   trigrams 'a b c' yes, 'a a b' no: 1/2; the 4-gram 'a a b c' no: 0/1. Closest reference 4: BP 1.
  const hyps = [words('a a b c')];
  const refs = [[words('a b c d'), words('a a x')]];
  const none = corpusBleu(hyps, refs, { smooth: 'none' });
  assert.deepEqual(none.matches, [4, 3, 1, 0]);
  assert.deepEqual(none.totals, [4, 3, 2, 1]);
  assert.equal(none.score, 0);
  assert.deepEqual(none.precisions, [100, 100, 50, 0]);
  // exp: the first zero precision becomes 100 / (2 · 1) = 50: 100 · (1 · 1 · 0.5 · 0.5)^¼ = 70.7107.
  near(corpusBleu(hyps, refs, { smooth: 'exp' }).score, 70.71067812, 1e-7);
  // exp is the default, as in sacrebleu.
  assert.equal(corpusBleu(hyps, refs).score, corpusBleu(hyps, refs, { smooth: 'exp' }).score);
  // add-k (k = 1, orders above 1): 4/4, 4/4, 2/3, 1/2: 100 · (1/3)^¼ = 75.9836.
  near(corpusBleu(hyps, refs, { smooth: 'add-k' }).score, 75.98356857, 1e-7);
  // The counts reported are before smoothing.
  assert.deepEqual(corpusBleu(hyps, refs, { smooth: 'add-k' }).matches, [4, 3, 1, 0]);
});

test('brevity penalty from the reference closest in length, the shorter on a tie', () => {
  // 'a b c d' (c = 4) against lengths 5 and 9: r = 5, BP = exp(1 − 5/4) = 0.7788, every precision 100.
  const short = corpusBleu([words('a b c d')], [[words('a b c d e'), words('a b c d e f g h i')]]);
  assert.equal(short.referenceLength, 5);
  near(short.brevityPenalty, Math.exp(-0.25), 1e-12);
  near(short.score, 77.88007831, 1e-7);
  // Against lengths 2 and 6 (both 2 away): r = 2, so no penalty (r = 6 would give exp(1 − 6/4) = 0.61).
  const tie = corpusBleu([words('a b c d')], [[words('a b'), words('a b c d e f')]]);
  assert.equal(tie.referenceLength, 2);
  assert.equal(tie.score, 100);
  // Lengths are summed over the corpus before the penalty: 4 + 2 = 6 against 5 + 2 = 7.
  const corpus = corpusBleu([words('a b c d'), words('e f')], [[words('a b c d e')], [words('e f')]]);
  assert.equal(corpus.hypothesisLength, 6);
  assert.equal(corpus.referenceLength, 7);
  near(corpus.brevityPenalty, Math.exp(1 - 7 / 6), 1e-12);
});

test('an empty hypothesis, and a corpus too short for 4-grams, score 0 as in sacrebleu', () => {
  const empty = corpusBleu([[]], [[words('a')]]);
  assert.equal(empty.score, 0);
  assert.equal(empty.brevityPenalty, 0);
  assert.deepEqual(empty.totals, [0, 0, 0, 0]);
  // Every hypothesis under 4 tokens: no 4-grams at all, a precision of 0 even with smoothing
  // (sacrebleu's rule; NLTK counts a denominator of 1 and gives method 3 a precision of 1/2).
  assert.equal(corpusBleu([words('a b c')], [[words('a b c')]], { smooth: 'exp' }).score, 0);
  assert.equal(corpusBleu([words('a b c')], [[words('a b c')]], { maxOrder: 3 }).score, 100);
  assert.equal(corpusBleu([], []).score, 0);
});

test('corpusBleu refuses mismatched or malformed input, naming what came', () => {
  throwsStrata(() => corpusBleu([['a']], []), /corpusBleu: 1 hypotheses but 0 reference sets/);
  throwsStrata(() => corpusBleu([['a']], [[]]), /reference set 0 must be a non-empty array/);
  throwsStrata(
    () => corpusBleu(['a b' as unknown as string[]], [[['a']]]),
    /hypothesis 0 must be an array of string tokens/,
  );
  throwsStrata(
    () => corpusBleu([['a']], [[['a']]], { smooth: 'add-one' as BleuSmoothing }),
    /smooth must be one of none, exp, floor, add-k/,
  );
  throwsStrata(() => corpusBleu([['a']], [[['a']]], { maxOrder: 0 }), /maxOrder must be a positive integer/);
  throwsStrata(
    () => corpusBleu([['a']], [[['a']]], { smooth: 'floor', smoothValue: 0 }),
    /smoothValue must be a positive number/,
  );
});

interface NltkCase {
  name: string;
  hypotheses: string[][];
  references: string[][][];
  nltk: Record<BleuSmoothing, number>;
  stats: { numerators: number[]; denominators: number[]; hypothesisLength: number; referenceLength: number };
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/bleu.json', import.meta.url), 'utf8')) as {
  cases: NltkCase[];
};

test("NLTK's corpus_bleu: the same clipped matches and lengths on every corpus, NLTK's totals less one per hypothesis shorter than n, and the same score where none is shorter than 4", () => {
  assert.ok(fixture.cases.length >= 12);
  let compared = 0;
  for (const c of fixture.cases) {
    const ours = corpusBleu(c.hypotheses, c.references);
    assert.deepEqual(ours.matches, c.stats.numerators, c.name);
    const shorter = [1, 2, 3, 4].map((n) => c.hypotheses.filter((h) => h.length < n).length);
    assert.deepEqual(
      ours.totals,
      c.stats.denominators.map((d, i) => d - shorter[i]!),
      c.name,
    );
    assert.equal(ours.hypothesisLength, c.stats.hypothesisLength, c.name);
    assert.equal(ours.referenceLength, c.stats.referenceLength, c.name);
    if (shorter[3]! > 0) continue;
    for (const smooth of ['none', 'exp', 'floor', 'add-k'] as const) {
      near(corpusBleu(c.hypotheses, c.references, { smooth }).score, 100 * c.nltk[smooth], 1e-9);
      compared++;
    }
  }
  assert.ok(compared >= 24, `${compared} scores compared`);
});
