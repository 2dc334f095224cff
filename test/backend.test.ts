import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Runs a snippet in a fresh process (the backend is chosen once per process). */
function run(code: string, env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, STRATA_BACKEND: '', ...env },
  });
}

test('a backend that cannot load is skipped, once and plainly, for the next one', () => {
  const r = run(`
    import { registerBackend, getBackend, backendReason, tensor } from './src/index.ts';
    registerBackend({ name: 'broken', priority: 100, load: () => { throw new Error('its library is missing'); } });
    const b = getBackend();
    tensor([1, 2]).add(1);
    getBackend();
    console.log(JSON.stringify({ name: b.name, reason: backendReason() }));
  `);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.notEqual(out.name, 'broken');
  assert.match(out.reason, /broken: its library is missing/);
  const warnings = r.stderr.split('\n').filter((l) => l.includes('strata: using the'));
  assert.equal(warnings.length, 1, r.stderr);
  assert.match(warnings[0]!, /because broken: its library is missing/);
});

test('STRATA_BACKEND picks the backend; an unknown name is a clear error', () => {
  const ok = run(`import { getBackend } from './src/index.ts'; console.log(getBackend().name);`, {
    STRATA_BACKEND: 'js',
  });
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout.trim(), 'js');
  const bad = run(`import { getBackend } from './src/index.ts'; getBackend();`, { STRATA_BACKEND: 'cuda' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /setBackend: unknown backend 'cuda': available are .*js/);
});

test('STRATA_NUM_THREADS takes an integer from 1 to 4 × the cores; anything else is a clear error, not a fallback', () => {
  const most = 4 * availableParallelism();
  const code = `import { getBackend } from './src/index.ts'; const b = getBackend(); console.log(b.name, b.describe());`;
  for (const value of ['100000', String(most + 1), '0', '-2', 'abc', '2.5', '1e3']) {
    const r = run(code, { STRATA_NUM_THREADS: value });
    assert.notEqual(r.status, 0, `${value}: ${r.stdout}`);
    assert.match(
      r.stderr,
      new RegExp(
        `StrataError: native: STRATA_NUM_THREADS must be an integer from 1 to ${most} .*got "${value.replace('.', '\\.')}"`,
      ),
    );
  }
  const ok = run(code, { STRATA_NUM_THREADS: '2' });
  assert.equal(ok.status, 0, ok.stderr);
  // Without the addon the js backend runs, and the setting does not apply.
  if (ok.stdout.startsWith('native')) assert.match(ok.stdout, /, 2 threads/);
});

test('the browser entry offers the js backend alone and ignores STRATA_BACKEND; the node entry adds native', () => {
  const browser = run(
    `import { backendNames, getBackend } from './src/browser.ts'; console.log(backendNames().join(','), getBackend().name);`,
    { STRATA_BACKEND: 'native' },
  );
  assert.equal(browser.status, 0, browser.stderr);
  assert.equal(browser.stdout.trim(), 'js js');
  const node = run(`import { backendNames } from './src/index.ts'; console.log(backendNames().join(','));`);
  assert.equal(node.status, 0, node.stderr);
  assert.equal(node.stdout.trim(), 'native,js');
});
