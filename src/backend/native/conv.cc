// Convolution as matrix products over blocks of samples: a block's windows are unfolded side by side
// into a columns buffer [C·K, B·L] that stays with the thread, and one BLAS call multiplies it by the
// weight [O, C·K]. Small feature maps get blocks of several samples, so each product is big enough for
// BLAS to run near its peak; nothing the size of the whole batch's columns is ever allocated. The two
// gradients walk the same way: the input's is Wᵀ·dY folded back onto the images, the weight's dY·colsᵀ.
#include <algorithm>
#include <cstring>
#include <vector>

#include "blas.h"
#include "window.h"

namespace strata {

namespace {

// A thread's buffers, kept between calls (the pool's threads live as long as the process): slot 0 holds
// columns, slot 1 a block's outputs or output gradients laid out as [O, B·L].
template <class T, int Slot>
T* scratch(long n) {
  thread_local std::vector<T> buffer;
  if (long(buffer.size()) < n) buffer.resize(n);
  return buffer.data();
}

// A grouped convolution's sizes: N samples, C input and O output channels in G groups, K taps, L positions.
struct Shape {
  long N, C, O, G, K, L;
  long og() const { return O / G; }
  long ckg() const { return C / G * K; }
};

// Columns per product to aim for (enough that BLAS amortises its packing), and the most elements a
// block's columns may hold (so that they are still in cache when BLAS reads them back).
constexpr long kBlockColumns = 4096, kBlockElements = 1 << 18;

// A block of samples [n0, n0 + count) whose columns are laid out [C·K, count·L] (rows ld = count·L apart);
// a product covers columns [l0, l1) of it.
struct Block {
  long n0, count, ld, l0, l1;
};

// Runs a pass over the batch. With at least as many samples as threads, each thread takes a share of the
// samples in blocks through its own buffers; with fewer, samples go one at a time, with the planes of
// prepare and finish spread over the pool and the product split into column ranges. prepare(n, j, c,
// cols, ld) fills plane c of the block's j-th sample, product(t, block, cols) runs thread t's products,
// finish(n, j, c, cols, ld) reads plane c of sample j back.
template <class T, class Prepare, class Product, class Finish>
void byBlock(const Shape& s, Prepare prepare, Product product, Finish finish) {
  const int threads = pool().size();
  if (s.N >= threads) {
    pool().run(threads, [&](int t) {
      const long begin = s.N * t / threads, end = s.N * (t + 1) / threads;
      const long sample = std::max(1L, s.C * s.K * s.L);
      const long per = std::max(1L, std::min({end - begin, kBlockColumns / std::max(1L, s.L), kBlockElements / sample}));
      T* cols = scratch<T, 0>(s.C * s.K * per * s.L);
      for (long n0 = begin; n0 < end; n0 += per) {
        const long count = std::min(per, end - n0), ld = count * s.L;
        for (long j = 0; j < count; j++)
          for (long c = 0; c < s.C; c++) prepare(n0 + j, j, c, cols, ld);
        product(t, Block{n0, count, ld, 0, ld}, cols);
        for (long j = 0; j < count; j++)
          for (long c = 0; c < s.C; c++) finish(n0 + j, j, c, cols, ld);
      }
    });
    return;
  }
  T* cols = scratch<T, 0>(s.C * s.K * s.L);
  for (long n = 0; n < s.N; n++) {
    pool().parallelFor(s.C, 1, [&](long c0, long c1) {
      for (long c = c0; c < c1; c++) prepare(n, 0, c, cols, s.L);
    });
    pool().run(threads, [&](int t) {
      const long l0 = s.L * t / threads, l1 = s.L * (t + 1) / threads;
      if (l0 < l1) product(t, Block{n, 1, s.L, l0, l1}, cols);
    });
    pool().parallelFor(s.C, 1, [&](long c0, long c1) {
      for (long c = c0; c < c1; c++) finish(n, 0, c, cols, s.L);
    });
  }
}

// The block's slice of a [N, O, L] tensor as a matrix [O, count·L]: the tensor itself for one sample,
// otherwise gathered into the thread's buffer.
template <class T>
const T* gatherBlock(const T* y, const Shape& s, const Block& b) {
  if (b.count == 1) return y + b.n0 * s.O * s.L;
  T* m = scratch<T, 1>(s.O * b.ld);
  for (long j = 0; j < b.count; j++)
    for (long o = 0; o < s.O; o++) std::memcpy(m + o * b.ld + j * s.L, y + ((b.n0 + j) * s.O + o) * s.L, sizeof(T) * s.L);
  return m;
}

template <class T>
void forwardTyped(const View& out, const View& x, const View& w, const Geometry& g, const Shape& s) {
  const T* px = static_cast<const T*>(x.data);
  const T* pw = static_cast<const T*>(w.data) + w.offset;
  T* py = static_cast<T*>(out.data) + out.offset;
  byBlock<T>(
      s,
      [&](long n, long j, long c, T* cols, long ld) {
        unfoldPlane(cols + c * g.taps * ld + j * s.L, ld, px, x, g, n, c, T(0));
      },
      [&](int, const Block& b, T* cols) {
        // One sample writes straight into y; a block goes through [O, count·L] and is scattered after.
        T* dst = b.count == 1 ? py + b.n0 * s.O * s.L : scratch<T, 1>(s.O * b.ld);
        for (long gi = 0; gi < s.G; gi++)
          gemm<T>(false, false, s.og(), b.l1 - b.l0, s.ckg(), pw + gi * s.og() * s.ckg(), s.ckg(),
                  cols + gi * s.ckg() * b.ld + b.l0, b.ld, dst + gi * s.og() * b.ld + b.l0, b.ld);
        if (b.count > 1)
          for (long j = 0; j < b.count; j++)
            for (long o = 0; o < s.O; o++)
              std::memcpy(py + ((b.n0 + j) * s.O + o) * s.L, dst + o * b.ld + j * s.L, sizeof(T) * s.L);
      },
      [](long, long, long, T*, long) {});
}

template <class T>
void backwardInputTyped(const View& dx, const View& gy, const View& w, const Geometry& g, const Shape& s) {
  T* pdx = static_cast<T*>(dx.data);
  const T* pg = static_cast<const T*>(gy.data) + gy.offset;
  const T* pw = static_cast<const T*>(w.data) + w.offset;
  const long inPlane = g.planeSize();
  byBlock<T>(
      s, [](long, long, long, T*, long) {},
      [&](int, const Block& b, T* cols) {
        const T* dy = gatherBlock(pg, s, b);
        for (long gi = 0; gi < s.G; gi++)
          gemm<T>(true, false, s.ckg(), b.l1 - b.l0, s.og(), pw + gi * s.og() * s.ckg(), s.ckg(),
                  dy + gi * s.og() * b.ld + b.l0, b.ld, cols + gi * s.ckg() * b.ld + b.l0, b.ld);
      },
      [&](long n, long j, long c, T* cols, long ld) {
        std::memset(pdx + dx.offset + (n * s.C + c) * inPlane, 0, sizeof(T) * inPlane);
        foldPlane(pdx, cols + c * g.taps * ld + j * s.L, ld, dx, g, n, c);
      });
}

template <class T>
void backwardWeightTyped(const View& dw, const View& x, const View& gy, const Geometry& g, const Shape& s) {
  const T* px = static_cast<const T*>(x.data);
  const T* pg = static_cast<const T*>(gy.data) + gy.offset;
  T* pdw = static_cast<T*>(dw.data) + dw.offset;
  const long size = s.O * s.ckg();
  // Thread 0 sums into dw itself, the others into partial sums added at the end.
  const int threads = pool().size();
  std::vector<T> partial(size * (threads - 1), T(0));
  std::memset(pdw, 0, sizeof(T) * size);
  byBlock<T>(
      s,
      [&](long n, long j, long c, T* cols, long ld) {
        unfoldPlane(cols + c * g.taps * ld + j * s.L, ld, px, x, g, n, c, T(0));
      },
      [&](int t, const Block& b, T* cols) {
        const T* dy = gatherBlock(pg, s, b);
        T* sum = t == 0 ? pdw : partial.data() + (t - 1) * size;
        for (long gi = 0; gi < s.G; gi++)
          gemm<T>(false, true, s.og(), s.ckg(), b.l1 - b.l0, dy + gi * s.og() * b.ld + b.l0, b.ld,
                  cols + gi * s.ckg() * b.ld + b.l0, b.ld, sum + gi * s.og() * s.ckg(), s.ckg(), true);
      },
      [](long, long, long, T*, long) {});
  for (int t = 1; t < threads; t++) {
    const T* p = partial.data() + (t - 1) * size;
    for (long i = 0; i < size; i++) pdw[i] += p[i];
  }
}

// The shape of a convolution of x (or dx) [N, C, ...S] by w [O, C/G, ...k] into y [N, O, ...L], checked
// against the window: false when the sizes disagree or an operand that must be contiguous is not.
bool shapeOf(const View& x, const View& w, const View& y, const Geometry& g, long groups, Shape* s) {
  if (groups < 1 || x.rank != y.rank || w.rank != x.rank || !isContiguous(w) || !isContiguous(y)) return false;
  *s = {g.n, g.c, w.shape[0], groups, g.taps, g.positions};
  if (s->C % groups || s->O % groups || w.shape[1] != s->C / groups || y.shape[0] != s->N || y.shape[1] != s->O)
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
  if (!isContiguous(dx) || !shapeOf(dx, w, gy, g, groups, &s)) return false;
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
