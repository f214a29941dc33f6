#include "npu/context_registry.hpp"

#include <limits>
#include <stdexcept>

#include "npu/matmul_context.hpp"
#include "rknn/rknn_api.h"

namespace ezemu::npu {

// A first handle far from 0 and small integers makes an uninitialised or index-like handle fail loudly; it still
// fits the 32-bit rknn_context of armhf.
ContextRegistry::ContextRegistry() : next_handle_(0x2b0001u) {}

ContextRegistry& ContextRegistry::instance()
{
    static ContextRegistry* registry = new ContextRegistry();
    return *registry;
}

uint64_t ContextRegistry::next_handle()
{
    // rknn_context is 32 bits wide on armhf; ids must stay representable there.
    constexpr uint64_t kLimit = std::numeric_limits<rknn_context>::max();
    if (next_handle_ >= kLimit) throw std::runtime_error("rknn_context handles are exhausted");
    return next_handle_++;
}

uint64_t ContextRegistry::add(std::shared_ptr<Context> context)
{
    std::lock_guard<std::mutex> lock(mutex_);
    const uint64_t handle = next_handle();
    contexts_.emplace(handle, std::move(context));
    return handle;
}

uint64_t ContextRegistry::add_matmul(std::shared_ptr<MatmulContext> context)
{
    std::lock_guard<std::mutex> lock(mutex_);
    const uint64_t handle = next_handle();
    matmuls_.emplace(handle, std::move(context));
    return handle;
}

std::shared_ptr<MatmulContext> ContextRegistry::find_matmul(uint64_t handle) const
{
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = matmuls_.find(handle);
    return it == matmuls_.end() ? nullptr : it->second;
}

std::shared_ptr<MatmulContext> ContextRegistry::remove_matmul(uint64_t handle)
{
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = matmuls_.find(handle);
    if (it == matmuls_.end()) return nullptr;
    std::shared_ptr<MatmulContext> context = std::move(it->second);
    matmuls_.erase(it);
    return context;
}

std::shared_ptr<Context> ContextRegistry::find(uint64_t handle) const
{
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = contexts_.find(handle);
    return it == contexts_.end() ? nullptr : it->second;
}

std::shared_ptr<Context> ContextRegistry::remove(uint64_t handle)
{
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = contexts_.find(handle);
    if (it == contexts_.end()) return nullptr;
    std::shared_ptr<Context> context = std::move(it->second);
    contexts_.erase(it);
    return context;
}

size_t ContextRegistry::size() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return contexts_.size();
}

}  // namespace ezemu::npu
