// What LSTM and GRU share: the attributes (direction, layout, activations with alpha/beta, clip), the checks of
// X, W, R, B, sequence_lens and initial_h against each other, and a run frame that gives the cell float32 views of
// every input and output (float16 ones are converted in scratch) and the weights transposed for row updates.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/kernel.hpp"

namespace ezemu::kernels::recurrent {

enum class ActivationKind {
    Sigmoid,
    Tanh,
    Relu,
    HardSigmoid,
    Affine,
    LeakyRelu,
    ThresholdedRelu,
    ScaledTanh,
    Elu,
    Softsign,
    Softplus,
};

struct Activation {
    ActivationKind kind = ActivationKind::Sigmoid;
    float alpha = 0.0f;
    float beta = 0.0f;
    // v[i] = f(v[i]) for n elements.
    void apply(float* v, int64_t n) const;
};

// Clamps v to [-clip, clip]; clip <= 0 means no clipping.
void clip_values(float* v, int64_t n, float clip);

// out[0, n) += a * row[0, n): the building block of every matrix product here (vectorizes; no reduction).
inline void axpy(float a, const float* row, float* out, int64_t n) {
    for (int64_t j = 0; j < n; ++j) out[j] += a * row[j];
}

// c[m, n] += a[m, k] · b[k, n], row-major with the given row strides: oneDNN's sgemm (it picks the ISA at run
// time), or plain axpy loops when `reference`.
void gemm_accumulate(bool reference, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                     int64_t ldb, float* c, int64_t ldc);

// Inputs common to LSTM and GRU, by position.
enum Input : size_t { kX = 0, kW = 1, kR = 2, kB = 3, kSeqLens = 4, kInitialH = 5 };

struct RecurrentConfig {
    int64_t seq = 0, batch = 0, input = 0, hidden = 0, dirs = 1;
    int64_t gates = 0;      // 4 for LSTM (i, o, f, c), 3 for GRU (z, r, h)
    bool batch_first = false;  // layout = 1 (opset 14)
    bool reverse_only = false; // direction = "reverse"
    float clip = 0.0f;
    std::vector<Activation> activations;  // per_direction for each direction, forward first
    size_t per_direction = 0;
    bool fp16 = false;
    bool reference = false;  // BuildOptions::reference_kernels: no oneDNN

    int64_t gate_width() const { return gates * hidden; }
    // Element offsets of x[t, b, 0], y[t, d, b, 0] and state[d, b, 0] in the tensors' layout.
    int64_t x_row(int64_t t, int64_t b) const { return batch_first ? b * seq + t : t * batch + b; }
    int64_t x_offset(int64_t t, int64_t b) const { return x_row(t, b) * input; }
    int64_t y_offset(int64_t t, int64_t d, int64_t b) const {
        return (batch_first ? (b * seq + t) * dirs + d : (t * dirs + d) * batch + b) * hidden;
    }
    int64_t state_offset(int64_t d, int64_t b) const { return (batch_first ? b * dirs + d : d * batch + b) * hidden; }
    bool reverse(int64_t d) const { return d == 1 || reverse_only; }
};

// Checks the attributes and the inputs X..initial_h, and declares Y (output 0) and Y_h (output 1) and, when
// `state_outputs` is 2, Y_c (output 2). default_activations are the ONNX defaults of one direction.
RecurrentConfig configure(KernelContext& ctx, int64_t gates, const std::vector<ActivationKind>& default_activations,
                          size_t state_outputs);

// Checks an optional input holding one tensor per direction and batch entry, shaped like initial_h.
void check_state_input(const KernelContext& ctx, const RecurrentConfig& c, size_t input);

// The float32 data a cell works on during one run.
struct Frame {
    const float* x = nullptr;
    const float* bias = nullptr;       // [dirs, 2 * gate_width] (W biases then R biases) or nullptr
    const int32_t* seq_lens = nullptr; // [batch] or nullptr
    const float* initial_h = nullptr;
    const float* initial_c = nullptr;  // LSTM
    const float* peephole = nullptr;   // LSTM, [dirs, 3 * hidden]
    const float* wt = nullptr;         // [dirs, input, gate_width]: W transposed
    const float* rt = nullptr;         // [dirs, hidden, gate_width]: R transposed
    float* y = nullptr;                // outputs, nullptr when omitted
    float* y_h = nullptr;
    float* y_c = nullptr;
    float* work = nullptr;             // the cell's work memory, laid out as DirectionView says
};

// One direction's weights and bias, and the cell's work memory: the input projections of every step
// [seq * batch, gate_width], one step's gates [gate_width], h [hidden] and one more row [hidden] (the cell state
// for LSTM, a temporary for GRU).
struct DirectionView {
    float* xw = nullptr;
    float* gates = nullptr;
    float* h = nullptr;
    float* extra = nullptr;
    const float* wt = nullptr;    // [input, gate_width]
    const float* rt = nullptr;    // [hidden, gate_width]
    const float* bias = nullptr;  // [2 * gate_width] or nullptr
};

// Base of LSTM and GRU: builds the Frame and runs each direction. Subclasses give the cell.
class RecurrentKernel : public Kernel {
public:
    RecurrentKernel(const KernelContext& ctx, RecurrentConfig config);

    size_t scratch_bytes() const override { return static_cast<size_t>(scratch_floats_) * sizeof(float); }
    void run(const RunContext& ctx) const override;

protected:
    // Runs direction d over the whole sequence, writing its part of Y, Y_h and Y_c.
    virtual void run_direction(const Frame& f, int64_t d) const = 0;

    // Steps batch row b takes (sequence_lens, checked at run time) and the time index of step s.
    int64_t length(const Frame& f, int64_t b) const;
    int64_t time_index(int64_t d, int64_t len, int64_t s) const { return config_.reverse(d) ? len - 1 - s : s; }
    // Direction d's slices of the frame.
    DirectionView direction_view(const Frame& f, int64_t d) const;

    RecurrentConfig config_;

private:
    struct Slot {
        int64_t offset = -1;  // in floats, into scratch; -1 when not needed
        int64_t count = 0;
    };
    int64_t reserve(int64_t count);

    std::vector<float> wt_const_, rt_const_;  // transposed at load time when W / R are constants
    std::vector<Slot> inputs_;                // float16 inputs converted to float32 in scratch
    std::vector<Slot> outputs_;               // float16 outputs computed in float32 in scratch
    std::vector<int64_t> output_counts_;
    Slot wt_, rt_, work_;
    int64_t scratch_floats_ = 0;
};

}  // namespace ezemu::kernels::recurrent
