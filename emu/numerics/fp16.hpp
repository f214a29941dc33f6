// IEEE-754 binary16 ("half") conversions, the number format of a float model on the NPU (rknn-api.md §7.7).
// Round-to-nearest-even with inf/nan/subnormals preserved; identical results on every host (the bulk forms use
// F16C when the CPU has it, which differs from the scalar code only in the payload bits of signalling NaNs).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ezemu::numerics {

// Nearest half, ties to even. Overflow gives ±inf; NaN stays NaN with as much of its payload as fits.
uint16_t float_to_half(float value);

// Exact: every half is representable as a float.
float half_to_float(uint16_t bits);

// The float a value becomes after a trip through the NPU's fp16 storage.
inline float round_to_half(float value) { return half_to_float(float_to_half(value)); }

// Bulk forms over dense arrays of `count` elements. The arrays may be unaligned (caller buffers).
void floats_to_halves(const float* src, uint16_t* dst, size_t count);
void halves_to_floats(const uint16_t* src, float* dst, size_t count);
// In place or out of place (src may equal dst).
void round_floats_to_half(const float* src, float* dst, size_t count);

}  // namespace ezemu::numerics
