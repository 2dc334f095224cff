/**
 * Strata's own GEMM: every case of test/gemm-cases.ts on the kernel this CPU picks, then on each
 * micro-kernel in turn (one child process per STRATA_GEMM_KERNEL, since the choice is made once per
 * process); the settings that choose the provider and the kernel, and the OpenBLAS core set before the
 * addon loads. Nothing here needs OpenBLAS.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createNativeBackend, nativeGemmKernels, openblasCoretype } from '../src/backend/native/index.js';
import { gemmFailures } from './gemm-cases.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = existsSync(new URL('../build/Release/strata_native.node', import.meta.url));

/** Runs a module in a fresh process with the GEMM settings given (and no others from this one). */
function run(args: string[], env: Record<string, string>) {
  const base = { ...process.env };
  for (const name of ['STRATA_GEMM', 'STRATA_GEMM_KERNEL', 'OPENBLAS_CORETYPE', 'STRATA_BACKEND'])
    delete base[name];
  return spawnSync(process.execPath, ['--import', 'tsx', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...base, ...env },
  });
}

const describeCode = [
  '--input-type=module',
  '-e',
  `import { createNativeBackend } from './src/backend/native/index.ts'; console.log(createNativeBackend().describe());`,
];

describe('own GEMM', { skip: built ? false : 'the addon is not built' }, () => {
  test('agrees with a float64 product on every layout, odd size, epilogue and K = 0', () => {
    assert.deepEqual(gemmFailures().slice(0, 10), []);
  });

  for (const kernel of ['avx512', 'avx2', 'neon', 'portable']) {
    test(`STRATA_GEMM_KERNEL=${kernel}: the same cases on that micro-kernel, or a clear refusal`, () => {
      const r = run(['test/gemm-cases.ts'], { STRATA_GEMM: 'own', STRATA_GEMM_KERNEL: kernel });
      if (nativeGemmKernels().includes(kernel)) {
        assert.equal(r.status, 0, r.stderr);
        const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
          describe: string;
          failures: string[];
        };
        assert.match(out.describe, new RegExp(`GEMM float32 own ${kernel} \\d+x\\d+`));
        assert.deepEqual(out.failures, []);
      } else {
        assert.notEqual(r.status, 0);
        assert.match(
          r.stderr,
          new RegExp(
            `StrataError: native: STRATA_GEMM_KERNEL=${kernel} cannot be used: (this CPU cannot run the ${kernel} kernel|this build has no ${kernel} kernel)`,
          ),
        );
      }
    });
  }

  test('STRATA_GEMM and STRATA_GEMM_KERNEL: a value outside the choices is an error naming both', () => {
    const provider = run(describeCode, { STRATA_GEMM: 'mkl' });
    assert.notEqual(provider.status, 0);
    assert.match(provider.stderr, /StrataError: native: STRATA_GEMM must be one of own, openblas, got "mkl"/);
    const kernel = run(describeCode, { STRATA_GEMM_KERNEL: 'sse2' });
    assert.notEqual(kernel.status, 0);
    assert.match(
      kernel.stderr,
      /StrataError: native: STRATA_GEMM_KERNEL must be one of avx512, avx2, neon, portable, got "sse2"/,
    );
  });

  test('STRATA_GEMM=openblas runs OpenBLAS where the addon has it, and is refused where it does not', () => {
    const hasBlas = createNativeBackend().describe().includes('OPENBLAS_CORETYPE');
    const r = run(describeCode, { STRATA_GEMM: 'openblas' });
    if (hasBlas) {
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /GEMM float32 openblas, float64 openblas/);
    } else {
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /STRATA_GEMM=openblas cannot be used: this addon was built without OpenBLAS/);
    }
    const own = run(describeCode, { STRATA_GEMM: 'own' });
    assert.equal(own.status, 0, own.stderr);
    assert.match(own.stdout, /GEMM float32 own \w+ \d+x\d+, float64 own portable/);
  });

  test('describe names the CPU, its features, the GEMM and who set OPENBLAS_CORETYPE', () => {
    const text = createNativeBackend().describe();
    assert.match(text, /^CPU .*; GEMM float32 .*, \d+ threads$/);
    if (!text.includes('OPENBLAS_CORETYPE')) return; // built without OpenBLAS
    const user = run(describeCode, { OPENBLAS_CORETYPE: 'Haswell' });
    assert.equal(user.status, 0, user.stderr);
    assert.match(user.stdout, /core Haswell; OPENBLAS_CORETYPE=Haswell, set by the user/);
  });
});

test('OPENBLAS_CORETYPE from the CPU flags: AVX-512 to SkylakeX (Cooperlake with bf16), AVX2 to Haswell', () => {
  const core = (flags: string) => openblasCoretype(new Set(flags.split(' ')));
  const avx512 = 'sse2 avx avx2 fma avx512f avx512bw avx512vl avx512dq';
  assert.equal(core(avx512), 'SkylakeX');
  assert.equal(core(`${avx512} avx512_bf16`), 'Cooperlake');
  assert.equal(core(`${avx512} avx512_bf16 amx_tile`), 'Cooperlake');
  assert.equal(core('sse2 avx avx2 fma avx512f'), 'Haswell');
  assert.equal(core('sse2 avx avx2 fma'), 'Haswell');
  assert.equal(core('sse2 avx avx2'), null);
  assert.equal(core('sse2 sse4_2'), null);
});
