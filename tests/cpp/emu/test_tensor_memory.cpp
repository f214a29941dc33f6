// Zero-copy memory of the NPU model (rknn-api.md §7.10): memfd-backed mems, the live registry, flags encoding.
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fcntl.h>

#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "npu/rknn_error.hpp"
#include "npu/tensor_memory.hpp"

namespace {

using ezemu::npu::RknnError;
using ezemu::npu::TensorMemoryRegistry;

int code_of(const std::function<void()>& call)
{
    try {
        call();
    } catch (const RknnError& e) {
        return e.code;
    }
    return 0;
}

size_t open_fds()
{
    size_t count = 0;
    DIR* dir = opendir("/proc/self/fd");
    while (dirent* e = readdir(dir)) count += e->d_name[0] != '.';
    closedir(dir);
    return count;
}

long vm_rss_kib()
{
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    }
    return -1;
}

TEST(TensorMemory, CreateGivesAMemfdMappingWithTheSameBytes)
{
    TensorMemoryRegistry& r = TensorMemoryRegistry::instance();
    rknn_tensor_mem* mem = r.create(7, 10000, 0);
    ASSERT_NE(mem, nullptr);
    EXPECT_EQ(mem->size, 10000u);
    EXPECT_EQ(mem->offset, 0);
    EXPECT_GE(mem->fd, 0);
    EXPECT_NE(mem->phys_addr, 0u);
    EXPECT_EQ(mem->flags & ezemu::npu::kMemoryKindMask, uint32_t(RKNN_TENSOR_MEMORY_FLAGS_ALLOC_INSIDE));
    EXPECT_EQ(mem->flags, 0x101u);  // ALLOC_INSIDE | CACHEABLE << 8 (DEFAULT = cacheable)
    std::memset(mem->virt_addr, 0x5a, 10000);
    void* other = mmap(nullptr, 10000, PROT_READ, MAP_SHARED, mem->fd, 0);
    ASSERT_NE(other, MAP_FAILED);
    EXPECT_EQ(std::memcmp(other, mem->virt_addr, 10000), 0);
    munmap(other, 10000);
    EXPECT_EQ(r.allocated_bytes(7), 10000u);
    r.destroy(mem);
    EXPECT_EQ(r.allocated_bytes(7), 0u);
}

TEST(TensorMemory, AllocFlagsAreKeptAboveTheKind)
{
    TensorMemoryRegistry& r = TensorMemoryRegistry::instance();
    const struct {
        uint64_t alloc;
        uint32_t flags;
    } cases[] = {
        {RKNN_FLAG_MEMORY_CACHEABLE, 0x101},
        {RKNN_FLAG_MEMORY_NON_CACHEABLE, 0x201},
        {RKNN_FLAG_MEMORY_TRY_ALLOC_SRAM, 0x501},
        {RKNN_MEM_FLAG_ALLOC_NO_CONTEXT, 0x20101},
        {RKNN_MEM_FLAG_ALLOC_NO_CONTEXT | RKNN_FLAG_MEMORY_NON_CACHEABLE, 0x20201},
    };
    for (const auto& c : cases) {
        rknn_tensor_mem* mem = r.create(0, 64, c.alloc);
        EXPECT_EQ(mem->flags, c.flags) << c.alloc;
        r.destroy(mem);
    }
    EXPECT_EQ(code_of([&] { r.create(0, 64, 0x8); }), RKNN_ERR_PARAM_INVALID);
    EXPECT_EQ(code_of([&] { r.create(0, 64, 3); }), RKNN_ERR_PARAM_INVALID);  // cacheable and not
}

TEST(TensorMemory, BadSizesAndDeadMemsAreParamInvalid)
{
    TensorMemoryRegistry& r = TensorMemoryRegistry::instance();
    EXPECT_EQ(code_of([&] { r.create(0, 0, 0); }), RKNN_ERR_PARAM_INVALID);
    EXPECT_EQ(code_of([&] { r.create(0, uint64_t(1) << 40, 0); }), RKNN_ERR_PARAM_INVALID);
    rknn_tensor_mem* mem = r.create(0, 16, 0);
    r.destroy(mem);
    EXPECT_EQ(code_of([&] { r.destroy(mem); }), RKNN_ERR_PARAM_INVALID);
    rknn_tensor_mem fake{};
    EXPECT_EQ(code_of([&] { r.destroy(&fake); }), RKNN_ERR_PARAM_INVALID);
    EXPECT_EQ(code_of([&] { r.view(&fake); }), RKNN_ERR_PARAM_INVALID);
}

TEST(TensorMemory, PhysAddressesAreUniqueAndDoNotOverlap)
{
    TensorMemoryRegistry& r = TensorMemoryRegistry::instance();
    std::vector<rknn_tensor_mem*> mems;
    for (int i = 0; i < 20; ++i) mems.push_back(r.create(0, 5000 + i, 0));
    for (size_t i = 1; i < mems.size(); ++i) EXPECT_GE(mems[i]->phys_addr, mems[i - 1]->phys_addr + mems[i - 1]->size);
    for (rknn_tensor_mem* m : mems) r.destroy(m);
}

TEST(TensorMemory, WrapsCallerFdWithOrWithoutAMapping)
{
    TensorMemoryRegistry& r = TensorMemoryRegistry::instance();
    rknn_tensor_mem* base = r.create(0, 8192, 0);
    static_cast<unsigned char*>(base->virt_addr)[4096 + 3] = 42;
    // virt_addr NULL: the emulator maps the fd itself.
    rknn_tensor_mem* mapped = r.wrap_fd(0, base->fd, nullptr, 100, 4096);
    EXPECT_EQ(mapped->flags & 0xff, uint32_t(RKNN_TENSOR_MEMORY_FLAGS_FROM_FD));
    EXPECT_EQ(mapped->fd, base->fd);
    EXPECT_EQ(r.view(mapped).data[3], 42);
    // With the caller's mapping: data at virt_addr + offset.
    rknn_tensor_mem* borrowed = r.wrap_fd(0, base->fd, base->virt_addr, 100, 4096);
    EXPECT_EQ(r.view(borrowed).data, static_cast<unsigned char*>(base->virt_addr) + 4096);
    EXPECT_EQ(code_of([&] { r.wrap_fd(0, -1, nullptr, 100, 0); }), RKNN_ERR_PARAM_INVALID);
    EXPECT_EQ(code_of([&] { r.wrap_fd(0, base->fd, nullptr, 8192, 4096); }), RKNN_ERR_PARAM_INVALID);  // past end
    r.destroy(mapped);
    r.destroy(borrowed);
    EXPECT_EQ(fcntl(base->fd, F_GETFD), FD_CLOEXEC);  // the caller's fd stays open
    r.destroy(base);
}

TEST(TensorMemory, PhysUsesTheVirtualAddress)
{
    TensorMemoryRegistry& r = TensorMemoryRegistry::instance();
    std::vector<unsigned char> block(64, 9);
    rknn_tensor_mem* mem = r.wrap_phys(0, 0xabc000, block.data(), 64);
    EXPECT_EQ(mem->phys_addr, 0xabc000u);
    EXPECT_EQ(mem->fd, -1);
    EXPECT_EQ(r.view(mem).data, block.data());
    EXPECT_EQ(r.find_containing(block.data() + 8, 16)->mem, mem);
    EXPECT_FALSE(r.find_containing(block.data() + 60, 16).has_value());
    r.destroy(mem);
    EXPECT_EQ(code_of([&] { r.wrap_phys(0, 0xabc000, nullptr, 64); }), RKNN_ERR_PARAM_INVALID);
}

TEST(TensorMemory, AViewKeepsTheStorageAfterDestroy)
{
    TensorMemoryRegistry& r = TensorMemoryRegistry::instance();
    rknn_tensor_mem* mem = r.create(0, 4096, 0);
    ezemu::npu::MemoryView view = r.view(mem);
    r.destroy(mem);
    view.data[4095] = 1;  // still mapped: ASan/segfault would catch a use after unmap
    EXPECT_EQ(view.data[4095], 1);
}

TEST(TensorMemory, ConcurrentCreateDestroyIsSafe)
{
    TensorMemoryRegistry& r = TensorMemoryRegistry::instance();
    const size_t before = r.live_count();
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&r] {
            for (int i = 0; i < 500; ++i) r.destroy(r.create(0, 256, 0));
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(r.live_count(), before);
}

TEST(TensorMemory, HundredThousandCyclesLeakNoFdAndNoMemory)
{
    TensorMemoryRegistry& r = TensorMemoryRegistry::instance();
    for (int i = 0; i < 1000; ++i) r.destroy(r.create(0, 4096, 0));  // warm the allocator
    const size_t fds = open_fds();
    const size_t live = r.live_count();
    const long rss = vm_rss_kib();
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 100000; ++i) {
        rknn_tensor_mem* mem = r.create(0, 4096, RKNN_MEM_FLAG_ALLOC_NO_CONTEXT);
        static_cast<unsigned char*>(mem->virt_addr)[0] = 1;  // touch a page, so a leaked mapping costs RSS
        r.destroy(mem);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(open_fds(), fds);
    EXPECT_EQ(r.live_count(), live);
    // A leak of 100000 touched pages would be 400 MiB; the margin leaves room for ASan's quarantine of freed heap.
    EXPECT_LT(vm_rss_kib() - rss, 64 * 1024);
    EXPECT_LT(seconds, 10.0);
}

}  // namespace
