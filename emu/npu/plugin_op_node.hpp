// One model node run by a custom-op plugin on one context (rknn-api.md §7.13): the op's callbacks, the node's
// rknn_custom_op_context (whose internal_ctx leads back here) and the tensors the plugin sees. The tensors' buffers
// are allocated once, when the op is registered; each run copies the node's inputs in (float16 widened to float32)
// and the outputs back out.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "graph/custom_op_node.hpp"
#include "kernels/aligned_buffer.hpp"
#include "rknn/rknn_custom_op.h"

namespace ezemu::npu {

class PluginOpNode final : public graph::CustomOpImplementation {
public:
    // Builds the tensors of `site` for `op` (a copy the registry keeps alive). Throws RknnError(PARAM_INVALID) for
    // a tensor the custom-op contract cannot carry (a dtype without an RKNN type, more than RKNN_MAX_DIMS dims).
    PluginOpNode(std::shared_ptr<const rknn_custom_op> op, graph::CustomOpSite site);
    ~PluginOpNode() override;
    PluginOpNode(const PluginOpNode&) = delete;
    PluginOpNode& operator=(const PluginOpNode&) = delete;

    // Calls the op's init (when it has one) and returns its result.
    int init();
    // prepare (when present) then compute; a non-zero result throws RunError naming op, node and value.
    void compute(const kernels::RunContext& ctx) override;
    // Calls destroy (when present) once; later calls do nothing and later runs fail.
    void destroy() noexcept;

    const graph::CustomOpSite& site() const { return site_; }
    const char* op_type() const { return op_->op_type; }

    // The node's ONNX attribute `name` for rknn_custom_op_get_op_attr: data stays valid as long as this node.
    // False (and `out` untouched) when the node has no such attribute; throws RknnError(PARAM_INVALID) when its
    // kind has no RKNN form.
    bool read_attribute(const char* name, rknn_custom_op_attr& out);

    // The live node whose op context carries `internal_ctx`, with a lock held that keeps it alive; null when none.
    class Lookup;

private:
    struct Port {
        bool present = false;
        bool from_half = false;  // the graph tensor is float16; the plugin's buffer float32
        bool constant = false;   // an initializer: copied once at registration
        size_t graph_bytes = 0;
        kernels::AlignedBuffer buffer;
    };
    struct CachedAttribute {
        rknn_tensor_type dtype = RKNN_TENSOR_FLOAT32;
        uint32_t count = 0;
        std::vector<uint8_t> bytes;
    };

    void fill_port(const std::string& name, const kernels::ValueDesc& desc, uint32_t index, Port& port,
                   rknn_custom_op_tensor& tensor);
    [[noreturn]] void callback_failed(const char* callback, int result) const;

    std::shared_ptr<const rknn_custom_op> op_;
    graph::CustomOpSite site_;
    rknn_custom_op_context context_{};
    std::vector<Port> in_ports_, out_ports_;
    std::vector<rknn_custom_op_tensor> inputs_, outputs_;
    std::map<std::string, CachedAttribute> attributes_;  // node-stable: data pointers handed out stay valid
    bool destroyed_ = false;
};

// Finds a live PluginOpNode by its op context and keeps every node alive while the lookup exists.
class PluginOpNode::Lookup {
public:
    explicit Lookup(const rknn_custom_op_context* op_ctx);
    ~Lookup();
    Lookup(const Lookup&) = delete;
    Lookup& operator=(const Lookup&) = delete;
    PluginOpNode* node() const { return node_; }

private:
    PluginOpNode* node_ = nullptr;
};

}  // namespace ezemu::npu
