// The integer kernels (QLinearConv, QLinearMatMul, ConvInteger, MatMulInteger) and the requantization rule, checked
// bit-exactly against scalar references written here: a naive int32 convolution / matrix product and
// q = clamp(nearbyint(float(acc) * ((sx * sw) / sy)) + zy).
#include <algorithm>
#include <cfenv>
#include <string>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "kernels/quant/requantize.hpp"
#include "test_kernels_support.hpp"

namespace ezemu::testing {
namespace {

template <class Q>
Q reference_requantize(int32_t acc, float sx, float sw, float sy, int32_t zy) {
    const float mult = (sx * sw) / sy;
    const float v = std::nearbyint(static_cast<float>(acc) * mult);  // default rounding: half to even
    const double q = static_cast<double>(v) + zy;
    return static_cast<Q>(std::clamp(q, double(std::numeric_limits<Q>::min()), double(std::numeric_limits<Q>::max())));
}

TEST(Requantize, MatchesTheScalarRuleOnTiesExtremesAndRandomValues) {
    ASSERT_EQ(std::fegetround(), FE_TONEAREST);
    std::mt19937 rng(7);
    std::uniform_int_distribution<int32_t> acc_dist(-3000000, 3000000);
    std::uniform_real_distribution<float> scale_dist(1e-4f, 0.5f);
    std::vector<int32_t> accs{0, 1, -1, 3, -3, 5, -5, 255, -255, 1 << 24, (1 << 24) + 1, -(1 << 30),
                              std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min()};
    for (int i = 0; i < 20000; ++i) accs.push_back(acc_dist(rng));
    int compared = 0;
    for (int trial = 0; trial < 8; ++trial) {
        const float sx = trial == 0 ? 0.5f : scale_dist(rng), sw = trial == 0 ? 1.0f : scale_dist(rng);
        const float sy = trial == 0 ? 1.0f : scale_dist(rng) * 10;
        const float mult = kernels::quant::requant_multiplier(sx, sw, sy);
        for (int32_t zp : {0, -128, 127, 5})
            for (int32_t acc : accs) {
                ASSERT_EQ(kernels::quant::requantize<int8_t>(acc, mult, zp),
                          reference_requantize<int8_t>(acc, sx, sw, sy, zp))
                    << "acc " << acc << " sx " << sx << " sw " << sw << " sy " << sy << " zp " << zp;
                ASSERT_EQ(kernels::quant::requantize<uint8_t>(acc, mult, zp + 128),
                          reference_requantize<uint8_t>(acc, sx, sw, sy, zp + 128));
                ++compared;
            }
    }
    // Ties round to even: 0.5 * 1, 3, 5 -> 0, 2, 2.
    EXPECT_EQ(kernels::quant::requantize<int8_t>(1, 0.5f, 0), 0);
    EXPECT_EQ(kernels::quant::requantize<int8_t>(3, 0.5f, 0), 2);
    EXPECT_EQ(kernels::quant::requantize<int8_t>(5, 0.5f, 0), 2);
    EXPECT_EQ(kernels::quant::requantize<int8_t>(-3, 0.5f, 0), -2);
    EXPECT_GT(compared, 600000);
}

// A scale computed at run time can be NaN or infinite; the result saturates instead of converting NaN to an integer
// (undefined behaviour, found by the fuzzer).
TEST(Requantize, NanAndInfiniteMultipliersSaturate) {
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    EXPECT_EQ(kernels::quant::requantize<int8_t>(7, nan, 3), -128);
    EXPECT_EQ(kernels::quant::requantize<uint8_t>(7, nan, 3), 0);
    EXPECT_EQ(kernels::quant::requantize<int8_t>(7, inf, 0), 127);
    EXPECT_EQ(kernels::quant::requantize<int8_t>(-7, inf, 0), -128);
    EXPECT_EQ(kernels::quant::requantize<int8_t>(0, inf, 0), -128);  // 0 * inf is NaN
}

template <class T>
std::vector<T> random_ints(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> d(std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
    std::vector<T> v(n);
    for (auto& e : v) e = static_cast<T>(d(rng));
    return v;
}

struct ConvCase {
    int64_t n = 1, c = 4, h = 7, w = 6, m = 6, kh = 3, kw = 3, group = 2, stride = 2, pad = 1, dilation = 1;
    int64_t oh() const { return (h + 2 * pad - dilation * (kh - 1) - 1) / stride + 1; }
    int64_t ow() const { return (w + 2 * pad - dilation * (kw - 1) - 1) / stride + 1; }
};

// Naive int32 accumulators of a 2-D grouped conv with symmetric pads.
template <class X, class W>
std::vector<int32_t> reference_conv(const ConvCase& k, const std::vector<X>& x, int32_t xzp, const std::vector<W>& w,
                                    const std::vector<int32_t>& wzp, const std::vector<int32_t>& bias) {
    const int64_t cg = k.c / k.group, mg = k.m / k.group;
    std::vector<int32_t> y(static_cast<size_t>(k.n * k.m * k.oh() * k.ow()));
    for (int64_t n = 0; n < k.n; ++n)
        for (int64_t m = 0; m < k.m; ++m)
            for (int64_t oy = 0; oy < k.oh(); ++oy)
                for (int64_t ox = 0; ox < k.ow(); ++ox) {
                    int32_t acc = bias.empty() ? 0 : bias[size_t(m)];
                    const int64_t g = m / mg;
                    for (int64_t c = 0; c < cg; ++c)
                        for (int64_t ky = 0; ky < k.kh; ++ky)
                            for (int64_t kx = 0; kx < k.kw; ++kx) {
                                const int64_t iy = oy * k.stride - k.pad + ky * k.dilation;
                                const int64_t ix = ox * k.stride - k.pad + kx * k.dilation;
                                if (iy < 0 || iy >= k.h || ix < 0 || ix >= k.w) continue;
                                const int32_t xv = x[size_t(((n * k.c + g * cg + c) * k.h + iy) * k.w + ix)];
                                const int32_t wv = w[size_t(((m * cg + c) * k.kh + ky) * k.kw + kx)];
                                acc += (xv - xzp) * (wv - wzp[size_t(m)]);
                            }
                    y[size_t(((n * k.m + m) * k.oh() + oy) * k.ow() + ox)] = acc;
                }
    return y;
}

std::vector<onnx::Attribute> conv_attrs(const ConvCase& k) {
    return {attr_int("group", k.group), attr_ints("strides", {k.stride, k.stride}),
            attr_ints("pads", {k.pad, k.pad, k.pad, k.pad}), attr_ints("dilations", {k.dilation, k.dilation})};
}

TEST(QLinearConv, PerChannelInt8WeightsMatchTheReferenceBitExactly) {
    for (const ConvCase& k : {ConvCase{}, ConvCase{2, 3, 9, 9, 8, 3, 3, 1, 1, 1, 2}, ConvCase{1, 8, 5, 5, 8, 3, 3, 8, 1, 1, 1},
                              ConvCase{1, 16, 6, 5, 4, 1, 1, 1, 1, 0, 1}}) {
        const auto x = random_ints<uint8_t>(size_t(k.n * k.c * k.h * k.w), 1);
        const auto w = random_ints<int8_t>(size_t(k.m * (k.c / k.group) * k.kh * k.kw), 2);
        std::vector<float> ws(size_t(k.m));
        std::vector<int8_t> wz(size_t(k.m), 0);
        std::vector<int32_t> bias(size_t(k.m));
        for (int64_t m = 0; m < k.m; ++m) {
            ws[size_t(m)] = 0.001f * float(m + 3);
            bias[size_t(m)] = int32_t(m * 997 - 3000);
        }
        const float xs = 0.02f, ys = 0.05f;
        const uint8_t xz = 121, yz = 131;
        ModelBuilder mb(13);
        mb.input("x", DT::Uint8, {k.n, k.c, k.h, k.w});
        mb.initializer<float>("xs", DT::Float, {}, {xs}).initializer<uint8_t>("xz", DT::Uint8, {}, {xz});
        mb.initializer<int8_t>("w", DT::Int8, {k.m, k.c / k.group, k.kh, k.kw}, w);
        mb.initializer<float>("ws", DT::Float, {k.m}, ws).initializer<int8_t>("wz", DT::Int8, {k.m}, wz);
        mb.initializer<float>("ys", DT::Float, {}, {ys}).initializer<uint8_t>("yz", DT::Uint8, {}, {yz});
        mb.initializer<int32_t>("b", DT::Int32, {k.m}, bias);
        mb.node("QLinearConv", {"x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"}, {"y"}, conv_attrs(k)).output("y");
        auto model = compile(mb);
        const auto got = from_bytes<uint8_t>(run_bytes(*model, {to_bytes<uint8_t>(x)})[0]);
        const auto acc = reference_conv(k, x, xz, w, std::vector<int32_t>(size_t(k.m), 0), bias);
        ASSERT_EQ(got.size(), acc.size());
        const int64_t plane = k.oh() * k.ow();
        int saturated = 0;
        for (size_t i = 0; i < acc.size(); ++i) {
            const int64_t m = int64_t(i) / plane % k.m;
            const uint8_t want = reference_requantize<uint8_t>(acc[i], xs, ws[size_t(m)], ys, yz);
            ASSERT_EQ(got[i], want) << "element " << i;
            saturated += want == 0 || want == 255;
        }
        EXPECT_LT(saturated, int(acc.size()));  // the case exercises the unsaturated range
    }
}

TEST(ConvInteger, Uint8WeightsWithZeroPointsGiveTheInt32Accumulators) {
    const ConvCase k{1, 4, 6, 7, 4, 3, 2, 2, 1, 1, 1};
    const auto x = random_ints<int8_t>(size_t(k.n * k.c * k.h * k.w), 3);
    const auto w = random_ints<uint8_t>(size_t(k.m * (k.c / k.group) * k.kh * k.kw), 4);
    const std::vector<uint8_t> wz{128, 100, 3, 250};
    ModelBuilder mb(13);
    mb.input("x", DT::Int8, {k.n, k.c, k.h, k.w}).initializer<int8_t>("xz", DT::Int8, {}, {-7});
    mb.initializer<uint8_t>("w", DT::Uint8, {k.m, k.c / k.group, k.kh, k.kw}, w);
    mb.initializer<uint8_t>("wz", DT::Uint8, {k.m}, wz);
    mb.node("ConvInteger", {"x", "w", "xz", "wz"}, {"y"}, conv_attrs(k)).output("y");
    auto model = compile(mb);
    EXPECT_EQ(model->outputs()[0].dtype, DT::Int32);
    const auto got = from_bytes<int32_t>(run_bytes(*model, {to_bytes<int8_t>(x)})[0]);
    EXPECT_EQ(got, reference_conv(k, x, -7, w, std::vector<int32_t>(wz.begin(), wz.end()), {}));
}

// Naive batched a(B?,M,K) x b(K,N) or (B,K,N) accumulators.
template <class A, class B>
std::vector<int32_t> reference_matmul(int64_t batch, bool b_batched, int64_t M, int64_t K, int64_t N,
                                      const std::vector<A>& a, int32_t azp, const std::vector<B>& b,
                                      const std::vector<int32_t>& bzp) {
    std::vector<int32_t> y(size_t(batch * M * N));
    for (int64_t t = 0; t < batch; ++t)
        for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; ++j) {
                int32_t acc = 0;
                for (int64_t k = 0; k < K; ++k)
                    acc += (int32_t(a[size_t((t * M + i) * K + k)]) - azp) *
                           (int32_t(b[size_t(((b_batched ? t : 0) * K + k) * N + j)]) - bzp[size_t(j)]);
                y[size_t((t * M + i) * N + j)] = acc;
            }
    return y;
}

TEST(QLinearMatMul, PerColumnScalesAndBroadcastBatchMatchTheReference) {
    const int64_t B = 3, M = 5, K = 37, N = 9;
    const auto a = random_ints<int8_t>(size_t(B * M * K), 5);
    const auto b = random_ints<int8_t>(size_t(K * N), 6);
    std::vector<float> bs(static_cast<size_t>(N));
    for (int64_t j = 0; j < N; ++j) bs[size_t(j)] = 0.003f + 0.0007f * float(j);
    const float as = 0.03f, ys = 0.9f;
    ModelBuilder mb(13);
    mb.input("a", DT::Int8, {B, M, K}).initializer<float>("as", DT::Float, {}, {as});
    mb.initializer<int8_t>("az", DT::Int8, {}, {3}).initializer<int8_t>("b", DT::Int8, {K, N}, b);
    mb.initializer<float>("bs", DT::Float, {N}, bs).initializer<int8_t>("bz", DT::Int8, {N}, std::vector<int8_t>(size_t(N), 0));
    mb.initializer<float>("ys", DT::Float, {}, {ys}).initializer<int8_t>("yz", DT::Int8, {}, {-10});
    mb.node("QLinearMatMul", {"a", "as", "az", "b", "bs", "bz", "ys", "yz"}, {"y"}).output("y");
    auto model = compile(mb);
    const auto got = from_bytes<int8_t>(run_bytes(*model, {to_bytes<int8_t>(a)})[0]);
    const auto acc = reference_matmul(B, false, M, K, N, a, 3, b, std::vector<int32_t>(size_t(N), 0));
    ASSERT_EQ(got.size(), acc.size());
    for (size_t i = 0; i < acc.size(); ++i)
        ASSERT_EQ(got[i], reference_requantize<int8_t>(acc[i], as, bs[i % size_t(N)], ys, -10)) << i;
}

TEST(MatMulInteger, BatchedRunTimeOperandsGiveTheInt32Accumulators) {
    const int64_t B = 2, M = 4, K = 19, N = 7;
    const auto a = random_ints<uint8_t>(size_t(B * M * K), 8);
    const auto b = random_ints<uint8_t>(size_t(B * K * N), 9);
    ModelBuilder mb(13);
    mb.input("a", DT::Uint8, {B, M, K}).input("b", DT::Uint8, {B, K, N});
    mb.initializer<uint8_t>("az", DT::Uint8, {}, {128}).initializer<uint8_t>("bz", DT::Uint8, {}, {77});
    mb.node("MatMulInteger", {"a", "b", "az", "bz"}, {"y"}).output("y");
    auto model = compile(mb);
    const auto got = from_bytes<int32_t>(run_bytes(*model, {to_bytes<uint8_t>(a), to_bytes<uint8_t>(b)})[0]);
    EXPECT_EQ(got, reference_matmul(B, true, M, K, N, a, 128, b, std::vector<int32_t>(size_t(N), 77)));
}

// DequantizeLinear -> MatMul -> QuantizeLinear runs as one QLinearMatMul (int32 accumulation, one requantization);
// the same model with the weights' DequantizeLinear on a run-time input keeps the float path.
TEST(QdqFusion, MatMulBetweenQdqNodesRunsOnTheIntegerKernel) {
    const int64_t M = 3, K = 21, N = 4;
    const auto a = random_ints<uint8_t>(static_cast<size_t>(M * K), 10);
    const auto b = random_ints<int8_t>(static_cast<size_t>(K * N), 11);
    const float as = 0.04f, bs = 0.02f, ys = 0.3f;
    ModelBuilder mb(13);
    mb.input("a", DT::Uint8, {M, K}).initializer<float>("as", DT::Float, {}, {as});
    mb.initializer<uint8_t>("az", DT::Uint8, {}, {128}).initializer<int8_t>("b", DT::Int8, {K, N}, b);
    mb.initializer<float>("bs", DT::Float, {}, {bs}).initializer<int8_t>("bz", DT::Int8, {}, {0});
    mb.initializer<float>("ys", DT::Float, {}, {ys}).initializer<uint8_t>("yz", DT::Uint8, {}, {127});
    mb.node("DequantizeLinear", {"a", "as", "az"}, {"ad"}).node("DequantizeLinear", {"b", "bs", "bz"}, {"bd"});
    mb.node("MatMul", {"ad", "bd"}, {"m"}, {}, "mm").node("QuantizeLinear", {"m", "ys", "yz"}, {"y"}).output("y");
    auto model = compile(mb);
    const std::vector<std::string> labels = model->step_labels();
    EXPECT_NE(std::find(labels.begin(), labels.end(), "QLinearMatMul node 'mm'"), labels.end());
    for (const std::string& l : labels) EXPECT_EQ(l.find("QuantizeLinear"), std::string::npos) << l;
    const auto got = from_bytes<uint8_t>(run_bytes(*model, {to_bytes<uint8_t>(a)})[0]);
    const auto acc = reference_matmul(1, false, M, K, N, a, 128, b, std::vector<int32_t>(static_cast<size_t>(N), 0));
    for (size_t i = 0; i < acc.size(); ++i) ASSERT_EQ(got[i], reference_requantize<uint8_t>(acc[i], as, bs, ys, 127));
}

TEST(QuantizedModelChecks, ZeroScaleZeroPointDtypeAndAxisAreRefusedNamingTheNode) {
    {
        ModelBuilder mb(13);
        mb.input("x", DT::Float, {4}).initializer<float>("s", DT::Float, {}, {0.0f});
        mb.initializer<int8_t>("z", DT::Int8, {}, {0});
        mb.node("QuantizeLinear", {"x", "s", "z"}, {"y"}, {}, "q0").output("y");
        EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"QuantizeLinear node 'q0'", "positive and finite"}));
    }
    {
        ModelBuilder mb(13);
        mb.input("x", DT::Int8, {2, 3}).initializer<float>("s", DT::Float, {3}, {0.1f, -0.2f, 0.3f});
        mb.node("DequantizeLinear", {"x", "s"}, {"y"}, {}, "dq").output("y");
        EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"DequantizeLinear node 'dq'", "index 1"}));
    }
    {
        ModelBuilder mb(13);
        mb.input("x", DT::Int8, {2, 3}).initializer<float>("s", DT::Float, {3}, {0.1f, 0.2f, 0.3f});
        mb.node("DequantizeLinear", {"x", "s"}, {"y"}, {attr_int("axis", 2)}, "dq_axis").output("y");
        EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"DequantizeLinear node 'dq_axis'", "axis"}));
    }
    {
        ModelBuilder mb(13);
        mb.input("a", DT::Uint8, {2, 2}).initializer<float>("s", DT::Float, {}, {0.1f});
        mb.initializer<int8_t>("z", DT::Int8, {}, {0}).initializer<uint8_t>("uz", DT::Uint8, {}, {0});
        mb.initializer<int8_t>("b", DT::Int8, {2, 2}, {1, 2, 3, 4});
        mb.node("QLinearMatMul", {"a", "s", "z", "b", "s", "z", "s", "z"}, {"y"}, {}, "qmm").output("y");
        EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"QLinearMatMul node 'qmm'", "a zero point", "int8"}));
    }
    {
        ModelBuilder mb(13);
        mb.input("a", DT::Uint8, {2, 2}).initializer<float>("s", DT::Float, {}, {0.1f});
        mb.initializer<float>("s0", DT::Float, {}, {0.0f}).initializer<uint8_t>("uz", DT::Uint8, {}, {0});
        mb.initializer<int8_t>("z", DT::Int8, {}, {0}).initializer<int8_t>("b", DT::Int8, {2, 2}, {1, 2, 3, 4});
        mb.node("QLinearMatMul", {"a", "s", "uz", "b", "s", "z", "s0", "uz"}, {"y"}, {}, "qmm0").output("y");
        EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"QLinearMatMul node 'qmm0'", "y scale"}));
    }
}

}  // namespace
}  // namespace ezemu::testing
