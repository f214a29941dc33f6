// Provider options (anchor-behaviour.md §2): every key, alias and message of the contract, plus `runtime`.
// Validation happens here, before any model is loaded, so a typo never costs a model load.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <string>
#include <string_view>
#include <vector>

#include "ezrknn/errors.hpp"
#include "ezrknn/options.hpp"
#include "rknn/rknn_api.h"

namespace ezrknn {
namespace {

using Kind = OptionValue::Kind;

std::string trim(std::string_view s) {
    size_t b = 0;
    size_t e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    return std::string(s.substr(b, e - b));
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// A whole base-10 integer with an optional sign, as Python's int(str) reads it after trimming.
bool parse_decimal(std::string_view text, int64_t& out) {
    const bool plus = !text.empty() && text.front() == '+';
    if (plus) text.remove_prefix(1);
    if (text.empty() || (plus && (text.front() == '+' || text.front() == '-'))) return false;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, out, 10);
    return ec == std::errc() && ptr == end;
}

[[noreturn]] void fail(const std::string& message) { throw InvalidArgument(message); }

int64_t int_like(const OptionValue& v, const std::string& name) {
    switch (v.kind) {
        case Kind::Int: return v.i;
        case Kind::Bool: return v.b ? 1 : 0;  // Python's bool is an int
        case Kind::String: {
            int64_t out = 0;
            if (parse_decimal(trim(v.s), out)) return out;
            break;
        }
        default: break;
    }
    fail(name + " must be an integer");
}

bool bool_like(const OptionValue& v, const std::string& key) {
    switch (v.kind) {
        case Kind::Bool: return v.b;
        case Kind::Int: return v.i != 0;
        case Kind::String: {
            const std::string t = lower(trim(v.s));
            if (t == "1" || t == "true" || t == "on" || t == "yes") return true;
            if (t == "0" || t == "false" || t == "off" || t == "no") return false;
            break;
        }
        default: break;
    }
    fail(key + " must be a boolean");
}

int positive_int(const OptionValue& v, const std::string& key, int64_t max) {
    const int64_t n = int_like(v, key);
    if (n <= 0) fail(key + " must be > 0");
    if (n > max) fail(key + " must be <= " + std::to_string(max));
    return static_cast<int>(n);
}

int schedule_core(int64_t core) {
    if (core < 0) fail("schedule values must be >= 0");
    if (core > kMaxCoreId) fail("schedule values must be <= " + std::to_string(kMaxCoreId) + " (NPU core ids)");
    return static_cast<int>(core);
}

std::vector<int> parse_schedule(const OptionValue& v) {
    std::vector<int> cores;
    switch (v.kind) {
        case Kind::Int:
        case Kind::Bool: cores.push_back(schedule_core(int_like(v, "schedule"))); break;
        case Kind::String: {
            std::string text = v.s;
            // "[0, 1, 2]" and "0,1,2" read the same as "0 1 2".
            for (char& c : text) {
                if (c == '[' || c == ']' || c == ',') c = ' ';
            }
            size_t pos = 0;
            while (pos < text.size()) {
                while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
                size_t end = pos;
                while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
                if (end == pos) break;
                int64_t core = 0;
                if (!parse_decimal(std::string_view(text).substr(pos, end - pos), core)) {
                    fail("schedule must contain integers");
                }
                cores.push_back(schedule_core(core));
                pos = end;
            }
            break;
        }
        case Kind::List:
            for (const OptionValue& item : v.items) cores.push_back(schedule_core(int_like(item, "schedule")));
            break;
        default: fail("schedule must be an integer, string, or sequence");
    }
    if (cores.empty()) fail("schedule must not be empty");
    return cores;
}

struct TpModeName {
    const char* name;
    uint32_t mask;
};

constexpr TpModeName kTpModes[] = {
    {"auto", RKNN_NPU_CORE_AUTO}, {"all", RKNN_NPU_CORE_ALL},   {"0", RKNN_NPU_CORE_0},
    {"1", RKNN_NPU_CORE_1},       {"2", RKNN_NPU_CORE_2},       {"0,1", RKNN_NPU_CORE_0_1},
    {"0,1,2", RKNN_NPU_CORE_0_1_2},
};

uint32_t parse_tp_mode(const OptionValue& v) {
    if (v.kind != Kind::String) fail("tp_mode must be a string");
    const std::string t = lower(trim(v.s));
    for (const TpModeName& m : kTpModes) {
        if (t == m.name) return m.mask;
    }
    fail("invalid tp_mode: '" + t + "', expected one of: auto, all, 0, 1, 2, 0,1, 0,1,2");
}

InputLayout parse_layout(const OptionValue& v) {
    if (v.kind != Kind::String) fail("layout must be a string");
    const std::string t = lower(trim(v.s));
    if (t == "nchw" || t == "original") return InputLayout::NCHW;
    if (t == "nchw_software" || t == "original_software") return InputLayout::NCHWSoftware;
    if (t == "nhwc") return InputLayout::NHWC;
    if (t == "any") return InputLayout::Any;
    fail("Unknown layout: " + v.s);
}

ZeroCopyLayout parse_zero_copy_layout(const OptionValue& v) {
    if (v.kind != Kind::String) fail("zero_copy_layout must be a string");
    const std::string t = lower(trim(v.s));
    if (t == "nhwc") return ZeroCopyLayout::NHWC;
    if (t == "native") return ZeroCopyLayout::Native;
    fail("Unknown zero_copy_layout: " + v.s + ", expected 'nhwc' or 'native'");
}

}  // namespace

OutputDtype parse_output_dtype(const OptionValue& v) {
    if (v.kind != Kind::String) {
        const std::string got = v.type_name.empty() ? "" : ", got " + v.type_name;
        fail("output_dtype must be a string ('float32' or 'native')" + got);
    }
    const std::string t = lower(trim(v.s));
    if (t == "float32") return OutputDtype::Float32;
    if (t == "native") return OutputDtype::Native;
    fail("Unknown output_dtype: " + v.s + ", expected 'float32' or 'native'");
}

namespace {

void append_custom_op_paths(const OptionValue& v, const std::string& key, std::vector<std::string>& paths) {
    if (v.kind == Kind::String || v.kind == Kind::Path) {
        paths.push_back(v.s);
        return;
    }
    if (v.kind != Kind::List) fail(key + " must be a path-like object or sequence of path-like objects");
    for (const OptionValue& item : v.items) {
        if (item.kind != Kind::String && item.kind != Kind::Path) fail(key + " must be a path-like object or string");
        paths.push_back(item.s);
    }
}

std::string parse_runtime(const OptionValue& v) {
    static const char* const kUsage = "runtime must be 'vendor', 'emulator' or the path of an RKNN runtime library";
    if (v.kind != Kind::String && v.kind != Kind::Path) fail(kUsage);
    const std::string keyword = lower(trim(v.s));
    if (keyword.empty()) fail(kUsage);
    const bool is_keyword = keyword == "vendor" || keyword == "emulator";
    if (v.kind == Kind::String && is_keyword) return keyword;
    // A path object named like a keyword stays a path to that file.
    if (is_keyword && v.s.find('/') == std::string::npos) return "./" + v.s;
    return v.s;  // a path is taken verbatim: spaces and case are significant there
}

std::string join_keys() {
    std::string out;
    for (const std::string& k : provider_option_keys()) {
        if (!out.empty()) out += ", ";
        out += k;
    }
    return out;
}

}  // namespace

const std::vector<std::string>& provider_option_keys() {
    static const std::vector<std::string> keys = {
        "layout",          "zero_copy_layout",   "max_queue_size",       "threads_per_core",
        "submit_timeout_ms", "sequential_callbacks", "schedule",          "tp_mode",
        "enable_pacing",   "disable_dup_context", "custom_op_path",      "custom_op_paths",
        "custom_op_default_path", "load_custom_ops_from_default_path", "runtime", "output_dtype",
    };
    return keys;
}

ProviderOptions parse_provider_options(const std::vector<std::pair<std::string, OptionValue>>& entries) {
    ProviderOptions o;
    for (const auto& [key, value] : entries) {
        if (key == "layout") {
            o.layout = parse_layout(value);
        } else if (key == "zero_copy_layout") {
            o.zero_copy_layout = parse_zero_copy_layout(value);
        } else if (key == "max_queue_size") {
            o.max_queue_size = positive_int(value, key, INT_MAX);
        } else if (key == "threads_per_core") {
            o.threads_per_core = positive_int(value, key, kMaxThreadsPerCore);
        } else if (key == "submit_timeout_ms") {
            o.submit_timeout_ms = positive_int(value, key, INT_MAX);
        } else if (key == "sequential_callbacks") {
            o.sequential_callbacks = bool_like(value, key);
        } else if (key == "schedule") {
            o.schedule = parse_schedule(value);
        } else if (key == "tp_mode") {
            o.tp_mode = parse_tp_mode(value);
        } else if (key == "enable_pacing") {
            o.enable_pacing = bool_like(value, key);
        } else if (key == "disable_dup_context") {
            o.disable_dup_context = bool_like(value, key);
        } else if (key == "custom_op_path" || key == "custom_op_paths") {
            append_custom_op_paths(value, key, o.custom_op_paths);
        } else if (key == "custom_op_default_path" || key == "load_custom_ops_from_default_path") {
            o.custom_op_default_path = bool_like(value, key);
        } else if (key == "runtime") {
            o.runtime = parse_runtime(value);
        } else if (key == "output_dtype") {
            o.output_dtype = parse_output_dtype(value);
        } else {
            fail("Unknown provider_options key: " + key + ". Supported keys: " + join_keys());
        }
    }
    validate_provider_options(o);
    return o;
}

void validate_provider_options(const ProviderOptions& o) {
    if (o.schedule && o.tp_mode) fail("provider_options 'tp_mode' conflicts with 'schedule'; set only one.");
    if (o.max_queue_size <= 0) fail("max_queue_size must be > 0");
    if (o.threads_per_core <= 0) fail("threads_per_core must be > 0");
    if (o.threads_per_core > kMaxThreadsPerCore) {
        fail("threads_per_core must be <= " + std::to_string(kMaxThreadsPerCore));
    }
    if (o.submit_timeout_ms <= 0) fail("submit_timeout_ms must be > 0");
    if (o.schedule) {
        if (o.schedule->empty()) fail("schedule must not be empty");
        for (int core : *o.schedule) schedule_core(core);
    }
    if (o.tp_mode) {
        bool known = false;
        for (const TpModeName& m : kTpModes) known = known || m.mask == *o.tp_mode;
        if (!known) {
            fail("invalid tp_mode mask: " + std::to_string(*o.tp_mode) +
                 ", expected one of: auto, all, 0, 1, 2, 0,1, 0,1,2");
        }
    }
}

const char* input_layout_name(InputLayout layout) {
    switch (layout) {
        case InputLayout::NCHW: return "nchw";
        case InputLayout::NCHWSoftware: return "nchw_software";
        case InputLayout::NHWC: return "nhwc";
        case InputLayout::Any: return "any";
    }
    return "nchw";
}

const char* zero_copy_layout_name(ZeroCopyLayout layout) {
    return layout == ZeroCopyLayout::Native ? "native" : "nhwc";
}

const char* output_dtype_name(OutputDtype dtype) { return dtype == OutputDtype::Native ? "native" : "float32"; }

}  // namespace ezrknn
