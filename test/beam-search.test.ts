/**
 * Beam search over hand-made step functions: a best sequence that greedy decoding misses and the beam
 * finds, length normalisation changing the winner, the caller's state threaded through the reordered
 * beams, stopping once no live hypothesis can win, cutting at maxLength, and the errors.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { beamSearch, tensor } from '../src/index.js';
import { near, throwsStrata } from './assertions.js';

// Tokens: 0 <bos>, 1 <eos>, 2 'a', 3 'b'. A model given as next-token probabilities by prefix;
// a prefix missing from the table ends for sure.
const [BOS, EOS] = [0, 1];
function tableStep(table: Record<string, number[]>, calls: number[][][] = []) {
  return (prefixes: readonly (readonly number[])[]) => {
    calls.push(prefixes.map((p) => [...p]));
    return { logProbs: prefixes.map((p) => (table[p.join(',')] ?? [0, 1, 0, 0]).map(Math.log)) };
  };
}

test('greedy (width 1) takes the locally best token and misses the best sequence, which a beam of 2 finds', () => {
  // P(a) = 0.6, P(b) = 0.4; after a, <eos> 0.4 (a a and a b 0.3 each); after b, <eos> 0.9.
  // Greedy: a <eos>, 0.6 · 0.4 = 0.24. Best: b <eos>, 0.4 · 0.9 = 0.36.
  const table = { '0': [0, 0, 0.6, 0.4], '0,2': [0, 0.4, 0.3, 0.3], '0,3': [0, 0.9, 0.05, 0.05] };
  const greedy = beamSearch(tableStep(table), { bos: BOS, eos: EOS, beamWidth: 1, maxLength: 10 });
  assert.equal(greedy.length, 1);
  assert.deepEqual(greedy[0]!.tokens, [2]);
  near(greedy[0]!.logProb, Math.log(0.24), 1e-12);
  assert.equal(greedy[0]!.finished, true);
  const beam = beamSearch(tableStep(table), { bos: BOS, eos: EOS, beamWidth: 2, maxLength: 10 });
  assert.deepEqual(
    beam.map((h) => h.tokens),
    [[3], [2]],
  );
  near(beam[0]!.logProb, Math.log(0.36), 1e-12);
  near(beam[0]!.score, Math.log(0.36), 1e-12); // lengthPenalty 0: the score is the sum
});

test('length normalisation changes the winner: the plain sum prefers the empty output, the mean per token a longer one', () => {
  // After <bos>: <eos> 0.5, a 0.5; after a: a 0.9, <eos> 0.1; after a a: <eos> 0.9, a 0.1.
  //   ''    : log 0.5                  = −0.693, length 1, mean −0.693
  //   'a'   : log(0.5 · 0.1)           = −2.996, length 2, mean −1.498
  //   'a a' : log(0.5 · 0.9 · 0.9)     = −0.904, length 3, mean −0.301
  const table = { '0': [0, 0.5, 0.5, 0], '0,2': [0, 0.1, 0.9, 0], '0,2,2': [0, 0.9, 0.1, 0] };
  const opts = { bos: BOS, eos: EOS, beamWidth: 2, maxLength: 6 };
  const plain = beamSearch(tableStep(table), opts);
  assert.deepEqual(plain[0]!.tokens, []);
  const normalised = beamSearch(tableStep(table), { ...opts, lengthPenalty: 1 });
  assert.deepEqual(normalised[0]!.tokens, [2, 2]);
  near(normalised[0]!.score, Math.log(0.5 * 0.9 * 0.9) / 3, 1e-12);
  // α = 0.5 divides by √length: '' −0.693, 'a a' −0.904 / √3 = −0.522: the longer one still wins.
  assert.deepEqual(beamSearch(tableStep(table), { ...opts, lengthPenalty: 0.5 })[0]!.tokens, [2, 2]);
});

test('the search stops once no live hypothesis can beat the finished ones; at maxLength the live ones are cut', () => {
  // <eos> 0.9 right away: with α = 0, every live sum is already below log 0.9 after one step.
  const calls: number[][][] = [];
  const loop = { '0': [0, 0.9, 0.05, 0.05] };
  const table = new Proxy(loop as Record<string, number[]>, {
    get: (t, k: string) => t[k] ?? [0, 0.01, 0.5, 0.49], // never likely to end after 'a' or 'b'
  });
  const out = beamSearch(tableStep(table, calls), { bos: BOS, eos: EOS, beamWidth: 2, maxLength: 50 });
  assert.deepEqual(out[0]!.tokens, []);
  assert.ok(calls.length <= 3, `${calls.length} steps`);
  // Nothing ends: the hypotheses are cut at maxLength, unfinished, with maxLength tokens.
  const never = () => ({ logProbs: [[-Infinity, -Infinity, Math.log(0.5), Math.log(0.5)]] });
  const cut = beamSearch(never, { bos: BOS, eos: EOS, beamWidth: 1, maxLength: 3 });
  assert.equal(cut.length, 1);
  assert.equal(cut[0]!.finished, false);
  assert.equal(cut[0]!.tokens.length, 3);
  near(cut[0]!.logProb, 3 * Math.log(0.5), 1e-12);
  // maxLength 1: one step, '' if <eos> is likelier than any word.
  assert.deepEqual(
    beamSearch(tableStep(loop), { bos: BOS, eos: EOS, beamWidth: 3, maxLength: 1 }).map((h) => [
      h.tokens,
      h.finished,
    ]),
    [
      [[], true],
      [[2], false],
      [[3], false],
    ],
  );
});

test("the caller's state follows its beam, and logProbs may be a Tensor [B, V]", () => {
  // The state is the prefix as a string, built by the step from the parent's state: if beams were
  // reordered without their states, the string and the prefix would disagree.
  const seen: [string, string][] = [];
  const step = (prefixes: readonly (readonly number[])[], states: readonly string[]) => {
    seen.push(...prefixes.map((p, i): [string, string] => [p.join(''), states[i]!]));
    const rows = prefixes.map((p) => (p.length < 3 ? [0, 0.1, 0.3, 0.6] : [0, 1, 0, 0]).map(Math.log));
    return {
      logProbs: tensor(rows, { dtype: 'float64' }),
      states: prefixes.map((p, i) => `${states[i]}${p.at(-1)}`),
    };
  };
  const out = beamSearch(step, { bos: BOS, eos: EOS, beamWidth: 3, maxLength: 5, initialState: '' });
  for (const [prefix, state] of seen) assert.equal(state, prefix.slice(0, -1), prefix);
  assert.deepEqual(out[0]!.tokens, [3, 3]);
});

test('beamSearch refuses a bad width, length or step output, naming what came', () => {
  const step = tableStep({});
  const base = { bos: BOS, eos: EOS, beamWidth: 2, maxLength: 5 };
  throwsStrata(
    () => beamSearch(step, { ...base, beamWidth: 0 }),
    /beamSearch: beamWidth must be a positive integer, got 0/,
  );
  throwsStrata(
    () => beamSearch(step, { ...base, beamWidth: 1.5 }),
    /beamWidth must be a positive integer, got 1.5/,
  );
  throwsStrata(() => beamSearch(step, { ...base, maxLength: 0 }), /maxLength must be an integer ≥ 1/);
  throwsStrata(() => beamSearch(step, { ...base, lengthPenalty: -1 }), /lengthPenalty must be a number ≥ 0/);
  throwsStrata(() => beamSearch(() => ({ logProbs: [[0], [0]] }), base), /one row per prefix \(1\)/);
  throwsStrata(
    () => beamSearch(() => ({ logProbs: [[0, Number.NaN]] }), base),
    /NaN for token 1 after prefix \[0\]/,
  );
  throwsStrata(() => beamSearch(() => ({ logProbs: [[0]] }), base), /rows of 1 .* eos is 1/);
  throwsStrata(
    () => beamSearch(() => ({ logProbs: tensor([0, 0]) }), base),
    /logProbs of shape \[2\], expected \[1, V\]/,
  );
});
