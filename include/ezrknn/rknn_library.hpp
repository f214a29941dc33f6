// The RKNN runtime as a table of functions filled by dlopen/dlsym: the vendor librknnrt.so on a board, or the
// bundled emulator librknnrt_emu.so. The engine never links to either.
#pragma once

#include <memory>
#include <string>

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
};

enum class RuntimeKind { Vendor, Emulator };

class RknnLibrary {
public:
    // Resolves `request` ("" → EZRKNN_RUNTIME, else the vendor librknnrt.so if it loads, else the bundled emulator;
    // "vendor"; "emulator"; or a path) and loads it. Libraries are loaded once per path and shared.
    static std::shared_ptr<RknnLibrary> load(const std::string& request);

    ~RknnLibrary();
    RknnLibrary(const RknnLibrary&) = delete;
    RknnLibrary& operator=(const RknnLibrary&) = delete;

    const RknnFunctions& fn() const { return fn_; }
    RuntimeKind kind() const { return kind_; }
    const std::string& path() const { return path_; }  // the file dlopen resolved

    // Throws NotSupported("<symbol> is not supported by <library> <version>") when an optional symbol is missing.
    template <typename F>
    F require(F f, const char* symbol, const std::string& version) const;

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
