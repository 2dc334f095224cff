/**
 * Runs the op table: for every row, float64 finite-difference gradient checks on contiguous inputs,
 * on the broadcast shapes the row lists, on transposed and on strided (stepped, offset) views, and
 * of second derivatives where the row asks for them.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import { customOp, type DType, noGrad, type Shape, Tensor } from '../src/index.js';
import { type OpName, registeredOps } from '../src/ops/registry.js';
import { contiguousStrides } from '../src/tensor/shape.js';
import { type GradCheckOptions, gradcheck, gradgradcheck, hashSeed, viewPositions } from './gradcheck.js';
import {
  dtypeOf,
  NOT_DIFFERENTIABLE,
  OP_TABLE,
  type OpRow,
  ROWS,
  type RowTable,
  rowName,
  sampleInputs,
} from './optable.js';

export type Layout = 'contiguous' | 'transposed' | 'strided';

const ARRAYS = { float32: Float32Array, float64: Float64Array, int32: Int32Array } as const;

/**
 * A tensor holding `values` (row-major) in the given layout: contiguous; transposed (stored with its
 * axes reversed, then viewed back); or strided (every axis stepped by 2, starting one element in).
 * Storage outside the view is NaN, so a kernel that reads past a view poisons its result.
 */
export function layoutTensor(values: Float64Array, shape: Shape, dtype: DType, layout: Layout): Tensor {
  const n = values.length;
  let strides: number[];
  let offset = 0;
  let storage: number;
  if (layout === 'contiguous') {
    strides = contiguousStrides(shape);
    storage = n;
  } else if (layout === 'transposed') {
    strides = contiguousStrides([...shape].reverse()).reverse();
    storage = n;
  } else {
    strides = contiguousStrides(shape.map((d) => 2 * d)).map((s) => 2 * s);
    offset = 1;
    storage = 1 + 2 ** shape.length * n;
  }
  const data = new ARRAYS[dtype](storage);
  if (dtype !== 'int32') data.fill(Number.NaN);
  const t = new Tensor(data, shape, strides, offset);
  viewPositions(t).forEach((p, e) => {
    data[p] = values[e]!;
  });
  return t;
}

function inputsFor(row: OpRow, shapes: readonly Shape[], layout: Layout, seed: number): Tensor[] {
  const values = sampleInputs(row, shapes, seed);
  return values.map((v, i) => layoutTensor(v, shapes[i]!, dtypeOf(row, i), layout));
}

function optionsFor(row: OpRow, name: string): GradCheckOptions {
  return { label: name, seed: hashSeed(name), ...(row.eps === undefined ? {} : { eps: row.eps }) };
}

const fmt = (shapes: readonly Shape[]) => shapes.map((s) => `[${s.join(', ')}]`).join(' and ');

function flatOutputs(y: Tensor | readonly Tensor[]): number[][] {
  return (y instanceof Tensor ? [y] : y).map((t) => Array.from(t.toTypedArray()));
}

/** The forward on views must equal the forward on contiguous copies of the same values. */
function assertSameForward(row: OpRow, views: Tensor[], seed: number, name: string): void {
  const dense = inputsFor(row, row.shapes, 'contiguous', seed);
  const a = flatOutputs(noGrad(() => row.fn(...views)));
  const b = flatOutputs(noGrad(() => row.fn(...dense)));
  assert.equal(a.length, b.length);
  a.forEach((out, k) => {
    out.forEach((v, i) => {
      const w = b[k]![i]!;
      assert.ok(
        Math.abs(v - w) <= 1e-12 * Math.max(1, Math.abs(w)),
        `${name}: output ${k} element ${i} is ${v} on views but ${w} on contiguous inputs`,
      );
    });
  });
}

describe('gradient checks from the op table', () => {
  for (const row of OP_TABLE) {
    const name = rowName(row);
    describe(name, () => {
      test('contiguous', () => {
        const label = `${name} contiguous ${fmt(row.shapes)}`;
        gradcheck(row.fn, inputsFor(row, row.shapes, 'contiguous', hashSeed(label)), optionsFor(row, label));
      });

      for (const shapes of row.broadcast ?? []) {
        test(`broadcast ${fmt(shapes)}`, () => {
          const label = `${name} broadcast ${fmt(shapes)}`;
          gradcheck(row.fn, inputsFor(row, shapes, 'contiguous', hashSeed(label)), optionsFor(row, label));
        });
      }

      for (const layout of ['transposed', 'strided'] as const) {
        const label = `${name} ${layout}`;
        const seed = hashSeed(label);
        const probe = inputsFor(row, row.shapes, layout, seed);
        // A transposed view of 1-D or size-1 axes is the contiguous layout again: nothing new to check.
        if (probe.every((t) => t.isContiguous())) continue;
        test(`${layout} inputs`, () => {
          const inputs = inputsFor(row, row.shapes, layout, seed);
          assertSameForward(row, inputs, seed, label);
          gradcheck(row.fn, inputs, optionsFor(row, label));
        });
      }

      if (row.gradgrad) {
        test('second order', () => {
          const label = `${name} second order ${fmt(row.shapes)}`;
          gradgradcheck(
            row.fn,
            inputsFor(row, row.shapes, 'contiguous', hashSeed(label)),
            optionsFor(row, label),
          );
        });
        const first = row.broadcast?.[0];
        if (first) {
          test(`second order, broadcast ${fmt(first)}`, () => {
            const label = `${name} second order broadcast ${fmt(first)}`;
            gradgradcheck(
              row.fn,
              inputsFor(row, first, 'contiguous', hashSeed(label)),
              optionsFor(row, label),
            );
          });
        }
      }
    });
  }

  // That every registered op has rows is checked by tsc (the table is typed over the registry); here,
  // that the registry holds every op defined at run time, and that composites have rows too.
  test('every op defined has rows, and every row names a defined op', () => {
    const defined = new Set(registeredOps());
    const keyed = new Set(OP_TABLE.map((r) => r.op));
    assert.deepEqual(
      [...defined].filter((op) => !keyed.has(op as OpName)),
      [],
      'ops defined at run time without rows in test/optable.ts',
    );
    assert.deepEqual(
      [...keyed].filter((op) => !defined.has(op)),
      [],
      'rows of ops that no defineOp record defines',
    );
    const secondOrder = new Set(OP_TABLE.filter((r) => r.gradgrad).map((r) => r.op));
    const firstOrderOnly = (op: string) => OP_TABLE.every((r) => r.op !== op || r.firstOrderOnly);
    assert.deepEqual(
      [...keyed].filter((op) => !secondOrder.has(op) && !firstOrderOnly(op)),
      [],
      'ops without a second-order row (gradgrad: true)',
    );
  });

  test("a table without some op's rows does not compile", () => {
    const { maxUnpool: _dropped, ...rest } = ROWS;
    // @ts-expect-error Property 'maxUnpool' is missing (this directive fails tsc if the line compiles)
    const table: RowTable = rest;
    assert.ok(!('maxUnpool' in table));
  });

  test('every differentiable function exported from src/ops has a row', async () => {
    const dir = new URL('../src/ops/', import.meta.url);
    const covered = new Set(OP_TABLE.flatMap((r) => [r.op, r.calls ?? r.op]));
    const missing: string[] = [];
    // Every file of src/ops but the machinery that defines and installs ops.
    const files = readdirSync(dir).filter((f) => !['op.ts', 'registry.ts', 'methods.ts'].includes(f));
    for (const file of files) {
      const mod = (await import(new URL(file, dir).href)) as Record<string, unknown>;
      for (const [name, value] of Object.entries(mod)) {
        if (typeof value === 'function' && !(name in NOT_DIFFERENTIABLE) && !covered.has(name))
          missing.push(`${name} (${file})`);
      }
    }
    assert.deepEqual(missing, [], `functions without a row in test/optable.ts: ${missing.join(', ')}`);
  });
});

describe('the checker rejects wrong gradients', () => {
  const x34 = () =>
    layoutTensor(sampleInputs(OP_TABLE[0]!, [[3, 4]], 1)[0]!, [3, 4], 'float64', 'contiguous');
  const big = () =>
    layoutTensor(sampleInputs(OP_TABLE[0]!, [[40, 30]], 2)[0]!, [40, 30], 'float64', 'contiguous');
  const cubeWith = (vjp: (g: Tensor, x: Tensor) => Tensor) => {
    const op = customOp<void>({
      name: 'cube',
      forward: ([x]) => x!.mul(x!).mul(x!),
      vjp: (g, { inputs: [x] }) => [vjp(g, x!)],
    });
    return (x: Tensor) => op([x], undefined);
  };
  const right = cubeWith((g, x) => g.mul(x.square()).mul(3));

  test('a correct custom op passes, to first and second order', () => {
    gradcheck(right, [x34()]);
    gradcheck(right, [big()]);
    gradgradcheck(right, [x34()]);
  });

  test('a gradient off by one part in 10^4 (full Jacobian)', () => {
    assert.throws(
      () =>
        gradcheck(
          cubeWith((g, x) => g.mul(x.square()).mul(3.0003)),
          [x34()],
        ),
      /numeric/,
    );
  });

  test('one wrong element of a large gradient (random directions)', () => {
    const bump = new Tensor(new Float64Array(1200), [40, 30]);
    bump.data[617] = 1e-3;
    assert.throws(
      () =>
        gradcheck(
          cubeWith((g, x) => g.mul(x.square()).mul(3).add(bump)),
          [big()],
        ),
      /direction/,
    );
  });

  test('a VJP that is right to first order but detaches its input', () => {
    const detached = cubeWith((g, x) => g.mul(x.detach().square()).mul(3));
    gradcheck(detached, [x34()]);
    assert.throws(() => gradgradcheck(detached, [x34()]), /second order/);
  });

  test('a forward that ignores its input strides', () => {
    const op = customOp<void>({
      name: 'denseRead',
      forward: ([x]) => new Tensor(Float64Array.from(x!.data.subarray(0, x!.size)), x!.shape).mul(2),
      vjp: (g) => [g.mul(2)],
    });
    const f = (x: Tensor) => op([x], undefined);
    const values = sampleInputs(OP_TABLE[0]!, [[3, 4]], 3)[0]!;
    gradcheck(f, [layoutTensor(values, [3, 4], 'float64', 'contiguous')]);
    assert.throws(() => gradcheck(f, [layoutTensor(values, [3, 4], 'float64', 'strided')]), /numeric/);
  });
});
