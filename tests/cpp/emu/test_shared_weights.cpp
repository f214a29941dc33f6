// The process-wide cache of prepared (reordered, scaled) kernel weights that lets models on the same weight bytes
// share one prepared copy.
#include <gtest/gtest.h>

#include <vector>

#include "kernels/prepared_weight_cache.hpp"

namespace {

using dnnl::memory;
using ezemu::kernels::AlignedBuffer;
using ezemu::kernels::PreparedWeightCache;

memory::desc plain(memory::dim rows, memory::dim cols)
{
    return memory::desc({rows, cols}, memory::data_type::f32, memory::format_tag::ab);
}

memory::desc transposed(memory::dim rows, memory::dim cols)
{
    return memory::desc({rows, cols}, memory::data_type::f32, memory::format_tag::ba);
}

struct CountingFill {
    int calls = 0;
    float value = 0.0f;
    PreparedWeightCache::Fill fill()
    {
        return [this](uint8_t* out) {
            ++calls;
            *reinterpret_cast<float*>(out) = value;
        };
    }
};

TEST(PreparedWeightCache, SameSourceAndLayoutShareOneCopy)
{
    auto& cache = PreparedWeightCache::instance();
    std::vector<float> source(64, 1.5f);
    CountingFill f{0, 7.0f};
    const uint64_t hits = cache.hits();
    auto a = cache.get(source.data(), plain(8, 8), 1.0f, transposed(8, 8), f.fill());
    auto b = cache.get(source.data(), plain(8, 8), 1.0f, transposed(8, 8), f.fill());
    EXPECT_EQ(a.get(), b.get());
    EXPECT_EQ(f.calls, 1);
    EXPECT_EQ(cache.hits(), hits + 1);
    EXPECT_EQ(a->size(), 64 * sizeof(float));
    EXPECT_EQ(*reinterpret_cast<const float*>(a->data()), 7.0f);
}

TEST(PreparedWeightCache, ScaleLayoutAndSourceAreAllPartOfTheKey)
{
    auto& cache = PreparedWeightCache::instance();
    std::vector<float> source(64, 2.0f), other(64, 2.0f);
    CountingFill f;
    auto base = cache.get(source.data(), plain(8, 8), 1.0f, transposed(8, 8), f.fill());
    auto scaled = cache.get(source.data(), plain(8, 8), 0.5f, transposed(8, 8), f.fill());
    auto relaid = cache.get(source.data(), plain(8, 8), 1.0f, plain(8, 8), f.fill());
    auto reshaped = cache.get(source.data(), plain(4, 16), 1.0f, transposed(4, 16), f.fill());
    auto elsewhere = cache.get(other.data(), plain(8, 8), 1.0f, transposed(8, 8), f.fill());
    EXPECT_EQ(f.calls, 5);
    for (const auto* p : {scaled.get(), relaid.get(), reshaped.get(), elsewhere.get()}) EXPECT_NE(p, base.get());
}

TEST(PreparedWeightCache, ACopyLivesOnlyWhileHeld)
{
    auto& cache = PreparedWeightCache::instance();
    std::vector<float> source(16, 3.0f);
    CountingFill f;
    const size_t live = cache.live_entries();
    auto a = cache.get(source.data(), plain(4, 4), 1.0f, transposed(4, 4), f.fill());
    EXPECT_EQ(cache.live_entries(), live + 1);
    std::weak_ptr<const AlignedBuffer> watch = a;
    a.reset();
    EXPECT_TRUE(watch.expired());
    EXPECT_EQ(cache.live_entries(), live);
    auto b = cache.get(source.data(), plain(4, 4), 1.0f, transposed(4, 4), f.fill());
    EXPECT_EQ(f.calls, 2);  // made again, not resurrected
}

TEST(PreparedWeightCache, ChangedBytesAtTheSameAddressDoNotMatch)
{
    auto& cache = PreparedWeightCache::instance();
    std::vector<float> source(256, 1.0f);
    CountingFill f;
    auto a = cache.get(source.data(), plain(16, 16), 1.0f, transposed(16, 16), f.fill());
    for (float& v : source) v = -4.0f;  // new weights landed where old ones were
    auto b = cache.get(source.data(), plain(16, 16), 1.0f, transposed(16, 16), f.fill());
    EXPECT_NE(a.get(), b.get());
    EXPECT_EQ(f.calls, 2);
}

}  // namespace
