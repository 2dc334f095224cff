// unfold (im2col) and fold (col2im) over 1, 2 or 3 spatial axes: the kernels behind convolution and
// pooling. Each (n, c) plane is independent, so the planes are spread over the pool.
#include <algorithm>
#include <cstring>

#include "window.h"

namespace strata {

namespace {

template <class T>
void unfoldTyped(const View& out, const View& x, const WindowSpec& w, double padValue) {
  Geometry g(x, w);
  const T* px = static_cast<const T*>(x.data);
  T* po = static_cast<T*>(out.data) + out.offset;
  pool().parallelFor(g.n * g.c, 1, [&](long p0, long p1) {
    for (long plane = p0; plane < p1; plane++)
      unfoldPlane(po + plane * g.colsSize(), px, x, g, plane / g.c, plane % g.c, T(padValue));
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
      foldPlane(po, pc + plane * g.colsSize(), out, g, plane / g.c, plane % g.c);
  });
}

// Max pooling of every (n, c) plane: the first largest tap of each window (a NaN beats any number, as
// in PyTorch) and its flat position in the plane, which is where the backward pass sends the gradient.
template <class T>
void maxPoolTyped(const View& out, const View& argmax, const View& x, const WindowSpec& w) {
  Geometry g(x, w);
  const T* px = static_cast<const T*>(x.data);
  T* po = static_cast<T*>(out.data) + out.offset;
  int32_t* pi = static_cast<int32_t*>(argmax.data) + argmax.offset;
  pool().parallelFor(g.n * g.c, 1, [&](long p0, long p1) {
    for (long plane = p0; plane < p1; plane++) {
      const long base = x.offset + (plane / g.c) * x.strides[0] + (plane % g.c) * x.strides[1];
      long at = plane * g.positions;
      for (long o0 = 0; o0 < g.out[0]; o0++)
        for (long o1 = 0; o1 < g.out[1]; o1++)
          for (long o2 = 0; o2 < g.out[2]; o2++, at++) {
            T best = T(0);
            long where = -1;
            for (long k0 = 0; k0 < g.k[0]; k0++) {
              const long i0 = o0 * g.s[0] - g.p[0] + k0 * g.d[0];
              if (i0 < 0 || i0 >= g.in[0]) continue;
              for (long k1 = 0; k1 < g.k[1]; k1++) {
                const long i1 = o1 * g.s[1] - g.p[1] + k1 * g.d[1];
                if (i1 < 0 || i1 >= g.in[1]) continue;
                for (long k2 = 0; k2 < g.k[2]; k2++) {
                  const long i2 = o2 * g.s[2] - g.p[2] + k2 * g.d[2];
                  if (i2 < 0 || i2 >= g.in[2]) continue;
                  const T v = px[base + i0 * g.st[0] + i1 * g.st[1] + i2 * g.st[2]];
                  if (where < 0 || v > best || (v != v && best == best)) {
                    best = v;
                    where = (i0 * g.in[1] + i1) * g.in[2] + i2;
                  }
                }
              }
            }
            // Padding of at most half the kernel (checked by the caller) leaves every window a real tap.
            po[at] = best;
            pi[at] = int32_t(std::max(0L, where));
          }
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

}  // namespace strata
