// LSTM (opset 7, 14 adds layout, 22 adds bfloat16): gates i, o, f, c in W/R/B order, peepholes P in i, o, f order.
//   i = f(X·Wi' + H·Ri' + Pi∘C + Wbi + Rbi)      f = f(X·Wf' + H·Rf' + Pf∘C + Wbf + Rbf)   (f = 1 - i with input_forget)
//   c = g(X·Wc' + H·Rc' + Wbc + Rbc)             C' = f∘C + i∘c
//   o = f(X·Wo' + H·Ro' + Po∘C' + Wbo + Rbo)     H' = o∘h(C')
// clip bounds every pre-activation of f and g, as ONNX Runtime does.
#include <cstring>

#include "kernels/registry.hpp"
#include "kernels/sequence/recurrent.hpp"

namespace ezemu::kernels {

namespace {

using namespace recurrent;

constexpr size_t kInitialC = 6;
constexpr size_t kPeephole = 7;

class LstmKernel final : public RecurrentKernel {
public:
    LstmKernel(const KernelContext& ctx, RecurrentConfig config, bool input_forget)
        : RecurrentKernel(ctx, config), input_forget_(input_forget) {}

private:
    void run_direction(const Frame& f, int64_t d) const override {
        const RecurrentConfig& c = config_;
        const int64_t H = c.hidden, GW = c.gate_width();
        const auto [xw, g, h, cell, wt, rt, wb] = direction_view(f, d);
        const float* p = f.peephole ? f.peephole + d * 3 * H : nullptr;
        const Activation& act_f = c.activations[static_cast<size_t>(d) * 3];
        const Activation& act_g = c.activations[static_cast<size_t>(d) * 3 + 1];
        const Activation& act_h = c.activations[static_cast<size_t>(d) * 3 + 2];

        // The input projections of every step at once: they do not depend on the state.
        // xw rows follow X's rows (x_row).
        for (int64_t r = 0; r < c.seq * c.batch; ++r)
            for (int64_t j = 0; j < GW; ++j) xw[r * GW + j] = wb ? wb[j] + wb[GW + j] : 0.0f;
        gemm_accumulate(c.reference, c.seq * c.batch, GW, c.input, f.x, c.input, wt, GW, xw, GW);

        for (int64_t b = 0; b < c.batch; ++b) {
            const int64_t so = c.state_offset(d, b);
            for (int64_t j = 0; j < H; ++j) h[j] = f.initial_h ? f.initial_h[so + j] : 0.0f;
            for (int64_t j = 0; j < H; ++j) cell[j] = f.initial_c ? f.initial_c[so + j] : 0.0f;
            const int64_t len = length(f, b);
            for (int64_t s = 0; s < len; ++s) {
                const int64_t t = time_index(d, len, s);
                std::memcpy(g, xw + c.x_row(t, b) * GW, static_cast<size_t>(GW) * sizeof(float));
                gemm_accumulate(c.reference, 1, GW, H, h, H, rt, GW, g, GW);
                float* gi = g;
                float* go = g + H;
                float* gf = g + 2 * H;
                float* gc = g + 3 * H;
                if (p)
                    for (int64_t j = 0; j < H; ++j) gi[j] += p[j] * cell[j], gf[j] += p[2 * H + j] * cell[j];
                clip_values(gi, H, c.clip);
                act_f.apply(gi, H);
                if (input_forget_) {
                    for (int64_t j = 0; j < H; ++j) gf[j] = 1.0f - gi[j];
                } else {
                    clip_values(gf, H, c.clip);
                    act_f.apply(gf, H);
                }
                clip_values(gc, H, c.clip);
                act_g.apply(gc, H);
                for (int64_t j = 0; j < H; ++j) cell[j] = gf[j] * cell[j] + gi[j] * gc[j];
                if (p)
                    for (int64_t j = 0; j < H; ++j) go[j] += p[H + j] * cell[j];
                clip_values(go, H, c.clip);
                act_f.apply(go, H);
                std::memcpy(gc, cell, static_cast<size_t>(H) * sizeof(float));
                act_h.apply(gc, H);
                for (int64_t j = 0; j < H; ++j) h[j] = go[j] * gc[j];
                if (f.y) std::memcpy(f.y + c.y_offset(t, d, b), h, static_cast<size_t>(H) * sizeof(float));
            }
            if (len == 0) {
                // An empty sequence has zero final states, as in ONNX Runtime.
                std::memset(h, 0, static_cast<size_t>(H) * sizeof(float));
                std::memset(cell, 0, static_cast<size_t>(H) * sizeof(float));
            }
            if (f.y_h) std::memcpy(f.y_h + so, h, static_cast<size_t>(H) * sizeof(float));
            if (f.y_c) std::memcpy(f.y_c + so, cell, static_cast<size_t>(H) * sizeof(float));
        }
    }

    bool input_forget_;
};

}  // namespace

std::unique_ptr<Kernel> make_lstm(KernelContext& ctx) {
    ctx.require_inputs(3, 8);
    RecurrentConfig c = configure(ctx, 4, {ActivationKind::Sigmoid, ActivationKind::Tanh, ActivationKind::Tanh}, 2);
    check_state_input(ctx, c, kInitialC);
    if (ctx.has_input(kPeephole)) {
        if (ctx.input(kPeephole).dtype != ctx.input(kX).dtype) ctx.fail("P must have X's dtype");
        if (ctx.input(kPeephole).shape != Shape{c.dirs, 3 * c.hidden})
            ctx.fail("P must have shape " + shape_to_string({c.dirs, 3 * c.hidden}) + ", got " +
                     shape_to_string(ctx.input(kPeephole).shape));
    }
    const bool input_forget = ctx.attr_int("input_forget", 0) != 0;
    return std::make_unique<LstmKernel>(ctx, std::move(c), input_forget);
}

}  // namespace ezemu::kernels
