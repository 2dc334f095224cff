import { dirname, join } from 'node:path';
import { EOS, UNK, type Vocab } from '../data/text.js';
import { fail } from '../errors.js';
import { checkpointPath } from '../models/registry.js';
import { nearest, wordVectors } from '../models/words.js';
import { tsne } from '../viz/tsne.js';
import { saveWordMap } from '../viz/wordmap.js';
import { type Flags, helpText, num, outputDir, parse } from './args.js';

const FLAGS: Flags = {
  near: { type: 'string', help: 'words whose nearest neighbours to list, comma-separated' },
  analogy: { type: 'string', help: 'a,b,c: the words d with b − a + c ≈ d ("man,king,woman" → queen)' },
  top: { type: 'string', help: 'neighbours per query', default: '10' },
  json: { type: 'boolean', help: 'print the results as one JSON object' },
};

export const WORDS_HELP = helpText(
  'strata words <checkpoint> --near WORD[,WORD...] | --analogy A,B,C [options]',
  'Lists the nearest neighbours of words by cosine similarity of the word vectors a language model learned (strata train nplm|rnnlm).',
  FLAGS,
);

function idOf(vocab: Vocab, word: string): number {
  if (!vocab.has(word)) fail('words', `'${word}' is not in the model's vocabulary of ${vocab.size} words`);
  return vocab.id(word);
}

/** `strata words <checkpoint> --near ... | --analogy ...`: the lines (or the JSON) to print. */
export function words(argv: string[]): string {
  const { values: v, positionals } = parse('words', argv, FLAGS, 1);
  const [path] = positionals;
  if (!path || (v.near === undefined && v.analogy === undefined))
    fail(
      'words',
      "usage: strata words <checkpoint> --near WORD | --analogy A,B,C (see 'strata words --help')",
    );
  const top = num('words', 'top', v.top, { integer: true, min: 1 });
  const { vocab, vectors, dim } = wordVectors(path);
  const row = (id: number) => vectors.subarray(id * dim, (id + 1) * dim);
  const results: Record<string, { word: string; cosine: number }[]> = {};
  if (typeof v.near === 'string') {
    for (const word of v.near.split(',').map((s) => s.trim().toLowerCase())) {
      const id = idOf(vocab, word);
      results[word] = nearest(vocab, vectors, dim, row(id), top, [id]);
    }
  }
  if (typeof v.analogy === 'string') {
    const parts = v.analogy.split(',').map((s) => s.trim().toLowerCase());
    if (parts.length !== 3) fail('words', `--analogy takes three words a,b,c, got '${v.analogy}'`);
    const [a, b, c] = parts.map((w) => idOf(vocab, w)) as [number, number, number];
    const q = new Float64Array(dim);
    for (let k = 0; k < dim; k++) q[k] = row(b)[k]! - row(a)[k]! + row(c)[k]!;
    results[`${parts[0]} : ${parts[1]} :: ${parts[2]} : ?`] = nearest(vocab, vectors, dim, q, top, [a, b, c]);
  }
  if (v.json) return JSON.stringify(results);
  return Object.entries(results)
    .map(([q, list]) => `${q}: ${list.map((r) => `${r.word} (${r.cosine.toFixed(2)})`).join(', ')}`)
    .join('\n');
}

/**
 * `strata viz words <checkpoint>`: the `count` most frequent words' vectors mapped to 2-D by t-SNE and
 * drawn as `words.svg` and `words.png` in `out` (default: beside the checkpoint).
 */
export function vizWords(path: string, count: number, out: string | undefined, seed: number): string[] {
  const { vocab, vectors, dim } = wordVectors(path, 'viz');
  // Ids after the specials run from the most frequent word down.
  const ids: number[] = [];
  for (let i = 0; i < vocab.size && ids.length < count; i++) {
    const w = vocab.token(i);
    if (w !== UNK && w !== EOS && /\p{L}/u.test(w)) ids.push(i);
  }
  if (ids.length < 10) fail('viz', `the vocabulary has only ${ids.length} words to draw`);
  const points = new Float64Array(ids.length * dim);
  ids.forEach((id, r) => {
    points.set(vectors.subarray(id * dim, (id + 1) * dim), r * dim);
  });
  const coords = tsne(points, ids.length, dim, { perplexity: Math.min(30, (ids.length - 1) / 3), seed });
  const dir = outputDir('viz', out, dirname(checkpointPath(path)), ['words.svg', 'words.png']);
  return saveWordMap(
    join(dir, 'words'),
    ids.map((id) => vocab.token(id)),
    coords,
    `t-SNE of the ${ids.length} most frequent words' vectors`,
  );
}
