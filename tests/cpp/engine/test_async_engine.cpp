// The async engine from C++: submit with a future and with a callback, ordering, bounded submission, close with
// tasks in flight, the pipeline, batch dispatch and a throwing callback. Runs under ThreadSanitizer too.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <thread>

#include "test_support.hpp"

namespace ezrknn {
namespace {

using testing::AddConvInputs;
using testing::view_of;

class AsyncEngine : public ::testing::Test {
protected:
    void SetUp() override { EZRKNN_REQUIRE_EMULATOR(); }

    std::shared_ptr<Session> open(ProviderOptions o, const char* latency = nullptr) {
        testing::ScopedEnv env("EZRKNN_EMU_LATENCY_US", latency ? std::optional<std::string>(latency) : std::nullopt);
        o.runtime = "emulator";
        SessionConfig c;
        c.options = std::move(o);
        c.warning_sink = [](const std::string&) {};
        return Session::from_file(testing::model_path("add_conv.onnx"), std::move(c));
    }

    static ProviderOptions schedule3(int max_queue = 16, bool sequential = true) {
        ProviderOptions o;
        o.schedule = std::vector<int>{0, 1, 2};
        o.max_queue_size = max_queue;
        o.sequential_callbacks = sequential;
        return o;
    }

    AddConvInputs in;
    std::vector<TensorView> views() const { return {view_of(in.image, {1, 3, 8, 8}), view_of(in.offset, {1, 4})}; }

    static void expect_reference(const std::vector<Tensor>& out) {
        const std::vector<float> want = testing::add_conv_expected();
        ASSERT_EQ(out.size(), 2u);
        testing::expect_close(static_cast<const float*>(out[0].data), want.data(), 256, "features");
        testing::expect_close(static_cast<const float*>(out[1].data), want.data() + 256, 4, "pooled");
    }
};

TEST_F(AsyncEngine, SubmitReturnsAFutureAndTaskIdsAreSharedByEveryKind) {
    auto s = open(schedule3());
    RunFuture a = s->submit(views());
    expect_reference(s->run(views()));  // task 1
    RunFuture c = s->submit(views());
    EXPECT_EQ(a.task_id(), 0u);
    EXPECT_EQ(c.task_id(), 2u);
    expect_reference(a.get());
    expect_reference(c.get());
}

TEST_F(AsyncEngine, SequentialCallbacksFollowSubmissionOrderOtherwiseCompletionOrder) {
    for (bool sequential : {true, false}) {
        auto s = open(schedule3(16, sequential), "0:40000,1:1000,2:1000");
        std::mutex m;
        std::vector<int> order;
        for (int k = 0; k < 6; ++k) {
            s->submit(views(), [&, k](RunOutcome&& out) {
                EXPECT_TRUE(out.ok()) << out.error;
                std::lock_guard lock(m);
                order.push_back(k);
            });
        }
        s->wait_callbacks();
        ASSERT_EQ(order.size(), 6u);
        if (sequential) {
            EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5}));
        } else {
            EXPECT_NE(order.front(), 0) << "task 0 runs 40 ms on core 0; tasks on cores 1 and 2 finish first";
        }
    }
}

TEST_F(AsyncEngine, SubmissionTimesOutWithTheDocumentedMessage) {
    ProviderOptions o;
    o.schedule = std::vector<int>{0};
    o.max_queue_size = 1;
    o.submit_timeout_ms = 50;
    auto s = open(o, "200000");
    RunFuture running = s->submit(views());  // taken by the one worker
    RunFuture queued = s->submit(views());   // waits for the queue's one slot, then fills it
    SubmitOptions opts;
    opts.label = "run_async";
    const std::string msg = testing::message_of<Error>([&] { s->submit(views(), opts); });
    EXPECT_EQ(msg, "run_async submit timed out: async queue/callback pipeline is saturated");
}

TEST_F(AsyncEngine, ClosingWithTasksInFlightGivesEachExactlyOneOutcome) {
    auto s = open(schedule3(30), "20000");
    std::mutex m;
    std::map<int, int> calls;
    std::atomic<int> ok{0};
    for (int k = 0; k < 20; ++k) {
        s->submit(views(), [&, k](RunOutcome&& out) {
            std::lock_guard lock(m);
            ++calls[k];
            if (out.ok()) ++ok;
            else EXPECT_NE(out.error.find("closed"), std::string::npos) << out.error;
        });
    }
    RunFuture f = s->submit(views());
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    s.reset();
    EXPECT_EQ(calls.size(), 20u);
    for (auto& [k, n] : calls) EXPECT_EQ(n, 1) << "task " << k;
    const RunOutcome last = f.take();
    EXPECT_FALSE(last.ok());
    EXPECT_LT(ok.load(), 20);
}

TEST_F(AsyncEngine, AThrowingCallbackDoesNotStopLaterCallbacks) {
    auto s = open(schedule3());
    std::atomic<int> after{0};
    s->submit(views(), [](RunOutcome&&) { throw std::runtime_error("callback failure for the test"); });
    s->submit(views(), [&](RunOutcome&& out) { after += out.ok() ? 1 : 100; });
    s->wait_callbacks();
    EXPECT_EQ(after.load(), 1);
}

TEST_F(AsyncEngine, ASessionDroppedByItsOwnCallbackIsTornDownElsewhere) {
    auto s = open(schedule3());
    std::atomic<int> delivered{0};
    std::weak_ptr<Session> weak = s;
    s->submit(views(), [keep = s, &delivered](RunOutcome&&) mutable { ++delivered; });
    s->submit(views(), [&delivered](RunOutcome&&) { ++delivered; });
    s.reset();  // the first callback's captures now hold the last reference
    for (int i = 0; i < 200 && !weak.expired(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_TRUE(weak.expired());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the teardown thread joins the callback thread
    EXPECT_EQ(delivered.load(), 2);
}

TEST_F(AsyncEngine, PipelineReturnsCallKAtCallKPlusDepthAndFlushes) {
    auto s = open(schedule3());
    Pipeline p(s, 2);
    EXPECT_FALSE(p.push(views()).has_value());
    EXPECT_FALSE(p.push(views()).has_value());
    auto third = p.push(views());
    ASSERT_TRUE(third.has_value());
    expect_reference(*third);
    std::vector<RunFuture> rest = p.flush();
    EXPECT_EQ(rest.size(), 2u);
    for (RunFuture& f : rest) expect_reference(f.get());
    EXPECT_EQ(p.in_flight(), 0u);
    EXPECT_EQ(testing::message_of<InvalidArgument>([&] { Pipeline(s, 0); }), "pipeline depth must be > 0");
}

TEST_F(AsyncEngine, BatchDispatchConcatenatesAlongAxisZero) {
    auto s = open(schedule3());
    std::vector<float> images;
    std::vector<float> offsets;
    for (int b = 0; b < 3; ++b) {
        images.insert(images.end(), in.image.begin(), in.image.end());
        offsets.insert(offsets.end(), in.offset.begin(), in.offset.end());
    }
    std::vector<Tensor> out = s->run_batch({view_of(images, {3, 3, 8, 8}), view_of(offsets, {3, 4})});
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].shape[0], 3 * s->outputs()[0].shape[0]);
    const std::vector<float> want = testing::add_conv_expected();
    for (int b = 0; b < 3; ++b) {
        testing::expect_close(static_cast<const float*>(out[0].data) + b * 256, want.data(), 256, "features");
        testing::expect_close(static_cast<const float*>(out[1].data) + b * 4, want.data() + 256, 4, "pooled");
    }
    const std::string msg = testing::message_of<InvalidArgument>(
        [&] { s->run_batch({view_of(images, {3, 3, 8, 8}), view_of(in.offset, {1, 4})}); });
    EXPECT_EQ(msg.rfind("Batch size mismatch across inputs", 0), 0u) << msg;
}

TEST_F(AsyncEngine, PacingSpacesSubmissionsWithoutRefusingThem) {
    ProviderOptions o;
    o.enable_pacing = true;
    o.max_queue_size = 8;
    auto s = open(o, "10000");
    expect_reference(s->run(views()));  // measures the first run: about 10 ms
    const auto start = std::chrono::steady_clock::now();
    std::vector<RunFuture> fs;
    for (int k = 0; k < 5; ++k) fs.push_back(s->submit(views()));
    const auto spent = std::chrono::steady_clock::now() - start;
    for (RunFuture& f : fs) expect_reference(f.get());
    // Unpaced, five submissions into a queue of 8 return at once; paced, they are ~10 ms apart.
    EXPECT_GE(spent, std::chrono::milliseconds(30));
}

// IEEE 754 binary16 → float, written out so the check does not share the engine's or the emulator's conversion.
float half_to_float(uint16_t h) {
    const int sign = (h >> 15) ? -1 : 1;
    const int exponent = (h >> 10) & 0x1f;
    const int mantissa = h & 0x3ff;
    if (exponent == 0) return sign * std::ldexp(static_cast<float>(mantissa), -24);
    if (exponent == 31) return mantissa ? NAN : sign * INFINITY;
    return sign * std::ldexp(static_cast<float>(mantissa | 0x400), exponent - 25);
}

TEST_F(AsyncEngine, NativeOutputDtypeReturnsTheAttrTypeWithTheSameValues) {
    auto s = open(schedule3());
    ASSERT_EQ(s->outputs()[0].type, ElementType::Float16);  // a float model runs as fp16 on the NPU
    const std::vector<Tensor> floats = s->run(views());
    expect_reference(floats);
    SubmitOptions native;
    native.output_dtype = OutputDtype::Native;
    for (const std::vector<Tensor>& halves : {s->run_with_options(views(), native), s->submit(views(), native).get()}) {
        ASSERT_EQ(halves.size(), floats.size());
        for (size_t o = 0; o < halves.size(); ++o) {
            ASSERT_EQ(halves[o].type, ElementType::Float16);
            ASSERT_EQ(halves[o].shape, floats[o].shape);
            const size_t n = floats[o].nbytes / sizeof(float);
            ASSERT_EQ(halves[o].nbytes, n * 2);
            const auto* h = static_cast<const uint16_t*>(halves[o].data);
            const auto* f = static_cast<const float*>(floats[o].data);
            for (size_t i = 0; i < n; ++i) ASSERT_EQ(half_to_float(h[i]), f[i]) << "output " << o << " element " << i;
        }
    }
    // The session default, and a run that asks for float32 back.
    ProviderOptions o = schedule3();
    o.output_dtype = OutputDtype::Native;
    auto native_session = open(o);
    EXPECT_EQ(native_session->run(views())[1].type, ElementType::Float16);
    SubmitOptions as_float;
    as_float.output_dtype = OutputDtype::Float32;
    expect_reference(native_session->run_with_options(views(), as_float));
}

}  // namespace
}  // namespace ezrknn
