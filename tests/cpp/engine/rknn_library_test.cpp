// Which RKNN library the engine loads, and what it says when it cannot.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <string>

#include "engine/runtime_version.hpp"
#include "ezrknn/errors.hpp"
#include "ezrknn/rknn_library.hpp"
#include "test_support.hpp"

namespace ezrknn {
namespace {

using testing::canonical;
using testing::message_of;
using testing::ScopedEnv;

bool vendor_runtime_installed() {
    void* h = dlopen("librknnrt.so", RTLD_LAZY | RTLD_LOCAL);
    if (h != nullptr) dlclose(h);
    return h != nullptr;
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

TEST(RknnLibrary, BundledEmulatorIsBesideTheEngineLibrary) {
    EXPECT_EQ(bundled_emulator_path(), canonical(testing::lib_dir()) + "/librknnrt_emu.so");
}

TEST(RknnLibrary, EmulatorByKeyword) {
    EZRKNN_REQUIRE_EMULATOR();
    ScopedEnv env(kRuntimeEnvVar, std::nullopt);
    std::string chosen_by;
    auto lib = RknnLibrary::load("emulator", &chosen_by);
    EXPECT_EQ(lib->kind(), RuntimeKind::Emulator);
    EXPECT_TRUE(lib->is_emulator());
    EXPECT_EQ(lib->path(), canonical(testing::emulator_path()));
    EXPECT_FALSE(lib->emulator_version().empty());
    EXPECT_EQ(chosen_by, "provider option runtime='emulator'");
    EXPECT_TRUE(lib->missing_optional_symbols().empty()) << "the emulator exports the whole API";
    EXPECT_NE(lib->fn().dup_context, nullptr);
    EXPECT_NE(lib->fn().emu_last_error, nullptr);
}

TEST(RknnLibrary, ExplicitPathSharesTheLoadedLibrary) {
    EZRKNN_REQUIRE_EMULATOR();
    auto by_keyword = RknnLibrary::load("emulator");
    auto by_path = RknnLibrary::load(testing::emulator_path());
    EXPECT_EQ(by_keyword, by_path) << "one library object per file while any user holds it";
    EXPECT_EQ(by_path->kind(), RuntimeKind::Emulator);
}

TEST(RknnLibrary, EnvironmentVariableChoosesWhenNoOptionIsGiven) {
    EZRKNN_REQUIRE_EMULATOR();
    ScopedEnv env(kRuntimeEnvVar, std::string("emulator"));
    std::string chosen_by;
    auto first = RknnLibrary::load("", &chosen_by);
    EXPECT_EQ(first->kind(), RuntimeKind::Emulator);
    EXPECT_EQ(chosen_by, "EZRKNN_RUNTIME='emulator'");
    // The same file reached through another channel while the first is alive: the reason is this call's own.
    ScopedEnv env_path(kRuntimeEnvVar, testing::emulator_path());
    auto lib = RknnLibrary::load("", &chosen_by);
    EXPECT_EQ(lib, first);
    EXPECT_EQ(lib->path(), canonical(testing::emulator_path()));
    EXPECT_EQ(chosen_by, "EZRKNN_RUNTIME='" + testing::emulator_path() + "'");
}

TEST(RknnLibrary, OptionWinsOverEnvironment) {
    EZRKNN_REQUIRE_EMULATOR();
    ScopedEnv env(kRuntimeEnvVar, std::string("/nonexistent/librknnrt.so"));
    EXPECT_EQ(RknnLibrary::load("emulator")->kind(), RuntimeKind::Emulator);
    const std::string msg = message_of<Error>([] { RknnLibrary::load(""); });
    EXPECT_TRUE(contains(msg, "Cannot load the RKNN runtime library '/nonexistent/librknnrt.so'")) << msg;
    EXPECT_TRUE(contains(msg, "EZRKNN_RUNTIME='/nonexistent/librknnrt.so'")) << msg;
    EXPECT_TRUE(contains(msg, "set EZRKNN_RUNTIME=emulator")) << msg;
}

TEST(RknnLibrary, DefaultOrderFallsBackToTheEmulatorWithoutAVendorRuntime) {
    EZRKNN_REQUIRE_EMULATOR();
    if (vendor_runtime_installed()) GTEST_SKIP() << "a vendor librknnrt.so is installed here";
    ScopedEnv env(kRuntimeEnvVar, std::nullopt);
    std::string chosen_by;
    auto lib = RknnLibrary::load("", &chosen_by);
    EXPECT_EQ(lib->kind(), RuntimeKind::Emulator);
    EXPECT_EQ(lib->path(), canonical(testing::emulator_path()));
    EXPECT_EQ(chosen_by, "the default search order (no librknnrt.so found)");
}

TEST(RknnLibrary, MissingPathNamesTheRequestAndWhatToDo) {
    ScopedEnv env(kRuntimeEnvVar, std::nullopt);
    const std::string msg = message_of<Error>([] { RknnLibrary::load("/nonexistent/dir/librknnrt.so"); });
    EXPECT_TRUE(contains(msg, "Cannot load the RKNN runtime library '/nonexistent/dir/librknnrt.so'")) << msg;
    EXPECT_TRUE(contains(msg, "provider option runtime='/nonexistent/dir/librknnrt.so'")) << msg;
    EXPECT_TRUE(contains(msg, "No such file or directory")) << msg;  // dlerror's text
    EXPECT_TRUE(contains(msg, "set the provider option runtime='emulator'")) << msg;
}

TEST(RknnLibrary, MissingVendorRuntimeSuggestsTheEmulator) {
    if (vendor_runtime_installed()) GTEST_SKIP() << "a vendor librknnrt.so is installed here";
    ScopedEnv env(kRuntimeEnvVar, std::string("vendor"));
    const std::string msg = message_of<Error>([] { RknnLibrary::load(""); });
    EXPECT_EQ(msg,
              "Cannot load the vendor RKNN runtime librknnrt.so (requested by EZRKNN_RUNTIME='vendor'): librknnrt.so: "
              "cannot open shared object file: No such file or directory. Install librknnrt.so on the board (e.g. in "
              "/usr/lib), or set EZRKNN_RUNTIME=emulator to run on the CPU emulator.");
    EXPECT_TRUE(contains(message_of<Error>([] { RknnLibrary::load("vendor"); }),
                         "or set the provider option runtime='emulator' to run on the CPU emulator"));
}

TEST(RknnLibrary, LibraryWithoutTheRknnApiListsTheMissingSymbols) {
    // libezrknn itself loads fine but exports no rknn_* function.
    const std::string msg = message_of<Error>([] { RknnLibrary::load(testing::lib_dir() + "/libezrknn.so"); });
    EXPECT_TRUE(contains(msg, "is not a usable RKNN runtime")) << msg;
    EXPECT_TRUE(contains(msg, "rknn_init, rknn_destroy, rknn_query, rknn_inputs_set, rknn_run, rknn_outputs_get, "
                              "rknn_outputs_release"))
        << msg;
}

TEST(RknnLibrary, KindNames) {
    EXPECT_STREQ(runtime_kind_name(RuntimeKind::Vendor), "vendor");
    EXPECT_STREQ(runtime_kind_name(RuntimeKind::Emulator), "emulator");
}

TEST(ApiVersion, ParsesTheFirstThreeNumbers) {
    using detail::parse_api_version;
    EXPECT_EQ(parse_api_version("2.3.2 (abcd@2024-01-01)"), (std::array<int, 3>{2, 3, 2}));
    EXPECT_EQ(parse_api_version("v1.5.2"), (std::array<int, 3>{1, 5, 2}));
    EXPECT_EQ(parse_api_version("2.4"), std::nullopt);
    EXPECT_EQ(parse_api_version(""), std::nullopt);
    EXPECT_TRUE(detail::is_outdated_api_version("2.3.2 (fake vendor)"));
    EXPECT_TRUE(detail::is_outdated_api_version("1.6.0"));
    EXPECT_FALSE(detail::is_outdated_api_version("2.4.1"));
    EXPECT_FALSE(detail::is_outdated_api_version("2.4.2b0"));
    EXPECT_FALSE(detail::is_outdated_api_version("unknown"));
    EXPECT_EQ(detail::outdated_api_version_warning("2.3.2"),
              "RKNN API version 2.3.2 is likely outdated; behavior may be unstable. Recommended minimum version is "
              "2.4.1.");
}

TEST(RuntimeInfo, DescribeNamesKindFileAndVersions) {
    RuntimeInfo info;
    info.kind = "emulator";
    info.library_path = "/x/lib/librknnrt_emu.so";
    info.api_version = "2.3.2 (ezrknn emulator 0.1.0)";
    info.drv_version = "ezrknn emulator 0.1.0";
    EXPECT_EQ(info.describe(),
              "emulator: librknnrt_emu.so 2.3.2 (ezrknn emulator 0.1.0), driver ezrknn emulator 0.1.0");
    info.drv_version.clear();
    info.api_version.clear();
    EXPECT_EQ(info.describe(), "emulator: librknnrt_emu.so (unknown version)");
}

}  // namespace
}  // namespace ezrknn
