/**
 * The GEMM cases of test/gemm.test.ts and test/bf16.test.ts: Strata's own GEMM (the addon's ownGemm
 * entry, and the backend's matmul and linear, which use it under STRATA_GEMM=own) against a naive
 * float64 product, on sizes that miss every block size, every layout of the operands, each epilogue and
 * K = 0, in a matmul precision. Imported, gemmFailures runs them in place; run as a script (one child
 * process per STRATA_GEMM_KERNEL; `bf16` as its argument for that precision) it prints its findings as
 * one JSON line.
 */
import { pathToFileURL } from 'node:url';
import type { MatmulPrecision, View } from '../src/backend/backend.js';
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

const word = new Float32Array(1);
const bits = new Uint32Array(word.buffer);

/**
 * x rounded to bfloat16 as the bf16 products round their operands: to nearest even, NaN kept, a
 * subnormal to a zero of its sign (vcvtne2ps2bf16 reads subnormals as zero).
 */
export function bf16(x: number): number {
  word[0] = x;
  const u = bits[0]!;
  if ((u & 0x7fffffff) > 0x7f800000) return x;
  if ((u & 0x7f800000) === 0) return u >>> 31 ? -0 : 0;
  bits[0] = (u + 0x7fff + ((u >>> 16) & 1)) & 0xffff0000;
  return word[0]!;
}

/**
 * One element of a product as the reference sees it: the float64 sum of its terms from the operands
 * as the product rounds them (bf16's for float32 under bf16, else as they are), and from the operands
 * as given, each with the sum of the terms' magnitudes that bounds its rounding error.
 */
export class Reference {
  rounded = 0;
  roundedScale = 0;
  exact = 0;
  exactScale = 0;
  count = 0;
  constructor(private readonly round: (x: number) => number) {}

  product(a: number, b: number): void {
    const p = this.round(a) * this.round(b);
    this.rounded += p;
    this.roundedScale += Math.abs(p);
    const q = a * b;
    this.exact += q;
    this.exactScale += Math.abs(q);
    this.count++;
  }

  add(x: number): void {
    for (const sum of ['rounded', 'exact'] as const) this[sum] += x;
    this.roundedScale += Math.abs(x);
    this.exactScale += Math.abs(x);
    this.count++;
  }

  /**
   * Whether got is the sum (after ReLU where asked): within the rounding of an n-term sum in precision ε
   * (γ_n of the classic error analysis: (n + 4)·ε·Σ|terms|) of the sum of the rounded terms and, where
   * the operands were rounded to bfloat16, within (2^-7 + 2^-16)·Σ|a||b| more of the exact one (each
   * operand off by at most 2^-8 of itself, bfloat16's unit roundoff with its 8 significant bits).
   */
  agrees(got: number, eps: number, relu = false): boolean {
    const f = (v: number) => (relu ? Math.max(0, v) : v);
    const tolerance = (this.count + 4) * eps;
    if (!(Math.abs(got - f(this.rounded)) <= tolerance * this.roundedScale + 1e-30)) return false;
    return Math.abs(got - f(this.exact)) <= (tolerance + 2 ** -7 + 2 ** -16) * this.exactScale + 1e-30;
  }
}

/** How the float32 products of `precision` round their operands; float64 ones never round. */
export function rounding(dtype: Float, precision: MatmulPrecision): (x: number) => number {
  return dtype === 'float32' && precision === 'bf16' ? bf16 : (x) => x;
}

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
  precision: MatmulPrecision,
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
  const round = rounding(dtype, precision);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      const ref = new Reference(round);
      for (let k = 0; k < K; k++) ref.product(a.data[at(a, i, k)]!, b.data[at(b, k, j)]!);
      if (e.accumulate) ref.add(before[at(out, i, j)]!);
      if (col) ref.add(col.data[col.offset + j * col.strides[0]!]!);
      if (row) ref.add(row.data[row.offset + i * row.strides[0]!]!);
      const got = out.data[at(out, i, j)]!;
      if (!ref.agrees(got, eps, e.relu))
        return `${what} ${precision} ${dtype} ${M}x${K}x${N} a ${la} b ${lb} ${JSON.stringify(e)}: [${i}, ${j}] is ${got}, expected ${ref.rounded}`;
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

/**
 * Every case, with the native backend's matmul precision set to `precision` for them (and float32 again
 * after); the empty list when all agree.
 */
export function gemmFailures(precision: MatmulPrecision = 'float32'): string[] {
  const be = createNativeBackend();
  const refused = be.setMatmulPrecision!(precision);
  if (refused) return [`setMatmulPrecision('${precision}') refused: ${refused}`];
  try {
    return casesFailures(precision);
  } finally {
    be.setMatmulPrecision!('float32');
  }
}

function casesFailures(precision: MatmulPrecision): string[] {
  const failures: string[] = [];
  const note = (r: string | null) => {
    if (r) failures.push(r);
  };
  const plain = EPILOGUES[0]!;
  for (const dtype of ['float32', 'float64'] as const) {
    // Every layout pair with every epilogue, on a size that leaves edges on every side.
    for (const la of LAYOUTS)
      for (const lb of LAYOUTS)
        for (const e of EPILOGUES)
          note(check(precision, 'ownGemm', dtype, 13, 33, 17, la, lb, e, viaOwnGemm(e)));
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
    // Three K blocks of an odd 683 steps each for the bf16 kernel (KC 1024), two for the others.
    shapes.push([7, 70, 2049]);
    for (const [M, N, K] of shapes)
      for (const [la, lb] of [
        ['rows', 'rows'],
        ['cols', 'cols'],
        ['rows', 'cols'],
        ['cols', 'rows'],
      ] as const) {
        if (dtype === 'float64' && M * N * K > 1e6) continue;
        note(check(precision, 'ownGemm', dtype, M, N, K, la, lb, plain, viaOwnGemm(plain)));
      }
    // K = 0: the epilogue alone.
    for (const e of EPILOGUES)
      note(check(precision, 'ownGemm', dtype, 5, 7, 0, 'rows', 'rows', e, viaOwnGemm(e)));
    // Big enough to be spread over the pool, with the full epilogue and strided operands.
    note(
      check(
        precision,
        'ownGemm',
        dtype,
        200,
        150,
        300,
        'stepped',
        'cols',
        EPILOGUES[4]!,
        viaOwnGemm(EPILOGUES[4]!),
      ),
    );
  }
  failures.push(...backendFailures(precision));
  return failures;
}

/**
 * The backend's matmul (batched, broadcast batch strides, transposed operands) and linear, which go
 * through the provider rule: under STRATA_GEMM=own, through the kernel under test.
 */
function backendFailures(precision: MatmulPrecision): string[] {
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
    const round = rounding(dtype, precision);
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
            const ref = new Reference(round);
            for (let k = 0; k < K; k++)
              ref.product(aData[y * M * K + i + k * M]!, bData[x * K * N + k * N + j]!);
            const got = out.data[p * M * N + i * N + j]!;
            if (!ref.agrees(got, eps)) {
              failures.push(
                `matmul ${precision} ${dtype} [2, 3, ${M}, ${K}] by [2, 3, ${K}, ${N}]: batch ${p} [${i}, ${j}] is ${got}, expected ${ref.rounded}`,
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
        const ref = new Reference(round);
        for (let p = 0; p < k; p++) ref.product(x[i * k + p]!, w[j * k + p]!);
        ref.add(bias[j]!);
        if (!ref.agrees(y[i * o + j]!, eps, true)) {
          failures.push(
            `linear ${precision} ${dtype} [${n}, ${k}] by [${o}, ${k}]: [${i}, ${j}] is ${y[i * o + j]}, expected ${Math.max(0, ref.rounded)}`,
          );
          break outer;
        }
      }
  }
  return failures;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const failures = gemmFailures(process.argv[2] === 'bf16' ? 'bf16' : 'float32');
  console.log(
    JSON.stringify({
      describe: createNativeBackend().describe(),
      failures: failures.slice(0, 20),
      count: failures.length,
    }),
  );
}
