// Tensor-family ops beyond what the ONNX node tests cover: old-opset attribute forms, shapes folded from graph
// inputs, integer and fp16 dtypes, and load-time refusals naming the node.
#include <climits>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "numerics/fp16.hpp"
#include "test_kernels_support.hpp"

namespace ezemu::testing {
namespace {

using V64 = std::vector<int64_t>;

std::vector<float> iota_f(size_t n) {
    std::vector<float> v(n);
    std::iota(v.begin(), v.end(), 0.0f);
    return v;
}

template <class T>
std::vector<T> run_one(const CompiledModel& m, const std::vector<uint8_t>& in) {
    return from_bytes<T>(run_bytes(m, {in})[0]);
}

TEST(TensorShapeOps, ShapeOfGraphInputFoldsIntoReshape) {
    // Shape -> Gather -> Unsqueeze -> Concat -> Reshape: the usual flatten-by-batch pattern of exported models.
    ModelBuilder mb(13);
    mb.input("x", DT::Float, {2, 3, 4})
        .initializer("zero", DT::Int64, {}, V64{0})
        .initializer("axes", DT::Int64, {1}, V64{0})
        .initializer("minus1", DT::Int64, {1}, V64{-1})
        .node("Shape", {"x"}, {"s"})
        .node("Gather", {"s", "zero"}, {"n"})
        .node("Unsqueeze", {"n", "axes"}, {"n1"})
        .node("Concat", {"n1", "minus1"}, {"target"}, {attr_int("axis", 0)})
        .node("Reshape", {"x", "target"}, {"y"})
        .output("y");
    auto m = compile(mb);
    EXPECT_EQ(m->outputs()[0].shape, (V64{2, 12}));
    const auto x = iota_f(24);
    EXPECT_EQ(run_float(*m, {x})[0], x);
}

TEST(TensorShapeOps, ShapeStartEndAndSizeAtOpset15) {
    auto shape = [](std::vector<onnx::Attribute> attrs) {
        ModelBuilder mb(15);
        mb.input("x", DT::Float, {2, 3, 4, 5}).node("Shape", {"x"}, {"s"}, std::move(attrs)).output("s");
        auto m = compile(mb);
        return from_bytes<int64_t>(run_bytes(*m, {to_bytes(std::vector<float>(120))})[0]);
    };
    EXPECT_EQ(shape({}), (V64{2, 3, 4, 5}));
    EXPECT_EQ(shape({attr_int("start", -2)}), (V64{4, 5}));
    EXPECT_EQ(shape({attr_int("start", 1), attr_int("end", -1)}), (V64{3, 4}));
    EXPECT_EQ(shape({attr_int("start", -10), attr_int("end", 10)}), (V64{2, 3, 4, 5}));
    EXPECT_TRUE(shape({attr_int("start", 3), attr_int("end", 1)}).empty());
    ModelBuilder mb(13);
    mb.input("x", DT::Uint8, {2, 3}).node("Size", {"x"}, {"n"}).output("n");
    EXPECT_EQ(run_one<int64_t>(*compile(mb), std::vector<uint8_t>(6)), (V64{6}));
}

TEST(TensorShapeOps, EyeLikeOfGraphInputWithDtypeAndK) {
    ModelBuilder mb(9);
    mb.input("x", DT::Float, {3, 4})
        .node("EyeLike", {"x"}, {"y"}, {attr_int("k", -1), attr_int("dtype", static_cast<int64_t>(DT::Int32))})
        .output("y");
    auto m = compile(mb);
    EXPECT_EQ(m->outputs()[0].dtype, DT::Int32);
    EXPECT_EQ(run_one<int32_t>(*m, to_bytes(std::vector<float>(12))),
              (std::vector<int32_t>{0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0}));
}

TEST(TensorShapeOps, ShapeInputsMustBeConstant) {
    for (const char* op : {"Expand", "Tile"}) {
        ModelBuilder mb(13);
        mb.input("x", DT::Float, {2, 1}).input("s", DT::Int64, {2}).node(op, {"x", "s"}, {"y"}, {}, "n").output("y");
        EXPECT_TRUE(throws_model_error([&] { compile(mb); },
                                       {std::string(op) + " node 'n'", "'s' must be a constant", "static shapes"}));
    }
    ModelBuilder mb(13);
    mb.input("x", DT::Float, {1, 2, 2, 2}).input("scales", DT::Float, {4})
        .node("Resize", {"x", "", "scales"}, {"y"}, {}, "rs").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"Resize node 'rs'", "'scales' must be a constant"}));
}

TEST(TensorSlice, Opset1AttributesAndNegativeStepsWithExtremeEnds) {
    ModelBuilder m1(9);
    m1.input("x", DT::Float, {3, 4})
        .node("Slice", {"x"}, {"y"}, {attr_ints("starts", {1, -3}), attr_ints("ends", {1000, -1}), attr_ints("axes", {0, 1})})
        .output("y");
    auto a = compile(m1);
    EXPECT_EQ(a->outputs()[0].shape, (V64{2, 2}));
    EXPECT_EQ(run_float(*a, {iota_f(12)})[0], (std::vector<float>{5, 6, 9, 10}));

    ModelBuilder m2(13);
    m2.input("x", DT::Int8, {5})
        .initializer("st", DT::Int64, {1}, V64{INT64_MAX})
        .initializer("en", DT::Int64, {1}, V64{INT64_MIN})
        .initializer("ax", DT::Int64, {1}, V64{-1})
        .initializer("sp", DT::Int64, {1}, V64{-2})
        .node("Slice", {"x", "st", "en", "ax", "sp"}, {"y"})
        .output("y");
    EXPECT_EQ(run_one<int8_t>(*compile(m2), to_bytes(std::vector<int8_t>{0, 1, 2, 3, 4})),
              (std::vector<int8_t>{4, 2, 0}));
}

TEST(TensorSplit, Opset2AttributeAndOpset18UnevenNumOutputs) {
    ModelBuilder a(11);
    a.input("x", DT::Float, {2, 5})
        .node("Split", {"x"}, {"p", "q"}, {attr_int("axis", -1), attr_ints("split", {2, 3})})
        .output("p").output("q");
    auto ma = compile(a);
    auto out = run_float(*ma, {iota_f(10)});
    EXPECT_EQ(out[0], (std::vector<float>{0, 1, 5, 6}));
    EXPECT_EQ(out[1], (std::vector<float>{2, 3, 4, 7, 8, 9}));

    ModelBuilder b(18);
    b.input("x", DT::Uint16, {7})
        .node("Split", {"x"}, {"p", "q", "r"}, {attr_int("num_outputs", 3)})
        .output("p").output("q").output("r");
    auto mb = compile(b);
    EXPECT_EQ(mb->outputs()[2].shape, (V64{1}));
    EXPECT_EQ(mb->outputs()[0].shape, (V64{3}));

    ModelBuilder c(13);
    c.input("x", DT::Float, {5}).node("Split", {"x"}, {"p", "q"}, {}, "sp").output("p").output("q");
    EXPECT_TRUE(throws_model_error([&] { compile(c); }, {"Split node 'sp'", "equal parts"}));
}

TEST(TensorSqueeze, AttributeAxesBeforeOpset13) {
    ModelBuilder a(11);
    a.input("x", DT::Float, {1, 3, 1, 2})
        .node("Squeeze", {"x"}, {"y"}, {attr_ints("axes", {-2})})
        .node("Unsqueeze", {"y"}, {"z"}, {attr_ints("axes", {0, -1})})
        .output("z");
    EXPECT_EQ(compile(a)->outputs()[0].shape, (V64{1, 1, 3, 2, 1}));
    ModelBuilder b(11);
    b.input("x", DT::Float, {1, 3}).node("Squeeze", {"x"}, {"y"}, {attr_ints("axes", {1})}, "sq").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(b); }, {"Squeeze node 'sq'", "not 1"}));
    ModelBuilder c(13);
    c.input("x", DT::Bool, {1, 3, 1}).node("Squeeze", {"x"}, {"y"}).output("y");
    EXPECT_EQ(compile(c)->outputs()[0].shape, (V64{3}));
}

TEST(TensorPad, Opset2AttributesAndModes) {
    auto pad = [](const std::string& mode, int64_t opset = 2) {
        ModelBuilder mb(opset);
        mb.input("x", DT::Float, {1, 3})
            .node("Pad", {"x"}, {"y"}, {attr_string("mode", mode), attr_ints("pads", {0, 2, 0, 1}), attr_float("value", 7.5f)})
            .output("y");
        return run_float(*compile(mb), {{1, 2, 3}})[0];
    };
    EXPECT_EQ(pad("constant"), (std::vector<float>{7.5f, 7.5f, 1, 2, 3, 7.5f}));
    EXPECT_EQ(pad("reflect"), (std::vector<float>{3, 2, 1, 2, 3, 2}));
    EXPECT_EQ(pad("edge"), (std::vector<float>{1, 1, 1, 2, 3, 3}));
    EXPECT_TRUE(throws_model_error([&] { pad("wrap"); }, {"mode 'wrap'", "opset 2"}));
}

TEST(TensorPad, NegativePadsCropAndRuntimeConstantValue) {
    ModelBuilder mb(11);
    mb.input("x", DT::Int32, {2, 4}).input("v", DT::Int32, {})
        .initializer("pads", DT::Int64, {4}, V64{1, -1, 0, 0})
        .node("Pad", {"x", "pads", "v"}, {"y"})
        .output("y");
    auto m = compile(mb);
    EXPECT_EQ(m->outputs()[0].shape, (V64{3, 3}));
    const auto y = from_bytes<int32_t>(
        run_bytes(*m, {to_bytes(std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7}), to_bytes(std::vector<int32_t>{-9})})[0]);
    EXPECT_EQ(y, (std::vector<int32_t>{-9, -9, -9, 1, 2, 3, 5, 6, 7}));
}

TEST(TensorGather, Int32NegativeIndicesAndRefusals) {
    ModelBuilder mb(13);
    mb.input("x", DT::Float16, {3, 2})
        .initializer("i", DT::Int32, {2}, std::vector<int32_t>{-1, 0})
        .node("Gather", {"x", "i"}, {"y"}, {attr_int("axis", 0)})
        .output("y");
    std::vector<uint16_t> x;
    for (float f : {1.f, 2.f, 3.f, 4.f, 5.f, 6.f}) x.push_back(numerics::float_to_half(f));
    EXPECT_EQ(run_one<uint16_t>(*compile(mb), to_bytes(x)), (std::vector<uint16_t>{x[4], x[5], x[0], x[1]}));

    ModelBuilder bad(13);
    bad.input("x", DT::Float, {3})
        .initializer("i", DT::Int64, {1}, V64{3})
        .node("Gather", {"x", "i"}, {"y"}, {}, "g")
        .output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(bad); }, {"Gather node 'g'", "index 3 is out of range"}));

    ModelBuilder dyn(13);
    dyn.input("x", DT::Float, {3}).input("i", DT::Int64, {1}).node("Gather", {"x", "i"}, {"y"}).output("y");
    auto m = compile(dyn);
    EXPECT_THROW(run_bytes(*m, {to_bytes(std::vector<float>{1, 2, 3}), to_bytes(V64{-4})}), RunError);
}

TEST(TensorScatterND, ReductionsFollowTheOpset) {
    auto model = [](int64_t opset, const std::string& reduction) {
        ModelBuilder mb(opset);
        mb.input("x", DT::Int32, {4})
            .initializer("i", DT::Int64, {2, 1}, V64{1, 1})
            .initializer("u", DT::Int32, {2}, std::vector<int32_t>{5, 7})
            .node("ScatterND", {"x", "i", "u"}, {"y"}, {attr_string("reduction", reduction)}, "sc")
            .output("y");
        return compile(mb);
    };
    const auto x = to_bytes(std::vector<int32_t>{1, 2, 3, 4});
    EXPECT_EQ(run_one<int32_t>(*model(16, "add"), x), (std::vector<int32_t>{1, 14, 3, 4}));
    EXPECT_EQ(run_one<int32_t>(*model(18, "min"), x), (std::vector<int32_t>{1, 2, 3, 4}));
    EXPECT_EQ(run_one<int32_t>(*model(18, "none"), x), (std::vector<int32_t>{1, 7, 3, 4}));
    EXPECT_TRUE(throws_model_error([&] { model(16, "max"); }, {"ScatterND node 'sc'", "reduction 'max'"}));
}

TEST(TensorResize, Opset10NearestAndLinearAreAsymmetric) {
    auto resize = [](const std::string& mode, std::vector<float> scales, std::vector<float> x, V64 shape) {
        ModelBuilder mb(10);
        mb.input("x", DT::Float, shape)
            .initializer("s", DT::Float, {static_cast<int64_t>(scales.size())}, scales)
            .node("Resize", {"x", "s"}, {"y"}, {attr_string("mode", mode)})
            .output("y");
        return run_float(*compile(mb), {x})[0];
    };
    EXPECT_EQ(resize("nearest", {1, 2}, {1, 2}, {1, 2}), (std::vector<float>{1, 1, 2, 2}));
    EXPECT_TRUE(all_close(resize("linear", {1, 2}, {1, 3}, {1, 2}), std::vector<float>{1, 2, 3, 3}));
    // Downsampling rounds the source coordinate up (ONNX Runtime's rule for Resize-10 and Upsample).
    EXPECT_EQ(resize("nearest", {1, 0.5f}, {1, 2, 3, 4}, {1, 4}), (std::vector<float>{1, 3}));
}

TEST(TensorResize, IntegerLinearRoundsHalfToEvenAndSaturates) {
    ModelBuilder mb(13);
    mb.input("x", DT::Uint8, {1, 2})
        .initializer("s", DT::Float, {2}, std::vector<float>{1, 4})
        .node("Resize", {"x", "", "s"}, {"y"},
              {attr_string("mode", "linear"), attr_string("coordinate_transformation_mode", "align_corners")})
        .output("y");
    // align_corners over 8 outputs: 0 + k * 255/7 = 0, 36.43, 72.86, 109.29, 145.71, 182.14, 218.57, 255.
    EXPECT_EQ(run_one<uint8_t>(*compile(mb), std::vector<uint8_t>{0, 255}),
              (std::vector<uint8_t>{0, 36, 73, 109, 146, 182, 219, 255}));
}

TEST(TensorResize, NearestMovesAnyDtype) {
    ModelBuilder mb(13);
    mb.input("x", DT::Int64, {1, 1, 1, 2})
        .initializer("s", DT::Float, {4}, std::vector<float>{1, 1, 2, 2})
        .node("Resize", {"x", "", "s"}, {"y"},
              {attr_string("coordinate_transformation_mode", "asymmetric"), attr_string("nearest_mode", "floor")})
        .output("y");
    EXPECT_EQ(run_one<int64_t>(*compile(mb), to_bytes(V64{-5, 9})), (V64{-5, -5, 9, 9, -5, -5, 9, 9}));
}

TEST(TensorMovement, ByteMoversTakeEveryDtype) {
    ModelBuilder mb(13);
    mb.input("a", DT::Bool, {2, 1}).input("b", DT::Bool, {2, 2})
        .node("Concat", {"a", "b"}, {"c"}, {attr_int("axis", 1)})
        .node("Transpose", {"c"}, {"t"})
        .node("DepthToSpace", {"t4"}, {"d"}, {attr_int("blocksize", 1)})
        .initializer("shape4", DT::Int64, {4}, V64{1, 6, 1, 1})
        .node("Reshape", {"t", "shape4"}, {"t4"})
        .output("d");
    // Nodes out of order on purpose: the graph sorts them.
    auto m = compile(mb);
    const auto y = run_bytes(*m, {std::vector<uint8_t>{1, 0}, std::vector<uint8_t>{0, 1, 1, 1}})[0];
    EXPECT_EQ(y, (std::vector<uint8_t>{1, 0, 0, 1, 1, 1}));
}

TEST(TensorConstant, StringsAreRefusedAndIntsKeepInt64) {
    onnx::Attribute s;
    s.name = "value_string";
    s.type = onnx::AttributeType::String;
    s.s = "hello";
    ModelBuilder a(13);
    a.node("Constant", {}, {"c"}, {s}, "k").output("c");
    EXPECT_TRUE(throws_model_error([&] { compile(a); }, {"Constant node 'k'", "string constants"}));
    ModelBuilder b(13);
    b.node("Constant", {}, {"c"}, {attr_ints("value_ints", {3, -4})}).output("c");
    auto m = compile(b);
    EXPECT_EQ(m->outputs()[0].dtype, DT::Int64);
    EXPECT_EQ(from_bytes<int64_t>(run_bytes(*m, {})[0]), (V64{3, -4}));
}

}  // namespace
}  // namespace ezemu::testing
