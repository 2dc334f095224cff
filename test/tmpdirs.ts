import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** Fresh empty directories under one temporary root that is removed when the test file ends. */
export function tempDirs(prefix: string): () => string {
  const root = mkdtempSync(join(tmpdir(), `strata-${prefix}-`));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  return () => {
    const d = join(root, `d${n++}`);
    mkdirSync(d);
    return d;
  };
}
