// The table from rknn_context handles to contexts. Handles are opaque ids that are never reused, so a stale or
// made-up handle is reported as RKNN_ERR_CTX_INVALID instead of being dereferenced. Model contexts (rknn_init) and
// matmul contexts (rknn_matmul_create) draw from one sequence of ids, so neither kind is ever mistaken for the other.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "npu/context.hpp"

namespace ezemu::npu {

class MatmulContext;

class ContextRegistry {
public:
    // The process-wide registry. Never destroyed, so contexts an application leaks at exit are not torn down
    // while other static objects (oneDNN's, the C library's) may already be gone.
    static ContextRegistry& instance();

    uint64_t add(std::shared_ptr<Context> context);
    // nullptr for an unknown or destroyed handle.
    std::shared_ptr<Context> find(uint64_t handle) const;
    // Removes and returns the context (nullptr if unknown). Calls already running on it keep their reference.
    std::shared_ptr<Context> remove(uint64_t handle);
    size_t size() const;

    // The same for matmul contexts (rknn_matmul_api.h).
    uint64_t add_matmul(std::shared_ptr<MatmulContext> context);
    std::shared_ptr<MatmulContext> find_matmul(uint64_t handle) const;
    std::shared_ptr<MatmulContext> remove_matmul(uint64_t handle);

private:
    mutable std::mutex mutex_;
    std::unordered_map<uint64_t, std::shared_ptr<Context>> contexts_;
    std::unordered_map<uint64_t, std::shared_ptr<MatmulContext>> matmuls_;
    uint64_t next_handle_;

    uint64_t next_handle();  // expects mutex_ held

    ContextRegistry();
};

}  // namespace ezemu::npu
