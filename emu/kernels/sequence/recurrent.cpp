#include "kernels/sequence/recurrent.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>

#include <oneapi/dnnl/dnnl.h>

#include "graph/compiled_model.hpp"
#include "numerics/fp16.hpp"

namespace ezemu::kernels::recurrent {

namespace {

using DT = onnx::DataType;

struct ActivationSpec {
    const char* name;  // lower case; names match case-insensitively, as ONNX Runtime does
    ActivationKind kind;
    bool uses_alpha, uses_beta;
    float alpha, beta;  // the defaults of the ONNX operator of the same name
};

constexpr ActivationSpec kActivations[] = {
    {"sigmoid", ActivationKind::Sigmoid, false, false, 0.0f, 0.0f},
    {"tanh", ActivationKind::Tanh, false, false, 0.0f, 0.0f},
    {"relu", ActivationKind::Relu, false, false, 0.0f, 0.0f},
    {"hardsigmoid", ActivationKind::HardSigmoid, true, true, 0.2f, 0.5f},
    {"affine", ActivationKind::Affine, true, true, 1.0f, 0.0f},
    {"leakyrelu", ActivationKind::LeakyRelu, true, false, 0.01f, 0.0f},
    {"thresholdedrelu", ActivationKind::ThresholdedRelu, true, false, 1.0f, 0.0f},
    {"scaledtanh", ActivationKind::ScaledTanh, true, true, 1.0f, 1.0f},
    {"elu", ActivationKind::Elu, true, false, 1.0f, 0.0f},
    {"softsign", ActivationKind::Softsign, false, false, 0.0f, 0.0f},
    {"softplus", ActivationKind::Softplus, false, false, 0.0f, 0.0f},
};

const ActivationSpec& spec_of(ActivationKind kind) {
    for (const ActivationSpec& s : kActivations)
        if (s.kind == kind) return s;
    return kActivations[0];
}

std::string lower(std::string s) {
    for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
}

float sigmoid(float x) {
    if (x >= 0.0f) return 1.0f / (1.0f + std::exp(-x));
    const float e = std::exp(x);
    return e / (1.0f + e);
}

// alpha and beta are consumed in order by the activations that take them, as the ONNX spec and ONNX Runtime do.
std::vector<Activation> parse_activations(const KernelContext& ctx, const std::vector<ActivationKind>& defaults,
                                          int64_t dirs) {
    const onnx::Attribute* names = ctx.attribute("activations", onnx::AttributeType::Strings);
    const onnx::Attribute* alphas = ctx.attribute("activation_alpha", onnx::AttributeType::Floats);
    const onnx::Attribute* betas = ctx.attribute("activation_beta", onnx::AttributeType::Floats);
    std::vector<Activation> out;
    if (!names) {
        for (int64_t d = 0; d < dirs; ++d)
            for (ActivationKind k : defaults) out.push_back({k, spec_of(k).alpha, spec_of(k).beta});
        return out;
    }
    const size_t n = defaults.size();
    const size_t count = names->strings.size();
    if (count != n * static_cast<size_t>(dirs) && count != n)
        ctx.fail("activations lists " + std::to_string(count) + " functions; expected " + std::to_string(n) +
                 " per direction (" + std::to_string(n * static_cast<size_t>(dirs)) + ")");
    size_t next_alpha = 0, next_beta = 0;
    for (const std::string& name : names->strings) {
        const std::string key = lower(name);
        const ActivationSpec* spec = nullptr;
        for (const ActivationSpec& s : kActivations)
            if (key == s.name) spec = &s;
        if (!spec) ctx.fail("activation function '" + name + "' is not supported");
        Activation a{spec->kind, spec->alpha, spec->beta};
        if (spec->uses_alpha && alphas && next_alpha < alphas->floats.size()) a.alpha = alphas->floats[next_alpha++];
        if (spec->uses_beta && betas && next_beta < betas->floats.size()) a.beta = betas->floats[next_beta++];
        out.push_back(a);
    }
    if (count == n && dirs == 2) out.insert(out.end(), out.begin(), out.end());  // one list for both directions
    return out;
}

void require_shape(const KernelContext& ctx, size_t input, const char* what, const Shape& expect) {
    const ValueDesc& v = ctx.input(input);
    if (v.shape != expect)
        ctx.fail(std::string(what) + " (input " + std::to_string(input) + ") must have shape " +
                 shape_to_string(expect) + ", got " + shape_to_string(v.shape));
}

// dst[d][k][j] = src[d][j][k]: W [dirs, gate_width, cols] to [dirs, cols, gate_width].
void transpose_weights(const void* src, bool fp16, int64_t dirs, int64_t rows, int64_t cols, float* dst) {
    for (int64_t d = 0; d < dirs; ++d)
        for (int64_t j = 0; j < rows; ++j)
            for (int64_t k = 0; k < cols; ++k) {
                const int64_t from = (d * rows + j) * cols + k;
                const float v = fp16 ? numerics::half_to_float(static_cast<const uint16_t*>(src)[from])
                                     : static_cast<const float*>(src)[from];
                dst[(d * cols + k) * rows + j] = v;
            }
}

}  // namespace

void Activation::apply(float* v, int64_t n) const {
    const float a = alpha, b = beta;
    switch (kind) {
        case ActivationKind::Sigmoid:
            for (int64_t i = 0; i < n; ++i) v[i] = sigmoid(v[i]);
            break;
        case ActivationKind::Tanh:
            for (int64_t i = 0; i < n; ++i) v[i] = std::tanh(v[i]);
            break;
        case ActivationKind::Relu:
            for (int64_t i = 0; i < n; ++i) v[i] = v[i] > 0.0f ? v[i] : 0.0f;
            break;
        case ActivationKind::HardSigmoid:
            for (int64_t i = 0; i < n; ++i) v[i] = std::min(1.0f, std::max(0.0f, a * v[i] + b));
            break;
        case ActivationKind::Affine:
            for (int64_t i = 0; i < n; ++i) v[i] = a * v[i] + b;
            break;
        case ActivationKind::LeakyRelu:
            for (int64_t i = 0; i < n; ++i) v[i] = v[i] >= 0.0f ? v[i] : a * v[i];
            break;
        case ActivationKind::ThresholdedRelu:
            for (int64_t i = 0; i < n; ++i) v[i] = v[i] > a ? v[i] : 0.0f;
            break;
        case ActivationKind::ScaledTanh:
            for (int64_t i = 0; i < n; ++i) v[i] = a * std::tanh(b * v[i]);
            break;
        case ActivationKind::Elu:
            for (int64_t i = 0; i < n; ++i) v[i] = v[i] >= 0.0f ? v[i] : a * std::expm1(v[i]);
            break;
        case ActivationKind::Softsign:
            for (int64_t i = 0; i < n; ++i) v[i] = v[i] / (1.0f + std::fabs(v[i]));
            break;
        case ActivationKind::Softplus:
            // log(1 + e^x) without overflow for large x.
            for (int64_t i = 0; i < n; ++i)
                v[i] = v[i] > 0.0f ? v[i] + std::log1p(std::exp(-v[i])) : std::log1p(std::exp(v[i]));
            break;
    }
}

void gemm_accumulate(bool reference, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                     int64_t ldb, float* c, int64_t ldc) {
    if (m == 0 || n == 0 || k == 0) return;
    if (!reference &&
        dnnl_sgemm('N', 'N', m, n, k, 1.0f, a, lda, b, ldb, 1.0f, c, ldc) == dnnl_success)
        return;
    for (int64_t i = 0; i < m; ++i)
        for (int64_t p = 0; p < k; ++p) axpy(a[i * lda + p], b + p * ldb, c + i * ldc, n);
}

void clip_values(float* v, int64_t n, float clip) {
    if (clip <= 0.0f) return;
    for (int64_t i = 0; i < n; ++i) v[i] = std::min(clip, std::max(-clip, v[i]));
}

void check_state_input(const KernelContext& ctx, const RecurrentConfig& c, size_t input) {
    if (!ctx.has_input(input)) return;
    if (ctx.input(input).dtype != ctx.input(kX).dtype) ctx.fail("input " + std::to_string(input) + " must have X's dtype");
    require_shape(ctx, input, "an initial state",
                  c.batch_first ? Shape{c.batch, c.dirs, c.hidden} : Shape{c.dirs, c.batch, c.hidden});
}

RecurrentConfig configure(KernelContext& ctx, int64_t gates, const std::vector<ActivationKind>& default_activations,
                          size_t state_outputs) {
    ctx.require_outputs(0, 1 + state_outputs);
    ctx.require_dtype(kX, {DT::Float, DT::Float16});
    const DT dtype = ctx.input(kX).dtype;
    for (size_t i : {kW, kR, kB})
        if (ctx.has_input(i) && ctx.input(i).dtype != dtype)
            ctx.fail("input " + std::to_string(i) + " must have X's dtype " + onnx::data_type_name(dtype));

    RecurrentConfig c;
    c.gates = gates;
    c.fp16 = dtype == DT::Float16;
    c.reference = ctx.options().reference_kernels;
    c.batch_first = ctx.opset() >= 14 && ctx.attr_int("layout", 0) != 0;
    const std::string direction = ctx.attr_string("direction", "forward");
    if (direction == "bidirectional") c.dirs = 2;
    else if (direction == "reverse") c.reverse_only = true;
    else if (direction != "forward")
        ctx.fail("direction must be forward, reverse or bidirectional, got '" + direction + "'");

    const ValueDesc& x = ctx.input(kX);
    const ValueDesc& w = ctx.input(kW);
    const ValueDesc& r = ctx.input(kR);
    if (x.shape.size() != 3) ctx.fail("X must be 3-D, got " + shape_to_string(x.shape));
    if (w.shape.size() != 3 || r.shape.size() != 3)
        ctx.fail("W and R must be 3-D, got " + shape_to_string(w.shape) + " and " + shape_to_string(r.shape));
    c.seq = x.shape[c.batch_first ? 1 : 0];
    c.batch = x.shape[c.batch_first ? 0 : 1];
    c.input = x.shape[2];
    c.hidden = r.shape[2];
    if (ctx.has_attr("hidden_size") && ctx.attr_int("hidden_size", 0) != c.hidden)
        ctx.fail("hidden_size " + std::to_string(ctx.attr_int("hidden_size", 0)) + " disagrees with R's shape " +
                 shape_to_string(r.shape));
    if (c.hidden <= 0) ctx.fail("the hidden size must be positive");
    require_shape(ctx, kW, "W", {c.dirs, gates * c.hidden, c.input});
    require_shape(ctx, kR, "R", {c.dirs, gates * c.hidden, c.hidden});
    if (ctx.has_input(kB)) require_shape(ctx, kB, "B", {c.dirs, 2 * gates * c.hidden});
    if (ctx.has_input(kSeqLens)) {
        if (ctx.input(kSeqLens).dtype != DT::Int32) ctx.fail("sequence_lens must be int32");
        require_shape(ctx, kSeqLens, "sequence_lens", {c.batch});
    }
    check_state_input(ctx, c, kInitialH);

    c.clip = ctx.has_attr("clip") ? ctx.attr_float("clip", 0.0f) : 0.0f;
    if (ctx.has_attr("clip") && !(c.clip > 0.0f)) ctx.fail("clip must be positive");
    c.per_direction = default_activations.size();
    c.activations = parse_activations(ctx, default_activations, c.dirs);

    ctx.set_output(0, dtype, c.batch_first ? Shape{c.batch, c.seq, c.dirs, c.hidden}
                                           : Shape{c.seq, c.dirs, c.batch, c.hidden});
    for (size_t i = 1; i <= state_outputs && i < ctx.output_count(); ++i)
        ctx.set_output(i, dtype, c.batch_first ? Shape{c.batch, c.dirs, c.hidden} : Shape{c.dirs, c.batch, c.hidden});
    return c;
}

RecurrentKernel::RecurrentKernel(const KernelContext& ctx, RecurrentConfig config)
    : config_(std::move(config)) {
    const RecurrentConfig& c = config_;
    inputs_.resize(ctx.input_count());
    for (size_t i = 0; i < ctx.input_count(); ++i) {
        if (!ctx.has_input(i) || i == kSeqLens) continue;
        const ValueDesc& v = ctx.input(i);
        if (i == kW || i == kR) {
            const int64_t cols = i == kW ? c.input : c.hidden;
            const int64_t count = c.dirs * cols * c.gate_width();
            if (v.is_constant()) {
                std::vector<float>& dst = i == kW ? wt_const_ : rt_const_;
                dst.resize(static_cast<size_t>(count));
                transpose_weights(v.data, c.fp16, c.dirs, c.gate_width(), cols, dst.data());
            } else {
                (i == kW ? wt_ : rt_) = Slot{reserve(count), count};
            }
        } else if (c.fp16) {
            inputs_[i] = Slot{reserve(v.element_count()), v.element_count()};
        }
    }
    outputs_.resize(ctx.output_count());
    for (size_t i = 0; i < ctx.output_count(); ++i) {
        const int64_t count = shape_elements(ctx.outputs()[i].shape);
        output_counts_.push_back(ctx.node().outputs[i].empty() ? 0 : count);
        if (c.fp16 && !ctx.node().outputs[i].empty()) outputs_[i] = Slot{reserve(count), count};
    }
    const int64_t work_floats = c.seq * c.batch * c.gate_width() + c.gate_width() + 2 * c.hidden;
    work_ = Slot{reserve(work_floats), work_floats};
}

DirectionView RecurrentKernel::direction_view(const Frame& f, int64_t d) const {
    const RecurrentConfig& c = config_;
    const int64_t GW = c.gate_width();
    DirectionView v;
    v.xw = f.work;
    v.gates = v.xw + c.seq * c.batch * GW;
    v.h = v.gates + GW;
    v.extra = v.h + c.hidden;
    v.wt = f.wt + d * c.input * GW;
    v.rt = f.rt + d * c.hidden * GW;
    v.bias = f.bias ? f.bias + d * 2 * GW : nullptr;
    return v;
}

int64_t RecurrentKernel::reserve(int64_t count) {
    const int64_t at = scratch_floats_;
    scratch_floats_ += (count + 15) / 16 * 16;  // keeps every slot 64-byte aligned
    return at;
}

int64_t RecurrentKernel::length(const Frame& f, int64_t b) const {
    if (!f.seq_lens) return config_.seq;
    const int32_t len = f.seq_lens[b];
    if (len < 0 || len > config_.seq)
        throw RunError("sequence_lens[" + std::to_string(b) + "] = " + std::to_string(len) + " is outside [0, " +
                       std::to_string(config_.seq) + "]");
    return len;
}

void RecurrentKernel::run(const RunContext& ctx) const {
    const RecurrentConfig& c = config_;
    float* scratch = static_cast<float*>(ctx.scratch);
    auto input = [&](size_t i) -> const float* {
        if (i >= inputs_.size() || !ctx.inputs[i]) return nullptr;
        if (inputs_[i].offset < 0) return static_cast<const float*>(ctx.inputs[i]);
        float* dst = scratch + inputs_[i].offset;
        numerics::halves_to_floats(static_cast<const uint16_t*>(ctx.inputs[i]), dst,
                                   static_cast<size_t>(inputs_[i].count));
        return dst;
    };
    auto output = [&](size_t i) -> float* {
        if (i >= outputs_.size() || output_counts_[i] == 0) return nullptr;
        float* p = outputs_[i].offset < 0 ? static_cast<float*>(ctx.outputs[i]) : scratch + outputs_[i].offset;
        return p;
    };

    Frame f;
    f.x = input(kX);
    f.bias = input(kB);
    f.seq_lens = kSeqLens < inputs_.size() ? static_cast<const int32_t*>(ctx.inputs[kSeqLens]) : nullptr;
    f.initial_h = input(kInitialH);
    f.initial_c = input(6);
    f.peephole = input(7);
    if (!wt_const_.empty()) {
        f.wt = wt_const_.data();
    } else {
        transpose_weights(ctx.inputs[kW], c.fp16, c.dirs, c.gate_width(), c.input, scratch + wt_.offset);
        f.wt = scratch + wt_.offset;
    }
    if (!rt_const_.empty()) {
        f.rt = rt_const_.data();
    } else {
        transpose_weights(ctx.inputs[kR], c.fp16, c.dirs, c.gate_width(), c.hidden, scratch + rt_.offset);
        f.rt = scratch + rt_.offset;
    }
    f.y = output(0);
    f.y_h = output(1);
    f.y_c = output(2);
    f.work = scratch + work_.offset;
    // Steps past a row's sequence length leave zeros in Y.
    if (f.y) std::memset(f.y, 0, static_cast<size_t>(output_counts_[0]) * sizeof(float));

    for (int64_t d = 0; d < c.dirs; ++d) run_direction(f, d);

    for (size_t i = 0; i < outputs_.size(); ++i)
        if (outputs_[i].offset >= 0)
            numerics::floats_to_halves(scratch + outputs_[i].offset, static_cast<uint16_t*>(ctx.outputs[i]),
                                       static_cast<size_t>(outputs_[i].count));
}

}  // namespace ezemu::kernels::recurrent
