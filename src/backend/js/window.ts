import { type View, type Window, windowCount } from '../backend.js';

/** A window's geometry padded to three spatial axes (leading axes of size 1), as the loops below use it. */
interface Geometry {
  n: number;
  c: number;
  /** Input sizes, kernel sizes, output sizes, strides, paddings, dilations: three each. */
  in: number[];
  k: number[];
  out: number[];
  s: number[];
  p: number[];
  d: number[];
  /** Taps per window and window positions. */
  taps: number;
  positions: number;
}

export function geometry(shape: readonly number[], w: Window): Geometry {
  const lead = 3 - w.kernel.length;
  const pad3 = (v: readonly number[], fill: number) => [...new Array<number>(lead).fill(fill), ...v];
  const spatial = pad3(shape.slice(2), 1);
  const k = pad3(w.kernel, 1);
  const s = pad3(w.stride, 1);
  const p = pad3(w.padding, 0);
  const d = pad3(w.dilation, 1);
  const out = spatial.map((size, i) => windowCount(size, k[i]!, s[i]!, p[i]!, d[i]!));
  return {
    n: shape[0]!,
    c: shape[1]!,
    in: spatial,
    k,
    out,
    s,
    p,
    d,
    taps: k[0]! * k[1]! * k[2]!,
    positions: out[0]! * out[1]! * out[2]!,
  };
}

/** Strides of a view's spatial axes, padded to three like the geometry. */
function spatialStrides(v: View): number[] {
  const st = v.strides.slice(2);
  return [...new Array<number>(3 - st.length).fill(0), ...st];
}

/**
 * Visits every (tap, position) pair of every (n, c) plane, with the storage position of the input element
 * the tap reads, or -1 where it falls in the padding. `at` is the pair's index in [N, C, K, L] order.
 */
export function eachTap(x: View, g: Geometry, visit: (at: number, src: number) => void): void {
  const [st0, st1, st2] = spatialStrides(x);
  let at = 0;
  for (let n = 0; n < g.n; n++) {
    for (let c = 0; c < g.c; c++) {
      const base = x.offset + n * x.strides[0]! + c * x.strides[1]!;
      for (let k0 = 0; k0 < g.k[0]!; k0++)
        for (let k1 = 0; k1 < g.k[1]!; k1++)
          for (let k2 = 0; k2 < g.k[2]!; k2++)
            for (let o0 = 0; o0 < g.out[0]!; o0++) {
              const i0 = o0 * g.s[0]! - g.p[0]! + k0 * g.d[0]!;
              for (let o1 = 0; o1 < g.out[1]!; o1++) {
                const i1 = o1 * g.s[1]! - g.p[1]! + k1 * g.d[1]!;
                for (let o2 = 0; o2 < g.out[2]!; o2++) {
                  const i2 = o2 * g.s[2]! - g.p[2]! + k2 * g.d[2]!;
                  const inside =
                    i0 >= 0 && i0 < g.in[0]! && i1 >= 0 && i1 < g.in[1]! && i2 >= 0 && i2 < g.in[2]!;
                  visit(at++, inside ? base + i0 * st0! + i1 * st1! + i2 * st2! : -1);
                }
              }
            }
    }
  }
}

/**
 * Max pooling: for every window the first largest tap (a NaN beats any number, as in PyTorch) into out,
 * and its flat position within the (n, c) plane into argmax. Taps in the padding are skipped.
 */
export function maxPoolPlanes(out: View, argmax: View, x: View, g: Geometry): void {
  const [st0, st1, st2] = spatialStrides(x);
  let at = 0;
  for (let n = 0; n < g.n; n++) {
    for (let c = 0; c < g.c; c++) {
      const base = x.offset + n * x.strides[0]! + c * x.strides[1]!;
      for (let o0 = 0; o0 < g.out[0]!; o0++)
        for (let o1 = 0; o1 < g.out[1]!; o1++)
          for (let o2 = 0; o2 < g.out[2]!; o2++, at++) {
            let best = 0;
            let where = -1;
            for (let k0 = 0; k0 < g.k[0]!; k0++) {
              const i0 = o0 * g.s[0]! - g.p[0]! + k0 * g.d[0]!;
              if (i0 < 0 || i0 >= g.in[0]!) continue;
              for (let k1 = 0; k1 < g.k[1]!; k1++) {
                const i1 = o1 * g.s[1]! - g.p[1]! + k1 * g.d[1]!;
                if (i1 < 0 || i1 >= g.in[1]!) continue;
                for (let k2 = 0; k2 < g.k[2]!; k2++) {
                  const i2 = o2 * g.s[2]! - g.p[2]! + k2 * g.d[2]!;
                  if (i2 < 0 || i2 >= g.in[2]!) continue;
                  const v = x.data[base + i0 * st0! + i1 * st1! + i2 * st2!]!;
                  if (where < 0 || v > best || (Number.isNaN(v) && !Number.isNaN(best))) {
                    best = v;
                    where = (i0 * g.in[1]! + i1) * g.in[2]! + i2;
                  }
                }
              }
            }
            out.data[out.offset + at] = best;
            argmax.data[argmax.offset + at] = Math.max(0, where);
          }
    }
  }
}
