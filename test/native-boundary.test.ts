/**
 * The native addon's entry points, called raw with operands that disagree with what their kernels
 * assume: each must throw, and the process must live on (a read or write out of bounds would crash it,
 * or, under AddressSanitizer in CI, be reported). Each group starts with a well-formed call, so that a
 * throw below it is the check's and not the harness's.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import type { TypedArray, Window } from '../src/backend/backend.js';
import { createNativeBackend, openblasGemmSeconds, ownGemmSeconds } from '../src/backend/native/index.js';
import { StrataError } from '../src/errors.js';

const path = new URL('../build/Release/strata_native.node', import.meta.url);
const built = existsSync(path);
type Entry = (...args: unknown[]) => unknown;
const addon: Record<string, Entry> = built ? createRequire(import.meta.url)(path.pathname) : {};

const ARRAYS = { f32: Float32Array, f64: Float64Array, i32: Int32Array } as const;

/** A view as the addon takes it: a typed array and its layout. */
interface Raw {
  data: TypedArray;
  shape: number[];
  strides: number[];
  offset: number;
}

const contiguous = (shape: number[]) => {
  const s = shape.map(() => 1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
};

/** A contiguous view over an array of exactly its size, or with the strides and offset given. */
function v(
  dtype: keyof typeof ARRAYS,
  shape: number[],
  layout: { strides?: number[]; offset?: number; length?: number } = {},
): Raw {
  const size = shape.reduce((a, b) => a * b, 1);
  return {
    data: new ARRAYS[dtype](layout.length ?? size).fill(1),
    shape,
    strides: layout.strides ?? contiguous(shape),
    offset: layout.offset ?? 0,
  };
}

const meta = new Int32Array(7 * (2 + 2 * 16));

const isRaw = (a: unknown): a is Raw => typeof a === 'object' && a !== null && 'shape' in a;

/** Calls an entry point: each view's layout goes into meta in argument order, then the window. */
function call(name: string, args: unknown[], window?: Window, layouts = meta): unknown {
  let pos = 0;
  const raw = args.map((a) => {
    if (!isRaw(a)) return a;
    layouts[pos++] = a.shape.length;
    layouts[pos++] = a.offset;
    for (const d of a.shape) layouts[pos++] = d;
    for (const s of a.strides) layouts[pos++] = s;
    return a.data;
  });
  if (window) {
    layouts[pos++] = window.kernel.length;
    for (const f of [window.kernel, window.stride, window.padding, window.dilation])
      for (const x of f) layouts[pos++] = x;
  }
  return addon[name]!(...raw);
}

const refuses = (name: string, args: unknown[], window?: Window) =>
  assert.throws(() => call(name, args, window), Error);
const win = (
  kernel: number[],
  stride = kernel.map(() => 1),
  padding = kernel.map(() => 0),
  dilation = kernel.map(() => 1),
): Window => ({
  kernel,
  stride,
  padding,
  dilation,
});

describe('the native boundary refuses operands its kernels cannot take', {
  skip: built ? false : 'the addon is not built',
}, () => {
  test("init: an Int32Array of the layouts' size, and a sane thread count", () => {
    assert.throws(() => addon.init!(new Float64Array(meta.length), 0), TypeError);
    assert.throws(() => addon.init!(new Int32Array(10), 0), RangeError);
    assert.throws(() => addon.init!(meta, -1), RangeError);
    assert.throws(() => addon.init!(meta, 100000), RangeError);
    addon.init!(meta, 0);
  });

  test('views: typed arrays of a known dtype, ranks up to 16, sizes ≥ 0, inside their array', () => {
    call('copy', [v('f32', [4]), v('f64', [4])]);
    refuses('copy', [v('f32', [4]), [1, 2, 3, 4]]);
    refuses('copy', [v('f32', [4]), { ...v('f32', [4]), data: new Uint8Array(4) }]);
    refuses('copy', [v('f32', Array(17).fill(1)), v('f32', Array(17).fill(1))]);
    refuses('copy', [v('f32', [-2], { length: 4 }), v('f32', [-2], { length: 4 })]);
    refuses('copy', [v('f32', [4]), v('f32', [4], { length: 3 })]);
    refuses('copy', [v('f32', [4]), v('f32', [4], { offset: -1, length: 5 })]);
    refuses('copy', [v('f32', [4]), v('f32', [4], { strides: [-1] })]);
    // Extents that wrap around 64 bits: 2^31 - 1 elements 2^31 - 1 apart, twice.
    const big = 2 ** 31 - 1;
    refuses('copy', [
      v('f32', [big, big, 2], { strides: [big, big, 1], length: 8 }),
      v('f32', [big, big, 2], { strides: [big, big, 1], length: 8 }),
    ]);
    refuses('copy', [v('f32', [0]), v('f32', [0], { offset: 9 })]);
  });

  test("the layouts come from this environment's own array, checked on every call", () => {
    const own = new Int32Array(meta.length);
    addon.init!(own, 0);
    call('copy', [v('f32', [4]), v('f32', [4])], undefined, own);
    structuredClone(own.buffer, { transfer: [own.buffer] }); // detaches own
    assert.throws(() => addon.copy!(new Float32Array(4), new Float32Array(4)), RangeError);
    addon.init!(meta, 0);
    call('copy', [v('f32', [4]), v('f32', [4])]);
  });

  test("copy: x has out's shape", () => {
    refuses('copy', [v('f32', [4]), v('f32', [2])]);
    refuses('copy', [v('f32', [2, 2]), v('f32', [4])]);
    refuses('copy', [v('f32', [8]), v('f32', [2, 4])]);
  });

  test("unary: a known op code, out of x's shape and dtype, int32 only where defined", () => {
    call('unary', [1, v('f64', [4]), v('f64', [4])]);
    refuses('unary', [13, v('f64', [4]), v('f64', [4])]);
    refuses('unary', [-1, v('f64', [4]), v('f64', [4])]);
    refuses('unary', [1, v('f64', [8]), v('f64', [4])]);
    refuses('unary', [1, v('f64', [4]), v('f32', [4])]);
    refuses('unary', [1, v('f32', [4]), v('f64', [4])]);
    refuses('unary', [1, v('i32', [4]), v('i32', [4])]);
    call('unary', [0, v('i32', [4]), v('i32', [4])]);
  });

  test('binary: a known op code, a, b and out of one shape, one dtype in, int32 out for comparisons', () => {
    call('binary', [0, v('f32', [4]), v('f32', [4]), v('f32', [4])]);
    call('binary', [7, v('i32', [4]), v('f32', [4]), v('f32', [4])]);
    refuses('binary', [13, v('f32', [4]), v('f32', [4]), v('f32', [4])]);
    refuses('binary', [0, v('f32', [8]), v('f32', [4]), v('f32', [8])]);
    refuses('binary', [0, v('f32', [4]), v('f32', [4]), v('f32', [1])]);
    refuses('binary', [0, v('f32', [4]), v('f32', [4]), v('f64', [4])]);
    refuses('binary', [0, v('f64', [4]), v('f32', [4]), v('f32', [4])]);
    refuses('binary', [7, v('f32', [4]), v('f32', [4]), v('f32', [4])]);
    refuses('binary', [3, v('i32', [4]), v('i32', [4]), v('i32', [4])]);
  });

  test("where: cond, a and b of out's shape, a and b of its dtype", () => {
    call('where', [v('f32', [4]), v('i32', [4]), v('f32', [4]), v('f32', [4])]);
    refuses('where', [v('f32', [4]), v('i32', [2]), v('f32', [4]), v('f32', [4])]);
    refuses('where', [v('f32', [4]), v('i32', [4]), v('f32', [4]), v('f32', [2, 2])]);
    refuses('where', [v('f32', [4]), v('i32', [4]), v('f64', [4]), v('f64', [4])]);
  });

  test("reduce: a known op, axes inside the rank, out contiguous of x's kept shape and dtype", () => {
    call('reduce', [0, v('f32', [2, 1]), v('f32', [2, 3]), 2]);
    refuses('reduce', [3, v('f32', [2, 1]), v('f32', [2, 3]), 2]);
    refuses('reduce', [0, v('f32', [2, 1]), v('f32', [2, 3]), 4]);
    refuses('reduce', [0, v('f32', [2, 1]), v('f32', [2, 3]), -1]);
    refuses('reduce', [0, v('f32', [6]), v('f32', [2, 3]), 2]);
    refuses('reduce', [0, v('f32', [3, 1]), v('f32', [2, 3]), 2]);
    refuses('reduce', [0, v('f32', [2, 1], { strides: [2, 1], length: 4 }), v('f32', [2, 3]), 2]);
    refuses('reduce', [0, v('f64', [2, 1]), v('f32', [2, 3]), 2]);
    refuses('reduce', [1, v('f32', [2, 1]), v('f32', [2, 0]), 2]);
  });

  test("argReduce: an axis inside the rank and not empty, out int32 contiguous of x's kept shape", () => {
    call('argReduce', [true, v('i32', [2, 1]), v('f32', [2, 3]), 1]);
    refuses('argReduce', [true, v('i32', [2, 1]), v('f32', [2, 3]), 2]);
    refuses('argReduce', [true, v('i32', [2, 1]), v('f32', [2, 3]), -1]);
    refuses('argReduce', [true, v('f32', [2, 1]), v('f32', [2, 3]), 1]);
    refuses('argReduce', [true, v('i32', [3, 1]), v('f32', [2, 3]), 1]);
    refuses('argReduce', [true, v('i32', [2, 1], { strides: [3, 1], length: 6 }), v('f32', [2, 3]), 1]);
    refuses('argReduce', [true, v('i32', [2, 1]), v('f32', [2, 0]), 1]);
  });

  test('matmul: [..., M, K] by [..., K, N] into a contiguous [..., M, N], one dtype', () => {
    call('matmul', [v('f32', [2, 4]), v('f32', [2, 3]), v('f32', [3, 4])]);
    refuses('matmul', [v('f32', [4]), v('f32', [3]), v('f32', [3])]);
    refuses('matmul', [v('f32', [2, 4]), v('f32', [2, 3]), v('f32', [2, 4])]);
    refuses('matmul', [v('f32', [2, 2, 4]), v('f32', [2, 2, 3]), v('f32', [1, 3, 4])]);
    refuses('matmul', [v('f32', [2, 4]), v('f32', [2, 3]), v('f32', [5, 3, 4])]);
    refuses('matmul', [v('f32', [2, 5]), v('f32', [2, 3]), v('f32', [3, 4])]);
    refuses('matmul', [v('f32', [2, 4], { strides: [1, 2] }), v('f32', [2, 3]), v('f32', [3, 4])]);
    refuses('matmul', [v('f32', [2, 4]), v('f32', [2, 3]), v('f64', [3, 4])]);
    refuses('matmul', [v('f64', [2, 4]), v('f32', [2, 3]), v('f32', [3, 4])]);
  });

  test('gather and scatterAdd: an int32 index of the rank that fits off the axis, out and src to match', () => {
    call('gather', [v('f32', [2, 2]), v('f32', [2, 3]), 1, v('i32', [2, 2])]);
    refuses('gather', [v('f32', [2, 2]), v('f32', [2, 3]), 1, v('f32', [2, 2])]);
    refuses('gather', [v('f32', [2, 2]), v('f32', [2, 3]), 2, v('i32', [2, 2])]);
    refuses('gather', [v('f32', [4, 2]), v('f32', [2, 3]), 1, v('i32', [4, 2])]);
    refuses('gather', [v('f32', [2]), v('f32', [2, 3]), 1, v('i32', [2, 1])]);
    refuses('gather', [v('f32', [2, 2]), v('f32', [2, 3]), 1, v('i32', [4])]);
    refuses('gather', [v('f64', [2, 2]), v('f32', [2, 3]), 1, v('i32', [2, 2])]);
    refuses('gather', [v('f32', [2, 2], { strides: [1, 2] }), v('f32', [2, 3]), 1, v('i32', [2, 2])]);
    call('scatterAdd', [v('f32', [2, 3]), 1, v('i32', [2, 2]), v('f32', [2, 2])]);
    refuses('scatterAdd', [v('f32', [2, 3]), 1, v('i32', [2, 2]), v('f32', [2, 1])]);
    refuses('scatterAdd', [v('f32', [2, 3]), 1, v('i32', [3, 2]), v('f32', [3, 2])]);
    refuses('scatterAdd', [v('f32', [2, 3]), -1, v('i32', [2, 2]), v('f32', [2, 2])]);
    refuses('scatterAdd', [v('f32', [2, 3]), 1, v('i32', [2, 2]), v('f64', [2, 2])]);
  });

  test('logSoftmax, its backward and linear: contiguous rows, the shapes of a product, float of one dtype', () => {
    call('logSoftmax', [v('f32', [2, 3]), v('f32', [2, 3])]);
    refuses('logSoftmax', [v('f32', [2, 3]), v('f32', [2, 3], { strides: [1, 2] })]);
    refuses('logSoftmax', [v('f32', [2, 3]), v('f32', [3, 3])]);
    refuses('logSoftmax', [v('i32', [2, 3]), v('i32', [2, 3])]);
    refuses('logSoftmax', [v('f32', []), v('f32', [])]);
    call('logSoftmaxBackward', [v('f32', [2, 3]), v('f32', [2, 3]), v('f32', [2, 3])]);
    refuses('logSoftmaxBackward', [v('f32', [2, 3]), v('f32', [2, 3]), v('f32', [3, 3])]);
    refuses('logSoftmaxBackward', [v('f32', [2, 3]), v('f64', [2, 3]), v('f32', [2, 3])]);
    refuses('logSoftmaxBackward', [
      v('f32', [2, 3]),
      v('f32', [2, 3], { strides: [1, 2] }),
      v('f32', [2, 3]),
    ]);
    refuses('logSoftmaxBackward', [v('i32', [2, 3]), v('i32', [2, 3]), v('i32', [2, 3])]);
    refuses('logSoftmaxBackward', [v('f32', []), v('f32', []), v('f32', [])]);
    call('linear', [v('f32', [2, 4]), v('f32', [2, 3]), v('f32', [4, 3]), v('f32', [4]), false]);
    refuses('linear', [v('f32', [2, 4]), v('f32', [2, 5]), v('f32', [4, 3]), null, false]);
    refuses('linear', [v('f32', [2, 4]), v('f32', [2, 3]), v('f32', [4, 3]), v('f32', [5]), false]);
    refuses('linear', [v('f32', [2, 5]), v('f32', [2, 3]), v('f32', [4, 3]), null, false]);
    refuses('linear', [v('f32', [2, 4]), v('f32', [1, 2, 3]), v('f32', [4, 3]), null, false]);
    refuses('linear', [v('i32', [2, 4]), v('i32', [2, 3]), v('i32', [4, 3]), null, false]);
    refuses('linear', [v('f32', [2, 4]), v('f32', [2, 3]), v('f64', [4, 3]), null, false]);
  });

  test('unfold, fold and maxPool: 1–3 axes, positive kernel, stride and dilation, the rank and outputs to match', () => {
    const x = () => v('f32', [1, 2, 5, 5]);
    call('unfold', [v('f32', [1, 2, 9, 9]), x(), 0], win([3, 3]));
    refuses('unfold', [v('f32', [1, 2, 9, 9]), x(), 0], win([3, 3], [0, 1]));
    refuses('unfold', [v('f32', [1, 2, 9, 9]), x(), 0], win([0, 3]));
    refuses('unfold', [v('f32', [1, 2, 9, 9]), x(), 0], win([3, 3], [1, 1], [-1, 0]));
    refuses('unfold', [v('f32', [1, 2, 9, 9]), x(), 0], win([3, 3], [1, 1], [0, 0], [0, 1]));
    refuses('unfold', [v('f32', [1, 2, 9, 9]), x(), 0], win([3, 3, 1, 1]));
    refuses('unfold', [v('f32', [1, 2, 9, 9]), x(), 0], win([]));
    refuses('unfold', [v('f32', [1, 2, 9, 9]), x(), 0], win([3]));
    refuses('unfold', [v('f32', [1, 2, 9, 9]), x(), 0], win([3, 3, 3]));
    refuses('unfold', [v('f32', [2, 9, 9]), x(), 0], win([3, 3]));
    refuses('unfold', [v('f64', [1, 2, 9, 9]), x(), 0], win([3, 3]));
    refuses('unfold', [v('f32', [1, 2, 9, 9], { strides: [162, 1, 9, 81] }), x(), 0], win([3, 3]));
    call('fold', [x(), v('f32', [1, 2, 9, 9])], win([3, 3]));
    refuses('fold', [x(), v('f32', [1, 2, 9, 9])], win([3, 3], [0, 0]));
    refuses('fold', [x(), v('f32', [1, 2, 9, 8])], win([3, 3]));
    refuses(
      'fold',
      [v('f32', [1, 2, 5, 5], { strides: [50, 1, 10, 2] }), v('f32', [1, 2, 9, 9])],
      win([3, 3]),
    );
    refuses('fold', [x(), v('f64', [1, 2, 9, 9])], win([3, 3]));
    call('maxPool', [v('f32', [1, 2, 2, 2]), v('i32', [1, 2, 2, 2]), x()], win([2, 2], [2, 2]));
    refuses('maxPool', [v('f32', [1, 2, 2, 2]), v('i32', [1, 2, 2, 2]), x()], win([2, 2], [0, 2]));
    refuses('maxPool', [v('f32', [1, 2, 2, 2]), v('f32', [1, 2, 2, 2]), x()], win([2, 2], [2, 2]));
    refuses('maxPool', [v('f32', [1, 2, 3, 3]), v('i32', [1, 2, 3, 3]), x()], win([2, 2], [2, 2], [2, 2]));
    refuses('maxPool', [v('f32', [1, 2, 3, 2]), v('i32', [1, 2, 3, 2]), x()], win([2, 2], [2, 2]));
    refuses(
      'maxPool',
      [v('f32', [1, 2, 2, 2]), v('i32', [1, 2, 2, 2]), v('f32', [2, 5, 5])],
      win([2, 2], [2, 2]),
    );
  });

  test('conv: a known pass, a valid window over operands of its rank', () => {
    const x = () => v('f32', [1, 2, 5, 5]);
    const w = () => v('f32', [3, 2, 3, 3]);
    call('conv', [0, v('f32', [1, 3, 3, 3]), x(), w(), null, false, 1], win([3, 3]));
    refuses('conv', [3, v('f32', [1, 3, 3, 3]), x(), w(), null, false, 1], win([3, 3]));
    refuses('conv', [0, v('f32', [1, 3, 3, 3]), x(), w(), null, false, 1], win([3, 3], [0, 0]));
    refuses('conv', [0, v('f32', [1, 3, 3, 3]), x(), w(), null, false, 1], win([3, 3, 3, 3]));
    refuses('conv', [0, v('f32', [1, 3, 3, 3]), x(), w(), null, false, 1], win([3]));
    refuses('conv', [0, v('f32', [1, 3, 3, 3]), x(), w(), null, false, 0], win([3, 3]));
    refuses('conv', [0, v('f32', [1, 3, 3, 3]), x(), w(), v('f32', [2]), false, 1], win([3, 3]));
    refuses(
      'conv',
      [1, x(), v('f32', [1, 3, 3, 3]), w(), null, false, 1],
      win([3, 3], [1, 1], [0, 0], [0, 0]),
    );
    refuses('conv', [2, w(), x(), v('f32', [1, 3, 3, 2]), null, false, 1], win([3, 3]));
    // Sizes whose product wraps around 64 bits to the empty output's 0: 2^20 samples, 2^19 channels out
    // and 2^25 positions from a huge padding, over an input of stride 0.
    const huge = v('f32', [2 ** 20, 1, 2, 1], { strides: [0, 0, 0, 0], length: 1 });
    const wide = v('f32', [2 ** 19, 1, 1, 1]);
    refuses(
      'conv',
      [0, v('f32', [2 ** 20, 2 ** 19, 0, 1]), huge, wide, null, false, 1],
      win([1, 1], [1, 1], [2 ** 24 - 1, 0]),
    );
  });

  test("cell: a known kind, contiguous float operands of the state's and the gates' shapes", () => {
    const s = () => v('f32', [2, 3]);
    const g4 = () => v('f32', [2, 12]);
    call('cell', [0, v('f32', [2, 2, 3]), g4(), g4(), s()]);
    refuses('cell', [4, v('f32', [2, 2, 3]), g4(), g4(), s()]);
    refuses('cell', [0, v('f32', [2, 2, 3]), g4(), v('f32', [2, 9]), s()]);
    refuses('cell', [0, v('f32', [2, 3]), g4(), g4(), s()]);
    refuses('cell', [0, v('f32', [2, 2, 3]), g4(), v('f32', [2, 12], { strides: [1, 2] }), s()]);
    refuses('cell', [0, v('f64', [2, 2, 3]), g4(), g4(), s()]);
    refuses('cell', [0, v('i32', [2, 2, 3]), v('i32', [2, 12]), v('i32', [2, 12]), v('i32', [2, 3])]);
    refuses('cell', [1, g4(), s(), g4(), g4(), s(), v('f32', [2, 2, 3])]);
    const g3 = () => v('f32', [2, 9]);
    call('cell', [3, g3(), g3(), s(), g3(), g3(), s(), s()]);
    refuses('cell', [3, g3(), g3(), s(), g3(), g3(), s(), v('f32', [2, 4])]);
    refuses('cell', [2, s(), g4(), g4(), s()]);
  });

  test('ownGemm: a [M, K] by b [K, N] into out [M, N] with adjacent columns, biases of [N] and [M]', () => {
    const ok = () => [v('f32', [2, 4]), v('f32', [2, 3]), v('f32', [3, 4])];
    call('ownGemm', [...ok(), v('f32', [4]), v('f32', [2]), true, true]);
    call('ownGemm', [
      v('f64', [2, 4]),
      v('f64', [2, 3], { strides: [1, 2] }),
      v('f64', [3, 4]),
      null,
      null,
      false,
      false,
    ]);
    refuses('ownGemm', [v('f32', [2, 4]), v('f32', [2, 5]), v('f32', [3, 4]), null, null, false, false]);
    refuses('ownGemm', [v('f32', [2, 5]), v('f32', [2, 3]), v('f32', [3, 4]), null, null, false, false]);
    refuses('ownGemm', [
      v('f32', [2, 4], { strides: [1, 2] }),
      v('f32', [2, 3]),
      v('f32', [3, 4]),
      null,
      null,
      false,
      false,
    ]);
    refuses('ownGemm', [
      v('f32', [2, 4], { strides: [2, 1], length: 8 }),
      v('f32', [2, 3]),
      v('f32', [3, 4]),
      null,
      null,
      false,
      false,
    ]);
    refuses('ownGemm', [v('f32', [8]), v('f32', [2, 3]), v('f32', [3, 4]), null, null, false, false]);
    refuses('ownGemm', [
      v('f32', [2, 4]),
      v('f32', [2, 3]),
      v('f32', [3, 4], { length: 11 }),
      null,
      null,
      false,
      false,
    ]);
    refuses('ownGemm', [...ok(), v('f32', [3]), null, false, false]);
    refuses('ownGemm', [...ok(), null, v('f32', [4]), false, false]);
    refuses('ownGemm', [...ok(), v('f64', [4]), null, false, false]);
    refuses('ownGemm', [...ok(), v('f32', [2, 2]), null, false, false]);
    refuses('ownGemm', [v('i32', [2, 4]), v('i32', [2, 3]), v('i32', [3, 4]), null, null, false, false]);
    refuses('ownGemm', [v('f32', [2, 4]), v('f32', [2, 3]), v('f64', [3, 4]), null, null, false, false]);
  });

  test('configureGemm: strings naming a provider and a kernel, and once for the process', () => {
    assert.equal(addon.configureGemm!('', ''), '');
    assert.throws(() => addon.configureGemm!(1, ''), TypeError);
    assert.match(
      addon.configureGemm!('own', 'portable') as string,
      /^both: the GEMM was configured as provider '', kernel ''/,
    );
  });

  // openblasGemmSeconds and ownGemmSeconds start the backend, whose layout array replaces this file's.
  test("sgd, adam and blasGemm: Float32Arrays of the parameter's length, sizes to match", () => {
    const f = (n: number) => new Float32Array(n);
    addon.sgd!(f(4), f(4), null, 0.1, 0, 0, false, 0, true);
    assert.throws(() => addon.sgd!(f(4), null, null, 0.1, 0, 0, false, 0, true), TypeError);
    assert.throws(() => addon.sgd!(f(4), f(3), null, 0.1, 0, 0, false, 0, true), RangeError);
    assert.throws(() => addon.sgd!(f(4), f(4), f(2), 0.1, 0.9, 0, false, 0, false), RangeError);
    assert.throws(() => addon.sgd!(new Float64Array(4), f(4), null, 0.1, 0, 0, false, 0, true), TypeError);
    assert.throws(() => addon.sgd!(f(4), new Uint8Array(4), null, 0.1, 0, 0, false, 0, true), TypeError);
    addon.adam!(f(4), f(4), f(4), f(4), null, 1e-3, 0.9, 0.999, 1e-8, 0, false, 1);
    assert.throws(
      () => addon.adam!(f(4), f(4), null, f(4), null, 1e-3, 0.9, 0.999, 1e-8, 0, false, 1),
      TypeError,
    );
    assert.throws(
      () => addon.adam!(f(4), f(4), f(4), f(4), f(1), 1e-3, 0.9, 0.999, 1e-8, 0, false, 1),
      RangeError,
    );
    assert.throws(
      () => addon.adam!(f(4), f(4), f(4), f(4), null, 1e-3, 0.9, 0.999, 1e-8, 0, false, 0),
      RangeError,
    );
    const hasBlas = (addon.describe!() as { blas: string }).blas !== '';
    if (hasBlas) addon.blasGemm!(f(4), f(4), f(4), 2, 1, 1);
    else assert.throws(() => addon.blasGemm!(f(4), f(4), f(4), 2, 1, 1), /built without OpenBLAS/);
    assert.throws(() => addon.blasGemm!(f(4), f(4), f(4), 3, 1, 1), RangeError);
    assert.throws(() => addon.blasGemm!(f(4), f(4), f(4), -2, 1, 1), RangeError);
    assert.throws(() => addon.blasGemm!(f(4), f(4), f(4), 2, 1, 0), RangeError);
    assert.throws(() => openblasGemmSeconds(f(4), f(4), 3, 1, 1), StrataError);
    assert.throws(() => openblasGemmSeconds(f(4), f(4), 2, 1, 0), StrataError);
    const seconds = openblasGemmSeconds(f(9), f(9), 3, 1, 1);
    assert.ok(hasBlas ? seconds! >= 0 : seconds === null);
    addon.ownGemmSeconds!(f(4), f(4), f(4), 2, 1);
    assert.throws(() => addon.ownGemmSeconds!(f(4), f(4), f(4), 3, 1), RangeError);
    assert.throws(() => addon.ownGemmSeconds!(f(4), f(4), null, 2, 1), TypeError);
    assert.throws(() => addon.ownGemmSeconds!(f(4), f(4), f(4), 2, -1), RangeError);
    assert.throws(() => ownGemmSeconds(f(4), f(4), 3, 1), StrataError);
    assert.ok(ownGemmSeconds(f(9), f(9), 3, 1) >= 0);
  });

  test('the backend refuses a layout that int32 cannot hold rather than wrap it to another', () => {
    const be = createNativeBackend(); // its own layout array, from here on
    const view = (offset: number) => ({ data: new Float32Array(128), shape: [64], strides: [1], offset });
    be.copy(view(0), view(1));
    assert.throws(() => be.copy(view(0), view(2 ** 32 + 1)), StrataError);
    const m = () => v('f32', [1, 1]);
    assert.throws(() => be.matmul(m(), m(), { ...m(), strides: [2 ** 32, 1] }), StrataError);
    be.matmul(m(), m(), m());
  });
});
