// One matmul context (rknn_matmul_create / _create_dynamic_shape): C = A·B for a fixed type and a list of allowed
// (M, K, N) shapes, operands in mems bound with rknn_matmul_set_io_mem, quantization parameters, a core mask and the
// latency model. Lives in the ContextRegistry beside model contexts; runs take NPU cores from the same
// CoreScheduler as rknn_run (rknn-api.md §7.14).
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "npu/core_scheduler.hpp"
#include "npu/matmul_spec.hpp"
#include "npu/platform.hpp"
#include "npu/tensor_memory.hpp"
#include "npu/timing_model.hpp"

namespace ezemu::npu {

// Quantization of one operand: one scale/zero point (per layer) or one per column of C (B per channel).
struct MatmulQuant {
    std::vector<float> scale{1.0f};
    std::vector<int32_t> zero_point{0};
    float scale_at(size_t channel) const { return scale.size() == 1 ? scale[0] : scale[channel]; }
    int32_t zero_point_at(size_t channel) const { return zero_point.size() == 1 ? zero_point[0] : zero_point[channel]; }
};

class MatmulContext {
public:
    // `info` is checked (type, layouts, quant types); `shapes` must be non-empty and each checked by the caller.
    MatmulContext(const rknn_matmul_info& info, std::vector<MatmulShape> shapes, const Platform& platform,
                  LatencyModel latency);
    MatmulContext(const MatmulContext&) = delete;
    MatmulContext& operator=(const MatmulContext&) = delete;

    // Serialises calls on one handle; every member below expects the caller to hold it.
    std::mutex& mutex() { return mutex_; }
    void mark_destroyed() { destroyed_ = true; }
    bool destroyed() const { return destroyed_; }

    const MatmulTypeSpec& spec() const { return spec_; }
    rknn_matmul_io_attr io_attr(const MatmulShape& shape) const;

    // rknn_matmul_set_dynamic_shape: one of the shapes given at creation; RKNN_ERR_PARAM_INVALID otherwise.
    void set_shape(const MatmulShape& shape);
    const MatmulShape& shape() const { return shapes_[current_]; }

    // rknn_matmul_set_io_mem: `attr` names A, B or C; its type must be the operand's and the mem must hold the
    // operand under the current shape.
    void bind(const rknn_matmul_tensor_attr& attr, MemoryView memory);

    void set_core_mask(uint32_t mask);

    // rknn_matmul_set_quant_params / _get_quant_params (docs/emulator.md "Matmul API").
    void set_quant_params(const rknn_quant_params& params);
    void get_quant_params(rknn_quant_params& params, float* scale) const;

    // C = A·B on the bound mems, holding NPU core(s) for max(CPU time, modelled time).
    void run();

private:
    int operand_index(const char* name, const char* what) const;  // 0 A, 1 B, 2 C
    void check_ready() const;
    void load_b(const unsigned char* src);
    void compute_float(const unsigned char* a, const unsigned char* b, unsigned char* c);
    void compute_int8(const unsigned char* a, const unsigned char* b, unsigned char* c);

    std::mutex mutex_;
    bool destroyed_ = false;
    const MatmulTypeSpec& spec_;
    int b_layout_;
    int b_quant_type_;
    int ac_quant_type_;
    std::vector<MatmulShape> shapes_;
    size_t current_ = 0;
    const Platform& platform_;
    CoreScheduler& cores_;
    LatencyModel latency_;
    uint32_t core_mask_ = 0;  // RKNN_NPU_CORE_AUTO

    std::array<std::optional<MemoryView>, 3> mems_;
    std::array<MatmulQuant, 3> quant_;  // get_quant_params hands out pointers into these

    // Scratch sized for the largest shape at creation, so a run allocates nothing.
    std::vector<float> a_float_, b_float_, c_float_;
    std::vector<int8_t> b_int8_;  // a TP_NORM int8 B transposed to [K,N]
    std::vector<int32_t> b_zero_points_, c_int_;
    std::vector<int64_t> row_;
};

}  // namespace ezemu::npu
