import { EOS, UNK, type Vocab } from '../data/text.js';
import { fail } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { loadLanguageModel } from './registry.js';

/** A word-level model's vocabulary and its word vectors, unit length, as rows of a Float64Array. */
export function wordVectors(
  path: string,
  op = 'words',
): { vocab: Vocab; vectors: Float64Array; dim: number } {
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
