#include "npu/matmul_spec.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#include "npu/rknn_error.hpp"
#include "npu/tensor_attrs.hpp"

namespace ezemu::npu {
namespace {

constexpr MatmulTypeSpec kSupported[] = {
    {RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT32, "RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT32", RKNN_TENSOR_FLOAT16,
     RKNN_TENSOR_FLOAT16, RKNN_TENSOR_FLOAT32},
    {RKNN_INT8_MM_INT8_TO_INT32, "RKNN_INT8_MM_INT8_TO_INT32", RKNN_TENSOR_INT8, RKNN_TENSOR_INT8, RKNN_TENSOR_INT32},
    {RKNN_INT8_MM_INT8_TO_INT8, "RKNN_INT8_MM_INT8_TO_INT8", RKNN_TENSOR_INT8, RKNN_TENSOR_INT8, RKNN_TENSOR_INT8},
    {RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT16, "RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT16", RKNN_TENSOR_FLOAT16,
     RKNN_TENSOR_FLOAT16, RKNN_TENSOR_FLOAT16},
    {RKNN_FLOAT16_MM_INT8_TO_FLOAT32, "RKNN_FLOAT16_MM_INT8_TO_FLOAT32", RKNN_TENSOR_FLOAT16, RKNN_TENSOR_INT8,
     RKNN_TENSOR_FLOAT32},
    {RKNN_FLOAT16_MM_INT8_TO_FLOAT16, "RKNN_FLOAT16_MM_INT8_TO_FLOAT16", RKNN_TENSOR_FLOAT16, RKNN_TENSOR_INT8,
     RKNN_TENSOR_FLOAT16},
    {RKNN_INT8_MM_INT8_TO_FLOAT32, "RKNN_INT8_MM_INT8_TO_FLOAT32", RKNN_TENSOR_INT8, RKNN_TENSOR_INT8,
     RKNN_TENSOR_FLOAT32},
};

// The int4 types of the header: packed 4-bit operands the emulator does not compute.
constexpr int kInt4Types[] = {RKNN_FLOAT16_MM_INT4_TO_FLOAT32, RKNN_FLOAT16_MM_INT4_TO_FLOAT16,
                              RKNN_INT4_MM_INT4_TO_INT16,      RKNN_INT8_MM_INT4_TO_INT32,
                              RKNN_FLOAT16_MM_INT4_TO_BFLOAT16, RKNN_INT8_MM_INT4_TO_FLOAT16};

std::string supported_list()
{
    std::string text;
    for (const MatmulTypeSpec& s : kSupported) {
        if (!text.empty()) text += ", ";
        text += std::string(s.name) + " (" + std::to_string(s.type) + ")";
    }
    return text;
}

void fill_attr(rknn_matmul_tensor_attr& attr, const char* name, uint32_t rows, uint32_t cols, rknn_tensor_type type)
{
    std::memset(&attr, 0, sizeof attr);
    std::strncpy(attr.name, name, sizeof attr.name - 1);
    attr.n_dims = 2;
    attr.dims[0] = rows;
    attr.dims[1] = cols;
    attr.size = static_cast<uint32_t>(uint64_t{rows} * cols * rknn_type_size(type));
    attr.type = type;
}

}  // namespace

const MatmulTypeSpec& matmul_type_spec(int type)
{
    for (const MatmulTypeSpec& s : kSupported) {
        if (s.type == type) return s;
    }
    for (int t : kInt4Types) {
        if (t == type) {
            throw RknnError(RKNN_ERR_PARAM_INVALID,
                            std::string("info->type ") + get_matmul_type_string(static_cast<rknn_matmul_type>(type)) +
                                " (" + std::to_string(type) + ") has int4 operands, which the ezrknn emulator does "
                                "not compute; use one of " + supported_list());
        }
    }
    throw RknnError(RKNN_ERR_PARAM_INVALID, "info->type " + std::to_string(type) +
                                                " is not an rknn_matmul_type; use one of " + supported_list());
}

std::string describe(const MatmulShape& s)
{
    return "(M=" + std::to_string(s.M) + ", K=" + std::to_string(s.K) + ", N=" + std::to_string(s.N) + ")";
}

void check_matmul_shape(const MatmulShape& s, const MatmulTypeSpec& spec, const std::string& what)
{
    if (s.M <= 0 || s.K <= 0 || s.N <= 0) {
        throw RknnError(RKNN_ERR_PARAM_INVALID,
                        what + " has " + describe(s) + "; M, K and N must all be greater than 0");
    }
    const uint64_t m = static_cast<uint64_t>(s.M), k = static_cast<uint64_t>(s.K), n = static_cast<uint64_t>(s.N);
    const uint64_t largest = std::max({m * k * rknn_type_size(spec.a), k * n * rknn_type_size(spec.b),
                                       m * n * rknn_type_size(spec.c)});
    if (largest > std::numeric_limits<uint32_t>::max()) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, what + " has " + describe(s) + ": an operand would take " +
                                                    std::to_string(largest) +
                                                    " bytes, more than the 32-bit size of a matmul tensor attr");
    }
}

void check_matmul_layouts(const rknn_matmul_info& info)
{
    if (info.B_layout == RKNN_MM_LAYOUT_NATIVE || info.AC_layout == RKNN_MM_LAYOUT_NATIVE) {
        throw RknnError(RKNN_ERR_PARAM_INVALID,
                        std::string(info.B_layout == RKNN_MM_LAYOUT_NATIVE ? "info->B_layout" : "info->AC_layout") +
                            " is RKNN_MM_LAYOUT_NATIVE (1): the NPU's native matmul byte order is not documented, so "
                            "the ezrknn emulator does not emulate it; use RKNN_MM_LAYOUT_NORM (0)" +
                            (info.B_layout == RKNN_MM_LAYOUT_NATIVE ? " or RKNN_MM_LAYOUT_TP_NORM (2) for B" : ""));
    }
    if (info.B_layout != RKNN_MM_LAYOUT_NORM && info.B_layout != RKNN_MM_LAYOUT_TP_NORM) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, "info->B_layout is " + std::to_string(info.B_layout) +
                                                    "; use RKNN_MM_LAYOUT_NORM (0) or RKNN_MM_LAYOUT_TP_NORM (2)");
    }
    if (info.AC_layout != RKNN_MM_LAYOUT_NORM) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, "info->AC_layout is " + std::to_string(info.AC_layout) +
                                                    "; use RKNN_MM_LAYOUT_NORM (0)");
    }
    if (info.B_quant_type < RKNN_QUANT_TYPE_PER_LAYER_SYM || info.B_quant_type > RKNN_QUANT_TYPE_PER_CHANNEL_ASYM) {
        throw RknnError(RKNN_ERR_PARAM_INVALID,
                        "info->B_quant_type is " + std::to_string(info.B_quant_type) +
                            "; the emulator quantizes B per layer (0, 1) or per channel (2, 3); per-group "
                            "quantization (4, 5) belongs to the int4 types, which it does not compute");
    }
    if (info.AC_quant_type != RKNN_QUANT_TYPE_PER_LAYER_SYM && info.AC_quant_type != RKNN_QUANT_TYPE_PER_LAYER_ASYM) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, "info->AC_quant_type is " + std::to_string(info.AC_quant_type) +
                                                    "; A and C are quantized per layer: use "
                                                    "RKNN_QUANT_TYPE_PER_LAYER_SYM (0) or _ASYM (1)");
    }
}

rknn_matmul_io_attr matmul_io_attr(const MatmulTypeSpec& spec, const MatmulShape& s, int b_layout)
{
    rknn_matmul_io_attr io;
    const auto m = static_cast<uint32_t>(s.M), k = static_cast<uint32_t>(s.K), n = static_cast<uint32_t>(s.N);
    fill_attr(io.A, "A", m, k, spec.a);
    if (b_layout == RKNN_MM_LAYOUT_TP_NORM)
        fill_attr(io.B, "B", n, k, spec.b);
    else
        fill_attr(io.B, "B", k, n, spec.b);
    fill_attr(io.C, "C", m, n, spec.c);
    return io;
}

}  // namespace ezemu::npu
