/**
 * The per-ISA builds of the kernels: the conformance suite and the vectorised maths' accuracy checks
 * (vecmath.test.ts) once per set this CPU runs (one child process per STRATA_ISA, since the choice is
 * made once per process), a clear refusal of the others, and the setting's validation.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { nativeIsas } from '../src/backend/native/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = existsSync(new URL('../build/Release/strata_native.node', import.meta.url));

/** Runs node in a fresh process with STRATA_ISA as given (and no kernel settings from this one). */
function run(args: string[], isa: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, STRATA_ISA: isa };
  for (const name of ['STRATA_GEMM', 'STRATA_GEMM_KERNEL', 'STRATA_BACKEND']) delete env[name];
  return spawnSync(process.execPath, ['--import', 'tsx', ...args], { cwd: root, encoding: 'utf8', env });
}

const describeCode = [
  '--input-type=module',
  '-e',
  `import { createNativeBackend } from './src/backend/native/index.ts'; console.log(createNativeBackend().describe());`,
];

describe('per-ISA kernels', { skip: built ? false : 'the addon is not built' }, () => {
  test('the best set this CPU runs is the default, and describe names it', () => {
    const r = run(describeCode, '');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`; kernels ${nativeIsas()[0]} \\([\\w-]+\\); GEMM `));
  });

  for (const isa of ['avx512', 'avx2', 'base']) {
    test(`STRATA_ISA=${isa}: the conformance suite and vecmath's checks on that set, or a clear refusal`, () => {
      const shown = run(describeCode, isa);
      if (!nativeIsas().includes(isa)) {
        assert.notEqual(shown.status, 0);
        assert.match(
          shown.stderr,
          new RegExp(
            `StrataError: native: STRATA_ISA=${isa} cannot be used: this (CPU cannot run|build has no) ${isa} kernels`,
          ),
        );
        return;
      }
      assert.equal(shown.status, 0, shown.stderr);
      assert.match(shown.stdout, new RegExp(`; kernels ${isa} \\(`));
      const r = run(
        ['--test', '--test-reporter=dot', 'test/conformance.test.ts', 'test/vecmath.test.ts'],
        isa,
      );
      assert.equal(r.status, 0, `${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`);
    });
  }

  test('STRATA_ISA: a value outside the choices is an error naming the setting and the choices', () => {
    const r = run(describeCode, 'sse4');
    assert.notEqual(r.status, 0);
    assert.match(
      r.stderr,
      /StrataError: native: STRATA_ISA must be one of avx512, avx2, base, got "sse4"; unset it for the best set this CPU runs/,
    );
  });
});
