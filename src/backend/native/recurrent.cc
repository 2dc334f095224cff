// The pointwise half of an LSTM or GRU step, fused: everything after the two GEMMs (x W_ihᵀ + b_ih and
// h W_hhᵀ + b_hh) in one pass over the gates, where the composition takes a dozen elementwise ops, each
// a tensor, a trip into the addon and an autograd node. The backward passes recompute the activations
// from the pre-activations rather than keeping them.
#include <cmath>

#include "kernels.h"
#include "vecmath.h"

namespace strata::STRATA_ISA_NS {

namespace {

template <class T>
T* ptr(const View& v) {
  return static_cast<T*>(v.data) + v.offset;
}

// Rows of `width` gates at a time, a few thousand elements per task.
template <class F>
void eachRow(long rows, long width, F f) {
  pool().parallelFor(rows, std::max<long>(1, 8192 / std::max<long>(1, width)), [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) f(r);
  });
}

// Each kernel walks a row's H units a lane type at a time (vecmath.h): float32 a vector of them, float64
// one; the last step takes what is left.
template <class V>
void lstmForward(const View& out, const View& xw, const View& hw, const View& c) {
  using T = typename V::Scalar;
  const long H = c.shape[c.rank - 1], rows = H ? c.size() / H : 0;
  const T *px = ptr<T>(xw), *ph = ptr<T>(hw), *pc = ptr<T>(c);
  T *ho = ptr<T>(out), *co = ho + rows * H;
  eachRow(rows, 4 * H, [&](long r) {
    const T *a = px + r * 4 * H, *b = ph + r * 4 * H;
    for (long j = 0; j < H; j += V::kWidth) {
      const long k = r * H + j, n = std::min(V::kWidth, H - j);
      const auto gate = [&](long q) { return V::load(a + q * H + j, n) + V::load(b + q * H + j, n); };
      const V i = sigmoid(gate(0)), f = sigmoid(gate(1)), g = tanh(gate(2)), o = sigmoid(gate(3));
      const V c2 = f * V::load(pc + k, n) + i * g;
      c2.store(co + k, n);
      (o * tanh(c2)).store(ho + k, n);
    }
  });
}

// From gh, gc (the two halves of g) to the gates' gradient and c's:
//   dc = gc + gh·o·(1 - tanh²c'), di = dc·g·i(1-i), df = dc·c·f(1-f), dg = dc·i·(1-g²),
//   do = gh·tanh c'·o(1-o), dc_prev = dc·f.
template <class V>
void lstmBackward(const View& dGates, const View& dc, const View& xw, const View& hw, const View& c, const View& out,
                  const View& grad) {
  using T = typename V::Scalar;
  const long H = c.shape[c.rank - 1], rows = H ? c.size() / H : 0;
  const T *px = ptr<T>(xw), *ph = ptr<T>(hw), *pc = ptr<T>(c), *c2s = ptr<T>(out) + rows * H;
  const T *gh = ptr<T>(grad), *gc = gh + rows * H;
  T *dg = ptr<T>(dGates), *dcp = ptr<T>(dc);
  eachRow(rows, 4 * H, [&](long r) {
    const T *a = px + r * 4 * H, *b = ph + r * 4 * H;
    T* d = dg + r * 4 * H;
    for (long j = 0; j < H; j += V::kWidth) {
      const long k = r * H + j, n = std::min(V::kWidth, H - j);
      const auto gate = [&](long q) { return V::load(a + q * H + j, n) + V::load(b + q * H + j, n); };
      const V i = sigmoid(gate(0)), f = sigmoid(gate(1)), g = tanh(gate(2)), o = sigmoid(gate(3));
      const V tc = tanh(V::load(c2s + k, n)), ghk = V::load(gh + k, n);
      const V dcell = V::load(gc + k, n) + ghk * o * (1 - tc * tc);
      (dcell * g * i * (1 - i)).store(d + j, n);
      (dcell * V::load(pc + k, n) * f * (1 - f)).store(d + H + j, n);
      (dcell * i * (1 - g * g)).store(d + 2 * H + j, n);
      (ghk * tc * o * (1 - o)).store(d + 3 * H + j, n);
      (dcell * f).store(dcp + k, n);
    }
  });
}

template <class V>
void gruForward(const View& out, const View& xw, const View& hw, const View& h) {
  using T = typename V::Scalar;
  const long H = h.shape[h.rank - 1], rows = H ? h.size() / H : 0;
  const T *px = ptr<T>(xw), *ph = ptr<T>(hw), *hp = ptr<T>(h);
  T* po = ptr<T>(out);
  eachRow(rows, 3 * H, [&](long r) {
    const T *a = px + r * 3 * H, *b = ph + r * 3 * H;
    for (long j = 0; j < H; j += V::kWidth) {
      const long k = r * H + j, n = std::min(V::kWidth, H - j);
      const V rr = sigmoid(V::load(a + j, n) + V::load(b + j, n));
      const V z = sigmoid(V::load(a + H + j, n) + V::load(b + H + j, n));
      const V nn = tanh(V::load(a + 2 * H + j, n) + rr * V::load(b + 2 * H + j, n));
      (nn + z * (V::load(hp + k, n) - nn)).store(po + k, n);
    }
  });
}

// h' = (1 - z) n + z h with n = tanh(xn + r·hn): dn = g(1-z)(1-n²), dz = g(h-n)·z(1-z),
// dr = dn·hn·r(1-r); the input side gets (dr, dz, dn), the hidden side (dr, dz, dn·r), h gets g·z.
template <class V>
void gruBackward(const View& dxw, const View& dhw, const View& dh, const View& xw, const View& hw, const View& h,
                 const View& grad) {
  using T = typename V::Scalar;
  const long H = h.shape[h.rank - 1], rows = H ? h.size() / H : 0;
  const T *px = ptr<T>(xw), *ph = ptr<T>(hw), *hp = ptr<T>(h), *pg = ptr<T>(grad);
  T *dx = ptr<T>(dxw), *dhh = ptr<T>(dhw), *dhp = ptr<T>(dh);
  eachRow(rows, 3 * H, [&](long r) {
    const T *a = px + r * 3 * H, *b = ph + r * 3 * H;
    T *u = dx + r * 3 * H, *v = dhh + r * 3 * H;
    for (long j = 0; j < H; j += V::kWidth) {
      const long k = r * H + j, n = std::min(V::kWidth, H - j);
      const V rr = sigmoid(V::load(a + j, n) + V::load(b + j, n));
      const V z = sigmoid(V::load(a + H + j, n) + V::load(b + H + j, n));
      const V hn = V::load(b + 2 * H + j, n);
      const V nn = tanh(V::load(a + 2 * H + j, n) + rr * hn);
      const V g = V::load(pg + k, n);
      const V dn = g * (1 - z) * (1 - nn * nn);
      const V dz = g * (V::load(hp + k, n) - nn) * z * (1 - z);
      const V dr = dn * hn * rr * (1 - rr);
      dr.store(u + j, n);
      dr.store(v + j, n);
      dz.store(u + H + j, n);
      dz.store(v + H + j, n);
      dn.store(u + 2 * H + j, n);
      (dn * rr).store(v + 2 * H + j, n);
      (g * z).store(dhp + k, n);
    }
  });
}

}  // namespace

void lstmCell(const View& out, const View& xw, const View& hw, const View& c) {
  if (c.dtype == kF32) lstmForward<Floats>(out, xw, hw, c);
  else lstmForward<One<double>>(out, xw, hw, c);
}

void lstmCellBackward(const View& dGates, const View& dc, const View& xw, const View& hw, const View& c,
                      const View& out, const View& grad) {
  if (c.dtype == kF32) lstmBackward<Floats>(dGates, dc, xw, hw, c, out, grad);
  else lstmBackward<One<double>>(dGates, dc, xw, hw, c, out, grad);
}

void gruCell(const View& out, const View& xw, const View& hw, const View& h) {
  if (h.dtype == kF32) gruForward<Floats>(out, xw, hw, h);
  else gruForward<One<double>>(out, xw, hw, h);
}

void gruCellBackward(const View& dxw, const View& dhw, const View& dh, const View& xw, const View& hw, const View& h,
                     const View& grad) {
  if (h.dtype == kF32) gruBackward<Floats>(dxw, dhw, dh, xw, hw, h, grad);
  else gruBackward<One<double>>(dxw, dhw, dh, xw, hw, h, grad);
}

}  // namespace strata::STRATA_ISA_NS
