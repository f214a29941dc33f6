// If: a constant condition inlines the chosen branch, a run-time one runs a compiled branch; branches read outer
// tensors by name. The conformance suite has one If test (constant branches); these cover the rest.
#include <string>
#include <vector>

#include "test_kernels_support.hpp"

namespace ezemu::testing {
namespace {

onnx::Attribute attr_graph(const std::string& name, onnx::Graph g) {
    onnx::Attribute a;
    a.name = name;
    a.type = onnx::AttributeType::Graph;
    a.g = std::make_shared<onnx::Graph>(std::move(g));
    return a;
}

onnx::Node make_node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
                     const std::string& name = "") {
    onnx::Node n;
    n.op_type = op;
    n.inputs = std::move(in);
    n.outputs = std::move(out);
    n.name = name;
    return n;
}

// then: x + y (reads both from the outer graph); else: x * w, where w is an initializer of the branch.
onnx::Graph then_add(const std::vector<int64_t>& dims = {2}) {
    onnx::Graph g;
    g.nodes.push_back(make_node("Add", {"x", "y"}, {"t"}));
    g.outputs.push_back(value_info("t", DT::Float, dims));
    return g;
}
onnx::Graph else_mul() {
    onnx::Graph g;
    g.initializers.push_back(make_tensor<float>("w", DT::Float, {2}, {10.0f, 100.0f}));
    g.nodes.push_back(make_node("Mul", {"x", "w"}, {"e"}));
    g.outputs.push_back(value_info("e", DT::Float, {2}));
    return g;
}

TEST(If, ConstantConditionInlinesTheChosenBranch) {
    for (const bool cond : {true, false}) {
        ModelBuilder mb(13);
        mb.input("x", DT::Float, {2}).input("y", DT::Float, {2});
        mb.initializer<uint8_t>("c", DT::Bool, {}, {static_cast<uint8_t>(cond)});
        mb.node("If", {"c"}, {"o"}, {attr_graph("then_branch", then_add()), attr_graph("else_branch", else_mul())});
        mb.node("Relu", {"o"}, {"r"}).output("r");
        auto m = compile(mb);
        const auto out = run_float(*m, {{1.0f, -2.0f}, {3.0f, 1.0f}})[0];
        EXPECT_EQ(out, cond ? (std::vector<float>{4.0f, 0.0f}) : (std::vector<float>{10.0f, 0.0f}));
    }
}

TEST(If, RunTimeConditionPicksABranchPerRun) {
    ModelBuilder mb(13);
    mb.input("c", DT::Bool, {1}).input("x", DT::Float, {2}).input("y", DT::Float, {2});
    mb.node("If", {"c"}, {"o"}, {attr_graph("then_branch", then_add()), attr_graph("else_branch", else_mul())});
    mb.output("o");
    auto m = compile(mb);
    auto state = m->create_state();
    for (const uint8_t cond : {1, 0, 1}) {
        const auto out = run_bytes(*m, {{cond}, to_bytes<float>({1.0f, -2.0f}), to_bytes<float>({3.0f, 1.0f})},
                                   state.get());
        EXPECT_EQ(from_bytes<float>(out[0]),
                  cond ? (std::vector<float>{4.0f, -1.0f}) : (std::vector<float>{10.0f, -200.0f}));
    }
}

TEST(If, BranchOutputMayBeAnOuterTensor) {
    onnx::Graph passthrough;
    passthrough.outputs.push_back(value_info("y", DT::Float, {2}));
    ModelBuilder mb(13);
    mb.input("c", DT::Bool, {}).input("x", DT::Float, {2}).input("y", DT::Float, {2});
    mb.node("If", {"c"}, {"o"}, {attr_graph("then_branch", then_add()), attr_graph("else_branch", passthrough)});
    mb.output("o");
    auto m = compile(mb);
    const auto out = run_bytes(*m, {{0}, to_bytes<float>({1.0f, 2.0f}), to_bytes<float>({5.0f, 6.0f})});
    EXPECT_EQ(from_bytes<float>(out[0]), (std::vector<float>{5.0f, 6.0f}));
}

TEST(If, OuterTensorProducedAfterTheIfInTheNodeListIsOrderedFirst) {
    ModelBuilder mb(13);
    mb.input("c", DT::Bool, {}).input("x", DT::Float, {2}).input("z", DT::Float, {2});
    mb.node("If", {"c"}, {"o"}, {attr_graph("then_branch", then_add()), attr_graph("else_branch", else_mul())});
    mb.node("Relu", {"z"}, {"y"});  // read by then_branch, listed after the If
    mb.output("o");
    auto m = compile(mb);
    const auto out = run_bytes(*m, {{1}, to_bytes<float>({1.0f, 2.0f}), to_bytes<float>({-5.0f, 6.0f})});
    EXPECT_EQ(from_bytes<float>(out[0]), (std::vector<float>{1.0f, 8.0f}));
}

TEST(If, RunTimeConditionNeedsOneStaticShapeForBothBranches) {
    onnx::Graph other;
    other.nodes.push_back(make_node("Concat", {"x", "x"}, {"cc"}));
    other.nodes.back().attributes.push_back(attr_int("axis", 0));
    other.outputs.push_back(value_info("cc", DT::Float, {4}));
    ModelBuilder mb(13);
    mb.input("c", DT::Bool, {}).input("x", DT::Float, {2}).input("y", DT::Float, {2});
    mb.node("If", {"c"}, {"o"}, {attr_graph("then_branch", then_add()), attr_graph("else_branch", other)}, "choose");
    mb.output("o");
    EXPECT_TRUE(throws_model_error([&] { compile(mb); },
                                   {"If node 'choose'", "[2]", "[4]", "one static dtype and shape"}));
    // The same model with a constant condition is fine: only the chosen branch counts.
    ModelBuilder fixed(13);
    fixed.input("x", DT::Float, {2}).input("y", DT::Float, {2});
    fixed.initializer<uint8_t>("c", DT::Bool, {}, {0});
    fixed.node("If", {"c"}, {"o"}, {attr_graph("then_branch", then_add()), attr_graph("else_branch", other)});
    fixed.output("o");
    EXPECT_EQ(compile(fixed)->outputs()[0].shape, (std::vector<int64_t>{4}));
}

TEST(If, UnsupportedOperatorInsideABranchIsNamed) {
    onnx::Graph bad;
    bad.nodes.push_back(make_node("NoSuchOp", {"x"}, {"b"}, "inner"));
    bad.outputs.push_back(value_info("b", DT::Float, {2}));
    for (const bool constant : {true, false}) {
        ModelBuilder mb(13);
        mb.input("x", DT::Float, {2}).input("y", DT::Float, {2});
        if (constant) mb.initializer<uint8_t>("c", DT::Bool, {}, {1});
        else mb.input("c", DT::Bool, {});
        mb.node("If", {"c"}, {"o"}, {attr_graph("then_branch", bad), attr_graph("else_branch", else_mul())}, "outer");
        mb.output("o");
        EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"'NoSuchOp'", "'inner'", "then_branch", "'outer'"}));
    }
}

TEST(If, ConditionMustBeOneBool) {
    ModelBuilder mb(13);
    mb.input("c", DT::Float, {}).input("x", DT::Float, {2}).input("y", DT::Float, {2});
    mb.node("If", {"c"}, {"o"}, {attr_graph("then_branch", then_add()), attr_graph("else_branch", else_mul())}, "i");
    mb.output("o");
    EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"If node 'i'", "single bool"}));
}

TEST(If, ConvReadByABranchIsNotFoldedIntoItsBatchNorm) {
    // The Conv output has one explicit reader (the BatchNorm) and one implicit one (the branch): folding the
    // BatchNorm into the Conv would hand the branch the normalised values.
    onnx::Graph passthrough_conv;
    passthrough_conv.outputs.push_back(value_info("co", DT::Float, {1, 1, 1, 2}));
    onnx::Graph zeros;
    zeros.initializers.push_back(make_tensor<float>("z", DT::Float, {1, 1, 1, 2}, {0.0f, 0.0f}));
    zeros.nodes.push_back(make_node("Identity", {"z"}, {"zo"}));
    zeros.outputs.push_back(value_info("zo", DT::Float, {1, 1, 1, 2}));
    ModelBuilder mb(13);
    mb.input("c", DT::Bool, {}).input("x", DT::Float, {1, 1, 1, 2});
    mb.initializer<float>("w", DT::Float, {1, 1, 1, 1}, {2.0f});
    mb.initializer<float>("scale", DT::Float, {1}, {1.0f}).initializer<float>("bias", DT::Float, {1}, {10.0f});
    mb.initializer<float>("mean", DT::Float, {1}, {0.0f}).initializer<float>("var", DT::Float, {1}, {1.0f});
    mb.node("Conv", {"x", "w"}, {"co"});
    mb.node("BatchNormalization", {"co", "scale", "bias", "mean", "var"}, {"bn"}, {attr_float("epsilon", 0.0f)});
    mb.node("If", {"c"}, {"o"}, {attr_graph("then_branch", passthrough_conv), attr_graph("else_branch", zeros)});
    mb.output("bn").output("o");
    auto m = compile(mb);
    const auto out = run_bytes(*m, {{1}, to_bytes<float>({1.0f, 3.0f})});
    EXPECT_EQ(from_bytes<float>(out[0]), (std::vector<float>{12.0f, 16.0f}));
    EXPECT_EQ(from_bytes<float>(out[1]), (std::vector<float>{2.0f, 6.0f}));
}

}  // namespace
}  // namespace ezemu::testing
