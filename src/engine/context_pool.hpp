// The contexts of one session and who may use each: a caller leases an idle context for one run, so concurrent
// run() calls on different contexts proceed in parallel and calls on one context never overlap.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "ezrknn/options.hpp"
#include "rknn_context.hpp"

namespace ezrknn::detail {

// Which contexts a session needs (anchor-behaviour.md §4.1): threads_per_core per route, each with its core mask.
struct ContextSlotPlan {
    int core = 0;       // the route (NPU core) this context serves; 0 in tensor-parallel mode
    uint32_t mask = 0;  // rknn_core_mask value to set, AUTO for none
};
std::vector<ContextSlotPlan> plan_contexts(const ProviderOptions& options);

class ContextPool {
public:
    struct Slot {
        std::unique_ptr<RknnContext> context;
        ContextSlotPlan plan;
    };

    explicit ContextPool(std::vector<Slot> slots);

    // Exclusive use of one context until destroyed.
    class Lease {
    public:
        Lease(ContextPool* pool, size_t index) : pool_(pool), index_(index) {}
        Lease(Lease&& other) noexcept : pool_(other.pool_), index_(other.index_) { other.pool_ = nullptr; }
        Lease& operator=(Lease&&) = delete;
        ~Lease() {
            if (pool_ != nullptr) pool_->release(index_);
        }
        const RknnContext& context() const { return *pool_->slots_[index_].context; }
        size_t index() const { return index_; }

    private:
        ContextPool* pool_;
        size_t index_;
    };

    // Waits on a condition variable until a context is idle.
    Lease acquire();

    size_t size() const { return slots_.size(); }
    const RknnContext& context(size_t index) const { return *slots_[index].context; }
    const ContextSlotPlan& plan(size_t index) const { return slots_[index].plan; }

private:
    void release(size_t index);

    std::vector<Slot> slots_;
    std::mutex mutex_;
    std::condition_variable idle_cv_;
    std::vector<size_t> idle_;  // stack of idle slot indices: the most recently used context stays warm
};

}  // namespace ezrknn::detail
