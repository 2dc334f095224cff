// Batched matrix products and Linear's forward, through gemm (gemm.h), which reads any strides while it
// packs: a transposed or stepped operand is never copied first.
#include <cstdint>

#include "gemm.h"
#include "kernels.h"

namespace strata {

namespace {

// Offsets of the p-th matrix of a batch in a and b (same batch shape, possibly broadcast strides).
void batchOffsets(const View& a, const View& b, long p, long* ao, long* bo) {
  *ao = a.offset;
  *bo = b.offset;
  for (int i = a.rank - 3; i >= 0; i--) {
    const long idx = p % a.shape[i];
    p /= a.shape[i];
    *ao += idx * a.strides[i];
    *bo += idx * b.strides[i];
  }
}

template <class T>
void matmulTyped(const View& out, const View& a, const View& b) {
  const int r = a.rank;
  const long M = a.shape[r - 2], K = a.shape[r - 1], N = b.shape[r - 1];
  long batch = 1;
  for (int i = 0; i < r - 2; i++) batch *= a.shape[i];
  T* pc = static_cast<T*>(out.data) + out.offset;
  auto product = [&](long p) {
    long ao, bo;
    batchOffsets(a, b, p, &ao, &bo);
    const Operand<T> pa{static_cast<const T*>(a.data) + ao, a.strides[r - 2], a.strides[r - 1]};
    const Operand<T> pb{static_cast<const T*>(b.data) + bo, b.strides[r - 2], b.strides[r - 1]};
    gemm<T>(M, N, K, pa, pb, pc + p * M * N, N);
  };
  // Fewer products than threads: one at a time, each spread over the pool. Otherwise the batch is
  // spread, and each product runs on its task's thread.
  if (batch < pool().size())
    for (long p = 0; p < batch; p++) product(p);
  else
    pool().parallelFor(batch, 1, [&](long p0, long p1) {
      for (long p = p0; p < p1; p++) product(p);
    });
}

void matmulInt(const View& out, const View& a, const View& b) {
  const int r = a.rank;
  const long M = a.shape[r - 2], K = a.shape[r - 1], N = b.shape[r - 1];
  long batch = 1;
  for (int i = 0; i < r - 2; i++) batch *= a.shape[i];
  const int32_t* A = static_cast<const int32_t*>(a.data);
  const int32_t* B = static_cast<const int32_t*>(b.data);
  int32_t* C = static_cast<int32_t*>(out.data) + out.offset;
  for (long p = 0; p < batch; p++) {
    long ao, bo;
    batchOffsets(a, b, p, &ao, &bo);
    for (long i = 0; i < M; i++)
      for (long j = 0; j < N; j++) {
        int64_t s = 0;
        for (long k = 0; k < K; k++)
          s += int64_t(A[ao + i * a.strides[r - 2] + k * a.strides[r - 1]]) *
               B[bo + k * b.strides[r - 2] + j * b.strides[r - 1]];
        C[(p * M + i) * N + j] = int32_t(s);
      }
  }
}

// y = x wᵀ + b, then ReLU if asked, for x [N, K] and w [O, K]: the bias and the activation are gemm's
// epilogue, applied to each tile of y as it leaves the registers.
template <class T>
void linearTyped(const View& out, const View& x, const View& w, const View* bias, bool relu) {
  const long N = x.shape[0], K = x.shape[1], O = w.shape[0];
  Epilogue<T> e;
  if (bias) {
    e.colBias = static_cast<const T*>(bias->data) + bias->offset;
    e.colBiasStride = bias->strides[0];
  }
  e.relu = relu;
  // wᵀ is [K, O] with strides (w.strides[1], w.strides[0]).
  gemm<T>(N, O, K, Operand<T>{static_cast<const T*>(x.data) + x.offset, x.strides[0], x.strides[1]},
          Operand<T>{static_cast<const T*>(w.data) + w.offset, w.strides[1], w.strides[0]},
          static_cast<T*>(out.data) + out.offset, O, e);
}

}  // namespace

void linear(const View& out, const View& x, const View& w, const View* bias, bool relu) {
  if (x.dtype == kF32) linearTyped<float>(out, x, w, bias, relu);
  else linearTyped<double>(out, x, w, bias, relu);
}

void matmul(const View& out, const View& a, const View& b) {
  switch (a.dtype) {
    case kF32: return matmulTyped<float>(out, a, b);
    case kF64: return matmulTyped<double>(out, a, b);
    case kI32: return matmulInt(out, a, b);
  }
}

}  // namespace strata
