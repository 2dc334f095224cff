// float32 exp, log, tanh and sigmoid a vector at a time, within 2 ulp of the correctly rounded result
// over the whole range, for the per-ISA kernels (see isa.h). Each is written once over a lane type:
// Floats, as wide as the instruction set this source is compiled for (AVX-512's 16 lanes, AVX2's 8,
// SSE2's 4 on the x86-64 baseline, one elsewhere), or One<T>, a single value, for the layouts without a
// unit stride. One<double> keeps libm's.
#pragma once
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <type_traits>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "isa.h"

namespace strata::STRATA_ISA_NS {

template <class T>
struct One {
  using Scalar = T;
  static constexpr long kWidth = 1;
  T v;
  One(T x) : v(x) {}
  static One load(const T* p, long = 1) { return *p; }
  void store(T* p, long = 1) const { *p = v; }
  friend One operator+(One a, One b) { return a.v + b.v; }
  friend One operator-(One a, One b) { return a.v - b.v; }
  friend One operator*(One a, One b) { return a.v * b.v; }
  friend One operator/(One a, One b) { return a.v / b.v; }
  friend bool operator<(One a, One b) { return a.v < b.v; }
  friend bool operator>=(One a, One b) { return a.v >= b.v; }
  friend bool operator==(One a, One b) { return a.v == b.v; }
  friend bool operator!=(One a, One b) { return a.v != b.v; }
  friend One select(bool m, One a, One b) { return m ? a : b; }
  friend One fma(One a, One b, One c) {
#if defined(__FMA__)
    return std::fma(a.v, b.v, c.v);  // one rounding, as in the vector lanes
#else
    return a.v * b.v + c.v;
#endif
  }
  // b when either is NaN, as x86's minps and maxps.
  friend One min(One a, One b) { return a.v < b.v ? a : b; }
  friend One max(One a, One b) { return a.v > b.v ? a : b; }
  friend One abs(One a) { return std::fabs(a.v); }
  friend One copysign(One a, One b) { return std::copysign(a.v, b.v); }
  // p·2^n for an integer n, rounded once.
  friend One ldexp(One p, One n) { return std::ldexp(p.v, n.v == n.v ? int(n.v) : 0); }
  // x = m·2^e with m in [1/2, 1), for finite x > 0 (denormals included).
  friend One frexp(One x, One& e) {
    int k;
    const T m = std::frexp(x.v, &k);
    e = T(k);
    return m;
  }
};

#if defined(__AVX512F__)

struct Floats {
  using Scalar = float;
  using Mask = __mmask16;
  static constexpr long kWidth = 16;
  __m512 v;
  Floats(__m512 x) : v(x) {}
  Floats(float x) : v(_mm512_set1_ps(x)) {}
  static Mask first(long n) { return Mask((1u << n) - 1); }
  // The first n lanes (n ≤ 16); the rest read 0.
  static Floats load(const float* p, long n) {
    return n == kWidth ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(first(n), p);
  }
  void store(float* p, long n) const {
    if (n == kWidth) _mm512_storeu_ps(p, v);
    else _mm512_mask_storeu_ps(p, first(n), v);
  }
  friend Floats operator+(Floats a, Floats b) { return _mm512_add_ps(a.v, b.v); }
  friend Floats operator-(Floats a, Floats b) { return _mm512_sub_ps(a.v, b.v); }
  friend Floats operator*(Floats a, Floats b) { return _mm512_mul_ps(a.v, b.v); }
  friend Floats operator/(Floats a, Floats b) { return _mm512_div_ps(a.v, b.v); }
  friend Mask operator<(Floats a, Floats b) { return _mm512_cmp_ps_mask(a.v, b.v, _CMP_LT_OQ); }
  friend Mask operator>=(Floats a, Floats b) { return _mm512_cmp_ps_mask(a.v, b.v, _CMP_GE_OQ); }
  friend Mask operator==(Floats a, Floats b) { return _mm512_cmp_ps_mask(a.v, b.v, _CMP_EQ_OQ); }
  friend Mask operator!=(Floats a, Floats b) { return _mm512_cmp_ps_mask(a.v, b.v, _CMP_NEQ_UQ); }
  friend Floats select(Mask m, Floats a, Floats b) { return _mm512_mask_blend_ps(m, b.v, a.v); }
  friend Floats fma(Floats a, Floats b, Floats c) { return _mm512_fmadd_ps(a.v, b.v, c.v); }
  friend Floats min(Floats a, Floats b) { return _mm512_min_ps(a.v, b.v); }
  friend Floats max(Floats a, Floats b) { return _mm512_max_ps(a.v, b.v); }
  friend Floats abs(Floats a) { return _mm512_abs_ps(a.v); }
  friend Floats copysign(Floats a, Floats b) {
    const __m512i sign = _mm512_and_si512(_mm512_castps_si512(b.v), _mm512_set1_epi32(INT32_MIN));
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(abs(a).v), sign));
  }
  friend Floats ldexp(Floats p, Floats n) { return _mm512_scalef_ps(p.v, n.v); }
  friend Floats frexp(Floats x, Floats& e) {
    e = _mm512_add_ps(_mm512_getexp_ps(x.v), _mm512_set1_ps(1));
    return _mm512_getmant_ps(x.v, _MM_MANT_NORM_p5_1, _MM_MANT_SIGN_zero);
  }
};

#elif defined(__AVX2__) && defined(__FMA__)

struct Floats {
  using Scalar = float;
  using Mask = __m256;
  static constexpr long kWidth = 8;
  __m256 v;
  Floats(__m256 x) : v(x) {}
  Floats(float x) : v(_mm256_set1_ps(x)) {}
  static __m256i first(long n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  // The first n lanes (n ≤ 8); the rest read 0.
  static Floats load(const float* p, long n) {
    return n == kWidth ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, first(n));
  }
  void store(float* p, long n) const {
    if (n == kWidth) _mm256_storeu_ps(p, v);
    else _mm256_maskstore_ps(p, first(n), v);
  }
  friend Floats operator+(Floats a, Floats b) { return _mm256_add_ps(a.v, b.v); }
  friend Floats operator-(Floats a, Floats b) { return _mm256_sub_ps(a.v, b.v); }
  friend Floats operator*(Floats a, Floats b) { return _mm256_mul_ps(a.v, b.v); }
  friend Floats operator/(Floats a, Floats b) { return _mm256_div_ps(a.v, b.v); }
  friend Mask operator<(Floats a, Floats b) { return _mm256_cmp_ps(a.v, b.v, _CMP_LT_OQ); }
  friend Mask operator>=(Floats a, Floats b) { return _mm256_cmp_ps(a.v, b.v, _CMP_GE_OQ); }
  friend Mask operator==(Floats a, Floats b) { return _mm256_cmp_ps(a.v, b.v, _CMP_EQ_OQ); }
  friend Mask operator!=(Floats a, Floats b) { return _mm256_cmp_ps(a.v, b.v, _CMP_NEQ_UQ); }
  friend Floats select(Mask m, Floats a, Floats b) { return _mm256_blendv_ps(b.v, a.v, m); }
  friend Floats fma(Floats a, Floats b, Floats c) { return _mm256_fmadd_ps(a.v, b.v, c.v); }
  friend Floats min(Floats a, Floats b) { return _mm256_min_ps(a.v, b.v); }
  friend Floats max(Floats a, Floats b) { return _mm256_max_ps(a.v, b.v); }
  friend Floats abs(Floats a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a.v); }
  friend Floats copysign(Floats a, Floats b) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    return _mm256_or_ps(_mm256_andnot_ps(sign, a.v), _mm256_and_ps(sign, b.v));
  }
  // 2^n as two factors, each a normal float for n in [-150, 128], so that only the second product rounds.
  friend Floats ldexp(Floats p, Floats n) {
    const __m256i k = _mm256_cvtps_epi32(n.v), h = _mm256_srai_epi32(k, 1), bias = _mm256_set1_epi32(127);
    const __m256 a = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(h, bias), 23));
    const __m256 b = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(k, h), bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p.v, a), b);
  }
  // Denormals are scaled by 2^23 into the normal range first.
  friend Floats frexp(Floats x, Floats& e) {
    const __m256 tiny = _mm256_cmp_ps(x.v, _mm256_set1_ps(FLT_MIN), _CMP_LT_OQ);
    const __m256i b = _mm256_castps_si256(_mm256_blendv_ps(x.v, _mm256_mul_ps(x.v, _mm256_set1_ps(0x1p23f)), tiny));
    const __m256 bias = _mm256_blendv_ps(_mm256_set1_ps(126), _mm256_set1_ps(149), tiny);
    e = _mm256_sub_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(b, 23)), bias);
    const __m256i m = _mm256_and_si256(b, _mm256_set1_epi32(0x007fffff));
    return _mm256_castsi256_ps(_mm256_or_si256(m, _mm256_set1_epi32(0x3f000000)));
  }
};

#elif defined(__SSE2__)

struct Floats {
  using Scalar = float;
  using Mask = __m128;
  static constexpr long kWidth = 4;
  __m128 v;
  Floats(__m128 x) : v(x) {}
  Floats(float x) : v(_mm_set1_ps(x)) {}
  // The first n lanes (n ≤ 4); the rest read 0. SSE2 has no masked moves, so a tail goes through a copy.
  static Floats load(const float* p, long n) {
    if (n == kWidth) return _mm_loadu_ps(p);
    float t[kWidth] = {};
    std::copy(p, p + n, t);
    return _mm_loadu_ps(t);
  }
  void store(float* p, long n) const {
    if (n == kWidth) return _mm_storeu_ps(p, v);
    float t[kWidth];
    _mm_storeu_ps(t, v);
    std::copy(t, t + n, p);
  }
  friend Floats operator+(Floats a, Floats b) { return _mm_add_ps(a.v, b.v); }
  friend Floats operator-(Floats a, Floats b) { return _mm_sub_ps(a.v, b.v); }
  friend Floats operator*(Floats a, Floats b) { return _mm_mul_ps(a.v, b.v); }
  friend Floats operator/(Floats a, Floats b) { return _mm_div_ps(a.v, b.v); }
  friend Mask operator<(Floats a, Floats b) { return _mm_cmplt_ps(a.v, b.v); }
  friend Mask operator>=(Floats a, Floats b) { return _mm_cmpge_ps(a.v, b.v); }
  friend Mask operator==(Floats a, Floats b) { return _mm_cmpeq_ps(a.v, b.v); }
  friend Mask operator!=(Floats a, Floats b) { return _mm_cmpneq_ps(a.v, b.v); }
  friend Floats select(Mask m, Floats a, Floats b) { return _mm_or_ps(_mm_and_ps(m, a.v), _mm_andnot_ps(m, b.v)); }
  friend Floats fma(Floats a, Floats b, Floats c) { return _mm_add_ps(_mm_mul_ps(a.v, b.v), c.v); }
  friend Floats min(Floats a, Floats b) { return _mm_min_ps(a.v, b.v); }
  friend Floats max(Floats a, Floats b) { return _mm_max_ps(a.v, b.v); }
  friend Floats abs(Floats a) { return _mm_andnot_ps(_mm_set1_ps(-0.0f), a.v); }
  friend Floats copysign(Floats a, Floats b) {
    const __m128 sign = _mm_set1_ps(-0.0f);
    return _mm_or_ps(_mm_andnot_ps(sign, a.v), _mm_and_ps(sign, b.v));
  }
  // As AVX2's, four lanes wide.
  friend Floats ldexp(Floats p, Floats n) {
    const __m128i k = _mm_cvtps_epi32(n.v), h = _mm_srai_epi32(k, 1), bias = _mm_set1_epi32(127);
    const __m128 a = _mm_castsi128_ps(_mm_slli_epi32(_mm_add_epi32(h, bias), 23));
    const __m128 b = _mm_castsi128_ps(_mm_slli_epi32(_mm_add_epi32(_mm_sub_epi32(k, h), bias), 23));
    return _mm_mul_ps(_mm_mul_ps(p.v, a), b);
  }
  friend Floats frexp(Floats x, Floats& e) {
    const Floats tiny = _mm_cmplt_ps(x.v, _mm_set1_ps(FLT_MIN));
    const __m128i b = _mm_castps_si128(select(tiny.v, x * 0x1p23f, x).v);
    e = _mm_sub_ps(_mm_cvtepi32_ps(_mm_srli_epi32(b, 23)), select(tiny.v, Floats(149.0f), Floats(126.0f)).v);
    const __m128i m = _mm_and_si128(b, _mm_set1_epi32(0x007fffff));
    return _mm_castsi128_ps(_mm_or_si128(m, _mm_set1_epi32(0x3f000000)));
  }
};

#else

using Floats = One<float>;

#endif

// float32 lanes, for the algorithms below; One<double> has libm's instead.
template <class V>
using IfFloat = std::enable_if_t<std::is_same_v<typename V::Scalar, float>, int>;

// exp x = 2^n·exp r with n = round(x / ln 2), |r| ≤ ln 2 / 2, ln 2 split in two so that n times the
// first part is exact, and exp r by Cephes' expf polynomial. Beyond [-104, 89] the result is 0 or inf
// anyway, and min and max keep a NaN.
template <class V, IfFloat<V> = 0>
V exp(V x) {
  x = max(V(-104.0f), min(V(89.0f), x));
  const V toInteger = 0x1.8p23f;  // adding it rounds to an integer
  const V n = fma(x, V(1.44269504088896341f), toInteger) - toInteger;
  V r = fma(n, V(-0.693359375f), x);
  r = fma(n, V(2.12194440e-4f), r);
  V p = 1.9875691500e-4f;
  p = fma(p, r, 1.3981999507e-3f);
  p = fma(p, r, 8.3334519073e-3f);
  p = fma(p, r, 4.1665795894e-2f);
  p = fma(p, r, 1.6666665459e-1f);
  p = fma(p, r, 5.0000001201e-1f);
  return ldexp(fma(p, r * r, r) + 1.0f, n);
}

// log x = e·ln 2 + log(1 + f) for x = (1 + f)·2^e with 1 + f in [√½, √2), log(1 + f) = f - f²/2 + f³·P(f)
// by Cephes' logf polynomial; then 0, negative numbers, inf and NaN.
template <class V, IfFloat<V> = 0>
V log(V x) {
  V e = 0.0f;
  V m = frexp(x, e);
  const auto low = m < V(0.707106781186547524f);
  e = select(low, e - 1.0f, e);
  const V f = select(low, m + m, m) - 1.0f;
  const V z = f * f;
  V p = 7.0376836292e-2f;
  p = fma(p, f, -1.1514610310e-1f);
  p = fma(p, f, 1.1676998740e-1f);
  p = fma(p, f, -1.2420140846e-1f);
  p = fma(p, f, 1.4249322787e-1f);
  p = fma(p, f, -1.6668057665e-1f);
  p = fma(p, f, 2.0000714765e-1f);
  p = fma(p, f, -2.4999993993e-1f);
  p = fma(p, f, 3.3333331174e-1f);
  V y = fma(e, V(-2.12194440e-4f), p * f * z);
  y = fma(z, V(-0.5f), y);
  V r = fma(e, V(0.693359375f), f + y);
  r = select(x == V(0.0f), V(-INFINITY), r);
  r = select(x < V(0.0f), V(NAN), r);
  r = select(x == V(INFINITY), x, r);
  return select(x != x, x, r);
}

// tanh |x| = |x| + |x|³·P(x²) below 0.625 (Cephes' tanhf), 1 - 2 / (exp 2|x| + 1) above (1 from about 9
// on), with x's sign, so that -0 stays -0.
template <class V, IfFloat<V> = 0>
V tanh(V x) {
  const V a = abs(x), z = a * a;
  V p = -5.70498872745e-3f;
  p = fma(p, z, 2.06390887954e-2f);
  p = fma(p, z, -5.37397155531e-2f);
  p = fma(p, z, 1.33314422036e-1f);
  p = fma(p, z, -3.33332819422e-1f);
  const V small = fma(p * z, a, a);
  const V large = 1.0f - 2.0f / (exp(a + a) + 1.0f);
  return copysign(select(a < V(0.625f), small, large), x);
}

inline One<double> exp(One<double> x) { return std::exp(x.v); }
inline One<double> log(One<double> x) { return std::log(x.v); }
inline One<double> tanh(One<double> x) { return std::tanh(x.v); }

// 1 / (1 + e^-x) for x ≥ 0 and e^x / (1 + e^x) below, so that neither overflows nor loses the tail.
template <class V, class = typename V::Scalar>
V sigmoid(V x) {
  const V e = exp(V(0.0f) - abs(x));
  return select(x >= V(0.0f), V(1.0f), e) / (e + 1.0f);
}

}  // namespace strata::STRATA_ISA_NS
