/**
 * bf16 matrix products on the native backend: under setMatmulPrecision('bf16') every float32 product
 * (the own GEMM's cases of test/gemm-cases.ts, batched matmul, linear, the three convolution passes)
 * equals the float64 product of its bf16-rounded operands within float32's accumulation error, and the
 * float32 product within bf16's rounding; float64 products stay float64; float32 again gives exactly
 * the float32 results. On a CPU without AVX512-BF16 the refusal is checked instead. Then the same
 * cases in child processes on each float32 micro-kernel and under STRATA_GEMM=openblas.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { View, Window } from '../src/backend/backend.js';
import { createNativeBackend, nativeGemmKernels, nativeOwnGemm } from '../src/backend/native/index.js';
import { bf16, gemmFailures, Reference, rounding } from './gemm-cases.js';
import { makeRng } from './gradcheck.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = existsSync(new URL('../build/Release/strata_native.node', import.meta.url));

/** Whether this CPU has AVX512-BF16, from /proc/cpuinfo where there is one, else from the addon. */
function cpuHasBf16(): boolean {
  try {
    return /^flags\s*:.*\bavx512_bf16\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return createNativeBackend().describePrecisions!().includes('bf16 via');
  }
}

const view = (data: Float32Array | Float64Array, shape: number[]): View => {
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  return { data, shape, strides, offset: 0 };
};

function random(n: number, seed: number): Float32Array {
  const rng = makeRng(seed);
  return Float32Array.from({ length: n }, () => 2 * rng() - 1);
}

/** A product the rule gives OpenBLAS under float32 (64³) and one it gives the own GEMM, by matmul. */
function products(): Float32Array[] {
  const be = createNativeBackend();
  return [64, 300].map((n) => {
    const out = new Float32Array(n * n);
    be.matmul(view(out, [n, n]), view(random(n * n, n), [n, n]), view(random(n * n, n + 1), [n, n]));
    return out;
  });
}

/**
 * The three passes of a convolution through the backend's fused kernels under the current precision,
 * each against the float64 sums of its taps (see gemm-cases.ts's Reference): y = conv(x, w) + bias,
 * then ReLU; dx from dy and w; dw from x and dy.
 */
function convFailures(
  N: number,
  C: number,
  O: number,
  H: number,
  W: number,
  groups: number,
  window: Window,
): string[] {
  const be = createNativeBackend();
  const [k, s, p] = [window.kernel[0]!, window.stride[0]!, window.padding[0]!];
  const [Ho, Wo] = [Math.floor((H + 2 * p - k) / s) + 1, Math.floor((W + 2 * p - k) / s) + 1];
  const [cg, og] = [C / groups, O / groups];
  const x = random(N * C * H * W, 1);
  const w = random(O * cg * k * k, 2);
  const bias = random(O, 3);
  const dy = random(N * O * Ho * Wo, 4);
  const y = new Float32Array(N * O * Ho * Wo);
  const dx = new Float32Array(x.length);
  const dw = new Float32Array(w.length);
  const fused = be.fused!;
  fused.conv!(
    view(y, [N, O, Ho, Wo]),
    view(x, [N, C, H, W]),
    view(w, [O, cg, k, k]),
    view(bias, [O]),
    true,
    window,
    groups,
  );
  fused.convBackwardInput!(
    view(dx, [N, C, H, W]),
    view(dy, [N, O, Ho, Wo]),
    view(w, [O, cg, k, k]),
    window,
    groups,
  );
  fused.convBackwardWeight!(
    view(dw, [O, cg, k, k]),
    view(x, [N, C, H, W]),
    view(dy, [N, O, Ho, Wo]),
    window,
    groups,
  );
  const round = rounding('float32', 'bf16');
  const refs = (n: number) => Array.from({ length: n }, () => new Reference(round));
  const [ry, rdx, rdw] = [refs(y.length), refs(dx.length), refs(dw.length)];
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++)
      for (let i = 0; i < Ho; i++)
        for (let j = 0; j < Wo; j++) {
          const yi = ((n * O + o) * Ho + i) * Wo + j;
          for (let c = 0; c < cg; c++)
            for (let a = 0; a < k; a++)
              for (let b = 0; b < k; b++) {
                const [h, v] = [i * s + a - p, j * s + b - p];
                if (h < 0 || h >= H || v < 0 || v >= W) continue;
                const xi = ((n * C + Math.floor(o / og) * cg + c) * H + h) * W + v;
                const wi = ((o * cg + c) * k + a) * k + b;
                ry[yi]!.product(x[xi]!, w[wi]!);
                rdx[xi]!.product(dy[yi]!, w[wi]!);
                rdw[wi]!.product(dy[yi]!, x[xi]!);
              }
          ry[yi]!.add(bias[o]!);
        }
  const failures: string[] = [];
  const shape = `x [${N}, ${C}, ${H}, ${W}], ${k}×${k} stride ${s}, ${groups} group(s)`;
  for (const [name, got, ref, relu] of [
    ['conv', y, ry, true],
    ['convBackwardInput', dx, rdx, false],
    ['convBackwardWeight', dw, rdw, false],
  ] as const) {
    const bad = ref.findIndex((r, i) => !r.agrees(got[i]!, 2 ** -23, relu));
    if (bad >= 0) failures.push(`${name} ${shape}: [${bad}] is ${got[bad]}, expected ${ref[bad]!.rounded}`);
  }
  return failures;
}

/** Runs test/gemm-cases.ts in bf16 in a fresh process with these GEMM settings; its failures. */
function casesIn(env: Record<string, string>): { status: number | null; stderr: string; failures: string[] } {
  const base = { ...process.env };
  for (const name of ['STRATA_GEMM', 'STRATA_GEMM_KERNEL', 'STRATA_BACKEND']) delete base[name];
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/gemm-cases.ts', 'bf16'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...base, ...env },
  });
  const last = r.stdout.trim().split('\n').pop() || '{"failures": []}';
  return {
    status: r.status,
    stderr: r.stderr,
    failures: (JSON.parse(last) as { failures: string[] }).failures,
  };
}

describe('bf16 products', { skip: built ? false : 'the addon is not built' }, () => {
  const be = createNativeBackend();
  const supported = cpuHasBf16();

  test('setMatmulPrecision takes float32 and bf16 (where the CPU has AVX512-BF16), and says why not', () => {
    assert.equal(be.setMatmulPrecision!('float32'), '');
    assert.throws(
      () => be.setMatmulPrecision!('fp16' as 'bf16'),
      /StrataError: setMatmulPrecision: expected one of float32, bf16, got "fp16"/,
    );
    const answer = be.setMatmulPrecision!('bf16');
    be.setMatmulPrecision!('float32');
    if (supported) {
      assert.equal(answer, '');
      assert.match(
        be.describePrecisions!(),
        /^float32, bf16 via AVX512-BF16 \(vdpbf16ps; own avx512bf16 \d+x\d+/,
      );
    } else {
      assert.match(
        answer,
        /^this CPU has no AVX512-BF16 \(it has .*\); bf16 needs a CPU with AVX512-BF16, e\.g\. Intel Cooper Lake or Sapphire Rapids .* or AMD Zen 4$/,
      );
      assert.equal(be.describePrecisions!(), 'float32; bf16: not on this CPU (no AVX512-BF16)');
    }
  });

  test('every GEMM case agrees with the product of bf16-rounded operands (float64 ones unrounded)', () => {
    const failures = gemmFailures('bf16');
    if (supported) assert.deepEqual(failures.slice(0, 10), []);
    else assert.match(failures[0] ?? '', /setMatmulPrecision\('bf16'\) refused: this CPU has no AVX512-BF16/);
  });

  test('float32 again gives exactly the float32 results; bf16 gives others', () => {
    const before = products();
    if (be.setMatmulPrecision!('bf16') !== '') return assert.equal(supported, false);
    const during = products();
    assert.equal(be.setMatmulPrecision!('float32'), '');
    assert.deepEqual(products(), before);
    for (let i = 0; i < before.length; i++) assert.notDeepEqual(during[i], before[i]);
  });

  test('the convolutions take im2col + GEMM in bf16, Winograd-sized ones included', () => {
    if (be.setMatmulPrecision!('bf16') !== '') return assert.equal(supported, false);
    try {
      const win = (k: number, s: number, p: number): Window => ({
        kernel: [k, k],
        stride: [s, s],
        padding: [p, p],
        dilation: [1, 1],
      });
      // 3×3, stride 1, 16 channels each side: Winograd's under float32.
      assert.deepEqual(convFailures(2, 16, 16, 7, 7, 1, win(3, 1, 1)), []);
      assert.deepEqual(convFailures(3, 4, 6, 9, 8, 2, win(3, 2, 1)), []);
    } finally {
      be.setMatmulPrecision!('float32');
    }
  });

  test('NaN and infinity propagate, and bf16 rounds as it should', () => {
    assert.equal(bf16(1 + 2 ** -8), 1); // a tie: to even
    assert.equal(bf16(1 + 3 * 2 ** -8), 1 + 2 ** -6);
    if (be.setMatmulPrecision!('bf16') !== '') return assert.equal(supported, false);
    try {
      // a [3, 4] · b [4, 5]: a's row 0 has a NaN, row 1 an infinity; b's column 4 a NaN, and the
      // infinity meets a zero in column 0.
      const a = random(12, 5);
      const b = random(20, 6);
      a[1] = Number.NaN;
      a[4 + 2] = Number.POSITIVE_INFINITY;
      b[2 * 5 + 0] = 0;
      b[3 * 5 + 4] = Number.NaN;
      const out = new Float32Array(15);
      nativeOwnGemm(view(out, [3, 5]), view(a, [3, 4]), view(b, [4, 5]), null, null, false, true);
      for (let j = 0; j < 5; j++)
        assert.ok(Number.isNaN(out[j]!), `row 0 is NaN, even after ReLU: ${out[j]}`);
      assert.ok(Number.isNaN(out[5]!), '∞ · 0 is NaN');
      for (let j = 1; j < 4; j++)
        assert.equal(out[5 + j], b[2 * 5 + j]! > 0 ? Number.POSITIVE_INFINITY : 0, 'ReLU(±∞)');
      for (let i = 0; i < 3; i++) assert.ok(Number.isNaN(out[i * 5 + 4]!), 'column 4 is NaN');
    } finally {
      be.setMatmulPrecision!('float32');
    }
  });

  // The float32 micro-kernel forced, then OpenBLAS forced: bf16 products are the own bf16 kernel's
  // whatever either says, so the same cases hold.
  const settings: Record<string, string>[] = nativeGemmKernels().map((k) => ({
    STRATA_GEMM: 'own',
    STRATA_GEMM_KERNEL: k,
  }));
  if (be.describe().includes('OPENBLAS_CORETYPE')) settings.push({ STRATA_GEMM: 'openblas' });
  for (const env of settings) {
    const named = Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    test(`${named}: the same cases in bf16, or the refusal`, () => {
      const r = casesIn(env);
      assert.equal(r.status, 0, r.stderr);
      if (supported) assert.deepEqual(r.failures, []);
      else assert.match(r.failures[0] ?? '', /refused: this CPU has no AVX512-BF16/);
    });
  }
});
