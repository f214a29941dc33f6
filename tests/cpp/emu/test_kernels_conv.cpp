// Conv against a naive double-precision reference written here: 1-D, 2-D and 3-D, groups and depthwise, strides,
// dilations, explicit and automatic pads, with and without bias; the oneDNN path, the reference kernel and the
// fallback for run-time weights must all agree with it.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "kernels/nn/conv.hpp"
#include "test_kernels_support.hpp"

namespace ezemu::testing {
namespace {

struct ConvCase {
    std::vector<int64_t> x;  // N, C, spatial...
    int64_t m;
    std::vector<int64_t> kernel;
    int64_t group = 1;
    std::vector<int64_t> strides, dilations, pads;  // empty = attribute omitted
    std::string auto_pad;                           // empty = attribute omitted
    bool bias = true;
};

// Explicit begin/end pads and output dims as ONNX defines them.
void conv_geometry(const ConvCase& c, std::vector<int64_t>& pb, std::vector<int64_t>& pe, std::vector<int64_t>& out) {
    const size_t r = c.kernel.size();
    pb.assign(r, 0);
    pe.assign(r, 0);
    out.assign(r, 0);
    for (size_t i = 0; i < r; ++i) {
        const int64_t s = c.strides.empty() ? 1 : c.strides[i];
        const int64_t d = c.dilations.empty() ? 1 : c.dilations[i];
        const int64_t in = c.x[2 + i], ext = (c.kernel[i] - 1) * d + 1;
        if (c.auto_pad == "SAME_UPPER" || c.auto_pad == "SAME_LOWER") {
            out[i] = (in + s - 1) / s;
            const int64_t total = std::max<int64_t>(0, (out[i] - 1) * s + ext - in);
            pb[i] = c.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
            pe[i] = total - pb[i];
        } else if (c.auto_pad == "VALID") {
            out[i] = (in - ext) / s + 1;
        } else {
            if (!c.pads.empty()) pb[i] = c.pads[i], pe[i] = c.pads[r + i];
            out[i] = (in + pb[i] + pe[i] - ext) / s + 1;
        }
    }
}

std::vector<double> conv_naive(const ConvCase& c, const std::vector<float>& x, const std::vector<float>& w,
                               const std::vector<float>& b, std::vector<int64_t>& y_shape) {
    std::vector<int64_t> pb, pe, out;
    conv_geometry(c, pb, pe, out);
    const size_t r = c.kernel.size();
    const int64_t N = c.x[0], C = c.x[1], M = c.m, cg = C / c.group, mg = M / c.group;
    y_shape = {N, M};
    y_shape.insert(y_shape.end(), out.begin(), out.end());
    std::vector<int64_t> in_sp(c.x.begin() + 2, c.x.end());
    const int64_t in_size = elements(in_sp), out_size = elements(out), k_size = elements(c.kernel);
    std::vector<double> y(static_cast<size_t>(N * M * out_size));
    std::vector<int64_t> o(r), k(r);
    for (int64_t n = 0; n < N; ++n)
        for (int64_t m = 0; m < M; ++m)
            for (int64_t oi = 0; oi < out_size; ++oi) {
                for (size_t a = r, rem = static_cast<size_t>(oi); a-- > 0;) o[a] = static_cast<int64_t>(rem % out[a]), rem /= out[a];
                double acc = c.bias ? b[static_cast<size_t>(m)] : 0.0;
                for (int64_t ci = 0; ci < cg; ++ci)
                    for (int64_t ki = 0; ki < k_size; ++ki) {
                        int64_t rem = ki, x_off = 0;
                        bool inside = true;
                        for (size_t a = r; a-- > 0;) k[a] = rem % c.kernel[a], rem /= c.kernel[a];
                        for (size_t a = 0; a < r; ++a) {
                            const int64_t s = c.strides.empty() ? 1 : c.strides[a];
                            const int64_t d = c.dilations.empty() ? 1 : c.dilations[a];
                            const int64_t pos = o[a] * s - pb[a] + k[a] * d;
                            inside = inside && pos >= 0 && pos < in_sp[a];
                            x_off = x_off * in_sp[a] + pos;
                        }
                        if (!inside) continue;
                        const int64_t cin = (m / mg) * cg + ci;
                        acc += static_cast<double>(x[static_cast<size_t>((n * C + cin) * in_size + x_off)]) *
                               static_cast<double>(w[static_cast<size_t>((m * cg + ci) * k_size + ki)]);
                    }
                y[static_cast<size_t>((n * M + m) * out_size + oi)] = acc;
            }
    return y;
}

ModelBuilder conv_model(const ConvCase& c, bool weights_as_input, const std::vector<float>& w,
                        const std::vector<float>& b) {
    ModelBuilder mb(13);
    std::vector<int64_t> ws{c.m, c.x[1] / c.group};
    ws.insert(ws.end(), c.kernel.begin(), c.kernel.end());
    mb.input("x", DT::Float, c.x);
    if (weights_as_input) mb.input("w", DT::Float, ws);
    else mb.initializer("w", DT::Float, ws, w);
    if (c.bias) mb.initializer("b", DT::Float, {c.m}, b);
    std::vector<onnx::Attribute> attrs;
    if (c.group != 1) attrs.push_back(attr_int("group", c.group));
    if (!c.strides.empty()) attrs.push_back(attr_ints("strides", c.strides));
    if (!c.dilations.empty()) attrs.push_back(attr_ints("dilations", c.dilations));
    if (!c.pads.empty()) attrs.push_back(attr_ints("pads", c.pads));
    if (!c.auto_pad.empty()) attrs.push_back(attr_string("auto_pad", c.auto_pad));
    attrs.push_back(attr_ints("kernel_shape", c.kernel));
    std::vector<std::string> ins{"x", "w"};
    if (c.bias) ins.push_back("b");
    mb.node("Conv", ins, {"y"}, attrs, "conv");
    mb.output("y");
    return mb;
}

const std::vector<ConvCase>& cases() {
    static const std::vector<ConvCase> all = {
        {{1, 3, 8, 8}, 4, {3, 3}, 1, {}, {}, {1, 1, 1, 1}, "", true},
        {{2, 4, 9, 7}, 6, {3, 2}, 2, {2, 1}, {}, {1, 0, 2, 1}, "", true},     // groups, asymmetric pads
        {{1, 8, 10, 10}, 8, {3, 3}, 8, {1, 1}, {2, 2}, {2, 2, 2, 2}, "", true},  // depthwise, dilated
        {{1, 6, 11, 9}, 12, {3, 3}, 6, {2, 2}, {}, {}, "SAME_UPPER", false},  // depthwise multiplier 2
        {{1, 3, 10, 9}, 5, {4, 3}, 1, {3, 2}, {}, {}, "SAME_LOWER", true},
        {{1, 3, 10, 9}, 5, {4, 3}, 1, {3, 2}, {}, {}, "SAME_UPPER", true},
        {{1, 2, 9, 9}, 3, {3, 3}, 1, {2, 2}, {2, 1}, {}, "VALID", true},
        {{1, 16, 7, 7}, 32, {1, 1}, 1, {}, {}, {}, "", true},  // pointwise
        {{2, 3, 17}, 4, {5}, 1, {2}, {2}, {3, 1}, "", true},   // 1-D
        {{1, 4, 20}, 4, {3}, 4, {1}, {}, {}, "SAME_UPPER", false},  // 1-D depthwise
        {{1, 2, 5, 6, 7}, 3, {3, 2, 3}, 1, {1, 2, 1}, {1, 1, 2}, {1, 0, 1, 1, 1, 2}, "", true},  // 3-D
        {{1, 64, 14, 14}, 64, {3, 3}, 1, {1, 1}, {}, {1, 1, 1, 1}, "", true},
    };
    return all;
}

class ConvTest : public ::testing::TestWithParam<size_t> {};

TEST_P(ConvTest, MatchesNaiveReferenceOnEveryPath) {
    const ConvCase& c = cases()[GetParam()];
    std::vector<int64_t> ws{c.m, c.x[1] / c.group};
    ws.insert(ws.end(), c.kernel.begin(), c.kernel.end());
    const auto x = random_floats(static_cast<size_t>(elements(c.x)), 11 + static_cast<uint32_t>(GetParam()));
    const auto w = random_floats(static_cast<size_t>(elements(ws)), 23 + static_cast<uint32_t>(GetParam()));
    const auto b = random_floats(static_cast<size_t>(c.m), 37);
    std::vector<int64_t> y_shape;
    const std::vector<double> want = conv_naive(c, x, w, b, y_shape);

    for (int path = 0; path < 3; ++path) {
        SCOPED_TRACE(path == 0 ? "oneDNN" : path == 1 ? "reference kernel" : "run-time weights");
        auto m = compile(conv_model(c, path == 2, w, b), path == 1);
        ASSERT_EQ(m->outputs()[0].shape, y_shape);
        auto got = path == 2 ? run_float(*m, {x, w}) : run_float(*m, {x});
        EXPECT_TRUE(all_close(got[0], want, 1e-4, 1e-4));
    }
}

INSTANTIATE_TEST_SUITE_P(Shapes, ConvTest, ::testing::Range<size_t>(0, 12));

TEST(ConvKernel, OnednnAgreesWithReferenceKernelOnARealLayer) {
    // The representative layer of the speed comparison: 1x64x56x56, 64 filters 3x3, pad 1.
    ConvCase c{{1, 64, 56, 56}, 64, {3, 3}, 1, {}, {}, {1, 1, 1, 1}, "", true};
    std::vector<int64_t> ws{64, 64, 3, 3};
    const auto x = random_floats(static_cast<size_t>(elements(c.x)), 5);
    const auto w = random_floats(static_cast<size_t>(elements(ws)), 6, -0.1f, 0.1f);
    const auto b = random_floats(64, 7);
    auto fast = run_float(*compile(conv_model(c, false, w, b), false), {x});
    auto ref = run_float(*compile(conv_model(c, false, w, b), true), {x});
    EXPECT_TRUE(all_close(fast[0], ref[0], 1e-4, 1e-4));
}

// Conv -> Relu: the Relu is applied by the conv (oneDNN post-op or the reference kernel) and becomes a view, unless
// the conv's output has another reader.
TEST(ConvKernel, FusedReluMatchesUnfusedSemantics) {
    ConvCase c{{1, 4, 9, 9}, 6, {3, 3}, 2, {2, 2}, {}, {1, 1, 1, 1}, "", true};
    std::vector<int64_t> ws{6, 2, 3, 3};
    const auto x = random_floats(static_cast<size_t>(elements(c.x)), 90);
    const auto w = random_floats(static_cast<size_t>(elements(ws)), 91);
    const auto b = random_floats(6, 92);
    std::vector<int64_t> y_shape;
    const std::vector<double> conv = conv_naive(c, x, w, b, y_shape);
    std::vector<double> relu(conv.size()), sig(conv.size());
    for (size_t i = 0; i < conv.size(); ++i) {
        relu[i] = std::max(conv[i], 0.0);
        sig[i] = 1.0 / (1.0 + std::exp(-relu[i]));
    }
    for (bool reference : {false, true}) {
        SCOPED_TRACE(reference ? "reference kernel" : "oneDNN");
        // Fused: conv output read only by the Relu. The arena then holds one tensor (64-byte aligned), not two.
        ModelBuilder fused = conv_model(c, false, w, b);
        fused.model().graph.outputs.clear();
        fused.node("Relu", {"y"}, {"r"}).node("Sigmoid", {"r"}, {"s"}).output("s");
        auto m = compile(fused, reference);
        EXPECT_TRUE(all_close(run_float(*m, {x})[0], sig, 1e-5, 1e-4));
        const size_t tensor_bytes = static_cast<size_t>(elements(y_shape)) * sizeof(float);
        if (reference) {  // oneDNN adds its scratchpad
            EXPECT_EQ(m->internal_bytes(), (tensor_bytes + 63) / 64 * 64);
        }
        // The Relu's output as a graph output.
        ModelBuilder relu_out = conv_model(c, false, w, b);
        relu_out.model().graph.outputs.clear();
        relu_out.node("Relu", {"y"}, {"r"}).output("r");
        EXPECT_TRUE(all_close(run_float(*compile(relu_out, reference), {x})[0], relu, 1e-4, 1e-4));
        // Not fused: the pre-activation tensor is also a graph output and read by another node.
        ModelBuilder shared = conv_model(c, false, w, b);
        shared.node("Relu", {"y"}, {"r"}).node("Sigmoid", {"y"}, {"s"}).output("r");
        auto out = run_float(*compile(shared, reference), {x});
        EXPECT_TRUE(all_close(out[0], conv, 1e-4, 1e-4));
        EXPECT_TRUE(all_close(out[1], relu, 1e-4, 1e-4));
    }
}

// Conv -> Clip with constant bounds: oneDNN applies the Clip as a post-op and the Clip becomes a view. The result
// equals the unfused graph (the conv output also a graph output) bit for bit, and the reference kernel's within
// rounding; one-sided bounds and min > max (max everywhere; oneDNN refuses it, so the reference kernel runs)
// keep the ONNX semantics.
TEST(ConvKernel, FusedClipMatchesUnfusedSemantics) {
    ConvCase c{{1, 4, 9, 9}, 6, {3, 3}, 2, {2, 2}, {}, {1, 1, 1, 1}, "", true};
    std::vector<int64_t> ws{6, 2, 3, 3};
    const auto x = random_floats(static_cast<size_t>(elements(c.x)), 93);
    const auto w = random_floats(static_cast<size_t>(elements(ws)), 94);
    const auto b = random_floats(6, 95);
    struct Bounds {
        const char* lo;
        const char* hi;
    };
    for (Bounds bounds : {Bounds{"zero", "six"}, Bounds{"zero", ""}, Bounds{"", "zero"}, Bounds{"six", "zero"}}) {
        SCOPED_TRACE(std::string(bounds.lo) + " .. " + bounds.hi);
        // conv_output_too: the conv's output is also a graph output, so the Clip runs on its own.
        const auto clip_model = [&](bool conv_output_too) {
            ModelBuilder mb = conv_model(c, false, w, b);
            mb.model().graph.outputs.clear();
            mb.initializer("zero", DT::Float, {}, std::vector<float>{0.0f});
            mb.initializer("six", DT::Float, {}, std::vector<float>{0.25f});
            std::vector<std::string> ins{"y", bounds.lo};
            if (*bounds.hi) ins.push_back(bounds.hi);
            mb.node("Clip", ins, {"r"}).node("Sigmoid", {"r"}, {"s"}).output("s");
            if (conv_output_too) mb.output("y");
            return mb;
        };
        auto fused = compile(clip_model(false), false);
        auto unfused = compile(clip_model(true), false);
        auto reference = compile(clip_model(false), true);
        const auto got = run_float(*fused, {x});
        const auto want = run_float(*unfused, {x});
        ASSERT_EQ(got[0].size(), want[0].size());
        for (size_t i = 0; i < got[0].size(); ++i) ASSERT_EQ(got[0][i], want[0][i]) << "at " << i;
        EXPECT_TRUE(all_close(got[0], run_float(*reference, {x})[0], 1e-4, 1e-4));
    }
}

// Conv -> Clip -> depthwise Conv -> Relu -> Conv, and a branch of two Convs: the tensors between the convs stay
// channels-last (NHWC, no reorders), which must not change the result. A 1-D chain (no channels-last kernel) makes
// lowering fall back to NCHW everywhere.
TEST(ConvKernel, ChannelsLastChainsMatchTheReferenceKernel) {
    for (int rank : {2, 1}) {
        SCOPED_TRACE(rank == 2 ? "2-D" : "1-D");
        const std::vector<int64_t> one(static_cast<size_t>(rank), 1), three(static_cast<size_t>(rank), 3);
        const std::vector<int64_t> pads(static_cast<size_t>(2 * rank), 1);
        std::vector<int64_t> xs{1, 8}, w1{16, 8}, w2{16, 1}, w3{8, 16}, w4{4, 16};
        for (int d = 0; d < rank; ++d) {
            xs.push_back(10);
            w1.push_back(1);
            w2.push_back(3);
            w3.push_back(1);
            w4.push_back(3);
        }
        ModelBuilder mb(13);
        mb.input("x", DT::Float, xs);
        mb.initializer("w1", DT::Float, w1, random_floats(static_cast<size_t>(elements(w1)), 101));
        mb.initializer("w2", DT::Float, w2, random_floats(static_cast<size_t>(elements(w2)), 102));
        mb.initializer("w3", DT::Float, w3, random_floats(static_cast<size_t>(elements(w3)), 103));
        mb.initializer("w4", DT::Float, w4, random_floats(static_cast<size_t>(elements(w4)), 104));
        mb.initializer("b1", DT::Float, {16}, random_floats(16, 105));
        mb.initializer("lo", DT::Float, {}, std::vector<float>{0.0f});
        mb.initializer("hi", DT::Float, {}, std::vector<float>{0.5f});
        mb.node("Conv", {"x", "w1", "b1"}, {"c1"}, {attr_ints("kernel_shape", one)});
        mb.node("Clip", {"c1", "lo", "hi"}, {"r1"});
        mb.node("Conv", {"r1", "w2"}, {"c2"}, {attr_ints("kernel_shape", three), attr_ints("pads", pads),
                                              attr_int("group", 16)});
        mb.node("Relu", {"c2"}, {"r2"});
        mb.node("Conv", {"r2", "w3"}, {"y"}, {attr_ints("kernel_shape", one)});
        mb.node("Conv", {"r2", "w4"}, {"z"}, {attr_ints("kernel_shape", three)});
        mb.output("y").output("z");
        const auto x = random_floats(static_cast<size_t>(elements(xs)), 106);
        const auto fast = run_float(*compile(mb, false), {x});
        const auto ref = run_float(*compile(mb, true), {x});
        EXPECT_TRUE(all_close(fast[0], ref[0], 1e-4, 1e-4));
        EXPECT_TRUE(all_close(fast[1], ref[1], 1e-4, 1e-4));
    }
}

// Conv -> Mul(Constant node) -> Add -> x * Clip(x + 3, 0, 6) / 6 -> Clip -> Sub -> Add -> Relu: oneDNN applies the
// chain up to the second Clip as post-ops (the Mul and Add as one a * x + b; one op of each kind, so the Sub, a second
// Linear, ends it) and those nodes become views. It
// matches the unfused graph (the conv output also a graph output) and the reference kernel, whose nodes all run on
// their own. A dense 16-channel conv, so that oneDNN picks its brgemm implementation.
TEST(ConvKernel, FusedElementwiseChainMatchesUnfusedSemantics) {
    ConvCase c{{1, 16, 8, 8}, 16, {3, 3}, 1, {}, {}, {1, 1, 1, 1}, "", true};
    std::vector<int64_t> ws{16, 16, 3, 3};
    const auto x = random_floats(static_cast<size_t>(elements(c.x)), 96, -3.0f, 3.0f);
    const auto w = random_floats(static_cast<size_t>(elements(ws)), 97, -0.2f, 0.2f);
    const auto b = random_floats(16, 98);
    const auto chain_model = [&](bool conv_output_too) {
        ModelBuilder mb = conv_model(c, false, w, b);
        mb.model().graph.outputs.clear();
        const onnx::Tensor scale = make_tensor("scale", DT::Float, {}, std::vector<float>{1.7f});
        mb.node("Constant", {}, {"scale"}, {attr_tensor("value", scale)});
        mb.initializer("shift", DT::Float, {1}, std::vector<float>{-0.3f});
        mb.initializer("three", DT::Float, {}, std::vector<float>{3.0f});
        mb.initializer("zero", DT::Float, {}, std::vector<float>{0.0f});
        mb.initializer("six", DT::Float, {}, std::vector<float>{6.0f});
        mb.initializer("quarter", DT::Float, {}, std::vector<float>{0.25f});
        mb.initializer("two", DT::Float, {}, std::vector<float>{2.0f});
        mb.node("Mul", {"scale", "y"}, {"m"}).node("Add", {"m", "shift"}, {"a"});
        mb.node("Add", {"a", "three"}, {"a3"}).node("Clip", {"a3", "zero", "six"}, {"c6"});
        mb.node("Mul", {"a", "c6"}, {"hm"}).node("Div", {"hm", "six"}, {"hs"});
        mb.node("Clip", {"hs", "quarter", "two"}, {"k"}).node("Sub", {"k", "quarter"}, {"s"});
        mb.node("Add", {"s", "two"}, {"t"}).node("Relu", {"t"}, {"r"}).output("r");
        if (conv_output_too) mb.output("y");
        return mb;
    };
    const auto got = run_float(*compile(chain_model(false), false), {x});
    const auto unfused = run_float(*compile(chain_model(true), false), {x});
    const auto reference = run_float(*compile(chain_model(false), true), {x});
    // oneDNN's hardswish multiplies by 1/6 where the graph divides by 6, and a * x + b may round once: a rounding
    // apart.
    EXPECT_TRUE(all_close(got[0], unfused[0], 1e-6, 1e-5));
    EXPECT_TRUE(all_close(got[0], reference[0], 1e-4, 1e-4));
}

TEST(ConvKernel, ReferenceFunctionWithFusedRelu) {
    kernels::ConvGeometry g;
    g.batch = 1;
    g.in_channels = 1;
    g.out_channels = 1;
    g.window.in = {1, 1, 3};
    g.window.out = {1, 1, 3};
    g.window.kernel = {1, 1, 1};
    g.relu = true;
    const float x[3] = {-1.0f, 0.5f, 2.0f}, w[1] = {2.0f}, b[1] = {-0.5f};
    float y[3];
    kernels::conv_reference(g, x, w, b, y);
    EXPECT_FLOAT_EQ(y[0], 0.0f);
    EXPECT_FLOAT_EQ(y[1], 0.5f);
    EXPECT_FLOAT_EQ(y[2], 3.5f);
}

TEST(ConvKernel, RefusesMismatchedShapesNamingTheNode) {
    ModelBuilder mb(13);
    mb.input("x", DT::Float, {1, 3, 8, 8});
    mb.initializer("w", DT::Float, {4, 2, 3, 3}, std::vector<float>(72, 0.0f));
    mb.node("Conv", {"x", "w"}, {"y"}, {}, "bad_conv").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"Conv node 'bad_conv'", "group 1"}));

    ModelBuilder mb2(13);
    mb2.input("x", DT::Float, {1, 3, 8, 8});
    mb2.initializer("w", DT::Float, {4, 3, 3, 3}, std::vector<float>(108, 0.0f));
    mb2.node("Conv", {"x", "w"}, {"y"}, {attr_float("strides", 2.0f)}, "c2").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(mb2); }, {"Conv node 'c2'", "'strides'", "ints", "float"}));

    ModelBuilder mb3(13);
    mb3.input("x", DT::Float, {1, 3, 8, 8});
    mb3.initializer("w", DT::Float, {4, 3, 3, 3}, std::vector<float>(108, 0.0f));
    mb3.node("Conv", {"x", "w"}, {"y"}, {attr_ints("pads", {1, 1})}, "c3").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(mb3); }, {"Conv node 'c3'", "'pads'", "expected 4"}));
}

}  // namespace
}  // namespace ezemu::testing
