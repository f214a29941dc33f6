// QGemm, QLinearGlobalAveragePool and QLinearAveragePool (the QDQ fusion's targets for Gemm and the average pools),
// checked bit-exactly against scalar references written here from onnxruntime's rules as measured:
//   QGemm:      clamp(nearbyint(float(c + sum (a - za)(b - zb)) * (((alpha * sa) * sb) / sy)) + zy), or without y's
//               scale and zero point float(c + sum) * ((alpha * sa) * sb)
//   global:     clamp(nearbyint(float(sum x - n * zx) * (sx / (sy * n))) + zy)
//   average:    clamp(nearbyint(mean / sy + zy)), mean = (float sum of float(x - zx) * sx in window order) / count
#include <algorithm>
#include <cfenv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/quant/requantize.hpp"
#include "test_kernels_support.hpp"

namespace ezemu::testing {
namespace {

template <class Q>
Q clamp_to(double v) {
    return static_cast<Q>(std::clamp(v, double(std::numeric_limits<Q>::min()), double(std::numeric_limits<Q>::max())));
}

template <class T>
std::vector<T> random_codes(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> d(std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
    std::vector<T> v(n);
    for (auto& e : v) e = static_cast<T>(d(rng));
    return v;
}

template <class T>
DT dtype_of() {
    return std::is_same_v<T, int8_t> ? DT::Int8 : DT::Uint8;
}

TEST(Requantize, QuantizeMeanAddsTheZeroPointBeforeRounding) {
    ASSERT_EQ(std::fegetround(), FE_TONEAREST);
    // 1.5 + 1 = 2.5 rounds to 2, where rounding first would give round(1.5) + 1 = 3.
    EXPECT_EQ(kernels::quant::quantize_mean<int8_t>(1.5f, 1.0f, 1.0f), 2);
    EXPECT_EQ(kernels::quant::quantize_mean<int8_t>(2.5f, 1.0f, 0.0f), 2);
    EXPECT_EQ(kernels::quant::quantize_mean<uint8_t>(-0.5f, 1.0f, 3.0f), 2);
    EXPECT_EQ(kernels::quant::quantize_mean<uint8_t>(-9.0f, 1.0f, 3.0f), 0);
    EXPECT_EQ(kernels::quant::quantize_mean<int8_t>(1000.0f, 1.0f, 0.0f), 127);
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> mean(-3.0f, 3.0f), scale(0.001f, 0.05f);
    for (int i = 0; i < 100000; ++i) {
        const float m = mean(rng), s = scale(rng), z = float(int(rng() % 256) - 128);
        const float v = m / s + z;
        ASSERT_EQ(kernels::quant::quantize_mean<int8_t>(m, s, z), clamp_to<int8_t>(std::nearbyint(v))) << m << " " << s;
    }
}

struct GemmCase {
    int64_t m = 7, k = 45, n = 11;
    bool trans_a = false, trans_b = false, per_column = false, bias = false, float_output = false;
    float alpha = 1.0f;
};

template <class A, class B>
void check_qgemm(const GemmCase& g, uint32_t seed) {
    const auto a = random_codes<A>(size_t(g.m * g.k), seed);
    const auto b = random_codes<B>(size_t(g.k * g.n), seed + 1);
    const size_t cols = g.per_column ? size_t(g.n) : 1;
    std::vector<float> bs(cols);
    std::vector<B> bz(cols);
    for (size_t j = 0; j < cols; ++j) {
        bs[j] = 0.002f + 0.0007f * float(j);
        bz[j] = std::is_same_v<B, int8_t> ? B(0) : B(100 + 9 * j);
    }
    std::vector<int32_t> c(size_t(g.n));
    for (size_t j = 0; j < c.size(); ++j) c[j] = int32_t(j * 977) - 4000;
    const float as = 0.031f, ys = 0.21f;
    const A az = std::is_same_v<A, int8_t> ? A(-7) : A(131);
    const A yz = std::is_same_v<A, int8_t> ? A(4) : A(120);
    ModelBuilder mb(13);
    mb.input("a", dtype_of<A>(), g.trans_a ? std::vector<int64_t>{g.k, g.m} : std::vector<int64_t>{g.m, g.k});
    mb.initializer<float>("as", DT::Float, {}, {as}).template initializer<A>("az", dtype_of<A>(), {}, {az});
    mb.initializer<B>("b", dtype_of<B>(), g.trans_b ? std::vector<int64_t>{g.n, g.k} : std::vector<int64_t>{g.k, g.n}, b);
    const std::vector<int64_t> qdims = g.per_column ? std::vector<int64_t>{g.n} : std::vector<int64_t>{};
    mb.initializer<float>("bs", DT::Float, qdims, bs).template initializer<B>("bz", dtype_of<B>(), qdims, bz);
    mb.initializer<float>("ys", DT::Float, {}, {ys}).template initializer<A>("yz", dtype_of<A>(), {}, {yz});
    std::vector<std::string> inputs{"a", "as", "az", "b", "bs", "bz", "ys", "yz"};
    if (g.float_output) inputs[6] = inputs[7] = "";
    if (g.bias) {
        mb.initializer<int32_t>("c", DT::Int32, {g.n}, c);
        inputs.push_back("c");
    }
    mb.node("QGemm", inputs, {"y"},
            {attr_int("transA", g.trans_a), attr_int("transB", g.trans_b), attr_float("alpha", g.alpha)}, "qg")
        .output("y");
    auto model = compile(mb);
    const auto out = run_bytes(*model, {to_bytes<A>(a)})[0];
    const auto got = from_bytes<A>(out);
    const auto got_float = from_bytes<float>(out);
    ASSERT_EQ(out.size(), size_t(g.m * g.n) * (g.float_output ? sizeof(float) : sizeof(A)));
    for (int64_t i = 0; i < g.m; ++i)
        for (int64_t j = 0; j < g.n; ++j) {
            const size_t q = g.per_column ? size_t(j) : 0;
            int32_t acc = g.bias ? c[size_t(j)] : 0;
            for (int64_t k = 0; k < g.k; ++k) {
                const int32_t av = g.trans_a ? a[size_t(k * g.m + i)] : a[size_t(i * g.k + k)];
                const int32_t bv = g.trans_b ? b[size_t(j * g.k + k)] : b[size_t(k * g.n + j)];
                acc += (av - int32_t(az)) * (bv - int32_t(bz[q]));
            }
            const float alpha_as = g.alpha * as;
            if (g.float_output) {  // no y scale: the product of the scales only
                const float scale = alpha_as * bs[q];
                ASSERT_EQ(got_float[size_t(i * g.n + j)], float(acc) * scale) << "i " << i << " j " << j;
                continue;
            }
            const float mult = (alpha_as * bs[q]) / ys;
            const A want = clamp_to<A>(double(std::nearbyint(float(acc) * mult)) + int32_t(yz));
            ASSERT_EQ(got[size_t(i * g.n + j)], want) << "i " << i << " j " << j << " acc " << acc;
        }
}

TEST(QGemm, TransposesPerColumnScalesAlphaBiasAndFloatOutputMatchTheReference) {
    uint32_t seed = 20;
    for (bool ta : {false, true})
        for (bool tb : {false, true})
            for (bool pc : {false, true})
                for (int variant = 0; variant < 5; ++variant) {
                    GemmCase g;
                    g.trans_a = ta, g.trans_b = tb, g.per_column = pc;
                    g.bias = variant == 1 || variant == 3;
                    g.alpha = variant == 2 || variant == 4 ? 0.37f : 1.0f;
                    g.float_output = variant >= 3;
                    SCOPED_TRACE("transA " + std::to_string(ta) + " transB " + std::to_string(tb) + " per column " +
                                 std::to_string(pc) + " variant " + std::to_string(variant));
                    check_qgemm<int8_t, int8_t>(g, seed++);
                    check_qgemm<uint8_t, uint8_t>(g, seed++);
                    check_qgemm<uint8_t, int8_t>(g, seed++);
                }
}

// Every product of two int8 codes (K = 1) with scales for which ((alpha * sa) * sb) / sy and alpha * ((sa * sb) / sy)
// differ on 24 outputs.
TEST(QGemm, AlphaScalesTheInputScaleFirst) {
    std::vector<int8_t> codes(256);
    for (int i = 0; i < 256; ++i) codes[size_t(i)] = int8_t(i - 128);
    const float alpha = 2.753984212875366f, as = 0.030446821823716164f, bs = 0.018465526401996613f;
    const float ys = 0.07665233314037323f;
    ModelBuilder mb(13);
    mb.input("a", DT::Int8, {256, 1}).initializer<float>("as", DT::Float, {}, {as});
    mb.initializer<int8_t>("z", DT::Int8, {}, {0}).initializer<int8_t>("b", DT::Int8, {1, 256}, codes);
    mb.initializer<float>("bs", DT::Float, {}, {bs}).initializer<float>("ys", DT::Float, {}, {ys});
    mb.node("QGemm", {"a", "as", "z", "b", "bs", "z", "ys", "z"}, {"y"}, {attr_float("alpha", alpha)}, "qg").output("y");
    auto model = compile(mb);
    const auto got = from_bytes<int8_t>(run_bytes(*model, {to_bytes<int8_t>(codes)})[0]);
    const float alpha_as = alpha * as;
    const float mult = (alpha_as * bs) / ys;
    for (int i = 0; i < 256; ++i)
        for (int j = 0; j < 256; ++j) {
            const int32_t acc = (i - 128) * (j - 128);
            ASSERT_EQ(got[size_t(i * 256 + j)], clamp_to<int8_t>(std::nearbyint(float(acc) * mult))) << acc;
        }
}

template <class Q>
void check_global_pool(int64_t h, int64_t w, const std::vector<Q>& x, float xs, Q xz, float ys, Q yz) {
    const int64_t planes = int64_t(x.size()) / (h * w);
    ModelBuilder mb(13);
    mb.input("x", dtype_of<Q>(), {1, planes, h, w}).template initializer<float>("xs", DT::Float, {}, {xs});
    mb.initializer<Q>("xz", dtype_of<Q>(), {}, {xz}).template initializer<float>("ys", DT::Float, {}, {ys});
    mb.initializer<Q>("yz", dtype_of<Q>(), {}, {yz});
    mb.node("QLinearGlobalAveragePool", {"x", "xs", "xz", "ys", "yz"}, {"y"}, {}, "gap").output("y");
    auto model = compile(mb);
    const auto got = from_bytes<Q>(run_bytes(*model, {to_bytes<Q>(x)})[0]);
    ASSERT_EQ(got.size(), size_t(planes));
    const int64_t n = h * w;
    for (int64_t p = 0; p < planes; ++p) {
        int64_t sum = 0;
        for (int64_t i = 0; i < n; ++i) sum += x[size_t(p * n + i)];
        sum -= n * int64_t(xz);
        const float mult = xs / (ys * float(n));
        ASSERT_EQ(got[size_t(p)], clamp_to<Q>(double(std::nearbyint(float(sum) * mult)) + yz)) << p << " n " << n;
    }
}

TEST(QLinearGlobalAveragePool, ExtremeAndRandomPlanesMatchTheReference) {
    for (auto [h, w] : {std::pair<int64_t, int64_t>{7, 7}, {20, 20}, {1, 1}, {3, 13}}) {
        const size_t n = size_t(16 * h * w);
        check_global_pool<int8_t>(h, w, std::vector<int8_t>(n, 127), 0.02f, -128, 0.01f, 0);
        check_global_pool<int8_t>(h, w, std::vector<int8_t>(n, -128), 0.02f, 127, 0.01f, 0);
        check_global_pool<uint8_t>(h, w, std::vector<uint8_t>(n, 255), 0.013f, 0, 0.004f, 3);
        check_global_pool<uint8_t>(h, w, std::vector<uint8_t>(n, 0), 0.013f, 255, 0.004f, 250);
        check_global_pool<int8_t>(h, w, random_codes<int8_t>(n, 5), 0.017f, 3, 0.017f / 3, -2);  // exact ties
        check_global_pool<uint8_t>(h, w, random_codes<uint8_t>(n, 6), 0.011f, 131, 0.023f, 125);
    }
}

// Every sum a plane of 7 x 7 uint8 codes can have, with scales for which x_scale / (y_scale * n) and
// (x_scale / y_scale) / n round one output differently.
TEST(QLinearGlobalAveragePool, EveryPlaneSumMatchesTheReference) {
    const int64_t n = 49, planes = 255 * n + 1;
    std::vector<uint8_t> x(size_t(planes * n), 0);
    for (int64_t s = 0; s < planes; ++s)
        for (int64_t i = 0, left = s; i < n && left > 0; ++i, left -= 255)
            x[size_t(s * n + i)] = uint8_t(std::min<int64_t>(left, 255));
    check_global_pool<uint8_t>(1, n, x, 0.04236150160431862f, 0, 0.0032794775906950235f, 3);
}

struct PoolCase {
    int64_t h = 11, w = 13, kh = 3, kw = 3, sh = 2, sw = 2;
    int64_t pt = 1, pl = 1, pb = 1, pr = 1;
    bool count_include_pad = false, ceil_mode = false;
    int64_t out(int64_t in, int64_t k, int64_t s, int64_t p0, int64_t p1) const {
        const int64_t span = in + p0 + p1 - k;
        int64_t o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
        if (ceil_mode && (o - 1) * s >= in + p0) --o;  // the last window must start inside the input or its pad
        return o;
    }
};

template <class Q>
void check_average_pool(const PoolCase& k, uint32_t seed, float xs, Q xz, float ys, Q yz) {
    const int64_t C = 5, OH = k.out(k.h, k.kh, k.sh, k.pt, k.pb), OW = k.out(k.w, k.kw, k.sw, k.pl, k.pr);
    const auto x = random_codes<Q>(size_t(C * k.h * k.w), seed);
    ModelBuilder mb(13);
    mb.input("x", dtype_of<Q>(), {1, C, k.h, k.w}).template initializer<float>("xs", DT::Float, {}, {xs});
    mb.initializer<Q>("xz", dtype_of<Q>(), {}, {xz}).template initializer<float>("ys", DT::Float, {}, {ys});
    mb.initializer<Q>("yz", dtype_of<Q>(), {}, {yz});
    mb.node("QLinearAveragePool", {"x", "xs", "xz", "ys", "yz"}, {"y"},
            {attr_ints("kernel_shape", {k.kh, k.kw}), attr_ints("strides", {k.sh, k.sw}),
             attr_ints("pads", {k.pt, k.pl, k.pb, k.pr}), attr_int("count_include_pad", k.count_include_pad),
             attr_int("ceil_mode", k.ceil_mode)},
            "avg")
        .output("y");
    auto model = compile(mb);
    const auto got = from_bytes<Q>(run_bytes(*model, {to_bytes<Q>(x)})[0]);
    ASSERT_EQ(got.size(), size_t(C * OH * OW));
    for (int64_t c = 0; c < C; ++c)
        for (int64_t oh = 0; oh < OH; ++oh)
            for (int64_t ow = 0; ow < OW; ++ow) {
                const int64_t h0 = oh * k.sh - k.pt, w0 = ow * k.sw - k.pl;
                const int64_t h1 = std::min(h0 + k.kh, k.h + k.pb), w1 = std::min(w0 + k.kw, k.w + k.pr);
                const int64_t hs = std::max<int64_t>(h0, 0), ws = std::max<int64_t>(w0, 0);
                const int64_t he = std::min(h1, k.h), we = std::min(w1, k.w);
                float sum = 0.0f;
                for (int64_t ih = hs; ih < he; ++ih)
                    for (int64_t iw = ws; iw < we; ++iw)
                        sum += float(int32_t(x[size_t((c * k.h + ih) * k.w + iw)]) - int32_t(xz)) * xs;
                const int64_t count = k.count_include_pad ? (h1 - h0) * (w1 - w0) : (he - hs) * (we - ws);
                const float mean = sum / float(count);
                const float v = mean / ys + float(yz);
                ASSERT_EQ(got[size_t((c * OH + oh) * OW + ow)], clamp_to<Q>(std::nearbyint(v)))
                    << "c " << c << " oh " << oh << " ow " << ow;
            }
}

TEST(QLinearAveragePool, PadsStridesCeilModeAndCountIncludePadMatchTheReference) {
    std::vector<PoolCase> cases(6);
    cases[1].count_include_pad = true;
    cases[2].ceil_mode = true;
    cases[3].count_include_pad = true, cases[3].ceil_mode = true;
    cases[4].kh = 2, cases[4].kw = 2, cases[4].pt = cases[4].pl = cases[4].pb = cases[4].pr = 0;
    cases[5].kh = 5, cases[5].kw = 2, cases[5].sh = 1, cases[5].pt = 2, cases[5].pb = 0, cases[5].pl = 0;
    cases[5].count_include_pad = true, cases[5].ceil_mode = true;
    uint32_t seed = 40;
    for (const PoolCase& k : cases) {
        SCOPED_TRACE("case " + std::to_string(seed - 40));
        check_average_pool<int8_t>(k, seed++, 0.013f, 5, 0.021f, -3);
        check_average_pool<uint8_t>(k, seed++, 0.0071f, 140, 0.0093f, 118);
    }
}

// The patterns around Gemm and the pools run on these kernels: no QuantizeLinear is left.
TEST(QdqFusion, GemmAndAveragePoolsBetweenQdqNodesRunOnIntegerKernels) {
    ModelBuilder mb(13);
    mb.input("x", DT::Int8, {1, 4, 6, 6}).template initializer<float>("s", DT::Float, {}, {0.02f});
    mb.initializer<int8_t>("z", DT::Int8, {}, {0}).template initializer<float>("ws", DT::Float, {}, {0.01f});
    mb.initializer<int8_t>("w", DT::Int8, {3, 4}, random_codes<int8_t>(12, 1));
    mb.initializer<int32_t>("c", DT::Int32, {3}, {5, -7, 100}).template initializer<int32_t>("cz", DT::Int32, {}, {0});
    mb.initializer<float>("cs", DT::Float, {}, {0.0002f}).template initializer<int64_t>("shape", DT::Int64, {2}, {1, 4});
    mb.node("DequantizeLinear", {"x", "s", "z"}, {"xd"});
    mb.node("AveragePool", {"xd"}, {"p"}, {attr_ints("kernel_shape", {2, 2}), attr_ints("strides", {2, 2})}, "avg");
    mb.node("QuantizeLinear", {"p", "s", "z"}, {"pq"}).node("DequantizeLinear", {"pq", "s", "z"}, {"pd"});
    mb.node("GlobalAveragePool", {"pd"}, {"g"}, {}, "gap");
    mb.node("QuantizeLinear", {"g", "s", "z"}, {"gq"}).node("Reshape", {"gq", "shape"}, {"r"});
    mb.node("DequantizeLinear", {"r", "s", "z"}, {"rd"});
    mb.node("DequantizeLinear", {"w", "ws", "z"}, {"wd"}).node("DequantizeLinear", {"c", "cs", "cz"}, {"cd"});
    mb.node("Gemm", {"rd", "wd", "cd"}, {"m"}, {attr_int("transB", 1)}, "fc");
    mb.node("QuantizeLinear", {"m", "s", "z"}, {"y"}).output("y");
    auto model = compile(mb);
    const std::vector<std::string> labels = model->step_labels();
    for (const char* want : {"QLinearAveragePool node 'avg'", "QLinearGlobalAveragePool node 'gap'", "QGemm node 'fc'"})
        EXPECT_NE(std::find(labels.begin(), labels.end(), want), labels.end()) << want;
    for (const std::string& l : labels) EXPECT_EQ(l.find("QuantizeLinear node"), std::string::npos) << l;
}

TEST(QuantizedModelChecks, QGemmAndPoolOperandsAreRefusedNamingTheNode) {
    const auto base = [](ModelBuilder& mb, std::vector<int64_t> c_dims, float ys) {
        mb.input("a", DT::Int8, {2, 3}).template initializer<float>("s", DT::Float, {}, {0.1f});
        mb.initializer<float>("ys", DT::Float, {}, {ys}).template initializer<int8_t>("z", DT::Int8, {}, {0});
        mb.initializer<int8_t>("b", DT::Int8, {3, 4}, random_codes<int8_t>(12, 2));
        int64_t n = 1;
        for (int64_t d : c_dims) n *= d;
        mb.initializer<int32_t>("c", DT::Int32, c_dims, std::vector<int32_t>(size_t(n), 1));
    };
    {
        ModelBuilder mb(13);
        base(mb, {5}, 0.2f);
        mb.node("QGemm", {"a", "s", "z", "b", "s", "z", "ys", "z", "c"}, {"y"}, {}, "qg").output("y");
        EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"QGemm node 'qg'", "bias C [5]", "[4]"}));
    }
    {
        ModelBuilder mb(13);
        base(mb, {4}, 0.0f);
        mb.node("QGemm", {"a", "s", "z", "b", "s", "z", "ys", "z", "c"}, {"y"}, {}, "qg0").output("y");
        EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"QGemm node 'qg0'", "y scale", "positive and finite"}));
    }
    {
        ModelBuilder mb(13);
        base(mb, {4}, 0.2f);
        mb.node("QGemm", {"a", "s", "z", "b", "s", "z", "ys", "z", "c"}, {"y"}, {attr_float("alpha", 2.0f)}, "qga")
            .output("y");
        EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"QGemm node 'qga'", "alpha = beta = 1"}));
    }
    {
        ModelBuilder mb(13);
        base(mb, {4}, 0.2f);
        mb.node("QGemm", {"a", "s", "z", "b", "s", "z", "ys", "z"}, {"y"}, {attr_int("transB", 1)}, "qgt")
            .output("y");
        EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"QGemm node 'qgt'", "inner dimension"}));
    }
    {
        ModelBuilder mb(13);
        mb.input("x", DT::Int8, {1, 2, 3, 3}).template initializer<float>("s", DT::Float, {}, {0.1f});
        mb.initializer<uint8_t>("uz", DT::Uint8, {}, {0}).template initializer<int8_t>("z", DT::Int8, {}, {0});
        mb.node("QLinearGlobalAveragePool", {"x", "s", "z", "s", "uz"}, {"y"}, {}, "gp").output("y");
        EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"QLinearGlobalAveragePool node 'gp'", "uint8"}));
    }
    {
        ModelBuilder mb(13);
        mb.input("x", DT::Int8, {1, 2, 5, 5}).initializer<float>("s", DT::Float, {}, {0.1f});
        mb.initializer<int8_t>("z", DT::Int8, {}, {0});
        mb.node("QLinearAveragePool", {"x", "s", "z", "s", "z"}, {"y"},
                {attr_ints("kernel_shape", {2, 2}), attr_ints("dilations", {2, 2})}, "ap")
            .output("y");
        EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"QLinearAveragePool node 'ap'", "dilations"}));
    }
}

}  // namespace
}  // namespace ezemu::testing
