// The layout option's plan per input (anchor-behaviour.md §5.2) and the engine's NCHW→NHWC transpose.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "engine/layout.hpp"

namespace ezrknn::detail {
namespace {

const std::vector<int64_t> kNhwc = {1, 224, 320, 3};

TEST(InputLayoutPlan, NchwShowsPermutedDimsAndLetsTheRuntimeConvert) {
    for (InputLayout l : {InputLayout::NCHW}) {
        const InputLayoutPlan p = plan_input_layout(kNhwc, TensorFormat::NHWC, l);
        EXPECT_EQ(p.user_shape, std::vector<int64_t>({1, 3, 224, 320}));
        EXPECT_EQ(p.user_format, TensorFormat::NCHW);
        EXPECT_EQ(p.rknn_format, TensorFormat::NCHW);
        EXPECT_FALSE(p.software_transpose);
    }
}

TEST(InputLayoutPlan, NchwSoftwareTransposesInTheEngine) {
    const InputLayoutPlan p = plan_input_layout(kNhwc, TensorFormat::NHWC, InputLayout::NCHWSoftware);
    EXPECT_EQ(p.user_shape, std::vector<int64_t>({1, 3, 224, 320}));
    EXPECT_EQ(p.user_format, TensorFormat::NCHW);
    EXPECT_EQ(p.rknn_format, TensorFormat::NHWC);
    EXPECT_TRUE(p.software_transpose);
}

TEST(InputLayoutPlan, NhwcAndAnyKeepTheQueriedDims) {
    for (InputLayout l : {InputLayout::NHWC, InputLayout::Any}) {
        const InputLayoutPlan p = plan_input_layout(kNhwc, TensorFormat::NHWC, l);
        EXPECT_EQ(p.user_shape, kNhwc);
        EXPECT_EQ(p.user_format, TensorFormat::NHWC);
        EXPECT_EQ(p.rknn_format, TensorFormat::NHWC);
        EXPECT_FALSE(p.software_transpose);
    }
}

TEST(InputLayoutPlan, OnlyAnNhwcQueryIsPermuted) {
    // anchor §14.14: a 4-D input the runtime reports as NCHW is already in model order.
    for (InputLayout l : {InputLayout::NCHW, InputLayout::NCHWSoftware, InputLayout::NHWC, InputLayout::Any}) {
        const InputLayoutPlan p = plan_input_layout({1, 3, 8, 8}, TensorFormat::NCHW, l);
        EXPECT_EQ(p.user_shape, std::vector<int64_t>({1, 3, 8, 8}));
        EXPECT_EQ(p.rknn_format, TensorFormat::NCHW);
        EXPECT_FALSE(p.software_transpose);
    }
}

TEST(InputLayoutPlan, NonFourDimensionalInputsAreUndefinedAndUntouched) {
    for (InputLayout l : {InputLayout::NCHW, InputLayout::NCHWSoftware, InputLayout::NHWC, InputLayout::Any}) {
        const InputLayoutPlan p = plan_input_layout({1, 4}, TensorFormat::Undefined, l);
        EXPECT_EQ(p.user_shape, std::vector<int64_t>({1, 4}));
        EXPECT_EQ(p.user_format, TensorFormat::Undefined);
        EXPECT_EQ(p.rknn_format, TensorFormat::Undefined);
        EXPECT_FALSE(p.software_transpose);
    }
}

TEST(Transpose, NchwToNhwcForEveryElementSize) {
    const size_t n = 2, c = 3, h = 2, w = 5;
    for (size_t bytes : {1u, 2u, 4u, 8u, 3u}) {
        SCOPED_TRACE(bytes);
        std::vector<uint8_t> src(n * c * h * w * bytes);
        for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint8_t>(i * 7 + 1);
        std::vector<uint8_t> dst(src.size());
        transpose_nchw_to_nhwc(src.data(), dst.data(), n, c, h, w, bytes);
        for (size_t b = 0; b < n; ++b)
            for (size_t ch = 0; ch < c; ++ch)
                for (size_t y = 0; y < h; ++y)
                    for (size_t x = 0; x < w; ++x)
                        for (size_t k = 0; k < bytes; ++k) {
                            const size_t s = (((b * c + ch) * h + y) * w + x) * bytes + k;
                            const size_t d = (((b * h + y) * w + x) * c + ch) * bytes + k;
                            ASSERT_EQ(dst[d], src[s]);
                        }
    }
}

TEST(Transpose, DimsHelper) {
    EXPECT_EQ(nhwc_to_nchw_dims({1, 2, 3, 4}), std::vector<int64_t>({1, 4, 2, 3}));
    EXPECT_EQ(nhwc_to_nchw_dims({5, 6}), std::vector<int64_t>({5, 6}));
}

}  // namespace
}  // namespace ezrknn::detail
