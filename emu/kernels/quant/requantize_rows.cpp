#include "kernels/quant/requantize_rows.hpp"

#include <algorithm>
#include <utility>

#include "kernels/quant/integer_output.hpp"

namespace ezemu::kernels::quant {

namespace {

// The portable loops: they vectorize (write_products is branch-free), so they are cloned per ISA.
__attribute__((target_clones("arch=skylake-avx512", "avx2", "default"))) void write_rows_u8(
    const int32_t* acc, const int32_t* bias, const float* multiplier, int32_t y_zp, uint8_t* y, int64_t rows,
    int64_t channels) {
    write_products<uint8_t>(acc, bias, multiplier, y_zp, y, rows, channels);
}
__attribute__((target_clones("arch=skylake-avx512", "avx2", "default"))) void write_rows_s8(
    const int32_t* acc, const int32_t* bias, const float* multiplier, int32_t y_zp, int8_t* y, int64_t rows,
    int64_t channels) {
    write_products<int8_t>(acc, bias, multiplier, y_zp, y, rows, channels);
}
__attribute__((target_clones("arch=skylake-avx512", "avx2", "default"))) void write_rows_s32(
    const int32_t* acc, const int32_t* bias, const float* multiplier, int32_t y_zp, int32_t* y, int64_t rows,
    int64_t channels) {
    write_products<int32_t>(acc, bias, multiplier, y_zp, y, rows, channels);
}
__attribute__((target_clones("arch=skylake-avx512", "avx2", "default"))) void write_rows_f32(
    const int32_t* acc, const int32_t* bias, const float* multiplier, int32_t y_zp, float* y, int64_t rows,
    int64_t channels) {
    write_products<float>(acc, bias, multiplier, y_zp, y, rows, channels);
}

#if defined(__x86_64__)
// product_output() on 16 channels at a time: the sum wraps as int32, float(sum) * multiplier is one float32
// multiplication, then round_saturate_avx512.
template <class Q>
__attribute__((target("avx512f,avx512bw,avx512vl"))) void write_rows_avx512(const int32_t* acc,
                                                                             const int32_t* bias,
                                                                             const float* multiplier, int32_t y_zp,
                                                                             Q* y, int64_t rows, int64_t channels) {
    const __m512i zp = _mm512_set1_epi32(y_zp);
    for (int64_t r = 0; r < rows; ++r) {
        const int32_t* a = acc + r * channels;
        Q* out = y + r * channels;
        for (int64_t c = 0; c < channels; c += 16) {
            const __mmask16 m = lanes(channels - c);
            __m512i sum = _mm512_maskz_loadu_epi32(m, a + c);
            if (bias) sum = _mm512_add_epi32(sum, _mm512_maskz_loadu_epi32(m, bias + c));
            const __m512 scale = _mm512_maskz_loadu_ps(m, multiplier + c);
            const __m512 v = _mm512_mul_ps(_mm512_maskz_cvtepi32_ps(0xFFFF, sum), scale);
            _mm512_mask_cvtepi32_storeu_epi8(out + c, m, round_saturate_avx512<Q>(v, zp));
        }
    }
}

// Small channel counts (the early layers of a slim network: 8 or 24 channels over thousands of positions) waste
// lanes row by row. The rows are contiguous, so the same pass runs over the flat array instead, with the
// multipliers and biases repeated over lcm(16, channels) lanes: every vector full but the last.
constexpr int64_t kMaxPeriod = 512;

int64_t lane_period(int64_t channels) {
    int64_t a = 16, b = channels;
    while (b) a = std::exchange(b, a % b);
    return 16 / a * channels;
}

template <class Q>
__attribute__((target("avx512f,avx512bw,avx512vl"))) void write_flat_avx512(const int32_t* acc, const int32_t* bias,
                                                                             const float* multiplier, int32_t y_zp,
                                                                             Q* y, int64_t rows, int64_t channels,
                                                                             int64_t period) {
    alignas(64) float m_tile[kMaxPeriod];
    alignas(64) int32_t b_tile[kMaxPeriod];
    for (int64_t i = 0; i < period; ++i) {
        m_tile[i] = multiplier[i % channels];
        b_tile[i] = bias ? bias[i % channels] : 0;  // adding 0 wraps to the same sum
    }
    const __m512i zp = _mm512_set1_epi32(y_zp);
    const int64_t total = rows * channels;
    for (int64_t i = 0; i < total;) {
        for (int64_t p = 0; p < period && i < total; p += 16, i += 16) {
            const __mmask16 m = lanes(total - i);
            const __m512i sum = _mm512_add_epi32(_mm512_maskz_loadu_epi32(m, acc + i), _mm512_load_si512(b_tile + p));
            const __m512 v = _mm512_mul_ps(_mm512_maskz_cvtepi32_ps(0xFFFF, sum), _mm512_load_ps(m_tile + p));
            _mm512_mask_cvtepi32_storeu_epi8(y + i, m, round_saturate_avx512<Q>(v, zp));
        }
    }
}
#endif

}  // namespace

bool has_avx512_core() {
#if defined(__x86_64__)
    static const bool yes = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                            __builtin_cpu_supports("avx512vl");
    return yes;
#else
    return false;
#endif
}

namespace {

// Splits the rows into one block per thread when the output is large enough to pay for the fork.
template <class F>
void for_row_blocks(int64_t rows, int64_t channels, int threads, F&& write) {
    constexpr int64_t kMinElementsPerThread = 16384;
    const int64_t blocks = std::max<int64_t>(1, std::min<int64_t>(threads, rows * channels / kMinElementsPerThread));
    if (blocks == 1) return write(int64_t{0}, rows);
    const int64_t per = (rows + blocks - 1) / blocks;
#ifdef _OPENMP
#pragma omp parallel for num_threads(static_cast<int>(blocks)) schedule(static)
#endif
    for (int64_t b = 0; b < blocks; ++b) {
        const int64_t r0 = std::min(rows, b * per);
        write(r0, std::min(rows, r0 + per) - r0);
    }
}


// The 8-bit outputs: the AVX-512 loop where the CPU has it, else `portable` (cloned per ISA).
template <class Q>
void write_rows_8bit(const int32_t* acc, const int32_t* bias, const float* m, int32_t zp, Q* y, int64_t rows,
                     int64_t channels, int threads,
                     void (*portable)(const int32_t*, const int32_t*, const float*, int32_t, Q*, int64_t, int64_t)) {
    for_row_blocks(rows, channels, threads, [&](int64_t r0, int64_t n) {
        const int32_t* a = acc + r0 * channels;
#if defined(__x86_64__)
        if (has_avx512_core()) {
            // Flat when lanes go unused row by row and the repeated multipliers cost less than the rows.
            const int64_t period = channels % 16 ? lane_period(channels) : 0;
            if (period && period <= kMaxPeriod && n * channels >= 2 * period)
                return write_flat_avx512<Q>(a, bias, m, zp, y + r0 * channels, n, channels, period);
            return write_rows_avx512<Q>(a, bias, m, zp, y + r0 * channels, n, channels);
        }
#endif
        portable(a, bias, m, zp, y + r0 * channels, n, channels);
    });
}

}  // namespace

void write_rows(const int32_t* acc, const int32_t* bias, const float* m, int32_t zp, uint8_t* y, int64_t rows,
                int64_t channels, int threads) {
    write_rows_8bit<uint8_t>(acc, bias, m, zp, y, rows, channels, threads, write_rows_u8);
}
void write_rows(const int32_t* acc, const int32_t* bias, const float* m, int32_t zp, int8_t* y, int64_t rows,
                int64_t channels, int threads) {
    write_rows_8bit<int8_t>(acc, bias, m, zp, y, rows, channels, threads, write_rows_s8);
}
void write_rows(const int32_t* acc, const int32_t* bias, const float* m, int32_t zp, int32_t* y, int64_t rows,
                int64_t channels, int threads) {
    for_row_blocks(rows, channels, threads, [&](int64_t r0, int64_t n) {
        write_rows_s32(acc + r0 * channels, bias, m, zp, y + r0 * channels, n, channels);
    });
}
void write_rows(const int32_t* acc, const int32_t* bias, const float* m, int32_t zp, float* y, int64_t rows,
                int64_t channels, int threads) {
    for_row_blocks(rows, channels, threads, [&](int64_t r0, int64_t n) {
        write_rows_f32(acc + r0 * channels, bias, m, zp, y + r0 * channels, n, channels);
    });
}

}  // namespace ezemu::kernels::quant
