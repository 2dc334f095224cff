// Strata's native kernels: the backend contract of src/backend/backend.ts over strided views of the
// typed arrays JavaScript owns, read and written in place.
#pragma once
#include <cstdint>

#include "isa.h"
#include "pool.h"

namespace strata {

constexpr int kMaxRank = 16;

enum DType { kF32 = 0, kF64 = 1, kI32 = 2 };

// A strided window onto a typed array (see View in backend.ts).
struct View {
  void* data = nullptr;
  DType dtype = kF32;
  int rank = 0;
  long offset = 0;
  long shape[kMaxRank] = {};
  long strides[kMaxRank] = {};
  long size() const {
    long n = 1;
    for (int i = 0; i < rank; i++) n *= shape[i];
    return n;
  }
};

inline bool isContiguous(const View& v) {
  long expect = 1;
  for (int i = v.rank - 1; i >= 0; i--) {
    if (v.shape[i] != 1 && v.strides[i] != expect) return false;
    expect *= v.shape[i];
  }
  return true;
}

// The op codes follow UNARY_OPS and BINARY_OPS in backend.ts, in order.
enum Unary { kNeg, kExp, kLog, kSqrt, kAbs, kSign, kSin, kCos, kTanh, kSigmoid, kRelu, kErf, kLog1p };
enum Binary { kAdd, kSub, kMul, kDiv, kPow, kMaximum, kMinimum, kEq, kNe, kLt, kLe, kGt, kGe };
enum Reduce { kSum, kMax, kMin };

Pool& pool();

void copy(const View& out, const View& x);
void unary(int op, const View& out, const View& x);
void binary(int op, const View& out, const View& a, const View& b);
void where(const View& out, const View& cond, const View& a, const View& b);
void reduce(int op, const View& out, const View& x, const bool* axes);
void argReduce(bool isMax, const View& out, const View& x, int axis);
void matmul(const View& out, const View& a, const View& b);
// Return -1, or the position of the first out-of-range index.
long gather(const View& out, const View& x, int axis, const View& index);
long scatterAdd(const View& out, int axis, const View& index, const View& src);

// A sliding window over the last `dims` axes (see Window in backend.ts).
struct WindowSpec {
  int dims = 0;
  long kernel[3], stride[3], padding[3], dilation[3];
};

// im2col: x [N, C, ...S] to a contiguous out [N, C, K, L]; taps in the padding read padValue.
// Both return false (and touch nothing) when the sizes do not match the window's geometry.
bool unfold(const View& out, const View& x, const WindowSpec& w, double padValue);
// col2im: out [N, C, ...S] (contiguous) = the sum of the contiguous cols [N, C, K, L] over each element's taps.
bool fold(const View& out, const View& cols, const WindowSpec& w);

// Max pooling: out and argmax (int32, the flat position in the input plane) [N, C, ...L], both contiguous.
bool maxPool(const View& out, const View& argmax, const View& x, const WindowSpec& w);

// Convolution of x [N, C, ...S] by the contiguous weight w [O, C/groups, ...k] into the contiguous
// y [N, O, ...L] (plus the contiguous bias [O] when given, then ReLU when asked), and its two gradients:
// dx (contiguous, overwritten) from dy and w, and dw (overwritten) from x and dy. Each returns false
// (and touches nothing) when the shapes disagree.
bool convForward(const View& y, const View& x, const View& w, const View* bias, bool relu, const WindowSpec& win,
                 long groups);
bool convBackwardInput(const View& dx, const View& dy, const View& w, const WindowSpec& win, long groups);
bool convBackwardWeight(const View& dw, const View& x, const View& dy, const WindowSpec& win, long groups);

// Fused fast paths below autograd (rows along the last axis of contiguous tensors).
void logSoftmax(const View& out, const View& x);
// Its backward from the output y: dx = g - exp(y) · Σ g along the last axis.
void logSoftmaxBackward(const View& dx, const View& g, const View& y);
// y = x wᵀ + b (then ReLU) for x [N, K], w [O, K], b [O] or none: Linear's forward in one pass.
void linear(const View& out, const View& x, const View& w, const View* bias, bool relu);
// The pointwise half of a recurrent step, from the input's and the hidden state's projections xw, hw
// (contiguous, [..., G·H] in PyTorch's gate order) onward. LSTM: out [2, ..., H] holds h' then c'
// from c; its backward takes grad [2, ..., H] to the gates' gradient (shared by xw and hw) and c's.
// GRU: out [..., H] = h' from h; its backward gives xw's, hw's and h's gradients.
void lstmCell(const View& out, const View& xw, const View& hw, const View& c);
void lstmCellBackward(const View& dGates, const View& dc, const View& xw, const View& hw, const View& c,
                      const View& out, const View& grad);
void gruCell(const View& out, const View& xw, const View& hw, const View& h);
void gruCellBackward(const View& dxw, const View& dhw, const View& dh, const View& xw, const View& hw, const View& h,
                     const View& grad);
// Scaled dot-product attention over [B, L, E] queries, [B, S, E] keys and [B, S, Ev] values (any
// strides), with an additive mask broadcast to [B, L, S] (strides 0 on broadcast axes) or none, and
// causal masking of the keys after each query: out [B, L, Ev] and the rows' logsumexp lse [B, L] (both
// contiguous), and the backward from them and dout to the contiguous dq, dk, dv. With boolMask the
// mask's -∞ entries pass no gradient, as a boolean mask's where() does in the composition.
void attention(const View& out, const View& lse, const View& q, const View& k, const View& v, const View* mask,
               double scale, bool causal);
void attentionBackward(const View& dq, const View& dk, const View& dv, const View& q, const View& k, const View& v,
                       const View& out, const View& lse, const View& dout, const View* mask, double scale,
                       bool causal, bool boolMask);
void sgdUpdate(float* p, const float* g, float* buf, long n, double lr, double momentum, double dampening,
               bool nesterov, double weightDecay, bool first);
void adamUpdate(float* p, const float* g, float* m, float* v, float* vMax, long n, double lr, double beta1,
                double beta2, double eps, double weightDecay, bool decoupled, long step);

// The kernels compiled once per instruction set (see isa.h), which dispatch.cc forwards: all of the
// above but matmul and linear, which are GEMM calls and so go through the GEMM's own dispatch.
#define STRATA_ISA_KERNELS(X)                                                                              \
  X(copy) X(unary) X(binary) X(where) X(reduce) X(argReduce) X(gather) X(scatterAdd) X(unfold) X(fold)     \
  X(maxPool) X(convForward) X(convBackwardInput) X(convBackwardWeight) X(logSoftmax) X(logSoftmaxBackward) \
  X(lstmCell) X(lstmCellBackward) X(gruCell) X(gruCellBackward) X(attention) X(attentionBackward) X(sgdUpdate)  \
  X(adamUpdate)

}  // namespace strata
