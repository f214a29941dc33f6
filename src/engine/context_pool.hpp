// The contexts of one session, created together and destroyed with it. Who uses which one is CoreWorkerPool's
// call: each worker thread owns one context, and another thread may only borrow an idle worker's (its
// ContextLease), so two runs never overlap on one context.
#pragma once

#include <cstdint>
#include <memory>
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

    explicit ContextPool(std::vector<Slot> slots) : slots_(std::move(slots)) {}

    size_t size() const { return slots_.size(); }
    const RknnContext& context(size_t index) const { return *slots_[index].context; }
    const ContextSlotPlan& plan(size_t index) const { return slots_[index].plan; }

private:
    std::vector<Slot> slots_;
};

}  // namespace ezrknn::detail
