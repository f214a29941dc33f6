#include "kernels/broadcast.hpp"

#include <algorithm>

namespace ezemu::kernels {

std::optional<Shape> broadcast_shapes(const Shape& a, const Shape& b) {
    const size_t r = std::max(a.size(), b.size());
    Shape out(r);
    for (size_t i = 0; i < r; ++i) {
        int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
        int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
        if (da == db || db == 1) out[i] = da;
        else if (da == 1) out[i] = db;
        else return std::nullopt;
    }
    return out;
}

bool broadcasts_to(const Shape& from, const Shape& to) {
    if (from.size() > to.size()) return false;
    const size_t off = to.size() - from.size();
    for (size_t i = 0; i < from.size(); ++i)
        if (from[i] != 1 && from[i] != to[off + i]) return false;
    return true;
}

BinaryBroadcast::BinaryBroadcast(const Shape& a, const Shape& b, const Shape& out) {
    const size_t r = out.size();
    // Dims of size 1 in the output carry no iteration; runs of dims with the same broadcast pattern merge.
    std::vector<int64_t> dims;
    std::vector<bool> a_bc, b_bc;
    for (size_t i = 0; i < r; ++i) {
        if (out[i] == 1) continue;
        bool ab = (i < r - a.size() ? 1 : a[i - (r - a.size())]) == 1;
        bool bb = (i < r - b.size() ? 1 : b[i - (r - b.size())]) == 1;
        if (!dims.empty() && a_bc.back() == ab && b_bc.back() == bb) {
            dims.back() *= out[i];
        } else {
            dims.push_back(out[i]);
            a_bc.push_back(ab);
            b_bc.push_back(bb);
        }
    }
    if (dims.empty()) return;  // one element
    inner = dims.back();
    a_inner_scalar = a_bc.back();
    b_inner_scalar = b_bc.back();
    const size_t outer = dims.size() - 1;
    outer_dims.assign(dims.begin(), dims.begin() + static_cast<ptrdiff_t>(outer));
    a_strides.assign(outer, 0);
    b_strides.assign(outer, 0);
    int64_t as = a_inner_scalar ? 1 : inner, bs = b_inner_scalar ? 1 : inner;
    for (size_t k = outer; k-- > 0;) {
        if (!a_bc[k]) a_strides[k] = as, as *= dims[k];
        if (!b_bc[k]) b_strides[k] = bs, bs *= dims[k];
        outer_count *= dims[k];
    }
}

}  // namespace ezemu::kernels
