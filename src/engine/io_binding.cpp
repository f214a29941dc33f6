// IoBinding: what one run_with_iobinding reads and writes, checked when bound (anchor-behaviour.md §6.5), plus
// the parsing of the layout and mem_flags arguments.
#include "ezrknn/io_binding.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "ezrknn/errors.hpp"
#include "ezrknn/session.hpp"
#include "device_value_checks.hpp"
#include "native_layout.hpp"

namespace ezrknn {
namespace {

void check_room(const DeviceTensor& value, const rknn_tensor_attr& want, const std::string& name) {
    const size_t need = detail::device_bytes(want);
    if (value.device_bytes() < need) {
        throw InvalidArgument("OrtValue buffer is too small for bound tensor '" + name + "': required " +
                              std::to_string(need) + " bytes, got " + std::to_string(value.device_bytes()) +
                              " bytes");
    }
}

std::string trimmed_lower(const std::string& text) {
    size_t b = 0, e = text.size();
    while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
    std::string out = text.substr(b, e - b);
    for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return out;
}

// Strides a 4-D NCHW/NHWC attr leaves at 0 mean its own extents.
void inferred_strides(const rknn_tensor_attr& a, uint32_t& w, uint32_t& h) {
    w = a.w_stride;
    h = a.h_stride;
    if (a.n_dims != 4) return;
    if (a.fmt == RKNN_TENSOR_NHWC) {
        if (w == 0) w = a.dims[2];
        if (h == 0) h = a.dims[1];
    } else if (a.fmt == RKNN_TENSOR_NCHW) {
        if (w == 0) w = a.dims[3];
        if (h == 0) h = a.dims[2];
    }
}

// Every difference between two device layouts, as "fmt expected 1, got 2" items; pass_through, name and index
// are not compared, so a native output can feed a native input (anchor §6.5).
std::string layout_differences(const rknn_tensor_attr& want, const rknn_tensor_attr& got) {
    std::string out;
    auto item = [&](const std::string& what, auto expected, auto actual) {
        if (expected == actual) return;
        out += (out.empty() ? "" : "; ") + what + " expected " + std::to_string(expected) + ", got " +
               std::to_string(actual);
    };
    item("type", static_cast<int>(want.type), static_cast<int>(got.type));
    item("n_dims", want.n_dims, got.n_dims);
    for (uint32_t d = 0; d < std::max(want.n_dims, got.n_dims) && d < RKNN_MAX_DIMS; ++d) {
        item("dims[" + std::to_string(d) + "]", want.dims[d], got.dims[d]);
    }
    item("fmt", static_cast<int>(want.fmt), static_cast<int>(got.fmt));
    item("n_elems", want.n_elems, got.n_elems);
    item("size", want.size, got.size);
    item("size_with_stride", want.size_with_stride, got.size_with_stride);
    const bool strided = (want.n_dims == 4 && (want.fmt == RKNN_TENSOR_NCHW || want.fmt == RKNN_TENSOR_NHWC)) ||
                         (got.n_dims == 4 && (got.fmt == RKNN_TENSOR_NCHW || got.fmt == RKNN_TENSOR_NHWC));
    if (strided) {
        uint32_t ww, wh, gw, gh;
        inferred_strides(want, ww, wh);
        inferred_strides(got, gw, gh);
        item("w_stride", ww, gw);
        item("h_stride", wh, gh);
    } else if (want.fmt == RKNN_TENSOR_NC1HWC2) {
        item("w_stride", want.w_stride, got.w_stride);
    }
    item("qnt_type", static_cast<int>(want.qnt_type), static_cast<int>(got.qnt_type));
    if (want.qnt_type == RKNN_TENSOR_QNT_NONE) return out;  // no quantization: fl/zp/scale mean nothing
    item("fl", static_cast<int>(want.fl), static_cast<int>(got.fl));
    item("zp", want.zp, got.zp);
    if (!(want.scale == got.scale || (std::isnan(want.scale) && std::isnan(got.scale)))) {
        item("scale", static_cast<double>(want.scale), static_cast<double>(got.scale));
    }
    return out;
}

}  // namespace

ValueLayout parse_value_layout(const std::string& text) {
    const std::string t = trimmed_lower(text);
    if (t == "onnx") return ValueLayout::Onnx;
    if (t == "nhwc") return ValueLayout::Nhwc;
    if (t == "native") return ValueLayout::Native;
    throw InvalidArgument("Unknown OrtValue layout: " + text + ", expected 'onnx', 'nhwc' or 'native'");
}

const char* value_layout_name(ValueLayout layout) {
    switch (layout) {
        case ValueLayout::Onnx: return "onnx";
        case ValueLayout::Nhwc: return "nhwc";
        case ValueLayout::Native: break;
    }
    return "native";
}

uint64_t parse_mem_flags(const std::string& text) {
    const std::string t = trimmed_lower(text);
    if (t == "default") return RKNN_FLAG_MEMORY_FLAGS_DEFAULT;
    if (t == "cacheable") return RKNN_FLAG_MEMORY_CACHEABLE;
    if (t == "non_cacheable" || t == "non-cacheable" || t == "uncached") return RKNN_FLAG_MEMORY_NON_CACHEABLE;
    if (t == "try_sram" || t == "sram") return RKNN_FLAG_MEMORY_TRY_ALLOC_SRAM;
    throw InvalidArgument("mem_flags must be one of: default, cacheable, non_cacheable, try_sram (got '" + text +
                          "')");
}

uint64_t check_mem_flags(int64_t flags) {
    constexpr int64_t known =
        RKNN_FLAG_MEMORY_CACHEABLE | RKNN_FLAG_MEMORY_NON_CACHEABLE | RKNN_FLAG_MEMORY_TRY_ALLOC_SRAM;
    if (flags < 0 || (flags & ~known) != 0) {
        throw InvalidArgument("mem_flags " + std::to_string(flags) +
                              " has unknown bits; use RKNN_FLAG_MEMORY_CACHEABLE (1), _NON_CACHEABLE (2), "
                              "_TRY_ALLOC_SRAM (4)");
    }
    if ((flags & RKNN_FLAG_MEMORY_CACHEABLE) && (flags & RKNN_FLAG_MEMORY_NON_CACHEABLE)) {
        throw InvalidArgument("mem_flags cannot be both cacheable and non_cacheable");
    }
    return static_cast<uint64_t>(flags);
}

IoBinding::IoBinding(std::shared_ptr<ZeroCopyBackend> backend)
    : backend_(std::move(backend)),
      inputs_(backend_->count(IoKind::Input)),
      outputs_(backend_->count(IoKind::Output)) {}

void IoBinding::bind_input(const std::string& name, const std::shared_ptr<DeviceTensor>& value) {
    if (!value) throw InvalidArgument("bind_ortvalue_input requires an RKNN OrtValue");
    const size_t i = backend_->index_of(IoKind::Input, name);
    const TensorDesc& d = backend_->desc(IoKind::Input, i);
    const std::string what = "OrtValue for input '" + d.name + "'";
    detail::check_shape_and_type("OrtValue", IoKind::Input, d, value->type(), value->shape());
    const rknn_tensor_attr& want = backend_->attr(IoKind::Input, i, value->layout());
    if (std::string diff = layout_differences(want, value->attr()); !diff.empty()) {
        throw InvalidArgument(what + " native zero-copy layout mismatch: " + diff +
                              ". The OrtValue buffer was written using a different RKNN native layout than this model "
                              "input expects (layout '" + value_layout_name(value->layout()) +
                              "'). Create the OrtValue with this consumer session/name/io_kind, or use a "
                              "copy/transpose path instead of binding the dmabuf directly.");
    }
    check_room(*value, want, d.name);
    value->import_into(backend_);  // a buffer without a dma-buf fd fails here, before any run
    inputs_[i] = value;
}

void IoBinding::bind_output(const std::string& name, const std::shared_ptr<DeviceTensor>& value) {
    if (!value) throw InvalidArgument("bind_ortvalue_output requires an RKNN OrtValue");
    const size_t o = backend_->index_of(IoKind::Output, name);
    const TensorDesc& d = backend_->desc(IoKind::Output, o);
    detail::check_shape_and_type("OrtValue", IoKind::Output, d, value->type(), value->shape());
    // An output buffer takes the layout the run writes in its declared `layout`, if it is large enough.
    const rknn_tensor_attr& want = backend_->attr(IoKind::Output, o, value->layout());
    check_room(*value, want, d.name);
    value->import_into(backend_);
    value->adopt(want, d.shape, d.type, backend_->logical_nhwc(IoKind::Output, o));
    if (!outputs_[o] && std::find(output_order_.begin(), output_order_.end(), o) == output_order_.end()) {
        output_order_.push_back(o);
    }
    outputs_[o] = value;
}

std::shared_ptr<DeviceTensor> IoBinding::bind_new_output(const std::string& name, ValueLayout layout,
                                                         uint64_t mem_flags, std::optional<ElementType> type,
                                                         const std::optional<std::vector<int64_t>>& shape) {
    auto value = DeviceTensor::for_tensor(backend_, IoKind::Output, name, layout, mem_flags, type, shape);
    bind_output(name, value);
    return value;
}

std::vector<std::shared_ptr<DeviceTensor>> IoBinding::outputs() const {
    std::vector<std::shared_ptr<DeviceTensor>> out;
    for (size_t o : output_order_) {
        if (outputs_[o]) out.push_back(outputs_[o]);
    }
    return out;
}

void IoBinding::clear_inputs() { std::fill(inputs_.begin(), inputs_.end(), nullptr); }

void IoBinding::clear_outputs() {
    std::fill(outputs_.begin(), outputs_.end(), nullptr);
    output_order_.clear();
}

void IoBinding::synchronize_inputs() {
    for (auto& v : inputs_) {
        if (v) v->sync_to_device();
    }
}

void IoBinding::synchronize_outputs() {
    for (auto& v : outputs_) {
        if (v) v->sync_from_device();
    }
}

void IoBinding::run() {
    for (size_t i = 0; i < inputs_.size(); ++i) {
        if (!inputs_[i]) {
            throw InvalidArgument("All model inputs must be bound before run_with_iobinding; input '" +
                                  backend_->desc(IoKind::Input, i).name + "' is not");
        }
    }
    for (size_t o = 0; o < outputs_.size(); ++o) {
        if (!outputs_[o]) {
            throw InvalidArgument("All model outputs must be bound before run_with_iobinding; output '" +
                                  backend_->desc(IoKind::Output, o).name + "' is not");
        }
    }
    backend_->run(inputs_, outputs_);
}

}  // namespace ezrknn
