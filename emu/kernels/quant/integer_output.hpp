// The last step of every integer Conv / MatMul kernel: int32 sums (+ an int32 bias) to the output, requantized
// (requantize.hpp) for QLinearConv / QLinearMatMul or as they are for ConvInteger / MatMulInteger.
#pragma once

#include <cstdint>
#include <type_traits>

#include "kernels/quant/requantize.hpp"

namespace ezemu::kernels::quant {

// One output: the sum plus the bias (two's complement, wrapping, as the accumulation), requantized unless Y is int32
// (as is) or float (scaled only: a QGemm without output quantization, as onnxruntime's).
template <class Y>
[[gnu::always_inline]] inline Y product_output(int32_t acc, int32_t bias, float multiplier, int32_t y_zp) {
    const auto sum = static_cast<int32_t>(static_cast<uint32_t>(acc) + static_cast<uint32_t>(bias));
    if constexpr (std::is_same_v<Y, int32_t>) return sum;
    else if constexpr (std::is_same_v<Y, float>) return static_cast<float>(sum) * multiplier;  // QGemm, float y
    else return requantize<Y>(sum, multiplier, y_zp);
}

// acc and y are [rows, channels]; bias (nullptr: none) and multiplier hold one value per channel. Always inlined, so
// that a caller cloned per ISA (target_clones) gets a vectorized copy.
template <class Y>
[[gnu::always_inline]] inline void write_products(const int32_t* acc, const int32_t* bias, const float* multiplier,
                                                  int32_t y_zp, Y* y, int64_t rows, int64_t channels) {
    for (int64_t r = 0; r < rows; ++r) {
        const int32_t* ar = acc + r * channels;
        Y* yr = y + r * channels;
        // Two loops rather than a conditional load: the loop body must be branch-free to vectorize.
        if (bias)
            for (int64_t c = 0; c < channels; ++c) yr[c] = product_output<Y>(ar[c], bias[c], multiplier[c], y_zp);
        else
            for (int64_t c = 0; c < channels; ++c) yr[c] = product_output<Y>(ar[c], 0, multiplier[c], y_zp);
    }
}

}  // namespace ezemu::kernels::quant
