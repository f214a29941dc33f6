// The wall every exported function stands behind: no C++ exception crosses the C ABI. A failure becomes an
// RKNN code, a log line naming the call and the code, and the thread's last-error text.
#pragma once

#include <memory>
#include <mutex>
#include <new>
#include <utility>

#include "npu/context.hpp"
#include "npu/context_registry.hpp"
#include "npu/matmul_context.hpp"
#include "npu/rknn_error.hpp"
#include "rknn/rknn_api.h"

// The library is built with hidden visibility; only definitions marked with this leave it (and only names that
// emu/api/exports.map lets through).
#define EZEMU_EXPORT __attribute__((visibility("default")))

namespace ezemu::api {

// Logs "<function>: <prefix><detail> (<CODE_NAME> <code>)", records it as the last error and returns `code`.
int fail(const char* function, int code, const char* detail, const char* prefix = "") noexcept;

// For functions the emulator does not provide yet: RKNN_ERR_FAIL and "<function> is not implemented by the
// ezrknn emulator yet".
int not_implemented(const char* function) noexcept;

// The live context behind `handle`; throws RknnError(RKNN_ERR_CTX_INVALID) otherwise.
std::shared_ptr<npu::Context> find_context(rknn_context handle);
// The same for a matmul context (rknn_matmul_create).
std::shared_ptr<npu::MatmulContext> find_matmul_context(rknn_context handle);
// Throws RknnError(RKNN_ERR_CTX_INVALID) unless `handle` is a live model or matmul context (the memory API takes
// either: the vendor's matmul demos allocate with rknn_create_mem(matmul_ctx, ...)).
void require_live_handle(rknn_context handle);

template <typename Body>
int guarded(const char* function, Body&& body) noexcept
{
    try {
        return body();
    } catch (const npu::RknnError& e) {
        return fail(function, e.code, e.what());
    } catch (const std::bad_alloc&) {
        return fail(function, RKNN_ERR_MALLOC_FAIL, "out of memory");
    } catch (const std::exception& e) {
        return fail(function, RKNN_ERR_FAIL, e.what(), "internal error in the ezrknn emulator: ");
    } catch (...) {
        return fail(function, RKNN_ERR_FAIL, "internal error in the ezrknn emulator (unknown exception)");
    }
}

// RKNN_ERR_FAIL for a call on a context another thread is using right now (see with_context).
[[noreturn]] void throw_context_busy(const char* function, rknn_context handle);

// Runs body(Ctx&) with the context's mutex held. A context serves one thread at a time (rknn-api.md §6): a call
// that finds it busy fails at once instead of queueing behind a run, which would hide the application's race.
// rknn_destroy / rknn_matmul_destroy are the exceptions and wait (they lock the mutex themselves).
template <typename Find, typename Body>
int with_locked(const char* function, rknn_context handle, Find&& find, Body&& body) noexcept
{
    return guarded(function, [&]() -> int {
        const auto context = find(handle);
        std::unique_lock<std::mutex> lock(context->mutex(), std::try_to_lock);
        if (!lock.owns_lock()) {
            // A destroy in progress holds the mutex too: report the handle as gone rather than as busy.
            const auto& registry = npu::ContextRegistry::instance();
            const auto id = static_cast<uint64_t>(handle);
            if (!registry.find(id) && !registry.find_matmul(id))
                throw npu::RknnError(RKNN_ERR_CTX_INVALID, "the context was destroyed");
            throw_context_busy(function, handle);
        }
        if (context->destroyed()) throw npu::RknnError(RKNN_ERR_CTX_INVALID, "the context was destroyed");
        return body(*context);
    });
}

template <typename Body>
int with_context(const char* function, rknn_context handle, Body&& body) noexcept
{
    return with_locked(function, handle, find_context, std::forward<Body>(body));
}

template <typename Body>
int with_matmul_context(const char* function, rknn_context handle, Body&& body) noexcept
{
    return with_locked(function, handle, find_matmul_context, std::forward<Body>(body));
}

// A NULL pointer argument → RKNN_ERR_PARAM_INVALID naming it.
inline void require_pointer(const void* pointer, const char* name)
{
    if (!pointer) throw npu::RknnError(RKNN_ERR_PARAM_INVALID, std::string(name) + " is NULL");
}

}  // namespace ezemu::api
