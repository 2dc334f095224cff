#include "cpu.h"

#include <cstring>
#include <utility>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace strata {

namespace {

#if defined(__x86_64__)
unsigned long long xcr0() {
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<unsigned long long>(hi) << 32) | lo;
}
#endif

Cpu detectCpu() {
  Cpu cpu;
#if defined(__x86_64__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  unsigned brand[12] = {};
  unsigned c81 = 0;  // leaf 0x80000001's ecx: LZCNT
  if (__get_cpuid(0x80000000, &a, &b, &c, &d) && a >= 0x80000001) {
    if (a >= 0x80000004)
      for (unsigned leaf = 0; leaf < 3; leaf++)
        __get_cpuid(0x80000002 + leaf, &brand[4 * leaf], &brand[4 * leaf + 1], &brand[4 * leaf + 2],
                    &brand[4 * leaf + 3]);
    __get_cpuid(0x80000001, &a, &b, &c81, &d);
  }
  cpu.model = std::string(reinterpret_cast<const char*>(brand), strnlen(reinterpret_cast<const char*>(brand), 48));
  cpu.model.erase(0, cpu.model.find_first_not_of(' '));
  __get_cpuid(1, &a, &b, &c, &d);
  const bool fma = c & (1u << 12), movbe = c & (1u << 22), osxsave = c & (1u << 27), avx = c & (1u << 28),
             f16c = c & (1u << 29);
  // The instructions are there only if the OS saves their registers across context switches: XCR0 bits
  // 1-2 for xmm/ymm, and 5-7 for the opmask and zmm registers.
  const unsigned long long xcr = osxsave ? xcr0() : 0;
  const bool osYmm = (xcr & 0x6) == 0x6, osZmm = (xcr & 0xe6) == 0xe6;
  unsigned b7 = 0;
  unsigned a71 = 0;  // leaf 7 subleaf 1's eax: AVX512_BF16
  if (__get_cpuid_max(0, nullptr) >= 7) {
    __cpuid_count(7, 0, a, b7, c, d);
    // Subleaf 1 exists when subleaf 0's eax (the highest subleaf) says so.
    if (a >= 1) __cpuid_count(7, 1, a71, b, c, d);
  }
  const bool bmi1 = b7 & (1u << 3), avx2 = b7 & (1u << 5), bmi2 = b7 & (1u << 8), f = b7 & (1u << 16),
             dq = b7 & (1u << 17), cd = b7 & (1u << 28), bw = b7 & (1u << 30), vl = b7 & (1u << 31);
  const bool lzcnt = c81 & (1u << 5);
  cpu.avx2 = avx && avx2 && fma && osYmm;
  cpu.avx512 = cpu.avx2 && f && dq && bw && vl && osZmm;
  const bool bf16 = a71 & (1u << 5);
  cpu.avx512bf16 = cpu.avx512 && bf16;
  cpu.x86_64_v3 = cpu.avx2 && bmi1 && bmi2 && lzcnt && movbe && f16c;
  cpu.x86_64_v4 = cpu.x86_64_v3 && cpu.avx512 && cd;
  const std::pair<bool, const char*> named[] = {{avx && osYmm, "avx"}, {avx2 && osYmm, "avx2"}, {fma, "fma"},
                                                {f && osZmm, "avx512f"}, {bw && osZmm, "avx512bw"},
                                                {vl && osZmm, "avx512vl"}, {dq && osZmm, "avx512dq"},
                                                {bf16 && osZmm, "avx512_bf16"}};
  for (const auto& [has, name] : named)
    if (has) cpu.features += std::string(cpu.features.empty() ? "" : " ") + name;
#elif defined(__aarch64__)
  cpu.features = "neon";
#endif
  return cpu;
}

}  // namespace

const Cpu& cpu() {
  static const Cpu detected = detectCpu();
  return detected;
}

std::string cpuModel() { return cpu().model; }
std::string cpuFeatures() { return cpu().features; }

}  // namespace strata
