// Session end to end on the emulator: loading, tensor descriptions per layout, runs, and every bad input.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "ezrknn/errors.hpp"
#include "ezrknn/session.hpp"
#include "rknn/rknn_api.h"
#include "test_support.hpp"

namespace ezrknn {
namespace {

using testing::AddConvInputs;
using testing::message_of;
using testing::view_of;

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// Checks that happen before any RKNN library is loaded need no emulator.
class SessionBeforeLoad : public ::testing::Test {
protected:

    SessionConfig config(ProviderOptions options = {}) {
        options.runtime = "emulator";
        SessionConfig c;
        c.options = std::move(options);
        c.warning_sink = [this](const std::string& w) { warnings.push_back(w); };
        return c;
    }

    std::shared_ptr<Session> open(ProviderOptions options = {}) {
        return Session::from_file(testing::model_path("add_conv.onnx"), config(std::move(options)));
    }

    static ProviderOptions with_layout(InputLayout layout) {
        ProviderOptions o;
        o.layout = layout;
        return o;
    }

    // Runs the reference inputs, passing the image as the session's layout expects.
    static std::vector<Tensor> run_reference(Session& s) {
        AddConvInputs in;
        const bool nhwc = s.inputs()[0].shape == std::vector<int64_t>({1, 8, 8, 3});
        const std::vector<float> image = nhwc ? in.image_nhwc() : in.image;
        return s.run({view_of(image, s.inputs()[0].shape), view_of(in.offset, {1, 4})});
    }

    static void expect_reference_outputs(const std::vector<Tensor>& out) {
        ASSERT_EQ(out.size(), 2u);
        const std::vector<float> expected = testing::add_conv_expected();
        ASSERT_EQ(expected.size(), 260u);
        EXPECT_EQ(out[0].shape, std::vector<int64_t>({1, 4, 8, 8}));
        EXPECT_EQ(out[0].type, ElementType::Float32);
        EXPECT_EQ(out[0].nbytes, 256 * sizeof(float));
        EXPECT_EQ(out[1].shape, std::vector<int64_t>({1, 4}));
        testing::expect_close(static_cast<const float*>(out[0].data), expected.data(), 256, "features");
        testing::expect_close(static_cast<const float*>(out[1].data), expected.data() + 256, 4, "pooled");
    }

    std::vector<std::string> warnings;
};

class EmulatorSession : public SessionBeforeLoad {
protected:
    void SetUp() override { EZRKNN_REQUIRE_EMULATOR(); }
};

TEST_F(EmulatorSession, DescribesTensorsRuntimeAndCustomString) {
    auto s = open();
    ASSERT_EQ(s->inputs().size(), 2u);
    EXPECT_EQ(s->inputs()[0].name, "image");
    EXPECT_EQ(s->inputs()[0].shape, std::vector<int64_t>({1, 3, 8, 8}));  // NCHW by default
    EXPECT_EQ(s->inputs()[0].format, TensorFormat::NCHW);
    EXPECT_EQ(s->inputs()[0].type, ElementType::Float16);  // a float model runs as fp16 on the NPU
    EXPECT_EQ(s->inputs()[1].name, "offset");
    EXPECT_EQ(s->inputs()[1].shape, std::vector<int64_t>({1, 4}));
    EXPECT_EQ(s->inputs()[1].format, TensorFormat::Undefined);
    ASSERT_EQ(s->outputs().size(), 2u);
    EXPECT_EQ(s->outputs()[0].name, "features");
    EXPECT_EQ(s->outputs()[0].shape, std::vector<int64_t>({1, 4, 8, 8}));
    EXPECT_EQ(s->outputs()[1].name, "pooled");
    EXPECT_EQ(s->outputs()[1].shape, std::vector<int64_t>({1, 4}));
    EXPECT_EQ(s->input_index("offset"), 1u);
    EXPECT_EQ(s->output_index("pooled"), 1u);
    EXPECT_EQ(s->custom_string(), "RGB engine-test");

    const RuntimeInfo& rt = s->runtime();
    EXPECT_EQ(rt.kind, "emulator");
    EXPECT_EQ(rt.library_path, testing::canonical(testing::emulator_path()));
    EXPECT_TRUE(contains(rt.api_version, "ezrknn emulator")) << rt.api_version;
    EXPECT_EQ(rt.describe().rfind("emulator: librknnrt_emu.so " + rt.api_version, 0), 0u) << rt.describe();
    EXPECT_EQ(rt.chosen_by, "provider option runtime='emulator'");
    EXPECT_TRUE(warnings.empty()) << "the emulator must not trigger the outdated-runtime warning";
    EXPECT_EQ(s->context_count(), 1u);
}

TEST_F(EmulatorSession, RunMatchesOnnxRuntimeWithoutCopyingInputs) {
    auto s = open();
    expect_reference_outputs(run_reference(*s));
    expect_reference_outputs(run_reference(*s));
    EXPECT_EQ(s->copied_bytes(), 0u) << "the default layout passes the caller's memory to rknn_inputs_set";
}

TEST_F(EmulatorSession, NhwcLayoutShowsAndTakesNhwc) {
    for (InputLayout layout : {InputLayout::NHWC, InputLayout::Any}) {
        auto s = open(with_layout(layout));
        EXPECT_EQ(s->inputs()[0].shape, std::vector<int64_t>({1, 8, 8, 3}));
        EXPECT_EQ(s->inputs()[0].format, TensorFormat::NHWC);
        EXPECT_EQ(s->outputs()[0].shape, std::vector<int64_t>({1, 4, 8, 8})) << "outputs are never transposed";
        expect_reference_outputs(run_reference(*s));
        EXPECT_EQ(s->copied_bytes(), 0u);
    }
}

TEST_F(EmulatorSession, NchwSoftwareTransposesInTheEngineAndCountsTheCopy) {
    auto s = open(with_layout(InputLayout::NCHWSoftware));
    EXPECT_EQ(s->inputs()[0].shape, std::vector<int64_t>({1, 3, 8, 8}));
    EXPECT_EQ(s->inputs()[0].format, TensorFormat::NCHW);
    expect_reference_outputs(run_reference(*s));
    EXPECT_EQ(s->copied_bytes(), 3u * 8 * 8 * sizeof(float));
    run_reference(*s);
    EXPECT_EQ(s->copied_bytes(), 2u * 3 * 8 * 8 * sizeof(float));
}

TEST_F(EmulatorSession, ConvertibleInputTypesRun) {
    auto s = open();
    const std::vector<uint8_t> image(3 * 8 * 8, 0);
    const std::vector<float> offset = {0, 0, 0, 0};
    TensorView v;
    v.data = image.data();
    v.nbytes = image.size();
    v.type = ElementType::Uint8;
    v.shape = {1, 3, 8, 8};
    auto out = s->run({v, view_of(offset, {1, 4})}, {1});
    ASSERT_EQ(out.size(), 1u);
    const float* pooled = static_cast<const float*>(out[0].data);
    // Zero image: relu(conv bias) averaged = the bias clipped at zero.
    const float want[4] = {0.1f, 0.0f, 0.3f, 0.0f};
    testing::expect_close(pooled, want, 4, "pooled");
}

TEST_F(EmulatorSession, OutputSelectionAndRepeats) {
    auto s = open();
    AddConvInputs in;
    auto out = s->run({view_of(in.image, {1, 3, 8, 8}), view_of(in.offset, {1, 4})}, {1, 0, 1});
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].shape, std::vector<int64_t>({1, 4}));
    EXPECT_EQ(out[1].shape, std::vector<int64_t>({1, 4, 8, 8}));
    EXPECT_EQ(out[0].data, out[2].data) << "a repeated output shares one buffer";
    EXPECT_EQ(out[0].storage.get(), out[2].storage.get());
}

TEST_F(EmulatorSession, OutputsOutliveTheSession) {
    std::vector<Tensor> out;
    {
        auto s = open();
        out = run_reference(*s);
    }
    expect_reference_outputs(out);
}

TEST_F(EmulatorSession, BadInputsAreReportedByName) {
    auto s = open();
    AddConvInputs in;
    const TensorView image = view_of(in.image, {1, 3, 8, 8});
    const TensorView offset = view_of(in.offset, {1, 4});

    EXPECT_EQ(message_of<InvalidArgument>([&] { s->run({image}); }), "Input count mismatch: expected 2, got 1");
    TensorView wrong_type = image;
    wrong_type.type = ElementType::Int64;
    wrong_type.nbytes = 3 * 8 * 8 * 8;
    EXPECT_EQ(message_of<InvalidArgument>([&] { s->run({wrong_type, offset}); }),
              "Input 'image' has element type int64, but this model input takes float32, float16, uint8 or int8");
    EXPECT_EQ(message_of<InvalidArgument>([&] { s->run({view_of(in.image, {3, 8, 8}), offset}); }),
              "Input 'image' rank mismatch: expected 4, got 3");
    EXPECT_EQ(message_of<InvalidArgument>([&] { s->run({view_of(in.image, {1, 8, 8, 3}), offset}); }),
              "Input 'image' shape mismatch: expected [1, 3, 8, 8], got [1, 8, 8, 3]");
    TensorView short_offset = offset;
    short_offset.nbytes = 8;
    EXPECT_TRUE(contains(message_of<InvalidArgument>([&] { s->run({image, short_offset}); }),
                         "Input 'offset' size mismatch: expected 16 bytes"));
    TensorView null_offset = offset;
    null_offset.data = nullptr;
    EXPECT_EQ(message_of<InvalidArgument>([&] { s->run({image, null_offset}); }), "Input 'offset' data is null");
    EXPECT_EQ(message_of<InvalidArgument>([&] { s->run({image, offset}, {2}); }),
              "Output index 2 is out of range; the model has 2 outputs");
    EXPECT_EQ(message_of<InvalidArgument>([&] { s->input_index("nope"); }), "Unknown input name: nope");
    EXPECT_EQ(message_of<InvalidArgument>([&] { s->output_index("nope"); }), "Unknown output name: nope");
    EXPECT_EQ(message_of<InvalidArgument>([&] { s->validate_input(5, image); }),
              "Input index 5 is out of range; the model has 2 inputs");
    // The session still works after every rejected call.
    expect_reference_outputs(run_reference(*s));
}

TEST_F(SessionBeforeLoad, BadModelFilesAreReportedBeforeRknnInit) {
    EXPECT_EQ(message_of<Error>([&] { Session::from_file("/nonexistent/model.onnx", config()); }),
              "Failed to open model file: /nonexistent/model.onnx: No such file or directory");
    EXPECT_EQ(message_of<Error>([&] { Session::from_file(EZRKNN_SOURCE_DIR "/tests", config()); }),
              std::string("Failed to open model file: ") + EZRKNN_SOURCE_DIR "/tests: Is a directory");

    char empty_path[] = "/tmp/ezrknn_empty_model_XXXXXX";
    const int fd = mkstemp(empty_path);
    ASSERT_GE(fd, 0);
    close(fd);
    EXPECT_EQ(message_of<Error>([&] { Session::from_file(empty_path, config()); }),
              std::string("Failed to read model file: ") + empty_path + ": the file is empty");
    unlink(empty_path);
}

TEST_F(EmulatorSession, GarbageAndUnsupportedModelsFailInRknnInitWithDetail) {
    const std::string junk(512, '\x5a');
    const std::string msg = message_of<Error>([&] { Session::from_bytes(junk.data(), junk.size(), config()); });
    EXPECT_EQ(msg.rfind("rknn_init failed: ", 0), 0u) << msg;

    const std::string unsupported =
        message_of<Error>([&] { Session::from_file(testing::model_path("unsupported_op.onnx"), config()); });
    EXPECT_EQ(unsupported.rfind("rknn_init failed: RKNN_ERR_MODEL_INVALID (-6): model is invalid. ", 0), 0u)
        << unsupported;
    EXPECT_TRUE(contains(unsupported, "Einsum")) << unsupported;
    EXPECT_TRUE(contains(unsupported, "einsum_node")) << unsupported;
    // The emulator's detail is reduced to its reason: the call and the code are named once.
    EXPECT_FALSE(contains(unsupported, "rknn_init: ")) << unsupported;
    EXPECT_FALSE(contains(unsupported, "(RKNN_ERR_MODEL_INVALID -6)")) << unsupported;
    try {
        Session::from_file(testing::model_path("unsupported_op.onnx"), config());
    } catch (const Error& err) {
        EXPECT_EQ(err.rknn_code(), -6);
    }
}

TEST_F(EmulatorSession, FromBytesRunsAfterTheCallerFreesTheBuffer) {
    std::shared_ptr<Session> s;
    {
        std::vector<char> bytes = testing::read_file(testing::model_path("add_conv.onnx"));
        ASSERT_FALSE(bytes.empty());
        s = Session::from_bytes(bytes.data(), bytes.size(), config());
        std::fill(bytes.begin(), bytes.end(), 0);  // the runtime copied it
    }
    EXPECT_EQ(s->custom_string(), "RGB engine-test");
    expect_reference_outputs(run_reference(*s));
    EXPECT_EQ(message_of<InvalidArgument>([&] { Session::from_bytes(nullptr, 0, config()); }), "Model bytes are empty");
}

TEST_F(EmulatorSession, ContextsFollowThreadsPerCoreAndSchedule) {
    ProviderOptions o;
    o.threads_per_core = 2;
    EXPECT_EQ(open(o)->context_count(), 2u);
    o.disable_dup_context = true;
    EXPECT_EQ(open(o)->context_count(), 2u);
    ProviderOptions sched;
    sched.schedule = std::vector<int>{0, 0, 1};
    EXPECT_EQ(open(sched)->context_count(), 2u) << "one context per distinct core";
    sched.schedule = std::vector<int>{0, 1, 2};
    auto s = open(sched);
    EXPECT_EQ(s->context_count(), 3u);
    expect_reference_outputs(run_reference(*s));
    // One context pinned to a single core; multi-core masks (tensor parallel) are the NPU-emulator issue's.
    ProviderOptions tp;
    tp.tp_mode = RKNN_NPU_CORE_2;
    auto t = open(tp);
    EXPECT_EQ(t->context_count(), 1u);
    expect_reference_outputs(run_reference(*t));
}

TEST_F(EmulatorSession, ConcurrentRunsShareThePool) {
    ProviderOptions o;
    o.threads_per_core = 2;
    auto s = open(o);
    std::vector<std::thread> threads;
    std::vector<std::vector<Tensor>> results(6);
    for (size_t i = 0; i < results.size(); ++i) {
        threads.emplace_back([&, i] {
            for (int k = 0; k < 5; ++k) results[i] = run_reference(*s);
        });
    }
    for (std::thread& t : threads) t.join();
    for (const auto& r : results) expect_reference_outputs(r);
}

TEST_F(EmulatorSession, UnavailableCoreFailsWithTheContractMessage) {
    ProviderOptions o;
    o.schedule = std::vector<int>{7};  // rk3588 has cores 0..2
    const std::string msg = message_of<Error>([&] { open(o); });
    EXPECT_EQ(msg.rfind("rknn_set_core_mask failed for thread 0: ", 0), 0u) << msg;
    EXPECT_TRUE(contains(msg, "RKNN_ERR_PARAM_INVALID (-5)")) << msg;
    EXPECT_TRUE(contains(msg, "0x80")) << "the emulator's detail names the mask: " << msg;
    EXPECT_TRUE(contains(msg, ". Maybe you specified a configuration that is not supported by the current platform"))
        << msg;
    // Contexts are numbered in the message; the ones already created are released on failure.
    o.schedule = std::vector<int>{0, 7};
    const std::string second = message_of<Error>([&] { open(o); });
    EXPECT_EQ(second.rfind("rknn_set_core_mask failed for thread 1: ", 0), 0u) << second;
}

TEST_F(EmulatorSession, SingleCorePlatformToleratesCoreZero) {
    testing::ScopedEnv platform("EZRKNN_EMU_PLATFORM", std::string("rk3566"));
    ProviderOptions o;
    o.schedule = std::vector<int>{0};
    auto s = open(o);
    expect_reference_outputs(run_reference(*s));
    ProviderOptions multi;
    multi.tp_mode = RKNN_NPU_CORE_0_1;
    EXPECT_TRUE(contains(message_of<Error>([&] { open(multi); }), "rknn_set_core_mask failed for thread 0: "));
}

// Plugins in full: test_custom_op_loader.cpp and tests/python/test_custom_op_plugins.py.
TEST_F(EmulatorSession, AMissingExplicitPluginWarnsThenFails) {
    ProviderOptions o;
    o.custom_op_paths = {"/opt/plugins/librkcst_foo.so"};
    const std::string msg = message_of<Error>([&] { open(o); });
    EXPECT_EQ(msg.rfind("dlopen /opt/plugins/librkcst_foo.so fail: ", 0), 0u) << msg;
    ASSERT_EQ(warnings.size(), 2u);
    EXPECT_EQ(warnings[0],
              "Custom op loading requested; dup_context is disabled for this session to avoid known RKNN stability "
              "issues.");
    EXPECT_EQ(warnings[1], msg + " (this could lead to a crash due to internal bugs of rknnrt)");
}

TEST_F(EmulatorSession, AMissingDefaultPluginDirectoryOnlyWarns) {
    testing::ScopedEnv dir("EZRKNN_CUSTOM_OP_DIR", std::string("/nonexistent/op_plugins"));
    ProviderOptions o;
    o.custom_op_default_path = true;
    o.threads_per_core = 2;
    auto s = open(o);
    EXPECT_EQ(s->context_count(), 2u);
    EXPECT_TRUE(s->options().disable_dup_context) << "forced on, and reported as such";
    ASSERT_EQ(warnings.size(), 2u);
    EXPECT_TRUE(contains(warnings[0], "dup_context is disabled"));
    EXPECT_EQ(warnings[1], "Default plugin directory does not exist: /nonexistent/op_plugins");
    EXPECT_TRUE(s->custom_ops().empty());
    expect_reference_outputs(run_reference(*s));
}

TEST_F(EmulatorSession, WeightSharingCannotCombineWithCustomOps) {
    auto master = open();
    SessionConfig c = config();
    c.weight_master = master;
    c.options.custom_op_default_path = true;
    EXPECT_EQ(message_of<InvalidArgument>([&] { Session::from_file(testing::model_path("add_conv.onnx"), c); }),
              "use_weight_from cannot be combined with custom-op loading");
}

TEST_F(SessionBeforeLoad, InvalidHandBuiltOptionsAreRejectedBeforeLoading) {
    ProviderOptions o;
    o.max_queue_size = 0;
    EXPECT_EQ(message_of<InvalidArgument>([&] { Session::from_file("/nonexistent.onnx", config(o)); }),
              "max_queue_size must be > 0");
}

}  // namespace
}  // namespace ezrknn
