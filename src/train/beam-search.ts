import { fail } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';

/** What a step of decoding returns for a batch of prefixes. */
export interface BeamStepResult<S> {
  /** Log-probabilities of the next token, one row of V per prefix: a Tensor [B, V] or B arrays. */
  logProbs: Tensor | readonly ArrayLike<number>[];
  /** The caller's state after each prefix (a decoder's hidden state), handed back with that prefix's extensions. */
  states?: readonly S[];
}

/**
 * Scores the next token of each prefix. `prefixes[i]` starts with `bos`; `states[i]` is what the
 * previous call returned for `prefixes[i]` without its last token (`initialState` on the first call).
 */
export type BeamStep<S> = (
  prefixes: readonly (readonly number[])[],
  states: readonly S[],
) => BeamStepResult<S>;

export interface BeamSearchOptions<S> {
  /** The id every prefix starts with. */
  bos: number;
  /** The id that ends a hypothesis. */
  eos: number;
  /** Hypotheses kept at every step, a positive integer; 1 with `lengthPenalty` 0 is greedy decoding. */
  beamWidth: number;
  /** The most tokens a hypothesis may have after `bos`, `eos` included; one that reaches it unfinished is cut there. */
  maxLength: number;
  /** α ≥ 0: a hypothesis is ranked by its summed log-probability / length^α (default 0: the plain sum). */
  lengthPenalty?: number;
  /** The state handed to the first call of `step`. */
  initialState?: S;
}

/** A decoded sequence. */
export interface Hypothesis {
  /** The tokens after `bos`, without the closing `eos`. */
  tokens: number[];
  /** The summed log-probability of the tokens and of the closing `eos` when it has one. */
  logProb: number;
  /** What hypotheses are ranked by: logProb / length^α, the length counting the `eos`. */
  score: number;
  /** Whether it ended with `eos`; false when it was cut at maxLength. */
  finished: boolean;
}

interface Beam<S> {
  tokens: number[];
  logProb: number;
  state: S;
}

function rows(logProbs: BeamStepResult<unknown>['logProbs'], count: number): ArrayLike<number>[] {
  if (logProbs instanceof Tensor) {
    if (logProbs.shape.length !== 2 || logProbs.shape[0] !== count)
      fail(
        'beamSearch',
        `step returned logProbs of shape [${logProbs.shape.join(', ')}], expected [${count}, V]`,
      );
    const v = logProbs.shape[1]!;
    const flat = logProbs.toTypedArray();
    return Array.from({ length: count }, (_, i) => flat.subarray(i * v, (i + 1) * v));
  }
  if (!Array.isArray(logProbs) || logProbs.length !== count)
    fail('beamSearch', `step must return logProbs with one row per prefix (${count})`);
  return logProbs;
}

/**
 * Beam search over any model that scores next tokens: `step` gets a batch of prefixes and returns the
 * log-probabilities of the next token for each. Every step extends each live hypothesis by every token
 * and keeps the `beamWidth` best extensions that do not end in `eos`; those that end in `eos` join the
 * finished ones. All live hypotheses have the same length, so the raw sum ranks them. A hypothesis is
 * finally ranked by its score, sum of log-probs / length^α (α = `lengthPenalty`, the length counting
 * `eos`; α = 0 prefers short outputs, α = 1 is the mean log-prob per token, plain length rather than
 * GNMT's ((5 + length) / 6)^α). The finished hypotheses are kept until no live one can still beat the
 * best of them: a live sum s can only fall, so its best possible score is s / maxLength^α (s itself
 * when α = 0, which stops early; with α > 0 a tight `maxLength`, such as the source's length plus 10,
 * keeps the search short). At maxLength the live hypotheses are cut and compete as unfinished. Width
 * 1 with α = 0 is greedy decoding: the most probable token every step, until `eos`.
 *
 * Returns up to `beamWidth` hypotheses, best first: the first is the search's answer, the others the
 * best of the rest it finished on the way.
 *
 *     // Tokens: 0 <bos>, 1 <eos>, 2 'a', 3 'b'. After <bos>: a 0.6, b 0.4; after 'a': <eos> 0.4;
 *     // after 'b': <eos> 0.9. Greedy takes 'a' (0.6 · 0.4 = 0.24), the beam finds 'b' (0.4 · 0.9 = 0.36).
 *     const table: Record<string, number[]> = {
 *       '0': [0, 0, 0.6, 0.4],
 *       '0,2': [0, 0.4, 0.3, 0.3],
 *       '0,3': [0, 0.9, 0.05, 0.05],
 *     };
 *     const step = (prefixes: readonly (readonly number[])[]) => ({
 *       logProbs: prefixes.map((p) => (table[p.join(',')] ?? [0, 1, 0, 0]).map(Math.log)),
 *     });
 *     beamSearch(step, { bos: 0, eos: 1, beamWidth: 1, maxLength: 5 })[0]!.tokens // → [2]
 *     beamSearch(step, { bos: 0, eos: 1, beamWidth: 2, maxLength: 5 })[0]!.tokens // → [3]
 */
export function beamSearch<S = undefined>(step: BeamStep<S>, opts: BeamSearchOptions<S>): Hypothesis[] {
  const op = 'beamSearch';
  if (typeof step !== 'function')
    fail(op, 'step must be a function from prefixes to next-token log-probabilities');
  const { bos, eos, beamWidth, maxLength, lengthPenalty = 0 } = opts;
  if (!Number.isInteger(bos) || !Number.isInteger(eos))
    fail(op, `bos and eos must be token ids, got ${bos} and ${eos}`);
  if (!(Number.isInteger(beamWidth) && beamWidth >= 1))
    fail(op, `beamWidth must be a positive integer, got ${beamWidth}`);
  if (!(Number.isInteger(maxLength) && maxLength >= 1))
    fail(op, `maxLength must be an integer ≥ 1 (tokens after bos, eos included), got ${maxLength}`);
  if (!(Number.isFinite(lengthPenalty) && lengthPenalty >= 0))
    fail(op, `lengthPenalty must be a number ≥ 0, got ${lengthPenalty}`);
  const score = (logProb: number, length: number) => logProb / length ** lengthPenalty;

  let live: Beam<S>[] = [{ tokens: [bos], logProb: 0, state: opts.initialState as S }];
  let finished: Hypothesis[] = [];
  const keep = (h: Hypothesis) => {
    finished.push(h);
    finished = finished.sort((a, b) => b.score - a.score).slice(0, beamWidth);
  };
  for (let length = 1; length <= maxLength && live.length > 0; length++) {
    const out = step(
      live.map((b) => b.tokens),
      live.map((b) => b.state),
    );
    const lp = rows(out?.logProbs, live.length);
    if (out.states !== undefined && (!Array.isArray(out.states) || out.states.length !== live.length))
      fail(op, `step returned ${out.states?.length} states for ${live.length} prefixes`);
    // Each beam's best beamWidth + 1 tokens: enough for beamWidth extensions that are not eos.
    const candidates: { beam: number; token: number; logProb: number }[] = [];
    lp.forEach((row, beam) => {
      if (row.length !== lp[0]!.length || !(eos < row.length))
        fail(op, `step returned rows of ${row.length} and ${lp[0]!.length} log-probabilities; eos is ${eos}`);
      const best: { token: number; logProb: number }[] = [];
      for (let token = 0; token < row.length; token++) {
        const v = row[token]!;
        if (Number.isNaN(v))
          fail(op, `step returned NaN for token ${token} after prefix [${live[beam]!.tokens}]`);
        if (v === -Infinity || (best.length > beamWidth && v <= best.at(-1)!.logProb)) continue;
        best.push({ token, logProb: v });
        best.sort((a, b) => b.logProb - a.logProb);
        if (best.length > beamWidth + 1) best.pop();
      }
      for (const b of best)
        candidates.push({ beam, token: b.token, logProb: live[beam]!.logProb + b.logProb });
    });
    candidates.sort((a, b) => b.logProb - a.logProb);
    const next: Beam<S>[] = [];
    for (const c of candidates) {
      if (next.length === beamWidth) break;
      const parent = live[c.beam]!;
      if (c.token === eos) {
        keep({
          tokens: parent.tokens.slice(1),
          logProb: c.logProb,
          score: score(c.logProb, length),
          finished: true,
        });
        continue;
      }
      const state = out.states === undefined ? parent.state : out.states[c.beam]!;
      next.push({ tokens: [...parent.tokens, c.token], logProb: c.logProb, state });
    }
    live = next;
    if (length === maxLength) {
      for (const b of live)
        keep({
          tokens: b.tokens.slice(1),
          logProb: b.logProb,
          score: score(b.logProb, length),
          finished: false,
        });
      break;
    }
    const bestLive = live[0]?.logProb ?? -Infinity;
    if (finished.length > 0 && finished[0]!.score >= score(bestLive, maxLength)) break;
  }
  return finished;
}
