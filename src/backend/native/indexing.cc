// gather / scatterAdd along one axis, and the optimizers' fused one-pass updates.
#include <atomic>
#include <cmath>

#include "kernels.h"

namespace strata::STRATA_ISA_NS {

namespace {

// Visits the positions of `index` in row-major order, over a range [p0, p1) of its first axis, tracking
// the storage positions in index, in the other view `v` (with the gather/scatter axis pinned to 0) and,
// if given, in a third view `w` of index's shape: f(e, vOff, iOff, wOff) with e the row-major position.
template <class F>
void walk(const View& index, const View& v, const View* w, int axis, long p0, long p1, F f) {
  const int r = index.rank;
  long idx[kMaxRank] = {};
  idx[0] = p0;
  long inner = 1;
  for (int i = 1; i < r; i++) inner *= index.shape[i];
  long vo = v.offset + (axis == 0 ? 0 : p0 * v.strides[0]);
  long io = index.offset + p0 * index.strides[0];
  long wo = w ? w->offset + p0 * w->strides[0] : 0;
  for (long e = p0 * inner, end = p1 * inner; e < end; e++) {
    f(e, vo, io, wo);
    for (int i = r - 1; i >= 0; i--) {
      idx[i]++;
      if (i != axis) vo += v.strides[i];
      io += index.strides[i];
      if (w) wo += w->strides[i];
      if (idx[i] < index.shape[i] || i == 0) break;
      if (i != axis) vo -= idx[i] * v.strides[i];
      io -= idx[i] * index.strides[i];
      if (w) wo -= idx[i] * w->strides[i];
      idx[i] = 0;
    }
  }
}

// Rows of the first axis can be handled by different threads when they never write the same place:
// always for gather, and for scatterAdd unless it scatters along that axis.
template <class F>
long parallelRows(const View& index, bool safe, F rows) {
  if (index.rank == 0 || index.size() == 0) return index.size() == 0 ? -1 : rows(0, 1);
  std::atomic<long> bad{-1};
  auto run = [&](long p0, long p1) {
    long b = rows(p0, p1);
    long expected = -1;
    if (b >= 0) bad.compare_exchange_strong(expected, b);
  };
  if (safe && index.size() >= (1 << 14)) pool().parallelFor(index.shape[0], 1, run);
  else run(0, index.shape[0]);
  return bad.load();
}

template <class T>
long gatherTyped(const View& out, const View& x, int axis, const View& index) {
  const T* px = static_cast<const T*>(x.data);
  T* po = static_cast<T*>(out.data) + out.offset;
  const int32_t* pi = static_cast<const int32_t*>(index.data);
  const long len = x.shape[axis], step = x.strides[axis];
  return parallelRows(index, true, [&](long p0, long p1) {
    long bad = -1;
    walk(index, x, nullptr, axis, p0, p1, [&](long e, long xo, long io, long) {
      const int32_t k = pi[io];
      if (k < 0 || k >= len) {
        if (bad < 0) bad = e;
        return;
      }
      po[e] = px[xo + k * step];
    });
    return bad;
  });
}

template <class T>
long scatterTyped(const View& out, int axis, const View& index, const View& src) {
  T* po = static_cast<T*>(out.data);
  const T* ps = static_cast<const T*>(src.data);
  const int32_t* pi = static_cast<const int32_t*>(index.data);
  const long len = out.shape[axis], step = out.strides[axis];
  return parallelRows(index, axis != 0, [&](long p0, long p1) {
    long bad = -1;
    walk(index, out, &src, axis, p0, p1, [&](long e, long oo, long io, long so) {
      const int32_t k = pi[io];
      if (k < 0 || k >= len) {
        if (bad < 0) bad = e;
        return;
      }
      po[oo + k * step] += ps[so];
    });
    return bad;
  });
}

}  // namespace

long gather(const View& out, const View& x, int axis, const View& index) {
  switch (x.dtype) {
    case kF32: return gatherTyped<float>(out, x, axis, index);
    case kF64: return gatherTyped<double>(out, x, axis, index);
    default: return gatherTyped<int32_t>(out, x, axis, index);
  }
}

long scatterAdd(const View& out, int axis, const View& index, const View& src) {
  switch (out.dtype) {
    case kF32: return scatterTyped<float>(out, axis, index, src);
    case kF64: return scatterTyped<double>(out, axis, index, src);
    default: return scatterTyped<int32_t>(out, axis, index, src);
  }
}

// The same maths as sgdUpdate in src/optim/updates.ts, in one threaded pass.
void sgdUpdate(float* p, const float* g, float* buf, long n, double lr, double momentum, double dampening,
               bool nesterov, double weightDecay, bool first) {
  const float flr = float(lr), mu = float(momentum), damp = float(1 - dampening), wd = float(weightDecay);
  pool().parallelFor(n, 1 << 16, [=](long i0, long i1) {
    // Captured by value and restrict-qualified, so that the loop vectorises.
    float* __restrict pp = p;
    const float* __restrict pg = g;
    float* __restrict pb = buf;
    for (long i = i0; i < i1; i++) {
      float d = pg[i] + wd * pp[i];
      if (pb) {
        const float b = first ? d : mu * pb[i] + damp * d;
        pb[i] = b;
        d = nesterov ? d + mu * b : b;
      }
      pp[i] -= flr * d;
    }
  });
}

// The same maths as adamUpdate in src/optim/updates.ts, in one threaded pass.
void adamUpdate(float* p, const float* g, float* m, float* v, float* vMax, long n, double lr, double beta1,
                double beta2, double eps, double weightDecay, bool decoupled, long step) {
  const float stepSize = float(lr / (1 - std::pow(beta1, double(step))));
  const float bc2 = float(std::sqrt(1 - std::pow(beta2, double(step))));
  const float decay = decoupled ? float(1 - lr * weightDecay) : 1.0f;
  const float l2 = decoupled ? 0.0f : float(weightDecay);
  // 1 - beta in double, then rounded, as PyTorch passes alpha = 1 - beta1 and value = 1 - beta2: 1 - float(0.999)
  // is 1.29e-5 smaller than float(1 - 0.999), which scaled every step by 1 + 6.4e-6 (by 1 - 6.8e-4 at beta2 = 0.99999).
  const float b1 = float(beta1), b2 = float(beta2), a1 = float(1 - beta1), a2 = float(1 - beta2), e = float(eps);
  pool().parallelFor(n, 1 << 15, [=](long i0, long i1) {
    // Captured by value and restrict-qualified, so that the loop vectorises.
    float* __restrict pp = p;
    const float* __restrict pg = g;
    float* __restrict pm = m;
    float* __restrict pv = v;
    float* __restrict pmax = vMax;
    for (long i = i0; i < i1; i++) {
      const float pi = pp[i] * decay;
      const float d = pg[i] + l2 * pi;
      const float mi = b1 * pm[i] + a1 * d;
      float vi = b2 * pv[i] + a2 * d * d;
      pm[i] = mi;
      pv[i] = vi;
      if (pmax) {
        vi = pmax[i] > vi ? pmax[i] : vi;
        pmax[i] = vi;
      }
      pp[i] = pi - stepSize * mi / (std::sqrt(vi) / bc2 + e);
    }
  });
}

}  // namespace strata::STRATA_ISA_NS
