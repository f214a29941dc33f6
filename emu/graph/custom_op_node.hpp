// Nodes outside the default domain: placeholders for custom operators. They compile (their output shapes come from
// the model's value_info or graph outputs) and fail at run time until an implementation is registered.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/kernel.hpp"

namespace ezemu::graph {

// What a registered custom operator provides. rknn_register_custom_ops will fill the slot in CustomOpKernel;
// nothing registers one yet.
class CustomOpImplementation {
public:
    virtual ~CustomOpImplementation() = default;
    virtual void compute(const kernels::RunContext& ctx) const = 0;
};

class CustomOpKernel final : public kernels::Kernel {
public:
    CustomOpKernel(std::string unregistered_message, std::shared_ptr<const CustomOpImplementation> impl)
        : message_(std::move(unregistered_message)), impl_(std::move(impl)) {}
    void run(const kernels::RunContext& ctx) const override;

private:
    std::string message_;
    std::shared_ptr<const CustomOpImplementation> impl_;  // null until registration exists
};

// The placeholder kernel for `node`, with the output descs taken from `declared` (value_info and graph outputs by
// name). Throws ModelError naming the node when an output's dtype or static shape is unknown.
std::unique_ptr<kernels::Kernel> make_custom_op_placeholder(
    const onnx::Node& node, size_t index, const std::unordered_map<std::string, const onnx::ValueInfo*>& declared,
    std::vector<kernels::ValueDesc>& outputs);

}  // namespace ezemu::graph
