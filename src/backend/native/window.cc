// unfold (im2col) and fold (col2im) over 1, 2 or 3 spatial axes: the kernels behind convolution and
// pooling. Each (n, c) plane is independent, so the planes are spread over the pool.
#include <algorithm>
#include <cstring>

#include "kernels.h"

namespace strata {

namespace {

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
};

// Calls row(at, src, lo, hi) for every row of taps (fixed tap, fixed outer window positions) of plane
// (n, c): positions [lo, hi) along the last axis read src + o·s·st (in bounds); the rest fall in the
// padding (and every position does when src is -1). Hoisting the bounds out of the inner loop leaves it
// branch-free, so contiguous rows copy at memory speed.
template <class F>
inline void eachRow(const View& x, const Geometry& g, long n, long c, F row) {
  const long base = x.offset + n * x.strides[0] + c * x.strides[1];
  long at = (n * g.c + c) * g.taps * g.positions;
  for (long k0 = 0; k0 < g.k[0]; k0++)
    for (long k1 = 0; k1 < g.k[1]; k1++)
      for (long k2 = 0; k2 < g.k[2]; k2++) {
        const long shift = k2 * g.d[2] - g.p[2];  // i2 = o2·s + shift
        const long lo = std::max(0L, floorDiv(-shift + g.s[2] - 1, g.s[2]));
        const long hi = std::min(g.out[2], floorDiv(g.in[2] - 1 - shift, g.s[2]) + 1);
        for (long o0 = 0; o0 < g.out[0]; o0++) {
          const long i0 = o0 * g.s[0] - g.p[0] + k0 * g.d[0];
          for (long o1 = 0; o1 < g.out[1]; o1++, at += g.out[2]) {
            const long i1 = o1 * g.s[1] - g.p[1] + k1 * g.d[1];
            const bool inside = i0 >= 0 && i0 < g.in[0] && i1 >= 0 && i1 < g.in[1] && lo < hi;
            row(at, inside ? base + i0 * g.st[0] + i1 * g.st[1] + shift * g.st[2] : -1, inside ? lo : 0, inside ? hi : 0);
          }
        }
      }
}

template <class T>
void unfoldTyped(const View& out, const View& x, const WindowSpec& w, double padValue) {
  Geometry g(x, w);
  const T* px = static_cast<const T*>(x.data);
  T* po = static_cast<T*>(out.data) + out.offset;
  const T pad = T(padValue);
  const long step = g.s[2] * g.st[2], len = g.out[2];
  pool().parallelFor(g.n * g.c, 1, [&](long p0, long p1) {
    for (long plane = p0; plane < p1; plane++)
      eachRow(x, g, plane / g.c, plane % g.c, [&](long at, long src, long lo, long hi) {
        T* o = po + at;
        for (long i = 0; i < lo; i++) o[i] = pad;
        if (step == 1)
          for (long i = lo; i < hi; i++) o[i] = px[src + i];
        else
          for (long i = lo; i < hi; i++) o[i] = px[src + i * step];
        for (long i = hi; i < len; i++) o[i] = pad;
      });
  });
}

template <class T>
void foldTyped(const View& out, const View& cols, const WindowSpec& w) {
  Geometry g(out, w);
  T* po = static_cast<T*>(out.data);
  const T* pc = static_cast<const T*>(cols.data) + cols.offset;
  const long step = g.s[2] * g.st[2];
  // out is a fresh contiguous tensor: clear it, then every plane sums its own taps (no two threads
  // write one plane).
  std::memset(po + out.offset, 0, sizeof(T) * out.size());
  pool().parallelFor(g.n * g.c, 1, [&](long p0, long p1) {
    for (long plane = p0; plane < p1; plane++)
      eachRow(out, g, plane / g.c, plane % g.c, [&](long at, long dst, long lo, long hi) {
        const T* c = pc + at;
        for (long i = lo; i < hi; i++) po[dst + i * step] += c[i];
      });
  });
}

}  // namespace

bool unfold(const View& out, const View& x, const WindowSpec& w, double padValue) {
  Geometry g(x, w);
  if (out.size() != g.n * g.c * g.taps * g.positions) return false;
  switch (x.dtype) {
    case kF32: unfoldTyped<float>(out, x, w, padValue); break;
    case kF64: unfoldTyped<double>(out, x, w, padValue); break;
    case kI32: unfoldTyped<int32_t>(out, x, w, padValue); break;
  }
  return true;
}

bool fold(const View& out, const View& cols, const WindowSpec& w) {
  Geometry g(out, w);
  if (cols.size() != g.n * g.c * g.taps * g.positions) return false;
  switch (out.dtype) {
    case kF32: foldTyped<float>(out, cols, w); break;
    case kF64: foldTyped<double>(out, cols, w); break;
    case kI32: foldTyped<int32_t>(out, cols, w); break;
  }
  return true;
}

}  // namespace strata
