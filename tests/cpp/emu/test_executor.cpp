// The graph executor: node order, load-time validation and its messages, constant folding, custom-op
// placeholders, outputs that alias inputs, constants or each other, arena reuse, and concurrent ExecutionStates.
#include <algorithm>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "test_kernels_support.hpp"

namespace ezemu::testing {
namespace {

// A small DAG with a diamond: y = relu(x * 2 + x) - (x * 2) / 4.
ModelBuilder diamond_model() {
    ModelBuilder mb(13);
    mb.input("x", DT::Float, {2, 3});
    mb.initializer("two", DT::Float, {}, std::vector<float>{2.0f});
    mb.initializer("four", DT::Float, {1}, std::vector<float>{4.0f});
    mb.node("Mul", {"x", "two"}, {"x2"}, {}, "mul");
    mb.node("Add", {"x2", "x"}, {"x3"}, {}, "add");
    mb.node("Relu", {"x3"}, {"r"}, {}, "relu");
    mb.node("Div", {"x2", "four"}, {"q"}, {}, "div");
    mb.node("Sub", {"r", "q"}, {"y"}, {}, "sub");
    mb.output("y");
    return mb;
}

std::vector<float> diamond_expected(const std::vector<float>& x) {
    std::vector<float> y;
    for (float v : x) y.push_back(std::max(0.0f, v * 2 + v) - (v * 2) / 4);
    return y;
}

TEST(Executor, ShuffledNodeListIsSorted) {
    const auto x = random_floats(6, 1);
    std::mt19937 rng(42);
    for (int trial = 0; trial < 10; ++trial) {
        ModelBuilder mb = diamond_model();
        std::shuffle(mb.model().graph.nodes.begin(), mb.model().graph.nodes.end(), rng);
        EXPECT_TRUE(all_close(run_float(*compile(mb), {x})[0], diamond_expected(x), 1e-6, 1e-6));
    }
}

TEST(Executor, RefusesCyclesDuplicateProducersAndMissingTensors) {
    ModelBuilder cycle(13);
    cycle.input("x", DT::Float, {2});
    cycle.node("Add", {"x", "b"}, {"a"}, {}, "n1").node("Relu", {"a"}, {"b"}, {}, "n2").output("a");
    EXPECT_TRUE(throws_model_error([&] { compile(cycle); }, {"cycle", "'n1'", "'n2'"}));

    ModelBuilder twice(13);
    twice.input("x", DT::Float, {2});
    twice.node("Relu", {"x"}, {"a"}, {}, "first").node("Sigmoid", {"x"}, {"a"}, {}, "second").output("a");
    EXPECT_TRUE(throws_model_error([&] { compile(twice); }, {"tensor 'a' is produced twice", "'first'", "'second'"}));

    ModelBuilder missing(13);
    missing.input("x", DT::Float, {2});
    missing.node("Add", {"x", "ghost"}, {"y"}, {}, "adder").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(missing); }, {"Add node 'adder'", "tensor 'ghost'", "no node"}));

    ModelBuilder no_output(13);
    no_output.input("x", DT::Float, {2}).node("Relu", {"x"}, {"y"}).output("nope");
    EXPECT_TRUE(throws_model_error([&] { compile(no_output); }, {"graph output 'nope'"}));
}

TEST(Executor, UnsupportedOperatorNamesOpOpsetAndNode) {
    ModelBuilder mb(13);
    mb.input("x", DT::Float, {2}).node("Hardmax", {"x"}, {"e"}, {}, "hm_1").node("Relu", {"e"}, {"y"}).output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"unsupported operator 'Hardmax' (opset 13) at node 'hm_1'"}));

    // Every distinct unsupported op is listed; an unnamed node is named by its output.
    ModelBuilder many(13);
    many.input("x", DT::Float, {2});
    many.node("Hardmax", {"x"}, {"e"}).node("Gelu", {"e"}, {"g"}).node("Hardmax", {"g"}, {"y"}).output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(many); },
                                   {"unsupported operator 'Hardmax' (opset 13) at node #0 (output 'e')",
                                    "also unsupported: 'Gelu'"}));

    // A known op outside the opset range its kernel implements.
    ModelBuilder old(6);
    old.input("x", DT::Float, {2}).node("Add", {"x", "x"}, {"y"}, {}, "legacy_add").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(old); }, {"unsupported operator 'Add' (opset 6) at node 'legacy_add'"}));

    ModelBuilder no_opset(13);
    no_opset.model().opset_import.clear();
    no_opset.input("x", DT::Float, {2}).node("Relu", {"x"}, {"y"}).output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(no_opset); }, {"opset"}));
}

TEST(Executor, RefusesSymbolicInputDims) {
    ModelBuilder mb(13);
    onnx::ValueInfo x = value_info("x", DT::Float, {-1, 3, 224, 224});
    x.dims[0].param = "N";
    mb.model().graph.inputs.push_back(x);
    mb.node("Relu", {"x"}, {"y"}).output("y");
    EXPECT_TRUE(throws_model_error(
        [&] { compile(mb); },
        {"input 'x' has symbolic dims [N,3,224,224]; the NPU runs static shapes only: pin the dims before loading "
         "(rknn-toolkit2 input_size_list, or onnx.tools.update_model_dims)"}));

    ModelBuilder unknown(13);
    onnx::ValueInfo u = value_info("u", DT::Float, {1, 3});
    u.dims[1] = onnx::Dim{};
    unknown.model().graph.inputs.push_back(u);
    unknown.node("Relu", {"u"}, {"y"}).output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(unknown); }, {"input 'u' has symbolic dims [1,?]"}));
}

TEST(Executor, RefusesExternalDataAndBadInitializers) {
    ModelBuilder mb(13);
    mb.input("x", DT::Float, {2}).initializer("w", DT::Float, {2}, std::vector<float>{1, 2});
    mb.model().graph.initializers[0].external = true;
    mb.node("Add", {"x", "w"}, {"y"}).output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"initializer 'w'", "external data", "not supported yet"}));

    ModelBuilder short_data(13);
    short_data.input("x", DT::Float, {3}).initializer("w", DT::Float, {3}, std::vector<float>{1, 2});
    short_data.node("Add", {"x", "w"}, {"y"}).output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(short_data); }, {"initializer 'w'", "holds 8 bytes"}));
}

TEST(Executor, WrongAttributeTypeNamesTheNode) {
    ModelBuilder mb(13);
    mb.input("x", DT::Float, {2, 3}).node("Flatten", {"x"}, {"y"}, {attr_float("axis", 1.0f)}, "flat").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"Flatten node 'flat'", "attribute 'axis'", "int", "float"}));
}

TEST(Executor, HostileAttributeValuesAreModelErrors) {
    const int64_t huge = int64_t{1} << 62;
    auto conv = [&](std::vector<onnx::Attribute> attrs) {
        ModelBuilder mb(13);
        mb.input("x", DT::Float, {1, 2, 4, 4}).initializer("w", DT::Float, {2, 1, 1, 1}, std::vector<float>{1, 1});
        mb.node("Conv", {"x", "w"}, {"y"}, std::move(attrs), "c").output("y");
        compile(mb);
    };
    EXPECT_TRUE(throws_model_error([&] { conv({attr_int("group", huge)}); }, {"Conv node 'c'"}));
    EXPECT_TRUE(throws_model_error([&] { conv({attr_int("group", 0)}); }, {"Conv node 'c'", "group"}));
    EXPECT_TRUE(throws_model_error([&] { conv({attr_int("group", 2), attr_ints("pads", {huge, 0, huge, 0})}); },
                                   {"Conv node 'c'", "'pads'"}));
    EXPECT_TRUE(throws_model_error([&] { conv({attr_int("group", 2), attr_ints("strides", {0, 1})}); },
                                   {"Conv node 'c'", "'strides'"}));
    EXPECT_TRUE(throws_model_error([&] { conv({attr_int("group", 2), attr_string("auto_pad", "SAME")}); },
                                   {"Conv node 'c'", "auto_pad"}));

    ModelBuilder reshape(13);
    reshape.input("x", DT::Float, {2});
    reshape.initializer("s", DT::Int64, {3}, std::vector<int64_t>{huge, huge, -1});
    reshape.node("Reshape", {"x", "s"}, {"y"}, {}, "r").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(reshape); }, {"Reshape node 'r'"}));

    ModelBuilder big_input(13);
    big_input.input("x", DT::Float, {huge, huge}).node("Relu", {"x"}, {"y"}).output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(big_input); }, {"'x'", "too large"}));
}

TEST(Executor, ConstantSubgraphsFoldAtLoadTime) {
    // The target shape of Reshape is computed: Concat(Constant * 2, initializer). Without folding the Reshape
    // would be refused, since its shape must be known at load time.
    ModelBuilder mb(13);
    mb.input("x", DT::Float, {2, 3, 4});
    mb.initializer("tail", DT::Int64, {1}, std::vector<int64_t>{-1});
    mb.node("Constant", {}, {"half"}, {attr_ints("value_ints", {1})});
    mb.node("Constant", {}, {"two"}, {attr_int("value_int", 2)});
    mb.node("Mul", {"half", "two"}, {"lead"});
    mb.node("Concat", {"lead", "tail"}, {"shape"}, {attr_int("axis", 0)});
    mb.node("Reshape", {"x", "shape"}, {"y"});
    mb.output("y").output("shape");
    auto m = compile(mb);
    EXPECT_EQ(m->outputs()[0].shape, (std::vector<int64_t>{2, 12}));
    EXPECT_EQ(m->outputs()[1].shape, (std::vector<int64_t>{2}));
    const auto x = random_floats(24, 3);
    auto out = run_bytes(*m, {to_bytes(x)});
    EXPECT_EQ(from_bytes<float>(out[0]), x);
    EXPECT_EQ(from_bytes<int64_t>(out[1]), (std::vector<int64_t>{2, -1}));
    // Only the Reshape runs; it is a view of the input, so the arena stays empty.
    EXPECT_EQ(m->internal_bytes(), 0u);
}

TEST(Executor, FoldingFailureIsAModelError) {
    ModelBuilder mb(13);
    mb.initializer("a", DT::Int64, {1}, std::vector<int64_t>{1});
    mb.initializer("z", DT::Int64, {1}, std::vector<int64_t>{0});
    mb.node("Div", {"a", "z"}, {"y"}, {}, "div0").output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(mb); }, {"Div node 'div0'", "division by zero"}));
}

TEST(Executor, CustomOpPlaceholders) {
    ModelBuilder mb(13);
    mb.model().opset_import.push_back({"com.example", 1});
    mb.input("x", DT::Float, {1, 4});
    mb.node("Relu", {"x"}, {"r"});
    mb.node("MyOp", {"r"}, {"c"}, {}, "my_op_1", "com.example");
    mb.node("Sigmoid", {"c"}, {"y"});
    mb.value("c", DT::Float, {1, 4});
    mb.output("y");
    auto m = compile(mb);
    EXPECT_EQ(m->custom_op_types(), std::vector<std::string>{"MyOp"});
    EXPECT_EQ(m->outputs()[0].shape, (std::vector<int64_t>{1, 4}));
    try {
        run_float(*m, {{1, 2, 3, 4}});
        FAIL() << "no RunError";
    } catch (const RunError& e) {
        EXPECT_STREQ(e.what(),
                     "custom operator 'MyOp' (domain 'com.example', node 'my_op_1') has no registered implementation; "
                     "register it with rknn_register_custom_ops");
    }

    // Output shapes of a custom op cannot be inferred: the model must declare them.
    ModelBuilder unknown(13);
    unknown.input("x", DT::Float, {1, 4});
    unknown.node("MyOp", {"x"}, {"c"}, {}, "my_op_2", "com.example").node("Relu", {"c"}, {"y"}).output("y");
    EXPECT_TRUE(throws_model_error([&] { compile(unknown); },
                                   {"custom operator 'MyOp'", "node 'my_op_2'", "output 'c'", "shape info"}));

    // Declared as a graph output, the shape is taken from there; a custom op is never folded.
    ModelBuilder as_output(13);
    as_output.initializer("k", DT::Float, {2}, std::vector<float>{1, 2});
    as_output.node("Scale", {"k"}, {"y"}, {}, "scale", "com.example").output("y", DT::Float, {2});
    auto m2 = compile(as_output);
    EXPECT_EQ(m2->custom_op_types(), std::vector<std::string>{"Scale"});
    EXPECT_THROW(run_float(*m2, {}), RunError);
}

TEST(Executor, OutputsThatAliasInputsConstantsAndEachOther) {
    ModelBuilder mb(13);
    mb.input("x", DT::Float, {2, 2});
    mb.initializer("w", DT::Float, {2, 2}, std::vector<float>{5, 6, 7, 8});
    mb.node("Relu", {"x"}, {"r"});
    mb.initializer("flat", DT::Int64, {1}, std::vector<int64_t>{4});
    mb.node("Reshape", {"x", "flat"}, {"xv"});
    mb.node("Identity", {"r"}, {"rid"});
    mb.node("Add", {"r", "w"}, {"s"});
    // x itself, an initializer, the same tensor twice, a view of the input, a tensor also consumed by later nodes.
    mb.output("x").output("w").output("r").output("r").output("xv").output("rid").output("s");
    auto m = compile(mb);
    const std::vector<float> x{-1, 2, -3, 4};
    auto out = run_float(*m, {x});
    const std::vector<float> r{0, 2, 0, 4};
    EXPECT_EQ(out[0], x);
    EXPECT_EQ(out[1], (std::vector<float>{5, 6, 7, 8}));
    EXPECT_EQ(out[2], r);
    EXPECT_EQ(out[3], r);
    EXPECT_EQ(out[4], x);
    EXPECT_EQ(out[5], r);
    EXPECT_EQ(out[6], (std::vector<float>{5, 8, 7, 12}));
}

TEST(Executor, InitializerListedAsInputIsAConstant) {
    ModelBuilder mb(13);
    mb.input("x", DT::Float, {2}).input("b", DT::Float, {2});
    mb.initializer("b", DT::Float, {2}, std::vector<float>{10, 20});
    mb.node("Add", {"x", "b"}, {"y"}).output("y");
    auto m = compile(mb);
    ASSERT_EQ(m->inputs().size(), 1u);
    EXPECT_EQ(m->inputs()[0].name, "x");
    EXPECT_EQ(m->weight_bytes(), 8u);
    EXPECT_EQ(run_float(*m, {{1, 2}})[0], (std::vector<float>{11, 22}));
}

TEST(Executor, MisalignedRawInitializerIsCopied) {
    // raw_data views sit at arbitrary offsets of the model file.
    auto bytes = std::make_shared<std::vector<uint8_t>>(1 + 3 * sizeof(float));
    const float w[3] = {1.5f, -2.0f, 4.0f};
    std::memcpy(bytes->data() + 1, w, sizeof w);
    ModelBuilder mb(13);
    mb.input("x", DT::Float, {3});
    onnx::Tensor t;
    t.name = "w";
    t.data_type = DT::Float;
    t.dims = {3};
    t.raw = bytes->data() + 1;
    t.raw_size = sizeof w;
    mb.model().graph.initializers.push_back(t);
    mb.node("Mul", {"x", "w"}, {"y"}).output("y");
    auto m = CompiledModel::compile(mb.build(), bytes);
    EXPECT_EQ(run_float(*m, {{2, 2, 2}})[0], (std::vector<float>{3, -4, 8}));
}

TEST(Executor, ArenaReusesMemoryAlongAChain) {
    const int64_t n = 1 << 16;  // 256 KiB per tensor
    ModelBuilder mb(13);
    mb.input("x", DT::Float, {n});
    std::string prev = "x";
    for (int i = 0; i < 20; ++i) {
        const std::string next = "t" + std::to_string(i);
        mb.node(i % 2 ? "Relu" : "Sigmoid", {prev}, {next});
        prev = next;
    }
    mb.output(prev);
    auto m = compile(mb);
    // 19 intermediates, but at most two are alive at once; the last one goes straight to the caller.
    EXPECT_LE(m->internal_bytes(), 2 * n * sizeof(float));
    const auto x = random_floats(static_cast<size_t>(n), 8);
    auto y = run_float(*m, {x})[0];
    float v = x[123];
    for (int i = 0; i < 20; ++i) v = i % 2 ? std::max(v, 0.0f) : 1.0f / (1.0f + std::exp(-v));
    EXPECT_FLOAT_EQ(y[123], v);
}

TEST(Executor, DeadNodesDoNotRun) {
    ModelBuilder mb(13);
    mb.input("x", DT::Float, {2});
    mb.node("Relu", {"x"}, {"y"});
    mb.node("Broken", {"x"}, {"unused"}, {}, "dead", "com.example");
    mb.value("unused", DT::Float, {2});
    mb.output("y");
    auto m = compile(mb);
    EXPECT_EQ(run_float(*m, {{-1, 1}})[0], (std::vector<float>{0, 1}));
}

TEST(Executor, RunArgumentChecks) {
    auto m = compile(diamond_model());
    auto other = compile(diamond_model());
    auto foreign = other->create_state();
    std::vector<float> x(6), y(6);
    const void* in[] = {x.data()};
    void* out[] = {y.data()};
    EXPECT_THROW(m->run(*foreign, in, out), RunError);
    auto st = m->create_state();
    const void* null_in[] = {nullptr};
    EXPECT_THROW(m->run(*st, null_in, out), RunError);
    void* null_out[] = {nullptr};
    EXPECT_THROW(m->run(*st, in, null_out), RunError);
    EXPECT_THROW(CompiledModel::compile(nullptr, nullptr), ModelError);
}

// A small classifier: Conv-Relu-MaxPool, depthwise Conv with a residual Add, GlobalAveragePool, Flatten, Gemm,
// Softmax; checked against a direct double-precision computation.
struct ConvNet {
    std::vector<float> w1 = random_floats(8 * 3 * 3 * 3, 61, -0.5f, 0.5f), b1 = random_floats(8, 62);
    std::vector<float> w2 = random_floats(8 * 1 * 3 * 3, 63, -0.5f, 0.5f), b2 = random_floats(8, 64);
    std::vector<float> wf = random_floats(5 * 8, 65), bf = random_floats(5, 66);

    ModelBuilder model() const {
        ModelBuilder mb(13);
        mb.input("image", DT::Float, {2, 3, 12, 12});
        mb.initializer("w1", DT::Float, {8, 3, 3, 3}, w1).initializer("b1", DT::Float, {8}, b1);
        mb.initializer("w2", DT::Float, {8, 1, 3, 3}, w2).initializer("b2", DT::Float, {8}, b2);
        mb.initializer("wf", DT::Float, {5, 8}, wf).initializer("bf", DT::Float, {5}, bf);
        mb.node("Conv", {"image", "w1", "b1"}, {"c1"}, {attr_ints("pads", {1, 1, 1, 1})});
        mb.node("Relu", {"c1"}, {"r1"});
        mb.node("MaxPool", {"r1"}, {"p1"}, {attr_ints("kernel_shape", {2, 2}), attr_ints("strides", {2, 2})});
        mb.node("Conv", {"p1", "w2", "b2"}, {"c2"}, {attr_int("group", 8), attr_string("auto_pad", "SAME_UPPER")});
        mb.node("Add", {"c2", "p1"}, {"res"});
        mb.node("GlobalAveragePool", {"res"}, {"gap"});
        mb.node("Flatten", {"gap"}, {"feat"});
        mb.node("Gemm", {"feat", "wf", "bf"}, {"logits"}, {attr_int("transB", 1)});
        mb.node("Softmax", {"logits"}, {"prob"});
        mb.output("prob");
        return mb;
    }

    std::vector<double> expected(const std::vector<float>& x) const {
        std::vector<double> out;
        for (int n = 0; n < 2; ++n) {
            std::vector<double> c1(8 * 12 * 12), p1(8 * 6 * 6), res(8 * 6 * 6);
            for (int m = 0; m < 8; ++m)
                for (int i = 0; i < 12; ++i)
                    for (int j = 0; j < 12; ++j) {
                        double acc = b1[m];
                        for (int c = 0; c < 3; ++c)
                            for (int ki = 0; ki < 3; ++ki)
                                for (int kj = 0; kj < 3; ++kj) {
                                    const int ii = i + ki - 1, jj = j + kj - 1;
                                    if (ii < 0 || ii >= 12 || jj < 0 || jj >= 12) continue;
                                    acc += x[((n * 3 + c) * 12 + ii) * 12 + jj] * static_cast<double>(w1[((m * 3 + c) * 3 + ki) * 3 + kj]);
                                }
                        c1[(m * 12 + i) * 12 + j] = std::max(acc, 0.0);
                    }
            for (int m = 0; m < 8; ++m)
                for (int i = 0; i < 6; ++i)
                    for (int j = 0; j < 6; ++j) {
                        double v = c1[(m * 12 + 2 * i) * 12 + 2 * j];
                        for (int di = 0; di < 2; ++di)
                            for (int dj = 0; dj < 2; ++dj) v = std::max(v, c1[(m * 12 + 2 * i + di) * 12 + 2 * j + dj]);
                        p1[(m * 6 + i) * 6 + j] = v;
                    }
            std::vector<double> gap(8, 0.0);
            for (int m = 0; m < 8; ++m)
                for (int i = 0; i < 6; ++i)
                    for (int j = 0; j < 6; ++j) {
                        double acc = b2[m];
                        for (int ki = 0; ki < 3; ++ki)
                            for (int kj = 0; kj < 3; ++kj) {
                                const int ii = i + ki - 1, jj = j + kj - 1;
                                if (ii < 0 || ii >= 6 || jj < 0 || jj >= 6) continue;
                                acc += p1[(m * 6 + ii) * 6 + jj] * w2[(m * 3 + ki) * 3 + kj];
                            }
                        gap[m] += (acc + p1[(m * 6 + i) * 6 + j]) / 36.0;
                    }
            std::vector<double> logits(5);
            double mx = -1e300, sum = 0;
            for (int k = 0; k < 5; ++k) {
                logits[k] = bf[k];
                for (int m = 0; m < 8; ++m) logits[k] += gap[m] * wf[k * 8 + m];
                mx = std::max(mx, logits[k]);
            }
            for (double& l : logits) sum += std::exp(l - mx);
            for (double l : logits) out.push_back(std::exp(l - mx) / sum);
        }
        return out;
    }
};

TEST(Executor, SmallConvNetEndToEnd) {
    ConvNet net;
    const auto x = random_floats(2 * 3 * 12 * 12, 70);
    const auto want = net.expected(x);
    for (bool reference : {false, true}) {
        SCOPED_TRACE(reference ? "reference kernels" : "oneDNN");
        auto m = compile(net.model(), reference);
        EXPECT_EQ(m->outputs()[0].shape, (std::vector<int64_t>{2, 5}));
        EXPECT_TRUE(all_close(run_float(*m, {x})[0], want, 1e-5, 1e-4));
    }
    auto two_threads = compile(net.model(), false, 2);
    EXPECT_TRUE(all_close(run_float(*two_threads, {x})[0], want, 1e-5, 1e-4));
}

TEST(Executor, ConcurrentStatesGiveIdenticalResults) {
    ConvNet net;
    auto m = compile(net.model());
    std::vector<std::vector<float>> inputs, expected;
    for (uint32_t i = 0; i < 6; ++i) {
        inputs.push_back(random_floats(2 * 3 * 12 * 12, 200 + i));
        expected.push_back(run_float(*m, {inputs.back()})[0]);
    }
    std::vector<int> mismatches(2, 0);
    auto worker = [&](int t) {
        auto state = m->create_state();
        std::vector<float> y(10);
        for (int round = 0; round < 50; ++round) {
            const size_t i = static_cast<size_t>((round + 3 * t) % 6);
            const void* in[] = {inputs[i].data()};
            void* out[] = {y.data()};
            m->run(*state, in, out);
            mismatches[static_cast<size_t>(t)] += y != expected[i];
        }
    };
    std::thread a(worker, 0), b(worker, 1);
    a.join();
    b.join();
    EXPECT_EQ(mismatches[0], 0);
    EXPECT_EQ(mismatches[1], 0);
}

}  // namespace
}  // namespace ezemu::testing
