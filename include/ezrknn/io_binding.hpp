// Zero-copy I/O (ONNX Runtime's OrtValue and IOBinding over NPU memory): device tensors allocated with
// rknn_create_mem2, shared between contexts and sessions through their dma-buf fd, bound with rknn_set_io_mem.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ezrknn/tensor.hpp"
#include "rknn/rknn_api.h"

namespace ezrknn {

class Session;
class RknnLibrary;
namespace detail {
class RknnContext;
}

enum class IoKind { Input, Output };
// How a device tensor holds its data. Onnx: dense, in the order get_inputs()/get_outputs() report (the runtime
// converts at each run). Nhwc: the NPU's NHWC layout (RKNN_QUERY_NATIVE_NHWC_*), rows padded to w_stride.
// Native: what the session's zero_copy_layout picks (nhwc, or NC1HWC2 [N,C1,H,W,C2] for "native").
enum class ValueLayout { Onnx, Nhwc, Native };

// "onnx" / "nhwc" / "native"; InvalidArgument for anything else.
ValueLayout parse_value_layout(const std::string& text);
const char* value_layout_name(ValueLayout layout);
// rknn_create_mem2 alloc flags by name: "default" 0, "cacheable" 1, "non_cacheable" (also "non-cacheable",
// "uncached") 2, "try_sram" (also "sram") 4; trimmed, any case. InvalidArgument for other names.
uint64_t parse_mem_flags(const std::string& text);
// An integer flag set: InvalidArgument for bits outside DEFAULT/CACHEABLE/NON_CACHEABLE/TRY_ALLOC_SRAM.
uint64_t check_mem_flags(int64_t flags);

class ZeroCopyBackend;

// ORT's OrtValue on the NPU: one buffer (a dma-buf the runtime allocated, or a caller's), imported lazily into
// every RKNN context that binds it. Thread-safe for concurrent reads; writers serialise on the value.
class DeviceTensor {
public:
    ~DeviceTensor();
    DeviceTensor(const DeviceTensor&) = delete;
    DeviceTensor& operator=(const DeviceTensor&) = delete;

    // A value for input/output `name` of `backend`'s session in `layout`. `type`/`shape`, when given, must equal
    // the tensor's (InvalidArgument naming it otherwise).
    static std::shared_ptr<DeviceTensor> for_tensor(const std::shared_ptr<ZeroCopyBackend>& backend, IoKind kind,
                                                    const std::string& name, ValueLayout layout, uint64_t mem_flags,
                                                    std::optional<ElementType> type = std::nullopt,
                                                    const std::optional<std::vector<int64_t>>& shape = std::nullopt);
    // A dense buffer of `shape` and `type` tied to no session (fmt NCHW when 4-D, else UNDEFINED), allocated with
    // rknn_create_mem2(0, size, flags | RKNN_MEM_FLAG_ALLOC_NO_CONTEXT) on `library`. `layout` is what binding
    // compares it with: Onnx binds it as dense data; Native (the contract's default) only where the tensor's
    // native layout is that dense one, else the bind fails with a layout mismatch (anchor §12 test 4).
    static std::shared_ptr<DeviceTensor> generic(const std::shared_ptr<RknnLibrary>& library,
                                                 const std::vector<int64_t>& shape, ElementType type,
                                                 uint64_t mem_flags, ValueLayout layout = ValueLayout::Native);
    // A caller's dma-buf `fd` (dup'ed; the caller keeps its own) holding tensor `name` in `layout`, `size` bytes
    // from `offset`. `virt_addr` null: mapped here. InvalidArgument for a bad fd, a size below the tensor's
    // bytes, or an offset/size past the end of the buffer.
    static std::shared_ptr<DeviceTensor> from_dmabuf(const std::shared_ptr<ZeroCopyBackend>& backend, IoKind kind,
                                                     const std::string& name, ValueLayout layout, int fd,
                                                     uint64_t size, uint64_t offset, void* virt_addr,
                                                     ElementType type, const std::vector<int64_t>& shape);

    const std::vector<int64_t>& shape() const { return shape_; }  // logical, as get_inputs()/get_outputs()
    ElementType type() const { return type_; }                     // logical
    const rknn_tensor_attr& attr() const { return attr_; }         // the device layout
    ValueLayout layout() const { return layout_; }
    size_t logical_bytes() const;
    size_t device_bytes() const { return size_; }
    void* data() const;  // CPU address of the first byte (mapping + offset)
    int fd() const { return fd_; }
    uint64_t offset() const { return offset_; }
    uint32_t mem_flags() const;  // rknn_tensor_mem.flags of the home mem (0 when the mem is the caller's)
    size_t import_count() const;
    bool dmabuf_backed() const { return fd_ >= 0; }

    // Logical dense data ↔ device layout (NHWC rows, NC1HWC2 blocks and padding converted); `nbytes` must be
    // logical_bytes(). write() syncs to the device, read() from it.
    void write(const void* src, size_t nbytes);
    void read(void* dst, size_t nbytes);
    void sync_to_device();
    void sync_from_device();

    // The rknn_tensor_mem of this buffer in `ctx`'s context (rknn_create_mem_from_fd on first use).
    rknn_tensor_mem* import_into(const std::shared_ptr<ZeroCopyBackend>& backend);
    // Takes the session tensor's layout after a successful bind check (an output buffer is written that way).
    void adopt(const rknn_tensor_attr& attr, const std::vector<int64_t>& shape, ElementType type,
               bool logical_nhwc);

private:
    friend class ZeroCopyBackend;
    DeviceTensor() = default;
    // A value of tensor `index` in `layout`, with the tensor's shape, type and attr; no memory yet.
    static std::shared_ptr<DeviceTensor> describe(const std::shared_ptr<ZeroCopyBackend>& backend, IoKind kind,
                                                  size_t index, ValueLayout layout);
    void allocate(const RknnLibrary& library, rknn_context ctx, uint64_t mem_flags);
    void mark_written(const std::shared_ptr<ZeroCopyBackend>& backend);
    struct Import {
        std::shared_ptr<ZeroCopyBackend> backend;  // keeps its context alive until the mem is destroyed
        rknn_tensor_mem* mem = nullptr;
    };

    std::shared_ptr<RknnLibrary> library_;
    std::vector<int64_t> shape_;
    ElementType type_ = ElementType::Float32;
    rknn_tensor_attr attr_{};
    ValueLayout layout_ = ValueLayout::Native;
    bool logical_nhwc_ = false;  // the logical shape is NHWC (a session with layout nhwc)
    int fd_ = -1;
    bool owns_fd_ = false;
    void* map_base_ = nullptr;  // our own mmap of a caller's fd, unmapped at destruction
    size_t map_length_ = 0;
    unsigned char* base_ = nullptr;  // CPU address of the buffer's start (before offset_)
    uint64_t offset_ = 0;
    size_t size_ = 0;
    rknn_tensor_mem* allocated_ = nullptr;  // rknn_create_mem2 result, destroyed last
    std::shared_ptr<ZeroCopyBackend> allocated_by_;
    mutable std::mutex mutex_;
    std::vector<Import> imports_;
    std::weak_ptr<ZeroCopyBackend> last_writer_;
};

// The io binding context of one session and its tensors' device layouts (anchor-behaviour.md §6.2).
class ZeroCopyBackend : public std::enable_shared_from_this<ZeroCopyBackend> {
public:
    static std::shared_ptr<ZeroCopyBackend> create(std::shared_ptr<Session> session,
                                                   std::unique_ptr<detail::RknnContext> context);
    ~ZeroCopyBackend();

    Session& session() const { return *session_; }
    const RknnLibrary& library() const;
    const std::shared_ptr<RknnLibrary>& library_ptr() const { return library_; }
    rknn_context handle() const;
    size_t count(IoKind kind) const;
    size_t index_of(IoKind kind, const std::string& name) const;  // InvalidArgument "Unknown input name: x"
    const TensorDesc& desc(IoKind kind, size_t index) const;
    // The device attr of a tensor in `layout` (get_native_inputs()/outputs() show ValueLayout::Native).
    const rknn_tensor_attr& attr(IoKind kind, size_t index, ValueLayout layout) const;
    bool logical_nhwc(IoKind kind, size_t index) const;

    // rknn_set_io_mem for every bound tensor whose mem changed since the last run, then rknn_run. Serialised:
    // concurrent calls on one session take turns on the one context.
    void run(const std::vector<std::shared_ptr<DeviceTensor>>& inputs,
             const std::vector<std::shared_ptr<DeviceTensor>>& outputs);

private:
    ZeroCopyBackend() = default;
    struct TensorLayouts {
        rknn_tensor_attr onnx{}, nhwc{}, native{};
        bool logical_nhwc = false;
    };
    void query_layouts();
    void bind_mem(IoKind kind, size_t index, const std::shared_ptr<DeviceTensor>& value);

    std::shared_ptr<Session> session_;
    std::shared_ptr<RknnLibrary> library_;
    std::unique_ptr<detail::RknnContext> context_;
    std::vector<TensorLayouts> inputs_, outputs_;
    std::mutex run_mutex_;
    // What each tensor is bound to now (weak: values hold the backend, not the other way round).
    std::vector<std::weak_ptr<DeviceTensor>> bound_inputs_, bound_outputs_;
};

// ORT's IOBinding: the values one run_with_iobinding reads and writes. Not thread-safe (one per thread).
class IoBinding {
public:
    explicit IoBinding(std::shared_ptr<ZeroCopyBackend> backend);

    // Checks shape, type, size and (inputs) the device layout against the tensor; InvalidArgument naming it.
    void bind_input(const std::string& name, const std::shared_ptr<DeviceTensor>& value);
    void bind_output(const std::string& name, const std::shared_ptr<DeviceTensor>& value);
    // Allocates a value for output `name` and binds it.
    std::shared_ptr<DeviceTensor> bind_new_output(const std::string& name, ValueLayout layout, uint64_t mem_flags,
                                                  std::optional<ElementType> type = std::nullopt,
                                                  const std::optional<std::vector<int64_t>>& shape = std::nullopt);
    std::vector<std::shared_ptr<DeviceTensor>> outputs() const;  // in the order first bound
    void clear_inputs();
    void clear_outputs();
    void synchronize_inputs();
    void synchronize_outputs();
    // Every input and output must be bound (InvalidArgument naming the first missing one).
    void run();

    const std::shared_ptr<ZeroCopyBackend>& backend() const { return backend_; }

private:
    std::shared_ptr<ZeroCopyBackend> backend_;
    std::vector<std::shared_ptr<DeviceTensor>> inputs_, outputs_;  // by model index
    std::vector<size_t> output_order_;
};

}  // namespace ezrknn
