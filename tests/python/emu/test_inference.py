"""rknn_inputs_set / rknn_run / rknn_outputs_get / rknn_outputs_release under the NPU's numeric conventions."""
from __future__ import annotations

import ctypes as C
import threading

import numpy as np
import pytest
from onnx import TensorProto

import emu_models as M
import rknn_ctypes as R
from emu_session import RknnCallError


def nhwc(x):
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))


@pytest.fixture
def add4d(emu):
    """y = x + 1/3 over [1,3,4,5]: every fp16 rounding is visible in its result."""
    return emu.open(M.to_bytes(M.add_const([1, 3, 4, 5])))


@pytest.fixture
def x4d():
    return np.random.default_rng(5).standard_normal((1, 3, 4, 5)).astype(np.float32) * 3


def expected_fp16(x):
    return M.fp16(M.fp16(x) + np.float32(1 / 3))


# --- fp16 numerics ---------------------------------------------------------------------------------------------

def test_inputs_and_outputs_round_through_fp16(add4d, x4d):
    (y,) = add4d.infer(x4d)
    assert y.dtype == np.float32 and y.shape == (1, 3, 4, 5)
    np.testing.assert_array_equal(y, expected_fp16(x4d))
    assert not np.array_equal(y, x4d + np.float32(1 / 3))  # rounding is really visible


def test_exact_fp32_mode_does_not_round(emu, monkeypatch, x4d):
    monkeypatch.setenv("EZRKNN_EMU_EXACT_FP32", "1")
    ctx = emu.open(M.to_bytes(M.add_const([1, 3, 4, 5])))
    (y,) = ctx.infer(x4d)
    np.testing.assert_array_equal(y, x4d + np.float32(1 / 3))
    (raw,) = ctx.infer(x4d, want_float=False)
    assert raw.dtype == np.float32
    np.testing.assert_array_equal(raw, x4d + np.float32(1 / 3))


def test_exact_fp32_mode_from_metadata(emu, x4d):
    ctx = emu.open(M.to_bytes(M.add_const([1, 3, 4, 5], metadata={"rknn.exact_fp32": "1"})))
    np.testing.assert_array_equal(ctx.infer(x4d)[0], x4d + np.float32(1 / 3))


def test_want_float_0_gives_fp16_bits(add4d, x4d):
    (y,) = add4d.infer(x4d, want_float=False)
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y, expected_fp16(x4d).astype(np.float16))


def test_overflow_and_specials_follow_ieee_half(emu):
    ctx = emu.open(M.to_bytes(M.add_const([6], const=np.zeros(6, np.float32))))
    x = np.array([70000.0, -1e6, 1e-9, 65504.0, np.inf, np.nan], np.float32)
    (y,) = ctx.infer(x)
    np.testing.assert_array_equal(y, M.fp16(x))


# --- rknn_inputs_set -------------------------------------------------------------------------------------------

def test_nchw_and_nhwc_user_layouts_agree(add4d, x4d):
    (a,) = add4d.infer(x4d, fmt=R.RKNN_TENSOR_NCHW)
    (b,) = add4d.infer(nhwc(x4d), fmt=R.RKNN_TENSOR_NHWC)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, expected_fp16(x4d))


def test_float16_user_data(add4d, x4d):
    (y,) = add4d.infer(x4d.astype(np.float16), type=R.RKNN_TENSOR_FLOAT16)
    np.testing.assert_array_equal(y, expected_fp16(x4d))


@pytest.mark.parametrize("dtype,rknn_type", [(np.uint8, R.RKNN_TENSOR_UINT8), (np.int8, R.RKNN_TENSOR_INT8)])
def test_8bit_user_data_is_taken_as_numbers(add4d, dtype, rknn_type):
    info = np.iinfo(dtype)
    x = np.random.default_rng(2).integers(info.min, info.max + 1, size=(1, 3, 4, 5)).astype(dtype)
    (y,) = add4d.infer(x, type=rknn_type)
    np.testing.assert_array_equal(y, expected_fp16(x.astype(np.float32)))
    (z,) = add4d.infer(nhwc(x), type=rknn_type, fmt=R.RKNN_TENSOR_NHWC)
    np.testing.assert_array_equal(z, y)


def test_pass_through_takes_native_nhwc_fp16(add4d, x4d):
    (y,) = add4d.infer(nhwc(x4d).astype(np.float16), pass_through=1)
    np.testing.assert_array_equal(y, expected_fp16(x4d))


def test_pass_through_checks_the_size(add4d, x4d):
    code = add4d.raw_inputs_set([{"data": nhwc(x4d), "pass_through": 1}])  # float32: twice the native size
    assert code == R.RKNN_ERR_PARAM_INVALID
    assert "120" in add4d.emu.last_error() and "240" in add4d.emu.last_error()


def test_size_mismatch_names_both_sizes(add4d, x4d):
    code = add4d.raw_inputs_set([{"data": x4d, "size": x4d.nbytes - 4}])
    assert code == R.RKNN_ERR_PARAM_INVALID
    message = add4d.emu.last_error()
    assert str(x4d.nbytes) in message and str(x4d.nbytes - 4) in message


def test_bad_fmt_type_index_buf(add4d, x4d):
    assert add4d.raw_inputs_set([{"data": x4d, "fmt": R.RKNN_TENSOR_NC1HWC2}]) == R.RKNN_ERR_PARAM_INVALID
    assert add4d.raw_inputs_set([{"data": x4d, "fmt": R.RKNN_TENSOR_UNDEFINED}]) == R.RKNN_ERR_PARAM_INVALID
    assert add4d.raw_inputs_set([{"data": x4d.astype(np.int32), "type": R.RKNN_TENSOR_INT32}]) == \
        R.RKNN_ERR_PARAM_INVALID
    assert "RKNN_TENSOR_INT32" in add4d.emu.last_error()
    assert add4d.raw_inputs_set([{"data": x4d, "type": 99}]) == R.RKNN_ERR_PARAM_INVALID
    assert add4d.raw_inputs_set([{"data": x4d, "fmt": -7}]) == R.RKNN_ERR_PARAM_INVALID
    assert add4d.raw_inputs_set([{"data": x4d, "index": 1}]) == R.RKNN_ERR_PARAM_INVALID
    assert add4d.raw_inputs_set([{"data": np.zeros(0, np.float32), "size": x4d.nbytes}]) == R.RKNN_ERR_PARAM_INVALID
    assert "NULL" in add4d.emu.last_error()
    assert add4d.lib.rknn_inputs_set(add4d.handle, 1, None) == R.RKNN_ERR_PARAM_INVALID
    assert add4d.raw_inputs_set([{"data": x4d}, {"data": x4d}]) == R.RKNN_ERR_PARAM_INVALID  # 2 > 1 input


def test_non_4d_inputs_accept_any_fmt(emu):
    ctx = emu.open(M.to_bytes(M.add_const([2, 3])))
    x = np.ones((2, 3), np.float32)
    for fmt in (R.RKNN_TENSOR_NCHW, R.RKNN_TENSOR_NHWC, R.RKNN_TENSOR_UNDEFINED):
        np.testing.assert_array_equal(ctx.infer(x, fmt=fmt)[0], M.fp16(1 + np.float32(1 / 3)))


def test_run_needs_every_input(emu):
    ctx = emu.open(M.to_bytes(M.two_inputs()))
    a = np.ones((1, 3, 4, 5), np.float32)
    assert ctx.raw_inputs_set([{"index": 0, "data": a}, {"index": 2, "data": np.ones((2, 4), np.float32)}]) == 0
    assert ctx.lib.rknn_run(ctx.handle, None) == R.RKNN_ERR_INPUT_INVALID
    assert "'b'" in ctx.emu.last_error()
    assert ctx.raw_inputs_set([{"index": 1, "data": a * 0.25}]) == 0
    ctx.run()
    d, e = ctx.outputs_get()
    np.testing.assert_array_equal(d, np.full((1, 3, 4, 5), 0.75, np.float32))
    np.testing.assert_allclose(e, M.fp16(np.ones((2, 4), np.float32) @ (np.arange(12).reshape(4, 3) / 8.0)))


def test_inputs_are_retained_across_runs(add4d, x4d):
    add4d.inputs_set(x4d)
    add4d.run()
    first = add4d.outputs_get()[0]
    add4d.run()
    np.testing.assert_array_equal(add4d.outputs_get()[0], first)


def test_a_rejected_inputs_set_changes_nothing(emu):
    ctx = emu.open(M.to_bytes(M.two_inputs()))
    ones = np.ones((1, 3, 4, 5), np.float32)
    ctx.inputs_set(ones, ones * 0.5, np.ones((2, 4), np.float32))
    # The first entry is valid, the second is not: neither may take effect.
    bad = [{"index": 0, "data": ones * 4}, {"index": 1, "data": ones, "size": 8}]
    assert ctx.raw_inputs_set(bad) == R.RKNN_ERR_PARAM_INVALID
    ctx.run()
    np.testing.assert_array_equal(ctx.outputs_get()[0], np.full((1, 3, 4, 5), 0.5, np.float32))


def test_pass_through_of_a_non_4d_input_is_onnx_order_fp16(emu):
    ctx = emu.open(M.to_bytes(M.add_const([2, 3])))
    x = np.arange(6, dtype=np.float32).reshape(2, 3) / 7
    (y,) = ctx.infer(x.astype(np.float16), pass_through=1, type=R.RKNN_TENSOR_FLOAT32)  # type is not consulted
    np.testing.assert_array_equal(y, expected_fp16(x))


# --- integer and float16 models -------------------------------------------------------------------------------

@pytest.mark.parametrize("onnx_type,dtype", [(TensorProto.INT64, np.int64), (TensorProto.INT32, np.int32),
                                             (TensorProto.UINT8, np.uint8), (TensorProto.INT8, np.int8),
                                             (TensorProto.BOOL, np.bool_)])
def test_integer_models_pass_values_unchanged(emu, onnx_type, dtype):
    ctx = emu.open(M.to_bytes(M.reshape_int(onnx_type, [2, 6], [3, 4])))
    x = np.random.default_rng(4).integers(0, 100, size=(2, 6)).astype(dtype)
    (raw,) = ctx.infer(x, want_float=False)
    assert raw.dtype == dtype
    np.testing.assert_array_equal(raw, x.reshape(3, 4))
    (f,) = ctx.infer(x)
    np.testing.assert_array_equal(f, x.reshape(3, 4).astype(np.float32))


def test_int64_input_also_takes_int32(emu):
    ctx = emu.open(M.to_bytes(M.reshape_int(TensorProto.INT64, [4], [2, 2])))
    x = np.array([-3, 5, 2**31 - 1, -(2**31)], np.int32)
    (y,) = ctx.infer(x, want_float=False)
    np.testing.assert_array_equal(y, x.astype(np.int64).reshape(2, 2))
    assert ctx.raw_inputs_set([{"data": x.astype(np.float32)}]) == R.RKNN_ERR_PARAM_INVALID


def test_large_int64_values_survive_want_float_0(emu):
    ctx = emu.open(M.to_bytes(M.reshape_int(TensorProto.INT64, [2], [2])))
    x = np.array([2**53 + 1, -(2**62)], np.int64)
    np.testing.assert_array_equal(ctx.infer(x, want_float=False)[0], x)


def test_float16_model(emu):
    ctx = emu.open(M.to_bytes(M.float16_io()))
    x = np.random.default_rng(6).standard_normal((1, 2, 3, 4)).astype(np.float32)
    want = x.astype(np.float16).astype(np.float32).reshape(1, 4, 3, 2)
    np.testing.assert_array_equal(ctx.infer(x)[0], want)
    np.testing.assert_array_equal(ctx.infer(x.astype(np.float16), type=R.RKNN_TENSOR_FLOAT16)[0], want)
    (raw,) = ctx.infer(x, want_float=False)
    assert raw.dtype == np.float16
    np.testing.assert_array_equal(raw.astype(np.float32), want)


# --- rknn_outputs_get / release --------------------------------------------------------------------------------

def test_prealloc_and_allocated_outputs_agree(emu):
    ctx = emu.open(M.to_bytes(M.conv_net()))
    ctx.inputs_set(np.random.default_rng(8).standard_normal((1, 3, 16, 16)).astype(np.float32))
    ctx.run()
    for want_float in (True, False):
        allocated = ctx.outputs_get(want_float=want_float)
        prealloc = ctx.outputs_get(want_float=want_float, prealloc=True)
        for a, p in zip(allocated, prealloc):
            np.testing.assert_array_equal(a, p)
    only_probs = ctx.outputs_get(indices=[2])
    np.testing.assert_array_equal(only_probs[0], ctx.outputs_get()[2])


def test_prealloc_too_small(add4d, x4d):
    add4d.inputs_set(x4d)
    add4d.run()
    buf = np.empty(59, np.float32)
    out = (R.rknn_output * 1)()
    out[0].want_float = 1
    out[0].is_prealloc = 1
    out[0].buf = buf.ctypes.data_as(C.c_void_p)
    out[0].size = buf.nbytes
    assert add4d.lib.rknn_outputs_get(add4d.handle, 1, out, None) == R.RKNN_ERR_PARAM_INVALID
    assert "240" in add4d.emu.last_error()
    out[0].want_float = 0  # fp16 needs only 120 bytes
    assert add4d.lib.rknn_outputs_get(add4d.handle, 1, out, None) == 0


def test_outputs_before_run(add4d, x4d):
    out = (R.rknn_output * 1)()
    out[0].want_float = 1
    assert add4d.lib.rknn_outputs_get(add4d.handle, 1, out, None) == R.RKNN_ERR_OUTPUT_INVALID
    add4d.inputs_set(x4d)
    assert add4d.lib.rknn_outputs_get(add4d.handle, 1, out, None) == R.RKNN_ERR_OUTPUT_INVALID


def test_outputs_get_argument_checks(add4d, x4d):
    add4d.inputs_set(x4d)
    add4d.run()
    out = (R.rknn_output * 2)()
    out[0].index = 0
    out[1].index = 0
    assert add4d.lib.rknn_outputs_get(add4d.handle, 2, out, None) == R.RKNN_ERR_PARAM_INVALID  # 2 > 1 output
    out[0].index = 3
    assert add4d.lib.rknn_outputs_get(add4d.handle, 1, out, None) == R.RKNN_ERR_PARAM_INVALID
    assert add4d.lib.rknn_outputs_get(add4d.handle, 1, None, None) == R.RKNN_ERR_PARAM_INVALID


def test_release_is_harmless_for_unknown_buffers_and_destroy_frees_leftovers(emu, add4d, x4d):
    add4d.inputs_set(x4d)
    add4d.run()
    out = (R.rknn_output * 1)()
    out[0].want_float = 1
    assert add4d.lib.rknn_outputs_get(add4d.handle, 1, out, None) == 0
    assert out[0].buf and out[0].size == 240
    assert add4d.lib.rknn_outputs_release(add4d.handle, 1, out) == 0
    assert not out[0].buf
    stranger = np.zeros(4, np.float32)
    out[0].buf = stranger.ctypes.data_as(C.c_void_p)
    assert add4d.lib.rknn_outputs_release(add4d.handle, 1, out) == 0
    assert add4d.lib.rknn_outputs_release(add4d.handle, 0, None) == 0
    for _ in range(3):  # never released: freed by rknn_destroy
        assert add4d.lib.rknn_outputs_get(add4d.handle, 1, out, None) == 0
    assert add4d.destroy() == 0


def test_frame_ids(add4d, x4d):
    add4d.inputs_set(x4d)
    run_ext = R.rknn_run_extend()
    out_ext = R.rknn_output_extend()
    add4d.run(C.byref(run_ext))
    assert run_ext.frame_id == 1
    add4d.run(C.byref(run_ext))
    assert run_ext.frame_id == 2
    add4d.outputs_get(extend=C.byref(out_ext))
    assert out_ext.frame_id == 2


def test_non_blocking_run_then_wait_hands_back_the_frame(add4d, x4d):
    """non_block = 1 + rknn_wait (a superset of the vendor runtime, which documents them as unsupported): the
    outputs are those of the run, and rknn_wait takes the pending frame exactly once."""
    assert add4d.lib.rknn_wait(add4d.handle, None) == R.RKNN_ERR_FAIL  # nothing pending yet
    assert "no non-blocking run is pending" in add4d.emu.last_error()
    add4d.inputs_set(x4d)
    run_ext = R.rknn_run_extend()
    run_ext.non_block = 1
    assert add4d.lib.rknn_run(add4d.handle, C.byref(run_ext)) == R.RKNN_SUCC
    wait_ext = R.rknn_run_extend()
    assert add4d.lib.rknn_wait(add4d.handle, C.byref(wait_ext)) == R.RKNN_SUCC
    assert wait_ext.frame_id == run_ext.frame_id >= 1
    assert add4d.lib.rknn_wait(add4d.handle, C.byref(wait_ext)) == R.RKNN_ERR_FAIL  # taken once
    (y,) = add4d.outputs_get()
    np.testing.assert_array_equal(y, expected_fp16(x4d))


# --- results against onnxruntime -------------------------------------------------------------------------------

def onnxruntime_outputs(model, image):
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(M.to_bytes(model), providers=["CPUExecutionProvider"])
    return session.run(None, {"image": image})


def test_conv_net_matches_onnxruntime_in_exact_mode(emu, monkeypatch):
    # Tolerance: only summation order differs from onnxruntime → rtol 1e-5, atol 1e-5.
    monkeypatch.setenv("EZRKNN_EMU_EXACT_FP32", "1")
    model = M.conv_net()
    image = np.random.default_rng(9).standard_normal((1, 3, 16, 16)).astype(np.float32)
    got = emu.open(M.to_bytes(model)).infer(image)
    for g, w in zip(got, onnxruntime_outputs(model, image)):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


def test_conv_net_matches_onnxruntime_through_fp16(emu):
    # onnxruntime fed the fp16-rounded input, its outputs rounded to fp16: the emulator must agree to within one
    # fp16 step (relative 2^-10 ≈ 1e-3; absolute 1e-4 for values near zero).
    model = M.conv_net()
    image = np.random.default_rng(10).standard_normal((1, 3, 16, 16)).astype(np.float32)
    ctx = emu.open(M.to_bytes(model))
    got = ctx.infer(image)
    want = [M.fp16(w) for w in onnxruntime_outputs(model, M.fp16(image))]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-3, atol=1e-4)
    got_nhwc = ctx.infer(nhwc(image), fmt=R.RKNN_TENSOR_NHWC)
    for a, b in zip(got, got_nhwc):
        np.testing.assert_array_equal(a, b)


# --- core masks and threads ------------------------------------------------------------------------------------

def test_core_masks_on_rk3588(add4d):
    lib = add4d.lib
    for mask in (R.RKNN_NPU_CORE_AUTO, R.RKNN_NPU_CORE_0, R.RKNN_NPU_CORE_1, R.RKNN_NPU_CORE_2, R.RKNN_NPU_CORE_0_1,
                 R.RKNN_NPU_CORE_0_1_2, R.RKNN_NPU_CORE_ALL):
        assert lib.rknn_set_core_mask(add4d.handle, mask) == 0
    for mask in (8, 5, 6, 0x10000, -1, 0x7FFFFFFF):
        assert lib.rknn_set_core_mask(add4d.handle, mask) == R.RKNN_ERR_PARAM_INVALID, hex(mask)
    assert lib.rknn_set_core_mask(99999, 0) == R.RKNN_ERR_CTX_INVALID


def test_core_masks_on_rk3576_and_single_core(emu, monkeypatch):
    monkeypatch.setenv("EZRKNN_EMU_PLATFORM", "rk3576")
    ctx = emu.open(M.to_bytes(M.add_const([2])))
    assert ctx.lib.rknn_set_core_mask(ctx.handle, R.RKNN_NPU_CORE_1) == 0
    assert ctx.lib.rknn_set_core_mask(ctx.handle, R.RKNN_NPU_CORE_2) == R.RKNN_ERR_PARAM_INVALID
    monkeypatch.setenv("EZRKNN_EMU_PLATFORM", "rk3566")
    single = emu.open(M.to_bytes(M.add_const([2])))
    # Like the vendor runtime on single-core SoCs: every mask, AUTO included, is refused with -13.
    assert single.lib.rknn_set_core_mask(single.handle, R.RKNN_NPU_CORE_AUTO) == R.RKNN_ERR_TARGET_PLATFORM_UNMATCH
    assert single.lib.rknn_set_core_mask(single.handle, R.RKNN_NPU_CORE_0) == R.RKNN_ERR_TARGET_PLATFORM_UNMATCH


def test_contexts_run_concurrently(emu):
    base = emu.open(M.to_bytes(M.conv_net()))
    contexts = [base] + [base.dup() for _ in range(3)]
    rng = np.random.default_rng(12)
    images = [rng.standard_normal((1, 3, 16, 16)).astype(np.float32) for _ in contexts]
    expected = [c.infer(i) for c, i in zip(contexts, images)]
    errors = []

    def worker(ctx, image, want):
        try:
            for _ in range(20):
                for g, w in zip(ctx.infer(image), want):
                    np.testing.assert_array_equal(g, w)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=a) for a in zip(contexts, images, expected)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


def test_one_context_used_by_two_threads_is_not_corrupted(add4d, x4d):
    # Calls that overlap on one context fail with RKNN_ERR_FAIL (test_cores.py); those that get through stay
    # consistent with some input.
    x2 = x4d * 2
    valid = [expected_fp16(x4d), expected_fp16(x2)]
    errors = []

    def worker(x):
        try:
            for _ in range(50):
                try:
                    add4d.inputs_set(x)
                    add4d.run()
                    (y,) = add4d.outputs_get()
                except RknnCallError as e:
                    assert e.code == R.RKNN_ERR_FAIL and "in use by another thread" in str(e), str(e)
                    continue
                assert any(np.array_equal(y, v) for v in valid)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(x,)) for x in (x4d, x2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
