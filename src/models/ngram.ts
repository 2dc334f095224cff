import { fail } from '../errors.js';

/** Adds one n-gram type seen n times to its context's total count and number of distinct types. */
function countType(contexts: Map<number, { total: number; types: number }>, ctx: number, n: number): void {
  const e = contexts.get(ctx) ?? { total: 0, types: 0 };
  e.total += n;
  e.types++;
  contexts.set(ctx, e);
}

/**
 * The baseline neural language models are measured against: an interpolated Kneser-Ney trigram model
 * (Kneser & Ney, 1995; in the interpolated form of Chen & Goodman, 1998), computed from counts:
 *
 * ```text
 * P3(w | u v) = max(c(uvw) − D3, 0) / c(uv•) + D3 · T(uv•) / c(uv•) · P2(w | v)
 * P2(w | v)   = max(N(•vw) − D2, 0) / N(•v•) + D2 · T(v•) / N(•v•) · P1(w)
 * P1(w)       = max(N(•w) − D1, 0) / N(••)  + D1 · T(•) / N(••) · 1 / V
 * ```
 *
 * where c counts trigrams, N(•vw) counts the distinct words seen before the bigram vw (continuation
 * counts), T counts the distinct words seen after a context, and each order's discount is
 * D = n1 / (n1 + 2 n2) from the numbers of its counts equal to 1 and 2. A context never seen falls
 * back to the order below. Every word of the vocabulary gets a probability above zero, so test
 * perplexity is finite.
 *
 *     const words = data.wordTokens('the cat sat on the mat. the dog sat on the log.');
 *     const vocab = data.Vocab.build(words);
 *     const trigram = KneserNeyTrigram.fit(vocab.encode(words), vocab.size);
 *     trigram.prob(vocab.id('on'), vocab.id('the'), vocab.id('mat')) // P(mat | on the), between 0 and 1
 *     trigram.perplexity(vocab.encode(data.wordTokens('the dog sat on the mat.')))
 */
export class KneserNeyTrigram {
  private constructor(
    readonly vocabSize: number,
    private readonly tri: Map<number, number>,
    private readonly triContext: Map<number, { total: number; types: number }>,
    private readonly bi: Map<number, number>,
    private readonly biContext: Map<number, { total: number; types: number }>,
    private readonly uni: Float64Array,
    private readonly uniTotal: number,
    private readonly uniTypes: number,
    readonly discounts: readonly [number, number, number],
  ) {}

  /** Counts every trigram of the id stream (two `start` ids stand before the first token). */
  static fit(ids: Int32Array, vocabSize: number, start = 0): KneserNeyTrigram {
    if (!(Number.isInteger(vocabSize) && vocabSize >= 1))
      fail('KneserNeyTrigram', `vocabSize must be a positive integer, got ${vocabSize}`);
    if (ids.length < 3)
      fail('KneserNeyTrigram', `need at least 3 tokens to count trigrams, got ${ids.length}`);
    const V = vocabSize;
    const check = (id: number) => {
      if (!(id >= 0 && id < V))
        fail('KneserNeyTrigram', `token id ${id} is outside the vocabulary [0, ${V})`);
    };
    check(start);
    const tri = new Map<number, number>();
    let u = start;
    let v = start;
    for (const w of ids) {
      check(w);
      const key = (u * V + v) * V + w;
      tri.set(key, (tri.get(key) ?? 0) + 1);
      u = v;
      v = w;
    }
    // Trigram contexts uv: total count and distinct continuations; bigram continuation counts N(•vw).
    const triContext = new Map<number, { total: number; types: number }>();
    const bi = new Map<number, number>();
    for (const [key, n] of tri) {
      countType(triContext, Math.floor(key / V), n);
      const vw = key % (V * V);
      bi.set(vw, (bi.get(vw) ?? 0) + 1);
    }
    const biContext = new Map<number, { total: number; types: number }>();
    const uni = new Float64Array(V);
    for (const [vw, n] of bi) {
      countType(biContext, Math.floor(vw / V), n);
      uni[vw % V]! += 1; // N(•w): distinct bigram types ending in w
    }
    let uniTotal = 0;
    let uniTypes = 0;
    for (const n of uni) {
      uniTotal += n;
      if (n > 0) uniTypes++;
    }
    const discount = (counts: Iterable<number>) => {
      let n1 = 0;
      let n2 = 0;
      for (const c of counts) {
        if (c === 1) n1++;
        else if (c === 2) n2++;
      }
      return n1 + n2 > 0 && n1 > 0 ? n1 / (n1 + 2 * n2) : 0.5;
    };
    return new KneserNeyTrigram(V, tri, triContext, bi, biContext, uni, uniTotal, uniTypes, [
      discount(uni),
      discount(bi.values()),
      discount(tri.values()),
    ]);
  }

  /** P(w | u v). */
  prob(u: number, v: number, w: number): number {
    const V = this.vocabSize;
    const [d1, d2, d3] = this.discounts;
    const p1 = Math.max(this.uni[w]! - d1, 0) / this.uniTotal + (d1 * this.uniTypes) / this.uniTotal / V;
    let p2 = p1;
    const bc = this.biContext.get(v);
    if (bc)
      p2 = Math.max((this.bi.get(v * V + w) ?? 0) - d2, 0) / bc.total + ((d2 * bc.types) / bc.total) * p1;
    const tc = this.triContext.get(u * V + v);
    if (!tc) return p2;
    return (
      Math.max((this.tri.get((u * V + v) * V + w) ?? 0) - d3, 0) / tc.total +
      ((d3 * tc.types) / tc.total) * p2
    );
  }

  /** Perplexity of a stream, exp of the mean negative log-probability of each token given the two before. */
  perplexity(ids: Int32Array, start = 0): number {
    if (!ids.length) fail('KneserNeyTrigram', 'cannot measure the perplexity of an empty stream');
    let nll = 0;
    let u = start;
    let v = start;
    for (const w of ids) {
      if (!(w >= 0 && w < this.vocabSize))
        fail('KneserNeyTrigram', `token id ${w} is outside the vocabulary [0, ${this.vocabSize})`);
      nll -= Math.log(this.prob(u, v, w));
      u = v;
      v = w;
    }
    return Math.exp(nll / ids.length);
  }

  /** Distinct trigrams, bigram types and words seen. */
  get sizes(): { trigrams: number; bigrams: number; unigrams: number } {
    return { trigrams: this.tri.size, bigrams: this.bi.size, unigrams: this.uniTypes };
  }
}
