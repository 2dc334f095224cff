import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { describe, fail } from '../../errors.js';
import {
  type Backend,
  BINARY_OPS,
  type BinaryOp,
  type MatmulPrecision,
  type TypedArray,
  UNARY_OPS,
  type UnaryOp,
  type View,
  type Window,
} from '../backend.js';
import { jsBackend } from '../js/index.js';
import { offsets, viewSize } from '../js/strided.js';

/** The addon's exports (src/backend/native/addon.cc). */
interface Addon {
  init(meta: Int32Array, threads: number): void;
  copy(out: TypedArray, x: TypedArray): void;
  unary(op: number, out: TypedArray, x: TypedArray): void;
  binary(op: number, out: TypedArray, a: TypedArray, b: TypedArray): void;
  where(out: TypedArray, cond: TypedArray, a: TypedArray, b: TypedArray): void;
  reduce(op: number, out: TypedArray, x: TypedArray, axesMask: number): void;
  argReduce(isMax: boolean, out: TypedArray, x: TypedArray, axis: number): void;
  matmul(out: TypedArray, a: TypedArray, b: TypedArray): void;
  gather(out: TypedArray, x: TypedArray, axis: number, index: TypedArray): number;
  scatterAdd(out: TypedArray, axis: number, index: TypedArray, src: TypedArray): number;
  logSoftmax(out: TypedArray, x: TypedArray): void;
  logSoftmaxBackward(dx: TypedArray, g: TypedArray, y: TypedArray): void;
  unfold(out: TypedArray, x: TypedArray, padValue: number): void;
  fold(out: TypedArray, cols: TypedArray): void;
  maxPool(out: TypedArray, argmax: TypedArray, x: TypedArray): void;
  conv(
    kind: number,
    a: TypedArray,
    b: TypedArray,
    c: TypedArray,
    bias: TypedArray | null,
    relu: boolean,
    groups: number,
  ): void;
  linear(out: TypedArray, x: TypedArray, w: TypedArray, bias: TypedArray | null, relu: boolean): void;
  cell(kind: number, ...views: TypedArray[]): void;
  attention(
    out: TypedArray,
    lse: TypedArray,
    q: TypedArray,
    k: TypedArray,
    v: TypedArray,
    mask: TypedArray | null,
    scale: number,
    causal: boolean,
  ): void;
  attentionBackward(...args: [...(TypedArray | null)[], number, boolean, boolean]): void;
  sgd(...args: unknown[]): void;
  adam(...args: unknown[]): void;
  threads(): number;
  blasGemm(
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    n: number,
    reps: number,
    threads: number,
  ): number;
  ownGemmSeconds(a: Float32Array, b: Float32Array, c: Float32Array, n: number, reps: number): number;
  ownGemm(
    out: TypedArray,
    a: TypedArray,
    b: TypedArray,
    colBias: TypedArray | null,
    rowBias: TypedArray | null,
    accumulate: boolean,
    relu: boolean,
  ): void;
  /** Returns '' when done, else the setting at fault (provider, kernel or both), ': ' and why. */
  configureGemm(provider: string, kernel: string): string;
  /** Returns '' when done, else why not. */
  configureIsa(name: string): string;
  /** Returns '' when done, else why not. */
  setMatmulPrecision(precision: string): string;
  describe(): {
    blas: string;
    core: string;
    threads: number;
    cpu: string;
    features: string;
    gemm: string;
    kernels: string;
    precisions: string;
    isa: string;
    isas: string;
  };
}

/**
 * Below this many elements an op is cheaper in JavaScript than a trip into the addon, so tiny ops (the
 * per-op overhead benchmark, scalars in the loss) stay in the js kernels, which compute the same values.
 */
const SMALL = 64;
let small = SMALL;

/**
 * Internal, for the conformance suite: with `on`, every op runs the addon's own kernels whatever its
 * size, so that tests on small tensors check native code rather than the js kernels; off restores the
 * size cut-off.
 */
export function runNativeAtEverySize(on: boolean): void {
  small = on ? 0 : SMALL;
}

const MAX_RANK = 16;

let loaded: Addon | null = null;

function loadAddon(): Addon {
  loaded ??= requireAddon();
  return loaded;
}

/** OPENBLAS_CORETYPE as the addon found it, and who set it (null: unset, OpenBLAS detects the CPU). */
let coretype: { value: string; by: 'Strata' | 'the user' } | null = null;

/**
 * The OpenBLAS core for this CPU's flags (/proc/cpuinfo), or null to leave the choice to OpenBLAS.
 * OpenBLAS 0.3.21 (Debian 12's) takes an AVX-512 AMD Zen 4 for a Zen and runs its AVX2 kernels; named,
 * its AVX-512 ones run. It knows Haswell, Zen, SkylakeX and Cooperlake but no SapphireRapids, so a CPU
 * with AMX (which has bf16 too) gets Cooperlake.
 */
export function openblasCoretype(flags: ReadonlySet<string>): string | null {
  if (['avx512f', 'avx512bw', 'avx512vl', 'avx512dq'].every((f) => flags.has(f)))
    return flags.has('avx512_bf16') ? 'Cooperlake' : 'SkylakeX';
  if (flags.has('avx2') && flags.has('fma')) return 'Haswell';
  return null;
}

/** The CPU's feature flags from /proc/cpuinfo (Linux), or null where there is none to read. */
function cpuFlags(): Set<string> | null {
  if (process.platform !== 'linux') return null;
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m);
    return line ? new Set(line[1]!.trim().split(/\s+/)) : null;
  } catch {
    return null;
  }
}

/**
 * OpenBLAS reads OPENBLAS_CORETYPE once, when the addon's load brings it in: set it from the CPU's
 * flags first, unless the user has.
 */
function setOpenblasCoretype(): void {
  const user = process.env.OPENBLAS_CORETYPE;
  if (user) {
    coretype = { value: user, by: 'the user' };
    return;
  }
  const flags = cpuFlags();
  const core = flags && openblasCoretype(flags);
  if (core) {
    process.env.OPENBLAS_CORETYPE = core;
    coretype = { value: core, by: 'Strata' };
  }
}

function requireAddon(): Addon {
  setOpenblasCoretype();
  const require = createRequire(import.meta.url);
  // From src/backend/native (tsx) or dist/backend/native (built), the addon is in build/Release at the root.
  for (const path of ['../../../build/Release/strata_native.node']) {
    try {
      return require(path) as Addon;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'MODULE_NOT_FOUND')
        throw new Error(`the native addon failed to load: ${(e as Error).message}`);
    }
  }
  throw new Error(
    'the native addon is not built (install a C++ compiler, and libopenblas-dev and pkg-config for OpenBLAS, then run `npm rebuild strata-ml`, or `npm run build:native` in a checkout)',
  );
}

const UNARY_CODE = Object.fromEntries(UNARY_OPS.map((op, i) => [op, i])) as Record<UnaryOp, number>;
const BINARY_CODE = Object.fromEntries(BINARY_OPS.map((op, i) => [op, i])) as Record<BinaryOp, number>;

let created: Backend | null = null;

/**
 * The native backend, or an error saying why it cannot run here. There is one per thread (the main
 * thread and each worker_thread load their own instance of the addon): an instance reads every layout
 * from the one array its wrapper fills, so two wrappers in a thread would write over each other's.
 */
export function createNativeBackend(): Backend {
  created ??= makeNativeBackend();
  return created;
}

/**
 * The pool's size from STRATA_NUM_THREADS: 0 (one thread per core) when unset, else an integer from 1
 * to 4 × the cores. Anything else is refused rather than read as a default, since a huge count starts
 * that many threads and a typo would silently change the run.
 */
function threadsSetting(value: string | undefined): number {
  if (value === undefined || value === '') return 0;
  const most = 4 * availableParallelism();
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || n < 1 || n > most) {
    fail(
      'native',
      `STRATA_NUM_THREADS must be an integer from 1 to ${most} (4 × the ${most / 4} cores), got ${describe(value)}; unset it for one thread per core`,
    );
  }
  return n;
}

const ISAS = ['avx512', 'avx2', 'base'] as const;
const PROVIDERS = ['own', 'openblas'] as const;
const KERNELS = ['avx512', 'avx2', 'neon', 'portable'] as const;
const PRECISIONS: readonly string[] = ['float32', 'bf16'] satisfies MatmulPrecision[];

/** A setting that must be one of `choices` when set: '' when unset, else the value, else an error. */
function choiceSetting(name: string, choices: readonly string[], unset: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') return '';
  if (!choices.includes(value))
    fail(
      'native',
      `${name} must be one of ${choices.join(', ')}, got ${describe(value)}; unset it for ${unset}`,
    );
  return value;
}

/**
 * Picks the GEMM provider (STRATA_GEMM) and float32 micro-kernel (STRATA_GEMM_KERNEL) for the process,
 * refusing what this addon or CPU cannot do rather than falling back to something else.
 */
function configureGemm(addon: Addon): void {
  const provider = choiceSetting('STRATA_GEMM', PROVIDERS, 'the rule that picks the faster per product');
  const kernel = choiceSetting('STRATA_GEMM_KERNEL', KERNELS, 'the best kernel this CPU has');
  const problem = addon.configureGemm(provider, kernel);
  if (problem) {
    // The addon names the setting at fault: provider, kernel or both.
    const [setting, why] = [problem.slice(0, problem.indexOf(':')), problem.slice(problem.indexOf(':') + 2)];
    const named = [
      setting !== 'kernel' && `STRATA_GEMM=${provider || '(unset)'}`,
      setting !== 'provider' && `STRATA_GEMM_KERNEL=${kernel || '(unset)'}`,
    ]
      .filter(Boolean)
      .join(' and ');
    fail('native', `${named} cannot be used: ${why}`);
  }
}

/**
 * Picks the instruction set of every kernel but the GEMM's (STRATA_ISA) for the process, refusing one
 * this CPU or addon lacks rather than falling back to another.
 */
function configureIsa(addon: Addon): void {
  const isa = choiceSetting('STRATA_ISA', ISAS, 'the best set this CPU runs');
  const problem = addon.configureIsa(isa);
  if (problem) fail('native', `STRATA_ISA=${isa || '(unset)'} cannot be used: ${problem}`);
}

/**
 * The backend's one-line description: the CPU, the instruction set of the kernels, the GEMM each
 * product gets, OpenBLAS, the threads.
 */
function describeAddon(addon: Addon): string {
  const info = addon.describe();
  const cpu = `CPU ${info.cpu || process.arch}${info.features ? ` (${info.features})` : ''}`;
  let blas = 'no OpenBLAS (built without it)';
  if (info.blas) {
    const core = coretype
      ? `OPENBLAS_CORETYPE=${coretype.value}, set by ${coretype.by}`
      : 'OPENBLAS_CORETYPE unset';
    blas = `${info.blas}${info.core ? ` (core ${info.core}; ${core})` : ''}`;
  }
  return `${cpu}; kernels ${info.isa}; GEMM ${info.gemm}; ${blas}, ${addon.threads()} threads`;
}

type OwnGemm = (
  out: View,
  a: View,
  b: View,
  colBias: View | null,
  rowBias: View | null,
  accumulate: boolean,
  relu: boolean,
) => void;

let ownGemmEntry: OwnGemm | null = null;

/**
 * Internal, for the GEMM tests: out [M, N] = (out when accumulate) + a [M, K] · b [K, N] + colBias [N]
 * + rowBias [M] (each or null), then ReLU, by Strata's own GEMM whatever provider the rule picks.
 */
export function nativeOwnGemm(...[out, a, b, colBias, rowBias, accumulate, relu]: Parameters<OwnGemm>): void {
  createNativeBackend();
  ownGemmEntry!(out, a, b, colBias, rowBias, accumulate, relu);
}

/** Internal, for the tests: the kernels' instruction sets this CPU can run, best first. */
export function nativeIsas(): string[] {
  createNativeBackend();
  return loadAddon().describe().isas.split(' ');
}

/** Internal, for the GEMM tests: the float32 micro-kernels this CPU can run, best first. */
export function nativeGemmKernels(): string[] {
  createNativeBackend();
  return loadAddon().describe().kernels.split(' ');
}

function makeNativeBackend(): Backend {
  const threads = threadsSetting(process.env.STRATA_NUM_THREADS);
  const addon = loadAddon();
  // Room for seven views (a recurrent cell's backward) or four and one window.
  const meta = new Int32Array(7 * (2 + 2 * MAX_RANK));
  addon.init(meta, threads);
  configureGemm(addon);
  configureIsa(addon);
  let pos = 0;
  let wide = false;
  // meta holds int32: a size, stride or offset from 2^31 on would wrap around to another layout.
  const write = (value: number) => {
    meta[pos] = value;
    if (meta[pos++] !== value) wide = true;
  };
  // Writes a view's layout into meta, in the order the addon reads the typed-array arguments.
  const put = (v: View): TypedArray => {
    const r = v.shape.length;
    if (r > MAX_RANK) fail('native', `tensors of rank above ${MAX_RANK} are not supported, got rank ${r}`);
    meta[pos++] = r;
    write(v.offset);
    for (let i = 0; i < r; i++) write(v.shape[i]!);
    for (let i = 0; i < r; i++) write(v.strides[i]!);
    if (wide) {
      wide = false;
      fail(
        'native',
        `a view's sizes, strides and offset must be below 2^31, got shape [${v.shape}], strides [${v.strides}], offset ${v.offset}`,
      );
    }
    return v.data;
  };
  const start = () => {
    pos = 0;
  };
  // A window goes into meta after the views: dims, then kernel, stride, padding, dilation.
  const putWindow = (w: Window) => {
    meta[pos++] = w.kernel.length;
    for (const field of [w.kernel, w.stride, w.padding, w.dilation]) for (const v of field) meta[pos++] = v;
  };
  // The three convolution passes share one entry point: kind 0 forward, 1 input gradient, 2 weight gradient.
  const conv = (
    kind: number,
    a: View,
    b: View,
    c: View,
    window: Window,
    groups: number,
    bias: View | null = null,
    relu = false,
  ) => {
    start();
    const [pa, pb, pc] = [put(a), put(b), put(c)];
    const pbias = bias ? put(bias) : null;
    putWindow(window);
    addon.conv(kind, pa, pb, pc, pbias, relu, groups);
  };
  // The recurrent cells share one too: 0 LSTM forward, 1 its backward, 2 GRU forward, 3 its backward.
  const cell = (kind: number, ...views: View[]) => {
    start();
    addon.cell(kind, ...views.map(put));
  };
  ownGemmEntry = (out, a, b, colBias, rowBias, accumulate, relu) => {
    start();
    const [o, pa, pb] = [put(out), put(a), put(b)];
    addon.ownGemm(o, pa, pb, colBias && put(colBias), rowBias && put(rowBias), accumulate, relu);
  };
  const description = describeAddon(addon);
  const precisions = addon.describe().precisions;
  return {
    name: 'native',
    describe: () => description,
    describePrecisions: () => precisions,
    setMatmulPrecision(precision) {
      if (!PRECISIONS.includes(precision))
        fail('setMatmulPrecision', `expected one of ${PRECISIONS.join(', ')}, got ${describe(precision)}`);
      return addon.setMatmulPrecision(precision);
    },

    copy(out, x) {
      if (viewSize(out) < small) return jsBackend.copy(out, x);
      start();
      addon.copy(put(out), put(x));
    },
    unary(op, out, x) {
      if (viewSize(out) < small) return jsBackend.unary(op, out, x);
      start();
      addon.unary(UNARY_CODE[op], put(out), put(x));
    },
    binary(op, out, a, b) {
      if (viewSize(out) < small) return jsBackend.binary(op, out, a, b);
      start();
      addon.binary(BINARY_CODE[op], put(out), put(a), put(b));
    },
    where(out, cond, a, b) {
      if (viewSize(out) < small) return jsBackend.where(out, cond, a, b);
      start();
      addon.where(put(out), put(cond), put(a), put(b));
    },
    reduce(op, out, x, axes) {
      if (viewSize(x) < small) return jsBackend.reduce(op, out, x, axes);
      start();
      addon.reduce(
        op === 'sum' ? 0 : op === 'max' ? 1 : 2,
        put(out),
        put(x),
        axes.reduce((m, a) => m | (1 << a), 0),
      );
    },
    argReduce(op, out, x, axis) {
      if (viewSize(x) < small) return jsBackend.argReduce(op, out, x, axis);
      if (x.shape[axis] === 0) fail(op, 'cannot take the arg-extreme of an empty axis');
      start();
      addon.argReduce(op === 'argmax', put(out), put(x), axis);
    },
    matmul(out, a, b) {
      start();
      addon.matmul(put(out), put(a), put(b));
    },
    gather(out, x, axis, index) {
      start();
      const bad = addon.gather(put(out), put(x), axis, put(index));
      if (bad >= 0) jsBackend.gather(out, x, axis, index); // the reference names the bad index
    },
    scatterAdd(out, axis, index, src) {
      start();
      const bad = addon.scatterAdd(put(out), axis, put(index), put(src));
      if (bad >= 0) {
        const k = index.data[offsets(index)[bad]!];
        fail('scatterAdd', `index ${k} is out of range for axis ${axis} of size ${out.shape[axis]}`);
      }
    },
    unfold(out, x, window, padValue) {
      start();
      const [o, xd] = [put(out), put(x)];
      putWindow(window);
      addon.unfold(o, xd, padValue);
    },
    fold(out, cols, window) {
      start();
      const [o, c] = [put(out), put(cols)];
      putWindow(window);
      addon.fold(o, c);
    },
    maxPool(out, argmax, x, window) {
      start();
      const [o, a, xd] = [put(out), put(argmax), put(x)];
      putWindow(window);
      addon.maxPool(o, a, xd);
    },
    fused: {
      conv(y, x, w, bias, relu, window, groups) {
        conv(0, y, x, w, window, groups, bias, relu);
      },
      convBackwardInput(dx, dy, w, window, groups) {
        conv(1, dx, dy, w, window, groups);
      },
      convBackwardWeight(dw, x, dy, window, groups) {
        conv(2, dw, x, dy, window, groups);
      },
      logSoftmax(out, x) {
        start();
        addon.logSoftmax(put(out), put(x));
      },
      logSoftmaxBackward(dx, g, y) {
        start();
        addon.logSoftmaxBackward(put(dx), put(g), put(y));
      },
      linear(out, x, w, bias, relu) {
        start();
        addon.linear(put(out), put(x), put(w), bias ? put(bias) : null, relu);
      },
      lstmCell: (out, xw, hw, c) => cell(0, out, xw, hw, c),
      lstmCellBackward: (dGates, dc, xw, hw, c, out, grad) => cell(1, dGates, dc, xw, hw, c, out, grad),
      gruCell: (out, xw, hw, h) => cell(2, out, xw, hw, h),
      gruCellBackward: (dxw, dhw, dh, xw, hw, h, grad) => cell(3, dxw, dhw, dh, xw, hw, h, grad),
      attention(out, lse, q, k, v, mask, scale, causal) {
        start();
        const views = [out, lse, q, k, v].map(put) as [
          TypedArray,
          TypedArray,
          TypedArray,
          TypedArray,
          TypedArray,
        ];
        addon.attention(...views, mask && put(mask), scale, causal);
      },
      attentionBackward(dq, dk, dv, q, k, v, out, lse, dout, mask, scale, causal, boolMask) {
        start();
        const views = [dq, dk, dv, q, k, v, out, lse, dout].map(put);
        addon.attentionBackward(...views, mask && put(mask), scale, causal, boolMask);
      },
      sgdUpdate(p, g, buf, h, first) {
        addon.sgd(p, g, buf, h.lr, h.momentum, h.dampening, h.nesterov, h.weightDecay, first);
      },
      adamUpdate(p, g, m, v, vMax, h, step) {
        addon.adam(p, g, m, v, vMax, h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, h.decoupled, step);
      },
    },
  };
}

function checkGemmRun(op: string, a: Float32Array, b: Float32Array, n: number, reps: number): void {
  if (!Number.isInteger(n) || n < 0 || a.length < n * n || b.length < n * n) {
    fail(
      op,
      `expected n×n matrices, got n = ${describe(n)} with arrays of ${a.length} and ${b.length} elements`,
    );
  }
  if (!Number.isInteger(reps) || reps < 0) fail(op, `reps must be a count, got ${describe(reps)}`);
}

/**
 * Seconds for `reps` n×n float32 products by OpenBLAS itself with its own `threads` threads: the
 * reference that the GEMM benchmark holds Strata's matmul against. Null when the addon was built
 * without OpenBLAS.
 */
export function openblasGemmSeconds(
  a: Float32Array,
  b: Float32Array,
  n: number,
  reps: number,
  threads: number,
): number | null {
  checkGemmRun('openblasGemmSeconds', a, b, n, reps);
  if (!Number.isInteger(threads) || threads < 1)
    fail('openblasGemmSeconds', `threads must be a positive integer, got ${describe(threads)}`);
  createNativeBackend();
  const addon = loadAddon();
  if (!addon.describe().blas) return null;
  const c = new Float32Array(n * n);
  return addon.blasGemm(a.subarray(0, n * n), b.subarray(0, n * n), c, n, reps, threads);
}

/**
 * Seconds for `reps` n×n float32 products by Strata's own GEMM in the native backend's pool, whichever
 * provider its rule would pick: the same measurement as openblasGemmSeconds's.
 */
export function ownGemmSeconds(a: Float32Array, b: Float32Array, n: number, reps: number): number {
  checkGemmRun('ownGemmSeconds', a, b, n, reps);
  createNativeBackend();
  const c = new Float32Array(n * n);
  return loadAddon().ownGemmSeconds(a.subarray(0, n * n), b.subarray(0, n * n), c, n, reps);
}
