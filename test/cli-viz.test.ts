import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadPng } from '../src/viz/png.js';
import { tempDirs } from './tmpdirs.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const freshDir = tempDirs('cli-viz');

function strata(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: repo,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `strata ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim().split('\n');
}

test('train lenet writes curves; viz draws its filters and every layer for one digit', () => {
  const out = freshDir();
  strata([
    'train',
    'lenet',
    '--epochs',
    '1',
    '--limit',
    '256',
    '--batch-size',
    '64',
    '--no-progress',
    '--out',
    out,
  ]);
  for (const f of ['curves.svg', 'curves.png']) assert.ok(existsSync(join(out, f)), f);

  const [filters] = strata(['viz', 'filters', join(out, 'checkpoint.safetensors')]);
  const grid = loadPng(filters!);
  // Six 5×5 kernels drawn 12× in a 3×2 grid with 2-pixel gaps: 3·60 + 4·2 = 188 wide, 2·60 + 3·2 = 126 high.
  assert.deepEqual([grid.width, grid.height, grid.channels], [188, 126, 3]);

  const files = strata(['viz', 'features', join(out, 'checkpoint.safetensors'), '--digit', '3']);
  // The input and the output of each of LeNet's 12 layers.
  assert.equal(files.length, 13);
  assert.match(files[1]!, /features-3-0-conv2d\.png$/);
  const conv1 = loadPng(files[1]!);
  assert.ok(conv1.width > 0 && conv1.height > 0);
});

test('viz refuses a file that is not a checkpoint, and bad usage, with one clear line', () => {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'viz', 'filters', join(freshDir(), 'none.safetensors')],
    {
      cwd: repo,
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^error: loadCheckpoint: no file at/m);
  const u = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'viz', 'pictures', 'x'], {
    cwd: repo,
    encoding: 'utf8',
  });
  assert.equal(u.status, 1);
  assert.match(u.stderr, /viz: usage: strata viz filters\|features\|words <checkpoint>/);
});
