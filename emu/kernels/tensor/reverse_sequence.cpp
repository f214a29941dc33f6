// ReverseSequence: reverses the first sequence_lens[b] time steps of every batch entry; the rest is copied.
#include <cstring>
#include <string>

#include "graph/compiled_model.hpp"
#include "kernels/registry.hpp"
#include "kernels/tensor/view.hpp"

namespace ezemu::kernels {

namespace {

class ReverseSequenceKernel final : public Kernel {
public:
    ReverseSequenceKernel(int64_t batch, int64_t time, int64_t batch_stride, int64_t time_stride, size_t block_bytes,
                          bool lens_wide)
        : batch_(batch), time_(time), bstride_(batch_stride), tstride_(time_stride), block_(block_bytes),
          wide_(lens_wide) {}

    void run(const RunContext& ctx) const override {
        const auto* x = static_cast<const uint8_t*>(ctx.inputs[0]);
        auto* y = static_cast<uint8_t*>(ctx.outputs[0]);
        for (int64_t b = 0; b < batch_; ++b) {
            const int64_t len = wide_ ? static_cast<const int64_t*>(ctx.inputs[1])[b]
                                      : static_cast<const int32_t*>(ctx.inputs[1])[b];
            if (len < 0 || len > time_)
                throw RunError("ReverseSequence: sequence length " + std::to_string(len) +
                               " is outside [0, " + std::to_string(time_) + "]");
            for (int64_t t = 0; t < time_; ++t) {
                const int64_t src = t < len ? len - 1 - t : t;
                std::memcpy(y + static_cast<size_t>(b * bstride_ + t * tstride_) * block_,
                            x + static_cast<size_t>(b * bstride_ + src * tstride_) * block_, block_);
            }
        }
    }

private:
    int64_t batch_, time_, bstride_, tstride_;  // strides in blocks
    size_t block_;
    bool wide_;
};

}  // namespace

std::unique_ptr<Kernel> make_reverse_sequence(KernelContext& ctx) {
    ctx.require_inputs(2, 2);
    ctx.require_outputs(1, 1);
    const ValueDesc& x = ctx.input(0);
    const size_t esize = element_size_or_fail(ctx, x.dtype);
    ctx.require_dtype(1, {onnx::DataType::Int64, onnx::DataType::Int32});
    if (x.shape.size() < 2) ctx.fail("input must have rank 2 or more, got " + shape_to_string(x.shape));
    const int64_t batch_axis = ctx.attr_int("batch_axis", 1), time_axis = ctx.attr_int("time_axis", 0);
    if (!((batch_axis == 0 && time_axis == 1) || (batch_axis == 1 && time_axis == 0)))
        ctx.fail("batch_axis and time_axis must be 0 and 1 in some order");
    const int64_t batch = x.shape[static_cast<size_t>(batch_axis)], time = x.shape[static_cast<size_t>(time_axis)];
    if (ctx.input(1).shape != Shape{batch})
        ctx.fail("sequence_lens " + shape_to_string(ctx.input(1).shape) + " must have shape [" +
                 std::to_string(batch) + "]");
    int64_t inner = 1;
    for (size_t d = 2; d < x.shape.size(); ++d) inner *= x.shape[d];
    const int64_t bstride = batch_axis == 0 ? time : 1, tstride = time_axis == 0 ? batch : 1;
    ctx.set_output(0, x.dtype, x.shape);
    return std::make_unique<ReverseSequenceKernel>(batch, time, bstride, tstride, static_cast<size_t>(inner) * esize,
                                                   ctx.input(1).dtype == onnx::DataType::Int64);
}

}  // namespace ezemu::kernels
