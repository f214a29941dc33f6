#include "npu/model_bytes.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "npu/rknn_error.hpp"
#include "rknn/rknn_api.h"

namespace ezemu::npu {
namespace {

class CopiedBytes final : public ModelBytes {
public:
    CopiedBytes(const void* data, size_t size)
        : bytes_(static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + size)
    {
    }
    const uint8_t* data() const override { return bytes_.data(); }
    size_t size() const override { return bytes_.size(); }
    std::string description() const override { return "buffer of " + std::to_string(bytes_.size()) + " bytes"; }

private:
    std::vector<uint8_t> bytes_;
};

class MappedFile final : public ModelBytes {
public:
    MappedFile(std::string path, void* address, size_t size) : path_(std::move(path)), address_(address), size_(size)
    {
    }
    ~MappedFile() override { munmap(address_, size_); }
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const uint8_t* data() const override { return static_cast<const uint8_t*>(address_); }
    size_t size() const override { return size_; }
    std::string description() const override { return "file '" + path_ + "'"; }

private:
    std::string path_;
    void* address_;
    size_t size_;
};

// Closes the descriptor on every exit path; the mapping stays valid after close.
struct FileDescriptor {
    int fd;
    ~FileDescriptor()
    {
        if (fd >= 0) close(fd);
    }
};

[[noreturn]] void refuse(const std::string& path, const std::string& why)
{
    throw RknnError(RKNN_ERR_MODEL_INVALID, "cannot load model file '" + path + "': " + why);
}

}  // namespace

std::shared_ptr<const ModelBytes> copy_model_buffer(const void* data, size_t size)
{
    return std::make_shared<CopiedBytes>(data, size);
}

std::shared_ptr<const ModelBytes> map_model_file(const std::string& path)
{
    if (path.empty()) refuse(path, "the path is empty (with size 0, rknn_init's model argument is a file path)");

    FileDescriptor file{open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (file.fd < 0) {
        const int err = errno;
        if (err == ENOENT) refuse(path, "no such file");
        refuse(path, std::strerror(err));
    }
    struct stat st {};
    if (fstat(file.fd, &st) != 0) refuse(path, std::strerror(errno));
    if (S_ISDIR(st.st_mode)) refuse(path, "it is a directory, not a model file");
    if (!S_ISREG(st.st_mode)) refuse(path, "it is not a regular file");
    if (st.st_size == 0) refuse(path, "the file is empty");

    const size_t size = static_cast<size_t>(st.st_size);
    void* address = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, file.fd, 0);
    if (address == MAP_FAILED) refuse(path, std::string("mmap failed: ") + std::strerror(errno));
    try {
        return std::make_shared<MappedFile>(path, address, size);
    } catch (...) {
        munmap(address, size);
        throw;
    }
}

}  // namespace ezemu::npu
