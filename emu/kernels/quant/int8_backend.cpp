#include "kernels/quant/int8_backend.hpp"

#include <oneapi/dnnl/dnnl.hpp>

namespace ezemu::kernels::quant {

Int8Backend int8_backend() {
    static const Int8Backend backend = [] {
        // The VNNI bits of oneDNN's ISA masks: avx512_core_vnni (and the ISAs above it) and avx2_vnni.
        const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
        const bool vnni = (isa & static_cast<unsigned>(dnnl_cpu_isa_avx512_core_vnni) &
                           ~static_cast<unsigned>(dnnl_cpu_isa_avx512_core)) != 0 ||
                          (isa & static_cast<unsigned>(dnnl_cpu_isa_avx2_vnni) &
                           ~static_cast<unsigned>(dnnl_cpu_isa_avx2)) != 0;
        return vnni ? Int8Backend::OnednnVnni : Int8Backend::Exact;
    }();
    return backend;
}

const char* int8_backend_name(Int8Backend backend) {
    return backend == Int8Backend::OnednnVnni ? "oneDNN (VNNI)" : "exact kernels";
}

}  // namespace ezemu::kernels::quant
