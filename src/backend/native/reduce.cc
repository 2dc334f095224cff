// Reductions over any set of axes, arg-extremes along one axis, and the fused row kernels.
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels.h"
#include "vecmath.h"

namespace strata::STRATA_ISA_NS {

namespace {

template <class T>
T* at(const View& v) {
  return static_cast<T*>(v.data);
}

// Accumulates in double whatever the dtype, so that long float32 sums do not drift.
template <class T>
void reduceTyped(int op, const View& out, const View& x, const bool* axes) {
  const int r = x.rank;
  // The output's strides over x's shape: 0 on reduced axes, so positions repeat.
  long ostr[kMaxRank];
  long s = 1;
  for (int i = r - 1; i >= 0; i--) {
    ostr[i] = axes[i] ? 0 : s;
    if (!axes[i]) s *= x.shape[i];
  }
  const long m = out.size();
  const double init = op == kSum ? 0.0 : op == kMax ? -INFINITY : INFINITY;
  const T* px = at<T>(x);
  const long total = x.size();
  const int last = r - 1;
  const long n = r ? x.shape[last] : 1;
  const long xs = r ? x.strides[last] : 0, os = r ? ostr[last] : 0;
  const bool isMax = op == kMax;
  // Folds rows [r0, r1) of x (runs along its last axis) into acc.
  auto rows = [&](long r0, long r1, double* acc) {
    long idx[kMaxRank] = {};
    long off = x.offset, o = 0, rest = r0;
    for (int i = last - 1; i >= 0; i--) {
      idx[i] = rest % x.shape[i];
      rest /= x.shape[i];
      off += idx[i] * x.strides[i];
      o += idx[i] * ostr[i];
    }
    for (long row = r0; row < r1; row++) {
      double* a = acc + o;
      if (op == kSum) {
        if (os == 0) {
          double t = *a;
          for (long i = 0; i < n; i++) t += px[off + i * xs];
          *a = t;
        } else
          for (long i = 0; i < n; i++) a[i] += px[off + i * xs];
      } else {
        for (long i = 0; i < n; i++) {
          double v = px[off + i * xs];
          double& t = a[i * os];
          if (v != v || (isMax ? v > t : v < t)) t = v;
        }
      }
      for (int i = last - 1; i >= 0; i--) {
        idx[i]++;
        off += x.strides[i];
        o += ostr[i];
        if (idx[i] < x.shape[i]) break;
        off -= idx[i] * x.strides[i];
        o -= idx[i] * ostr[i];
        idx[i] = 0;
      }
    }
  };
  const long nrows = n ? total / n : 0;
  // Large inputs: each thread folds its share of the rows into its own accumulators, merged after.
  // (Each thread's accumulators are as large as the output, so a large output stays on one thread.)
  const int threads = total >= (1 << 16) && nrows >= 2 && m <= (1 << 16) ? std::min<long>(pool().size(), nrows) : 1;
  std::vector<std::vector<double>> parts(threads, std::vector<double>(m, init));
  if (total > 0) {
    pool().run(threads, [&](int t) { rows(nrows * t / threads, nrows * (t + 1) / threads, parts[t].data()); });
  }
  std::vector<double>& acc = parts[0];
  for (int t = 1; t < threads; t++) {
    for (long j = 0; j < m; j++) {
      const double v = parts[t][j];
      double& a = acc[j];
      if (op == kSum) a += v;
      else if (v != v || (isMax ? v > a : v < a)) a = v;
    }
  }
  T* po = at<T>(out) + out.offset;
  for (long j = 0; j < m; j++) po[j] = T(acc[j]);
}

template <class T>
void argTyped(bool isMax, const View& out, const View& x, int axis) {
  // Walk every position of the output (x with the axis removed), then scan along the axis.
  View rest = x;
  rest.shape[axis] = 1;
  const long m = out.size();
  const long len = x.shape[axis], step = x.strides[axis];
  const T* px = at<T>(x);
  int32_t* po = at<int32_t>(out) + out.offset;
  pool().parallelFor(m, 4096, [&](long j0, long j1) {
    for (long j = j0; j < j1; j++) {
      long rem = j, off = x.offset;
      for (int i = x.rank - 1; i >= 0; i--) {
        long d = rest.shape[i];
        off += (rem % d) * x.strides[i];
        rem /= d;
      }
      long best = 0;
      T bv = px[off];
      for (long k = 1; k < len && bv == bv; k++) {
        T v = px[off + k * step];
        if (v != v || (isMax ? v > bv : v < bv)) {
          bv = v;
          best = k;
        }
      }
      po[j] = int32_t(best);
    }
  });
}

// Σ exp(x_c - shift) over a row: float32 a vector at a time (the tail one element at a time), summed in
// double, lane by lane.
inline double expSum(const float* x, long n, float shift) {
  constexpr long W = Floats::kWidth;
  double lanes[W] = {};
  float e[W];
  long c = 0;
  for (; c + W <= n; c += W) {
    exp(Floats::load(x + c, W) - shift).store(e, W);
    for (long k = 0; k < W; k++) lanes[k] += e[k];
  }
  double sum = 0;
  for (; c < n; c++) sum += exp(One<float>(x[c] - shift)).v;
  for (double l : lanes) sum += l;
  return sum;
}

inline double expSum(const double* x, long n, double shift) {
  double sum = 0;
  for (long c = 0; c < n; c++) sum += std::exp(x[c] - shift);
  return sum;
}

template <class T>
void logSoftmaxTyped(const View& out, const View& x) {
  const long cols = x.shape[x.rank - 1];
  const long rows = cols ? x.size() / cols : 0;
  const T* px = at<T>(x) + x.offset;
  T* po = at<T>(out) + out.offset;
  pool().parallelFor(rows, std::max<long>(1, 16384 / std::max<long>(1, cols)), [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      const T* xi = px + r * cols;
      T* oi = po + r * cols;
      T mx = -std::numeric_limits<T>::infinity();
      for (long c = 0; c < cols; c++) mx = xi[c] > mx || xi[c] != xi[c] ? xi[c] : mx;
      if (!std::isfinite(mx)) mx = mx != mx ? mx : 0;  // all -inf rows give -inf, not NaN
      const double sum = expSum(xi, cols, mx);
      // (x - max) - log(sum): adding max back first would round away float32 precision at large x.
      const T logSum = T(std::log(sum));
      for (long c = 0; c < cols; c++) oi[c] = (xi[c] - mx) - logSum;
    }
  });
}

// dx = g - exp(y) · Σ g along each row: log-softmax's backward in two passes over the row, where the
// composition takes five over [rows, cols] temporaries.
template <class T>
void logSoftmaxBackwardTyped(const View& dx, const View& g, const View& y) {
  const long cols = y.shape[y.rank - 1];
  const long rows = cols ? y.size() / cols : 0;
  const T* pg = at<T>(g) + g.offset;
  const T* py = at<T>(y) + y.offset;
  T* pd = at<T>(dx) + dx.offset;
  pool().parallelFor(rows, std::max<long>(1, 16384 / std::max<long>(1, cols)), [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      const T* gi = pg + r * cols;
      const T* yi = py + r * cols;
      T* di = pd + r * cols;
      double sum = 0;
      for (long c = 0; c < cols; c++) sum += gi[c];
      const T s = T(sum);
      long c = 0;
      if constexpr (std::is_same_v<T, float>) {
        constexpr long W = Floats::kWidth;
        for (; c + W <= cols; c += W)
          (Floats::load(gi + c, W) - exp(Floats::load(yi + c, W)) * s).store(di + c, W);
      }
      for (; c < cols; c++) di[c] = gi[c] - exp(One<T>(yi[c])).v * s;
    }
  });
}

}  // namespace

void reduce(int op, const View& out, const View& x, const bool* axes) {
  switch (x.dtype) {
    case kF32: return reduceTyped<float>(op, out, x, axes);
    case kF64: return reduceTyped<double>(op, out, x, axes);
    case kI32: return reduceTyped<int32_t>(op, out, x, axes);
  }
}

void argReduce(bool isMax, const View& out, const View& x, int axis) {
  switch (x.dtype) {
    case kF32: return argTyped<float>(isMax, out, x, axis);
    case kF64: return argTyped<double>(isMax, out, x, axis);
    case kI32: return argTyped<int32_t>(isMax, out, x, axis);
  }
}

void logSoftmax(const View& out, const View& x) {
  if (x.dtype == kF32) logSoftmaxTyped<float>(out, x);
  else logSoftmaxTyped<double>(out, x);
}

void logSoftmaxBackward(const View& dx, const View& g, const View& y) {
  if (y.dtype == kF32) logSoftmaxBackwardTyped<float>(dx, g, y);
  else logSoftmaxBackwardTyped<double>(dx, g, y);
}

}  // namespace strata::STRATA_ISA_NS
