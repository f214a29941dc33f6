#include "npu/layout.hpp"

#include <cstring>
#include <stdexcept>

namespace ezemu::npu {
namespace {

// Fixed-size element copies let the compiler turn each move into one load and one store.
template <size_t Bytes>
struct Element {
    unsigned char bytes[Bytes];
};

template <size_t Bytes>
void transpose_nchw_nhwc(const void* src, void* dst, const Nchw& s, size_t w_stride, bool to_nhwc)
{
    using E = Element<Bytes>;
    const E* in = static_cast<const E*>(src);
    E* out = static_cast<E*>(dst);
    const size_t plane = s.h * s.w;
    const size_t nhwc_batch = s.h * w_stride * s.c;
    for (size_t n = 0; n < s.n; ++n) {
        const size_t base = n * s.c * plane;
        const size_t nhwc_base = n * nhwc_batch;
        for (size_t c = 0; c < s.c; ++c) {
            for (size_t h = 0; h < s.h; ++h) {
                for (size_t w = 0; w < s.w; ++w) {
                    const size_t nchw = base + c * plane + h * s.w + w;
                    const size_t nhwc = nhwc_base + (h * w_stride + w) * s.c + c;
                    if (to_nhwc)
                        out[nhwc] = in[nchw];
                    else
                        out[nchw] = in[nhwc];
                }
            }
        }
    }
}

template <size_t Bytes>
void convert_nc1hwc2(const void* src, void* dst, const Nchw& s, size_t c2, size_t w_stride, bool to_native)
{
    using E = Element<Bytes>;
    const E* in = static_cast<const E*>(src);
    E* out = static_cast<E*>(dst);
    const size_t c1 = (s.c + c2 - 1) / c2;
    const size_t native_batch = c1 * s.h * w_stride * c2;
    const size_t plane = s.h * s.w;
    for (size_t n = 0; n < s.n; ++n) {
        for (size_t c = 0; c < s.c; ++c) {
            const size_t block = c / c2;
            const size_t lane = c % c2;
            for (size_t h = 0; h < s.h; ++h) {
                for (size_t w = 0; w < s.w; ++w) {
                    const size_t dense = (n * s.c + c) * plane + h * s.w + w;
                    const size_t native = n * native_batch + ((block * s.h + h) * w_stride + w) * c2 + lane;
                    if (to_native)
                        out[native] = in[dense];
                    else
                        out[dense] = in[native];
                }
            }
        }
    }
}

template <template <size_t> class Fn, typename... Args>
void dispatch_element_size(size_t element_size, Args&&... args)
{
    switch (element_size) {
    case 1: Fn<1>::run(args...); return;
    case 2: Fn<2>::run(args...); return;
    case 4: Fn<4>::run(args...); return;
    case 8: Fn<8>::run(args...); return;
    default: throw std::invalid_argument("layout conversion: unsupported element size");
    }
}

template <size_t Bytes>
struct TransposeFn {
    static void run(const void* src, void* dst, const Nchw& s, size_t w_stride, bool to_nhwc)
    {
        transpose_nchw_nhwc<Bytes>(src, dst, s, w_stride, to_nhwc);
    }
};

template <size_t Bytes>
struct Nc1hwc2Fn {
    static void run(const void* src, void* dst, const Nchw& s, size_t c2, size_t w_stride, bool to_native)
    {
        convert_nc1hwc2<Bytes>(src, dst, s, c2, w_stride, to_native);
    }
};

void check_native_geometry(const Nchw& shape, size_t c2, size_t w_stride)
{
    if (c2 == 0) throw std::invalid_argument("NC1HWC2 layout: C2 must be positive");
    if (w_stride < shape.w) throw std::invalid_argument("NC1HWC2 layout: w_stride is smaller than the width");
}

}  // namespace

size_t nc1hwc2_byte_size(const Nchw& s, size_t c2, size_t element_size, size_t w_alignment)
{
    const size_t c1 = (s.c + c2 - 1) / c2;
    return s.n * c1 * s.h * align_up(s.w, w_alignment) * c2 * element_size;
}

void nchw_to_nhwc(const void* src, void* dst, const Nchw& shape, size_t element_size)
{
    dispatch_element_size<TransposeFn>(element_size, src, dst, shape, shape.w, true);
}

void nhwc_to_nchw(const void* src, void* dst, const Nchw& shape, size_t element_size)
{
    dispatch_element_size<TransposeFn>(element_size, src, dst, shape, shape.w, false);
}

void nchw_to_nhwc_strided(const void* src, void* dst, const Nchw& shape, size_t w_stride, size_t element_size)
{
    if (w_stride < shape.w) throw std::invalid_argument("NHWC layout: w_stride is smaller than the width");
    if (w_stride != shape.w) std::memset(dst, 0, nhwc_byte_size(shape, w_stride, element_size));
    dispatch_element_size<TransposeFn>(element_size, src, dst, shape, w_stride, true);
}

void nhwc_strided_to_nchw(const void* src, void* dst, const Nchw& shape, size_t w_stride, size_t element_size)
{
    if (w_stride < shape.w) throw std::invalid_argument("NHWC layout: w_stride is smaller than the width");
    dispatch_element_size<TransposeFn>(element_size, src, dst, shape, w_stride, false);
}

void nchw_to_nc1hwc2(const void* src, void* dst, const Nchw& shape, size_t c2, size_t w_stride,
                     size_t element_size)
{
    check_native_geometry(shape, c2, w_stride);
    const size_t c1 = (shape.c + c2 - 1) / c2;
    std::memset(dst, 0, shape.n * c1 * shape.h * w_stride * c2 * element_size);
    dispatch_element_size<Nc1hwc2Fn>(element_size, src, dst, shape, c2, w_stride, true);
}

void nc1hwc2_to_nchw(const void* src, void* dst, const Nchw& shape, size_t c2, size_t w_stride,
                     size_t element_size)
{
    check_native_geometry(shape, c2, w_stride);
    dispatch_element_size<Nc1hwc2Fn>(element_size, src, dst, shape, c2, w_stride, false);
}

}  // namespace ezemu::npu
