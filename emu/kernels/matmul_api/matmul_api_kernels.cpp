#include "kernels/matmul_api/matmul_api_kernels.hpp"

#include <algorithm>
#include <limits>

namespace ezemu::kernels::matmul_api {

void matmul_float(const float* a, const float* b, bool b_transposed, float* c, size_t m, size_t k, size_t n)
{
    for (size_t i = 0; i < m; ++i) {
        const float* a_row = a + i * k;
        float* c_row = c + i * n;
        if (b_transposed) {
            // B rows are C columns: one dot product per output, both operands contiguous.
            for (size_t j = 0; j < n; ++j) {
                const float* b_row = b + j * k;
                float sum = 0.0f;
                for (size_t p = 0; p < k; ++p) sum += a_row[p] * b_row[p];
                c_row[j] = sum;
            }
        } else {
            // Row of C accumulated over the rows of B, so the inner loop runs along contiguous memory.
            std::fill(c_row, c_row + n, 0.0f);
            for (size_t p = 0; p < k; ++p) {
                const float av = a_row[p];
                const float* b_row = b + p * n;
                for (size_t j = 0; j < n; ++j) c_row[j] += av * b_row[j];
            }
        }
    }
}

void matmul_int8(const int8_t* a, int32_t a_zero_point, const int8_t* b, const int32_t* b_zero_points,
                 bool b_transposed, int32_t* acc, int64_t* row, size_t m, size_t k, size_t n)
{
    constexpr int64_t lo = std::numeric_limits<int32_t>::min();
    constexpr int64_t hi = std::numeric_limits<int32_t>::max();
    for (size_t i = 0; i < m; ++i) {
        const int8_t* a_row = a + i * k;
        if (b_transposed) {
            for (size_t j = 0; j < n; ++j) {
                const int8_t* b_row = b + j * k;
                const int64_t bz = b_zero_points[j];
                int64_t sum = 0;
                for (size_t p = 0; p < k; ++p) sum += (int64_t{a_row[p]} - a_zero_point) * (int64_t{b_row[p]} - bz);
                row[j] = sum;
            }
        } else {
            std::fill(row, row + n, int64_t{0});
            for (size_t p = 0; p < k; ++p) {
                const int64_t av = int64_t{a_row[p]} - a_zero_point;
                const int8_t* b_row = b + p * n;
                for (size_t j = 0; j < n; ++j) row[j] += av * (int64_t{b_row[j]} - b_zero_points[j]);
            }
        }
        int32_t* acc_row = acc + i * n;
        for (size_t j = 0; j < n; ++j) acc_row[j] = static_cast<int32_t>(std::clamp(row[j], lo, hi));
    }
}

}  // namespace ezemu::kernels::matmul_api
