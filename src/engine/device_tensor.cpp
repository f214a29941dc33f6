// DeviceTensor: NPU memory from rknn_create_mem2 (or a caller's dma-buf), its imports into other contexts, and
// the copies between numpy's logical layout and the device layout.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "device_value_checks.hpp"
#include "dma_heap.hpp"
#include "ezrknn/errors.hpp"
#include "ezrknn/io_binding.hpp"
#include "ezrknn/rknn_library.hpp"
#include "ezrknn/session.hpp"
#include "native_layout.hpp"

namespace ezrknn {
namespace {

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

}  // namespace

namespace detail {

const char* io_kind_name(IoKind kind) { return kind == IoKind::Input ? "input" : "output"; }

void check_shape_and_type(const char* what, IoKind kind, const TensorDesc& desc, std::optional<ElementType> type,
                          const std::optional<std::vector<int64_t>>& shape) {
    const std::string prefix = std::string(what) + " for " + io_kind_name(kind) + " '" + desc.name + "'";
    if (shape && *shape != desc.shape) {
        throw InvalidArgument(prefix + " shape mismatch: expected " + shape_to_string(desc.shape) + ", got " +
                              shape_to_string(*shape));
    }
    if (type && *type != desc.type) {
        throw InvalidArgument(prefix + " element type mismatch: expected " + element_type_name(desc.type) +
                              ", got " + element_type_name(*type));
    }
}

}  // namespace detail

using detail::check_shape_and_type;

std::shared_ptr<DeviceTensor> DeviceTensor::describe(const std::shared_ptr<ZeroCopyBackend>& backend, IoKind kind,
                                                     size_t index, ValueLayout layout) {
    const TensorDesc& desc = backend->desc(kind, index);
    std::shared_ptr<DeviceTensor> t(new DeviceTensor());
    t->library_ = backend->library_ptr();
    t->shape_ = desc.shape;
    t->type_ = desc.type;
    t->attr_ = backend->attr(kind, index, layout);
    t->layout_ = layout;
    t->logical_nhwc_ = backend->logical_nhwc(kind, index);
    return t;
}

std::shared_ptr<DeviceTensor> DeviceTensor::for_tensor(const std::shared_ptr<ZeroCopyBackend>& backend, IoKind kind,
                                                       const std::string& name, ValueLayout layout,
                                                       uint64_t mem_flags, std::optional<ElementType> type,
                                                       const std::optional<std::vector<int64_t>>& shape) {
    const size_t index = backend->index_of(kind, name);
    const TensorDesc& desc = backend->desc(kind, index);
    check_shape_and_type("OrtValue", kind, desc, type, shape);
    std::shared_ptr<DeviceTensor> t = describe(backend, kind, index, layout);
    t->size_ = detail::device_bytes(t->attr_);
    t->allocate(backend->library(), backend->handle(), mem_flags);
    t->allocated_by_ = backend;
    t->imports_.push_back({backend, t->allocated_});
    return t;
}

std::shared_ptr<DeviceTensor> DeviceTensor::generic(const std::shared_ptr<RknnLibrary>& library,
                                                    const std::vector<int64_t>& shape, ElementType type,
                                                    uint64_t mem_flags, ValueLayout layout) {
    const size_t count = shape_element_count(shape);
    if (element_size(type) == 0) {
        throw InvalidArgument(std::string("OrtValue element type ") + element_type_name(type) + " is not supported");
    }
    if (shape.size() > RKNN_MAX_DIMS) throw InvalidArgument("OrtValue shape has more than 16 dims");
    std::shared_ptr<DeviceTensor> t(new DeviceTensor());
    t->library_ = library;
    t->shape_ = shape;
    t->type_ = type;
    t->layout_ = layout;
    rknn_tensor_attr& a = t->attr_;
    a.n_dims = static_cast<uint32_t>(shape.size());
    for (size_t i = 0; i < shape.size(); ++i) a.dims[i] = static_cast<uint32_t>(shape[i]);
    a.fmt = shape.size() == 4 ? RKNN_TENSOR_NCHW : RKNN_TENSOR_UNDEFINED;
    a.type = static_cast<rknn_tensor_type>(type);
    a.n_elems = static_cast<uint32_t>(count);
    a.size = a.size_with_stride = static_cast<uint32_t>(count * element_size(type));
    t->size_ = count * element_size(type);
    if (t->size_ == 0) throw InvalidArgument("OrtValue shape " + shape_to_string(shape) + " holds no element");
    t->allocate(*library, 0, mem_flags | RKNN_MEM_FLAG_ALLOC_NO_CONTEXT);
    return t;
}

// rknn_create_mem2 serves a board and the emulator alike; /dev/dma_heap/system only stands in for a vendor
// library without it.
void DeviceTensor::allocate(const RknnLibrary& library, rknn_context ctx, uint64_t mem_flags) {
    const RknnFunctions& fn = library.fn();
    if (size_ > UINT32_MAX) throw InvalidArgument("OrtValue of " + std::to_string(size_) + " bytes exceeds 4 GiB");
    if (fn.create_mem2 != nullptr) {
        allocated_ = fn.create_mem2(ctx, size_, mem_flags);
        if (allocated_ == nullptr) {
            throw Error(library.error_message("rknn_create_mem2", RKNN_ERR_MALLOC_FAIL) + " (" +
                        std::to_string(size_) + " bytes, flags " + std::to_string(mem_flags) + ")");
        }
        base_ = static_cast<unsigned char*>(allocated_->virt_addr);
        fd_ = allocated_->fd;
        offset_ = static_cast<uint64_t>(allocated_->offset);
        return;
    }
    detail::DmaHeapBuffer buf = detail::allocate_dma_heap(size_);
    fd_ = buf.fd;
    owns_fd_ = true;
    map_base_ = buf.mapping;
    map_length_ = size_;
    base_ = static_cast<unsigned char*>(buf.mapping);
    if (fn.create_mem_from_fd == nullptr) {
        library.throw_not_supported("rknn_create_mem_from_fd", "", "zero copy needs rknn_create_mem2 or it");
    }
    allocated_ = fn.create_mem_from_fd(ctx, fd_, base_, static_cast<uint32_t>(size_), 0);
    if (allocated_ == nullptr) throw Error(library.error_message("rknn_create_mem_from_fd", RKNN_ERR_FAIL));
}

std::shared_ptr<DeviceTensor> DeviceTensor::from_dmabuf(const std::shared_ptr<ZeroCopyBackend>& backend,
                                                        IoKind kind, const std::string& name, ValueLayout layout,
                                                        int fd, uint64_t size, uint64_t offset, void* virt_addr,
                                                        ElementType type, const std::vector<int64_t>& shape) {
    const size_t index = backend->index_of(kind, name);
    const TensorDesc& desc = backend->desc(kind, index);
    check_shape_and_type("OrtValue from dmabuf", kind, desc, type, shape);
    std::shared_ptr<DeviceTensor> t = describe(backend, kind, index, layout);
    const std::string what = std::string("ortvalue_from_dmabuf for ") + detail::io_kind_name(kind) + " '" + desc.name + "'";
    const size_t needed = detail::device_bytes(t->attr_);
    if (size < needed) {
        throw InvalidArgument(what + ": size " + std::to_string(size) + " is smaller than the " +
                              std::to_string(needed) + " bytes the tensor needs in layout '" +
                              value_layout_name(layout) + "'");
    }
    if (size > UINT32_MAX || offset > INT32_MAX) {
        throw InvalidArgument(what + ": size must fit 32 bits and offset 31 bits (rknn_tensor_mem)");
    }
    if (fd < 0) throw InvalidArgument(what + ": fd " + std::to_string(fd) + " is not a file descriptor");
    t->fd_ = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (t->fd_ < 0) {
        throw InvalidArgument(what + ": fd " + std::to_string(fd) + " is not a valid file descriptor: " +
                              errno_text(errno));
    }
    t->owns_fd_ = true;
    const off_t length = ::lseek(t->fd_, 0, SEEK_END);
    if (length >= 0 && static_cast<uint64_t>(length) < offset + size) {
        throw InvalidArgument(what + ": offset " + std::to_string(offset) + " + size " + std::to_string(size) +
                              " is past the end of the buffer (" + std::to_string(length) + " bytes)");
    }
    if (virt_addr == nullptr) {
        void* p = ::mmap(nullptr, offset + size, PROT_READ | PROT_WRITE, MAP_SHARED, t->fd_, 0);
        if (p == MAP_FAILED) throw InvalidArgument(what + ": mmap of fd " + std::to_string(fd) + " failed: " +
                                                   errno_text(errno));
        t->map_base_ = p;
        t->map_length_ = offset + size;
        virt_addr = p;
    }
    t->base_ = static_cast<unsigned char*>(virt_addr);
    t->offset_ = offset;
    t->size_ = size;
    t->import_into(backend);
    return t;
}

DeviceTensor::~DeviceTensor() {
    for (const Import& imp : imports_) {
        if (imp.mem != allocated_ && imp.mem != nullptr && imp.backend->library().fn().destroy_mem != nullptr) {
            imp.backend->library().fn().destroy_mem(imp.backend->handle(), imp.mem);
        }
    }
    if (allocated_ != nullptr && library_->fn().destroy_mem != nullptr) {
        library_->fn().destroy_mem(allocated_by_ ? allocated_by_->handle() : 0, allocated_);
    }
    imports_.clear();
    allocated_by_.reset();
    if (map_base_ != nullptr) ::munmap(map_base_, map_length_);
    if (owns_fd_ && fd_ >= 0) ::close(fd_);
}

size_t DeviceTensor::logical_bytes() const { return shape_element_count(shape_) * element_size(type_); }
void* DeviceTensor::data() const { return base_ != nullptr ? base_ + offset_ : nullptr; }
uint32_t DeviceTensor::mem_flags() const { return allocated_ != nullptr ? allocated_->flags : 0; }

size_t DeviceTensor::import_count() const {
    std::lock_guard lock(mutex_);
    return imports_.size();
}

rknn_tensor_mem* DeviceTensor::import_into(const std::shared_ptr<ZeroCopyBackend>& backend) {
    std::lock_guard lock(mutex_);
    for (const Import& imp : imports_) {
        if (imp.backend == backend) return imp.mem;
    }
    if (fd_ < 0) {
        throw InvalidArgument("OrtValue was allocated without dma-buf backing and cannot be imported into another "
                              "RKNN context");
    }
    const RknnLibrary& lib = backend->library();
    auto from_fd = lib.require(&RknnFunctions::create_mem_from_fd, "rknn_create_mem_from_fd",
                               backend->session().runtime().api_version);
    rknn_tensor_mem* mem = from_fd(backend->handle(), fd_, base_, static_cast<uint32_t>(size_),
                                   static_cast<int32_t>(offset_));
    if (mem == nullptr) throw Error(lib.error_message("rknn_create_mem_from_fd", RKNN_ERR_PARAM_INVALID));
    imports_.push_back({backend, mem});
    return mem;
}

void DeviceTensor::adopt(const rknn_tensor_attr& attr, const std::vector<int64_t>& shape, ElementType type,
                         bool logical_nhwc) {
    std::lock_guard lock(mutex_);
    attr_ = attr;
    shape_ = shape;
    type_ = type;
    logical_nhwc_ = logical_nhwc;
}

void DeviceTensor::mark_written(const std::shared_ptr<ZeroCopyBackend>& backend) {
    std::lock_guard lock(mutex_);
    last_writer_ = backend;
}

void DeviceTensor::write(const void* src, size_t nbytes) {
    if (nbytes != logical_bytes()) {
        throw InvalidArgument("update_inplace source holds " + std::to_string(nbytes) + " bytes, the OrtValue " +
                              std::to_string(logical_bytes()));
    }
    const detail::DeviceLayout l = detail::describe_device_layout(attr_, shape_, logical_nhwc_, element_size(type_));
    if (l.device_bytes > size_) throw Error("OrtValue buffer is smaller than its layout needs");
    detail::pack_logical(l, logical_nhwc_, src, data());
    sync_to_device();
}

void DeviceTensor::read(void* dst, size_t nbytes) {
    if (nbytes != logical_bytes()) throw InvalidArgument("numpy destination size does not match the OrtValue");
    sync_from_device();
    const detail::DeviceLayout l = detail::describe_device_layout(attr_, shape_, logical_nhwc_, element_size(type_));
    if (l.device_bytes > size_) throw Error("OrtValue buffer is smaller than its layout needs");
    detail::unpack_logical(l, logical_nhwc_, data(), dst);
}

void DeviceTensor::sync_to_device() {
    std::lock_guard lock(mutex_);
    const auto sync = library_->fn().mem_sync;
    if (sync == nullptr) return;  // a runtime without cache maintenance: memory is coherent
    for (const Import& imp : imports_) {
        if (int ret = sync(imp.backend->handle(), imp.mem, RKNN_MEMORY_SYNC_TO_DEVICE); ret != RKNN_SUCC) {
            throw Error(library_->error_message("rknn_mem_sync(TO_DEVICE)", ret), ret);
        }
    }
    if (imports_.empty() && allocated_ != nullptr) {
        if (int ret = sync(0, allocated_, RKNN_MEMORY_SYNC_TO_DEVICE); ret != RKNN_SUCC) {
            throw Error(library_->error_message("rknn_mem_sync(TO_DEVICE)", ret), ret);
        }
    }
}

void DeviceTensor::sync_from_device() {
    std::lock_guard lock(mutex_);
    const auto sync = library_->fn().mem_sync;
    if (sync == nullptr || imports_.empty()) return;
    const std::shared_ptr<ZeroCopyBackend> writer = last_writer_.lock();
    const Import* chosen = &imports_.front();
    for (const Import& imp : imports_) {
        if (imp.backend == writer) chosen = &imp;
    }
    if (int ret = sync(chosen->backend->handle(), chosen->mem, RKNN_MEMORY_SYNC_FROM_DEVICE); ret != RKNN_SUCC) {
        throw Error(library_->error_message("rknn_mem_sync(FROM_DEVICE)", ret), ret);
    }
}

}  // namespace ezrknn
