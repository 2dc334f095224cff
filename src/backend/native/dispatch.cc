// kernels.h's functions, forwarded to one of the per-ISA builds of the kernels (see isa.h): the best set
// this CPU runs, or the one configureIsa names, chosen once for the process (whose threads and addon
// instances share the kernels).
#include "dispatch.h"

#include <atomic>
#include <iterator>
#include <mutex>
#include <string>

#include "cpu.h"
#include "kernels.h"

namespace strata {

#define STRATA_DECLARE(name) decltype(strata::name) name;
namespace isa_base {
STRATA_ISA_KERNELS(STRATA_DECLARE)
}
#if defined(STRATA_ISA_X86_64)
namespace isa_avx2 {
STRATA_ISA_KERNELS(STRATA_DECLARE)
}
namespace isa_avx512 {
STRATA_ISA_KERNELS(STRATA_DECLARE)
}
#endif

namespace {

// One build of the kernels: its name, whether this CPU runs it, and its entry points.
struct Isa {
  const char* name;
  const char* level;
  bool (*available)();
#define STRATA_FIELD(name) decltype(&strata::name) name;
  STRATA_ISA_KERNELS(STRATA_FIELD)
};

#define STRATA_BASE(name) &isa_base::name,
#define STRATA_AVX2(name) &isa_avx2::name,
#define STRATA_AVX512(name) &isa_avx512::name,

// Best first; the last runs everywhere.
const Isa kIsas[] = {
#if defined(STRATA_ISA_X86_64)
    {"avx512", "x86-64-v4", [] { return cpu().x86_64_v4; }, STRATA_ISA_KERNELS(STRATA_AVX512)},
    {"avx2", "x86-64-v3", [] { return cpu().x86_64_v3; }, STRATA_ISA_KERNELS(STRATA_AVX2)},
    {"base", "x86-64", [] { return true; }, STRATA_ISA_KERNELS(STRATA_BASE)},
#else
    {"base", "baseline", [] { return true; }, STRATA_ISA_KERNELS(STRATA_BASE)},
#endif
};

const Isa* best() {
  for (const auto& i : kIsas)
    if (i.available()) return &i;
  return &kIsas[std::size(kIsas) - 1];
}

struct Config {
  std::mutex mutex;
  bool set = false;
  std::string name;  // as asked for: "" for the best
  std::atomic<const Isa*> chosen{nullptr};
};

Config& config() {
  static Config c;
  return c;
}

const Isa& isa() {
  const Isa* i = config().chosen.load(std::memory_order_acquire);
  return i ? *i : *best();
}

}  // namespace

std::string isaChoices() {
  std::string out;
  for (const auto& i : kIsas)
    if (i.available()) out += std::string(out.empty() ? "" : " ") + i.name;
  return out;
}

std::string configureIsa(const std::string& name) {
  Config& cfg = config();
  std::lock_guard<std::mutex> lock(cfg.mutex);
  if (cfg.set) {
    if (name == cfg.name) return "";
    return "the kernels were chosen as '" + cfg.name + "' by the first instance of the addon in this process, not '" +
           name + "'";
  }
  const Isa* chosen = best();
  if (!name.empty()) {
    chosen = nullptr;
    std::string names;
    for (const auto& i : kIsas) {
      names += std::string(names.empty() ? "" : ", ") + i.name;
      if (name == i.name) {
        if (!i.available())
          return "this CPU cannot run the " + name + " kernels (" + i.level + "; it can run: " + isaChoices() + ")";
        chosen = &i;
      }
    }
    if (!chosen) return "this build has no " + name + " kernels (it has " + names + ")";
  }
  cfg.chosen.store(chosen, std::memory_order_release);
  cfg.name = name;
  cfg.set = true;
  return "";
}

std::string isaDescription() { return std::string(isa().name) + " (" + isa().level + ")"; }

// The forwarders, one per kernel of STRATA_ISA_KERNELS.

void copy(const View& out, const View& x) { isa().copy(out, x); }
void unary(int op, const View& out, const View& x) { isa().unary(op, out, x); }
void binary(int op, const View& out, const View& a, const View& b) { isa().binary(op, out, a, b); }
void where(const View& out, const View& cond, const View& a, const View& b) { isa().where(out, cond, a, b); }
void reduce(int op, const View& out, const View& x, const bool* axes) { isa().reduce(op, out, x, axes); }
void argReduce(bool isMax, const View& out, const View& x, int axis) { isa().argReduce(isMax, out, x, axis); }
long gather(const View& out, const View& x, int axis, const View& index) {
  return isa().gather(out, x, axis, index);
}
long scatterAdd(const View& out, int axis, const View& index, const View& src) {
  return isa().scatterAdd(out, axis, index, src);
}
bool unfold(const View& out, const View& x, const WindowSpec& w, double padValue) {
  return isa().unfold(out, x, w, padValue);
}
bool fold(const View& out, const View& cols, const WindowSpec& w) { return isa().fold(out, cols, w); }
bool maxPool(const View& out, const View& argmax, const View& x, const WindowSpec& w) {
  return isa().maxPool(out, argmax, x, w);
}
bool convForward(const View& y, const View& x, const View& w, const View* bias, bool relu, const WindowSpec& win,
                 long groups) {
  return isa().convForward(y, x, w, bias, relu, win, groups);
}
bool convBackwardInput(const View& dx, const View& dy, const View& w, const WindowSpec& win, long groups) {
  return isa().convBackwardInput(dx, dy, w, win, groups);
}
bool convBackwardWeight(const View& dw, const View& x, const View& dy, const WindowSpec& win, long groups) {
  return isa().convBackwardWeight(dw, x, dy, win, groups);
}
void logSoftmax(const View& out, const View& x) { isa().logSoftmax(out, x); }
void logSoftmaxBackward(const View& dx, const View& g, const View& y) { isa().logSoftmaxBackward(dx, g, y); }
void lstmCell(const View& out, const View& xw, const View& hw, const View& c) { isa().lstmCell(out, xw, hw, c); }
void lstmCellBackward(const View& dGates, const View& dc, const View& xw, const View& hw, const View& c,
                      const View& out, const View& grad) {
  isa().lstmCellBackward(dGates, dc, xw, hw, c, out, grad);
}
void gruCell(const View& out, const View& xw, const View& hw, const View& h) { isa().gruCell(out, xw, hw, h); }
void gruCellBackward(const View& dxw, const View& dhw, const View& dh, const View& xw, const View& hw, const View& h,
                     const View& grad) {
  isa().gruCellBackward(dxw, dhw, dh, xw, hw, h, grad);
}
void attention(const View& out, const View& lse, const View& q, const View& k, const View& v, const View* mask,
               double scale, bool causal) {
  isa().attention(out, lse, q, k, v, mask, scale, causal);
}
void attentionBackward(const View& dq, const View& dk, const View& dv, const View& q, const View& k, const View& v,
                       const View& out, const View& lse, const View& dout, const View* mask, double scale,
                       bool causal, bool boolMask) {
  isa().attentionBackward(dq, dk, dv, q, k, v, out, lse, dout, mask, scale, causal, boolMask);
}
void sgdUpdate(float* p, const float* g, float* buf, long n, double lr, double momentum, double dampening,
               bool nesterov, double weightDecay, bool first) {
  isa().sgdUpdate(p, g, buf, n, lr, momentum, dampening, nesterov, weightDecay, first);
}
void adamUpdate(float* p, const float* g, float* m, float* v, float* vMax, long n, double lr, double beta1,
                double beta2, double eps, double weightDecay, bool decoupled, long step) {
  isa().adamUpdate(p, g, m, v, vMax, n, lr, beta1, beta2, eps, weightDecay, decoupled, step);
}

}  // namespace strata
