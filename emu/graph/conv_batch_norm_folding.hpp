// Folding an inference BatchNormalization into the Conv that feeds it: W'[m] = W[m] * a[m] and
// B'[m] = (B[m] - mean[m]) * a[m] + bias[m] with a = scale / sqrt(var + epsilon). The pair then runs as one oneDNN
// convolution (the BatchNormalization becomes a view), the usual export of Conv + BN layers (PP-OCR, ResNet).
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include "graph/onnx_model.hpp"
#include "kernels/aligned_buffer.hpp"
#include "kernels/kernel.hpp"

namespace ezemu::graph {

// Conv node index -> index of the BatchNormalization that is the only reader of its output, for pairs whose
// structure allows folding (single outputs, inference form, per-channel parameters, not a graph output). The
// values are checked later by fold_conv_batch_norm, when they are known.
std::unordered_map<size_t, size_t> find_conv_batch_norm_pairs(const onnx::Graph& graph, int64_t opset);

// Folded float32 weights and bias, when W (and B, if present) and the four BatchNormalization parameters are
// float32 constants of matching shapes; false (nothing written) otherwise.
bool fold_conv_batch_norm(const kernels::ValueDesc& w, const kernels::ValueDesc* b,
                          const kernels::ValueDesc* const bn[4],
                          float epsilon, kernels::AlignedBuffer& folded_w, kernels::AlignedBuffer& folded_b);

}  // namespace ezemu::graph
