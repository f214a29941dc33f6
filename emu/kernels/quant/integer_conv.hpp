// What the exact and the oneDNN integer convolution kernels share: the geometry of QLinearConv / ConvInteger.
#pragma once

#include <memory>

#include "kernels/nn/window.hpp"
#include "kernels/quant/integer_operands.hpp"

namespace ezemu::kernels::quant {

struct IntConvGeometry {
    int64_t batch = 1, in_channels = 1, out_channels = 1, groups = 1;
    Window3d window;
    // The lowering asks for x and / or y channels-last (KernelContext::channels_last_*()); only oneDNN honours it.
    bool channels_last_in = false, channels_last_out = false;
    int64_t kdim() const { return in_channels / groups * window.kernel_size(); }
};

// The oneDNN kernel (int8_backend() must be OnednnVnni) for constant int8 weights with zero points 0 (`weights`),
// or nullptr when oneDNN has no implementation for the geometry. `bias` is the int32 bias input or -1.
// `threads`: the intra-op threads (oneDNN's and the requantization's).
std::unique_ptr<Kernel> make_onednn_integer_conv(const IntConvGeometry& g, const IntegerOperands& in, int bias,
                                                 const void* weights, int threads);

// How QGemm's operands differ from QLinearMatMul's: a stored [k, m] and b stored [n, k] (transposed), alpha scaling
// the input scale (requantize.hpp's gemm_multiplier), an int32 bias input (-1: none).
struct ProductLayout {
    bool trans_a = false, trans_b = false;
    float alpha = 1.0f;
    int bias = -1;
};

// The same for a [m, k] x [k, n] product (a batch folded into m) with constant int8 weights of zero points 0.
std::unique_ptr<Kernel> make_onednn_integer_matmul(int64_t m, int64_t k, int64_t n, const IntegerOperands& in,
                                                   const void* weights, int threads,
                                                   const ProductLayout& layout = {});

}  // namespace ezemu::kernels::quant
