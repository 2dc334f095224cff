// Scaled dot-product attention, fused: out = softmax(Q Kᵀ · scale + mask) V without the L×S matrix of
// scores. The forward walks the keys in blocks with the online softmax (FlashAttention's recurrence:
// a running row maximum m and sum l, the partial output rescaled by exp(m_old - m_new) whenever the
// maximum grows) and keeps only each row's logsumexp; the backward recomputes each block's
// probabilities from it. Memory grows with the lengths, not their product. Block products go through
// gemm<T>, so they run in the caller's matmul precision (autocast) like the composition's.
#include <cmath>
#include <limits>
#include <vector>

#include "gemm.h"
#include "kernels.h"

namespace strata::STRATA_ISA_NS {

namespace {

// Query rows and keys per block: a 64×64 block of scores and its products with E = 64 features fill
// the GEMM's register tiles well and keep a task's scratch in L2.
constexpr long kRows = 64, kKeys = 64;

template <class T>
const T* ptr(const View& v) {
  return static_cast<const T*>(v.data) + v.offset;
}
template <class T>
T* mut(const View& v) {
  return static_cast<T*>(v.data) + v.offset;
}

// What the forward and backward share: the sizes, the scale, the mask (or none) and causality.
template <class T>
struct Problem {
  long B, L, S, E, Ev;
  T scale;
  const View& q;
  const View& k;
  const View& v;
  const View* mask;
  bool causal;

  // Keys past this one are masked for every query in [i0, i1) (causal: the last query's own position).
  long keyEnd(long i1) const { return causal ? std::min(S, i1) : S; }

  // Q's rows [i0, i1) of batch b, times the scale (as the composition scales q before its product),
  // into qs (rows E apart).
  void scaledQueries(long b, long i0, long i1, T* qs) const {
    const T* qb = ptr<T>(q) + b * q.strides[0];
    for (long i = i0; i < i1; i++)
      for (long e = 0; e < E; e++) qs[(i - i0) * E + e] = qb[i * q.strides[1] + e * q.strides[2]] * scale;
  }

  // s (rows kKeys apart) = qs · K[b, j0:j1]ᵀ plus the mask, causal positions set to -∞.
  void scores(long b, long i0, long i1, long j0, long j1, const T* qs, T* s) const {
    const long rows = i1 - i0, cols = j1 - j0;
    if (E > 0) {
      const T* kb = ptr<T>(k) + b * k.strides[0] + j0 * k.strides[1];
      gemm<T>(rows, cols, E, Operand<T>{qs, E, 1}, Operand<T>{kb, k.strides[2], k.strides[1]}, s, kKeys);
    } else {
      for (long r = 0; r < rows; r++) std::fill(s + r * kKeys, s + r * kKeys + cols, T(0));
    }
    if (mask) {
      const T* mb = ptr<T>(*mask) + b * mask->strides[0];
      const long ml = mask->strides[1], ms = mask->strides[2];
      for (long r = 0; r < rows; r++)
        for (long c = 0; c < cols; c++) s[r * kKeys + c] += mb[(i0 + r) * ml + (j0 + c) * ms];
    }
    if (causal)
      for (long r = 0; r < rows; r++)
        for (long c = std::max(0L, i0 + r + 1 - j0); c < cols; c++) s[r * kKeys + c] = -INFINITY;
  }
};

// One task: query rows [i0, i1) of batch b. out's rows serve as the accumulator.
template <class T>
void forwardBlock(const Problem<T>& p, long b, long i0, long i1, T* out, T* lse) {
  const long rows = i1 - i0;
  std::vector<T> qs(rows * p.E), s(rows * kKeys), m(rows, -INFINITY), l(rows, T(0));
  p.scaledQueries(b, i0, i1, qs.data());
  T* o = out + (b * p.L + i0) * p.Ev;
  std::fill(o, o + rows * p.Ev, T(0));
  const T* vb = ptr<T>(p.v) + b * p.v.strides[0];
  for (long j0 = 0, end = p.keyEnd(i1); j0 < end; j0 += kKeys) {
    const long j1 = std::min(end, j0 + kKeys), cols = j1 - j0;
    p.scores(b, i0, i1, j0, j1, qs.data(), s.data());
    for (long r = 0; r < rows; r++) {
      T* sr = s.data() + r * kKeys;
      T top = m[r];
      for (long c = 0; c < cols; c++) top = std::max(top, sr[c]);
      if (top == -INFINITY) {  // nothing attended yet: the block adds nothing
        std::fill(sr, sr + cols, T(0));
        continue;
      }
      T sum = 0;
      for (long c = 0; c < cols; c++) sum += sr[c] = std::exp(sr[c] - top);
      const T alpha = std::exp(m[r] - top);  // 0 while m is -∞
      if (alpha != T(1)) {
        T* orow = o + r * p.Ev;
        for (long e = 0; e < p.Ev; e++) orow[e] *= alpha;
      }
      l[r] = l[r] * alpha + sum;
      m[r] = top;
    }
    if (p.Ev > 0) {
      Epilogue<T> acc;
      acc.accumulate = true;
      gemm<T>(rows, p.Ev, cols, Operand<T>{s.data(), kKeys, 1},
              Operand<T>{vb + j0 * p.v.strides[1], p.v.strides[1], p.v.strides[2]}, o, p.Ev, acc);
    }
  }
  for (long r = 0; r < rows; r++) {
    T* orow = o + r * p.Ev;
    // A row that attends to nothing is NaN, as softmax over -∞ everywhere is in the composition.
    const T inv = l[r] > 0 ? T(1) / l[r] : std::numeric_limits<T>::quiet_NaN();
    for (long e = 0; e < p.Ev; e++) orow[e] *= inv;
    lse[b * p.L + i0 + r] = l[r] > 0 ? m[r] + std::log(l[r]) : -INFINITY;
  }
}

template <class T>
void forward(const View& out, const View& lse, const View& q, const View& k, const View& v, const View* mask,
             double scale, bool causal) {
  const Problem<T> p{q.shape[0], q.shape[1], k.shape[1], q.shape[2], v.shape[2], T(scale), q, k, v, mask, causal};
  const long blocks = (p.L + kRows - 1) / kRows;
  T *po = mut<T>(out), *pl = mut<T>(lse);
  pool().run(int(p.B * blocks), [&](int t) {
    const long b = t / blocks, i0 = (t % blocks) * kRows;
    forwardBlock(p, b, i0, std::min(p.L, i0 + kRows), po, pl);
  });
}

// The backward, for scores s = qs kᵀ + mask with qs = q·scale and P = exp(s - lse):
//   dV = Pᵀ dO,  dS = P ∘ (dO Vᵀ - D) with D = rowsum(dO ∘ O),  dK = dSᵀ qs,  dQ = dS K · scale.
// Each task owns a set of key blocks of one batch (so dK and dV are written without sharing) and walks
// every query block for them, accumulating dQ into its own buffer: dq itself for the first set of a
// batch, a partial summed in afterwards for the others (used only when there are fewer batches than
// threads, so the partials are a few [L, E] buffers). With `boolMask` the masked scores (-∞ in the
// mask) get no gradient whatever P is, as where() gives the composition of a boolean mask.
template <class T>
void backward(const View& dq, const View& dk, const View& dv, const View& q, const View& k, const View& v,
              const View& out, const View& lse, const View& dout, const View* mask, double scale, bool causal,
              bool boolMask) {
  const Problem<T> p{q.shape[0], q.shape[1], k.shape[1], q.shape[2], v.shape[2], T(scale), q, k, v, mask, causal};
  const long keyBlocks = (p.S + kKeys - 1) / kKeys;
  // Sets of key blocks per batch: enough tasks for the threads twice over, never more sets than blocks.
  const long sets = std::max(1L, std::min(keyBlocks, (2L * pool().size() + p.B - 1) / p.B));
  std::vector<T> d(p.B * p.L), partial((sets - 1) * p.B * p.L * p.E, T(0));
  const T *po = ptr<T>(out), *pd = ptr<T>(dout), *pl = ptr<T>(lse);
  pool().parallelFor(p.B * p.L, 256, [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      const long b = r / p.L, i = r % p.L;
      const T* orow = po + b * out.strides[0] + i * out.strides[1];
      const T* grow = pd + b * dout.strides[0] + i * dout.strides[1];
      T sum = 0;
      for (long e = 0; e < p.Ev; e++) sum += orow[e * out.strides[2]] * grow[e * dout.strides[2]];
      d[r] = sum;
    }
  });
  T *pdq = mut<T>(dq), *pdk = mut<T>(dk), *pdv = mut<T>(dv);
  std::fill(pdq, pdq + p.B * p.L * p.E, T(0));
  pool().run(int(p.B * sets), [&](int t) {
    const long b = t / sets, set = t % sets;
    T* gq = set == 0 ? pdq + b * p.L * p.E : partial.data() + ((set - 1) * p.B + b) * p.L * p.E;
    std::vector<T> qs(kRows * p.E), s(kRows * kKeys), dp(kRows * kKeys);
    const T* kb = ptr<T>(k) + b * k.strides[0];
    const T* vb = ptr<T>(v) + b * v.strides[0];
    const T* gb = pd + b * dout.strides[0];
    for (long jb = set; jb < keyBlocks; jb += sets) {
      const long j0 = jb * kKeys, j1 = std::min(p.S, j0 + kKeys), cols = j1 - j0;
      T* gk = pdk + (b * p.S + j0) * p.E;
      T* gv = pdv + (b * p.S + j0) * p.Ev;
      std::fill(gk, gk + cols * p.E, T(0));
      std::fill(gv, gv + cols * p.Ev, T(0));
      // Causal: the queries before j0 see none of these keys.
      for (long i0 = causal ? j0 / kRows * kRows : 0; i0 < p.L; i0 += kRows) {
        const long i1 = std::min(p.L, i0 + kRows), rows = i1 - i0;
        p.scaledQueries(b, i0, i1, qs.data());
        p.scores(b, i0, i1, j0, j1, qs.data(), s.data());
        for (long r = 0; r < rows; r++) {
          const T top = pl[b * p.L + i0 + r];
          for (long c = 0; c < cols; c++) s[r * kKeys + c] = std::exp(s[r * kKeys + c] - top);
        }
        const Operand<T> doBlock{gb + i0 * dout.strides[1], dout.strides[1], dout.strides[2]};
        Epilogue<T> acc;
        acc.accumulate = true;
        if (p.Ev > 0) {
          gemm<T>(cols, p.Ev, rows, Operand<T>{s.data(), 1, kKeys}, doBlock, gv, p.Ev, acc);
          gemm<T>(rows, cols, p.Ev, doBlock, Operand<T>{vb + j0 * v.strides[1], v.strides[2], v.strides[1]},
                  dp.data(), kKeys);
        } else {
          for (long r = 0; r < rows; r++) std::fill(dp.data() + r * kKeys, dp.data() + r * kKeys + cols, T(0));
        }
        const T* mb = mask ? ptr<T>(*mask) + b * mask->strides[0] : nullptr;
        for (long r = 0; r < rows; r++) {
          const T dr = d[b * p.L + i0 + r];
          for (long c = 0; c < cols; c++) {
            T& ds = dp[r * kKeys + c];
            const bool masked = boolMask && mb && mb[(i0 + r) * mask->strides[1] + (j0 + c) * mask->strides[2]] == -INFINITY;
            ds = masked || (causal && j0 + c > i0 + r) ? T(0) : s[r * kKeys + c] * (ds - dr);
          }
        }
        if (p.E > 0) {
          gemm<T>(cols, p.E, rows, Operand<T>{dp.data(), 1, kKeys}, Operand<T>{qs.data(), p.E, 1}, gk, p.E, acc);
          gemm<T>(rows, p.E, cols, Operand<T>{dp.data(), kKeys, 1},
                  Operand<T>{kb + j0 * k.strides[1], k.strides[1], k.strides[2]}, gq + i0 * p.E, p.E, acc);
        }
      }
    }
  });
  const T sc = T(scale);
  pool().parallelFor(p.B * p.L * p.E, 4096, [&](long i0, long i1) {
    for (long i = i0; i < i1; i++) {
      T g = pdq[i];
      for (long set = 1; set < sets; set++) g += partial[(set - 1) * p.B * p.L * p.E + i];
      pdq[i] = g * sc;
    }
  });
}

}  // namespace

void attention(const View& out, const View& lse, const View& q, const View& k, const View& v, const View* mask,
               double scale, bool causal) {
  if (q.dtype == kF32) forward<float>(out, lse, q, k, v, mask, scale, causal);
  else forward<double>(out, lse, q, k, v, mask, scale, causal);
}

void attentionBackward(const View& dq, const View& dk, const View& dv, const View& q, const View& k, const View& v,
                       const View& out, const View& lse, const View& dout, const View* mask, double scale,
                       bool causal, bool boolMask) {
  if (q.dtype == kF32) backward<float>(dq, dk, dv, q, k, v, out, lse, dout, mask, scale, causal, boolMask);
  else backward<double>(dq, dk, dv, q, k, v, out, lse, dout, mask, scale, causal, boolMask);
}

}  // namespace strata::STRATA_ISA_NS
