// Where each element of a QuantizeLinear / DequantizeLinear input finds its scale and zero point: one pair for the
// whole tensor, one per index along `axis` (opset 13), or one per block of `block_size` indices along `axis`
// (opset 21). Both ops see their input as [outer, axis_dim, inner].
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/kernel.hpp"

namespace ezemu::kernels::quant {

struct QuantParamLayout {
    enum class Mode { PerTensor, PerAxis, Blocked };
    Mode mode = Mode::PerTensor;
    int64_t outer = 1, axis_dim = 1, inner = 1;
    int64_t block_size = 0;  // Blocked only
    int64_t blocks = 1;      // Blocked only: ceil(axis_dim / block_size)
    int64_t param_count = 1;

    // Offset of the first parameter of row (o, a) and the step between the parameters of that row's inner elements.
    int64_t row_offset(int64_t o, int64_t a) const {
        switch (mode) {
            case Mode::PerTensor: return 0;
            case Mode::PerAxis: return a;
            case Mode::Blocked: return (o * blocks + a / block_size) * inner;
        }
        return 0;
    }
    int64_t inner_step() const { return mode == Mode::Blocked ? 1 : 0; }
};

// Reads axis / block_size and checks the scale (input 1) and zero point (input 2, when present) against x (input 0).
QuantParamLayout quant_param_layout(const KernelContext& ctx);

// Scale values as floats: float32 and float16 scales convert exactly. ModelError for other scale dtypes.
void check_scale_dtype(const KernelContext& ctx);
void load_scales(onnx::DataType dtype, const void* src, float* dst, int64_t count);

// Zero points as int32 (every integer quantized type fits).
void load_zero_points(onnx::DataType dtype, const void* src, int32_t* dst, int64_t count);

}  // namespace ezemu::kernels::quant
