// nn ops where the ONNX backend suite is thin: old-opset BatchNormalization, the Conv + BatchNormalization folding,
// ConvTranspose's oneDNN path against its reference kernel and the opset-11 padding rule, float16 through the
// float32 kernels, and data-dependent failures (MaxUnpool indices, RoiAlign batch indices).
#include <cmath>
#include <string>
#include <vector>

#include "numerics/fp16.hpp"
#include "test_kernels_support.hpp"

namespace ezemu::testing {
namespace {

TEST(NnOps, BatchNormalizationOpset7PerActivation) {
    // spatial=0: the parameters are [C, H] and apply per element.
    ModelBuilder mb(7);
    mb.input("x", DT::Float, {2, 2, 2});
    mb.initializer("s", DT::Float, {2, 2}, std::vector<float>{1, 2, 3, 4});
    mb.initializer("b", DT::Float, {2, 2}, std::vector<float>{0, 1, 0, 1});
    mb.initializer("m", DT::Float, {2, 2}, std::vector<float>{1, 1, 1, 1});
    mb.initializer("v", DT::Float, {2, 2}, std::vector<float>{1, 1, 1, 1});
    mb.node("BatchNormalization", {"x", "s", "b", "m", "v"}, {"y"},
            {attr_int("spatial", 0), attr_float("epsilon", 0.0f)});
    mb.output("y");
    const auto y = run_float(*compile(mb), {{2, 2, 2, 2, 3, 3, 3, 3}})[0];
    EXPECT_TRUE(all_close(y, std::vector<float>{1, 3, 3, 5, 2, 5, 6, 9}));
}

TEST(NnOps, BatchNormalizationRefusesOldTrainingOutputs) {
    ModelBuilder mb(9);
    mb.input("x", DT::Float, {1, 1, 2});
    for (const char* p : {"s", "b", "m", "v"}) mb.initializer(p, DT::Float, {1}, std::vector<float>{1});
    mb.node("BatchNormalization", {"x", "s", "b", "m", "v"}, {"y", "mean"}, {}, "bn").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"BatchNormalization node 'bn'", "training outputs"}));
}

ModelBuilder conv_bn_relu(int64_t opset) {
    const int64_t c = 3, m = 5;
    ModelBuilder mb(opset);
    mb.input("x", DT::Float, {2, c, 6, 6});
    mb.initializer("w", DT::Float, {m, c, 3, 3}, random_floats(static_cast<size_t>(m * c * 9), 1));
    mb.initializer("s", DT::Float, {m}, random_floats(static_cast<size_t>(m), 2));
    mb.initializer("b", DT::Float, {m}, random_floats(static_cast<size_t>(m), 3));
    mb.initializer("mu", DT::Float, {m}, random_floats(static_cast<size_t>(m), 4));
    mb.initializer("var", DT::Float, {m}, random_floats(static_cast<size_t>(m), 5, 0.5f, 2.0f));
    mb.node("Conv", {"x", "w"}, {"c"}, {attr_ints("pads", {1, 1, 1, 1})});
    mb.node("BatchNormalization", {"c", "s", "b", "mu", "var"}, {"bn"}, {attr_float("epsilon", 1e-3f)});
    mb.node("Relu", {"bn"}, {"y"});
    mb.output("y");
    return mb;
}

TEST(NnOps, ConvBatchNormFoldingMatchesTheUnfusedKernels) {
    for (int64_t opset : {9, 15}) {
        const ModelBuilder mb = conv_bn_relu(opset);
        const auto x = random_floats(2 * 3 * 36, 6);
        const auto fused = run_float(*compile(mb, false), {x})[0];
        const auto plain = run_float(*compile(mb, true), {x})[0];
        EXPECT_TRUE(all_close(fused, plain, 1e-5, 1e-4)) << "opset " << opset;
    }
}

ModelBuilder conv_transpose(std::vector<onnx::Attribute> attrs, std::vector<int64_t> x, int64_t m, int64_t group,
                            std::vector<int64_t> kernel, int64_t opset = 13) {
    ModelBuilder mb(opset);
    mb.input("x", DT::Float, x);
    std::vector<int64_t> w{x[1], m / group};
    w.insert(w.end(), kernel.begin(), kernel.end());
    mb.initializer("w", DT::Float, w, random_floats(static_cast<size_t>(elements(w)), 11));
    mb.initializer("b", DT::Float, {m}, random_floats(static_cast<size_t>(m), 12));
    mb.node("ConvTranspose", {"x", "w", "b"}, {"y"}, std::move(attrs));
    mb.output("y");
    return mb;
}

TEST(NnOps, ConvTransposeOnednnMatchesReference) {
    struct Case {
        std::vector<onnx::Attribute> attrs;
        std::vector<int64_t> x;
        int64_t m, group;
        std::vector<int64_t> kernel;
    };
    const std::vector<Case> cases{
        {{attr_ints("strides", {2, 2}), attr_ints("pads", {1, 1, 1, 1}), attr_ints("output_padding", {1, 1})},
         {2, 8, 7, 5}, 6, 1, {3, 3}},
        {{attr_ints("strides", {2, 1}), attr_int("group", 2), attr_ints("dilations", {2, 1})},
         {1, 4, 5, 6}, 6, 2, {3, 2}},
        {{attr_ints("strides", {2}), attr_string("auto_pad", "SAME_LOWER")}, {2, 3, 9}, 4, 1, {4}},
        {{attr_ints("strides", {1, 2, 2})}, {1, 2, 3, 4, 4}, 3, 1, {2, 3, 3}},
    };
    for (size_t i = 0; i < cases.size(); ++i) {
        const Case& c = cases[i];
        const ModelBuilder mb = conv_transpose(c.attrs, c.x, c.m, c.group, c.kernel);
        const auto x = random_floats(static_cast<size_t>(elements(c.x)), 13);
        auto fast = compile(mb, false), ref = compile(mb, true);
        EXPECT_EQ(fast->outputs()[0].shape, ref->outputs()[0].shape);
        EXPECT_TRUE(all_close(run_float(*fast, {x})[0], run_float(*ref, {x})[0], 1e-5, 1e-4)) << "case " << i;
    }
}

TEST(NnOps, ConvTransposeOutputShapePaddingRuleChangedAtOpset11) {
    // 1 input pixel, kernel 2, output_shape 1: one unit of padding. Opset 11+ (NOTSET) puts it at the start, so the
    // output is the kernel's second tap; opset 10 puts it at the end (the first tap).
    for (int64_t opset : {10, 11}) {
        ModelBuilder mb(opset);
        mb.input("x", DT::Float, {1, 1, 1});
        mb.initializer("w", DT::Float, {1, 1, 2}, std::vector<float>{10, 20});
        mb.node("ConvTranspose", {"x", "w"}, {"y"}, {attr_ints("output_shape", {1})});
        mb.output("y");
        const auto y = run_float(*compile(mb), {{1}})[0];
        EXPECT_EQ(y, (std::vector<float>{opset >= 11 ? 20.0f : 10.0f})) << "opset " << opset;
    }
}

TEST(NnOps, Float16ConvAndPoolRunInFloat) {
    ModelBuilder mb(13);
    mb.input("x", DT::Float16, {1, 1, 2, 2});
    std::vector<uint16_t> w;
    for (float v : {0.5f, 0.25f}) w.push_back(numerics::float_to_half(v));
    mb.initializer("w", DT::Float16, {2, 1, 1, 1}, w);
    mb.node("Conv", {"x", "w"}, {"c"}).node("GlobalMaxPool", {"c"}, {"y"}).output("y");
    auto m = compile(mb);
    ASSERT_EQ(m->outputs()[0].dtype, DT::Float16);
    std::vector<uint16_t> x;
    for (float v : {1.0f, 3.0f, -2.0f, 2.0f}) x.push_back(numerics::float_to_half(v));
    const auto y = from_bytes<uint16_t>(run_bytes(*m, {to_bytes(x)})[0]);
    ASSERT_EQ(y.size(), 2u);
    EXPECT_EQ(numerics::half_to_float(y[0]), 1.5f);
    EXPECT_EQ(numerics::half_to_float(y[1]), 0.75f);
}

TEST(NnOps, LayerNormalizationKeepsFloatStatisticsForFloat16) {
    ModelBuilder mb(17);
    mb.input("x", DT::Float16, {2, 2});
    std::vector<uint16_t> one{numerics::float_to_half(1.0f)};
    mb.initializer("s", DT::Float16, {1}, one);
    mb.node("LayerNormalization", {"x", "s"}, {"y", "mean"}).output("y").output("mean");
    auto m = compile(mb);
    EXPECT_EQ(m->outputs()[0].dtype, DT::Float16);
    EXPECT_EQ(m->outputs()[1].dtype, DT::Float);
    EXPECT_EQ(m->outputs()[1].shape, (std::vector<int64_t>{2, 1}));
    std::vector<uint16_t> x;
    for (float v : {1.0f, 3.0f, 0.0f, 10.0f}) x.push_back(numerics::float_to_half(v));
    const auto out = run_bytes(*m, {to_bytes(x)});
    EXPECT_EQ(from_bytes<float>(out[1]), (std::vector<float>{2.0f, 5.0f}));
}

TEST(NnOps, MaxUnpoolRejectsIndicesOutsideTheOutput) {
    ModelBuilder mb(11);
    mb.input("x", DT::Float, {1, 1, 1, 1}).input("i", DT::Int64, {1, 1, 1, 1});
    mb.node("MaxUnpool", {"x", "i"}, {"y"}, {attr_ints("kernel_shape", {2, 2}), attr_ints("strides", {2, 2})});
    mb.output("y");
    auto m = compile(mb);
    EXPECT_EQ(m->outputs()[0].shape, (std::vector<int64_t>{1, 1, 2, 2}));
    EXPECT_EQ(from_bytes<float>(run_bytes(*m, {to_bytes(std::vector<float>{7}), to_bytes(std::vector<int64_t>{3})})[0]),
              (std::vector<float>{0, 0, 0, 7}));
    EXPECT_THROW(run_bytes(*m, {to_bytes(std::vector<float>{7}), to_bytes(std::vector<int64_t>{4})}), RunError);
}

TEST(NnOps, RoiAlignHalfPixelShiftsFromOpset16) {
    // A 4x4 ramp x[h][w] = w; one 2x2 ROI at (1,1)-(3,3) pooled to 1x1 with one sample at its centre: output_half_pixel
    // samples at x=2, half_pixel at x=1.5.
    std::vector<float> x(16);
    for (int i = 0; i < 16; ++i) x[static_cast<size_t>(i)] = static_cast<float>(i % 4);
    for (int64_t opset : {10, 16}) {
        ModelBuilder mb(opset);
        mb.input("x", DT::Float, {1, 1, 4, 4});
        mb.initializer("rois", DT::Float, {1, 4}, std::vector<float>{1, 1, 3, 3});
        mb.initializer("bi", DT::Int64, {1}, std::vector<int64_t>{0});
        mb.node("RoiAlign", {"x", "rois", "bi"}, {"y"}, {attr_int("sampling_ratio", 1)}).output("y");
        const auto y = run_float(*compile(mb), {x})[0];
        ASSERT_EQ(y.size(), 1u);
        EXPECT_FLOAT_EQ(y[0], opset >= 16 ? 1.5f : 2.0f) << "opset " << opset;
    }
}

}  // namespace
}  // namespace ezemu::testing
