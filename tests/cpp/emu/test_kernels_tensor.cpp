// Reshape (0, -1, allowzero, the pre-opset-5 attribute), Flatten, Concat, Transpose, Constant and Identity.
#include <numeric>
#include <string>
#include <vector>

#include "test_kernels_support.hpp"

namespace ezemu::testing {
namespace {

std::vector<float> iota_floats(size_t n) {
    std::vector<float> v(n);
    std::iota(v.begin(), v.end(), 0.0f);
    return v;
}

std::shared_ptr<const CompiledModel> reshape_model(const std::vector<int64_t>& in, const std::vector<int64_t>& shape,
                                                   int64_t allowzero = -1, int64_t opset = 14) {
    ModelBuilder mb(opset);
    mb.input("x", DT::Float, in).initializer("s", DT::Int64, {static_cast<int64_t>(shape.size())}, shape);
    std::vector<onnx::Attribute> attrs;
    if (allowzero >= 0) attrs.push_back(attr_int("allowzero", allowzero));
    mb.node("Reshape", {"x", "s"}, {"y"}, attrs, "reshape").output("y");
    return compile(mb);
}

TEST(Reshape, ZeroCopiesAndMinusOneInfers) {
    EXPECT_EQ(reshape_model({2, 3, 4}, {0, -1})->outputs()[0].shape, (std::vector<int64_t>{2, 12}));
    EXPECT_EQ(reshape_model({2, 3, 4}, {-1})->outputs()[0].shape, (std::vector<int64_t>{24}));
    EXPECT_EQ(reshape_model({2, 3, 4}, {4, 0, 2})->outputs()[0].shape, (std::vector<int64_t>{4, 3, 2}));
    EXPECT_EQ(reshape_model({2, 3, 4}, {2, -1, 2, 1})->outputs()[0].shape, (std::vector<int64_t>{2, 6, 2, 1}));
    EXPECT_EQ(reshape_model({0, 3}, {3, 0}, 1)->outputs()[0].shape, (std::vector<int64_t>{3, 0}));
    EXPECT_EQ(reshape_model({0, 3}, {0, 3}, 0)->outputs()[0].shape, (std::vector<int64_t>{0, 3}));
    auto m = reshape_model({2, 3, 4}, {3, 8});
    const auto x = iota_floats(24);
    EXPECT_EQ(run_float(*m, {x})[0], x);
}

TEST(Reshape, RefusesImpossibleShapes) {
    EXPECT_TRUE(throws_model_error([] { reshape_model({2, 3, 4}, {5, -1}); }, {"Reshape node 'reshape'", "cannot reshape"}));
    EXPECT_TRUE(throws_model_error([] { reshape_model({2, 3}, {-1, -1}); }, {"more than one -1"}));
    EXPECT_TRUE(throws_model_error([] { reshape_model({2, 3}, {7}); }, {"[2,3]", "[7]"}));
    EXPECT_TRUE(throws_model_error([] { reshape_model({2, 3}, {0, -1}, 1); }, {"allowzero"}));
    EXPECT_TRUE(throws_model_error([] { reshape_model({6}, {2, 0}); }, {"copies dim 1"}));
    // A shape computed at run time cannot give a static output shape.
    ModelBuilder mb(14);
    mb.input("x", DT::Float, {2, 3}).input("s", DT::Int64, {2}).node("Reshape", {"x", "s"}, {"y"}, {}, "r").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"Reshape node 'r'", "'s'", "known at load time"}));
}

TEST(Reshape, ShapeAttributeBeforeOpset5) {
    ModelBuilder mb(4);
    mb.input("x", DT::Float, {2, 6}).node("Reshape", {"x"}, {"y"}, {attr_ints("shape", {3, -1})}).output("y");
    EXPECT_EQ(compile(mb)->outputs()[0].shape, (std::vector<int64_t>{3, 4}));
}

TEST(Flatten, AxisIncludingNegativeAndEnds) {
    auto shape_of = [](int64_t axis) {
        ModelBuilder mb(13);
        mb.input("x", DT::Float, {2, 3, 4, 5}).node("Flatten", {"x"}, {"y"}, {attr_int("axis", axis)}).output("y");
        return compile(mb)->outputs()[0].shape;
    };
    EXPECT_EQ(shape_of(0), (std::vector<int64_t>{1, 120}));
    EXPECT_EQ(shape_of(1), (std::vector<int64_t>{2, 60}));
    EXPECT_EQ(shape_of(3), (std::vector<int64_t>{24, 5}));
    EXPECT_EQ(shape_of(4), (std::vector<int64_t>{120, 1}));
    EXPECT_EQ(shape_of(-1), (std::vector<int64_t>{24, 5}));
    EXPECT_EQ(shape_of(-4), (std::vector<int64_t>{1, 120}));
    EXPECT_TRUE(throws_model_error([&] { shape_of(5); }, {"Flatten", "axis 5"}));
    ModelBuilder mb(13);
    mb.input("x", DT::Float, {2, 3, 4}).node("Flatten", {"x"}, {"y"}).output("y");
    const auto x = iota_floats(24);
    EXPECT_EQ(run_float(*compile(mb), {x})[0], x);
}

TEST(Concat, AxesIncludingNegativeAndInt64) {
    const std::vector<int64_t> a_shape{2, 3, 2}, b_shape{2, 1, 2}, c_shape{2, 2, 2};
    const auto a = iota_floats(12), b = random_floats(4, 1), c = random_floats(8, 2);
    for (int64_t axis : {1, -2}) {
        ModelBuilder mb(13);
        mb.input("a", DT::Float, a_shape).input("b", DT::Float, b_shape).input("c", DT::Float, c_shape);
        mb.node("Concat", {"a", "b", "c"}, {"y"}, {attr_int("axis", axis)}).output("y");
        auto m = compile(mb);
        ASSERT_EQ(m->outputs()[0].shape, (std::vector<int64_t>{2, 6, 2}));
        std::vector<float> want;
        for (int n = 0; n < 2; ++n) {
            want.insert(want.end(), a.begin() + n * 6, a.begin() + n * 6 + 6);
            want.insert(want.end(), b.begin() + n * 2, b.begin() + n * 2 + 2);
            want.insert(want.end(), c.begin() + n * 4, c.begin() + n * 4 + 4);
        }
        EXPECT_EQ(run_float(*m, {a, b, c})[0], want);
    }
    ModelBuilder mb(13);
    mb.input("a", DT::Int64, {2}).initializer("b", DT::Int64, {3}, std::vector<int64_t>{7, 8, 9});
    mb.node("Concat", {"a", "b"}, {"y"}, {attr_int("axis", 0)}).output("y");
    EXPECT_EQ(from_bytes<int64_t>(run_bytes(*compile(mb), {to_bytes(std::vector<int64_t>{1, 2})})[0]),
              (std::vector<int64_t>{1, 2, 7, 8, 9}));

    ModelBuilder bad(13);
    bad.input("a", DT::Float, {2, 3}).input("b", DT::Float, {3, 3});
    bad.node("Concat", {"a", "b"}, {"y"}, {attr_int("axis", 1)}, "cat").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(bad); }, {"Concat node 'cat'", "does not fit"}));
}

std::vector<float> transpose_naive(const std::vector<float>& x, const std::vector<int64_t>& shape,
                                   const std::vector<int64_t>& perm) {
    const size_t r = shape.size();
    std::vector<int64_t> out(r), in_strides(r, 1);
    for (size_t d = r; d-- > 1;) in_strides[d - 1] = in_strides[d] * shape[d];
    for (size_t i = 0; i < r; ++i) out[i] = shape[static_cast<size_t>(perm[i])];
    std::vector<float> y(x.size());
    for (int64_t i = 0; i < static_cast<int64_t>(y.size()); ++i) {
        int64_t rem = i, off = 0;
        for (size_t d = r; d-- > 0;) {
            off += (rem % out[d]) * in_strides[static_cast<size_t>(perm[d])];
            rem /= out[d];
        }
        y[static_cast<size_t>(i)] = x[static_cast<size_t>(off)];
    }
    return y;
}

TEST(Transpose, PermutationsAndDefault) {
    struct Case {
        std::vector<int64_t> shape, perm;
    };
    const std::vector<Case> cases = {
        {{2, 3, 4, 5}, {0, 2, 3, 1}},  // NCHW -> NHWC
        {{2, 3, 4, 5}, {0, 3, 1, 2}},  // NHWC -> NCHW
        {{2, 3, 4, 5}, {0, 1, 3, 2}},  // swap last two
        {{2, 3, 4, 5}, {3, 2, 1, 0}},
        {{2, 3, 4, 5}, {0, 1, 2, 3}},  // identity
        {{6, 1, 7}, {2, 1, 0}},
        {{1, 5, 1, 3}, {3, 0, 1, 2}},
        {{4, 6}, {}},                  // default: reversed
        {{3, 4, 5}, {}},
    };
    for (const Case& c : cases) {
        std::vector<int64_t> perm = c.perm;
        if (perm.empty())
            for (size_t i = c.shape.size(); i-- > 0;) perm.push_back(static_cast<int64_t>(i));
        ModelBuilder mb(13);
        mb.input("x", DT::Float, c.shape);
        mb.node("Transpose", {"x"}, {"y"}, c.perm.empty() ? std::vector<onnx::Attribute>{} : std::vector{attr_ints("perm", c.perm)});
        mb.output("y");
        const auto x = iota_floats(static_cast<size_t>(elements(c.shape)));
        EXPECT_EQ(run_float(*compile(mb), {x})[0], transpose_naive(x, c.shape, perm));
    }
    ModelBuilder mb(13);
    mb.input("x", DT::Int64, {2, 3}).node("Transpose", {"x"}, {"y"}).output("y");
    EXPECT_EQ(from_bytes<int64_t>(run_bytes(*compile(mb), {to_bytes(std::vector<int64_t>{1, 2, 3, 4, 5, 6})})[0]),
              (std::vector<int64_t>{1, 4, 2, 5, 3, 6}));
    ModelBuilder bad(13);
    bad.input("x", DT::Float, {2, 3}).node("Transpose", {"x"}, {"y"}, {attr_ints("perm", {0, 0})}, "t").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(bad); }, {"Transpose node 't'", "not a permutation"}));
}

TEST(ConstantAndIdentity, ValuesAndDtypes) {
    ModelBuilder mb(13);
    mb.node("Constant", {}, {"t"}, {attr_tensor("value", make_tensor("", DT::Float, {2, 2}, std::vector<float>{1, 2, 3, 4}))});
    mb.node("Constant", {}, {"f"}, {attr_float("value_float", 2.5f)});
    mb.node("Constant", {}, {"fs"}, {attr_floats("value_floats", {1.0f, -1.0f})});
    mb.node("Constant", {}, {"i"}, {attr_int("value_int", 42)});
    mb.node("Constant", {}, {"is"}, {attr_ints("value_ints", {3, 4, 5})});
    mb.input("x", DT::Float, {2, 2}).node("Add", {"x", "t"}, {"sum"}).node("Identity", {"sum"}, {"id"});
    mb.output("id").output("f").output("fs").output("i").output("is").output("t");
    auto m = compile(mb);
    EXPECT_EQ(m->outputs()[1].shape, std::vector<int64_t>{});
    EXPECT_EQ(m->outputs()[3].dtype, DT::Int64);
    EXPECT_EQ(m->outputs()[4].shape, std::vector<int64_t>{3});
    auto out = run_bytes(*m, {to_bytes(std::vector<float>{10, 20, 30, 40})});
    EXPECT_EQ(from_bytes<float>(out[0]), (std::vector<float>{11, 22, 33, 44}));
    EXPECT_EQ(from_bytes<float>(out[1]), (std::vector<float>{2.5f}));
    EXPECT_EQ(from_bytes<float>(out[2]), (std::vector<float>{1.0f, -1.0f}));
    EXPECT_EQ(from_bytes<int64_t>(out[3]), (std::vector<int64_t>{42}));
    EXPECT_EQ(from_bytes<int64_t>(out[4]), (std::vector<int64_t>{3, 4, 5}));
    EXPECT_EQ(from_bytes<float>(out[5]), (std::vector<float>{1, 2, 3, 4}));

    ModelBuilder bad(13);
    bad.node("Constant", {}, {"s"}, {attr_string("value_string", "hi")}, "cs").output("s");
    EXPECT_TRUE(throws_model_error([&] { compile(bad); }, {"Constant node 'cs'", "value_string", "not supported"}));
}

}  // namespace
}  // namespace ezemu::testing
