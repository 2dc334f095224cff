/**
 * The native backend's fused attention kernel against the composition it replaces (the same ops
 * scaledDotProductAttention runs on the js backend, written out here): outputs and the gradients of
 * q, k and v at lengths on both sides of the kernel's 64-wide blocks, head dims from 1 to 100, every
 * kind of mask, rows that attend to nothing, both float dtypes and strided inputs; and a long sequence
 * whose L×S scores would not fit the memory the kernel is allowed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import * as st from '../src/index.js';
import { fusedAttentionCount } from '../src/nn/attention.js';

type Tensor = st.Tensor;
type MaskKind = 'none' | 'bool' | 'float' | 'causal';

let native: string | null = null;
try {
  st.setBackend('native');
} catch (e) {
  native = (e as Error).message;
}
const original = st.getBackend().name;
before(() => {
  if (!native) st.setBackend('native');
});
after(() => {
  st.setBackend(original);
});

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function random(shape: number[], dtype: 'float32' | 'float64', next: () => number): Tensor {
  const n = shape.reduce((a, d) => a * d, 1);
  return st.tensor(
    Float64Array.from({ length: n }, () => 4 * next() - 2),
    { shape, dtype },
  );
}

/** An int32 [L, S] mask (1 attends) with about a third excluded, and row `dead` excluded whole. */
function boolMask(l: number, s: number, next: () => number, dead: number | null): Tensor {
  const data = Int32Array.from({ length: l * s }, (_, i) =>
    Math.floor(i / s) === dead ? 0 : next() < 0.67 ? 1 : 0,
  );
  return st.tensor(data, { shape: [l, s] });
}

/** The composition: softmax(q·scale kᵀ + mask) v with the mask applied as scaledDotProductAttention does. */
function composed(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  kind: MaskKind,
  mask: Tensor | null,
  scale: number,
): Tensor {
  let scores = q.mul(scale).matmul(k.mT);
  if (kind === 'bool') scores = st.where(mask!, scores, -Infinity);
  if (kind === 'float') scores = scores.add(mask!);
  if (kind === 'causal') {
    const [l, s] = [q.shape[q.rank - 2]!, k.shape[k.rank - 2]!];
    const future = Int32Array.from({ length: l * s }, (_, i) => (i % s > Math.floor(i / s) ? 1 : 0));
    scores = st.where(st.tensor(future, { shape: [l, s] }), -Infinity, scores);
  }
  return scores.softmax(-1).matmul(v);
}

/** Equal to a tolerance relative to the reference's largest value, NaN where the reference is NaN. */
function close(actual: Tensor, expected: Tensor, tol: number, what: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const [a, e] = [actual.toTypedArray(), expected.toTypedArray()];
  let big = 1;
  for (const x of e) if (Number.isFinite(x)) big = Math.max(big, Math.abs(x));
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(e[i]!))
      assert.ok(Number.isNaN(a[i]!), `${what}[${i}]: got ${a[i]}, the composition NaN`);
    else
      assert.ok(Math.abs(a[i]! - e[i]!) <= tol * big, `${what}[${i}]: got ${a[i]}, the composition ${e[i]}`);
  }
}

interface Case {
  b: number;
  l: number;
  s: number;
  e: number;
  ev: number;
  kind: MaskKind;
  dtype: 'float32' | 'float64';
  /** q given as a transposed view (batch and length swapped), k as a slice of a wider tensor. */
  strided?: boolean;
  /** A query row whose every key is masked. */
  dead?: boolean;
}

function run(c: Case): void {
  const next = rng(c.l * 7919 + c.s * 104729 + c.e * 31 + c.ev);
  const q = c.strided
    ? random([c.l, c.b, c.e], c.dtype, next).transpose(0, 1)
    : random([c.b, c.l, c.e], c.dtype, next);
  const k = c.strided
    ? random([c.b, c.s, c.e + 3], c.dtype, next).narrow(-1, 1, c.e)
    : random([c.b, c.s, c.e], c.dtype, next);
  const v = random([c.b, c.s, c.ev], c.dtype, next);
  const dead = c.dead ? Math.floor(c.l / 2) : null;
  let mask: Tensor | null = null;
  if (c.kind === 'bool') mask = boolMask(c.l, c.s, next, dead);
  if (c.kind === 'float') {
    // A broadcast [L, S] additive mask: bool's pattern as -∞, plus finite offsets.
    const pattern = boolMask(c.l, c.s, next, dead);
    mask = st.where(pattern, random([c.l, c.s], c.dtype, next), -Infinity);
  }
  const scale = 1 / Math.sqrt(c.e);
  const g = random([c.b, c.l, c.ev], c.dtype, next);
  const leaves = () => [q, k, v].map((t) => t.detach().requiresGrad_()) as [Tensor, Tensor, Tensor];

  const [q1, k1, v1] = leaves();
  const count = fusedAttentionCount();
  const y1 = st.nn.scaledDotProductAttention(q1, k1, v1, {
    mask: c.kind === 'bool' || c.kind === 'float' ? mask : null,
    isCausal: c.kind === 'causal',
  });
  assert.equal(fusedAttentionCount(), count + 1, 'the fused kernel ran');
  y1.mul(g).sum().backward();

  const [q2, k2, v2] = leaves();
  const y2 = composed(q2, k2, v2, c.kind, mask, scale);
  y2.mul(g).sum().backward();

  const tol = c.dtype === 'float64' ? 1e-10 : 2e-5 * Math.sqrt(Math.max(c.l, c.s) / 64 + 1);
  close(y1, y2, tol, 'out');
  close(q1.grad!, q2.grad!, tol, 'dq');
  close(k1.grad!, k2.grad!, tol, 'dk');
  close(v1.grad!, v2.grad!, tol, 'dv');
}

const LENGTHS: [number, number][] = [
  [1, 1],
  [1, 7],
  [7, 63],
  [63, 64],
  [64, 65],
  [65, 64],
  [200, 63],
  [64, 1000],
  [1000, 200],
];
const DIMS = [1, 8, 64, 100];
const KINDS: MaskKind[] = ['none', 'bool', 'float', 'causal'];

describe('fused attention against the composition', { skip: native ?? false }, () => {
  // Every length pair with every mask kind, the head dims and dtypes taking turns.
  LENGTHS.forEach(([l, s], i) => {
    KINDS.forEach((kind, j) => {
      const e = DIMS[(i + j) % DIMS.length]!;
      const dtype = (i + j) % 2 === 0 ? 'float64' : 'float32';
      const b = l * s > 40000 ? 1 : 3;
      test(`L ${l}, S ${s}, E ${e}, ${kind} mask, ${dtype}`, () => {
        run({ b, l, s, e, ev: (e % 7) + 1, kind, dtype });
      });
    });
  });
  for (const e of DIMS)
    for (const dtype of ['float32', 'float64'] as const)
      test(`head dim ${e}, strided q and k, ${dtype}`, () => {
        run({ b: 2, l: 70, s: 90, e, ev: e, kind: 'float', dtype, strided: true });
      });
  for (const kind of ['bool', 'float'] as const)
    for (const dtype of ['float32', 'float64'] as const)
      test(`a row that attends to nothing (${kind} mask, ${dtype}) is the composition's NaN, gradients too`, () => {
        run({ b: 2, l: 9, s: 70, e: 8, ev: 5, kind, dtype, dead: true });
      });

  test('broadcast batch axes and a mask per head', () => {
    const next = rng(5);
    const q = random([2, 3, 20, 8], 'float64', next).requiresGrad_();
    const k = random([2, 1, 30, 8], 'float64', next).requiresGrad_();
    const v = random([1, 3, 30, 4], 'float64', next).requiresGrad_();
    const mask = random([3, 20, 30], 'float64', next);
    const count = fusedAttentionCount();
    const y = st.nn.scaledDotProductAttention(q, k, v, { mask });
    assert.equal(fusedAttentionCount(), count + 1);
    const [gq, gk, gv] = st.grad(
      (a: Tensor, b: Tensor, c: Tensor) => st.nn.scaledDotProductAttention(a, b, c, { mask }).square().sum(),
      [0, 1, 2],
    )(q, k, v);
    const ref = (a: Tensor, b: Tensor, c: Tensor) =>
      a
        .mul(1 / Math.sqrt(8))
        .matmul(b.mT)
        .add(mask)
        .softmax(-1)
        .matmul(c);
    close(y, ref(q, k, v), 1e-10, 'out');
    const [rq, rk, rv] = st.grad((a: Tensor, b: Tensor, c: Tensor) => ref(a, b, c).square().sum(), [0, 1, 2])(
      q,
      k,
      v,
    );
    close(gq!, rq!, 1e-10, 'dq');
    close(gk!, rk!, 1e-10, 'dk');
    close(gv!, rv!, 1e-10, 'dv');
  });

  test("under autocast('bf16') the kernel's products are bf16's, as the composition's are", (t) => {
    if (!st.getBackend().describePrecisions?.().includes('bf16 via'))
      return t.skip('this CPU has no bf16 products');
    const next = rng(11);
    const [q, k, v] = [
      random([4, 70, 64], 'float32', next),
      random([4, 90, 64], 'float32', next),
      random([4, 90, 16], 'float32', next),
    ];
    const exact = st.nn.scaledDotProductAttention(q, k, v);
    const rounded = st.autocast('bf16', () => st.nn.scaledDotProductAttention(q, k, v));
    const reference = st.autocast('bf16', () => composed(q, k, v, 'none', null, 1 / 8));
    close(rounded, reference, 2e-2, 'out');
    assert.ok(rounded.sub(exact).abs().max().item() > 1e-4, 'the products were rounded');
  });

  test('dropout in training and a differentiated mask go through the composition', () => {
    const next = rng(9);
    const [q, k, v] = [
      random([2, 5, 4], 'float64', next),
      random([2, 6, 4], 'float64', next),
      random([2, 6, 3], 'float64', next),
    ];
    const count = fusedAttentionCount();
    st.nn.scaledDotProductAttention(q, k, v, { dropout: 0.5 });
    st.nn.scaledDotProductAttention(q, k, v, { mask: random([5, 6], 'float64', next).requiresGrad_() });
    assert.equal(fusedAttentionCount(), count);
    st.nn.scaledDotProductAttention(q, k, v, { dropout: 0.5, training: false });
    assert.equal(fusedAttentionCount(), count + 1);
  });

  test('L = S = 4096 runs without an L×S matrix of scores', () => {
    // In a fresh process, so that its peak resident memory is this run's alone.
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', new URL('./attention-long.ts', import.meta.url).pathname],
      {
        encoding: 'utf8',
        env: { ...process.env, STRATA_BACKEND: 'native' },
      },
    );
    assert.equal(child.status, 0, child.stderr);
    const { grown, fused } = JSON.parse(child.stdout.trim().split('\n').pop()!) as {
      grown: number;
      fused: number;
    };
    assert.equal(fused, 1, 'the fused kernel ran');
    // One [4096, 4096] float32 matrix is 64 MiB; the kernel's own scratch is a few [4096, 64] buffers.
    assert.ok(grown < 32 * 2 ** 20, `the peak resident memory grew by ${(grown / 2 ** 20).toFixed(1)} MiB`);
  });
});
