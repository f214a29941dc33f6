// Resize (opset 10 to 19): nearest, linear and cubic sampling over any subset of axes. Sampling is separable, so a
// run resizes one axis at a time through tables built at load time. Nearest is a pure gather for every dtype;
// linear and cubic accumulate in double and round once to the output type (integers half to even, saturating).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "kernels/registry.hpp"
#include "kernels/tensor/resize_interpolating.hpp"
#include "kernels/tensor/resize_weights.hpp"
#include "kernels/tensor/view.hpp"
#include "numerics/fp16.hpp"

namespace ezemu::kernels {

namespace {

using resize::AxisTable;
using resize::Pass;

class NearestResizeKernel final : public Kernel {
public:
    // maps[d][o]: the input coordinate that output coordinate o of dim d reads.
    NearestResizeKernel(Shape out_shape, Shape in_shape, std::vector<std::vector<int64_t>> maps, size_t esize)
        : out_(std::move(out_shape)), maps_(std::move(maps)), strides_(in_shape.size(), 1), esize_(esize) {
        for (size_t d = in_shape.size(); d-- > 1;) strides_[d - 1] = strides_[d] * in_shape[d];
        // Integer upsampling of the last axis (each input element repeated k times) gets a loop without a table.
        if (!out_.empty() && in_shape.back() > 0 && out_.back() % in_shape.back() == 0) {
            const int64_t k = out_.back() / in_shape.back();
            const std::vector<int64_t>& m = maps_.back();
            bool repeats = true;
            for (size_t i = 0; repeats && i < m.size(); ++i) repeats = m[i] == static_cast<int64_t>(i) / k;
            if (repeats) repeat_ = k;
        }
    }

    void run(const RunContext& ctx) const override {
        switch (esize_) {
            case 1: gather<uint8_t>(ctx); break;
            case 2: gather<uint16_t>(ctx); break;
            case 4: gather<uint32_t>(ctx); break;
            default: gather<uint64_t>(ctx); break;
        }
    }

private:
    template <class T>
    void gather(const RunContext& ctx) const {
        const auto* x = static_cast<const T*>(ctx.inputs[0]);
        auto* y = static_cast<T*>(ctx.outputs[0]);
        const int64_t total = shape_elements(out_);
        if (total == 0) return;
        if (out_.empty()) {
            y[0] = x[0];
            return;
        }
        const size_t r = out_.size();
        const int64_t inner = out_[r - 1];
        const int64_t* last = maps_[r - 1].data();
        int64_t small[16] = {};
        std::vector<int64_t> large(r > 16 ? r : 0, 0);
        int64_t* idx = r > 16 ? large.data() : small;
        int64_t prev_off = -1;
        T* prev_row = nullptr;
        for (int64_t row = 0; row < total / inner; ++row) {
            int64_t off = 0;
            for (size_t k = 0; k + 1 < r; ++k) off += maps_[k][static_cast<size_t>(idx[k])] * strides_[k];
            T* dst = y + row * inner;
            if (off == prev_off) {
                // Upsampling repeats input rows: copy the output row just made.
                std::memcpy(dst, prev_row, static_cast<size_t>(inner) * sizeof(T));
            } else if (repeat_ == 2) {
                const T* src = x + off;
                for (int64_t i = 0; i < inner / 2; ++i) dst[2 * i] = dst[2 * i + 1] = src[i];
            } else if (repeat_ > 0) {
                const T* src = x + off;
                for (int64_t i = 0; i < inner / repeat_; ++i)
                    for (int64_t k = 0; k < repeat_; ++k) dst[i * repeat_ + k] = src[i];
            } else {
                const T* src = x + off;
                for (int64_t i = 0; i < inner; ++i) dst[i] = src[last[i]];
            }
            prev_off = off;
            prev_row = dst;
            for (size_t k = r - 1; k-- > 0;) {
                if (++idx[k] < out_[k]) break;
                idx[k] = 0;
            }
        }
    }

    Shape out_;
    std::vector<std::vector<int64_t>> maps_;
    std::vector<int64_t> strides_;
    size_t esize_;
    int64_t repeat_ = 0;  // k when the last axis repeats every input element k times, else 0
};

// Float values of a constant float/fp16 input (scales, roi).
std::vector<double> constant_floats(KernelContext& ctx, size_t i, const char* what) {
    const ValueDesc& v = ctx.input(i);
    if (!v.is_constant())
        ctx.fail(std::string("its ") + what + " input '" + ctx.node().inputs[i] +
                 "' must be a constant: the NPU needs static shapes");
    std::vector<double> out(static_cast<size_t>(v.element_count()));
    for (size_t k = 0; k < out.size(); ++k) {
        if (v.dtype == onnx::DataType::Float) out[k] = static_cast<const float*>(v.data)[k];
        else if (v.dtype == onnx::DataType::Float16) out[k] = numerics::half_to_float(static_cast<const uint16_t*>(v.data)[k]);
        else if (v.dtype == onnx::DataType::Double) out[k] = static_cast<const double*>(v.data)[k];
        else ctx.fail(std::string("the ") + what + " input must be a float tensor");
    }
    return out;
}

bool present(KernelContext& ctx, size_t i) { return ctx.has_input(i) && ctx.input(i).element_count() > 0; }

}  // namespace

std::unique_ptr<Kernel> make_resize(KernelContext& ctx) {
    const int64_t opset = ctx.opset();
    ctx.require_inputs(opset < 11 ? 2 : 1, opset < 11 ? 2 : 4);
    ctx.require_outputs(1, 1);
    const ValueDesc& x = ctx.input(0);
    const size_t esize = element_size_or_fail(ctx, x.dtype);
    const int64_t rank = static_cast<int64_t>(x.shape.size());

    resize::Options opt;
    const std::string mode = ctx.attr_string("mode", "nearest");
    if (!resize::parse_mode(mode, opt.mode) || (opset < 11 && opt.mode == resize::Mode::Cubic))
        ctx.fail("mode '" + mode + "' is not supported at opset " + std::to_string(opset));
    if (opset < 11) {
        opt.transform = resize::Transform::Asymmetric;
        opt.rounding = resize::NearestRounding::Simple;
    } else {
        const std::string ctm = ctx.attr_string("coordinate_transformation_mode", "half_pixel");
        if (!resize::parse_transform(ctm, opset, opt.transform))
            ctx.fail("coordinate_transformation_mode '" + ctm + "' is not supported at opset " + std::to_string(opset));
        const std::string nm = ctx.attr_string("nearest_mode", "round_prefer_floor");
        if (!resize::parse_rounding(nm, opt.rounding)) ctx.fail("nearest_mode '" + nm + "' is not supported");
        opt.cubic_a = ctx.attr_float("cubic_coeff_a", -0.75f);
        opt.exclude_outside = ctx.attr_int("exclude_outside", 0) != 0;
    }
    if (opset >= 18) opt.antialias = ctx.attr_int("antialias", 0) != 0;
    const float extrapolation = ctx.attr_float("extrapolation_value", 0.0f);

    // The axes that scales, sizes and roi describe (opset 18), all of them by default.
    std::vector<int64_t> axes;
    if (opset >= 18 && ctx.has_attr("axes")) {
        std::vector<bool> seen(static_cast<size_t>(rank), false);
        for (int64_t a : ctx.attr_ints("axes")) {
            const int64_t d = ctx.normalize_axis(a, rank);
            if (seen[static_cast<size_t>(d)]) ctx.fail("axes repeat axis " + std::to_string(a));
            seen[static_cast<size_t>(d)] = true;
            axes.push_back(d);
        }
    } else {
        for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
    }
    const size_t n_axes = axes.size();

    std::vector<resize::AxisParams> params(static_cast<size_t>(rank));
    for (size_t d = 0; d < params.size(); ++d) params[d].in = params[d].out = x.shape[d];

    const size_t scales_at = opset < 11 ? 1 : 2;
    if (present(ctx, scales_at)) {
        if (opset >= 11 && present(ctx, 3)) ctx.fail("takes scales or sizes, not both");
        const std::vector<double> scales = constant_floats(ctx, scales_at, "scales");
        if (scales.size() != n_axes)
            ctx.fail("scales holds " + std::to_string(scales.size()) + " values for " + std::to_string(n_axes) +
                     " axes");
        for (size_t i = 0; i < n_axes; ++i) {
            resize::AxisParams& p = params[static_cast<size_t>(axes[i])];
            if (!(scales[i] > 0.0)) ctx.fail("scales must be positive");
            p.scale = scales[i];
            p.out = static_cast<int64_t>(std::floor(static_cast<double>(p.in) * scales[i]));
        }
    } else if (opset >= 11 && present(ctx, 3)) {
        const ValueDesc& s = ctx.input(3);
        if (!s.is_constant())
            ctx.fail("its sizes input '" + ctx.node().inputs[3] + "' must be a constant: the NPU needs static shapes");
        const std::vector<int64_t> sizes = ctx.constant_ints(3);
        if (sizes.size() != n_axes)
            ctx.fail("sizes holds " + std::to_string(sizes.size()) + " values for " + std::to_string(n_axes) + " axes");
        const std::string policy = opset >= 18 ? ctx.attr_string("keep_aspect_ratio_policy", "stretch") : "stretch";
        if (policy != "stretch" && policy != "not_larger" && policy != "not_smaller")
            ctx.fail("keep_aspect_ratio_policy '" + policy + "' is not supported");
        double common = policy == "not_larger" ? std::numeric_limits<double>::infinity() : 0.0;
        for (size_t i = 0; i < n_axes; ++i) {
            if (sizes[i] < 0) ctx.fail("sizes must not be negative");
            resize::AxisParams& p = params[static_cast<size_t>(axes[i])];
            if (p.in == 0) ctx.fail("cannot resize an empty dim to a size");
            const double s = static_cast<double>(sizes[i]) / static_cast<double>(p.in);
            p.scale = s;
            p.out = sizes[i];
            common = policy == "not_larger" ? std::min(common, s) : std::max(common, s);
        }
        if (policy != "stretch")
            for (size_t i = 0; i < n_axes; ++i) {
                resize::AxisParams& p = params[static_cast<size_t>(axes[i])];
                p.scale = common;
                p.out = static_cast<int64_t>(std::floor(common * static_cast<double>(p.in) + 0.5));
            }
    } else {
        ctx.fail(opset < 11 ? "input 'scales' is required" : "needs a scales or a sizes input");
    }

    if (opt.transform == resize::Transform::TfCropAndResize && present(ctx, 1)) {
        const std::vector<double> roi = constant_floats(ctx, 1, "roi");
        if (roi.size() != 2 * n_axes)
            ctx.fail("roi holds " + std::to_string(roi.size()) + " values, needs " + std::to_string(2 * n_axes));
        for (size_t i = 0; i < n_axes; ++i) {
            params[static_cast<size_t>(axes[i])].roi_start = roi[i];
            params[static_cast<size_t>(axes[i])].roi_end = roi[i + n_axes];
        }
    }

    Shape y(x.shape.size());
    for (size_t d = 0; d < y.size(); ++d) y[d] = params[d].out;
    for (size_t d = 0; d < y.size(); ++d)
        if (params[d].in == 0 && params[d].out > 0) ctx.fail("cannot resize an empty dim");
    ctx.set_output(0, x.dtype, y);

    // An axis is left alone when it keeps its length and every output coordinate reads its own input coordinate.
    auto identity = [&](const resize::AxisParams& p, const AxisTable& t) {
        if (p.in != p.out || t.any_extrapolation) return false;
        for (int64_t o = 0; o < p.out; ++o)
            for (int64_t k = 0; k < t.taps; ++k) {
                const double w = t.weight[static_cast<size_t>(o * t.taps + k)];
                const int64_t i = t.index[static_cast<size_t>(o * t.taps + k)];
                if (w != 0.0 && (i != o || w != 1.0)) return false;
            }
        return true;
    };

    if (opt.mode == resize::Mode::Nearest && opt.transform != resize::Transform::TfCropAndResize) {
        std::vector<std::vector<int64_t>> maps(x.shape.size());
        for (size_t d = 0; d < maps.size(); ++d) maps[d] = resize::build_axis_table(params[d], opt).index;
        if (esize != 1 && esize != 2 && esize != 4 && esize != 8) ctx.fail("dtype is not supported");
        return std::make_unique<NearestResizeKernel>(y, x.shape, std::move(maps), esize);
    }

    using DT = onnx::DataType;
    const DT t = x.dtype;
    if (!(t == DT::Float || t == DT::Float16 || t == DT::Int8 || t == DT::Uint8 || t == DT::Int16 ||
          t == DT::Uint16 || t == DT::Int32 || t == DT::Uint32 || t == DT::Int64))
        ctx.fail(std::string("mode '") + mode + "' does not support dtype " + onnx::data_type_name(t));
    std::vector<Pass> passes;
    Shape cur = x.shape;
    // Axis by axis in increasing order, as the reference implementation: in exact arithmetic the passes commute,
    // in double they can differ in the last bit, which decides an output lying on a rounding tie.
    std::vector<size_t> order;
    for (size_t d = 0; d < cur.size(); ++d) order.push_back(d);
    for (size_t d : order) {
        AxisTable table = resize::build_axis_table(params[d], opt);
        if (identity(params[d], table)) continue;
        Pass p;
        for (size_t k = 0; k < d; ++k) p.outer *= cur[k];
        for (size_t k = d + 1; k < cur.size(); ++k) p.inner *= cur[k];
        p.in = cur[d];
        p.out = params[d].out;
        p.table = std::move(table);
        cur[d] = p.out;
        passes.push_back(std::move(p));
    }
    return resize::make_interpolating_kernel(std::move(passes), t, x.element_count(), shape_elements(y),
                                             extrapolation);
}

}  // namespace ezemu::kernels
