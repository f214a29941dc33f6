#include "npu/plugin_op_node.hpp"

#include <cstring>
#include <mutex>
#include <optional>
#include <unordered_set>

#include "graph/compiled_model.hpp"
#include "numerics/fp16.hpp"
#include "npu/c_string.hpp"
#include "npu/rknn_error.hpp"
#include "npu/tensor_attrs.hpp"

namespace ezemu::npu {
namespace {

using onnx::DataType;

// Every live node, so rknn_custom_op_get_op_attr can tell a real op context from garbage without touching it.
std::mutex& live_mutex()
{
    static std::mutex m;
    return m;
}
std::unordered_set<const PluginOpNode*>& live_nodes()
{
    static std::unordered_set<const PluginOpNode*> nodes;
    return nodes;
}

// The type a tensor of `dtype` has in the plugin's hands: float32 for every float (§7.13), int64 stays int64.
std::optional<rknn_tensor_type> plugin_type_for(DataType dtype)
{
    if (dtype == DataType::Float16) return RKNN_TENSOR_FLOAT32;
    return rknn_type_for(dtype, /*exact_fp32=*/true);
}

// The RKNN type of an attribute tensor's elements: its own dtype, float16 included.
std::optional<rknn_tensor_type> attribute_type_for(DataType dtype) { return rknn_type_for(dtype, /*exact_fp32=*/true); }

template <typename T>
std::vector<uint8_t> bytes_of(const T* values, size_t count)
{
    std::vector<uint8_t> bytes(count * sizeof(T));
    if (count) std::memcpy(bytes.data(), values, bytes.size());
    return bytes;
}

}  // namespace

PluginOpNode::PluginOpNode(std::shared_ptr<const rknn_custom_op> op, graph::CustomOpSite site)
    : op_(std::move(op)), site_(std::move(site))
{
    context_.target = RKNN_TARGET_TYPE_CPU;
    context_.internal_ctx = static_cast<rknn_custom_op_interal_context>(reinterpret_cast<uintptr_t>(this));
    in_ports_.resize(site_.inputs.size());
    inputs_.resize(site_.inputs.size());
    out_ports_.resize(site_.outputs.size());
    outputs_.resize(site_.outputs.size());
    for (size_t i = 0; i < site_.inputs.size(); ++i)
        fill_port(site_.input_names[i], site_.inputs[i], static_cast<uint32_t>(i), in_ports_[i], inputs_[i]);
    for (size_t i = 0; i < site_.outputs.size(); ++i)
        fill_port(site_.output_names[i], site_.outputs[i], static_cast<uint32_t>(i), out_ports_[i], outputs_[i]);
    std::lock_guard<std::mutex> lock(live_mutex());
    live_nodes().insert(this);
}

PluginOpNode::~PluginOpNode()
{
    std::lock_guard<std::mutex> lock(live_mutex());
    live_nodes().erase(this);
}

void PluginOpNode::fill_port(const std::string& name, const kernels::ValueDesc& desc, uint32_t index, Port& port,
                             rknn_custom_op_tensor& tensor)
{
    std::memset(&tensor, 0, sizeof tensor);
    tensor.attr.index = index;
    tensor.attr.fmt = RKNN_TENSOR_UNDEFINED;
    tensor.attr.qnt_type = RKNN_TENSOR_QNT_NONE;
    tensor.attr.scale = 1.0f;
    tensor.mem.fd = -1;
    copy_c_string(tensor.attr.name, sizeof tensor.attr.name, name);
    if (name.empty() || desc.dtype == DataType::Undefined) return;  // an absent optional tensor: all zeros

    const std::string what = site_.label + " (custom op '" + op_->op_type + "'): tensor '" + name + "'";
    const auto type = plugin_type_for(desc.dtype);
    if (!type) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, what + " has dtype " + onnx::data_type_name(desc.dtype) +
                                                    ", which a custom op cannot receive (RKNN has no such type)");
    }
    if (desc.shape.size() > RKNN_MAX_DIMS) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, what + " has " + std::to_string(desc.shape.size()) +
                                                    " dims, more than RKNN_MAX_DIMS (" +
                                                    std::to_string(RKNN_MAX_DIMS) + ")");
    }
    const size_t elements = static_cast<size_t>(desc.element_count());
    const size_t plugin_bytes = elements * (desc.dtype == DataType::Float16 ? sizeof(float) : onnx::data_type_size(desc.dtype));
    if (plugin_bytes > UINT32_MAX)
        throw RknnError(RKNN_ERR_PARAM_INVALID, what + " needs " + std::to_string(plugin_bytes) +
                                                    " bytes, more than rknn_tensor_attr.size can hold");
    port.present = true;
    port.from_half = desc.dtype == DataType::Float16;
    port.graph_bytes = desc.byte_size();
    // At least one aligned block, so an empty tensor still has a real address. Zeroed: init sees defined data.
    port.buffer = kernels::AlignedBuffer(kernels::align_up(plugin_bytes ? plugin_bytes : 1));
    std::memset(port.buffer.data(), 0, port.buffer.size());

    tensor.attr.n_dims = static_cast<uint32_t>(desc.shape.size());
    for (size_t d = 0; d < desc.shape.size(); ++d) tensor.attr.dims[d] = static_cast<uint32_t>(desc.shape[d]);
    tensor.attr.n_elems = static_cast<uint32_t>(elements);
    tensor.attr.size = static_cast<uint32_t>(plugin_bytes);
    tensor.attr.size_with_stride = tensor.attr.size;
    tensor.attr.fmt = desc.shape.size() == 4 ? RKNN_TENSOR_NCHW : RKNN_TENSOR_UNDEFINED;
    tensor.attr.type = *type;
    tensor.mem.virt_addr = port.buffer.data();
    tensor.mem.size = tensor.attr.size;

    if (desc.is_constant()) {
        port.constant = true;
        if (port.from_half)
            numerics::halves_to_floats(static_cast<const uint16_t*>(desc.data),
                                       reinterpret_cast<float*>(port.buffer.data()), elements);
        else if (port.graph_bytes)
            std::memcpy(port.buffer.data(), desc.data, port.graph_bytes);
    }
}

int PluginOpNode::init()
{
    if (!op_->init) return 0;
    return op_->init(&context_, inputs_.data(), static_cast<uint32_t>(inputs_.size()), outputs_.data(),
                     static_cast<uint32_t>(outputs_.size()));
}

void PluginOpNode::callback_failed(const char* callback, int result) const
{
    throw RunError("custom op '" + std::string(op_->op_type) + "' at " + site_.label + ": its " + callback +
                   " callback returned " + std::to_string(result) + " (0 is success); the run failed");
}

void PluginOpNode::compute(const kernels::RunContext& ctx)
{
    if (destroyed_) throw RunError("custom op '" + std::string(op_->op_type) + "' at " + site_.label +
                                   " was destroyed with its context");
    for (size_t i = 0; i < in_ports_.size(); ++i) {
        Port& port = in_ports_[i];
        if (!port.present || port.constant || !ctx.inputs[i]) continue;
        if (port.from_half)
            numerics::halves_to_floats(static_cast<const uint16_t*>(ctx.inputs[i]),
                                       reinterpret_cast<float*>(port.buffer.data()), inputs_[i].attr.n_elems);
        else
            std::memcpy(port.buffer.data(), ctx.inputs[i], port.graph_bytes);
    }
    const uint32_t n_in = static_cast<uint32_t>(inputs_.size()), n_out = static_cast<uint32_t>(outputs_.size());
    if (op_->prepare) {
        const int result = op_->prepare(&context_, inputs_.data(), n_in, outputs_.data(), n_out);
        if (result != 0) callback_failed("prepare", result);
    }
    const int result = op_->compute(&context_, inputs_.data(), n_in, outputs_.data(), n_out);
    if (result != 0) callback_failed("compute", result);
    for (size_t i = 0; i < out_ports_.size(); ++i) {
        Port& port = out_ports_[i];
        if (!port.present || !ctx.outputs[i]) continue;
        if (port.from_half)
            numerics::floats_to_halves(reinterpret_cast<const float*>(port.buffer.data()),
                                       static_cast<uint16_t*>(ctx.outputs[i]), outputs_[i].attr.n_elems);
        else
            std::memcpy(ctx.outputs[i], port.buffer.data(), port.graph_bytes);
    }
}

void PluginOpNode::destroy() noexcept
{
    if (destroyed_) return;
    destroyed_ = true;
    if (op_->destroy) op_->destroy(&context_);
}

bool PluginOpNode::read_attribute(const char* name, rknn_custom_op_attr& out)
{
    const std::string key(name);
    auto cached = attributes_.find(key);
    if (cached == attributes_.end()) {
        const onnx::Attribute* a = site_.node->find_attribute(key);
        const std::string who = site_.label + " (custom op '" + op_->op_type + "')";
        if (!a) return false;
        CachedAttribute value;
        switch (a->type) {
        case onnx::AttributeType::Int:
            value = {RKNN_TENSOR_INT64, 1, bytes_of(&a->i, 1)};
            break;
        case onnx::AttributeType::Ints:
            value = {RKNN_TENSOR_INT64, static_cast<uint32_t>(a->ints.size()), bytes_of(a->ints.data(), a->ints.size())};
            break;
        case onnx::AttributeType::Float:
            value = {RKNN_TENSOR_FLOAT32, 1, bytes_of(&a->f, 1)};
            break;
        case onnx::AttributeType::Floats:
            value = {RKNN_TENSOR_FLOAT32, static_cast<uint32_t>(a->floats.size()),
                     bytes_of(a->floats.data(), a->floats.size())};
            break;
        case onnx::AttributeType::String:
            value = {RKNN_TENSOR_UINT8, static_cast<uint32_t>(a->s.size()), bytes_of(a->s.data(), a->s.size())};
            value.bytes.push_back(0);  // a terminator beyond n_elems, for plugins that treat it as a C string
            break;
        case onnx::AttributeType::Tensor: {
            const auto type = attribute_type_for(a->t.data_type);
            if (!type || a->t.external)
                throw RknnError(RKNN_ERR_PARAM_INVALID, who + ": attribute '" + key + "' is a " +
                                                            onnx::data_type_name(a->t.data_type) +
                                                            " tensor, which has no RKNN type");
            value = {*type, static_cast<uint32_t>(a->t.element_count()), bytes_of(a->t.data(), a->t.byte_size())};
            break;
        }
        default:
            throw RknnError(RKNN_ERR_PARAM_INVALID,
                            who + ": attribute '" + key +
                                "' is of a kind (graph, strings, tensors) that rknn_custom_op_attr cannot carry");
        }
        cached = attributes_.emplace(key, std::move(value)).first;
    }
    copy_c_string(out.name, sizeof out.name, key);
    out.dtype = cached->second.dtype;
    out.n_elems = cached->second.count;
    out.data = cached->second.bytes.empty() ? nullptr : cached->second.bytes.data();
    return true;
}

PluginOpNode::Lookup::Lookup(const rknn_custom_op_context* op_ctx)
{
    live_mutex().lock();
    if (!op_ctx) return;
    const auto* candidate = reinterpret_cast<const PluginOpNode*>(static_cast<uintptr_t>(op_ctx->internal_ctx));
    if (live_nodes().count(candidate)) node_ = const_cast<PluginOpNode*>(candidate);
}

PluginOpNode::Lookup::~Lookup() { live_mutex().unlock(); }

}  // namespace ezemu::npu
