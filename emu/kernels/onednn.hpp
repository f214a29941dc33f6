// What the oneDNN fast paths share: the CPU engine, the OpenMP thread limit, and allocation-free execution.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <vector>

#include "kernels/kernel.hpp"

namespace ezemu::kernels::onednn {

// One CPU engine for the process: engines are cheap to share and primitives are tied to the engine they came from.
const dnnl::engine& cpu_engine();

dnnl::memory::dims to_dims(const Shape& shape);
// Dense row-major tag for a rank (a, ab, abc, ...).
dnnl::memory::format_tag plain_tag(size_t rank);
dnnl::memory::desc plain_desc(const Shape& shape, dnnl::memory::format_tag tag = dnnl::memory::format_tag::undef);

// Executes through the C API with a caller-owned argument array: the C++ execute() builds an unordered_map on
// every call. Throws RunError naming `what` on failure.
void execute(const dnnl::primitive& p, dnnl::stream& stream, const dnnl_exec_arg_t* args, int nargs,
             const char* what);

// Runs `kernel` once, now, with a state and scratch of its own: load-time work such as constant folding and the
// lookup tables of the quantized kernels. `stream` serves its oneDNN primitives, if any.
void run_at_load(const Kernel& kernel, const void* const* inputs, void* const* outputs, dnnl::stream& stream);

// Limits the OpenMP threads oneDNN uses on the calling thread for the scope's lifetime. oneDNN's CPU runtime is
// OpenMP and reads the calling thread's nthreads setting both when it creates a primitive and when it runs it.
class OmpThreadLimit {
public:
    explicit OmpThreadLimit(int threads);
    ~OmpThreadLimit();
    OmpThreadLimit(const OmpThreadLimit&) = delete;
    OmpThreadLimit& operator=(const OmpThreadLimit&) = delete;

private:
    int previous_ = 0;
};

}  // namespace ezemu::kernels::onednn
