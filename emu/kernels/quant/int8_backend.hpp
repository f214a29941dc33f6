// Which kernels compute int8 Conv and MatMul products. oneDNN's int8 kernels are exact only where the CPU has VNNI
// (vpdpbusd adds u8 x s8 products straight into int32); without it they use vpmaddubsw, whose int16 pair sums
// saturate, and the results are wrong (cpu-engine.md §1.4). So oneDNN runs them only with VNNI; elsewhere our
// exact kernels do. Both accumulate the same int32 sums and requantize them with requantize.hpp.
#pragma once

#include "kernels/kernel.hpp"

namespace ezemu::kernels::quant {

enum class Int8Backend { Exact, OnednnVnni };

// Decided once per process from dnnl::get_effective_cpu_isa(), which honours DNNL_MAX_CPU_ISA (set it to AVX2 to
// get the exact kernels on a VNNI machine).
Int8Backend int8_backend();
const char* int8_backend_name(Int8Backend backend);

// The integer Conv / MatMul kernels say which backend they run on (tests ask; a oneDNN kernel falls back to the
// exact one for geometries oneDNN does not implement).
class IntegerProductKernel : public Kernel {
public:
    virtual Int8Backend backend() const = 0;
};

}  // namespace ezemu::kernels::quant
