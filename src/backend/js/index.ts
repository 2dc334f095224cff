import { fail } from '../../errors.js';
import type { Backend, View } from '../backend.js';
import { binaryFns, unaryFns } from './math.js';
import { offsets, positions, viewSize } from './strided.js';
import { eachTap, geometry, maxPoolPlanes } from './window.js';

/**
 * The reference backend: plain loops over typed arrays, float64-capable, runnable in a browser. Every
 * other backend is compared against it, so clarity comes before speed here — except in matmul, which
 * decides whether the reference can train a real network at all.
 */
export const jsBackend: Backend = {
  name: 'js',
  describe: () => 'pure TypeScript reference kernels, 1 thread',

  copy(out, x) {
    const n = viewSize(out);
    const po = positions(out);
    const px = positions(x);
    const od = out.data;
    const xd = x.data;
    const intOut = od instanceof Int32Array;
    for (let i = 0; i < n; i++) {
      const v = xd[px ? px[i]! : x.offset + i]!;
      od[po ? po[i]! : out.offset + i] = intOut ? Math.trunc(v) : v;
    }
  },

  unary(op, out, x) {
    const f = unaryFns[op];
    const n = viewSize(out);
    const px = positions(x);
    const [od, xd, oo, xo] = [out.data, x.data, out.offset, x.offset];
    // The common ops written out: a call through the table of many functions is not inlined.
    if (op === 'exp') for (let i = 0; i < n; i++) od[oo + i] = Math.exp(xd[px ? px[i]! : xo + i]!);
    else if (op === 'log') for (let i = 0; i < n; i++) od[oo + i] = Math.log(xd[px ? px[i]! : xo + i]!);
    else if (op === 'neg') for (let i = 0; i < n; i++) od[oo + i] = -xd[px ? px[i]! : xo + i]!;
    else if (op === 'tanh') for (let i = 0; i < n; i++) od[oo + i] = Math.tanh(xd[px ? px[i]! : xo + i]!);
    else for (let i = 0; i < n; i++) od[oo + i] = f(xd[px ? px[i]! : xo + i]!);
  },

  binary(op, out, a, b) {
    const f = binaryFns[op];
    const n = viewSize(out);
    const pa = positions(a);
    const pb = positions(b);
    const [od, ad, bd, oo, ao, bo] = [out.data, a.data, b.data, out.offset, a.offset, b.offset];
    // The four arithmetic ops written out, as in unary.
    if (op === 'add')
      for (let i = 0; i < n; i++) od[oo + i] = ad[pa ? pa[i]! : ao + i]! + bd[pb ? pb[i]! : bo + i]!;
    else if (op === 'sub')
      for (let i = 0; i < n; i++) od[oo + i] = ad[pa ? pa[i]! : ao + i]! - bd[pb ? pb[i]! : bo + i]!;
    else if (op === 'mul')
      for (let i = 0; i < n; i++) od[oo + i] = ad[pa ? pa[i]! : ao + i]! * bd[pb ? pb[i]! : bo + i]!;
    else if (op === 'div')
      for (let i = 0; i < n; i++) od[oo + i] = ad[pa ? pa[i]! : ao + i]! / bd[pb ? pb[i]! : bo + i]!;
    else for (let i = 0; i < n; i++) od[oo + i] = f(ad[pa ? pa[i]! : ao + i]!, bd[pb ? pb[i]! : bo + i]!);
  },

  where(out, cond, a, b) {
    const n = viewSize(out);
    const pc = offsets(cond);
    const pa = offsets(a);
    const pb = offsets(b);
    for (let i = 0; i < n; i++) {
      out.data[out.offset + i] = cond.data[pc[i]!] !== 0 ? a.data[pa[i]!]! : b.data[pb[i]!]!;
    }
  },

  reduce(op, out, x, axes) {
    const m = viewSize(out);
    // Accumulate in float64 whatever the dtype, so long float32 sums do not drift.
    const acc = new Float64Array(m).fill(op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity);
    const px = offsets(x);
    const target = offsets(keepDimsView(out, x, axes));
    const n = px.length;
    const xd = x.data;
    for (let i = 0; i < n; i++) {
      const v = xd[px[i]!]!;
      const j = target[i]!;
      const a = acc[j]!;
      if (op === 'sum') acc[j] = a + v;
      else if (Number.isNaN(v) || (op === 'max' ? v > a : v < a)) acc[j] = v;
    }
    for (let j = 0; j < m; j++) out.data[out.offset + j] = acc[j]!;
  },

  argReduce(op, out, x, axis) {
    const len = x.shape[axis]!;
    if (len === 0) fail(op, 'cannot take the arg-extreme of an empty axis');
    const m = viewSize(out);
    const best = new Float64Array(m).fill(Number.NaN);
    const bestIdx = new Int32Array(m).fill(-1);
    const px = offsets(x);
    const target = offsets(keepDimsView(out, x, [axis]));
    const along = offsets({ data: x.data, shape: x.shape, strides: unitAlong(x.shape, axis), offset: 0 });
    for (let i = 0; i < px.length; i++) {
      const v = x.data[px[i]!]!;
      const j = target[i]!;
      const b = best[j]!;
      // The first NaN wins, as in PyTorch; otherwise the first strict extreme.
      const better =
        bestIdx[j] === -1 || (!Number.isNaN(b) && (Number.isNaN(v) || (op === 'argmax' ? v > b : v < b)));
      if (better) {
        best[j] = v;
        bestIdx[j] = along[i]!;
      }
    }
    for (let j = 0; j < m; j++) out.data[out.offset + j] = bestIdx[j]!;
  },

  matmul(out, a, b) {
    const r = a.shape.length;
    const M = a.shape[r - 2]!;
    const K = a.shape[r - 1]!;
    const N = b.shape[r - 1]!;
    const batch = a.shape.slice(0, r - 2);
    const aBase = offsets({ ...a, shape: batch, strides: a.strides.slice(0, r - 2) });
    const bBase = offsets({ ...b, shape: batch, strides: b.strides.slice(0, r - 2) });
    const [as0, as1] = [a.strides[r - 2]!, a.strides[r - 1]!];
    const [bs0, bs1] = [b.strides[r - 2]!, b.strides[r - 1]!];
    for (let p = 0; p < aBase.length; p++) {
      gemm(
        out.data,
        out.offset + p * M * N,
        a.data,
        aBase[p]!,
        as0,
        as1,
        b.data,
        bBase[p]!,
        bs0,
        bs1,
        M,
        K,
        N,
      );
    }
  },

  gather(out, x, axis, index) {
    const pi = offsets(index);
    const pxBase = offsets({ ...x, shape: index.shape, strides: withAxisStride(x.strides, axis, 0) });
    const len = x.shape[axis]!;
    const stride = x.strides[axis]!;
    for (let i = 0; i < pi.length; i++) {
      const k = index.data[pi[i]!]!;
      if (k < 0 || k >= len) fail('gather', `index ${k} is out of range for axis ${axis} of size ${len}`);
      out.data[out.offset + i] = x.data[pxBase[i]! + k * stride]!;
    }
  },

  unfold(out, x, window, padValue) {
    const g = geometry(x.shape, window);
    eachTap(x, g, (at, src) => {
      out.data[out.offset + at] = src < 0 ? padValue : x.data[src]!;
    });
  },

  fold(out, cols, window) {
    const g = geometry(out.shape, window);
    const pc = offsets(cols);
    out.data.fill(0, out.offset, out.offset + viewSize(out));
    eachTap(out, g, (at, dst) => {
      if (dst >= 0) out.data[dst] += cols.data[pc[at]!]!;
    });
  },

  maxPool(out, argmax, x, window) {
    maxPoolPlanes(out, argmax, x, geometry(x.shape, window));
  },

  scatterAdd(out, axis, index, src) {
    const pi = offsets(index);
    const ps = offsets(src);
    const poBase = offsets({ ...out, shape: index.shape, strides: withAxisStride(out.strides, axis, 0) });
    const len = out.shape[axis]!;
    const stride = out.strides[axis]!;
    for (let i = 0; i < pi.length; i++) {
      const k = index.data[pi[i]!]!;
      if (k < 0 || k >= len) fail('scatterAdd', `index ${k} is out of range for axis ${axis} of size ${len}`);
      out.data[poBase[i]! + k * stride] += src.data[ps[i]!]!;
    }
  },
};

/**
 * One product o[M×N] = a[M×K] · b[K×N] over strided operands. Each output is summed in double, in k
 * order, as a plain dot product would; 4×4 blocks of outputs are kept in locals so each element loaded
 * from a or b serves four products — three to four times the speed of one output at a time.
 */
function gemm(
  od: View['data'],
  oo: number,
  ad: View['data'],
  ao: number,
  as0: number,
  as1: number,
  bd: View['data'],
  bo: number,
  bs0: number,
  bs1: number,
  M: number,
  K: number,
  N: number,
): void {
  const M4 = M - (M % 4);
  const N4 = N - (N % 4);
  for (let i = 0; i < M4; i += 4) {
    const a0 = ao + i * as0;
    const a1 = a0 + as0;
    const a2 = a1 + as0;
    const a3 = a2 + as0;
    for (let j = 0; j < N4; j += 4) {
      let [c00, c01, c02, c03, c10, c11, c12, c13] = [0, 0, 0, 0, 0, 0, 0, 0];
      let [c20, c21, c22, c23, c30, c31, c32, c33] = [0, 0, 0, 0, 0, 0, 0, 0];
      let pa = 0;
      let pb = bo + j * bs1;
      for (let k = 0; k < K; k++) {
        const x0 = ad[a0 + pa]!;
        const x1 = ad[a1 + pa]!;
        const x2 = ad[a2 + pa]!;
        const x3 = ad[a3 + pa]!;
        const y0 = bd[pb]!;
        const y1 = bd[pb + bs1]!;
        const y2 = bd[pb + 2 * bs1]!;
        const y3 = bd[pb + 3 * bs1]!;
        pa += as1;
        pb += bs0;
        c00 += x0 * y0;
        c01 += x0 * y1;
        c02 += x0 * y2;
        c03 += x0 * y3;
        c10 += x1 * y0;
        c11 += x1 * y1;
        c12 += x1 * y2;
        c13 += x1 * y3;
        c20 += x2 * y0;
        c21 += x2 * y1;
        c22 += x2 * y2;
        c23 += x2 * y3;
        c30 += x3 * y0;
        c31 += x3 * y1;
        c32 += x3 * y2;
        c33 += x3 * y3;
      }
      let o = oo + i * N + j;
      [od[o], od[o + 1], od[o + 2], od[o + 3]] = [c00, c01, c02, c03];
      o += N;
      [od[o], od[o + 1], od[o + 2], od[o + 3]] = [c10, c11, c12, c13];
      o += N;
      [od[o], od[o + 1], od[o + 2], od[o + 3]] = [c20, c21, c22, c23];
      o += N;
      [od[o], od[o + 1], od[o + 2], od[o + 3]] = [c30, c31, c32, c33];
    }
  }
  // The rows and columns left over, one output at a time.
  for (let i = 0; i < M; i++) {
    for (let j = i < M4 ? N4 : 0; j < N; j++) {
      let s = 0;
      const ai = ao + i * as0;
      const bj = bo + j * bs1;
      for (let k = 0; k < K; k++) s += ad[ai + k * as1]! * bd[bj + k * bs0]!;
      od[oo + i * N + j] = s;
    }
  }
}

/** A view of the (keep-dims) output over x's shape: reduced axes get stride 0, so positions repeat. */
function keepDimsView(out: View, x: View, axes: readonly number[]): View {
  const strides: number[] = [];
  let s = 1;
  for (let i = x.shape.length - 1; i >= 0; i--) {
    strides[i] = axes.includes(i) ? 0 : s;
    if (!axes.includes(i)) s *= x.shape[i]!;
  }
  return { data: out.data, shape: x.shape, strides, offset: 0 };
}

/** Strides that make offsets() yield each element's coordinate along one axis. */
function unitAlong(shape: readonly number[], axis: number): number[] {
  return shape.map((_, i) => (i === axis ? 1 : 0));
}

function withAxisStride(strides: readonly number[], axis: number, s: number): number[] {
  return strides.map((v, i) => (i === axis ? s : v));
}
