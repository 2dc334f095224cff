import { readFileSync } from 'node:fs';
import { fail } from '../errors.js';
import type { TextSplit } from './moby-dick.js';
import { findDataFile } from './paths.js';
import type { SentencePair } from './translation.js';

/**
 * The credit the licence of the English–French pairs asks for: show it wherever the data, or a model
 * trained on it, is shown or shipped.
 *
 *     data.ENG_FRA_ATTRIBUTION.includes('CC-BY 2.0 FR') // → true
 */
export const ENG_FRA_ATTRIBUTION =
  'English–French sentence pairs from the Tatoeba project (tatoeba.org), © the Tatoeba contributors, ' +
  'CC-BY 2.0 FR, as distributed by manythings.org';

export interface LoadEngFraOptions {
  /** The folder holding train.tsv, valid.tsv and test.tsv (default: `eng-fra/` on the data search path). */
  dir?: string;
}

/**
 * One part of the fixed split of the English–French Tatoeba pairs (`eng-fra/train.tsv`, `valid.tsv`,
 * `test.tsv`: 14,315, 1,896 and 1,854 pairs of short sentences, split by English sentence so that every
 * translation of one sentence lands in the same part), as `{ source: English, target: French }` in file
 * order. Looks in `opts.dir`, else in `eng-fra/` under each folder of `dataSearchPath()`
 * (`$STRATA_DATA_DIR` first). Every line is checked: exactly one tab, text on both sides. Licence
 * CC-BY 2.0 FR: show `ENG_FRA_ATTRIBUTION` with the data or a model trained on it.
 *
 *     const pairs = data.loadEngFra('train');
 *     pairs.length // → 14315
 *     pairs[1] // → { source: 'Run!', target: 'Cours\u202f!' }
 *     data.groupReferences(pairs)[1]!.references // → ['Cours\u202f!', 'Courez\u202f!']
 */
export function loadEngFra(split: TextSplit, opts: LoadEngFraOptions = {}): SentencePair[] {
  const op = 'loadEngFra';
  if (split !== 'train' && split !== 'valid' && split !== 'test')
    fail(op, `split must be 'train', 'valid' or 'test', got '${String(split)}'`);
  const file = `${split}.tsv`;
  const path =
    opts.dir === undefined
      ? findDataFile([`eng-fra/${file}`], `the English–French ${split} pairs`, { op })
      : findDataFile([file], `the English–French ${split} pairs`, { op, dirs: [opts.dir] });
  const lines = readFileSync(path, 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length === 0) fail(op, `${path} is empty: expected one "English<TAB>French" pair a line`);
  return lines.map((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const fields = line.split('\t');
    const where = `${path} line ${i + 1}`;
    if (fields.length !== 2)
      fail(
        op,
        `${where}: expected "English<TAB>French" with exactly one tab, found ${fields.length - 1}: ` +
          `${JSON.stringify(line.slice(0, 80))}. The file is damaged: get the data set again`,
      );
    const [source, target] = fields as [string, string];
    if (source.trim() === '' || target.trim() === '')
      fail(
        op,
        `${where}: the ${source.trim() === '' ? 'English' : 'French'} side is empty. The file is damaged: get the data set again`,
      );
    return { source, target };
  });
}
