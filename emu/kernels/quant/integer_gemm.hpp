// The inner product of the integer kernels: int16 operands (8-bit values minus their zero points), int32 sums.
// Integer arithmetic is exact in any order, so the vectorized versions give the same bits as the scalar loop.
#pragma once

#include <cstdint>

namespace ezemu::kernels::quant {

// acc[j] += sum over k < depth of w[k] * rows[k * row_stride + j], for j < width.
void accumulate_rows(int32_t* acc, const int16_t* w, const int16_t* rows, int64_t depth, int64_t row_stride,
                     int64_t width);

}  // namespace ezemu::kernels::quant
