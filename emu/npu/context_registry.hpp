// The table from rknn_context handles to contexts. Handles are opaque ids that are never reused, so a stale or
// made-up handle is reported as RKNN_ERR_CTX_INVALID instead of being dereferenced.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "npu/context.hpp"

namespace ezemu::npu {

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

private:
    mutable std::mutex mutex_;
    std::unordered_map<uint64_t, std::shared_ptr<Context>> contexts_;
    uint64_t next_handle_;

    ContextRegistry();
};

}  // namespace ezemu::npu
