// The rows of QLinearAdd / QLinearMul (qlinear_binary.cpp): y[i] = rule(a[i], b[i]) over one row of the broadcast
// walk, either input possibly one code broadcast over the row (an SE block's x * HardSigmoid(se) per channel). The
// AVX-512 rows give the bits of the scalar ones (requantize.hpp's AddRule / MulRule); tests compare both on every
// code pair and every row length up to 64.
#pragma once

#include <cstdint>

#include "kernels/quant/requantize.hpp"

namespace ezemu::kernels::quant {

// The scalar rule, element by element.
template <class Rule, class Q>
void binary_row_scalar(const Rule& rule, const Q* a, bool a_scalar, const Q* b, bool b_scalar, Q* y, int64_t n);

// 16 elements at a time; false (nothing written) when the CPU lacks AVX-512 F, BW and VL.
template <class Rule, class Q>
bool binary_row_avx512(const Rule& rule, const Q* a, bool a_scalar, const Q* b, bool b_scalar, Q* y, int64_t n);

// The fastest row the CPU runs.
template <class Rule, class Q>
inline void binary_row(const Rule& rule, const Q* a, bool a_scalar, const Q* b, bool b_scalar, Q* y, int64_t n) {
    if (!binary_row_avx512(rule, a, a_scalar, b, b_scalar, y, n)) binary_row_scalar(rule, a, a_scalar, b, b_scalar, y, n);
}

}  // namespace ezemu::kernels::quant
