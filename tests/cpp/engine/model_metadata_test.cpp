// ModelMetadata and RKNN_QUERY_MEM_SIZE through the C++ Session (tests/python/test_metadata.py covers Python).
#include <gtest/gtest.h>

#include "engine/model_metadata.hpp"
#include "ezrknn/session.hpp"
#include "test_support.hpp"

namespace ezrknn {
namespace {

RuntimeInfo emulator_info() {
    RuntimeInfo info;
    info.kind = "emulator";
    info.library_path = "/x/librknnrt_emu.so";
    info.api_version = "2.3.2 (ezrknn emulator 0.1.0)";
    return info;
}

TEST(ModelMetadata, NamesTheFileAndTheRuntime) {
    const ModelMetadata m = detail::describe_model("/models/yolo.v8.rknn", emulator_info(), "rgb");
    EXPECT_EQ(m.producer_name, "onnx");
    EXPECT_EQ(m.graph_name, "yolo.v8");
    EXPECT_EQ(m.description, "yolo.v8.rknn on " + emulator_info().describe());
    EXPECT_EQ(m.custom_string, "rgb");
    EXPECT_EQ(m.version, 0);
    EXPECT_EQ(m.domain, "");
    EXPECT_EQ(m.graph_description, "");
}

TEST(ModelMetadata, AVendorRuntimeAndAModelFromBytes) {
    RuntimeInfo vendor = emulator_info();
    vendor.kind = "vendor";
    const ModelMetadata m = detail::describe_model("", vendor, "");
    EXPECT_EQ(m.producer_name, "rknn-toolkit2");
    EXPECT_EQ(m.graph_name, "");
    EXPECT_EQ(m.description.rfind("model from bytes on ", 0), 0u) << m.description;
}

TEST(ModelMetadata, ASessionReportsItsModelAndMemory) {
    SessionConfig config;
    config.options.runtime = "emulator";
    auto s = Session::from_file(testing::model_path("add_conv.onnx"), config);
    EXPECT_EQ(s->metadata().graph_name, "add_conv");
    EXPECT_EQ(s->metadata().custom_string, s->custom_string());
    const MemorySize mem = s->memory_size();
    EXPECT_GT(mem.total_weight_size, 0u);  // add_conv holds a Conv weight of its own
    EXPECT_GT(mem.total_internal_size, 0u);
}

}  // namespace
}  // namespace ezrknn
