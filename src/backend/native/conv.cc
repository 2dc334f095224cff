// Convolution as matrix products over blocks of samples: a block's windows are unfolded side by side
// into a columns buffer [C·K, B·L] that stays with the thread, and one GEMM multiplies it by the
// weight [O, C·K], adding the bias and applying ReLU as it stores. Small feature maps get blocks of
// several samples, so each product is big enough for GEMM to run near its peak; nothing the size of
// the whole batch's columns is ever allocated. The two gradients walk the same way: the input's is
// Wᵀ·dY folded back onto the images, the weight's dY·colsᵀ.
#include <algorithm>
#include <utility>
#include <cstring>
#include <vector>

#include "gemm.h"
#include "window.h"
#include "winograd.h"

namespace strata::STRATA_ISA_NS {

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

// Columns per product to aim for (enough that GEMM amortises its packing), and the most elements a
// unit's columns may hold (so that they are still in cache when GEMM reads them back).
constexpr long kBlockColumns = 4096, kBlockElements = 1 << 18;

// A unit of work: samples [n0, n0 + count), and of each the rows of windows [r0, r1) (a row being the
// windows along the last axis; all rows when count > 1). Its columns are laid out [C·K, ld], sample j's
// `width` columns starting at j·width; a product covers columns [l0, l1) of them.
struct Unit {
  long n0, count, r0, r1, width, ld, l0, l1;
};

// Runs a pass over the batch. With at least as many samples as threads, each thread takes a share of the
// samples through its own buffers, several small samples or a slice of rows of a large one at a time;
// with fewer, samples go one at a time, the planes of prepare and finish spread over the pool and the
// product split into column ranges. prepare(n, j, c, cols, unit) fills plane c of the unit's j-th sample,
// product(t, unit, cols) runs task t's products, finish(n, j, c, cols, unit) reads plane c back.
template <class T, class Prepare, class Product, class Finish>
void byUnit(const Shape& s, const Geometry& g, Prepare prepare, Product product, Finish finish) {
  const int threads = pool().size();
  const long rows = g.out[0] * g.out[1], rowLen = g.out[2], perRow = std::max(1L, s.C * s.K * rowLen);
  auto pass = [&](int t, const Unit& u, T* cols) {
    for (long j = 0; j < u.count; j++)
      for (long c = 0; c < s.C; c++) prepare(u.n0 + j, j, c, cols, u);
    product(t, u, cols);
    for (long j = 0; j < u.count; j++)
      for (long c = 0; c < s.C; c++) finish(u.n0 + j, j, c, cols, u);
  };
  if (s.N >= threads) {
    pool().run(threads, [&](int t) {
      const long begin = s.N * t / threads, end = s.N * (t + 1) / threads;
      if (perRow * rows <= kBlockElements) {
        // Small samples: blocks of several, side by side.
        const long per = std::max(1L, std::min({end - begin, kBlockColumns / std::max(1L, s.L), kBlockElements / (perRow * rows)}));
        T* cols = scratch<T, 0>(perRow * rows * per);
        for (long n0 = begin; n0 < end; n0 += per) {
          const long count = std::min(per, end - n0);
          pass(t, Unit{n0, count, 0, rows, s.L, count * s.L, 0, count * s.L}, cols);
        }
      } else {
        // Large samples: slices of rows, one at a time.
        const long slice = std::max(1L, kBlockElements / perRow);
        T* cols = scratch<T, 0>(perRow * std::min(slice, rows));
        for (long n = begin; n < end; n++)
          for (long r0 = 0; r0 < rows; r0 += slice) {
            const long r1 = std::min(rows, r0 + slice), width = (r1 - r0) * rowLen;
            pass(t, Unit{n, 1, r0, r1, width, width, 0, width}, cols);
          }
      }
    });
    return;
  }
  T* cols = scratch<T, 0>(s.C * s.K * s.L);
  for (long n = 0; n < s.N; n++) {
    const Unit u{n, 1, 0, rows, s.L, s.L, 0, s.L};
    pool().parallelFor(s.C, 1, [&](long c0, long c1) {
      for (long c = c0; c < c1; c++) prepare(n, 0, c, cols, u);
    });
    pool().run(threads, [&](int t) {
      Unit part = u;
      part.l0 = s.L * t / threads;
      part.l1 = s.L * (t + 1) / threads;
      if (part.l0 < part.l1) product(t, part, cols);
    });
    pool().parallelFor(s.C, 1, [&](long c0, long c1) {
      for (long c = c0; c < c1; c++) finish(n, 0, c, cols, u);
    });
  }
}

// A [N, O, L] tensor's part in a unit as a matrix [O, ·] with its leading dimension: the tensor itself
// for one sample (its columns from the unit's first row on), otherwise gathered into the thread's buffer.
template <class T>
std::pair<const T*, long> unitRows(const T* y, const Shape& s, const Geometry& g, const Unit& u) {
  if (u.count == 1) return {y + u.n0 * s.O * s.L + u.r0 * g.out[2], s.L};
  T* m = scratch<T, 1>(s.O * u.ld);
  for (long j = 0; j < u.count; j++)
    for (long o = 0; o < s.O; o++) std::memcpy(m + o * u.ld + j * s.L, y + ((u.n0 + j) * s.O + o) * s.L, sizeof(T) * s.L);
  return {m, u.ld};
}

template <class T>
void unfoldUnit(T* cols, const T* px, const View& x, const Geometry& g, const Shape& s, long n, long j, long c,
                const Unit& u) {
  unfoldPlane(cols + c * s.K * u.ld + j * u.width, u.ld, px, x, g, n, c, T(0), u.r0, u.r1);
}

template <class T>
void forwardTyped(const View& out, const View& x, const View& w, const View* bias, bool relu, const Geometry& g,
                  const Shape& s) {
  const T* px = static_cast<const T*>(x.data);
  const T* pw = static_cast<const T*>(w.data) + w.offset;
  const T* pb = bias ? static_cast<const T*>(bias->data) + bias->offset : nullptr;
  T* py = static_cast<T*>(out.data) + out.offset;
  byUnit<T>(
      s, g, [&](long n, long j, long c, T* cols, const Unit& u) { unfoldUnit(cols, px, x, g, s, n, j, c, u); },
      [&](int, const Unit& u, T* cols) {
        // One sample writes straight into y; a block goes through [O, count·L] and is scattered after.
        const bool direct = u.count == 1;
        T* dst = direct ? py + u.n0 * s.O * s.L + u.r0 * g.out[2] : scratch<T, 1>(s.O * u.ld);
        const long ldd = direct ? s.L : u.ld;
        Epilogue<T> e;
        e.relu = relu;
        for (long gi = 0; gi < s.G; gi++) {
          e.rowBias = pb ? pb + gi * s.og() : nullptr;
          gemm<T>(s.og(), u.l1 - u.l0, s.ckg(), Operand<T>{pw + gi * s.og() * s.ckg(), s.ckg(), 1},
                  Operand<T>{cols + gi * s.ckg() * u.ld + u.l0, u.ld, 1}, dst + gi * s.og() * ldd + u.l0, ldd, e);
        }
        if (!direct)
          for (long j = 0; j < u.count; j++)
            for (long o = 0; o < s.O; o++)
              std::memcpy(py + ((u.n0 + j) * s.O + o) * s.L, dst + o * u.ld + j * s.L, sizeof(T) * s.L);
      },
      [](long, long, long, T*, const Unit&) {});
}

template <class T>
void backwardInputTyped(const View& dx, const View& gy, const View& w, const Geometry& g, const Shape& s) {
  T* pdx = static_cast<T*>(dx.data);
  const T* pg = static_cast<const T*>(gy.data) + gy.offset;
  const T* pw = static_cast<const T*>(w.data) + w.offset;
  const long inPlane = g.planeSize();
  byUnit<T>(
      s, g, [](long, long, long, T*, const Unit&) {},
      [&](int, const Unit& u, T* cols) {
        const auto [dy, ld] = unitRows(pg, s, g, u);
        for (long gi = 0; gi < s.G; gi++)
          gemm<T>(true, false, s.ckg(), u.l1 - u.l0, s.og(), pw + gi * s.og() * s.ckg(), s.ckg(),
                  dy + gi * s.og() * ld + u.l0, ld, cols + gi * s.ckg() * u.ld + u.l0, u.ld);
      },
      [&](long n, long j, long c, T* cols, const Unit& u) {
        // A sample's first unit clears its planes; the units of one sample run in order on one thread.
        if (u.r0 == 0) std::memset(pdx + dx.offset + (n * s.C + c) * inPlane, 0, sizeof(T) * inPlane);
        foldPlane(pdx, cols + c * s.K * u.ld + j * u.width, u.ld, dx, g, n, c, u.r0, u.r1);
      });
}

template <class T>
void backwardWeightTyped(const View& dw, const View& x, const View& gy, const Geometry& g, const Shape& s) {
  const T* px = static_cast<const T*>(x.data);
  const T* pg = static_cast<const T*>(gy.data) + gy.offset;
  T* pdw = static_cast<T*>(dw.data) + dw.offset;
  const long size = s.O * s.ckg();
  // Task 0 sums into dw itself, the others into partial sums added at the end.
  const int threads = pool().size();
  std::vector<T> partial(size * (threads - 1), T(0));
  std::memset(pdw, 0, sizeof(T) * size);
  byUnit<T>(
      s, g, [&](long n, long j, long c, T* cols, const Unit& u) { unfoldUnit(cols, px, x, g, s, n, j, c, u); },
      [&](int t, const Unit& u, T* cols) {
        const auto [dy, ld] = unitRows(pg, s, g, u);
        T* sum = t == 0 ? pdw : partial.data() + (t - 1) * size;
        for (long gi = 0; gi < s.G; gi++)
          gemm<T>(false, true, s.og(), s.ckg(), u.l1 - u.l0, dy + gi * s.og() * ld + u.l0, ld,
                  cols + gi * s.ckg() * u.ld + u.l0, u.ld, sum + gi * s.og() * s.ckg(), s.ckg(), true);
      },
      [](long, long, long, T*, const Unit&) {});
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

// Whether a convolution takes Winograd's route. Not for float32 under bf16 precision: the transforms
// add and subtract several inputs (and weights) into each product's operands, so rounding those to
// bfloat16 costs more accuracy than rounding the inputs themselves; im2col + GEMM rounds only those.
bool winograd(const Geometry& g, const Shape& s, DType dtype) {
  return winogradFits(g, s.C, s.O, s.G) && (dtype != kF32 || matmulPrecision() != Precision::kBf16);
}

}  // namespace

bool convForward(const View& out, const View& x, const View& w, const View* bias, bool relu, const WindowSpec& win,
                 long groups) {
  Geometry g(x, win);
  Shape s;
  if (!shapeOf(x, w, out, g, groups, &s)) return false;
  if (bias && (bias->rank != 1 || bias->shape[0] != s.O || bias->dtype != x.dtype || !isContiguous(*bias))) return false;
  if (winograd(g, s, x.dtype)) winogradForward(out, x, w, bias, relu, g);
  else if (x.dtype == kF32) forwardTyped<float>(out, x, w, bias, relu, g, s);
  else forwardTyped<double>(out, x, w, bias, relu, g, s);
  return true;
}

bool convBackwardInput(const View& dx, const View& gy, const View& w, const WindowSpec& win, long groups) {
  Geometry g(dx, win);
  Shape s;
  if (!isContiguous(dx) || !shapeOf(dx, w, gy, g, groups, &s)) return false;
  if (winograd(g, s, dx.dtype)) winogradBackwardInput(dx, gy, w, g);
  else if (dx.dtype == kF32) backwardInputTyped<float>(dx, gy, w, g, s);
  else backwardInputTyped<double>(dx, gy, w, g, s);
  return true;
}

bool convBackwardWeight(const View& dw, const View& x, const View& gy, const WindowSpec& win, long groups) {
  Geometry g(x, win);
  Shape s;
  if (!shapeOf(x, dw, gy, g, groups, &s)) return false;
  if (winograd(g, s, x.dtype)) winogradBackwardWeight(dw, x, gy, g);
  else if (x.dtype == kF32) backwardWeightTyped<float>(dw, x, gy, g, s);
  else backwardWeightTyped<double>(dw, x, gy, g, s);
  return true;
}

}  // namespace strata::STRATA_ISA_NS
