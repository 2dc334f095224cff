// What the CPU can run, from CPUID, read once for the whole addon: the GEMM picks its micro-kernel from
// it and dispatch.cc its set of kernels.
#pragma once
#include <string>

namespace strata {

struct Cpu {
  std::string model, features;
  bool avx2 = false;    // AVX2 and FMA, with the OS saving the ymm registers
  bool avx512 = false;  // AVX-512 F, BW, VL and DQ, with the OS saving the zmm and mask registers
  bool avx512bf16 = false;  // AVX512-BF16 (vcvtne2ps2bf16, vdpbf16ps) on top of avx512
  // The x86-64 levels the per-ISA kernel sets are compiled for (-march=x86-64-v3, -v4): v3 is AVX2, FMA,
  // BMI1-2, LZCNT, MOVBE and F16C; v4 adds AVX-512 F, BW, CD, DQ and VL. A compiler given -march may
  // emit any of them, so a set runs only where all are there.
  bool x86_64_v3 = false;
  bool x86_64_v4 = false;
};

const Cpu& cpu();

// The CPU's name and the SIMD features that matter here (empty off x86).
std::string cpuModel();
std::string cpuFeatures();

}  // namespace strata
