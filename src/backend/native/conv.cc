// Convolution as one matrix product per sample: the sample's windows are unfolded into a columns buffer
// [C·K, L] that stays in the thread's cache, and BLAS multiplies it by the weight [O, C·K]. Nothing of
// the size of the whole batch's columns is ever allocated, and the two gradients reuse the same walk:
// the input's is Wᵀ·dY folded back onto the image, the weight's is dY·colsᵀ summed over the samples.
#include <cstring>
#include <vector>

#include "blas.h"
#include "window.h"

namespace strata {

namespace {

bool contiguous(const View& v) {
  long expect = 1;
  for (int i = v.rank - 1; i >= 0; i--) {
    if (v.shape[i] != 1 && v.strides[i] != expect) return false;
    expect *= v.shape[i];
  }
  return true;
}

// One thread's columns buffer, kept between calls (the pool's threads live as long as the process).
template <class T>
T* scratch(long n) {
  thread_local std::vector<T> buffer;
  if (long(buffer.size()) < n) buffer.resize(n);
  return buffer.data();
}

// The sizes of one grouped convolution: C input and O output channels in G groups, K taps, L positions.
struct Shape {
  long N, C, O, G, K, L;
  long cg() const { return C / G; }
  long og() const { return O / G; }
  long ckg() const { return C / G * K; }
};

// Runs a convolution pass sample by sample. With at least as many samples as threads, each thread takes
// whole samples through its own buffer; with fewer, samples go one at a time, the planes of prepare and
// finish spread over the pool and the products split into column blocks. prepare(n, c, cols) fills
// plane c's rows of a sample's columns, product(t, n, cols, l0, l1) does thread t's products over
// columns [l0, l1), finish(n, c, cols) reads plane c's rows back.
template <class T, class Prepare, class Product, class Finish>
void bySample(const Shape& s, Prepare prepare, Product product, Finish finish) {
  const long size = s.C * s.K * s.L;
  const int threads = pool().size();
  if (s.N >= threads) {
    pool().run(threads, [&](int t) {
      T* cols = scratch<T>(size);
      for (long n = s.N * t / threads; n < s.N * (t + 1) / threads; n++) {
        for (long c = 0; c < s.C; c++) prepare(n, c, cols);
        product(t, n, cols, 0L, s.L);
        for (long c = 0; c < s.C; c++) finish(n, c, cols);
      }
    });
    return;
  }
  T* cols = scratch<T>(size);
  for (long n = 0; n < s.N; n++) {
    pool().parallelFor(s.C, 1, [&](long c0, long c1) {
      for (long c = c0; c < c1; c++) prepare(n, c, cols);
    });
    pool().run(threads, [&](int t) { product(t, n, cols, s.L * t / threads, s.L * (t + 1) / threads); });
    pool().parallelFor(s.C, 1, [&](long c0, long c1) {
      for (long c = c0; c < c1; c++) finish(n, c, cols);
    });
  }
}

template <class T>
void forwardTyped(const View& out, const View& x, const View& w, const Geometry& g, const Shape& s) {
  const T* px = static_cast<const T*>(x.data);
  const T* pw = static_cast<const T*>(w.data) + w.offset;
  T* py = static_cast<T*>(out.data) + out.offset;
  const long plane = g.colsSize();
  bySample<T>(
      s, [&](long n, long c, T* cols) { unfoldPlane(cols + c * plane, px, x, g, n, c, T(0)); },
      [&](int, long n, T* cols, long l0, long l1) {
        if (l0 >= l1) return;
        for (long gi = 0; gi < s.G; gi++)
          gemm<T>(false, false, s.og(), l1 - l0, s.ckg(), pw + gi * s.og() * s.ckg(), s.ckg(),
                  cols + gi * s.ckg() * s.L + l0, s.L, py + (n * s.O + gi * s.og()) * s.L + l0, s.L);
      },
      [](long, long, T*) {});
}

template <class T>
void backwardInputTyped(const View& dx, const View& gy, const View& w, const Geometry& g, const Shape& s) {
  T* pdx = static_cast<T*>(dx.data);
  const T* pg = static_cast<const T*>(gy.data) + gy.offset;
  const T* pw = static_cast<const T*>(w.data) + w.offset;
  const long plane = g.colsSize(), inPlane = g.planeSize();
  bySample<T>(
      s, [](long, long, T*) {},
      [&](int, long n, T* cols, long l0, long l1) {
        if (l0 >= l1) return;
        for (long gi = 0; gi < s.G; gi++)
          gemm<T>(true, false, s.ckg(), l1 - l0, s.og(), pw + gi * s.og() * s.ckg(), s.ckg(),
                  pg + (n * s.O + gi * s.og()) * s.L + l0, s.L, cols + gi * s.ckg() * s.L + l0, s.L);
      },
      [&](long n, long c, T* cols) {
        std::memset(pdx + dx.offset + (n * s.C + c) * inPlane, 0, sizeof(T) * inPlane);
        foldPlane(pdx, cols + c * plane, dx, g, n, c);
      });
}

template <class T>
void backwardWeightTyped(const View& dw, const View& x, const View& gy, const Geometry& g, const Shape& s) {
  const T* px = static_cast<const T*>(x.data);
  const T* pg = static_cast<const T*>(gy.data) + gy.offset;
  T* pdw = static_cast<T*>(dw.data) + dw.offset;
  const long plane = g.colsSize(), size = s.O * s.ckg();
  // Thread 0 sums into dw itself, the others into partial sums added at the end.
  const int threads = pool().size();
  std::vector<T> partial(size * (threads - 1), T(0));
  std::memset(pdw, 0, sizeof(T) * size);
  bySample<T>(
      s, [&](long n, long c, T* cols) { unfoldPlane(cols + c * plane, px, x, g, n, c, T(0)); },
      [&](int t, long n, T* cols, long l0, long l1) {
        if (l0 >= l1) return;
        T* sum = t == 0 ? pdw : partial.data() + (t - 1) * size;
        for (long gi = 0; gi < s.G; gi++)
          gemm<T>(false, true, s.og(), s.ckg(), l1 - l0, pg + (n * s.O + gi * s.og()) * s.L + l0, s.L,
                  cols + gi * s.ckg() * s.L + l0, s.L, sum + gi * s.og() * s.ckg(), s.ckg(), true);
      },
      [](long, long, T*) {});
  for (int t = 1; t < threads; t++) {
    const T* p = partial.data() + (t - 1) * size;
    for (long i = 0; i < size; i++) pdw[i] += p[i];
  }
}

// The shape of a convolution of x (or dx) [N, C, ...S] by w [O, C/G, ...k], checked against the window;
// false when the sizes disagree or an operand that must be contiguous is not.
bool shapeOf(const View& x, const View& w, const View& y, const Geometry& g, long groups, Shape* s) {
  if (groups < 1 || x.rank != y.rank || w.rank != x.rank || !contiguous(w) || !contiguous(y)) return false;
  *s = {g.n, g.c, w.shape[0], groups, g.taps, g.positions};
  if (s->C % groups || s->O % groups || w.shape[1] != s->cg() || y.shape[0] != s->N || y.shape[1] != s->O)
    return false;
  return y.size() == s->N * s->O * s->L && w.size() == s->O * s->ckg() && x.dtype == w.dtype &&
         y.dtype == w.dtype && x.dtype != kI32;
}

}  // namespace

bool convForward(const View& out, const View& x, const View& w, const WindowSpec& win, long groups) {
  Geometry g(x, win);
  Shape s;
  if (!shapeOf(x, w, out, g, groups, &s)) return false;
  if (x.dtype == kF32) forwardTyped<float>(out, x, w, g, s);
  else forwardTyped<double>(out, x, w, g, s);
  return true;
}

bool convBackwardInput(const View& dx, const View& gy, const View& w, const WindowSpec& win, long groups) {
  Geometry g(dx, win);
  Shape s;
  if (!contiguous(dx) || !shapeOf(dx, w, gy, g, groups, &s)) return false;
  if (dx.dtype == kF32) backwardInputTyped<float>(dx, gy, w, g, s);
  else backwardInputTyped<double>(dx, gy, w, g, s);
  return true;
}

bool convBackwardWeight(const View& dw, const View& x, const View& gy, const WindowSpec& win, long groups) {
  Geometry g(x, win);
  Shape s;
  if (!shapeOf(x, dw, gy, g, groups, &s)) return false;
  if (x.dtype == kF32) backwardWeightTyped<float>(dw, x, gy, g, s);
  else backwardWeightTyped<double>(dw, x, gy, g, s);
  return true;
}

}  // namespace strata
