// A vendor-like library (libfake_rknnrt.so: the emulator behind a vendor face, lacking newer symbols) proves the
// vendor-only rules: the outdated-version warning, and optional symbols failing only when a feature needs them.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "ezrknn/errors.hpp"
#include "ezrknn/rknn_library.hpp"
#include "ezrknn/session.hpp"
#include "test_support.hpp"

namespace ezrknn {
namespace {

using testing::message_of;

const char* const kOutdatedWarning =
    "RKNN API version 2.3.2 (fake vendor) is likely outdated; behavior may be unstable. Recommended minimum version "
    "is 2.4.1.";

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

class FakeVendor : public ::testing::Test {
protected:
    void SetUp() override {
        EZRKNN_REQUIRE_EMULATOR();
        ASSERT_TRUE(testing::file_exists(testing::fake_vendor_path())) << testing::fake_vendor_path();
        set_api_version("2.3.2 (fake vendor)");
    }
    void TearDown() override { set_api_version("2.3.2 (fake vendor)"); }

    // The fake's own test hook; the same mapping the engine loads, since a file is mapped once per process.
    // RTLD_NODELETE keeps the setting alive when this test runs alone and nothing else holds the library yet.
    static void set_api_version(const char* version) {
        void* h = dlopen(testing::fake_vendor_path().c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        ASSERT_NE(h, nullptr) << dlerror();
        auto set = reinterpret_cast<void (*)(const char*)>(dlsym(h, "fake_rknnrt_set_api_version"));
        ASSERT_NE(set, nullptr);
        set(version);
        dlclose(h);
    }

    SessionConfig config(ProviderOptions options = {}) {
        options.runtime = testing::fake_vendor_path();
        SessionConfig c;
        c.options = std::move(options);
        c.warning_sink = [this](const std::string& w) { warnings.push_back(w); };
        return c;
    }

    std::vector<std::string> warnings;
};

TEST_F(FakeVendor, IsTreatedAsAVendorLibrary) {
    auto lib = RknnLibrary::load(testing::fake_vendor_path());
    EXPECT_EQ(lib->kind(), RuntimeKind::Vendor);
    EXPECT_EQ(lib->emulator_version(), "");
    EXPECT_EQ(lib->last_error_detail(), "");
    const std::vector<std::string> missing = lib->missing_optional_symbols();
    for (const char* sym : {"rknn_dup_context", "rknn_create_mem2", "rknn_create_mem", "rknn_set_io_mem"}) {
        EXPECT_NE(std::find(missing.begin(), missing.end(), sym), missing.end()) << sym;
    }
    EXPECT_EQ(std::find(missing.begin(), missing.end(), "rknn_set_core_mask"), missing.end());
}

TEST_F(FakeVendor, MissingOptionalSymbolFailsOnlyWhenRequired) {
    auto lib = RknnLibrary::load(testing::fake_vendor_path());
    EXPECT_NE(lib->require(&RknnFunctions::set_core_mask, "rknn_set_core_mask", "2.3.2"), nullptr);
    const std::string msg = message_of<NotSupported>(
        [&] { lib->require(&RknnFunctions::create_mem2, "rknn_create_mem2", "2.3.2 (fake vendor)"); });
    EXPECT_EQ(msg, "rknn_create_mem2 is not supported by librknnrt 2.3.2 (fake vendor) (" + lib->path() + ")");
}

TEST_F(FakeVendor, SessionReportsVendorAndWarnsAboutTheOldVersion) {
    auto session = Session::from_file(testing::model_path("add_conv.onnx"), config());
    EXPECT_EQ(session->runtime().kind, "vendor");
    EXPECT_EQ(session->runtime().api_version, "2.3.2 (fake vendor)");
    EXPECT_EQ(session->runtime().drv_version, "0.9.8 (fake vendor)");
    EXPECT_EQ(session->runtime().library_path, testing::canonical(testing::fake_vendor_path()));
    EXPECT_EQ(session->runtime().describe(),
              "vendor: libfake_rknnrt.so 2.3.2 (fake vendor), driver 0.9.8 (fake vendor)");
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0], kOutdatedWarning);

    // The default configuration needs no optional symbol, so the session runs.
    testing::AddConvInputs in;
    auto out = session->run({testing::view_of(in.image, {1, 3, 8, 8}), testing::view_of(in.offset, {1, 4})});
    ASSERT_EQ(out.size(), 2u);
    const std::vector<float> expected = testing::add_conv_expected();
    testing::expect_close(static_cast<const float*>(out[1].data), expected.data() + 256, 4, "pooled");
}

TEST_F(FakeVendor, RecentVendorVersionDoesNotWarn) {
    set_api_version("2.4.2 (fake vendor)");
    auto session = Session::from_file(testing::model_path("add_conv.onnx"), config());
    EXPECT_EQ(session->runtime().api_version, "2.4.2 (fake vendor)");
    EXPECT_TRUE(warnings.empty());
}

TEST_F(FakeVendor, EmulatorNeverGetsTheVersionWarning) {
    ProviderOptions o;
    SessionConfig c = config(o);
    c.options.runtime = "emulator";
    auto session = Session::from_file(testing::model_path("add_conv.onnx"), c);
    EXPECT_EQ(session->runtime().kind, "emulator");
    EXPECT_TRUE(warnings.empty()) << warnings.front();
}

TEST_F(FakeVendor, ExtraContextsNeedDupContextOrTheOptOut) {
    ProviderOptions o;
    o.threads_per_core = 2;
    const std::string msg =
        message_of<NotSupported>([&] { Session::from_file(testing::model_path("add_conv.onnx"), config(o)); });
    EXPECT_TRUE(contains(msg, "rknn_dup_context is not supported by librknnrt 2.3.2 (fake vendor) (")) << msg;
    EXPECT_TRUE(contains(msg, "disable_dup_context=True")) << msg;

    o.disable_dup_context = true;
    auto session = Session::from_file(testing::model_path("add_conv.onnx"), config(o));
    EXPECT_EQ(session->context_count(), 2u);
}

TEST_F(FakeVendor, CoreMaskWorksThroughTheVendorTable) {
    ProviderOptions o;
    o.tp_mode = RKNN_NPU_CORE_1;
    auto session = Session::from_file(testing::model_path("add_conv.onnx"), config(o));
    EXPECT_EQ(session->context_count(), 1u);
}

}  // namespace
}  // namespace ezrknn
