// Custom ops at the graph level: which nodes a registered op can run (custom domain or built-in, but not nodes fused
// or folded at load), and that an implementation set on one ExecutionState leaves every other state alone.
#include <cmath>
#include <string>
#include <vector>

#include "graph/custom_op_node.hpp"
#include "test_kernels_support.hpp"

namespace ezemu::testing {
namespace {

// Writes `value` into every element of its float output 0.
class FillOutput final : public graph::CustomOpImplementation {
public:
    FillOutput(float value, size_t count) : value_(value), count_(count) {}
    void compute(const kernels::RunContext& ctx) override {
        ++calls;
        float* y = static_cast<float*>(ctx.outputs[0]);
        for (size_t i = 0; i < count_; ++i) y[i] = value_;
    }
    int calls = 0;

private:
    float value_;
    size_t count_;
};

// y = Relu_plain(Sigmoid(Relu_fused(Conv(x)))) + Relu_const(k): three Relu nodes, one of them replaceable.
ModelBuilder three_relus() {
    ModelBuilder mb(13);
    mb.input("x", DT::Float, {1, 1, 2, 2});
    mb.initializer("w", DT::Float, {1, 1, 1, 1}, std::vector<float>{2.0f});
    mb.initializer("k", DT::Float, {1}, std::vector<float>{-5.0f});
    mb.node("Conv", {"x", "w"}, {"c"}, {}, "conv");
    mb.node("Relu", {"c"}, {"r"}, {}, "fused");
    mb.node("Sigmoid", {"r"}, {"s"}, {}, "sigmoid");
    mb.node("Relu", {"s"}, {"p"}, {}, "plain");
    mb.node("Relu", {"k"}, {"kr"}, {}, "const");
    mb.node("Add", {"p", "kr"}, {"y"}, {}, "add");
    mb.output("y");
    return mb;
}

TEST(CustomOps, SitesAreTheNodesNotFusedOrFolded) {
    auto m = compile(three_relus());
    const graph::CustomOpSites relus = m->custom_op_sites("Relu");
    ASSERT_EQ(relus.sites.size(), 1u);
    const graph::CustomOpSite& site = relus.sites[0];
    EXPECT_EQ(site.label, "Relu node 'plain'");
    EXPECT_TRUE(site.has_builtin);
    EXPECT_EQ(site.input_names, std::vector<std::string>{"s"});
    EXPECT_EQ(site.output_names, std::vector<std::string>{"p"});
    EXPECT_EQ(site.outputs[0].shape, (std::vector<int64_t>{1, 1, 2, 2}));
    ASSERT_EQ(relus.fixed.size(), 2u);
    const std::string fixed = relus.fixed[0] + " | " + relus.fixed[1];
    EXPECT_NE(fixed.find("'fused'"), std::string::npos) << fixed;
    EXPECT_NE(fixed.find("'const'"), std::string::npos) << fixed;
    EXPECT_TRUE(m->custom_op_sites("ArgMax").sites.empty());
    EXPECT_TRUE(m->custom_op_sites("ArgMax").fixed.empty());
}

TEST(CustomOps, AnImplementationRunsOnlyInTheStateItWasSetOn) {
    auto m = compile(three_relus());
    const graph::CustomOpSite site = m->custom_op_sites("Relu").sites.at(0);
    auto fill = std::make_shared<FillOutput>(7.0f, 4);
    auto with_op = m->create_state();
    auto without = m->create_state();
    with_op->set_custom_op(site.step, fill);
    const std::vector<float> x = {-1.0f, 0.0f, 0.5f, 2.0f};
    const auto replaced = from_bytes<float>(run_bytes(*m, {to_bytes(x)}, with_op.get())[0]);
    const auto builtin = from_bytes<float>(run_bytes(*m, {to_bytes(x)}, without.get())[0]);
    EXPECT_EQ(fill->calls, 1);
    for (size_t i = 0; i < x.size(); ++i) {
        EXPECT_FLOAT_EQ(replaced[i], 7.0f);  // + Relu(-5) = 0
        const float expected = 1.0f / (1.0f + std::exp(-std::max(0.0f, 2.0f * x[i])));
        EXPECT_NEAR(builtin[i], expected, 1e-6f);
    }
    with_op->set_custom_op(site.step, nullptr);  // the built-in again
    const auto restored = from_bytes<float>(run_bytes(*m, {to_bytes(x)}, with_op.get())[0]);
    EXPECT_EQ(restored, builtin);
    EXPECT_THROW(with_op->set_custom_op(1000, fill), RunError);
}

TEST(CustomOps, CustomDomainNodesAreSitesWithoutBuiltin) {
    ModelBuilder mb(13);
    mb.model().opset_import.push_back({"com.example", 1});
    mb.input("x", DT::Float, {1, 4});
    mb.node("MyOp", {"x"}, {"y"}, {attr_float("alpha", 0.5f)}, "mine", "com.example");
    mb.output("y", DT::Float, {1, 4});
    auto m = compile(mb);
    const graph::CustomOpSites sites = m->custom_op_sites("MyOp");
    ASSERT_EQ(sites.sites.size(), 1u);
    EXPECT_FALSE(sites.sites[0].has_builtin);
    EXPECT_EQ(sites.sites[0].node->find_attribute("alpha")->f, 0.5f);
    auto state = m->create_state();
    state->set_custom_op(sites.sites[0].step, std::make_shared<FillOutput>(3.0f, 4));
    EXPECT_EQ(from_bytes<float>(run_bytes(*m, {to_bytes(std::vector<float>{1, 2, 3, 4})}, state.get())[0]),
              (std::vector<float>{3, 3, 3, 3}));
    EXPECT_THROW(run_float(*m, {{1, 2, 3, 4}}), RunError);  // a fresh state has no implementation
}

}  // namespace
}  // namespace ezemu::testing
