// Pad: constant, reflect, edge and (opset 19) wrap modes, with negative pads cropping. Each output coordinate maps
// to an input coordinate (or to the constant) per axis, computed at load time; a run copies the contiguous middle
// of every row at once.
#include <cstring>
#include <string>
#include <vector>

#include "kernels/registry.hpp"
#include "kernels/tensor/view.hpp"
#include "numerics/fp16.hpp"

namespace ezemu::kernels {

namespace {

enum class PadMode { Constant, Reflect, Edge, Wrap };

// The element `v` converted to dtype, for the opset 2-10 float `value` attribute.
void scalar_bytes(double v, onnx::DataType t, uint8_t (&out)[8]) {
    using DT = onnx::DataType;
    std::memset(out, 0, sizeof out);
    auto put = [&out](auto x) { std::memcpy(out, &x, sizeof x); };
    switch (t) {
        case DT::Float: put(static_cast<float>(v)); break;
        case DT::Double: put(v); break;
        case DT::Float16: put(numerics::float_to_half(static_cast<float>(v))); break;
        case DT::Int8: put(static_cast<int8_t>(v)); break;
        case DT::Uint8: put(static_cast<uint8_t>(v)); break;
        case DT::Int16: put(static_cast<int16_t>(v)); break;
        case DT::Uint16: put(static_cast<uint16_t>(v)); break;
        case DT::Int32: put(static_cast<int32_t>(v)); break;
        case DT::Uint32: put(static_cast<uint32_t>(v)); break;
        case DT::Int64: put(static_cast<int64_t>(v)); break;
        case DT::Uint64: put(static_cast<uint64_t>(v)); break;
        case DT::Bool: put(static_cast<uint8_t>(v != 0)); break;
        default: break;
    }
}

class PadKernel final : public Kernel {
public:
    PadKernel(Shape out_shape, Shape in_shape, std::vector<std::vector<int64_t>> maps, size_t esize,
              const uint8_t (&value)[8], bool value_from_input)
        : out_(std::move(out_shape)), maps_(std::move(maps)), in_strides_(in_shape.size(), 1), esize_(esize),
          value_from_input_(value_from_input) {
        std::memcpy(value_, value, sizeof value_);
        for (size_t d = in_shape.size(); d-- > 1;) in_strides_[d - 1] = in_strides_[d] * in_shape[d];
        // The contiguous middle of the last axis: output positions whose input positions follow one another.
        if (!out_.empty()) {
            const std::vector<int64_t>& m = maps_.back();
            int64_t best_lo = 0, best_len = 0;
            for (int64_t o = 0; o < static_cast<int64_t>(m.size());) {
                int64_t len = 1;
                if (m[static_cast<size_t>(o)] < 0) {
                    ++o;
                    continue;
                }
                while (o + len < static_cast<int64_t>(m.size()) &&
                       m[static_cast<size_t>(o + len)] == m[static_cast<size_t>(o)] + len)
                    ++len;
                if (len > best_len) best_lo = o, best_len = len;
                o += len;
            }
            mid_lo_ = best_lo;
            mid_len_ = best_len;
        }
    }

    void run(const RunContext& ctx) const override {
        const auto* x = static_cast<const uint8_t*>(ctx.inputs[0]);
        auto* y = static_cast<uint8_t*>(ctx.outputs[0]);
        uint8_t value[8];
        std::memcpy(value, value_, sizeof value);
        if (value_from_input_ && ctx.inputs[2]) std::memcpy(value, ctx.inputs[2], esize_);
        const int64_t total = shape_elements(out_);
        if (total == 0) return;
        if (out_.empty()) {
            std::memcpy(y, x, esize_);
            return;
        }
        const size_t r = out_.size();
        const int64_t inner = out_[r - 1];
        const std::vector<int64_t>& last = maps_[r - 1];
        int64_t small[16] = {};
        std::vector<int64_t> large(r > 16 ? r : 0, 0);  // the heap only for absurd ranks
        int64_t* idx = r > 16 ? large.data() : small;
        for (int64_t row = 0; row < total / inner; ++row) {
            int64_t off = 0;
            bool inside = true;
            for (size_t k = 0; k + 1 < r; ++k) {
                const int64_t m = maps_[k][static_cast<size_t>(idx[k])];
                if (m < 0) inside = false;
                off += m * in_strides_[k];
            }
            uint8_t* dst = y + static_cast<size_t>(row * inner) * esize_;
            if (!inside) {
                for (int64_t i = 0; i < inner; ++i) std::memcpy(dst + static_cast<size_t>(i) * esize_, value, esize_);
            } else {
                const uint8_t* src = x + static_cast<size_t>(off) * esize_;
                for (int64_t i = 0; i < inner; ++i) {
                    if (i == mid_lo_ && mid_len_ > 0) {
                        std::memcpy(dst + static_cast<size_t>(i) * esize_,
                                    src + static_cast<size_t>(last[static_cast<size_t>(i)]) * esize_,
                                    static_cast<size_t>(mid_len_) * esize_);
                        i += mid_len_ - 1;
                        continue;
                    }
                    const int64_t m = last[static_cast<size_t>(i)];
                    std::memcpy(dst + static_cast<size_t>(i) * esize_,
                                m < 0 ? value : src + static_cast<size_t>(m) * esize_, esize_);
                }
            }
            for (size_t k = r - 1; k-- > 0;) {
                if (++idx[k] < out_[k]) break;
                idx[k] = 0;
            }
        }
    }

private:
    Shape out_;
    std::vector<std::vector<int64_t>> maps_;  // per axis, per output position: input position or -1 (constant)
    std::vector<int64_t> in_strides_;
    size_t esize_;
    uint8_t value_[8] = {};
    bool value_from_input_;
    int64_t mid_lo_ = 0, mid_len_ = 0;
};

int64_t source_index(PadMode mode, int64_t i, int64_t n) {
    if (i >= 0 && i < n) return i;
    switch (mode) {
        case PadMode::Constant: return -1;
        case PadMode::Edge: return i < 0 ? 0 : n - 1;
        case PadMode::Wrap: return ((i % n) + n) % n;
        case PadMode::Reflect: {
            if (n == 1) return 0;
            const int64_t period = 2 * (n - 1);
            int64_t j = ((i % period) + period) % period;
            return j < n ? j : period - j;
        }
    }
    return -1;
}

}  // namespace

std::unique_ptr<Kernel> make_pad(KernelContext& ctx) {
    const bool inputs = ctx.opset() >= 11;  // pads and value were attributes before opset 11
    ctx.require_inputs(1, inputs ? (ctx.opset() >= 18 ? 4 : 3) : 1);
    ctx.require_outputs(1, 1);
    const ValueDesc& x = ctx.input(0);
    const size_t esize = element_size_or_fail(ctx, x.dtype);
    if (esize > 8) ctx.fail("dtype is not supported");
    const int64_t rank = static_cast<int64_t>(x.shape.size());
    const std::string mode_name = ctx.attr_string("mode", "constant");
    PadMode mode;
    if (mode_name == "constant") mode = PadMode::Constant;
    else if (mode_name == "reflect") mode = PadMode::Reflect;
    else if (mode_name == "edge") mode = PadMode::Edge;
    else if (mode_name == "wrap" && ctx.opset() >= 19) mode = PadMode::Wrap;
    else ctx.fail("mode '" + mode_name + "' is not supported at opset " + std::to_string(ctx.opset()));

    std::vector<int64_t> pads, axes;
    uint8_t value[8] = {};
    bool value_from_input = false;
    if (!inputs) {
        if (!ctx.has_attr("pads")) ctx.fail("attribute 'pads' is required");
        pads = ctx.attr_ints("pads");
        scalar_bytes(ctx.attr_float("value", 0.0f), x.dtype, value);
    } else {
        if (!ctx.has_input(1)) ctx.fail("input 'pads' is required");
        if (!ctx.input(1).is_constant())
            ctx.fail("its pads input '" + ctx.node().inputs[1] + "' must be a constant: the NPU needs static shapes");
        pads = ctx.constant_ints(1);
        if (ctx.has_input(2)) {
            const ValueDesc& v = ctx.input(2);
            if (v.dtype != x.dtype) ctx.fail("constant_value must have the dtype of data");
            if (v.element_count() != 1) ctx.fail("constant_value must hold one element");
            if (v.is_constant()) std::memcpy(value, v.data, esize);
            else value_from_input = true;
        }
        if (ctx.has_input(3)) {
            if (!ctx.input(3).is_constant())
                ctx.fail("its axes input '" + ctx.node().inputs[3] + "' must be a constant: the NPU needs static shapes");
            axes = ctx.constant_ints(3);
        }
    }
    if (axes.empty())
        for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
    if (pads.size() != 2 * axes.size())
        ctx.fail("pads " + shape_to_string(pads) + " must hold 2 values per padded axis (" +
                 std::to_string(axes.size()) + " axes)");
    std::vector<int64_t> begin(static_cast<size_t>(rank), 0), end(static_cast<size_t>(rank), 0);
    for (size_t i = 0; i < axes.size(); ++i) {
        const size_t a = static_cast<size_t>(ctx.normalize_axis(axes[i], rank));
        begin[a] = pads[i];
        end[a] = pads[i + axes.size()];
    }
    Shape y(x.shape.size());
    std::vector<std::vector<int64_t>> maps(x.shape.size());
    for (size_t d = 0; d < x.shape.size(); ++d) {
        const int64_t n = x.shape[d];
        y[d] = n + begin[d] + end[d];
        if (y[d] < 0) ctx.fail("pads " + shape_to_string(pads) + " crop more than dim " + std::to_string(d) + " holds");
        if (n == 0 && y[d] > 0 && mode != PadMode::Constant)
            ctx.fail("mode '" + mode_name + "' cannot pad an empty dim");
        maps[d].resize(static_cast<size_t>(y[d]));
        for (int64_t o = 0; o < y[d]; ++o) maps[d][static_cast<size_t>(o)] = source_index(mode, o - begin[d], n);
    }
    ctx.set_output(0, x.dtype, y);
    return std::make_unique<PadKernel>(y, x.shape, std::move(maps), esize, value, value_from_input);
}

}  // namespace ezemu::kernels
