// LSTM and GRU: attributes the conformance suite does not exercise (input_forget, linear_before_reset, Y_c), checks
// of shapes and attributes, and sequence lengths outside the sequence. Results against ONNX Runtime for every
// direction, layout, activation and sequence_lens mix were compared while writing the kernels.
#include <cmath>
#include <vector>

#include "test_kernels_support.hpp"

namespace ezemu::testing {
namespace {

onnx::Attribute attr_strings(const std::string& name, std::vector<std::string> v) {
    onnx::Attribute a;
    a.name = name;
    a.type = onnx::AttributeType::Strings;
    a.strings = std::move(v);
    return a;
}

// One step, one unit: W = [wi, wo, wf, wc] on x = 1, R = 0, initial_c = 0.5.
std::vector<std::vector<float>> lstm_step(int64_t input_forget) {
    ModelBuilder mb(14);
    mb.initializer<float>("W", DT::Float, {1, 4, 1}, {0.0f, 0.0f, 100.0f, 0.0f});
    mb.initializer<float>("R", DT::Float, {1, 4, 1}, {0.0f, 0.0f, 0.0f, 0.0f});
    mb.initializer<float>("c0", DT::Float, {1, 1, 1}, {0.5f});
    mb.input("X", DT::Float, {1, 1, 1});
    mb.node("LSTM", {"X", "W", "R", "", "", "", "c0"}, {"", "Y_h", "Y_c"},
            {attr_int("hidden_size", 1), attr_int("input_forget", input_forget)});
    mb.output("Y_h").output("Y_c");
    return run_float(*compile(mb), {{1.0f}});
}

TEST(Lstm, InputForgetCouplesTheForgetGateToTheInputGate) {
    // i = o = 0.5, candidate 0; f = sigmoid(100) ~ 1, or 1 - i with input_forget.
    const auto free_gate = lstm_step(0);
    EXPECT_NEAR(free_gate[1][0], 0.5f, 1e-6f);
    EXPECT_NEAR(free_gate[0][0], 0.5f * std::tanh(0.5f), 1e-6f);
    const auto coupled = lstm_step(1);
    EXPECT_NEAR(coupled[1][0], 0.25f, 1e-6f);
    EXPECT_NEAR(coupled[0][0], 0.5f * std::tanh(0.25f), 1e-6f);
}

TEST(Gru, LinearBeforeResetMovesTheRecurrentBiasInsideTheReset) {
    for (const int64_t lbr : {0, 1}) {
        ModelBuilder mb(14);
        mb.initializer<float>("W", DT::Float, {1, 3, 1}, {0.0f, 0.0f, 0.0f});
        mb.initializer<float>("R", DT::Float, {1, 3, 1}, {0.0f, 0.0f, 1.0f});
        mb.initializer<float>("B", DT::Float, {1, 6}, {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 1.0f});
        mb.initializer<float>("h0", DT::Float, {1, 1, 1}, {1.0f});
        mb.input("X", DT::Float, {1, 1, 1});
        mb.node("GRU", {"X", "W", "R", "B", "", "h0"}, {"Y"},
                {attr_int("hidden_size", 1), attr_int("linear_before_reset", lbr)});
        mb.output("Y");
        const float candidate = std::tanh(lbr ? 0.5f * (1.0f + 1.0f) : 0.5f * 1.0f + 1.0f);
        EXPECT_NEAR(run_float(*compile(mb), {{1.0f}})[0][0], 0.5f * candidate + 0.5f, 1e-6f) << "lbr " << lbr;
    }
}

TEST(Gru, ActivationAlphaIsConsumedByTheFunctionsThatTakeIt) {
    // f = HardSigmoid(alpha 0, beta taken from activation_beta) makes z = r = beta; g = Affine(alpha, beta).
    ModelBuilder mb(14);
    mb.initializer<float>("W", DT::Float, {1, 3, 1}, {0.0f, 0.0f, 1.0f});
    mb.initializer<float>("R", DT::Float, {1, 3, 1}, {0.0f, 0.0f, 0.0f});
    mb.input("X", DT::Float, {1, 1, 1});
    onnx::Attribute alpha;
    alpha.name = "activation_alpha";
    alpha.type = onnx::AttributeType::Floats;
    alpha.floats = {0.0f, 3.0f};
    onnx::Attribute beta = alpha;
    beta.name = "activation_beta";
    beta.floats = {0.25f, 1.0f};
    mb.node("GRU", {"X", "W", "R"}, {"Y"},
            {attr_int("hidden_size", 1), attr_strings("activations", {"HardSigmoid", "Affine"}), alpha, beta});
    mb.output("Y");
    // z = 0.25, candidate = 3 * x + 1 = 7 (x = 2), h = 0.75 * 7.
    EXPECT_NEAR(run_float(*compile(mb), {{2.0f}})[0][0], 0.75f * 7.0f, 1e-5f);
}

TEST(Lstm, RefusesInconsistentShapesAndUnknownActivations) {
    auto model = [](std::vector<int64_t> w_dims, std::vector<onnx::Attribute> attrs) {
        ModelBuilder mb(14);
        mb.input("X", DT::Float, {2, 1, 3}).input("W", DT::Float, w_dims).input("R", DT::Float, {1, 8, 2});
        mb.node("LSTM", {"X", "W", "R"}, {"Y"}, std::move(attrs), "lstm").output("Y");
        return mb;
    };
    EXPECT_TRUE(throws_model_error([&] { compile(model({1, 8, 4}, {})); }, {"LSTM node 'lstm'", "W", "[1,8,3]"}));
    EXPECT_TRUE(throws_model_error([&] { compile(model({1, 8, 3}, {attr_int("hidden_size", 3)})); },
                                   {"hidden_size 3"}));
    EXPECT_TRUE(throws_model_error(
        [&] { compile(model({1, 8, 3}, {attr_strings("activations", {"Sigmoid", "Tanh", "Swish"})})); },
        {"'Swish'"}));
    EXPECT_TRUE(throws_model_error(
        [&] { compile(model({1, 8, 3}, {attr_string("direction", "bidirectional")})); }, {"W", "[2,8,3]"}));
}

TEST(Lstm, SequenceLengthBeyondTheSequenceFailsTheRun) {
    ModelBuilder mb(14);
    mb.input("X", DT::Float, {2, 1, 1}).input("lens", DT::Int32, {1});
    mb.initializer<float>("W", DT::Float, {1, 4, 1}, {1.0f, 1.0f, 1.0f, 1.0f});
    mb.initializer<float>("R", DT::Float, {1, 4, 1}, {1.0f, 1.0f, 1.0f, 1.0f});
    mb.node("LSTM", {"X", "W", "R", "", "lens"}, {"Y"}, {attr_int("hidden_size", 1)}).output("Y");
    auto m = compile(mb);
    EXPECT_NO_THROW(run_bytes(*m, {to_bytes<float>({1.0f, 2.0f}), to_bytes<int32_t>({2})}));
    EXPECT_THROW(run_bytes(*m, {to_bytes<float>({1.0f, 2.0f}), to_bytes<int32_t>({3})}), RunError);
}

}  // namespace
}  // namespace ezemu::testing
