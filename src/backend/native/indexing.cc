// gather / scatterAdd along one axis, and the optimizers' fused one-pass updates.
#include <cmath>

#include "kernels.h"

namespace strata {

namespace {

// Offsets of every element of `shape` in a view, with the given axis pinned to 0.
template <class F>
void eachPosition(const View& shape, const View& v, int axis, F f) {
  const long total = shape.size();
  long idx[kMaxRank] = {};
  long off = v.offset;
  for (long e = 0; e < total; e++) {
    f(e, off, idx);
    for (int i = shape.rank - 1; i >= 0; i--) {
      idx[i]++;
      if (i != axis) off += v.strides[i];
      if (idx[i] < shape.shape[i]) break;
      if (i != axis) off -= idx[i] * v.strides[i];
      idx[i] = 0;
    }
  }
}

long indexOffset(const View& index, const long* idx) {
  long off = index.offset;
  for (int i = 0; i < index.rank; i++) off += idx[i] * index.strides[i];
  return off;
}

template <class T>
long gatherTyped(const View& out, const View& x, int axis, const View& index) {
  const T* px = static_cast<const T*>(x.data);
  T* po = static_cast<T*>(out.data) + out.offset;
  const int32_t* pi = static_cast<const int32_t*>(index.data);
  const long len = x.shape[axis], step = x.strides[axis];
  long bad = -1;
  eachPosition(index, x, axis, [&](long e, long off, const long* idx) {
    if (bad >= 0) return;
    const int32_t k = pi[indexOffset(index, idx)];
    if (k < 0 || k >= len) {
      bad = e;
      return;
    }
    po[e] = px[off + k * step];
  });
  return bad;
}

template <class T>
long scatterTyped(const View& out, int axis, const View& index, const View& src) {
  T* po = static_cast<T*>(out.data);
  const T* ps = static_cast<const T*>(src.data);
  const int32_t* pi = static_cast<const int32_t*>(index.data);
  const long len = out.shape[axis], step = out.strides[axis];
  long bad = -1;
  eachPosition(index, out, axis, [&](long e, long off, const long* idx) {
    if (bad >= 0) return;
    const int32_t k = pi[indexOffset(index, idx)];
    if (k < 0 || k >= len) {
      bad = e;
      return;
    }
    po[off + k * step] += ps[indexOffset(src, idx)];
  });
  return bad;
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
  pool().parallelFor(n, 1 << 16, [&](long i0, long i1) {
    for (long i = i0; i < i1; i++) {
      float d = g[i] + wd * p[i];
      if (buf) {
        const float b = first ? d : mu * buf[i] + damp * d;
        buf[i] = b;
        d = nesterov ? d + mu * b : b;
      }
      p[i] -= flr * d;
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
  const float b1 = float(beta1), b2 = float(beta2), e = float(eps);
  pool().parallelFor(n, 1 << 15, [&](long i0, long i1) {
    for (long i = i0; i < i1; i++) {
      const float pi = p[i] * decay;
      const float d = g[i] + l2 * pi;
      const float mi = b1 * m[i] + (1 - b1) * d;
      float vi = b2 * v[i] + (1 - b2) * d * d;
      m[i] = mi;
      v[i] = vi;
      if (vMax) {
        vi = vMax[i] > vi ? vMax[i] : vi;
        vMax[i] = vi;
      }
      p[i] = pi - stepSize * mi / (std::sqrt(vi) / bc2 + e);
    }
  });
}

}  // namespace strata
