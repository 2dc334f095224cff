// The pointwise half of an LSTM or GRU step, fused: everything after the two GEMMs (x W_ihᵀ + b_ih and
// h W_hhᵀ + b_hh) in one pass over the gates, where the composition takes a dozen elementwise ops, each
// a tensor, a trip into the addon and an autograd node. The backward passes recompute the activations
// from the pre-activations rather than keeping them.
#include <cmath>

#include "kernels.h"

namespace strata::STRATA_ISA_NS {

namespace {

template <class T>
T* ptr(const View& v) {
  return static_cast<T*>(v.data) + v.offset;
}

template <class T>
inline T sigmoid(T x) {
  return x >= 0 ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
}

// Rows of `width` gates at a time, a few thousand elements per task.
template <class F>
void eachRow(long rows, long width, F f) {
  pool().parallelFor(rows, std::max<long>(1, 8192 / std::max<long>(1, width)), [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) f(r);
  });
}

template <class T>
void lstmForward(const View& out, const View& xw, const View& hw, const View& c) {
  const long H = c.shape[c.rank - 1], rows = H ? c.size() / H : 0;
  const T *px = ptr<T>(xw), *ph = ptr<T>(hw), *pc = ptr<T>(c);
  T *ho = ptr<T>(out), *co = ho + rows * H;
  eachRow(rows, 4 * H, [&](long r) {
    const T *a = px + r * 4 * H, *b = ph + r * 4 * H, *cr = pc + r * H;
    for (long j = 0; j < H; j++) {
      const T i = sigmoid(a[j] + b[j]), f = sigmoid(a[H + j] + b[H + j]);
      const T g = std::tanh(a[2 * H + j] + b[2 * H + j]), o = sigmoid(a[3 * H + j] + b[3 * H + j]);
      const T c2 = f * cr[j] + i * g;
      co[r * H + j] = c2;
      ho[r * H + j] = o * std::tanh(c2);
    }
  });
}

// From gh, gc (the two halves of g) to the gates' gradient and c's:
//   dc = gc + gh·o·(1 - tanh²c'), di = dc·g·i(1-i), df = dc·c·f(1-f), dg = dc·i·(1-g²),
//   do = gh·tanh c'·o(1-o), dc_prev = dc·f.
template <class T>
void lstmBackward(const View& dGates, const View& dc, const View& xw, const View& hw, const View& c, const View& out,
                  const View& grad) {
  const long H = c.shape[c.rank - 1], rows = H ? c.size() / H : 0;
  const T *px = ptr<T>(xw), *ph = ptr<T>(hw), *pc = ptr<T>(c), *c2s = ptr<T>(out) + rows * H;
  const T *gh = ptr<T>(grad), *gc = gh + rows * H;
  T *dg = ptr<T>(dGates), *dcp = ptr<T>(dc);
  eachRow(rows, 4 * H, [&](long r) {
    const T *a = px + r * 4 * H, *b = ph + r * 4 * H;
    T* d = dg + r * 4 * H;
    for (long j = 0; j < H; j++) {
      const long k = r * H + j;
      const T i = sigmoid(a[j] + b[j]), f = sigmoid(a[H + j] + b[H + j]);
      const T g = std::tanh(a[2 * H + j] + b[2 * H + j]), o = sigmoid(a[3 * H + j] + b[3 * H + j]);
      const T tc = std::tanh(c2s[k]);
      const T dcell = gc[k] + gh[k] * o * (1 - tc * tc);
      d[j] = dcell * g * i * (1 - i);
      d[H + j] = dcell * pc[k] * f * (1 - f);
      d[2 * H + j] = dcell * i * (1 - g * g);
      d[3 * H + j] = gh[k] * tc * o * (1 - o);
      dcp[k] = dcell * f;
    }
  });
}

template <class T>
void gruForward(const View& out, const View& xw, const View& hw, const View& h) {
  const long H = h.shape[h.rank - 1], rows = H ? h.size() / H : 0;
  const T *px = ptr<T>(xw), *ph = ptr<T>(hw), *hp = ptr<T>(h);
  T* po = ptr<T>(out);
  eachRow(rows, 3 * H, [&](long r) {
    const T *a = px + r * 3 * H, *b = ph + r * 3 * H;
    for (long j = 0; j < H; j++) {
      const long k = r * H + j;
      const T rr = sigmoid(a[j] + b[j]), z = sigmoid(a[H + j] + b[H + j]);
      const T n = std::tanh(a[2 * H + j] + rr * b[2 * H + j]);
      po[k] = n + z * (hp[k] - n);
    }
  });
}

// h' = (1 - z) n + z h with n = tanh(xn + r·hn): dn = g(1-z)(1-n²), dz = g(h-n)·z(1-z),
// dr = dn·hn·r(1-r); the input side gets (dr, dz, dn), the hidden side (dr, dz, dn·r), h gets g·z.
template <class T>
void gruBackward(const View& dxw, const View& dhw, const View& dh, const View& xw, const View& hw, const View& h,
                 const View& grad) {
  const long H = h.shape[h.rank - 1], rows = H ? h.size() / H : 0;
  const T *px = ptr<T>(xw), *ph = ptr<T>(hw), *hp = ptr<T>(h), *pg = ptr<T>(grad);
  T *dx = ptr<T>(dxw), *dhh = ptr<T>(dhw), *dhp = ptr<T>(dh);
  eachRow(rows, 3 * H, [&](long r) {
    const T *a = px + r * 3 * H, *b = ph + r * 3 * H;
    T *u = dx + r * 3 * H, *v = dhh + r * 3 * H;
    for (long j = 0; j < H; j++) {
      const long k = r * H + j;
      const T rr = sigmoid(a[j] + b[j]), z = sigmoid(a[H + j] + b[H + j]);
      const T n = std::tanh(a[2 * H + j] + rr * b[2 * H + j]);
      const T g = pg[k];
      const T dn = g * (1 - z) * (1 - n * n);
      const T dz = g * (hp[k] - n) * z * (1 - z);
      const T dr = dn * b[2 * H + j] * rr * (1 - rr);
      u[j] = v[j] = dr;
      u[H + j] = v[H + j] = dz;
      u[2 * H + j] = dn;
      v[2 * H + j] = dn * rr;
      dhp[k] = g * z;
    }
  });
}

}  // namespace

void lstmCell(const View& out, const View& xw, const View& hw, const View& c) {
  if (c.dtype == kF32) lstmForward<float>(out, xw, hw, c);
  else lstmForward<double>(out, xw, hw, c);
}

void lstmCellBackward(const View& dGates, const View& dc, const View& xw, const View& hw, const View& c,
                      const View& out, const View& grad) {
  if (c.dtype == kF32) lstmBackward<float>(dGates, dc, xw, hw, c, out, grad);
  else lstmBackward<double>(dGates, dc, xw, hw, c, out, grad);
}

void gruCell(const View& out, const View& xw, const View& hw, const View& h) {
  if (h.dtype == kF32) gruForward<float>(out, xw, hw, h);
  else gruForward<double>(out, xw, hw, h);
}

void gruCellBackward(const View& dxw, const View& dhw, const View& dh, const View& xw, const View& hw, const View& h,
                     const View& grad) {
  if (h.dtype == kF32) gruBackward<float>(dxw, dhw, dh, xw, hw, h, grad);
  else gruBackward<double>(dxw, dhw, dh, xw, hw, h, grad);
}

}  // namespace strata::STRATA_ISA_NS
