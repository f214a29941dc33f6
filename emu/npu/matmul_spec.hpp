// What a matmul context is made of (rknn-api.md §2 "Matmul enums", §5 "Matmul structs", §7.14): the operand types
// of each rknn_matmul_type, the checks on rknn_matmul_info, and the A/B/C attributes rknn_matmul_create reports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "rknn/rknn_matmul_api.h"

namespace ezemu::npu {

struct MatmulTypeSpec {
    int type;          // rknn_matmul_type
    const char* name;  // "RKNN_INT8_MM_INT8_TO_INT32"
    rknn_tensor_type a;
    rknn_tensor_type b;
    rknn_tensor_type c;
};

// The spec of a type the emulator computes. Throws RknnError(RKNN_ERR_PARAM_INVALID) for an unknown value and for
// the int4 types (which it does not compute), naming the supported ones.
const MatmulTypeSpec& matmul_type_spec(int type);

struct MatmulShape {
    int32_t M = 0;
    int32_t K = 0;
    int32_t N = 0;
    bool operator==(const MatmulShape&) const = default;
};
std::string describe(const MatmulShape& shape);  // "(M=4, K=64, N=32)"

// Throws RknnError(RKNN_ERR_PARAM_INVALID) unless M, K and N are > 0 and every operand fits the 32-bit size of an
// attr. `what` names the shape in the message ("info", "dynamic_shapes[2]").
void check_matmul_shape(const MatmulShape& shape, const MatmulTypeSpec& spec, const std::string& what);

// Throws RknnError(RKNN_ERR_PARAM_INVALID) for layouts and quantization types the emulator does not provide: B_layout
// NORM or TP_NORM, AC_layout NORM, B_quant_type per layer or per channel, AC_quant_type per layer.
void check_matmul_layouts(const rknn_matmul_info& info);

// Attributes named "A", "B", "C": A [M,K], B [K,N] (TP_NORM: [N,K]), C [M,N], sizes in bytes.
rknn_matmul_io_attr matmul_io_attr(const MatmulTypeSpec& spec, const MatmulShape& shape, int b_layout);

}  // namespace ezemu::npu
