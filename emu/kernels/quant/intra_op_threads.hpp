// The exact integer kernels split their rows over the intra-op threads with OpenMP when the build has it (the
// runtime oneDNN uses, so EZRKNN_EMU_THREADS reaches both); without it they run on the calling thread.
#pragma once

#ifdef _OPENMP
#include <omp.h>
#endif

namespace ezemu::kernels::quant {

// Index of the calling thread in the current parallel region (0 outside one, or without OpenMP).
inline int intra_op_thread() {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

}  // namespace ezemu::kernels::quant
