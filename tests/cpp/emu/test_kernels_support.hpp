// Shared by the executor and kernel tests: ONNX models built in memory (no reader involved), running them through
// CompiledModel, seeded random data and tolerance checks.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "graph/compiled_model.hpp"
#include "graph/onnx_model.hpp"

namespace ezemu::testing {

namespace onnx = ezemu::onnx;
using DT = onnx::DataType;

inline onnx::Attribute attr_int(const std::string& name, int64_t v) {
    onnx::Attribute a;
    a.name = name;
    a.type = onnx::AttributeType::Int;
    a.i = v;
    return a;
}
inline onnx::Attribute attr_float(const std::string& name, float v) {
    onnx::Attribute a;
    a.name = name;
    a.type = onnx::AttributeType::Float;
    a.f = v;
    return a;
}
inline onnx::Attribute attr_ints(const std::string& name, std::vector<int64_t> v) {
    onnx::Attribute a;
    a.name = name;
    a.type = onnx::AttributeType::Ints;
    a.ints = std::move(v);
    return a;
}
inline onnx::Attribute attr_floats(const std::string& name, std::vector<float> v) {
    onnx::Attribute a;
    a.name = name;
    a.type = onnx::AttributeType::Floats;
    a.floats = std::move(v);
    return a;
}
inline onnx::Attribute attr_string(const std::string& name, std::string v) {
    onnx::Attribute a;
    a.name = name;
    a.type = onnx::AttributeType::String;
    a.s = std::move(v);
    return a;
}

template <class T>
onnx::Tensor make_tensor(const std::string& name, DT dtype, std::vector<int64_t> dims, const std::vector<T>& values) {
    onnx::Tensor t;
    t.name = name;
    t.data_type = dtype;
    t.dims = std::move(dims);
    t.owned.resize(values.size() * sizeof(T));
    if (!values.empty()) std::memcpy(t.owned.data(), values.data(), t.owned.size());
    return t;
}

inline onnx::Attribute attr_tensor(const std::string& name, onnx::Tensor t) {
    onnx::Attribute a;
    a.name = name;
    a.type = onnx::AttributeType::Tensor;
    a.t = std::move(t);
    return a;
}

inline onnx::ValueInfo value_info(const std::string& name, DT dtype, const std::vector<int64_t>& dims) {
    onnx::ValueInfo v;
    v.name = name;
    v.elem_type = dtype;
    v.has_tensor_type = true;
    v.has_shape = true;
    for (int64_t d : dims) v.dims.push_back(onnx::Dim{d, {}});
    return v;
}

// Builds an onnx::Model field by field.
class ModelBuilder {
public:
    explicit ModelBuilder(int64_t opset = 13) {
        model_ = std::make_shared<onnx::Model>();
        model_->ir_version = 8;
        model_->opset_import.push_back({"", opset});
    }

    ModelBuilder& input(const std::string& name, DT dtype, const std::vector<int64_t>& dims) {
        model_->graph.inputs.push_back(value_info(name, dtype, dims));
        return *this;
    }
    ModelBuilder& output(const std::string& name, DT dtype = DT::Undefined, const std::vector<int64_t>& dims = {}) {
        onnx::ValueInfo v;
        v.name = name;
        v.elem_type = dtype;
        v.has_tensor_type = dtype != DT::Undefined;
        if (dtype != DT::Undefined) v = value_info(name, dtype, dims);
        model_->graph.outputs.push_back(v);
        return *this;
    }
    template <class T>
    ModelBuilder& initializer(const std::string& name, DT dtype, std::vector<int64_t> dims, const std::vector<T>& data) {
        model_->graph.initializers.push_back(make_tensor(name, dtype, std::move(dims), data));
        return *this;
    }
    ModelBuilder& node(const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs,
                       std::vector<onnx::Attribute> attrs = {}, const std::string& name = "",
                       const std::string& domain = "") {
        onnx::Node n;
        n.op_type = op;
        n.inputs = std::move(inputs);
        n.outputs = std::move(outputs);
        n.attributes = std::move(attrs);
        n.name = name;
        n.domain = domain;
        model_->graph.nodes.push_back(std::move(n));
        return *this;
    }
    ModelBuilder& value(const std::string& name, DT dtype, const std::vector<int64_t>& dims) {
        model_->graph.value_info.push_back(value_info(name, dtype, dims));
        return *this;
    }
    onnx::Model& model() { return *model_; }
    std::shared_ptr<onnx::Model> build() const { return model_; }

private:
    std::shared_ptr<onnx::Model> model_;
};

inline std::shared_ptr<const CompiledModel> compile(const ModelBuilder& b, bool reference = false, int threads = 1) {
    CompileOptions o;
    o.reference_kernels = reference;
    o.intra_op_threads = threads;
    return CompiledModel::compile(b.build(), nullptr, o);
}

// Runs with inputs given as raw byte vectors; returns each output's bytes.
inline std::vector<std::vector<uint8_t>> run_bytes(const CompiledModel& m, const std::vector<std::vector<uint8_t>>& in,
                                                   ExecutionState* state = nullptr) {
    std::unique_ptr<ExecutionState> own;
    if (!state) {
        own = m.create_state();
        state = own.get();
    }
    std::vector<const void*> ip;
    for (const auto& v : in) ip.push_back(v.data());
    std::vector<std::vector<uint8_t>> out;
    std::vector<void*> op;
    for (const TensorInfo& t : m.outputs()) out.emplace_back(t.byte_size());
    for (auto& v : out) op.push_back(v.data());
    m.run(*state, ip.data(), op.data());
    return out;
}

template <class T>
std::vector<uint8_t> to_bytes(const std::vector<T>& v) {
    std::vector<uint8_t> b(v.size() * sizeof(T));
    if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());
    return b;
}

template <class T>
std::vector<T> from_bytes(const std::vector<uint8_t>& b) {
    std::vector<T> v(b.size() / sizeof(T));
    if (!v.empty()) std::memcpy(v.data(), b.data(), b.size());
    return v;
}

// Float inputs in, float outputs out.
inline std::vector<std::vector<float>> run_float(const CompiledModel& m, const std::vector<std::vector<float>>& in) {
    std::vector<std::vector<uint8_t>> bytes;
    for (const auto& v : in) bytes.push_back(to_bytes(v));
    std::vector<std::vector<float>> out;
    for (const auto& o : run_bytes(m, bytes)) out.push_back(from_bytes<float>(o));
    return out;
}

inline std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
}

inline int64_t elements(const std::vector<int64_t>& dims) {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    return n;
}

// Every |got - want| <= atol + rtol * |want|; reports the first offender.
template <class A, class B>
::testing::AssertionResult all_close(const std::vector<A>& got, const std::vector<B>& want, double atol = 1e-4,
                                     double rtol = 1e-4) {
    if (got.size() != want.size())
        return ::testing::AssertionFailure() << "size " << got.size() << " != " << want.size();
    for (size_t i = 0; i < got.size(); ++i) {
        const double g = static_cast<double>(got[i]), w = static_cast<double>(want[i]);
        if (std::isnan(g) != std::isnan(w) || std::abs(g - w) > atol + rtol * std::abs(w))
            return ::testing::AssertionFailure() << "at " << i << ": got " << g << ", want " << w;
    }
    return ::testing::AssertionSuccess();
}

// Runs `body` expecting a ModelError whose message contains every one of `parts`.
template <class F>
::testing::AssertionResult throws_model_error(F&& body, const std::vector<std::string>& parts) {
    try {
        body();
    } catch (const ModelError& e) {
        const std::string msg = e.what();
        for (const std::string& p : parts)
            if (msg.find(p) == std::string::npos)
                return ::testing::AssertionFailure() << "message \"" << msg << "\" lacks \"" << p << "\"";
        return ::testing::AssertionSuccess();
    } catch (const std::exception& e) {
        return ::testing::AssertionFailure() << "threw another exception: " << e.what();
    }
    return ::testing::AssertionFailure() << "did not throw";
}

}  // namespace ezemu::testing
