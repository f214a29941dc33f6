"""ctypes declarations of the RKNN C API (v2.3.2), for testing librknnrt_emu.so the way an application uses it.

Layouts follow include/rknn/rknn_api.h; test_struct_layouts checks the sizes against rknn-api.md §5.
"""

import ctypes as C

RKNN_SUCC = 0
RKNN_ERR_FAIL = -1
RKNN_ERR_DEVICE_UNAVAILABLE = -3
RKNN_ERR_MALLOC_FAIL = -4
RKNN_ERR_PARAM_INVALID = -5
RKNN_ERR_MODEL_INVALID = -6
RKNN_ERR_CTX_INVALID = -7
RKNN_ERR_INPUT_INVALID = -8
RKNN_ERR_OUTPUT_INVALID = -9
RKNN_ERR_TARGET_PLATFORM_UNMATCH = -13

# rknn_query_cmd
RKNN_QUERY_IN_OUT_NUM = 0
RKNN_QUERY_INPUT_ATTR = 1
RKNN_QUERY_OUTPUT_ATTR = 2
RKNN_QUERY_PERF_DETAIL = 3
RKNN_QUERY_PERF_RUN = 4
RKNN_QUERY_SDK_VERSION = 5
RKNN_QUERY_MEM_SIZE = 6
RKNN_QUERY_CUSTOM_STRING = 7
RKNN_QUERY_NATIVE_INPUT_ATTR = 8
RKNN_QUERY_NATIVE_OUTPUT_ATTR = 9
RKNN_QUERY_NATIVE_NHWC_INPUT_ATTR = 10
RKNN_QUERY_NATIVE_NHWC_OUTPUT_ATTR = 11
RKNN_QUERY_DEVICE_MEM_INFO = 12
RKNN_QUERY_CURRENT_NATIVE_INPUT_ATTR = 16
RKNN_QUERY_CURRENT_NATIVE_OUTPUT_ATTR = 17
RKNN_QUERY_INPUT_DYNAMIC_RANGE = 13
RKNN_QUERY_CURRENT_INPUT_ATTR = 14
RKNN_QUERY_CURRENT_OUTPUT_ATTR = 15

# rknn_tensor_type
RKNN_TENSOR_FLOAT32 = 0
RKNN_TENSOR_FLOAT16 = 1
RKNN_TENSOR_INT8 = 2
RKNN_TENSOR_UINT8 = 3
RKNN_TENSOR_INT16 = 4
RKNN_TENSOR_UINT16 = 5
RKNN_TENSOR_INT32 = 6
RKNN_TENSOR_UINT32 = 7
RKNN_TENSOR_INT64 = 8
RKNN_TENSOR_BOOL = 9

RKNN_TENSOR_QNT_NONE = 0

# rknn_tensor_format
RKNN_TENSOR_NCHW = 0
RKNN_TENSOR_NHWC = 1
RKNN_TENSOR_NC1HWC2 = 2
RKNN_TENSOR_UNDEFINED = 3

# rknn_core_mask
RKNN_NPU_CORE_AUTO = 0
RKNN_NPU_CORE_0 = 1
RKNN_NPU_CORE_1 = 2
RKNN_NPU_CORE_2 = 4
RKNN_NPU_CORE_0_1 = 3
RKNN_NPU_CORE_0_1_2 = 7
RKNN_NPU_CORE_ALL = 0xFFFF

RKNN_FLAG_COLLECT_PERF_MASK = 0x08
RKNN_FLAG_MEM_ALLOC_OUTSIDE = 0x10
RKNN_FLAG_INTERNAL_ALLOC_OUTSIDE = 0x200
RKNN_FLAG_MODEL_BUFFER_ZERO_COPY = 0x10000
RKNN_MEM_FLAG_ALLOC_NO_CONTEXT = 0x20000
RKNN_FLAG_MEMORY_FLAGS_DEFAULT = 0
RKNN_FLAG_MEMORY_CACHEABLE = 1
RKNN_FLAG_MEMORY_NON_CACHEABLE = 2
RKNN_FLAG_MEMORY_TRY_ALLOC_SRAM = 4
RKNN_TENSOR_MEMORY_FLAGS_ALLOC_INSIDE = 1
RKNN_TENSOR_MEMORY_FLAGS_FROM_FD = 2
RKNN_TENSOR_MEMORY_FLAGS_FROM_PHYS = 3
RKNN_MEMORY_SYNC_TO_DEVICE = 1
RKNN_MEMORY_SYNC_FROM_DEVICE = 2
RKNN_MEMORY_SYNC_BIDIRECTIONAL = 3

rknn_context = C.c_uint64


class rknn_input_output_num(C.Structure):
    _fields_ = [("n_input", C.c_uint32), ("n_output", C.c_uint32)]


class rknn_tensor_attr(C.Structure):
    _fields_ = [
        ("index", C.c_uint32),
        ("n_dims", C.c_uint32),
        ("dims", C.c_uint32 * 16),
        ("name", C.c_char * 256),
        ("n_elems", C.c_uint32),
        ("size", C.c_uint32),
        ("fmt", C.c_int),
        ("type", C.c_int),
        ("qnt_type", C.c_int),
        ("fl", C.c_int8),
        ("zp", C.c_int32),
        ("scale", C.c_float),
        ("w_stride", C.c_uint32),
        ("size_with_stride", C.c_uint32),
        ("pass_through", C.c_uint8),
        ("h_stride", C.c_uint32),
    ]

    @property
    def shape(self):
        return tuple(self.dims[i] for i in range(self.n_dims))


class rknn_input_range(C.Structure):
    _fields_ = [
        ("index", C.c_uint32),
        ("shape_number", C.c_uint32),
        ("fmt", C.c_int),
        ("name", C.c_char * 256),
        ("dyn_range", (C.c_uint32 * 16) * 512),
        ("n_dims", C.c_uint32),
    ]


class rknn_perf_run(C.Structure):
    _fields_ = [("run_duration", C.c_int64)]


class rknn_perf_detail(C.Structure):
    _fields_ = [("perf_data", C.c_char_p), ("data_len", C.c_uint64)]


class rknn_sdk_version(C.Structure):
    _fields_ = [("api_version", C.c_char * 256), ("drv_version", C.c_char * 256)]


class rknn_mem_size(C.Structure):
    _fields_ = [
        ("total_weight_size", C.c_uint32),
        ("total_internal_size", C.c_uint32),
        ("total_dma_allocated_size", C.c_uint64),
        ("total_sram_size", C.c_uint32),
        ("free_sram_size", C.c_uint32),
        ("reserved", C.c_uint32 * 10),
    ]


class rknn_custom_string(C.Structure):
    _fields_ = [("string", C.c_char * 1024)]


class rknn_tensor_mem(C.Structure):
    _fields_ = [
        ("virt_addr", C.c_void_p),
        ("phys_addr", C.c_uint64),
        ("fd", C.c_int32),
        ("offset", C.c_int32),
        ("size", C.c_uint32),
        ("flags", C.c_uint32),
        ("priv_data", C.c_void_p),
    ]


class rknn_input(C.Structure):
    _fields_ = [
        ("index", C.c_uint32),
        ("buf", C.c_void_p),
        ("size", C.c_uint32),
        ("pass_through", C.c_uint8),
        ("type", C.c_int),
        ("fmt", C.c_int),
    ]


class rknn_output(C.Structure):
    _fields_ = [
        ("want_float", C.c_uint8),
        ("is_prealloc", C.c_uint8),
        ("index", C.c_uint32),
        ("buf", C.c_void_p),
        ("size", C.c_uint32),
    ]


class rknn_init_extend(C.Structure):
    _fields_ = [
        ("ctx", rknn_context),
        ("real_model_offset", C.c_int32),
        ("real_model_size", C.c_uint32),
        ("model_buffer_fd", C.c_int32),
        ("model_buffer_flags", C.c_uint32),
        ("reserved", C.c_uint8 * 112),
    ]


class rknn_run_extend(C.Structure):
    _fields_ = [
        ("frame_id", C.c_uint64),
        ("non_block", C.c_int32),
        ("timeout_ms", C.c_int32),
        ("fence_fd", C.c_int32),
    ]


class rknn_output_extend(C.Structure):
    _fields_ = [("frame_id", C.c_uint64)]


class rknn_custom_op_attr(C.Structure):
    _fields_ = [
        ("name", C.c_char * 256),
        ("dtype", C.c_int),
        ("n_elems", C.c_uint32),
        ("data", C.c_void_p),
    ]


# rknn_matmul_api.h: rknn_matmul_type, rknn_matmul_layout, rknn_matmul_quant_type
RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT32 = 1
RKNN_INT8_MM_INT8_TO_INT32 = 2
RKNN_INT8_MM_INT8_TO_INT8 = 3
RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT16 = 4
RKNN_FLOAT16_MM_INT8_TO_FLOAT32 = 5
RKNN_FLOAT16_MM_INT8_TO_FLOAT16 = 6
RKNN_FLOAT16_MM_INT4_TO_FLOAT32 = 7
RKNN_FLOAT16_MM_INT4_TO_FLOAT16 = 8
RKNN_INT8_MM_INT8_TO_FLOAT32 = 9
RKNN_INT4_MM_INT4_TO_INT16 = 10
RKNN_INT8_MM_INT4_TO_INT32 = 11
RKNN_FLOAT16_MM_INT4_TO_BFLOAT16 = 12
RKNN_INT8_MM_INT4_TO_FLOAT16 = 15
RKNN_MM_LAYOUT_NORM = 0
RKNN_MM_LAYOUT_NATIVE = 1
RKNN_MM_LAYOUT_TP_NORM = 2
RKNN_QUANT_TYPE_PER_LAYER_SYM = 0
RKNN_QUANT_TYPE_PER_LAYER_ASYM = 1
RKNN_QUANT_TYPE_PER_CHANNEL_SYM = 2
RKNN_QUANT_TYPE_PER_CHANNEL_ASYM = 3
RKNN_QUANT_TYPE_PER_GROUP_SYM = 4


class rknn_matmul_info(C.Structure):
    _fields_ = [
        ("M", C.c_int32),
        ("K", C.c_int32),
        ("N", C.c_int32),
        ("type", C.c_int),
        ("B_layout", C.c_int16),
        ("B_quant_type", C.c_int16),
        ("AC_layout", C.c_int16),
        ("AC_quant_type", C.c_int16),
        ("iommu_domain_id", C.c_int32),
        ("group_size", C.c_int16),
        ("reserved", C.c_int8 * 34),
    ]


class rknn_matmul_tensor_attr(C.Structure):
    _fields_ = [
        ("name", C.c_char * 256),
        ("n_dims", C.c_uint32),
        ("dims", C.c_uint32 * 16),
        ("size", C.c_uint32),
        ("type", C.c_int),
    ]

    @property
    def shape(self):
        return tuple(self.dims[i] for i in range(self.n_dims))


class rknn_matmul_io_attr(C.Structure):
    _fields_ = [("A", rknn_matmul_tensor_attr), ("B", rknn_matmul_tensor_attr), ("C", rknn_matmul_tensor_attr)]


class rknn_quant_params(C.Structure):
    _fields_ = [
        ("name", C.c_char * 256),
        ("scale", C.POINTER(C.c_float)),
        ("scale_len", C.c_int32),
        ("zp", C.POINTER(C.c_int32)),
        ("zp_len", C.c_int32),
    ]


class rknn_matmul_shape(C.Structure):
    _fields_ = [("M", C.c_int32), ("K", C.c_int32), ("N", C.c_int32)]


STRUCT_SIZES = {
    rknn_input_output_num: 8,
    rknn_tensor_attr: 376,
    rknn_input_range: 33040,
    rknn_perf_run: 8,
    rknn_sdk_version: 512,
    rknn_mem_size: 64,
    rknn_custom_string: 1024,
    rknn_tensor_mem: 40,
    rknn_input: 32,
    rknn_output: 24,
    rknn_init_extend: 136,
    rknn_run_extend: 24,
    rknn_output_extend: 8,
    rknn_custom_op_attr: 272,
    rknn_matmul_info: 64,
    rknn_matmul_tensor_attr: 332,
    rknn_matmul_io_attr: 996,
    rknn_quant_params: 288,
    rknn_matmul_shape: 12,
}

P = C.POINTER
_ptr = C.c_void_p

# name → (restype, argtypes); the 35 functions of rknn-api.md §6 in its order.
PROTOTYPES = {
    "rknn_init": (C.c_int, [P(rknn_context), _ptr, C.c_uint32, C.c_uint32, P(rknn_init_extend)]),
    "rknn_dup_context": (C.c_int, [P(rknn_context), P(rknn_context)]),
    "rknn_destroy": (C.c_int, [rknn_context]),
    "rknn_query": (C.c_int, [rknn_context, C.c_int, _ptr, C.c_uint32]),
    "rknn_inputs_set": (C.c_int, [rknn_context, C.c_uint32, P(rknn_input)]),
    "rknn_set_batch_core_num": (C.c_int, [rknn_context, C.c_int]),
    "rknn_set_core_mask": (C.c_int, [rknn_context, C.c_int]),
    "rknn_run": (C.c_int, [rknn_context, P(rknn_run_extend)]),
    "rknn_wait": (C.c_int, [rknn_context, P(rknn_run_extend)]),
    "rknn_outputs_get": (C.c_int, [rknn_context, C.c_uint32, P(rknn_output), P(rknn_output_extend)]),
    "rknn_outputs_release": (C.c_int, [rknn_context, C.c_uint32, P(rknn_output)]),
    "rknn_create_mem_from_phys": (P(rknn_tensor_mem), [rknn_context, C.c_uint64, _ptr, C.c_uint32]),
    "rknn_create_mem_from_fd": (P(rknn_tensor_mem), [rknn_context, C.c_int32, _ptr, C.c_uint32, C.c_int32]),
    "rknn_create_mem_from_mb_blk": (P(rknn_tensor_mem), [rknn_context, _ptr, C.c_int32]),
    "rknn_create_mem": (P(rknn_tensor_mem), [rknn_context, C.c_uint32]),
    "rknn_create_mem2": (P(rknn_tensor_mem), [rknn_context, C.c_uint64, C.c_uint64]),
    "rknn_destroy_mem": (C.c_int, [rknn_context, P(rknn_tensor_mem)]),
    "rknn_set_weight_mem": (C.c_int, [rknn_context, P(rknn_tensor_mem)]),
    "rknn_set_internal_mem": (C.c_int, [rknn_context, P(rknn_tensor_mem)]),
    "rknn_set_io_mem": (C.c_int, [rknn_context, P(rknn_tensor_mem), P(rknn_tensor_attr)]),
    "rknn_set_input_shape": (C.c_int, [rknn_context, P(rknn_tensor_attr)]),
    "rknn_set_input_shapes": (C.c_int, [rknn_context, C.c_uint32, P(rknn_tensor_attr)]),
    "rknn_mem_sync": (C.c_int, [rknn_context, P(rknn_tensor_mem), C.c_int]),
    "rknn_register_custom_ops": (C.c_int, [rknn_context, _ptr, C.c_uint32]),
    "rknn_custom_op_get_op_attr": (None, [_ptr, C.c_char_p, P(rknn_custom_op_attr)]),
    "rknn_matmul_create": (C.c_int, [P(rknn_context), P(rknn_matmul_info), P(rknn_matmul_io_attr)]),
    "rknn_matmul_create_dynamic_shape": (C.c_int, [P(rknn_context), P(rknn_matmul_info), C.c_int,
                                                   P(rknn_matmul_shape), P(rknn_matmul_io_attr)]),
    "rknn_matmul_set_io_mem": (C.c_int, [rknn_context, P(rknn_tensor_mem), P(rknn_matmul_tensor_attr)]),
    "rknn_matmul_set_core_mask": (C.c_int, [rknn_context, C.c_int]),
    "rknn_matmul_set_quant_params": (C.c_int, [rknn_context, P(rknn_quant_params)]),
    "rknn_matmul_get_quant_params": (C.c_int, [rknn_context, P(rknn_quant_params), P(C.c_float)]),
    "rknn_matmul_set_dynamic_shape": (C.c_int, [rknn_context, P(rknn_matmul_shape)]),
    "rknn_matmul_run": (C.c_int, [rknn_context]),
    "rknn_matmul_destroy": (C.c_int, [rknn_context]),
    "rknn_B_normal_layout_to_native_layout": (C.c_int, [_ptr, _ptr, C.c_int, C.c_int, P(rknn_matmul_info)]),
}

EMULATOR_PROTOTYPES = {
    "ezrknn_emu_version": (C.c_char_p, []),
    "ezrknn_emu_last_error": (C.c_char_p, []),
}


def load(path):
    """Loads the library and declares every prototype on it."""
    lib = C.CDLL(str(path))
    for name, (restype, argtypes) in {**PROTOTYPES, **EMULATOR_PROTOTYPES}.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib
