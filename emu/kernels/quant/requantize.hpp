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

// Round half to even by the float adder: exact for |v| < 2^22; larger values saturate anyway (|q| <= 2^16).
inline float round_half_even_float(float v) {
    constexpr float magic = 12582912.0f;  // 1.5 * 2^23
    constexpr float limit = 4194304.0f;   // 2^22
    v = v < -limit ? -limit : v;
    v = v > limit ? limit : v;
    return (v + magic) - magic;
}

template <class Q>
inline Q requantize(int32_t acc, float multiplier, int32_t zero_point) {
    constexpr float lo = static_cast<float>(std::numeric_limits<Q>::min());
    constexpr float hi = static_cast<float>(std::numeric_limits<Q>::max());
    float r = round_half_even_float(static_cast<float>(acc) * multiplier) + static_cast<float>(zero_point);
    r = r >= lo ? r : lo;  // written so that NaN (a NaN or infinite scale computed at run time) saturates to lo
    r = r > hi ? hi : r;
    return static_cast<Q>(r);
}

}  // namespace ezemu::kernels::quant
