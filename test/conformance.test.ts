/**
 * The backend conformance suite. Every registered backend runs every kernel on the same views as the
 * reference `js` backend (random values, every dtype the ops layer uses, broadcast and strided
 * layouts, edge shapes, NaN and infinities) and must agree with it; then it must reproduce values
 * worked out by hand, so the reference itself is checked too; then the op table's forward and
 * backward must match the reference's. A backend registered later is picked up with no change here.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Window } from '../src/backend/backend.js';
import {
  type ArgReduceOp,
  BINARY_OPS,
  type BinaryOp,
  type Kernels,
  type ReduceOp,
  UNARY_OPS,
  type UnaryOp,
} from '../src/backend/backend.js';
import { jsBackend } from '../src/backend/js/index.js';
import { runNativeAtEverySize } from '../src/backend/native/index.js';
import {
  type Backend,
  backendNames,
  type DType,
  getBackend,
  grad,
  noGrad,
  type Shape,
  setBackend,
  Tensor,
  type View,
} from '../src/index.js';
import { adamUpdate, sgdUpdate } from '../src/optim/updates.js';
import { contiguousStrides } from '../src/tensor/shape.js';
import { hashSeed, makeRng, viewPositions } from './gradcheck.js';
import { dtypeOf, OP_TABLE, type OpRow, rowName, sampleInputs } from './optable.js';

type Layout = 'contiguous' | 'transposed' | 'stepped' | 'offset' | 'broadcastOuter' | 'broadcastInner';
const LAYOUTS: readonly Layout[] = [
  'contiguous',
  'transposed',
  'stepped',
  'offset',
  'broadcastOuter',
  'broadcastInner',
];
const ARRAYS = { float32: Float32Array, float64: Float64Array, int32: Int32Array } as const;
const FLOATS = ['float32', 'float64'] as const;
/** Shapes that miss every vector width, plus the degenerate ones. */
const EDGE_SHAPES: readonly Shape[] = [
  [],
  [0],
  [1],
  [7],
  [17],
  [33],
  [1023],
  [3, 0, 2],
  [5, 7],
  [2, 3, 4],
  [3, 1, 5],
  [9, 11],
  [3, 5, 7],
];
const LARGE = 1 << 16;
/** Values that break careless kernels, written at the start of float inputs. */
const SPECIALS = [Number.NaN, Infinity, -Infinity, 0, -0, 1, -1, 1e-8, 50, -50, 0.5, -0.5];

const sizeOf = (shape: Shape) => shape.reduce((a, b) => a * b, 1);

/**
 * A view of `shape` in a layout, its elements (row-major) set from `fill`; storage the view does not
 * cover holds NaN (or a sentinel integer), so reading past the view shows up in the result.
 */
function makeView(dtype: DType, shape: Shape, layout: Layout, fill: (i: number) => number): View {
  const rank = shape.length;
  let strides: number[];
  let offset = 0;
  switch (layout) {
    case 'contiguous':
      strides = contiguousStrides(shape);
      break;
    case 'transposed':
      strides = contiguousStrides([...shape].reverse()).reverse();
      break;
    case 'stepped':
      strides = contiguousStrides(shape.map((d) => 2 * d)).map((s) => 2 * s);
      offset = 1;
      break;
    case 'offset':
      strides = contiguousStrides(shape);
      offset = 5;
      break;
    case 'broadcastOuter':
      strides = contiguousStrides(shape).map((s, i) => (i === 0 ? 0 : s));
      break;
    case 'broadcastInner':
      strides = contiguousStrides(shape).map((s, i) => (i === rank - 1 ? 0 : s));
      break;
  }
  let extent = offset + 1;
  shape.forEach((d, i) => {
    extent += Math.max(0, d - 1) * strides[i]!;
  });
  if (sizeOf(shape) === 0) extent = offset + 1;
  const data = new ARRAYS[dtype](extent + 3);
  data.fill(dtype === 'int32' ? 0x7eadbeef : Number.NaN);
  const view: View = { data, shape, strides, offset };
  // With stride 0, several elements share a position: the last write wins, consistently for all.
  viewPositions(view).forEach((p, e) => {
    data[p] = fill(e);
  });
  return view;
}

function randomFill(dtype: DType, seed: number, specials = true, lo = -3, hi = 3): (i: number) => number {
  const rng = makeRng(seed);
  return (i) => {
    if (specials && dtype !== 'int32' && i < 2 * SPECIALS.length && i % 2 === 0) return SPECIALS[i / 2]!;
    const v = lo + (hi - lo) * rng();
    return dtype === 'int32' ? Math.floor(v) : v;
  };
}

function contiguousOut(dtype: DType, shape: Shape): View {
  return { data: new ARRAYS[dtype](sizeOf(shape)), shape, strides: contiguousStrides(shape), offset: 0 };
}

/** Windows over 1, 2 and 3 spatial axes with strides, padding (at most half the kernel, as pooling needs) and dilation. */
const WINDOW_CASES: readonly [Shape, Window][] = [
  [[2, 3, 9], { kernel: [3], stride: [2], padding: [1], dilation: [1] }],
  [[2, 3, 7, 6], { kernel: [3, 2], stride: [1, 2], padding: [1, 0], dilation: [2, 1] }],
  [[1, 2, 5, 5], { kernel: [5, 5], stride: [1, 1], padding: [2, 2], dilation: [1, 1] }],
  [[3, 4, 11, 13], { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] }],
  [[1, 2, 4, 5, 3], { kernel: [2, 3, 2], stride: [1, 2, 1], padding: [1, 1, 0], dilation: [1, 1, 2] }],
];

/** Relative tolerance against the reference for results rounded once (or a few times) in a dtype. */
const RTOL: Record<DType, number> = { float32: 1e-5, float64: 1e-12, int32: 0 };

/**
 * Asserts got matches ref element by element: NaN where ref is NaN, infinities exactly, otherwise
 * within rtol * (|ref| + scale[i]), where scale carries the size of terms a sum cancelled.
 */
function assertClose(
  got: ArrayLike<number>,
  ref: ArrayLike<number>,
  rtol: number,
  what: string,
  scale?: ArrayLike<number>,
): void {
  assert.equal(got.length, ref.length, `${what}: lengths differ`);
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i]!;
    const g = got[i]!;
    if (Number.isNaN(r)) {
      assert.ok(Number.isNaN(g), `${what}: element ${i} is ${g}, expected NaN`);
      continue;
    }
    if (!Number.isFinite(r) || rtol === 0) {
      assert.ok(g === r, `${what}: element ${i} is ${g}, expected ${r}`);
      continue;
    }
    const tol = rtol * (Math.abs(r) + (scale?.[i] ?? 1e-30));
    assert.ok(Math.abs(g - r) <= tol, `${what}: element ${i} is ${g}, expected ${r} (tolerance ${tol})`);
  }
}

/** Runs a kernel call on a backend and on the reference, each with fresh outputs, and compares them. */
function agree(
  be: Backend,
  what: string,
  run: (k: Kernels) => View,
  rtol: number,
  scale?: (k: Kernels) => ArrayLike<number>,
): void {
  const ref = run(jsBackend).data;
  const got = run(be).data;
  assertClose(got, ref, rtol, `${what} (${be.name} against js)`, scale?.(jsBackend));
}

/** |x| as a new contiguous float64 view (for tolerance scales). */
function absView(k: Kernels, x: View): View {
  const out = contiguousOut('float64', x.shape);
  const xf = contiguousOut('float64', x.shape);
  k.copy(xf, x);
  k.unary('abs', out, xf);
  return out;
}

function reducedShape(shape: Shape, axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

const fmt = (s: Shape) => `[${s.join(', ')}]`;

/** Whether a backend loads here (and why not), and which optional fused kernels it brings. */
function probe(name: string): { unavailable: string | null; fused: string[] } {
  const before = getBackend().name;
  try {
    return { unavailable: null, fused: Object.keys(setBackend(name).fused ?? {}) };
  } catch (e) {
    return { unavailable: (e as Error).message, fused: [] };
  } finally {
    setBackend(before);
  }
}

/**
 * Each check runs one kernel over many cases on a backend and on the reference, and compares them.
 */
const AGREEMENT: Record<string, (b: Backend) => void> = {
  'copy: every dtype, layout and edge shape': (b) => {
    for (const dtype of ['float32', 'float64', 'int32'] as const) {
      for (const shape of EDGE_SHAPES) {
        for (const layout of LAYOUTS) {
          const x = makeView(dtype, shape, layout, randomFill(dtype, hashSeed(`${dtype}${shape}${layout}`)));
          agree(
            b,
            `copy ${dtype} ${fmt(shape)} ${layout}`,
            (k) => {
              const out = contiguousOut(dtype, shape);
              k.copy(out, x);
              return out;
            },
            0,
          );
        }
      }
    }
  },

  'copy: dtype conversions (float to int truncates)': (b) => {
    for (const from of ['float32', 'float64', 'int32'] as const) {
      for (const to of ['float32', 'float64', 'int32'] as const) {
        for (const layout of ['contiguous', 'transposed', 'stepped'] as const) {
          const x = makeView(from, [9, 11], layout, randomFill(from, 7, false, -100, 100));
          agree(
            b,
            `copy ${from} to ${to} ${layout}`,
            (k) => {
              const out = contiguousOut(to, [9, 11]);
              k.copy(out, x);
              return out;
            },
            0,
          );
        }
      }
    }
  },

  'copy: into strided outputs, and a large transpose': (b) => {
    for (const outLayout of ['transposed', 'stepped', 'offset'] as const) {
      for (const shape of [[5, 7], [2, 3, 4], [17], [9, 11]] as Shape[]) {
        const x = makeView('float32', shape, 'contiguous', randomFill('float32', 3));
        agree(
          b,
          `copy into ${outLayout} ${fmt(shape)}`,
          (k) => {
            const out = makeView('float32', shape, outLayout, () => 0);
            k.copy(out, x);
            return out;
          },
          0,
        );
      }
    }
    const big = makeView('float32', [256, 256], 'transposed', randomFill('float32', 5));
    agree(
      b,
      'copy 256x256 transposed',
      (k) => {
        const out = contiguousOut('float32', [256, 256]);
        k.copy(out, big);
        return out;
      },
      0,
    );
  },

  'unary: every op, float32 and float64, every layout and edge shape': (b) => {
    for (const op of UNARY_OPS) {
      for (const dtype of FLOATS) {
        for (const shape of EDGE_SHAPES) {
          for (const layout of LAYOUTS) {
            const x = makeView(dtype, shape, layout, randomFill(dtype, hashSeed(`${op}${shape}${layout}`)));
            agree(
              b,
              `unary ${op} ${dtype} ${fmt(shape)} ${layout}`,
              (k) => {
                const out = contiguousOut(dtype, shape);
                k.unary(op, out, x);
                return out;
              },
              RTOL[dtype],
            );
          }
        }
      }
    }
  },

  'unary: int32 ops that keep integers': (b) => {
    for (const op of ['neg', 'abs', 'sign', 'relu'] as const) {
      for (const layout of LAYOUTS) {
        const x = makeView('int32', [9, 11], layout, randomFill('int32', 11, false, -20, 20));
        agree(
          b,
          `unary ${op} int32 ${layout}`,
          (k) => {
            const out = contiguousOut('int32', [9, 11]);
            k.unary(op, out, x);
            return out;
          },
          0,
        );
      }
    }
  },

  'unary: large inputs': (b) => {
    for (const op of ['exp', 'sigmoid', 'tanh'] as const) {
      const x = makeView('float32', [LARGE], 'stepped', randomFill('float32', 13));
      agree(
        b,
        `unary ${op} large`,
        (k) => {
          const out = contiguousOut('float32', [LARGE]);
          k.unary(op, out, x);
          return out;
        },
        RTOL.float32,
      );
    }
  },

  'binary: every op, float32 and float64, strided and broadcast operands': (b) => {
    for (const op of BINARY_OPS) {
      const comparison = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'].includes(op);
      for (const dtype of FLOATS) {
        for (const shape of EDGE_SHAPES) {
          for (const [la, lb] of [
            ['contiguous', 'contiguous'],
            ['transposed', 'stepped'],
            ['offset', 'broadcastOuter'],
            ['broadcastInner', 'contiguous'],
            ['broadcastOuter', 'broadcastInner'],
          ] as const) {
            const seed = hashSeed(`${op}${dtype}${shape}${la}${lb}`);
            const a = makeView(dtype, shape, la, randomFill(dtype, seed));
            // Shift b's specials by one so that NaN and infinities meet ordinary values too.
            const fb = randomFill(dtype, seed + 1);
            const bv = makeView(dtype, shape, lb, (i) => (i < 2 ? 2 : fb(i - 1)));
            agree(
              b,
              `binary ${op} ${dtype} ${fmt(shape)} ${la} ${lb}`,
              (k) => {
                const out = contiguousOut(comparison ? 'int32' : dtype, shape);
                k.binary(op, out, a, bv);
                return out;
              },
              comparison ? 0 : RTOL[dtype],
            );
          }
        }
      }
    }
  },

  'binary: int32 (division is never asked of integers: the ops layer promotes it)': (b) => {
    for (const op of BINARY_OPS) {
      if (op === 'div') continue;
      for (const layout of ['contiguous', 'transposed', 'broadcastOuter'] as const) {
        const a = makeView('int32', [9, 11], layout, randomFill('int32', 17, false, -6, 6));
        const exps = op === 'pow';
        const bv = makeView(
          'int32',
          [9, 11],
          'stepped',
          randomFill('int32', 19, false, exps ? 0 : -6, exps ? 4 : 6),
        );
        agree(
          b,
          `binary ${op} int32 ${layout}`,
          (k) => {
            const out = contiguousOut('int32', [9, 11]);
            k.binary(op, out, a, bv);
            return out;
          },
          0,
        );
      }
    }
  },

  'binary: large broadcast': (b) => {
    const a = makeView('float32', [256, 256], 'broadcastOuter', randomFill('float32', 23));
    const bv = makeView('float32', [256, 256], 'transposed', randomFill('float32', 29));
    for (const op of ['add', 'mul', 'maximum', 'lt'] as const) {
      agree(
        b,
        `binary ${op} large`,
        (k) => {
          const out = contiguousOut(op === 'lt' ? 'int32' : 'float32', [256, 256]);
          k.binary(op, out, a, bv);
          return out;
        },
        op === 'lt' ? 0 : RTOL.float32,
      );
    }
  },

  'where: every dtype, conditions of any dtype, broadcast operands': (b) => {
    for (const dtype of ['float32', 'float64', 'int32'] as const) {
      for (const condType of ['int32', 'float32', 'float64'] as const) {
        for (const shape of [[], [1], [17], [5, 7], [2, 3, 4], [0, 3], [9, 11], [3, 5, 7]] as Shape[]) {
          const rng = makeRng(hashSeed(`${dtype}${condType}${shape}`));
          const cond = makeView(condType, shape, 'transposed', (i) =>
            i === 1 && condType !== 'int32' ? Number.NaN : rng() < 0.5 ? 0 : 1,
          );
          const a = makeView(dtype, shape, 'broadcastOuter', randomFill(dtype, 31));
          const bv = makeView(dtype, shape, 'stepped', randomFill(dtype, 37));
          agree(
            b,
            `where ${dtype} cond ${condType} ${fmt(shape)}`,
            (k) => {
              const out = contiguousOut(dtype, shape);
              k.where(out, cond, a, bv);
              return out;
            },
            0,
          );
        }
      }
    }
  },

  'reduce: sum, max, min over every axis set, dtype and layout': (b) => {
    const cases: [Shape, number[][]][] = [
      [[], [[]]],
      [[1], [[0]]],
      [[1023], [[0], []]],
      [
        [5, 7],
        [[0], [1], [0, 1]],
      ],
      [
        [2, 3, 4],
        [[0], [1], [2], [0, 2], [1, 2], [0, 1, 2]],
      ],
      [
        [3, 1, 5],
        [[1], [0, 2]],
      ],
      [
        [9, 11],
        [[0], [1], [0, 1]],
      ],
      [
        [3, 5, 7],
        [[0], [2], [0, 2], [1, 2]],
      ],
    ];
    for (const op of ['sum', 'max', 'min'] as const) {
      for (const dtype of ['float32', 'float64', 'int32'] as const) {
        for (const [shape, axesList] of cases) {
          for (const layout of LAYOUTS) {
            const x = makeView(dtype, shape, layout, randomFill(dtype, hashSeed(`${op}${shape}${layout}`)));
            for (const axes of axesList) {
              const outShape = reducedShape(shape, axes);
              const what = `reduce ${op} ${dtype} ${fmt(shape)} axes ${fmt(axes)} ${layout}`;
              agree(
                b,
                what,
                (k) => {
                  const out = contiguousOut(dtype, outShape);
                  k.reduce(op, out, x, axes);
                  return out;
                },
                op === 'sum' ? RTOL[dtype] : 0,
                (k) => {
                  const s = contiguousOut('float64', outShape);
                  k.reduce('sum', s, absView(k, x), axes);
                  return s.data;
                },
              );
            }
          }
        }
      }
    }
  },

  'reduce: empty axes sum to zero, and a large sum': (b) => {
    for (const dtype of FLOATS) {
      const x = makeView(dtype, [3, 0, 2], 'contiguous', () => 1);
      for (const axes of [[1], [0, 1, 2]]) {
        agree(
          b,
          `sum of empty ${dtype} ${fmt(axes)}`,
          (k) => {
            const out = contiguousOut(dtype, reducedShape([3, 0, 2], axes));
            k.reduce('sum', out, x, axes);
            return out;
          },
          0,
        );
      }
      const big = makeView(dtype, [LARGE], 'stepped', randomFill(dtype, 41, false));
      agree(
        b,
        `sum of ${LARGE} ${dtype}`,
        (k) => {
          const out = contiguousOut(dtype, [1]);
          k.reduce('sum', out, big, [0]);
          return out;
        },
        RTOL[dtype],
        (k) => {
          const s = contiguousOut('float64', [1]);
          k.reduce('sum', s, absView(k, big), [0]);
          return s.data;
        },
      );
      const rows = makeView(dtype, [256, 256], 'transposed', randomFill(dtype, 43, false));
      for (const op of ['max', 'min'] as const) {
        agree(
          b,
          `${op} of 256x256 ${dtype}`,
          (k) => {
            const out = contiguousOut(dtype, [256, 1]);
            k.reduce(op, out, rows, [1]);
            return out;
          },
          0,
        );
      }
    }
  },

  'argReduce: every axis, dtype and layout, with ties and NaN': (b) => {
    for (const op of ['argmax', 'argmin'] as const) {
      for (const dtype of ['float32', 'float64', 'int32'] as const) {
        for (const shape of [[1], [7], [1023], [5, 7], [2, 3, 4], [9, 11], [3, 5, 7]] as Shape[]) {
          for (const layout of LAYOUTS) {
            // Few distinct values, so ties are common; NaN in a few places for floats.
            const rng = makeRng(hashSeed(`${op}${dtype}${shape}${layout}`));
            const x = makeView(dtype, shape, layout, (i) =>
              dtype !== 'int32' && i % 11 === 5 ? Number.NaN : Math.floor(rng() * 4),
            );
            shape.forEach((_, axis) => {
              agree(
                b,
                `${op} ${dtype} ${fmt(shape)} axis ${axis} ${layout}`,
                (k) => {
                  const out = contiguousOut('int32', reducedShape(shape, [axis]));
                  k.argReduce(op, out, x, axis);
                  return out;
                },
                0,
              );
            });
          }
        }
      }
    }
  },

  'matmul: every transpose combination, strided and broadcast batches, edge sizes': (b) => {
    const sizes: [number, number, number][] = [
      [1, 1, 1],
      [2, 3, 4],
      [17, 33, 7],
      [1, 7, 1],
      [5, 0, 3],
      [0, 4, 3],
      [3, 4, 0],
      [33, 17, 65],
    ];
    const batches: [Shape, Layout][] = [
      [[], 'contiguous'],
      [[3], 'contiguous'],
      [[2, 3], 'broadcastOuter'],
    ];
    for (const dtype of ['float32', 'float64', 'int32'] as const) {
      for (const [M, K, N] of sizes) {
        for (const [batch, batchLayout] of batches) {
          for (const ta of [false, true]) {
            for (const tb of [false, true]) {
              const operand = (rows: number, cols: number, t: boolean, seed: number): View => {
                // A transposed operand is stored [cols, rows] and viewed back; batches may be broadcast.
                const shape = [...batch, rows, cols];
                const layout: Layout = t
                  ? 'transposed'
                  : batchLayout === 'contiguous'
                    ? 'offset'
                    : batchLayout;
                // No NaN here: matmul's NaN rules are asserted on their own below.
                return makeView(dtype, shape, layout, randomFill(dtype, seed, false, -4, 4));
              };
              const a = operand(M, K, ta, hashSeed(`a${M}${K}${N}${batch}${ta}${tb}`));
              const bm = operand(K, N, tb, hashSeed(`b${M}${K}${N}${batch}${ta}${tb}`));
              const outShape = [...batch, M, N];
              const what = `matmul ${dtype} batch ${fmt(batch)} ${M}x${K}x${N} ${ta ? 'aT' : 'a'} ${tb ? 'bT' : 'b'}`;
              agree(
                b,
                what,
                (k) => {
                  const out = contiguousOut(dtype, outShape);
                  k.matmul(out, a, bm);
                  return out;
                },
                RTOL[dtype],
                (k) => {
                  const s = contiguousOut('float64', outShape);
                  k.matmul(s, absView(k, a), absView(k, bm));
                  return s.data;
                },
              );
            }
          }
        }
      }
    }
  },

  'unfold and fold: 1, 2 and 3 spatial axes, stride, padding, dilation, strided inputs': (b) => {
    const windows = WINDOW_CASES;
    for (const dtype of ['float32', 'float64', 'int32'] as const) {
      for (const [shape, w] of windows) {
        const count = (i: number) =>
          Math.floor(
            (shape[i + 2]! + 2 * w.padding[i]! - w.dilation[i]! * (w.kernel[i]! - 1) - 1) / w.stride[i]!,
          ) + 1;
        const taps = w.kernel.reduce((a, v) => a * v, 1);
        const positions = w.kernel.reduce((a, _, i) => a * count(i), 1);
        const colsShape = [shape[0]!, shape[1]!, taps, positions];
        for (const layout of ['contiguous', 'transposed', 'stepped'] as const) {
          const seed = hashSeed(`unfold${dtype}${shape}${layout}`);
          const x = makeView(dtype, shape, layout, randomFill(dtype, seed, false));
          for (const padValue of dtype === 'int32' ? [0] : [0, -Infinity]) {
            agree(
              b,
              `unfold ${dtype} ${fmt(shape)} ${layout} pad ${padValue}`,
              (k) => {
                const out = contiguousOut(dtype, colsShape);
                k.unfold(out, x, w, padValue);
                return out;
              },
              0,
            );
          }
          const cols = makeView(dtype, colsShape, 'contiguous', randomFill(dtype, seed + 1, false));
          agree(
            b,
            `fold ${dtype} ${fmt(shape)}`,
            (k) => {
              const out = contiguousOut(dtype, shape);
              k.fold(out, cols, w);
              return out;
            },
            dtype === 'float32' ? 1e-6 : 1e-12,
          );
        }
      }
    }
  },

  'maxPool: 1, 2 and 3 spatial axes, stride, padding, dilation, ties, NaN, strided inputs': (b) => {
    const windows = WINDOW_CASES;
    for (const dtype of ['float32', 'float64', 'int32'] as const) {
      for (const [shape, w] of windows) {
        const outShape = [
          shape[0]!,
          shape[1]!,
          ...w.kernel.map(
            (k, i) =>
              Math.floor((shape[i + 2]! + 2 * w.padding[i]! - w.dilation[i]! * (k - 1) - 1) / w.stride[i]!) +
              1,
          ),
        ];
        for (const layout of ['contiguous', 'transposed', 'stepped'] as const) {
          // A range of four values makes ties common; the float inputs start with NaN and infinities.
          const x = makeView(
            dtype,
            shape,
            layout,
            randomFill(dtype, hashSeed(`maxPool${dtype}${shape}${layout}`), true, 0, 4),
          );
          for (const part of ['values', 'argmax'] as const) {
            agree(
              b,
              `maxPool ${part} ${dtype} ${fmt(shape)} ${layout}`,
              (k) => {
                const out = contiguousOut(dtype, outShape);
                const argmax = contiguousOut('int32', outShape);
                k.maxPool(out, argmax, x, w);
                return part === 'values' ? out : argmax;
              },
              0,
            );
          }
        }
      }
    }
  },

  'gather and scatterAdd: every axis, dtype and layout, repeated indices': (b) => {
    for (const dtype of ['float32', 'float64', 'int32'] as const) {
      for (const [xShape, idxShape] of [
        [[7], [5]],
        [
          [4, 5],
          [3, 5],
        ],
        [
          [3, 4, 5],
          [2, 3, 5],
        ],
        [
          [4, 5],
          [0, 5],
        ],
        [
          [9, 13],
          [8, 13],
        ],
        [
          [4, 6, 7],
          [3, 6, 7],
        ],
      ] as [Shape, Shape][]) {
        xShape.forEach((_, axis) => {
          // The index may be longer than x along `axis`, and no larger elsewhere.
          const ishape = idxShape.map((d, i) => (i === axis ? d + 2 : Math.min(d, xShape[i]!)));
          for (const layout of ['contiguous', 'transposed', 'stepped'] as const) {
            const seed = hashSeed(`${dtype}${xShape}${axis}${layout}`);
            const rng = makeRng(seed);
            const index = makeView('int32', ishape, layout, () => Math.floor(rng() * xShape[axis]!));
            const x = makeView(dtype, xShape, layout, randomFill(dtype, seed + 1, false));
            agree(
              b,
              `gather ${dtype} ${fmt(xShape)} axis ${axis} ${layout}`,
              (k) => {
                const out = contiguousOut(dtype, ishape);
                k.gather(out, x, axis, index);
                return out;
              },
              0,
            );
            const src = makeView(dtype, ishape, layout, randomFill(dtype, seed + 2, false));
            const fillStart = randomFill(dtype, seed + 3, false);
            const start = Array.from({ length: sizeOf(xShape) }, (_, i) => fillStart(i));
            agree(
              b,
              `scatterAdd ${dtype} ${fmt(xShape)} axis ${axis} ${layout}`,
              (k) => {
                const out = makeView(dtype, xShape, 'contiguous', (i) => start[i]!);
                k.scatterAdd(out, axis, index, src);
                return out;
              },
              RTOL[dtype],
              () => Array.from({ length: sizeOf(xShape) }, () => 30),
            );
          }
        });
      }
    }
  },
};

/** The agreement checks that exercise each kernel: a kernel added to Kernels fails tsc here until it has one. */
const CHECKED_BY: { [K in keyof Kernels]: readonly string[] } = {
  copy: ['copy: every dtype', 'copy: dtype conversions', 'copy: into strided outputs'],
  unary: ['unary: every op', 'unary: int32', 'unary: large'],
  binary: ['binary: every op', 'binary: int32', 'binary: large'],
  where: ['where:'],
  reduce: ['reduce: sum, max, min', 'reduce: empty axes'],
  argReduce: ['argReduce:'],
  matmul: ['matmul:'],
  gather: ['gather and scatterAdd'],
  scatterAdd: ['gather and scatterAdd'],
  unfold: ['unfold and fold'],
  fold: ['unfold and fold'],
  maxPool: ['maxPool:'],
};

test('every kernel has agreement checks', () => {
  for (const [kernel, prefixes] of Object.entries(CHECKED_BY)) {
    for (const prefix of prefixes) {
      assert.ok(
        Object.keys(AGREEMENT).some((t) => t.startsWith(prefix)),
        `${kernel}: no check titled '${prefix}...'`,
      );
    }
  }
});

const original = getBackend().name;
// The native backend sends small ops to the js kernels; here it must run its own at every size, or
// most cases would compare the reference with itself.
runNativeAtEverySize(true);
after(() => {
  runNativeAtEverySize(false);
  setBackend(original);
});

// A backend that cannot load here (the native addon unbuilt) has nothing to check; say so and go on.
for (const name of backendNames()) {
  const { unavailable, fused } = probe(name);
  if (unavailable) {
    console.log(`# backend ${name} is not available here: ${unavailable}`);
    continue;
  }
  describe(`backend ${name}`, () => {
    const be = (): Backend => setBackend(name);

    describe('agrees with the reference', () => {
      for (const [title, check] of Object.entries(AGREEMENT)) test(title, () => check(be()));
    });

    describe('reproduces values worked out by hand', () => {
      const f64 = (values: number[], shape: Shape, dtype: DType = 'float64'): View => ({
        data: ARRAYS[dtype].from(values),
        shape,
        strides: contiguousStrides(shape),
        offset: 0,
      });
      const run = (fn: (k: Kernels) => View): number[] => Array.from(fn(be()).data);

      test('copy: strided read and float to int truncation', () => {
        const x: View = { data: Float64Array.from([1, 2, 3, 4]), shape: [2, 2], strides: [1, 2], offset: 0 };
        assert.deepEqual(
          run((k) => {
            const out = contiguousOut('float64', [2, 2]);
            k.copy(out, x);
            return out;
          }),
          [1, 3, 2, 4],
        );
        assert.deepEqual(
          run((k) => {
            const out = contiguousOut('int32', [4]);
            k.copy(out, f64([1.7, -1.7, 2.5, -0.5], [4]));
            return out;
          }),
          [1, -1, 2, 0],
        );
      });

      test('unary: known values', () => {
        const x = f64([0, 1, -1, 4], [4]);
        const u = (op: UnaryOp) =>
          run((k) => {
            const out = contiguousOut('float64', [4]);
            k.unary(op, out, x);
            return out;
          });
        assert.deepEqual(u('sigmoid').slice(0, 1), [0.5]);
        assert.deepEqual(u('relu'), [0, 1, 0, 4]);
        assert.deepEqual(u('sign'), [0, 1, -1, 1]);
        assert.deepEqual(u('sqrt').slice(3), [2]);
        const erf1 = u('erf')[1]!;
        assert.ok(Math.abs(erf1 - 0.8427007929497149) < 1e-15, `erf(1) = ${erf1}`);
        assert.ok(Math.abs(u('erf')[2]! + 0.8427007929497149) < 1e-15);
      });

      test('binary: broadcast operands with stride 0', () => {
        const a: View = { data: Float64Array.from([1, 2]), shape: [2, 3], strides: [1, 0], offset: 0 };
        const b: View = { data: Float64Array.from([10, 20, 30]), shape: [2, 3], strides: [0, 1], offset: 0 };
        assert.deepEqual(
          run((k) => {
            const out = contiguousOut('float64', [2, 3]);
            k.binary('add', out, a, b);
            return out;
          }),
          [11, 21, 31, 12, 22, 32],
        );
      });

      test('where: picks a where the condition is non-zero', () => {
        assert.deepEqual(
          run((k) => {
            const out = contiguousOut('float64', [3]);
            k.where(out, f64([1, 0, -2], [3], 'int32'), f64([1, 2, 3], [3]), f64([4, 5, 6], [3]));
            return out;
          }),
          [1, 5, 3],
        );
      });

      test('reduce: sums and extremes of a known array', () => {
        const x = f64([1, 2, 3, 4, 5, 6], [2, 3]);
        const r = (op: ReduceOp, axes: number[]) =>
          run((k) => {
            const out = contiguousOut('float64', reducedShape([2, 3], axes));
            k.reduce(op, out, x, axes);
            return out;
          });
        assert.deepEqual(r('sum', [1]), [6, 15]);
        assert.deepEqual(r('sum', [0]), [5, 7, 9]);
        assert.deepEqual(r('sum', [0, 1]), [21]);
        assert.deepEqual(r('max', [1]), [3, 6]);
        assert.deepEqual(r('min', [0]), [1, 2, 3]);
      });

      test('argReduce: ties pick the first index', () => {
        const a = (op: ArgReduceOp, values: number[]) =>
          run((k) => {
            const out = contiguousOut('int32', [2, 1]);
            k.argReduce(op, out, f64(values, [2, 3]), 1);
            return out;
          });
        assert.deepEqual(a('argmax', [1, 3, 3, 2, 2, 1]), [1, 0]);
        assert.deepEqual(a('argmin', [1, 3, 1, 2, 1, 1]), [0, 1]);
      });

      test('matmul: 2x3 by 3x2, also with b transposed', () => {
        const a = f64([1, 2, 3, 4, 5, 6], [2, 3]);
        const expected = [58, 64, 139, 154];
        assert.deepEqual(
          run((k) => {
            const out = contiguousOut('float64', [2, 2]);
            k.matmul(out, a, f64([7, 8, 9, 10, 11, 12], [3, 2]));
            return out;
          }),
          expected,
        );
        const bT: View = {
          data: Float64Array.from([7, 9, 11, 8, 10, 12]),
          shape: [3, 2],
          strides: [1, 3],
          offset: 0,
        };
        assert.deepEqual(
          run((k) => {
            const out = contiguousOut('float64', [2, 2]);
            k.matmul(out, a, bT);
            return out;
          }),
          expected,
        );
      });

      test('gather and scatterAdd: small known cases', () => {
        assert.deepEqual(
          run((k) => {
            const out = contiguousOut('float64', [2, 2]);
            k.gather(out, f64([1, 2, 3, 4], [2, 2]), 1, f64([0, 0, 1, 0], [2, 2], 'int32'));
            return out;
          }),
          [1, 1, 4, 3],
        );
        assert.deepEqual(
          run((k) => {
            const out = contiguousOut('float64', [3]);
            k.scatterAdd(out, 0, f64([0, 2, 0], [3], 'int32'), f64([1, 2, 3], [3]));
            return out;
          }),
          [4, 0, 2],
        );
        assert.deepEqual(
          run((k) => {
            const out = contiguousOut('float64', [2, 3]);
            k.scatterAdd(out, 1, f64([0, 0, 2, 1], [2, 2], 'int32'), f64([1, 2, 3, 4], [2, 2]));
            return out;
          }),
          [3, 0, 0, 0, 4, 3],
        );
      });
    });

    describe('propagates NaN and infinities', () => {
      const NaN_ = Number.NaN;
      /**
       * The values, then `fill` up to n elements: each rule is checked at its own small size and at a
       * size above any small-input fallback a backend may have.
       */
      const vec = (values: number[], n: number, fill: number): View => {
        const data = new Float64Array(Math.max(n, values.length)).fill(fill);
        data.set(values);
        return { data, shape: [data.length], strides: [1], offset: 0 };
      };
      const SIZES = [0, 100];

      test('unary: NaN in gives NaN out; limits at the infinities', () => {
        const k = be();
        const expected: Record<UnaryOp, [number, number]> = {
          neg: [-Infinity, Infinity],
          exp: [Infinity, 0],
          log: [Infinity, NaN_],
          sqrt: [Infinity, NaN_],
          abs: [Infinity, Infinity],
          sign: [1, -1],
          sin: [NaN_, NaN_],
          cos: [NaN_, NaN_],
          tanh: [1, -1],
          sigmoid: [1, 0],
          relu: [Infinity, 0],
          erf: [1, -1],
          log1p: [Infinity, NaN_],
        };
        for (const n of SIZES) {
          const x = vec([NaN_, Infinity, -Infinity], n, 0.5);
          for (const op of UNARY_OPS) {
            const out = contiguousOut('float64', x.shape);
            k.unary(op, out, x);
            assertClose(
              Array.from(out.data.subarray(0, 3)),
              [NaN_, ...expected[op]],
              0,
              `unary ${op} (n = ${n})`,
            );
          }
        }
      });

      test('binary: NaN on either side gives NaN; comparisons with NaN are false', () => {
        const k = be();
        const expected: Record<BinaryOp, number[]> = {
          add: [NaN_, NaN_, Infinity, Infinity, 0, 1],
          sub: [NaN_, NaN_, NaN_, Infinity, 0, 1],
          mul: [NaN_, NaN_, Infinity, NaN_, 0, -0],
          div: [NaN_, NaN_, NaN_, Infinity, NaN_, -Infinity],
          pow: [NaN_, NaN_, Infinity, 1, 1, 1],
          maximum: [NaN_, NaN_, Infinity, Infinity, 0, 1],
          minimum: [NaN_, NaN_, Infinity, 0, 0, -0],
          eq: [0, 0, 1, 0, 1, 0],
          ne: [1, 1, 0, 1, 0, 1],
          lt: [0, 0, 0, 0, 0, 0],
          le: [0, 0, 1, 0, 1, 0],
          gt: [0, 0, 0, 1, 0, 1],
          ge: [0, 0, 1, 1, 1, 1],
        };
        for (const n of SIZES) {
          // (2, NaN) rather than (1, NaN): C's pow(1, NaN) is 1, JavaScript's is NaN; neither is asserted.
          const a = vec([NaN_, 2, Infinity, Infinity, 0, 1], n, 1);
          const b = vec([1, NaN_, Infinity, 0, 0, -0], n, 1);
          for (const op of BINARY_OPS) {
            const comparison = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'].includes(op);
            const out = contiguousOut(comparison ? 'int32' : 'float64', a.shape);
            k.binary(op, out, a, b);
            assertClose(Array.from(out.data.subarray(0, 6)), expected[op], 0, `binary ${op} (n = ${n})`);
          }
        }
      });

      test('binary: pow(1, y) and pow(x, 0) are 1 for every y and x, NaN included (IEEE 754, C, PyTorch)', () => {
        const k = be();
        for (const n of SIZES) {
          const a = vec([1, 1, 1, -1, -1, NaN_, Infinity], n, 2);
          const b = vec([NaN_, Infinity, -Infinity, Infinity, -Infinity, 0, 0], n, 2);
          const out = contiguousOut('float64', a.shape);
          k.binary('pow', out, a, b);
          assertClose(Array.from(out.data.subarray(0, 7)), [1, 1, 1, 1, 1, 1, 1], 0, `pow (n = ${n})`);
        }
      });

      test('reduce: a NaN anywhere makes sum, max and min NaN', () => {
        const k = be();
        const reduce = (op: ReduceOp, values: number[], n: number, fill: number): number => {
          const out = contiguousOut('float64', [1]);
          k.reduce(op, out, vec(values, n, fill), [0]);
          return out.data[0]!;
        };
        for (const n of SIZES) {
          for (const values of [
            [NaN_, 1, 2],
            [1, NaN_, 2],
            [3, 1, NaN_],
            [-Infinity, NaN_, Infinity],
          ]) {
            for (const op of ['sum', 'max', 'min'] as const) {
              const r = reduce(op, values, n, 1);
              assert.ok(Number.isNaN(r), `${op} of [${values}] (n = ${n}) gave ${r}`);
            }
          }
          const last = new Array<number>(Math.max(n, 3)).fill(0);
          last[last.length - 1] = NaN_;
          for (const op of ['sum', 'max', 'min'] as const) {
            assert.ok(Number.isNaN(reduce(op, last, n, 0)), `${op} with NaN last (n = ${n})`);
          }
          assert.ok(Number.isNaN(reduce('sum', [Infinity, -Infinity], n, 0)), 'inf + -inf must be NaN');
          assert.equal(reduce('max', [-Infinity, -Infinity], n, -Infinity), -Infinity);
          assert.equal(reduce('min', [Infinity, 2, Infinity], n, 5), 2);
          assert.equal(reduce('max', [-1, Infinity, 2], n, 0), Infinity);
        }
      });

      test('argReduce: the first NaN wins, as in PyTorch', () => {
        const k = be();
        for (const n of SIZES) {
          for (const op of ['argmax', 'argmin'] as const) {
            for (const [values, at] of [
              [[1, NaN_, 5, NaN_], 1],
              [[NaN_, 9, -9], 0],
              [[-Infinity, Infinity, 3], op === 'argmax' ? 1 : 0],
            ] as [number[], number][]) {
              const out = contiguousOut('int32', [1]);
              k.argReduce(op, out, vec(values, n, 0), 0);
              assert.equal(out.data[0], at, `${op} of [${values}] (n = ${n})`);
            }
          }
        }
      });

      test('matmul: NaN and infinities propagate (0 * inf is NaN, as in IEEE arithmetic and BLAS)', () => {
        const k = be();
        for (const n of SIZES) {
          const mm = (a: number[], b: number[]): number => {
            const av = vec(a, n, 0);
            const bv = vec(b, n, 1);
            const K = av.shape[0]!;
            const out = contiguousOut('float64', [1, 1]);
            k.matmul(
              out,
              { ...av, shape: [1, K], strides: [K, 1] },
              { ...bv, shape: [K, 1], strides: [1, 1] },
            );
            return out.data[0]!;
          };
          assertClose([mm([1, 2], [NaN_, 1])], [NaN_], 0, `[1, 2] @ [NaN, 1] (n = ${n})`);
          assertClose([mm([1, 2], [Infinity, 1])], [Infinity], 0, `[1, 2] @ [inf, 1] (n = ${n})`);
          assertClose([mm([0, 1], [NaN_, 1])], [NaN_], 0, `[0, 1] @ [NaN, 1] (n = ${n})`);
          assertClose([mm([0, 1], [Infinity, 1])], [NaN_], 0, `[0, 1] @ [inf, 1] (n = ${n})`);
        }
      });
    });

    describe('fused fast paths match the compositions they replace', () => {
      // Only the fast paths this backend has are checked; the others fall back to the compositions.
      const has = (kernel: string) => fused.includes(kernel);

      if (has('logSoftmax'))
        test('logSoftmax over the last axis, NaN and infinities included', () => {
          const f = be().fused!.logSoftmax!;
          for (const dtype of FLOATS) {
            for (const shape of [
              [1, 1],
              [3, 7],
              [5, 33],
              [64, 100],
              [2, 3, 17],
              [4, 1023],
            ] as Shape[]) {
              const n = shape[shape.length - 1]!;
              const rows = sizeOf(shape) / n;
              const fill = randomFill(dtype, hashSeed(`logSoftmax${dtype}${shape}`), false, -8, 8);
              const values = Array.from({ length: sizeOf(shape) }, (_, i) => fill(i));
              if (rows >= 4 && n >= 2) {
                values[0] = Number.NaN; // row 0: NaN everywhere
                values[n] = -Infinity; // row 1: one -inf entry
                for (let j = 0; j < n; j++) values[2 * n + j] = -Infinity; // row 2: all -inf, NaN as in PyTorch
                values[3 * n + 1] = Infinity; // row 3: +inf gives NaN there, -inf elsewhere
              }
              const x = makeView(dtype, shape, 'contiguous', (i) => values[i]!);
              const ref = new Float64Array(sizeOf(shape));
              for (let r = 0; r < rows; r++) {
                const row = Array.from(x.data.subarray(r * n, (r + 1) * n));
                const m0 = row.reduce((a, v) =>
                  Number.isNaN(a) || Number.isNaN(v) ? Number.NaN : Math.max(a, v),
                );
                const m = Number.isFinite(m0) ? m0 : Number.isNaN(m0) ? m0 : 0;
                const lse = Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
                row.forEach((v, j) => {
                  ref[r * n + j] = v - m - lse;
                });
              }
              const out = contiguousOut(dtype, shape);
              f(out, x);
              assertClose(
                out.data,
                ref,
                dtype === 'float32' ? 1e-5 : 1e-12,
                `fused logSoftmax ${dtype} ${fmt(shape)}`,
                Array.from(ref, () => 1),
              );
            }
          }
        });

      if (has('logSoftmaxBackward'))
        test("logSoftmax's backward: g - exp(y) Σ g per row, NaN and infinities included", () => {
          const f = be().fused!.logSoftmaxBackward!;
          for (const dtype of FLOATS) {
            for (const shape of [
              [1, 1],
              [3, 7],
              [5, 33],
              [64, 100],
              [2, 3, 17],
              [4, 1023],
            ] as Shape[]) {
              const n = shape[shape.length - 1]!;
              const rows = sizeOf(shape) / n;
              const gFill = randomFill(dtype, hashSeed(`lsmB-g${dtype}${shape}`), false, -2, 2);
              const yFill = randomFill(dtype, hashSeed(`lsmB-y${dtype}${shape}`), false, -8, 0);
              const gv = Array.from({ length: sizeOf(shape) }, (_, i) => gFill(i));
              const yv = Array.from({ length: sizeOf(shape) }, (_, i) => yFill(i));
              if (rows >= 3 && n >= 2) {
                yv[1] = -Infinity; // row 0: a class of probability 0 passes g through
                gv[n] = Number.NaN; // row 1: a NaN gradient poisons its row
                yv[2 * n] = Number.NaN; // row 2: a NaN output stays NaN where it is
              }
              const g = makeView(dtype, shape, 'contiguous', (i) => gv[i]!);
              const y = makeView(dtype, shape, 'contiguous', (i) => yv[i]!);
              const ref = new Float64Array(sizeOf(shape));
              for (let r = 0; r < rows; r++) {
                const sum = gv.slice(r * n, (r + 1) * n).reduce((a, v) => a + v, 0);
                for (let j = 0; j < n; j++) ref[r * n + j] = gv[r * n + j]! - Math.exp(yv[r * n + j]!) * sum;
              }
              const out = contiguousOut(dtype, shape);
              f(out, g, y);
              assertClose(
                out.data,
                ref,
                dtype === 'float32' ? 1e-5 : 1e-12,
                `fused logSoftmaxBackward ${dtype} ${fmt(shape)}`,
                Array.from(ref, () => 1),
              );
            }
          }
        });

      if (has('linear'))
        test('linear: x wᵀ + b (and ReLU) against the reference matmul, transposed and strided operands', () => {
          const f = be().fused!.linear!;
          for (const dtype of FLOATS) {
            for (const [n, k, o] of [
              [1, 1, 1],
              [3, 5, 7],
              [64, 33, 17],
              [128, 200, 96],
            ] as [number, number, number][]) {
              for (const layout of ['contiguous', 'transposed'] as Layout[]) {
                for (const relu of [false, true]) {
                  const seed = hashSeed(`linear${dtype}${n}${k}${o}${layout}`);
                  const x = makeView(dtype, [n, k], layout, randomFill(dtype, seed, false));
                  const w = makeView(dtype, [o, k], 'contiguous', randomFill(dtype, seed + 1, false));
                  const b = makeView(dtype, [o], 'contiguous', randomFill(dtype, seed + 2, false));
                  const wT: View = {
                    data: w.data,
                    shape: [k, o],
                    strides: [w.strides[1]!, w.strides[0]!],
                    offset: w.offset,
                  };
                  const ref = contiguousOut(dtype, [n, o]);
                  jsBackend.matmul(ref, x, wT);
                  for (let i = 0; i < n * o; i++) {
                    const v = ref.data[i]! + b.data[b.offset + (i % o)]!;
                    ref.data[i] = relu ? Math.max(0, v) : v;
                  }
                  const out = contiguousOut(dtype, [n, o]);
                  f(out, x, w, b, relu);
                  // Entries are sums of k products of inputs in [-3, 3]: errors scale with k·9, not with the result.
                  const scale = Array.from({ length: n * o }, () => 9 * k + 3);
                  const tol = dtype === 'float32' ? 1e-6 : 1e-14;
                  assertClose(
                    out.data,
                    ref.data,
                    tol,
                    `fused linear ${dtype} [${n},${k}]x[${o},${k}] ${layout} relu=${relu}`,
                    scale,
                  );
                }
              }
            }
          }
        });

      const arrays = (n: number, seed: number, k: number) => {
        const rng = makeRng(seed);
        return Array.from({ length: k }, (_, j) =>
          Float32Array.from({ length: n }, () => (j === 3 ? rng() : 2 * rng() - 1)),
        );
      };
      const compareState = (what: string, got: Float32Array[], ref: Float32Array[]) => {
        got.forEach((g, j) => {
          assertClose(
            g,
            ref[j]!,
            1e-5,
            `${what} buffer ${j}`,
            Array.from(g, () => 1e-2),
          );
        });
      };

      if (has('conv') && has('convBackwardInput') && has('convBackwardWeight'))
        test('conv (with bias and ReLU) and its two gradients against products of the reference columns: groups, stride, padding, dilation, 1–3 axes, batches below and above the thread count', () => {
          const f = be().fused!;
          const s33 = (padding: number): Window => ({
            kernel: [3, 3],
            stride: [1, 1],
            padding: [padding, padding],
            dilation: [1, 1],
          });
          const cases: [Shape, number, number, Window, Layout?][] = [
            // x shape, output channels, groups, window, x's layout (strided unless given)
            [[1, 3, 9], 4, 1, { kernel: [3], stride: [2], padding: [1], dilation: [1] }],
            [[5, 4, 7, 6], 6, 2, { kernel: [3, 2], stride: [1, 2], padding: [1, 0], dilation: [2, 1] }],
            [[1, 1, 12, 12], 6, 1, { kernel: [5, 5], stride: [1, 1], padding: [2, 2], dilation: [1, 1] }],
            [[16, 3, 8, 8], 8, 1, { kernel: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1] }],
            [[3, 6, 5, 7], 6, 6, { kernel: [3, 3], stride: [2, 1], padding: [0, 1], dilation: [1, 1] }],
            // Samples too large for one cache-sized unit, which a backend may split into slices of rows.
            [[2, 16, 48, 48], 4, 2, { kernel: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1] }],
            [[3, 24, 50, 50], 2, 1, { kernel: [3, 3], stride: [2, 1], padding: [1, 1], dilation: [1, 1] }],
            [
              [2, 2, 4, 5, 3],
              4,
              2,
              { kernel: [2, 3, 2], stride: [1, 2, 1], padding: [1, 1, 0], dilation: [1, 1, 2] },
            ],
            // 3×3, stride 1, many channels (a backend may take Winograd's transforms): odd sizes whose
            // last tiles overhang, padding 0 to 2, one sample or several per block, contiguous rows.
            [[3, 16, 9, 7], 16, 1, s33(1)],
            [[3, 16, 9, 7], 16, 1, s33(1), 'contiguous'],
            [[1, 17, 6, 5], 20, 1, s33(0), 'contiguous'],
            [[1, 16, 7, 8], 16, 1, s33(1)],
            [[2, 16, 5, 6], 18, 1, s33(2), 'contiguous'],
            [[5, 16, 4, 4], 16, 1, s33(1), 'contiguous'],
            // A 1×3×3 window over one depth slice whose only output depth reads the padding (not Winograd's).
            [
              [2, 16, 1, 5, 5],
              16,
              1,
              { kernel: [1, 3, 3], stride: [3, 1, 1], padding: [1, 1, 1], dilation: [1, 1, 1] },
            ],
          ];
          for (const dtype of FLOATS) {
            for (const [xShape, outC, groups, w, layout = 'stepped'] of cases) {
              const [n, c] = xShape as [number, number];
              const k = w.kernel.reduce((a, v) => a * v, 1);
              const spatial = w.kernel.map(
                (kk, i) =>
                  Math.floor(
                    (xShape[i + 2]! + 2 * w.padding[i]! - w.dilation[i]! * (kk - 1) - 1) / w.stride[i]!,
                  ) + 1,
              );
              const l = spatial.reduce((a, v) => a * v, 1);
              const cg = c / groups;
              const og = outC / groups;
              const wShape = [outC, cg, ...w.kernel];
              const yShape = [n, outC, ...spatial];
              const seed = hashSeed(`conv${dtype}${xShape}${outC}${groups}`);
              const what = `conv ${dtype} x ${fmt(xShape)} (${layout}) w ${fmt(wShape)} groups ${groups} padding ${w.padding}`;
              const x = makeView(dtype, xShape, layout, randomFill(dtype, seed, false));
              const wt = makeView(dtype, wShape, 'contiguous', randomFill(dtype, seed + 1, false));
              const dy = makeView(dtype, yShape, 'contiguous', randomFill(dtype, seed + 2, false));
              // The reference: the js kernel's columns [N, C, K, L] of x, multiplied out in float64.
              const cols = contiguousOut('float64', [n, c, k, l]);
              jsBackend.unfold(cols, x, w, 0);
              const at = (view: View, i: number) => view.data[view.offset + i]!;
              const col = (ni: number, ci: number, ki: number, li: number) =>
                cols.data[((ni * c + ci) * k + ki) * l + li]!;
              const y = new Float64Array(n * outC * l);
              const ys = new Float64Array(n * outC * l);
              const dcols = contiguousOut('float64', [n, c, k, l]);
              const dw = new Float64Array(outC * cg * k);
              const dws = new Float64Array(outC * cg * k);
              for (let ni = 0; ni < n; ni++)
                for (let o = 0; o < outC; o++)
                  for (let ci = 0; ci < cg; ci++)
                    for (let ki = 0; ki < k; ki++) {
                      const wv = at(wt, (o * cg + ci) * k + ki);
                      const cc = Math.floor(o / og) * cg + ci;
                      for (let li = 0; li < l; li++) {
                        const xv = col(ni, cc, ki, li);
                        const g = at(dy, (ni * outC + o) * l + li);
                        y[(ni * outC + o) * l + li] += wv * xv;
                        ys[(ni * outC + o) * l + li] += Math.abs(wv * xv);
                        dcols.data[((ni * c + cc) * k + ki) * l + li] += wv * g;
                        dw[(o * cg + ci) * k + ki] += g * xv;
                        dws[(o * cg + ci) * k + ki] += Math.abs(g * xv);
                      }
                    }
              const dx = contiguousOut('float64', xShape);
              jsBackend.fold(dx, dcols, w);
              const tol = dtype === 'float32' ? 1e-5 : 1e-12;
              const gotY = contiguousOut(dtype, yShape);
              f.conv!(gotY, x, wt, null, false, w, groups);
              assertClose(gotY.data, y, tol, `${what} forward`, ys);
              // With a bias and ReLU fused in: max(0, y + b).
              const bias = makeView(dtype, [outC], 'contiguous', randomFill(dtype, seed + 3, false));
              const yb = y.map((v, i) => Math.max(0, v + bias.data[Math.floor(i / l) % outC]!));
              f.conv!(gotY, x, wt, bias, true, w, groups);
              assertClose(
                gotY.data,
                yb,
                tol,
                `${what} forward with bias and ReLU`,
                ys.map((v) => v + 3),
              );
              const gotDx = contiguousOut(dtype, xShape);
              f.convBackwardInput!(gotDx, dy, wt, w, groups);
              // |dx| bounded by the fold of |W|·|dy| summed over every tap: scale by the largest.
              const dxScale = Array.from(dx.data).reduce((m, v) => Math.max(m, Math.abs(v)), 1) * cg * k;
              assertClose(
                gotDx.data,
                dx.data,
                tol,
                `${what} input gradient`,
                Array.from(dx.data, () => dxScale),
              );
              const gotDw = contiguousOut(dtype, wShape);
              f.convBackwardWeight!(gotDw, x, dy, w, groups);
              assertClose(gotDw.data, dw, tol, `${what} weight gradient`, dws);
            }
          }
        });

      // The recurrent cells against their equations worked out here in float64, forward and backward.
      const sig = (v: number) => 1 / (1 + Math.exp(-v));
      const CELL_SHAPES: readonly Shape[] = [
        [1, 1],
        [3, 5],
        [7, 33],
        [2, 3, 17],
        [32, 256],
      ];
      const cellInputs = (dtype: DType, shape: Shape, gates: number, seed: string) => {
        const wide = [...shape.slice(0, -1), gates * shape[shape.length - 1]!];
        const h = hashSeed(seed);
        return {
          wide,
          xw: makeView(dtype, wide, 'contiguous', randomFill(dtype, h, false)),
          hw: makeView(dtype, wide, 'contiguous', randomFill(dtype, h + 1, false)),
          state: makeView(dtype, shape, 'contiguous', randomFill(dtype, h + 2, false, -2, 2)),
        };
      };
      const at = (v: View, i: number) => v.data[v.offset + i]!;

      if (has('lstmCell') && has('lstmCellBackward'))
        test('lstmCell and its backward against the LSTM equations', () => {
          const f = be().fused!;
          for (const dtype of FLOATS) {
            for (const shape of CELL_SHAPES) {
              const { wide, xw, hw, state: c } = cellInputs(dtype, shape, 4, `lstm${dtype}${shape}`);
              const H = shape[shape.length - 1]!;
              const n = sizeOf(shape);
              const grad = makeView(
                dtype,
                [2, ...shape],
                'contiguous',
                randomFill(dtype, hashSeed(`g${shape}`), false, -1, 1),
              );
              const [hRef, cRef, dcRef] = [0, 1, 2].map(() => new Float64Array(n));
              const dgRef = new Float64Array(4 * n);
              for (let k = 0; k < n; k++) {
                const [r, j] = [Math.floor(k / H), k % H];
                const pre = (q: number) => at(xw, r * 4 * H + q * H + j) + at(hw, r * 4 * H + q * H + j);
                const [i, fg, g, o] = [sig(pre(0)), sig(pre(1)), Math.tanh(pre(2)), sig(pre(3))];
                const c2 = fg * at(c, k) + i * g;
                const tc = Math.tanh(c2);
                hRef[k] = o * tc;
                cRef[k] = c2;
                const [gh, gc] = [at(grad, k), at(grad, n + k)];
                const dc = gc + gh * o * (1 - tc * tc);
                dgRef[r * 4 * H + j] = dc * g * i * (1 - i);
                dgRef[r * 4 * H + H + j] = dc * at(c, k) * fg * (1 - fg);
                dgRef[r * 4 * H + 2 * H + j] = dc * i * (1 - g * g);
                dgRef[r * 4 * H + 3 * H + j] = gh * tc * o * (1 - o);
                dcRef[k] = dc * fg;
              }
              const what = `lstmCell ${dtype} ${fmt(shape)}`;
              const out = contiguousOut(dtype, [2, ...shape]);
              f.lstmCell!(out, xw, hw, c);
              assertClose(out.data, [...hRef, ...cRef], RTOL[dtype], `${what} h', c'`, Array(2 * n).fill(1));
              const [dGates, dc] = [contiguousOut(dtype, wide), contiguousOut(dtype, shape)];
              f.lstmCellBackward!(dGates, dc, xw, hw, c, out, grad);
              assertClose(dGates.data, dgRef, RTOL[dtype], `${what} gates' gradient`, Array(4 * n).fill(1));
              assertClose(dc.data, dcRef, RTOL[dtype], `${what} c's gradient`, Array(n).fill(1));
            }
          }
        });

      if (has('gruCell') && has('gruCellBackward'))
        test('gruCell and its backward against the GRU equations', () => {
          const f = be().fused!;
          for (const dtype of FLOATS) {
            for (const shape of CELL_SHAPES) {
              const { wide, xw, hw, state: h } = cellInputs(dtype, shape, 3, `gru${dtype}${shape}`);
              const H = shape[shape.length - 1]!;
              const n = sizeOf(shape);
              const grad = makeView(
                dtype,
                shape,
                'contiguous',
                randomFill(dtype, hashSeed(`g${shape}`), false, -1, 1),
              );
              const [hRef, dhRef] = [new Float64Array(n), new Float64Array(n)];
              const [dxRef, dhwRef] = [new Float64Array(3 * n), new Float64Array(3 * n)];
              for (let k = 0; k < n; k++) {
                const [row, j] = [Math.floor(k / H), k % H];
                const x = (q: number) => at(xw, row * 3 * H + q * H + j);
                const hh = (q: number) => at(hw, row * 3 * H + q * H + j);
                const [r, z] = [sig(x(0) + hh(0)), sig(x(1) + hh(1))];
                const nn = Math.tanh(x(2) + r * hh(2));
                hRef[k] = (1 - z) * nn + z * at(h, k);
                const g = at(grad, k);
                const dn = g * (1 - z) * (1 - nn * nn);
                const dz = g * (at(h, k) - nn) * z * (1 - z);
                const dr = dn * hh(2) * r * (1 - r);
                for (const [q, a, b] of [
                  [0, dr, dr],
                  [1, dz, dz],
                  [2, dn, dn * r],
                ] as const) {
                  dxRef[row * 3 * H + q * H + j] = a;
                  dhwRef[row * 3 * H + q * H + j] = b;
                }
                dhRef[k] = g * z;
              }
              const what = `gruCell ${dtype} ${fmt(shape)}`;
              const out = contiguousOut(dtype, shape);
              f.gruCell!(out, xw, hw, h);
              assertClose(out.data, hRef, RTOL[dtype], `${what} h'`, Array(n).fill(1));
              const [dxw, dhw, dh] = [
                contiguousOut(dtype, wide),
                contiguousOut(dtype, wide),
                contiguousOut(dtype, shape),
              ];
              f.gruCellBackward!(dxw, dhw, dh, xw, hw, h, grad);
              assertClose(dxw.data, dxRef, RTOL[dtype], `${what} xw's gradient`, Array(3 * n).fill(1));
              assertClose(dhw.data, dhwRef, RTOL[dtype], `${what} hw's gradient`, Array(3 * n).fill(1));
              assertClose(dh.data, dhRef, RTOL[dtype], `${what} h's gradient`, Array(n).fill(1));
            }
          }
        });

      if (has('sgdUpdate'))
        test('sgdUpdate against src/optim/updates.ts', () => {
          const f = be().fused!.sgdUpdate!;
          for (const n of [1, 17, 1000]) {
            for (const h of [
              { lr: 0.1, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 },
              { lr: 0.05, momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 1e-2 },
              { lr: 0.05, momentum: 0.9, dampening: 0.1, nesterov: false, weightDecay: 0 },
              { lr: 0.01, momentum: 0.8, dampening: 0, nesterov: true, weightDecay: 1e-3 },
            ]) {
              for (const first of [true, false]) {
                const ref = arrays(n, hashSeed(`sgd${n}${first}${h.momentum}`), 3);
                const got = ref.map((a) => a.slice());
                const withBuf = h.momentum > 0;
                sgdUpdate(ref[0]!, ref[1]!, withBuf ? ref[2]! : null, h, first);
                f(got[0]!, got[1]!, withBuf ? got[2]! : null, h, first);
                compareState(`sgd n=${n} ${JSON.stringify(h)} first=${first}`, got, ref);
              }
            }
          }
        });

      if (has('adamUpdate'))
        test('adamUpdate against src/optim/updates.ts', () => {
          const f = be().fused!.adamUpdate!;
          for (const n of [1, 17, 1000]) {
            for (const h of [
              {
                lr: 1e-3,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weightDecay: 0,
                decoupled: false,
                amsgrad: false,
              },
              {
                lr: 1e-2,
                beta1: 0.8,
                beta2: 0.99,
                eps: 1e-6,
                weightDecay: 0.1,
                decoupled: false,
                amsgrad: true,
              },
              {
                lr: 1e-2,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weightDecay: 0.05,
                decoupled: true,
                amsgrad: false,
              },
            ]) {
              for (const step of [1, 10]) {
                // p, g, m, v (non-negative), vMax (non-negative)
                const ref = arrays(n, hashSeed(`adam${n}${step}${h.beta1}`), 5);
                ref[4] = ref[3]!.map((v) => v * 1.5);
                const got = ref.map((a) => a.slice());
                const vMax = (a: Float32Array[]) => (h.amsgrad ? a[4]! : null);
                adamUpdate(ref[0]!, ref[1]!, ref[2]!, ref[3]!, vMax(ref), h, step);
                f(got[0]!, got[1]!, got[2]!, got[3]!, vMax(got), h, step);
                compareState(`adam n=${n} ${JSON.stringify(h)} step=${step}`, got, ref);
              }
            }
          }
        });
    });

    describe('runs the op table like the reference', () => {
      // Contiguous inputs, then the same values in transposed and in stepped (strided, offset) views;
      // a transposed view of inputs of rank 0 or 1 is the contiguous layout again.
      const layouts = (row: OpRow): Layout[] =>
        row.shapes.some((s) => s.filter((d) => d > 1).length > 1)
          ? ['contiguous', 'transposed', 'stepped']
          : ['contiguous', 'stepped'];
      for (const row of OP_TABLE) {
        for (const layout of layouts(row)) {
          test(layout === 'contiguous' ? rowName(row) : `${rowName(row)} on ${layout} views`, () => {
            const seed = hashSeed(`conformance ${rowName(row)}`);
            const evaluate = (backend: string) => {
              setBackend(backend);
              const inputs = sampleInputs(row, row.shapes, seed).map((v, i) => {
                const view = makeView(dtypeOf(row, i), row.shapes[i]!, layout, (e) => v[e]!);
                return new Tensor(view.data, view.shape, view.strides, view.offset);
              });
              const out = noGrad(() => row.fn(...inputs));
              const outs = out instanceof Tensor ? [out] : out;
              const loss = (...xs: Tensor[]) => {
                const ys = row.fn(...xs);
                return (ys instanceof Tensor ? [ys] : ys)
                  .map((y) => y.square().sum())
                  .reduce((s, t) => s.add(t));
              };
              const grads = grad(
                loss,
                inputs.map((_, i) => i),
              )(...inputs);
              return [...outs, ...grads].map((t) => t.toTypedArray());
            };
            const ref = evaluate('js');
            const got = evaluate(name);
            ref.forEach((r, i) => {
              const rtol = r instanceof Float64Array ? 1e-10 : 1e-4;
              assertClose(
                got[i]!,
                r,
                rtol,
                `${rowName(row)} result ${i}`,
                Array.from(r, () => 1),
              );
            });
          });
        }
      }
    });
  });
}

/** Backends with one deliberate fault each: the suite must reject every one of them. */
describe('the suite rejects faulty backends', () => {
  const dense = (v: View): View => ({ ...v, strides: contiguousStrides(v.shape), offset: 0 });
  const faults: [string, string, Partial<Kernels>][] = [
    ['copy ignores strides', 'copy: every dtype', { copy: (out, x) => jsBackend.copy(out, dense(x)) }],
    [
      'exp rounds float64 results to float32',
      'unary: every op',
      {
        unary: (op, out, x) => {
          jsBackend.unary(op, out, x);
          if (op === 'exp')
            out.data.forEach((v, i) => {
              out.data[i] = Math.fround(v);
            });
        },
      },
    ],
    [
      'maximum loses a NaN in its first operand',
      'binary: every op',
      {
        binary: (op, out, a, b) => {
          if (op !== 'maximum') return jsBackend.binary(op, out, a, b);
          const pa = viewPositions(a);
          const pb = viewPositions(b);
          pa.forEach((p, i) => {
            const x = a.data[p]!;
            const y = b.data[pb[i]!]!;
            out.data[i] = Number.isNaN(x) ? y : Math.max(x, y);
          });
        },
      },
    ],
    [
      'where reads the condition densely',
      'where:',
      { where: (out, c, a, b) => jsBackend.where(out, dense(c), a, b) },
    ],
    [
      'reduce ignores the view offset',
      'reduce: sum, max, min',
      { reduce: (op, out, x, axes) => jsBackend.reduce(op, out, { ...x, offset: 0 }, axes) },
    ],
    [
      'argReduce reads its input densely',
      'argReduce:',
      { argReduce: (op, out, x, axis) => jsBackend.argReduce(op, out, dense(x), axis) },
    ],
    ['matmul reads b densely', 'matmul:', { matmul: (out, a, b) => jsBackend.matmul(out, a, dense(b)) }],
    [
      'gather reads the index densely',
      'gather and scatterAdd',
      { gather: (out, x, axis, index) => jsBackend.gather(out, x, axis, dense(index)) },
    ],
    [
      'scatterAdd reads src densely',
      'gather and scatterAdd',
      { scatterAdd: (out, axis, index, src) => jsBackend.scatterAdd(out, axis, index, dense(src)) },
    ],
  ];
  for (const [fault, prefix, kernels] of faults) {
    test(fault, () => {
      const faulty: Backend = { ...jsBackend, ...kernels, name: 'faulty' };
      const [, check] = Object.entries(AGREEMENT).find(([title]) => title.startsWith(prefix))!;
      // A mismatch, or an error such as an out-of-range index read from the wrong place.
      assert.throws(() => check(faulty));
    });
  }
});
