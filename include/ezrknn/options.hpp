// Provider options: the anchor contract's keys and aliases (anchor-behaviour.md §2), parsed and validated once here
// for C++ and Python callers alike.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ezrknn {

enum class InputLayout { NCHW, NCHWSoftware, NHWC, Any };
enum class ZeroCopyLayout { NHWC, Native };
// What run() returns: float32 for every output (the contract's default, RKNN want_float=1), or each output in the
// model's own type as its output attr reports it (want_float=0: int8/uint8 for a quantized output, float16 for an
// fp16 one), which saves the dequantization and halves or quarters the bytes.
enum class OutputDtype { Float32, Native };

// Bounds the engine enforces so that `1 << core` and thread counts stay meaningful.
inline constexpr int kMaxCoreId = 15;
inline constexpr int kMaxThreadsPerCore = 64;

struct ProviderOptions {
    InputLayout layout = InputLayout::NCHW;
    ZeroCopyLayout zero_copy_layout = ZeroCopyLayout::NHWC;
    int max_queue_size = 3;
    int threads_per_core = 1;
    int submit_timeout_ms = 10000;
    bool sequential_callbacks = true;
    std::optional<std::vector<int>> schedule;  // data-parallel core list (repeats allowed)
    std::optional<uint32_t> tp_mode;           // core mask (rknn_core_mask value)
    bool enable_pacing = false;
    bool disable_dup_context = false;
    std::vector<std::string> custom_op_paths;
    bool custom_op_default_path = false;
    // Which RKNN library: "" (default order), "vendor", "emulator", or a path to a library.
    std::string runtime;
    // The session's default; a run may override it (SubmitOptions::output_dtype, run_options "output_dtype").
    OutputDtype output_dtype = OutputDtype::Float32;

    bool custom_ops_requested() const { return !custom_op_paths.empty() || custom_op_default_path; }
};

// One option value as a caller gave it, before validation. Python values map onto these kinds.
struct OptionValue {
    enum class Kind { None, Bool, Int, Float, String, Path, List, Other };
    Kind kind = Kind::None;
    bool b = false;
    int64_t i = 0;
    double f = 0.0;
    std::string s;                  // String and Path (an os.PathLike, already made a str)
    std::vector<OptionValue> items;  // List
    std::string type_name;           // the caller's type, for error messages (e.g. "float", "dict")

    static OptionValue none() { return {}; }
    static OptionValue boolean(bool v) { OptionValue o; o.kind = Kind::Bool; o.b = v; return o; }
    static OptionValue integer(int64_t v) { OptionValue o; o.kind = Kind::Int; o.i = v; return o; }
    static OptionValue floating(double v) { OptionValue o; o.kind = Kind::Float; o.f = v; return o; }
    static OptionValue string(std::string v) { OptionValue o; o.kind = Kind::String; o.s = std::move(v); return o; }
    static OptionValue path(std::string v) { OptionValue o; o.kind = Kind::Path; o.s = std::move(v); return o; }
    static OptionValue list(std::vector<OptionValue> v) {
        OptionValue o;
        o.kind = Kind::List;
        o.items = std::move(v);
        return o;
    }
    static OptionValue other(std::string type) {
        OptionValue o;
        o.kind = Kind::Other;
        o.type_name = std::move(type);
        return o;
    }
};

// Parses entries in order; the first invalid one throws InvalidArgument with the contract's message.
// An unknown key lists every accepted key. Ends with validate_provider_options.
ProviderOptions parse_provider_options(const std::vector<std::pair<std::string, OptionValue>>& entries);

// Checks a ProviderOptions built by hand (C++ callers) against the same bounds and conflicts the parser enforces.
void validate_provider_options(const ProviderOptions& options);

// "float32" or "native" (trimmed, any case); anything else throws InvalidArgument "Unknown output_dtype: ...".
// Shared by the provider option and the per-run option, so both accept and reject the same values.
OutputDtype parse_output_dtype(const OptionValue& value);

// Every accepted key, aliases included, in the order the unknown-key message lists them.
const std::vector<std::string>& provider_option_keys();

// "nchw", "nchw_software", "nhwc", "any" / "nhwc", "native": the canonical spelling of a parsed value.
const char* input_layout_name(InputLayout layout);
const char* zero_copy_layout_name(ZeroCopyLayout layout);
const char* output_dtype_name(OutputDtype dtype);  // "float32" / "native"

}  // namespace ezrknn
