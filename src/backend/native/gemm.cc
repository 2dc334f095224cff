// Strata's own GEMM, in the manner of GotoBLAS and BLIS: a register-blocked micro-kernel multiplies a
// strip of A (MR rows) by a strip of B (NR columns) over a block of KC steps into an MR×NR tile of C,
// applying the epilogue as it stores the tile after the last block. B is packed into NR-wide strips
// (reading any strides, so a transposed B costs nothing extra), all of K at once for a panel of columns,
// unless reading it in place is faster (see directB); A's rows are read in place when they are
// contiguous, else packed into MR-tall strips an MC×KC block at a time. The micro-kernel is chosen at
// run time from CPUID; everything else is plain C++ for the baseline ISA. Under bf16 precision (gemm.h)
// a kernel of its own multiplies operands that are always packed, rounded to bfloat16 on the way.
#include "gemm.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "cpu.h"
#include "kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#endif

#if defined(__APPLE__)
#include <Accelerate/Accelerate.h>
#elif defined(STRATA_HAVE_BLAS)
#include <cblas.h>
#endif

namespace strata {

namespace {

// ---------------------------------------------------------------------------------------------------
// Micro-kernels

// What a micro-kernel needs besides the strips: where A's element (i, p) lies (a[i * ars + p * aks]: a
// packed strip, or A's own rows when they are contiguous), and B's (b[p * bks + j]: a packed strip, or
// B's own rows), the part of the tile inside C, whether to add C's old value, and on the last KC block
// the biases (contiguous, from the tile's first row and column) and ReLU.
template <class T>
struct Tile {
  long ars, aks;
  long bks;  // B's step from one k to the next: NR in a packed strip, B's row stride in place
  int m, n;
  bool load, last, relu;
  const T* colBias;
  const T* rowBias;
};

// C's tile (rows ldc apart) from kc steps of A and of B (see Tile).
template <class T>
using MicroKernel = void (*)(long kc, const T* a, const T* b, T* c, long ldc, const Tile<T>& t);

// Packs kc rows and nr columns of B (b[p * rs + j * cs]) into one strip of width NR, zeros beyond nr.
template <class T>
void packStrip(T* dst, const T* b, long rs, long cs, long kc, int nr, int NR) {
  if (cs == 1) {
    for (long p = 0; p < kc; p++, dst += NR, b += rs) {
      std::memcpy(dst, b, sizeof(T) * nr);
      std::fill(dst + nr, dst + NR, T(0));
    }
    return;
  }
  for (long p = 0; p < kc; p++) std::fill(dst + p * NR + nr, dst + (p + 1) * NR, T(0));
  for (int j = 0; j < nr; j++) {
    const T* bj = b + j * cs;
    for (long p = 0; p < kc; p++) dst[p * NR + j] = bj[p * rs];
  }
}

template <class T>
using StripPacker = void (*)(T* dst, const T* b, long rs, long cs, long kc, int nr, int NR);

// A micro-kernel family and the blocking that suits it: tiles of up to mr × nr, computed by run[m - 1]
// [(n + width - 1) / width - 1] for a tile of m × n (so an edge tile computes no more than it needs),
// and the packing of B's strips (which may use the family's instructions to transpose). A kernel that
// rounds its operands while they are packed reads neither in place, and packs A's strips with `pack`
// too (A's rows taking the place of B's columns).
template <class T>
struct Kernel {
  const char* name;
  int mr, nr, width;
  long kc, mc;
  const MicroKernel<T>* run;
  StripPacker<T> pack;
  bool rounds = false;
  MicroKernel<T> pick(int m, int n) const { return run[(m - 1) * (nr / width) + (n + width - 1) / width - 1]; }
};

template <class T>
inline T relu(T v) {
  return v > T(0) || v != v ? v : T(0);
}

// The portable micro-kernel: plain loops that the compiler vectorises for the baseline ISA. MR × NR
// accumulators stay in registers when they fit (16 of SSE2's 16 registers at 4 × 8 floats, minus what
// the loads need, so the tiles are kept small).
template <class T, int MR, int NR>
void portableKernel(long kc, const T* a, const T* b, T* c, long ldc, const Tile<T>& t) {
  T acc[MR][NR] = {};
  const T* rows[MR];
  for (int i = 0; i < MR; i++) rows[i] = a + std::min(i, t.m - 1) * t.ars;  // rows past m repeat the last
  for (long p = 0, off = 0; p < kc; p++, off += t.aks, b += t.bks)
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < NR; j++) acc[i][j] += rows[i][off] * b[j];
  for (int i = 0; i < t.m; i++)
    for (int j = 0; j < t.n; j++) {
      T v = acc[i][j];
      if (t.load) v += c[i * ldc + j];
      if (t.last) {
        if (t.colBias) v += t.colBias[j];
        if (t.rowBias) v += t.rowBias[i];
        if (t.relu) v = relu(v);
      }
      c[i * ldc + j] = v;
    }
}

// Its table has one column (its width is NR) of one kernel: variants per tile size would only multiply
// its code, so it always computes MR × NR.
template <class T, int MR, int NR>
struct PortableTable {
  std::array<MicroKernel<T>, MR> run;
  constexpr PortableTable() : run() {
    for (auto& k : run) k = &portableKernel<T, MR, NR>;
  }
};

constexpr PortableTable<float, 4, 8> kPortableF32;
constexpr PortableTable<double, 4, 4> kPortableF64;

// Builds run[m - 1][v - 1] = K<m, v> for m in 1..MR and v in 1..V.
template <class T, template <int, int> class K, int V, int M, int... Vs>
constexpr std::array<MicroKernel<T>, V> rowOf(std::integer_sequence<int, Vs...>) {
  return {&K<M, Vs + 1>::run...};
}
template <class T, template <int, int> class K, int MR, int V, int... Ms>
constexpr std::array<MicroKernel<T>, MR * V> tableOf(std::integer_sequence<int, Ms...>) {
  std::array<MicroKernel<T>, MR * V> out{};
  const std::array<std::array<MicroKernel<T>, V>, MR> rows{
      rowOf<T, K, V, Ms + 1>(std::make_integer_sequence<int, V>())...};
  for (int m = 0; m < MR; m++)
    for (int v = 0; v < V; v++) out[m * V + v] = rows[m][v];
  return out;
}
template <class T, template <int, int> class K, int MR, int V>
constexpr std::array<MicroKernel<T>, MR * V> kernelTable() {
  return tableOf<T, K, MR, V>(std::make_integer_sequence<int, MR>());
}

#if defined(__x86_64__)

#define STRATA_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))
#define STRATA_AVX2 __attribute__((target("avx2,fma")))

// AVX-512: M rows × V vectors of 16 floats. 24 accumulators out of 32 registers at 6 × 4 leaves room
// for the four B vectors and a broadcast.
template <int M, int V>
struct Avx512 {
  STRATA_AVX512 static void run(long kc, const float* a, const float* b, float* c, long ldc, const Tile<float>& t) {
    __m512 acc[M][V];
#pragma GCC unroll 16
    for (int i = 0; i < M; i++)
#pragma GCC unroll 4
      for (int j = 0; j < V; j++) acc[i][j] = _mm512_setzero_ps();
    const float* rows[M];
#pragma GCC unroll 16
    for (int i = 0; i < M; i++) rows[i] = a + i * t.ars;
    for (long p = 0, off = 0; p < kc; p++, off += t.aks, b += t.bks) {
      __m512 bv[V];
#pragma GCC unroll 4
      for (int j = 0; j < V; j++) bv[j] = _mm512_loadu_ps(b + 16 * j);
#pragma GCC unroll 16
      for (int i = 0; i < M; i++) {
        const __m512 ai = _mm512_set1_ps(rows[i][off]);
#pragma GCC unroll 4
        for (int j = 0; j < V; j++) acc[i][j] = _mm512_fmadd_ps(ai, bv[j], acc[i][j]);
      }
    }
    store(acc, c, ldc, t);
  }

  // The tile's accumulators into C through the epilogue (the bf16 kernel's too).
  STRATA_AVX512 __attribute__((always_inline)) static inline void store(__m512 (&acc)[M][V], float* c, long ldc,
                                                                        const Tile<float>& t) {
    const int rest = t.n - 16 * (V - 1);
    const __mmask16 tail = rest >= 16 ? 0xffff : __mmask16((1u << rest) - 1);
    const __m512 zero = _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int i = 0; i < M; i++) {
      float* ci = c + i * ldc;
#pragma GCC unroll 4
      for (int j = 0; j < V; j++) {
        const __mmask16 k = j == V - 1 ? tail : __mmask16(0xffff);
        __m512 v = acc[i][j];
        if (t.load) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, ci + 16 * j));
        if (t.last) {
          if (t.colBias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, t.colBias + 16 * j));
          if (t.rowBias) v = _mm512_add_ps(v, _mm512_set1_ps(t.rowBias[i]));
          // Keeps v where it is above 0 or NaN (unordered).
          if (t.relu) v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, zero, _CMP_NLE_UQ), v);
        }
        _mm512_mask_storeu_ps(ci + 16 * j, k, v);
      }
    }
  }
};

// AVX2 with FMA: M rows × V vectors of 8 floats. 12 accumulators out of 16 registers at 6 × 2 leaves
// room for the two B vectors and a broadcast.
template <int M, int V>
struct Avx2 {
  STRATA_AVX2 static void run(long kc, const float* a, const float* b, float* c, long ldc, const Tile<float>& t) {
    __m256 acc[M][V];
#pragma GCC unroll 16
    for (int i = 0; i < M; i++)
#pragma GCC unroll 4
      for (int j = 0; j < V; j++) acc[i][j] = _mm256_setzero_ps();
    const float* rows[M];
#pragma GCC unroll 16
    for (int i = 0; i < M; i++) rows[i] = a + i * t.ars;
    for (long p = 0, off = 0; p < kc; p++, off += t.aks, b += t.bks) {
      __m256 bv[V];
#pragma GCC unroll 4
      for (int j = 0; j < V; j++) bv[j] = _mm256_loadu_ps(b + 8 * j);
#pragma GCC unroll 16
      for (int i = 0; i < M; i++) {
        const __m256 ai = _mm256_broadcast_ss(rows[i] + off);
#pragma GCC unroll 4
        for (int j = 0; j < V; j++) acc[i][j] = _mm256_fmadd_ps(ai, bv[j], acc[i][j]);
      }
    }
    const int rest = t.n - 8 * (V - 1);
    const __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32(rest), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256i all = _mm256_set1_epi32(-1);
    const __m256 zero = _mm256_setzero_ps();
#pragma GCC unroll 16
    for (int i = 0; i < M; i++) {
      float* ci = c + i * ldc;
#pragma GCC unroll 4
      for (int j = 0; j < V; j++) {
        const __m256i k = j == V - 1 ? tail : all;
        __m256 v = acc[i][j];
        if (t.load) v = _mm256_add_ps(v, _mm256_maskload_ps(ci + 8 * j, k));
        if (t.last) {
          if (t.colBias) v = _mm256_add_ps(v, _mm256_maskload_ps(t.colBias + 8 * j, k));
          if (t.rowBias) v = _mm256_add_ps(v, _mm256_set1_ps(t.rowBias[i]));
          if (t.relu) v = _mm256_and_ps(v, _mm256_cmp_ps(v, zero, _CMP_NLE_UQ));
        }
        _mm256_maskstore_ps(ci + 8 * j, k, v);
      }
    }
  }
};

// B's strips when its columns are contiguous (Bᵀ of a row-major matrix, as Linear's weight is): 8 × 8
// blocks transposed in registers, instead of one scattered store per element.
STRATA_AVX2 void packStripAvx2(float* dst, const float* b, long rs, long cs, long kc, int nr, int NR) {
  if (rs != 1 || nr < 8) return packStrip(dst, b, rs, cs, kc, nr, NR);
  const long kc8 = kc / 8 * 8;
  const int nr8 = nr / 8 * 8;
  for (int j = 0; j < nr8; j += 8) {
    const float* bj = b + j * cs;
    for (long p = 0; p < kc8; p += 8) {
      __m256 r[8];
      for (int q = 0; q < 8; q++) r[q] = _mm256_loadu_ps(bj + q * cs + p);
      // Rows of 8 k-steps for 8 columns become rows of 8 columns for 8 k-steps.
      __m256 t[8];
      for (int q = 0; q < 8; q += 2) {
        t[q] = _mm256_unpacklo_ps(r[q], r[q + 1]);
        t[q + 1] = _mm256_unpackhi_ps(r[q], r[q + 1]);
      }
      __m256 u[8];
      for (int q = 0; q < 8; q += 4) {
        u[q] = _mm256_shuffle_ps(t[q], t[q + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[q + 1] = _mm256_shuffle_ps(t[q], t[q + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[q + 2] = _mm256_shuffle_ps(t[q + 1], t[q + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[q + 3] = _mm256_shuffle_ps(t[q + 1], t[q + 3], _MM_SHUFFLE(3, 2, 3, 2));
      }
      for (int q = 0; q < 4; q++) {
        _mm256_storeu_ps(dst + (p + q) * NR + j, _mm256_permute2f128_ps(u[q], u[q + 4], 0x20));
        _mm256_storeu_ps(dst + (p + q + 4) * NR + j, _mm256_permute2f128_ps(u[q], u[q + 4], 0x31));
      }
    }
    for (long p = kc8; p < kc; p++)
      for (int q = 0; q < 8; q++) dst[p * NR + j + q] = bj[q * cs + p];
  }
  for (long p = 0; p < kc; p++) {
    for (int j = nr8; j < nr; j++) dst[p * NR + j] = b[j * cs + p];
    std::fill(dst + p * NR + nr, dst + (p + 1) * NR, 0.0f);
  }
}

constexpr auto kAvx512Run = kernelTable<float, Avx512, 6, 4>();
constexpr auto kAvx2Run = kernelTable<float, Avx2, 6, 2>();

#define STRATA_AVX512BF16 __attribute__((target("avx512bf16,avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))

// x's bfloat16, rounded to nearest even, as vcvtne2ps2bf16 rounds: NaN stays NaN (quietened, so that
// rounding cannot carry it into infinity) and a subnormal becomes a zero of its sign.
inline uint32_t bf16Bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  if ((u & 0x7fffffff) > 0x7f800000) return (u >> 16) | 0x40;
  if ((u & 0x7f800000) == 0) return (u >> 16) & 0x8000;
  return (u + 0x7fff + ((u >> 16) & 1)) >> 16;
}

// A StripPacker for vdpbf16ps: packs `lines` lines of kc steps of a float32 matrix (step p of line l at
// src[l * ls + p * ks]) as pairs of bfloat16, the 32-bit word q * W + l of `out` holding step 2q in its
// low half and 2q + 1 in its high half, zero past kc and past `lines`. A B strip's lines are its columns
// (W = NR), an A strip's its rows (W = MR). Where the layout allows, 16 or 32 values round at a time.
STRATA_AVX512BF16 void packStripAvx512Bf16(float* out, const float* src, long ks, long ls, long kc, int lines,
                                         int W) {
  uint32_t* dst = reinterpret_cast<uint32_t*>(out);
  const long pairs = (kc + 1) / 2;
  auto mask = [](long n) { return n >= 16 ? __mmask16(0xffff) : __mmask16((1u << std::max(0L, n)) - 1); };
  if (ls == 1) {
    // A line's neighbours are adjacent: round steps 2q and 2q + 1 of 16 lines, then interleave them.
    const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23,
                                                7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    for (long q = 0; q < pairs; q++, dst += W) {
      const float* lo = src + 2 * q * ks;
      const bool odd = 2 * q + 1 == kc;
      for (int l = 0; l < W; l += 16) {
        const __mmask16 k = mask(lines - l);
        const __m512 even = _mm512_maskz_loadu_ps(k, lo + l);
        const __m512 next = odd ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(k, lo + ks + l);
        const __m512i words = _mm512_permutexvar_epi16(interleave, __m512i(_mm512_cvtne2ps_pbh(next, even)));
        _mm512_mask_storeu_epi32(dst + l, mask(W - l), words);
      }
    }
    return;
  }
  if (ks == 1) {
    // A line's steps are adjacent, so 32 of them round to 16 pairs in order: a block of 16 pairs of every
    // line goes through `block`, then out transposed.
    uint32_t block[64 * 16];
    for (long q0 = 0; q0 < pairs; q0 += 16) {
      const long rest = kc - 2 * q0;
      for (int l = 0; l < W; l++) {
        __m512i words = _mm512_setzero_si512();
        if (l < lines) {
          const float* p = src + l * ls + 2 * q0;
          const __m512 lo = _mm512_maskz_loadu_ps(mask(rest), p), hi = _mm512_maskz_loadu_ps(mask(rest - 16), p + 16);
          words = __m512i(_mm512_cvtne2ps_pbh(hi, lo));
        }
        _mm512_storeu_si512(block + 16 * l, words);
      }
      const long count = std::min(16L, pairs - q0);
      for (long t = 0; t < count; t++)
        for (int l = 0; l < W; l++) dst[(q0 + t) * W + l] = block[16 * l + t];
    }
    return;
  }
  for (long q = 0; q < pairs; q++)
    for (int l = 0; l < W; l++) {
      uint32_t word = 0;
      if (l < lines) {
        const float* p = src + l * ls + 2 * q * ks;
        word = bf16Bits(p[0]) | (2 * q + 1 < kc ? bf16Bits(p[ks]) << 16 : 0);
      }
      dst[q * W + l] = word;
    }
}

// AVX512-BF16: M rows × V vectors of 16 float32 sums, like the AVX-512 kernel's, each vdpbf16ps adding
// two steps' products (exact in float32, bfloat16 having 8 significant bits) to each sum.
template <int M, int V>
struct Avx512Bf16 {
  STRATA_AVX512BF16 static void run(long kc, const float* a, const float* b, float* c, long ldc,
                                    const Tile<float>& t) {
    __m512 acc[M][V];
#pragma GCC unroll 16
    for (int i = 0; i < M; i++)
#pragma GCC unroll 4
      for (int j = 0; j < V; j++) acc[i][j] = _mm512_setzero_ps();
    const uint32_t* rows[M];
#pragma GCC unroll 16
    for (int i = 0; i < M; i++) rows[i] = reinterpret_cast<const uint32_t*>(a) + i * t.ars;
    const long pairs = (kc + 1) / 2;
    for (long q = 0, off = 0; q < pairs; q++, off += t.aks, b += t.bks) {
      __m512bh bv[V];
#pragma GCC unroll 4
      for (int j = 0; j < V; j++) bv[j] = __m512bh(_mm512_loadu_si512(b + 16 * j));
#pragma GCC unroll 16
      for (int i = 0; i < M; i++) {
        const __m512bh ai = __m512bh(_mm512_set1_epi32(int(rows[i][off])));
#pragma GCC unroll 4
        for (int j = 0; j < V; j++) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], ai, bv[j]);
      }
    }
    Avx512<M, V>::store(acc, c, ldc, t);
  }
};

constexpr auto kAvx512Bf16Run = kernelTable<float, Avx512Bf16, 6, 4>();

// KC twice the AVX-512 kernel's: a step of bfloat16 pairs takes half the bytes, so the strips are as big.
const Kernel<float> kBf16Kernel{"avx512bf16", 6, 64, 16, 1024, 144, kAvx512Bf16Run.data(), packStripAvx512Bf16, true};

#endif  // __x86_64__

#if defined(__aarch64__)

// NEON: M rows × V vectors of 4 floats; 24 of the 32 registers hold accumulators at 8 × 3.
template <int M, int V>
struct Neon {
  static void run(long kc, const float* a, const float* b, float* c, long ldc, const Tile<float>& t) {
    float32x4_t acc[M][V];
    for (int i = 0; i < M; i++)
      for (int j = 0; j < V; j++) acc[i][j] = vdupq_n_f32(0.0f);
    const float* rows[M];
    for (int i = 0; i < M; i++) rows[i] = a + i * t.ars;
    for (long p = 0, off = 0; p < kc; p++, off += t.aks, b += t.bks) {
      float32x4_t bv[V];
      for (int j = 0; j < V; j++) bv[j] = vld1q_f32(b + 4 * j);
      for (int i = 0; i < M; i++)
        for (int j = 0; j < V; j++) acc[i][j] = vfmaq_n_f32(acc[i][j], bv[j], rows[i][off]);
    }
    alignas(16) float row[4 * V];
    for (int i = 0; i < M; i++) {
      for (int j = 0; j < V; j++) vst1q_f32(row + 4 * j, acc[i][j]);
      float* ci = c + i * ldc;
      for (int j = 0; j < t.n; j++) {
        float v = row[j];
        if (t.load) v += ci[j];
        if (t.last) {
          if (t.colBias) v += t.colBias[j];
          if (t.rowBias) v += t.rowBias[i];
          if (t.relu) v = relu(v);
        }
        ci[j] = v;
      }
    }
  }
};

constexpr auto kNeonRun = kernelTable<float, Neon, 8, 3>();

#endif  // __aarch64__

// The float32 kernels, best first, each with its blocking: KC steps of an A strip (MR × KC) stay in L1
// while a kernel call streams a B strip (KC × NR) past them from L2, and MC × KC of A stays in L2 while
// the strips of B (all of K for a panel of columns, in L3) go by.
struct Float32Kernel {
  Kernel<float> kernel;
  bool (*available)();
};

const Float32Kernel kFloat32Kernels[] = {
#if defined(__x86_64__)
    {{"avx512", 6, 64, 16, 512, 144, kAvx512Run.data(), packStripAvx2}, [] { return cpu().avx512; }},
    {{"avx2", 6, 16, 8, 512, 144, kAvx2Run.data(), packStripAvx2}, [] { return cpu().avx2; }},
#endif
#if defined(__aarch64__)
    {{"neon", 8, 12, 4, 256, 128, kNeonRun.data(), packStrip<float>}, [] { return true; }},
#endif
    {{"portable", 4, 8, 8, 256, 128, kPortableF32.run.data(), packStrip<float>}, [] { return true; }},
};

const Kernel<double> kFloat64Kernel{"portable", 4, 4, 4, 256, 128, kPortableF64.run.data(), packStrip<double>};

// ---------------------------------------------------------------------------------------------------
// Packing

// Memory aligned for the kernels' vector loads, kept by each thread between calls (the pool's threads
// live as long as the process).
template <class T, int Slot>
T* scratch(long n) {
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  thread_local std::unique_ptr<T[], Free> buffer;
  thread_local long size = 0;
  if (size < n) {
    buffer.reset(static_cast<T*>(std::aligned_alloc(64, (sizeof(T) * n + 63) / 64 * 64)));
    if (!buffer) throw std::bad_alloc();
    size = n;
  }
  return buffer.get();
}

// ---------------------------------------------------------------------------------------------------
// The blocked product

// Splits [0, total) into `parts` near-equal pieces whose ends fall on multiples of `step`.
inline long cut(long total, long parts, long i, long step) {
  const long units = (total + step - 1) / step;
  return std::min(total, units * i / parts * step);
}

// The most elements of B packed at once (8 MiB of float32, a quarter of a big L3).
constexpr long kPackedB = 1L << 21;

template <class T>
struct Product {
  const Kernel<T>& k;
  long M, N, K;
  Operand<T> a, b;
  T* c;
  long ldc;
  const Epilogue<T>& e;
  const T* colBias;  // contiguous copies of the epilogue's biases (or the biases themselves)
  const T* rowBias;

  // Whether the kernels read B's rows in place (when they are contiguous) rather than packed strips.
  // A copy pays for itself when its strips are read again for many rows of A and B is too big to stay
  // in cache as it lies. With few rows a copy of B costs more than the multiplications (1×512×512 ran 3
  // times slower packed), and a panel packed by one thread reaches the others through its cache (64³ on
  // two threads ran no faster than on one). On the EPYC (Zen 4) of the provider rule below, with the
  // AVX-512 kernel: 168 against 96 GFLOP/s at 64³, 205 against 139 at 256³, 229 against 217 at 512³,
  // 220 against 192 at 128×1024×1024, even at 1024³ and 2048³, and 194 against 208 at 4096³ — so in
  // place up to 2^20 elements of B. A strip narrower than four cache lines a row (AVX2's 16 floats) is
  // packed when B's rows are a multiple of 4 KiB apart: its rows then crowd into a few cache sets (AVX2
  // at 1024³: 183 packed against 112 in place). The last strip, if narrower, is packed all the same.
  bool directB() const {
    if (k.rounds || b.colStride != 1) return false;
    if (M <= 2 * k.mr) return true;
    if (k.nr * sizeof(T) < 256 && b.rowStride * long(sizeof(T)) % 4096 == 0) return false;
    return double(K) * N <= double(1 << 20);
  }

  // Multiplies rows [i0, i1) and columns [p0, p0 + kc) of A by B's rows [p0, p0 + kc) into columns
  // [j0, j1) of C, one MC block of A at a time: B from the packed panel bp (whose first column is C's
  // column jPanel), or in place. A's rows are read in place when they are contiguous; otherwise the
  // block is packed into MR-tall strips first.
  void block(long i0, long i1, long j0, long j1, long jPanel, long p0, long kc, const T* bp) const {
    const int MR = k.mr, NR = k.nr;
    const bool direct = !k.rounds && a.colStride == 1, inPlace = bp == nullptr;
    T* ap = direct ? nullptr : scratch<T, 1>((k.mc + MR) * kc);
    const bool load = p0 > 0 || e.accumulate, last = p0 + kc == K;
    for (long ic = i0; ic < i1; ic += k.mc) {
      const long mc = std::min(k.mc, i1 - ic);
      if (!direct)
        for (long r = 0; r < mc; r += MR) {
          const int mr = int(std::min<long>(MR, mc - r));
          // Rows past mr are left as they are: no kernel reads them.
          T* dst = ap + r * kc;
          const T* src = a.data + (ic + r) * a.rowStride + p0 * a.colStride;
          if (k.rounds)
            k.pack(dst, src, a.colStride, a.rowStride, kc, mr, MR);
          else if (a.rowStride == 1)
            for (long p = 0; p < kc; p++) std::memcpy(dst + p * MR, src + p * a.colStride, sizeof(T) * mr);
          else
            for (int i = 0; i < mr; i++) {
              const T* ai = src + i * a.rowStride;
              for (long p = 0; p < kc; p++) dst[p * MR + i] = ai[p * a.colStride];
            }
        }
      for (long jc = j0; jc < j1; jc += NR) {
        const int nr = int(std::min<long>(NR, j1 - jc));
        const T* bs = bp + (jc - jPanel) * kc;
        long bStep = NR;
        if (inPlace) {
          bs = b.data + p0 * b.rowStride + jc;
          bStep = b.rowStride;
          if (nr < NR) {
            // As wide as the kernel for nr columns reads: whole vectors.
            const int width = (nr + k.width - 1) / k.width * k.width;
            T* strip = scratch<T, 2>(kc * width);
            k.pack(strip, bs, b.rowStride, 1, kc, nr, width);
            bs = strip;
            bStep = width;
          }
        }
        for (long r = 0; r < mc; r += MR) {
          const int mr = int(std::min<long>(MR, mc - r));
          const long i = ic + r;
          const T* as = direct ? a.data + i * a.rowStride + p0 : ap + r * kc;
          const Tile<T> t{direct ? a.rowStride : 1, direct ? 1 : MR, bStep, mr, nr, load, last, e.relu,
                          colBias ? colBias + jc : nullptr, rowBias ? rowBias + i : nullptr};
          k.pick(mr, nr)(kc, as, bs, c + i * ldc + jc, ldc, t);
        }
      }
    }
  }

  void run(int threads) const {
    const int NR = k.nr;
    // K in near-equal blocks of at most KC, so that no block is a sliver.
    const long kBlocks = (K + k.kc - 1) / k.kc;
    auto kStart = [&](long kb) { return K * kb / kBlocks; };
    // B is packed for all of K at once, in panels of as many columns as the budget allows, so that the
    // pool runs twice per panel (pack, then multiply) rather than twice per KC block.
    const bool inPlace = directB();
    const long nPadded = (N + NR - 1) / NR * NR;
    const long ncMax = inPlace ? N : std::min(nPadded, std::max<long>(NR, kPackedB / K / NR * NR));
    T* bp = inPlace ? nullptr : scratch<T, 0>(K * ncMax);
    // One task per thread, on a grid of blocks of C as near square as the shape allows (so that each
    // reads as little of A and B as it can), in whole strips. More tasks than threads measured slower:
    // each repacks nothing, but each reads its B strips and A rows again from L3.
    const long mStrips = (M + k.mr - 1) / k.mr;
    for (long jp = 0; jp < N; jp += ncMax) {
      const long nc = std::min(ncMax, N - jp), panelStrips = (nc + NR - 1) / NR, ncPad = panelStrips * NR;
      long mTasks = 1, nTasks = 1;
      if (threads > 1) {
        nTasks = std::clamp<long>(std::lround(std::sqrt(double(threads) * nc / M)), 1,
                                  std::min<long>(panelStrips, threads));
        mTasks = std::clamp<long>((threads + nTasks - 1) / nTasks, 1, mStrips);
      }
      // Strip s of K block kb lies at bp + kStart(kb) * ncPad + s * NR * kc.
      auto pack = [&](long u0, long u1) {
        for (long u = u0; u < u1; u++) {
          const long kb = u / panelStrips, s = u % panelStrips, p0 = kStart(kb), kc = kStart(kb + 1) - p0;
          const long j = s * NR;
          k.pack(bp + p0 * ncPad + j * kc, b.data + p0 * b.rowStride + (jp + j) * b.colStride, b.rowStride,
                 b.colStride, kc, int(std::min<long>(NR, nc - j)), NR);
        }
      };
      auto multiply = [&](long i0, long i1, long j0, long j1) {
        for (long kb = 0; kb < kBlocks; kb++) {
          const long p0 = kStart(kb);
          block(i0, i1, j0, j1, jp, p0, kStart(kb + 1) - p0, inPlace ? nullptr : bp + p0 * ncPad);
        }
      };
      const long units = kBlocks * panelStrips, tasks = mTasks * nTasks;
      if (tasks == 1) {
        if (!inPlace) pack(0, units);
        multiply(0, M, jp, jp + nc);
        continue;
      }
      if (!inPlace) {
        const int packers = int(std::min<long>(threads, units));
        pool().run(packers, [&](int t) { pack(units * t / packers, units * (t + 1) / packers); });
      }
      pool().run(int(tasks), [&](int t) {
        const long mi = t / nTasks, ni = t % nTasks;
        const long i0 = cut(M, mTasks, mi, k.mr), i1 = cut(M, mTasks, mi + 1, k.mr);
        const long j0 = jp + cut(nc, nTasks, ni, NR), j1 = jp + cut(nc, nTasks, ni + 1, NR);
        if (i0 < i1 && j0 < j1) multiply(i0, i1, j0, j1);
      });
    }
  }
};

// C = (C or 0) + biases, then ReLU: the whole product when K is 0.
template <class T>
void epilogueOnly(long M, long N, T* c, long ldc, const Epilogue<T>& e) {
  for (long i = 0; i < M; i++)
    for (long j = 0; j < N; j++) {
      T v = e.accumulate ? c[i * ldc + j] : T(0);
      if (e.colBias) v += e.colBias[j * e.colBiasStride];
      if (e.rowBias) v += e.rowBias[i * e.rowBiasStride];
      c[i * ldc + j] = e.relu ? relu(v) : v;
    }
}

// Below this many multiply-adds a product runs on the calling thread: waking the pool costs more.
constexpr double kThreadedWork = 48.0 * 48 * 48;

template <class T>
void runOwn(const Kernel<T>& k, long M, long N, long K, Operand<T> a, Operand<T> b, T* c, long ldc,
            const Epilogue<T>& e) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) return epilogueOnly(M, N, c, ldc, e);
  // The kernels read biases contiguously: strided ones are gathered once.
  std::vector<T> colCopy, rowCopy;
  const T* colBias = e.colBias;
  const T* rowBias = e.rowBias;
  if (colBias && e.colBiasStride != 1) {
    colCopy.resize(N);
    for (long j = 0; j < N; j++) colCopy[j] = colBias[j * e.colBiasStride];
    colBias = colCopy.data();
  }
  if (rowBias && e.rowBiasStride != 1) {
    rowCopy.resize(M);
    for (long i = 0; i < M; i++) rowCopy[i] = rowBias[i * e.rowBiasStride];
    rowBias = rowCopy.data();
  }
  const int threads = double(M) * N * K < kThreadedWork ? 1 : pool().free();
  Product<T>{k, M, N, K, a, b, c, ldc, e, colBias, rowBias}.run(threads);
}

// ---------------------------------------------------------------------------------------------------
// Configuration and the provider rule

enum class Provider { kRule, kOwn, kOpenblas };

struct Config {
  std::mutex mutex;
  bool set = false;
  std::string provider, kernel;  // as asked for
  std::atomic<Provider> chosen{Provider::kRule};
  std::atomic<const Kernel<float>*> f32{nullptr};
};

Config& config() {
  static Config c;
  return c;
}

const Kernel<float>* bestFloat32() {
  for (const auto& k : kFloat32Kernels)
    if (k.available()) return &k.kernel;
  return &kFloat32Kernels[std::size(kFloat32Kernels) - 1].kernel;
}

const Kernel<float>& float32Kernel() {
  const Kernel<float>* k = config().f32.load(std::memory_order_acquire);
  return k ? *k : *bestFloat32();
}

// The kernel for this thread's products of T, read once per product so that all its tasks share it.
template <class T>
const Kernel<T>& ownKernel() {
#if defined(__x86_64__)
  if constexpr (std::is_same_v<T, float>)
    if (matmulPrecision() == Precision::kBf16) return kBf16Kernel;
#endif
  if constexpr (std::is_same_v<T, float>) return float32Kernel();
  else return kFloat64Kernel;
}

#if defined(STRATA_HAVE_BLAS)

// OpenBLAS runs single-threaded inside the pool (the addon sets it so), one block of rows or columns of C
// per task; it needs a unit stride on one axis of each operand, so others get a packed copy.
template <class T>
struct BlasOperand {
  const T* data;
  bool trans;
  long ld;
  std::vector<T> copy;
};

template <class T>
BlasOperand<T> asBlas(Operand<T> x, long rows, long cols) {
  if (x.colStride == 1 && (rows == 1 || x.rowStride >= std::max<long>(1, cols)))
    return {x.data, false, rows == 1 ? std::max<long>(1, cols) : x.rowStride, {}};
  if (x.rowStride == 1 && (cols == 1 || x.colStride >= std::max<long>(1, rows)))
    return {x.data, true, cols == 1 ? std::max<long>(1, rows) : x.colStride, {}};
  BlasOperand<T> out{nullptr, false, std::max<long>(1, cols), std::vector<T>(rows * cols)};
  for (long i = 0; i < rows; i++)
    for (long j = 0; j < cols; j++) out.copy[i * cols + j] = x.data[i * x.rowStride + j * x.colStride];
  out.data = out.copy.data();
  return out;
}

template <class T>
void blasCall(bool ta, bool tb, long M, long N, long K, const T* a, long lda, const T* b, long ldb, T* c, long ldc,
              bool beta) {
  const CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, TA, TB, M, N, K, 1.0f, a, lda, b, ldb, beta ? 1.0f : 0.0f, c, ldc);
  else
    cblas_dgemm(CblasRowMajor, TA, TB, M, N, K, 1.0, a, lda, b, ldb, beta ? 1.0 : 0.0, c, ldc);
}

// The epilogue around a BLAS call on rows [i0, i1) and columns [j0, j1) of C: biases written (or added)
// first so that BLAS adds the product to them, ReLU after, while the block is in cache.
template <class T>
void blasBlock(const BlasOperand<T>& a, const BlasOperand<T>& b, long i0, long i1, long j0, long j1, long K, T* c,
               long ldc, const Epilogue<T>& e) {
  const bool bias = e.colBias || e.rowBias;
  if (bias)
    for (long i = i0; i < i1; i++)
      for (long j = j0; j < j1; j++) {
        T v = e.accumulate ? c[i * ldc + j] : T(0);
        if (e.colBias) v += e.colBias[j * e.colBiasStride];
        if (e.rowBias) v += e.rowBias[i * e.rowBiasStride];
        c[i * ldc + j] = v;
      }
  const T* pa = a.trans ? a.data + i0 : a.data + i0 * a.ld;
  const T* pb = b.trans ? b.data + j0 * b.ld : b.data + j0;
  blasCall(a.trans, b.trans, i1 - i0, j1 - j0, K, pa, a.ld, pb, b.ld, c + i0 * ldc + j0, ldc, bias || e.accumulate);
  if (e.relu)
    for (long i = i0; i < i1; i++)
      for (long j = j0; j < j1; j++) c[i * ldc + j] = relu(c[i * ldc + j]);
}

template <class T>
void runBlas(long M, long N, long K, Operand<T> a, Operand<T> b, T* c, long ldc, const Epilogue<T>& e) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) return epilogueOnly(M, N, c, ldc, e);
  const BlasOperand<T> pa = asBlas(a, M, K), pb = asBlas(b, K, N);
  if (double(M) * N * K < kThreadedWork || pool().free() == 1) return blasBlock(pa, pb, 0, M, 0, N, K, c, ldc, e);
  // Along the larger side of C, one block per thread.
  const bool rows = M >= N;
  pool().parallelFor(
      rows ? M : N, 8,
      [&](long x0, long x1) {
        if (rows) blasBlock(pa, pb, x0, x1, 0, N, K, c, ldc, e);
        else blasBlock(pa, pb, 0, M, x0, x1, K, c, ldc, e);
      },
      1);
}

#endif  // STRATA_HAVE_BLAS

// Which provider multiplies a product when both exist: what STRATA_GEMM forced, or the rule. Measured on
// an AMD EPYC (Zen 4: family 25, model 17; AVX-512 with bf16; 2 cores) against OpenBLAS 0.3.21 in the
// pool, with OPENBLAS_CORETYPE=Cooperlake (its AVX-512 kernels) and Haswell (its AVX2 ones, as fast on
// this CPU), in GFLOP/s on two threads, own against OpenBLAS:
//   avx512  32³ 92 / 108, 64³ 181 / 188, 128³ 217 / 175, 256³ 226 / 200, 512³ 231 / 205,
//           1024³ 220 / 201, 2048³ 212 / 202, 64×784×128 200 / 156, x wᵀ 128×784×512 178 / 160,
//           1×512×512 59 / 59, 4×512×512 221 / 221
//   avx2    64³ 128 / 147, 128³ 180 / 188, 256³ 200 / 212, 512³ 173 / 217, 1024³ 183 / 216,
//           64×784×128 209 / 193
// So float32 goes to OpenBLAS below 2^20 multiply-adds (about 100³) when the own kernel is avx512, and
// always when it is another (neon and portable unmeasured, and no faster than avx2); float64 always
// goes to OpenBLAS, the own float64 kernel being portable only.
template <class T>
bool useBlas(long M, long N, long K) {
#if defined(STRATA_HAVE_BLAS)
  if constexpr (std::is_same_v<T, float>)
    if (matmulPrecision() == Precision::kBf16) return false;
  const Provider p = config().chosen.load(std::memory_order_acquire);
  if (p != Provider::kRule) return p == Provider::kOpenblas;
  if constexpr (std::is_same_v<T, double>) return true;
  return std::strcmp(float32Kernel().name, "avx512") != 0 || double(M) * N * K < double(1 << 20);
#else
  (void)M, (void)N, (void)K;
  return false;
#endif
}

}  // namespace

template <class T>
void ownGemm(long M, long N, long K, Operand<T> a, Operand<T> b, T* c, long ldc, const Epilogue<T>& e) {
  runOwn(ownKernel<T>(), M, N, K, a, b, c, ldc, e);
}

template <class T>
void gemm(long M, long N, long K, Operand<T> a, Operand<T> b, T* c, long ldc, const Epilogue<T>& e) {
#if defined(STRATA_HAVE_BLAS)
  if (useBlas<T>(M, N, K)) return runBlas(M, N, K, a, b, c, ldc, e);
#endif
  runOwn(ownKernel<T>(), M, N, K, a, b, c, ldc, e);
}

template void gemm<float>(long, long, long, Operand<float>, Operand<float>, float*, long, const Epilogue<float>&);
template void gemm<double>(long, long, long, Operand<double>, Operand<double>, double*, long, const Epilogue<double>&);
template void ownGemm<float>(long, long, long, Operand<float>, Operand<float>, float*, long, const Epilogue<float>&);
template void ownGemm<double>(long, long, long, Operand<double>, Operand<double>, double*, long,
                              const Epilogue<double>&);

bool haveOpenblas() {
#if defined(STRATA_HAVE_BLAS)
  return true;
#else
  return false;
#endif
}

std::string gemmKernels() {
  std::string out;
  for (const auto& k : kFloat32Kernels)
    if (k.available()) out += std::string(out.empty() ? "" : " ") + k.kernel.name;
  return out;
}

std::string configureGemm(const std::string& provider, const std::string& kernel) {
  Config& cfg = config();
  std::lock_guard<std::mutex> lock(cfg.mutex);
  if (cfg.set) {
    if (provider == cfg.provider && kernel == cfg.kernel) return "";
    return "both: the GEMM was configured as provider '" + cfg.provider + "', kernel '" + cfg.kernel +
           "' by the first instance of the addon in this process, not '" + provider + "', '" + kernel + "'";
  }
  Provider p;
  if (provider.empty()) p = Provider::kRule;
  else if (provider == "own") p = Provider::kOwn;
  else if (provider == "openblas") p = Provider::kOpenblas;
  else return "provider: unknown GEMM provider '" + provider + "' (expected own or openblas)";
  if (p == Provider::kOpenblas && !haveOpenblas()) return "provider: this addon was built without OpenBLAS";
  const Kernel<float>* chosen = bestFloat32();
  if (!kernel.empty()) {
    chosen = nullptr;
    std::string names;
    for (const auto& k : kFloat32Kernels) {
      names += std::string(names.empty() ? "" : ", ") + k.kernel.name;
      if (kernel == k.kernel.name) {
        if (!k.available())
          return "kernel: this CPU cannot run the " + kernel + " kernel (it can run: " + gemmKernels() + ")";
        chosen = &k.kernel;
      }
    }
    if (!chosen) return "kernel: this build has no " + kernel + " kernel (it has " + names + ")";
  }
  cfg.f32.store(chosen, std::memory_order_release);
  cfg.chosen.store(p, std::memory_order_release);
  cfg.provider = provider;
  cfg.kernel = kernel;
  cfg.set = true;
  return "";
}

std::string parsePrecision(const std::string& name, Precision* out) {
  if (name == "float32") {
    *out = Precision::kFloat32;
    return "";
  }
  if (name != "bf16") return "unknown matmul precision '" + name + "' (expected float32 or bf16)";
  if (!cpu().avx512bf16) {
    const std::string has = cpuFeatures().empty() ? "none of the SIMD features Strata uses" : cpuFeatures();
    return "this CPU has no AVX512-BF16 (it has " + has +
           "); bf16 needs a CPU with AVX512-BF16, e.g. Intel Cooper Lake or Sapphire Rapids (every CPU with AMX "
           "has it) or AMD Zen 4";
  }
  *out = Precision::kBf16;
  return "";
}

namespace {

std::string ownName(const Kernel<float>& k) {
  return std::string("own ") + k.name + " " + std::to_string(k.mr) + "x" + std::to_string(k.nr);
}

}  // namespace

std::string precisionDescription() {
#if defined(__x86_64__)
  if (cpu().avx512bf16)
    return "float32, bf16 via AVX512-BF16 (vdpbf16ps; " + ownName(kBf16Kernel) +
           " whatever STRATA_GEMM and STRATA_GEMM_KERNEL say)";
#endif
  return "float32; bf16: not on this CPU (no AVX512-BF16)";
}

std::string gemmDescription() {
  const std::string own = ownName(float32Kernel());
  auto who = [&](long m, long n, long kk) { return useBlas<float>(m, n, kk) ? std::string("openblas") : own; };
  const std::string small = who(64, 64, 64), large = who(1024, 1024, 1024);
  std::string out = small == large ? "float32 " + small : "float32 " + small + " at 64³, " + large + " at 1024³";
  out += std::string(", float64 ") + (useBlas<double>(64, 64, 64) ? "openblas" : "own portable");
  return out;
}

}  // namespace strata
