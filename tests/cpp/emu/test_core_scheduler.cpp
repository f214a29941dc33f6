// The emulated NPU cores: one run per core at a time, AUTO takes an idle core, multi-core leases block the cores
// they span, mixed requests never deadlock, and a run handed over at its modelled end queues the next one behind it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "npu/core_scheduler.hpp"

namespace {

using ezemu::npu::CoreLease;
using ezemu::npu::CoreScheduler;
using namespace std::chrono_literals;

TEST(CoreScheduler, AutoTakesAnIdleCoreAndEveryCoreOnce)
{
    CoreScheduler s(3);
    CoreLease a = s.acquire(0);
    CoreLease b = s.acquire(0);
    CoreLease c = s.acquire(0);
    // Three AUTO leases on three cores: each holds one core and together they hold all of them.
    EXPECT_EQ(__builtin_popcount(a.cores()), 1);
    EXPECT_EQ(__builtin_popcount(b.cores()), 1);
    EXPECT_EQ(__builtin_popcount(c.cores()), 1);
    EXPECT_EQ(a.cores() | b.cores() | c.cores(), 0x7u);
    EXPECT_EQ(s.busy_cores(), 0x7u);
    b.release();
    EXPECT_EQ(s.busy_cores(), a.cores() | c.cores());
}

TEST(CoreScheduler, AutoAvoidsAPinnedBusyCore)
{
    CoreScheduler s(3);
    CoreLease pinned = s.acquire(0x2);
    for (int i = 0; i < 5; ++i) {
        CoreLease a = s.acquire(0);
        EXPECT_NE(a.cores(), 0x2u);
        EXPECT_EQ(__builtin_popcount(a.cores()), 1);
    }
}

// Runs `threads` workers that each take `requests[i]` `rounds` times and check that no core is ever held twice.
void check_mutual_exclusion(CoreScheduler& s, const std::vector<uint32_t>& requests, int rounds)
{
    std::atomic<uint32_t> held{0};
    std::atomic<int> violations{0};
    std::vector<std::thread> threads;
    for (uint32_t request : requests) {
        threads.emplace_back([&, request] {
            for (int i = 0; i < rounds; ++i) {
                CoreLease lease = s.acquire(request);
                const uint32_t before = held.fetch_or(lease.cores());
                if (before & lease.cores()) ++violations;
                if (request && lease.cores() != request) ++violations;
                std::this_thread::sleep_for(50us);
                held.fetch_and(~lease.cores());
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(violations.load(), 0);
    EXPECT_EQ(s.busy_cores(), 0u);
}

TEST(CoreScheduler, PinnedRunsOnOneCoreAreMutuallyExclusive)
{
    CoreScheduler s(3);
    check_mutual_exclusion(s, {0x1, 0x1, 0x1, 0x1}, 100);
}

TEST(CoreScheduler, MixedRequestsNeverOverlapNorDeadlock)
{
    CoreScheduler s(3);
    // Singles, AUTO, 0_1, 0_1_2 and 1_2 all at once: a deadlock would hang the test (ctest's timeout).
    check_mutual_exclusion(s, {0x1, 0x2, 0x4, 0, 0, 0x3, 0x7, 0x6, 0}, 150);
}

TEST(CoreScheduler, MultiCoreLeaseBlocksSingleCoreRuns)
{
    CoreScheduler s(3);
    CoreLease all = s.acquire(0x7);
    std::atomic<bool> got{false};
    std::thread single([&] {
        CoreLease one = s.acquire(0x2);
        got = true;
    });
    std::this_thread::sleep_for(50ms);
    EXPECT_FALSE(got.load());
    all.release();
    single.join();
    EXPECT_TRUE(got.load());
}

TEST(CoreScheduler, WaitingMultiCoreRunIsNotOvertakenBySingles)
{
    CoreScheduler s(2);
    CoreLease core0 = s.acquire(0x1);
    std::atomic<bool> multi_done{false};
    std::thread multi([&] {
        CoreLease both = s.acquire(0x3);
        multi_done = true;
    });
    std::this_thread::sleep_for(30ms);  // the 0_1 request is queued now
    // Core 1 is idle, but it is reserved for the earlier 0_1 request: an AUTO run must wait behind it.
    std::atomic<bool> auto_done{false};
    std::thread later([&] {
        CoreLease a = s.acquire(0);
        auto_done = true;
    });
    std::this_thread::sleep_for(30ms);
    EXPECT_FALSE(auto_done.load());
    EXPECT_FALSE(multi_done.load());
    core0.release();
    multi.join();
    later.join();
    EXPECT_TRUE(multi_done.load());
    EXPECT_TRUE(auto_done.load());
}

TEST(CoreScheduler, LeaseMovesOwnership)
{
    CoreScheduler s(2);
    CoreLease a = s.acquire(0x1);
    CoreLease b = std::move(a);
    EXPECT_EQ(a.cores(), 0u);
    EXPECT_EQ(b.cores(), 0x1u);
    EXPECT_EQ(s.busy_cores(), 0x1u);
    b = CoreLease();
    EXPECT_EQ(s.busy_cores(), 0u);
}

TEST(CoreScheduler, ReleaseAtHandsTheCoreOverAtTheModelledEnd)
{
    CoreScheduler s(2);
    CoreLease first = s.acquire(0x1);
    EXPECT_LE(first.ready_at(), CoreLease::Clock::now());  // an idle core: ready at once
    const auto end = CoreLease::Clock::now() + 50ms;
    first.release_at(end);
    EXPECT_EQ(s.busy_cores(), 0u);
    // Granted at once (no waiting for the first run's thread), but the run starts at the first one's end.
    CoreLease next = s.acquire(0x1);
    EXPECT_EQ(next.ready_at(), end);
    // A run that fails releases without an end: the reservation before it stands.
    next.release();
    EXPECT_EQ(s.acquire(0x1).ready_at(), end);
    // Other cores are not reserved; a two-core run waits for the later of its cores.
    EXPECT_LE(s.acquire(0x2).ready_at(), CoreLease::Clock::now());
    EXPECT_EQ(s.acquire(0x3).ready_at(), end);
}

TEST(CoreScheduler, AutoPrefersTheCoreThatIsFreeFirst)
{
    CoreScheduler s(3);
    const auto now = CoreLease::Clock::now();
    s.acquire(0x1).release_at(now + 30ms);
    s.acquire(0x2).release_at(now + 10ms);
    s.acquire(0x4).release_at(now + 20ms);
    CoreLease a = s.acquire(0);
    EXPECT_EQ(a.cores(), 0x2u);
    CoreLease b = s.acquire(0);
    EXPECT_EQ(b.cores(), 0x4u);
    EXPECT_EQ(b.ready_at(), now + 20ms);
}

TEST(CoreScheduler, SingleCorePlatformServesAutoOnCoreZero)
{
    CoreScheduler s(1);
    CoreLease a = s.acquire(0);
    EXPECT_EQ(a.cores(), 0x1u);
}

}  // namespace
