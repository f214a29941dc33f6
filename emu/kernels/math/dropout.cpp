// Dropout. In inference it is the identity (a view of its input) with an all-true mask. From opset 12 training_mode
// and ratio are inputs; when training_mode may be true the kernel drops elements with a counter-based generator
// seeded by `seed` (the same mask on every run), scaling the kept ones by 1 / (1 - ratio). ratio 0 keeps all.
#include <cstring>

#include "kernels/math/elementwise.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels {

namespace {

using namespace elementwise;

// splitmix64 finalizer: a uniform double in [0, 1) for element i.
double uniform(uint64_t seed, uint64_t i) {
    uint64_t z = seed + (i + 1) * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) * 0x1.0p-53;
}

template <class S, class R, class M>
class DropoutKernel final : public Kernel {
public:
    DropoutKernel(int64_t n, bool may_train, bool train_const, float ratio_const, bool ratio_input,
                  bool training_input, bool has_mask, uint64_t seed)
        : n_(n), may_train_(may_train), train_const_(train_const), ratio_const_(ratio_const),
          ratio_input_(ratio_input), training_input_(training_input), has_mask_(has_mask), seed_(seed) {}

    // Only pure inference may share the input's storage: a training run writes a different output. With a mask
    // the kernel must run even when folded, which a view does not.
    int aliased_input() const override { return may_train_ || has_mask_ ? -1 : 0; }

    void run(const RunContext& ctx) const override {
        const auto* x = static_cast<const S*>(ctx.inputs[0]);
        auto* y = static_cast<S*>(ctx.outputs[0]);
        auto* mask = has_mask_ ? static_cast<M*>(ctx.outputs[1]) : nullptr;
        const bool training =
            training_input_ ? *static_cast<const bool*>(ctx.inputs[2]) : train_const_;
        const double ratio =
            ratio_input_ ? static_cast<double>(load_one(static_cast<const R*>(ctx.inputs[1]))) : ratio_const_;
        if (!training || ratio == 0.0) {
            if (y != x && n_) std::memcpy(y, x, static_cast<size_t>(n_) * sizeof(S));
            if (mask)
                for (int64_t i = 0; i < n_; ++i) store_one(mask + i, compute_t<M>(1));
            return;
        }
        // ratio 1 (or more) drops everything; the scale is never applied then.
        const double scale = ratio < 1.0 ? 1.0 / (1.0 - ratio) : 0.0;
        for (int64_t i = 0; i < n_; ++i) {
            const bool keep = uniform(seed_, static_cast<uint64_t>(i)) >= ratio;
            store_one(y + i, keep ? static_cast<compute_t<S>>(load_one(x + i) * scale) : compute_t<S>(0));
            if (mask) store_one(mask + i, compute_t<M>(keep ? 1 : 0));
        }
    }

private:
    int64_t n_;
    bool may_train_, train_const_;
    float ratio_const_;
    bool ratio_input_, training_input_, has_mask_;
    uint64_t seed_;
};

}  // namespace

std::unique_ptr<Kernel> make_dropout(KernelContext& ctx) {
    using DT = onnx::DataType;
    const bool inputs_form = ctx.opset() >= 12;
    ctx.require_inputs(1, inputs_form ? 3 : 1);
    ctx.require_outputs(1, 2);
    require_dtype_since(ctx, 0, rules::kFloats);
    const ValueDesc& x = ctx.input(0);
    const bool has_mask = ctx.output_count() > 1 && !ctx.node().outputs[1].empty();
    // The mask is bool from opset 10, the data's dtype before.
    const DT mask_dtype = ctx.opset() >= 10 ? DT::Bool : x.dtype;
    ctx.set_output(0, x.dtype, x.shape);
    if (has_mask) ctx.set_output(1, mask_dtype, x.shape);

    float ratio = 0.5f;
    bool ratio_input = false, training_input = false, train_const = false;
    if (!inputs_form) {
        ratio = ctx.attr_float("ratio", 0.5f);
    } else {
        if (ctx.has_input(1)) {
            require_dtype_since(ctx, 1, rules::kFloats);
            if (ctx.input(1).element_count() != 1) ctx.fail("ratio must be a scalar");
            ratio_input = true;
        }
        if (ctx.has_input(2)) {
            static constexpr DtypeSince kBool[] = {{DT::Bool, 1}};
            require_dtype_since(ctx, 2, kBool);
            const ValueDesc& t = ctx.input(2);
            if (t.element_count() != 1) ctx.fail("training_mode must be a scalar");
            if (t.is_constant()) train_const = *static_cast<const bool*>(t.data);
            else training_input = true;
        }
    }
    if (ratio < 0.0f || ratio >= 1.0f) ctx.fail("ratio must lie in [0, 1), got " + std::to_string(ratio));
    const bool may_train = train_const || training_input;
    const uint64_t seed = static_cast<uint64_t>(ctx.attr_int("seed", 0));
    const int64_t n = x.element_count();
    return dispatch<kFloats>(ctx, x.dtype, [&](auto tag) -> std::unique_ptr<Kernel> {
        using S = typename decltype(tag)::type;
        const DT ratio_dtype = ratio_input ? ctx.input(1).dtype : x.dtype;
        return dispatch<kFloats>(ctx, ratio_dtype, [&](auto rtag) -> std::unique_ptr<Kernel> {
            using R = typename decltype(rtag)::type;
            if (mask_dtype == DT::Bool)
                return std::make_unique<DropoutKernel<S, R, bool>>(n, may_train, train_const, ratio, ratio_input,
                                                                   training_input, has_mask, seed);
            return std::make_unique<DropoutKernel<S, R, S>>(n, may_train, train_const, ratio, ratio_input,
                                                            training_input, has_mask, seed);
        });
    });
}

}  // namespace ezemu::kernels
