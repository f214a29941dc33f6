// The last step of every integer Conv / MatMul kernel: int32 sums (+ an int32 bias) to the output, requantized
// (requantize.hpp) for QLinearConv / QLinearMatMul or as they are for ConvInteger / MatMulInteger.
#pragma once

#include <cstdint>
#include <type_traits>

#include "kernels/quant/requantize.hpp"

namespace ezemu::kernels::quant {

// acc is [outer, positions, channels]; y is [outer, channels, positions] when `channels_first` (NCHW from an NHWC
// product), else laid out as acc. bias (nullptr: none) and multiplier hold one value per channel.
template <class Y>
void write_products(const int32_t* acc, const int32_t* bias, const float* multiplier, int32_t y_zp, Y* y,
                    int64_t outer, int64_t positions, int64_t channels, bool channels_first) {
    for (int64_t o = 0; o < outer; ++o) {
        const int32_t* a = acc + o * positions * channels;
        Y* yo = y + o * positions * channels;
        for (int64_t p = 0; p < positions; ++p)
            for (int64_t c = 0; c < channels; ++c) {
                // The bias adds as the accumulation does: two's complement, wrapping.
                const auto sum = static_cast<int32_t>(static_cast<uint32_t>(a[p * channels + c]) +
                                                      static_cast<uint32_t>(bias ? bias[c] : 0));
                Y& out = channels_first ? yo[c * positions + p] : yo[p * channels + c];
                if constexpr (std::is_same_v<Y, int32_t>) out = sum;
                else out = requantize<Y>(sum, multiplier[c], y_zp);
            }
    }
}

}  // namespace ezemu::kernels::quant
