// Matrix products for every kernel that needs one: Strata's own GEMM (packed panels and register-blocked
// micro-kernels for the CPU it runs on, chosen at run time), and OpenBLAS where the addon was built with
// it and the provider rule in gemm.cc says it is faster.
#pragma once
#include <string>

#include "pool.h"

// Some CBLAS is linked: OpenBLAS where binding.gyp found it, Accelerate on macOS.
#if defined(__APPLE__) || defined(STRATA_HAVE_OPENBLAS)
#define STRATA_HAVE_BLAS 1
#endif

namespace strata {

// A matrix operand: element (i, j) at data[i * rowStride + j * colStride]. Any strides (transposed,
// stepped, broadcast with 0, negative) are read while packing, so no operand is ever copied first.
template <class T>
struct Operand {
  const T* data;
  long rowStride, colStride;
};

// What becomes of C, in this order: C = op(A) op(B), plus C's old value when accumulate, plus colBias[j]
// (a row vector added to every row: Linear's bias), plus rowBias[i] (a column added to every column: a
// convolution's bias), then ReLU, which keeps NaN as NaN.
template <class T>
struct Epilogue {
  bool accumulate = false;
  const T* colBias = nullptr;
  long colBiasStride = 1;
  const T* rowBias = nullptr;
  long rowBiasStride = 1;
  bool relu = false;
};

// The precision of float32 products. bf16: each operand is rounded to bfloat16 as it is packed (to
// nearest even, NaN kept NaN), the products summed in float32 by vdpbf16ps, and the epilogue applied in
// float32, always by Strata's own GEMM (OpenBLAS has no such product for float32 operands). Float64
// products are unaffected. Each JavaScript thread has its own setting, as torch.autocast's is per
// thread: the addon puts its instance's into taskContext() on every call, and the pool hands the
// caller's to each task of its job, so all the products of one kernel call run in one precision.
enum class Precision { kFloat32 = 0, kBf16 = 1 };

inline Precision matmulPrecision() { return Precision(taskContext().precision); }

// Reads a precision's name ("float32" or "bf16") into *out. Returns "" when this CPU can run it, else why
// not, in words a user can act on.
std::string parsePrecision(const std::string& name, Precision* out);
// The precisions this CPU's float32 products can run in and how, in words.
std::string precisionDescription();

// C [M, N] (rows ldc apart, columns adjacent) = A [M, K] · B [K, N], then the epilogue, in this thread's
// matmul precision when T is float. Spread over the pool when the product is big enough and the pool is
// free; inside a pool task it runs on that thread.
template <class T>
void gemm(long M, long N, long K, Operand<T> a, Operand<T> b, T* c, long ldc, const Epilogue<T>& e = {});

// The same with Strata's own GEMM whatever the provider rule says: for tests and the benchmark hook.
template <class T>
void ownGemm(long M, long N, long K, Operand<T> a, Operand<T> b, T* c, long ldc, const Epilogue<T>& e = {});

// BLAS's form: op(A) is A or Aᵀ of a row-major A with leading dimension lda, and likewise for B.
template <class T>
inline void gemm(bool ta, bool tb, long M, long N, long K, const T* a, long lda, const T* b, long ldb, T* c,
                 long ldc, bool accumulate = false) {
  Epilogue<T> e;
  e.accumulate = accumulate;
  gemm<T>(M, N, K, Operand<T>{a, ta ? 1 : lda, ta ? lda : 1}, Operand<T>{b, tb ? 1 : ldb, tb ? ldb : 1}, c, ldc, e);
}

// Chooses the provider ("" for the rule, "own" or "openblas") and the float32 micro-kernel ("" for the
// best this CPU has, or one of gemmKernels()). Returns "" when done, else the setting at fault
// ("provider", "kernel" or "both"), a colon and why: a kernel this CPU lacks, OpenBLAS in an addon built
// without it, or a choice unlike the one already made (it is made once for the process, whose threads
// share the kernels).
std::string configureGemm(const std::string& provider, const std::string& kernel);

// The micro-kernels this CPU can run, best first, e.g. "avx512 avx2 portable".
std::string gemmKernels();
// The provider and micro-kernel for a small and for a large product, in words.
std::string gemmDescription();
bool haveOpenblas();

}  // namespace strata
