// Conv: the reference kernel (the definition of the semantics, and the fallback) and the oneDNN fast path.
#pragma once

#include <memory>

#include "kernels/kernel.hpp"
#include "kernels/nn/window.hpp"

namespace ezemu::kernels {

struct ConvGeometry {
    int64_t batch = 1;
    int64_t in_channels = 1;
    int64_t out_channels = 1;
    int64_t groups = 1;
    Window3d window;
    bool relu = false;  // a Relu fused into the conv's output
};

// y[n, m, ...] = b[m] + sum over the group's input channels and the kernel window of x * w; x is
// [N, C, spatial...], w is [M, C/groups, kernel...], b is [M] or nullptr, y is [N, M, out...].
void conv_reference(const ConvGeometry& g, const float* x, const float* w, const float* b, float* y);

// The oneDNN kernel for constant weights, or nullptr when oneDNN has no implementation for the geometry.
std::unique_ptr<Kernel> make_onednn_conv(const ConvGeometry& g, const float* weights, bool has_bias);

}  // namespace ezemu::kernels
