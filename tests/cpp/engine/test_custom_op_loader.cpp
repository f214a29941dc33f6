// The custom-op plugin loader (src/engine/custom_op_loader): built twice, into engine_tests with the gate on and
// into custom_op_gate_off_tests with ZTU_EZRKNN_ASYNC_HAS_CUSTOM_OP=0; each build checks its own behaviour.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "engine/custom_op_loader.hpp"
#include "ezrknn/errors.hpp"
#if ZTU_EZRKNN_ASYNC_HAS_CUSTOM_OP
#include "ezrknn/session.hpp"
#endif

namespace fs = std::filesystem;
using ezrknn::detail::CustomOpPlugins;

namespace {

std::string plugin(const std::string& name) { return std::string(EZRKNN_BUILD_DIR) + "/plugins/" + name; }
[[maybe_unused]] std::string bad_plugin() { return std::string(EZRKNN_BUILD_DIR) + "/plugins_bad/librkcst_missing_symbol.so"; }

struct Collected {
    std::vector<std::string> warnings;
    CustomOpPlugins::WarningSink sink() {
        return [this](const std::string& m) { warnings.push_back(m); };
    }
    bool any_contains(const std::string& text) const {
        for (const std::string& w : warnings) {
            if (w.find(text) != std::string::npos) return true;
        }
        return false;
    }
};

template <typename F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "<no exception>";
}

class ScopedDirEnv {
public:
    explicit ScopedDirEnv(const std::optional<std::string>& value) {
        if (const char* old = getenv(ezrknn::detail::kCustomOpDirEnvVar)) old_ = old;
        if (value) setenv(ezrknn::detail::kCustomOpDirEnvVar, value->c_str(), 1);
        else unsetenv(ezrknn::detail::kCustomOpDirEnvVar);
    }
    ~ScopedDirEnv() {
        if (old_) setenv(ezrknn::detail::kCustomOpDirEnvVar, old_->c_str(), 1);
        else unsetenv(ezrknn::detail::kCustomOpDirEnvVar);
    }

private:
    std::optional<std::string> old_;
};

[[maybe_unused]] fs::path fresh_dir(const std::string& name) {
    fs::path dir = fs::temp_directory_path() / (name + "_" + std::to_string(getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

}  // namespace

TEST(CustomOpGate, CompiledInMatchesTheMacro) {
    EXPECT_EQ(CustomOpPlugins::compiled_in(), ZTU_EZRKNN_ASYNC_HAS_CUSTOM_OP != 0);
}

TEST(CustomOpGate, NoRequestDoesNothing) {
    Collected c;
    CustomOpPlugins plugins(c.sink());
    plugins.load({}, false);
    EXPECT_EQ(plugins.op_count(), 0u);
    EXPECT_TRUE(c.warnings.empty());
}

TEST(CustomOpGate, DefaultDirectoryFollowsTheEnvironment) {
    {
        ScopedDirEnv env(std::string("/opt/my plugins/"));
        EXPECT_EQ(ezrknn::detail::default_custom_op_directory(), "/opt/my plugins/");
    }
    {
        ScopedDirEnv env(std::string(""));  // empty means unset
        EXPECT_EQ(ezrknn::detail::default_custom_op_directory(), "/usr/lib/rknpu/op_plugins/");
    }
}

#if ZTU_EZRKNN_ASYNC_HAS_CUSTOM_OP

TEST(CustomOpLoader, LoadsAPluginAndDescribesItsOp) {
    Collected c;
    CustomOpPlugins plugins(c.sink());
    plugins.load({plugin("librkcst_cstsigmoid.so"), plugin("librkcst_relu.so")}, false);
    ASSERT_EQ(plugins.op_count(), 2u);
    const std::vector<std::string> ops = plugins.describe();
    EXPECT_EQ(ops[0], "cstSigmoid (version=1, target=1) from " + plugin("librkcst_cstsigmoid.so"));
    EXPECT_EQ(ops[1], "Relu (version=1, target=1) from " + plugin("librkcst_relu.so"));
    EXPECT_TRUE(c.warnings.empty());
}

TEST(CustomOpLoader, ADirectoryIsRefusedClearly) {
    Collected c;
    CustomOpPlugins plugins(c.sink());
    const std::string dir = std::string(EZRKNN_BUILD_DIR) + "/plugins";
    const std::string msg = error_of([&] { plugins.load_file(dir); });
    EXPECT_NE(msg.find("custom op plugin path " + dir + " is a directory"), std::string::npos) << msg;
    EXPECT_THROW(plugins.load_file(dir), ezrknn::InvalidArgument);
    EXPECT_EQ(plugins.op_count(), 0u);
}

TEST(CustomOpLoader, AFileThatCannotBeOpenedWarnsThenThrows) {
    Collected c;
    CustomOpPlugins plugins(c.sink());
    const std::string path = "/nonexistent/librkcst_nothing.so";
    const std::string msg = error_of([&] { plugins.load({path}, false); });
    EXPECT_EQ(msg.rfind("dlopen " + path + " fail: ", 0), 0u) << msg;
    EXPECT_NE(msg.find("No such file"), std::string::npos) << msg;
    ASSERT_EQ(c.warnings.size(), 1u);
    EXPECT_EQ(c.warnings[0], msg + " (this could lead to a crash due to internal bugs of rknnrt)");
}

TEST(CustomOpLoader, AMissingEntryPointNamesTheDlsymFailure) {
    Collected c;
    CustomOpPlugins plugins(c.sink());
    const std::string msg = error_of([&] { plugins.load_file(bad_plugin()); });
    EXPECT_EQ(msg.rfind("dlsym fail for get_rknn_custom_op: ", 0), 0u) << msg;
    EXPECT_NE(msg.find("undefined symbol: get_rknn_custom_op"), std::string::npos) << msg;
    EXPECT_EQ(plugins.op_count(), 0u);
}

TEST(CustomOpLoader, ASecondDefinitionOfTheSameOpIsRefused) {
    Collected c;
    CustomOpPlugins plugins(c.sink());
    const fs::path dir = fresh_dir("ezrknn_dup_plugin");
    const fs::path copy = dir / "librkcst_sigmoid_copy.so";
    fs::copy_file(plugin("librkcst_cstsigmoid.so"), copy);
    const std::string msg =
        error_of([&] { plugins.load({plugin("librkcst_cstsigmoid.so"), copy.string()}, false); });
    EXPECT_EQ(msg, "Duplicate custom op definition detected: cstSigmoid (version=1, target=1) from " + copy.string() +
                       "; already loaded from " + plugin("librkcst_cstsigmoid.so"));
    EXPECT_EQ(plugins.op_count(), 1u);
    fs::remove_all(dir);
}

TEST(CustomOpLoader, TheDirectoryScanLoadsEveryPluginInNameOrderAndWarnsPerBadFile) {
    const fs::path dir = fresh_dir("ezrknn_scan");
    fs::copy_file(plugin("librkcst_relu.so"), dir / "librkcst_b_relu.so");
    fs::copy_file(plugin("librkcst_cstsigmoid.so"), dir / "librkcst_a_sigmoid.so");
    fs::copy_file(bad_plugin(), dir / "librkcst_c_broken.so");
    fs::copy_file(plugin("librkcst_argmax.so"), dir / "notaplugin.so");       // wrong prefix: ignored
    fs::copy_file(plugin("librkcst_argmax.so"), dir / "librkcst_argmax.so.1");  // wrong suffix: ignored
    fs::create_directories(dir / "librkcst_subdir.so");                        // not a regular file: ignored
    ScopedDirEnv env(dir.string());
    Collected c;
    CustomOpPlugins plugins(c.sink());
    plugins.load({}, true);
    const std::vector<std::string> ops = plugins.describe();
    ASSERT_EQ(ops.size(), 2u);
    EXPECT_EQ(ops[0], "cstSigmoid (version=1, target=1) from " + (dir / "librkcst_a_sigmoid.so").string());
    EXPECT_EQ(ops[1], "Relu (version=1, target=1) from " + (dir / "librkcst_b_relu.so").string());
    ASSERT_EQ(c.warnings.size(), 1u);
    EXPECT_EQ(c.warnings[0].rfind("Failed to load plugin librkcst_c_broken.so: dlsym fail for get_rknn_custom_op", 0),
              0u)
        << c.warnings[0];
    fs::remove_all(dir);
}

TEST(CustomOpLoader, AMissingDefaultDirectoryWarnsAndLoadsNothing) {
    ScopedDirEnv env(std::string("/nonexistent/op_plugins"));
    Collected c;
    CustomOpPlugins plugins(c.sink());
    plugins.load({}, true);
    EXPECT_EQ(plugins.op_count(), 0u);
    ASSERT_EQ(c.warnings.size(), 1u);
    EXPECT_EQ(c.warnings[0], "Default plugin directory does not exist: /nonexistent/op_plugins");
}

namespace {
int g_register_calls = 0;
std::vector<std::string> g_registered;
rknn_context g_registered_ctx = 0;
int record_register(rknn_context ctx, rknn_custom_op* ops, uint32_t n) {
    ++g_register_calls;
    g_registered_ctx = ctx;
    g_registered.clear();
    for (uint32_t i = 0; i < n; ++i) g_registered.emplace_back(ops[i].op_type);
    return RKNN_SUCC;
}
}  // namespace

TEST(CustomOpLoader, RegistersEveryOpInOneCallAndRefusesLaterLoads) {
    Collected c;
    CustomOpPlugins plugins(c.sink());
    g_register_calls = 0;
    EXPECT_EQ(plugins.register_on(record_register, 7), RKNN_SUCC);
    EXPECT_EQ(g_register_calls, 0) << "nothing loaded: nothing to register";
    plugins.load({plugin("librkcst_cstsigmoid.so"), plugin("librkcst_cstscale.so")}, false);
    EXPECT_EQ(plugins.register_on(record_register, 7), RKNN_SUCC);
    EXPECT_EQ(g_register_calls, 1);
    EXPECT_EQ(g_registered_ctx, 7u);
    EXPECT_EQ(g_registered, (std::vector<std::string>{"cstSigmoid", "cstScale"}));
    EXPECT_EQ(error_of([&] { plugins.load_file(plugin("librkcst_relu.so")); }),
              "Custom ops have already been registered for this session");
}

TEST(CustomOpSession, PluginsRegisterOnEveryContextAndForceSeparateInits) {
    ezrknn::SessionConfig config;
    config.options.runtime = std::string(EZRKNN_BUILD_DIR) + "/lib/librknnrt_emu.so";
    config.options.schedule = std::vector<int>{0, 1};
    config.options.custom_op_paths = {plugin("librkcst_relu.so")};
    std::vector<std::string> warnings;
    config.warning_sink = [&](const std::string& m) { warnings.push_back(m); };
    auto session = ezrknn::Session::from_file(std::string(EZRKNN_SOURCE_DIR) + "/tests/models/add_conv.onnx",
                                              std::move(config));
    EXPECT_EQ(session->context_count(), 2u);
    EXPECT_TRUE(session->options().disable_dup_context);
    EXPECT_EQ(session->custom_ops(),
              (std::vector<std::string>{"Relu (version=1, target=1) from " + plugin("librkcst_relu.so")}));
    ASSERT_FALSE(warnings.empty());
    EXPECT_EQ(warnings[0], "Custom op loading requested; dup_context is disabled for this session to avoid known "
                           "RKNN stability issues.");
}

TEST(CustomOpSession, WeightSharingAndPluginsDoNotMix) {
    ezrknn::SessionConfig master_config;
    master_config.options.runtime = std::string(EZRKNN_BUILD_DIR) + "/lib/librknnrt_emu.so";
    const std::string model = std::string(EZRKNN_SOURCE_DIR) + "/tests/models/add_conv.onnx";
    auto master = ezrknn::Session::from_file(model, master_config);
    ezrknn::SessionConfig config;
    config.weight_master = master;
    config.options.custom_op_paths = {plugin("librkcst_relu.so")};
    const std::string msg = error_of([&] { ezrknn::Session::from_file(model, config); });
    EXPECT_EQ(msg.rfind("use_weight_from cannot be combined with custom-op loading", 0), 0u) << msg;
}

#else  // the gate is off

TEST(CustomOpGateOff, ExplicitPathsWarnAndFail) {
    Collected c;
    CustomOpPlugins plugins(c.sink());
    const std::string msg = error_of([&] { plugins.load({plugin("librkcst_relu.so")}, false); });
    EXPECT_EQ(msg.rfind("Custom op support disabled (missing rknn_custom_op.h)", 0), 0u) << msg;
    EXPECT_NE(msg.find("ZTU_EZRKNN_ASYNC_HAS_CUSTOM_OP=0"), std::string::npos) << msg;
    EXPECT_THROW(plugins.load({plugin("librkcst_relu.so")}, false), ezrknn::NotSupported);
    ASSERT_FALSE(c.warnings.empty());
    EXPECT_EQ(c.warnings[0], msg);
    EXPECT_EQ(plugins.op_count(), 0u);
}

TEST(CustomOpGateOff, TheDefaultDirectoryWarnsAndFailsToo) {
    Collected c;
    CustomOpPlugins plugins(c.sink());
    EXPECT_THROW(plugins.load({}, true), ezrknn::NotSupported);
    ASSERT_EQ(c.warnings.size(), 1u);
    EXPECT_NE(c.warnings[0].find("Custom op support disabled"), std::string::npos);
    EXPECT_THROW(plugins.load_file(plugin("librkcst_relu.so")), ezrknn::NotSupported);
    EXPECT_THROW(plugins.load_directory(std::string(EZRKNN_BUILD_DIR) + "/plugins"), ezrknn::NotSupported);
}

#endif
