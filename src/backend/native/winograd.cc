// F(2×2, 3×3): with d a 4×4 input patch and g a 3×3 filter, the 2×2 outputs are Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A.
// Summed over input channels, the ⊙ becomes, for each of the 16 transform positions ξ, a matrix product
// M_ξ [O, tiles] = U_ξ [O, C] · V_ξ [C, tiles]: 16 GEMMs. The tiles are taken in blocks
// that fit in cache. The input's gradient is the same products transposed (dV_ξ = U_ξᵀ dM_ξ, with
// dM = A dY Aᵀ) scattered back through B, and the weight's is dU_ξ = dM_ξ V_ξᵀ summed over the tiles and
// taken back through G. Tiles that overhang the output read zeros and have their extra outputs dropped.
#include "winograd.h"

#include <cstring>
#include <vector>

#include "gemm.h"

namespace strata::STRATA_ISA_NS {

namespace {

constexpr int kXi = 16;

// One call's sizes: N samples, C input and O output channels, H×W inputs padded by (ph, pw) to Ho×Wo
// outputs; th×tw tiles of 2×2 outputs per sample, taken `block` at a time.
struct Plan {
  long N, C, O, H, W, Ho, Wo, ph, pw, th, tw, tiles, block, ld;
  Plan(const Geometry& g, long O_) : N(g.n), C(g.c), O(O_), H(g.in[1]), W(g.in[2]), Ho(g.out[1]), Wo(g.out[2]) {
    ph = g.p[1];
    pw = g.p[2];
    th = (Ho + 1) / 2;
    tw = (Wo + 1) / 2;
    tiles = th * tw;
    // Enough tiles that each product amortises GEMM's packing, few enough that a block's transforms
    // (16·(C + O) values per tile) stay in cache; whole rows of tiles where they fit.
    block = std::max(32L, std::min(512L, (1L << 18) / (kXi * (C + O))));
    if (tw < block) block = block / tw * tw;
    ld = (block + 15) / 16 * 16;
  }
  // Where the 16 planes of a transformed block [rows, ld] start, in elements of T: an odd number of
  // cache lines apart, so that the 16 rows a transform writes at once do not crowd into a few cache
  // sets (at 64 channels and a power-of-two block they would all map to one, and run 2.5 times slower).
  template <class T>
  long planes(long rows) const {
    const long line = 64 / sizeof(T), lines = (rows * ld + line - 1) / line;
    return (lines | 1) * line;
  }
};

// A run of a block's tiles along one row of tiles: sample n, tile row ty, tiles tx0 .. tx0 + count - 1,
// which are the block's tiles i0 .. i0 + count - 1.
struct Segment {
  long n, ty, tx0, count, i0;
};

template <class T, int Slot = 0>
T* scratch(long n) {
  thread_local std::vector<T> buffer;
  if (long(buffer.size()) < n) buffer.resize(n);
  return buffer.data();
}

const std::vector<Segment>& segmentsOf(const Plan& p, long g0, long nt) {
  thread_local std::vector<Segment> segments;
  segments.clear();
  for (long i = 0; i < nt;) {
    const long r = (g0 + i) % p.tiles, tx = r % p.tw, count = std::min(nt - i, p.tw - tx);
    segments.push_back({(g0 + i) / p.tiles, r / p.tw, tx, count, i});
    i += count;
  }
  return segments;
}

// Spreads a phase's range over the pool, or runs it in place (when each thread already has its own blocks).
struct Spread {
  bool parallel;
  template <class F>
  void operator()(long total, F fn) const {
    if (parallel) pool().parallelFor(total, 1, fn);
    else fn(0, total);
  }
};

// Whether eachBlock gives each thread whole samples (rather than spreading each block over the pool).
bool threadsOwnSamples(const Plan& p) { return p.N >= pool().size() && pool().size() > 1; }

// Runs block(t, g0, nt, buffer, spread) over all tiles. With at least as many samples as threads, each
// thread takes a share of the samples and runs every phase of its blocks itself (so the input gradient's
// overlapping patches never meet another thread's); with fewer, blocks go one at a time with each phase
// spread over the pool (by channel, or by ξ for the products).
template <class T, class Block>
void eachBlock(const Plan& p, long bufSize, Block block) {
  const int threads = pool().size();
  if (threadsOwnSamples(p)) {
    pool().run(threads, [&](int t) {
      T* buf = scratch<T>(bufSize);
      const long end = p.N * (t + 1) / threads * p.tiles;
      for (long g0 = p.N * t / threads * p.tiles; g0 < end; g0 += p.block)
        block(t, g0, std::min(p.block, end - g0), buf, Spread{false});
    });
    return;
  }
  std::vector<T> buf(bufSize);
  for (long g0 = 0; g0 < p.N * p.tiles; g0 += p.block)
    block(0, g0, std::min(p.block, p.N * p.tiles - g0), buf.data(), Spread{threads > 1});
}

// Copies row y, columns [x0, x0 + len) of a plane (rows sr, columns sc apart) into out, zeros outside it.
template <class T>
void paddedRow(T* out, const T* plane, long y, long x0, long len, long H, long W, long sr, long sc) {
  const long lo = std::clamp(-x0, 0L, len), hi = std::clamp(W - x0, lo, len);
  if (y < 0 || y >= H) {
    std::fill(out, out + len, T(0));
    return;
  }
  std::fill(out, out + lo, T(0));
  const T* src = plane + y * sr + x0 * sc;
  if (sc == 1) std::copy(src + lo, src + hi, out + lo);
  else
    for (long k = lo; k < hi; k++) out[k] = src[k * sc];
  std::fill(out + hi, out + len, T(0));
}

// The transforms' 4-point steps over a run of n tiles, every operand its own non-overlapping array so
// that the compiler vectorises across tiles. "Down" combines rows of the 4×4 (or 2×2) tiles elementwise;
// "across" combines the columns of one row, where tile t's columns are r[2t ..] (patches overlap by two).

// Bᵀ down: (x0 - x2, x1 + x2, x2 - x1, x1 - x3).
template <class T>
inline void btDown(T* __restrict y0, T* __restrict y1, T* __restrict y2, T* __restrict y3, const T* __restrict x0,
                   const T* __restrict x1, const T* __restrict x2, const T* __restrict x3, long n) {
  for (long k = 0; k < n; k++) {
    y0[k] = x0[k] - x2[k];
    y1[k] = x1[k] + x2[k];
    y2[k] = x2[k] - x1[k];
    y3[k] = x1[k] - x3[k];
  }
}

// Bᵀ across, r holding 2n + 2 columns.
template <class T>
inline void btAcross(T* __restrict y0, T* __restrict y1, T* __restrict y2, T* __restrict y3, const T* __restrict r,
                     long n) {
  for (long t = 0; t < n; t++) {
    y0[t] = r[2 * t] - r[2 * t + 2];
    y1[t] = r[2 * t + 1] + r[2 * t + 2];
    y2[t] = r[2 * t + 2] - r[2 * t + 1];
    y3[t] = r[2 * t + 1] - r[2 * t + 3];
  }
}

// A down, from the two rows of 2×2 gradients: (g0 + g1, g0 - g1, -g1) (the first row is g0 itself).
template <class T>
inline void aDown(T* __restrict y1, T* __restrict y2, T* __restrict y3, const T* __restrict g0,
                  const T* __restrict g1, long n) {
  for (long k = 0; k < n; k++) {
    y1[k] = g0[k] + g1[k];
    y2[k] = g0[k] - g1[k];
    y3[k] = -g1[k];
  }
}

// A across, r holding 2n columns: (r0, r0 + r1, r0 - r1, -r1).
template <class T>
inline void aAcross(T* __restrict y0, T* __restrict y1, T* __restrict y2, T* __restrict y3, const T* __restrict r,
                    long n) {
  for (long t = 0; t < n; t++) {
    const T r0 = r[2 * t], r1 = r[2 * t + 1];
    y0[t] = r0;
    y1[t] = r0 + r1;
    y2[t] = r0 - r1;
    y3[t] = -r1;
  }
}

// Aᵀ down: (m0 + m1 + m2, m1 - m2 - m3).
template <class T>
inline void atDown(T* __restrict y0, T* __restrict y1, const T* __restrict m0, const T* __restrict m1,
                   const T* __restrict m2, const T* __restrict m3, long n) {
  for (long k = 0; k < n; k++) {
    y0[k] = m0[k] + m1[k] + m2[k];
    y1[k] = m1[k] - m2[k] - m3[k];
  }
}

// Aᵀ across into a row of 2n outputs, plus the bias.
template <class T>
inline void atAcross(T* __restrict out, const T* __restrict u0, const T* __restrict u1, const T* __restrict u2,
                     const T* __restrict u3, T bias, long n) {
  for (long t = 0; t < n; t++) {
    out[2 * t] = u0[t] + u1[t] + u2[t] + bias;
    out[2 * t + 1] = u1[t] - u2[t] - u3[t] + bias;
  }
}

// B down: (v0, v1 - v2 + v3, v1 + v2 - v0, -v3) (the first row is v0 itself).
template <class T>
inline void bDown(T* __restrict y1, T* __restrict y2, T* __restrict y3, const T* __restrict v0,
                  const T* __restrict v1, const T* __restrict v2, const T* __restrict v3, long n) {
  for (long k = 0; k < n; k++) {
    y1[k] = v1[k] - v2[k] + v3[k];
    y2[k] = v1[k] + v2[k] - v0[k];
    y3[k] = -v3[k];
  }
}

// B across, summed where neighbouring patches overlap: acc (2n + 2 columns) = Σ_t tile t's
// (r0, r1 - r2 + r3, r1 + r2 - r0, -r3) placed at columns 2t ...
template <class T>
inline void bAcross(T* __restrict acc, const T* __restrict r0, const T* __restrict r1, const T* __restrict r2,
                    const T* __restrict r3, long n) {
  for (long t = 0; t < n; t++) {
    acc[2 * t] = r0[t];
    acc[2 * t + 1] = r1[t] - r2[t] + r3[t];
  }
  acc[2 * n] = acc[2 * n + 1] = T(0);
  for (long t = 0; t < n; t++) {
    acc[2 * t + 2] += r1[t] + r2[t] - r0[t];
    acc[2 * t + 3] -= r3[t];
  }
}

// V[ξ, c, i] = (Bᵀ d B)_ξ for the patch d of tile i in channel c, for channels [c0, c1); planes vs apart.
template <class T>
void inputTransform(T* V, long ld, long vs, const T* px, const View& x, const Geometry& g, const Plan& p,
                    const std::vector<Segment>& segments, long c0, long c1) {
  const long maxLen = 2 * p.tw + 2;
  // Four padded rows of the input, then their four combinations.
  T* buf = scratch<T, 1>(8 * maxLen);
  for (long c = c0; c < c1; c++)
    for (const Segment& s : segments) {
      const long y0 = 2 * s.ty - p.ph, x0 = 2 * s.tx0 - p.pw, len = 2 * s.count + 2;
      const T* plane = px + x.offset + s.n * x.strides[0] + c * x.strides[1];
      T* q = buf + 4 * len;
      const long lo = std::clamp(-x0, 0L, len), hi = std::clamp(p.W - x0, lo, len);
      if (g.st[2] == 1 && y0 >= 0 && y0 + 4 <= p.H && lo < hi) {
        // All four rows exist: combine them where they are, zeros in the padding either side.
        const T* d = plane + y0 * g.st[1] + x0;
        for (int a = 0; a < 4; a++) {
          std::fill(q + a * len, q + a * len + lo, T(0));
          std::fill(q + a * len + hi, q + (a + 1) * len, T(0));
        }
        const long sr = g.st[1];
        btDown(q + lo, q + len + lo, q + 2 * len + lo, q + 3 * len + lo, d + lo, d + sr + lo, d + 2 * sr + lo,
               d + 3 * sr + lo, hi - lo);
      } else {
        T* d = buf;
        for (int a = 0; a < 4; a++) paddedRow(d + a * len, plane, y0 + a, x0, len, p.H, p.W, g.st[1], g.st[2]);
        btDown(q, q + len, q + 2 * len, q + 3 * len, d, d + len, d + 2 * len, d + 3 * len, len);
      }
      for (int a = 0; a < 4; a++) {
        T* v = V + 4 * a * vs + c * ld + s.i0;
        btAcross(v, v + vs, v + 2 * vs, v + 3 * vs, q + a * len, s.count);
      }
    }
}

// dM[ξ, o, i] = (A dy Aᵀ)_ξ for the 2×2 output gradient of tile i in channel o (zeros past the output).
template <class T>
void gradTransform(T* dM, long ld, long ms, const T* pg, const Plan& p, const std::vector<Segment>& segments,
                   long o0, long o1) {
  // The first row of gradients when it needs padding, rows 1 to 3 of A dy, then the second row of
  // gradients when it needs padding: 5 runs of at most 2·tw.
  T* buf = scratch<T, 1>(10 * p.tw);
  for (long o = o0; o < o1; o++)
    for (const Segment& s : segments) {
      const long oy = 2 * s.ty, ox = 2 * s.tx0, len = 2 * s.count;
      const T* plane = pg + (s.n * p.O + o) * p.Ho * p.Wo;
      // The two rows of gradients, read in place when the run lies inside the output.
      const T *g0 = plane + oy * p.Wo + ox, *g1 = g0 + p.Wo;
      if (ox + len > p.Wo || oy + 1 >= p.Ho) {
        T *first = buf, *second = buf + 4 * len;
        paddedRow(first, plane, oy, ox, len, p.Ho, p.Wo, p.Wo, 1L);
        paddedRow(second, plane, oy + 1, ox, len, p.Ho, p.Wo, p.Wo, 1L);
        g0 = first;
        g1 = second;
      }
      aDown(buf + len, buf + 2 * len, buf + 3 * len, g0, g1, len);
      const T* r[4] = {g0, buf + len, buf + 2 * len, buf + 3 * len};
      for (int a = 0; a < 4; a++) {
        T* m = dM + 4 * a * ms + o * ld + s.i0;
        aAcross(m, m + ms, m + 2 * ms, m + 3 * ms, r[a], s.count);
      }
    }
}

// U[ξ, o, c] = (G g Gᵀ)_ξ for every filter g = w[o, c].
template <class T>
std::vector<T> weightTransform(const T* pw, long O, long C) {
  std::vector<T> U(kXi * O * C);
  for (long o = 0; o < O; o++)
    for (long c = 0; c < C; c++) {
      const T* f = pw + (o * C + c) * 9;
      T r[4][3];
      for (int b = 0; b < 3; b++) {
        r[0][b] = f[b];
        r[1][b] = T(0.5) * (f[b] + f[3 + b] + f[6 + b]);
        r[2][b] = T(0.5) * (f[b] - f[3 + b] + f[6 + b]);
        r[3][b] = f[6 + b];
      }
      for (int a = 0; a < 4; a++) {
        T* u = U.data() + (4 * a * O + o) * C + c;
        const long step = O * C;
        u[0] = r[a][0];
        u[step] = T(0.5) * (r[a][0] + r[a][1] + r[a][2]);
        u[2 * step] = T(0.5) * (r[a][0] - r[a][1] + r[a][2]);
        u[3 * step] = r[a][2];
      }
    }
  return U;
}

// The 16 products of a block: C_ξ = op(A_ξ) op(B_ξ) for ξ in [k0, k1).
template <class T>
void products(bool ta, bool tb, long M, long N, long K, const T* a, long lda, long strideA, const T* b, long ldb,
              long strideB, T* c, long ldc, long strideC, bool accumulate, long k0, long k1) {
  for (long k = k0; k < k1; k++)
    gemm<T>(ta, tb, M, N, K, a + k * strideA, lda, b + k * strideB, ldb, c + k * strideC, ldc, accumulate);
}

template <class T>
void forwardTyped(const View& y, const View& x, const View& w, const View* bias, bool relu, const Geometry& g) {
  const Plan p(g, w.shape[0]);
  const std::vector<T> U = weightTransform(static_cast<const T*>(w.data) + w.offset, p.O, p.C);
  const T* px = static_cast<const T*>(x.data);
  const T* pb = bias ? static_cast<const T*>(bias->data) + bias->offset : nullptr;
  T* py = static_cast<T*>(y.data) + y.offset;
  const long ld = p.ld, vs = p.planes<T>(p.C), ms = p.planes<T>(p.O), plane = p.Ho * p.Wo;
  eachBlock<T>(p, kXi * (vs + ms), [&](int, long g0, long nt, T* buf, Spread spread) {
    T *V = buf, *M = buf + kXi * vs;
    const auto& segments = segmentsOf(p, g0, nt);
    spread(p.C, [&](long c0, long c1) { inputTransform(V, ld, vs, px, x, g, p, segments, c0, c1); });
    spread(kXi, [&](long k0, long k1) {
      products<T>(false, false, p.O, nt, p.C, U.data(), p.C, p.O * p.C, V, ld, vs, M, ld, ms, false, k0, k1);
    });
    // Y = Aᵀ M A, down and then across; then the bias and ReLU, and the rows that exist are written.
    spread(p.O, [&](long o0, long o1) {
      // Two output rows of 2·tw, then the 8 runs of Aᵀ M (down) of tw each.
      T* rows = scratch<T, 1>(12 * p.tw);
      for (long o = o0; o < o1; o++) {
        const T b = pb ? pb[o] : T(0);
        for (const Segment& s : segments) {
          const long oy = 2 * s.ty, ox = 2 * s.tx0, len = 2 * s.count;
          const T* m = M + o * ld + s.i0;
          T *r0 = rows, *r1 = rows + len, *u = rows + 2 * len;
          const long n = s.count;
          for (int c = 0; c < 4; c++)
            atDown(u + c * n, u + (4 + c) * n, m + c * ms, m + (4 + c) * ms, m + (8 + c) * ms, m + (12 + c) * ms, n);
          atAcross(r0, u, u + n, u + 2 * n, u + 3 * n, b, n);
          atAcross(r1, u + 4 * n, u + 5 * n, u + 6 * n, u + 7 * n, b, n);
          if (relu)
            for (long k = 0; k < 2 * len; k++) rows[k] = rows[k] > 0 || rows[k] != rows[k] ? rows[k] : T(0);
          const long width = std::min(len, p.Wo - ox);
          T* out = py + (s.n * p.O + o) * plane + oy * p.Wo + ox;
          std::copy(r0, r0 + width, out);
          if (oy + 1 < p.Ho) std::copy(r1, r1 + width, out + p.Wo);
        }
      }
    });
  });
}

template <class T>
void backwardInputTyped(const View& dx, const View& gy, const View& w, const Geometry& g) {
  const Plan p(g, w.shape[0]);
  const std::vector<T> U = weightTransform(static_cast<const T*>(w.data) + w.offset, p.O, p.C);
  const T* pg = static_cast<const T*>(gy.data) + gy.offset;
  T* pdx = static_cast<T*>(dx.data) + dx.offset;
  const long ld = p.ld, vs = p.planes<T>(p.C), ms = p.planes<T>(p.O), plane = p.H * p.W;
  pool().parallelFor(p.N * p.C, 8, [&](long a, long b) { std::memset(pdx + a * plane, 0, sizeof(T) * (b - a) * plane); });
  eachBlock<T>(p, kXi * (vs + ms), [&](int, long g0, long nt, T* buf, Spread spread) {
    T *dV = buf, *dM = buf + kXi * vs;
    const auto& segments = segmentsOf(p, g0, nt);
    spread(p.O, [&](long o0, long o1) { gradTransform(dM, ld, ms, pg, p, segments, o0, o1); });
    spread(kXi, [&](long k0, long k1) {
      products<T>(true, false, p.C, nt, p.O, U.data(), p.C, p.O * p.C, dM, ld, ms, dV, ld, vs, false, k0, k1);
    });
    // dd = B dV Bᵀ added into the patches, which overlap their neighbours by two rows and columns (so
    // each channel stays on one thread).
    spread(p.C, [&](long c0, long c1) {
      // 16 runs of B dV (down) of tw each, then one row of 2·tw + 2 sums.
      T* buf = scratch<T, 1>(18 * p.tw + 2);
      for (long c = c0; c < c1; c++)
        for (const Segment& s : segments) {
          const long y0 = 2 * s.ty - p.ph, x0 = 2 * s.tx0 - p.pw, len = 2 * s.count + 2, n = s.count;
          const T* v = dV + c * ld + s.i0;
          // r[a][b]: row a of the tiles' B dV, column b; row 0 is dV's own first row.
          T* rows = buf;
          T* acc = buf + 16 * n;
          for (int b = 0; b < 4; b++)
            bDown(rows + (4 + b) * n, rows + (8 + b) * n, rows + (12 + b) * n, v + b * vs, v + (4 + b) * vs,
                  v + (8 + b) * vs, v + (12 + b) * vs, n);
          const long lo = std::clamp(-x0, 0L, len), hi = std::clamp(p.W - x0, lo, len);
          for (int a = 0; a < 4; a++) {
            if (y0 + a < 0 || y0 + a >= p.H) continue;
            const T* r0 = a == 0 ? v : rows + 4 * a * n;
            const long step = a == 0 ? vs : n;
            bAcross(acc, r0, r0 + step, r0 + 2 * step, r0 + 3 * step, n);
            T* row = pdx + (s.n * p.C + c) * plane + (y0 + a) * p.W + x0;
            for (long k = lo; k < hi; k++) row[k] += acc[k];
          }
        }
    });
  });
}

template <class T>
void backwardWeightTyped(const View& dw, const View& x, const View& gy, const Geometry& g) {
  const Plan p(g, dw.shape[0]);
  const T* px = static_cast<const T*>(x.data);
  const T* pg = static_cast<const T*>(gy.data) + gy.offset;
  const long ld = p.ld, vs = p.planes<T>(p.C), ms = p.planes<T>(p.O), size = kXi * p.O * p.C;
  // One sum of dU per thread when threads own samples; one in all when the phases are spread.
  const int sums = threadsOwnSamples(p) ? pool().size() : 1;
  std::vector<T> dU(size * sums, T(0));
  eachBlock<T>(p, kXi * (vs + ms), [&](int t, long g0, long nt, T* buf, Spread spread) {
    T *V = buf, *dM = buf + kXi * vs;
    const auto& segments = segmentsOf(p, g0, nt);
    spread(p.C, [&](long c0, long c1) { inputTransform(V, ld, vs, px, x, g, p, segments, c0, c1); });
    spread(p.O, [&](long o0, long o1) { gradTransform(dM, ld, ms, pg, p, segments, o0, o1); });
    spread(kXi, [&](long k0, long k1) {
      products<T>(false, true, p.O, p.C, nt, dM, ld, ms, V, ld, vs, dU.data() + t * size, p.C, p.O * p.C, true, k0, k1);
    });
  });
  for (int t = 1; t < sums; t++)
    for (long i = 0; i < size; i++) dU[i] += dU[t * size + i];
  // dw = Gᵀ dU G: rows (u0 + (u1 + u2)/2, (u1 - u2)/2, (u1 + u2)/2 + u3), then the same along the columns.
  T* pdw = static_cast<T*>(dw.data) + dw.offset;
  for (long o = 0; o < p.O; o++)
    for (long c = 0; c < p.C; c++) {
      T u[4][4];
      for (int k = 0; k < kXi; k++) u[k / 4][k % 4] = dU[(k * p.O + o) * p.C + c];
      T r[3][4];
      for (int b = 0; b < 4; b++) {
        const T s = T(0.5) * (u[1][b] + u[2][b]);
        r[0][b] = u[0][b] + s;
        r[1][b] = T(0.5) * (u[1][b] - u[2][b]);
        r[2][b] = s + u[3][b];
      }
      T* f = pdw + (o * p.C + c) * 9;
      for (int a = 0; a < 3; a++) {
        const T s = T(0.5) * (r[a][1] + r[a][2]);
        f[3 * a] = r[a][0] + s;
        f[3 * a + 1] = T(0.5) * (r[a][1] - r[a][2]);
        f[3 * a + 2] = s + r[a][3];
      }
    }
}

}  // namespace

bool winogradFits(const Geometry& g, long C, long O, long groups) {
  return groups == 1 && g.in[0] == 1 && g.k[0] == 1 && g.p[0] == 0 && g.out[0] == 1 && g.k[1] == 3 && g.k[2] == 3 && g.s[1] == 1 && g.s[2] == 1 &&
         g.d[1] == 1 && g.d[2] == 1 && g.out[1] > 0 && g.out[2] > 0 && C >= 16 && O >= 16;
}

void winogradForward(const View& y, const View& x, const View& w, const View* bias, bool relu, const Geometry& g) {
  if (x.dtype == kF32) forwardTyped<float>(y, x, w, bias, relu, g);
  else forwardTyped<double>(y, x, w, bias, relu, g);
}

void winogradBackwardInput(const View& dx, const View& gy, const View& w, const Geometry& g) {
  if (dx.dtype == kF32) backwardInputTyped<float>(dx, gy, w, g);
  else backwardInputTyped<double>(dx, gy, w, g);
}

void winogradBackwardWeight(const View& dw, const View& x, const View& gy, const Geometry& g) {
  if (x.dtype == kF32) backwardWeightTyped<float>(dw, x, gy, g);
  else backwardWeightTyped<double>(dw, x, gy, g);
}

}  // namespace strata::STRATA_ISA_NS
