/**
 * The native backend's float32 exp, log, tanh and sigmoid (src/backend/native/vecmath.h) against
 * float64 Math rounded to float32: within 2 ulp over a sweep of the whole float32 range and at the edge
 * cases, on contiguous and strided views of every length up to past the widest vector's tails; then
 * logSoftmax, softmax and the LSTM and GRU cells against float64 compositions of the same inputs. It runs
 * on the kernels this process picked; isa.test.ts runs it again under each STRATA_ISA this CPU has.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import type { FusedKernels, View } from '../src/backend/backend.js';
import { createNativeBackend, runNativeAtEverySize } from '../src/backend/native/index.js';
import { getBackend, setBackend, softmax, tensor } from '../src/index.js';
import { makeRng } from './gradcheck.js';

const built = existsSync(new URL('../build/Release/strata_native.node', import.meta.url));

type MathOp = 'exp' | 'log' | 'tanh' | 'sigmoid';
const sigmoid64 = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const REFERENCE: Record<MathOp, (x: number) => number> = {
  exp: Math.exp,
  log: Math.log,
  tanh: Math.tanh,
  sigmoid: sigmoid64,
};
const OPS = Object.keys(REFERENCE) as MathOp[];

const bits = new Int32Array(1);
const asFloat = new Float32Array(bits.buffer);
/** A float32's position on the number line counted in floats (±0 both 0), so that ulps are differences. */
function ordinal(x: number): number {
  asFloat[0] = x;
  const b = bits[0]!;
  return b >= 0 ? b : -(b & 0x7fffffff);
}
/** How many floats lie between got and the correctly rounded ref (NaN only matches NaN; ±inf come after ±max). */
function ulps(got: number, ref: number): number {
  const want = Math.fround(ref);
  if (Number.isNaN(want) || Number.isNaN(got)) return Number.isNaN(want) === Number.isNaN(got) ? 0 : Infinity;
  return Math.abs(ordinal(got) - ordinal(want));
}

const contiguous = (data: Float32Array, n = data.length): View => ({
  data,
  shape: [n],
  strides: [1],
  offset: 0,
});

/**
 * Every 2^11-th bit pattern (with a varying low part, so the mantissas are not all round), random
 * patterns, a fine grid over [-20, 20] where tanh and sigmoid bend, and the edge cases.
 */
function sweep(): Float32Array {
  const rng = makeRng(7);
  const values: number[] = [];
  const pattern = new Uint32Array(1);
  const asPattern = new Float32Array(pattern.buffer);
  for (let i = 0; i < 2 ** 21; i++) {
    pattern[0] = i * 2 ** 11 + ((i * 2654435761) >>> 21);
    values.push(asPattern[0]!);
  }
  for (let i = 0; i < 1 << 16; i++) {
    pattern[0] = Math.floor(rng() * 2 ** 32);
    values.push(asPattern[0]!);
  }
  for (let x = -20; x <= 20; x += 1 / 4096) values.push(x + rng() / 4096);
  return Float32Array.from([...values, ...EDGES]);
}

const DENORMALS = [2 ** -149, 3 * 2 ** -149, 2 ** -130, 2 ** -127, 2 ** -126 - 2 ** -149];
const EDGES = [
  0,
  -0,
  Infinity,
  -Infinity,
  Number.NaN,
  ...DENORMALS,
  ...DENORMALS.map((d) => -d),
  2 ** -126,
  3.4028234663852886e38,
  -3.4028234663852886e38,
  88.72283,
  88.72284,
  89,
  -87.33654,
  -87.3365,
  -100,
  -103.97,
  -103.98,
  -104,
  -150,
  1e-30,
  -1e-30,
  1e-8,
  0.625,
  -0.625,
  0.62499994,
  9,
  9.1,
  20,
  -20,
  100,
  -100,
  1,
  -1,
  0.5,
  2,
];

describe(`vecmath: float32 exp, log, tanh and sigmoid on the native backend`, {
  skip: built ? false : 'the addon is not built',
}, () => {
  const be = createNativeBackend();
  const fused = be.fused as FusedKernels;
  const isa = /kernels (\w+)/.exec(be.describe())?.[1];
  const original = getBackend().name;
  // Small ops would otherwise go to the js kernels and compare the reference with itself.
  runNativeAtEverySize(true);
  setBackend('native');
  after(() => {
    runNativeAtEverySize(false);
    setBackend(original);
  });

  const xs = sweep();
  for (const op of OPS) {
    test(`${op} (${isa} kernels): within 2 ulp over the sweep, contiguous and strided`, (t) => {
      const ref = REFERENCE[op];
      const out = new Float32Array(xs.length);
      be.unary(op, contiguous(out), contiguous(xs));
      // Every third element of a strided view, written to a strided output: the one-at-a-time path.
      const spaced = new Float32Array(3 * xs.length).fill(Number.NaN);
      for (let i = 0; i < xs.length; i++) spaced[3 * i + 1] = xs[i]!;
      const spacedOut = new Float32Array(2 * xs.length).fill(12345);
      be.unary(
        op,
        { data: spacedOut, shape: [xs.length], strides: [2], offset: 0 },
        { data: spaced, shape: [xs.length], strides: [3], offset: 1 },
      );
      let worst = 0;
      let at = 0;
      for (let i = 0; i < xs.length; i++) {
        const r = ref(xs[i]!);
        const e = Math.max(ulps(out[i]!, r), ulps(spacedOut[2 * i]!, r));
        if (e > worst) [worst, at] = [e, i];
        if (spacedOut[2 * i + 1] !== 12345) assert.fail(`${op}: wrote between the strided output's elements`);
      }
      const x = xs[at]!;
      t.diagnostic(`${op}: at most ${worst} ulp (at x = ${x}) over ${xs.length} values`);
      assert.ok(
        worst <= 2,
        `${op}(${x}) is ${out[at]} (strided ${spacedOut[2 * at]}), expected ${Math.fround(ref(x))}: ${worst} ulp`,
      );
    });
  }

  test(`edge cases exactly (${isa} kernels)`, () => {
    const run = (op: MathOp, values: number[]) => {
      const out = new Float32Array(values.length);
      be.unary(op, contiguous(out), contiguous(Float32Array.from(values)));
      return [...out];
    };
    const same = (got: number[], want: number[], what: string) => {
      for (const [i, g] of got.entries())
        assert.ok(Object.is(g, want[i]), `${what}: element ${i} is ${g}, expected ${want[i]}`);
    };
    same(
      run('exp', [0, -0, Infinity, -Infinity, Number.NaN, 89, 100, -104, -200]),
      [1, 1, Infinity, 0, NaN, Infinity, Infinity, 0, 0],
      'exp',
    );
    assert.ok(run('exp', [-100])[0]! > 0, 'exp(-100) is a denormal, not 0');
    same(
      run('log', [0, -0, -1, -Infinity, Infinity, Number.NaN, 1]),
      [-Infinity, -Infinity, NaN, NaN, Infinity, NaN, 0],
      'log',
    );
    same(
      run('tanh', [0, -0, 20, -20, 1e30, Infinity, -Infinity, Number.NaN, 1e-30, -1e-30, 2 ** -149]),
      [0, -0, 1, -1, 1, 1, -1, NaN, Math.fround(1e-30), -Math.fround(1e-30), 2 ** -149],
      'tanh',
    );
    same(run('sigmoid', [0, 100, Infinity, -Infinity, Number.NaN, -200]), [0.5, 1, 1, 0, NaN, 0], 'sigmoid');
    const tiny = run('sigmoid', [-100])[0]!;
    assert.ok(tiny > 0 && ulps(tiny, sigmoid64(-100)) <= 2, `sigmoid(-100) is ${tiny}`);
  });

  test(`every length from 0 to 70, alone and as rows of a strided view (${isa} kernels)`, () => {
    const rng = makeRng(70);
    for (const op of OPS) {
      const ref = REFERENCE[op];
      for (let n = 0; n <= 70; n++) {
        const x = Float32Array.from({ length: n }, (_, i) =>
          i % 9 === 4 ? EDGES[i % EDGES.length]! : (rng() - 0.5) * 40,
        );
        // The output runs past n, so that a store beyond the tail shows.
        const out = new Float32Array(n + 20).fill(12345);
        be.unary(op, contiguous(out, n), contiguous(x));
        for (let i = 0; i < n; i++)
          assert.ok(
            ulps(out[i]!, ref(x[i]!)) <= 2,
            `${op} length ${n}: element ${i} is ${out[i]} for ${x[i]}`,
          );
        assert.ok(
          out.subarray(n).every((v) => v === 12345),
          `${op} length ${n}: wrote past the end`,
        );
        // Three rows of n with gaps between them: unit-stride runs that do not merge.
        const rows = new Float32Array(3 * (n + 5)).fill(Number.NaN);
        for (let r = 0; r < 3; r++) rows.set(x, r * (n + 5) + 2);
        const rowsOut = new Float32Array(3 * n);
        be.unary(
          op,
          { data: rowsOut, shape: [3, n], strides: [n, 1], offset: 0 },
          { data: rows, shape: [3, n], strides: [n + 5, 1], offset: 2 },
        );
        for (let i = 0; i < 3 * n; i++)
          assert.ok(
            ulps(rowsOut[i]!, ref(x[i % n]!)) <= 2,
            `${op} rows of ${n}: element ${i} is ${rowsOut[i]}`,
          );
      }
    }
  });

  // The rest compare with float64 compositions; each result carries a few roundings at the scale of the
  // terms that make it, hence tolerances of a few 2^-24 of those terms.
  const near = (got: number, want: number, scale: number, what: string) =>
    assert.ok(
      Math.abs(got - want) <= 2 ** -21 * scale,
      `${what}: ${got}, expected ${want} (within ${2 ** -21 * scale})`,
    );

  test(`logSoftmax and softmax rows of 1 to 70 and 1000 against float64 (${isa} kernels)`, () => {
    const rng = makeRng(3);
    for (const cols of [...Array.from({ length: 70 }, (_, i) => i + 1), 1000]) {
      const rows = 3;
      const x = Float32Array.from({ length: rows * cols }, () => (rng() - 0.5) * 30);
      const out = new Float32Array(rows * cols);
      const view = (data: Float32Array): View => ({
        data,
        shape: [rows, cols],
        strides: [cols, 1],
        offset: 0,
      });
      fused.logSoftmax(view(out), view(x));
      const probs = softmax(tensor(x, { shape: [rows, cols] })).toTypedArray();
      for (let r = 0; r < rows; r++) {
        const row = [...x.subarray(r * cols, (r + 1) * cols)];
        const max = Math.max(...row);
        const sum = row.reduce((s, v) => s + Math.exp(v - max), 0);
        const logSum = Math.log(sum);
        // float32 rounds each x - max, which moves log Σ by up to Σ softmax·|x - max| times 2^-24.
        const spread = row.reduce((s, v) => s + (Math.exp(v - max) / sum) * (max - v), 0);
        for (let c = 0; c < cols; c++) {
          const i = r * cols + c;
          const want = row[c]! - max - logSum;
          const scale = max - row[c]! + logSum + spread;
          near(out[i]!, want, scale, `logSoftmax [${rows}, ${cols}] element ${i}`);
          near(
            probs[i]!,
            Math.exp(want),
            Math.exp(want) * (2 + scale),
            `softmax [${rows}, ${cols}] element ${i}`,
          );
        }
      }
    }
  });

  const gates = (rng: () => number, n: number) => Float32Array.from({ length: n }, () => (rng() - 0.5) * 8);

  test(`lstmCell and its backward, hidden sizes 1 to 70, against float64 (${isa} kernels)`, () => {
    const rng = makeRng(4);
    for (let H = 1; H <= 70; H++) {
      const rows = 2;
      const [xw, hw] = [gates(rng, rows * 4 * H), gates(rng, rows * 4 * H)];
      const c = gates(rng, rows * H);
      const grad = gates(rng, 2 * rows * H);
      const v = (data: Float32Array, ...shape: number[]): View => {
        const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
        return { data, shape, strides, offset: 0 };
      };
      const out = new Float32Array(2 * rows * H);
      fused.lstmCell(v(out, 2, rows, H), v(xw, rows, 4 * H), v(hw, rows, 4 * H), v(c, rows, H));
      const dGates = new Float32Array(rows * 4 * H);
      const dc = new Float32Array(rows * H);
      fused.lstmCellBackward(
        v(dGates, rows, 4 * H),
        v(dc, rows, H),
        v(xw, rows, 4 * H),
        v(hw, rows, 4 * H),
        v(c, rows, H),
        v(out, 2, rows, H),
        v(grad, 2, rows, H),
      );
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < H; j++) {
          const at = (q: number) => xw[r * 4 * H + q * H + j]! + hw[r * 4 * H + q * H + j]!;
          const [i, f, g, o] = [sigmoid64(at(0)), sigmoid64(at(1)), Math.tanh(at(2)), sigmoid64(at(3))];
          const k = r * H + j;
          const c2 = f * c[k]! + i * g;
          const what = `lstmCell H ${H} row ${r} unit ${j}`;
          near(out[rows * H + k]!, c2, 2 + Math.abs(c[k]!), `${what}: c'`);
          near(out[k]!, o * Math.tanh(c2), 2, `${what}: h'`);
          // The backward starts from the forward's float32 c', as the kernel does.
          const tc = Math.tanh(out[rows * H + k]!);
          const [gh, gc] = [grad[k]!, grad[rows * H + k]!];
          const dcell = gc + gh * o * (1 - tc * tc);
          const scale = 4 * (Math.abs(gc) + Math.abs(gh)) * (1 + Math.abs(c[k]!));
          const d = dGates.subarray(r * 4 * H);
          near(d[j]!, dcell * g * i * (1 - i), scale, `${what}: di`);
          near(d[H + j]!, dcell * c[k]! * f * (1 - f), scale, `${what}: df`);
          near(d[2 * H + j]!, dcell * i * (1 - g * g), scale, `${what}: dg`);
          near(d[3 * H + j]!, gh * tc * o * (1 - o), scale, `${what}: do`);
          near(dc[k]!, dcell * f, scale, `${what}: dc`);
        }
      }
    }
  });

  test(`gruCell and its backward, hidden sizes 1 to 70, against float64 (${isa} kernels)`, () => {
    const rng = makeRng(5);
    for (let H = 1; H <= 70; H++) {
      const rows = 2;
      const [xw, hw] = [gates(rng, rows * 3 * H), gates(rng, rows * 3 * H)];
      const h = gates(rng, rows * H);
      const grad = gates(rng, rows * H);
      const v = (data: Float32Array, width: number): View => ({
        data,
        shape: [rows, width],
        strides: [width, 1],
        offset: 0,
      });
      const out = new Float32Array(rows * H);
      fused.gruCell(v(out, H), v(xw, 3 * H), v(hw, 3 * H), v(h, H));
      const [dxw, dhw, dh] = [
        new Float32Array(rows * 3 * H),
        new Float32Array(rows * 3 * H),
        new Float32Array(rows * H),
      ];
      fused.gruCellBackward(
        v(dxw, 3 * H),
        v(dhw, 3 * H),
        v(dh, H),
        v(xw, 3 * H),
        v(hw, 3 * H),
        v(h, H),
        v(grad, H),
      );
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < H; j++) {
          const [a, b] = [xw.subarray(r * 3 * H), hw.subarray(r * 3 * H)];
          const rr = sigmoid64(a[j]! + b[j]!);
          const z = sigmoid64(a[H + j]! + b[H + j]!);
          const hn = b[2 * H + j]!;
          const n = Math.tanh(a[2 * H + j]! + rr * hn);
          const k = r * H + j;
          const what = `gruCell H ${H} row ${r} unit ${j}`;
          const scale = 4 * (1 + Math.abs(h[k]!)) * (1 + Math.abs(hn));
          near(out[k]!, n + z * (h[k]! - n), scale, `${what}: h'`);
          const g = grad[k]!;
          const dn = g * (1 - z) * (1 - n * n);
          const dz = g * (h[k]! - n) * z * (1 - z);
          const dr = dn * hn * rr * (1 - rr);
          const [u, w] = [dxw.subarray(r * 3 * H), dhw.subarray(r * 3 * H)];
          for (const [got, want, name] of [
            [u[j], dr, 'dr'],
            [w[j], dr, 'dr (hidden)'],
            [u[H + j], dz, 'dz'],
            [w[H + j], dz, 'dz (hidden)'],
            [u[2 * H + j], dn, 'dn'],
            [w[2 * H + j], dn * rr, 'dn·r (hidden)'],
            [dh[k], g * z, 'dh'],
          ] as const)
            near(got!, want, scale, `${what}: ${name}`);
        }
      }
    }
  });
});
