// The int8 backend choice (int8_backend.hpp): oneDNN only where the CPU has VNNI, our exact kernels elsewhere.
// ctest also runs these tests (and the other integer-kernel suites) under DNNL_MAX_CPU_ISA=AVX2, where the exact
// kernels must be chosen; both backends must give the bits of the exact kernels, on 1 and 2 threads.
#include <cstdlib>
#include <random>
#include <string>

#include "kernels/quant/int8_backend.hpp"
#include "kernels/registry.hpp"
#include "test_kernels_support.hpp"

namespace ezemu::testing {
namespace {

using kernels::quant::Int8Backend;

// What the backend must be: DNNL_MAX_CPU_ISA caps oneDNN below VNNI for AVX2 and AVX512_CORE (and lower).
Int8Backend expected_backend() {
    const char* cap = std::getenv("DNNL_MAX_CPU_ISA");
    const std::string isa = cap ? cap : "";
    if (isa == "AVX2" || isa == "AVX512_CORE" || isa == "AVX" || isa == "SSE41") return Int8Backend::Exact;
    __builtin_cpu_init();
#if defined(__clang__)
    const bool vnni = __builtin_cpu_supports("avx512vnni");  // clang 14 has no "avxvnni" feature name
#else
    const bool vnni = __builtin_cpu_supports("avx512vnni") || __builtin_cpu_supports("avxvnni");
#endif
    return vnni ? Int8Backend::OnednnVnni : Int8Backend::Exact;
}

TEST(Int8Backend, FollowsTheCpuAndDnnlMaxCpuIsa) {
    EXPECT_EQ(kernels::quant::int8_backend(), expected_backend())
        << "chosen: " << kernels::quant::int8_backend_name(kernels::quant::int8_backend());
}

template <class T>
std::vector<T> random_values(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> d(std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
    std::vector<T> v(n);
    for (auto& e : v) e = static_cast<T>(d(rng));
    return v;
}

// A QLinearConv node (x of `X`, symmetric per-channel int8 weights, int32 bias) over x [1, c, h, w].
template <class X>
ModelBuilder qlinear_conv(int64_t c, int64_t h, int64_t w, int64_t m, int64_t k, int64_t group, int64_t stride) {
    ModelBuilder mb(13);
    const DT xt = std::is_same_v<X, uint8_t> ? DT::Uint8 : DT::Int8;
    std::vector<float> ws(static_cast<size_t>(m));
    std::vector<int32_t> bias(static_cast<size_t>(m));
    for (int64_t i = 0; i < m; ++i) {
        ws[size_t(i)] = 0.0004f * float(i % 7 + 1);
        bias[size_t(i)] = int32_t(i * 131 - 700);
    }
    mb.input("x", xt, {1, c, h, w}).initializer<float>("xs", DT::Float, {}, {0.03f});
    mb.initializer<X>("xz", xt, {}, {X(std::is_same_v<X, uint8_t> ? 118 : -9)});
    mb.initializer<int8_t>("w", DT::Int8, {m, c / group, k, k}, random_values<int8_t>(size_t(m * c / group * k * k), 2));
    mb.initializer<float>("ws", DT::Float, {m}, ws).initializer<int8_t>("wz", DT::Int8, {m}, std::vector<int8_t>(size_t(m)));
    mb.initializer<float>("ys", DT::Float, {}, {0.04f}).initializer<X>("yz", xt, {}, {X(3)});
    mb.initializer<int32_t>("b", DT::Int32, {m}, bias);
    const int64_t pad = k / 2;
    mb.node("QLinearConv", {"x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"}, {"y"},
            {attr_int("group", group), attr_ints("strides", {stride, stride}), attr_ints("pads", {pad, pad, pad, pad})},
            "conv");
    mb.output("y");
    return mb;
}

// The kernel the factory builds for the first node of `mb`, and which backend it says it runs on.
Int8Backend kernel_backend(const ModelBuilder& mb) {
    const onnx::Model& model = *mb.build();
    std::vector<kernels::ValueDesc> descs;
    for (const std::string& name : model.graph.nodes[0].inputs) {
        kernels::ValueDesc d;
        for (const onnx::ValueInfo& vi : model.graph.inputs)
            if (vi.name == name) {
                d.dtype = vi.elem_type;
                for (const onnx::Dim& dim : vi.dims) d.shape.push_back(dim.value);
            }
        for (const onnx::Tensor& t : model.graph.initializers)
            if (t.name == name) {
                d.dtype = t.data_type;
                d.shape = t.dims;
                d.data = t.data();
            }
        descs.push_back(d);
    }
    std::vector<const kernels::ValueDesc*> inputs;
    for (const auto& d : descs) inputs.push_back(&d);
    kernels::BuildOptions options;
    const onnx::Node& node = model.graph.nodes[0];
    kernels::KernelContext ctx(node, node.op_type + " node", 13, inputs, options);
    auto kernel = kernels::find_kernel(node.op_type, 13)->factory(ctx);
    auto* product = dynamic_cast<const kernels::quant::IntegerProductKernel*>(kernel.get());
    EXPECT_NE(product, nullptr);
    return product ? product->backend() : Int8Backend::Exact;
}

template <class X>
void expect_same_bits_on_every_path(const ModelBuilder& mb, size_t x_count) {
    const auto x = to_bytes(random_values<X>(x_count, 9));
    const auto exact = run_bytes(*compile(mb, /*reference=*/true), {x})[0];
    EXPECT_EQ(run_bytes(*compile(mb), {x})[0], exact) << "1 thread";
    EXPECT_EQ(run_bytes(*compile(mb, false, 2), {x})[0], exact) << "2 threads";
    EXPECT_EQ(run_bytes(*compile(mb, true, 2), {x})[0], exact) << "exact kernel, 2 threads";
}

TEST(Int8Backend, ConvKernelsRunOnTheChosenBackendWithTheExactBits) {
    struct Case { int64_t c, h, w, m, k, group, stride; };
    for (const Case& k : {Case{16, 13, 11, 32, 3, 1, 1}, Case{32, 12, 12, 32, 3, 32, 2}, Case{24, 9, 7, 40, 1, 1, 1},
                          Case{3, 20, 20, 16, 3, 1, 2}}) {
        SCOPED_TRACE("c " + std::to_string(k.c) + " group " + std::to_string(k.group));
        const auto u8 = qlinear_conv<uint8_t>(k.c, k.h, k.w, k.m, k.k, k.group, k.stride);
        EXPECT_EQ(kernel_backend(u8), expected_backend());
        expect_same_bits_on_every_path<uint8_t>(u8, size_t(k.c * k.h * k.w));
        const auto s8 = qlinear_conv<int8_t>(k.c, k.h, k.w, k.m, k.k, k.group, k.stride);
        EXPECT_EQ(kernel_backend(s8), expected_backend());
        expect_same_bits_on_every_path<int8_t>(s8, size_t(k.c * k.h * k.w));
    }
}

TEST(Int8Backend, MatMulKernelsRunOnTheChosenBackendWithTheExactBits) {
    const int64_t B = 2, M = 7, K = 70, N = 33;
    ModelBuilder mb(13);
    mb.input("a", DT::Int8, {B, M, K}).initializer<float>("as", DT::Float, {}, {0.02f});
    mb.initializer<int8_t>("az", DT::Int8, {}, {5}).initializer<int8_t>("b", DT::Int8, {K, N}, random_values<int8_t>(size_t(K * N), 4));
    mb.initializer<float>("bs", DT::Float, {}, {0.003f}).initializer<int8_t>("bz", DT::Int8, {}, {0});
    mb.initializer<float>("ys", DT::Float, {}, {0.5f}).initializer<int8_t>("yz", DT::Int8, {}, {-3});
    mb.node("QLinearMatMul", {"a", "as", "az", "b", "bs", "bz", "ys", "yz"}, {"y"}, {}, "mm").output("y");
    EXPECT_EQ(kernel_backend(mb), expected_backend());
    expect_same_bits_on_every_path<int8_t>(mb, size_t(B * M * K));
}

// Weights with a non-zero zero point are outside the oneDNN path: the exact kernel takes them on any CPU.
TEST(Int8Backend, AsymmetricWeightsStayOnTheExactKernel) {
    ModelBuilder mb(13);
    mb.input("a", DT::Uint8, {4, 8}).initializer<uint8_t>("az", DT::Uint8, {}, {1});
    mb.initializer<uint8_t>("b", DT::Uint8, {8, 3}, random_values<uint8_t>(24, 5)).initializer<uint8_t>("bz", DT::Uint8, {}, {9});
    mb.node("MatMulInteger", {"a", "b", "az", "bz"}, {"y"}).output("y");
    EXPECT_EQ(kernel_backend(mb), Int8Backend::Exact);
}

}  // namespace
}  // namespace ezemu::testing
