// Creating, duplicating and pinning RKNN contexts, with the contract's error messages.
#include "rknn_context.hpp"

#include <cstdio>
#include <string>
#include <vector>

#include "ezrknn/errors.hpp"

namespace ezrknn::detail {

RknnContext::RknnContext(std::shared_ptr<RknnLibrary> library, rknn_context handle)
    : library_(std::move(library)), handle_(handle) {}

RknnContext::~RknnContext() { library_->fn().destroy(handle_); }

std::unique_ptr<RknnContext> RknnContext::init(const std::shared_ptr<RknnLibrary>& library,
                                               const ModelSource& model, const RknnContext* weight_master) {
    rknn_init_extend extend{};
    rknn_init_extend* extend_ptr = nullptr;
    uint32_t flags = 0;
    if (weight_master != nullptr) {
        flags |= RKNN_FLAG_SHARE_WEIGHT_MEM;
        extend.ctx = weight_master->handle();
        extend_ptr = &extend;
    }
    rknn_context ctx = 0;
    int ret = 0;
    if (!model.path.empty()) {
        std::vector<char> path(model.path.begin(), model.path.end());  // rknn_init takes a non-const pointer
        path.push_back('\0');
        ret = library->fn().init(&ctx, path.data(), 0, flags, extend_ptr);
    } else {
        // The runtime copies the buffer and never writes to it (rknn-api.md §7.1); the cast only fits the ABI.
        ret = library->fn().init(&ctx, const_cast<void*>(model.data), static_cast<uint32_t>(model.size), flags,
                                 extend_ptr);
    }
    if (ret != RKNN_SUCC) throw Error(library->error_message("rknn_init", ret), ret);
    return std::make_unique<RknnContext>(library, ctx);
}

std::unique_ptr<RknnContext> RknnContext::dup(const std::string& api_version) const {
    auto dup_fn = library_->require(&RknnFunctions::dup_context, "rknn_dup_context", api_version,
                                    "Set the provider option disable_dup_context=True to give each context its own "
                                    "rknn_init instead");
    rknn_context source = handle_;  // a copy: the runtime takes a pointer and need not touch ours
    rknn_context out = 0;
    const int ret = dup_fn(&source, &out);
    if (ret != RKNN_SUCC) throw Error(library_->error_message("rknn_dup_context", ret), ret);
    return std::make_unique<RknnContext>(library_, out);
}

void RknnContext::set_core_mask(uint32_t mask, size_t index, const std::string& api_version) const {
    if (mask == RKNN_NPU_CORE_AUTO) return;  // the runtime's own default: no call needed
    auto set_fn = library_->require(&RknnFunctions::set_core_mask, "rknn_set_core_mask", api_version,
                                    "Remove the schedule/tp_mode provider options to let the runtime pick cores");
    const int ret = set_fn(handle_, static_cast<rknn_core_mask>(mask));
    if (ret == RKNN_SUCC) return;
    // Single-core NPUs (RK356x, RV110x) refuse any mask with -13; pinning to core 0 there is what happens anyway.
    if (ret == RKNN_ERR_TARGET_PLATFORM_UNMATCH && mask == RKNN_NPU_CORE_0) return;
    std::string msg = "rknn_set_core_mask failed for thread " + std::to_string(index) + ": " + format_rknn_status(ret);
    if (std::string detail = library_->error_detail("rknn_set_core_mask", ret); !detail.empty()) {
        msg += " " + detail + (detail.back() == '.' ? "" : ".");
    }
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%x", mask);
    msg += " Maybe you specified a configuration that is not supported by the current platform (core mask " +
           std::string(hex) + ").";
    throw Error(msg, ret);
}

}  // namespace ezrknn::detail
