import { parseArgs } from 'node:util';
import { StrataError } from '../errors.js';
import { ensureOutputDir } from '../io/atomic.js';

export interface FlagSpec {
  type: 'string' | 'boolean';
  help: string;
  default?: string | boolean;
}

export type Flags = Record<string, FlagSpec>;

/** Parses argv against flag specs; unknown flags and missing values become StrataErrors naming the command. */
export function parse(
  command: string,
  argv: string[],
  flags: Flags,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const options = Object.fromEntries(Object.entries(flags).map(([name, f]) => [name, { type: f.type }]));
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
    const out = values as Record<string, string | boolean | undefined>;
    for (const [name, f] of Object.entries(flags))
      if (out[name] === undefined && f.default !== undefined) out[name] = f.default;
    return { values: out, positionals };
  } catch (e) {
    if (e instanceof StrataError) throw e;
    // Node's parser explains at length; its first sentence names the problem.
    const first = (e as Error).message.split(/\.(\s|$)/)[0];
    throw new StrataError(`${command}: ${first} (see 'strata ${command} --help')`);
  }
}

/** A number flag, checked. */
export function num(
  command: string,
  name: string,
  value: string | boolean | undefined,
  { integer = false, min = -Infinity } = {},
): number {
  const v = Number(value);
  if (typeof value !== 'string' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min) {
    throw new StrataError(
      `${command}: --${name} expects ${integer ? 'an integer' : 'a number'}${min > -Infinity ? ` ≥ ${min}` : ''}, got '${value}'`,
    );
  }
  return v;
}

/**
 * The directory an `--out` flag names (or `fallback` without one), checked before any work starts: it is
 * created if need be and must be writable, with none of `files` in it a directory. An empty `--out ""`
 * is refused rather than taken to mean "no output".
 */
export function outputDir(
  command: string,
  value: string | boolean | undefined,
  fallback: string,
  files: readonly string[] = [],
): string {
  if (value === '')
    throw new StrataError(`${command}: --out is empty; give a directory, e.g. --out ${fallback}`);
  const dir = typeof value === 'string' ? value : fallback;
  ensureOutputDir(command, dir, files);
  return dir;
}

export function helpText(usage: string, summary: string, flags: Flags): string {
  const rows = Object.entries(flags).map(([name, f]) => {
    const left = `  --${name}${f.type === 'string' ? ' <value>' : ''}`;
    const def = f.default !== undefined && f.default !== false ? ` (default: ${f.default})` : '';
    return `${left.padEnd(28)} ${f.help}${def}`;
  });
  return `Usage: ${usage}\n\n${summary}\n\nOptions:\n${rows.join('\n')}\n  --help                     show this help\n`;
}
