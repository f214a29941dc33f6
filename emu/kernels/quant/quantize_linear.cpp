// QuantizeLinear and DequantizeLinear: the float side of linear quantization, per tensor, per axis or per block.
//   QuantizeLinear:   y = saturate(round_half_even(x / scale) + zero_point)
//   DequantizeLinear: y = (x - zero_point) * scale
// x / scale is computed in the precision opset 23 defines (the `precision` attribute, else the scale's dtype), and
// before opset 23 in the one the ONNX reference uses (numpy's promotion: float16 only when both are float16, int32 x
// in double); (x - zero_point) * scale is rounded once to float32 and then, for a float16 output, to float16.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "kernels/quant/integer_operands.hpp"
#include "kernels/quant/quant_params.hpp"
#include "kernels/quant/requantize_rows.hpp"
#include "kernels/registry.hpp"
#include "numerics/fp16.hpp"

namespace ezemu::kernels {

namespace {

using DT = onnx::DataType;
using quant::QuantParamLayout;

struct Half {
    uint16_t bits;
};

template <class T>
float to_float(T v) {
    if constexpr (std::is_same_v<T, Half>) return numerics::half_to_float(v.bits);
    else return static_cast<float>(v);
}

// The division's precision.
enum class Precision { Float32, Float16, Float64 };

// Round half to even by the float adder (exact for |v| < 2^22, which the clamp guarantees); unlike nearbyint it
// vectorizes.
template <class F>
F round_half_even(F v) {
    constexpr F magic = std::is_same_v<F, float> ? F(12582912.0f) : F(6755399441055744.0);  // 1.5 * 2^23, 2^52
    constexpr F limit = F(4194304);                                                          // 2^22
    v = v == v ? v : F(0);                                                                   // NaN quantizes to the zero point
    v = v < -limit ? -limit : v;
    v = v > limit ? limit : v;
    return (v + magic) - magic;
}

// One float32 row quantized with one scale and zero point (per tensor, or an inner row of an axis): the loop
// vectorizes, so it is cloned per ISA. The same arithmetic as QuantizeKernel::quantize<Float32>.
template <class Y>
[[gnu::always_inline]] inline void quantize_row(const float* x, Y* y, float scale, int32_t zp, int64_t n) {
    constexpr float lo = static_cast<float>(std::numeric_limits<Y>::min());
    constexpr float hi = static_cast<float>(std::numeric_limits<Y>::max());
    const float z = static_cast<float>(zp);
    for (int64_t i = 0; i < n; ++i) {
        float r = round_half_even(x[i] / scale) + z;
        r = r < lo ? lo : r;
        r = r > hi ? hi : r;
        y[i] = static_cast<Y>(static_cast<int32_t>(r));
    }
}
__attribute__((target_clones("arch=skylake-avx512", "avx2", "default"))) void quantize_row_portable_s8(
    const float* x, int8_t* y, float scale, int32_t zp, int64_t n) {
    quantize_row(x, y, scale, zp, n);
}
__attribute__((target_clones("arch=skylake-avx512", "avx2", "default"))) void quantize_row_portable_u8(
    const float* x, uint8_t* y, float scale, int32_t zp, int64_t n) {
    quantize_row(x, y, scale, zp, n);
}

#if defined(__x86_64__)
// quantize_row on 16 lanes (the arch= clones above are picked by CPU model, so AMD CPUs ran the AVX2 one): the same
// float32 division, NaN to 0, then round_saturate_avx512 (round half to even, + zp, saturate; all exact steps).
template <class Y>
__attribute__((target("avx512f,avx512bw,avx512vl"))) void quantize_row_avx512(const float* x, Y* y, float scale,
                                                                               int32_t zp, int64_t n) {
    const __m512 s = _mm512_set1_ps(scale);
    const __m512i z = _mm512_set1_epi32(zp);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = quant::lanes(n - i);
        __m512 v = _mm512_maskz_div_ps(0xFFFF, _mm512_maskz_loadu_ps(m, x + i), s);
        v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v);
        _mm512_mask_cvtepi32_storeu_epi8(y + i, m, quant::round_saturate_avx512<Y>(v, z));
    }
}
#endif

void quantize_row_s8(const float* x, int8_t* y, float scale, int32_t zp, int64_t n) {
#if defined(__x86_64__)
    if (quant::has_avx512_core()) return quantize_row_avx512(x, y, scale, zp, n);
#endif
    quantize_row_portable_s8(x, y, scale, zp, n);
}
void quantize_row_u8(const float* x, uint8_t* y, float scale, int32_t zp, int64_t n) {
#if defined(__x86_64__)
    if (quant::has_avx512_core()) return quantize_row_avx512(x, y, scale, zp, n);
#endif
    quantize_row_portable_u8(x, y, scale, zp, n);
}

template <class X, class Y>
class QuantizeKernel final : public Kernel {
public:
    QuantizeKernel(QuantParamLayout layout, DT scale_dtype, DT zp_dtype, Precision precision)
        : q_(layout), scale_dtype_(scale_dtype), zp_dtype_(zp_dtype), precision_(precision) {}

    size_t scratch_bytes() const override {
        return static_cast<size_t>(q_.param_count) * (sizeof(float) + sizeof(int32_t));
    }

    void run(const RunContext& ctx) const override {
        auto* scale = static_cast<float*>(ctx.scratch);
        auto* zp = reinterpret_cast<int32_t*>(scale + q_.param_count);
        quant::load_scales(scale_dtype_, ctx.inputs[1], scale, q_.param_count);
        if (precision_ == Precision::Float16)
            for (int64_t i = 0; i < q_.param_count; ++i) scale[i] = numerics::round_to_half(scale[i]);
        quant::load_zero_points(zp_dtype_, zp_dtype_ == DT::Undefined ? nullptr : ctx.inputs[2], zp, q_.param_count);
        const auto* x = static_cast<const X*>(ctx.inputs[0]);
        auto* y = static_cast<Y*>(ctx.outputs[0]);
        switch (precision_) {
            case Precision::Float32: quantize<Precision::Float32>(x, y, scale, zp); break;
            case Precision::Float16: quantize<Precision::Float16>(x, y, scale, zp); break;
            case Precision::Float64: quantize<Precision::Float64>(x, y, scale, zp); break;
        }
    }

private:
    template <Precision P>
    void quantize(const X* x, Y* y, const float* scale, const int32_t* zp) const {
        constexpr float lo = static_cast<float>(std::numeric_limits<Y>::min());
        constexpr float hi = static_cast<float>(std::numeric_limits<Y>::max());
        const int64_t step = q_.inner_step();
        for (int64_t o = 0; o < q_.outer; ++o)
            for (int64_t a = 0; a < q_.axis_dim; ++a) {
                const int64_t base = (o * q_.axis_dim + a) * q_.inner;
                const float* s = scale + q_.row_offset(o, a);
                const int32_t* z = zp + q_.row_offset(o, a);
                if constexpr (P == Precision::Float32 && std::is_same_v<X, float> &&
                              (std::is_same_v<Y, int8_t> || std::is_same_v<Y, uint8_t>)) {
                    if (step == 0) {
                        if constexpr (std::is_same_v<Y, int8_t>) quantize_row_s8(x + base, y + base, *s, *z, q_.inner);
                        else quantize_row_u8(x + base, y + base, *s, *z, q_.inner);
                        continue;
                    }
                }
                for (int64_t i = 0; i < q_.inner; ++i) {
                    float r;
                    if constexpr (P == Precision::Float64) {
                        double v;
                        if constexpr (std::is_same_v<X, Half>) v = to_float(x[base + i]);
                        else v = static_cast<double>(x[base + i]);
                        r = static_cast<float>(round_half_even(v / static_cast<double>(s[i * step])));
                    } else if constexpr (P == Precision::Float16) {
                        const float v = numerics::round_to_half(to_float(x[base + i]));
                        r = round_half_even(numerics::round_to_half(v / s[i * step]));
                    } else {
                        r = round_half_even(to_float(x[base + i]) / s[i * step]);
                    }
                    r += static_cast<float>(z[i * step]);
                    r = r < lo ? lo : r;
                    r = r > hi ? hi : r;
                    y[base + i] = static_cast<Y>(r);
                }
            }
    }

    QuantParamLayout q_;
    DT scale_dtype_, zp_dtype_;
    Precision precision_;
};

template <class X, class Y>
class DequantizeKernel final : public Kernel {
public:
    DequantizeKernel(QuantParamLayout layout, DT scale_dtype, DT zp_dtype)
        : q_(layout), scale_dtype_(scale_dtype), zp_dtype_(zp_dtype) {}

    size_t scratch_bytes() const override {
        return static_cast<size_t>(q_.param_count) * (sizeof(float) + sizeof(int32_t));
    }

    void run(const RunContext& ctx) const override {
        auto* scale = static_cast<float*>(ctx.scratch);
        auto* zp = reinterpret_cast<int32_t*>(scale + q_.param_count);
        quant::load_scales(scale_dtype_, ctx.inputs[1], scale, q_.param_count);
        quant::load_zero_points(zp_dtype_, zp_dtype_ == DT::Undefined ? nullptr : ctx.inputs[2], zp, q_.param_count);
        const auto* x = static_cast<const X*>(ctx.inputs[0]);
        auto* y = static_cast<Y*>(ctx.outputs[0]);
        const int64_t step = q_.inner_step();
        for (int64_t o = 0; o < q_.outer; ++o)
            for (int64_t a = 0; a < q_.axis_dim; ++a) {
                const int64_t base = (o * q_.axis_dim + a) * q_.inner;
                const float* s = scale + q_.row_offset(o, a);
                const int32_t* z = zp + q_.row_offset(o, a);
                for (int64_t i = 0; i < q_.inner; ++i) {
                    // The difference and the product are exact in double: one rounding, to float.
                    const double d = static_cast<double>(static_cast<int64_t>(x[base + i]) - z[i * step]);
                    const auto v = static_cast<float>(d * static_cast<double>(s[i * step]));
                    if constexpr (std::is_same_v<Y, Half>) y[base + i].bits = numerics::float_to_half(v);
                    else y[base + i] = v;
                }
            }
    }

private:
    QuantParamLayout q_;
    DT scale_dtype_, zp_dtype_;
};

bool is_quantized_int(DT t) { return t == DT::Uint8 || t == DT::Int8 || t == DT::Uint16 || t == DT::Int16; }

// The dtype an `output_dtype` attribute asks for, or Undefined.
DT output_dtype_attr(const KernelContext& ctx) {
    return static_cast<DT>(ctx.attr_int("output_dtype", 0));
}

template <class X>
std::unique_ptr<Kernel> make_quantize_for(DT y, const QuantParamLayout& q, DT s, DT z, Precision p) {
    switch (y) {
        case DT::Uint8: return std::make_unique<QuantizeKernel<X, uint8_t>>(q, s, z, p);
        case DT::Int8: return std::make_unique<QuantizeKernel<X, int8_t>>(q, s, z, p);
        case DT::Uint16: return std::make_unique<QuantizeKernel<X, uint16_t>>(q, s, z, p);
        default: return std::make_unique<QuantizeKernel<X, int16_t>>(q, s, z, p);
    }
}

template <class Y>
std::unique_ptr<Kernel> make_dequantize_for(DT x, const QuantParamLayout& q, DT s, DT z) {
    switch (x) {
        case DT::Uint8: return std::make_unique<DequantizeKernel<uint8_t, Y>>(q, s, z);
        case DT::Int8: return std::make_unique<DequantizeKernel<int8_t, Y>>(q, s, z);
        case DT::Uint16: return std::make_unique<DequantizeKernel<uint16_t, Y>>(q, s, z);
        case DT::Int16: return std::make_unique<DequantizeKernel<int16_t, Y>>(q, s, z);
        default: return std::make_unique<DequantizeKernel<int32_t, Y>>(q, s, z);
    }
}

}  // namespace

std::unique_ptr<Kernel> make_quantize_linear(KernelContext& ctx) {
    ctx.require_inputs(2, 3);
    ctx.require_outputs(1, 1);
    ctx.require_dtype(0, {DT::Float, DT::Float16, DT::Int32});
    quant::check_scale_dtype(ctx);
    const ValueDesc& x = ctx.input(0);
    const DT scale_dtype = ctx.input(1).dtype;

    DT y = ctx.opset() >= 21 ? output_dtype_attr(ctx) : DT::Undefined;
    const DT zp_dtype = ctx.has_input(2) ? ctx.input(2).dtype : DT::Undefined;
    if (zp_dtype != DT::Undefined) {
        if (y != DT::Undefined && y != zp_dtype)
            ctx.fail(std::string("output_dtype ") + onnx::data_type_name(y) + " differs from the zero point's dtype " +
                     onnx::data_type_name(zp_dtype));
        y = zp_dtype;
    }
    if (y == DT::Undefined) y = DT::Uint8;
    if (!is_quantized_int(y))
        ctx.fail(std::string("quantizing to ") + onnx::data_type_name(y) +
                 " is not supported (supported: uint8, int8, uint16, int16)");
    if ((y == DT::Uint16 || y == DT::Int16) && ctx.opset() < 21)
        ctx.fail("16-bit quantized outputs need opset 21 or newer");
    ctx.attr_int("saturate", 1);  // only float8 outputs can skip saturation; integer outputs always saturate

    // Opset 23 defines the division's precision: the `precision` attribute, else the scale's dtype. Before, the
    // reference divides with numpy's promotion (int32 x in double).
    Precision precision = Precision::Float32;
    if (ctx.opset() >= 23) precision = scale_dtype == DT::Float16 ? Precision::Float16 : Precision::Float32;
    else if (x.dtype == DT::Int32) precision = Precision::Float64;
    else if (x.dtype == DT::Float16 && scale_dtype == DT::Float16) precision = Precision::Float16;
    const DT asked = ctx.opset() >= 23 ? static_cast<DT>(ctx.attr_int("precision", 0)) : DT::Undefined;
    if (asked == DT::Float) precision = Precision::Float32;
    else if (asked == DT::Float16) precision = Precision::Float16;
    else if (asked != DT::Undefined)
        ctx.fail(std::string("precision ") + onnx::data_type_name(asked) +
                 " is not supported (supported: float32, float16)");

    const QuantParamLayout q = quant::quant_param_layout(ctx);
    quant::check_positive_scales(ctx, 1, "y");
    ctx.set_output(0, y, x.shape);
    switch (x.dtype) {
        case DT::Float: return make_quantize_for<float>(y, q, scale_dtype, zp_dtype, precision);
        case DT::Float16: return make_quantize_for<Half>(y, q, scale_dtype, zp_dtype, precision);
        default: return make_quantize_for<int32_t>(y, q, scale_dtype, zp_dtype, precision);
    }
}

std::unique_ptr<Kernel> make_dequantize_linear(KernelContext& ctx) {
    ctx.require_inputs(2, 3);
    ctx.require_outputs(1, 1);
    if (ctx.opset() >= 21) ctx.require_dtype(0, {DT::Uint8, DT::Int8, DT::Uint16, DT::Int16, DT::Int32});
    else ctx.require_dtype(0, {DT::Uint8, DT::Int8, DT::Int32});
    quant::check_scale_dtype(ctx);
    const ValueDesc& x = ctx.input(0);
    const DT scale_dtype = ctx.input(1).dtype;
    if (ctx.opset() < 19 && scale_dtype != DT::Float) ctx.fail("a float16 scale needs opset 19 or newer");
    const DT zp_dtype = ctx.has_input(2) ? ctx.input(2).dtype : DT::Undefined;
    if (zp_dtype != DT::Undefined && zp_dtype != x.dtype)
        ctx.fail(std::string("the zero point's dtype ") + onnx::data_type_name(zp_dtype) + " differs from x's " +
                 onnx::data_type_name(x.dtype));

    DT y = ctx.opset() >= 23 ? output_dtype_attr(ctx) : DT::Undefined;
    if (y == DT::Undefined) y = scale_dtype;
    if (y != DT::Float && y != DT::Float16)
        ctx.fail(std::string("output_dtype ") + onnx::data_type_name(y) +
                 " is not supported (supported: float32, float16)");

    const QuantParamLayout q = quant::quant_param_layout(ctx);
    quant::check_positive_scales(ctx, 1, "x");
    ctx.set_output(0, y, x.shape);
    if (y == DT::Float16) return make_dequantize_for<Half>(x.dtype, q, scale_dtype, zp_dtype);
    return make_dequantize_for<float>(x.dtype, q, scale_dtype, zp_dtype);
}

}  // namespace ezemu::kernels
