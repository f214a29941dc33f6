#include "kernels/quant/qlinear_binary_rows.hpp"

#include <type_traits>

#include "kernels/quant/requantize_rows.hpp"

namespace ezemu::kernels::quant {

namespace {

template <class Rule, class Q>
[[gnu::always_inline]] inline void scalar_loop(const Rule& rule, const Q* a, bool a_scalar, const Q* b, bool b_scalar,
                                               Q* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = rule.template apply<Q>(a[a_scalar ? 0 : i], b[b_scalar ? 0 : i]);
}

// Cloned per ISA: the rules' fused multiply-adds are one instruction with FMA and a libm call without it; both give
// the same bits. (GCC picks an arch= clone by CPU model, so AMD CPUs run the default one: the AVX-512 rows below
// are chosen by feature instead.)
#define EZEMU_SCALAR_ROW(Rule, Q)                                                                                   \
    __attribute__((target_clones("arch=haswell", "default"))) void scalar_row(const Rule& rule, const Q* a,        \
                                                                               bool a_scalar, const Q* b,          \
                                                                               bool b_scalar, Q* y, int64_t n) {   \
        scalar_loop(rule, a, a_scalar, b, b_scalar, y, n);                                                        \
    }
EZEMU_SCALAR_ROW(AddRule, int8_t)
EZEMU_SCALAR_ROW(AddRule, uint8_t)
EZEMU_SCALAR_ROW(MulRule, int8_t)
EZEMU_SCALAR_ROW(MulRule, uint8_t)
#undef EZEMU_SCALAR_ROW

#if defined(__x86_64__)
#define EZEMU_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl"), always_inline)) inline

// The first n (<= 16) codes as int32 lanes (the others 0).
template <class Q>
EZEMU_AVX512 __m512i code_lanes(__mmask16 m, const Q* p) {
    const __m128i q = _mm_maskz_loadu_epi8(m, p);
    if constexpr (std::is_signed_v<Q>) return _mm512_maskz_cvtepi8_epi32(0xFFFF, q);
    else return _mm512_maskz_cvtepu8_epi32(0xFFFF, q);
}

// AddRule's two fused multiply-adds (its k already holds the output zero point).
EZEMU_AVX512 __m512 rule_value(const AddRule& rule, __m512i a, __m512i b) {
    const __m512 fa = _mm512_maskz_cvtepi32_ps(0xFFFF, a), fb = _mm512_maskz_cvtepi32_ps(0xFFFF, b);
    return _mm512_fmadd_ps(_mm512_set1_ps(rule.ra), fa, _mm512_fmadd_ps(_mm512_set1_ps(rule.rb), fb,
                                                                         _mm512_set1_ps(rule.k)));
}

// MulRule: r * float((a - za) * (b - zb)) + zy, two roundings. The explicitly rounded forms keep the compiler from
// contracting them into one fused multiply-add (which would round once and differ from the scalar rule); the
// zero-masking forms with all lanes set, as round_saturate_avx512.
EZEMU_AVX512 __m512 rule_value(const MulRule& rule, __m512i a, __m512i b) {
    const __m512i p = _mm512_mullo_epi32(_mm512_sub_epi32(a, _mm512_set1_epi32(rule.za)),
                                         _mm512_sub_epi32(b, _mm512_set1_epi32(rule.zb)));
    constexpr int kNearest = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
    const __m512 fp = _mm512_maskz_cvtepi32_ps(0xFFFF, p);
    const __m512 product = _mm512_maskz_mul_round_ps(0xFFFF, _mm512_set1_ps(rule.r), fp, kNearest);
    return _mm512_maskz_add_round_ps(0xFFFF, product, _mm512_set1_ps(rule.zy), kNearest);
}
#undef EZEMU_AVX512

template <class Rule, class Q>
__attribute__((target("avx512f,avx512bw,avx512vl"))) void avx512_row(const Rule& rule, const Q* a, bool a_scalar,
                                                                     const Q* b, bool b_scalar, Q* y, int64_t n) {
    if (n <= 0) return;
    const __m512i zero = _mm512_setzero_si512();
    const __m512i a_one = _mm512_set1_epi32(a[0]), b_one = _mm512_set1_epi32(b[0]);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = lanes(n - i);
        const __m512i va = a_scalar ? a_one : code_lanes(m, a + i);
        const __m512i vb = b_scalar ? b_one : code_lanes(m, b + i);
        _mm512_mask_cvtepi32_storeu_epi8(y + i, m, round_saturate_avx512<Q>(rule_value(rule, va, vb), zero));
    }
}
#endif

}  // namespace

template <class Rule, class Q>
void binary_row_scalar(const Rule& rule, const Q* a, bool a_scalar, const Q* b, bool b_scalar, Q* y, int64_t n) {
    scalar_row(rule, a, a_scalar, b, b_scalar, y, n);
}

template <class Rule, class Q>
bool binary_row_avx512(const Rule& rule, const Q* a, bool a_scalar, const Q* b, bool b_scalar, Q* y, int64_t n) {
#if defined(__x86_64__)
    if (!has_avx512_core()) return false;
    avx512_row(rule, a, a_scalar, b, b_scalar, y, n);
    return true;
#else
    (void)rule, (void)a, (void)a_scalar, (void)b, (void)b_scalar, (void)y, (void)n;
    return false;
#endif
}

#define EZEMU_BINARY_ROWS(Rule, Q)                                                                                  \
    template void binary_row_scalar<Rule, Q>(const Rule&, const Q*, bool, const Q*, bool, Q*, int64_t);            \
    template bool binary_row_avx512<Rule, Q>(const Rule&, const Q*, bool, const Q*, bool, Q*, int64_t);
EZEMU_BINARY_ROWS(AddRule, int8_t)
EZEMU_BINARY_ROWS(AddRule, uint8_t)
EZEMU_BINARY_ROWS(MulRule, int8_t)
EZEMU_BINARY_ROWS(MulRule, uint8_t)
#undef EZEMU_BINARY_ROWS

}  // namespace ezemu::kernels::quant
