// Context planning: routes × threads_per_core, each context with its core mask.
#include "context_pool.hpp"

#include <algorithm>

#include "rknn/rknn_api.h"

namespace ezrknn::detail {

std::vector<ContextSlotPlan> plan_contexts(const ProviderOptions& options) {
    std::vector<int> routes;
    if (options.schedule) {
        routes = *options.schedule;
        std::sort(routes.begin(), routes.end());
        routes.erase(std::unique(routes.begin(), routes.end()), routes.end());
    } else {
        routes = {0};
    }
    const size_t total = static_cast<size_t>(options.threads_per_core) * routes.size();
    std::vector<ContextSlotPlan> plans(total);
    for (size_t i = 0; i < total; ++i) {
        // Interleaved, so context 0 sits on the smallest core and consecutive contexts spread across cores.
        plans[i].core = routes[i % routes.size()];
        plans[i].mask = options.schedule ? (1u << plans[i].core)
                                         : options.tp_mode.value_or(static_cast<uint32_t>(RKNN_NPU_CORE_AUTO));
    }
    return plans;
}

}  // namespace ezrknn::detail
