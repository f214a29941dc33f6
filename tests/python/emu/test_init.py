"""rknn_init / rknn_dup_context / rknn_destroy: loading by content, bad models, lifetimes."""
from __future__ import annotations

import ctypes as C
import gc
import os

import numpy as np
import pytest

import emu_models as M
import rknn_ctypes as R
from emu_session import Context


def test_init_from_bytes_runs(emu):
    ctx = emu.open(M.to_bytes(M.add_const([2, 3])))
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    (y,) = ctx.infer(x)
    np.testing.assert_array_equal(y, M.fp16(M.fp16(x) + np.float32(1 / 3)))


def test_caller_may_free_and_overwrite_the_buffer_after_init(emu, emu_lib):
    data = M.to_bytes(M.conv_net())
    buf = C.create_string_buffer(data, len(data))
    ctx = R.rknn_context(0)
    assert emu_lib.rknn_init(C.byref(ctx), C.cast(buf, C.c_void_p), len(data), 0, None) == 0
    emu._open.append(ctx.value)
    reference = emu.open(data)
    C.memset(buf, 0xA5, len(data))  # the weights' raw_data lived in here
    del buf
    gc.collect()
    image = np.random.default_rng(0).standard_normal((1, 3, 16, 16)).astype(np.float32)
    got = Context(emu, ctx.value).infer(image)
    want = reference.infer(image)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_init_from_path(emu, emu_models):
    path = emu_models / "add.onnx"
    path.write_bytes(M.to_bytes(M.add_const([4])))
    ctx = emu.open(path)
    (y,) = ctx.infer(np.ones(4, np.float32))
    np.testing.assert_array_equal(y, M.fp16(1 + np.float32(1 / 3)))


def test_path_model_survives_file_replacement(emu, emu_models):
    # The file is mapped: replacing it by rename (as editors and tools do) must not disturb a loaded model.
    path = emu_models / "replaced.onnx"
    path.write_bytes(M.to_bytes(M.add_const([4], const=np.full(4, 2.0, np.float32))))
    ctx = emu.open(path)
    tmp = emu_models / "replaced.tmp"
    tmp.write_bytes(M.to_bytes(M.add_const([4], const=np.full(4, 5.0, np.float32))))
    os.replace(tmp, path)
    (y,) = ctx.infer(np.ones(4, np.float32))
    np.testing.assert_array_equal(y, np.full(4, 3.0, np.float32))


def test_onnx_saved_as_rknn_loads(emu, emu_models):
    path = emu_models / "model.rknn"
    path.write_bytes(M.to_bytes(M.add_const([2])))
    ctx = emu.open(path)
    assert ctx.in_out_num() == (1, 1)


def expect_model_invalid(emu, model, *fragments):
    code, ctx = emu.init(model)
    assert code == R.RKNN_ERR_MODEL_INVALID, emu.last_error()
    assert ctx == 0
    message = emu.last_error()
    for fragment in fragments:
        assert fragment in message, message
    return message


@pytest.mark.parametrize("header", [b"RKNN\x00\x00\x00\x00\x06" + b"\x00" * 60, b"CYPTRKNN" + b"\x00" * 64,
                                    b"\x1c\x00\x00\x00RKNN" + b"\x00" * 64])
def test_compiled_rknn_is_refused_by_content(emu, emu_models, header):
    path = emu_models / "compiled.rknn"
    path.write_bytes(header)
    message = expect_model_invalid(emu, path, "librknnrt.so", "Rockchip board", "ONNX")
    assert "RKNN_ERR_MODEL_INVALID" in message
    # Same bytes under an .onnx name: still refused, by content.
    onnx_named = emu_models / "compiled.onnx"
    onnx_named.write_bytes(header)
    expect_model_invalid(emu, onnx_named, "librknnrt.so")
    expect_model_invalid(emu, header, "librknnrt.so")


def test_empty_file(emu, emu_models):
    path = emu_models / "empty.onnx"
    path.write_bytes(b"")
    expect_model_invalid(emu, path, "empty")


def test_directory(emu, emu_models):
    expect_model_invalid(emu, emu_models, "directory")


def test_missing_path(emu, emu_models):
    expect_model_invalid(emu, emu_models / "does_not_exist.onnx", "does_not_exist.onnx", "no such file")


@pytest.mark.parametrize("seed", range(8))
def test_random_bytes(emu, seed):
    data = np.random.default_rng(seed).integers(0, 256, size=257 + 97 * seed, dtype=np.uint8).tobytes()
    expect_model_invalid(emu, data)


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.999])
def test_truncated_model(emu, fraction):
    data = M.to_bytes(M.conv_net())
    expect_model_invalid(emu, data[: int(len(data) * fraction)])


def test_null_arguments(emu, emu_lib):
    ctx = R.rknn_context(0)
    assert emu_lib.rknn_init(None, C.c_void_p(1), 4, 0, None) == R.RKNN_ERR_PARAM_INVALID
    assert emu_lib.rknn_init(C.byref(ctx), None, 0, 0, None) == R.RKNN_ERR_PARAM_INVALID
    assert "NULL" in emu.last_error()
    assert emu_lib.rknn_dup_context(None, C.byref(ctx)) == R.RKNN_ERR_PARAM_INVALID


def test_unsupported_default_domain_op(emu):
    message = expect_model_invalid(emu, M.to_bytes(M.unsupported_op()), "Det", "my_det_node")
    assert "13" in message  # the opset


def test_custom_domain_node_loads_and_run_names_it(emu):
    ctx = emu.open(M.to_bytes(M.custom_op()))
    ctx.inputs_set(np.ones((1, 4), np.float32))
    code = emu_lib_run(ctx)
    assert code == R.RKNN_ERR_FAIL
    message = emu.last_error()
    assert "cstSigmoid" in message and "my_custom_node" in message, message


def emu_lib_run(ctx):
    return ctx.lib.rknn_run(ctx.handle, None)


def test_symbolic_input_dims_are_refused(emu):
    expect_model_invalid(emu, M.to_bytes(M.symbolic_input()), "dyn_input")


def test_float64_io_is_refused(emu):
    expect_model_invalid(emu, M.to_bytes(M.double_io()), "float64")


def test_unknown_platform(emu, monkeypatch):
    monkeypatch.setenv("EZRKNN_EMU_PLATFORM", "rk9999")
    code, ctx = emu.init(M.to_bytes(M.add_const([2])))
    assert code == R.RKNN_ERR_DEVICE_UNAVAILABLE
    assert "rk9999" in emu.last_error() and "rk3588" in emu.last_error()


def test_unsupported_init_flag(emu):
    code, _ = emu.init(M.to_bytes(M.add_const([2])), flag=0x40)  # RKNN_FLAG_FENCE_IN_OUTSIDE
    assert code == R.RKNN_ERR_FAIL
    assert "RKNN_FLAG_FENCE_IN_OUTSIDE" in emu.last_error()


def test_harmless_flags_are_accepted(emu):
    priority_low, perf, no_high_priority = 0x2, 0x8, 0x2000
    code, _ = emu.init(M.to_bytes(M.add_const([2])), flag=priority_low | perf | no_high_priority)
    assert code == 0, emu.last_error()


def test_dup_context_shares_the_model_and_outlives_the_original(emu):
    original = emu.open(M.to_bytes(M.conv_net()))
    dup = original.dup()
    assert dup.handle != original.handle
    image = np.random.default_rng(1).standard_normal((1, 3, 16, 16)).astype(np.float32)
    want = original.infer(image)
    assert original.destroy() == 0
    got = dup.infer(image)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    dup2 = dup.dup()
    assert dup.destroy() == 0
    for g, w in zip(dup2.infer(image), want):
        np.testing.assert_array_equal(g, w)


def test_dup_has_its_own_inputs(emu):
    a = emu.open(M.to_bytes(M.add_const([3])))
    b = a.dup()
    a.inputs_set(np.zeros(3, np.float32))
    # b's inputs were never set, whatever a did.
    assert b.lib.rknn_run(b.handle, None) == R.RKNN_ERR_INPUT_INVALID
    b.inputs_set(np.ones(3, np.float32))
    a.run()
    b.run()
    np.testing.assert_array_equal(a.outputs_get()[0], M.fp16(np.full(3, 1 / 3)))
    np.testing.assert_array_equal(b.outputs_get()[0], M.fp16(1 + np.full(3, 1 / 3, np.float32)))


def test_destroyed_and_unknown_handles(emu, emu_lib):
    ctx = emu.open(M.to_bytes(M.add_const([2])))
    handle = ctx.handle
    assert ctx.destroy() == 0
    assert emu_lib.rknn_destroy(handle) == R.RKNN_ERR_CTX_INVALID
    num = R.rknn_input_output_num()
    assert emu_lib.rknn_query(handle, R.RKNN_QUERY_IN_OUT_NUM, C.byref(num), C.sizeof(num)) == R.RKNN_ERR_CTX_INVALID
    assert emu_lib.rknn_run(handle, None) == R.RKNN_ERR_CTX_INVALID
    for bogus in (0, 1, 12345, 2**63):
        assert emu_lib.rknn_run(bogus, None) == R.RKNN_ERR_CTX_INVALID
        assert emu_lib.rknn_destroy(bogus) == R.RKNN_ERR_CTX_INVALID
    src = R.rknn_context(handle)
    out = R.rknn_context(0)
    assert emu_lib.rknn_dup_context(C.byref(src), C.byref(out)) == R.RKNN_ERR_CTX_INVALID


def test_last_error_is_per_thread(emu, emu_lib):
    import threading

    emu.init(b"RKNN" + b"\x00" * 64)
    here = emu.last_error()
    assert "librknnrt.so" in here
    seen = []
    t = threading.Thread(target=lambda: seen.append(emu_lib.ezrknn_emu_last_error().decode()))
    t.start()
    t.join()
    assert seen == [""]
