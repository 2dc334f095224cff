// Prints lines of source per folder of src/, so the size of each layer stays visible.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../src', import.meta.url).pathname;
const SOURCE = /\.(ts|cc|h)$/;

function count(path: string): number {
  if (!statSync(path).isDirectory())
    return SOURCE.test(path) ? readFileSync(path, 'utf8').split('\n').length : 0;
  return readdirSync(path).reduce((n, name) => n + count(join(path, name)), 0);
}

let total = 0;
for (const name of readdirSync(root).sort()) {
  const path = join(root, name);
  const n = count(path);
  total += n;
  console.log(`${String(n).padStart(7)}  src/${name}${statSync(path).isDirectory() ? '/' : ''}`);
}
console.log(`${String(total).padStart(7)}  total`);
