// The RKNN runtime as a table of functions filled by dlopen/dlsym: the vendor librknnrt.so on a board, or the
// bundled emulator librknnrt_emu.so. The engine never links to either.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "rknn/rknn_api.h"
#include "rknn/rknn_custom_op.h"

namespace ezrknn {

struct RknnFunctions {
    // Required: a library without one of these is refused at load.
    decltype(&::rknn_init) init = nullptr;
    decltype(&::rknn_destroy) destroy = nullptr;
    decltype(&::rknn_query) query = nullptr;
    decltype(&::rknn_inputs_set) inputs_set = nullptr;
    decltype(&::rknn_run) run = nullptr;
    decltype(&::rknn_outputs_get) outputs_get = nullptr;
    decltype(&::rknn_outputs_release) outputs_release = nullptr;
    // Optional: absent in some versions; only the feature that needs one fails, with NotSupported.
    decltype(&::rknn_dup_context) dup_context = nullptr;
    decltype(&::rknn_set_core_mask) set_core_mask = nullptr;
    decltype(&::rknn_set_batch_core_num) set_batch_core_num = nullptr;
    decltype(&::rknn_wait) wait = nullptr;
    decltype(&::rknn_create_mem) create_mem = nullptr;
    decltype(&::rknn_create_mem2) create_mem2 = nullptr;
    decltype(&::rknn_create_mem_from_fd) create_mem_from_fd = nullptr;
    decltype(&::rknn_create_mem_from_phys) create_mem_from_phys = nullptr;
    decltype(&::rknn_destroy_mem) destroy_mem = nullptr;
    decltype(&::rknn_set_io_mem) set_io_mem = nullptr;
    decltype(&::rknn_set_weight_mem) set_weight_mem = nullptr;
    decltype(&::rknn_set_internal_mem) set_internal_mem = nullptr;
    decltype(&::rknn_set_input_shapes) set_input_shapes = nullptr;
    decltype(&::rknn_mem_sync) mem_sync = nullptr;
    decltype(&::rknn_register_custom_ops) register_custom_ops = nullptr;
    // Exported by the emulator only; their presence is what makes a library "the emulator".
    const char* (*emu_version)() = nullptr;
    const char* (*emu_last_error)() = nullptr;  // thread-local detail of the last failed call on this thread
};

enum class RuntimeKind { Vendor, Emulator };
const char* runtime_kind_name(RuntimeKind kind);  // "vendor" / "emulator"

// Names of the environment variable and the library file the default search order uses.
inline constexpr const char* kRuntimeEnvVar = "EZRKNN_RUNTIME";
inline constexpr const char* kVendorLibraryName = "librknnrt.so";
inline constexpr const char* kEmulatorLibraryName = "librknnrt_emu.so";

class RknnLibrary {
public:
    // Resolves `request` and loads it: "vendor" (librknnrt.so), "emulator" (the bundled librknnrt_emu.so), or a
    // path. "" means EZRKNN_RUNTIME (same values) if set, else librknnrt.so if it loads, else the emulator.
    // Libraries are loaded once per file and shared by every session that uses them, so why a library was chosen
    // belongs to each call: it goes to `chosen_by` (e.g. "EZRKNN_RUNTIME='emulator'") when that is non-null.
    static std::shared_ptr<RknnLibrary> load(const std::string& request, std::string* chosen_by = nullptr);

    ~RknnLibrary();
    RknnLibrary(const RknnLibrary&) = delete;
    RknnLibrary& operator=(const RknnLibrary&) = delete;

    const RknnFunctions& fn() const { return fn_; }
    RuntimeKind kind() const { return kind_; }
    bool is_emulator() const { return kind_ == RuntimeKind::Emulator; }
    const std::string& path() const { return path_; }        // the file dlopen resolved, made canonical
    std::string emulator_version() const;                     // ezrknn_emu_version(), "" for a vendor library

    // Optional symbols this library lacks ("rknn_create_mem2", ...), for diagnostics.
    std::vector<std::string> missing_optional_symbols() const;

    // The emulator's detail of the last failure on this thread, "" when there is none or on a vendor library.
    std::string last_error_detail() const;
    // That detail reduced to its reason for a failure of `api` with `code` (the call and code are said already).
    std::string error_detail(const std::string& api, int code) const;
    // format_rknn_error(api, code), followed by the emulator's detail when it has one.
    std::string error_message(const std::string& api, int code) const;
    std::string error_message_for_index(const std::string& api, const std::string& kind, size_t index,
                                        int code) const;

    // The optional function `member`, or NotSupported "<symbol> is not supported by librknnrt <api_version>
    // (<path>)" when this library lacks it. `hint` (optional) says what to do instead.
    template <typename F>
    F require(F RknnFunctions::*member, const char* symbol, const std::string& api_version,
              const std::string& hint = {}) const {
        F f = fn_.*member;
        if (f == nullptr) throw_not_supported(symbol, api_version, hint);
        return f;
    }
    [[noreturn]] void throw_not_supported(const char* symbol, const std::string& api_version,
                                          const std::string& hint = {}) const;

private:
    RknnLibrary() = default;
    void* handle_ = nullptr;
    RknnFunctions fn_{};
    RuntimeKind kind_ = RuntimeKind::Vendor;
    std::string path_;
};

// Full path of the emulator bundled beside libezrknn (the installed package folder, or the build's lib folder).
std::string bundled_emulator_path();

}  // namespace ezrknn
