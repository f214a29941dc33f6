// oneDNN fast paths of the float32 activations and of Softmax/LogSoftmax: JIT-vectorized exp, tanh, log and friends,
// where a plain loop calls libm once per element. Primitives are created at load time.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <memory>

#include "kernels/kernel.hpp"

namespace ezemu::kernels {

// y = f(x) over n dense floats with oneDNN's `alg` (alpha and beta as oneDNN defines them for it). nullptr when
// oneDNN has no implementation.
std::unique_ptr<Kernel> make_onednn_eltwise(dnnl::algorithm alg, float alpha, float beta, int64_t n);

// Softmax (or LogSoftmax) of a dense float tensor seen as [outer, len, inner], along len. nullptr when oneDNN has
// no implementation.
std::unique_ptr<Kernel> make_onednn_softmax(int64_t outer, int64_t len, int64_t inner, bool log);

}  // namespace ezemu::kernels
