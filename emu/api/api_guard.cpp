#include "api/api_guard.hpp"

#include <cstdio>
#include <string>

#include "api/log.hpp"

namespace ezemu::api {

int fail(const char* function, int code, const char* detail, const char* prefix) noexcept
{
    try {
        record_failure(std::string(function) + ": " + prefix + detail + " (" + npu::rknn_error_name(code) + " " +
                       std::to_string(code) + ")");
    } catch (...) {
        std::fprintf(stderr, "E RKNN: [emu] %s failed with %d\n", function, code);
    }
    return code;
}

int not_implemented(const char* function) noexcept
{
    try {
        record_failure(std::string(function) + " is not implemented by the ezrknn emulator yet (RKNN_ERR_FAIL -1)");
    } catch (...) {
        std::fprintf(stderr, "E RKNN: [emu] %s is not implemented by the ezrknn emulator yet\n", function);
    }
    return RKNN_ERR_FAIL;
}

void throw_context_busy(const char* function, rknn_context handle)
{
    throw npu::RknnError(RKNN_ERR_FAIL, "context " + std::to_string(static_cast<uint64_t>(handle)) +
                                            " is in use by another thread (" + function +
                                            " called while another call on it, e.g. rknn_run, is in progress); "
                                            "give each thread its own context (rknn_dup_context)");
}

std::shared_ptr<npu::Context> find_context(rknn_context handle)
{
    std::shared_ptr<npu::Context> context = npu::ContextRegistry::instance().find(static_cast<uint64_t>(handle));
    if (!context) {
        throw npu::RknnError(RKNN_ERR_CTX_INVALID,
                             "context " + std::to_string(static_cast<uint64_t>(handle)) +
                                 " is not a live context (never returned by rknn_init/rknn_dup_context, or already "
                                 "destroyed)");
    }
    return context;
}

std::shared_ptr<npu::MatmulContext> find_matmul_context(rknn_context handle)
{
    std::shared_ptr<npu::MatmulContext> context =
        npu::ContextRegistry::instance().find_matmul(static_cast<uint64_t>(handle));
    if (!context) {
        throw npu::RknnError(RKNN_ERR_CTX_INVALID,
                             "context " + std::to_string(static_cast<uint64_t>(handle)) +
                                 " is not a live matmul context (never returned by rknn_matmul_create or "
                                 "rknn_matmul_create_dynamic_shape, or already destroyed)");
    }
    return context;
}

void require_live_handle(rknn_context handle)
{
    if (npu::ContextRegistry::instance().find_matmul(static_cast<uint64_t>(handle))) return;
    find_context(handle);
}

}  // namespace ezemu::api
