// The machinery shared by the elementwise kernels of the math and logic families: storage types per dtype,
// dispatch from a dtype to a template, the dtype rules of each op per opset, and row loops that run a functor over
// dense rows. float16 is stored as Half and computed in float, a chunk at a time, so no run allocates.
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>

#include "graph/compiled_model.hpp"
#include "kernels/broadcast.hpp"
#include "kernels/kernel.hpp"
#include "numerics/fp16.hpp"

namespace ezemu::kernels::elementwise {

// float16 storage; arithmetic on it happens in float.
struct Half {
    uint16_t bits;
};

template <class S>
struct ComputeType {
    using type = S;
};
template <>
struct ComputeType<Half> {
    using type = float;
};
template <class S>
using compute_t = typename ComputeType<S>::type;

template <class S>
inline constexpr bool is_half_v = std::is_same_v<S, Half>;
template <class S>
inline constexpr bool is_float_v = std::is_floating_point_v<compute_t<S>>;

template <class S>
struct TypeTag {
    using type = S;
};

// Which storage types a dispatch instantiates (the op's factory has already checked the dtype).
enum TypeSet : unsigned {
    kFloats = 1u,          // float32, float16, float64
    kSignedInts = 2u,      // int8, int16, int32, int64
    kUnsignedInts = 4u,    // uint8, uint16, uint32, uint64
    kBool = 8u,
    kNumeric = kFloats | kSignedInts | kUnsignedInts,
    kAll = kNumeric | kBool,
};

// Calls f(TypeTag<S>{}) with the storage type S of `dtype`, when Set holds it.
template <unsigned Set, class F>
std::unique_ptr<Kernel> dispatch(const KernelContext& ctx, onnx::DataType dtype, F&& f) {
    using DT = onnx::DataType;
    if constexpr ((Set & kFloats) != 0) {
        if (dtype == DT::Float) return f(TypeTag<float>{});
        if (dtype == DT::Float16) return f(TypeTag<Half>{});
        if (dtype == DT::Double) return f(TypeTag<double>{});
    }
    if constexpr ((Set & kSignedInts) != 0) {
        if (dtype == DT::Int8) return f(TypeTag<int8_t>{});
        if (dtype == DT::Int16) return f(TypeTag<int16_t>{});
        if (dtype == DT::Int32) return f(TypeTag<int32_t>{});
        if (dtype == DT::Int64) return f(TypeTag<int64_t>{});
    }
    if constexpr ((Set & kUnsignedInts) != 0) {
        if (dtype == DT::Uint8) return f(TypeTag<uint8_t>{});
        if (dtype == DT::Uint16) return f(TypeTag<uint16_t>{});
        if (dtype == DT::Uint32) return f(TypeTag<uint32_t>{});
        if (dtype == DT::Uint64) return f(TypeTag<uint64_t>{});
    }
    if constexpr ((Set & kBool) != 0) {
        if (dtype == DT::Bool) return f(TypeTag<bool>{});
    }
    ctx.fail(std::string("has no kernel for dtype ") + onnx::data_type_name(dtype));
}

// One dtype an op takes, from the opset that introduced it.
struct DtypeSince {
    onnx::DataType dtype;
    int64_t since;
};

using DtypeRules = std::span<const DtypeSince>;

// ModelError naming the node unless input i's dtype is one the op takes at the model's opset.
void require_dtype_since(const KernelContext& ctx, size_t input, DtypeRules allowed);
// The same rule, for a dtype that is not an input's (e.g. Cast's `to`).
void require_dtype_since(const KernelContext& ctx, const std::string& what, onnx::DataType dtype,
                         DtypeRules allowed);

// The dtype sets of the ONNX type constraints, with the opset each dtype joined (bfloat16, float64 beyond the
// ABI and strings are left out where the kernels do not run them).
namespace rules {
using DT = onnx::DataType;
inline constexpr DtypeSince kFloats[] = {{DT::Float, 1}, {DT::Float16, 1}, {DT::Double, 1}};
// Add, Sub, Mul, Div: the 8- and 16-bit integers came with opset 14.
inline constexpr DtypeSince kArithmetic[] = {{DT::Float, 1},   {DT::Float16, 1}, {DT::Double, 1}, {DT::Int32, 1},
                                             {DT::Int64, 1},   {DT::Uint32, 1},  {DT::Uint64, 1}, {DT::Int8, 14},
                                             {DT::Uint8, 14},  {DT::Int16, 14},  {DT::Uint16, 14}};
inline constexpr DtypeSince kNumeric[] = {{DT::Float, 1},  {DT::Float16, 1}, {DT::Double, 1}, {DT::Int8, 1},
                                          {DT::Int16, 1},  {DT::Int32, 1},   {DT::Int64, 1},  {DT::Uint8, 1},
                                          {DT::Uint16, 1}, {DT::Uint32, 1},  {DT::Uint64, 1}};
// Max, Min, Clip: every integer type from opset 12.
inline constexpr DtypeSince kFloatsThenIntegers12[] = {
    {DT::Float, 1},  {DT::Float16, 1}, {DT::Double, 1},  {DT::Int8, 12},   {DT::Int16, 12}, {DT::Int32, 12},
    {DT::Int64, 12}, {DT::Uint8, 12},  {DT::Uint16, 12}, {DT::Uint32, 12}, {DT::Uint64, 12}};
// Greater, Less: every numeric type from opset 9.
inline constexpr DtypeSince kFloatsThenNumeric9[] = {
    {DT::Float, 1}, {DT::Float16, 1}, {DT::Double, 1}, {DT::Int8, 9},   {DT::Int16, 9}, {DT::Int32, 9},
    {DT::Int64, 9}, {DT::Uint8, 9},   {DT::Uint16, 9}, {DT::Uint32, 9}, {DT::Uint64, 9}};
// PRelu, MatMul, Gemm: 32- and 64-bit integers from opset 9 (Gemm's and MatMul's also from 9).
inline constexpr DtypeSince kFloatsThenWideInts9[] = {{DT::Float, 1}, {DT::Float16, 1}, {DT::Double, 1},
                                                      {DT::Int32, 9}, {DT::Int64, 9},   {DT::Uint32, 9},
                                                      {DT::Uint64, 9}};
// Relu: signed integers from opset 14.
inline constexpr DtypeSince kRelu[] = {{DT::Float, 1},  {DT::Float16, 1}, {DT::Double, 1}, {DT::Int8, 14},
                                       {DT::Int16, 14}, {DT::Int32, 14},  {DT::Int64, 14}};
inline constexpr DtypeSince kBoolOnly[] = {{DT::Bool, 1}};
inline constexpr DtypeSince kAll[] = {{DT::Float, 1},  {DT::Float16, 1}, {DT::Double, 1}, {DT::Int8, 1},
                                      {DT::Int16, 1},  {DT::Int32, 1},   {DT::Int64, 1},  {DT::Uint8, 1},
                                      {DT::Uint16, 1}, {DT::Uint32, 1},  {DT::Uint64, 1}, {DT::Bool, 1}};
}  // namespace rules

// ModelError unless inputs [first, last] all have input `first`'s dtype.
void require_same_dtype(const KernelContext& ctx, size_t first, size_t last);

// The multidirectional broadcast of two inputs' shapes, or a ModelError naming both.
Shape broadcast_or_fail(const KernelContext& ctx, const Shape& a, const Shape& b);

// Thrown by integer division ops; the kernel turns it into a RunError naming the node.
struct IntegerDivisionByZero {};

// Rows longer than this go through float in pieces when a Half is involved: stack buffers, no allocation.
inline constexpr int64_t kChunk = 256;

// A pointer to n compute values of `src`: src itself, or `buf` filled from halves.
template <class S>
const compute_t<S>* load(const S* src, compute_t<S>* buf, int64_t n) {
    if constexpr (is_half_v<S>) {
        numerics::halves_to_floats(reinterpret_cast<const uint16_t*>(src), buf, static_cast<size_t>(n));
        return buf;
    } else {
        (void)buf;
        (void)n;
        return src;
    }
}

template <class S>
compute_t<S> load_one(const S* src) {
    if constexpr (is_half_v<S>) return numerics::half_to_float(src->bits);
    else return *src;
}

template <class S>
void store_one(S* dst, compute_t<S> v) {
    if constexpr (is_half_v<S>) dst->bits = numerics::float_to_half(v);
    else *dst = v;
}

// y[i] = op(x[i]) for n elements.
template <class SX, class SY, class Op>
void unary_row(const SX* x, SY* y, int64_t n, const Op& op) {
    if constexpr (!is_half_v<SX> && !is_half_v<SY>) {
        for (int64_t i = 0; i < n; ++i) y[i] = static_cast<SY>(op(x[i]));
    } else {
        compute_t<SX> xb[kChunk];
        compute_t<SY> yb[kChunk];
        for (int64_t off = 0; off < n; off += kChunk) {
            const int64_t m = std::min(kChunk, n - off);
            const compute_t<SX>* xs = load(x + off, xb, m);
            compute_t<SY>* ys = is_half_v<SY> ? yb : reinterpret_cast<compute_t<SY>*>(y + off);
            for (int64_t i = 0; i < m; ++i) ys[i] = static_cast<compute_t<SY>>(op(xs[i]));
            if constexpr (is_half_v<SY>)
                numerics::floats_to_halves(yb, reinterpret_cast<uint16_t*>(y + off), static_cast<size_t>(m));
        }
    }
}

// How a row of a broadcast walk reads its two operands.
enum class RowKind { Dense, AScalar, BScalar };

// y[i] = op(a[i], b[i]) for n elements, where a scalar operand is read once.
template <class SA, class SB, class SY, class Op>
void binary_row(const SA* a, const SB* b, SY* y, int64_t n, RowKind kind, const Op& op) {
    using CA = compute_t<SA>;
    using CB = compute_t<SB>;
    using CY = compute_t<SY>;
    if constexpr (!is_half_v<SA> && !is_half_v<SB> && !is_half_v<SY>) {
        if (kind == RowKind::BScalar) {
            const CB bv = *b;
            for (int64_t i = 0; i < n; ++i) y[i] = static_cast<CY>(op(a[i], bv));
        } else if (kind == RowKind::AScalar) {
            const CA av = *a;
            for (int64_t i = 0; i < n; ++i) y[i] = static_cast<CY>(op(av, b[i]));
        } else {
            for (int64_t i = 0; i < n; ++i) y[i] = static_cast<CY>(op(a[i], b[i]));
        }
    } else {
        CA ab[kChunk];
        CB bb[kChunk];
        CY yb[kChunk];
        const CA av = kind == RowKind::AScalar ? load_one(a) : CA{};
        const CB bv = kind == RowKind::BScalar ? load_one(b) : CB{};
        for (int64_t off = 0; off < n; off += kChunk) {
            const int64_t m = std::min(kChunk, n - off);
            CY* ys = is_half_v<SY> ? yb : reinterpret_cast<CY*>(y + off);
            if (kind == RowKind::BScalar) {
                const CA* as = load(a + off, ab, m);
                for (int64_t i = 0; i < m; ++i) ys[i] = static_cast<CY>(op(as[i], bv));
            } else if (kind == RowKind::AScalar) {
                const CB* bs = load(b + off, bb, m);
                for (int64_t i = 0; i < m; ++i) ys[i] = static_cast<CY>(op(av, bs[i]));
            } else {
                const CA* as = load(a + off, ab, m);
                const CB* bs = load(b + off, bb, m);
                for (int64_t i = 0; i < m; ++i) ys[i] = static_cast<CY>(op(as[i], bs[i]));
            }
            if constexpr (is_half_v<SY>)
                numerics::floats_to_halves(yb, reinterpret_cast<uint16_t*>(y + off), static_cast<size_t>(m));
        }
    }
}

// Runs binary_row over a broadcast walk.
template <class SA, class SB, class SY, class Op>
void binary_broadcast(const BinaryBroadcast& walk, const SA* a, const SB* b, SY* y, const Op& op) {
    const RowKind kind = walk.b_inner_scalar   ? RowKind::BScalar
                         : walk.a_inner_scalar ? RowKind::AScalar
                                               : RowKind::Dense;
    const int64_t n = walk.inner;
    walk.for_each_row([&](int64_t ao, int64_t bo, int64_t yo) { binary_row(a + ao, b + bo, y + yo, n, kind, op); });
}

// Two inputs broadcast to one output: Add, Pow, Equal, PRelu, ... . Op maps compute values of a and b to y's.
template <class SA, class SB, class SY, class Op>
class BinaryKernel final : public Kernel {
public:
    BinaryKernel(const Shape& a, const Shape& b, const Shape& y, std::string label, Op op = Op{})
        : walk_(a, b, y), label_(std::move(label)), op_(op) {}

    void run(const RunContext& ctx) const override {
        try {
            binary_broadcast(walk_, static_cast<const SA*>(ctx.inputs[0]), static_cast<const SB*>(ctx.inputs[1]),
                             static_cast<SY*>(ctx.outputs[0]), op_);
        } catch (const IntegerDivisionByZero&) {
            throw RunError(label_ + ": integer division by zero");
        }
    }

private:
    BinaryBroadcast walk_;
    std::string label_;
    Op op_;
};

// One input, one output of the same shape.
template <class SX, class SY, class Op>
class UnaryKernel final : public Kernel {
public:
    UnaryKernel(int64_t n, Op op = Op{}) : n_(n), op_(op) {}
    void run(const RunContext& ctx) const override {
        unary_row(static_cast<const SX*>(ctx.inputs[0]), static_cast<SY*>(ctx.outputs[0]), n_, op_);
    }

private:
    int64_t n_;
    Op op_;
};

// A float to an integer with the truncation of a C cast, defined for every input: NaN and values out of int64's
// range become INT64_MIN (what x86's cvttsd2si gives), then the result wraps to T as numpy's astype does.
template <class T, class F>
T float_to_integer(F v) {
    static_assert(std::is_integral_v<T>);
    constexpr F lo = static_cast<F>(-9223372036854775808.0), hi = static_cast<F>(9223372036854775808.0);
    const int64_t w = (v >= lo && v < hi) ? static_cast<int64_t>(v) : INT64_MIN;
    if constexpr (std::is_same_v<T, uint64_t>) {
        // Unsigned 64-bit targets keep the upper half of their range.
        if (v >= hi && v < static_cast<F>(18446744073709551616.0)) return static_cast<uint64_t>(v);
    }
    return static_cast<T>(w);
}

}  // namespace ezemu::kernels::elementwise
