import { readFileSync } from 'node:fs';
import { backendNames, backendReason, getBackend } from '../backend/registry.js';
import { dataSearchPath } from '../data/paths.js';
import { type Flags, helpText, parse } from './args.js';

/** The package's version, read from package.json two folders up (from src/cli or dist/cli). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export interface Info {
  version: string;
  backend: string;
  backendDetail: string;
  backendReason: string;
  /** The precisions the backend's float32 products can run in. */
  precisions: string;
  backends: string[];
  node: string;
  platform: string;
  dataPath: string[];
}

export function info(): Info {
  const b = getBackend();
  return {
    version: version(),
    backend: b.name,
    backendDetail: b.describe(),
    backendReason: backendReason(),
    precisions: b.describePrecisions?.() ?? 'float32',
    backends: backendNames(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    dataPath: dataSearchPath(),
  };
}

export function formatInfo(i: Info): string {
  return [
    `strata ${i.version}`,
    `backend:   ${i.backend} (${i.backendReason})`,
    `           ${i.backendDetail}`,
    `precision: ${i.precisions}`,
    `available: ${i.backends.join(', ')}`,
    `node:      ${i.node} on ${i.platform}`,
    `data path: ${i.dataPath.join(', ')}`,
  ].join('\n');
}

const FLAGS: Flags = {
  json: { type: 'boolean', help: 'print one JSON object' },
  backend: { type: 'string', help: 'report on this backend instead of the default' },
};

export const INFO_HELP = helpText(
  'strata info [options]',
  'Prints the version, the backend in use and why, and where data is looked for.',
  FLAGS,
);

/** `strata info`: what to print. */
export function infoCommand(argv: string[]): string {
  const i = info();
  return parse('info', argv, FLAGS).values.json ? JSON.stringify(i) : formatInfo(i);
}
