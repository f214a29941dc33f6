// The timing model: EZRKNN_EMU_LATENCY_US syntax, multi-core factors, errors, and environment precedence.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "npu/rknn_error.hpp"
#include "npu/timing_model.hpp"
#include "rknn/rknn_api.h"

namespace {

using ezemu::npu::LatencyModel;
using ezemu::npu::RknnError;

TEST(TimingModel, NothingConfiguredMeansZero)
{
    const LatencyModel m;
    EXPECT_FALSE(m.configured());
    EXPECT_EQ(m.modelled_us(0x1), 0);
    EXPECT_EQ(m.modelled_us(0x7), 0);
}

TEST(TimingModel, UniformLatencyAndMultiCoreFactors)
{
    const LatencyModel m = LatencyModel::parse("2000", "X", 3);
    EXPECT_TRUE(m.configured());
    EXPECT_EQ(m.modelled_us(0x1), 2000);
    EXPECT_EQ(m.modelled_us(0x4), 2000);
    EXPECT_EQ(m.modelled_us(0x3), 1333);  // 2000 / 1.5, rounded
    EXPECT_EQ(m.modelled_us(0x7), 1111);  // 2000 / 1.8, rounded
}

TEST(TimingModel, PerCoreTableUsesTheSlowestCoreOfTheMask)
{
    const LatencyModel m = LatencyModel::parse("0:20000, 1:2000,2:3000", "X", 3);
    EXPECT_EQ(m.modelled_us(0x1), 20000);
    EXPECT_EQ(m.modelled_us(0x2), 2000);
    EXPECT_EQ(m.modelled_us(0x4), 3000);
    EXPECT_EQ(m.modelled_us(0x6), 2000);   // 3000 / 1.5
    EXPECT_EQ(m.modelled_us(0x7), 11111);  // 20000 / 1.8
}

TEST(TimingModel, UnlistedCoreHasNoModelledLatency)
{
    const LatencyModel m = LatencyModel::parse("1:5000", "X", 2);
    EXPECT_EQ(m.modelled_us(0x1), 0);
    EXPECT_EQ(m.modelled_us(0x2), 5000);
}

void expect_invalid(const char* text, int cores, const std::string& needle)
{
    try {
        (void)LatencyModel::parse(text, "EZRKNN_EMU_LATENCY_US", cores);
        ADD_FAILURE() << "accepted \"" << text << "\"";
    } catch (const RknnError& e) {
        EXPECT_EQ(e.code, RKNN_ERR_PARAM_INVALID) << text;
        const std::string what = e.what();
        EXPECT_NE(what.find("EZRKNN_EMU_LATENCY_US=\"" + std::string(text) + "\""), std::string::npos) << what;
        EXPECT_NE(what.find(needle), std::string::npos) << what;
    }
}

TEST(TimingModel, BadSyntaxNamesTheVariableAndText)
{
    expect_invalid("", 3, "whole number");
    expect_invalid("abc", 3, "whole number");
    expect_invalid("-5", 3, "whole number");
    expect_invalid("1.5", 3, "whole number");
    expect_invalid("99999999999999", 3, "whole number");
    expect_invalid("0:100,x", 3, "item \"x\"");
    expect_invalid("0:100,", 3, "item \"\"");
    expect_invalid("0:", 3, "<core>:<microseconds>");
    expect_invalid("3:100", 3, "core 3 does not exist");
    expect_invalid("1:100", 1, "core 1 does not exist");
    expect_invalid("0:1,0:2", 3, "listed twice");
}

TEST(TimingModel, EnvironmentWinsOverMetadata)
{
    const std::string metadata = "7000";
    ::unsetenv("EZRKNN_EMU_LATENCY_US");
    EXPECT_EQ(LatencyModel::select(&metadata, 3).modelled_us(0x1), 7000);
    EXPECT_FALSE(LatencyModel::select(nullptr, 3).configured());
    ::setenv("EZRKNN_EMU_LATENCY_US", "300", 1);
    EXPECT_EQ(LatencyModel::select(&metadata, 3).modelled_us(0x1), 300);
    ::setenv("EZRKNN_EMU_LATENCY_US", "", 1);  // empty = unset
    EXPECT_EQ(LatencyModel::select(&metadata, 3).modelled_us(0x1), 7000);
    ::unsetenv("EZRKNN_EMU_LATENCY_US");
    const std::string bad = "fast";
    try {
        (void)LatencyModel::select(&bad, 3);
        ADD_FAILURE() << "accepted bad metadata";
    } catch (const RknnError& e) {
        EXPECT_NE(std::string(e.what()).find("rknn.latency_us=\"fast\""), std::string::npos) << e.what();
    }
}

TEST(TimingModel, DataParallelBatchSplit)
{
    const LatencyModel uniform = LatencyModel::parse("6000", "test", 3);
    EXPECT_EQ(uniform.data_parallel_us(0x1, 3), 6000);  // one core: the whole batch
    EXPECT_EQ(uniform.data_parallel_us(0x3, 3), 4000);  // 2 of 3 items on the busier core
    EXPECT_EQ(uniform.data_parallel_us(0x7, 3), 2000);
    EXPECT_EQ(uniform.data_parallel_us(0x7, 4), 3000);
    EXPECT_EQ(uniform.data_parallel_us(0x3, 1), 6000);  // nothing to split
    // The slowest core of the split sets the pace, without the tensor-parallel speedup.
    const LatencyModel per_core = LatencyModel::parse("0:1000,1:8000,2:2000", "test", 3);
    EXPECT_EQ(per_core.data_parallel_us(0x3, 2), 4000);
    EXPECT_EQ(per_core.data_parallel_us(0x5, 2), 1000);
    EXPECT_EQ(LatencyModel().data_parallel_us(0x3, 2), 0);
}

}  // namespace
