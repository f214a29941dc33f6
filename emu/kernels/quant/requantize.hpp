// The requantization rule of every integer kernel, written once. The NPU documents only q = round(clamp(D / scale
// + zp)) (rknn-api.md §7.7), so the int32 -> int8/uint8 step follows onnxruntime's (cpu-engine.md §4.1):
//   multiplier = (input_scale * weight_scale) / output_scale     two float32 roundings, in that order
//   q          = saturate(round_half_even(float(acc) * multiplier) + output_zero_point)
// float(acc) rounds accumulators beyond 2^24 to float32, as onnxruntime does. A NaN product gives the type's minimum
// (constant scales are checked at load; only scales computed at run time can get here).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace ezemu::kernels::quant {

inline float requant_multiplier(float input_scale, float weight_scale, float output_scale) {
    const float product = input_scale * weight_scale;
    return product / output_scale;
}

// QGemm's alpha scales the input scale first: ((alpha * input_scale) * weight_scale) / output_scale, as
// onnxruntime's QGemm computes its output scales (alpha = 1 leaves requant_multiplier's value unchanged).
inline float gemm_multiplier(float alpha, float input_scale, float weight_scale, float output_scale) {
    return requant_multiplier(alpha * input_scale, weight_scale, output_scale);
}

// QLinearGlobalAveragePool: the int32 sum of a plane of n codes minus n * x_zero_point is requantized with
// multiplier = x_scale / (y_scale * float(n)), float32 (onnxruntime's rule, measured: 0 differences).
inline float global_average_multiplier(float x_scale, float y_scale, int64_t n) {
    return x_scale / (y_scale * static_cast<float>(n));
}

// Round half to even by the float adder: exact for |v| < 2^22; larger values saturate anyway (|q| <= 2^16).
[[gnu::always_inline]] inline float round_half_even_float(float v) {
    constexpr float magic = 12582912.0f;  // 1.5 * 2^23
    constexpr float limit = 4194304.0f;   // 2^22
    v = v < -limit ? -limit : v;
    v = v > limit ? limit : v;
    return (v + magic) - magic;
}

// Saturating conversion of a rounded float (NaN gives the type's minimum, as above). Converted through int32 and
// written as selects, so that loops over it vectorize.
template <class Q>
[[gnu::always_inline]] inline Q saturate(float r) {
    constexpr float lo = static_cast<float>(std::numeric_limits<Q>::min());
    constexpr float hi = static_cast<float>(std::numeric_limits<Q>::max());
    r = r >= lo ? r : lo;  // written so that NaN saturates to lo
    r = r > hi ? hi : r;
    return static_cast<Q>(static_cast<int32_t>(r));
}

template <class Q>
[[gnu::always_inline]] inline Q requantize(int32_t acc, float multiplier, int32_t zero_point) {
    return saturate<Q>(round_half_even_float(static_cast<float>(acc) * multiplier) + static_cast<float>(zero_point));
}

// QLinearAdd, as onnxruntime computes the DequantizeLinear -> Add -> QuantizeLinear it fuses (found by measuring it:
// 0 differences over every (a, b) pair of four scale / zero-point sets, ties included): with ra = sa / sy,
// rb = sb / sy and k = zy - fma(ra, za, rb * zb), all float32, y = round(fma(ra, a, fma(rb, b, k))).
struct AddRule {
    float ra = 0, rb = 0, k = 0;
    AddRule(float sa, int32_t za, float sb, int32_t zb, float sy, int32_t zy)
        : ra(sa / sy), rb(sb / sy),
          k(static_cast<float>(zy) - std::fma(ra, static_cast<float>(za), rb * static_cast<float>(zb))) {}
    template <class Q>
    [[gnu::always_inline]] Q apply(int32_t a, int32_t b) const {
        const float inner = std::fma(rb, static_cast<float>(b), k);
        return saturate<Q>(round_half_even_float(std::fma(ra, static_cast<float>(a), inner)));
    }
};

// QLinearMul likewise: y = round(r * float((a - za) * (b - zb)) + zy) with r = (sa * sb) / sy, float32.
struct MulRule {
    float r = 0;
    int32_t za = 0, zb = 0;
    float zy = 0;
    MulRule(float sa, int32_t za_, float sb, int32_t zb_, float sy, int32_t zy_)
        : r(requant_multiplier(sa, sb, sy)), za(za_), zb(zb_), zy(static_cast<float>(zy_)) {}
    template <class Q>
    [[gnu::always_inline]] Q apply(int32_t a, int32_t b) const {
        return saturate<Q>(round_half_even_float(r * static_cast<float>((a - za) * (b - zb)) + zy));
    }
};

// QLinearAveragePool, as onnxruntime computes it (measured: 0 differences): the float32 sum, in window order, of the
// dequantized taps float(x - zx) * sx, divided by the tap count, divided by sy; the zero point is added *before*
// rounding: y = round(mean / sy + zy). The float sum is kept because an int32 sum times sx rounds ties differently
// from the sum of the rounded products (931 of 16,384 outputs differ when sx = sy, docs/emulator.md).
template <class Q>
[[gnu::always_inline]] inline Q quantize_mean(float mean, float y_scale, float y_zero_point) {
    return saturate<Q>(round_half_even_float(mean / y_scale + y_zero_point));
}

}  // namespace ezemu::kernels::quant
