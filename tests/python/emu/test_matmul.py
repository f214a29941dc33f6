"""The matmul API (rknn_matmul_*): attributes, every type's results against numpy, quantization parameters,
TP_NORM B, dynamic shapes, core masks and the timing model."""
from __future__ import annotations

import ctypes as C
import threading
import time

import numpy as np
import pytest

import rknn_ctypes as R
from emu_matmul import DTYPES, Matmul, quant_params

F16_TYPES = [R.RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT32, R.RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT16]


@pytest.fixture(autouse=True)
def no_latency(monkeypatch):
    monkeypatch.delenv("EZRKNN_EMU_LATENCY_US", raising=False)


@pytest.fixture
def matmuls(emu, emu_lib):
    """Creates Matmul contexts and destroys whatever a test leaves."""
    made = []

    def make(*args, **kw):
        mm = Matmul(emu_lib, *args, **kw)
        made.append(mm)
        return mm

    yield make
    for mm in made:
        for mem in mm.mems.values():
            emu_lib.rknn_destroy_mem(0, mem)
        mm.mems = {}
        emu_lib.rknn_matmul_destroy(mm.ctx)


def rng_f16(rng, shape):
    return rng.uniform(-2, 2, shape).astype(np.float16)


def rng_i8(rng, shape):
    return rng.integers(-128, 128, shape, dtype=np.int64).astype(np.int8)


def float_bound(a, b):
    """A bound on the rounding error of a float32 sum of K products."""
    return np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64))


@pytest.mark.parametrize("mm_type", sorted(DTYPES))
def test_create_fills_the_io_attrs(matmuls, mm_type):
    mm = matmuls(4, 64, 32, mm_type)
    assert mm.code == 0 and mm.ctx != 0
    sizes = {np.float16: 2, np.float32: 4, np.int8: 1, np.int32: 4}
    types = {np.float16: R.RKNN_TENSOR_FLOAT16, np.float32: R.RKNN_TENSOR_FLOAT32, np.int8: R.RKNN_TENSOR_INT8,
             np.int32: R.RKNN_TENSOR_INT32}
    for name, shape, dtype in zip("ABC", [(4, 64), (64, 32), (4, 32)], DTYPES[mm_type]):
        attr = mm.attr(name)
        assert attr.name == name.encode()
        assert attr.shape == shape
        assert attr.type == types[dtype]
        assert attr.size == shape[0] * shape[1] * sizes[dtype]


def test_tp_norm_b_is_n_by_k(matmuls):
    mm = matmuls(3, 16, 5, R.RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT32, b_layout=R.RKNN_MM_LAYOUT_TP_NORM)
    assert mm.code == 0
    assert mm.io.B.shape == (5, 16) and mm.io.C.shape == (3, 5)


@pytest.mark.parametrize("b_layout", [R.RKNN_MM_LAYOUT_NORM, R.RKNN_MM_LAYOUT_TP_NORM])
def test_fp16_to_fp32(matmuls, b_layout):
    rng = np.random.default_rng(1)
    a, b = rng_f16(rng, (7, 96)), rng_f16(rng, (96, 13))
    mm = matmuls(7, 96, 13, R.RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT32, b_layout=b_layout)
    c = mm.compute(a, b.T.copy() if b_layout == R.RKNN_MM_LAYOUT_TP_NORM else b)
    ref = a.astype(np.float64) @ b.astype(np.float64)
    assert c.dtype == np.float32
    assert np.all(np.abs(c - ref) <= 1e-6 * float_bound(a, b) + 1e-7)
    assert not np.array_equal(c, np.zeros_like(c))


def test_fp16_to_fp16_rounds_the_fp32_sum_to_half(matmuls):
    rng = np.random.default_rng(2)
    a, b = rng_f16(rng, (5, 40)), rng_f16(rng, (40, 9))
    c = matmuls(5, 40, 9, R.RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT16).compute(a, b)
    ref = a.astype(np.float64) @ b.astype(np.float64)
    assert c.dtype == np.float16
    # One half rounding of a sum that is exact to float32 precision.
    assert np.all(np.abs(c.astype(np.float64) - ref) <= np.abs(ref) * 2.0 ** -11 + 1e-6 * float_bound(a, b) + 1e-7)


@pytest.mark.parametrize("b_layout", [R.RKNN_MM_LAYOUT_NORM, R.RKNN_MM_LAYOUT_TP_NORM])
def test_int8_to_int32_is_exact(matmuls, b_layout):
    rng = np.random.default_rng(3)
    a, b = rng_i8(rng, (6, 128)), rng_i8(rng, (128, 17))
    mm = matmuls(6, 128, 17, R.RKNN_INT8_MM_INT8_TO_INT32, b_layout=b_layout)
    c = mm.compute(a, b.T.copy() if b_layout == R.RKNN_MM_LAYOUT_TP_NORM else b)
    np.testing.assert_array_equal(c, a.astype(np.int64) @ b.astype(np.int64))


def requantize_ref(acc, s_a, s_b, s_c, zp_c):
    """onnxruntime's requantization in float32 (kernels/quant/requantize.hpp documents the rule)."""
    mult = (np.float32(s_a) * np.asarray(s_b, np.float32)) / np.float32(s_c)
    r = np.round(acc.astype(np.float32) * mult.astype(np.float32)) + np.float32(zp_c)
    return np.clip(r, -128, 127).astype(np.int8)


def test_int8_to_int8_requantizes_with_the_quant_params(matmuls):
    rng = np.random.default_rng(4)
    a, b = rng_i8(rng, (4, 64)), rng_i8(rng, (64, 8))
    mm = matmuls(4, 64, 8, R.RKNN_INT8_MM_INT8_TO_INT8, ac_quant=R.RKNN_QUANT_TYPE_PER_LAYER_ASYM)
    keep = []
    for name, scales, zps in [("A", [0.02], [3]), ("B", [0.01], None), ("C", [0.5], [-7])]:
        p, k = quant_params(name, scales, zps)
        keep.append(k)
        assert mm.lib.rknn_matmul_set_quant_params(mm.ctx, C.byref(p)) == 0, name
    c = mm.compute(a, b)
    acc = (a.astype(np.int64) - 3) @ b.astype(np.int64)
    want = requantize_ref(acc, 0.02, 0.01, 0.5, -7)
    np.testing.assert_array_equal(c, want)
    assert len(np.unique(c)) > 10  # the scales put the results across the int8 range, not all saturated


def test_int8_to_fp32_per_channel_b(matmuls):
    rng = np.random.default_rng(5)
    n = 6
    a, b = rng_i8(rng, (3, 32)), rng_i8(rng, (32, n))
    mm = matmuls(3, 32, n, R.RKNN_INT8_MM_INT8_TO_FLOAT32, b_quant=R.RKNN_QUANT_TYPE_PER_CHANNEL_ASYM)
    b_scales = [0.01 * (j + 1) for j in range(n)]
    b_zps = [j - 3 for j in range(n)]
    pa, ka = quant_params("A", [0.25])
    pb, kb = quant_params("B", b_scales, b_zps)
    assert mm.lib.rknn_matmul_set_quant_params(mm.ctx, C.byref(pa)) == 0
    assert mm.lib.rknn_matmul_set_quant_params(mm.ctx, C.byref(pb)) == 0
    c = mm.compute(a, b)
    acc = a.astype(np.int64) @ (b.astype(np.int64) - np.asarray(b_zps))
    want = acc.astype(np.float32) * (np.float32(0.25) * np.asarray(b_scales, np.float32))
    np.testing.assert_array_equal(c, want)


@pytest.mark.parametrize("mm_type", [R.RKNN_FLOAT16_MM_INT8_TO_FLOAT32, R.RKNN_FLOAT16_MM_INT8_TO_FLOAT16])
@pytest.mark.parametrize("b_layout", [R.RKNN_MM_LAYOUT_NORM, R.RKNN_MM_LAYOUT_TP_NORM])
def test_fp16_by_int8_dequantizes_b(matmuls, mm_type, b_layout):
    rng = np.random.default_rng(6)
    n = 5
    a, b = rng_f16(rng, (4, 48)), rng_i8(rng, (48, n))
    mm = matmuls(4, 48, n, mm_type, b_layout=b_layout, b_quant=R.RKNN_QUANT_TYPE_PER_CHANNEL_SYM)
    scales = [0.01, 0.02, 0.005, 0.04, 0.03]
    p, keep = quant_params("B", scales)
    assert mm.lib.rknn_matmul_set_quant_params(mm.ctx, C.byref(p)) == 0
    c = mm.compute(a, b.T.copy() if b_layout == R.RKNN_MM_LAYOUT_TP_NORM else b)
    b_real = (b.astype(np.float32) * np.asarray(scales, np.float32)).astype(np.float16)  # B as the NPU holds it
    ref = a.astype(np.float64) @ b_real.astype(np.float64)
    tol = 1e-6 * float_bound(a, b_real) + 1e-7
    if mm_type == R.RKNN_FLOAT16_MM_INT8_TO_FLOAT16:
        tol = tol + np.abs(ref) * 2.0 ** -11
    assert np.all(np.abs(c.astype(np.float64) - ref) <= tol)


def test_get_quant_params_returns_what_was_set(matmuls):
    mm = matmuls(2, 16, 4, R.RKNN_INT8_MM_INT8_TO_INT32, b_quant=R.RKNN_QUANT_TYPE_PER_CHANNEL_ASYM)
    pa, ka = quant_params("A", [0.5])
    pb, kb = quant_params("B", [0.1, 0.2, 0.3, 0.4], [1, -2, 3, -4])
    assert mm.lib.rknn_matmul_set_quant_params(mm.ctx, C.byref(pa)) == 0
    assert mm.lib.rknn_matmul_set_quant_params(mm.ctx, C.byref(pb)) == 0
    got = R.rknn_quant_params()  # zero-filled: an empty name asks for B
    scale = C.c_float(0)
    assert mm.lib.rknn_matmul_get_quant_params(mm.ctx, C.byref(got), C.byref(scale)) == 0
    assert got.name == b"B" and got.scale_len == 4 and got.zp_len == 4
    np.testing.assert_allclose([got.scale[i] for i in range(4)], [0.1, 0.2, 0.3, 0.4], rtol=1e-7)
    assert [got.zp[i] for i in range(4)] == [1, -2, 3, -4]
    assert scale.value == 0.5  # A's scale
    got_c = R.rknn_quant_params()
    got_c.name = b"C"
    assert mm.lib.rknn_matmul_get_quant_params(mm.ctx, C.byref(got_c), None) == 0
    assert got_c.scale_len == 1 and got_c.scale[0] == 1.0 and got_c.zp[0] == 0  # the defaults


def test_dynamic_shapes(matmuls):
    shapes = [(2, 8, 4), (5, 8, 4), (3, 16, 6)]
    mm = matmuls(0, 0, 0, R.RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT32, shapes=shapes)
    assert mm.code == 0
    for (m, k, n), io in zip(shapes, mm.io_attrs):
        assert (io.A.shape, io.B.shape, io.C.shape) == ((m, k), (k, n), (m, n))
    # Mems for the largest operands, bound once with the largest attrs.
    big = {name: max((getattr(io, name) for io in mm.io_attrs), key=lambda t: t.size) for name in "ABC"}
    assert mm.set_shape(3, 16, 6) == 0
    for name in "ABC":
        assert mm.bind(name, attr=big[name]) == 0
    rng = np.random.default_rng(7)
    for m, k, n in shapes:
        assert mm.set_shape(m, k, n) == 0
        a, b = rng_f16(rng, (m, k)), rng_f16(rng, (k, n))
        mm.write("A", a)
        mm.write("B", b)
        assert mm.run() == 0
        c = mm.read("C", np.float32, (m, n))
        ref = a.astype(np.float64) @ b.astype(np.float64)
        assert np.all(np.abs(c - ref) <= 1e-6 * float_bound(a, b) + 1e-7), (m, k, n)
    assert mm.set_shape(4, 8, 4) == R.RKNN_ERR_PARAM_INVALID
    assert "allowed: (M=2, K=8, N=4), (M=5, K=8, N=4), (M=3, K=16, N=6)" in mm_last_error(mm)


def test_a_shape_larger_than_the_bound_mems_is_refused_at_run(matmuls):
    mm = matmuls(0, 0, 0, R.RKNN_INT8_MM_INT8_TO_INT32, shapes=[(2, 8, 4), (6, 8, 4)])
    for name in "ABC":
        assert mm.bind(name) == 0  # sized for the first shape
    assert mm.run() == 0
    assert mm.set_shape(6, 8, 4) == 0
    assert mm.run() == R.RKNN_ERR_PARAM_INVALID
    assert "the mem bound to A has 16 bytes, the current shape (M=6, K=8, N=4) needs 48" in mm_last_error(mm)


def mm_last_error(mm):
    return mm.lib.ezrknn_emu_last_error().decode()


def test_core_masks(emu, matmuls, monkeypatch):
    mm = matmuls(2, 8, 2, R.RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT32)
    for mask in (R.RKNN_NPU_CORE_AUTO, R.RKNN_NPU_CORE_0, R.RKNN_NPU_CORE_2, R.RKNN_NPU_CORE_0_1,
                 R.RKNN_NPU_CORE_0_1_2, R.RKNN_NPU_CORE_ALL):
        assert mm.lib.rknn_matmul_set_core_mask(mm.ctx, mask) == 0, mask
    assert mm.lib.rknn_matmul_set_core_mask(mm.ctx, 6) == R.RKNN_ERR_PARAM_INVALID
    assert "core mode 6 (0x6) is not supported on rk3588" in emu.last_error()
    monkeypatch.setenv("EZRKNN_EMU_PLATFORM", "rk3568")
    single = matmuls(2, 8, 2, R.RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT32)
    assert single.code == 0
    assert single.lib.rknn_matmul_set_core_mask(single.ctx, R.RKNN_NPU_CORE_0) == R.RKNN_ERR_TARGET_PLATFORM_UNMATCH
    a = np.ones((2, 8), np.float16)
    np.testing.assert_array_equal(single.compute(a, np.ones((8, 2), np.float16)), np.full((2, 2), 8, np.float32))


def timed_pair(first, second):
    """Runs both contexts' matmul at once from two threads; returns the wall time."""
    codes = []
    threads = [threading.Thread(target=lambda m=m: codes.append(m.run())) for m in (first, second)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [0, 0]
    return time.monotonic() - start


def test_a_run_holds_its_core_for_the_modelled_latency(matmuls, monkeypatch):
    monkeypatch.setenv("EZRKNN_EMU_LATENCY_US", "150000")
    pair = [matmuls(2, 8, 2, R.RKNN_INT8_MM_INT8_TO_INT32) for _ in range(2)]
    for mm in pair:
        for name in "ABC":
            assert mm.bind(name) == 0
    start = time.monotonic()
    assert pair[0].run() == 0
    assert time.monotonic() - start >= 0.15
    for mm in pair:
        assert mm.lib.rknn_matmul_set_core_mask(mm.ctx, R.RKNN_NPU_CORE_0) == 0
    assert timed_pair(*pair) >= 0.30  # one core: the runs take turns
    assert pair[1].lib.rknn_matmul_set_core_mask(pair[1].ctx, R.RKNN_NPU_CORE_1) == 0
    assert timed_pair(*pair) < 0.28  # two cores: side by side


def test_one_thread_per_context_and_destroy_waits_for_a_run(emu, emu_lib, monkeypatch):
    monkeypatch.setenv("EZRKNN_EMU_LATENCY_US", "200000")
    mm = Matmul(emu_lib, 2, 8, 2, R.RKNN_INT8_MM_INT8_TO_INT32)
    for name in "ABC":
        assert mm.bind(name) == 0
    codes = []
    worker = threading.Thread(target=lambda: codes.append(mm.run()))
    worker.start()
    time.sleep(0.05)
    assert mm.run() == R.RKNN_ERR_FAIL  # the context is busy: fail at once, do not queue
    assert "is in use by another thread" in emu.last_error()
    for mem in mm.mems.values():  # freeing bound mems mid-run is safe: the binding holds the storage
        assert emu_lib.rknn_destroy_mem(mm.ctx, mem) == 0
    mm.mems = {}
    start = time.monotonic()
    assert emu_lib.rknn_matmul_destroy(mm.ctx) == 0  # waits for the run in flight
    assert time.monotonic() - start >= 0.1
    worker.join()
    assert codes == [0]
    assert emu_lib.rknn_matmul_run(mm.ctx) == R.RKNN_ERR_CTX_INVALID


def test_int8_sums_beyond_int32_saturate(matmuls):
    k = 33100  # past the 33025 terms that always fit int32: the 64-bit path
    mm = matmuls(2, k, 2, R.RKNN_INT8_MM_INT8_TO_INT32, b_quant=R.RKNN_QUANT_TYPE_PER_CHANNEL_ASYM,
                 ac_quant=R.RKNN_QUANT_TYPE_PER_LAYER_ASYM)
    pa, ka = quant_params("A", [1.0], [127])
    pb, kb = quant_params("B", [1.0, 1.0], [127, 0])
    assert mm.lib.rknn_matmul_set_quant_params(mm.ctx, C.byref(pa)) == 0
    assert mm.lib.rknn_matmul_set_quant_params(mm.ctx, C.byref(pb)) == 0
    a = np.full((2, k), -128, np.int8)
    a[1, : k // 2] = 127  # row 1: half the terms vanish
    b = np.full((k, 2), -128, np.int8)
    c = mm.compute(a, b)
    exact = (a.astype(np.int64) - 127) @ (b.astype(np.int64) - np.array([127, 0]))
    assert exact[0, 0] > 2**31 - 1  # the test really leaves int32
    np.testing.assert_array_equal(c, np.clip(exact, -2**31, 2**31 - 1))
