// Conv: the reference kernel (the definition of the semantics, and the fallback) and the oneDNN fast path; and
// what ConvTranspose shares with it: the geometry, the checks of X, W and B, and the choice of kernel.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

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
    // Other ops fused into the conv's output, in order: only the oneDNN kernels apply them (with the reference
    // kernel their nodes run on their own).
    std::vector<FusedOp> post_ops;
    // X is read / Y written channels-last (NHWC); only the oneDNN 2-D Conv kernel honours it.
    bool channels_last_in = false, channels_last_out = false;
};

// y[n, m, ...] = b[m] + sum over the group's input channels and the kernel window of x * w; x is
// [N, C, spatial...], w is [M, C/groups, kernel...], b is [M] or nullptr, y is [N, M, out...].
void conv_reference(const ConvGeometry& g, const float* x, const float* w, const float* b, float* y);

// The oneDNN kernel for constant weights, or nullptr when oneDNN has no implementation for the geometry.
std::unique_ptr<Kernel> make_onednn_conv(const ConvGeometry& g, const float* weights, bool has_bias);

// Checks what Conv and ConvTranspose ask of X and W (float32, X of rank 3 to 5, W of X's rank) and returns the
// attribute 'group'; `op` names the op in errors.
int64_t check_conv_operands(KernelContext& ctx, std::string_view op);

// Checks the optional bias B (float32, [out_channels]); true when the node has one.
bool check_conv_bias(KernelContext& ctx, int64_t out_channels);

using ConvReference = void (*)(const ConvGeometry& g, const float* x, const float* w, const float* b, float* y);
using OnednnConvFactory = std::unique_ptr<Kernel> (*)(const ConvGeometry& g, const float* weights, bool has_bias);

// Takes the fused Relu into g, declares Y [N, M, out...] and returns `onednn`'s kernel when the weights are
// constant and oneDNN has one, else a kernel that runs `reference`.
std::unique_ptr<Kernel> make_conv_kernel(KernelContext& ctx, ConvGeometry& g, const std::vector<int64_t>& out,
                                         bool has_bias, ConvReference reference, OnednnConvFactory onednn);

}  // namespace ezemu::kernels
