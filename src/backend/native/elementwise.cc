// Elementwise kernels: copy, unary, binary and where over strided views, with axes coalesced so that
// the inner loop runs over unit strides whenever the layout allows (and so vectorises).
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels.h"
#include "vecmath.h"

namespace strata::STRATA_ISA_NS {

namespace {

constexpr long kGrain = 1 << 17;  // elements per thread below which threading costs more than it saves

// Up to four views walked together in row-major order of one shape.
struct Walk {
  int rank = 0;
  int n = 0;
  long shape[kMaxRank];
  long strides[4][kMaxRank];
  long offset[4];

  Walk(const long* s, int r, std::initializer_list<const View*> views) {
    for (const View* v : views) {
      offset[n] = v->offset;
      for (int i = 0; i < r; i++) strides[n][i] = v->strides[i];
      n++;
    }
    // Drop size-1 axes and merge neighbours that are contiguous with each other in every view.
    for (int i = 0; i < r; i++) {
      if (s[i] == 1) continue;
      bool merge = rank > 0;
      for (int k = 0; k < n && merge; k++) merge = strides[k][rank - 1] == strides[k][i] * s[i];
      if (merge) {
        shape[rank - 1] *= s[i];
        for (int k = 0; k < n; k++) strides[k][rank - 1] = strides[k][i];
      } else {
        shape[rank] = s[i];
        for (int k = 0; k < n; k++) strides[k][rank] = strides[k][i];
        rank++;
      }
    }
    if (rank == 0) {
      shape[0] = 1;
      for (int k = 0; k < n; k++) strides[k][0] = 1;
      rank = 1;
    }
  }

  long size() const {
    long t = 1;
    for (int i = 0; i < rank; i++) t *= shape[i];
    return t;
  }

  // Calls row(offsets, count, innerStrides) for the runs of the inner axis covering elements [e0, e1).
  template <class Row>
  void range(long e0, long e1, Row row) const {
    long idx[kMaxRank];
    long off[4];
    long rest = e0;
    for (int k = 0; k < n; k++) off[k] = offset[k];
    for (int i = rank - 1; i >= 0; i--) {
      idx[i] = rest % shape[i];
      rest /= shape[i];
      for (int k = 0; k < n; k++) off[k] += idx[i] * strides[k][i];
    }
    const int last = rank - 1;
    long inner[4];
    for (int k = 0; k < n; k++) inner[k] = strides[k][last];
    for (long e = e0; e < e1;) {
      long count = std::min(shape[last] - idx[last], e1 - e);
      row(off, count, inner);
      e += count;
      for (int k = 0; k < n; k++) off[k] += count * inner[k];
      idx[last] += count;
      for (int i = last; i > 0 && idx[i] == shape[i]; i--) {
        for (int k = 0; k < n; k++) off[k] -= shape[i] * strides[k][i] - strides[k][i - 1];
        idx[i] = 0;
        idx[i - 1]++;
      }
    }
  }

  template <class Row>
  void run(Row row) const {
    pool().parallelFor(size(), kGrain, [&](long a, long b) { range(a, b, row); });
  }
};

template <class T>
T* at(const View& v) {
  return static_cast<T*>(v.data);
}

// erf to double precision by its all-positive series (as in the js backend's math.ts).
inline double erfSeries(double x) {
  if (std::isnan(x)) return x;
  double ax = std::fabs(x);
  if (ax >= 6) return x > 0 ? 1 : -1;
  double x2 = ax * ax, term = ax, sum = ax;
  for (int n = 1; n < 400; n++) {
    term *= 2 * x2 / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  double r = 2 / std::sqrt(M_PI) * std::exp(-x2) * sum;
  return x < 0 ? -r : r;
}

template <class T>
inline T sgn(T x) {
  return x > 0 ? T(1) : x < 0 ? T(-1) : x;
}

template <class T, class F>
void unaryLoop(const View& out, const View& x, F f) {
  Walk w(x.shape, x.rank, {&out, &x});
  T* o = at<T>(out);
  const T* in = at<T>(x);
  w.run([&](const long* off, long count, const long* s) {
    T* po = o + off[0];
    const T* px = in + off[1];
    if (s[0] == 1 && s[1] == 1)
      for (long i = 0; i < count; i++) po[i] = f(px[i]);
    else
      for (long i = 0; i < count; i++) po[i * s[0]] = f(px[i * s[1]]);
  });
}

// exp, log, tanh and sigmoid, written over lanes (vecmath.h): float32 runs of unit stride a vector at a
// time, other layouts and float64 one element at a time.
template <class T, class F>
void unaryLanes(const View& out, const View& x, F f) {
  using V = std::conditional_t<std::is_same_v<T, float>, Floats, One<T>>;
  Walk w(x.shape, x.rank, {&out, &x});
  T* o = at<T>(out);
  const T* in = at<T>(x);
  w.run([&](const long* off, long count, const long* s) {
    T* po = o + off[0];
    const T* px = in + off[1];
    if (s[0] == 1 && s[1] == 1)
      for (long i = 0; i < count; i += V::kWidth) {
        const long n = std::min(V::kWidth, count - i);
        f(V::load(px + i, n)).store(po + i, n);
      }
    else
      for (long i = 0; i < count; i++) po[i * s[0]] = f(One<T>(px[i * s[1]])).v;
  });
}

template <class T>
void unaryFloat(int op, const View& out, const View& x) {
  switch (op) {
    case kNeg: return unaryLoop<T>(out, x, [](T v) { return -v; });
    case kExp: return unaryLanes<T>(out, x, [](auto v) { return exp(v); });
    case kLog: return unaryLanes<T>(out, x, [](auto v) { return log(v); });
    case kSqrt: return unaryLoop<T>(out, x, [](T v) { return std::sqrt(v); });
    case kAbs: return unaryLoop<T>(out, x, [](T v) { return std::fabs(v); });
    case kSign: return unaryLoop<T>(out, x, [](T v) { return sgn(v); });
    case kSin: return unaryLoop<T>(out, x, [](T v) { return std::sin(v); });
    case kCos: return unaryLoop<T>(out, x, [](T v) { return std::cos(v); });
    case kTanh: return unaryLanes<T>(out, x, [](auto v) { return tanh(v); });
    case kSigmoid: return unaryLanes<T>(out, x, [](auto v) { return sigmoid(v); });
    case kRelu: return unaryLoop<T>(out, x, [](T v) { return v > 0 || v != v ? v : T(0); });
    case kErf: return unaryLoop<T>(out, x, [](T v) { return T(erfSeries(v)); });
    case kLog1p: return unaryLoop<T>(out, x, [](T v) { return std::log1p(v); });
  }
}

void unaryInt(int op, const View& out, const View& x) {
  using T = int32_t;
  switch (op) {
    case kNeg: return unaryLoop<T>(out, x, [](T v) { return T(-v); });
    case kAbs: return unaryLoop<T>(out, x, [](T v) { return T(v < 0 ? -v : v); });
    case kSign: return unaryLoop<T>(out, x, [](T v) { return sgn(v); });
    case kRelu: return unaryLoop<T>(out, x, [](T v) { return v > 0 ? v : T(0); });
  }
}

template <class T, class U, class F>
void binaryLoop(const View& out, const View& a, const View& b, F f) {
  Walk w(out.shape, out.rank, {&out, &a, &b});
  U* o = at<U>(out);
  const T* pa = at<T>(a);
  const T* pb = at<T>(b);
  w.run([&](const long* off, long count, const long* s) {
    U* po = o + off[0];
    const T* x = pa + off[1];
    const T* y = pb + off[2];
    if (s[0] == 1 && s[1] == 1 && s[2] == 1)
      for (long i = 0; i < count; i++) po[i] = f(x[i], y[i]);
    else if (s[0] == 1 && s[1] == 1 && s[2] == 0) {
      const T yv = *y;
      for (long i = 0; i < count; i++) po[i] = f(x[i], yv);
    } else if (s[0] == 1 && s[1] == 0 && s[2] == 1) {
      const T xv = *x;
      for (long i = 0; i < count; i++) po[i] = f(xv, y[i]);
    } else
      for (long i = 0; i < count; i++) po[i * s[0]] = f(x[i * s[1]], y[i * s[2]]);
  });
}

template <class T>
T maxNan(T x, T y) {
  return (x != x || y != y) ? std::numeric_limits<T>::quiet_NaN() : (x > y ? x : y);
}
template <class T>
T minNan(T x, T y) {
  return (x != x || y != y) ? std::numeric_limits<T>::quiet_NaN() : (x < y ? x : y);
}

template <class T>
void binaryTyped(int op, const View& out, const View& a, const View& b) {
  using I = int32_t;
  switch (op) {
    case kAdd: return binaryLoop<T, T>(out, a, b, [](T x, T y) { return T(x + y); });
    case kSub: return binaryLoop<T, T>(out, a, b, [](T x, T y) { return T(x - y); });
    case kMul: return binaryLoop<T, T>(out, a, b, [](T x, T y) { return T(x * y); });
    case kDiv: return binaryLoop<T, T>(out, a, b, [](T x, T y) { return T(x / y); });
    case kPow: return binaryLoop<T, T>(out, a, b, [](T x, T y) { return T(std::pow(double(x), double(y))); });
    case kMaximum:
      if constexpr (std::is_integral_v<T>) return binaryLoop<T, T>(out, a, b, [](T x, T y) { return x > y ? x : y; });
      else return binaryLoop<T, T>(out, a, b, [](T x, T y) { return maxNan(x, y); });
    case kMinimum:
      if constexpr (std::is_integral_v<T>) return binaryLoop<T, T>(out, a, b, [](T x, T y) { return x < y ? x : y; });
      else return binaryLoop<T, T>(out, a, b, [](T x, T y) { return minNan(x, y); });
    case kEq: return binaryLoop<T, I>(out, a, b, [](T x, T y) { return I(x == y); });
    case kNe: return binaryLoop<T, I>(out, a, b, [](T x, T y) { return I(x != y); });
    case kLt: return binaryLoop<T, I>(out, a, b, [](T x, T y) { return I(x < y); });
    case kLe: return binaryLoop<T, I>(out, a, b, [](T x, T y) { return I(x <= y); });
    case kGt: return binaryLoop<T, I>(out, a, b, [](T x, T y) { return I(x > y); });
    case kGe: return binaryLoop<T, I>(out, a, b, [](T x, T y) { return I(x >= y); });
  }
}

// JavaScript's ToInt32, as an Int32Array store does it: truncate, wrap modulo 2^32, NaN and ±inf to 0.
inline int32_t toInt32(double v) {
  if (!std::isfinite(v)) return 0;
  double m = std::fmod(std::trunc(v), 4294967296.0);
  if (m < 0) m += 4294967296.0;
  return int32_t(uint32_t(m));
}

template <class U, class T>
void copyTyped(const View& out, const View& x) {
  Walk w(out.shape, out.rank, {&out, &x});
  U* o = at<U>(out);
  const T* in = at<T>(x);
  w.run([&](const long* off, long count, const long* s) {
    U* po = o + off[0];
    const T* px = in + off[1];
    if constexpr (std::is_same_v<U, T>) {
      if (s[0] == 1 && s[1] == 1) {
        std::memcpy(po, px, count * sizeof(T));
        return;
      }
    }
    if constexpr (std::is_same_v<U, int32_t> && !std::is_same_v<T, int32_t>)
      for (long i = 0; i < count; i++) po[i * s[0]] = toInt32(px[i * s[1]]);
    else
      for (long i = 0; i < count; i++) po[i * s[0]] = U(px[i * s[1]]);
  });
}

template <class U>
void copyTo(const View& out, const View& x) {
  switch (x.dtype) {
    case kF32: return copyTyped<U, float>(out, x);
    case kF64: return copyTyped<U, double>(out, x);
    case kI32: return copyTyped<U, int32_t>(out, x);
  }
}

template <class C, class T>
void whereTyped(const View& out, const View& cond, const View& a, const View& b) {
  Walk w(out.shape, out.rank, {&out, &cond, &a, &b});
  T* o = at<T>(out);
  const C* pc = at<C>(cond);
  const T* pa = at<T>(a);
  const T* pb = at<T>(b);
  w.run([&](const long* off, long count, const long* s) {
    T* po = o + off[0];
    const C* c = pc + off[1];
    const T* x = pa + off[2];
    const T* y = pb + off[3];
    // The common layouts (everything contiguous, or one branch a broadcast scalar, as in ReLU's gradient)
    // get loops the compiler vectorises.
    if (s[0] == 1 && s[1] == 1 && s[2] == 1 && s[3] == 1)
      for (long i = 0; i < count; i++) po[i] = c[i] != 0 ? x[i] : y[i];
    else if (s[0] == 1 && s[1] == 1 && s[2] == 1 && s[3] == 0) {
      const T yv = *y;
      for (long i = 0; i < count; i++) po[i] = c[i] != 0 ? x[i] : yv;
    } else if (s[0] == 1 && s[1] == 1 && s[2] == 0 && s[3] == 1) {
      const T xv = *x;
      for (long i = 0; i < count; i++) po[i] = c[i] != 0 ? xv : y[i];
    } else
      for (long i = 0; i < count; i++) po[i * s[0]] = c[i * s[1]] != 0 ? x[i * s[2]] : y[i * s[3]];
  });
}

template <class T>
void whereCond(const View& out, const View& cond, const View& a, const View& b) {
  switch (cond.dtype) {
    case kF32: return whereTyped<float, T>(out, cond, a, b);
    case kF64: return whereTyped<double, T>(out, cond, a, b);
    case kI32: return whereTyped<int32_t, T>(out, cond, a, b);
  }
}

}  // namespace

void copy(const View& out, const View& x) {
  switch (out.dtype) {
    case kF32: return copyTo<float>(out, x);
    case kF64: return copyTo<double>(out, x);
    case kI32: return copyTo<int32_t>(out, x);
  }
}

void unary(int op, const View& out, const View& x) {
  switch (x.dtype) {
    case kF32: return unaryFloat<float>(op, out, x);
    case kF64: return unaryFloat<double>(op, out, x);
    case kI32: return unaryInt(op, out, x);
  }
}

void binary(int op, const View& out, const View& a, const View& b) {
  switch (a.dtype) {
    case kF32: return binaryTyped<float>(op, out, a, b);
    case kF64: return binaryTyped<double>(op, out, a, b);
    case kI32: return binaryTyped<int32_t>(op, out, a, b);
  }
}

void where(const View& out, const View& cond, const View& a, const View& b) {
  switch (out.dtype) {
    case kF32: return whereCond<float>(out, cond, a, b);
    case kF64: return whereCond<double>(out, cond, a, b);
    case kI32: return whereCond<int32_t>(out, cond, a, b);
  }
}

}  // namespace strata::STRATA_ISA_NS
