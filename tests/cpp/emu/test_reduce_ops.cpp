// Reduce* and ArgMax/ArgMin where the ONNX backend suite is thin: the axes attribute of old opsets, integer, bool
// and float16 tensors, noop_with_empty_axes, and the load-time refusals.
#include <cstdint>
#include <vector>

#include "numerics/fp16.hpp"
#include "test_kernels_support.hpp"

namespace ezemu::testing {
namespace {

template <class T>
std::vector<T> run_one(const ModelBuilder& mb, const std::vector<uint8_t>& x) {
    auto m = compile(mb);
    return from_bytes<T>(run_bytes(*m, {x})[0]);
}

TEST(ReduceOps, AxesAttributeBeforeOpset13And18) {
    // x[2,3]: sum over axis 1 with the attribute (ReduceSum-11), max over axis 0 (ReduceMax-13).
    const std::vector<float> x{1, 2, 3, 4, 5, 6};
    ModelBuilder sum(11);
    sum.input("x", DT::Float, {2, 3}).output("y");
    sum.node("ReduceSum", {"x"}, {"y"}, {attr_ints("axes", {1}), attr_int("keepdims", 0)});
    EXPECT_EQ(run_one<float>(sum, to_bytes(x)), (std::vector<float>{6, 15}));
    ModelBuilder max(13);
    max.input("x", DT::Float, {2, 3}).node("ReduceMax", {"x"}, {"y"}, {attr_ints("axes", {-2})}).output("y");
    auto m = compile(max);
    EXPECT_EQ(m->outputs()[0].shape, (std::vector<int64_t>{1, 3}));
    EXPECT_EQ(from_bytes<float>(run_bytes(*m, {to_bytes(x)})[0]), (std::vector<float>{4, 5, 6}));
}

TEST(ReduceOps, AxesInputFromOpset18AndNoop) {
    const std::vector<float> x{1, 2, 3, 4, 5, 6};
    ModelBuilder mean(18);
    mean.input("x", DT::Float, {2, 3}).initializer("axes", DT::Int64, {1}, std::vector<int64_t>{0});
    mean.node("ReduceMean", {"x", "axes"}, {"y"}, {attr_int("keepdims", 0)}).output("y");
    EXPECT_EQ(run_one<float>(mean, to_bytes(x)), (std::vector<float>{2.5f, 3.5f, 4.5f}));
    // No axes with noop_with_empty_axes=1 passes the input through; without it everything is reduced.
    ModelBuilder noop(18);
    noop.input("x", DT::Float, {2, 3}).output("y");
    noop.node("ReduceMin", {"x"}, {"y"}, {attr_int("noop_with_empty_axes", 1)});
    EXPECT_EQ(run_one<float>(noop, to_bytes(x)), x);
    ModelBuilder all(18);
    all.input("x", DT::Float, {2, 3}).node("ReduceMin", {"x"}, {"y"}, {attr_int("keepdims", 0)}).output("y");
    auto m = compile(all);
    EXPECT_TRUE(m->outputs()[0].shape.empty());
    EXPECT_EQ(from_bytes<float>(run_bytes(*m, {to_bytes(x)})[0]), (std::vector<float>{1}));
}

TEST(ReduceOps, IntegerBoolAndFloat16Tensors) {
    ModelBuilder isum(13);
    isum.input("x", DT::Int8, {2, 2}).node("ReduceSum", {"x"}, {"y"}, {attr_int("keepdims", 0)}).output("y");
    EXPECT_EQ(run_one<int8_t>(isum, to_bytes(std::vector<int8_t>{100, 27, -1, 0})), (std::vector<int8_t>{126}));
    ModelBuilder imean(13);
    imean.input("x", DT::Int64, {3}).node("ReduceMean", {"x"}, {"y"}).output("y");
    EXPECT_EQ(run_one<int64_t>(imean, to_bytes(std::vector<int64_t>{-7, 0, 0})), (std::vector<int64_t>{-2}));
    // bool: Max is any, Min is all (opset 20).
    for (const char* op : {"ReduceMax", "ReduceMin"}) {
        ModelBuilder b(20);
        b.input("x", DT::Bool, {2, 2}).initializer("axes", DT::Int64, {1}, std::vector<int64_t>{1});
        b.node(op, {"x", "axes"}, {"y"}, {attr_int("keepdims", 0)}).output("y");
        auto m = compile(b);
        EXPECT_EQ(m->outputs()[0].dtype, DT::Bool);
        const auto y = from_bytes<uint8_t>(run_bytes(*m, {to_bytes(std::vector<uint8_t>{1, 0, 1, 1})})[0]);
        EXPECT_EQ(y, std::string(op) == "ReduceMax" ? (std::vector<uint8_t>{1, 1}) : (std::vector<uint8_t>{0, 1}));
    }
    ModelBuilder half(13);
    half.input("x", DT::Float16, {4}).node("ReduceSum", {"x"}, {"y"}).output("y");
    std::vector<uint16_t> hx;
    for (float v : {0.5f, 1.25f, -2.0f, 8.0f}) hx.push_back(numerics::float_to_half(v));
    auto m = compile(half);
    EXPECT_EQ(m->outputs()[0].dtype, DT::Float16);
    const auto y = from_bytes<uint16_t>(run_bytes(*m, {to_bytes(hx)})[0]);
    ASSERT_EQ(y.size(), 1u);
    EXPECT_EQ(numerics::half_to_float(y[0]), 7.75f);
}

TEST(ReduceOps, EmptySetsGiveTheIdentity) {
    ModelBuilder mb(18);
    mb.input("x", DT::Float, {2, 0, 3}).initializer("axes", DT::Int64, {1}, std::vector<int64_t>{1});
    mb.node("ReduceMax", {"x", "axes"}, {"y"}).output("y");
    const auto y = run_one<float>(mb, {});
    ASSERT_EQ(y.size(), 6u);
    for (float v : y) EXPECT_EQ(v, -INFINITY);
}

TEST(ReduceOps, RefusesRuntimeAxesAndRepeatedAxes) {
    ModelBuilder rt(18);
    rt.input("x", DT::Float, {2, 3}).input("axes", DT::Int64, {1});
    rt.node("ReduceSum", {"x", "axes"}, {"y"}, {}, "sum").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(rt); }, {"ReduceSum node 'sum'", "must be known at load time"}));
    ModelBuilder twice(11);
    twice.input("x", DT::Float, {2, 3}).node("ReduceSum", {"x"}, {"y"}, {attr_ints("axes", {1, -1})}).output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(twice); }, {"listed twice"}));
}

TEST(ArgOps, SelectLastIndexAndKeepdims) {
    const std::vector<float> x{3, 1, 3, 2, 2, 0};  // [2,3]
    ModelBuilder first(13);
    first.input("x", DT::Float, {2, 3}).output("y");
    first.node("ArgMax", {"x"}, {"y"}, {attr_int("axis", 1), attr_int("keepdims", 0)});
    EXPECT_EQ(run_one<int64_t>(first, to_bytes(x)), (std::vector<int64_t>{0, 0}));
    ModelBuilder last(13);
    last.input("x", DT::Float, {2, 3});
    last.node("ArgMax", {"x"}, {"y"}, {attr_int("axis", 1), attr_int("select_last_index", 1)}).output("y");
    auto m = compile(last);
    EXPECT_EQ(m->outputs()[0].shape, (std::vector<int64_t>{2, 1}));
    EXPECT_EQ(from_bytes<int64_t>(run_bytes(*m, {to_bytes(x)})[0]), (std::vector<int64_t>{2, 1}));
    ModelBuilder amin(13);
    amin.input("x", DT::Int32, {2, 3}).node("ArgMin", {"x"}, {"y"}, {attr_int("select_last_index", 1)}).output("y");
    EXPECT_EQ(run_one<int64_t>(amin, to_bytes(std::vector<int32_t>{5, 1, 0, 5, 1, 7})),
              (std::vector<int64_t>{1, 1, 0}));
    ModelBuilder old(11);
    old.input("x", DT::Float, {2, 3}).node("ArgMax", {"x"}, {"y"}, {attr_int("select_last_index", 1)}).output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(old); }, {"select_last_index", "opset 12"}));
}

}  // namespace
}  // namespace ezemu::testing
