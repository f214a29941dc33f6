// The output pass of the oneDNN integer kernels: int32 sums of channels-last rows (+ an int32 bias per channel) to
// the output, requantized by requantize.hpp's rule (kept as int32 for ConvInteger / MatMulInteger, scaled to float for a QGemm without a QuantizeLinear). Explicitly
// vectorized for AVX-512 (the output pass of every int8 Conv on a VNNI CPU), cloned per ISA elsewhere; all give the
// bits of requantize().
#pragma once

#include <cstdint>
#include <limits>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace ezemu::kernels::quant {

// acc and y are [rows, channels]; bias (nullptr: none) and multiplier hold one value per channel. Large outputs
// split their rows over `threads` intra-op threads (OpenMP, as the exact kernels).
void write_rows(const int32_t* acc, const int32_t* bias, const float* multiplier, int32_t y_zp, uint8_t* y,
                int64_t rows, int64_t channels, int threads);
void write_rows(const int32_t* acc, const int32_t* bias, const float* multiplier, int32_t y_zp, int8_t* y,
                int64_t rows, int64_t channels, int threads);
void write_rows(const int32_t* acc, const int32_t* bias, const float* multiplier, int32_t y_zp, int32_t* y,
                int64_t rows, int64_t channels, int threads);
// QGemm without output quantization: float(sum) * multiplier (product_output<float>).
void write_rows(const int32_t* acc, const int32_t* bias, const float* multiplier, int32_t y_zp, float* y,
                int64_t rows, int64_t channels, int threads);

// True when the CPU runs the AVX-512 (F, BW, VL) code below.
bool has_avx512_core();

#if defined(__x86_64__)
// requantize()'s last step on 16 lanes: round_half_even_float(v) (v clamped to +-2^22, NaN to -2^22) plus zp,
// saturated to Q's range, as int32 lanes. Callers are compiled for the same target.
template <class Q>
__attribute__((target("avx512f,avx512bw,avx512vl"), always_inline)) inline __m512i round_saturate_avx512(__m512 v,
                                                                                                     __m512i zp) {
    constexpr float limit = 4194304.0f;  // 2^22, as round_half_even_float
    // The zero-masking forms with all lanes set: GCC 12 warns about the undefined pass-through of the plain ones.
    const __mmask16 all = 0xFFFF;
    v = _mm512_maskz_max_ps(all, v, _mm512_set1_ps(-limit));  // NaN in the first operand gives the second: -2^22
    v = _mm512_maskz_min_ps(all, v, _mm512_set1_ps(limit));
    __m512i q = _mm512_maskz_cvt_roundps_epi32(all, v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    q = _mm512_add_epi32(q, zp);
    q = _mm512_maskz_max_epi32(all, q, _mm512_set1_epi32(std::numeric_limits<Q>::min()));
    return _mm512_maskz_min_epi32(all, q, _mm512_set1_epi32(std::numeric_limits<Q>::max()));
}

// Mask of the first n (<= 16) lanes.
inline __mmask16 lanes(int64_t n) { return n >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u); }
#endif

}  // namespace ezemu::kernels::quant
