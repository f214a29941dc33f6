#include "npu/matmul_context.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>

#include "kernels/matmul_api/matmul_api_kernels.hpp"
#include "kernels/quant/requantize.hpp"
#include "npu/c_enum.hpp"
#include "npu/core_mask.hpp"
#include "npu/rknn_error.hpp"
#include "numerics/fp16.hpp"

namespace ezemu::npu {
namespace {

constexpr const char* kOperandNames[3] = {"A", "B", "C"};

std::string bounded(const char* text, size_t capacity) { return std::string(text, strnlen(text, capacity)); }

size_t operand_bytes(const rknn_matmul_io_attr& io, int operand)
{
    return operand == 0 ? io.A.size : operand == 1 ? io.B.size : io.C.size;
}

}  // namespace

MatmulContext::MatmulContext(const rknn_matmul_info& info, std::vector<MatmulShape> shapes, const Platform& platform,
                             LatencyModel latency)
    : spec_(matmul_type_spec(info.type)),
      b_layout_(info.B_layout),
      b_quant_type_(info.B_quant_type),
      ac_quant_type_(info.AC_quant_type),
      shapes_(std::move(shapes)),
      platform_(platform),
      cores_(CoreScheduler::for_platform(platform)),
      latency_(latency)
{
    size_t mk = 0, kn = 0, mn = 0, n = 0;
    for (const MatmulShape& s : shapes_) {
        const auto m_ = static_cast<size_t>(s.M), k_ = static_cast<size_t>(s.K), n_ = static_cast<size_t>(s.N);
        mk = std::max(mk, m_ * k_);
        kn = std::max(kn, k_ * n_);
        mn = std::max(mn, m_ * n_);
        n = std::max(n, n_);
    }
    const bool float_a = spec_.a == RKNN_TENSOR_FLOAT16;
    if (float_a) {
        a_float_.resize(mk);
        b_float_.resize(kn);
        c_float_.resize(mn);
    } else {
        if (b_layout_ == RKNN_MM_LAYOUT_TP_NORM) b_int8_.resize(kn);
        c_int_.resize(mn);
        b_zero_points_.resize(n);
        row_.resize(n);
    }
}

rknn_matmul_io_attr MatmulContext::io_attr(const MatmulShape& shape) const
{
    return matmul_io_attr(spec_, shape, b_layout_);
}

void MatmulContext::set_shape(const MatmulShape& shape)
{
    for (size_t i = 0; i < shapes_.size(); ++i) {
        if (shapes_[i] == shape) {
            current_ = i;
            return;
        }
    }
    std::string allowed;
    for (const MatmulShape& s : shapes_) allowed += (allowed.empty() ? "" : ", ") + describe(s);
    throw RknnError(RKNN_ERR_PARAM_INVALID, "shape " + describe(shape) +
                                                " is not one the context was created with; allowed: " + allowed);
}

int MatmulContext::operand_index(const char* name, const char* what) const
{
    const std::string text = bounded(name, RKNN_MAX_NAME_LEN);
    for (int i = 0; i < 3; ++i) {
        if (text == kOperandNames[i]) return i;
    }
    throw RknnError(RKNN_ERR_PARAM_INVALID, std::string(what) + "->name is \"" + text +
                                                "\"; a matmul context has the tensors \"A\", \"B\" and \"C\" (the "
                                                "names rknn_matmul_create put in io_attr)");
}

void MatmulContext::bind(const rknn_matmul_tensor_attr& attr, MemoryView memory)
{
    const int operand = operand_index(attr.name, "attr");
    const rknn_matmul_io_attr io = io_attr(shape());
    const rknn_matmul_tensor_attr& expected = operand == 0 ? io.A : operand == 1 ? io.B : io.C;
    const int given = raw_enum(attr.type);
    if (given != expected.type) {
        throw RknnError(RKNN_ERR_PARAM_INVALID,
                        "attr->type of " + std::string(kOperandNames[operand]) + " is " + std::to_string(given) +
                            ", but " + spec_.name + " takes it as " + get_type_string(expected.type) +
                            " (the emulator converts no matmul operand); pass the attr rknn_matmul_create filled");
    }
    if (memory.size < expected.size) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, "mem->size is " + std::to_string(memory.size) + " bytes, but " +
                                                    kOperandNames[operand] + " needs " +
                                                    std::to_string(expected.size) + " under the current shape " +
                                                    describe(shape()));
    }
    mems_[static_cast<size_t>(operand)] = std::move(memory);
}

void MatmulContext::set_core_mask(uint32_t mask)
{
    check_core_mask(mask, platform_);
    core_mask_ = mask;
}

void MatmulContext::set_quant_params(const rknn_quant_params& params)
{
    const int operand = operand_index(params.name, "params");
    const char* name = kOperandNames[operand];
    const rknn_tensor_type type = operand == 0 ? spec_.a : operand == 1 ? spec_.b : spec_.c;
    if (type != RKNN_TENSOR_INT8) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, std::string(name) + " is " + get_type_string(type) + " in " +
                                                    spec_.name + "; quantization parameters apply to int8 operands");
    }
    const bool per_channel = operand == 1 && (b_quant_type_ == RKNN_QUANT_TYPE_PER_CHANNEL_SYM ||
                                              b_quant_type_ == RKNN_QUANT_TYPE_PER_CHANNEL_ASYM);
    const bool symmetric = operand == 1 ? (b_quant_type_ == RKNN_QUANT_TYPE_PER_LAYER_SYM ||
                                           b_quant_type_ == RKNN_QUANT_TYPE_PER_CHANNEL_SYM)
                                        : ac_quant_type_ == RKNN_QUANT_TYPE_PER_LAYER_SYM;
    if (!params.scale) throw RknnError(RKNN_ERR_PARAM_INVALID, "params->scale of " + std::string(name) + " is NULL");
    const int32_t want = per_channel ? shape().N : 1;
    if (params.scale_len != want && !(per_channel && params.scale_len == 1)) {
        throw RknnError(RKNN_ERR_PARAM_INVALID,
                        "params->scale_len of " + std::string(name) + " is " + std::to_string(params.scale_len) +
                            (per_channel ? "; B is quantized per channel: give N = " + std::to_string(want) +
                                               " scales (one per column of C)"
                                         : "; " + std::string(name) + " is quantized per layer: give 1 scale"));
    }
    if (params.zp_len != 0 && params.zp_len != 1 && params.zp_len != params.scale_len) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, "params->zp_len of " + std::string(name) + " is " +
                                                    std::to_string(params.zp_len) + "; give 0, 1 or scale_len (" +
                                                    std::to_string(params.scale_len) + ") zero points");
    }
    if (params.zp_len > 0 && !params.zp)
        throw RknnError(RKNN_ERR_PARAM_INVALID, "params->zp of " + std::string(name) + " is NULL but zp_len > 0");
    MatmulQuant quant;
    quant.scale.assign(params.scale, params.scale + params.scale_len);
    for (size_t i = 0; i < quant.scale.size(); ++i) {
        if (!std::isfinite(quant.scale[i]) || quant.scale[i] <= 0.0f) {
            throw RknnError(RKNN_ERR_PARAM_INVALID, "params->scale[" + std::to_string(i) + "] of " + name + " is " +
                                                        std::to_string(quant.scale[i]) +
                                                        "; scales must be finite and greater than 0");
        }
    }
    if (params.zp_len > 0) quant.zero_point.assign(params.zp, params.zp + params.zp_len);
    for (size_t i = 0; i < quant.zero_point.size(); ++i) {
        const int32_t zp = quant.zero_point[i];
        if (zp < -128 || zp > 127 || (symmetric && zp != 0)) {
            throw RknnError(RKNN_ERR_PARAM_INVALID,
                            "params->zp[" + std::to_string(i) + "] of " + name + " is " + std::to_string(zp) +
                                (symmetric ? "; the quant type is symmetric (_SYM), so zero points must be 0"
                                           : "; int8 zero points lie in -128..127"));
        }
    }
    quant_[static_cast<size_t>(operand)] = std::move(quant);
}

void MatmulContext::get_quant_params(rknn_quant_params& params, float* scale) const
{
    // An empty name asks for B, the operand the vendor documents this call for (its per-channel parameters).
    const int operand = params.name[0] ? operand_index(params.name, "params") : 1;
    const MatmulQuant& quant = quant_[static_cast<size_t>(operand)];
    std::memset(params.name, 0, sizeof params.name);
    std::strncpy(params.name, kOperandNames[operand], sizeof params.name - 1);
    params.scale = const_cast<float*>(quant.scale.data());
    params.scale_len = static_cast<int32_t>(quant.scale.size());
    params.zp = const_cast<int32_t*>(quant.zero_point.data());
    params.zp_len = static_cast<int32_t>(quant.zero_point.size());
    if (scale) *scale = quant_[0].scale_at(0);
}

void MatmulContext::check_ready() const
{
    const rknn_matmul_io_attr io = io_attr(shape());
    for (int i = 0; i < 3; ++i) {
        const auto& mem = mems_[static_cast<size_t>(i)];
        if (!mem) {
            throw RknnError(i == 2 ? RKNN_ERR_OUTPUT_INVALID : RKNN_ERR_INPUT_INVALID,
                            std::string(kOperandNames[i]) +
                                " has no memory: call rknn_matmul_set_io_mem for A, B and C before rknn_matmul_run");
        }
        if (mem->size < operand_bytes(io, i)) {
            throw RknnError(RKNN_ERR_PARAM_INVALID, std::string("the mem bound to ") + kOperandNames[i] + " has " +
                                                        std::to_string(mem->size) + " bytes, the current shape " +
                                                        describe(shape()) + " needs " +
                                                        std::to_string(operand_bytes(io, i)) +
                                                        "; bind a larger mem after rknn_matmul_set_dynamic_shape");
        }
    }
    const MatmulQuant& b = quant_[1];
    if (b.scale.size() > 1 && b.scale.size() != static_cast<size_t>(shape().N)) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, "B has " + std::to_string(b.scale.size()) +
                                                    " per-channel scales, the current shape " + describe(shape()) +
                                                    " has N = " + std::to_string(shape().N) +
                                                    "; set B's quant params again for this shape");
    }
}

void MatmulContext::run()
{
    check_ready();
    const CoreLease lease = cores_.acquire(cores_of_mask(core_mask_, platform_));
    const auto start = std::chrono::steady_clock::now();
    const unsigned char* a = mems_[0]->data;
    const unsigned char* b = mems_[1]->data;
    unsigned char* c = mems_[2]->data;
    if (spec_.a == RKNN_TENSOR_FLOAT16)
        compute_float(a, b, c);
    else
        compute_int8(a, b, c);
    if (latency_.configured())
        std::this_thread::sleep_until(start + std::chrono::microseconds(latency_.modelled_us(lease.cores())));
}

void MatmulContext::load_b(const unsigned char* src)
{
    const MatmulShape& s = shape();
    const auto k = static_cast<size_t>(s.K), n = static_cast<size_t>(s.N);
    const bool transposed = b_layout_ == RKNN_MM_LAYOUT_TP_NORM;
    if (spec_.b == RKNN_TENSOR_FLOAT16 && !transposed) {
        numerics::halves_to_floats(reinterpret_cast<const uint16_t*>(src), b_float_.data(), k * n);
        return;
    }
    // Element (p, j) of B lands at p * N + j whatever the source layout. An int8 B of an fp16 type is dequantized
    // with its (per-channel) parameters to the fp16 the NPU multiplies.
    const MatmulQuant& q = quant_[1];
    for (size_t p = 0; p < k; ++p) {
        for (size_t j = 0; j < n; ++j) {
            const size_t at = transposed ? j * k + p : p * n + j;
            float value;
            if (spec_.b == RKNN_TENSOR_FLOAT16) {
                uint16_t half;
                std::memcpy(&half, src + at * sizeof half, sizeof half);
                value = numerics::half_to_float(half);
            } else {
                const auto q8 = static_cast<int8_t>(src[at]);
                value = numerics::round_to_half(static_cast<float>(q8 - q.zero_point_at(j)) * q.scale_at(j));
            }
            b_float_[p * n + j] = value;
        }
    }
}

void MatmulContext::compute_float(const unsigned char* a, const unsigned char* b, unsigned char* c)
{
    const MatmulShape& s = shape();
    const auto m = static_cast<size_t>(s.M), k = static_cast<size_t>(s.K), n = static_cast<size_t>(s.N);
    numerics::halves_to_floats(reinterpret_cast<const uint16_t*>(a), a_float_.data(), m * k);
    load_b(b);
    kernels::matmul_api::matmul_float(a_float_.data(), b_float_.data(), c_float_.data(), m, k, n);
    if (spec_.c == RKNN_TENSOR_FLOAT32)
        std::memcpy(c, c_float_.data(), m * n * sizeof(float));
    else
        numerics::floats_to_halves(c_float_.data(), reinterpret_cast<uint16_t*>(c), m * n);
}

void MatmulContext::compute_int8(const unsigned char* a, const unsigned char* b, unsigned char* c)
{
    const MatmulShape& s = shape();
    const auto m = static_cast<size_t>(s.M), k = static_cast<size_t>(s.K), n = static_cast<size_t>(s.N);
    const MatmulQuant& qa = quant_[0];
    const MatmulQuant& qb = quant_[1];
    const MatmulQuant& qc = quant_[2];
    for (size_t j = 0; j < n; ++j) b_zero_points_[j] = qb.zero_point_at(j);
    const auto* b_rows = reinterpret_cast<const int8_t*>(b);
    if (b_layout_ == RKNN_MM_LAYOUT_TP_NORM) {  // [N,K] -> [K,N], so the kernel's inner loop runs along N
        for (size_t p = 0; p < k; ++p)
            for (size_t j = 0; j < n; ++j) b_int8_[p * n + j] = b_rows[j * k + p];
        b_rows = b_int8_.data();
    }
    kernels::matmul_api::matmul_int8(reinterpret_cast<const int8_t*>(a), qa.zero_point_at(0), b_rows,
                                     b_zero_points_.data(), c_int_.data(), row_.data(), m, k, n);
    const size_t count = m * n;
    if (spec_.c == RKNN_TENSOR_INT32) {
        std::memcpy(c, c_int_.data(), count * sizeof(int32_t));
    } else if (spec_.c == RKNN_TENSOR_INT8) {
        auto* out = reinterpret_cast<int8_t*>(c);
        for (size_t i = 0; i < count; ++i) {
            const size_t j = i % n;
            const float multiplier =
                kernels::quant::requant_multiplier(qa.scale_at(0), qb.scale_at(j), qc.scale_at(0));
            out[i] = kernels::quant::requantize<int8_t>(c_int_[i], multiplier, qc.zero_point_at(0));
        }
    } else {  // FLOAT32: dequantized accumulator
        for (size_t i = 0; i < count; ++i) {
            const float value = static_cast<float>(c_int_[i]) * (qa.scale_at(0) * qb.scale_at(i % n));
            std::memcpy(c + i * sizeof(float), &value, sizeof value);
        }
    }
}

}  // namespace ezemu::npu
