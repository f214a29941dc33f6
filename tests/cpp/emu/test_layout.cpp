// Layout helpers of the NPU model: NCHW ↔ NHWC and NC1HWC2 (rknn-api.md §7.6).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <numeric>
#include <vector>

#include "npu/layout.hpp"

namespace {

using ezemu::npu::Nchw;

template <typename T>
std::vector<T> iota_vector(size_t n)
{
    std::vector<T> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<T>(i + 1);
    return v;
}

TEST(Layout, NchwToNhwcPlacesEachElement)
{
    const Nchw s{2, 3, 4, 5};
    const auto src = iota_vector<float>(s.elements());
    std::vector<float> dst(s.elements());
    ezemu::npu::nchw_to_nhwc(src.data(), dst.data(), s, sizeof(float));
    for (size_t n = 0; n < s.n; ++n)
        for (size_t c = 0; c < s.c; ++c)
            for (size_t h = 0; h < s.h; ++h)
                for (size_t w = 0; w < s.w; ++w)
                    ASSERT_EQ(dst[((n * s.h + h) * s.w + w) * s.c + c], src[((n * s.c + c) * s.h + h) * s.w + w]);
}

template <typename T>
void check_round_trip(const Nchw& s)
{
    const auto src = iota_vector<T>(s.elements());
    std::vector<T> nhwc(s.elements()), back(s.elements());
    ezemu::npu::nchw_to_nhwc(src.data(), nhwc.data(), s, sizeof(T));
    ezemu::npu::nhwc_to_nchw(nhwc.data(), back.data(), s, sizeof(T));
    EXPECT_EQ(back, src);
}

TEST(Layout, NhwcRoundTripForEveryElementSize)
{
    check_round_trip<uint8_t>({1, 3, 7, 5});
    check_round_trip<uint16_t>({2, 4, 3, 3});
    check_round_trip<float>({1, 1, 2, 9});
    check_round_trip<int64_t>({3, 2, 1, 4});
    check_round_trip<float>({1, 16, 1, 1});
}

TEST(Layout, UnsupportedElementSizeThrows)
{
    const Nchw s{1, 1, 1, 1};
    unsigned char a[3] = {}, b[3] = {};
    EXPECT_THROW(ezemu::npu::nchw_to_nhwc(a, b, s, 3), std::invalid_argument);
}

// RK3588 yolov5s int8 outputs (C=255, C2=16) report these size_with_stride values (rknn-api.md §7.6).
TEST(Layout, Nc1hwc2SizeMatchesObservedRk3588Outputs)
{
    EXPECT_EQ(ezemu::npu::nc1hwc2_byte_size({1, 255, 80, 80}, 16, 1), 1638400u);
    EXPECT_EQ(ezemu::npu::nc1hwc2_byte_size({1, 255, 40, 40}, 16, 1), 491520u);
    EXPECT_EQ(ezemu::npu::nc1hwc2_byte_size({1, 255, 20, 20}, 16, 1), 163840u);
    // fp16, C2 = 8, width padded from 7 to 16.
    EXPECT_EQ(ezemu::npu::nc1hwc2_byte_size({1, 10, 7, 7}, 8, 2), size_t(1 * 2 * 7 * 16 * 8 * 2));
}

TEST(Layout, Nc1hwc2PackingFollowsTheUserGuideFormula)
{
    // RK3568 int8 example: NCHW (1,13,4,4) ↔ NC1HWC2 (1,2,4,4,8).
    const Nchw s{1, 13, 4, 4};
    const size_t c2 = 8, w_stride = 4;
    const auto src = iota_vector<uint8_t>(s.elements());
    std::vector<uint8_t> native(2 * 4 * 4 * 8, 0xee);
    ezemu::npu::nchw_to_nc1hwc2(src.data(), native.data(), s, c2, w_stride, 1);
    for (size_t c = 0; c < s.c; ++c)
        for (size_t h = 0; h < s.h; ++h)
            for (size_t w = 0; w < s.w; ++w)
                ASSERT_EQ(native[((c / c2 * s.h + h) * w_stride + w) * c2 + c % c2], src[(c * s.h + h) * s.w + w]);
    // Lanes 13..15 of the second block are filler, zeroed.
    for (size_t h = 0; h < s.h; ++h)
        for (size_t w = 0; w < s.w; ++w)
            for (size_t lane = 5; lane < c2; ++lane) ASSERT_EQ(native[((1 * s.h + h) * w_stride + w) * c2 + lane], 0);
    std::vector<uint8_t> back(s.elements());
    ezemu::npu::nc1hwc2_to_nchw(native.data(), back.data(), s, c2, w_stride, 1);
    EXPECT_EQ(back, src);
}

TEST(Layout, Nc1hwc2WithPaddedRowsRoundTrips)
{
    const Nchw s{2, 10, 3, 5};
    const size_t c2 = 8, w_stride = 16;
    const auto src = iota_vector<uint16_t>(s.elements());
    std::vector<uint16_t> native(2 * 2 * 3 * w_stride * c2, 0xffff);
    ezemu::npu::nchw_to_nc1hwc2(src.data(), native.data(), s, c2, w_stride, 2);
    size_t zeros = 0;
    for (uint16_t v : native) zeros += v == 0;
    EXPECT_EQ(zeros, native.size() - s.elements());
    std::vector<uint16_t> back(s.elements());
    ezemu::npu::nc1hwc2_to_nchw(native.data(), back.data(), s, c2, w_stride, 2);
    EXPECT_EQ(back, src);
    EXPECT_THROW(ezemu::npu::nc1hwc2_to_nchw(native.data(), back.data(), s, c2, 4, 2), std::invalid_argument);
}

}  // namespace
