#include "kernels/quant/integer_gemm.hpp"

namespace ezemu::kernels::quant {

// Cloned per ISA (chosen at load by the CPU's features): the build targets baseline x86-64, whose SSE2 loop is
// several times slower than AVX2 / AVX-512BW on this product.
__attribute__((target_clones("arch=skylake-avx512", "avx2", "default"))) void accumulate_rows(int32_t* acc, const int16_t* w,
                                                                                   const int16_t* rows, int64_t depth,
                                                                                   int64_t row_stride, int64_t width) {
    int64_t k = 0;
    // Two rows per pass: half the loads and stores of acc.
    for (; k + 1 < depth; k += 2) {
        const int32_t w0 = w[k], w1 = w[k + 1];
        const int16_t* r0 = rows + k * row_stride;
        const int16_t* r1 = r0 + row_stride;
        for (int64_t j = 0; j < width; ++j)
            acc[j] += w0 * static_cast<int32_t>(r0[j]) + w1 * static_cast<int32_t>(r1[j]);
    }
    for (; k < depth; ++k) {
        const int32_t w0 = w[k];
        const int16_t* r0 = rows + k * row_stride;
        for (int64_t j = 0; j < width; ++j) acc[j] += w0 * static_cast<int32_t>(r0[j]);
    }
}

}  // namespace ezemu::kernels::quant
