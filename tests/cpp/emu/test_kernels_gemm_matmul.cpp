// Gemm (transA/transB, alpha/beta, every C broadcast, constant and run-time B and C) and MatMul (1-D operands,
// N-D batches with broadcasting) against a naive double reference, on the oneDNN and the reference paths.
#include <string>
#include <vector>

#include "kernels/math/gemm_matmul.hpp"
#include "test_kernels_support.hpp"

namespace ezemu::testing {
namespace {

struct GemmCase {
    int64_t m, k, n;
    bool trans_a, trans_b;
    float alpha, beta;
    std::vector<int64_t> c_shape;  // {{-1}} = no C
    bool b_constant, c_constant;
};

std::vector<double> gemm_naive(const GemmCase& g, const std::vector<float>& a, const std::vector<float>& b,
                               const std::vector<float>& c) {
    std::vector<double> y(static_cast<size_t>(g.m * g.n));
    const bool has_c = !(g.c_shape.size() == 1 && g.c_shape[0] == -1);
    const int64_t cm = g.c_shape.size() == 2 ? g.c_shape[0] : 1;
    const int64_t cn = has_c && !g.c_shape.empty() ? g.c_shape.back() : 1;
    for (int64_t i = 0; i < g.m; ++i)
        for (int64_t j = 0; j < g.n; ++j) {
            double acc = 0.0;
            for (int64_t p = 0; p < g.k; ++p) {
                const double av = g.trans_a ? a[static_cast<size_t>(p * g.m + i)] : a[static_cast<size_t>(i * g.k + p)];
                const double bv = g.trans_b ? b[static_cast<size_t>(j * g.k + p)] : b[static_cast<size_t>(p * g.n + j)];
                acc += av * bv;
            }
            double cv = 0.0;
            if (has_c) cv = c[static_cast<size_t>((cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j))];
            y[static_cast<size_t>(i * g.n + j)] = g.alpha * acc + g.beta * cv;
        }
    return y;
}

class GemmTest : public ::testing::TestWithParam<size_t> {};

const std::vector<GemmCase>& gemm_cases() {
    static const std::vector<GemmCase> all = {
        {5, 7, 3, false, false, 1.0f, 1.0f, {3}, true, true},
        {5, 7, 3, true, false, 0.5f, 2.0f, {5, 3}, true, true},
        {5, 7, 3, false, true, 1.5f, -1.0f, {5, 1}, true, true},
        {5, 7, 3, true, true, 1.0f, 0.25f, {1, 3}, true, true},
        {4, 6, 8, false, true, 2.0f, 1.0f, {}, true, true},  // scalar C
        {4, 6, 8, false, false, 1.0f, 1.0f, {-1}, true, true},
        {4, 6, 8, false, true, 0.5f, 1.0f, {8}, false, true},   // run-time B with alpha
        {4, 6, 8, true, false, 1.0f, 0.5f, {4, 8}, true, false},  // run-time C
        {4, 6, 8, false, false, 3.0f, 2.0f, {1, 1}, false, false},
        {64, 128, 96, false, true, 1.0f, 1.0f, {96}, true, true},  // a classifier layer
    };
    return all;
}

TEST_P(GemmTest, MatchesNaiveReference) {
    const GemmCase& g = gemm_cases()[GetParam()];
    const bool has_c = !(g.c_shape.size() == 1 && g.c_shape[0] == -1);
    const std::vector<int64_t> a_shape = g.trans_a ? std::vector<int64_t>{g.k, g.m} : std::vector<int64_t>{g.m, g.k};
    const std::vector<int64_t> b_shape = g.trans_b ? std::vector<int64_t>{g.n, g.k} : std::vector<int64_t>{g.k, g.n};
    const uint32_t seed = 300 + static_cast<uint32_t>(GetParam());
    const auto a = random_floats(static_cast<size_t>(g.m * g.k), seed);
    const auto b = random_floats(static_cast<size_t>(g.k * g.n), seed + 1);
    const auto c = has_c ? random_floats(static_cast<size_t>(elements(g.c_shape)), seed + 2) : std::vector<float>{};
    const std::vector<double> want = gemm_naive(g, a, b, c);
    for (bool reference : {false, true}) {
        SCOPED_TRACE(reference ? "reference kernel" : "oneDNN");
        ModelBuilder mb(13);
        std::vector<std::vector<float>> inputs{a};
        mb.input("a", DT::Float, a_shape);
        if (g.b_constant) mb.initializer("b", DT::Float, b_shape, b);
        else mb.input("b", DT::Float, b_shape), inputs.push_back(b);
        std::vector<std::string> ins{"a", "b"};
        if (has_c) {
            if (g.c_constant) mb.initializer("c", DT::Float, g.c_shape, c);
            else mb.input("c", DT::Float, g.c_shape), inputs.push_back(c);
            ins.push_back("c");
        }
        mb.node("Gemm", ins, {"y"},
                {attr_int("transA", g.trans_a), attr_int("transB", g.trans_b), attr_float("alpha", g.alpha),
                 attr_float("beta", g.beta)})
            .output("y");
        auto m = compile(mb, reference);
        ASSERT_EQ(m->outputs()[0].shape, (std::vector<int64_t>{g.m, g.n}));
        EXPECT_TRUE(all_close(run_float(*m, inputs)[0], want, 1e-4, 1e-4));
    }
}

INSTANTIATE_TEST_SUITE_P(Shapes, GemmTest, ::testing::Range<size_t>(0, 10));

struct MatMulCase {
    std::vector<int64_t> a, b, y;
    bool b_constant;
};

std::vector<double> matmul_naive(const MatMulCase& c, const std::vector<float>& a, const std::vector<float>& b) {
    std::vector<int64_t> as = c.a, bs = c.b;
    if (as.size() == 1) as.insert(as.begin(), 1);
    if (bs.size() == 1) bs.push_back(1);
    const size_t r = std::max(as.size(), bs.size());
    while (as.size() < r) as.insert(as.begin(), 1);
    while (bs.size() < r) bs.insert(bs.begin(), 1);
    const int64_t M = as[r - 2], K = as[r - 1], N = bs[r - 1];
    std::vector<int64_t> batch(r - 2);
    for (size_t d = 0; d + 2 < r; ++d) batch[d] = std::max(as[d], bs[d]);
    const int64_t nb = elements(batch);
    std::vector<double> y(static_cast<size_t>(nb * M * N));
    for (int64_t bi = 0; bi < nb; ++bi) {
        int64_t rem = bi, ao = 0, bo = 0, astr = 1, bstr = 1;
        for (size_t d = batch.size(); d-- > 0;) {
            const int64_t i = rem % batch[d];
            rem /= batch[d];
            ao += (as[d] == 1 ? 0 : i) * astr;
            bo += (bs[d] == 1 ? 0 : i) * bstr;
            astr *= as[d];
            bstr *= bs[d];
        }
        for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; ++j) {
                double acc = 0;
                for (int64_t p = 0; p < K; ++p)
                    acc += static_cast<double>(a[static_cast<size_t>(ao * M * K + i * K + p)]) *
                           b[static_cast<size_t>(bo * K * N + p * N + j)];
                y[static_cast<size_t>(bi * M * N + i * N + j)] = acc;
            }
    }
    return y;
}

class MatMulTest : public ::testing::TestWithParam<size_t> {};

const std::vector<MatMulCase>& matmul_cases() {
    static const std::vector<MatMulCase> all = {
        {{3, 4}, {4, 5}, {3, 5}, true},
        {{3, 4}, {4, 5}, {3, 5}, false},
        {{4}, {4, 5}, {5}, true},                         // 1-D A
        {{3, 4}, {4}, {3}, false},                        // 1-D B
        {{4}, {4}, {}, false},                            // dot product
        {{2, 3, 4}, {4, 5}, {2, 3, 5}, true},             // shared weights: batch folds into M
        {{2, 3, 4}, {2, 4, 5}, {2, 3, 5}, false},         // attention-style batched product
        {{2, 1, 3, 4}, {1, 5, 4, 2}, {2, 5, 3, 2}, false},  // both broadcast
        {{3, 4}, {6, 4, 2}, {6, 3, 2}, true},             // A broadcast over B's batch
        {{5}, {2, 3, 5, 4}, {2, 3, 4}, false},            // 1-D A against a batch
        {{2, 3, 3, 4}, {4}, {2, 3, 3}, true},             // batch against 1-D B
    };
    return all;
}

TEST_P(MatMulTest, MatchesNaiveReference) {
    const MatMulCase& c = matmul_cases()[GetParam()];
    const uint32_t seed = 500 + static_cast<uint32_t>(GetParam());
    const auto a = random_floats(static_cast<size_t>(elements(c.a)), seed);
    const auto b = random_floats(static_cast<size_t>(elements(c.b)), seed + 1);
    const std::vector<double> want = matmul_naive(c, a, b);
    for (bool reference : {false, true}) {
        SCOPED_TRACE(reference ? "reference kernel" : "oneDNN");
        ModelBuilder mb(13);
        mb.input("a", DT::Float, c.a);
        std::vector<std::vector<float>> inputs{a};
        if (c.b_constant) mb.initializer("b", DT::Float, c.b, b);
        else mb.input("b", DT::Float, c.b), inputs.push_back(b);
        mb.node("MatMul", {"a", "b"}, {"y"}).output("y");
        auto m = compile(mb, reference);
        ASSERT_EQ(m->outputs()[0].shape, c.y);
        EXPECT_TRUE(all_close(run_float(*m, inputs)[0], want, 1e-5, 1e-4));
    }
}

INSTANTIATE_TEST_SUITE_P(Shapes, MatMulTest, ::testing::Range<size_t>(0, 11));

TEST(MatMulKernel, OnednnAgreesWithReferenceFunction) {
    kernels::MatMulGeometry g;
    g.m = 33;
    g.k = 70;
    g.n = 45;
    g.batch = {3};
    g.a_batch = {3};
    g.b_batch = {3};
    const auto a = random_floats(3 * 33 * 70, 1), b = random_floats(3 * 70 * 45, 2);
    std::vector<float> ref(3 * 33 * 45);
    kernels::matmul_reference(g, a.data(), b.data(), ref.data());
    ModelBuilder mb(13);
    mb.input("a", DT::Float, {3, 33, 70}).input("b", DT::Float, {3, 70, 45}).node("MatMul", {"a", "b"}, {"y"}).output("y");
    EXPECT_TRUE(all_close(run_float(*compile(mb), {a, b})[0], ref, 1e-4, 1e-4));
}

TEST(MatMulKernel, RefusesMismatchedShapes) {
    ModelBuilder mb(13);
    mb.input("a", DT::Float, {3, 4}).input("b", DT::Float, {5, 2}).node("MatMul", {"a", "b"}, {"y"}, {}, "mm").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"MatMul node 'mm'", "inner dims"}));
    ModelBuilder mb2(13);
    mb2.input("a", DT::Float, {2, 3, 4}).input("b", DT::Float, {3, 4, 2}).node("MatMul", {"a", "b"}, {"y"}, {}, "mm2").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(mb2); }, {"MatMul node 'mm2'", "do not broadcast"}));
    ModelBuilder mb3(13);
    mb3.input("a", DT::Float, {2, 3}).input("b", DT::Float, {3, 4}).input("c", DT::Float, {3, 4});
    mb3.node("Gemm", {"a", "b", "c"}, {"y"}, {}, "g").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(mb3); }, {"Gemm node 'g'", "does not broadcast"}));
}

}  // namespace
}  // namespace ezemu::testing
