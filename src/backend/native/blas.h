// The BLAS entry points the kernels call, typed: float goes to sgemm, double to dgemm.
#pragma once
#include <type_traits>

#ifdef __APPLE__
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif

namespace strata {

// C = op(A) op(B) (+ C when accumulate, which is how a bias already in C gets added for free).
template <class T>
inline void gemm(bool ta, bool tb, long M, long N, long K, const T* a, long lda, const T* b, long ldb, T* c,
                 long ldc, bool accumulate = false) {
  const CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, TA, TB, M, N, K, 1.0f, a, lda, b, ldb, accumulate ? 1.0f : 0.0f, c, ldc);
  else
    cblas_dgemm(CblasRowMajor, TA, TB, M, N, K, 1.0, a, lda, b, ldb, accumulate ? 1.0 : 0.0, c, ldc);
}

}  // namespace strata
