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
[[gnu::always_inline]] inline Y product_output(int32_t acc, int32_t bias, float multiplier, int32_t y_zp) {
    // The bias adds as the accumulation does: two's complement, wrapping.
    const auto sum = static_cast<int32_t>(static_cast<uint32_t>(acc) + static_cast<uint32_t>(bias));
    if constexpr (std::is_same_v<Y, int32_t>) return sum;
    else return requantize<Y>(sum, multiplier, y_zp);
}

// Always inlined, so that a caller cloned per ISA (target_clones) gets a vectorized copy.
template <class Y>
[[gnu::always_inline]] inline void write_products(const int32_t* acc, const int32_t* bias, const float* multiplier, int32_t y_zp, Y* y,
                    int64_t outer, int64_t positions, int64_t channels, bool channels_first) {
    constexpr int64_t kTile = 64;  // positions per tile of the transposing write: the tile's sums stay in cache
    for (int64_t o = 0; o < outer; ++o) {
        const int32_t* a = acc + o * positions * channels;
        Y* yo = y + o * positions * channels;
        if (!channels_first) {
            for (int64_t p = 0; p < positions; ++p) {
                const int32_t* ap = a + p * channels;
                Y* yp = yo + p * channels;
                // Two loops rather than a conditional load: the loop body must be branch-free to vectorize.
                if (bias)
                    for (int64_t c = 0; c < channels; ++c) yp[c] = product_output<Y>(ap[c], bias[c], multiplier[c], y_zp);
                else
                    for (int64_t c = 0; c < channels; ++c) yp[c] = product_output<Y>(ap[c], 0, multiplier[c], y_zp);
            }
            continue;
        }
        for (int64_t p0 = 0; p0 < positions; p0 += kTile) {
            const int64_t pn = positions - p0 < kTile ? positions - p0 : kTile;
            for (int64_t c = 0; c < channels; ++c) {
                const int32_t b = bias ? bias[c] : 0;
                const float m = multiplier[c];
                Y* yc = yo + c * positions + p0;
                const int32_t* ac = a + p0 * channels + c;
                for (int64_t p = 0; p < pn; ++p) yc[p] = product_output<Y>(ac[p * channels], b, m, y_zp);
            }
        }
    }
}

}  // namespace ezemu::kernels::quant
