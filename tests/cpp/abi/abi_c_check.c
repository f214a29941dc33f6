/* The ABI headers must compile as plain C (they are C, not C++); the same layout holds there. */
#include <stddef.h>

#include "rknn/rknn_api.h"
#include "rknn/rknn_custom_op.h"
#include "rknn/rknn_matmul_api.h"

_Static_assert(sizeof(rknn_tensor_attr) == 376, "rknn_tensor_attr");
_Static_assert(offsetof(rknn_tensor_attr, h_stride) == 372, "rknn_tensor_attr.h_stride");
_Static_assert(sizeof(rknn_custom_op) == 832, "rknn_custom_op");
_Static_assert(sizeof(rknn_input_range) == 33040, "rknn_input_range");
_Static_assert(sizeof(rknn_init_extend) == 136, "rknn_init_extend");
_Static_assert(sizeof(rknn_matmul_io_attr) == 996, "rknn_matmul_io_attr");

const char* ezrknn_abi_c_check_name(void) { return get_qnt_type_string(RKNN_TENSOR_QNT_AFFINE_ASYMMETRIC); }
