"""Functions the emulator does not provide yet fail with an RKNN code and a log line; none of them crashes."""
from __future__ import annotations

import ctypes as C
import os
import subprocess
import sys
import textwrap

import pytest

import emu_models as M
import rknn_ctypes as R


@pytest.fixture
def ctx(emu):
    return emu.open(M.to_bytes(M.add_const([2])))


def check(emu, function, code):
    assert code == R.RKNN_ERR_FAIL, f"{function} returned {code}"
    assert emu.last_error().startswith(f"{function} is not implemented by the ezrknn emulator yet"), emu.last_error()


def test_pointer_functions_return_null(emu, emu_lib, ctx):
    h = ctx.handle
    blob = (C.c_uint8 * 64)()
    calls = {
        "rknn_create_mem_from_mb_blk": lambda: emu_lib.rknn_create_mem_from_mb_blk(h, C.cast(blob, C.c_void_p), 0),
    }
    for name, call in calls.items():
        result = call()
        assert not result, f"{name} returned a pointer"
        assert emu.last_error().startswith(f"{name} is not implemented by the ezrknn emulator yet")


def test_failures_are_logged_to_stderr_with_the_rknn_prefix(emu_library_path):
    # A child process, so the test sees exactly what an application's stderr gets.
    script = textwrap.dedent(f"""
        import ctypes, sys
        sys.path.insert(0, {str(M.__file__.rsplit('/', 1)[0])!r})
        import rknn_ctypes as R
        lib = R.load({str(emu_library_path)!r})
        lib.rknn_create_mem_from_mb_blk(1, None, 0)
        ctx = R.rknn_context(0)
        lib.rknn_init(ctypes.byref(ctx), ctypes.c_char_p(b"/nonexistent/model.onnx"), 0, 0, None)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    lines = result.stderr.splitlines()
    assert "E RKNN: [emu] rknn_create_mem_from_mb_blk is not implemented by the ezrknn emulator yet " \
        "(RKNN_ERR_FAIL -1)" in lines
    assert any(line.startswith("E RKNN: [emu] rknn_init: ") and "RKNN_ERR_MODEL_INVALID -6" in line for line in lines)


def test_log_level_2_prints_runtime_and_model_information(emu_library_path, emu_models):
    path = emu_models / "info.onnx"
    path.write_bytes(M.to_bytes(M.add_const([1, 3, 4, 4])))
    script = textwrap.dedent(f"""
        import ctypes, sys
        sys.path.insert(0, {str(M.__file__.rsplit('/', 1)[0])!r})
        import rknn_ctypes as R
        lib = R.load({str(emu_library_path)!r})
        ctx = R.rknn_context(0)
        assert lib.rknn_init(ctypes.byref(ctx), ctypes.c_char_p({str(path).encode()!r}), 0, 0, None) == 0
        assert lib.rknn_destroy(ctx) == 0
    """)
    quiet = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                           env={**os.environ, "RKNN_LOG_LEVEL": "0"})
    assert quiet.stderr == ""
    loud = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                          env={**os.environ, "RKNN_LOG_LEVEL": "2"})
    assert "I RKNN: [emu] RKNN Runtime Information, librknnrt version: 2.3.2 (ezrknn emulator" in loud.stderr
    assert "RKNN Model Information" in loud.stderr and "input 0: 'x' dims [1,4,4,3] fmt NHWC type FP16" in loud.stderr


def test_target_platform_mismatch_is_refused_and_logged_at_level_1(emu_library_path, emu_models):
    path = emu_models / "for_rk3566.onnx"
    path.write_bytes(M.to_bytes(M.add_const([2], metadata={"rknn.target_platform": "rk3566"})))
    script = textwrap.dedent(f"""
        import ctypes, sys
        sys.path.insert(0, {str(M.__file__.rsplit('/', 1)[0])!r})
        import rknn_ctypes as R
        lib = R.load({str(emu_library_path)!r})
        ctx = R.rknn_context(0)
        assert lib.rknn_init(ctypes.byref(ctx), ctypes.c_char_p({str(path).encode()!r}), 0, 0, None) == -13
    """)
    env = {k: v for k, v in os.environ.items() if k != "EZRKNN_EMU_PLATFORM"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                            env={**env, "RKNN_LOG_LEVEL": "1"})
    assert "rknn_init: This rknn model is for rk3566, but current platform is rk3588" in result.stderr
    assert "(RKNN_ERR_TARGET_PLATFORM_UNMATCH -13)" in result.stderr
