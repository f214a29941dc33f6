// Checks every struct of our RKNN ABI declaration against the sizes and offsets measured from the vendor's v2.3.2
// headers (shared/reference/rknn-api.md §5, LP64 column). A layout mistake here would corrupt memory on a board.
#include <gtest/gtest.h>

#include <cstddef>

#include "rknn/rknn_api.h"
#include "rknn/rknn_custom_op.h"
#include "rknn/rknn_matmul_api.h"

#define EXPECT_FIELD(type, field, off) EXPECT_EQ(offsetof(type, field), static_cast<size_t>(off)) << #type "." #field

static_assert(sizeof(void*) == 8, "the table below is the LP64 (x86-64 / aarch64) layout");

TEST(AbiLayout, InputOutputNum) {
    EXPECT_EQ(sizeof(rknn_input_output_num), 8u);
    EXPECT_FIELD(rknn_input_output_num, n_input, 0);
    EXPECT_FIELD(rknn_input_output_num, n_output, 4);
}

TEST(AbiLayout, TensorAttr) {
    EXPECT_EQ(sizeof(rknn_tensor_attr), 376u);
    EXPECT_EQ(alignof(rknn_tensor_attr), 4u);
    EXPECT_FIELD(rknn_tensor_attr, index, 0);
    EXPECT_FIELD(rknn_tensor_attr, n_dims, 4);
    EXPECT_FIELD(rknn_tensor_attr, dims, 8);
    EXPECT_FIELD(rknn_tensor_attr, name, 72);
    EXPECT_FIELD(rknn_tensor_attr, n_elems, 328);
    EXPECT_FIELD(rknn_tensor_attr, size, 332);
    EXPECT_FIELD(rknn_tensor_attr, fmt, 336);
    EXPECT_FIELD(rknn_tensor_attr, type, 340);
    EXPECT_FIELD(rknn_tensor_attr, qnt_type, 344);
    EXPECT_FIELD(rknn_tensor_attr, fl, 348);
    EXPECT_FIELD(rknn_tensor_attr, zp, 352);
    EXPECT_FIELD(rknn_tensor_attr, scale, 356);
    EXPECT_FIELD(rknn_tensor_attr, w_stride, 360);
    EXPECT_FIELD(rknn_tensor_attr, size_with_stride, 364);
    EXPECT_FIELD(rknn_tensor_attr, pass_through, 368);
    EXPECT_FIELD(rknn_tensor_attr, h_stride, 372);
}

TEST(AbiLayout, InputRange) {
    EXPECT_EQ(sizeof(rknn_input_range), 33040u);
    EXPECT_FIELD(rknn_input_range, index, 0);
    EXPECT_FIELD(rknn_input_range, shape_number, 4);
    EXPECT_FIELD(rknn_input_range, fmt, 8);
    EXPECT_FIELD(rknn_input_range, name, 12);
    EXPECT_FIELD(rknn_input_range, dyn_range, 268);
    EXPECT_FIELD(rknn_input_range, n_dims, 33036);
}

TEST(AbiLayout, PerfAndVersion) {
    EXPECT_EQ(sizeof(rknn_perf_detail), 16u);
    EXPECT_FIELD(rknn_perf_detail, perf_data, 0);
    EXPECT_FIELD(rknn_perf_detail, data_len, 8);
    EXPECT_EQ(sizeof(rknn_perf_run), 8u);
    EXPECT_FIELD(rknn_perf_run, run_duration, 0);
    EXPECT_EQ(sizeof(rknn_sdk_version), 512u);
    EXPECT_FIELD(rknn_sdk_version, api_version, 0);
    EXPECT_FIELD(rknn_sdk_version, drv_version, 256);
    EXPECT_EQ(sizeof(rknn_custom_string), 1024u);
    EXPECT_FIELD(rknn_custom_string, string, 0);
}

TEST(AbiLayout, MemSize) {
    EXPECT_EQ(sizeof(rknn_mem_size), 64u);
    EXPECT_FIELD(rknn_mem_size, total_weight_size, 0);
    EXPECT_FIELD(rknn_mem_size, total_internal_size, 4);
    EXPECT_FIELD(rknn_mem_size, total_dma_allocated_size, 8);
    EXPECT_FIELD(rknn_mem_size, total_sram_size, 16);
    EXPECT_FIELD(rknn_mem_size, free_sram_size, 20);
    EXPECT_FIELD(rknn_mem_size, reserved, 24);
}

TEST(AbiLayout, TensorMem) {
    EXPECT_EQ(sizeof(rknn_tensor_mem), 40u);
    EXPECT_FIELD(rknn_tensor_mem, virt_addr, 0);
    EXPECT_FIELD(rknn_tensor_mem, phys_addr, 8);
    EXPECT_FIELD(rknn_tensor_mem, fd, 16);
    EXPECT_FIELD(rknn_tensor_mem, offset, 20);
    EXPECT_FIELD(rknn_tensor_mem, size, 24);
    EXPECT_FIELD(rknn_tensor_mem, flags, 28);
    EXPECT_FIELD(rknn_tensor_mem, priv_data, 32);
}

TEST(AbiLayout, InputAndOutput) {
    EXPECT_EQ(sizeof(rknn_input), 32u);
    EXPECT_FIELD(rknn_input, index, 0);
    EXPECT_FIELD(rknn_input, buf, 8);
    EXPECT_FIELD(rknn_input, size, 16);
    EXPECT_FIELD(rknn_input, pass_through, 20);
    EXPECT_FIELD(rknn_input, type, 24);
    EXPECT_FIELD(rknn_input, fmt, 28);
    EXPECT_EQ(sizeof(rknn_output), 24u);
    EXPECT_FIELD(rknn_output, want_float, 0);
    EXPECT_FIELD(rknn_output, is_prealloc, 1);
    EXPECT_FIELD(rknn_output, index, 4);
    EXPECT_FIELD(rknn_output, buf, 8);
    EXPECT_FIELD(rknn_output, size, 16);
}

TEST(AbiLayout, InitRunOutputExtend) {
    EXPECT_EQ(sizeof(rknn_init_extend), 136u);
    EXPECT_FIELD(rknn_init_extend, ctx, 0);
    EXPECT_FIELD(rknn_init_extend, real_model_offset, 8);
    EXPECT_FIELD(rknn_init_extend, real_model_size, 12);
    EXPECT_FIELD(rknn_init_extend, model_buffer_fd, 16);
    EXPECT_FIELD(rknn_init_extend, model_buffer_flags, 20);
    EXPECT_FIELD(rknn_init_extend, reserved, 24);
    EXPECT_EQ(sizeof(rknn_run_extend), 24u);
    EXPECT_FIELD(rknn_run_extend, frame_id, 0);
    EXPECT_FIELD(rknn_run_extend, non_block, 8);
    EXPECT_FIELD(rknn_run_extend, timeout_ms, 12);
    EXPECT_FIELD(rknn_run_extend, fence_fd, 16);
    EXPECT_EQ(sizeof(rknn_output_extend), 8u);
    EXPECT_FIELD(rknn_output_extend, frame_id, 0);
}

TEST(AbiLayout, CustomOp) {
    EXPECT_EQ(sizeof(rknn_gpu_op_context), 24u);
    EXPECT_FIELD(rknn_gpu_op_context, cl_context, 0);
    EXPECT_FIELD(rknn_gpu_op_context, cl_command_queue, 8);
    EXPECT_FIELD(rknn_gpu_op_context, cl_kernel, 16);
    EXPECT_EQ(sizeof(rknn_custom_op_context), 48u);
    EXPECT_FIELD(rknn_custom_op_context, target, 0);
    EXPECT_FIELD(rknn_custom_op_context, internal_ctx, 8);
    EXPECT_FIELD(rknn_custom_op_context, gpu_ctx, 16);
    EXPECT_FIELD(rknn_custom_op_context, priv_data, 40);
    EXPECT_EQ(sizeof(rknn_custom_op_tensor), 416u);
    EXPECT_FIELD(rknn_custom_op_tensor, attr, 0);
    EXPECT_FIELD(rknn_custom_op_tensor, mem, 376);
    EXPECT_EQ(sizeof(rknn_custom_op_attr), 272u);
    EXPECT_FIELD(rknn_custom_op_attr, name, 0);
    EXPECT_FIELD(rknn_custom_op_attr, dtype, 256);
    EXPECT_FIELD(rknn_custom_op_attr, n_elems, 260);
    EXPECT_FIELD(rknn_custom_op_attr, data, 264);
    EXPECT_EQ(sizeof(rknn_custom_op), 832u);
    EXPECT_EQ(alignof(rknn_custom_op), 8u);
    EXPECT_FIELD(rknn_custom_op, version, 0);
    EXPECT_FIELD(rknn_custom_op, target, 4);
    EXPECT_FIELD(rknn_custom_op, op_type, 8);
    EXPECT_FIELD(rknn_custom_op, cl_kernel_name, 264);
    EXPECT_FIELD(rknn_custom_op, cl_kernel_source, 520);
    EXPECT_FIELD(rknn_custom_op, cl_source_size, 528);
    EXPECT_FIELD(rknn_custom_op, cl_build_options, 536);
    EXPECT_FIELD(rknn_custom_op, init, 792);
    EXPECT_FIELD(rknn_custom_op, prepare, 800);
    EXPECT_FIELD(rknn_custom_op, compute, 808);
    EXPECT_FIELD(rknn_custom_op, compute_native, 816);
    EXPECT_FIELD(rknn_custom_op, destroy, 824);
}

TEST(AbiLayout, Matmul) {
    EXPECT_EQ(sizeof(rknn_matmul_info), 64u);
    EXPECT_EQ(alignof(rknn_matmul_info), 4u);
    EXPECT_FIELD(rknn_matmul_info, M, 0);
    EXPECT_FIELD(rknn_matmul_info, K, 4);
    EXPECT_FIELD(rknn_matmul_info, N, 8);
    EXPECT_FIELD(rknn_matmul_info, type, 12);
    EXPECT_FIELD(rknn_matmul_info, B_layout, 16);
    EXPECT_FIELD(rknn_matmul_info, B_quant_type, 18);
    EXPECT_FIELD(rknn_matmul_info, AC_layout, 20);
    EXPECT_FIELD(rknn_matmul_info, AC_quant_type, 22);
    EXPECT_FIELD(rknn_matmul_info, iommu_domain_id, 24);
    EXPECT_FIELD(rknn_matmul_info, group_size, 28);
    EXPECT_FIELD(rknn_matmul_info, reserved, 30);
    EXPECT_EQ(sizeof(rknn_matmul_tensor_attr), 332u);
    EXPECT_FIELD(rknn_matmul_tensor_attr, name, 0);
    EXPECT_FIELD(rknn_matmul_tensor_attr, n_dims, 256);
    EXPECT_FIELD(rknn_matmul_tensor_attr, dims, 260);
    EXPECT_FIELD(rknn_matmul_tensor_attr, size, 324);
    EXPECT_FIELD(rknn_matmul_tensor_attr, type, 328);
    EXPECT_EQ(sizeof(rknn_matmul_io_attr), 996u);
    EXPECT_FIELD(rknn_matmul_io_attr, A, 0);
    EXPECT_FIELD(rknn_matmul_io_attr, B, 332);
    EXPECT_FIELD(rknn_matmul_io_attr, C, 664);
    EXPECT_EQ(sizeof(rknn_quant_params), 288u);
    EXPECT_FIELD(rknn_quant_params, name, 0);
    EXPECT_FIELD(rknn_quant_params, scale, 256);
    EXPECT_FIELD(rknn_quant_params, scale_len, 264);
    EXPECT_FIELD(rknn_quant_params, zp, 272);
    EXPECT_FIELD(rknn_quant_params, zp_len, 280);
    EXPECT_EQ(sizeof(rknn_matmul_shape), 12u);
    EXPECT_FIELD(rknn_matmul_shape, M, 0);
    EXPECT_FIELD(rknn_matmul_shape, K, 4);
    EXPECT_FIELD(rknn_matmul_shape, N, 8);
}

TEST(AbiLayout, EnumsAreFourBytes) {
    EXPECT_EQ(sizeof(rknn_query_cmd), 4u);
    EXPECT_EQ(sizeof(rknn_tensor_type), 4u);
    EXPECT_EQ(sizeof(rknn_tensor_format), 4u);
    EXPECT_EQ(sizeof(rknn_core_mask), 4u);
    EXPECT_EQ(sizeof(rknn_context), 8u);
}

TEST(AbiValues, EnumsAndConstants) {
    EXPECT_EQ(RKNN_QUERY_NATIVE_NC1HWC2_INPUT_ATTR, RKNN_QUERY_NATIVE_INPUT_ATTR);
    EXPECT_EQ(RKNN_QUERY_NATIVE_NC1HWC2_OUTPUT_ATTR, 9);
    EXPECT_EQ(RKNN_QUERY_CURRENT_NATIVE_OUTPUT_ATTR, 17);
    EXPECT_EQ(RKNN_QUERY_CMD_MAX, 18);
    EXPECT_EQ(RKNN_TENSOR_BFLOAT16, 11);
    EXPECT_EQ(RKNN_TENSOR_TYPE_MAX, 12);
    EXPECT_EQ(RKNN_TENSOR_QNT_MAX, 3);
    EXPECT_EQ(RKNN_TENSOR_FORMAT_MAX, 4);
    EXPECT_EQ(RKNN_NPU_CORE_0_1, 3);
    EXPECT_EQ(RKNN_NPU_CORE_0_1_2, 7);
    EXPECT_EQ(RKNN_NPU_CORE_ALL, 0xffff);
    EXPECT_EQ(RKNN_NPU_CORE_UNDEFINED, 0x10000);
    EXPECT_EQ(RKNN_TENSOR_MEMORY_FLAGS_UNKNOWN, 4);
    EXPECT_EQ(RKNN_FLAG_MEMORY_TRY_ALLOC_SRAM, 4);
    EXPECT_EQ(RKNN_MEMORY_SYNC_BIDIRECTIONAL, 3);
    EXPECT_EQ(RKNN_TARGET_TYPE_MAX, 3);
    EXPECT_EQ(RKNN_FLAG_MODEL_BUFFER_ZERO_COPY, 0x00010000);
    EXPECT_EQ(RKNN_MEM_FLAG_ALLOC_NO_CONTEXT, 0x00020000);
    EXPECT_EQ(RKNN_ERR_TARGET_PLATFORM_UNMATCH, -13);
    EXPECT_EQ(RKNN_WARNING_SKIP_CUSTOM_OP_COMPUTE, -14);
    EXPECT_EQ(RKNN_INT8_MM_INT4_TO_FLOAT16, 15);
    EXPECT_EQ(RKNN_MM_LAYOUT_TP_NORM, 2);
    EXPECT_EQ(RKNN_QUANT_TYPE_PER_GROUP_ASYM, 5);
    EXPECT_STREQ(get_type_string(RKNN_TENSOR_BFLOAT16), "BF16");
    EXPECT_STREQ(get_format_string(static_cast<rknn_tensor_format>(9)), "UNKNOW");
}
