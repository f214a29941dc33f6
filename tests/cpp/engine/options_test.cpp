// Provider options: every key, alias and message of anchor-behaviour.md §2, plus `runtime`.
#include <gtest/gtest.h>

#include <climits>
#include <string>
#include <utility>
#include <vector>

#include "ezrknn/errors.hpp"
#include "ezrknn/options.hpp"
#include "test_support.hpp"

namespace ezrknn {
namespace {

using Entries = std::vector<std::pair<std::string, OptionValue>>;
using testing::message_of;

OptionValue S(const std::string& s) { return OptionValue::string(s); }
OptionValue P(const std::string& s) { return OptionValue::path(s); }
OptionValue I(int64_t v) { return OptionValue::integer(v); }
OptionValue B(bool v) { return OptionValue::boolean(v); }
OptionValue F(double v) { return OptionValue::floating(v); }
OptionValue L(std::vector<OptionValue> v) { return OptionValue::list(std::move(v)); }
OptionValue N() { return OptionValue::none(); }
OptionValue O(const std::string& type) { return OptionValue::other(type); }

ProviderOptions parse1(const std::string& key, const OptionValue& v) { return parse_provider_options({{key, v}}); }

struct ErrorCase {
    std::string key;
    OptionValue value;
    std::string message;
};

const std::string kTpExpected = "expected one of: auto, all, 0, 1, 2, 0,1, 0,1,2";

std::vector<ErrorCase> error_cases() {
    std::vector<ErrorCase> cases = {
        {"layout", S("NCHWX"), "Unknown layout: NCHWX"},
        {"layout", S("nc hw"), "Unknown layout: nc hw"},
        {"layout", I(1), "layout must be a string"},
        {"zero_copy_layout", S("NCHW"), "Unknown zero_copy_layout: NCHW, expected 'nhwc' or 'native'"},
        {"zero_copy_layout", N(), "zero_copy_layout must be a string"},
        {"max_queue_size", I(0), "max_queue_size must be > 0"},
        {"max_queue_size", I(-3), "max_queue_size must be > 0"},
        {"max_queue_size", S("abc"), "max_queue_size must be an integer"},
        {"max_queue_size", S("1.5"), "max_queue_size must be an integer"},
        {"max_queue_size", S(""), "max_queue_size must be an integer"},
        {"max_queue_size", S("+-3"), "max_queue_size must be an integer"},
        {"max_queue_size", F(2.0), "max_queue_size must be an integer"},
        {"max_queue_size", N(), "max_queue_size must be an integer"},
        {"max_queue_size", I(int64_t{INT_MAX} + 1), "max_queue_size must be <= 2147483647"},
        {"threads_per_core", I(0), "threads_per_core must be > 0"},
        {"threads_per_core", I(65), "threads_per_core must be <= 64"},
        {"threads_per_core", L({I(1)}), "threads_per_core must be an integer"},
        {"submit_timeout_ms", I(0), "submit_timeout_ms must be > 0"},
        {"submit_timeout_ms", S("99999999999"), "submit_timeout_ms must be <= 2147483647"},
        {"submit_timeout_ms", O("dict"), "submit_timeout_ms must be an integer"},
        {"schedule", I(-1), "schedule values must be >= 0"},
        {"schedule", I(16), "schedule values must be <= 15 (NPU core ids)"},
        {"schedule", S("0,x"), "schedule must contain integers"},
        {"schedule", S("0.5"), "schedule must contain integers"},
        {"schedule", S("[0, -1]"), "schedule values must be >= 0"},
        {"schedule", S("[0, 99]"), "schedule values must be <= 15 (NPU core ids)"},
        {"schedule", S(""), "schedule must not be empty"},
        {"schedule", S("[ , ]"), "schedule must not be empty"},
        {"schedule", L({}), "schedule must not be empty"},
        {"schedule", L({I(0), S("a")}), "schedule must be an integer"},
        {"schedule", L({I(0), F(1.0)}), "schedule must be an integer"},
        {"schedule", L({I(-2)}), "schedule values must be >= 0"},
        {"schedule", F(1.0), "schedule must be an integer, string, or sequence"},
        {"schedule", N(), "schedule must be an integer, string, or sequence"},
        {"schedule", P("/tmp"), "schedule must be an integer, string, or sequence"},
        {"tp_mode", I(0), "tp_mode must be a string"},
        {"tp_mode", N(), "tp_mode must be a string"},
        {"tp_mode", S("0, 1"), "invalid tp_mode: '0, 1', " + kTpExpected},
        {"tp_mode", S(" Core0 "), "invalid tp_mode: 'core0', " + kTpExpected},
        {"tp_mode", S("3"), "invalid tp_mode: '3', " + kTpExpected},
        {"custom_op_path", I(1), "custom_op_path must be a path-like object or sequence of path-like objects"},
        {"custom_op_path", L({S("a"), I(1)}), "custom_op_path must be a path-like object or string"},
        {"custom_op_paths", O("dict"), "custom_op_paths must be a path-like object or sequence of path-like objects"},
        {"custom_op_paths", L({N()}), "custom_op_paths must be a path-like object or string"},
        {"runtime", I(1), "runtime must be 'vendor', 'emulator' or the path of an RKNN runtime library"},
        {"runtime", S("  "), "runtime must be 'vendor', 'emulator' or the path of an RKNN runtime library"},
        {"runtime", L({S("emulator")}), "runtime must be 'vendor', 'emulator' or the path of an RKNN runtime library"},
        {"output_dtype", S("int8"), "Unknown output_dtype: int8, expected 'float32' or 'native'"},
        {"output_dtype", S("float"), "Unknown output_dtype: float, expected 'float32' or 'native'"},
        {"output_dtype", S(""), "Unknown output_dtype: , expected 'float32' or 'native'"},
        {"output_dtype", I(1), "output_dtype must be a string ('float32' or 'native')"},
        {"output_dtype", N(), "output_dtype must be a string ('float32' or 'native')"},
    };
    for (const char* key : {"sequential_callbacks", "enable_pacing", "disable_dup_context", "custom_op_default_path",
                            "load_custom_ops_from_default_path"}) {
        cases.push_back({key, S("maybe"), std::string(key) + " must be a boolean"});
        cases.push_back({key, F(1.0), std::string(key) + " must be a boolean"});
        cases.push_back({key, N(), std::string(key) + " must be a boolean"});
        cases.push_back({key, L({B(true)}), std::string(key) + " must be a boolean"});
    }
    return cases;
}

TEST(ProviderOptions, EveryInvalidValueGetsTheContractMessage) {
    for (const ErrorCase& c : error_cases()) {
        SCOPED_TRACE(c.key + " -> " + c.message);
        EXPECT_EQ(message_of<InvalidArgument>([&] { parse1(c.key, c.value); }), c.message);
    }
}

TEST(ProviderOptions, DefaultsMatchTheContract) {
    const ProviderOptions o = parse_provider_options({});
    EXPECT_EQ(o.layout, InputLayout::NCHW);
    EXPECT_EQ(o.zero_copy_layout, ZeroCopyLayout::NHWC);
    EXPECT_EQ(o.max_queue_size, 3);
    EXPECT_EQ(o.threads_per_core, 1);
    EXPECT_EQ(o.submit_timeout_ms, 10000);
    EXPECT_TRUE(o.sequential_callbacks);
    EXPECT_FALSE(o.schedule.has_value());
    EXPECT_FALSE(o.tp_mode.has_value());
    EXPECT_FALSE(o.enable_pacing);
    EXPECT_FALSE(o.disable_dup_context);
    EXPECT_TRUE(o.custom_op_paths.empty());
    EXPECT_FALSE(o.custom_op_default_path);
    EXPECT_FALSE(o.custom_ops_requested());
    EXPECT_EQ(o.runtime, "");
    EXPECT_EQ(o.output_dtype, OutputDtype::Float32);
}

TEST(ProviderOptions, OutputDtypeIsTrimmedAndCaseInsensitiveAndNamesTheCallersType) {
    EXPECT_EQ(parse1("output_dtype", S(" Native ")).output_dtype, OutputDtype::Native);
    EXPECT_EQ(parse1("output_dtype", S("FLOAT32")).output_dtype, OutputDtype::Float32);
    EXPECT_EQ(parse_output_dtype(S("native")), OutputDtype::Native);
    OptionValue from_python = I(5);
    from_python.type_name = "int";
    EXPECT_EQ(message_of<InvalidArgument>([&] { parse_output_dtype(from_python); }),
              "output_dtype must be a string ('float32' or 'native'), got int");
    EXPECT_STREQ(output_dtype_name(OutputDtype::Native), "native");
    EXPECT_STREQ(output_dtype_name(OutputDtype::Float32), "float32");
}

TEST(ProviderOptions, LayoutValuesAndAliasesAreTrimmedAndCaseInsensitive) {
    const std::vector<std::pair<std::string, InputLayout>> cases = {
        {"nchw", InputLayout::NCHW},         {"original", InputLayout::NCHW},
        {" NCHW ", InputLayout::NCHW},       {"nchw_software", InputLayout::NCHWSoftware},
        {"Original_Software", InputLayout::NCHWSoftware}, {"nhwc", InputLayout::NHWC},
        {"NHWC\n", InputLayout::NHWC},       {"any", InputLayout::Any},
    };
    for (const auto& [text, want] : cases) {
        SCOPED_TRACE(text);
        EXPECT_EQ(parse1("layout", S(text)).layout, want);
    }
    EXPECT_EQ(parse1("zero_copy_layout", S(" Native ")).zero_copy_layout, ZeroCopyLayout::Native);
    EXPECT_EQ(parse1("zero_copy_layout", S("NHWC")).zero_copy_layout, ZeroCopyLayout::NHWC);
    EXPECT_STREQ(input_layout_name(InputLayout::NCHWSoftware), "nchw_software");
    EXPECT_STREQ(zero_copy_layout_name(ZeroCopyLayout::Native), "native");
}

TEST(ProviderOptions, IntLikeAcceptsIntsBoolsAndDecimalStrings) {
    EXPECT_EQ(parse1("max_queue_size", I(7)).max_queue_size, 7);
    EXPECT_EQ(parse1("max_queue_size", S(" 12 ")).max_queue_size, 12);
    EXPECT_EQ(parse1("max_queue_size", S("+5")).max_queue_size, 5);
    EXPECT_EQ(parse1("max_queue_size", B(true)).max_queue_size, 1);
    EXPECT_EQ(parse1("threads_per_core", S("64")).threads_per_core, 64);
    EXPECT_EQ(parse1("submit_timeout_ms", I(INT_MAX)).submit_timeout_ms, INT_MAX);
}

TEST(ProviderOptions, BoolLikeAcceptsBoolsIntsAndWords) {
    for (const char* key : {"sequential_callbacks", "enable_pacing", "disable_dup_context", "custom_op_default_path",
                            "load_custom_ops_from_default_path"}) {
        SCOPED_TRACE(key);
        for (const char* yes : {"1", "true", " TRUE ", "on", "Yes"}) {
            const ProviderOptions o = parse1(key, S(yes));
            const std::string k = key;
            const bool got = k == "sequential_callbacks" ? o.sequential_callbacks
                             : k == "enable_pacing"      ? o.enable_pacing
                             : k == "disable_dup_context" ? o.disable_dup_context
                                                          : o.custom_op_default_path;
            EXPECT_TRUE(got) << yes;
        }
    }
    EXPECT_FALSE(parse1("sequential_callbacks", S("0")).sequential_callbacks);
    EXPECT_FALSE(parse1("sequential_callbacks", S(" off")).sequential_callbacks);
    EXPECT_FALSE(parse1("sequential_callbacks", S("No")).sequential_callbacks);
    EXPECT_FALSE(parse1("sequential_callbacks", S("false")).sequential_callbacks);
    EXPECT_FALSE(parse1("sequential_callbacks", B(false)).sequential_callbacks);
    EXPECT_FALSE(parse1("sequential_callbacks", I(0)).sequential_callbacks);
    EXPECT_TRUE(parse1("enable_pacing", I(2)).enable_pacing);
    EXPECT_TRUE(parse1("enable_pacing", B(true)).enable_pacing);
}

TEST(ProviderOptions, ScheduleFromIntStringAndSequence) {
    EXPECT_EQ(*parse1("schedule", I(2)).schedule, std::vector<int>({2}));
    EXPECT_EQ(*parse1("schedule", S("0,1,2")).schedule, std::vector<int>({0, 1, 2}));
    EXPECT_EQ(*parse1("schedule", S("[0, 0, 1]")).schedule, std::vector<int>({0, 0, 1}));
    EXPECT_EQ(*parse1("schedule", S(" 2 1 ")).schedule, std::vector<int>({2, 1}));
    EXPECT_EQ(*parse1("schedule", L({I(0), S(" 1 "), B(true), I(15)})).schedule, std::vector<int>({0, 1, 1, 15}));
}

TEST(ProviderOptions, TpModeMapsToCoreMasks) {
    const std::vector<std::pair<std::string, uint32_t>> cases = {
        {"auto", 0}, {" AUTO ", 0}, {"all", 0xffff}, {"0", 1}, {"1", 2}, {"2", 4}, {"0,1", 3}, {"0,1,2", 7},
    };
    for (const auto& [text, mask] : cases) {
        SCOPED_TRACE(text);
        EXPECT_EQ(*parse1("tp_mode", S(text)).tp_mode, mask);
    }
}

TEST(ProviderOptions, ScheduleAndTpModeConflictAfterTheLoop) {
    const std::string want = "provider_options 'tp_mode' conflicts with 'schedule'; set only one.";
    auto error = [](const Entries& e) { return message_of<InvalidArgument>([&] { parse_provider_options(e); }); };
    EXPECT_EQ(error({{"schedule", I(0)}, {"tp_mode", S("0")}}), want);
    EXPECT_EQ(error({{"tp_mode", S("all")}, {"schedule", S("1")}}), want);
    // A per-key error met in the loop wins over the conflict.
    EXPECT_EQ(message_of<InvalidArgument>(
                  [] { parse_provider_options({{"schedule", I(0)}, {"tp_mode", S("0")}, {"layout", S("x")}}); }),
              "Unknown layout: x");
}

TEST(ProviderOptions, CustomOpPathsAccumulateAcrossAliases) {
    const ProviderOptions o = parse_provider_options({
        {"custom_op_path", S("/a/librkcst_a.so")},
        {"custom_op_paths", L({P("/b/librkcst_b.so"), S("/c/librkcst_c.so")})},
        {"custom_op_path", P("/d/librkcst_d.so")},
    });
    const std::vector<std::string> want = {"/a/librkcst_a.so", "/b/librkcst_b.so", "/c/librkcst_c.so",
                                           "/d/librkcst_d.so"};
    EXPECT_EQ(o.custom_op_paths, want);
    EXPECT_TRUE(o.custom_ops_requested());
}

TEST(ProviderOptions, DefaultPathAliasesLastOneWins) {
    EXPECT_FALSE(parse_provider_options({{"custom_op_default_path", B(true)},
                                         {"load_custom_ops_from_default_path", S("no")}})
                     .custom_op_default_path);
    const ProviderOptions o = parse_provider_options({{"load_custom_ops_from_default_path", B(false)},
                                                      {"custom_op_default_path", S("yes")}});
    EXPECT_TRUE(o.custom_op_default_path);
    EXPECT_TRUE(o.custom_ops_requested());
}

TEST(ProviderOptions, RuntimeKeywordsAndPaths) {
    EXPECT_EQ(parse1("runtime", S(" Emulator ")).runtime, "emulator");
    EXPECT_EQ(parse1("runtime", S("VENDOR")).runtime, "vendor");
    EXPECT_EQ(parse1("runtime", S("/opt/rk/librknnrt.so")).runtime, "/opt/rk/librknnrt.so");
    EXPECT_EQ(parse1("runtime", P("/opt/My Lib/librknnrt.so")).runtime, "/opt/My Lib/librknnrt.so");
    // A path object named like a keyword is still a path.
    EXPECT_EQ(parse1("runtime", P("emulator")).runtime, "./emulator");
}

TEST(ProviderOptions, UnknownKeyListsEveryAcceptedKey) {
    const std::string msg = message_of<InvalidArgument>([] { parse1("layuot", S("nchw")); });
    EXPECT_EQ(msg,
              "Unknown provider_options key: layuot. Supported keys: layout, zero_copy_layout, max_queue_size, "
              "threads_per_core, submit_timeout_ms, sequential_callbacks, schedule, tp_mode, enable_pacing, "
              "disable_dup_context, custom_op_path, custom_op_paths, custom_op_default_path, "
              "load_custom_ops_from_default_path, runtime, output_dtype");
    for (const std::string& key : provider_option_keys()) EXPECT_NE(msg.find(key), std::string::npos) << key;
    EXPECT_EQ(provider_option_keys().size(), 16u);
    // Keys are case-sensitive, as in the contract.
    EXPECT_THROW(parse1("Layout", S("nchw")), InvalidArgument);
}

TEST(ProviderOptions, FirstErrorInOrderWins) {
    EXPECT_EQ(message_of<InvalidArgument>(
                  [] { parse_provider_options({{"max_queue_size", I(0)}, {"layout", S("bad")}}); }),
              "max_queue_size must be > 0");
    EXPECT_EQ(message_of<InvalidArgument>(
                  [] { parse_provider_options({{"layout", S("bad")}, {"max_queue_size", I(0)}}); }),
              "Unknown layout: bad");
}

TEST(ProviderOptions, EveryKeyParsesAValidValue) {
    const ProviderOptions o = parse_provider_options({
        {"layout", S("nhwc")},
        {"zero_copy_layout", S("native")},
        {"max_queue_size", I(8)},
        {"threads_per_core", I(2)},
        {"submit_timeout_ms", I(500)},
        {"sequential_callbacks", B(false)},
        {"schedule", S("0,1")},
        {"enable_pacing", B(true)},
        {"disable_dup_context", S("on")},
        {"custom_op_path", S("/p/librkcst_x.so")},
        {"custom_op_paths", L({})},
        {"custom_op_default_path", B(true)},
        {"runtime", S("emulator")},
        {"output_dtype", S("native")},
    });
    EXPECT_EQ(o.layout, InputLayout::NHWC);
    EXPECT_EQ(o.zero_copy_layout, ZeroCopyLayout::Native);
    EXPECT_EQ(o.max_queue_size, 8);
    EXPECT_EQ(o.threads_per_core, 2);
    EXPECT_EQ(o.submit_timeout_ms, 500);
    EXPECT_FALSE(o.sequential_callbacks);
    EXPECT_EQ(*o.schedule, std::vector<int>({0, 1}));
    EXPECT_TRUE(o.enable_pacing);
    EXPECT_TRUE(o.disable_dup_context);
    EXPECT_EQ(o.custom_op_paths, std::vector<std::string>({"/p/librkcst_x.so"}));
    EXPECT_TRUE(o.custom_op_default_path);
    EXPECT_EQ(o.runtime, "emulator");
    EXPECT_EQ(o.output_dtype, OutputDtype::Native);
    EXPECT_EQ(*parse1("tp_mode", S("0,1")).tp_mode, 3u);
}

TEST(ProviderOptions, HandBuiltOptionsAreValidatedToo) {
    ProviderOptions o;
    o.threads_per_core = 0;
    EXPECT_EQ(message_of<InvalidArgument>([&] { validate_provider_options(o); }), "threads_per_core must be > 0");
    o = {};
    o.schedule = std::vector<int>{};
    EXPECT_EQ(message_of<InvalidArgument>([&] { validate_provider_options(o); }), "schedule must not be empty");
    o = {};
    o.schedule = std::vector<int>{31};
    EXPECT_EQ(message_of<InvalidArgument>([&] { validate_provider_options(o); }),
              "schedule values must be <= 15 (NPU core ids)");
    o = {};
    o.tp_mode = 5;  // CORE_0 | CORE_2 is not a mask the runtime accepts
    EXPECT_NE(message_of<InvalidArgument>([&] { validate_provider_options(o); }).find("invalid tp_mode mask: 5"),
              std::string::npos);
    o = {};
    o.tp_mode = 1;
    o.schedule = std::vector<int>{0};
    EXPECT_THROW(validate_provider_options(o), InvalidArgument);
    EXPECT_NO_THROW(validate_provider_options(ProviderOptions{}));
}

}  // namespace
}  // namespace ezrknn
