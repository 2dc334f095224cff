import { parseArgs } from 'node:util';
import { StrataError } from '../errors.js';
import { ensureOutputDir } from '../io/atomic.js';

export interface FlagSpec {
  type: 'string' | 'boolean';
  help: string;
  default?: string | boolean;
}

export type Flags = Record<string, FlagSpec>;

/**
 * Parses argv against flag specs; unknown flags, missing values and more than `positionals` positional
 * arguments become StrataErrors naming the command. A negative number after a flag that takes a value
 * is that value (`--seed -1`), not an unknown option.
 */
export function parse(
  command: string,
  argv: string[],
  flags: Flags,
  positionals = 0,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  const args = argv.flatMap((a, i) => {
    const flag = /^--([^=]+)$/.exec(argv[i - 1] ?? '')?.[1];
    if (flag !== undefined && flags[flag]?.type === 'string' && /^-\d/.test(a)) return [];
    const next = argv[i + 1];
    const own = /^--([^=]+)$/.exec(a)?.[1];
    return own !== undefined && flags[own]?.type === 'string' && next !== undefined && /^-\d/.test(next)
      ? [`${a}=${next}`]
      : [a];
  });
  let parsed: ReturnType<typeof parseArgs>;
  try {
    const options = Object.fromEntries(Object.entries(flags).map(([name, f]) => [name, { type: f.type }]));
    parsed = parseArgs({
      args,
      options: { ...options, help: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    // Node's parser explains at length; its first sentence names the problem.
    const first = (e as Error).message.split(/\.(\s|$)/)[0];
    throw new StrataError(`${command}: ${first} (see 'strata ${command} --help')`);
  }
  const out = parsed.values as Record<string, string | boolean | undefined>;
  for (const [name, f] of Object.entries(flags))
    if (out[name] === undefined && f.default !== undefined) out[name] = f.default;
  const stray = parsed.positionals.slice(positionals);
  if (stray.length > 0)
    throw new StrataError(
      `${command}: unexpected argument${stray.length > 1 ? 's' : ''} ${stray.map((a) => `'${a}'`).join(', ')} (see 'strata ${command} --help')`,
    );
  return { values: out, positionals: parsed.positionals };
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
