// unfold (im2col) and fold (col2im) over 1, 2 or 3 spatial axes: the kernels behind convolution and
// pooling. Each (n, c) plane is independent, so the planes are spread over the pool.
#include <algorithm>
#include <cstring>
#include <vector>

#include "window.h"

namespace strata::STRATA_ISA_NS {

namespace {

template <class T>
void unfoldTyped(const View& out, const View& x, const WindowSpec& w, double padValue) {
  Geometry g(x, w);
  const T* px = static_cast<const T*>(x.data);
  T* po = static_cast<T*>(out.data) + out.offset;
  pool().parallelFor(g.n * g.c, 1, [&](long p0, long p1) {
    for (long plane = p0; plane < p1; plane++)
      unfoldPlane(po + plane * g.colsSize(), g.positions, px, x, g, plane / g.c, plane % g.c, T(padValue));
  });
}

template <class T>
void foldTyped(const View& out, const View& cols, const WindowSpec& w) {
  Geometry g(out, w);
  T* po = static_cast<T*>(out.data);
  const T* pc = static_cast<const T*>(cols.data) + cols.offset;
  // out is a fresh contiguous tensor: clear it, then every plane sums its own taps (no two threads
  // write one plane).
  std::memset(po + out.offset, 0, sizeof(T) * out.size());
  pool().parallelFor(g.n * g.c, 1, [&](long p0, long p1) {
    for (long plane = p0; plane < p1; plane++)
      foldPlane(po, pc + plane * g.colsSize(), g.positions, out, g, plane / g.c, plane % g.c);
  });
}

// One row of taps against one row of windows: window i reads xp[src + i·step] (Step, when not 0, is
// step known at compile time).
template <class T, long Step>
inline void maxRow(T* __restrict best, int32_t* __restrict where, const T* __restrict xp, long src, long lo,
                   long hi, long step) {
  const long st = Step ? Step : step;
  for (long i = lo; i < hi; i++) {
    const T v = xp[src + i * st];
    const bool take = (where[i] < 0) | (v > best[i]) | ((v != v) & (best[i] == best[i]));
    best[i] = take ? v : best[i];
    where[i] = take ? int32_t(src + i * st) : where[i];
  }
}

// Without padding every window lies inside the plane, and tap t of window o reads corner[o] + taps[t]:
// one long loop over all the plane's windows per tap, which the compiler vectorises with gathers.
template <class T>
inline void maxPlaneInside(const T* __restrict xp, T* __restrict best, int32_t* __restrict where,
                           const std::vector<int32_t>& corner, const std::vector<int32_t>& taps) {
  const long positions = long(corner.size());
  const int32_t* __restrict at = corner.data();
  for (long o = 0; o < positions; o++) {
    best[o] = xp[at[o] + taps[0]];
    where[o] = at[o] + taps[0];
  }
  for (size_t t = 1; t < taps.size(); t++) {
    const int32_t off = taps[t];
    for (long o = 0; o < positions; o++) {
      const int32_t f = at[o] + off;
      const T v = xp[f];
      const bool take = (v > best[o]) | ((v != v) & (best[o] == best[o]));
      best[o] = take ? v : best[o];
      where[o] = take ? f : where[o];
    }
  }
}

// Max pooling of every (n, c) plane: the first largest tap of each window (a NaN beats any number, as
// in PyTorch) and its flat position in the plane, which is where the backward pass sends the gradient.
// A strided plane is copied out first, so that storage positions are flat positions. With padding, the
// taps are walked as unfold walks them, a row of taps updating a row of windows at a time, so the inner
// loop is again a branch-free compare-and-select.
template <class T>
void maxPoolTyped(const View& out, const View& argmax, const View& x, const WindowSpec& w) {
  View flat = x;
  flat.offset = 0;
  for (int i = x.rank - 1, stride = 1; i >= 0; stride *= x.shape[i--]) flat.strides[i] = stride;
  const Geometry g(flat, w), strided(x, w);
  const bool packed = isContiguous(x);
  const long planeSize = g.planeSize(), step = g.s[2];
  const T* px = static_cast<const T*>(x.data);
  T* po = static_cast<T*>(out.data) + out.offset;
  int32_t* pi = static_cast<int32_t*>(argmax.data) + argmax.offset;
  const bool inside = g.p[0] == 0 && g.p[1] == 0 && g.p[2] == 0;
  std::vector<int32_t> corner, taps;
  if (inside) {
    for (long o0 = 0; o0 < g.out[0]; o0++)
      for (long o1 = 0; o1 < g.out[1]; o1++)
        for (long o2 = 0; o2 < g.out[2]; o2++)
          corner.push_back(int32_t((o0 * g.s[0] * g.in[1] + o1 * g.s[1]) * g.in[2] + o2 * g.s[2]));
    for (long k0 = 0; k0 < g.k[0]; k0++)
      for (long k1 = 0; k1 < g.k[1]; k1++)
        for (long k2 = 0; k2 < g.k[2]; k2++)
          taps.push_back(int32_t((k0 * g.d[0] * g.in[1] + k1 * g.d[1]) * g.in[2] + k2 * g.d[2]));
  }
  pool().parallelFor(g.n * g.c, 1, [&](long p0, long p1) {
    std::vector<T> copy(packed ? 0 : planeSize);
    for (long plane = p0; plane < p1; plane++) {
      const long n = plane / g.c, c = plane % g.c;
      const T* xp = px + x.offset + plane * planeSize;
      if (!packed) {
        const long base = x.offset + n * x.strides[0] + c * x.strides[1];
        long at = 0;
        for (long i0 = 0; i0 < g.in[0]; i0++)
          for (long i1 = 0; i1 < g.in[1]; i1++)
            for (long i2 = 0; i2 < g.in[2]; i2++)
              copy[at++] = px[base + i0 * strided.st[0] + i1 * strided.st[1] + i2 * strided.st[2]];
        xp = copy.data();
      }
      T* op = po + plane * g.positions;
      int32_t* ip = pi + plane * g.positions;
      if (inside) {
        maxPlaneInside(xp, op, ip, corner, taps);
        continue;
      }
      for (long i = 0; i < g.positions; i++) ip[i] = -1;
      eachRow(flat, g, 0, 0, [&](long, long window, long src, long lo, long hi) {
        T* best = op + window;
        int32_t* where = ip + window;
        // The common strides as constants, so that the loads become plain vector loads and shuffles.
        if (step == 2) maxRow<T, 2>(best, where, xp, src, lo, hi, step);
        else if (step == 1) maxRow<T, 1>(best, where, xp, src, lo, hi, step);
        else maxRow<T, 0>(best, where, xp, src, lo, hi, step);
      });
    }
  });
}

}  // namespace

bool maxPool(const View& out, const View& argmax, const View& x, const WindowSpec& w) {
  Geometry g(x, w);
  const long size = g.n * g.c * g.positions;
  if (out.size() != size || argmax.size() != size || argmax.dtype != kI32) return false;
  switch (x.dtype) {
    case kF32: maxPoolTyped<float>(out, argmax, x, w); break;
    case kF64: maxPoolTyped<double>(out, argmax, x, w); break;
    case kI32: maxPoolTyped<int32_t>(out, argmax, x, w); break;
  }
  return true;
}

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

}  // namespace strata::STRATA_ISA_NS
