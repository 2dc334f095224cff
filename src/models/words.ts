import { EOS, UNK, type Vocab } from '../data/text.js';
import { fail } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { tsne } from '../viz/tsne.js';
import { loadLanguageModel } from './registry.js';

export interface WordVectors {
  vocab: Vocab;
  vectors: Float64Array;
  dim: number;
}

/**
 * A word-level model's vocabulary and its word vectors, unit length, as rows of a Float64Array.
 *
 *     const wv = wordVectors('runs/rnnlm'); // a run of strata train rnnlm
 *     wv.dim // → 16
 *     neighbours(wv, 'whale', 5) // the five words whose vectors point most nearly the way whale's does
 */
export function wordVectors(path: string, op = 'words'): WordVectors {
  const { model, vocab, level } = loadLanguageModel(path, op);
  if (level !== 'word')
    fail(op, `'${path}' holds a character model; word vectors need strata train nplm or rnnlm`);
  const params = Object.fromEntries(model.namedParameters()) as Record<string, Tensor>;
  const table = params['encoder.weight'] ?? params['C.weight'];
  if (!table) fail(op, `'${path}' has no word-vector table (encoder.weight or C.weight)`);
  const [n, dim] = table.shape as [number, number];
  const vectors = Float64Array.from(table.toTypedArray());
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < dim; k++) s += vectors[i * dim + k]! ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let k = 0; k < dim; k++) vectors[i * dim + k]! *= inv;
  }
  return { vocab, vectors, dim };
}

/** The `top` words most similar to a query vector, leaving out `skip` ids and the specials. */
export function nearest(
  vocab: Vocab,
  vectors: Float64Array,
  dim: number,
  query: Float64Array,
  top: number,
  skip: readonly number[],
): { word: string; cosine: number }[] {
  let norm = 0;
  for (const q of query) norm += q * q;
  norm = Math.sqrt(norm) || 1;
  const scored: { word: string; cosine: number }[] = [];
  for (let i = 0; i < vocab.size; i++) {
    const w = vocab.token(i);
    if (skip.includes(i) || w === UNK || w === EOS) continue;
    let dot = 0;
    for (let k = 0; k < dim; k++) dot += vectors[i * dim + k]! * query[k]!;
    scored.push({ word: w, cosine: dot / norm });
  }
  return scored.sort((a, b) => b.cosine - a.cosine).slice(0, top);
}

function idOf({ vocab }: WordVectors, word: string, op: string): number {
  if (!vocab.has(word)) fail(op, `'${word}' is not in the model's vocabulary of ${vocab.size} words`);
  return vocab.id(word);
}

/**
 * The `top` nearest neighbours of a word by cosine similarity.
 *
 *     // Word vectors of unit length, as wordVectors(run) gives them, here made by hand in 2-D:
 *     const vocab = new data.Vocab(['<unk>', 'man', 'woman', 'king', 'queen', 'whale']);
 *     const wv = { vocab, dim: 2, vectors: Float64Array.of(0, 0, 1, 0, 0.6, 0.8, 0.8, 0.6, 0.28, 0.96, -1, 0) };
 *     neighbours(wv, 'king', 1) // → [{ word: 'woman', cosine: 0.96 }]
 */
export function neighbours(wv: WordVectors, word: string, top: number, op = 'words') {
  const id = idOf(wv, word, op);
  return nearest(wv.vocab, wv.vectors, wv.dim, wv.vectors.subarray(id * wv.dim, (id + 1) * wv.dim), top, [
    id,
  ]);
}

/**
 * The `top` words d with b − a + c ≈ d (man : king :: woman : queen), leaving out a, b and c.
 *
 *     // Word vectors of unit length, as wordVectors(run) gives them, here made by hand in 2-D:
 *     const vocab = new data.Vocab(['<unk>', 'man', 'woman', 'king', 'queen', 'whale']);
 *     const wv = { vocab, dim: 2, vectors: Float64Array.of(0, 0, 1, 0, 0.6, 0.8, 0.8, 0.6, 0.28, 0.96, -1, 0) };
 *     analogy(wv, 'man', 'king', 'woman', 1)[0]!.word // → 'queen'
 */
export function analogy(wv: WordVectors, a: string, b: string, c: string, top: number, op = 'words') {
  const [ia, ib, ic] = [a, b, c].map((word) => idOf(wv, word, op)) as [number, number, number];
  const { vectors, dim } = wv;
  const q = new Float64Array(dim);
  for (let k = 0; k < dim; k++)
    q[k] = vectors[ib * dim + k]! - vectors[ia * dim + k]! + vectors[ic * dim + k]!;
  return nearest(wv.vocab, vectors, dim, q, top, [ia, ib, ic]);
}

/**
 * The `count` most frequent words (letters only) and their vectors mapped to 2-D by t-SNE.
 *
 *     const { words, coords } = wordMap(wordVectors('runs/rnnlm'), 50, 0);
 *     words.slice(0, 3) // → ['the', 'of', 'and']
 *     coords.length // → 100
 */
export function wordMap(wv: WordVectors, count: number, seed: number, op = 'viz') {
  const { vocab, vectors, dim } = wv;
  // Ids after the specials run from the most frequent word down.
  const ids: number[] = [];
  for (let i = 0; i < vocab.size && ids.length < count; i++) {
    const w = vocab.token(i);
    if (w !== UNK && w !== EOS && /\p{L}/u.test(w)) ids.push(i);
  }
  if (ids.length < 10) fail(op, `the vocabulary has only ${ids.length} words to draw`);
  const points = new Float64Array(ids.length * dim);
  ids.forEach((id, r) => {
    points.set(vectors.subarray(id * dim, (id + 1) * dim), r * dim);
  });
  const coords = tsne(points, ids.length, dim, { perplexity: Math.min(30, (ids.length - 1) / 3), seed });
  return { words: ids.map((id) => vocab.token(id)), coords };
}
