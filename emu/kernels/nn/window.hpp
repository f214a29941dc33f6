// Sliding-window geometry shared by Conv and the pools: kernel_shape, strides, dilations, pads, auto_pad and
// ceil_mode, resolved against static input dims into output dims and explicit pads.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "kernels/kernel.hpp"

namespace ezemu::kernels {

enum class AutoPad { NotSet, SameUpper, SameLower, Valid };

struct WindowSpec {
    std::vector<int64_t> kernel;
    std::vector<int64_t> strides;
    std::vector<int64_t> dilations;
    std::vector<int64_t> pad_begin;
    std::vector<int64_t> pad_end;
    AutoPad auto_pad = AutoPad::NotSet;
    bool ceil_mode = false;
};

// Reads the window attributes of a node with `spatial` spatial dims. `kernel` is the kernel from the weights
// (Conv) or empty when kernel_shape is required (pools).
WindowSpec parse_window(const KernelContext& ctx, size_t spatial, const std::vector<int64_t>& kernel,
                        bool allow_ceil_mode, bool allow_dilations);

// Output spatial dims for input spatial dims; replaces auto_pad by the explicit pads it implies.
std::vector<int64_t> resolve_window(const KernelContext& ctx, const std::vector<int64_t>& in, WindowSpec& w);

// Geometry of a 1-D to 3-D window op with spatial values normalized to three dims (depth, height, width): a 1-D
// or 2-D op gets neutral leading dims, so one loop nest serves every rank.
struct Window3d {
    int spatial_rank = 2;
    std::array<int64_t, 3> in{1, 1, 1};
    std::array<int64_t, 3> out{1, 1, 1};
    std::array<int64_t, 3> kernel{1, 1, 1};
    std::array<int64_t, 3> stride{1, 1, 1};
    std::array<int64_t, 3> dilation{1, 1, 1};
    std::array<int64_t, 3> pad_begin{0, 0, 0};
    std::array<int64_t, 3> pad_end{0, 0, 0};

    int64_t in_size() const { return in[0] * in[1] * in[2]; }
    int64_t out_size() const { return out[0] * out[1] * out[2]; }
    int64_t kernel_size() const { return kernel[0] * kernel[1] * kernel[2]; }

    // The divisor of an average over the window at output position `o`: its taps inside the input, or with
    // count_include_pad inside the padded input (a window that ceil_mode lets run past the end padding does not count
    // its overhang).
    int64_t average_count(std::array<int64_t, 3> o, bool count_include_pad) const {
        int64_t count = 1;
        for (int a = 0; a < 3; ++a) {
            const int64_t lo = count_include_pad ? -pad_begin[a] : 0;
            const int64_t hi = count_include_pad ? in[a] + pad_end[a] : in[a];
            const int64_t start = o[a] * stride[a] - pad_begin[a];
            int64_t n = 0;
            for (int64_t k = 0; k < kernel[a]; ++k) {
                const int64_t i = start + k * dilation[a];
                n += i >= lo && i < hi;
            }
            count *= n;
        }
        return count;
    }

    // Calls visit(id, ih, iw, value) for every tap of the window at output position `o` that lies inside the
    // input (one plane `xp`, row-major D×H×W); padding taps are skipped.
    template <typename T, typename Visit>
    void for_each_tap(const T* xp, std::array<int64_t, 3> o, Visit&& visit) const {
        const int64_t d0 = o[0] * stride[0] - pad_begin[0];
        const int64_t h0 = o[1] * stride[1] - pad_begin[1];
        const int64_t w0 = o[2] * stride[2] - pad_begin[2];
        for (int64_t kd = 0; kd < kernel[0]; ++kd) {
            const int64_t id = d0 + kd * dilation[0];
            if (id < 0 || id >= in[0]) continue;
            for (int64_t kh = 0; kh < kernel[1]; ++kh) {
                const int64_t ih = h0 + kh * dilation[1];
                if (ih < 0 || ih >= in[1]) continue;
                const T* row = xp + (id * in[1] + ih) * in[2];
                for (int64_t kw = 0; kw < kernel[2]; ++kw) {
                    const int64_t iw = w0 + kw * dilation[2];
                    if (iw >= 0 && iw < in[2]) visit(id, ih, iw, row[iw]);
                }
            }
        }
    }
};

Window3d to_window3d(const std::vector<int64_t>& in, const std::vector<int64_t>& out, const WindowSpec& w);

}  // namespace ezemu::kernels
