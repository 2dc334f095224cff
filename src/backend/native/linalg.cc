// Batched matrix products through the system BLAS. A transposed operand (a unit stride on its rows
// instead of its columns) goes to BLAS as a transpose flag, never as a copy.
#include <cstring>
#include <vector>

#include "blas.h"
#include "kernels.h"

namespace strata {

namespace {

// How BLAS sees one matrix of a batch: a base pointer offset, a transpose flag and a leading dimension.
struct Operand {
  bool trans;
  long ld;
};

// Returns false when neither axis has unit stride (then the caller packs a copy).
bool asBlas(long rows, long cols, long rowStride, long colStride, Operand* op) {
  if (colStride == 1 && (rows == 1 || rowStride >= std::max<long>(1, cols))) {
    *op = {false, rows == 1 ? std::max<long>(1, cols) : rowStride};
    return true;
  }
  if (rowStride == 1 && (cols == 1 || colStride >= std::max<long>(1, rows))) {
    *op = {true, cols == 1 ? std::max<long>(1, rows) : colStride};
    return true;
  }
  return false;
}

// One product, split across the pool along its larger output axis; each piece is a single-threaded
// BLAS call on a block of rows (or columns) of C.
template <class T>
void gemmParallel(bool ta, bool tb, long M, long N, long K, const T* a, long lda, const T* b, long ldb, T* c) {
  const double work = double(M) * N * K;
  const int threads = work < 64.0 * 64 * 64 ? 1 : pool().size();
  if (threads == 1) return gemm(ta, tb, M, N, K, a, lda, b, ldb, c, N);
  if (M >= N) {
    pool().parallelFor(
        M, 8,
        [&](long i0, long i1) {
          const T* ai = ta ? a + i0 : a + i0 * lda;
          gemm(ta, tb, i1 - i0, N, K, ai, lda, b, ldb, c + i0 * N, N);
        },
        1);
  } else {
    pool().parallelFor(
        N, 8,
        [&](long j0, long j1) {
          const T* bj = tb ? b + j0 * ldb : b + j0;
          gemm(ta, tb, M, j1 - j0, K, a, lda, bj, ldb, c + j0, N);
        },
        1);
  }
}

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

// A contiguous copy of one [rows, cols] matrix with arbitrary strides.
template <class T>
std::vector<T> pack(const T* p, long rows, long cols, long rs, long cs) {
  std::vector<T> out(rows * cols);
  for (long i = 0; i < rows; i++)
    for (long j = 0; j < cols; j++) out[i * cols + j] = p[i * rs + j * cs];
  return out;
}

template <class T>
void matmulTyped(const View& out, const View& a, const View& b) {
  const int r = a.rank;
  const long M = a.shape[r - 2], K = a.shape[r - 1], N = b.shape[r - 1];
  long batch = 1;
  for (int i = 0; i < r - 2; i++) batch *= a.shape[i];
  T* pc = static_cast<T*>(out.data) + out.offset;
  if (M * N == 0) return;
  if (K == 0) {
    std::memset(pc, 0, sizeof(T) * batch * M * N);
    return;
  }
  auto product = [&](long p) {
    long ao, bo;
    batchOffsets(a, b, p, &ao, &bo);
    const T* pa = static_cast<const T*>(a.data) + ao;
    const T* pb = static_cast<const T*>(b.data) + bo;
    Operand oa, ob;
    std::vector<T> ca, cb;
    if (!asBlas(M, K, a.strides[r - 2], a.strides[r - 1], &oa)) {
      ca = pack(pa, M, K, a.strides[r - 2], a.strides[r - 1]);
      pa = ca.data();
      oa = {false, K};
    }
    if (!asBlas(K, N, b.strides[r - 2], b.strides[r - 1], &ob)) {
      cb = pack(pb, K, N, b.strides[r - 2], b.strides[r - 1]);
      pb = cb.data();
      ob = {false, N};
    }
    return std::make_tuple(pa, oa, pb, ob, std::move(ca), std::move(cb));
  };
  if (batch < pool().size()) {
    // Fewer products than threads: one at a time, each spread over the pool.
    for (long p = 0; p < batch; p++) {
      auto [pa, oa, pb, ob, ca, cb] = product(p);
      gemmParallel<T>(oa.trans, ob.trans, M, N, K, pa, oa.ld, pb, ob.ld, pc + p * M * N);
    }
  } else {
    // At least one product per thread: spread the batch over the pool, one parallel region in all.
    pool().parallelFor(batch, 1, [&](long p0, long p1) {
      for (long p = p0; p < p1; p++) {
        auto [pa, oa, pb, ob, ca, cb] = product(p);
        gemm<T>(oa.trans, ob.trans, M, N, K, pa, oa.ld, pb, ob.ld, pc + p * M * N, N);
      }
    });
  }
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

// y = x wᵀ + b, then ReLU if asked, for x [N, K] and w [O, K]: each thread takes a block of rows, writes
// the bias into it, lets BLAS accumulate the product on top, and applies the activation while the block
// is still in cache.
template <class T>
void linearTyped(const View& out, const View& x, const View& w, const View* bias, bool relu) {
  const long N = x.shape[0], K = x.shape[1], O = w.shape[0];
  T* y = static_cast<T*>(out.data) + out.offset;
  if (N * O == 0) return;
  const T* px = static_cast<const T*>(x.data) + x.offset;
  const T* pw = static_cast<const T*>(w.data) + w.offset;
  std::vector<T> cx, cw;
  Operand ox, ow;
  if (!asBlas(N, K, x.strides[0], x.strides[1], &ox)) {
    cx = pack(px, N, K, x.strides[0], x.strides[1]);
    px = cx.data();
    ox = {false, K};
  }
  // wᵀ is [K, O] with strides (w.strides[1], w.strides[0]).
  if (!asBlas(K, O, w.strides[1], w.strides[0], &ow)) {
    cw = pack(pw, K, O, w.strides[1], w.strides[0]);
    pw = cw.data();
    ow = {false, O};
  }
  const T* pb = bias ? static_cast<const T*>(bias->data) + bias->offset : nullptr;
  const long bs = bias ? bias->strides[0] : 0;
  const double work = double(N) * O * K;
  const long grain = work < 64.0 * 64 * 64 ? N : 8;
  pool().parallelFor(
      N, grain,
      [&](long i0, long i1) {
        T* yi = y + i0 * O;
        const long rows = i1 - i0;
        for (long i = 0; i < rows; i++)
          for (long j = 0; j < O; j++) yi[i * O + j] = pb ? pb[j * bs] : T(0);
        if (K > 0)
          gemm(ox.trans, ow.trans, rows, O, K, ox.trans ? px + i0 : px + i0 * ox.ld, ox.ld, pw, ow.ld, yi, O, true);
        if (relu)
          for (long e = 0; e < rows * O; e++) yi[e] = yi[e] > 0 || yi[e] != yi[e] ? yi[e] : T(0);
      },
      1);
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
