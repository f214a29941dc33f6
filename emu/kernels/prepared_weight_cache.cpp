#include "kernels/prepared_weight_cache.hpp"

#include <algorithm>
#include <cstring>

namespace ezemu::kernels {
namespace {

// A few samples of the source bytes, hashed. A cache entry only outlives its source bytes for the moment between a
// model freeing its constants and its kernels; this keeps new bytes that landed at the same address in that moment
// from matching a stale entry.
uint64_t fingerprint(const void* source, size_t bytes) {
    const auto* p = static_cast<const uint8_t*>(source);
    uint64_t h = 1469598103934665603ull ^ bytes;
    constexpr size_t kSamples = 64;
    const size_t step = bytes / kSamples + 1;
    for (size_t at = 0; at < bytes; at += step) {
        uint64_t word = 0;
        std::memcpy(&word, p + at, std::min<size_t>(sizeof word, bytes - at));
        h = (h ^ word) * 1099511628211ull;
    }
    if (bytes >= sizeof(uint64_t)) {
        uint64_t tail = 0;
        std::memcpy(&tail, p + bytes - sizeof tail, sizeof tail);
        h = (h ^ tail) * 1099511628211ull;
    }
    return h;
}

}  // namespace

PreparedWeightCache& PreparedWeightCache::instance() {
    // Never destroyed: kernels of models an application leaks at exit may release entries after static teardown.
    static PreparedWeightCache* cache = new PreparedWeightCache();
    return *cache;
}

void PreparedWeightCache::drop_expired() {
    for (auto it = entries_.begin(); it != entries_.end();) {
        if (it->second.prepared.expired()) it = entries_.erase(it);
        else ++it;
    }
}

std::shared_ptr<const AlignedBuffer> PreparedWeightCache::get(const void* source,
                                                              const dnnl::memory::desc& source_md, float scale,
                                                              const dnnl::memory::desc& target_md, const Fill& fill) {
    const uint64_t print = fingerprint(source, source_md.get_size());
    const auto find = [&]() -> std::shared_ptr<const AlignedBuffer> {
        const auto [first, last] = entries_.equal_range(source);
        for (auto it = first; it != last; ++it) {
            const Entry& e = it->second;
            if (e.scale != scale || e.fingerprint != print || !(e.source_md == source_md) ||
                !(e.target_md == target_md))
                continue;
            if (auto live = e.prepared.lock()) return live;
        }
        return nullptr;
    };
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (auto live = find()) {
            ++hits_;
            return live;
        }
    }
    // Prepared outside the lock: a large reorder must not stall other models loading on other threads.
    auto made = std::make_shared<AlignedBuffer>(target_md.get_size());
    fill(made->data());
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto live = find()) {  // another thread prepared the same weights meanwhile: keep one copy
        ++hits_;
        return live;
    }
    drop_expired();
    entries_.emplace(source, Entry{source_md, target_md, scale, print, made});
    return made;
}

size_t PreparedWeightCache::live_entries() const {
    std::lock_guard<std::mutex> lock(mutex_);
    size_t n = 0;
    for (const auto& [source, e] : entries_) n += e.prepared.expired() ? 0 : 1;
    return n;
}

uint64_t PreparedWeightCache::hits() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return hits_;
}

}  // namespace ezemu::kernels
