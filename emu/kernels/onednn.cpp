#include "kernels/onednn.hpp"

#include <dlfcn.h>

#include <string>

#include "graph/compiled_model.hpp"
#include "kernels/aligned_buffer.hpp"

namespace ezemu::kernels::onednn {

namespace {

// libgomp is reached by name at run time because ezemu_core links oneDNN, not OpenMP; RTLD_NOLOAD finds the copy
// oneDNN already loaded, even when the emulator itself was dlopen'ed with RTLD_LOCAL.
struct OmpFunctions {
    int (*get_max_threads)() = nullptr;
    void (*set_num_threads)(int) = nullptr;

    OmpFunctions() {
        void* lib = dlopen("libgomp.so.1", RTLD_NOW | RTLD_NOLOAD);
        if (!lib) return;
        get_max_threads = reinterpret_cast<int (*)()>(dlsym(lib, "omp_get_max_threads"));
        set_num_threads = reinterpret_cast<void (*)(int)>(dlsym(lib, "omp_set_num_threads"));
        if (!get_max_threads || !set_num_threads) get_max_threads = nullptr, set_num_threads = nullptr;
    }
};

const OmpFunctions& omp() {
    static const OmpFunctions f;
    return f;
}

}  // namespace

const dnnl::engine& cpu_engine() {
    static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    return engine;
}

void run_at_load(const Kernel& kernel, const void* const* inputs, void* const* outputs, dnnl::stream& stream) {
    std::unique_ptr<KernelState> state = kernel.create_state();
    AlignedBuffer scratch(kernel.scratch_bytes());
    const RunContext ctx{inputs, outputs, scratch.data(), state.get(), &stream};
    kernel.run(ctx);
}

dnnl::memory::dims to_dims(const Shape& shape) { return dnnl::memory::dims(shape.begin(), shape.end()); }

dnnl::memory::format_tag plain_tag(size_t rank) {
    using tag = dnnl::memory::format_tag;
    static constexpr tag kTags[] = {tag::undef, tag::a,      tag::ab,      tag::abc,      tag::abcd,
                                    tag::abcde, tag::abcdef, tag::abcdefg, tag::abcdefgh, tag::abcdefghi,
                                    tag::abcdefghij, tag::abcdefghijk, tag::abcdefghijkl};
    return rank < std::size(kTags) ? kTags[rank] : tag::undef;
}

dnnl::memory::desc plain_desc(const Shape& shape, dnnl::memory::format_tag tag) {
    if (tag == dnnl::memory::format_tag::undef) tag = plain_tag(shape.size());
    return dnnl::memory::desc(to_dims(shape), dnnl::memory::data_type::f32, tag);
}

void execute(const dnnl::primitive& p, dnnl::stream& stream, const dnnl_exec_arg_t* args, int nargs,
             const char* what) {
    dnnl_status_t st = dnnl_primitive_execute(p.get(), stream.get(), nargs, args);
    if (st != dnnl_success) throw RunError(std::string("oneDNN ") + what + " failed with status " + std::to_string(st));
}

OmpThreadLimit::OmpThreadLimit(int threads) {
    const OmpFunctions& f = omp();
    if (!f.set_num_threads || threads <= 0) return;
    previous_ = f.get_max_threads();
    if (previous_ != threads) f.set_num_threads(threads);
    else previous_ = 0;
}

OmpThreadLimit::~OmpThreadLimit() {
    if (previous_ > 0) omp().set_num_threads(previous_);
}

}  // namespace ezemu::kernels::onednn
