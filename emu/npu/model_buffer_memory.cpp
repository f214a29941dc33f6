#include "npu/model_buffer_memory.hpp"

#include <string>

#include "npu/rknn_error.hpp"
#include "npu/tensor_memory.hpp"

namespace ezemu::npu {
namespace {

class MemoryModelBytes final : public ModelBytes {
public:
    MemoryModelBytes(MemoryView memory, const uint8_t* data, size_t size)
        : memory_(std::move(memory)), data_(data), size_(size)
    {
    }
    const uint8_t* data() const override { return data_; }
    size_t size() const override { return size_; }
    std::string description() const override
    {
        return "zero-copy model buffer of " + std::to_string(size_) + " bytes";
    }

private:
    MemoryView memory_;  // keeps the mem's storage mapped while the model uses it
    const uint8_t* data_;
    size_t size_;
};

}  // namespace

std::shared_ptr<const ModelBytes> view_model_in_memory(const void* model, uint32_t size,
                                                       const rknn_init_extend* extend, rknn_tensor_mem& info)
{
    const char* flag = "RKNN_FLAG_MODEL_BUFFER_ZERO_COPY";
    if (!extend) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, std::string(flag) + " needs extend (real_model_offset, "
                                                                    "real_model_size, model_buffer_fd), but it is NULL");
    }
    if (size == 0) {
        throw RknnError(RKNN_ERR_PARAM_INVALID,
                        std::string(flag) + " needs the model in memory: size is 0 (a file path cannot be zero-copy)");
    }
    if (extend->real_model_offset < 0 || static_cast<uint32_t>(extend->real_model_offset) >= size) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, "extend->real_model_offset " +
                                                    std::to_string(extend->real_model_offset) +
                                                    " is outside the " + std::to_string(size) + "-byte buffer");
    }
    const size_t offset = static_cast<size_t>(extend->real_model_offset);
    const size_t length = extend->real_model_size ? extend->real_model_size : size - offset;
    if (offset + length > size) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, "extend->real_model_offset + real_model_size (" +
                                                    std::to_string(offset + length) + ") exceed size " +
                                                    std::to_string(size));
    }
    const auto* data = static_cast<const uint8_t*>(model) + offset;
    std::optional<MemoryView> memory = TensorMemoryRegistry::instance().find_containing(data, length);
    if (!memory) {
        throw RknnError(RKNN_ERR_PARAM_INVALID,
                        std::string(flag) + ": the model bytes are not inside a live mem; allocate the buffer with "
                                            "rknn_create_mem2 (e.g. ctx 0 and RKNN_MEM_FLAG_ALLOC_NO_CONTEXT), copy "
                                            "the model into it and pass its virt_addr");
    }
    if (extend->model_buffer_fd > 0 && memory->mem->fd >= 0 && extend->model_buffer_fd != memory->mem->fd) {
        throw RknnError(RKNN_ERR_PARAM_INVALID, "extend->model_buffer_fd is " +
                                                    std::to_string(extend->model_buffer_fd) +
                                                    " but the model bytes are in the mem of fd " +
                                                    std::to_string(memory->mem->fd));
    }
    info = *memory->mem;
    return std::make_shared<MemoryModelBytes>(std::move(*memory), data, length);
}

rknn_tensor_mem describe_model_memory(const ModelBytes& bytes)
{
    rknn_tensor_mem info{};
    info.virt_addr = const_cast<uint8_t*>(bytes.data());  // read-only: the runtime's copy or file mapping
    info.phys_addr = fake_dma_address(bytes.size());
    info.fd = -1;
    info.offset = 0;
    info.size = static_cast<uint32_t>(bytes.size());
    info.flags = encode_memory_flags(RKNN_TENSOR_MEMORY_FLAGS_ALLOC_INSIDE, 0);
    return info;
}

}  // namespace ezemu::npu
