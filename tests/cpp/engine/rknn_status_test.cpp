// RKNN status names and descriptions (anchor-behaviour.md §11).
#include <gtest/gtest.h>

#include <string>

#include "ezrknn/errors.hpp"

namespace ezrknn {
namespace {

struct StatusCase {
    int code;
    const char* name;
    const char* description;
};

TEST(RknnStatus, EveryCodeHasTheContractNameAndDescription) {
    const StatusCase cases[] = {
        {0, "RKNN_SUCC", "execute succeed."},
        {-1, "RKNN_ERR_FAIL", "execute failed."},
        {-2, "RKNN_ERR_TIMEOUT", "execute timeout."},
        {-3, "RKNN_ERR_DEVICE_UNAVAILABLE", "device is unavailable."},
        {-4, "RKNN_ERR_MALLOC_FAIL", "memory malloc fail."},
        {-5, "RKNN_ERR_PARAM_INVALID", "parameter is invalid."},
        {-6, "RKNN_ERR_MODEL_INVALID", "model is invalid."},
        {-7, "RKNN_ERR_CTX_INVALID", "context is invalid."},
        {-8, "RKNN_ERR_INPUT_INVALID", "input is invalid."},
        {-9, "RKNN_ERR_OUTPUT_INVALID", "output is invalid."},
        {-10, "RKNN_ERR_DEVICE_UNMATCH", "the device is unmatch, please update rknn sdk and npu driver/firmware."},
        {-11, "RKNN_ERR_INCOMPATILE_PRE_COMPILE_MODEL", "pre_compile model is not compatible with current driver."},
        {-12, "RKNN_ERR_INCOMPATILE_OPTIMIZATION_LEVEL_VERSION",
         "model optimization level is not compatible with current driver."},
        {-13, "RKNN_ERR_TARGET_PLATFORM_UNMATCH", "model target platform is not compatible with current platform."},
    };
    for (const StatusCase& c : cases) {
        SCOPED_TRACE(c.name);
        EXPECT_STREQ(rknn_status_name(c.code), c.name);
        EXPECT_STREQ(rknn_status_description(c.code), c.description);
        EXPECT_EQ(format_rknn_status(c.code),
                  std::string(c.name) + " (" + std::to_string(c.code) + "): " + c.description);
    }
}

TEST(RknnStatus, UnknownCodesKeepTheirNumber) {
    EXPECT_EQ(format_rknn_status(-14), "RKNN_ERR_UNKNOWN (-14): unknown RKNN error.");
    EXPECT_EQ(format_rknn_status(3), "RKNN_ERR_UNKNOWN (3): unknown RKNN error.");
    EXPECT_EQ(format_rknn_status(-2147483647 - 1), "RKNN_ERR_UNKNOWN (-2147483648): unknown RKNN error.");
}

TEST(RknnStatus, ErrorFormsNameTheCall) {
    EXPECT_EQ(format_rknn_error("rknn_run", -1), "rknn_run failed: RKNN_ERR_FAIL (-1): execute failed.");
    EXPECT_EQ(format_rknn_error_for_index("rknn_query(RKNN_QUERY_INPUT_ATTR)", "input attr", 0, -5),
              "rknn_query(RKNN_QUERY_INPUT_ATTR) failed for input attr index 0: RKNN_ERR_PARAM_INVALID (-5): "
              "parameter is invalid.");
    EXPECT_EQ(format_rknn_error_for_index("rknn_set_io_mem", "output", 2, -9),
              "rknn_set_io_mem failed for output index 2: RKNN_ERR_OUTPUT_INVALID (-9): output is invalid.");
}

TEST(RknnStatus, ErrorsCarryTheirCode) {
    const Error e(format_rknn_error("rknn_init", -6), -6);
    EXPECT_EQ(e.rknn_code(), -6);
    const InvalidArgument bad("x");
    EXPECT_EQ(bad.rknn_code(), 0);
    EXPECT_NE(dynamic_cast<const std::runtime_error*>(&bad), nullptr);
}

}  // namespace
}  // namespace ezrknn
