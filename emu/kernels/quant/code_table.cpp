#include "kernels/quant/code_table.hpp"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <array>
#include <string>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kernels/onednn.hpp"
#include "kernels/registry.hpp"

namespace ezemu::kernels::quant {

namespace {

using DT = onnx::DataType;
constexpr int64_t kCodes = 256;

// Builds the kernel of one node of the unfused chain exactly as the graph would for a tensor of the 256 codes, checks
// that its output 0 is `expect` [256], and runs it once into `out`.
void run_stage(const KernelContext& ctx, const onnx::Node& node, const std::vector<const ValueDesc*>& inputs,
               DT expect, void* out, dnnl::stream& stream) {
    std::vector<ValueDesc> outputs;
    std::unique_ptr<Kernel> kernel =
        make_node_kernel(ctx, node, ctx.label() + " (table stage " + node.op_type + ")", inputs, outputs);
    if (outputs.size() != 1) ctx.fail(node.op_type + " must have one output in a table");
    const ValueDesc& y = outputs[0];
    if (y.dtype != expect || y.shape != Shape{kCodes})
        ctx.fail(node.op_type + " gives " + onnx::data_type_name(y.dtype) + " " + shape_to_string(y.shape) +
                 " for the table's " + onnx::data_type_name(expect) + " [256]");
    std::vector<const void*> data;
    for (const ValueDesc* in : inputs) data.push_back(in ? in->data : nullptr);
    void* outs[1] = {out};
    onednn::run_at_load(*kernel, data.data(), outs, stream);
}

onnx::Node stage_node(const std::string& op_type, size_t inputs) {
    onnx::Node n;
    n.op_type = op_type;
    for (size_t i = 0; i < inputs; ++i) n.inputs.push_back("in" + std::to_string(i));
    n.outputs = {"out"};
    return n;
}

}  // namespace

std::unique_ptr<Kernel> make_node_kernel(const KernelContext& ctx, const onnx::Node& node, const std::string& label,
                                         const std::vector<const ValueDesc*>& inputs, std::vector<ValueDesc>& outputs) {
    const KernelEntry* entry = find_kernel(node.op_type, ctx.opset());
    if (!entry) ctx.fail("has no " + node.op_type + " kernel at opset " + std::to_string(ctx.opset()));
    KernelContext inner(node, label, ctx.opset(), inputs, ctx.options());
    std::unique_ptr<Kernel> kernel = entry->factory(inner);
    outputs = inner.outputs();
    return kernel;
}

bool CodeTable::identity() const {
    for (size_t i = 0; i < code.size(); ++i)
        if (code[i] != i) return false;
    return true;
}

void CodeTable::apply(const void* x, void* y, int64_t n) const {
    if (!apply_vbmi(x, y, n)) apply_scalar(x, y, n);
}

void CodeTable::apply_scalar(const void* x, void* y, int64_t n) const {
    const auto* in = static_cast<const uint8_t*>(x);
    auto* out = static_cast<uint8_t*>(y);
    for (int64_t i = 0; i < n; ++i) out[i] = code[in[i]];
}

#if defined(__x86_64__)
namespace {

// 64 codes at a time: vpermi2b looks the low 7 bits up in a 128-entry half of the table, the top bit picks the half.
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) void lookup_vbmi(const uint8_t* table, const uint8_t* in,
                                                                       uint8_t* out, int64_t n) {
    const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64);
    const __m512i t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
    for (int64_t i = 0; i < n; i += 64) {
        const int64_t left = n - i;
        const __mmask64 m = left >= 64 ? ~__mmask64{0} : (__mmask64{1} << left) - 1;
        const __m512i codes = _mm512_maskz_loadu_epi8(m, in + i);
        const __m512i low = _mm512_permutex2var_epi8(t0, codes, t1);
        const __m512i high = _mm512_permutex2var_epi8(t2, codes, t3);
        _mm512_mask_storeu_epi8(out + i, m, _mm512_mask_blend_epi8(_mm512_movepi8_mask(codes), low, high));
    }
}

bool has_vbmi() {
    static const bool yes = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                            __builtin_cpu_supports("avx512vbmi");
    return yes;
}

}  // namespace
#endif

bool CodeTable::apply_vbmi(const void* x, void* y, int64_t n) const {
#if defined(__x86_64__)
    if (!has_vbmi()) return false;
    lookup_vbmi(code.data(), static_cast<const uint8_t*>(x), static_cast<uint8_t*>(y), n);
    return true;
#else
    (void)x, (void)y, (void)n;
    return false;
#endif
}

bool is_tabulated_activation(std::string_view op_type) {
    static constexpr std::array<std::string_view, 11> kOps = {"Clip", "Elu",     "HardSigmoid", "HardSwish",
                                                              "LeakyRelu", "Mish", "Pow",     "Relu",
                                                              "Sigmoid",   "Softplus", "Tanh"};
    return std::find(kOps.begin(), kOps.end(), op_type) != kOps.end();
}

bool runs_on_codes(std::string_view op_type) {
    static constexpr std::array<std::string_view, 14> kOps = {
        "DepthToSpace", "Expand", "Flatten",      "Gather",  "GatherElements", "MaxPool",   "Reshape",
        "Resize",       "Slice",  "SpaceToDepth", "Squeeze", "Tile",           "Transpose", "Unsqueeze"};
    return std::find(kOps.begin(), kOps.end(), op_type) != kOps.end();
}

CodeTable build_code_table(const KernelContext& ctx, DT dtype, size_t x_scale, size_t x_zero_point, size_t y_scale,
                           size_t y_zero_point, const onnx::Node* op, const std::vector<size_t>& op_inputs) {
    for (size_t i : {x_scale, x_zero_point, y_scale, y_zero_point}) {
        const ValueDesc& v = ctx.input(i);
        if (!v.is_constant() || v.element_count() != 1)
            ctx.fail("input " + std::to_string(i) + " (a scale or zero point) must be a constant holding one value");
    }
    ctx.require_dtype(x_zero_point, {dtype});
    ctx.require_dtype(y_zero_point, {dtype});

    std::array<uint8_t, kCodes> codes;
    for (size_t i = 0; i < codes.size(); ++i) codes[i] = static_cast<uint8_t>(i);
    const ValueDesc code_desc{dtype, {kCodes}, codes.data()};
    std::array<float, kCodes> dequantized, activated;
    dnnl::stream stream(onednn::cpu_engine());

    const onnx::Node dq = stage_node("DequantizeLinear", 3);
    run_stage(ctx, dq, {&code_desc, &ctx.input(x_scale), &ctx.input(x_zero_point)}, DT::Float, dequantized.data(),
              stream);
    const float* q_input = dequantized.data();
    if (op) {
        const ValueDesc op_x{DT::Float, {kCodes}, dequantized.data()};
        std::vector<const ValueDesc*> inputs{&op_x};
        for (size_t i : op_inputs) {
            if (i != kAbsent && !ctx.input(i).is_constant())
                ctx.fail("input " + std::to_string(i) + " of the tabulated " + op->op_type + " must be a constant");
            inputs.push_back(i == kAbsent ? nullptr : &ctx.input(i));
        }
        run_stage(ctx, *op, inputs, DT::Float, activated.data(), stream);
        q_input = activated.data();
    }
    const ValueDesc q_x{DT::Float, {kCodes}, q_input};
    CodeTable table;
    const onnx::Node q = stage_node("QuantizeLinear", 3);
    run_stage(ctx, q, {&q_x, &ctx.input(y_scale), &ctx.input(y_zero_point)}, dtype, table.code.data(), stream);
    return table;
}

}  // namespace ezemu::kernels::quant
