// int8 activations kept channels-last between fused integer steps (graph/channels_last_plan.hpp): which steps take
// it, and that the results stay bit for bit those of the exact kernels on NCHW tensors.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "graph/lowered_graph.hpp"
#include "kernels/quant/int8_backend.hpp"
#include "kernels/quant/requantize.hpp"
#include "test_kernels_support.hpp"

namespace ezemu::testing {
namespace {

// Adds DequantizeLinear(in) -> Conv (per-channel int8 weights, int32 bias) -> QuantizeLinear -> `out` to `mb`.
// Every quantized activation shares the scale "s" and zero point "z".
void add_qdq_conv(ModelBuilder& mb, const std::string& in, const std::string& out, int64_t c_in, int64_t c_out,
                  int64_t kernel, int64_t group, uint32_t seed) {
    const std::vector<int64_t> dims{c_out, c_in / group, kernel, kernel};
    std::vector<int8_t> w;
    for (float v : random_floats(static_cast<size_t>(elements(dims)), seed))
        w.push_back(static_cast<int8_t>(std::lround(v * 127.0f)));
    std::vector<float> ws;
    for (float v : random_floats(static_cast<size_t>(c_out), seed + 1, 0.002f, 0.01f)) ws.push_back(v);
    std::vector<int32_t> bias;
    for (float v : random_floats(static_cast<size_t>(c_out), seed + 2)) bias.push_back(static_cast<int32_t>(v * 3000));
    mb.initializer<int8_t>(out + "_w", DT::Int8, dims, w);
    mb.initializer<float>(out + "_ws", DT::Float, {c_out}, ws);
    mb.initializer<int8_t>(out + "_wz", DT::Int8, {c_out}, std::vector<int8_t>(static_cast<size_t>(c_out), 0));
    mb.initializer<int32_t>(out + "_b", DT::Int32, {c_out}, bias);
    std::vector<float> bs;
    for (float s : ws) bs.push_back(0.05f * s);
    mb.initializer<float>(out + "_bs", DT::Float, {c_out}, bs);
    mb.initializer<int32_t>(out + "_bz", DT::Int32, {c_out}, std::vector<int32_t>(static_cast<size_t>(c_out), 0));
    mb.node("DequantizeLinear", {in, "s", "z"}, {in + "_dq_" + out});
    mb.node("DequantizeLinear", {out + "_w", out + "_ws", out + "_wz"}, {out + "_wd"}, {attr_int("axis", 0)});
    mb.node("DequantizeLinear", {out + "_b", out + "_bs", out + "_bz"}, {out + "_bd"}, {attr_int("axis", 0)});
    const int64_t pad = kernel / 2;
    mb.node("Conv", {in + "_dq_" + out, out + "_wd", out + "_bd"}, {out + "_f"},
            {attr_ints("kernel_shape", {kernel, kernel}), attr_ints("pads", {pad, pad, pad, pad}),
             attr_int("group", group)},
            out);
    mb.node("QuantizeLinear", {out + "_f", "s", "z"}, {out});
}

// Q(x) -> convA 3x3 -> [convB 1x1 -> convC depthwise 3x3 -> convD 1x1] + convA (QDQ Add) -> convE 1x1 -> DQ -> y,
// and a second output: convC's tensor through a QDQ Add with the quantized graph input (NCHW), so convC's output
// must stay NCHW while convC still reads and convD still writes channels-last.
ModelBuilder residual_chain(int64_t h = 9, int64_t w = 11) {
    ModelBuilder mb(13);
    mb.input("x", DT::Float, {1, 16, h, w});
    mb.initializer<float>("s", DT::Float, {}, {0.05f}).initializer<int8_t>("z", DT::Int8, {}, {-3});
    mb.node("QuantizeLinear", {"x", "s", "z"}, {"xq"});
    add_qdq_conv(mb, "xq", "a", 16, 8, 3, 1, 11);
    add_qdq_conv(mb, "a", "b", 8, 16, 1, 1, 21);
    add_qdq_conv(mb, "b", "c", 16, 16, 3, 16, 31);
    add_qdq_conv(mb, "c", "d", 16, 8, 1, 1, 41);
    mb.node("DequantizeLinear", {"d", "s", "z"}, {"d_dq"}).node("DequantizeLinear", {"a", "s", "z"}, {"a_dq"});
    mb.node("Add", {"d_dq", "a_dq"}, {"sum_f"}, {}, "residual").node("QuantizeLinear", {"sum_f", "s", "z"}, {"sum"});
    add_qdq_conv(mb, "sum", "e", 8, 4, 1, 1, 51);
    mb.node("DequantizeLinear", {"e", "s", "z"}, {"y"}).output("y");
    mb.node("DequantizeLinear", {"xq", "s", "z"}, {"x_dq"}).node("DequantizeLinear", {"c", "s", "z"}, {"c_dq2"});
    mb.node("Add", {"x_dq", "c_dq2"}, {"t_f"}, {}, "with_input").node("QuantizeLinear", {"t_f", "s", "z"}, {"t"});
    mb.node("DequantizeLinear", {"t", "s", "z"}, {"y2"}).output("y2");
    return mb;
}

TEST(QdqFusion, IntegerStepsStayChannelsLastWhereOnednnComputesThem) {
    const ModelBuilder mb = residual_chain();
    const graph::LoweredGraph g = graph::lower_graph(*mb.build(), kernels::BuildOptions{1, false});
    std::vector<std::string> channels_last, dequantize;
    for (const graph::Value& v : g.values)
        if (v.channels_last) channels_last.push_back(v.name);
    for (const graph::Step& s : g.steps)
        if (s.label.rfind("DequantizeLinear", 0) == 0) dequantize.push_back(s.label);
    std::sort(channels_last.begin(), channels_last.end());
    // Only the DequantizeLinear nodes of the graph outputs run; the others' readers were fused.
    EXPECT_EQ(dequantize.size(), 2u) << ::testing::PrintToString(dequantize);
    if (kernels::quant::int8_backend() != kernels::quant::Int8Backend::OnednnVnni) {
        // The exact kernels read NCHW only: nothing is planned channels-last.
        EXPECT_TRUE(channels_last.empty()) << ::testing::PrintToString(channels_last);
        return;
    }
    // 'c' feeds 'with_input', whose other input is the NCHW graph input, so both stay NCHW; the graph outputs too.
    EXPECT_EQ(channels_last, (std::vector<std::string>{"a", "b", "d", "sum"}));
}

TEST(QdqFusion, ChannelsLastIntegerChainMatchesTheExactKernels) {
    // 48 x 50: outputs large enough that the requantization splits its rows over 2 threads; 64 x 72 on one thread:
    // convB (1x1, 16 channels, 4608 positions) runs as slabs of 2048 positions and a last one of 512.
    for (auto [h, w, threads] :
         {std::tuple{9, 11, 1}, std::tuple{9, 11, 2}, std::tuple{48, 50, 2}, std::tuple{64, 72, 1}}) {
        SCOPED_TRACE(std::to_string(h) + "x" + std::to_string(w) + ", threads " + std::to_string(threads));
        const ModelBuilder mb = residual_chain(h, w);
        const auto x = random_floats(static_cast<size_t>(16 * h * w), 61, -4.0f, 4.0f);
        const auto fast = run_float(*compile(mb, false, threads), {x});
        const auto exact = run_float(*compile(mb, true, threads), {x});
        ASSERT_EQ(fast.size(), 2u);
        EXPECT_EQ(fast[0], exact[0]);
        EXPECT_EQ(fast[1], exact[1]);
        // Not a degenerate case: the outputs take many levels.
        std::vector<float> levels = fast[0];
        std::sort(levels.begin(), levels.end());
        EXPECT_GT(std::unique(levels.begin(), levels.end()) - levels.begin(), 20);
    }
}

// Q(x) -> convA 1x1 -> QDQ HardSwish (a QLinearLookup) -> convB depthwise 3x3 -> DQ -> y: the lookup is elementwise,
// so a and the activated h both stay channels-last between the convs, with the exact kernels' bits.
TEST(QdqFusion, LookupBetweenConvsStaysChannelsLast) {
    ModelBuilder mb(14);
    mb.input("x", DT::Float, {1, 16, 7, 10});
    mb.initializer<float>("s", DT::Float, {}, {0.05f}).initializer<int8_t>("z", DT::Int8, {}, {-3});
    mb.node("QuantizeLinear", {"x", "s", "z"}, {"xq"});
    add_qdq_conv(mb, "xq", "a", 16, 16, 1, 1, 81);
    mb.node("DequantizeLinear", {"a", "s", "z"}, {"a_dq"}).node("HardSwish", {"a_dq"}, {"h_f"}, {}, "hswish");
    mb.node("QuantizeLinear", {"h_f", "s", "z"}, {"h"});
    add_qdq_conv(mb, "h", "b", 16, 16, 3, 16, 91);
    mb.node("DequantizeLinear", {"b", "s", "z"}, {"y"}).output("y");
    const graph::LoweredGraph g = graph::lower_graph(*mb.build(), kernels::BuildOptions{1, false});
    std::vector<std::string> channels_last;
    for (const graph::Value& v : g.values)
        if (v.channels_last) channels_last.push_back(v.name);
    std::sort(channels_last.begin(), channels_last.end());
    if (kernels::quant::int8_backend() == kernels::quant::Int8Backend::OnednnVnni)
        EXPECT_EQ(channels_last, (std::vector<std::string>{"a", "h"}));
    else
        EXPECT_TRUE(channels_last.empty()) << ::testing::PrintToString(channels_last);
    const auto x = random_floats(16 * 7 * 10, 83, -4.0f, 4.0f);
    const auto fast = run_float(*compile(mb), {x});
    const auto exact = run_float(*compile(mb, true), {x});
    EXPECT_EQ(fast[0], exact[0]);
    std::vector<float> levels = fast[0];
    std::sort(levels.begin(), levels.end());
    EXPECT_GT(std::unique(levels.begin(), levels.end()) - levels.begin(), 20);
}

// QLinearAdd without broadcasting (the vectorized path, 16 lanes and a tail) against AddRule element by element.
template <class Q>
void check_qlinear_add(DT dtype) {
    const std::vector<int64_t> dims{1, 3, 5, 7};  // 105 elements: six vectors and a tail of 9
    std::vector<Q> a, b;
    const auto fa = random_floats(105, 71, -128.0f, 256.0f), fb = random_floats(105, 72, -128.0f, 256.0f);
    const auto to_q = [](float v) {
        constexpr float lo = std::numeric_limits<Q>::min(), hi = std::numeric_limits<Q>::max();
        return static_cast<Q>(std::clamp(v, lo, hi));
    };
    for (size_t i = 0; i < fa.size(); ++i) {
        a.push_back(to_q(fa[i]));
        b.push_back(to_q(fb[i]));
    }
    const float sa = 0.0107f, sb = 0.0063f, sy = 0.013f;
    const Q za = 3, zb = 9, zy = 5;
    ModelBuilder mb(13);
    mb.input("a", dtype, dims).input("b", dtype, dims);
    mb.initializer<float>("sa", DT::Float, {}, {sa}).initializer<Q>("za", dtype, {}, {za});
    mb.initializer<float>("sb", DT::Float, {}, {sb}).initializer<Q>("zb", dtype, {}, {zb});
    mb.initializer<float>("sy", DT::Float, {}, {sy}).initializer<Q>("zy", dtype, {}, {zy});
    mb.node("QLinearAdd", {"a", "sa", "za", "b", "sb", "zb", "sy", "zy"}, {"y"}, {}, "add").output("y");
    const auto got = from_bytes<Q>(run_bytes(*compile(mb), {to_bytes(a), to_bytes(b)})[0]);
    const kernels::quant::AddRule rule(sa, za, sb, zb, sy, zy);
    ASSERT_EQ(got.size(), a.size());
    for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(got[i], rule.apply<Q>(a[i], b[i])) << i;
}

TEST(QdqFusion, QLinearAddWithoutBroadcastingFollowsTheAddRule) {
    check_qlinear_add<int8_t>(DT::Int8);
    check_qlinear_add<uint8_t>(DT::Uint8);
}

}  // namespace
}  // namespace ezemu::testing
