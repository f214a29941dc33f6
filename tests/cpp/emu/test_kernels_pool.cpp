// MaxPool, AveragePool and GlobalAveragePool against a naive double reference (explicit pads, auto_pad, ceil_mode,
// count_include_pad, dilations), plus a few values taken from ONNX Runtime 1.2x for the ceil_mode edge rules.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "test_kernels_support.hpp"

namespace ezemu::testing {
namespace {

struct PoolCase {
    std::vector<int64_t> x;
    std::vector<int64_t> kernel, strides, dilations, pads;  // empty = attribute omitted
    bool ceil_mode = false;
    bool count_include_pad = false;
    std::string auto_pad;
};

std::vector<double> pool_naive(const PoolCase& c, bool max, const std::vector<float>& x, std::vector<int64_t>& y_shape) {
    const size_t r = c.kernel.size();
    std::vector<int64_t> in(c.x.begin() + 2, c.x.end()), out(r), pb(r, 0), pe(r, 0), s(r, 1), d(r, 1);
    for (size_t i = 0; i < r; ++i) {
        if (!c.strides.empty()) s[i] = c.strides[i];
        if (!c.dilations.empty()) d[i] = c.dilations[i];
        const int64_t ext = (c.kernel[i] - 1) * d[i] + 1;
        if (c.auto_pad == "SAME_UPPER" || c.auto_pad == "SAME_LOWER") {
            out[i] = (in[i] + s[i] - 1) / s[i];
            const int64_t total = std::max<int64_t>(0, (out[i] - 1) * s[i] + ext - in[i]);
            pb[i] = c.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
            pe[i] = total - pb[i];
        } else if (c.auto_pad == "VALID") {
            out[i] = (in[i] - ext) / s[i] + 1;
        } else {
            if (!c.pads.empty()) pb[i] = c.pads[i], pe[i] = c.pads[r + i];
            const int64_t span = in[i] + pb[i] + pe[i] - ext;
            out[i] = (c.ceil_mode ? (span + s[i] - 1) / s[i] : span / s[i]) + 1;
            if (c.ceil_mode && (out[i] - 1) * s[i] >= in[i] + pb[i]) --out[i];
        }
    }
    y_shape = {c.x[0], c.x[1]};
    y_shape.insert(y_shape.end(), out.begin(), out.end());
    const int64_t planes = c.x[0] * c.x[1], in_size = elements(in), out_size = elements(out);
    const int64_t k_size = elements(c.kernel);
    std::vector<double> y(static_cast<size_t>(planes * out_size));
    std::vector<int64_t> o(r), k(r);
    for (int64_t p = 0; p < planes; ++p)
        for (int64_t oi = 0; oi < out_size; ++oi) {
            for (size_t a = r, rem = static_cast<size_t>(oi); a-- > 0;) o[a] = static_cast<int64_t>(rem % out[a]), rem /= out[a];
            double acc = max ? -std::numeric_limits<double>::infinity() : 0.0;
            int64_t inside = 0, padded = 0;
            for (int64_t ki = 0; ki < k_size; ++ki) {
                for (size_t a = r, rem = static_cast<size_t>(ki); a-- > 0;) k[a] = static_cast<int64_t>(rem % c.kernel[a]), rem /= c.kernel[a];
                bool in_input = true, in_padded = true;
                int64_t off = 0;
                for (size_t a = 0; a < r; ++a) {
                    const int64_t pos = o[a] * s[a] - pb[a] + k[a] * d[a];
                    in_input = in_input && pos >= 0 && pos < in[a];
                    in_padded = in_padded && pos >= -pb[a] && pos < in[a] + pe[a];
                    off = off * in[a] + pos;
                }
                padded += in_padded;
                if (!in_input) continue;
                ++inside;
                const double v = x[static_cast<size_t>(p * in_size + off)];
                acc = max ? std::max(acc, v) : acc + v;
            }
            if (!max) acc /= static_cast<double>(c.count_include_pad ? padded : inside);
            y[static_cast<size_t>(p * out_size + oi)] = acc;
        }
    return y;
}

ModelBuilder pool_model(const std::string& op, const PoolCase& c, int64_t opset, DT dtype = DT::Float) {
    ModelBuilder mb(opset);
    mb.input("x", dtype, c.x);
    std::vector<onnx::Attribute> attrs{attr_ints("kernel_shape", c.kernel)};
    if (!c.strides.empty()) attrs.push_back(attr_ints("strides", c.strides));
    if (!c.dilations.empty()) attrs.push_back(attr_ints("dilations", c.dilations));
    if (!c.pads.empty()) attrs.push_back(attr_ints("pads", c.pads));
    if (!c.auto_pad.empty()) attrs.push_back(attr_string("auto_pad", c.auto_pad));
    if (c.ceil_mode) attrs.push_back(attr_int("ceil_mode", 1));
    if (op == "AveragePool") attrs.push_back(attr_int("count_include_pad", c.count_include_pad ? 1 : 0));
    mb.node(op, {"x"}, {"y"}, attrs, "pool").output("y");
    return mb;
}

const std::vector<PoolCase>& cases() {
    static const std::vector<PoolCase> all = {
        {{1, 2, 8, 8}, {2, 2}, {2, 2}, {}, {}, false, false, ""},
        {{2, 3, 7, 9}, {3, 3}, {2, 2}, {}, {1, 1, 1, 1}, false, true, ""},
        {{1, 2, 7, 9}, {3, 3}, {2, 2}, {}, {1, 1, 1, 1}, true, false, ""},
        {{1, 2, 5, 5}, {2, 2}, {2, 2}, {}, {}, true, true, ""},   // ceil_mode adds a partial window
        {{1, 1, 6, 7}, {3, 2}, {2, 3}, {}, {1, 0, 1, 1}, true, true, ""},
        {{1, 2, 9, 9}, {3, 3}, {1, 1}, {2, 2}, {2, 2, 2, 2}, false, false, ""},  // dilated
        {{1, 2, 9, 8}, {3, 3}, {2, 2}, {}, {}, false, false, "SAME_UPPER"},
        {{1, 2, 9, 8}, {3, 3}, {2, 2}, {}, {}, false, true, "SAME_LOWER"},
        {{1, 2, 9, 8}, {3, 2}, {2, 2}, {}, {}, false, false, "VALID"},
        {{2, 3, 13}, {4}, {3}, {}, {2, 2}, true, true, ""},  // 1-D
        {{1, 2, 5, 6, 7}, {2, 3, 2}, {2, 2, 2}, {}, {0, 1, 1, 1, 1, 0}, true, false, ""},  // 3-D
        {{1, 2, 9, 11}, {3, 2}, {2, 3}, {2, 2}, {}, false, false, ""},  // dilated, every window inside
        {{1, 2, 4, 5, 7}, {2, 2, 3}, {1, 2, 2}, {}, {}, false, false, ""},  // 3-D, every window inside
    };
    return all;
}

class PoolTest : public ::testing::TestWithParam<size_t> {};

TEST_P(PoolTest, MaxAndAverageMatchNaiveReference) {
    const PoolCase& c = cases()[GetParam()];
    const auto x = random_floats(static_cast<size_t>(elements(c.x)), 100 + static_cast<uint32_t>(GetParam()));
    for (bool max : {true, false}) {
        SCOPED_TRACE(max ? "MaxPool" : "AveragePool");
        std::vector<int64_t> y_shape;
        const std::vector<double> want = pool_naive(c, max, x, y_shape);
        auto m = compile(pool_model(max ? "MaxPool" : "AveragePool", c, 19));
        ASSERT_EQ(m->outputs()[0].shape, y_shape);
        EXPECT_TRUE(all_close(run_float(*m, {x})[0], want, 1e-5, 1e-5));
    }
    // MaxPool on int8 codes (opset 12+): exactly the reference's maxima.
    std::vector<int8_t> codes(x.size());
    std::vector<float> code_values(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
        codes[i] = static_cast<int8_t>(std::lround(x[i] * 127.0f));
        code_values[i] = codes[i];
    }
    std::vector<int64_t> y_shape;
    const std::vector<double> want = pool_naive(c, true, code_values, y_shape);
    auto m = compile(pool_model("MaxPool", c, 19, DT::Int8));
    const auto got = from_bytes<int8_t>(run_bytes(*m, {to_bytes(codes)})[0]);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(double(got[i]), want[i]) << "int8 MaxPool output " << i;
}

INSTANTIATE_TEST_SUITE_P(Shapes, PoolTest, ::testing::Range<size_t>(0, 13));

std::vector<float> one_to_25() {
    std::vector<float> x(25);
    for (size_t i = 0; i < 25; ++i) x[i] = static_cast<float>(i + 1);
    return x;
}

TEST(PoolKernel, MatchesOnnxRuntimeValues) {
    const auto x = one_to_25();
    PoolCase avg{{1, 1, 5, 5}, {3, 3}, {2, 2}, {}, {1, 1, 1, 1}, true, true, ""};
    EXPECT_TRUE(all_close(run_float(*compile(pool_model("AveragePool", avg, 11)), {x})[0],
                          std::vector<float>{1.7777778f, 3.6666667f, 3.1111112f, 7.6666665f, 13.0f, 9.666667f,
                                             8.444445f, 13.666667f, 9.777778f},
                          1e-5, 1e-5));
    avg.count_include_pad = false;
    EXPECT_TRUE(all_close(run_float(*compile(pool_model("AveragePool", avg, 11)), {x})[0],
                          std::vector<float>{4, 5.5f, 7, 11.5f, 13, 14.5f, 19, 20.5f, 22}));
    PoolCase max{{1, 1, 5, 5}, {2, 2}, {2, 2}, {}, {}, true, false, ""};
    EXPECT_TRUE(all_close(run_float(*compile(pool_model("MaxPool", max, 12)), {x})[0],
                          std::vector<float>{7, 9, 10, 17, 19, 20, 22, 24, 25}));
    PoolCase dilated{{1, 1, 5, 5}, {2, 2}, {1, 1}, {2, 2}, {}, false, false, ""};
    EXPECT_TRUE(all_close(run_float(*compile(pool_model("MaxPool", dilated, 12)), {x})[0],
                          std::vector<float>{13, 14, 15, 18, 19, 20, 23, 24, 25}));
}

TEST(PoolKernel, GlobalAveragePool) {
    for (const std::vector<int64_t>& shape : std::vector<std::vector<int64_t>>{{2, 3, 5, 4}, {1, 4, 7}, {1, 2, 2, 3, 4}}) {
        const auto x = random_floats(static_cast<size_t>(elements(shape)), 9);
        ModelBuilder mb(13);
        mb.input("x", DT::Float, shape).node("GlobalAveragePool", {"x"}, {"y"}).output("y");
        auto m = compile(mb);
        std::vector<int64_t> want_shape(shape.size(), 1);
        want_shape[0] = shape[0];
        want_shape[1] = shape[1];
        EXPECT_EQ(m->outputs()[0].shape, want_shape);
        const int64_t planes = shape[0] * shape[1], size = elements(shape) / planes;
        std::vector<double> want(static_cast<size_t>(planes), 0.0);
        for (int64_t p = 0; p < planes; ++p) {
            for (int64_t i = 0; i < size; ++i) want[static_cast<size_t>(p)] += x[static_cast<size_t>(p * size + i)];
            want[static_cast<size_t>(p)] /= static_cast<double>(size);
        }
        EXPECT_TRUE(all_close(run_float(*m, {x})[0], want, 1e-6, 1e-5));
    }
}

TEST(PoolKernel, RefusesMissingKernelShapeAndIndices) {
    ModelBuilder mb(13);
    mb.input("x", DT::Float, {1, 1, 4, 4}).node("MaxPool", {"x"}, {"y"}, {}, "mp").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"MaxPool node 'mp'", "'kernel_shape' is required"}));
    // The Indices output arrived with opset 8.
    ModelBuilder mb2(7);
    mb2.input("x", DT::Float, {1, 1, 4, 4})
        .node("MaxPool", {"x"}, {"y", "idx"}, {attr_ints("kernel_shape", {2, 2})}, "mp2")
        .output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(mb2); }, {"MaxPool node 'mp2'", "Indices", "opset 8"}));
    ModelBuilder mb3(13);
    mb3.input("x", DT::Float, {1, 1, 2, 2})
        .node("AveragePool", {"x"}, {"y"}, {attr_ints("kernel_shape", {3, 3})}, "ap")
        .output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(mb3); }, {"AveragePool node 'ap'", "exceeds"}));
}

}  // namespace
}  // namespace ezemu::testing
