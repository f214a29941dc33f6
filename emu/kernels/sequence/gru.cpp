// GRU (opset 7, 14 adds layout, 22 adds bfloat16): gates z, r, h in W/R/B order.
//   z = f(X·Wz' + H·Rz' + Wbz + Rbz)     r = f(X·Wr' + H·Rr' + Wbr + Rbr)
//   h = g(X·Wh' + (r∘H)·Rh' + Rbh + Wbh)          linear_before_reset = 0
//   h = g(X·Wh' + r∘(H·Rh' + Rbh) + Wbh)          linear_before_reset = 1
//   H' = (1 - z)∘h + z∘H
// clip bounds every pre-activation of f and g, as ONNX Runtime does.
#include <cstring>

#include "kernels/registry.hpp"
#include "kernels/sequence/recurrent.hpp"

namespace ezemu::kernels {

namespace {

using namespace recurrent;

class GruKernel final : public RecurrentKernel {
public:
    GruKernel(const KernelContext& ctx, RecurrentConfig config, bool linear_before_reset)
        : RecurrentKernel(ctx, config), linear_before_reset_(linear_before_reset) {}

private:
    void run_direction(const Frame& f, int64_t d) const override {
        const RecurrentConfig& c = config_;
        const int64_t H = c.hidden, GW = c.gate_width();
        const auto [xw, g, h, tmp, wt, rt, wb] = direction_view(f, d);
        const float* rbh = wb ? wb + GW + 2 * H : nullptr;
        const Activation& act_f = c.activations[static_cast<size_t>(d) * 2];
        const Activation& act_g = c.activations[static_cast<size_t>(d) * 2 + 1];

        // The input projections of every step at once, with every bias that is not inside r∘(...).
        // xw rows follow X's rows (x_row).
        for (int64_t r = 0; r < c.seq * c.batch; ++r)
            for (int64_t j = 0; j < GW; ++j) {
                const bool recurrent_bias = j < 2 * H || !linear_before_reset_;
                xw[r * GW + j] = wb ? wb[j] + (recurrent_bias ? wb[GW + j] : 0.0f) : 0.0f;
            }
        gemm_accumulate(c.reference, c.seq * c.batch, GW, c.input, f.x, c.input, wt, GW, xw, GW);

        for (int64_t b = 0; b < c.batch; ++b) {
            const int64_t so = c.state_offset(d, b);
            for (int64_t j = 0; j < H; ++j) h[j] = f.initial_h ? f.initial_h[so + j] : 0.0f;
            const int64_t len = length(f, b);
            for (int64_t s = 0; s < len; ++s) {
                const int64_t t = time_index(d, len, s);
                std::memcpy(g, xw + c.x_row(t, b) * GW, static_cast<size_t>(GW) * sizeof(float));
                gemm_accumulate(c.reference, 1, 2 * H, H, h, H, rt, GW, g, GW);
                float* z = g;
                float* r = g + H;
                float* hh = g + 2 * H;
                clip_values(z, 2 * H, c.clip);
                act_f.apply(z, H);
                act_f.apply(r, H);
                if (linear_before_reset_) {
                    for (int64_t j = 0; j < H; ++j) tmp[j] = rbh ? rbh[j] : 0.0f;
                    gemm_accumulate(c.reference, 1, H, H, h, H, rt + 2 * H, GW, tmp, H);
                    for (int64_t j = 0; j < H; ++j) hh[j] += r[j] * tmp[j];
                } else {
                    for (int64_t j = 0; j < H; ++j) tmp[j] = r[j] * h[j];
                    gemm_accumulate(c.reference, 1, H, H, tmp, H, rt + 2 * H, GW, hh, H);
                }
                clip_values(hh, H, c.clip);
                act_g.apply(hh, H);
                for (int64_t j = 0; j < H; ++j) h[j] = (1.0f - z[j]) * hh[j] + z[j] * h[j];
                if (f.y) std::memcpy(f.y + c.y_offset(t, d, b), h, static_cast<size_t>(H) * sizeof(float));
            }
            if (len == 0) std::memset(h, 0, static_cast<size_t>(H) * sizeof(float));  // as in ONNX Runtime
            if (f.y_h) std::memcpy(f.y_h + so, h, static_cast<size_t>(H) * sizeof(float));
        }
    }

    bool linear_before_reset_;
};

}  // namespace

std::unique_ptr<Kernel> make_gru(KernelContext& ctx) {
    ctx.require_inputs(3, 6);
    RecurrentConfig c = configure(ctx, 3, {ActivationKind::Sigmoid, ActivationKind::Tanh}, 1);
    const bool linear_before_reset = ctx.attr_int("linear_before_reset", 0) != 0;
    return std::make_unique<GruKernel>(ctx, std::move(c), linear_before_reset);
}

}  // namespace ezemu::kernels
