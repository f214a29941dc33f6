// Fault injection: EZRKNN_EMU_FAULTS syntax, every-N counting per call, seeded randomness, re-reading the variable.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "npu/fault_injector.hpp"
#include "npu/rknn_error.hpp"
#include "rknn/rknn_api.h"

namespace {

using ezemu::npu::FaultPlan;
using ezemu::npu::RknnError;

std::vector<bool> firing(FaultPlan& plan, const char* call, int n)
{
    std::vector<bool> fired;
    for (int i = 0; i < n; ++i) fired.push_back(plan.decide(call).has_value());
    return fired;
}

TEST(FaultInjector, EveryNthCallPerCallName)
{
    FaultPlan plan = FaultPlan::parse("run:code=-1:every=3; outputs_get:stall_ms=200:every=2");
    EXPECT_EQ(firing(plan, "run", 7), (std::vector<bool>{false, false, true, false, false, true, false}));
    const auto stall = [&] {
        std::vector<int64_t> stalls;
        for (int i = 0; i < 4; ++i) {
            const auto f = plan.decide("outputs_get");
            stalls.push_back(f ? f->stall_ms : -1);
        }
        return stalls;
    }();
    EXPECT_EQ(stall, (std::vector<int64_t>{-1, 200, -1, 200}));
    // run's counter is its own: the outputs_get calls did not advance it (8th run call → no, 9th → yes).
    EXPECT_EQ(firing(plan, "run", 2), (std::vector<bool>{false, true}));
    EXPECT_FALSE(plan.decide("init").has_value());
    EXPECT_FALSE(plan.decide("not_a_call").has_value());
}

TEST(FaultInjector, DefaultIsEveryCallAndCodeIsKept)
{
    FaultPlan plan = FaultPlan::parse("init:code=-6");
    for (int i = 0; i < 3; ++i) {
        const auto f = plan.decide("init");
        ASSERT_TRUE(f.has_value());
        EXPECT_EQ(f->code, -6);
        EXPECT_EQ(f->stall_ms, 0);
    }
}

TEST(FaultInjector, SeededProbabilityIsReproducibleAndMatchesTheGenerator)
{
    FaultPlan a = FaultPlan::parse("init:code=-6:prob=0.5:seed=7");
    FaultPlan b = FaultPlan::parse("init:code=-6:prob=0.5:seed=7");
    const auto fa = firing(a, "init", 200);
    EXPECT_EQ(fa, firing(b, "init", 200));
    // Independent expectation: the documented generator (mt19937_64 seeded with S, uniform [0,1) < P).
    std::mt19937_64 random(7);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    std::vector<bool> expected;
    for (int i = 0; i < 200; ++i) expected.push_back(uniform(random) < 0.5);
    EXPECT_EQ(fa, expected);
    int fired = 0;
    for (bool f : fa) fired += f;
    EXPECT_GT(fired, 60);
    EXPECT_LT(fired, 140);
    FaultPlan other = FaultPlan::parse("init:code=-6:prob=0.5:seed=8");
    EXPECT_NE(fa, firing(other, "init", 200));
}

TEST(FaultInjector, ProbabilityZeroAndOne)
{
    FaultPlan plan = FaultPlan::parse("run:code=-1:prob=0;outputs_get:code=-9:prob=1");
    EXPECT_EQ(firing(plan, "run", 20), std::vector<bool>(20, false));
    EXPECT_EQ(firing(plan, "outputs_get", 20), std::vector<bool>(20, true));
}

void expect_invalid(const char* text, const std::string& needle)
{
    try {
        (void)FaultPlan::parse(text);
        ADD_FAILURE() << "accepted \"" << text << "\"";
    } catch (const RknnError& e) {
        EXPECT_EQ(e.code, RKNN_ERR_PARAM_INVALID) << text;
        const std::string what = e.what();
        EXPECT_NE(what.find("EZRKNN_EMU_FAULTS=\""), std::string::npos) << what;
        EXPECT_NE(what.find(needle), std::string::npos) << what;
    }
}

TEST(FaultInjector, BadSyntaxIsRefusedWithTheReason)
{
    expect_invalid("launch:code=-1", "\"launch\" is not a call");
    expect_invalid("run", "needs code=");
    expect_invalid("run:every=2", "needs code=");
    expect_invalid("run:code=1", "negative RKNN code");
    expect_invalid("run:code=x", "negative RKNN code");
    expect_invalid("run:code=-1:every=0", "every=0");
    expect_invalid("run:code=-1:prob=1.5", "prob=1.5");
    expect_invalid("run:code=-1:prob=0.5:every=2", "both every= and prob=");
    expect_invalid("run:code=-1:seed=3", "seed= without prob=");
    expect_invalid("run:code=-1:colour=red", "unknown key \"colour\"");
    expect_invalid("run:code", "not key=value");
    expect_invalid("run:stall_ms=-4", "stall_ms=-4");
    expect_invalid("run:code=-1;run:code=-2", "two rules");
}

TEST(FaultInjector, EmptyTextAndEmptyRulesInjectNothing)
{
    FaultPlan plan = FaultPlan::parse(" ; ;");
    EXPECT_FALSE(plan.decide("run").has_value());
}

TEST(FaultInjector, EnvironmentIsReReadWhenItChanges)
{
    ::setenv("EZRKNN_EMU_FAULTS", "create_mem:code=-4:every=2", 1);
    EXPECT_FALSE(ezemu::npu::inject_fault("create_mem").has_value());
    EXPECT_TRUE(ezemu::npu::inject_fault("create_mem").has_value());
    ::setenv("EZRKNN_EMU_FAULTS", "create_mem:code=-4:every=3", 1);  // new text: counters restart
    EXPECT_FALSE(ezemu::npu::inject_fault("create_mem").has_value());
    EXPECT_FALSE(ezemu::npu::inject_fault("create_mem").has_value());
    EXPECT_TRUE(ezemu::npu::inject_fault("create_mem").has_value());
    ::setenv("EZRKNN_EMU_FAULTS", "create_mem:oops", 1);
    EXPECT_THROW((void)ezemu::npu::inject_fault("create_mem"), RknnError);
    try {
        ezemu::npu::apply_injected_fault("run");
        ADD_FAILURE() << "bad syntax was ignored";
    } catch (const RknnError& e) {
        EXPECT_EQ(e.code, RKNN_ERR_PARAM_INVALID);
    }
    ::setenv("EZRKNN_EMU_FAULTS", "run:code=-2", 1);
    try {
        ezemu::npu::apply_injected_fault("run");
        ADD_FAILURE() << "no fault injected";
    } catch (const RknnError& e) {
        EXPECT_EQ(e.code, RKNN_ERR_TIMEOUT);
        EXPECT_NE(std::string(e.what()).find("injected fault (EZRKNN_EMU_FAULTS"), std::string::npos);
    }
    ::unsetenv("EZRKNN_EMU_FAULTS");
    EXPECT_NO_THROW(ezemu::npu::apply_injected_fault("run"));
}

}  // namespace
