import { fail } from '../errors.js';

/**
 * How a zero n-gram match count is treated, as in sacrebleu: `none` leaves the precision 0 (so BLEU is
 * 0); `exp` (sacrebleu's own default, mteval-v13a's) makes the k-th zero precision 1 / (2^k · total);
 * `floor` makes it smoothValue / total (default 0.1); `add-k` adds smoothValue (default 1) to the match
 * count and the total of every order above 1.
 */
export type BleuSmoothing = 'none' | 'exp' | 'floor' | 'add-k';

export interface BleuOptions {
  /** Default `exp`, sacrebleu's; `none`: a corpus with no matching n-gram of some order scores 0. */
  smooth?: BleuSmoothing;
  /** The value of `floor` (default 0.1) and `add-k` (default 1). */
  smoothValue?: number;
  /** The longest n-gram (default 4: BLEU-4). */
  maxOrder?: number;
}

export interface BleuScore {
  /** BLEU, 0 to 100. */
  score: number;
  /** The n-gram precisions, in percent, order 1 first, after smoothing. */
  precisions: number[];
  /** exp(1 − r/c) when the hypotheses are shorter than the references (c < r), else 1; 0 when c is 0. */
  brevityPenalty: number;
  /** c: the hypotheses' tokens, summed over the corpus. */
  hypothesisLength: number;
  /** r: for each hypothesis the length of the reference closest to it in length (the shorter on a tie), summed. */
  referenceLength: number;
  /** Each order's matching n-grams, each clipped by its largest count in any one reference; before smoothing. */
  matches: number[];
  /** Each order's n-grams in the hypotheses; before smoothing. */
  totals: number[];
}

const SMOOTHINGS: readonly BleuSmoothing[] = ['none', 'exp', 'floor', 'add-k'];

function ngramCounts(tokens: readonly string[], maxOrder: number): Map<string, number>[] {
  const counts = Array.from({ length: maxOrder }, () => new Map<string, number>());
  for (let n = 1; n <= maxOrder; n++) {
    for (let i = 0; i + n <= tokens.length; i++) {
      // U+0001 cannot be part of a token from this package's tokenizers, so keys cannot collide.
      const key = tokens.slice(i, i + n).join('\u0001');
      counts[n - 1]!.set(key, (counts[n - 1]!.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

function checkTokens(tokens: unknown, what: string): asserts tokens is readonly string[] {
  if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === 'string'))
    fail('corpusBleu', `${what} must be an array of string tokens`);
}

/**
 * Corpus BLEU as sacrebleu computes it (Papineni et al., 2002; Post, 2018), over tokens as given:
 *
 * ```text
 * p_n = Σ_sentences Σ_ngrams min(count in hypothesis, max count in any one reference) / Σ n-grams in hypotheses
 * BP  = 1 if c ≥ r, else exp(1 − r/c)      c = Σ hypothesis lengths, r = Σ closest reference lengths
 * BLEU = 100 · BP · exp(¼ Σ_{n=1..4} log p_n)
 * ```
 *
 * The closest reference length is the one nearest the hypothesis's length, the shorter on a tie. The
 * smoothing by default is sacrebleu's, `exp` (the k-th order whose matches are 0 counts 1/2^k of one);
 * `{ smooth: 'none' }` makes a precision of 0 give BLEU 0, as the original definition does. The score
 * depends on the tokens: score this package's `tokenizeFrench` tokens of the hypotheses and references
 * alike (lower-cased, punctuation and elisions apart), which is sacrebleu with `--tokenize none --lowercase` on the space-joined tokens, not its
 * default 13a re-tokenisation of detokenised text. `references[i]` holds every reference of
 * `hypotheses[i]` (as `groupReferences` gives them); the number of references may differ from one
 * sentence to the next.
 *
 *     const hyp = ['le', 'chat', 'est', 'sur', 'le', 'tapis', '.'];
 *     const refs = [['le', 'chat', 'est', 'sur', 'le', 'tapis', '.'], ['il', 'y', 'a', 'un', 'chat', '.']];
 *     corpusBleu([hyp], [refs]).score // → 100
 *     const close = corpusBleu([['le', 'chat', 'sur', 'le', 'tapis', '.']], [refs]);
 *     close.precisions // → [100, 80, 50, 33.3333]
 *     close.score // → 60.4275
 *     // No 3-gram of 'le chat .' matches, and it has no 4-grams at all:
 *     corpusBleu([['le', 'chat', '.']], [refs]).score // → 0
 */
export function corpusBleu(
  hypotheses: readonly (readonly string[])[],
  references: readonly (readonly (readonly string[])[])[],
  opts: BleuOptions = {},
): BleuScore {
  const op = 'corpusBleu';
  const { smooth = 'exp', maxOrder = 4 } = opts;
  if (!SMOOTHINGS.includes(smooth))
    fail(op, `smooth must be one of ${SMOOTHINGS.join(', ')}, got '${smooth}'`);
  if (!(Number.isInteger(maxOrder) && maxOrder >= 1))
    fail(op, `maxOrder must be a positive integer, got ${maxOrder}`);
  const smoothValue = opts.smoothValue ?? (smooth === 'add-k' ? 1 : 0.1);
  if (!(Number.isFinite(smoothValue) && smoothValue > 0))
    fail(op, `smoothValue must be a positive number, got ${smoothValue}`);
  if (!Array.isArray(hypotheses) || !Array.isArray(references))
    fail(op, 'expected an array of hypotheses and an array of reference sets');
  if (hypotheses.length !== references.length)
    fail(
      op,
      `${hypotheses.length} hypotheses but ${references.length} reference sets: give each hypothesis the list of its references`,
    );

  const matches = new Array<number>(maxOrder).fill(0);
  const totals = new Array<number>(maxOrder).fill(0);
  let [hypothesisLength, referenceLength] = [0, 0];
  hypotheses.forEach((hyp, i) => {
    checkTokens(hyp, `hypothesis ${i}`);
    const refs = references[i]!;
    if (!Array.isArray(refs) || refs.length === 0)
      fail(op, `reference set ${i} must be a non-empty array of references (each an array of tokens)`);
    // The largest count of each n-gram in any one reference: what a hypothesis's count is clipped to.
    const clip = Array.from({ length: maxOrder }, () => new Map<string, number>());
    let closest = -1;
    refs.forEach((ref, j) => {
      checkTokens(ref, `reference ${j} of hypothesis ${i}`);
      const d = Math.abs(ref.length - hyp.length);
      const best = Math.abs(closest - hyp.length);
      if (closest < 0 || d < best || (d === best && ref.length < closest)) closest = ref.length;
      ngramCounts(ref, maxOrder).forEach((counts, n) => {
        for (const [g, c] of counts) clip[n]!.set(g, Math.max(c, clip[n]!.get(g) ?? 0));
      });
    });
    hypothesisLength += hyp.length;
    referenceLength += closest;
    ngramCounts(hyp, maxOrder).forEach((counts, n) => {
      for (const [g, c] of counts) {
        totals[n]! += c;
        matches[n]! += Math.min(c, clip[n]!.get(g) ?? 0);
      }
    });
  });

  let brevityPenalty = 1;
  if (hypothesisLength < referenceLength)
    brevityPenalty = hypothesisLength > 0 ? Math.exp(1 - referenceLength / hypothesisLength) : 0;
  const precisions = new Array<number>(maxOrder).fill(0);
  const result = { precisions, brevityPenalty, hypothesisLength, referenceLength, matches, totals };
  if (!matches.some((m) => m > 0)) return { score: 0, ...result };
  let exp = 1;
  for (let n = 0; n < maxOrder; n++) {
    const k = smooth === 'add-k' && n > 0 ? smoothValue : 0;
    const [correct, total] = [matches[n]! + k, totals[n]! + k];
    // No n-grams of this order at all (every hypothesis shorter than n): the precision stays 0, as in sacrebleu.
    if (total === 0) break;
    if (correct > 0) precisions[n] = (100 * correct) / total;
    else if (smooth === 'exp') precisions[n] = 100 / ((exp *= 2) * total);
    else if (smooth === 'floor') precisions[n] = (100 * smoothValue) / total;
  }
  // Fractions rather than percentages inside the logarithm, so that a perfect corpus is exactly 100.
  const logMean = precisions.reduce((s, p) => s + Math.log(p / 100), 0) / maxOrder;
  return { score: 100 * brevityPenalty * Math.exp(logMean), ...result };
}
