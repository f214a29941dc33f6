// What the integer kernels (QLinearConv, QLinearMatMul, ConvInteger, MatMulInteger) share: the checks of their
// scale and zero-point inputs at load time, and loading them at run time. A constant scale must be positive and
// finite: a quantized model with a zero scale is refused at load, naming the node.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/kernel.hpp"

namespace ezemu::kernels::quant {

// One quantization parameter pair of a QLinear op: scale input `scale_index`, zero point `zp_index` (absent allowed
// when `zp_optional`), for a tensor of `dtype` with `per_channel` entries allowed (1 = per tensor only).
struct QuantOperand {
    size_t scale_index = 0, zp_index = 0;
    bool has_zp = false;
    onnx::DataType scale_dtype = onnx::DataType::Float;
    onnx::DataType zp_dtype = onnx::DataType::Undefined;
    int64_t count = 1;     // scale values: 1 or per_channel
    int64_t zp_count = 0;  // zero-point values: 0 (absent), 1 or count
};

// Checks the scale (float32/float16; 1 or `per_channel` values; positive and finite when constant) and the zero
// point (the tensor's dtype; as many values as the scale). `what` names the tensor in messages ("x", "w", "y").
QuantOperand check_scale_operand(const KernelContext& ctx, size_t scale_index, size_t zp_index, onnx::DataType dtype,
                                 int64_t per_channel, const char* what);

// Checks a zero point without a scale (ConvInteger, MatMulInteger): optional, the tensor's dtype, 1 or `per_channel`
// values. Returns the number of values (0 when absent).
int64_t check_zero_point(const KernelContext& ctx, size_t zp_index, onnx::DataType dtype, int64_t per_channel,
                         const char* what);

// Checks that a constant scale input holds only positive, finite values (no-op for a run-time scale).
void check_positive_scales(const KernelContext& ctx, size_t scale_index, const char* what);

// Run time: the scale values as floats, the zero points as int32 (0 when absent), broadcast to `count` entries.
void load_operand(const QuantOperand& op, const void* const* inputs, float* scale, int32_t* zp, int64_t count);
void load_zero_point_values(onnx::DataType dtype, const void* src, int64_t src_count, int32_t* dst, int64_t count);

bool is_8bit(onnx::DataType dtype);

// The quantization inputs of one integer Conv / MatMul node, checked at load: QLinearConv / QLinearMatMul (x, w and
// y scales and zero points: inputs 1, 2, 4, 5, 6, 7) or ConvInteger / MatMulInteger (x and w zero points: inputs 2,
// 3). x is input 0, w is input 3 (QLinear*) or 1; w's scale and zero point may hold one value per `channels`.
struct IntegerOperands {
    bool qlinear = false;
    size_t x = 0, w = 1;
    onnx::DataType x_dtype = onnx::DataType::Undefined, w_dtype = onnx::DataType::Undefined;
    onnx::DataType y_dtype = onnx::DataType::Int32;  // Float: QGemm's unquantized output (y_q unused)
    int64_t channels = 1;
    QuantOperand x_q, w_q, y_q;  // QLinear*: scale + zero point each; *Integer: only the zero points' fields

    // Run time: x's and y's zero points, w's zero points and the requantization multipliers (QLinear* only; 1 for
    // *Integer), `channels` each. `alpha` scales x's scale first (QGemm; requantize.hpp's gemm_multiplier).
    void load(const void* const* inputs, int32_t& x_zp, int32_t& y_zp, int32_t* w_zp, float* multiplier,
              float alpha = 1.0f) const;
    // True when w is a constant whose zero points are absent or constant zeros (a symmetric weight tensor).
    bool constant_symmetric_weights(const KernelContext& ctx) const;
};

// Checks the QLinear* operands (8 inputs; y is uint8 or int8). Messages name the op and the inputs ("x"/"w" of a
// convolution, "a"/"b" of a matrix product). With `float_output_allowed` (QGemm), absent y scale and zero point
// mean a float32 y.
IntegerOperands check_qlinear_operands(const KernelContext& ctx, int64_t channels, const char* op, const char* x_name,
                                       const char* w_name, bool float_output_allowed = false);
// Checks the *Integer operands (2 to 4 inputs; y is int32).
IntegerOperands check_integer_operands(const KernelContext& ctx, int64_t channels, const char* x_name,
                                       const char* w_name);

}  // namespace ezemu::kernels::quant
