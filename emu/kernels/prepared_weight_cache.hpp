// Process-wide cache of weights that kernels prepare at load time (reordered into a oneDNN layout, scaled by a
// constant). Models that read the same weight bytes (a RKNN_FLAG_SHARE_WEIGHT_MEM slave and its master, one model
// file loaded twice through one mapping) then hold one prepared copy instead of one each.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "kernels/aligned_buffer.hpp"

namespace ezemu::kernels {

class PreparedWeightCache {
public:
    // Writes the prepared bytes (target.get_size() of them) into `out`.
    using Fill = std::function<void(uint8_t* out)>;

    static PreparedWeightCache& instance();

    // The prepared form of the weights at `source` (laid out as `source_md`, multiplied by `scale`) in the layout
    // `target_md`. A live copy made earlier for the same source bytes, layouts and scale is returned as is;
    // otherwise `fill` makes a new one. The copy lives as long as any kernel holds the returned pointer.
    std::shared_ptr<const AlignedBuffer> get(const void* source, const dnnl::memory::desc& source_md, float scale,
                                             const dnnl::memory::desc& target_md, const Fill& fill);

    // Prepared copies some kernel still holds, and how many get() calls found one (for tests and logs).
    size_t live_entries() const;
    uint64_t hits() const;

private:
    struct Entry {
        dnnl::memory::desc source_md, target_md;
        float scale = 1.0f;
        uint64_t fingerprint = 0;
        std::weak_ptr<const AlignedBuffer> prepared;
    };

    PreparedWeightCache() = default;
    void drop_expired();

    mutable std::mutex mutex_;
    std::unordered_multimap<const void*, Entry> entries_;
    uint64_t hits_ = 0;
};

}  // namespace ezemu::kernels
