// The hot kernels are compiled once per instruction set (binding.gyp: for x86-64-v4, i.e. AVX-512, for
// x86-64-v3, i.e. AVX2 and FMA, and for the baseline; the baseline alone off x86-64), each build into
// its own namespace, named here, and dispatch.cc forwards kernels.h's functions to the set chosen from
// CPUID at load time. Everything those sources define, their headers' inline functions included, goes
// in that namespace: an inline function compiled for two instruction sets is one symbol, and the linker
// would keep one copy for both (binding.gyp's link order covers the standard library's templates).
#pragma once

#ifndef STRATA_ISA_NS
#define STRATA_ISA_NS isa_base  // the addon, the dispatch and the GEMM are baseline code
#endif
