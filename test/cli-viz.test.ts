import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
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
  const curves = readFileSync(join(out, 'curves.svg'), 'utf8');
  assert.ok(curves.includes(`>${basename(out)}<`), "the curves are titled with the run's name");
  assert.match(curves, />lenet on mnist, 1 epochs, /);
  assert.match(curves, />test \d+\.\d{2}%</, 'the test accuracy is on the accuracy panel');

  const [filters, filtersSvg] = strata(['viz', 'filters', join(out, 'checkpoint.safetensors')]);
  assert.match(filters!, /filters\.png$/);
  const svg = readFileSync(filtersSvg!, 'utf8');
  assert.ok(svg.includes('>0.weight (Conv2d) [6, 1, 5, 5]<'), 'the layer, its name and shape');
  assert.ok(svg.includes('>all 6 filters, 5×5<'), 'how many filters are shown');
  assert.ok(svg.includes('class="colorbar"'), 'a colour bar');
  const grid = loadPng(filters!);
  assert.equal(grid.channels, 3);
  assert.ok(grid.width > 300 && grid.height > 200, `${grid.width}×${grid.height}`);

  const [features, featuresSvg] = strata([
    'viz',
    'features',
    join(out, 'checkpoint.safetensors'),
    '--digit',
    '3',
  ]);
  assert.match(features!, /features-3\.png$/);
  const figure = readFileSync(featuresSvg!, 'utf8');
  // The input and the output of each of LeNet's 12 layers, one composite figure.
  assert.equal(figure.match(/<g class="panel">/g)?.length, 13);
  for (const part of ['input', '0 · Conv2d', '5 · MaxPool2d', '11 · Linear', '[1, 6, 28, 28]', '[1, 10]'])
    assert.ok(figure.includes(`>${part}<`), part);
  assert.match(figure, />predicted \d \(\d+\.\d%\), true class 0</, 'test image 3 is a 0');
  const png = loadPng(features!);
  assert.ok(png.width > 800 && png.height > 400, `${png.width}×${png.height}`);
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
