// Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray, 2016) for 3×3 convolutions with stride 1:
// each 2×2 block of outputs costs 16 multiplications per channel pair instead of 36, so the three
// passes of such a layer do 2.25 times fewer flops than im2col + GEMM.
#pragma once
#include "window.h"

namespace strata::STRATA_ISA_NS {

// Whether a convolution suits the transform: 2-D, 3×3, stride 1, no dilation, one group, and enough
// channels on both sides that the products, not the transforms, dominate.
bool winogradFits(const Geometry& g, long C, long O, long groups);

// The three passes, with the contracts of convForward, convBackwardInput and convBackwardWeight (shapes
// already checked). Each is exactly the gradient of the forward as computed, so the passes agree.
void winogradForward(const View& y, const View& x, const View& w, const View* bias, bool relu, const Geometry& g);
void winogradBackwardInput(const View& dx, const View& gy, const View& w, const Geometry& g);
void winogradBackwardWeight(const View& dw, const View& x, const View& gy, const Geometry& g);

}  // namespace strata::STRATA_ISA_NS
