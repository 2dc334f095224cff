// A sliding window's geometry and the row walk that unfold, fold, pooling and convolution share.
#pragma once
#include <algorithm>

#include "kernels.h"

namespace strata::STRATA_ISA_NS {

inline long floorDiv(long a, long b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// A window's geometry padded to three spatial axes (leading axes of size 1), as in js/window.ts.
struct Geometry {
  long n, c, in[3], k[3], out[3], s[3], p[3], d[3], st[3], taps, positions;

  Geometry(const View& x, const WindowSpec& w) {
    n = x.shape[0];
    c = x.shape[1];
    const int lead = 3 - w.dims;
    for (int i = 0; i < 3; i++) {
      const int j = i - lead;
      const bool real = j >= 0;
      in[i] = real ? x.shape[2 + j] : 1;
      st[i] = real ? x.strides[2 + j] : 0;
      k[i] = real ? w.kernel[j] : 1;
      s[i] = real ? w.stride[j] : 1;
      p[i] = real ? w.padding[j] : 0;
      d[i] = real ? w.dilation[j] : 1;
      out[i] = std::max(0L, floorDiv(in[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1, s[i]) + 1);
    }
    taps = k[0] * k[1] * k[2];
    positions = out[0] * out[1] * out[2];
  }

  // Elements in one (n, c) plane of the input, and in one plane's columns [K, L].
  long planeSize() const { return in[0] * in[1] * in[2]; }
  long colsSize() const { return taps * positions; }
};

// Calls row(tap, window, src, lo, hi) for every row of taps (one tap, fixed outer window positions) of
// plane (n, c) of x, for the rows of windows [r0, r1) (a row being the windows along the last axis):
// `window` is the index of the row's first window counted from row r0; windows [lo, hi) of the row read
// src + o·s·st (in bounds), the rest fall in the padding (all of them when src is -1). Hoisting the
// bounds out of the inner loop leaves it branch-free, so contiguous rows copy at memory speed.
template <class F>
inline void eachRow(const View& x, const Geometry& g, long n, long c, F row, long r0 = 0, long r1 = -1) {
  if (r1 < 0) r1 = g.out[0] * g.out[1];
  const long base = x.offset + n * x.strides[0] + c * x.strides[1];
  long tap = 0;
  for (long k0 = 0; k0 < g.k[0]; k0++)
    for (long k1 = 0; k1 < g.k[1]; k1++)
      for (long k2 = 0; k2 < g.k[2]; k2++, tap++) {
        const long shift = k2 * g.d[2] - g.p[2];  // i2 = o2·s + shift
        const long lo = std::max(0L, floorDiv(-shift + g.s[2] - 1, g.s[2]));
        const long hi = std::min(g.out[2], floorDiv(g.in[2] - 1 - shift, g.s[2]) + 1);
        for (long r = r0, o0 = r0 / g.out[1], o1 = r0 % g.out[1]; r < r1; r++, o1 = o1 + 1 == g.out[1] ? (o0++, 0) : o1 + 1) {
          const long i0 = o0 * g.s[0] - g.p[0] + k0 * g.d[0];
          const long i1 = o1 * g.s[1] - g.p[1] + k1 * g.d[1];
          const bool inside = i0 >= 0 && i0 < g.in[0] && i1 >= 0 && i1 < g.in[1] && lo < hi;
          row(tap, (r - r0) * g.out[2], inside ? base + i0 * g.st[0] + i1 * g.st[1] + shift * g.st[2] : -1,
              inside ? lo : 0, inside ? hi : 0);
        }
      }
}

// im2col of plane (n, c) of x into o [K, L], whose rows lie ld apart; only window rows [r0, r1) when
// given (then o holds their columns alone).
template <class T>
inline void unfoldPlane(T* o, long ld, const T* px, const View& x, const Geometry& g, long n, long c, T pad,
                        long r0 = 0, long r1 = -1) {
  const long step = g.s[2] * g.st[2], len = g.out[2];
  eachRow(x, g, n, c, [&](long tap, long window, long src, long lo, long hi) {
    T* r = o + tap * ld + window;
    for (long i = 0; i < lo; i++) r[i] = pad;
    if (step == 1)
      for (long i = lo; i < hi; i++) r[i] = px[src + i];
    else
      for (long i = lo; i < hi; i++) r[i] = px[src + i * step];
    for (long i = hi; i < len; i++) r[i] = pad;
  }, r0, r1);
}

// col2im of cols [K, L] (rows ld apart) added into plane (n, c) of `out` (whose layout the geometry was
// made from); only window rows [r0, r1) when given.
template <class T>
inline void foldPlane(T* po, const T* cols, long ld, const View& out, const Geometry& g, long n, long c,
                      long r0 = 0, long r1 = -1) {
  const long step = g.s[2] * g.st[2];
  eachRow(out, g, n, c, [&](long tap, long window, long dst, long lo, long hi) {
    const T* r = cols + tap * ld + window;
    for (long i = lo; i < hi; i++) po[dst + i * step] += r[i];
  }, r0, r1);
}

}  // namespace strata::STRATA_ISA_NS
