// Which per-ISA build of the kernels runs (see isa.h and dispatch.cc).
#pragma once
#include <string>

namespace strata {

// Chooses the kernels' instruction set: "" for the best this CPU runs, or one of isaChoices(). Returns
// "" when done, else why not: a set this CPU cannot run, one this build lacks, or a choice unlike the
// one already made (it is made once for the process).
std::string configureIsa(const std::string& name);
// The sets this CPU can run, best first, e.g. "avx512 avx2 base".
std::string isaChoices();
// The set in use and the level it was compiled for, e.g. "avx512 (x86-64-v4)".
std::string isaDescription();

}  // namespace strata
