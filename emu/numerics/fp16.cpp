#include "numerics/fp16.hpp"

#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <cpuid.h>
#endif

namespace ezemu::numerics {
namespace {

uint32_t float_bits(float value)
{
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    return bits;
}

float bits_float(uint32_t bits)
{
    float value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
}

// Float exponent field (bias 127) of the smallest normal half, 2^-14, and of the largest value that rounds to a
// finite half (just below 65520, the midpoint between 65504 and 2^16).
constexpr uint32_t kMinNormalHalfAsFloat = 0x38800000u;
constexpr uint32_t kOverflowThreshold = 0x477ff000u;
// Half of the smallest subnormal half (2^-25): at or below it everything rounds to zero (the tie goes to even 0).
constexpr uint32_t kHalfOfMinSubnormal = 0x33000000u;

}  // namespace

uint16_t float_to_half(float value)
{
    const uint32_t bits = float_bits(value);
    const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
    const uint32_t magnitude = bits & 0x7fffffffu;

    if (magnitude >= 0x7f800000u) {
        if (magnitude == 0x7f800000u) return sign | 0x7c00u;
        // NaN: keep the top payload bits; a payload that lives only in the dropped bits must still read as NaN.
        uint16_t payload = static_cast<uint16_t>((magnitude >> 13) & 0x3ffu);
        if (payload == 0) payload = 0x200u;
        return sign | 0x7c00u | payload;
    }
    if (magnitude >= kOverflowThreshold) return sign | 0x7c00u;

    if (magnitude < kMinNormalHalfAsFloat) {
        if (magnitude <= kHalfOfMinSubnormal) return sign;
        // Subnormal half: count units of 2^-24. The float is normal here, so restore its implicit leading bit.
        const uint32_t exponent = magnitude >> 23;
        const uint32_t mantissa = (magnitude & 0x7fffffu) | 0x800000u;
        const uint32_t shift = 126u - exponent;  // 14..24 for exponents 102..112
        uint32_t result = mantissa >> shift;
        const uint32_t remainder = mantissa & ((1u << shift) - 1u);
        const uint32_t halfway = 1u << (shift - 1u);
        if (remainder > halfway || (remainder == halfway && (result & 1u))) ++result;
        return sign | static_cast<uint16_t>(result);  // a carry into 0x400 is exactly the smallest normal
    }

    // Normal half: rebias the exponent (127 → 15) and drop 13 mantissa bits; a carry may bump the exponent.
    uint32_t result = (magnitude - 0x38000000u) >> 13;
    const uint32_t remainder = magnitude & 0x1fffu;
    if (remainder > 0x1000u || (remainder == 0x1000u && (result & 1u))) ++result;
    return sign | static_cast<uint16_t>(result);
}

float half_to_float(uint16_t half)
{
    const uint32_t sign = static_cast<uint32_t>(half & 0x8000u) << 16;
    const uint32_t exponent = (half >> 10) & 0x1fu;
    const uint32_t mantissa = half & 0x3ffu;

    if (exponent == 0) {
        if (mantissa == 0) return bits_float(sign);
        // m · 2^-24 is exact in float arithmetic.
        const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-8f;
        return bits_float(sign | float_bits(magnitude));
    }
    if (exponent == 31) return bits_float(sign | 0x7f800000u | (mantissa << 13));
    return bits_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

namespace {

// Element access through memcpy: bulk arrays come from callers and carry no alignment promise.
template <typename T>
T load_at(const T* base, size_t i)
{
    T value;
    std::memcpy(&value, reinterpret_cast<const unsigned char*>(base) + i * sizeof(T), sizeof(T));
    return value;
}

template <typename T>
void store_at(T* base, size_t i, T value)
{
    std::memcpy(reinterpret_cast<unsigned char*>(base) + i * sizeof(T), &value, sizeof(T));
}

void floats_to_halves_scalar(const float* src, uint16_t* dst, size_t from, size_t count)
{
    for (size_t i = from; i < count; ++i) store_at(dst, i, float_to_half(load_at(src, i)));
}

void halves_to_floats_scalar(const uint16_t* src, float* dst, size_t from, size_t count)
{
    for (size_t i = from; i < count; ++i) store_at(dst, i, half_to_float(load_at(src, i)));
}

void round_floats_scalar(const float* src, float* dst, size_t from, size_t count)
{
    for (size_t i = from; i < count; ++i) store_at(dst, i, round_to_half(load_at(src, i)));
}

#if defined(__x86_64__) || defined(__i386__)
// Eight lanes at a time with the F16C instructions (vcvtps2ph rounds to nearest even, as the scalar code does).
// Returns how many leading elements were converted; the caller finishes the tail.
__attribute__((target("avx,f16c"))) size_t floats_to_halves_f16c(const float* src, uint16_t* dst, size_t count)
{
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        const __m256 v = _mm256_loadu_ps(src + i);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
    }
    return i;
}

__attribute__((target("avx,f16c"))) size_t halves_to_floats_f16c(const uint16_t* src, float* dst, size_t count)
{
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
    }
    return i;
}

__attribute__((target("avx,f16c"))) size_t round_floats_f16c(const float* src, float* dst, size_t count)
{
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
    }
    return i;
}

bool cpu_has_f16c()
{
    // F16C is CPUID leaf 1 ECX bit 29, asked directly: clang before 16 rejects __builtin_cpu_supports("f16c").
    static const bool has = [] {
        unsigned a = 0, b = 0, c = 0, d = 0;
        return __builtin_cpu_supports("avx") && __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C) != 0;
    }();
    return has;
}
#else
bool cpu_has_f16c() { return false; }
size_t floats_to_halves_f16c(const float*, uint16_t*, size_t) { return 0; }
size_t halves_to_floats_f16c(const uint16_t*, float*, size_t) { return 0; }
size_t round_floats_f16c(const float*, float*, size_t) { return 0; }
#endif

}  // namespace

void floats_to_halves(const float* src, uint16_t* dst, size_t count)
{
    const size_t done = cpu_has_f16c() ? floats_to_halves_f16c(src, dst, count) : 0;
    floats_to_halves_scalar(src, dst, done, count);
}

void halves_to_floats(const uint16_t* src, float* dst, size_t count)
{
    const size_t done = cpu_has_f16c() ? halves_to_floats_f16c(src, dst, count) : 0;
    halves_to_floats_scalar(src, dst, done, count);
}

void round_floats_to_half(const float* src, float* dst, size_t count)
{
    const size_t done = cpu_has_f16c() ? round_floats_f16c(src, dst, count) : 0;
    round_floats_scalar(src, dst, done, count);
}

}  // namespace ezemu::numerics
