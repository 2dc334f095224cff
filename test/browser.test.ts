/**
 * The browser entry in a browser: esbuild bundles a small training for the browser platform, refusing
 * any `node:` module or Node global, and headless Chromium runs it; the numbers must be Node's.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { trainSmallNetwork } from './browser-training.js';
import { tempDirs } from './tmpdirs.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const chromium = process.env.CHROMIUM ?? '/usr/bin/chromium';
const tmp = tempDirs('browser');

// Globals only Node has. esbuild swaps each reference for a marker, which must not reach the bundle.
const NODE_GLOBALS = ['process', 'Buffer', 'require', 'global', '__dirname', '__filename'];
const marker = (name: string) => `__node_global_${name}__`;

/** Equal to a relative 1e-5 (float32's tolerance), naming the first position that is not. */
function assertClose(actual: number[], expected: number[], what: string): void {
  assert.equal(
    actual.length,
    expected.length,
    `${what}: ${actual.length} values, expected ${expected.length}`,
  );
  actual.forEach((a, i) => {
    const e = expected[i]!;
    assert.ok(
      Math.abs(a - e) <= 1e-5 * Math.max(1, Math.abs(e)),
      `${what}[${i}]: ${a} in Chromium, ${e} in Node`,
    );
  });
}

/** Bundles `code` (TypeScript, resolved from the repository root) as one classic script for browsers. */
async function bundleForBrowser(code: string): Promise<string> {
  const result = await esbuild.build({
    stdin: { contents: code, resolveDir: root, sourcefile: 'page.ts', loader: 'ts' },
    bundle: true,
    platform: 'browser',
    format: 'iife',
    write: false,
    logLevel: 'silent',
    define: Object.fromEntries(NODE_GLOBALS.map((name) => [name, marker(name)])),
  });
  const text = result.outputFiles[0]!.text;
  const used = NODE_GLOBALS.filter((name) => text.includes(marker(name)));
  if (used.length) throw new Error(`the bundle refers to Node's ${used.join(', ')}`);
  return text;
}

test('the browser entry bundles without node: modules or Node globals, and the check has teeth', async () => {
  const bundle = await bundleForBrowser(`import { tensor } from './src/browser.ts'; tensor([1]).add(1);`);
  assert.ok(bundle.length > 0);
  // The node entry loads the native addon, so the same build of it must fail.
  await assert.rejects(bundleForBrowser(`import './src/index.ts';`), /node:/);
  await assert.rejects(
    bundleForBrowser(`import { tensor } from './src/browser.ts'; tensor([Number(process.env.N)]);`),
    /Node's process/,
  );
});

const PAGE = `
import { trainSmallNetwork } from './test/browser-training.ts';
const out = document.createElement('pre');
out.id = 'result';
try {
  out.textContent = JSON.stringify(trainSmallNetwork());
} catch (e) {
  out.textContent = JSON.stringify({ error: String(e instanceof Error ? e.stack : e) });
}
document.body.append(out);
`;

test('a small training runs in headless Chromium: the loss falls and every number is the one Node computes', {
  skip: existsSync(chromium) ? false : `no Chromium at ${chromium} (set CHROMIUM)`,
  timeout: 120_000,
}, async () => {
  const dir = tmp();
  writeFileSync(join(dir, 'page.js'), await bundleForBrowser(PAGE));
  writeFileSync(
    join(dir, 'index.html'),
    '<!doctype html><html><body><script src="page.js"></script></body></html>',
  );
  const r = spawnSync(
    chromium,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      `--user-data-dir=${join(dir, 'profile')}`,
      '--virtual-time-budget=60000',
      '--dump-dom',
      pathToFileURL(join(dir, 'index.html')).href,
    ],
    { encoding: 'utf8', timeout: 90_000 },
  );
  const found = /<pre id="result">([\s\S]*?)<\/pre>/.exec(r.stdout ?? '');
  assert.ok(found, `no result in the page (status ${r.status}): ${r.stderr?.slice(-2000)}`);
  const text = found[1]!.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
  const browser = JSON.parse(text) as ReturnType<typeof trainSmallNetwork> & { error?: string };
  assert.equal(browser.error, undefined, browser.error);
  assert.equal(browser.backend, 'js');
  assert.ok(
    browser.losses.at(-1)! < browser.losses[0]! / 4,
    `loss ${browser.losses[0]} → ${browser.losses.at(-1)}`,
  );
  // This file never imports the node entry, so here too the js backend runs.
  const node = trainSmallNetwork();
  assert.equal(node.backend, 'js');
  assertClose(browser.losses, node.losses, 'losses');
  assertClose(browser.outputs, node.outputs, 'outputs');
});
