// ZeroCopyBackend: the io binding's own RKNN context, the device layouts of each tensor (anchor-behaviour.md
// §6.2), and the serialised run (rknn_set_io_mem only for what changed, then rknn_run).
#include <cstring>

#include "ezrknn/errors.hpp"
#include "ezrknn/io_binding.hpp"
#include "ezrknn/rknn_library.hpp"
#include "ezrknn/session.hpp"
#include "native_layout.hpp"
#include "rknn_context.hpp"

namespace ezrknn {
namespace {

const char* kind_name(IoKind kind) { return kind == IoKind::Input ? "input" : "output"; }

bool is_4d_float_or_byte(const rknn_tensor_attr& a) {
    return a.n_dims == 4 && (a.type == RKNN_TENSOR_FLOAT32 || a.type == RKNN_TENSOR_FLOAT16 ||
                             a.type == RKNN_TENSOR_INT8 || a.type == RKNN_TENSOR_UINT8);
}

// The logical attr: dense, in the order and type get_inputs()/get_outputs() report.
rknn_tensor_attr onnx_attr(const rknn_tensor_attr& queried, const TensorDesc& desc) {
    rknn_tensor_attr a = queried;
    a.n_dims = static_cast<uint32_t>(desc.shape.size());
    for (size_t d = 0; d < desc.shape.size(); ++d) a.dims[d] = static_cast<uint32_t>(desc.shape[d]);
    a.fmt = desc.shape.size() == 4 ? static_cast<rknn_tensor_format>(desc.format) : RKNN_TENSOR_UNDEFINED;
    if (a.fmt == RKNN_TENSOR_UNDEFINED && desc.shape.size() == 4) a.fmt = RKNN_TENSOR_NCHW;
    a.type = static_cast<rknn_tensor_type>(desc.type);
    a.n_elems = static_cast<uint32_t>(shape_element_count(desc.shape));
    a.size = a.size_with_stride = static_cast<uint32_t>(a.n_elems * element_size(desc.type));
    a.w_stride = 0;
    a.h_stride = 0;
    a.pass_through = 0;
    return a;
}

}  // namespace

ZeroCopyBackend::~ZeroCopyBackend() = default;

std::shared_ptr<ZeroCopyBackend> ZeroCopyBackend::create(std::shared_ptr<Session> session,
                                                         std::unique_ptr<detail::RknnContext> context) {
    std::shared_ptr<ZeroCopyBackend> b(new ZeroCopyBackend());
    b->library_ = RknnLibrary::load(session->runtime().library_path);
    b->session_ = std::move(session);
    b->context_ = std::move(context);
    b->query_layouts();
    return b;
}

const RknnLibrary& ZeroCopyBackend::library() const { return *library_; }
rknn_context ZeroCopyBackend::handle() const { return context_->handle(); }

size_t ZeroCopyBackend::count(IoKind kind) const {
    return kind == IoKind::Input ? inputs_.size() : outputs_.size();
}

size_t ZeroCopyBackend::index_of(IoKind kind, const std::string& name) const {
    return kind == IoKind::Input ? session_->input_index(name) : session_->output_index(name);
}

const TensorDesc& ZeroCopyBackend::desc(IoKind kind, size_t index) const {
    return kind == IoKind::Input ? session_->inputs().at(index) : session_->outputs().at(index);
}

const rknn_tensor_attr& ZeroCopyBackend::attr(IoKind kind, size_t index, ValueLayout layout) const {
    const TensorLayouts& t = (kind == IoKind::Input ? inputs_ : outputs_).at(index);
    switch (layout) {
        case ValueLayout::Onnx: return t.onnx;
        case ValueLayout::Nhwc: return t.nhwc;
        case ValueLayout::Native: break;
    }
    return t.native;
}

bool ZeroCopyBackend::logical_nhwc(IoKind kind, size_t index) const {
    return (kind == IoKind::Input ? inputs_ : outputs_).at(index).logical_nhwc;
}

void ZeroCopyBackend::query_layouts() {
    const RknnFunctions& fn = library_->fn();
    const bool blocked_mode = session_->options().zero_copy_layout == ZeroCopyLayout::Native;
    const bool dynamic = session_->dynamic_shapes();
    auto query = [&](rknn_query_cmd cmd, uint32_t index, rknn_tensor_attr& out) {
        out = {};
        out.index = index;
        return fn.query(handle(), cmd, &out, sizeof out) == RKNN_SUCC;
    };
    for (IoKind kind : {IoKind::Input, IoKind::Output}) {
        const bool input = kind == IoKind::Input;
        const size_t n = input ? session_->inputs().size() : session_->outputs().size();
        std::vector<TensorLayouts>& layouts = input ? inputs_ : outputs_;
        layouts.resize(n);
        for (size_t i = 0; i < n; ++i) {
            const uint32_t idx = static_cast<uint32_t>(i);
            const TensorDesc& d = desc(kind, i);
            TensorLayouts& t = layouts[i];
            rknn_tensor_attr queried{};
            if (!query(input ? RKNN_QUERY_INPUT_ATTR : RKNN_QUERY_OUTPUT_ATTR, idx, queried)) {
                throw Error(std::string("rknn_query of ") + kind_name(kind) + " attr " + std::to_string(i) +
                            " failed on the io binding context");
            }
            t.onnx = onnx_attr(queried, d);
            t.logical_nhwc = d.shape.size() == 4 && d.format == TensorFormat::NHWC;
            // Vendor runtimes report bogus native shapes for non-4-D tensors (anchor §6.2): keep them logical.
            // A dynamic-shape model answers only the CURRENT_NATIVE_* queries (rknn-api.md §7.12): the context is
            // at its first shape set, which is the one the binding serves, and it has no NHWC variant to query.
            rknn_tensor_attr native{};
            const rknn_query_cmd native_cmd =
                dynamic ? (input ? RKNN_QUERY_CURRENT_NATIVE_INPUT_ATTR : RKNN_QUERY_CURRENT_NATIVE_OUTPUT_ATTR)
                        : (input ? RKNN_QUERY_NATIVE_INPUT_ATTR : RKNN_QUERY_NATIVE_OUTPUT_ATTR);
            const bool have_native =
                d.shape.size() == 4 && query(native_cmd, idx, native) && element_type_from_rknn(native.type) == d.type;
            t.native = have_native ? native : t.onnx;
            rknn_tensor_attr nhwc{};
            const bool have_nhwc =
                have_native && !dynamic && is_4d_float_or_byte(t.onnx) &&
                query(input ? RKNN_QUERY_NATIVE_NHWC_INPUT_ATTR : RKNN_QUERY_NATIVE_NHWC_OUTPUT_ATTR, idx, nhwc) &&
                nhwc.n_dims == 4 && nhwc.fmt == RKNN_TENSOR_NHWC && element_type_from_rknn(nhwc.type) == d.type;
            t.nhwc = have_nhwc ? nhwc : t.native;
            if (!blocked_mode) {
                t.native = t.nhwc;
            } else if (input && t.native.fmt == RKNN_TENSOR_NC1HWC2) {
                t.native.pass_through = 1;  // NC1HWC2 input data is taken as is (rknn-api.md §7.7)
            }
        }
    }
    bound_inputs_.assign(inputs_.size(), {});
    bound_outputs_.assign(outputs_.size(), {});
}

void ZeroCopyBackend::bind_mem(IoKind kind, size_t index, const std::shared_ptr<DeviceTensor>& value) {
    std::weak_ptr<DeviceTensor>& bound = (kind == IoKind::Input ? bound_inputs_ : bound_outputs_)[index];
    rknn_tensor_mem* mem = value->import_into(shared_from_this());
    if (bound.lock() == value) return;  // rknn_set_io_mem holds until replaced (rknn-api.md §7.10)
    rknn_tensor_attr a = attr(kind, index, value->layout());
    a.index = static_cast<uint32_t>(index);
    auto set_io_mem = library_->require(&RknnFunctions::set_io_mem, "rknn_set_io_mem",
                                        session_->runtime().api_version);
    if (int ret = set_io_mem(handle(), mem, &a); ret != RKNN_SUCC) {
        bound.reset();
        throw Error(library_->error_message_for_index("rknn_set_io_mem", kind_name(kind), index, ret), ret);
    }
    bound = value;
}

void ZeroCopyBackend::run(const std::vector<std::shared_ptr<DeviceTensor>>& inputs,
                          const std::vector<std::shared_ptr<DeviceTensor>>& outputs) {
    std::lock_guard lock(run_mutex_);
    for (size_t i = 0; i < inputs.size(); ++i) {
        bind_mem(IoKind::Input, i, inputs[i]);
        inputs[i]->sync_to_device();  // data written through data_ptr() reaches the NPU
    }
    for (size_t o = 0; o < outputs.size(); ++o) bind_mem(IoKind::Output, o, outputs[o]);
    if (int ret = library_->fn().run(handle(), nullptr); ret != RKNN_SUCC) {
        throw Error(library_->error_message("rknn_run", ret), ret);
    }
    const std::shared_ptr<ZeroCopyBackend> self = shared_from_this();
    for (const auto& out : outputs) out->mark_written(self);
}

}  // namespace ezrknn
