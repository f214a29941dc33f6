#include "kernels/matmul_api/matmul_api_kernels.hpp"

#include <algorithm>
#include <limits>

namespace ezemu::kernels::matmul_api {
namespace {

// |(a - zp_a) * (b - zp_b)| <= 255 * 255 for int8 values and zero points, so up to this many terms the sum
// cannot leave int32 and needs no 64-bit accumulator.
constexpr size_t kInt32SafeTerms = static_cast<size_t>(std::numeric_limits<int32_t>::max()) / (255 * 255);

}  // namespace

void matmul_float(const float* a, const float* b, float* c, size_t m, size_t k, size_t n)
{
    for (size_t i = 0; i < m; ++i) {
        const float* a_row = a + i * k;
        float* c_row = c + i * n;
        std::fill(c_row, c_row + n, 0.0f);
        for (size_t p = 0; p < k; ++p) {
            const float av = a_row[p];
            const float* b_row = b + p * n;
            for (size_t j = 0; j < n; ++j) c_row[j] += av * b_row[j];
        }
    }
}

void matmul_int8(const int8_t* a, int32_t a_zero_point, const int8_t* b, const int32_t* b_zero_points,
                 int32_t* acc, int64_t* row, size_t m, size_t k, size_t n)
{
    for (size_t i = 0; i < m; ++i) {
        const int8_t* a_row = a + i * k;
        int32_t* acc_row = acc + i * n;
        if (k <= kInt32SafeTerms) {
            std::fill(acc_row, acc_row + n, 0);
            for (size_t p = 0; p < k; ++p) {
                const int32_t av = int32_t{a_row[p]} - a_zero_point;
                const int8_t* b_row = b + p * n;
                for (size_t j = 0; j < n; ++j) acc_row[j] += av * (int32_t{b_row[j]} - b_zero_points[j]);
            }
            continue;
        }
        std::fill(row, row + n, int64_t{0});
        for (size_t p = 0; p < k; ++p) {
            const int64_t av = int64_t{a_row[p]} - a_zero_point;
            const int8_t* b_row = b + p * n;
            for (size_t j = 0; j < n; ++j) row[j] += av * (int64_t{b_row[j]} - b_zero_points[j]);
        }
        constexpr int64_t lo = std::numeric_limits<int32_t>::min();
        constexpr int64_t hi = std::numeric_limits<int32_t>::max();
        for (size_t j = 0; j < n; ++j) acc_row[j] = static_cast<int32_t>(std::clamp(row[j], lo, hi));
    }
}

}  // namespace ezemu::kernels::matmul_api
