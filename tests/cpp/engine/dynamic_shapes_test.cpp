// A dynamic-shape model in the engine (rknn-api.md §7.12, anchor-behaviour.md §5.3) on the emulator:
// tests/models/dynamic_pair.onnx allows the shape sets ([1,3,4,4], [1,2]) and ([1,3,8,6], [3,2]).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ezrknn/errors.hpp"
#include "ezrknn/session.hpp"
#include "test_support.hpp"

namespace ezrknn {
namespace {

using testing::message_of;
using testing::view_of;

std::shared_ptr<Session> open_dynamic(ProviderOptions options = {}) {
    options.runtime = "emulator";
    SessionConfig c;
    c.options = std::move(options);
    return Session::from_file(testing::model_path("dynamic_pair.onnx"), c);
}

// Halves are exact in fp16, so y = 2x and w = z + 1 come back exactly.
std::vector<float> halves(size_t n, float start) {
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = start + 0.5f * static_cast<float>(i % 17);
    return v;
}

TEST(DynamicShapeSession, ShowsTheFirstSetAndRunsEverySet) {
    auto s = open_dynamic();
    EXPECT_EQ(s->inputs()[0].shape, (std::vector<int64_t>{1, 3, 4, 4}));
    EXPECT_EQ(s->inputs()[1].shape, (std::vector<int64_t>{1, 2}));
    const std::vector<std::vector<int64_t>> sets[] = {{{1, 3, 8, 6}, {3, 2}}, {{1, 3, 4, 4}, {1, 2}}};
    for (const auto& set : sets) {
        const std::vector<float> x = halves(static_cast<size_t>(3 * set[0][2] * set[0][3]), -4.0f);
        const std::vector<float> z = halves(static_cast<size_t>(set[1][0] * 2), 1.0f);
        const std::vector<Tensor> out = s->run({view_of(x, set[0]), view_of(z, set[1])});
        ASSERT_EQ(out.size(), 2u);
        EXPECT_EQ(out[0].shape, set[0]);
        EXPECT_EQ(out[1].shape, set[1]);
        const float* y = static_cast<const float*>(out[0].data);
        const float* w = static_cast<const float*>(out[1].data);
        for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(y[i], 2.0f * x[i]) << i;
        for (size_t i = 0; i < z.size(); ++i) ASSERT_EQ(w[i], z[i] + 1.0f) << i;
    }
}

TEST(DynamicShapeSession, ShapesOutsideTheSetsAreInvalidArguments) {
    auto s = open_dynamic();
    const std::vector<float> x = halves(3 * 8 * 6, 0.0f), z = halves(2, 0.0f);
    EXPECT_EQ(message_of<InvalidArgument>([&] { s->run({view_of(x, {1, 3, 8, 6}), view_of(z, {1, 2})}); }),
              "Input shapes [1, 3, 8, 6] [1, 2] (x, z) are not one of the dynamic model's shape sets: "
              "[1, 3, 4, 4] [1, 2]; [1, 3, 8, 6] [3, 2]");
    s->validate_input(0, view_of(x, {1, 3, 8, 6}));  // a shape of some set
    EXPECT_NE(message_of<InvalidArgument>([&] { s->validate_input(0, view_of(x, {1, 3, 6, 8})); }), "");
}

TEST(DynamicShapeSession, ExtraContextsAreInitedNotDuplicated) {
    ProviderOptions o;
    o.threads_per_core = 2;
    auto s = open_dynamic(o);
    EXPECT_TRUE(s->options().disable_dup_context);
    EXPECT_EQ(s->context_count(), 2u);
}

}  // namespace
}  // namespace ezrknn
