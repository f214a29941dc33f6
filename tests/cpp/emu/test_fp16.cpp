// fp16 conversion: the rounding every float model's inputs and outputs go through (rknn-api.md §7.7).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "numerics/fp16.hpp"

namespace {

using ezemu::numerics::float_to_half;
using ezemu::numerics::half_to_float;
using ezemu::numerics::round_to_half;

float from_bits(uint32_t bits)
{
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

uint32_t to_bits(float f)
{
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    return bits;
}

bool is_half_nan(uint16_t h) { return (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0; }

TEST(Fp16, EveryHalfRoundTripsThroughFloat)
{
    for (uint32_t h = 0; h <= 0xffffu; ++h) {
        const float f = half_to_float(static_cast<uint16_t>(h));
        ASSERT_EQ(float_to_half(f), h) << "half 0x" << std::hex << h;
    }
}

TEST(Fp16, HalfToFloatMatchesTheEncoding)
{
    for (uint32_t h = 0; h <= 0xffffu; ++h) {
        const uint16_t half = static_cast<uint16_t>(h);
        const float f = half_to_float(half);
        const int exponent = (h >> 10) & 0x1f;
        const int mantissa = h & 0x3ff;
        const double sign = (h & 0x8000u) ? -1.0 : 1.0;
        if (exponent == 31) {
            if (mantissa == 0)
                ASSERT_TRUE(std::isinf(f) && std::signbit(f) == bool(h & 0x8000u));
            else
                ASSERT_TRUE(std::isnan(f));
            continue;
        }
        const double expected = exponent == 0 ? sign * mantissa * std::ldexp(1.0, -24)
                                              : sign * (1024 + mantissa) * std::ldexp(1.0, exponent - 25);
        ASSERT_EQ(static_cast<double>(f), expected) << "half 0x" << std::hex << h;
        ASSERT_EQ(std::signbit(f), bool(h & 0x8000u));
    }
}

// Between two neighbouring finite halves, the midpoint goes to the one with an even mantissa, and anything a
// float ulp off the midpoint goes to the nearer one.
TEST(Fp16, TiesRoundToEvenAndNeighboursToNearest)
{
    for (uint32_t h = 0; h < 0x7bffu; ++h) {
        for (uint32_t sign : {0u, 0x8000u}) {
            const uint16_t lo = static_cast<uint16_t>(h | sign);
            const uint16_t hi = static_cast<uint16_t>((h + 1) | sign);
            const double a = half_to_float(lo);
            const double b = half_to_float(hi);
            const float mid = static_cast<float>((a + b) / 2);  // exact: halves have 11 significant bits
            ASSERT_EQ(static_cast<double>(mid), (a + b) / 2);
            const uint16_t even = (lo & 1u) ? hi : lo;
            ASSERT_EQ(float_to_half(mid), even) << "midpoint after half 0x" << std::hex << lo;
            const float toward_lo = std::nextafter(mid, static_cast<float>(a));
            const float toward_hi = std::nextafter(mid, static_cast<float>(b));
            ASSERT_EQ(float_to_half(toward_lo), lo);
            ASSERT_EQ(float_to_half(toward_hi), hi);
        }
    }
}

TEST(Fp16, OverflowAndLimits)
{
    EXPECT_EQ(float_to_half(65504.0f), 0x7bffu);
    EXPECT_EQ(float_to_half(std::nextafter(65520.0f, 0.0f)), 0x7bffu);
    EXPECT_EQ(float_to_half(65520.0f), 0x7c00u);  // the tie above the largest half goes to even: infinity
    EXPECT_EQ(float_to_half(-65520.0f), 0xfc00u);
    EXPECT_EQ(float_to_half(1e10f), 0x7c00u);
    EXPECT_EQ(float_to_half(std::numeric_limits<float>::max()), 0x7c00u);
    EXPECT_EQ(float_to_half(std::numeric_limits<float>::infinity()), 0x7c00u);
    EXPECT_EQ(float_to_half(-std::numeric_limits<float>::infinity()), 0xfc00u);
    EXPECT_EQ(float_to_half(1.0f), 0x3c00u);
    EXPECT_EQ(float_to_half(-2.0f), 0xc000u);
    EXPECT_EQ(float_to_half(0.0f), 0x0000u);
    EXPECT_EQ(float_to_half(-0.0f), 0x8000u);
}

TEST(Fp16, SubnormalsAndUnderflow)
{
    const float min_subnormal = std::ldexp(1.0f, -24);
    EXPECT_EQ(float_to_half(min_subnormal), 0x0001u);
    EXPECT_EQ(float_to_half(std::ldexp(1.0f, -25)), 0x0000u);  // tie between 0 and 2^-24 → even (0)
    EXPECT_EQ(float_to_half(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001u);
    EXPECT_EQ(float_to_half(std::ldexp(3.0f, -26)), 0x0001u);
    EXPECT_EQ(float_to_half(std::ldexp(3.0f, -25)), 0x0002u);  // 1.5 units: tie → even (2)
    EXPECT_EQ(float_to_half(std::ldexp(5.0f, -25)), 0x0002u);  // 2.5 units: tie → even (2)
    EXPECT_EQ(float_to_half(-min_subnormal), 0x8001u);
    EXPECT_EQ(float_to_half(1e-30f), 0x0000u);
    EXPECT_EQ(float_to_half(-1e-30f), 0x8000u);
    EXPECT_EQ(float_to_half(std::numeric_limits<float>::denorm_min()), 0x0000u);
    // The largest subnormal rounds up into the smallest normal.
    EXPECT_EQ(float_to_half(std::nextafter(std::ldexp(1.0f, -14), 0.0f)), 0x0400u);
    EXPECT_EQ(float_to_half(std::ldexp(1023.0f, -24)), 0x03ffu);
}

TEST(Fp16, NanStaysNan)
{
    EXPECT_TRUE(is_half_nan(float_to_half(std::numeric_limits<float>::quiet_NaN())));
    EXPECT_TRUE(is_half_nan(float_to_half(-std::numeric_limits<float>::quiet_NaN())));
    // A payload only in the low float bits must not collapse to infinity.
    EXPECT_TRUE(is_half_nan(float_to_half(from_bits(0x7f800001u))));
    EXPECT_TRUE(std::isnan(half_to_float(0x7e00u)));
    EXPECT_TRUE(std::isnan(round_to_half(std::numeric_limits<float>::quiet_NaN())));
}

#if defined(__FLT16_MAX__)
// The compiler's own _Float16 conversion (libgcc or F16C) is an independent reference for round-to-nearest-even.
TEST(Fp16, MatchesCompilerFloat16OnASweepOfFloats)
{
    for (uint64_t bits = 0; bits <= 0xffffffffull; bits += 977) {
        const float f = from_bits(static_cast<uint32_t>(bits));
        const _Float16 reference = static_cast<_Float16>(f);
        uint16_t expected;
        std::memcpy(&expected, &reference, sizeof expected);
        const uint16_t got = float_to_half(f);
        if (std::isnan(f)) {
            ASSERT_TRUE(is_half_nan(got));
            continue;
        }
        ASSERT_EQ(got, expected) << "float bits 0x" << std::hex << bits;
    }
}
#endif

TEST(Fp16, BulkConversions)
{
    const std::vector<float> values = {0.0f, 1.0f, -1.5f, 0.1f, 65504.0f, 1e-7f, 3.14159265f};
    std::vector<uint16_t> halves(values.size());
    std::vector<float> back(values.size());
    std::vector<float> rounded(values.size());
    ezemu::numerics::floats_to_halves(values.data(), halves.data(), values.size());
    ezemu::numerics::halves_to_floats(halves.data(), back.data(), values.size());
    ezemu::numerics::round_floats_to_half(values.data(), rounded.data(), values.size());
    for (size_t i = 0; i < values.size(); ++i) {
        EXPECT_EQ(halves[i], float_to_half(values[i]));
        EXPECT_EQ(to_bits(back[i]), to_bits(round_to_half(values[i])));
        EXPECT_EQ(to_bits(rounded[i]), to_bits(back[i]));
    }
    EXPECT_EQ(round_to_half(0.1f), 0.0999755859375f);
    std::vector<float> in_place = values;
    ezemu::numerics::round_floats_to_half(in_place.data(), in_place.data(), in_place.size());
    EXPECT_EQ(in_place, rounded);
}

// The bulk forms (F16C where the CPU has it) must agree with the scalar code on every value but NaN payloads,
// for any length and alignment.
TEST(Fp16, BulkFormsAgreeWithScalarOnEveryHalfAndAFloatSweep)
{
    std::vector<uint16_t> halves(65536 + 3);
    for (uint32_t h = 0; h <= 0xffffu; ++h) halves[h + 3] = static_cast<uint16_t>(h);
    std::vector<float> floats(halves.size() + 1);
    // Offsets of 3 halves and 1 float leave both arrays misaligned for their element type's vector loads.
    ezemu::numerics::halves_to_floats(halves.data() + 3, floats.data() + 1, 65536);
    for (uint32_t h = 0; h <= 0xffffu; ++h) {
        const float scalar = half_to_float(static_cast<uint16_t>(h));
        if (is_half_nan(static_cast<uint16_t>(h))) {
            ASSERT_TRUE(std::isnan(floats[h + 1]));
            continue;
        }
        ASSERT_EQ(to_bits(floats[h + 1]), to_bits(scalar)) << std::hex << h;
    }

    std::vector<float> sweep;
    for (uint64_t bits = 0; bits <= 0xffffffffull; bits += 65537) sweep.push_back(from_bits(uint32_t(bits)));
    for (size_t length : {sweep.size(), size_t(7), size_t(9), size_t(1), size_t(0)}) {
        std::vector<uint16_t> out(length);
        std::vector<float> rounded(length);
        ezemu::numerics::floats_to_halves(sweep.data(), out.data(), length);
        ezemu::numerics::round_floats_to_half(sweep.data(), rounded.data(), length);
        for (size_t i = 0; i < length; ++i) {
            if (std::isnan(sweep[i])) {
                ASSERT_TRUE(is_half_nan(out[i]) && std::isnan(rounded[i]));
                continue;
            }
            ASSERT_EQ(out[i], float_to_half(sweep[i])) << "float bits 0x" << std::hex << to_bits(sweep[i]);
            ASSERT_EQ(to_bits(rounded[i]), to_bits(round_to_half(sweep[i])));
        }
    }
}

}  // namespace
