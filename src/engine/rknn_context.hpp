// One RKNN context, owned: created by rknn_init or rknn_dup_context, destroyed exactly once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "ezrknn/rknn_library.hpp"

namespace ezrknn::detail {

// Where rknn_init reads the model: a path (size 0, the runtime maps it) or caller memory (the runtime copies it).
struct ModelSource {
    std::string path;
    const void* data = nullptr;
    size_t size = 0;
};

class RknnContext {
public:
    RknnContext(std::shared_ptr<RknnLibrary> library, rknn_context handle);
    ~RknnContext();
    RknnContext(const RknnContext&) = delete;
    RknnContext& operator=(const RknnContext&) = delete;

    rknn_context handle() const { return handle_; }
    const RknnLibrary& library() const { return *library_; }

    // rknn_init; with `weight_master`, RKNN_FLAG_SHARE_WEIGHT_MEM reuses that context's weights.
    static std::unique_ptr<RknnContext> init(const std::shared_ptr<RknnLibrary>& library, const ModelSource& model,
                                             const RknnContext* weight_master);
    // rknn_dup_context: the same loaded model, its own intermediate memory.
    std::unique_ptr<RknnContext> dup(const std::string& api_version) const;

    // rknn_set_core_mask, skipped for AUTO; a single-core NPU's -13 is ignored for CORE_0 (anchor §2).
    // `index` numbers the context in messages.
    void set_core_mask(uint32_t mask, size_t index, const std::string& api_version) const;

private:
    std::shared_ptr<RknnLibrary> library_;
    rknn_context handle_;
};

}  // namespace ezrknn::detail
