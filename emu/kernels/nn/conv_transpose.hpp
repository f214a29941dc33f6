// ConvTranspose: the reference kernel (the definition of the semantics, and the fallback) and the oneDNN
// deconvolution fast path.
#pragma once

#include <memory>

#include "kernels/kernel.hpp"
#include "kernels/nn/conv.hpp"

namespace ezemu::kernels {

// Conv's geometry, read the other way: window.in is the input's spatial size, window.out the output's; pad_begin
// shifts every tap and pad_end is what the output size implies (negative when output_padding or output_shape extend
// the output past the last tap).
using ConvTransposeGeometry = ConvGeometry;

// y[n, m, o] = b[m] + sum of x[n, c, i] * w[c, m % (M/groups), k] over the group's input channels c and every
// input position i and kernel tap k with o = i * stride - pad_begin + k * dilation. x is [N, C, in...], w is
// [C, M/groups, kernel...], b is [M] or nullptr.
void conv_transpose_reference(const ConvTransposeGeometry& g, const float* x, const float* w, const float* b,
                              float* y);

// The oneDNN deconvolution for constant weights, or nullptr when oneDNN has no implementation for the geometry.
std::unique_ptr<Kernel> make_onednn_conv_transpose(const ConvTransposeGeometry& g, const float* weights,
                                                   bool has_bias);

}  // namespace ezemu::kernels
