import { dirname, join } from 'node:path';
import { fail } from '../errors.js';
import { checkpointPath } from '../models/registry.js';
import { analogy, neighbours, wordMap, wordVectors } from '../models/words.js';
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
  const wv = wordVectors(path);
  const results: Record<string, { word: string; cosine: number }[]> = {};
  if (typeof v.near === 'string')
    for (const word of v.near.split(',').map((s) => s.trim().toLowerCase()))
      results[word] = neighbours(wv, word, top);
  if (typeof v.analogy === 'string') {
    const parts = v.analogy.split(',').map((s) => s.trim().toLowerCase());
    if (parts.length !== 3) fail('words', `--analogy takes three words a,b,c, got '${v.analogy}'`);
    const [a, b, c] = parts as [string, string, string];
    results[`${a} : ${b} :: ${c} : ?`] = analogy(wv, a, b, c, top);
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
  const { words, coords } = wordMap(wordVectors(path, 'viz'), count, seed);
  const dir = outputDir('viz', out, dirname(checkpointPath(path)), ['words.svg', 'words.png']);
  return saveWordMap(
    join(dir, 'words'),
    words,
    coords,
    `t-SNE of the ${words.length} most frequent words' vectors`,
  );
}
