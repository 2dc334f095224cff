/**
 * The GEMM cases of test/gemm.test.ts: Strata's own GEMM (the addon's ownGemm entry, and the backend's
 * matmul and linear, which use it under STRATA_GEMM=own) against a naive float64 product, on sizes that
 * miss every block size, every layout of the operands, each epilogue and K = 0. Imported, gemmFailures
 * runs them in place; run as a script (one child process per STRATA_GEMM_KERNEL) it prints its findings
 * as one JSON line.
 */
import { pathToFileURL } from 'node:url';
import type { View } from '../src/backend/backend.js';
import { createNativeBackend, nativeOwnGemm } from '../src/backend/native/index.js';
import { hashSeed, makeRng } from './gradcheck.js';

type Float = 'float32' | 'float64';

/** How an operand's [rows, cols] are laid out in its storage. */
const LAYOUTS = ['rows', 'cols', 'padded', 'stepped', 'reversed', 'broadcast'] as const;
type Layout = (typeof LAYOUTS)[number];

/** Sizes that miss every tile (MR, NR), vector width and block (KC, MC) of every kernel. */
const ODD = [1, 2, 3, 5, 7, 13, 17, 31, 33, 63, 65, 127, 129, 257];

/** A [rows, cols] view of random values in [-1, 1) in a layout; storage outside it holds NaN. */
function operand(dtype: Float, rows: number, cols: number, layout: Layout, seed: number): View {
  const rng = makeRng(seed);
  let rs: number;
  let cs: number;
  let offset = 0;
  let size: number;
  switch (layout) {
    case 'rows':
      [rs, cs, size] = [cols, 1, rows * cols];
      break;
    case 'cols':
      [rs, cs, size] = [1, rows, rows * cols];
      break;
    case 'padded':
      [rs, cs, offset] = [cols + 3, 1, 2];
      size = offset + rows * rs;
      break;
    case 'stepped':
      [rs, cs, offset] = [2 * cols + 1, 2, 1];
      size = offset + rows * rs;
      break;
    case 'reversed':
      [rs, cs, offset] = [-cols, 1, (rows - 1) * cols];
      size = rows * cols;
      break;
    case 'broadcast':
      [rs, cs, size] = [0, 1, cols];
      break;
  }
  const data =
    dtype === 'float32' ? new Float32Array(Math.max(1, size)) : new Float64Array(Math.max(1, size));
  data.fill(Number.NaN);
  const view: View = { data, shape: [rows, cols], strides: [rs, cs], offset };
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[at(view, i, j)] = 2 * rng() - 1;
  return view;
}

const at = (v: View, i: number, j: number) => v.offset + i * v.strides[0]! + j * (v.strides[1] ?? 0);

interface Epilogue {
  accumulate: boolean;
  colBias: boolean;
  rowBias: boolean;
  relu: boolean;
}

const EPILOGUES: Epilogue[] = [
  { accumulate: false, colBias: false, rowBias: false, relu: false },
  { accumulate: true, colBias: false, rowBias: false, relu: false },
  { accumulate: false, colBias: true, rowBias: false, relu: true },
  { accumulate: false, colBias: false, rowBias: true, relu: false },
  { accumulate: true, colBias: true, rowBias: true, relu: true },
];

/** A rank-1 view of n random values two elements apart (biases need not be contiguous). */
function vector(dtype: Float, n: number, seed: number): View {
  const v = operand(dtype, 1, n, 'stepped', seed);
  return { data: v.data, shape: [n], strides: [v.strides[1]!], offset: v.offset };
}

/**
 * Runs one product through `run` into an out [M, N] whose rows are N + 2 apart (the gap holds a
 * sentinel that must survive), and returns what disagrees with the float64 reference.
 */
function check(
  what: string,
  dtype: Float,
  M: number,
  N: number,
  K: number,
  la: Layout,
  lb: Layout,
  e: Epilogue,
  run: (out: View, a: View, b: View, col: View | null, row: View | null) => void,
): string | null {
  const seed = hashSeed(`${what}${dtype}${M}x${N}x${K}${la}${lb}${JSON.stringify(e)}`);
  const a = operand(dtype, M, K, la, seed);
  const b = operand(dtype, K, N, lb, seed + 1);
  const col = e.colBias ? vector(dtype, N, seed + 2) : null;
  const row = e.rowBias ? vector(dtype, M, seed + 3) : null;
  const ld = N + 2;
  const sentinel = 12345;
  const storage = dtype === 'float32' ? new Float32Array(M * ld + 5) : new Float64Array(M * ld + 5);
  const out: View = { data: storage.fill(sentinel), shape: [M, N], strides: [ld, 1], offset: 2 };
  const rng = makeRng(seed + 4);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) out.data[at(out, i, j)] = 2 * rng() - 1;
  const before = Float64Array.from(out.data);
  run(out, a, b, col, row);
  const eps = dtype === 'float32' ? 2 ** -23 : 2 ** -52;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let sum = 0;
      let scale = 0;
      for (let k = 0; k < K; k++) {
        const p = a.data[at(a, i, k)]! * b.data[at(b, k, j)]!;
        sum += p;
        scale += Math.abs(p);
      }
      const old = before[at(out, i, j)]!;
      for (const extra of [
        e.accumulate ? old : 0,
        col ? col.data[col.offset + j * col.strides[0]!]! : 0,
        row ? row.data[row.offset + i * row.strides[0]!]! : 0,
      ]) {
        sum += extra;
        scale += Math.abs(extra);
      }
      const want = e.relu ? Math.max(0, sum) : sum;
      const got = out.data[at(out, i, j)]!;
      // The rounding of a K-term sum, bounded by (K + 3)·ε·Σ|terms| (γ_n of the classic error analysis).
      if (!(Math.abs(got - want) <= (K + 4) * eps * scale + 1e-30))
        return `${what} ${dtype} ${M}x${K}x${N} a ${la} b ${lb} ${JSON.stringify(e)}: [${i}, ${j}] is ${got}, expected ${want}`;
    }
  }
  for (let p = 0; p < out.data.length; p++) {
    const row = Math.floor((p - out.offset) / ld);
    const inside = p >= out.offset && row < M && (p - out.offset) % ld < N;
    if (!inside && out.data[p] !== sentinel)
      return `${what} ${dtype} ${M}x${K}x${N} a ${la} b ${lb}: wrote storage position ${p}, outside out`;
  }
  return null;
}

const viaOwnGemm = (e: Epilogue) => (out: View, a: View, b: View, col: View | null, row: View | null) =>
  nativeOwnGemm(out, a, b, col, row, e.accumulate, e.relu);

/** Every case; the empty list when all agree. */
export function gemmFailures(): string[] {
  const failures: string[] = [];
  const note = (r: string | null) => {
    if (r) failures.push(r);
  };
  const plain = EPILOGUES[0]!;
  for (const dtype of ['float32', 'float64'] as const) {
    // Every layout pair with every epilogue, on a size that leaves edges on every side.
    for (const la of LAYOUTS)
      for (const lb of LAYOUTS)
        for (const e of EPILOGUES) note(check('ownGemm', dtype, 13, 33, 17, la, lb, e, viaOwnGemm(e)));
    // Sizes that miss every block, alone and together, with the common layouts.
    const shapes: [number, number, number][] = [];
    for (const s of ODD) {
      if (s <= 65) shapes.push([s, s, s]);
      shapes.push([s, 17, 33], [7, s, 65], [65, 13, s]);
    }
    // Past one MC block and several KC blocks; then a B read in place for its few rows of A although it
    // is big, and one big enough to be packed, in two panels of columns.
    shapes.push([129, 129, 129], [257, 31, 7], [3, 257, 129], [5, 7, 513], [300, 70, 260]);
    shapes.push([3, 2100, 1024], [13, 2100, 1000]);
    for (const [M, N, K] of shapes)
      for (const [la, lb] of [
        ['rows', 'rows'],
        ['cols', 'cols'],
        ['rows', 'cols'],
        ['cols', 'rows'],
      ] as const) {
        if (dtype === 'float64' && M * N * K > 1e6) continue;
        note(check('ownGemm', dtype, M, N, K, la, lb, plain, viaOwnGemm(plain)));
      }
    // K = 0: the epilogue alone.
    for (const e of EPILOGUES) note(check('ownGemm', dtype, 5, 7, 0, 'rows', 'rows', e, viaOwnGemm(e)));
    // Big enough to be spread over the pool, with the full epilogue and strided operands.
    note(check('ownGemm', dtype, 200, 150, 300, 'stepped', 'cols', EPILOGUES[4]!, viaOwnGemm(EPILOGUES[4]!)));
  }
  failures.push(...backendFailures());
  return failures;
}

/**
 * The backend's matmul (batched, broadcast batch strides, transposed operands) and linear, which go
 * through the provider rule: under STRATA_GEMM=own, through the kernel under test.
 */
function backendFailures(): string[] {
  const be = createNativeBackend();
  const failures: string[] = [];
  const rng = makeRng(7);
  for (const dtype of ['float32', 'float64'] as const) {
    const Arr = dtype === 'float32' ? Float32Array : Float64Array;
    const random = (n: number) => {
      const x = new Arr(n);
      for (let i = 0; i < n; i++) x[i] = 2 * rng() - 1;
      return x;
    };
    const eps = dtype === 'float32' ? 2 ** -23 : 2 ** -52;
    for (const [M, K, N] of [
      [17, 33, 65],
      [64, 784, 128],
      [1, 300, 7],
    ] as const) {
      // a [2, 3, M, K] with its first batch axis broadcast (stride 0) and each matrix transposed;
      // b [2, 3, K, N] with its second broadcast.
      const aData = random(3 * M * K);
      const bData = random(2 * K * N);
      const a: View = { data: aData, shape: [2, 3, M, K], strides: [0, M * K, 1, M], offset: 0 };
      const b: View = { data: bData, shape: [2, 3, K, N], strides: [K * N, 0, N, 1], offset: 0 };
      const out: View = {
        data: new Arr(6 * M * N),
        shape: [2, 3, M, N],
        strides: [3 * M * N, M * N, N, 1],
        offset: 0,
      };
      be.matmul(out, a, b);
      batches: for (let p = 0; p < 6; p++) {
        const [x, y] = [Math.floor(p / 3), p % 3];
        for (let i = 0; i < M; i++)
          for (let j = 0; j < N; j++) {
            let sum = 0;
            let scale = 0;
            for (let k = 0; k < K; k++) {
              const v = aData[y * M * K + i + k * M]! * bData[x * K * N + k * N + j]!;
              sum += v;
              scale += Math.abs(v);
            }
            const got = out.data[p * M * N + i * N + j]!;
            if (!(Math.abs(got - sum) <= (K + 2) * eps * scale)) {
              failures.push(
                `matmul ${dtype} [2, 3, ${M}, ${K}] by [2, 3, ${K}, ${N}]: batch ${p} [${i}, ${j}] is ${got}, expected ${sum}`,
              );
              break batches;
            }
          }
      }
    }
    // linear: y = x wᵀ + b, then ReLU, with the bias and ReLU as the epilogue.
    const [n, k, o] = [37, 50, 70];
    const x = random(n * k);
    const w = random(o * k);
    const bias = random(o);
    const y = new Arr(n * o);
    be.fused!.linear!(
      { data: y, shape: [n, o], strides: [o, 1], offset: 0 },
      { data: x, shape: [n, k], strides: [k, 1], offset: 0 },
      { data: w, shape: [o, k], strides: [k, 1], offset: 0 },
      { data: bias, shape: [o], strides: [1], offset: 0 },
      true,
    );
    outer: for (let i = 0; i < n; i++)
      for (let j = 0; j < o; j++) {
        let sum = bias[j]!;
        let scale = Math.abs(sum);
        for (let p = 0; p < k; p++) {
          sum += x[i * k + p]! * w[j * k + p]!;
          scale += Math.abs(x[i * k + p]! * w[j * k + p]!);
        }
        const want = Math.max(0, sum);
        if (!(Math.abs(y[i * o + j]! - want) <= (k + 2) * eps * scale)) {
          failures.push(
            `linear ${dtype} [${n}, ${k}] by [${o}, ${k}]: [${i}, ${j}] is ${y[i * o + j]}, expected ${want}`,
          );
          break outer;
        }
      }
  }
  return failures;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const failures = gemmFailures();
  console.log(
    JSON.stringify({
      describe: createNativeBackend().describe(),
      failures: failures.slice(0, 20),
      count: failures.length,
    }),
  );
}
